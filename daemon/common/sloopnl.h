/* SPDX-License-Identifier: MIT */
/*
 * Generic netlink plumbing for the sloop family, shared by sloopd and
 * sloopctl (libnl-genl-3).  Nothing here prints: errors come back as
 * -errno, with the kernel's extended-ack text in snl->extack and our own
 * explanation in snl->errmsg, for the caller to report its own way.
 */
#ifndef SLOOP_SLOOPNL_H
#define SLOOP_SLOOPNL_H

#include <stdbool.h>
#include <stdint.h>

#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

struct snl {
	struct nl_sock *sk;
	int family;
	char extack[256];	/* the kernel's message for the last error */
	char errmsg[256];	/* ours, for errors found before the kernel */
};

/* Called once per reply message with its top-level attributes parsed. */
typedef int (*snl_cb)(struct nlmsghdr *nlh, struct nlattr **tb, void *arg);

/* 0, or -errno (-ENOENT: the family is missing: module not loaded). */
int snl_open(struct snl *nl);
void snl_close(struct snl *nl);
int snl_fd(const struct snl *nl);
struct nl_msg *snl_msg(struct snl *nl, uint8_t cmd, bool dump);
/*
 * Sends msg (and frees it, wiped), reads replies up to the ack or the
 * end of the dump.  Returns 0 or -errno.
 */
int snl_exec(struct snl *nl, struct nl_msg *msg, snl_cb cb, void *arg);
/* Wipes before freeing: messages may carry key material. */
void snl_msg_free(struct nl_msg *msg);
int snl_parse(struct nlmsghdr *nlh, struct nlattr **tb);
/* Joins a multicast group of the family by name; 0 or -errno. */
int snl_join(struct snl *nl, const char *group);
/*
 * For an event socket: unsolicited messages (sequence 0) must not trip
 * libnl's sequence check.
 */
void snl_async(struct snl *nl);

/* Length-checked readers: a short attribute reads as absent. */
bool snl_nla_u8(const struct nlattr *a, uint8_t *v);
bool snl_nla_u16(const struct nlattr *a, uint16_t *v);
bool snl_nla_u32(const struct nlattr *a, uint32_t *v);
bool snl_nla_u64(const struct nlattr *a, uint64_t *v);

#endif
