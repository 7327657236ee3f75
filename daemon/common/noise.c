// SPDX-License-Identifier: MIT
/*
 * Noise Protocol Framework engine, revision 34 semantics.  The spec's
 * names (MixKey, MixHash, EncryptAndHash, ...) are kept for the static
 * helpers so the code can be read side by side with the spec.
 */
#include <string.h>

#include <sodium.h>

#include "noise.h"

#define BLAKE2B_BLOCKLEN 128

/* -------------------------------------------------------------- errors */

static const char *const err_names[] = {
	[0] = "ok",
	[1] = "invalid argument or protocol name",
	[2] = "protocol not supported",
	[3] = "not allowed in this handshake state",
	[4] = "a key the pattern needs is missing",
	[5] = "message longer than 65535 bytes",
	[6] = "message truncated",
	[7] = "decryption failed",
	[8] = "invalid public key (all-zero shared secret)",
	[9] = "nonce space exhausted",
	[10] = "output buffer too small",
	[11] = "crypto library failure",
};

const char *noise_strerror(int err)
{
	unsigned int i = (unsigned int)-err;

	if (err > 0 || i >= sizeof(err_names) / sizeof(err_names[0]))
		return "unknown error";
	return err_names[i];
}

int noise_init(void)
{
	return sodium_init() < 0 ? NOISE_ERR_CRYPTO : NOISE_OK;
}

/* ---------------------------------------------------------- primitives */

void noise_hash(uint8_t out[NOISE_HASHLEN], const uint8_t *a, size_t alen,
		const uint8_t *b, size_t blen)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, NOISE_HASHLEN);
	if (alen)
		crypto_generichash_update(&st, a, alen);
	if (blen)
		crypto_generichash_update(&st, b, blen);
	crypto_generichash_final(&st, out, NOISE_HASHLEN);
	sodium_memzero(&st, sizeof(st));
}

/* RFC 2104 over BLAKE2b (unkeyed, 128-byte block), data in two parts. */
static void hmac2(uint8_t out[NOISE_HASHLEN], const uint8_t *key,
		  size_t keylen, const uint8_t *a, size_t alen,
		  const uint8_t *b, size_t blen)
{
	uint8_t k0[BLAKE2B_BLOCKLEN] = { 0 };
	uint8_t pad[BLAKE2B_BLOCKLEN];
	uint8_t inner[NOISE_HASHLEN];
	crypto_generichash_state st;

	if (keylen > BLAKE2B_BLOCKLEN)
		noise_hash(k0, key, keylen, NULL, 0);
	else
		memcpy(k0, key, keylen);

	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = k0[i] ^ 0x36;
	crypto_generichash_init(&st, NULL, 0, NOISE_HASHLEN);
	crypto_generichash_update(&st, pad, sizeof(pad));
	crypto_generichash_update(&st, a, alen);
	if (blen)
		crypto_generichash_update(&st, b, blen);
	crypto_generichash_final(&st, inner, sizeof(inner));

	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = k0[i] ^ 0x5c;
	crypto_generichash_init(&st, NULL, 0, NOISE_HASHLEN);
	crypto_generichash_update(&st, pad, sizeof(pad));
	crypto_generichash_update(&st, inner, sizeof(inner));
	crypto_generichash_final(&st, out, NOISE_HASHLEN);

	sodium_memzero(k0, sizeof(k0));
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	sodium_memzero(&st, sizeof(st));
}

void noise_hmac(uint8_t out[NOISE_HASHLEN], const uint8_t *key,
		size_t keylen, const uint8_t *data, size_t datalen)
{
	hmac2(out, key, keylen, data, datalen, NULL, 0);
}

void noise_hkdf(const uint8_t ck[NOISE_HASHLEN], const uint8_t *ikm,
		size_t ikmlen, uint8_t out1[NOISE_HASHLEN],
		uint8_t out2[NOISE_HASHLEN], uint8_t *out3)
{
	static const uint8_t one = 1, two = 2, three = 3;
	uint8_t temp_key[NOISE_HASHLEN];

	/* temp_key first: out1 may be ck itself (MixKey). */
	hmac2(temp_key, ck, NOISE_HASHLEN, ikm, ikmlen, NULL, 0);
	hmac2(out1, temp_key, sizeof(temp_key), &one, 1, NULL, 0);
	hmac2(out2, temp_key, sizeof(temp_key), out1, NOISE_HASHLEN, &two, 1);
	if (out3)
		hmac2(out3, temp_key, sizeof(temp_key), out2, NOISE_HASHLEN,
		      &three, 1);
	sodium_memzero(temp_key, sizeof(temp_key));
}

int noise_dh(uint8_t out[NOISE_DHLEN], const uint8_t priv[NOISE_DHLEN],
	     const uint8_t pub[NOISE_DHLEN])
{
	/* libsodium already fails on an all-zero result; check anyway. */
	if (crypto_scalarmult_curve25519(out, priv, pub) != 0 ||
	    sodium_is_zero(out, NOISE_DHLEN)) {
		sodium_memzero(out, NOISE_DHLEN);
		return NOISE_ERR_DH;
	}
	return NOISE_OK;
}

int noise_dh_pubkey(uint8_t pub[NOISE_DHLEN], const uint8_t priv[NOISE_DHLEN])
{
	return crypto_scalarmult_curve25519_base(pub, priv) ? NOISE_ERR_DH
							     : NOISE_OK;
}

int noise_dh_keypair(uint8_t priv[NOISE_DHLEN], uint8_t pub[NOISE_DHLEN])
{
	if (sodium_init() < 0)
		return NOISE_ERR_CRYPTO;
	randombytes_buf(priv, NOISE_DHLEN);
	return noise_dh_pubkey(pub, priv);
}

int noise_cipher_available(enum noise_cipher cipher)
{
	if (sodium_init() < 0)
		return NOISE_ERR_CRYPTO;
	switch (cipher) {
	case NOISE_CIPHER_CHACHAPOLY:
		return NOISE_OK;
	case NOISE_CIPHER_AESGCM:
		return crypto_aead_aes256gcm_is_available() ?
			NOISE_OK : NOISE_ERR_UNSUPPORTED;
	}
	return NOISE_ERR_INVALID;
}

/* --------------------------------------------------------- CipherState */

void noise_cs_init(struct noise_cipherstate *cs, enum noise_cipher cipher)
{
	sodium_memzero(cs, sizeof(*cs));
	cs->cipher = cipher;
}

void noise_cs_set_key(struct noise_cipherstate *cs, const uint8_t *key)
{
	if (key)
		memcpy(cs->k, key, NOISE_KEYLEN);
	else
		sodium_memzero(cs->k, NOISE_KEYLEN);
	cs->has_key = key != NULL;
	cs->n = 0;
}

void noise_cs_set_nonce(struct noise_cipherstate *cs, uint64_t n)
{
	cs->n = n;
}

/* The 96-bit nonce: 32 zero bits, then n (ChaChaPoly LE, AESGCM BE). */
static void make_nonce(uint8_t nonce[12], enum noise_cipher cipher,
		       uint64_t n)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++) {
		uint8_t b = (uint8_t)(n >> (8 * i));

		if (cipher == NOISE_CIPHER_AESGCM)
			nonce[11 - i] = b;
		else
			nonce[4 + i] = b;
	}
}

/* ENCRYPT(k, n, ad, plaintext) of the spec, no state change. */
static int aead_encrypt(const struct noise_cipherstate *cs, uint64_t n,
			const uint8_t *ad, size_t adlen, const uint8_t *in,
			size_t inlen, uint8_t *out)
{
	uint8_t nonce[12];
	unsigned long long clen;
	int rc;

	make_nonce(nonce, cs->cipher, n);
	if (cs->cipher == NOISE_CIPHER_AESGCM) {
		if (!crypto_aead_aes256gcm_is_available())
			return NOISE_ERR_UNSUPPORTED;
		rc = crypto_aead_aes256gcm_encrypt(out, &clen, in, inlen, ad,
						   adlen, NULL, nonce, cs->k);
	} else {
		rc = crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, in,
							       inlen, ad, adlen,
							       NULL, nonce,
							       cs->k);
	}
	return rc ? NOISE_ERR_CRYPTO : NOISE_OK;
}

static int aead_decrypt(const struct noise_cipherstate *cs, uint64_t n,
			const uint8_t *ad, size_t adlen, const uint8_t *in,
			size_t inlen, uint8_t *out)
{
	uint8_t nonce[12];
	unsigned long long mlen;
	int rc;

	make_nonce(nonce, cs->cipher, n);
	if (cs->cipher == NOISE_CIPHER_AESGCM) {
		if (!crypto_aead_aes256gcm_is_available())
			return NOISE_ERR_UNSUPPORTED;
		rc = crypto_aead_aes256gcm_decrypt(out, &mlen, NULL, in, inlen,
						   ad, adlen, nonce, cs->k);
	} else {
		rc = crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL,
							       in, inlen, ad,
							       adlen, nonce,
							       cs->k);
	}
	return rc ? NOISE_ERR_DECRYPT : NOISE_OK;
}

int noise_cs_encrypt(struct noise_cipherstate *cs, const uint8_t *ad,
		     size_t adlen, const uint8_t *in, size_t inlen,
		     uint8_t *out, size_t outcap, size_t *outlen)
{
	size_t need = inlen + (cs->has_key ? NOISE_TAGLEN : 0);
	int rc;

	if (inlen > NOISE_MAX_MSG || need > NOISE_MAX_MSG)
		return NOISE_ERR_TOO_LONG;
	if (need > outcap)
		return NOISE_ERR_BUFFER;
	if (!cs->has_key) {
		if (inlen)
			memmove(out, in, inlen);
		*outlen = inlen;
		return NOISE_OK;
	}
	/* 2^64-1 is reserved for Rekey(); reaching it ends the key. */
	if (cs->n == UINT64_MAX)
		return NOISE_ERR_NONCE;
	rc = aead_encrypt(cs, cs->n, ad, adlen, in, inlen, out);
	if (rc)
		return rc;
	cs->n++;
	*outlen = need;
	return NOISE_OK;
}

int noise_cs_decrypt(struct noise_cipherstate *cs, const uint8_t *ad,
		     size_t adlen, const uint8_t *in, size_t inlen,
		     uint8_t *out, size_t outcap, size_t *outlen)
{
	size_t need;
	int rc;

	if (inlen > NOISE_MAX_MSG)
		return NOISE_ERR_TOO_LONG;
	if (!cs->has_key) {
		if (inlen > outcap)
			return NOISE_ERR_BUFFER;
		if (inlen)
			memmove(out, in, inlen);
		*outlen = inlen;
		return NOISE_OK;
	}
	if (inlen < NOISE_TAGLEN)
		return NOISE_ERR_SHORT;
	need = inlen - NOISE_TAGLEN;
	if (need > outcap)
		return NOISE_ERR_BUFFER;
	if (cs->n == UINT64_MAX)
		return NOISE_ERR_NONCE;
	rc = aead_decrypt(cs, cs->n, ad, adlen, in, inlen, out);
	if (rc)
		return rc;
	cs->n++;
	*outlen = need;
	return NOISE_OK;
}

int noise_cs_rekey(struct noise_cipherstate *cs)
{
	static const uint8_t zeros[NOISE_KEYLEN];
	uint8_t tmp[NOISE_KEYLEN + NOISE_TAGLEN];
	int rc;

	if (!cs->has_key)
		return NOISE_ERR_STATE;
	rc = aead_encrypt(cs, UINT64_MAX, NULL, 0, zeros, sizeof(zeros), tmp);
	if (rc == NOISE_OK)
		memcpy(cs->k, tmp, NOISE_KEYLEN);
	sodium_memzero(tmp, sizeof(tmp));
	return rc;
}

void noise_cs_destroy(struct noise_cipherstate *cs)
{
	sodium_memzero(cs, sizeof(*cs));
}

/* ------------------------------------------------------ SymmetricState */

static void mix_hash(struct noise_symmetricstate *ss, const uint8_t *data,
		     size_t len)
{
	noise_hash(ss->h, ss->h, sizeof(ss->h), data, len);
}

static void mix_key(struct noise_symmetricstate *ss, const uint8_t *ikm,
		    size_t len)
{
	uint8_t temp_k[NOISE_HASHLEN];

	noise_hkdf(ss->ck, ikm, len, ss->ck, temp_k, NULL);
	noise_cs_set_key(&ss->cs, temp_k);	/* truncated to 32 bytes */
	sodium_memzero(temp_k, sizeof(temp_k));
}

static void mix_key_and_hash(struct noise_symmetricstate *ss,
			     const uint8_t *ikm, size_t len)
{
	uint8_t temp_h[NOISE_HASHLEN], temp_k[NOISE_HASHLEN];

	noise_hkdf(ss->ck, ikm, len, ss->ck, temp_h, temp_k);
	mix_hash(ss, temp_h, sizeof(temp_h));
	noise_cs_set_key(&ss->cs, temp_k);
	sodium_memzero(temp_h, sizeof(temp_h));
	sodium_memzero(temp_k, sizeof(temp_k));
}

static int encrypt_and_hash(struct noise_symmetricstate *ss,
			    const uint8_t *in, size_t inlen, uint8_t *out,
			    size_t outcap, size_t *outlen)
{
	int rc = noise_cs_encrypt(&ss->cs, ss->h, sizeof(ss->h), in, inlen,
				  out, outcap, outlen);

	if (rc == NOISE_OK)
		mix_hash(ss, out, *outlen);
	return rc;
}

static int decrypt_and_hash(struct noise_symmetricstate *ss,
			    const uint8_t *in, size_t inlen, uint8_t *out,
			    size_t outcap, size_t *outlen)
{
	uint8_t h[NOISE_HASHLEN];
	int rc;

	/* The ciphertext is hashed, and out may overwrite it. */
	noise_hash(h, ss->h, sizeof(ss->h), in, inlen);
	rc = noise_cs_decrypt(&ss->cs, ss->h, sizeof(ss->h), in, inlen, out,
			      outcap, outlen);
	if (rc == NOISE_OK)
		memcpy(ss->h, h, sizeof(h));
	return rc;
}

static void symmetric_init(struct noise_symmetricstate *ss, const char *name,
			   enum noise_cipher cipher)
{
	size_t len = strlen(name);

	memset(ss->h, 0, sizeof(ss->h));
	if (len <= NOISE_HASHLEN)
		memcpy(ss->h, name, len);
	else
		noise_hash(ss->h, (const uint8_t *)name, len, NULL, 0);
	memcpy(ss->ck, ss->h, sizeof(ss->ck));
	noise_cs_init(&ss->cs, cipher);
}

/* ------------------------------------------------------------ patterns */

/*
 * Base patterns of the spec (sections 7.4 and 7.5), in its notation.
 * Messages alternate starting with the initiator; a one-message pattern
 * is one-way.  psk modifiers are applied by name, so "IKpsk2" needs no
 * row of its own.  Adding a pattern is adding a row.
 */
struct pattern_def {
	const char *name;
	const char *pre_init;
	const char *pre_resp;
	const char *msgs[NOISE_MAX_MESSAGES];
};

static const struct pattern_def patterns[] = {
	{ "N",  "",  "s", { "e, es" } },
	{ "K",  "s", "s", { "e, es, ss" } },
	{ "X",  "",  "s", { "e, es, s, ss" } },
	{ "NN", "",  "",  { "e", "e, ee" } },
	{ "NK", "",  "s", { "e, es", "e, ee" } },
	{ "NX", "",  "",  { "e", "e, ee, s, es" } },
	{ "KN", "s", "",  { "e", "e, ee, se" } },
	{ "KK", "s", "s", { "e, es, ss", "e, ee, se" } },
	{ "KX", "s", "",  { "e", "e, ee, se, s, es" } },
	{ "XN", "",  "",  { "e", "e, ee", "s, se" } },
	{ "XK", "",  "s", { "e, es", "e, ee", "s, se" } },
	{ "XX", "",  "",  { "e", "e, ee, s, es", "s, se" } },
	{ "IN", "",  "",  { "e, s", "e, ee, se" } },
	{ "IK", "",  "s", { "e, es, s, ss", "e, ee, se" } },
	{ "IX", "",  "",  { "e, s", "e, ee, se, s, es" } },
};

#define N_PATTERNS ((int)(sizeof(patterns) / sizeof(patterns[0])))

static const char *const token_names[] = {
	[NOISE_TOK_E] = "e", [NOISE_TOK_S] = "s", [NOISE_TOK_EE] = "ee",
	[NOISE_TOK_ES] = "es", [NOISE_TOK_SE] = "se", [NOISE_TOK_SS] = "ss",
	[NOISE_TOK_PSK] = "psk",
};

static int token_lookup(const char *s, size_t len)
{
	for (int t = NOISE_TOK_E; t <= NOISE_TOK_PSK; t++)
		if (strlen(token_names[t]) == len &&
		    !memcmp(token_names[t], s, len))
			return t;
	return -1;
}

/* "e, es, s" -> token list; out has room for NOISE_MAX_TOKENS + 1. */
static int parse_tokens(const char *s, uint8_t *out)
{
	int n = 0;

	while (*s) {
		size_t len = strcspn(s, ",");
		int t = token_lookup(s, len);

		if (t < 0 || n >= NOISE_MAX_TOKENS)
			return NOISE_ERR_INVALID;
		out[n++] = (uint8_t)t;
		s += len;
		s += strspn(s, ", ");
	}
	out[n] = NOISE_TOK_END;
	return n;
}

static int parse_pre(const char *s, uint8_t *bits)
{
	uint8_t toks[NOISE_MAX_TOKENS + 1];
	int n = parse_tokens(s, toks);

	*bits = 0;
	for (int i = 0; i < n; i++) {
		if (toks[i] == NOISE_TOK_E)
			*bits |= 1;
		else if (toks[i] == NOISE_TOK_S)
			*bits |= 2;
		else
			return NOISE_ERR_INVALID;
	}
	return n < 0 ? n : NOISE_OK;
}

static int msg_len(const uint8_t *m)
{
	int n = 0;

	while (m[n] != NOISE_TOK_END)
		n++;
	return n;
}

/* "psk0+psk2": psk0 opens the first message, pskN closes message N. */
static int apply_modifiers(struct noise_protocol *p, const char *mods,
			   size_t len)
{
	while (len) {
		size_t mlen = 0;
		unsigned int num = 0;
		uint8_t *m;
		int n;

		while (mlen < len && mods[mlen] != '+')
			mlen++;
		if (mlen < 3 || memcmp(mods, "psk", 3))
			return NOISE_ERR_UNSUPPORTED;	/* fallback, hfs, ... */
		if (mlen == 3 || mlen > 5)
			return NOISE_ERR_INVALID;
		for (size_t i = 3; i < mlen; i++) {
			if (mods[i] < '0' || mods[i] > '9')
				return NOISE_ERR_INVALID;
			num = num * 10 + (unsigned int)(mods[i] - '0');
		}
		if (num > (unsigned int)p->n_messages)
			return NOISE_ERR_INVALID;
		m = p->msg[num ? num - 1 : 0];
		n = msg_len(m);
		if (n >= NOISE_MAX_TOKENS || p->n_psks >= NOISE_MAX_PSKS)
			return NOISE_ERR_INVALID;
		if (num == 0) {
			memmove(m + 1, m, (size_t)n + 1);
			m[0] = NOISE_TOK_PSK;
		} else {
			m[n] = NOISE_TOK_PSK;
			m[n + 1] = NOISE_TOK_END;
		}
		p->n_psks++;
		mods += mlen;
		len -= mlen;
		if (len) {
			mods++;
			len--;
			if (!len)
				return NOISE_ERR_INVALID;
		}
	}
	return NOISE_OK;
}

static int load_pattern(struct noise_protocol *p, const char *name,
			size_t len)
{
	size_t base = 0;
	const struct pattern_def *def = NULL;
	int rc;

	while (base < len && (name[base] < 'a' || name[base] > 'z'))
		base++;
	for (int i = 0; i < N_PATTERNS; i++) {
		if (strlen(patterns[i].name) == base &&
		    !memcmp(patterns[i].name, name, base)) {
			def = &patterns[i];
			p->pattern = i;
		}
	}
	if (!def)
		return NOISE_ERR_UNSUPPORTED;
	if (parse_pre(def->pre_init, &p->pre_init) ||
	    parse_pre(def->pre_resp, &p->pre_resp))
		return NOISE_ERR_INVALID;
	for (p->n_messages = 0; p->n_messages < NOISE_MAX_MESSAGES &&
	     def->msgs[p->n_messages]; p->n_messages++) {
		rc = parse_tokens(def->msgs[p->n_messages],
				  p->msg[p->n_messages]);
		if (rc < 0)
			return rc;
	}
	p->one_way = p->n_messages == 1;
	return apply_modifiers(p, name + base, len - base);
}

static int field_is(const char *f, size_t len, const char *want)
{
	return strlen(want) == len && !memcmp(f, want, len);
}

int noise_protocol_parse(const char *name, struct noise_protocol *p)
{
	const char *f[4];
	size_t flen[4];
	const char *s;
	int rc;

	memset(p, 0, sizeof(*p));
	if (!name || strncmp(name, "Noise_", 6))
		return NOISE_ERR_INVALID;
	s = name + 6;
	for (int i = 0; i < 4; i++) {
		f[i] = s;
		flen[i] = strcspn(s, "_");
		if (!flen[i] || (i < 3 && s[flen[i]] != '_'))
			return NOISE_ERR_INVALID;
		s += flen[i] + (i < 3);
	}
	if (*s)
		return NOISE_ERR_INVALID;

	rc = load_pattern(p, f[0], flen[0]);
	if (rc)
		return rc;
	if (!field_is(f[1], flen[1], "25519") ||
	    !field_is(f[3], flen[3], "BLAKE2b"))
		return NOISE_ERR_UNSUPPORTED;
	if (field_is(f[2], flen[2], "ChaChaPoly"))
		p->cipher = NOISE_CIPHER_CHACHAPOLY;
	else if (field_is(f[2], flen[2], "AESGCM"))
		p->cipher = NOISE_CIPHER_AESGCM;
	else
		return NOISE_ERR_UNSUPPORTED;
	return noise_cipher_available(p->cipher);
}

/* ------------------------------------------------------ HandshakeState */

/* Does a message written by role `who` contain token t? */
static bool sends_token(const struct noise_protocol *p, enum noise_role who,
			uint8_t t)
{
	for (int i = who == NOISE_INITIATOR ? 0 : 1; i < p->n_messages;
	     i += 2)
		for (const uint8_t *m = p->msg[i]; *m != NOISE_TOK_END; m++)
			if (*m == t)
				return true;
	return false;
}

static int hs_load_keys(struct noise_handshake *hs,
			const struct noise_handshake_config *cfg)
{
	const struct noise_protocol *p = &hs->proto;
	uint8_t my_pre = hs->role == NOISE_INITIATOR ? p->pre_init : p->pre_resp;
	uint8_t peer_pre = hs->role == NOISE_INITIATOR ? p->pre_resp
						       : p->pre_init;

	if (cfg->static_priv) {
		memcpy(hs->s_priv, cfg->static_priv, NOISE_DHLEN);
		if (noise_dh_pubkey(hs->s_pub, hs->s_priv))
			return NOISE_ERR_INVALID;
		hs->has_s = true;
	} else if ((my_pre & 2) || sends_token(p, hs->role, NOISE_TOK_S)) {
		return NOISE_ERR_MISSING_KEY;
	}
	if (peer_pre & 2) {
		if (!cfg->remote_static)
			return NOISE_ERR_MISSING_KEY;
		memcpy(hs->rs, cfg->remote_static, NOISE_DHLEN);
		hs->has_rs = true;
	}
	if (cfg->ephemeral_priv) {
		memcpy(hs->e_priv, cfg->ephemeral_priv, NOISE_DHLEN);
		if (noise_dh_pubkey(hs->e_pub, hs->e_priv))
			return NOISE_ERR_INVALID;
		hs->fixed_e = true;
		hs->has_e = (my_pre & 1) != 0;
	} else if (my_pre & 1) {
		return NOISE_ERR_MISSING_KEY;
	}
	if (peer_pre & 1) {
		if (!cfg->remote_ephemeral)
			return NOISE_ERR_MISSING_KEY;
		memcpy(hs->re, cfg->remote_ephemeral, NOISE_DHLEN);
		hs->has_re = true;
	}
	return NOISE_OK;
}

static int hs_load_psks(struct noise_handshake *hs,
			const struct noise_handshake_config *cfg)
{
	int want = hs->proto.n_psks;

	if (!want)
		return cfg->n_psks || cfg->psks ? NOISE_ERR_INVALID : NOISE_OK;
	if (!cfg->psks || (cfg->n_psks != 1 && cfg->n_psks != want))
		return NOISE_ERR_MISSING_KEY;
	for (int i = 0; i < want; i++)
		memcpy(hs->psks[i],
		       cfg->psks + (cfg->n_psks == 1 ? 0 : i) * NOISE_PSKLEN,
		       NOISE_PSKLEN);
	hs->n_psks = want;
	return NOISE_OK;
}

/* Pre-message keys enter h in order: initiator's, then responder's. */
static void hs_mix_premessages(struct noise_handshake *hs)
{
	const struct noise_protocol *p = &hs->proto;
	bool me_first = hs->role == NOISE_INITIATOR;

	for (int side = 0; side < 2; side++) {
		bool mine = (side == 0) == me_first;
		uint8_t bits = side == 0 ? p->pre_init : p->pre_resp;

		if (bits & 1) {
			const uint8_t *e = mine ? hs->e_pub : hs->re;

			mix_hash(&hs->ss, e, NOISE_DHLEN);
			if (p->n_psks)
				mix_key(&hs->ss, e, NOISE_DHLEN);
		}
		if (bits & 2)
			mix_hash(&hs->ss, mine ? hs->s_pub : hs->rs,
				 NOISE_DHLEN);
	}
}

int noise_handshake_init(struct noise_handshake *hs,
			 const struct noise_handshake_config *cfg)
{
	int rc;

	memset(hs, 0, sizeof(*hs));
	if (sodium_init() < 0)
		return NOISE_ERR_CRYPTO;
	if (!cfg || (cfg->role != NOISE_INITIATOR &&
		     cfg->role != NOISE_RESPONDER) ||
	    (cfg->prologue_len && !cfg->prologue))
		return NOISE_ERR_INVALID;
	rc = noise_protocol_parse(cfg->protocol, &hs->proto);
	if (rc)
		goto fail;
	hs->role = cfg->role;
	rc = hs_load_keys(hs, cfg);
	if (rc)
		goto fail;
	rc = hs_load_psks(hs, cfg);
	if (rc)
		goto fail;

	symmetric_init(&hs->ss, cfg->protocol, hs->proto.cipher);
	mix_hash(&hs->ss, cfg->prologue, cfg->prologue_len);
	hs_mix_premessages(hs);
	return NOISE_OK;
fail:
	noise_handshake_destroy(hs);
	return rc;
}

enum noise_action noise_handshake_action(const struct noise_handshake *hs)
{
	bool initiator_turn = hs->msg_index % 2 == 0;

	if (hs->failed)
		return NOISE_ACTION_FAILED;
	if (hs->msg_index >= hs->proto.n_messages)
		return NOISE_ACTION_SPLIT;
	return initiator_turn == (hs->role == NOISE_INITIATOR) ?
		NOISE_ACTION_WRITE : NOISE_ACTION_READ;
}

/*
 * Length of the current message without its payload, and whether the
 * payload will be encrypted: computed before any state changes so that
 * a wrong length is refused cleanly.
 */
static size_t msg_overhead(const struct noise_handshake *hs, bool *keyed)
{
	const uint8_t *m = hs->proto.msg[hs->msg_index];
	bool k = hs->ss.cs.has_key;
	size_t len = 0;

	for (; *m != NOISE_TOK_END; m++) {
		switch (*m) {
		case NOISE_TOK_E:
			len += NOISE_DHLEN;
			if (hs->proto.n_psks)
				k = true;
			break;
		case NOISE_TOK_S:
			len += NOISE_DHLEN + (k ? NOISE_TAGLEN : 0);
			break;
		default:
			k = true;
			break;
		}
	}
	*keyed = k;
	return len;
}

/* The DH of token t for this side, mixed into the chaining key. */
static int hs_dh_token(struct noise_handshake *hs, uint8_t t)
{
	bool init = hs->role == NOISE_INITIATOR;
	const uint8_t *priv, *pub;
	bool ok;
	uint8_t shared[NOISE_DHLEN];
	int rc;

	switch (t) {
	case NOISE_TOK_EE:
		priv = hs->e_priv, pub = hs->re, ok = hs->has_e && hs->has_re;
		break;
	case NOISE_TOK_SS:
		priv = hs->s_priv, pub = hs->rs, ok = hs->has_s && hs->has_rs;
		break;
	case NOISE_TOK_ES:
		priv = init ? hs->e_priv : hs->s_priv;
		pub = init ? hs->rs : hs->re;
		ok = init ? hs->has_e && hs->has_rs : hs->has_s && hs->has_re;
		break;
	case NOISE_TOK_SE:
		priv = init ? hs->s_priv : hs->e_priv;
		pub = init ? hs->re : hs->rs;
		ok = init ? hs->has_s && hs->has_re : hs->has_e && hs->has_rs;
		break;
	default:
		return NOISE_ERR_INVALID;
	}
	if (!ok)
		return NOISE_ERR_MISSING_KEY;
	rc = noise_dh(shared, priv, pub);
	if (rc == NOISE_OK)
		mix_key(&hs->ss, shared, sizeof(shared));
	sodium_memzero(shared, sizeof(shared));
	return rc;
}

static int hs_new_ephemeral(struct noise_handshake *hs)
{
	if (hs->has_e)
		return NOISE_ERR_STATE;
	if (!hs->fixed_e) {
		randombytes_buf(hs->e_priv, NOISE_DHLEN);
		if (noise_dh_pubkey(hs->e_pub, hs->e_priv))
			return NOISE_ERR_CRYPTO;
	}
	hs->has_e = true;
	return NOISE_OK;
}

int noise_handshake_set_psk(struct noise_handshake *hs, int i,
			    const uint8_t psk[NOISE_PSKLEN])
{
	if (!psk || i < 0 || i >= hs->n_psks)
		return NOISE_ERR_INVALID;
	if (hs->failed || i < hs->psk_index)
		return NOISE_ERR_STATE;
	memcpy(hs->psks[i], psk, NOISE_PSKLEN);
	return NOISE_OK;
}

static int hs_psk_token(struct noise_handshake *hs)
{
	if (hs->psk_index >= hs->n_psks)
		return NOISE_ERR_MISSING_KEY;
	mix_key_and_hash(&hs->ss, hs->psks[hs->psk_index++], NOISE_PSKLEN);
	return NOISE_OK;
}

static int hs_write_tokens(struct noise_handshake *hs, uint8_t *out,
			   size_t outcap, size_t *pos)
{
	size_t n;
	int rc = NOISE_OK;

	for (const uint8_t *m = hs->proto.msg[hs->msg_index];
	     *m != NOISE_TOK_END && rc == NOISE_OK; m++) {
		switch (*m) {
		case NOISE_TOK_E:
			rc = hs_new_ephemeral(hs);
			if (rc)
				break;
			memcpy(out + *pos, hs->e_pub, NOISE_DHLEN);
			*pos += NOISE_DHLEN;
			mix_hash(&hs->ss, hs->e_pub, NOISE_DHLEN);
			if (hs->proto.n_psks)
				mix_key(&hs->ss, hs->e_pub, NOISE_DHLEN);
			break;
		case NOISE_TOK_S:
			rc = encrypt_and_hash(&hs->ss, hs->s_pub, NOISE_DHLEN,
					      out + *pos, outcap - *pos, &n);
			*pos += rc ? 0 : n;
			break;
		case NOISE_TOK_PSK:
			rc = hs_psk_token(hs);
			break;
		default:
			rc = hs_dh_token(hs, *m);
			break;
		}
	}
	return rc;
}

int noise_handshake_write(struct noise_handshake *hs, const uint8_t *payload,
			  size_t plen, uint8_t *out, size_t outcap,
			  size_t *outlen)
{
	size_t pos = 0, n, need;
	bool keyed;
	int rc;

	if (noise_handshake_action(hs) != NOISE_ACTION_WRITE)
		return NOISE_ERR_STATE;
	if (plen > NOISE_MAX_MSG || (plen && !payload))
		return plen > NOISE_MAX_MSG ? NOISE_ERR_TOO_LONG
					    : NOISE_ERR_INVALID;
	need = msg_overhead(hs, &keyed) + plen + (keyed ? NOISE_TAGLEN : 0);
	if (need > NOISE_MAX_MSG)
		return NOISE_ERR_TOO_LONG;
	if (need > outcap)
		return NOISE_ERR_BUFFER;

	rc = hs_write_tokens(hs, out, outcap, &pos);
	if (rc == NOISE_OK)
		rc = encrypt_and_hash(&hs->ss, payload, plen, out + pos,
				      outcap - pos, &n);
	if (rc) {
		hs->failed = true;
		return rc;
	}
	*outlen = pos + n;
	hs->msg_index++;
	return NOISE_OK;
}

static int hs_read_tokens(struct noise_handshake *hs, const uint8_t *msg,
			  size_t *pos)
{
	size_t n, len;
	int rc = NOISE_OK;

	for (const uint8_t *m = hs->proto.msg[hs->msg_index];
	     *m != NOISE_TOK_END && rc == NOISE_OK; m++) {
		switch (*m) {
		case NOISE_TOK_E:
			if (hs->has_re)
				return NOISE_ERR_STATE;
			memcpy(hs->re, msg + *pos, NOISE_DHLEN);
			hs->has_re = true;
			*pos += NOISE_DHLEN;
			mix_hash(&hs->ss, hs->re, NOISE_DHLEN);
			if (hs->proto.n_psks)
				mix_key(&hs->ss, hs->re, NOISE_DHLEN);
			break;
		case NOISE_TOK_S:
			if (hs->has_rs)
				return NOISE_ERR_STATE;
			len = NOISE_DHLEN +
			      (hs->ss.cs.has_key ? NOISE_TAGLEN : 0);
			rc = decrypt_and_hash(&hs->ss, msg + *pos, len, hs->rs,
					      NOISE_DHLEN, &n);
			hs->has_rs = rc == NOISE_OK;
			*pos += len;
			break;
		case NOISE_TOK_PSK:
			rc = hs_psk_token(hs);
			break;
		default:
			rc = hs_dh_token(hs, *m);
			break;
		}
	}
	return rc;
}

int noise_handshake_read(struct noise_handshake *hs, const uint8_t *msg,
			 size_t mlen, uint8_t *payload, size_t pcap,
			 size_t *plen)
{
	size_t pos = 0, min;
	bool keyed;
	int rc;

	if (noise_handshake_action(hs) != NOISE_ACTION_READ)
		return NOISE_ERR_STATE;
	if (mlen > NOISE_MAX_MSG)
		return NOISE_ERR_TOO_LONG;
	if (!msg)
		return NOISE_ERR_INVALID;
	min = msg_overhead(hs, &keyed) + (keyed ? NOISE_TAGLEN : 0);
	if (mlen < min)
		return NOISE_ERR_SHORT;
	if (mlen - min > pcap)
		return NOISE_ERR_BUFFER;

	rc = hs_read_tokens(hs, msg, &pos);
	if (rc == NOISE_OK)
		rc = decrypt_and_hash(&hs->ss, msg + pos, mlen - pos, payload,
				      pcap, plen);
	if (rc) {
		hs->failed = true;
		return rc;
	}
	hs->msg_index++;
	return NOISE_OK;
}

int noise_handshake_split(struct noise_handshake *hs,
			  struct noise_cipherstate *send,
			  struct noise_cipherstate *recv)
{
	uint8_t k1[NOISE_HASHLEN], k2[NOISE_HASHLEN];
	bool init = hs->role == NOISE_INITIATOR;

	if (noise_handshake_action(hs) != NOISE_ACTION_SPLIT)
		return NOISE_ERR_STATE;
	noise_hkdf(hs->ss.ck, NULL, 0, k1, k2, NULL);
	if (send) {
		noise_cs_init(send, hs->proto.cipher);
		noise_cs_set_key(send, init ? k1 : k2);
	}
	if (recv) {
		noise_cs_init(recv, hs->proto.cipher);
		noise_cs_set_key(recv, init ? k2 : k1);
	}
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	return NOISE_OK;
}

const uint8_t *noise_handshake_hash(const struct noise_handshake *hs)
{
	return hs->ss.h;
}

const uint8_t *noise_handshake_chaining_key(const struct noise_handshake *hs)
{
	return hs->ss.ck;
}

const uint8_t *noise_handshake_remote_static(const struct noise_handshake *hs)
{
	return hs->has_rs ? hs->rs : NULL;
}

void noise_handshake_destroy(struct noise_handshake *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}
