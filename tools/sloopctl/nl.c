// SPDX-License-Identifier: MIT
/*
 * sloopctl: generic netlink plumbing.  We keep the kernel's errno (libnl
 * maps it onto its own smaller set) and the extended-ack text, because
 * "Invalid argument" alone does not tell the user which token was wrong.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <linux/netlink.h>

#include <sodium.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <sloop/uapi.h>

#include "nl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct exec_state {
	struct sctl_nl *nl;
	sctl_nl_cb cb;
	void *arg;
	int err;
	bool done;
};

int sctl_nl_open(struct sctl_nl *nl)
{
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		fprintf(stderr, "sloopctl: out of memory\n");
		return -1;
	}
	if (genl_connect(nl->sk)) {
		fprintf(stderr, "sloopctl: cannot open a netlink socket\n");
		goto free_sock;
	}
	/* Best effort: without it errors only lose their explanation. */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	nl_socket_disable_auto_ack(nl->sk);
	nl->family = genl_ctrl_resolve(nl->sk, SLOOP_GENL_NAME);
	if (nl->family < 0) {
		fprintf(stderr,
			"sloopctl: generic netlink family '%s' not found (is the sloop module loaded?)\n",
			SLOOP_GENL_NAME);
		goto free_sock;
	}
	return 0;
free_sock:
	nl_socket_free(nl->sk);
	nl->sk = NULL;
	return -1;
}

void sctl_nl_close(struct sctl_nl *nl)
{
	if (nl->sk)
		nl_socket_free(nl->sk);
	nl->sk = NULL;
}

int sctl_nl_mcast_group(struct sctl_nl *nl, const char *name)
{
	return genl_ctrl_resolve_grp(nl->sk, SLOOP_GENL_NAME, name);
}

struct nl_msg *sctl_nl_msg(struct sctl_nl *nl, uint8_t cmd, bool dump)
{
	struct nl_msg *msg = nlmsg_alloc();
	int flags = dump ? NLM_F_DUMP : NLM_F_ACK;

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, flags,
			 cmd, SLOOP_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

int sctl_nl_put_dev(struct nl_msg *msg, const char *dev)
{
	unsigned int idx = if_nametoindex(dev);

	if (!idx) {
		fprintf(stderr, "sloopctl: no such device '%s'\n", dev);
		return -1;
	}
	if (nla_put_u32(msg, SLOOP_A_IFINDEX, idx)) {
		fprintf(stderr, "sloopctl: message too large\n");
		return -1;
	}
	return 0;
}

void sctl_nl_msg_free(struct nl_msg *msg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	sodium_memzero(nlh, nlh->nlmsg_len);
	nlmsg_free(msg);
}

int sctl_nl_parse(struct nlmsghdr *nlh, struct nlattr **tb)
{
	return genlmsg_parse(nlh, 0, tb, SLOOP_A_MAX, NULL);
}

static void save_extack(struct sctl_nl *nl, struct nlmsghdr *nlh,
			struct nlmsgerr *e)
{
	size_t off = sizeof(*e);
	struct nlattr *a;
	int rem;

	nl->extack[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	/* Without NLM_F_CAPPED the request follows the errno. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	if (nlh->nlmsg_len < NLMSG_HDRLEN + off)
		return;
	rem = (int)(nlh->nlmsg_len - NLMSG_HDRLEN - off);
	nla_for_each_attr(a, (struct nlattr *)((char *)e + NLMSG_ALIGN(off)),
			  rem, rem) {
		if (nla_type(a) == NLMSGERR_ATTR_MSG && nla_len(a) > 0)
			snprintf(nl->extack, sizeof(nl->extack), "%.*s",
				 nla_len(a), (char *)nla_data(a));
	}
}

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct exec_state *st = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);

	st->err = e->error;
	save_extack(st->nl, nlh, e);
	st->done = true;
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct exec_state *st = arg;

	st->done = true;
	return NL_STOP;
}

/* A dump that fails half-way reports the errno in NLMSG_DONE. */
static int on_finish(struct nl_msg *msg, void *arg)
{
	struct exec_state *st = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
		int e;

		memcpy(&e, nlmsg_data(nlh), sizeof(e));
		if (e < 0)
			st->err = e;
	}
	st->done = true;
	return NL_STOP;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct exec_state *st = arg;
	struct nlattr *tb[SLOOP_A_MAX + 1];
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	int ret;

	if (!st->cb)
		return NL_OK;
	if (sctl_nl_parse(nlh, tb)) {
		st->err = -EBADMSG;
		return NL_STOP;
	}
	ret = st->cb(nlh, tb, st->arg);
	if (ret < 0) {
		st->err = ret;
		return NL_STOP;
	}
	return NL_OK;
}

int sctl_nl_exec(struct sctl_nl *nl, struct nl_msg *msg, sctl_nl_cb cb,
		 void *arg)
{
	struct exec_state st = { .nl = nl, .cb = cb, .arg = arg };
	struct nl_cb *nlcb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret;

	nl->extack[0] = '\0';
	if (!nlcb) {
		sctl_nl_msg_free(msg);
		return -ENOMEM;
	}
	nl_cb_err(nlcb, NL_CB_CUSTOM, on_error, &st);
	nl_cb_set(nlcb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, &st);
	nl_cb_set(nlcb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, &st);
	nl_cb_set(nlcb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &st);
	ret = nl_send_auto(nl->sk, msg);
	sctl_nl_msg_free(msg);
	if (ret < 0) {
		nl_cb_put(nlcb);
		return -EIO;
	}
	while (!st.done && !st.err) {
		ret = nl_recvmsgs(nl->sk, nlcb);
		if (ret < 0 && !st.err)
			st.err = -EIO;
	}
	nl_cb_put(nlcb);
	return st.err;
}

void sctl_nl_perror(struct sctl_nl *nl, const char *what, int err)
{
	if (nl->extack[0])
		fprintf(stderr, "sloopctl: %s: %s (%s)\n", what,
			strerror(-err), nl->extack);
	else
		fprintf(stderr, "sloopctl: %s: %s\n", what, strerror(-err));
}

bool sctl_nla_u8(const struct nlattr *a, uint8_t *v)
{
	if (!a || nla_len(a) < 1)
		return false;
	*v = nla_get_u8((struct nlattr *)a);
	return true;
}

bool sctl_nla_u16(const struct nlattr *a, uint16_t *v)
{
	if (!a || nla_len(a) < 2)
		return false;
	*v = nla_get_u16((struct nlattr *)a);
	return true;
}

bool sctl_nla_u32(const struct nlattr *a, uint32_t *v)
{
	if (!a || nla_len(a) < 4)
		return false;
	*v = nla_get_u32((struct nlattr *)a);
	return true;
}

bool sctl_nla_u64(const struct nlattr *a, uint64_t *v)
{
	if (!a || nla_len(a) < 8)
		return false;
	memcpy(v, nla_data(a), sizeof(*v));
	return true;
}
