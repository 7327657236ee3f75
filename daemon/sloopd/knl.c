// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include <netlink/attr.h>
#include <sloop/uapi.h>

#include "knl.h"

int knl_open(struct knl *k, const char *ifname)
{
	int ret;

	memset(k, 0, sizeof(*k));
	snprintf(k->ifname, sizeof(k->ifname), "%s", ifname);
	ret = snl_open(&k->cmd);
	if (ret)
		return ret;
	ret = snl_open(&k->evt);
	if (ret) {
		memcpy(k->cmd.errmsg, k->evt.errmsg, sizeof(k->cmd.errmsg));
		goto close_cmd;
	}
	k->ifindex = if_nametoindex(ifname);
	if (!k->ifindex) {
		snprintf(k->cmd.errmsg, sizeof(k->cmd.errmsg),
			 "no such device '%s' (ip link add %s type sloop)",
			 ifname, ifname);
		ret = -ENODEV;
		goto close_evt;
	}
	return 0;
close_evt:
	snl_close(&k->evt);
close_cmd:
	snl_close(&k->cmd);
	return ret;
}

void knl_close(struct knl *k)
{
	snl_close(&k->evt);
	snl_close(&k->cmd);
}

const char *knl_errtext(const struct knl *k)
{
	if (k->cmd.extack[0])
		return k->cmd.extack;
	if (k->evt.extack[0])
		return k->evt.extack;
	return k->cmd.errmsg;
}

static struct nl_msg *dev_msg(struct snl *nl, const struct knl *k,
			      uint8_t cmd)
{
	struct nl_msg *m = snl_msg(nl, cmd, false);

	if (m && nla_put_u32(m, SLOOP_A_IFINDEX, k->ifindex)) {
		snl_msg_free(m);
		return NULL;
	}
	return m;
}

static int run(struct snl *nl, struct nl_msg *m, bool ok)
{
	if (!m)
		return -ENOMEM;
	if (!ok) {
		snl_msg_free(m);
		return -EMSGSIZE;
	}
	return snl_exec(nl, m, NULL, NULL);
}

int knl_attach(struct knl *k, int udp_fd)
{
	struct nl_msg *m = dev_msg(&k->evt, k, SLOOP_CMD_DEV_ATTACH);
	int ret;

	ret = run(&k->evt, m, m && !nla_put_u32(m, SLOOP_A_SOCK_FD, udp_fd));
	if (ret)
		return ret;
	ret = snl_join(&k->evt, SLOOP_MCGRP_NOTIFY);
	if (ret)
		return ret;
	snl_async(&k->evt);
	nl_socket_set_nonblocking(k->evt.sk);
	/* Control messages come in bursts at a rekey; do not drop them. */
	nl_socket_set_buffer_size(k->evt.sk, 1 << 20, 1 << 20);
	return 0;
}

int knl_dev_set_padding(struct knl *k, int padding)
{
	struct nl_msg *m = dev_msg(&k->cmd, k, SLOOP_CMD_DEV_SET);

	return run(&k->cmd, m,
		   m && !nla_put_u8(m, SLOOP_A_PADDING, (uint8_t)padding));
}

int knl_dev_set_rekey_after(struct knl *k, uint64_t packets)
{
	struct nl_msg *m = dev_msg(&k->cmd, k, SLOOP_CMD_DEV_SET);

	return run(&k->cmd, m,
		   m && !nla_put_u64(m, SLOOP_A_REKEY_AFTER_PACKETS, packets));
}

static int put_subnets(struct nl_msg *m, const struct knl_peer *p)
{
	struct nlattr *list = nla_nest_start(m, SLOOP_PEER_A_SUBNETS);

	if (!list)
		return -1;
	for (size_t i = 0; i < p->n_subnets; i++) {
		const struct knl_subnet *s = &p->subnets[i];
		struct nlattr *one = nla_nest_start(m, SLOOP_SUBNET);

		if (!one ||
		    nla_put_u16(m, SLOOP_SUBNET_A_FAMILY, (uint16_t)s->family) ||
		    nla_put(m, SLOOP_SUBNET_A_ADDR,
			    s->family == AF_INET ? 4 : 16, s->addr) ||
		    nla_put_u8(m, SLOOP_SUBNET_A_CIDR, s->cidr))
			return -1;
		nla_nest_end(m, one);
	}
	nla_nest_end(m, list);
	return 0;
}

static int put_peer(struct nl_msg *m, const struct knl_peer *p)
{
	struct nlattr *n = nla_nest_start(m, SLOOP_A_PEER);

	if (!n || nla_put_u32(m, SLOOP_PEER_A_ID, p->id))
		return -1;
	if (p->pubkey && nla_put(m, SLOOP_PEER_A_PUBKEY, 32, p->pubkey))
		return -1;
	if (p->endpoint &&
	    nla_put(m, SLOOP_PEER_A_ENDPOINT, (int)p->endpoint_len,
		    p->endpoint))
		return -1;
	if (p->rx_index && nla_put_u32(m, SLOOP_PEER_A_RX_INDEX, p->rx_index))
		return -1;
	if (p->tx_index && nla_put_u32(m, SLOOP_PEER_A_TX_INDEX, p->tx_index))
		return -1;
	if (p->cipher && nla_put_u32(m, SLOOP_PEER_A_CIPHER, p->cipher))
		return -1;
	if (p->hp_tx && nla_put(m, SLOOP_PEER_A_HP_TX_KEY, p->hp_len, p->hp_tx))
		return -1;
	if (p->hp_rx && nla_put(m, SLOOP_PEER_A_HP_RX_KEY, p->hp_len, p->hp_rx))
		return -1;
	if (p->n_subnets && put_subnets(m, p))
		return -1;
	if (p->replace_subnets && nla_put_flag(m, SLOOP_PEER_A_REPLACE_SUBNETS))
		return -1;
	nla_nest_end(m, n);
	return 0;
}

static int peer_cmd(struct knl *k, uint8_t cmd, const struct knl_peer *p)
{
	struct nl_msg *m = dev_msg(&k->cmd, k, cmd);

	return run(&k->cmd, m, m && !put_peer(m, p));
}

int knl_peer_new(struct knl *k, const struct knl_peer *p)
{
	return peer_cmd(k, SLOOP_CMD_PEER_NEW, p);
}

int knl_peer_set(struct knl *k, const struct knl_peer *p)
{
	return peer_cmd(k, SLOOP_CMD_PEER_SET, p);
}

int knl_peer_del(struct knl *k, uint32_t id)
{
	struct knl_peer p = { .id = id };

	return peer_cmd(k, SLOOP_CMD_PEER_DEL, &p);
}

static void read_stats(struct nlattr *a, struct knl_peer_info *info)
{
	struct nlattr *st[SLOOP_STATS_A_MAX + 1];

	if (!a || nla_parse_nested(st, SLOOP_STATS_A_MAX, a, NULL))
		return;
	snl_nla_u64(st[SLOOP_STATS_A_RX_BYTES], &info->rx_bytes);
	snl_nla_u64(st[SLOOP_STATS_A_TX_BYTES], &info->tx_bytes);
	snl_nla_u64(st[SLOOP_STATS_A_RX_PACKETS], &info->rx_packets);
	snl_nla_u64(st[SLOOP_STATS_A_TX_PACKETS], &info->tx_packets);
}

static int on_peer(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct knl_peer_info *info = arg;
	struct nlattr *pt[SLOOP_PEER_A_MAX + 1];

	if (!tb[SLOOP_A_PEER] ||
	    nla_parse_nested(pt, SLOOP_PEER_A_MAX, tb[SLOOP_A_PEER], NULL))
		return 0;
	snl_nla_u64(pt[SLOOP_PEER_A_LAST_RX], &info->last_rx_ns);
	snl_nla_u8(pt[SLOOP_PEER_A_TX_PHASE], &info->tx_phase);
	read_stats(pt[SLOOP_PEER_A_STATS], info);
	return 0;
}

int knl_peer_get(struct knl *k, uint32_t id, struct knl_peer_info *info)
{
	struct nl_msg *m = dev_msg(&k->cmd, k, SLOOP_CMD_PEER_GET);
	struct knl_peer p = { .id = id };

	memset(info, 0, sizeof(*info));
	if (!m)
		return -ENOMEM;
	if (put_peer(m, &p)) {
		snl_msg_free(m);
		return -EMSGSIZE;
	}
	return snl_exec(&k->cmd, m, on_peer, info);
}

static int key_msg(struct knl *k, uint8_t cmd, uint32_t peer, uint8_t phase,
		   uint32_t key_id, const struct sess_data_keys *keys)
{
	struct nl_msg *m = dev_msg(&k->cmd, k, cmd);
	struct knl_peer p = { .id = peer };
	struct nlattr *n;
	bool ok;

	if (!m)
		return -ENOMEM;
	ok = !put_peer(m, &p) && (n = nla_nest_start(m, SLOOP_A_KEY)) &&
	     !nla_put_u8(m, SLOOP_KEY_A_PHASE, phase);
	if (ok && keys)
		ok = !nla_put_u32(m, SLOOP_KEY_A_ID, key_id) &&
		     !nla_put(m, SLOOP_KEY_A_TX_KEY, keys->keylen,
			      keys->tx.key) &&
		     !nla_put(m, SLOOP_KEY_A_TX_SALT, SESS_SALT_LEN,
			      keys->tx.salt) &&
		     !nla_put(m, SLOOP_KEY_A_RX_KEY, keys->keylen,
			      keys->rx.key) &&
		     !nla_put(m, SLOOP_KEY_A_RX_SALT, SESS_SALT_LEN,
			      keys->rx.salt);
	if (ok)
		nla_nest_end(m, n);
	/* run() frees (and wipes) the message, keys included. */
	return run(&k->cmd, m, ok);
}

int knl_key_new(struct knl *k, uint32_t peer, uint8_t phase, uint32_t key_id,
		const struct sess_data_keys *keys)
{
	return key_msg(k, SLOOP_CMD_KEY_NEW, peer, phase, key_id, keys);
}

int knl_key_swap(struct knl *k, uint32_t peer, uint8_t phase)
{
	return key_msg(k, SLOOP_CMD_KEY_SWAP, peer, phase, 0, NULL);
}

int knl_key_del(struct knl *k, uint32_t peer, uint8_t phase)
{
	return key_msg(k, SLOOP_CMD_KEY_DEL, peer, phase, 0, NULL);
}

int knl_ctrl_send(struct knl *k, uint32_t peer, const uint8_t *buf,
		  size_t len)
{
	struct nl_msg *m = dev_msg(&k->cmd, k, SLOOP_CMD_CTRL_SEND);
	struct knl_peer p = { .id = peer };

	if (len == 0 || len > SLOOP_CTRL_MAX) {
		if (m)
			snl_msg_free(m);
		return -EMSGSIZE;
	}
	return run(&k->cmd, m,
		   m && !put_peer(m, &p) &&
		   !nla_put(m, SLOOP_A_CTRL, (int)len, buf));
}

int knl_event_fd(const struct knl *k)
{
	return snl_fd(&k->evt);
}

struct ev_state {
	struct knl *k;
	knl_event_fn fn;
	void *ctx;
};

static void parse_event(struct nlattr **tb, struct knl_event *ev)
{
	struct nlattr *pt[SLOOP_PEER_A_MAX + 1], *kt[SLOOP_KEY_A_MAX + 1];
	uint8_t phase;

	if (tb[SLOOP_A_PEER] &&
	    !nla_parse_nested(pt, SLOOP_PEER_A_MAX, tb[SLOOP_A_PEER], NULL)) {
		snl_nla_u32(pt[SLOOP_PEER_A_ID], &ev->peer_id);
		if (pt[SLOOP_PEER_A_ENDPOINT] &&
		    nla_len(pt[SLOOP_PEER_A_ENDPOINT]) >=
		    (int)sizeof(struct sockaddr_in))
			ev->endpoint = nla_data(pt[SLOOP_PEER_A_ENDPOINT]);
	}
	if (tb[SLOOP_A_CTRL]) {
		ev->ctrl = nla_data(tb[SLOOP_A_CTRL]);
		ev->ctrl_len = (size_t)nla_len(tb[SLOOP_A_CTRL]);
	}
	snl_nla_u32(tb[SLOOP_A_REASON], &ev->reason);
	if (tb[SLOOP_A_KEY] &&
	    !nla_parse_nested(kt, SLOOP_KEY_A_MAX, tb[SLOOP_A_KEY], NULL) &&
	    snl_nla_u8(kt[SLOOP_KEY_A_PHASE], &phase))
		ev->phase = phase;
}

static int on_event(struct nl_msg *msg, void *arg)
{
	struct ev_state *st = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gh = nlmsg_data(nlh);
	struct nlattr *tb[SLOOP_A_MAX + 1];
	struct knl_event ev = { .phase = -1 };
	uint32_t ifindex = 0;

	if (snl_parse(nlh, tb))
		return NL_OK;	/* a malformed event is dropped, not fatal */
	if (!snl_nla_u32(tb[SLOOP_A_IFINDEX], &ifindex) ||
	    ifindex != st->k->ifindex)
		return NL_OK;
	ev.cmd = gh->cmd;
	parse_event(tb, &ev);
	if (ev.peer_id)
		st->fn(st->ctx, &ev);
	return NL_OK;
}

int knl_read_events(struct knl *k, knl_event_fn fn, void *ctx)
{
	struct ev_state st = { .k = k, .fn = fn, .ctx = ctx };
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret = 0;

	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_event, &st);
	for (;;) {
		ret = nl_recvmsgs(k->evt.sk, cb);
		if (ret == -NLE_AGAIN) {
			ret = 0;
			break;
		}
		if (ret < 0) {
			/* -NLE_NOMEM: the socket overran; the caller resyncs. */
			ret = ret == -NLE_NOMEM ? -ENOBUFS : -EIO;
			break;
		}
	}
	nl_cb_put(cb);
	return ret;
}
