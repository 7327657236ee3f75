/* SPDX-License-Identifier: MIT */
/*
 * P3 session recovery schedule and rekey jitter: pure functions so that
 * the daemon's timers can be unit tested without waiting.
 *
 * Recovery (P3 2.1.7): the first retry waits 5 s, each further
 * consecutive failure adds 5 s, up to 60 s; after that every 60 s.  A
 * successful session resets the schedule.
 */
#ifndef SLOOPD_BACKOFF_H
#define SLOOPD_BACKOFF_H

#include <stdint.h>

#define BACKOFF_STEP_MS	5000u
#define BACKOFF_CAP_MS	60000u

struct backoff {
	unsigned int failures;	/* consecutive failures so far */
	unsigned int step_ms;	/* added per failure */
	unsigned int cap_ms;	/* the wait never exceeds this */
};

/* The P3 schedule: 5 s step, 60 s cap. */
void backoff_init(struct backoff *b);
/* Wait before retry number n (1 = first retry after the first failure). */
unsigned int backoff_delay_ms(const struct backoff *b, unsigned int n);
/* Records a failure and returns how long to wait before the next try. */
unsigned int backoff_fail(struct backoff *b);
/* A session came up: the next failure starts again at one step. */
void backoff_reset(struct backoff *b);

/*
 * Returns a value uniformly spread over upper_bound values [0, upper_bound),
 * like libsodium's randombytes_uniform(); tests inject their own.
 */
typedef uint32_t (*backoff_rand_fn)(void *ctx, uint32_t upper_bound);

/* randombytes_uniform() wrapped as a backoff_rand_fn. */
uint32_t backoff_rand_sodium(void *ctx, uint32_t upper_bound);

/*
 * interval_ms +/- jitter_pct percent, every millisecond in
 * [interval - d, interval + d] equally likely, d = interval * pct / 100.
 * pct is clamped to [0, 100]; a NULL rnd means libsodium.  The result is
 * never 0 for a non-zero interval.
 */
uint64_t backoff_jitter_ms(uint64_t interval_ms, unsigned int jitter_pct,
			   backoff_rand_fn rnd, void *ctx);

#endif
