// SPDX-License-Identifier: MIT
/*
 * Noise engine: the published vectors, then what must be refused.
 * Also the hex and TAI64N helpers the handshake code relies on.
 */
#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

#include "hex.h"
#include "noise.h"
#include "noise_vectors.h"
#include "tai64n.h"
#include "unit.h"

#define VECTORS "../shared/vectors/noise-25519-blake2b.json"
#define IKPSK2 "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b"

TEST(noise_vectors_file)
{
	struct noise_vectors_summary sum;
	char why[256];
	int rc = noise_vectors_check_file(unit_path(VECTORS), stderr, true,
					  &sum, why, sizeof(why));

	if (rc)
		fprintf(stderr, "  vector file unusable: %s\n", why);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(sum.failed, 0);
	/* The file holds 9 patterns x 2 ciphers. */
	CHECK_EQ_INT(sum.passed + sum.skipped, 18);
	/* Only AESGCM may be skipped, and only without CPU support. */
	CHECK(sum.skipped == 0 ||
	      noise_cipher_available(NOISE_CIPHER_AESGCM) != NOISE_OK);
	CHECK(sum.passed >= 9);
}

/* Two ends of an IK(psk2) handshake with fresh keys. */
struct pair {
	uint8_t is[32], ip[32], rsk[32], rp[32], psk[32];
	struct noise_handshake i, r;
	struct noise_cipherstate itx, irx, rtx, rrx;
	uint8_t msg[NOISE_MAX_MSG + 64], pl[NOISE_MAX_MSG + 64];
	size_t mlen, plen;
};

static struct pair *pair_new(const char *proto, const uint8_t *resp_pub)
{
	struct pair *p = calloc(1, sizeof(*p));
	struct noise_handshake_config ic = { 0 }, rc = { 0 };

	if (!p)
		return NULL;
	noise_dh_keypair(p->is, p->ip);
	noise_dh_keypair(p->rsk, p->rp);
	randombytes_buf(p->psk, sizeof(p->psk));
	ic.protocol = rc.protocol = proto;
	ic.role = NOISE_INITIATOR;
	rc.role = NOISE_RESPONDER;
	ic.prologue = rc.prologue = (const uint8_t *)"sloop";
	ic.prologue_len = rc.prologue_len = 5;
	ic.static_priv = p->is;
	ic.remote_static = resp_pub ? resp_pub : p->rp;
	rc.static_priv = p->rsk;
	if (strstr(proto, "psk")) {
		ic.psks = rc.psks = p->psk;
		ic.n_psks = rc.n_psks = 1;
	}
	if (noise_handshake_init(&p->i, &ic) ||
	    noise_handshake_init(&p->r, &rc)) {
		free(p);
		return NULL;
	}
	return p;
}

static void pair_free(struct pair *p)
{
	if (!p)
		return;
	noise_handshake_destroy(&p->i);
	noise_handshake_destroy(&p->r);
	free(p);
}

static int pair_first(struct pair *p, const char *payload)
{
	return noise_handshake_write(&p->i, (const uint8_t *)payload,
				     strlen(payload), p->msg, sizeof(p->msg),
				     &p->mlen);
}

/* Whole handshake, both splits. */
static int pair_run(struct pair *p)
{
	int rc = pair_first(p, "hello");

	if (!rc)
		rc = noise_handshake_read(&p->r, p->msg, p->mlen, p->pl,
					  sizeof(p->pl), &p->plen);
	if (!rc)
		rc = noise_handshake_write(&p->r, NULL, 0, p->msg,
					   sizeof(p->msg), &p->mlen);
	if (!rc)
		rc = noise_handshake_read(&p->i, p->msg, p->mlen, p->pl,
					  sizeof(p->pl), &p->plen);
	if (!rc)
		rc = noise_handshake_split(&p->i, &p->itx, &p->irx);
	if (!rc)
		rc = noise_handshake_split(&p->r, &p->rtx, &p->rrx);
	return rc;
}

TEST(noise_handshake_random_keys)
{
	struct pair *p = pair_new(IKPSK2, NULL);
	uint8_t ts[TAI64N_LEN], ct[64], pt[64];
	size_t n;

	CHECK(p);
	CHECK_EQ_INT(tai64n_now(ts), 0);
	CHECK_EQ_INT(noise_handshake_write(&p->i, ts, sizeof(ts), p->msg,
					   sizeof(p->msg), &p->mlen), 0);
	/* e, s+tag, payload+tag */
	CHECK_EQ_INT(p->mlen, 32 + 48 + TAI64N_LEN + 16);
	CHECK_EQ_INT(noise_handshake_read(&p->r, p->msg, p->mlen, p->pl,
					  sizeof(p->pl), &p->plen), 0);
	CHECK_EQ_INT(p->plen, TAI64N_LEN);
	CHECK(!memcmp(p->pl, ts, TAI64N_LEN));
	CHECK(noise_handshake_remote_static(&p->r));
	CHECK(!memcmp(noise_handshake_remote_static(&p->r), p->ip, 32));
	CHECK_EQ_INT(noise_handshake_action(&p->r), NOISE_ACTION_WRITE);
	CHECK_EQ_INT(noise_handshake_write(&p->r, NULL, 0, p->msg,
					   sizeof(p->msg), &p->mlen), 0);
	CHECK_EQ_INT(p->mlen, 32 + 16);
	CHECK_EQ_INT(noise_handshake_read(&p->i, p->msg, p->mlen, p->pl,
					  sizeof(p->pl), &p->plen), 0);
	CHECK_EQ_INT(noise_handshake_action(&p->i), NOISE_ACTION_SPLIT);
	CHECK(!memcmp(noise_handshake_hash(&p->i), noise_handshake_hash(&p->r),
		      NOISE_HASHLEN));
	CHECK(!memcmp(noise_handshake_chaining_key(&p->i),
		      noise_handshake_chaining_key(&p->r), NOISE_HASHLEN));
	CHECK_EQ_INT(noise_handshake_split(&p->i, &p->itx, &p->irx), 0);
	CHECK_EQ_INT(noise_handshake_split(&p->r, &p->rtx, &p->rrx), 0);
	CHECK_EQ_INT(noise_cs_encrypt(&p->itx, NULL, 0, (const uint8_t *)"ab",
				      2, ct, sizeof(ct), &n), 0);
	CHECK_EQ_INT(noise_cs_decrypt(&p->rrx, NULL, 0, ct, n, pt, sizeof(pt),
				      &n), 0);
	CHECK(n == 2 && !memcmp(pt, "ab", 2));
	CHECK_EQ_INT(noise_cs_encrypt(&p->rtx, NULL, 0, (const uint8_t *)"cd",
				      2, ct, sizeof(ct), &n), 0);
	CHECK_EQ_INT(noise_cs_decrypt(&p->irx, NULL, 0, ct, n, pt, sizeof(pt),
				      &n), 0);
	CHECK(n == 2 && !memcmp(pt, "cd", 2));
	/* Keys wiped by destroy. */
	noise_cs_destroy(&p->itx);
	CHECK(sodium_is_zero((const unsigned char *)&p->itx, sizeof(p->itx)));
	noise_handshake_destroy(&p->i);
	CHECK(sodium_is_zero((const unsigned char *)&p->i, sizeof(p->i)));
	pair_free(p);
}

TEST(noise_tampered_handshake_refused)
{
	struct pair *p = pair_new(IKPSK2, NULL);

	CHECK(p);
	CHECK_EQ_INT(pair_first(p, "hello"), 0);
	for (size_t i = 0; i < p->mlen; i += 7) {
		struct noise_handshake r = p->r;	/* fresh copy each time */

		p->msg[i] ^= 0x20;
		CHECK(noise_handshake_read(&r, p->msg, p->mlen, p->pl,
					   sizeof(p->pl), &p->plen) != 0);
		CHECK_EQ_INT(noise_handshake_action(&r), NOISE_ACTION_FAILED);
		/* A failed handshake stays failed. */
		CHECK_EQ_INT(noise_handshake_write(&r, NULL, 0, p->msg,
						   sizeof(p->msg), &p->mlen),
			     NOISE_ERR_STATE);
		p->msg[i] ^= 0x20;
		noise_handshake_destroy(&r);
	}
	CHECK_EQ_INT(noise_handshake_read(&p->r, p->msg, p->mlen, p->pl,
					  sizeof(p->pl), &p->plen), 0);
	pair_free(p);
}

TEST(noise_tampered_transport_refused)
{
	struct pair *p = pair_new(IKPSK2, NULL);
	uint8_t ct[64], pt[64];
	size_t n, m;

	CHECK(p);
	CHECK_EQ_INT(pair_run(p), 0);
	CHECK_EQ_INT(noise_cs_encrypt(&p->itx, (const uint8_t *)"ad", 2,
				      (const uint8_t *)"data", 4, ct,
				      sizeof(ct), &n), 0);
	ct[1] ^= 1;
	CHECK_EQ_INT(noise_cs_decrypt(&p->rrx, (const uint8_t *)"ad", 2, ct, n,
				      pt, sizeof(pt), &m), NOISE_ERR_DECRYPT);
	ct[1] ^= 1;
	/* Wrong associated data. */
	CHECK_EQ_INT(noise_cs_decrypt(&p->rrx, (const uint8_t *)"aD", 2, ct, n,
				      pt, sizeof(pt), &m), NOISE_ERR_DECRYPT);
	/* The failures did not advance the nonce. */
	CHECK_EQ_INT(noise_cs_decrypt(&p->rrx, (const uint8_t *)"ad", 2, ct, n,
				      pt, sizeof(pt), &m), 0);
	CHECK(m == 4 && !memcmp(pt, "data", 4));
	/* A replay is refused (nonce moved on). */
	CHECK_EQ_INT(noise_cs_decrypt(&p->rrx, (const uint8_t *)"ad", 2, ct, n,
				      pt, sizeof(pt), &m), NOISE_ERR_DECRYPT);
	pair_free(p);
}

TEST(noise_wrong_static_key_refused)
{
	uint8_t other_priv[32], other_pub[32];
	struct pair *p;

	noise_dh_keypair(other_priv, other_pub);
	/* The initiator believes the responder has other_pub. */
	p = pair_new("Noise_IK_25519_ChaChaPoly_BLAKE2b", other_pub);
	CHECK(p);
	CHECK_EQ_INT(pair_first(p, "hello"), 0);
	CHECK_EQ_INT(noise_handshake_read(&p->r, p->msg, p->mlen, p->pl,
					  sizeof(p->pl), &p->plen),
		     NOISE_ERR_DECRYPT);
	CHECK(noise_handshake_remote_static(&p->r) == NULL);
	pair_free(p);
}

TEST(noise_wrong_psk_refused)
{
	struct pair *p = pair_new(IKPSK2, NULL);

	CHECK(p);
	CHECK_EQ_INT(pair_first(p, "hello"), 0);
	/* psk2 enters at the end of message 2: the responder's psk copy. */
	p->r.psks[0][0] ^= 1;
	CHECK_EQ_INT(noise_handshake_read(&p->r, p->msg, p->mlen, p->pl,
					  sizeof(p->pl), &p->plen), 0);
	CHECK_EQ_INT(noise_handshake_write(&p->r, NULL, 0, p->msg,
					   sizeof(p->msg), &p->mlen), 0);
	CHECK_EQ_INT(noise_handshake_read(&p->i, p->msg, p->mlen, p->pl,
					  sizeof(p->pl), &p->plen),
		     NOISE_ERR_DECRYPT);
	pair_free(p);
}

TEST(noise_truncated_message_refused)
{
	struct pair *p = pair_new(IKPSK2, NULL);

	CHECK(p);
	CHECK_EQ_INT(pair_first(p, "hello"), 0);
	for (size_t len = 0; len < p->mlen; len++) {
		struct noise_handshake r = p->r;
		int rc = noise_handshake_read(&r, p->msg, len, p->pl,
					      sizeof(p->pl), &p->plen);

		/* Shorter than the fixed part: refused before any work. */
		if (len < 32 + 48 + 16)
			CHECK_EQ_INT(rc, NOISE_ERR_SHORT);
		else
			CHECK_EQ_INT(rc, NOISE_ERR_DECRYPT);
		noise_handshake_destroy(&r);
	}
	pair_free(p);
}

TEST(noise_short_transport_refused)
{
	struct pair *p = pair_new(IKPSK2, NULL);
	uint8_t ct[32], pt[32];
	size_t n;

	CHECK(p);
	CHECK_EQ_INT(pair_run(p), 0);
	CHECK_EQ_INT(noise_cs_encrypt(&p->itx, NULL, 0, (const uint8_t *)"x", 1,
				      ct, sizeof(ct), &n), 0);
	CHECK_EQ_INT(noise_cs_decrypt(&p->rrx, NULL, 0, ct, 15, pt, sizeof(pt),
				      &n), NOISE_ERR_SHORT);
	CHECK_EQ_INT(noise_cs_decrypt(&p->rrx, NULL, 0, ct, 16, pt, sizeof(pt),
				      &n), NOISE_ERR_DECRYPT);
	pair_free(p);
}

TEST(noise_message_limit)
{
	struct pair *p = pair_new(IKPSK2, NULL);
	uint8_t *big = calloc(1, NOISE_MAX_MSG + 64);
	size_t n, over;

	CHECK(p && big);
	/* First IK message: 32 + 48 + payload + 16 may not pass 65535. */
	over = NOISE_MAX_MSG - (32 + 48 + 16) + 1;
	CHECK_EQ_INT(noise_handshake_write(&p->i, big, over, p->msg,
					   sizeof(p->msg), &p->mlen),
		     NOISE_ERR_TOO_LONG);
	/* Refused cleanly: the state is still usable, and the limit fits. */
	CHECK_EQ_INT(noise_handshake_write(&p->i, big, over - 1, p->msg,
					   sizeof(p->msg), &p->mlen), 0);
	CHECK_EQ_INT(p->mlen, NOISE_MAX_MSG);
	CHECK_EQ_INT(noise_handshake_read(&p->r, p->msg, NOISE_MAX_MSG + 1,
					  p->pl, sizeof(p->pl), &p->plen),
		     NOISE_ERR_TOO_LONG);
	CHECK_EQ_INT(noise_handshake_read(&p->r, p->msg, p->mlen, p->pl,
					  sizeof(p->pl), &p->plen), 0);
	CHECK_EQ_INT(p->plen, over - 1);
	CHECK_EQ_INT(noise_handshake_write(&p->r, NULL, 0, p->msg,
					   sizeof(p->msg), &p->mlen), 0);
	CHECK_EQ_INT(noise_handshake_read(&p->i, p->msg, p->mlen, p->pl,
					  sizeof(p->pl), &p->plen), 0);
	CHECK_EQ_INT(noise_handshake_split(&p->i, &p->itx, &p->irx), 0);
	CHECK_EQ_INT(noise_cs_encrypt(&p->itx, NULL, 0, big,
				      NOISE_MAX_MSG - 15, p->msg,
				      sizeof(p->msg), &n), NOISE_ERR_TOO_LONG);
	CHECK_EQ_INT(noise_cs_encrypt(&p->itx, NULL, 0, big,
				      NOISE_MAX_MSG - 16, p->msg,
				      sizeof(p->msg), &n), 0);
	CHECK_EQ_INT(n, NOISE_MAX_MSG);
	CHECK_EQ_INT(noise_cs_decrypt(&p->irx, NULL, 0, p->msg,
				      NOISE_MAX_MSG + 1, big, NOISE_MAX_MSG,
				      &n), NOISE_ERR_TOO_LONG);
	/* Output buffer too small: refused, not overrun. */
	CHECK_EQ_INT(noise_cs_encrypt(&p->itx, NULL, 0, big, 100, p->msg, 115,
				      &n), NOISE_ERR_BUFFER);
	free(big);
	pair_free(p);
}

static void cs_pair(struct noise_cipherstate *a, struct noise_cipherstate *b,
		    enum noise_cipher c)
{
	uint8_t k[32];

	randombytes_buf(k, sizeof(k));
	noise_cs_init(a, c);
	noise_cs_init(b, c);
	noise_cs_set_key(a, k);
	noise_cs_set_key(b, k);
	sodium_memzero(k, sizeof(k));
}

TEST(noise_nonce_exhaustion)
{
	struct noise_cipherstate a, b;
	uint8_t ct[32], pt[32];
	size_t n;

	cs_pair(&a, &b, NOISE_CIPHER_CHACHAPOLY);
	noise_cs_set_nonce(&a, UINT64_MAX - 1);
	noise_cs_set_nonce(&b, UINT64_MAX - 1);
	/* The last usable nonce works... */
	CHECK_EQ_INT(noise_cs_encrypt(&a, NULL, 0, (const uint8_t *)"z", 1, ct,
				      sizeof(ct), &n), 0);
	CHECK_EQ_INT(noise_cs_decrypt(&b, NULL, 0, ct, n, pt, sizeof(pt), &n),
		     0);
	/* ...and 2^64-1 never is. */
	CHECK_EQ_INT(noise_cs_encrypt(&a, NULL, 0, (const uint8_t *)"z", 1, ct,
				      sizeof(ct), &n), NOISE_ERR_NONCE);
	CHECK_EQ_INT(noise_cs_decrypt(&b, NULL, 0, ct, 17, pt, sizeof(pt), &n),
		     NOISE_ERR_NONCE);
	/* Rekey still works there: it uses 2^64-1 itself, not n. */
	CHECK_EQ_INT(noise_cs_rekey(&a), 0);
	noise_cs_destroy(&a);
	noise_cs_destroy(&b);
}

TEST(noise_rekey)
{
	static const uint8_t zeros[32];
	enum noise_cipher ciphers[] = { NOISE_CIPHER_CHACHAPOLY,
					NOISE_CIPHER_AESGCM };

	for (int c = 0; c < 2; c++) {
		struct noise_cipherstate a, b;
		uint8_t old[32], want[48], nonce[12] = { 0 }, ct[32], pt[32];
		unsigned long long wl;
		size_t n;

		if (noise_cipher_available(ciphers[c]))
			continue;
		cs_pair(&a, &b, ciphers[c]);
		memcpy(old, a.k, 32);
		/* REKEY(k) = ENCRYPT(k, 2^64-1, "", zeros)[0..32] */
		memset(nonce + 4, 0xff, 8);
		if (c == 0)
			crypto_aead_chacha20poly1305_ietf_encrypt(
				want, &wl, zeros, 32, NULL, 0, NULL, nonce,
				old);
		else
			crypto_aead_aes256gcm_encrypt(want, &wl, zeros, 32,
						      NULL, 0, NULL, nonce,
						      old);
		noise_cs_set_nonce(&a, 5);
		CHECK_EQ_INT(noise_cs_rekey(&a), 0);
		CHECK(!memcmp(a.k, want, 32));
		CHECK_EQ_INT(a.n, 5);		/* Rekey leaves n alone */
		noise_cs_set_nonce(&a, 0);
		CHECK_EQ_INT(noise_cs_encrypt(&a, NULL, 0,
					      (const uint8_t *)"q", 1, ct,
					      sizeof(ct), &n), 0);
		CHECK_EQ_INT(noise_cs_decrypt(&b, NULL, 0, ct, n, pt,
					      sizeof(pt), &n),
			     NOISE_ERR_DECRYPT);
		CHECK_EQ_INT(noise_cs_rekey(&b), 0);
		CHECK_EQ_INT(noise_cs_decrypt(&b, NULL, 0, ct, 17, pt,
					      sizeof(pt), &n), 0);
		noise_cs_destroy(&a);
		noise_cs_destroy(&b);
	}
}

TEST(noise_in_place)
{
	enum noise_cipher ciphers[] = { NOISE_CIPHER_CHACHAPOLY,
					NOISE_CIPHER_AESGCM };

	for (int c = 0; c < 2; c++) {
		struct noise_cipherstate a, b, a2;
		uint8_t buf[128], sep[128], msg[100];
		size_t n, m;

		if (noise_cipher_available(ciphers[c]))
			continue;
		randombytes_buf(msg, sizeof(msg));
		cs_pair(&a, &b, ciphers[c]);
		a2 = a;
		memcpy(buf, msg, sizeof(msg));
		CHECK_EQ_INT(noise_cs_encrypt(&a, NULL, 0, buf, sizeof(msg),
					      buf, sizeof(buf), &n), 0);
		CHECK_EQ_INT(noise_cs_encrypt(&a2, NULL, 0, msg, sizeof(msg),
					      sep, sizeof(sep), &m), 0);
		CHECK(n == m && !memcmp(buf, sep, n));
		CHECK_EQ_INT(noise_cs_decrypt(&b, NULL, 0, buf, n, buf,
					      sizeof(buf), &m), 0);
		CHECK(m == sizeof(msg) && !memcmp(buf, msg, m));
		noise_cs_destroy(&a);
		noise_cs_destroy(&a2);
		noise_cs_destroy(&b);
	}
}

TEST(noise_zero_dh_refused)
{
	static const uint8_t zero_pub[32];
	uint8_t priv[32], pub[32], out[32];
	struct noise_handshake r;
	struct noise_handshake_config cfg = {
		.protocol = "Noise_NK_25519_ChaChaPoly_BLAKE2b",
		.role = NOISE_RESPONDER,
		.static_priv = priv,
	};
	uint8_t msg[48] = { 0 }, pl[16];
	size_t n;

	noise_dh_keypair(priv, pub);
	CHECK_EQ_INT(noise_dh(out, priv, zero_pub), NOISE_ERR_DH);
	CHECK(sodium_is_zero(out, sizeof(out)));
	CHECK_EQ_INT(noise_dh(out, priv, pub), 0);
	/* NK "e, es": an all-zero e makes es all zero. */
	CHECK_EQ_INT(noise_handshake_init(&r, &cfg), 0);
	CHECK_EQ_INT(noise_handshake_read(&r, msg, sizeof(msg), pl, sizeof(pl),
					  &n), NOISE_ERR_DH);
	noise_handshake_destroy(&r);
}

TEST(noise_config_errors)
{
	uint8_t k[32] = { 1 }, psk[32] = { 2 };
	struct noise_handshake hs;
	struct noise_handshake_config c = {
		.protocol = "Noise_IK_25519_ChaChaPoly_BLAKE2b",
		.role = NOISE_INITIATOR,
		.static_priv = k,
	};

	/* IK initiator needs the responder's static key. */
	CHECK_EQ_INT(noise_handshake_init(&hs, &c), NOISE_ERR_MISSING_KEY);
	c.remote_static = k;
	CHECK_EQ_INT(noise_handshake_init(&hs, &c), 0);
	noise_handshake_destroy(&hs);
	/* A psk given to a pattern without psk is a caller bug. */
	c.psks = psk;
	c.n_psks = 1;
	CHECK_EQ_INT(noise_handshake_init(&hs, &c), NOISE_ERR_INVALID);
	c.protocol = IKPSK2;
	CHECK_EQ_INT(noise_handshake_init(&hs, &c), 0);
	/* Reading when it is our turn to write. */
	CHECK_EQ_INT(noise_handshake_read(&hs, psk, 32, k, 32, NULL),
		     NOISE_ERR_STATE);
	CHECK_EQ_INT(noise_handshake_split(&hs, NULL, NULL), NOISE_ERR_STATE);
	noise_handshake_destroy(&hs);
	c.psks = NULL;
	c.n_psks = 0;
	CHECK_EQ_INT(noise_handshake_init(&hs, &c), NOISE_ERR_MISSING_KEY);
	c.static_priv = NULL;
	c.protocol = "Noise_XX_25519_ChaChaPoly_BLAKE2b";
	CHECK_EQ_INT(noise_handshake_init(&hs, &c), NOISE_ERR_MISSING_KEY);
}

TEST(noise_protocol_names)
{
	struct noise_protocol p;

	CHECK_EQ_INT(noise_protocol_parse(
		"Noise_NNpsk0+psk2_25519_ChaChaPoly_BLAKE2b", &p), 0);
	CHECK_EQ_INT(p.n_psks, 2);
	CHECK_EQ_INT(p.msg[0][0], NOISE_TOK_PSK);
	CHECK_EQ_INT(p.msg[0][1], NOISE_TOK_E);
	CHECK_EQ_INT(p.msg[1][2], NOISE_TOK_PSK);
	CHECK_EQ_INT(p.msg[1][3], NOISE_TOK_END);
	CHECK_EQ_INT(noise_protocol_parse(
		"Noise_N_25519_ChaChaPoly_BLAKE2b", &p), 0);
	CHECK(p.one_way);
	CHECK_EQ_INT(noise_protocol_parse(
		"Noise_XXfallback_25519_ChaChaPoly_BLAKE2b", &p),
		NOISE_ERR_UNSUPPORTED);
	CHECK_EQ_INT(noise_protocol_parse(
		"Noise_XX_448_ChaChaPoly_BLAKE2b", &p), NOISE_ERR_UNSUPPORTED);
	CHECK_EQ_INT(noise_protocol_parse(
		"Noise_XX_25519_ChaChaPoly_SHA256", &p), NOISE_ERR_UNSUPPORTED);
	CHECK_EQ_INT(noise_protocol_parse(
		"Noise_IKpsk3_25519_ChaChaPoly_BLAKE2b", &p),
		NOISE_ERR_INVALID);
	CHECK_EQ_INT(noise_protocol_parse(
		"Noise_IKpsk2+_25519_ChaChaPoly_BLAKE2b", &p),
		NOISE_ERR_INVALID);
	CHECK_EQ_INT(noise_protocol_parse(
		"Noise_IK_25519_ChaChaPoly_BLAKE2b_", &p), NOISE_ERR_INVALID);
	CHECK_EQ_INT(noise_protocol_parse("Noise_IK_25519", &p),
		     NOISE_ERR_INVALID);
	CHECK_EQ_INT(noise_protocol_parse("", &p), NOISE_ERR_INVALID);
}

TEST(noise_hkdf_forms)
{
	uint8_t ck[64], a1[64], a2[64], b1[64], b2[64], b3[64];

	randombytes_buf(ck, sizeof(ck));
	noise_hkdf(ck, (const uint8_t *)"ikm", 3, a1, a2, NULL);
	noise_hkdf(ck, (const uint8_t *)"ikm", 3, b1, b2, b3);
	CHECK(!memcmp(a1, b1, 64) && !memcmp(a2, b2, 64));
	CHECK(memcmp(b2, b3, 64) && memcmp(a1, a2, 64));
	/* out1 may alias ck (MixKey does that). */
	noise_hkdf(ck, (const uint8_t *)"ikm", 3, ck, b2, NULL);
	CHECK(!memcmp(ck, a1, 64) && !memcmp(b2, a2, 64));
}

TEST(hex_roundtrip)
{
	const uint8_t bin[] = { 0x00, 0x9f, 0xa0, 0xff };
	uint8_t out[8];
	char s[9];

	CHECK_EQ_INT(hex_encode(s, sizeof(s), bin, 4), 0);
	CHECK_EQ_STR(s, "009fa0ff");
	CHECK_EQ_INT(hex_encode(s, 8, bin, 4), -1);
	CHECK_EQ_INT(hex_decode(out, sizeof(out), "009FA0ff", 8), 4);
	CHECK(!memcmp(out, bin, 4));
	CHECK_EQ_INT(hex_decode(out, sizeof(out), "", 0), 0);
	CHECK_EQ_INT(hex_decode(out, sizeof(out), "abc", 3), -1);
	CHECK_EQ_INT(hex_decode(out, sizeof(out), "0g", 2), -1);
	CHECK_EQ_INT(hex_decode(out, sizeof(out), " 0", 2), -1);
	CHECK_EQ_INT(hex_decode(out, 1, "0000", 4), -1);
}

TEST(tai64n_format)
{
	struct timespec ts = { .tv_sec = 1, .tv_nsec = 999999999 }, back;
	uint8_t a[TAI64N_LEN], b[TAI64N_LEN];
	const uint8_t want[TAI64N_LEN] = { 0x40, 0, 0, 0, 0, 0, 0, 0x0b,
					   0x3b, 0x9a, 0xc9, 0xff };

	tai64n_encode(a, &ts);
	CHECK(!memcmp(a, want, sizeof(want)));
	CHECK_EQ_INT(tai64n_decode(a, &back), 0);
	CHECK(back.tv_sec == 1 && back.tv_nsec == 999999999);
	/* Later times compare greater, nanoseconds included. */
	ts.tv_sec = 2;
	ts.tv_nsec = 0;
	tai64n_encode(b, &ts);
	CHECK(tai64n_compare(b, a) > 0 && tai64n_compare(a, b) < 0);
	CHECK_EQ_INT(tai64n_compare(a, a), 0);
	CHECK_EQ_INT(tai64n_now(b), 0);
	CHECK(tai64n_compare(b, a) > 0);
	CHECK_EQ_INT(tai64n_decode(b, &back), 0);
	CHECK_EQ_INT(back.tv_nsec % TAI64N_NOW_GRANULE_NS, 0);
	CHECK(back.tv_sec > 1700000000);
	/* Invalid: nanoseconds out of range, label before 1970. */
	a[8] = 0x3b, a[9] = 0x9a, a[10] = 0xca, a[11] = 0x00;
	CHECK_EQ_INT(tai64n_decode(a, &back), -1);
	memset(a, 0, sizeof(a));
	CHECK_EQ_INT(tai64n_decode(a, &back), -1);
	a[0] = 0x80;
	CHECK_EQ_INT(tai64n_decode(a, &back), -1);
}

/* Random bytes as first messages: refused, never a crash or a leak. */
TEST(noise_random_messages_refused)
{
	struct pair *p = pair_new(IKPSK2, NULL);

	CHECK(p);
	for (int i = 0; i < 2000; i++) {
		struct noise_handshake r = p->r;
		size_t len = randombytes_uniform(300);

		randombytes_buf(p->msg, len);
		CHECK(noise_handshake_read(&r, p->msg, len, p->pl,
					   sizeof(p->pl), &p->plen) != 0);
		noise_handshake_destroy(&r);
	}
	pair_free(p);
}

/*
 * Every row of the pattern table, with and without psks, completes
 * between two instances of the engine (self-consistency only: the
 * published vectors cover NN NK KK IK XX IX NKpsk0 IKpsk2 XXpsk3).
 */
static int roundtrip(const char *proto)
{
	uint8_t is[32], ip[32], rsk[32], rp[32], psks[64], buf[256], pl[64];
	struct noise_handshake_config ic = {
		.protocol = proto, .role = NOISE_INITIATOR, .static_priv = is,
		.remote_static = rp, .psks = psks,
	};
	struct noise_handshake_config rc = {
		.protocol = proto, .role = NOISE_RESPONDER,
		.static_priv = rsk, .remote_static = ip, .psks = psks,
	};
	struct noise_handshake i, r;
	struct noise_cipherstate itx, irx, rtx, rrx;
	struct noise_protocol p;
	size_t n, m;
	int err = -100;

	if (noise_protocol_parse(proto, &p))
		return -99;
	ic.n_psks = rc.n_psks = p.n_psks;
	if (!p.n_psks)
		ic.psks = rc.psks = NULL;
	noise_dh_keypair(is, ip);
	noise_dh_keypair(rsk, rp);
	randombytes_buf(psks, sizeof(psks));
	if (noise_handshake_init(&i, &ic) || noise_handshake_init(&r, &rc))
		return -98;
	for (int k = 0; k < 8 && noise_handshake_action(&i) !=
	     NOISE_ACTION_SPLIT; k++) {
		bool iw = noise_handshake_action(&i) == NOISE_ACTION_WRITE;
		struct noise_handshake *tx = iw ? &i : &r, *rx = iw ? &r : &i;

		if (noise_handshake_write(tx, (const uint8_t *)"pl", 2, buf,
					  sizeof(buf), &n) ||
		    noise_handshake_read(rx, buf, n, pl, sizeof(pl), &m) ||
		    m != 2)
			goto out;
	}
	err = -97;
	if (noise_handshake_action(&r) != NOISE_ACTION_SPLIT ||
	    memcmp(noise_handshake_hash(&i), noise_handshake_hash(&r), 64) ||
	    memcmp(noise_handshake_remote_static(&r) ?
		   noise_handshake_remote_static(&r) : ip, ip, 32) ||
	    noise_handshake_split(&i, &itx, &irx) ||
	    noise_handshake_split(&r, &rtx, &rrx))
		goto out;
	err = -96;
	if (noise_cs_encrypt(&itx, NULL, 0, (const uint8_t *)"t", 1, buf,
			     sizeof(buf), &n) ||
	    noise_cs_decrypt(&rrx, NULL, 0, buf, n, pl, sizeof(pl), &m))
		goto out;
	err = 0;
	noise_cs_destroy(&itx);
	noise_cs_destroy(&irx);
	noise_cs_destroy(&rtx);
	noise_cs_destroy(&rrx);
out:
	noise_handshake_destroy(&i);
	noise_handshake_destroy(&r);
	return err;
}

TEST(noise_all_patterns_roundtrip)
{
	static const char *const pats[] = {
		"N", "K", "X", "NN", "NK", "NX", "KN", "KK", "KX", "XN", "XK",
		"XX", "IN", "IK", "IX", "Npsk0", "Xpsk1", "NNpsk0+psk2",
		"KKpsk0", "XXpsk3", "IKpsk1+psk2",
	};
	char name[80];

	for (size_t k = 0; k < sizeof(pats) / sizeof(pats[0]); k++) {
		for (int c = 0; c < 2; c++) {
			int rc;

			snprintf(name, sizeof(name), "Noise_%s_25519_%s_BLAKE2b",
				 pats[k], c ? "AESGCM" : "ChaChaPoly");
			if (c && noise_cipher_available(NOISE_CIPHER_AESGCM))
				continue;
			rc = roundtrip(name);
			if (rc)
				fprintf(stderr, "  %s: %d\n", name, rc);
			CHECK_EQ_INT(rc, 0);
		}
	}
}
