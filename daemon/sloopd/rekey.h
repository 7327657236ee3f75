/* SPDX-License-Identifier: MIT */
/*
 * Hitless rekey (P3 2.1.6 with a fresh DH per rekey), as a pure state
 * machine: events in (time, received control messages, a forced rekey),
 * actions out (control messages to send, kernel key-slot commands, a
 * session recovery).  The caller performs the actions in order.
 *
 * A = the side that starts this rekey, B = the other one; the session's
 * send phase is p, the spare slot 1-p.
 *
 *   A: REKEY_INIT(id, eA)        --> B: derive, KEY_NEW(1-p), keep sending p
 *   A: derive, KEY_NEW(1-p),     <-- B: REKEY_ACK(id, eB)
 *      KEY_SWAP(1-p)
 *   A: REKEY_DONE(id)            --> B: KEY_SWAP(1-p)
 *   A: old slot deleted after    <-- B: REKEY_DONE(id, REPLY);
 *      the grace period              old slot deleted after the grace period
 *
 * A sends with the new keys only after B proved (ACK) that it holds them;
 * B only after A's DONE, which A sends with the new keys.  Each side keeps
 * the old receive key for `grace_ms` after the peer's last possible old
 * packet, then deletes it.  INIT and DONE are retransmitted every
 * retry_ms, at most max_retries times, then RECOVER (a new handshake).
 * One rekey at a time; when both sides start at once, the side with the
 * lower static key wins and the other answers.
 */
#ifndef SLOOPD_REKEY_H
#define SLOOPD_REKEY_H

#include <stdbool.h>
#include <stdint.h>

#include "backoff.h"
#include "ctrlmsg.h"
#include "reason.h"
#include "session.h"

#define RK_MAX_RETRIES	4
#define RK_RETRY_MS	2000u
#define RK_GRACE_MS	10000u
#define RK_MAX_ACTIONS	8

enum rk_act_type {
	RK_ACT_SEND,		/* msg, over the control channel */
	RK_ACT_KEY_NEW,		/* phase, key_id, keys */
	RK_ACT_KEY_SWAP,	/* phase: send with it from now on */
	RK_ACT_KEY_DEL,		/* phase */
	RK_ACT_RECOVER,		/* reason: drop the session, handshake again */
};

struct rk_action {
	enum rk_act_type type;
	uint8_t phase;
	uint32_t key_id;
	struct ctrl_msg msg;
	struct sess_data_keys keys;
	enum reason reason;
};

struct rk_actions {
	int n;
	struct rk_action a[RK_MAX_ACTIONS];
};

/* Wipes the keys carried by the actions (after they went to the kernel). */
void rk_actions_wipe(struct rk_actions *acts);

struct rk_config {
	uint64_t interval_ms;		/* 0: only forced rekeys */
	unsigned int jitter_pct;
	unsigned int retry_ms;		/* 0: RK_RETRY_MS */
	unsigned int grace_ms;		/* 0: RK_GRACE_MS */
	unsigned int max_retries;	/* 0: RK_MAX_RETRIES */
	backoff_rand_fn rnd;		/* NULL: libsodium */
	void *rnd_ctx;
};

enum rk_state {
	RK_IDLE,
	RK_INIT_SENT,		/* A: waiting for the ACK */
	RK_ANSWERED,		/* B: new keys in the spare slot, waiting for DONE */
	RK_DONE_SENT,		/* A: switched, waiting for B's DONE reply */
};

enum rk_spare {
	RK_SPARE_EMPTY,
	RK_SPARE_OLD,		/* previous keys, deleted at del_at */
	RK_SPARE_NEW,		/* next keys, waiting for the switch */
};

struct rekey {
	struct rk_config cfg;
	bool hs_initiator;		/* names key directions */
	bool wins_ties;			/* our static key is the lower one */
	uint8_t keylen;
	uint8_t chain[SESS_CHAIN_LEN];

	uint8_t send_phase;
	uint32_t key_id;		/* generation in the send phase */
	enum rk_spare spare;
	uint64_t del_at;
	uint64_t next_at;		/* next scheduled rekey */

	enum rk_state state;
	uint32_t next_id;
	uint32_t id;			/* A: the rekey in flight */
	uint32_t init_gen;		/* A: key_id when it started */
	uint8_t e_priv[32], e_pub[32];
	unsigned int retries;
	uint64_t retry_at;

	/* B: the last INIT answered, to answer retransmissions alike. */
	bool ans_valid, ans_done;
	uint32_t ans_id;
	uint8_t ans_peer_e[32], ans_e[32];

	uint64_t n_done, n_retries, n_recover;
};

/*
 * After the handshake: generation 0 in phase 0, chain from sess_keys.
 * wins_ties: memcmp(our static public, peer's) < 0.
 */
void rk_init(struct rekey *rk, const struct rk_config *cfg,
	     const uint8_t chain[SESS_CHAIN_LEN], bool hs_initiator,
	     bool wins_ties, uint8_t keylen, uint64_t now);
void rk_wipe(struct rekey *rk);
void rk_tick(struct rekey *rk, uint64_t now, struct rk_actions *out);
/* USR2, `sloopctl rekey`, a key-limit notification: as soon as allowed. */
void rk_force(struct rekey *rk, uint64_t now, struct rk_actions *out);
void rk_recv(struct rekey *rk, const struct ctrl_msg *m, uint64_t now,
	     struct rk_actions *out);
/*
 * The kernel saw an authenticated packet in `phase` (if it reports it):
 * for B the same proof as DONE.
 */
void rk_peer_phase(struct rekey *rk, uint8_t phase, uint64_t now,
		   struct rk_actions *out);
uint64_t rk_deadline(const struct rekey *rk);

#endif
