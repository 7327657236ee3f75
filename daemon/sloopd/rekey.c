// SPDX-License-Identifier: MIT
#include <string.h>

#include <sodium.h>

#include "rekey.h"

static struct rk_action *push(struct rk_actions *out, enum rk_act_type t)
{
	struct rk_action *a;

	/* RK_MAX_ACTIONS covers the longest path; never silently drop one. */
	if (out->n >= RK_MAX_ACTIONS)
		__builtin_trap();
	a = &out->a[out->n++];
	memset(a, 0, sizeof(*a));
	a->type = t;
	return a;
}

void rk_actions_wipe(struct rk_actions *acts)
{
	sodium_memzero(acts, sizeof(*acts));
}

static struct rk_action *send_msg(struct rk_actions *out, uint8_t type,
				   uint8_t flags, uint32_t id,
				   const uint8_t *e)
{
	struct rk_action *a = push(out, RK_ACT_SEND);

	a->msg.type = type;
	a->msg.flags = flags;
	a->msg.has_id = true;
	a->msg.rekey_id = id;
	if (e) {
		a->msg.has_ephemeral = true;
		memcpy(a->msg.ephemeral, e, 32);
	}
	return a;
}

/* The generation tells a current INIT from one overtaken by a rekey. */
static void send_init(struct rekey *rk, struct rk_actions *out)
{
	struct rk_action *a = send_msg(out, CTRL_REKEY_INIT, 0, rk->id,
				       rk->e_pub);

	a->msg.has_gen = true;
	a->msg.gen = rk->init_gen;
}

static void schedule(struct rekey *rk, uint64_t now)
{
	if (!rk->cfg.interval_ms) {
		rk->next_at = UINT64_MAX;
		return;
	}
	rk->next_at = now + backoff_jitter_ms(rk->cfg.interval_ms,
					      rk->cfg.jitter_pct, rk->cfg.rnd,
					      rk->cfg.rnd_ctx);
}

void rk_init(struct rekey *rk, const struct rk_config *cfg,
	     const uint8_t chain[SESS_CHAIN_LEN], bool hs_initiator,
	     bool wins_ties, uint8_t keylen, uint64_t now)
{
	memset(rk, 0, sizeof(*rk));
	rk->cfg = *cfg;
	if (!rk->cfg.retry_ms)
		rk->cfg.retry_ms = RK_RETRY_MS;
	if (!rk->cfg.grace_ms)
		rk->cfg.grace_ms = RK_GRACE_MS;
	if (!rk->cfg.max_retries)
		rk->cfg.max_retries = RK_MAX_RETRIES;
	memcpy(rk->chain, chain, SESS_CHAIN_LEN);
	rk->hs_initiator = hs_initiator;
	rk->wins_ties = wins_ties;
	rk->keylen = keylen;
	schedule(rk, now);
}

void rk_wipe(struct rekey *rk)
{
	sodium_memzero(rk, sizeof(*rk));
}

static void drop_ephemeral(struct rekey *rk)
{
	sodium_memzero(rk->e_priv, sizeof(rk->e_priv));
}

/* Mixes DH(e, peer_e) into the chain; the new generation's keys. */
static int derive(struct rekey *rk, const uint8_t e_priv[32],
		  const uint8_t peer_e[32], struct sess_data_keys *keys)
{
	uint8_t dh[32];

	if (noise_dh(dh, e_priv, peer_e))
		return -1;
	sess_rekey_derive(rk->chain, dh, rk->hs_initiator, rk->keylen, keys);
	sodium_memzero(dh, sizeof(dh));
	return 0;
}

static void recover(struct rekey *rk, struct rk_actions *out, enum reason r)
{
	struct rk_action *a = push(out, RK_ACT_RECOVER);

	a->reason = r;
	drop_ephemeral(rk);
	rk->state = RK_IDLE;
	rk->next_at = UINT64_MAX;
	rk->n_recover++;
}

static void start(struct rekey *rk, uint64_t now, struct rk_actions *out)
{
	if (noise_dh_keypair(rk->e_priv, rk->e_pub)) {
		recover(rk, out, REASON_REKEY_FAIL);
		return;
	}
	rk->id = ++rk->next_id;
	rk->init_gen = rk->key_id;
	rk->state = RK_INIT_SENT;
	rk->retries = 0;
	rk->retry_at = now + rk->cfg.retry_ms;
	send_init(rk, out);
}

static void retransmit(struct rekey *rk, uint64_t now, struct rk_actions *out)
{
	if (rk->retries >= rk->cfg.max_retries) {
		recover(rk, out, REASON_REKEY_TIMEOUT);
		return;
	}
	rk->retries++;
	rk->n_retries++;
	rk->retry_at = now + rk->cfg.retry_ms;
	if (rk->state == RK_INIT_SENT)
		send_init(rk, out);
	else
		send_msg(out, CTRL_REKEY_DONE, 0, rk->id, NULL);
}

static void swap_to_spare(struct rekey *rk, struct rk_actions *out)
{
	struct rk_action *a = push(out, RK_ACT_KEY_SWAP);

	rk->send_phase ^= 1;
	rk->key_id++;
	a->phase = rk->send_phase;
	a->key_id = rk->key_id;
}

/* The peer can send no more in the old phase: its key goes after grace. */
static void retire_old(struct rekey *rk, uint64_t now)
{
	rk->spare = RK_SPARE_OLD;
	rk->del_at = now + rk->cfg.grace_ms;
	rk->n_done++;
	schedule(rk, now);
}

void rk_tick(struct rekey *rk, uint64_t now, struct rk_actions *out)
{
	if (rk->spare == RK_SPARE_OLD && now >= rk->del_at) {
		struct rk_action *a = push(out, RK_ACT_KEY_DEL);

		a->phase = rk->send_phase ^ 1;
		rk->spare = RK_SPARE_EMPTY;
	}
	if ((rk->state == RK_INIT_SENT || rk->state == RK_DONE_SENT) &&
	    now >= rk->retry_at)
		retransmit(rk, now, out);
	if (rk->state == RK_IDLE && rk->spare == RK_SPARE_EMPTY &&
	    now >= rk->next_at)
		start(rk, now, out);
}

void rk_force(struct rekey *rk, uint64_t now, struct rk_actions *out)
{
	/* A rekey in progress satisfies the request; else start when free. */
	if (rk->state != RK_IDLE)
		return;
	rk->next_at = now;
	rk_tick(rk, now, out);
}

static void answer(struct rekey *rk, const struct ctrl_msg *m, uint64_t now,
		   struct rk_actions *out)
{
	uint8_t e_priv[32];
	struct rk_action *a;

	if (noise_dh_keypair(e_priv, rk->ans_e)) {
		recover(rk, out, REASON_REKEY_FAIL);
		return;
	}
	a = push(out, RK_ACT_KEY_NEW);
	if (derive(rk, e_priv, m->ephemeral, &a->keys)) {
		sodium_memzero(e_priv, sizeof(e_priv));
		out->n--;
		recover(rk, out, REASON_REKEY_FAIL);
		return;
	}
	sodium_memzero(e_priv, sizeof(e_priv));
	/*
	 * Overwriting old keys still in their grace period is safe: the
	 * peer starts a rekey only after its own grace period, which began
	 * after our last packet in that phase.
	 */
	a->phase = rk->send_phase ^ 1;
	a->key_id = rk->key_id + 1;
	rk->spare = RK_SPARE_NEW;
	rk->state = RK_ANSWERED;
	rk->ans_valid = true;
	rk->ans_done = false;
	rk->ans_id = m->rekey_id;
	memcpy(rk->ans_peer_e, m->ephemeral, 32);
	send_msg(out, CTRL_REKEY_ACK, 0, m->rekey_id, rk->ans_e);
	(void)now;
}

static bool is_known_init(const struct rekey *rk, const struct ctrl_msg *m)
{
	return rk->ans_valid && m->rekey_id == rk->ans_id &&
	       !memcmp(m->ephemeral, rk->ans_peer_e, 32);
}

static void on_init(struct rekey *rk, const struct ctrl_msg *m, uint64_t now,
		    struct rk_actions *out)
{
	if (is_known_init(rk, m)) {
		/* Our ACK was lost: the same answer again, nothing derived. */
		if (!rk->ans_done)
			send_msg(out, CTRL_REKEY_ACK, 0, rk->ans_id, rk->ans_e);
		return;
	}
	/*
	 * An INIT sent before its sender saw our last switch (it lost a
	 * tie, or was delayed) names an older generation: obsolete.
	 */
	if (m->gen != rk->key_id)
		return;
	if (rk->state == RK_INIT_SENT) {
		if (rk->wins_ties)
			return;		/* the peer will answer ours */
		drop_ephemeral(rk);	/* ours loses: answer theirs */
		rk->state = RK_IDLE;
	} else if (rk->state == RK_DONE_SENT) {
		/*
		 * The peer is idle again, so it switched: its DONE reply
		 * was lost.  Finish ours before answering.
		 */
		drop_ephemeral(rk);
		rk->state = RK_IDLE;
		retire_old(rk, now);
	}
	answer(rk, m, now, out);
}

static void on_ack(struct rekey *rk, const struct ctrl_msg *m, uint64_t now,
		   struct rk_actions *out)
{
	struct rk_action *a;

	if (rk->state != RK_INIT_SENT || m->rekey_id != rk->id)
		return;		/* late duplicate */
	a = push(out, RK_ACT_KEY_NEW);
	if (derive(rk, rk->e_priv, m->ephemeral, &a->keys)) {
		out->n--;
		recover(rk, out, REASON_REKEY_FAIL);
		return;
	}
	drop_ephemeral(rk);
	a->phase = rk->send_phase ^ 1;
	a->key_id = rk->key_id + 1;
	swap_to_spare(rk, out);
	/* The spare slot now holds the old keys, kept until B's reply. */
	rk->spare = RK_SPARE_OLD;
	rk->del_at = UINT64_MAX;
	rk->state = RK_DONE_SENT;
	rk->retries = 0;
	rk->retry_at = now + rk->cfg.retry_ms;
	send_msg(out, CTRL_REKEY_DONE, 0, rk->id, NULL);
}

static void answerer_switch(struct rekey *rk, uint64_t now,
			    struct rk_actions *out)
{
	swap_to_spare(rk, out);
	rk->state = RK_IDLE;
	rk->ans_done = true;
	retire_old(rk, now);
	send_msg(out, CTRL_REKEY_DONE, CTRL_F_REPLY, rk->ans_id, NULL);
}

static void on_done(struct rekey *rk, const struct ctrl_msg *m, uint64_t now,
		    struct rk_actions *out)
{
	if (m->flags & CTRL_F_REPLY) {
		if (rk->state == RK_DONE_SENT && m->rekey_id == rk->id) {
			rk->state = RK_IDLE;
			retire_old(rk, now);
		}
		return;
	}
	if (!rk->ans_valid || m->rekey_id != rk->ans_id)
		return;
	if (rk->state == RK_ANSWERED)
		answerer_switch(rk, now, out);
	else if (rk->ans_done)	/* our reply was lost */
		send_msg(out, CTRL_REKEY_DONE, CTRL_F_REPLY, rk->ans_id, NULL);
}

void rk_recv(struct rekey *rk, const struct ctrl_msg *m, uint64_t now,
	     struct rk_actions *out)
{
	switch (m->type) {
	case CTRL_REKEY_INIT:
		if (m->has_id && m->has_ephemeral && m->has_gen)
			on_init(rk, m, now, out);
		break;
	case CTRL_REKEY_ACK:
		if (m->has_id && m->has_ephemeral)
			on_ack(rk, m, now, out);
		break;
	case CTRL_REKEY_DONE:
		if (m->has_id)
			on_done(rk, m, now, out);
		break;
	default:
		break;
	}
}

void rk_peer_phase(struct rekey *rk, uint8_t phase, uint64_t now,
		   struct rk_actions *out)
{
	if (rk->state == RK_ANSWERED && phase != rk->send_phase)
		answerer_switch(rk, now, out);
}

uint64_t rk_deadline(const struct rekey *rk)
{
	uint64_t d = UINT64_MAX;

	if (rk->spare == RK_SPARE_OLD)
		d = rk->del_at;
	if ((rk->state == RK_INIT_SENT || rk->state == RK_DONE_SENT) &&
	    rk->retry_at < d)
		d = rk->retry_at;
	if (rk->state == RK_IDLE && rk->spare == RK_SPARE_EMPTY &&
	    rk->next_at < d)
		d = rk->next_at;
	return d;
}
