// SPDX-License-Identifier: MIT
/* P3 session-recovery schedule and rekey jitter. */
#include <stdlib.h>

#include "unit.h"
#include "../../daemon/sloopd/backoff.h"

TEST(backoff_schedule)
{
	static const unsigned int want[] = {
		5000, 10000, 15000, 20000, 25000, 30000, 35000, 40000,
		45000, 50000, 55000, 60000, 60000, 60000, 60000,
	};
	struct backoff b;

	backoff_init(&b);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_EQ_INT(backoff_fail(&b), want[i]);
	CHECK_EQ_INT(b.failures, 15);

	/* success starts the schedule again */
	backoff_reset(&b);
	CHECK_EQ_INT(backoff_fail(&b), 5000);
	CHECK_EQ_INT(backoff_fail(&b), 10000);

	CHECK_EQ_INT(backoff_delay_ms(&b, 0), 0);
	CHECK_EQ_INT(backoff_delay_ms(&b, 12), 60000);
	CHECK_EQ_INT(backoff_delay_ms(&b, 0xffffffffu), 60000);

	/* a failure count at the top saturates instead of wrapping */
	b.failures = 0xffffffffu;
	CHECK_EQ_INT(backoff_fail(&b), 60000);
	CHECK_EQ_INT(b.failures, 0xffffffffu);

	/* holdoff/holdoff-max map onto step and cap */
	b.step_ms = 2000;
	b.cap_ms = 7000;
	CHECK_EQ_INT(backoff_delay_ms(&b, 1), 2000);
	CHECK_EQ_INT(backoff_delay_ms(&b, 3), 6000);
	CHECK_EQ_INT(backoff_delay_ms(&b, 4), 7000);
}

struct fake {
	uint32_t value;
	uint32_t last_bound;
	int calls;
};

static uint32_t fake_rand(void *ctx, uint32_t bound)
{
	struct fake *f = ctx;

	f->calls++;
	f->last_bound = bound;
	return f->value == 0xffffffffu ? bound - 1 : f->value;
}

TEST(backoff_jitter_bounds)
{
	struct fake f = { 0, 0, 0 };

	/* 120 s +/- 30 %: [84 s, 156 s], 72001 possible values */
	CHECK_EQ_INT(backoff_jitter_ms(120000, 30, fake_rand, &f), 84000);
	CHECK_EQ_INT(f.last_bound, 72001);
	f.value = 0xffffffffu;
	CHECK_EQ_INT(backoff_jitter_ms(120000, 30, fake_rand, &f), 156000);
	f.value = 36000;
	CHECK_EQ_INT(backoff_jitter_ms(120000, 30, fake_rand, &f), 120000);

	/* no jitter: no random number drawn */
	f.calls = 0;
	CHECK_EQ_INT(backoff_jitter_ms(120000, 0, fake_rand, &f), 120000);
	CHECK_EQ_INT(f.calls, 0);

	/* percentages above 100 are clamped; the result never reaches 0 */
	f.value = 0;
	CHECK_EQ_INT(backoff_jitter_ms(2000, 250, fake_rand, &f), 1);
	f.value = 0xffffffffu;
	CHECK_EQ_INT(backoff_jitter_ms(2000, 250, fake_rand, &f), 4000);

	/* a source that breaks its contract cannot break the bounds */
	f.value = 1000000;
	CHECK_EQ_INT(backoff_jitter_ms(1000, 10, fake_rand, &f), 1100);

	/* no overflow for odd sizes: 1999 ms * 30 % = 599 ms */
	f.value = 0;
	CHECK_EQ_INT(backoff_jitter_ms(1999, 30, fake_rand, &f), 1400);
}

TEST(backoff_jitter_sodium)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	int below = 0, above = 0;

	for (int i = 0; i < 20000; i++) {
		uint64_t v = backoff_jitter_ms(120000, 30, NULL, NULL);

		CHECK(v >= 84000 && v <= 156000);
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
		below += v < 120000;
		above += v > 120000;
	}
	/* spread over the whole range, both sides about equally */
	CHECK(lo < 86000 && hi > 154000);
	CHECK(below > 9000 && above > 9000);
}
