// SPDX-License-Identifier: MIT
/*
 * The rekey state machine driven as a pair over a simulated, lossy,
 * reordering pipe, with the kernel's two key slots modelled: every data
 * and control packet is checked to open at the receiver with the key of
 * the phase it was sent in.  Control messages really go through
 * ctrl_seal/ctrl_open with the session's control keys.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sloop/uapi.h>

#include "../../daemon/sloopd/rekey.h"
#include "unit.h"

#define SIM_STEP_MS	5
#define SIM_MAX_PKTS	4096

struct sim_slot {
	bool valid;
	struct sess_data_keys k;
};

struct sim_side {
	struct rekey rk;
	struct sim_slot slot[2];
	uint8_t send_phase;
	struct ctrl_chan ch;
	int recovers;
	enum reason recover_reason;
	int sent_by_type[8];
	int bad_kernel_op;
};

struct sim_pkt {
	int to;
	uint64_t at;
	uint8_t phase;
	uint8_t key[SESS_KEY_MAX];
	bool ctrl;
	uint8_t buf[CTRL_MSG_MAX];
	size_t len;
};

struct sim {
	struct sim_side s[2];
	struct sim_pkt *q;
	int nq;
	uint64_t now;
	unsigned int delay_min, delay_max;
	/* drop the first drop_n control messages of drop_type from drop_from */
	int drop_type, drop_from, drop_n, drop_flags;
	int undecryptable, delivered, ctrl_delivered;
	uint32_t rnd_state;
};

static uint32_t sim_rand(struct sim *sm)
{
	sm->rnd_state = sm->rnd_state * 1103515245u + 12345u;
	return sm->rnd_state >> 8;
}

/* Rekey jitter from the simulation's seed: runs are reproducible. */
static uint32_t sim_uniform(void *ctx, uint32_t upper)
{
	return sim_rand(ctx) % upper;
}

static void sim_enqueue(struct sim *sm, int from, bool ctrl,
			const uint8_t *buf, size_t len)
{
	struct sim_side *s = &sm->s[from];
	struct sim_pkt *p;
	unsigned int span = sm->delay_max - sm->delay_min + 1;

	if (sm->nq >= SIM_MAX_PKTS)
		abort();
	p = &sm->q[sm->nq++];
	memset(p, 0, sizeof(*p));
	p->to = !from;
	p->at = sm->now + sm->delay_min + sim_rand(sm) % span;
	p->phase = s->send_phase;
	/* What the kernel would seal with: the send phase's tx key. */
	if (s->slot[s->send_phase].valid)
		memcpy(p->key, s->slot[s->send_phase].k.tx.key, SESS_KEY_MAX);
	else
		memset(p->key, 0xee, SESS_KEY_MAX);
	p->ctrl = ctrl;
	if (ctrl) {
		memcpy(p->buf, buf, len);
		p->len = len;
	}
}

static bool sim_drop(struct sim *sm, int from, const struct ctrl_msg *m)
{
	if (sm->drop_n <= 0 || from != sm->drop_from ||
	    m->type != sm->drop_type ||
	    (m->flags & CTRL_F_REPLY) != sm->drop_flags)
		return false;
	sm->drop_n--;
	return true;
}

static void sim_apply(struct sim *sm, int who, struct rk_actions *acts)
{
	struct sim_side *s = &sm->s[who];

	for (int i = 0; i < acts->n; i++) {
		struct rk_action *a = &acts->a[i];
		uint8_t buf[CTRL_MSG_MAX];
		size_t len;

		switch (a->type) {
		case RK_ACT_SEND:
			s->sent_by_type[a->msg.type & 7]++;
			if (ctrl_seal(&s->ch, &a->msg, buf, sizeof(buf), &len))
				s->bad_kernel_op++;
			else if (!sim_drop(sm, who, &a->msg))
				sim_enqueue(sm, who, true, buf, len);
			break;
		case RK_ACT_KEY_NEW:
			/* Never overwrite the key we send with. */
			if (a->phase == s->send_phase || a->phase > 1)
				s->bad_kernel_op++;
			s->slot[a->phase & 1].valid = true;
			s->slot[a->phase & 1].k = a->keys;
			break;
		case RK_ACT_KEY_SWAP:
			if (a->phase > 1 || !s->slot[a->phase].valid)
				s->bad_kernel_op++;
			s->send_phase = a->phase & 1;
			break;
		case RK_ACT_KEY_DEL:
			if (a->phase == s->send_phase || a->phase > 1)
				s->bad_kernel_op++;
			s->slot[a->phase & 1].valid = false;
			break;
		case RK_ACT_RECOVER:
			s->recovers++;
			s->recover_reason = a->reason;
			break;
		}
	}
	rk_actions_wipe(acts);
}

static void sim_deliver(struct sim *sm, struct sim_pkt *p)
{
	struct sim_side *r = &sm->s[p->to];
	struct sim_slot *sl = &r->slot[p->phase];
	struct rk_actions acts = { 0 };
	struct ctrl_msg m;

	sm->delivered++;
	if (!sl->valid || memcmp(sl->k.rx.key, p->key, SESS_KEY_MAX)) {
		if (getenv("SIM_DEBUG"))
			fprintf(stderr, "  t=%llu to %d phase %d valid %d ctrl %d "
				"states %d/%d spare %d/%d send %d/%d\n",
				(unsigned long long)sm->now, p->to, p->phase,
				sl->valid, p->ctrl, sm->s[0].rk.state,
				sm->s[1].rk.state, sm->s[0].rk.spare,
				sm->s[1].rk.spare, sm->s[0].send_phase,
				sm->s[1].send_phase);
		sm->undecryptable++;
		return;
	}
	if (!p->ctrl)
		return;
	if (ctrl_open(&r->ch, p->buf, p->len, &m) != REASON_OK) {
		sm->undecryptable++;
		return;
	}
	sm->ctrl_delivered++;
	rk_recv(&r->rk, &m, sm->now, &acts);
	sim_apply(sm, p->to, &acts);
}

static void sim_step(struct sim *sm)
{
	struct rk_actions acts;

	sm->now += SIM_STEP_MS;
	for (int w = 0; w < 2; w++) {
		memset(&acts, 0, sizeof(acts));
		rk_tick(&sm->s[w].rk, sm->now, &acts);
		sim_apply(sm, w, &acts);
		sim_enqueue(sm, w, false, NULL, 0);	/* steady data */
	}
	for (int i = 0; i < sm->nq;) {
		if (sm->q[i].at <= sm->now) {
			struct sim_pkt p = sm->q[i];

			sm->q[i] = sm->q[--sm->nq];
			sim_deliver(sm, &p);
		} else {
			i++;
		}
	}
}

static void sim_run(struct sim *sm, uint64_t ms)
{
	uint64_t end = sm->now + ms;

	while (sm->now < end)
		sim_step(sm);
}

static void sim_init_seed(struct sim *sm, uint64_t interval_ms,
			  unsigned int grace, uint32_t seed)
{
	struct hs_result hr = { 0 };
	struct sess_keys k[2];
	struct rk_config cfg = {
		.interval_ms = interval_ms,
		.jitter_pct = 30,
		.retry_ms = 200,
		.grace_ms = grace,
		.max_retries = 4,
		.rnd = sim_uniform,
		.rnd_ctx = sm,
	};

	memset(sm, 0, sizeof(*sm));
	sm->q = calloc(SIM_MAX_PKTS, sizeof(*sm->q));
	sm->delay_min = 10;
	sm->delay_max = 60;
	sm->rnd_state = seed;
	randombytes_buf(hr.ck, sizeof(hr.ck));
	randombytes_buf(hr.h, sizeof(hr.h));
	hr.cipher = SLOOP_CIPHER_AES256_GCM;
	for (int w = 0; w < 2; w++) {
		hr.initiator = w == 0;
		sess_keys_derive(&k[w], &hr);
		sm->s[w].slot[0].valid = true;
		sm->s[w].slot[0].k = k[w].data;
		ctrl_chan_init(&sm->s[w].ch, k[w].ctrl_tx, k[w].ctrl_rx);
		/* side 0 holds the lower static key */
		rk_init(&sm->s[w].rk, &cfg, k[w].chain, w == 0, w == 0,
			k[w].keylen, 0);
	}
	sess_keys_wipe(&k[0]);
	sess_keys_wipe(&k[1]);
}

static void sim_init(struct sim *sm, uint64_t interval_ms, unsigned int grace)
{
	sim_init_seed(sm, interval_ms, grace, 42);
}

static void sim_free(struct sim *sm)
{
	free(sm->q);
	rk_wipe(&sm->s[0].rk);
	rk_wipe(&sm->s[1].rk);
}

/* Both idle, same phase, each one's send key is the other's receive key. */
static bool sim_converged(const struct sim *sm)
{
	const struct sim_side *a = &sm->s[0], *b = &sm->s[1];
	const struct sim_slot *sa = &a->slot[a->send_phase];
	const struct sim_slot *sb = &b->slot[b->send_phase];

	return a->rk.state == RK_IDLE && b->rk.state == RK_IDLE &&
	       a->send_phase == b->send_phase && sa->valid && sb->valid &&
	       !memcmp(sa->k.tx.key, sb->k.rx.key, SESS_KEY_MAX) &&
	       !memcmp(sa->k.rx.key, sb->k.tx.key, SESS_KEY_MAX) &&
	       !memcmp(sa->k.tx.salt, sb->k.rx.salt, SESS_SALT_LEN) &&
	       memcmp(sa->k.tx.key, sa->k.rx.key, SESS_KEY_MAX) &&
	       a->rk.key_id == b->rk.key_id;
}

TEST(rk_initial_keys_pair_up)
{
	struct sim sm;

	sim_init(&sm, 0, 100);
	CHECK(sim_converged(&sm));
	sim_free(&sm);
}

TEST(rk_periodic_rekeys_lose_nothing)
{
	struct sim sm;
	uint8_t first[SESS_KEY_MAX];

	sim_init(&sm, 1000, 100);
	memcpy(first, sm.s[0].slot[0].k.tx.key, SESS_KEY_MAX);
	sim_run(&sm, 20000);
	sim_run(&sm, 0);
	CHECK_EQ_INT(sm.undecryptable, 0);
	CHECK_EQ_INT(sm.s[0].bad_kernel_op + sm.s[1].bad_kernel_op, 0);
	CHECK_EQ_INT(sm.s[0].recovers + sm.s[1].recovers, 0);
	/* 1 s +/- 30 % each, from both sides: well over 10 in 20 s. */
	CHECK(sm.s[0].rk.n_done >= 10);
	CHECK(sm.s[0].rk.n_done == sm.s[1].rk.n_done ||
	      sm.s[0].rk.n_done == sm.s[1].rk.n_done + 1 ||
	      sm.s[1].rk.n_done == sm.s[0].rk.n_done + 1);
	CHECK(sm.delivered > 7000);
	/* Let any rekey in flight finish, then compare. */
	for (int i = 0; i < 400 && !sim_converged(&sm); i++)
		sim_step(&sm);
	CHECK(sim_converged(&sm));
	CHECK(memcmp(first, sm.s[0].slot[sm.s[0].send_phase].k.tx.key,
		     SESS_KEY_MAX));
	sim_free(&sm);
}

/* One forced rekey from side `who` with one message type lost `n` times. */
static int lossy_rekey(int who, int drop_from, int type, int flags, int n,
		       struct sim *sm)
{
	struct rk_actions acts = { 0 };

	sim_init(sm, 0, 100);
	sm->drop_type = type;
	sm->drop_from = drop_from;
	sm->drop_flags = flags;
	sm->drop_n = n;
	sim_run(sm, 100);
	rk_force(&sm->s[who].rk, sm->now, &acts);
	sim_apply(sm, who, &acts);
	sim_run(sm, 5000);
	return sm->drop_n;
}

TEST(rk_lose_each_message_in_turn)
{
	static const struct { int from_a, type, flags; } cases[] = {
		{ 1, CTRL_REKEY_INIT, 0 },
		{ 0, CTRL_REKEY_ACK, 0 },
		{ 1, CTRL_REKEY_DONE, 0 },
		{ 0, CTRL_REKEY_DONE, CTRL_F_REPLY },
	};

	for (int who = 0; who < 2; who++) {
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			for (int n = 1; n <= 3; n++) {
				struct sim sm;
				/* from_a: sent by the starter (1) or the other */
				int from = cases[c].from_a ? who : !who;

				CHECK_EQ_INT(lossy_rekey(who, from,
							 cases[c].type,
							 cases[c].flags, n,
							 &sm), 0);
				if (sm.undecryptable || !sim_converged(&sm) ||
				    sm.s[0].recovers || sm.s[1].recovers ||
				    sm.s[who].rk.n_done != 1 ||
				    sm.s[!who].rk.n_done != 1 ||
				    sm.s[0].bad_kernel_op ||
				    sm.s[1].bad_kernel_op)
					fprintf(stderr,
						"  starter %d, lost %s%s x%d\n",
						who, ctrl_type_name(cases[c].type),
						cases[c].flags ? " reply" : "", n);
				CHECK_EQ_INT(sm.undecryptable, 0);
				CHECK(sim_converged(&sm));
				CHECK_EQ_INT(sm.s[0].recovers + sm.s[1].recovers, 0);
				CHECK_EQ_INT(sm.s[who].rk.n_done, 1);
				CHECK_EQ_INT(sm.s[!who].rk.n_done, 1);
				CHECK_EQ_INT(sm.s[0].bad_kernel_op +
					     sm.s[1].bad_kernel_op, 0);
				/* Lost INIT/DONE are resent by the starter. */
				CHECK(sm.s[who].rk.n_retries >= 1);
				/* The old slot was deleted after the grace. */
				CHECK(!sm.s[0].slot[!sm.s[0].send_phase].valid);
				CHECK(!sm.s[1].slot[!sm.s[1].send_phase].valid);
				sim_free(&sm);
			}
		}
	}
}

TEST(rk_too_many_losses_recover)
{
	struct sim sm;

	/* INIT lost 5 times: the first send and all 4 retries. */
	CHECK_EQ_INT(lossy_rekey(0, 0, CTRL_REKEY_INIT, 0, 5, &sm), 0);
	CHECK_EQ_INT(sm.s[0].recovers, 1);
	CHECK_EQ_INT(sm.s[0].recover_reason, REASON_REKEY_TIMEOUT);
	CHECK_EQ_INT(sm.s[0].sent_by_type[CTRL_REKEY_INIT], 5);
	CHECK_EQ_INT(sm.undecryptable, 0);
	sim_free(&sm);

	/* Four losses are still survived. */
	CHECK_EQ_INT(lossy_rekey(0, 0, CTRL_REKEY_INIT, 0, 4, &sm), 0);
	CHECK_EQ_INT(sm.s[0].recovers, 0);
	CHECK(sim_converged(&sm));
	sim_free(&sm);

	/* ACK lost for good (B answers every INIT, all answers lost). */
	CHECK_EQ_INT(lossy_rekey(0, 1, CTRL_REKEY_ACK, 0, 100, &sm) > 0, 1);
	CHECK_EQ_INT(sm.s[0].recovers, 1);
	CHECK_EQ_INT(sm.undecryptable, 0);
	sim_free(&sm);
}

TEST(rk_simultaneous_start_resolves)
{
	struct sim sm;
	struct rk_actions acts = { 0 };

	sim_init(&sm, 0, 100);
	sim_run(&sm, 50);
	rk_force(&sm.s[0].rk, sm.now, &acts);
	sim_apply(&sm, 0, &acts);
	memset(&acts, 0, sizeof(acts));
	rk_force(&sm.s[1].rk, sm.now, &acts);
	sim_apply(&sm, 1, &acts);
	CHECK_EQ_INT(sm.s[0].rk.state, RK_INIT_SENT);
	CHECK_EQ_INT(sm.s[1].rk.state, RK_INIT_SENT);
	sim_run(&sm, 3000);
	CHECK_EQ_INT(sm.undecryptable, 0);
	CHECK(sim_converged(&sm));
	/* Exactly one rekey happened: side 0 (lower key) started it. */
	CHECK_EQ_INT(sm.s[0].rk.n_done, 1);
	CHECK_EQ_INT(sm.s[1].rk.n_done, 1);
	CHECK_EQ_INT(sm.s[1].sent_by_type[CTRL_REKEY_ACK], 1);
	CHECK_EQ_INT(sm.s[0].sent_by_type[CTRL_REKEY_ACK], 0);
	CHECK_EQ_INT(sm.s[0].rk.key_id, 1);
	sim_free(&sm);
}

TEST(rk_fast_rekeys_with_loss_and_reorder)
{
	struct sim sm;

	/*
	 * Every ~300 ms from both sides (so starts often collide), heavy
	 * reordering, drops sprinkled in; several seeds.
	 */
	for (uint32_t seed = 1; seed <= 12; seed++) {
	sim_init_seed(&sm, 300, 100, seed);
	for (int round = 0; round < 8; round++) {
		sm.drop_type = CTRL_REKEY_INIT + round % 3;
		sm.drop_from = round % 2;
		sm.drop_flags = 0;
		sm.drop_n = 1;
		sim_run(&sm, 1500);
	}
	for (int i = 0; i < 400 && !sim_converged(&sm); i++)
		sim_step(&sm);
	CHECK_EQ_INT(sm.undecryptable, 0);
	CHECK_EQ_INT(sm.s[0].recovers + sm.s[1].recovers, 0);
	CHECK_EQ_INT(sm.s[0].bad_kernel_op + sm.s[1].bad_kernel_op, 0);
	CHECK(sim_converged(&sm));
	CHECK(sm.s[0].rk.n_done >= 15);
	sim_free(&sm);
	}
}

/* The model itself must catch a bad schedule: a grace shorter than the
 * pipe's delay loses stragglers. */
TEST(rk_model_detects_short_grace)
{
	struct sim sm;

	sim_init(&sm, 300, 1);
	sm.delay_min = 10;
	sm.delay_max = 200;
	sim_run(&sm, 5000);
	CHECK(sm.undecryptable > 0);
	sim_free(&sm);
}

TEST(rk_schedule_uses_jitter)
{
	struct rekey rk;
	struct rk_config cfg = { .interval_ms = 120000, .jitter_pct = 30 };
	uint8_t chain[SESS_CHAIN_LEN] = { 0 };
	uint64_t lo = UINT64_MAX, hi = 0;

	for (int i = 0; i < 200; i++) {
		rk_init(&rk, &cfg, chain, true, true, 32, 1000);
		if (rk.next_at < lo)
			lo = rk.next_at;
		if (rk.next_at > hi)
			hi = rk.next_at;
		CHECK_EQ_INT(rk_deadline(&rk), rk.next_at);
	}
	CHECK(lo >= 1000 + 84000 && hi <= 1000 + 156000);
	CHECK(hi - lo > 30000);
	cfg.interval_ms = 0;
	rk_init(&rk, &cfg, chain, true, true, 32, 1000);
	CHECK(rk_deadline(&rk) == UINT64_MAX);
	rk_wipe(&rk);
}

/*
 * DONE lost for good, but the kernel reports an authenticated packet in
 * the new phase: the answering side switches on that proof alone.
 */
TEST(rk_answerer_switches_on_new_phase_packet)
{
	struct sim sm;
	struct rk_actions acts = { 0 };

	sim_init(&sm, 0, 100);
	sm.drop_type = CTRL_REKEY_DONE;
	sm.drop_from = 0;
	sm.drop_flags = 0;
	sm.drop_n = 100;
	rk_force(&sm.s[0].rk, sm.now, &acts);
	sim_apply(&sm, 0, &acts);
	sim_run(&sm, 150);
	CHECK_EQ_INT(sm.s[1].rk.state, RK_ANSWERED);
	CHECK_EQ_INT(sm.s[0].send_phase, 1);
	CHECK_EQ_INT(sm.s[1].send_phase, 0);
	/* The old phase is no proof. */
	memset(&acts, 0, sizeof(acts));
	rk_peer_phase(&sm.s[1].rk, 0, sm.now, &acts);
	CHECK_EQ_INT(acts.n, 0);
	rk_peer_phase(&sm.s[1].rk, 1, sm.now, &acts);
	sim_apply(&sm, 1, &acts);
	CHECK_EQ_INT(sm.s[1].send_phase, 1);
	sim_run(&sm, 1000);
	CHECK_EQ_INT(sm.undecryptable, 0);
	CHECK(sim_converged(&sm));
	CHECK_EQ_INT(sm.s[0].recovers + sm.s[1].recovers, 0);
	sim_free(&sm);
}
