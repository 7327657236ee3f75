// SPDX-License-Identifier: MIT
/*
 * sloopctl set: turns a parsed request into DEV_SET, PEER_NEW/SET/DEL and
 * KEY_NEW/SWAP/DEL messages, in the order given on the command line.
 * Stops at the first error so that the user knows what was applied.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sloop/uapi.h>

#include "cmds.h"
#include "nl.h"
#include "parse.h"

static int put_dev_opts(struct nl_msg *msg, const struct sctl_set_req *req)
{
	if (req->has_padding &&
	    nla_put_u8(msg, SLOOP_A_PADDING, req->padding))
		return -1;
	if (req->has_rekey_after &&
	    nla_put_u64(msg, SLOOP_A_REKEY_AFTER_PACKETS, req->rekey_after))
		return -1;
	if (req->has_reject_after &&
	    nla_put_u64(msg, SLOOP_A_REJECT_AFTER_PACKETS, req->reject_after))
		return -1;
	return 0;
}

static int run(struct snl *nl, struct nl_msg *msg, const char *what)
{
	int ret = snl_exec(nl, msg, NULL, NULL);

	if (ret)
		sctl_nl_perror(nl, what, ret);
	return ret;
}

static struct nl_msg *dev_msg(struct snl *nl, uint8_t cmd,
			      const char *dev)
{
	struct nl_msg *msg = snl_msg(nl, cmd, false);

	if (!msg) {
		fprintf(stderr, "sloopctl: out of memory\n");
		return NULL;
	}
	if (sctl_nl_put_dev(msg, dev)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static int do_dev_set(struct snl *nl, const struct sctl_set_req *req)
{
	struct nl_msg *msg = dev_msg(nl, SLOOP_CMD_DEV_SET, req->dev);

	if (!msg)
		return -1;
	if (put_dev_opts(msg, req)) {
		nlmsg_free(msg);
		return -1;
	}
	return run(nl, msg, "setting device options");
}

static int put_subnets(struct nl_msg *msg, const struct sctl_set_peer *p)
{
	struct nlattr *list, *one;

	if (!p->n_subnets)
		return 0;
	list = nla_nest_start(msg, SLOOP_PEER_A_SUBNETS);
	if (!list)
		return -1;
	for (size_t i = 0; i < p->n_subnets; i++) {
		const struct sctl_subnet *sn = &p->subnets[i];

		one = nla_nest_start(msg, SLOOP_SUBNET);
		if (!one ||
		    nla_put_u16(msg, SLOOP_SUBNET_A_FAMILY, (uint16_t)sn->family) ||
		    nla_put(msg, SLOOP_SUBNET_A_ADDR,
			    sn->family == AF_INET ? 4 : 16, sn->addr) ||
		    nla_put_u8(msg, SLOOP_SUBNET_A_CIDR, sn->cidr))
			return -1;
		nla_nest_end(msg, one);
	}
	nla_nest_end(msg, list);
	return 0;
}

static int put_peer_attrs(struct nl_msg *msg, const struct sctl_set_peer *p)
{
	if (p->has_pubkey &&
	    nla_put(msg, SLOOP_PEER_A_PUBKEY, sizeof(p->pubkey), p->pubkey))
		return -1;
	if (p->has_endpoint &&
	    nla_put(msg, SLOOP_PEER_A_ENDPOINT, (int)p->endpoint_len,
		    &p->endpoint))
		return -1;
	if (p->has_rx_index &&
	    nla_put_u32(msg, SLOOP_PEER_A_RX_INDEX, p->rx_index))
		return -1;
	if (p->has_tx_index &&
	    nla_put_u32(msg, SLOOP_PEER_A_TX_INDEX, p->tx_index))
		return -1;
	if (p->has_cipher && nla_put_u32(msg, SLOOP_PEER_A_CIPHER, p->cipher))
		return -1;
	if (p->hp_tx.len && nla_put(msg, SLOOP_PEER_A_HP_TX_KEY,
				    (int)p->hp_tx.len, p->hp_tx.buf))
		return -1;
	if (p->hp_rx.len && nla_put(msg, SLOOP_PEER_A_HP_RX_KEY,
				    (int)p->hp_rx.len, p->hp_rx.buf))
		return -1;
	if (p->replace_subnets && nla_put_flag(msg, SLOOP_PEER_A_REPLACE_SUBNETS))
		return -1;
	return put_subnets(msg, p);
}

/* PEER{ID} alone, or with the peer's attributes. */
static int put_peer(struct nl_msg *msg, const struct sctl_set_peer *p,
		    bool attrs)
{
	struct nlattr *nest = nla_nest_start(msg, SLOOP_A_PEER);

	if (!nest || nla_put_u32(msg, SLOOP_PEER_A_ID, p->id))
		return -1;
	if (attrs && put_peer_attrs(msg, p))
		return -1;
	nla_nest_end(msg, nest);
	return 0;
}

static int peer_cmd(struct snl *nl, const char *dev, uint8_t cmd,
		    const struct sctl_set_peer *p, bool attrs, bool quiet)
{
	struct nl_msg *msg = dev_msg(nl, cmd, dev);
	char what[64];
	int ret;

	if (!msg)
		return SCTL_EREPORTED;
	if (put_peer(msg, p, attrs)) {
		fprintf(stderr, "sloopctl: peer %u: message too large\n", p->id);
		snl_msg_free(msg);
		return SCTL_EREPORTED;
	}
	if (quiet)
		return snl_exec(nl, msg, NULL, NULL);
	snprintf(what, sizeof(what), "peer %u", p->id);
	ret = run(nl, msg, what);
	return ret;
}

static int put_key(struct nl_msg *msg, const struct sctl_keyop *op)
{
	struct nlattr *nest = nla_nest_start(msg, SLOOP_A_KEY);

	if (!nest || nla_put_u8(msg, SLOOP_KEY_A_PHASE, op->phase))
		return -1;
	if (op->kind == SCTL_KEYOP_NEW) {
		if ((op->has_id && nla_put_u32(msg, SLOOP_KEY_A_ID, op->id)) ||
		    nla_put(msg, SLOOP_KEY_A_TX_KEY, (int)op->tx_key.len,
			    op->tx_key.buf) ||
		    nla_put(msg, SLOOP_KEY_A_TX_SALT, (int)op->tx_salt.len,
			    op->tx_salt.buf) ||
		    nla_put(msg, SLOOP_KEY_A_RX_KEY, (int)op->rx_key.len,
			    op->rx_key.buf) ||
		    nla_put(msg, SLOOP_KEY_A_RX_SALT, (int)op->rx_salt.len,
			    op->rx_salt.buf))
			return -1;
	}
	nla_nest_end(msg, nest);
	return 0;
}

static int key_cmd(struct snl *nl, const char *dev,
		   const struct sctl_set_peer *p, const struct sctl_keyop *op)
{
	static const uint8_t cmds[] = {
		[SCTL_KEYOP_NEW] = SLOOP_CMD_KEY_NEW,
		[SCTL_KEYOP_SWAP] = SLOOP_CMD_KEY_SWAP,
		[SCTL_KEYOP_DEL] = SLOOP_CMD_KEY_DEL,
	};
	static const char *const names[] = {
		[SCTL_KEYOP_NEW] = "key", [SCTL_KEYOP_SWAP] = "swap",
		[SCTL_KEYOP_DEL] = "del-key",
	};
	struct nl_msg *msg = dev_msg(nl, cmds[op->kind], dev);
	char what[64];
	int ret;

	if (!msg)
		return -1;
	if (put_peer(msg, p, false) || put_key(msg, op)) {
		fprintf(stderr, "sloopctl: message too large\n");
		snl_msg_free(msg);
		return -1;
	}
	snprintf(what, sizeof(what), "peer %u: %s %u", p->id,
		 names[op->kind], op->phase);
	ret = run(nl, msg, what);
	return ret;
}

static int peer_exists(struct snl *nl, const char *dev,
		       const struct sctl_set_peer *p, bool *exists)
{
	int ret = peer_cmd(nl, dev, SLOOP_CMD_PEER_GET, p, false, true);

	if (ret == 0 || ret == -ENOENT) {
		*exists = ret == 0;
		return 0;
	}
	if (ret != SCTL_EREPORTED)
		sctl_nl_perror(nl, "looking up peer", ret);
	return -1;
}

static int apply_peer(struct snl *nl, const char *dev,
		      const struct sctl_set_peer *p)
{
	bool exists;

	if (p->remove)
		return peer_cmd(nl, dev, SLOOP_CMD_PEER_DEL, p, false, false);
	if (peer_exists(nl, dev, p, &exists))
		return -1;
	if (!exists && !sctl_peer_has_attrs(p) && p->n_keyops) {
		/* Creating an empty peer as a side effect of a key operation
		 * would leave half a configuration behind when it fails.
		 */
		fprintf(stderr,
			"sloopctl: peer %u does not exist (key operations need an existing peer)\n",
			p->id);
		return -1;
	}
	if (!exists) {
		if (peer_cmd(nl, dev, SLOOP_CMD_PEER_NEW, p, true, false))
			return -1;
	} else if (sctl_peer_has_attrs(p) &&
		   peer_cmd(nl, dev, SLOOP_CMD_PEER_SET, p, true, false)) {
		return -1;
	}
	for (size_t i = 0; i < p->n_keyops; i++)
		if (key_cmd(nl, dev, p, &p->keyops[i]))
			return -1;
	return 0;
}

/* One `set` on an open socket: 0 on success, 1 after printing why not. */
int sctl_set_run(struct snl *nl, int argc, char **argv)
{
	struct sctl_set_req req;
	char err[SCTL_ERR_LEN];
	int ret = 1;

	if (argc < 1) {
		fprintf(stderr, "Usage: sloopctl set DEV [options] [peer ID [options]]...\n");
		return 1;
	}
	if (sctl_set_parse(argc, argv, &req, err)) {
		fprintf(stderr, "sloopctl set: %s\n", err);
		return 1;
	}
	if ((req.has_padding || req.has_rekey_after || req.has_reject_after) &&
	    do_dev_set(nl, &req))
		goto free_req;
	for (size_t i = 0; i < req.n_peers; i++)
		if (apply_peer(nl, req.dev, &req.peers[i]))
			goto free_req;
	ret = 0;
free_req:
	sctl_set_free(&req);
	return ret;
}

int sctl_cmd_set(int argc, char **argv)
{
	struct snl nl;
	int ret;

	if (argc < 1) {
		fprintf(stderr, "Usage: sloopctl set DEV [options] [peer ID [options]]...\n");
		return 1;
	}
	if (sctl_nl_open(&nl))
		return 1;
	ret = sctl_set_run(&nl, argc, argv);
	snl_close(&nl);
	return ret;
}
