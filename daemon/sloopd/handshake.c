// SPDX-License-Identifier: MIT
/*
 * Link handshake messages around the generic Noise engine.  The MACs and
 * the cookie follow WireGuard's design (mac1 proves the sender knows our
 * public key, mac2 proves it can receive at its source address) with
 * BLAKE2b instead of BLAKE2s, so that junk costs one hash and a flood
 * from spoofed addresses costs no DH.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <sodium.h>
#include <sloop/uapi.h>
#include <sloop/wire.h>

#include "handshake.h"

#define OFF_INIT_NOISE	8
#define OFF_INIT_MAC1	120
#define OFF_INIT_MAC2	136
#define OFF_RESP_NOISE	12
#define OFF_RESP_MAC1	64
#define OFF_RESP_MAC2	80
#define OFF_COOKIE_NONCE 8
#define OFF_COOKIE_BOX	32

uint32_t hs_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

void hs_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

int hs_msg_type(const uint8_t *msg, size_t len)
{
	static const size_t want[4] = { 0, HS_INIT_LEN, HS_RESP_LEN,
					HS_COOKIE_LEN };

	if (len < 4 || msg[0] < SLOOP_MSG_HS_INIT ||
	    msg[0] > SLOOP_MSG_HS_COOKIE || len != want[msg[0]] ||
	    msg[1] || msg[2] || msg[3])
		return -1;
	return msg[0];
}

/* ------------------------------------------------------------ keys */

static void labelled_key(uint8_t out[32], const char *label,
			 const uint8_t pub[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)label, 8);
	crypto_generichash_update(&st, pub, 32);
	crypto_generichash_final(&st, out, 32);
}

int hs_local_from_x25519(struct hs_local *l, const uint8_t priv[32])
{
	memcpy(l->priv, priv, 32);
	if (noise_dh_pubkey(l->pub, l->priv)) {
		hs_local_wipe(l);
		return -1;
	}
	labelled_key(l->mac1_key, "mac1----", l->pub);
	labelled_key(l->cookie_key, "cookie--", l->pub);
	return 0;
}

int hs_local_from_ed25519_seed(struct hs_local *l, const uint8_t seed[32])
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	uint8_t x[32];
	int rc;

	crypto_sign_seed_keypair(pk, sk, seed);
	rc = crypto_sign_ed25519_sk_to_curve25519(x, sk);
	if (!rc)
		rc = hs_local_from_x25519(l, x);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(x, sizeof(x));
	return rc ? -1 : 0;
}

int hs_pub_from_ed25519(uint8_t x_pub[32], const uint8_t ed_pub[32])
{
	return crypto_sign_ed25519_pk_to_curve25519(x_pub, ed_pub) ? -1 : 0;
}

void hs_local_wipe(struct hs_local *l)
{
	sodium_memzero(l, sizeof(*l));
}

void hs_result_wipe(struct hs_result *r)
{
	sodium_memzero(r, sizeof(*r));
}

static void mac16(uint8_t out[HS_MAC_LEN], const uint8_t *key, size_t klen,
		  const uint8_t *msg, size_t len)
{
	crypto_generichash(out, HS_MAC_LEN, msg, len, key, klen);
}

static bool mac_ok(const uint8_t *key, size_t klen, const uint8_t *msg,
		   size_t len, const uint8_t *mac)
{
	uint8_t want[HS_MAC_LEN];
	bool ok;

	mac16(want, key, klen, msg, len);
	ok = sodium_memcmp(want, mac, HS_MAC_LEN) == 0;
	sodium_memzero(want, sizeof(want));
	return ok;
}

static int noise_start(struct noise_handshake *hs, enum noise_role role,
		       const uint8_t *priv, const uint8_t *rs,
		       const uint8_t *psk)
{
	static const uint8_t zero_psk[NOISE_PSKLEN];
	struct noise_handshake_config cfg = {
		.protocol = HS_PROTOCOL,
		.role = role,
		.prologue = (const uint8_t *)HS_PROLOGUE,
		.prologue_len = sizeof(HS_PROLOGUE) - 1,
		.static_priv = priv,
		.remote_static = rs,
		.psks = psk ? psk : zero_psk,
		.n_psks = 1,
	};

	return noise_handshake_init(hs, &cfg);
}

static void result_fill(struct hs_result *res, const struct noise_handshake *hs,
			bool initiator)
{
	memcpy(res->ck, noise_handshake_chaining_key(hs), NOISE_HASHLEN);
	memcpy(res->h, noise_handshake_hash(hs), NOISE_HASHLEN);
	memcpy(res->remote_pub, noise_handshake_remote_static(hs), 32);
	res->initiator = initiator;
}

/* ------------------------------------------------------------ initiator */

static void put_macs(uint8_t *msg, size_t mac1_off, const uint8_t *mac1_key,
		     const uint8_t *cookie)
{
	mac16(msg + mac1_off, mac1_key, 32, msg, mac1_off);
	if (cookie)
		mac16(msg + mac1_off + HS_MAC_LEN, cookie, HS_MAC_LEN, msg,
		      mac1_off + HS_MAC_LEN);
	else
		memset(msg + mac1_off + HS_MAC_LEN, 0, HS_MAC_LEN);
}

int hs_initiate(struct hs_initiator *in, const struct hs_local *l,
		const uint8_t remote_pub[32], const uint8_t *psk,
		uint32_t index, uint8_t cipher_wish, const uint8_t now_tai[12],
		uint64_t now_ms, uint8_t out[HS_INIT_LEN])
{
	uint8_t payload[HS_INIT_PAYLOAD] = { 0 };
	size_t n;
	int rc;

	if (!index)
		return -1;
	if (in->active)
		noise_handshake_destroy(&in->noise);
	in->active = false;
	if (memcmp(in->remote_pub, remote_pub, 32)) {
		/* A cookie is only good for the responder that made it. */
		in->has_cookie = false;
		memcpy(in->remote_pub, remote_pub, 32);
		labelled_key(in->remote_mac1_key, "mac1----", remote_pub);
		labelled_key(in->remote_cookie_key, "cookie--", remote_pub);
	}
	if (in->has_cookie && now_ms - in->cookie_ms >= HS_COOKIE_VALID_MS)
		in->has_cookie = false;
	rc = noise_start(&in->noise, NOISE_INITIATOR, l->priv, remote_pub, psk);
	if (rc)
		return -1;
	memcpy(payload, now_tai, TAI64N_LEN);
	payload[12] = cipher_wish;
	memset(out, 0, HS_INIT_LEN);
	out[0] = SLOOP_MSG_HS_INIT;
	hs_put_u32(out + 4, index);
	rc = noise_handshake_write(&in->noise, payload, sizeof(payload),
				   out + OFF_INIT_NOISE,
				   OFF_INIT_MAC1 - OFF_INIT_NOISE, &n);
	if (rc || n != OFF_INIT_MAC1 - OFF_INIT_NOISE) {
		noise_handshake_destroy(&in->noise);
		return -1;
	}
	put_macs(out, OFF_INIT_MAC1, in->remote_mac1_key,
		 in->has_cookie ? in->cookie : NULL);
	memcpy(in->last_mac1, out + OFF_INIT_MAC1, HS_MAC_LEN);
	in->local_index = index;
	in->cipher_wish = cipher_wish;
	in->active = true;
	return 0;
}

enum reason hs_consume_response(struct hs_initiator *in,
				const struct hs_local *l, const uint8_t *msg,
				size_t len, struct hs_result *res)
{
	uint8_t payload[HS_RESP_PAYLOAD];
	size_t n;
	int rc;

	if (hs_msg_type(msg, len) != SLOOP_MSG_HS_RESP || !in->active ||
	    hs_get_u32(msg + 8) != in->local_index ||
	    !mac_ok(l->mac1_key, 32, msg, OFF_RESP_MAC1, msg + OFF_RESP_MAC1))
		return REASON_HS_MALFORMED;
	/*
	 * The engine fails a handshake for good on a bad message; a forged
	 * response must not kill our real attempt, so read a copy.
	 */
	struct noise_handshake trial = in->noise;

	rc = noise_handshake_read(&trial, msg + OFF_RESP_NOISE,
				  OFF_RESP_MAC1 - OFF_RESP_NOISE, payload,
				  sizeof(payload), &n);
	if (rc || n != HS_RESP_PAYLOAD || payload[1] || payload[2] ||
	    payload[3] || payload[0] < 1 || payload[0] > SLOOP_CIPHER_MAX ||
	    noise_handshake_action(&trial) != NOISE_ACTION_SPLIT) {
		noise_handshake_destroy(&trial);
		return REASON_HS_AUTH;
	}
	result_fill(res, &trial, true);
	res->local_index = in->local_index;
	res->remote_index = hs_get_u32(msg + 4);
	res->cipher = payload[0];
	noise_handshake_destroy(&trial);
	noise_handshake_destroy(&in->noise);
	in->active = false;
	return res->remote_index ? REASON_OK : REASON_HS_MALFORMED;
}

enum reason hs_consume_cookie(struct hs_initiator *in, const uint8_t *msg,
			      size_t len, uint64_t now_ms)
{
	uint8_t cookie[HS_MAC_LEN];
	unsigned long long n;

	if (hs_msg_type(msg, len) != SLOOP_MSG_HS_COOKIE || !in->active ||
	    hs_get_u32(msg + 4) != in->local_index)
		return REASON_HS_MALFORMED;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    cookie, &n, NULL, msg + OFF_COOKIE_BOX,
		    HS_COOKIE_LEN - OFF_COOKIE_BOX, in->last_mac1, HS_MAC_LEN,
		    msg + OFF_COOKIE_NONCE, in->remote_cookie_key) ||
	    n != HS_MAC_LEN)
		return REASON_HS_COOKIE;
	memcpy(in->cookie, cookie, HS_MAC_LEN);
	in->cookie_ms = now_ms;
	in->has_cookie = true;
	sodium_memzero(cookie, sizeof(cookie));
	return REASON_OK;
}

void hs_initiator_abort(struct hs_initiator *in)
{
	if (in->active)
		noise_handshake_destroy(&in->noise);
	in->active = false;
}

void hs_initiator_wipe(struct hs_initiator *in)
{
	if (in->active)
		noise_handshake_destroy(&in->noise);
	sodium_memzero(in, sizeof(*in));
}

/* ------------------------------------------------------------ responder */

void hs_responder_init(struct hs_responder *r, const struct hs_local *l)
{
	memset(r, 0, sizeof(*r));
	r->local = l;
	r->load_threshold = HS_LOAD_DEFAULT;
}

void hs_responder_wipe(struct hs_responder *r)
{
	sodium_memzero(r, sizeof(*r));
}

/* Address bytes and port of src; 0 bytes for an unknown family. */
static size_t src_key(const struct sockaddr *src, uint8_t out[18],
		      uint8_t *family)
{
	if (src && src->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)src;

		memcpy(out, &s4->sin_addr, 4);
		memcpy(out + 4, &s4->sin_port, 2);
		*family = 4;
		return 6;
	}
	if (src && src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)src;

		memcpy(out, &s6->sin6_addr, 16);
		memcpy(out + 16, &s6->sin6_port, 2);
		*family = 6;
		return 18;
	}
	*family = 0;
	return 0;
}

static void make_cookie(struct hs_responder *r, const struct sockaddr *src,
			uint64_t now_ms, uint8_t cookie[HS_MAC_LEN])
{
	uint8_t key[18], fam;
	size_t n = src_key(src, key, &fam);

	if (!r->has_secret || now_ms - r->secret_ms >= HS_COOKIE_SECRET_MS) {
		randombytes_buf(r->secret, sizeof(r->secret));
		r->secret_ms = now_ms;
		r->has_secret = true;
	}
	mac16(cookie, r->secret, sizeof(r->secret), key, n);
}

static void write_cookie_reply(struct hs_responder *r, const uint8_t *msg,
			       const struct sockaddr *src, uint64_t now_ms,
			       uint8_t *out, size_t *outlen)
{
	uint8_t cookie[HS_MAC_LEN];

	make_cookie(r, src, now_ms, cookie);
	memset(out, 0, HS_COOKIE_LEN);
	out[0] = SLOOP_MSG_HS_COOKIE;
	memcpy(out + 4, msg + 4, 4);
	randombytes_buf(out + OFF_COOKIE_NONCE, HS_COOKIE_NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		out + OFF_COOKIE_BOX, NULL, cookie, HS_MAC_LEN,
		msg + OFF_INIT_MAC1, HS_MAC_LEN, NULL, out + OFF_COOKIE_NONCE,
		r->local->cookie_key);
	*outlen = HS_COOKIE_LEN;
	r->n_cookies_sent++;
	sodium_memzero(cookie, sizeof(cookie));
}

/* Token bucket per source address (not port: one host, one budget). */
static bool ratelimit_pass(struct hs_responder *r, const struct sockaddr *src,
			   uint64_t now_ms)
{
	uint8_t key[18], fam;
	size_t n = src_key(src, key, &fam);
	size_t alen = n ? n - 2 : 0;
	uint32_t h = 2166136261u;
	struct hs_rl_bucket *b;
	uint64_t add;

	for (size_t i = 0; i < alen; i++)
		h = (h ^ key[i]) * 16777619u;
	b = &r->rl[h % HS_RL_BUCKETS];
	if (b->family != fam || memcmp(b->addr, key, alen)) {
		/* A colliding source takes the slot over with a full bucket. */
		memset(b, 0, sizeof(*b));
		memcpy(b->addr, key, alen);
		b->family = fam;
		b->tokens_milli = HS_RL_BURST * 1000;
		b->last_ms = now_ms;
	}
	add = (now_ms - b->last_ms) * HS_RL_RATE_PER_S;
	b->last_ms = now_ms;
	if (add > HS_RL_BURST * 1000)
		add = HS_RL_BURST * 1000;
	b->tokens_milli += (uint32_t)add;
	if (b->tokens_milli > HS_RL_BURST * 1000)
		b->tokens_milli = HS_RL_BURST * 1000;
	if (b->tokens_milli < 1000)
		return false;
	b->tokens_milli -= 1000;
	return true;
}

static bool under_load(struct hs_responder *r, uint64_t now_ms)
{
	if (now_ms - r->window_ms >= 1000) {
		r->window_ms = now_ms;
		r->window_count = 0;
	}
	r->window_count++;
	return r->window_count > r->load_threshold;
}

/* mac1 and the load policy; HS_ACCEPT means "go on with the DH work". */
static enum hs_verdict gatekeep(struct hs_responder *r, const uint8_t *msg,
				const struct sockaddr *src, uint64_t now_ms,
				uint8_t *out, size_t *outlen)
{
	uint8_t cookie[HS_MAC_LEN];
	bool mac2;

	if (!mac_ok(r->local->mac1_key, 32, msg, OFF_INIT_MAC1,
		    msg + OFF_INIT_MAC1)) {
		r->n_bad_mac++;
		return HS_DROP;
	}
	if (!under_load(r, now_ms))
		return HS_ACCEPT;
	make_cookie(r, src, now_ms, cookie);
	mac2 = mac_ok(cookie, HS_MAC_LEN, msg, OFF_INIT_MAC2,
		      msg + OFF_INIT_MAC2);
	sodium_memzero(cookie, sizeof(cookie));
	if (!mac2) {
		write_cookie_reply(r, msg, src, now_ms, out, outlen);
		return HS_COOKIE;
	}
	if (!ratelimit_pass(r, src, now_ms)) {
		r->n_ratelimited++;
		return HS_DROP;
	}
	return HS_ACCEPT;
}

static enum hs_verdict reject(struct noise_handshake *hs, enum reason *why,
			      enum reason r)
{
	noise_handshake_destroy(hs);
	*why = r;
	return HS_REJECT;
}

static bool init_payload_ok(const uint8_t p[HS_INIT_PAYLOAD])
{
	struct timespec ts;

	return !p[13] && !p[14] && !p[15] && p[12] <= SLOOP_CIPHER_MAX &&
	       tai64n_decode(p, &ts) == 0;
}

enum hs_verdict hs_respond(struct hs_responder *r, const uint8_t *msg,
			   size_t len, const struct sockaddr *src,
			   uint64_t now_ms, hs_lookup_fn lookup, void *ctx,
			   uint32_t index, uint8_t *out, size_t *outlen,
			   struct hs_result *res, enum reason *why)
{
	uint8_t payload[HS_INIT_PAYLOAD], rpay[HS_RESP_PAYLOAD] = { 0 };
	struct noise_handshake hs;
	struct hs_peer_ref ref = { 0 };
	enum hs_verdict v;
	size_t n;

	*why = REASON_HS_MALFORMED;
	if (hs_msg_type(msg, len) != SLOOP_MSG_HS_INIT || !index ||
	    !hs_get_u32(msg + 4))
		return HS_DROP;
	v = gatekeep(r, msg, src, now_ms, out, outlen);
	if (v != HS_ACCEPT) {
		*why = v == HS_COOKIE ? REASON_HS_COOKIE : REASON_HS_MALFORMED;
		return v;
	}
	if (noise_start(&hs, NOISE_RESPONDER, r->local->priv, NULL, NULL))
		return HS_DROP;
	if (noise_handshake_read(&hs, msg + OFF_INIT_NOISE,
				 OFF_INIT_MAC1 - OFF_INIT_NOISE, payload,
				 sizeof(payload), &n) ||
	    n != HS_INIT_PAYLOAD || !init_payload_ok(payload))
		return reject(&hs, why, REASON_HS_AUTH);
	if (lookup(ctx, noise_handshake_remote_static(&hs), &ref))
		return reject(&hs, why, REASON_HS_BAD_PEER_KEY);
	if (tai64n_compare(payload, ref.last_tai) <= 0)
		return reject(&hs, why, REASON_HS_REPLAY);
	/*
	 * IKpsk2 mixes the psk only at the end of the second message, so
	 * the peer's psk is chosen now that its static key is known (the
	 * all-zero placeholder stands for "no psk", as in WireGuard).
	 */
	if (ref.psk && noise_handshake_set_psk(&hs, 0, ref.psk))
		return reject(&hs, why, REASON_HS_AUTH);
	rpay[0] = ref.cipher ? ref.cipher : payload[12];
	if (!rpay[0] || rpay[0] > SLOOP_CIPHER_MAX)
		rpay[0] = SLOOP_CIPHER_AES256_GCM;
	memset(out, 0, HS_RESP_LEN);
	out[0] = SLOOP_MSG_HS_RESP;
	hs_put_u32(out + 4, index);
	memcpy(out + 8, msg + 4, 4);
	if (noise_handshake_write(&hs, rpay, sizeof(rpay), out + OFF_RESP_NOISE,
				  OFF_RESP_MAC1 - OFF_RESP_NOISE, &n) ||
	    n != OFF_RESP_MAC1 - OFF_RESP_NOISE)
		return reject(&hs, why, REASON_HS_AUTH);
	{
		uint8_t rmac1[32];

		labelled_key(rmac1, "mac1----", noise_handshake_remote_static(&hs));
		put_macs(out, OFF_RESP_MAC1, rmac1, NULL);
	}
	/* Only an initiation that authenticated advances the replay mark. */
	memcpy(ref.last_tai, payload, TAI64N_LEN);
	result_fill(res, &hs, false);
	res->local_index = index;
	res->remote_index = hs_get_u32(msg + 4);
	res->cipher = rpay[0];
	res->peer = ref.peer;
	noise_handshake_destroy(&hs);
	sodium_memzero(payload, sizeof(payload));
	*outlen = HS_RESP_LEN;
	*why = REASON_OK;
	return HS_ACCEPT;
}
