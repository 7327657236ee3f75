// SPDX-License-Identifier: GPL-2.0
/*
 * sloop: the anti-replay window (the idea of RFC 6479).
 *
 * The bitmap is a ring of words indexed by counter modulo its size, so
 * that moving the window forward clears whole words instead of shifting
 * bits, and a jump of any size costs at most one pass over the ring. The
 * word that holds the newest counter is only partly inside the window,
 * which is why the window guaranteed to a sender is one word less than
 * the bitmap.
 */
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/minmax.h>
#include <linux/slab.h>

#include "crypto.h"

#define SLOOP_REPLAY_WORDS	(SLOOP_REPLAY_BITS / BITS_PER_LONG)
/* Counters top - 1 down to top - SLOOP_REPLAY_WINDOW are tracked. */
#define SLOOP_REPLAY_WINDOW	(SLOOP_REPLAY_BITS - BITS_PER_LONG)
/* Keeps counter + window arithmetic far from overflow. */
#define SLOOP_REPLAY_REJECT	(U64_MAX - SLOOP_REPLAY_BITS)

static_assert(SLOOP_REPLAY_BITS % BITS_PER_LONG == 0);
static_assert((SLOOP_REPLAY_BITS & (SLOOP_REPLAY_BITS - 1)) == 0);

void sloop_replay_init(struct sloop_replay *r)
{
	spin_lock_init(&r->lock);
	r->top = 0;
	bitmap_zero(r->bitmap, SLOOP_REPLAY_BITS);
}

/* Make @counter the newest: words it skips over may hold stale bits. */
static void sloop_replay_advance(struct sloop_replay *r, u64 counter)
{
	u64 from = r->top ? (r->top - 1) / BITS_PER_LONG + 1 : 0;
	u64 to = counter / BITS_PER_LONG;
	u64 i, n;

	if (to >= from) {
		n = min_t(u64, to - from + 1, SLOOP_REPLAY_WORDS);
		for (i = 0; i < n; i++)
			r->bitmap[(from + i) % SLOOP_REPLAY_WORDS] = 0;
	}
	r->top = counter + 1;
}

bool sloop_replay_accept(struct sloop_replay *r, u64 counter)
{
	bool seen;

	if (counter >= SLOOP_REPLAY_REJECT)
		return false;

	spin_lock_bh(&r->lock);
	if (counter >= r->top) {
		sloop_replay_advance(r, counter);
	} else if (counter + SLOOP_REPLAY_WINDOW < r->top) {
		spin_unlock_bh(&r->lock);
		return false;
	}
	seen = __test_and_set_bit(counter % SLOOP_REPLAY_BITS, r->bitmap);
	spin_unlock_bh(&r->lock);
	return !seen;
}

/* Self test: fixed sequences, then every slot of a window after a jump. */

struct sloop_replay_step {
	u64 counter;
	bool accept;
};

#define W SLOOP_REPLAY_WINDOW
#define B SLOOP_REPLAY_BITS
#define R SLOOP_REPLAY_REJECT

static const struct sloop_replay_step sloop_replay_steps[] = {
	{ 0, true },		/* counter 0 is a valid first packet */
	{ 0, false },		/* duplicate */
	{ 1, true },		/* in order */
	{ 2, true },
	{ 1, false },
	{ 5, true },		/* gap */
	{ 3, true },		/* out of order inside the window */
	{ 4, true },
	{ 4, false },
	{ 5, false },
	{ W + 5, true },	/* 6 .. W + 5 now in the window, 5 is not */
	{ 5, false },		/* too old (also seen) */
	{ 6, true },		/* oldest slot still in the window */
	{ 6, false },
	{ W + 4, true },
	{ W + 6, true },
	{ W + 7, true },
	{ 7, false },		/* never seen, but fell out of the window */
	{ 8, true },
	{ B * 3, true },	/* jump of several whole rings */
	{ B * 3 - W, false },	/* just too old */
	{ B * 3 - W + 1, true },
	{ B * 3 - 1, true },
	{ B * 4, true },	/* same ring slot as B * 3 */
	{ B * 3, false },
	{ B * 4, false },
	{ B * 4 - 1, true },	/* the slot B * 3 - 1 had is clean again */
	{ B * 5 + 63, true },	/* jump that ends mid-word */
	{ B * 5 + 1, true },
	{ B * 5 + 1, false },
	{ R, false },		/* at the reject limit */
	{ U64_MAX, false },
	{ R - 1, true },	/* the last counter a key may use */
	{ R - 1, false },
	{ R - 2, true },
	{ B * 5 + 64, false },	/* far behind now */
	{ R - W - 1, false },
	{ R - W, true },	/* the oldest counter still in the window */
};

#undef W
#undef B
#undef R

static bool sloop_replay_check(struct sloop_replay *r, u64 counter,
			       bool want, unsigned int step)
{
	if (sloop_replay_accept(r, counter) == want)
		return true;
	pr_err("sloop: replay selftest step %u: counter %llu %s\n", step,
	       counter, want ? "refused" : "accepted");
	return false;
}

/* After a jump to @top, every counter of the window is new exactly once. */
static bool sloop_replay_sweep(struct sloop_replay *r, u64 top)
{
	u64 c;

	if (!sloop_replay_check(r, top, true, 1000))
		return false;
	for (c = top - 1; c > top - SLOOP_REPLAY_WINDOW; c--)
		if (!sloop_replay_check(r, c, true, 1001))
			return false;
	if (!sloop_replay_check(r, top - SLOOP_REPLAY_WINDOW, false, 1002))
		return false;
	for (c = top; c > top - SLOOP_REPLAY_WINDOW; c--)
		if (!sloop_replay_check(r, c, false, 1003))
			return false;
	return true;
}

bool sloop_replay_selftest(void)
{
	struct sloop_replay *r;
	bool ok = true;
	unsigned int i;
	u64 c;

	r = kmalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return false;

	sloop_replay_init(r);
	for (i = 0; ok && i < ARRAY_SIZE(sloop_replay_steps); i++)
		ok = sloop_replay_check(r, sloop_replay_steps[i].counter,
					sloop_replay_steps[i].accept, i);

	/* A long run in order, each packet replayed right after. */
	sloop_replay_init(r);
	for (c = 0; ok && c < 3 * SLOOP_REPLAY_BITS; c++)
		ok = sloop_replay_check(r, c, true, 2000) &&
		     sloop_replay_check(r, c, false, 2001);

	/*
	 * The whole window is usable after jumps just past the previous
	 * window, which leave the ring partly cleared and partly stale.
	 */
	sloop_replay_init(r);
	c = 1000000;
	ok = ok && sloop_replay_sweep(r, c);
	c += SLOOP_REPLAY_WINDOW + 17;
	ok = ok && sloop_replay_sweep(r, c);
	c += SLOOP_REPLAY_WINDOW + BITS_PER_LONG - 1;
	ok = ok && sloop_replay_sweep(r, c);

	kfree(r);
	return ok;
}
