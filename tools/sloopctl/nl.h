/* SPDX-License-Identifier: MIT */
/*
 * sloopctl: a thin layer over libnl-genl-3 for the sloop family.
 */
#ifndef SLOOPCTL_NL_H
#define SLOOPCTL_NL_H

#include <stdbool.h>
#include <stdint.h>

#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

/* An error already printed to stderr, not an errno. */
#define SCTL_EREPORTED (-100000)

struct sctl_nl {
	struct nl_sock *sk;
	int family;
	char extack[256];	/* the kernel's message for the last error */
};

/* Called once per reply message with its top-level attributes parsed. */
typedef int (*sctl_nl_cb)(struct nlmsghdr *nlh, struct nlattr **tb,
			  void *arg);

int sctl_nl_open(struct sctl_nl *nl);
void sctl_nl_close(struct sctl_nl *nl);
struct nl_msg *sctl_nl_msg(struct sctl_nl *nl, uint8_t cmd, bool dump);
int sctl_nl_put_dev(struct nl_msg *msg, const char *dev);
/* Sends msg (and frees it), reads replies up to the ack or the end of
 * the dump.  Returns 0 or -errno; nl->extack holds the kernel's text.
 */
int sctl_nl_exec(struct sctl_nl *nl, struct nl_msg *msg, sctl_nl_cb cb,
		 void *arg);
/* Wipes before freeing: messages may carry key material. */
void sctl_nl_msg_free(struct nl_msg *msg);
int sctl_nl_parse(struct nlmsghdr *nlh, struct nlattr **tb);
void sctl_nl_perror(struct sctl_nl *nl, const char *what, int err);
int sctl_nl_mcast_group(struct sctl_nl *nl, const char *name);

/* Length-checked readers: a short attribute from a newer or broken
 * kernel reads as absent instead of past its end.
 */
bool sctl_nla_u8(const struct nlattr *a, uint8_t *v);
bool sctl_nla_u16(const struct nlattr *a, uint16_t *v);
bool sctl_nla_u32(const struct nlattr *a, uint32_t *v);
bool sctl_nla_u64(const struct nlattr *a, uint64_t *v);

#endif
