// SPDX-License-Identifier: MIT
/*
 * Generic netlink plumbing (moved here from sloopctl's nl.c so that the
 * daemon shares it).  We keep the kernel's errno (libnl maps it onto its
 * own smaller set) and the extended-ack text, because "Invalid argument"
 * alone does not say which attribute was wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/netlink.h>

#include <sodium.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <sloop/uapi.h>

#include "sloopnl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct exec_state {
	struct snl *nl;
	snl_cb cb;
	void *arg;
	int err;
	bool done;
};

int snl_open(struct snl *nl)
{
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		snprintf(nl->errmsg, sizeof(nl->errmsg), "out of memory");
		return -ENOMEM;
	}
	if (genl_connect(nl->sk)) {
		snprintf(nl->errmsg, sizeof(nl->errmsg),
			 "cannot open a netlink socket");
		goto free_sock;
	}
	/* Best effort: without it errors only lose their explanation. */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	nl_socket_disable_auto_ack(nl->sk);
	nl->family = genl_ctrl_resolve(nl->sk, SLOOP_GENL_NAME);
	if (nl->family < 0) {
		snprintf(nl->errmsg, sizeof(nl->errmsg),
			 "generic netlink family '%s' not found (is the sloop module loaded?)",
			 SLOOP_GENL_NAME);
		nl_socket_free(nl->sk);
		nl->sk = NULL;
		return -ENOENT;
	}
	return 0;
free_sock:
	nl_socket_free(nl->sk);
	nl->sk = NULL;
	return -EIO;
}

void snl_close(struct snl *nl)
{
	if (nl->sk)
		nl_socket_free(nl->sk);
	nl->sk = NULL;
}

int snl_fd(const struct snl *nl)
{
	return nl->sk ? nl_socket_get_fd(nl->sk) : -1;
}

int snl_join(struct snl *nl, const char *group)
{
	int grp = genl_ctrl_resolve_grp(nl->sk, SLOOP_GENL_NAME, group);

	if (grp < 0)
		return -ENOENT;
	return nl_socket_add_membership(nl->sk, grp) ? -EIO : 0;
}

void snl_async(struct snl *nl)
{
	nl_socket_disable_seq_check(nl->sk);
}

struct nl_msg *snl_msg(struct snl *nl, uint8_t cmd, bool dump)
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

void snl_msg_free(struct nl_msg *msg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	sodium_memzero(nlh, nlh->nlmsg_len);
	nlmsg_free(msg);
}

int snl_parse(struct nlmsghdr *nlh, struct nlattr **tb)
{
	return genlmsg_parse(nlh, 0, tb, SLOOP_A_MAX, NULL);
}

static void save_extack(struct snl *nl, struct nlmsghdr *nlh,
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
	if (snl_parse(nlh, tb)) {
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

int snl_exec(struct snl *nl, struct nl_msg *msg, snl_cb cb, void *arg)
{
	struct exec_state st = { .nl = nl, .cb = cb, .arg = arg };
	struct nl_cb *nlcb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret;

	nl->extack[0] = '\0';
	if (!nlcb) {
		snl_msg_free(msg);
		return -ENOMEM;
	}
	nl_cb_err(nlcb, NL_CB_CUSTOM, on_error, &st);
	nl_cb_set(nlcb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, &st);
	nl_cb_set(nlcb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, &st);
	nl_cb_set(nlcb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &st);
	ret = nl_send_auto(nl->sk, msg);
	snl_msg_free(msg);
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

bool snl_nla_u8(const struct nlattr *a, uint8_t *v)
{
	if (!a || nla_len(a) < 1)
		return false;
	*v = nla_get_u8((struct nlattr *)a);
	return true;
}

bool snl_nla_u16(const struct nlattr *a, uint16_t *v)
{
	if (!a || nla_len(a) < 2)
		return false;
	*v = nla_get_u16((struct nlattr *)a);
	return true;
}

bool snl_nla_u32(const struct nlattr *a, uint32_t *v)
{
	if (!a || nla_len(a) < 4)
		return false;
	*v = nla_get_u32((struct nlattr *)a);
	return true;
}

bool snl_nla_u64(const struct nlattr *a, uint64_t *v)
{
	if (!a || nla_len(a) < 8)
		return false;
	memcpy(v, nla_data(a), sizeof(*v));
	return true;
}
