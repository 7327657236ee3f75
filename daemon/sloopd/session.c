// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include <sodium.h>
#include <sloop/uapi.h>

#include "session.h"

/* ------------------------------------------------------------ keys */

unsigned int sess_cipher_keylen(int cipher)
{
	switch (cipher) {
	case SLOOP_CIPHER_AES256_GCM:
	case SLOOP_CIPHER_CHACHA20_POLY1305:
		return 32;
	case SLOOP_CIPHER_AES128_GCM:
		return 16;
	default:
		return 0;
	}
}

/* One labelled output of the Noise HKDF: distinct labels, unrelated keys. */
static void kdf_label(uint8_t out[NOISE_HASHLEN],
		      const uint8_t ck[NOISE_HASHLEN], const char *label)
{
	uint8_t unused[NOISE_HASHLEN];

	noise_hkdf(ck, (const uint8_t *)label, strlen(label), out, unused,
		   NULL);
	sodium_memzero(unused, sizeof(unused));
}

/*
 * Directions are named by the handshake roles ("i2r": what the
 * initiator sends), so both sides derive the same key for one direction.
 */
static void dir_key(uint8_t *out, size_t len, const uint8_t *ck,
		    const char *what, bool tx, bool initiator)
{
	uint8_t okm[NOISE_HASHLEN];
	char label[32];

	snprintf(label, sizeof(label), "sloop %s %s", what,
		 tx == initiator ? "i2r" : "r2i");
	kdf_label(okm, ck, label);
	memcpy(out, okm, len);
	sodium_memzero(okm, sizeof(okm));
}

static void data_keys(const uint8_t root[NOISE_HASHLEN], bool initiator,
		      uint8_t keylen, struct sess_data_keys *out)
{
	uint8_t okm[SESS_KEY_MAX + SESS_SALT_LEN];

	/* Key and salt from one output: bytes 0..31 key, 32..35 salt. */
	out->keylen = keylen;
	dir_key(okm, sizeof(okm), root, "data", true, initiator);
	memcpy(out->tx.key, okm, keylen);
	memcpy(out->tx.salt, okm + SESS_KEY_MAX, SESS_SALT_LEN);
	dir_key(okm, sizeof(okm), root, "data", false, initiator);
	memcpy(out->rx.key, okm, keylen);
	memcpy(out->rx.salt, okm + SESS_KEY_MAX, SESS_SALT_LEN);
	sodium_memzero(okm, sizeof(okm));
}

static void key32(uint8_t *out, size_t len, const uint8_t ck[NOISE_HASHLEN],
		  const char *label)
{
	uint8_t okm[NOISE_HASHLEN];

	kdf_label(okm, ck, label);
	memcpy(out, okm, len);
	sodium_memzero(okm, sizeof(okm));
}

int sess_keys_derive(struct sess_keys *k, const struct hs_result *r)
{
	uint8_t root[NOISE_HASHLEN], unused[NOISE_HASHLEN];
	bool ini = r->initiator;

	memset(k, 0, sizeof(*k));
	k->keylen = sess_cipher_keylen(r->cipher);
	if (!k->keylen)
		return -1;
	k->cipher = r->cipher;
	k->initiator = ini;
	/* Bind everything to the transcript, not only to the chaining key. */
	noise_hkdf(r->ck, r->h, sizeof(r->h), root, unused, NULL);
	data_keys(root, ini, k->keylen, &k->data);
	dir_key(k->hp_tx, k->keylen, root, "hp", true, ini);
	dir_key(k->hp_rx, k->keylen, root, "hp", false, ini);
	dir_key(k->ctrl_tx, 32, root, "ctrl", true, ini);
	dir_key(k->ctrl_rx, 32, root, "ctrl", false, ini);
	key32(k->chain, SESS_CHAIN_LEN, root, "sloop rekey chain");
	sodium_memzero(root, sizeof(root));
	sodium_memzero(unused, sizeof(unused));
	return 0;
}

void sess_rekey_derive(uint8_t chain[SESS_CHAIN_LEN], const uint8_t dh[32],
		       bool initiator, uint8_t keylen,
		       struct sess_data_keys *out)
{
	uint8_t next[NOISE_HASHLEN], root[NOISE_HASHLEN];

	noise_hkdf(chain, dh, 32, next, root, NULL);
	memcpy(chain, next, SESS_CHAIN_LEN);
	data_keys(root, initiator, keylen, out);
	sodium_memzero(next, sizeof(next));
	sodium_memzero(root, sizeof(root));
}

void sess_keys_wipe(struct sess_keys *k)
{
	sodium_memzero(k, sizeof(*k));
}

void sess_data_keys_wipe(struct sess_data_keys *k)
{
	sodium_memzero(k, sizeof(*k));
}

/* ------------------------------------------------------------ heartbeat */

void sess_hb_init(struct sess_hb *hb, uint64_t now, unsigned int heartbeat_ms,
		  unsigned int dead_ms)
{
	hb->last_rx_ms = now;
	hb->last_tx_ms = now;
	hb->heartbeat_ms = heartbeat_ms;
	hb->dead_ms = dead_ms;
}

void sess_hb_rx(struct sess_hb *hb, uint64_t now)
{
	if (now > hb->last_rx_ms)
		hb->last_rx_ms = now;
}

void sess_hb_tx(struct sess_hb *hb, uint64_t now)
{
	if (now > hb->last_tx_ms)
		hb->last_tx_ms = now;
}

enum sess_hb_action sess_hb_tick(const struct sess_hb *hb, uint64_t now)
{
	if (hb->dead_ms && now >= hb->last_rx_ms + hb->dead_ms)
		return SESS_HB_DEAD;
	if (hb->heartbeat_ms && now >= hb->last_tx_ms + hb->heartbeat_ms)
		return SESS_HB_SEND;
	return SESS_HB_NONE;
}

uint64_t sess_hb_deadline(const struct sess_hb *hb)
{
	uint64_t d = UINT64_MAX;

	if (hb->dead_ms)
		d = hb->last_rx_ms + hb->dead_ms;
	if (hb->heartbeat_ms && hb->last_tx_ms + hb->heartbeat_ms < d)
		d = hb->last_tx_ms + hb->heartbeat_ms;
	return d;
}

/* ------------------------------------------------------------ recovery */

void sess_link_init(struct sess_link *l, uint64_t now, unsigned int step_ms,
		    unsigned int cap_ms, unsigned int attempt_ms,
		    unsigned int n_targets, unsigned int maxfail)
{
	memset(l, 0, sizeof(*l));
	backoff_init(&l->bo);
	if (step_ms)
		l->bo.step_ms = step_ms;
	if (cap_ms)
		l->bo.cap_ms = cap_ms;
	l->state = SESS_LINK_IDLE;
	l->next_ms = now;
	l->attempt_ms = attempt_ms;
	l->n_targets = n_targets ? n_targets : 1;
	l->maxfail = maxfail;
}

static enum sess_link_action attempt_failed(struct sess_link *l, uint64_t now)
{
	l->failures++;
	if (l->maxfail && l->failures >= l->maxfail) {
		l->state = SESS_LINK_GAVE_UP;
		return SESS_LINK_GIVE_UP;
	}
	/* Fail over: the next primary gets the next attempt. */
	l->target = (l->target + 1) % l->n_targets;
	l->next_ms = now + backoff_fail(&l->bo);
	l->state = SESS_LINK_IDLE;
	return SESS_LINK_NONE;
}

enum sess_link_action sess_link_tick(struct sess_link *l, uint64_t now)
{
	switch (l->state) {
	case SESS_LINK_IDLE:
		if (now < l->next_ms)
			return SESS_LINK_NONE;
		l->state = SESS_LINK_CONNECTING;
		l->next_ms = now + l->attempt_ms;
		return SESS_LINK_CONNECT;
	case SESS_LINK_CONNECTING:
		if (now < l->next_ms)
			return SESS_LINK_NONE;
		return attempt_failed(l, now);
	default:
		return SESS_LINK_NONE;
	}
}

void sess_link_up(struct sess_link *l, uint64_t now)
{
	(void)now;
	l->state = SESS_LINK_UP;
	l->failures = 0;
	backoff_reset(&l->bo);
}

void sess_link_down(struct sess_link *l, uint64_t now)
{
	if (l->state == SESS_LINK_GAVE_UP)
		return;
	l->state = SESS_LINK_IDLE;
	l->next_ms = now + backoff_fail(&l->bo);
}

uint64_t sess_link_deadline(const struct sess_link *l)
{
	if (l->state == SESS_LINK_IDLE || l->state == SESS_LINK_CONNECTING)
		return l->next_ms;
	return UINT64_MAX;
}
