// SPDX-License-Identifier: MIT
#include <sodium.h>

#include "backoff.h"

void backoff_init(struct backoff *b)
{
	b->failures = 0;
	b->step_ms = BACKOFF_STEP_MS;
	b->cap_ms = BACKOFF_CAP_MS;
}

unsigned int backoff_delay_ms(const struct backoff *b, unsigned int n)
{
	uint64_t d;

	if (n == 0)
		return 0;
	/* 64-bit so that a huge failure count cannot wrap below the cap. */
	d = (uint64_t)b->step_ms * n;
	return d > b->cap_ms ? b->cap_ms : (unsigned int)d;
}

unsigned int backoff_fail(struct backoff *b)
{
	/* Saturate: a link that fails for years must keep the cap. */
	if (b->failures < UINT32_MAX)
		b->failures++;
	return backoff_delay_ms(b, b->failures);
}

void backoff_reset(struct backoff *b)
{
	b->failures = 0;
}

uint32_t backoff_rand_sodium(void *ctx, uint32_t upper_bound)
{
	(void)ctx;
	return randombytes_uniform(upper_bound);
}

uint64_t backoff_jitter_ms(uint64_t interval_ms, unsigned int jitter_pct,
			   backoff_rand_fn rnd, void *ctx)
{
	uint64_t d, r, v;

	if (jitter_pct > 100)
		jitter_pct = 100;
	if (!rnd)
		rnd = backoff_rand_sodium;
	d = interval_ms / 100 * jitter_pct + interval_ms % 100 * jitter_pct / 100;
	/* The random source spans 32 bits; wider spreads are capped there. */
	if (d > (UINT32_MAX - 1) / 2)
		d = (UINT32_MAX - 1) / 2;
	if (d == 0)
		return interval_ms;
	r = rnd(ctx, (uint32_t)(2 * d + 1));
	if (r > 2 * d)	/* a broken source must not break the bounds */
		r = 2 * d;
	v = interval_ms - d + r;
	return v ? v : 1;
}
