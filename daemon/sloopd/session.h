/* SPDX-License-Identifier: MIT */
/*
 * What a session is made of once the handshake is done, as pure code:
 *  - the key schedule (handshake result -> data, header protection and
 *    control keys; rekey DH -> next data keys);
 *  - heartbeat and dead-peer timers (P3 heartbeat_time/heartbeat_fail);
 *  - the initiator's recovery schedule (P3 2.1.7, via backoff.h), with
 *    fail-over across several primaries.
 * Times are milliseconds of a monotonic clock, passed in by the caller.
 */
#ifndef SLOOPD_SESSION_H
#define SLOOPD_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "backoff.h"
#include "handshake.h"

#define SESS_KEY_MAX	32
#define SESS_SALT_LEN	4
#define SESS_CHAIN_LEN	NOISE_HASHLEN

struct sess_dir_keys {
	uint8_t key[SESS_KEY_MAX];
	uint8_t salt[SESS_SALT_LEN];
};

/* One generation of data keys, as KEY_NEW wants it. */
struct sess_data_keys {
	uint8_t keylen;
	struct sess_dir_keys tx, rx;
};

struct sess_keys {
	uint8_t cipher;			/* enum sloop_cipher */
	uint8_t keylen;			/* 16 or 32 */
	bool initiator;			/* our handshake role: names directions */
	uint8_t chain[SESS_CHAIN_LEN];	/* rekey chaining key */
	struct sess_data_keys data;	/* generation 0 */
	uint8_t hp_tx[SESS_KEY_MAX], hp_rx[SESS_KEY_MAX];
	uint8_t ctrl_tx[32], ctrl_rx[32];	/* ChaCha20-Poly1305 */
};

/* Key length of an enum sloop_cipher; 0 for an unknown one. */
unsigned int sess_cipher_keylen(int cipher);
/* All session keys from a finished handshake; -1 on a bad cipher. */
int sess_keys_derive(struct sess_keys *k, const struct hs_result *r);
/*
 * A rekey: mixes the ephemeral DH result into chain (forward secrecy:
 * the old chain is overwritten) and derives the next data keys.
 */
void sess_rekey_derive(uint8_t chain[SESS_CHAIN_LEN], const uint8_t dh[32],
		       bool initiator, uint8_t keylen,
		       struct sess_data_keys *out);
void sess_keys_wipe(struct sess_keys *k);
void sess_data_keys_wipe(struct sess_data_keys *k);

/* ------------------------------------------------------------ heartbeat */

struct sess_hb {
	uint64_t last_rx_ms;		/* anything authenticated from the peer */
	uint64_t last_tx_ms;		/* anything we sent */
	unsigned int heartbeat_ms;	/* idle time before a heartbeat */
	unsigned int dead_ms;		/* silence that means dead */
};

enum sess_hb_action { SESS_HB_NONE, SESS_HB_SEND, SESS_HB_DEAD };

void sess_hb_init(struct sess_hb *hb, uint64_t now, unsigned int heartbeat_ms,
		  unsigned int dead_ms);
void sess_hb_rx(struct sess_hb *hb, uint64_t now);
void sess_hb_tx(struct sess_hb *hb, uint64_t now);
/* DEAD wins over SEND; after SEND the caller sends and calls _tx. */
enum sess_hb_action sess_hb_tick(const struct sess_hb *hb, uint64_t now);
uint64_t sess_hb_deadline(const struct sess_hb *hb);

/* ------------------------------------------------------------ recovery */

enum sess_link_state {
	SESS_LINK_IDLE,		/* waiting for the next attempt */
	SESS_LINK_CONNECTING,	/* an initiation is out */
	SESS_LINK_UP,
	SESS_LINK_GAVE_UP,	/* maxfail reached */
};

enum sess_link_action {
	SESS_LINK_NONE,
	SESS_LINK_CONNECT,	/* send a new initiation to target */
	SESS_LINK_GIVE_UP,	/* exit (pppd's maxfail) */
};

struct sess_link {
	enum sess_link_state state;
	struct backoff bo;
	uint64_t next_ms;		/* next attempt / attempt timeout */
	unsigned int attempt_ms;	/* how long an attempt may take */
	unsigned int n_targets;		/* primaries to fail over across */
	unsigned int target;		/* the one to try now */
	unsigned int maxfail;		/* 0: never give up */
	unsigned int failures;		/* consecutive, for maxfail */
};

/*
 * step/cap: the recovery schedule (holdoff, holdoff-max).  The first
 * attempt is immediate (at now).
 */
void sess_link_init(struct sess_link *l, uint64_t now, unsigned int step_ms,
		    unsigned int cap_ms, unsigned int attempt_ms,
		    unsigned int n_targets, unsigned int maxfail);
enum sess_link_action sess_link_tick(struct sess_link *l, uint64_t now);
void sess_link_up(struct sess_link *l, uint64_t now);
/* Session lost (dead peer, failed rekey, HUP): back to the schedule. */
void sess_link_down(struct sess_link *l, uint64_t now);
uint64_t sess_link_deadline(const struct sess_link *l);

#endif
