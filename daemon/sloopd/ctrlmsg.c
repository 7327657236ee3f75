// SPDX-License-Identifier: MIT
#include <string.h>

#include <sodium.h>

#include "ctrlmsg.h"

#define PT_MAX	(CTRL_MSG_MAX - CTRL_HDR_LEN - CTRL_TAG_LEN)

void ctrl_chan_init(struct ctrl_chan *c, const uint8_t tx_key[32],
		    const uint8_t rx_key[32])
{
	memset(c, 0, sizeof(*c));
	memcpy(c->tx_key, tx_key, 32);
	memcpy(c->rx_key, rx_key, 32);
}

void ctrl_chan_wipe(struct ctrl_chan *c)
{
	sodium_memzero(c, sizeof(*c));
}

const char *ctrl_type_name(uint8_t type)
{
	static const char *const names[] = {
		[CTRL_HEARTBEAT] = "heartbeat",
		[CTRL_REKEY_INIT] = "rekey-init",
		[CTRL_REKEY_ACK] = "rekey-ack",
		[CTRL_REKEY_DONE] = "rekey-done",
		[CTRL_SHUTDOWN] = "shutdown",
		[CTRL_REVOKE] = "revoke",
		[CTRL_RENEW] = "renew",
		[CTRL_CRED] = "cred",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "unknown";
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static size_t put_tlv(uint8_t *p, uint8_t tag, const void *v, size_t len)
{
	p[0] = tag;
	put_be(p + 1, len, 2);
	memcpy(p + 3, v, len);
	return 3 + len;
}

static size_t encode(const struct ctrl_msg *m, uint8_t *pt)
{
	uint8_t be[4];
	size_t n = 0;

	pt[n++] = m->type;
	pt[n++] = m->flags;
	if (m->has_id) {
		put_be(be, m->rekey_id, 4);
		n += put_tlv(pt + n, CTRL_T_REKEY_ID, be, 4);
	}
	if (m->has_ephemeral)
		n += put_tlv(pt + n, CTRL_T_EPHEMERAL, m->ephemeral, 32);
	if (m->has_reason) {
		put_be(be, m->reason, 4);
		n += put_tlv(pt + n, CTRL_T_REASON, be, 4);
	}
	if (m->has_gen) {
		put_be(be, m->gen, 4);
		n += put_tlv(pt + n, CTRL_T_GENERATION, be, 4);
	}
	if (m->text[0])
		n += put_tlv(pt + n, CTRL_T_TEXT, m->text,
			     strnlen(m->text, CTRL_TEXT_MAX));
	if (m->record_len)
		n += put_tlv(pt + n, CTRL_T_RECORD, m->record, m->record_len);
	return n;
}

static void nonce_of(uint8_t nonce[12], const uint8_t *hdr)
{
	memset(nonce, 0, 4);
	memcpy(nonce + 4, hdr + 4, 8);
}

int ctrl_seal(struct ctrl_chan *c, const struct ctrl_msg *m, uint8_t *out,
	      size_t cap, size_t *len)
{
	uint8_t pt[PT_MAX], nonce[12];
	unsigned long long clen;
	size_t n;

	if (!m->type || c->tx_seq == UINT64_MAX ||
	    m->record_len > CTRL_RECORD_MAX)
		return -1;
	n = encode(m, pt);
	if (cap < CTRL_HDR_LEN + n + CTRL_TAG_LEN)
		return -1;
	memset(out, 0, CTRL_HDR_LEN);
	out[0] = CTRL_VERSION;
	put_be(out + 4, ++c->tx_seq, 8);
	nonce_of(nonce, out);
	crypto_aead_chacha20poly1305_ietf_encrypt(out + CTRL_HDR_LEN, &clen,
						  pt, n, out, CTRL_HDR_LEN,
						  NULL, nonce, c->tx_key);
	sodium_memzero(pt, sizeof(pt));
	*len = CTRL_HDR_LEN + (size_t)clen;
	return 0;
}

static enum reason bad(struct ctrl_chan *c, enum reason r)
{
	if (r == REASON_CTRL_AUTH)
		c->n_auth_fail++;
	else if (r == REASON_HS_REPLAY)
		c->n_replay++;
	else
		c->n_malformed++;
	return r;
}

/* Sliding window, checked only after authentication. */
static bool replay_check_and_set(struct ctrl_chan *c, uint64_t seq)
{
	uint64_t d;

	if (!seq)
		return false;
	if (seq > c->rx_top) {
		d = seq - c->rx_top;
		c->rx_bits = d >= 64 ? 0 : c->rx_bits << d;
		c->rx_bits |= 1;
		c->rx_top = seq;
		return true;
	}
	d = c->rx_top - seq;
	if (d >= 64 || (c->rx_bits >> d & 1))
		return false;
	c->rx_bits |= 1ull << d;
	return true;
}

static int take_tlv(struct ctrl_msg *m, uint8_t tag, const uint8_t *v,
		    size_t len, unsigned int *seen)
{
	if (tag < 32) {
		if (*seen & 1u << tag)
			return -1;
		*seen |= 1u << tag;
	}
	switch (tag) {
	case CTRL_T_REKEY_ID:
		if (len != 4)
			return -1;
		m->rekey_id = (uint32_t)get_be(v, 4);
		m->has_id = true;
		return 0;
	case CTRL_T_EPHEMERAL:
		if (len != 32)
			return -1;
		memcpy(m->ephemeral, v, 32);
		m->has_ephemeral = true;
		return 0;
	case CTRL_T_REASON:
		if (len != 4)
			return -1;
		m->reason = (uint32_t)get_be(v, 4);
		m->has_reason = true;
		return 0;
	case CTRL_T_GENERATION:
		if (len != 4)
			return -1;
		m->gen = (uint32_t)get_be(v, 4);
		m->has_gen = true;
		return 0;
	case CTRL_T_TEXT:
		if (len > CTRL_TEXT_MAX || memchr(v, 0, len))
			return -1;
		memcpy(m->text, v, len);
		m->text[len] = 0;
		return 0;
	case CTRL_T_RECORD:
		if (!len || len > CTRL_RECORD_MAX)
			return -1;
		memcpy(m->record, v, len);
		m->record_len = len;
		return 0;
	default:
		return 0;	/* unknown: skipped for compatibility */
	}
}

static int decode(const uint8_t *pt, size_t n, struct ctrl_msg *m)
{
	unsigned int seen = 0;
	size_t i = 2;

	memset(m, 0, sizeof(*m));
	if (n < 2 || !pt[0])
		return -1;
	m->type = pt[0];
	m->flags = pt[1];
	while (i < n) {
		size_t len;

		if (n - i < 3)
			return -1;
		len = (size_t)get_be(pt + i + 1, 2);
		if (n - i - 3 < len ||
		    take_tlv(m, pt[i], pt + i + 3, len, &seen))
			return -1;
		i += 3 + len;
	}
	return 0;
}

/* The fields each known type needs; extra ones are tolerated. */
static bool complete(const struct ctrl_msg *m)
{
	switch (m->type) {
	case CTRL_REKEY_INIT:
		return m->has_id && m->has_ephemeral && m->has_gen;
	case CTRL_REKEY_ACK:
		return m->has_id && m->has_ephemeral;
	case CTRL_REKEY_DONE:
		return m->has_id;
	default:
		return true;
	}
}

enum reason ctrl_open(struct ctrl_chan *c, const uint8_t *in, size_t len,
		      struct ctrl_msg *m)
{
	uint8_t pt[1024], nonce[12];
	unsigned long long n;
	enum reason r = REASON_OK;

	if (len < CTRL_HDR_LEN + CTRL_TAG_LEN || len > sizeof(pt) ||
	    in[0] != CTRL_VERSION || in[1] || in[2] || in[3])
		return bad(c, REASON_HS_MALFORMED);
	nonce_of(nonce, in);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(
		    pt, &n, NULL, in + CTRL_HDR_LEN, len - CTRL_HDR_LEN, in,
		    CTRL_HDR_LEN, nonce, c->rx_key))
		return bad(c, REASON_CTRL_AUTH);
	if (!replay_check_and_set(c, get_be(in + 4, 8)))
		r = REASON_HS_REPLAY;
	else if (decode(pt, (size_t)n, m) || !complete(m))
		r = REASON_HS_MALFORMED;
	sodium_memzero(pt, sizeof(pt));
	return r == REASON_OK ? r : bad(c, r);
}
