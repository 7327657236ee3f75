/* SPDX-License-Identifier: MIT */
/*
 * The sloop link handshake: Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b in
 * WireGuard's shape with sloop's own message formats (docs/protocol.md,
 * "Handshake and control messages").  Pure message processing: the caller
 * owns sockets, clocks (times are passed in, in milliseconds of a
 * monotonic clock) and the peer table (a lookup callback).
 *
 *   initiation (0x01, 152 bytes)      response (0x02, 96 bytes)
 *   0  type, 3 reserved zero bytes    0  type, 3 reserved zero bytes
 *   4  sender index                   4  sender index
 *   8  e (32)                         8  receiver index
 *  40  enc s (32 + 16)               12  e (32)
 *  88  enc payload (16 + 16)         44  enc payload (4 + 16)
 * 120  mac1 (16)                     64  mac1 (16)
 * 136  mac2 (16)                     80  mac2 (16)
 *
 *   cookie reply (0x03, 64 bytes)
 *   0  type, 3 reserved, 4 receiver index, 8 nonce (24), 32 enc cookie (16+16)
 *
 * Initiation payload: TAI64N (12), cipher wish (1, enum sloop_cipher, 0 =
 * none), 3 zero bytes.  Response payload: the cipher chosen (1), 3 zero.
 */
#ifndef SLOOPD_HANDSHAKE_H
#define SLOOPD_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "noise.h"
#include "reason.h"
#include "tai64n.h"

#define HS_PROTOCOL	"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b"
#define HS_PROLOGUE	"sloop link v1"

#define HS_INIT_LEN	152
#define HS_RESP_LEN	96
#define HS_COOKIE_LEN	64
#define HS_MAC_LEN	16
#define HS_INIT_PAYLOAD	16
#define HS_RESP_PAYLOAD	4
#define HS_COOKIE_NONCE	24

/* Cookie secret lifetime; an initiator's cookie is good a bit less. */
#define HS_COOKIE_SECRET_MS	120000u
#define HS_COOKIE_VALID_MS	(HS_COOKIE_SECRET_MS - 10000u)

/* Per-source token bucket, applied under load to proven sources. */
#define HS_RL_BUCKETS		256
#define HS_RL_RATE_PER_S	20u
#define HS_RL_BURST		5u
/* Initiations per second above which the responder is "under load". */
#define HS_LOAD_DEFAULT		100u

struct hs_local {
	uint8_t priv[NOISE_DHLEN];	/* X25519 form of the device key */
	uint8_t pub[NOISE_DHLEN];
	uint8_t mac1_key[32];		/* HASH("mac1----" || pub) */
	uint8_t cookie_key[32];		/* HASH("cookie--" || pub) */
};

/* Ed25519 device seed (sloopctl genkey) to the X25519 pair Noise uses. */
int hs_local_from_ed25519_seed(struct hs_local *l, const uint8_t seed[32]);
int hs_local_from_x25519(struct hs_local *l, const uint8_t priv[32]);
/* Ed25519 public key (sloopctl pubkey) to X25519; -1 if not a point. */
int hs_pub_from_ed25519(uint8_t x_pub[32], const uint8_t ed_pub[32]);
void hs_local_wipe(struct hs_local *l);

/* What a finished handshake gives both sides (wiped by hs_result_wipe). */
struct hs_result {
	bool initiator;
	uint8_t ck[NOISE_HASHLEN];	/* final chaining key */
	uint8_t h[NOISE_HASHLEN];	/* handshake hash */
	uint8_t remote_pub[32];
	uint32_t local_index, remote_index;
	uint8_t cipher;			/* enum sloop_cipher agreed */
	void *peer;			/* responder: what lookup returned */
};

void hs_result_wipe(struct hs_result *r);

/* ------------------------------------------------------------ initiator */

struct hs_initiator {
	struct noise_handshake noise;
	bool active;			/* an initiation is outstanding */
	uint32_t local_index;
	uint8_t cipher_wish;
	uint8_t remote_pub[32];
	uint8_t remote_mac1_key[32], remote_cookie_key[32];
	uint8_t last_mac1[HS_MAC_LEN];	/* AD of a cookie reply to it */
	bool has_cookie;
	uint8_t cookie[HS_MAC_LEN];
	uint64_t cookie_ms;
};

/*
 * Starts a handshake to remote_pub (X25519) and writes the initiation.
 * psk may be NULL (all zero, as WireGuard).  index must be non-zero.
 * A cookie received earlier for this peer is kept across calls.
 */
int hs_initiate(struct hs_initiator *in, const struct hs_local *l,
		const uint8_t remote_pub[32], const uint8_t *psk,
		uint32_t index, uint8_t cipher_wish, const uint8_t now_tai[12],
		uint64_t now_ms, uint8_t out[HS_INIT_LEN]);
/*
 * A response for our outstanding initiation: 0 and res filled, or a
 * reason (REASON_HS_MALFORMED for junk/wrong index/mac1, REASON_HS_AUTH).
 */
enum reason hs_consume_response(struct hs_initiator *in,
				const struct hs_local *l, const uint8_t *msg,
				size_t len, struct hs_result *res);
/* A cookie reply: stored for the next initiation. */
enum reason hs_consume_cookie(struct hs_initiator *in, const uint8_t *msg,
			      size_t len, uint64_t now_ms);
/* The attempt timed out: forget it, keep a cookie for the next one. */
void hs_initiator_abort(struct hs_initiator *in);
void hs_initiator_wipe(struct hs_initiator *in);

/* ------------------------------------------------------------ responder */

/*
 * The responder's view of a known peer, from the lookup callback: the
 * pre-shared key (NULL: none) and the greatest initiation timestamp
 * accepted so far, which hs_respond updates.
 */
struct hs_peer_ref {
	void *peer;
	const uint8_t *psk;
	uint8_t *last_tai;		/* 12 bytes, all zero initially */
	uint8_t cipher;			/* the cipher we want for this peer */
};

/* 0 if found; -1 for an unknown static key. */
typedef int (*hs_lookup_fn)(void *ctx, const uint8_t remote_pub[32],
			    struct hs_peer_ref *ref);

struct hs_rl_bucket {
	uint8_t addr[16];
	uint8_t family;
	uint32_t tokens_milli;		/* tokens x 1000 */
	uint64_t last_ms;
};

struct hs_responder {
	const struct hs_local *local;
	uint8_t secret[32];		/* cookie secret */
	uint64_t secret_ms;		/* when it was made */
	bool has_secret;
	unsigned int load_threshold;	/* initiations per second */
	uint64_t window_ms;		/* start of the current second */
	unsigned int window_count;
	struct hs_rl_bucket rl[HS_RL_BUCKETS];
	/* counters for show/tests */
	uint64_t n_cookies_sent, n_ratelimited, n_bad_mac;
};

enum hs_verdict {
	HS_DROP,	/* junk: count it, say nothing */
	HS_REJECT,	/* authentic-looking but refused: log the reason */
	HS_COOKIE,	/* out holds a cookie reply to send back */
	HS_ACCEPT,	/* out holds the response; res is the session */
};

void hs_responder_init(struct hs_responder *r, const struct hs_local *l);
void hs_responder_wipe(struct hs_responder *r);
/*
 * One initiation from src.  out needs HS_RESP_LEN bytes (>= the cookie
 * reply's).  index is the receive index to give an accepted initiator.
 */
enum hs_verdict hs_respond(struct hs_responder *r, const uint8_t *msg,
			   size_t len, const struct sockaddr *src,
			   uint64_t now_ms, hs_lookup_fn lookup, void *ctx,
			   uint32_t index, uint8_t *out, size_t *outlen,
			   struct hs_result *res, enum reason *why);

/* Byte 0 and length check: which handshake message this could be. */
int hs_msg_type(const uint8_t *msg, size_t len);
uint32_t hs_get_u32(const uint8_t *p);
void hs_put_u32(uint8_t *p, uint32_t v);

#endif
