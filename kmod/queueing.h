/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SLOOP_QUEUEING_H
#define _SLOOP_QUEUEING_H

#include <linux/bottom_half.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>

#include "device.h"

struct sloop_peer;
struct sloop_keyslot;

enum sloop_pkt_state {
	SLOOP_PKT_PENDING,	/* waiting for a crypto worker */
	SLOOP_PKT_DONE,		/* crypto done: the serial stage may take it */
	SLOOP_PKT_DEAD,		/* dropped: the serial stage frees it */
};

/*
 * Per packet, for its whole trip through the queues. The packet holds a
 * reference on its peer and on its key slot.
 */
struct sloop_skb_cb {
	struct sloop_peer *peer;
	struct sloop_keyslot *ks;
	u64 counter;
	atomic_t state;
	u32 len;		/* plaintext length, for the counters */
	u16 drop_reason;	/* SLOOP_STATS_A_DROP_*, when DEAD */
	u8 is_ctrl;
};

#define SLOOP_CB(skb) ((struct sloop_skb_cb *)(skb)->cb)

/* @rx: the decrypt queue, whose serial stage is the peer's NAPI. */
int sloop_queue_init(struct sloop_device *sl, struct sloop_crypt_queue *q,
		     work_func_t fn, bool rx);
void sloop_queue_uninit(struct sloop_crypt_queue *q);
/*
 * Puts @skb on its peer's ordered queue for @q's direction and on the
 * device's crypto ring. On failure the packet is dropped (counted as queue
 * full) and its references released. Call with BHs disabled or from
 * process context.
 */
void sloop_queue_crypt(struct sloop_device *sl, struct sloop_crypt_queue *q,
		       struct sk_buff *skb);
/*
 * A crypto worker finished @skb: hand it to the peer's serial stage. For
 * receive that schedules the peer's NAPI and leaves NET_RX pending: a
 * worker in process context runs it (sloop_queue_run_softirqs) at least
 * before it sleeps or returns.
 */
void sloop_queue_done(struct sloop_crypt_queue *q, struct sk_buff *skb,
		      enum sloop_pkt_state state);
/* The head of @ordered if its crypto is over, else NULL. */
struct sk_buff *sloop_queue_next(struct sk_buff_head *ordered);
/*
 * The transmit work hands packets to the stack with BHs off, turning them
 * back on every SLOOP_SERIAL_BATCH packets (a NAPI budget): what was
 * handed on meanwhile is then processed in one softirq run instead of one
 * run per packet. The decrypt workers likewise let the peers' NAPI polls
 * run once per batch, so that their GRO merges the batch.
 */
#define SLOOP_SERIAL_BATCH	64

static inline void sloop_queue_batch_tick(unsigned int *n)
{
	if (++*n % SLOOP_SERIAL_BATCH)
		return;
	local_bh_enable();
	local_bh_disable();
}

/* Runs the softirqs pending on this CPU, such as the NAPI polls. */
static inline void sloop_queue_run_softirqs(void)
{
	local_bh_disable();
	local_bh_enable();
}

/* Releases the packet's references and frees it. */
void sloop_skb_free(struct sk_buff *skb);
/* Drops the references of a packet handed on, without freeing it. */
void sloop_skb_release_refs(struct sk_buff *skb);

#endif /* _SLOOP_QUEUEING_H */
