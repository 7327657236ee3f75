/* SPDX-License-Identifier: MIT */
/*
 * A small generic Noise Protocol Framework engine (spec revision 34) on
 * libsodium: DH 25519, ciphers ChaChaPoly and AESGCM, hash BLAKE2b.
 * Handshake patterns come from a table of token strings; psk modifiers
 * (psk0, psk1, ...) are applied to any base pattern.  docs/noise.md
 * describes the API and how it is checked against published vectors.
 *
 * All structures may live on the stack; the *_destroy() functions wipe
 * every secret they hold.
 */
#ifndef SLOOP_NOISE_H
#define SLOOP_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOISE_DHLEN		32
#define NOISE_HASHLEN		64
#define NOISE_KEYLEN		32
#define NOISE_TAGLEN		16
#define NOISE_PSKLEN		32
#define NOISE_MAX_MSG		65535
/* Longest handshake pattern this engine accepts (messages, tokens). */
#define NOISE_MAX_MESSAGES	8
#define NOISE_MAX_TOKENS	8
#define NOISE_MAX_PSKS		4

enum noise_err {
	NOISE_OK = 0,
	NOISE_ERR_INVALID = -1,		/* bad argument or protocol name */
	NOISE_ERR_UNSUPPORTED = -2,	/* valid name, not implemented here */
	NOISE_ERR_STATE = -3,		/* call not allowed in this state */
	NOISE_ERR_MISSING_KEY = -4,	/* pattern needs a key not given */
	NOISE_ERR_TOO_LONG = -5,	/* message above NOISE_MAX_MSG */
	NOISE_ERR_SHORT = -6,		/* message truncated */
	NOISE_ERR_DECRYPT = -7,		/* authentication failed */
	NOISE_ERR_DH = -8,		/* all-zero shared secret */
	NOISE_ERR_NONCE = -9,		/* nonce space exhausted */
	NOISE_ERR_BUFFER = -10,		/* output buffer too small */
	NOISE_ERR_CRYPTO = -11,		/* libsodium failure */
};

const char *noise_strerror(int err);

enum noise_cipher {
	NOISE_CIPHER_CHACHAPOLY,
	NOISE_CIPHER_AESGCM,
};

enum noise_role {
	NOISE_INITIATOR,
	NOISE_RESPONDER,
};

/* Must be called once before any other noise_ function (sodium_init). */
int noise_init(void);

/* ------------------------------------------------------------ primitives */

void noise_hash(uint8_t out[NOISE_HASHLEN], const uint8_t *a, size_t alen,
		const uint8_t *b, size_t blen);
void noise_hmac(uint8_t out[NOISE_HASHLEN], const uint8_t *key,
		size_t keylen, const uint8_t *data, size_t datalen);
/*
 * HKDF as the Noise spec defines it: out1..out3 are HASHLEN bytes each;
 * out3 may be NULL for the two-output form.
 */
void noise_hkdf(const uint8_t ck[NOISE_HASHLEN], const uint8_t *ikm,
		size_t ikmlen, uint8_t out1[NOISE_HASHLEN],
		uint8_t out2[NOISE_HASHLEN], uint8_t *out3);
/* X25519; NOISE_ERR_DH if the result is all zero (low-order point). */
int noise_dh(uint8_t out[NOISE_DHLEN], const uint8_t priv[NOISE_DHLEN],
	     const uint8_t pub[NOISE_DHLEN]);
int noise_dh_pubkey(uint8_t pub[NOISE_DHLEN], const uint8_t priv[NOISE_DHLEN]);
int noise_dh_keypair(uint8_t priv[NOISE_DHLEN], uint8_t pub[NOISE_DHLEN]);
/* NOISE_ERR_UNSUPPORTED when the CPU lacks AES-GCM support. */
int noise_cipher_available(enum noise_cipher cipher);

/* ------------------------------------------------------------ CipherState */

struct noise_cipherstate {
	uint8_t k[NOISE_KEYLEN];
	uint64_t n;
	bool has_key;
	enum noise_cipher cipher;
};

void noise_cs_init(struct noise_cipherstate *cs, enum noise_cipher cipher);
/* key NULL = empty key (encryption becomes the identity). */
void noise_cs_set_key(struct noise_cipherstate *cs, const uint8_t *key);
void noise_cs_set_nonce(struct noise_cipherstate *cs, uint64_t n);
/* out may alias in; needs inlen + NOISE_TAGLEN bytes when keyed. */
int noise_cs_encrypt(struct noise_cipherstate *cs, const uint8_t *ad,
		     size_t adlen, const uint8_t *in, size_t inlen,
		     uint8_t *out, size_t outcap, size_t *outlen);
/* On failure the nonce is not advanced (spec 5.1). */
int noise_cs_decrypt(struct noise_cipherstate *cs, const uint8_t *ad,
		     size_t adlen, const uint8_t *in, size_t inlen,
		     uint8_t *out, size_t outcap, size_t *outlen);
int noise_cs_rekey(struct noise_cipherstate *cs);
void noise_cs_destroy(struct noise_cipherstate *cs);

/* ------------------------------------------------------------ SymmetricState */

struct noise_symmetricstate {
	struct noise_cipherstate cs;
	uint8_t ck[NOISE_HASHLEN];
	uint8_t h[NOISE_HASHLEN];
};

/* --------------------------------------------------------- HandshakeState */

enum noise_token {
	NOISE_TOK_END,
	NOISE_TOK_E,
	NOISE_TOK_S,
	NOISE_TOK_EE,
	NOISE_TOK_ES,
	NOISE_TOK_SE,
	NOISE_TOK_SS,
	NOISE_TOK_PSK,
};

/* A protocol name taken apart: "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b". */
struct noise_protocol {
	int pattern;			/* index into the pattern table */
	enum noise_cipher cipher;
	bool one_way;
	int n_messages;
	int n_psks;			/* psk tokens after modifiers */
	/* pre-messages: bit 0 = e, bit 1 = s */
	uint8_t pre_init, pre_resp;
	/* tokens per message, NOISE_TOK_END-terminated */
	uint8_t msg[NOISE_MAX_MESSAGES][NOISE_MAX_TOKENS + 1];
};

int noise_protocol_parse(const char *name, struct noise_protocol *proto);

struct noise_handshake_config {
	const char *protocol;
	enum noise_role role;
	const uint8_t *prologue;
	size_t prologue_len;
	const uint8_t *static_priv;	/* s, if the pattern uses it */
	const uint8_t *remote_static;	/* rs, if known before the start */
	const uint8_t *remote_ephemeral;/* re, only for "e" pre-messages */
	/*
	 * One psk for every psk token (spec), or exactly one per psk token
	 * in order; each NOISE_PSKLEN bytes, back to back.
	 */
	const uint8_t *psks;
	int n_psks;
	/* Tests only: fixed ephemeral private key instead of a random one. */
	const uint8_t *ephemeral_priv;
};

enum noise_action {
	NOISE_ACTION_WRITE,
	NOISE_ACTION_READ,
	NOISE_ACTION_SPLIT,		/* handshake done */
	NOISE_ACTION_FAILED,		/* a message failed: start over */
};

struct noise_handshake {
	struct noise_protocol proto;
	struct noise_symmetricstate ss;
	enum noise_role role;
	int msg_index;
	int psk_index;
	bool failed;
	bool has_s, has_e, has_rs, has_re;
	uint8_t s_priv[NOISE_DHLEN], s_pub[NOISE_DHLEN];
	uint8_t e_priv[NOISE_DHLEN], e_pub[NOISE_DHLEN];
	uint8_t rs[NOISE_DHLEN], re[NOISE_DHLEN];
	uint8_t psks[NOISE_MAX_PSKS][NOISE_PSKLEN];
	int n_psks;
	bool fixed_e;
};

int noise_handshake_init(struct noise_handshake *hs,
			 const struct noise_handshake_config *cfg);
enum noise_action noise_handshake_action(const struct noise_handshake *hs);
/*
 * Replaces psk number i (0 = the pattern's first psk token) while that
 * token is still ahead: an IKpsk2 responder learns whose psk to use
 * only from the static key in message 1.  NOISE_ERR_INVALID for an
 * index the pattern does not have, NOISE_ERR_STATE once the token has
 * been mixed or the handshake has failed.
 */
int noise_handshake_set_psk(struct noise_handshake *hs, int i,
			    const uint8_t psk[NOISE_PSKLEN]);
/*
 * Writes the next handshake message carrying payload into out (which
 * must not overlap payload).  Length errors (NOISE_ERR_TOO_LONG,
 * NOISE_ERR_BUFFER) leave the state untouched; any other error fails
 * the handshake for good (NOISE_ACTION_FAILED).
 */
int noise_handshake_write(struct noise_handshake *hs, const uint8_t *payload,
			  size_t plen, uint8_t *out, size_t outcap,
			  size_t *outlen);
/*
 * Reads the next handshake message; its payload lands in payload (not
 * overlapping msg; may be NULL when pcap is 0).  Length errors
 * (NOISE_ERR_SHORT, NOISE_ERR_TOO_LONG, NOISE_ERR_BUFFER) leave the
 * state untouched; a message that fails authentication or DH fails the
 * handshake for good.
 */
int noise_handshake_read(struct noise_handshake *hs, const uint8_t *msg,
			 size_t mlen, uint8_t *payload, size_t pcap,
			 size_t *plen);
/*
 * After the last message: send/recv are the transport CipherStates for
 * this side (the initiator sends with the first).  The handshake state
 * stays readable (hash, chaining key) until noise_handshake_destroy().
 */
int noise_handshake_split(struct noise_handshake *hs,
			  struct noise_cipherstate *send,
			  struct noise_cipherstate *recv);
/* Channel binding value h; valid once the handshake is done. */
const uint8_t *noise_handshake_hash(const struct noise_handshake *hs);
/*
 * The chaining key, for later key schedules (sloopd mixes a fresh DH
 * into it on each rekey).  The caller wipes its copies.
 */
const uint8_t *noise_handshake_chaining_key(const struct noise_handshake *hs);
/* The peer's static key once received or given, else NULL. */
const uint8_t *noise_handshake_remote_static(const struct noise_handshake *hs);
void noise_handshake_destroy(struct noise_handshake *hs);

#endif
