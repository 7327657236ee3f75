// SPDX-License-Identifier: MIT
/*
 * sloopctl: the grammar of `sloopctl set`.  Each keyword is a row in a
 * table (name, whether it takes an argument, handler) so that the
 * grammar, the error messages and the help text cannot drift apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sloop/uapi.h>
#include <sloop/wire.h>

#include "parse.h"

#define ERR(...) snprintf(err, SCTL_ERR_LEN, __VA_ARGS__)

struct parse_state {
	int argc, i;
	char **argv;
	struct sctl_set_req *req;
	char *err;
};

static const char *next_arg(struct parse_state *st, const char *kw)
{
	if (st->i + 1 >= st->argc) {
		snprintf(st->err, SCTL_ERR_LEN, "'%s' needs a value", kw);
		return NULL;
	}
	return st->argv[++st->i];
}

/* ------------------------------------------------------ device options */

static int dev_padding(struct parse_state *st, const char *v)
{
	if (sctl_parse_padding(v, &st->req->padding)) {
		snprintf(st->err, SCTL_ERR_LEN,
			 "bad padding '%s': expected 16 or buckets", v);
		return -1;
	}
	st->req->has_padding = true;
	return 0;
}

static int dev_rekey_after(struct parse_state *st, const char *v)
{
	if (sctl_parse_u64(v, &st->req->rekey_after)) {
		snprintf(st->err, SCTL_ERR_LEN,
			 "bad rekey-after '%s': expected a packet count", v);
		return -1;
	}
	st->req->has_rekey_after = true;
	return 0;
}

static int dev_reject_after(struct parse_state *st, const char *v)
{
	if (sctl_parse_u64(v, &st->req->reject_after)) {
		snprintf(st->err, SCTL_ERR_LEN,
			 "bad reject-after '%s': expected a packet count", v);
		return -1;
	}
	st->req->has_reject_after = true;
	return 0;
}

struct dev_opt {
	const char *name;
	int (*fn)(struct parse_state *st, const char *v);
};

static const struct dev_opt dev_opts[] = {
	{ "padding", dev_padding },
	{ "rekey-after", dev_rekey_after },
	{ "reject-after", dev_reject_after },
};

/* -------------------------------------------------------- peer options */

static struct sctl_set_peer *cur_peer(struct parse_state *st)
{
	return &st->req->peers[st->req->n_peers - 1];
}

static int peer_remove(struct parse_state *st, const char *v)
{
	cur_peer(st)->remove = true;
	return 0;
}

static int peer_pubkey(struct parse_state *st, const char *v)
{
	struct sctl_set_peer *p = cur_peer(st);
	size_t len = 0;

	if (sodium_base642bin(p->pubkey, sizeof(p->pubkey), v, strlen(v),
			      NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    len != sizeof(p->pubkey)) {
		snprintf(st->err, SCTL_ERR_LEN,
			 "bad pubkey '%s': expected 32 bytes in base64", v);
		return -1;
	}
	p->has_pubkey = true;
	return 0;
}

static int peer_endpoint(struct parse_state *st, const char *v)
{
	struct sctl_set_peer *p = cur_peer(st);

	if (sctl_parse_endpoint(v, &p->endpoint, &p->endpoint_len, st->err))
		return -1;
	p->has_endpoint = true;
	return 0;
}

static int parse_index(struct parse_state *st, const char *kw, const char *v,
		       uint32_t *out, bool *has)
{
	if (sctl_parse_u32(v, out) || *out == 0) {
		snprintf(st->err, SCTL_ERR_LEN,
			 "bad %s '%s': expected a non-zero 32-bit number",
			 kw, v);
		return -1;
	}
	*has = true;
	return 0;
}

static int peer_rx_index(struct parse_state *st, const char *v)
{
	struct sctl_set_peer *p = cur_peer(st);

	return parse_index(st, "rx-index", v, &p->rx_index, &p->has_rx_index);
}

static int peer_tx_index(struct parse_state *st, const char *v)
{
	struct sctl_set_peer *p = cur_peer(st);

	return parse_index(st, "tx-index", v, &p->tx_index, &p->has_tx_index);
}

static int peer_cipher(struct parse_state *st, const char *v)
{
	struct sctl_set_peer *p = cur_peer(st);

	if (sctl_parse_cipher(v, &p->cipher)) {
		snprintf(st->err, SCTL_ERR_LEN,
			 "bad cipher '%s': expected aes256gcm, aes128gcm or chacha20poly1305",
			 v);
		return -1;
	}
	p->has_cipher = true;
	return 0;
}

/* AEAD and header-protection keys are 16 or 32 bytes for every cipher. */
static int parse_key(struct parse_state *st, const char *kw, const char *v,
		     struct sctl_bin *out)
{
	char sub[SCTL_ERR_LEN];

	if (sctl_parse_key_arg(v, out, sub)) {
		snprintf(st->err, SCTL_ERR_LEN, "%s: %.200s", kw, sub);
		return -1;
	}
	if (out->len != 16 && out->len != 32) {
		snprintf(st->err, SCTL_ERR_LEN,
			 "%s: %zu bytes, expected 16 or 32", kw, out->len);
		return -1;
	}
	return 0;
}

static int parse_salt(struct parse_state *st, const char *kw, const char *v,
		      struct sctl_bin *out)
{
	char sub[SCTL_ERR_LEN];

	if (sctl_parse_key_arg(v, out, sub)) {
		snprintf(st->err, SCTL_ERR_LEN, "%s: %.200s", kw, sub);
		return -1;
	}
	if (out->len != SLOOP_SALT_LEN) {
		snprintf(st->err, SCTL_ERR_LEN, "%s: %zu bytes, expected %d",
			 kw, out->len, SLOOP_SALT_LEN);
		return -1;
	}
	return 0;
}

static int peer_hp_tx(struct parse_state *st, const char *v)
{
	return parse_key(st, "hp-tx-key", v, &cur_peer(st)->hp_tx);
}

static int peer_hp_rx(struct parse_state *st, const char *v)
{
	return parse_key(st, "hp-rx-key", v, &cur_peer(st)->hp_rx);
}

static int peer_subnets(struct parse_state *st, const char *v)
{
	struct sctl_set_peer *p = cur_peer(st);

	return sctl_parse_subnet_list(v, p->subnets, SCTL_SUBNETS_MAX,
				      &p->n_subnets, st->err);
}

static int peer_replace(struct parse_state *st, const char *v)
{
	cur_peer(st)->replace_subnets = true;
	return 0;
}

static int parse_phase(struct parse_state *st, const char *kw, const char *v,
		       uint8_t *phase)
{
	if (strcmp(v, "0") && strcmp(v, "1")) {
		snprintf(st->err, SCTL_ERR_LEN,
			 "bad %s phase '%s': expected 0 or 1", kw, v);
		return -1;
	}
	*phase = (uint8_t)(v[0] - '0');
	return 0;
}

static struct sctl_keyop *new_keyop(struct parse_state *st,
				    enum sctl_keyop_kind kind)
{
	struct sctl_set_peer *p = cur_peer(st);
	struct sctl_keyop *op;

	if (p->n_keyops >= SCTL_KEYOPS_MAX) {
		snprintf(st->err, SCTL_ERR_LEN,
			 "too many key operations for peer %u (at most %d)",
			 p->id, SCTL_KEYOPS_MAX);
		return NULL;
	}
	op = &p->keyops[p->n_keyops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	return op;
}

static int key_sub(struct parse_state *st, struct sctl_keyop *op,
		   const char *kw, const char *v)
{
	if (!strcmp(kw, "tx-key"))
		return parse_key(st, kw, v, &op->tx_key);
	if (!strcmp(kw, "rx-key"))
		return parse_key(st, kw, v, &op->rx_key);
	if (!strcmp(kw, "tx-salt"))
		return parse_salt(st, kw, v, &op->tx_salt);
	if (!strcmp(kw, "rx-salt"))
		return parse_salt(st, kw, v, &op->rx_salt);
	if (sctl_parse_u32(v, &op->id)) {
		snprintf(st->err, SCTL_ERR_LEN,
			 "bad key id '%s': expected a 32-bit number", v);
		return -1;
	}
	op->has_id = true;
	return 0;
}

static bool is_key_sub(const char *s)
{
	static const char *const subs[] = {
		"tx-key", "tx-salt", "rx-key", "rx-salt", "id",
	};

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(s, subs[i]))
			return true;
	return false;
}

/* `key PHASE tx-key HEX tx-salt HEX rx-key HEX rx-salt HEX [id N]` */
static int peer_key(struct parse_state *st, const char *v)
{
	struct sctl_keyop *op = new_keyop(st, SCTL_KEYOP_NEW);

	if (!op || parse_phase(st, "key", v, &op->phase))
		return -1;
	while (st->i + 1 < st->argc && is_key_sub(st->argv[st->i + 1])) {
		const char *kw = st->argv[++st->i];
		const char *val = next_arg(st, kw);

		if (!val || key_sub(st, op, kw, val))
			return -1;
	}
	if (!op->tx_key.len || !op->tx_salt.len || !op->rx_key.len ||
	    !op->rx_salt.len) {
		snprintf(st->err, SCTL_ERR_LEN,
			 "key %u needs tx-key, tx-salt, rx-key and rx-salt",
			 op->phase);
		return -1;
	}
	return 0;
}

static int peer_swap(struct parse_state *st, const char *v)
{
	struct sctl_keyop *op = new_keyop(st, SCTL_KEYOP_SWAP);

	return op ? parse_phase(st, "swap", v, &op->phase) : -1;
}

static int peer_del_key(struct parse_state *st, const char *v)
{
	struct sctl_keyop *op = new_keyop(st, SCTL_KEYOP_DEL);

	return op ? parse_phase(st, "del-key", v, &op->phase) : -1;
}

struct peer_opt {
	const char *name;
	bool has_arg;
	int (*fn)(struct parse_state *st, const char *v);
};

static const struct peer_opt peer_opts[] = {
	{ "remove", false, peer_remove },
	{ "pubkey", true, peer_pubkey },
	{ "endpoint", true, peer_endpoint },
	{ "rx-index", true, peer_rx_index },
	{ "tx-index", true, peer_tx_index },
	{ "cipher", true, peer_cipher },
	{ "hp-tx-key", true, peer_hp_tx },
	{ "hp-rx-key", true, peer_hp_rx },
	{ "subnets", true, peer_subnets },
	{ "replace-subnets", false, peer_replace },
	{ "key", true, peer_key },
	{ "swap", true, peer_swap },
	{ "del-key", true, peer_del_key },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct dev_opt *find_dev_opt(const char *s)
{
	for (size_t i = 0; i < ARRAY_LEN(dev_opts); i++)
		if (!strcmp(s, dev_opts[i].name))
			return &dev_opts[i];
	return NULL;
}

static const struct peer_opt *find_peer_opt(const char *s)
{
	for (size_t i = 0; i < ARRAY_LEN(peer_opts); i++)
		if (!strcmp(s, peer_opts[i].name))
			return &peer_opts[i];
	return NULL;
}

static int start_peer(struct parse_state *st)
{
	struct sctl_set_req *req = st->req;
	const char *v = next_arg(st, "peer");
	struct sctl_set_peer *p;
	uint32_t id;

	if (!v)
		return -1;
	if (sctl_parse_u32(v, &id) || id == 0) {
		snprintf(st->err, SCTL_ERR_LEN,
			 "bad peer id '%s': expected a non-zero 32-bit number",
			 v);
		return -1;
	}
	if (req->n_peers >= SCTL_PEERS_MAX) {
		snprintf(st->err, SCTL_ERR_LEN,
			 "too many peers in one command (at most %d)",
			 SCTL_PEERS_MAX);
		return -1;
	}
	p = &req->peers[req->n_peers];
	memset(p, 0, sizeof(*p));
	p->subnets = calloc(SCTL_SUBNETS_MAX, sizeof(*p->subnets));
	if (!p->subnets) {
		snprintf(st->err, SCTL_ERR_LEN, "out of memory");
		return -1;
	}
	req->n_peers++;
	p->id = id;
	return 0;
}

static int peer_token(struct parse_state *st, const char *tok)
{
	const struct peer_opt *po = find_peer_opt(tok);
	const char *v = NULL;

	if (!po) {
		if (find_dev_opt(tok))
			snprintf(st->err, SCTL_ERR_LEN,
				 "'%s' is a device option: put it before the first 'peer'",
				 tok);
		else
			snprintf(st->err, SCTL_ERR_LEN,
				 "unknown peer option '%s'", tok);
		return -1;
	}
	if (po->has_arg && !(v = next_arg(st, tok)))
		return -1;
	if (cur_peer(st)->remove && strcmp(tok, "remove")) {
		snprintf(st->err, SCTL_ERR_LEN,
			 "'%s' makes no sense for a peer being removed", tok);
		return -1;
	}
	return po->fn(st, v);
}

static int dev_token(struct parse_state *st, const char *tok)
{
	const struct dev_opt *dopt = find_dev_opt(tok);
	const char *v;

	if (!dopt) {
		snprintf(st->err, SCTL_ERR_LEN, "unknown option '%s'%s", tok,
			 find_peer_opt(tok) ? " (peer options follow 'peer ID')" :
					      "");
		return -1;
	}
	v = next_arg(st, tok);
	return v ? dopt->fn(st, v) : -1;
}

/* A removed peer takes no other option in either order. */
static int check_peer(struct parse_state *st, const struct sctl_set_peer *p)
{
	if (p->remove && (sctl_peer_has_attrs(p) || p->n_keyops)) {
		snprintf(st->err, SCTL_ERR_LEN,
			 "peer %u: 'remove' cannot be combined with other options",
			 p->id);
		return -1;
	}
	return 0;
}

int sctl_set_parse(int argc, char **argv, struct sctl_set_req *req,
		   char *err)
{
	struct parse_state st = {
		.argc = argc, .argv = argv, .req = req, .err = err,
	};

	memset(req, 0, sizeof(*req));
	if (argc < 1 || !argv[0][0]) {
		ERR("missing device name");
		return -1;
	}
	req->dev = argv[0];
	req->peers = calloc(SCTL_PEERS_MAX, sizeof(*req->peers));
	if (!req->peers) {
		ERR("out of memory");
		return -1;
	}
	for (st.i = 1; st.i < argc; st.i++) {
		const char *tok = argv[st.i];
		int ret;

		if (!strcmp(tok, "peer"))
			ret = start_peer(&st);
		else if (req->n_peers)
			ret = peer_token(&st, tok);
		else
			ret = dev_token(&st, tok);
		if (ret)
			goto fail;
	}
	for (size_t i = 0; i < req->n_peers; i++)
		if (check_peer(&st, &req->peers[i]))
			goto fail;
	return 0;
fail:
	sctl_set_free(req);
	return -1;
}

bool sctl_peer_has_attrs(const struct sctl_set_peer *p)
{
	return p->has_pubkey || p->has_endpoint || p->has_rx_index ||
	       p->has_tx_index || p->has_cipher || p->hp_tx.len ||
	       p->hp_rx.len || p->n_subnets || p->replace_subnets;
}

void sctl_set_free(struct sctl_set_req *req)
{
	if (!req->peers)
		return;
	for (size_t i = 0; i < req->n_peers; i++) {
		struct sctl_set_peer *p = &req->peers[i];

		free(p->subnets);
	}
	sodium_memzero(req->peers, SCTL_PEERS_MAX * sizeof(*req->peers));
	free(req->peers);
	req->peers = NULL;
	req->n_peers = 0;
}
