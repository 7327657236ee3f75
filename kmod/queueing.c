// SPDX-License-Identifier: GPL-2.0
/*
 * sloop: parallel crypto with per-peer ordering.
 *
 * Every packet goes on two queues: the peer's ordered queue and a
 * device-wide ring drained by one worker per CPU. The workers seal or open
 * packets in any order and mark them done; the peer's serial stage then
 * takes packets from the head of its ordered queue while they are done, so
 * that packets leave (or are delivered) in the order they came. The serial
 * stage of transmit is a work item, that of receive the peer's NAPI
 * context: it runs on one CPU at a time, wherever it was scheduled, and
 * its GRO sees the whole stream, in order.
 */
#include <linux/cpumask.h>
#include <linux/percpu.h>

#include "crypto.h"
#include "peer.h"
#include "queueing.h"

static void sloop_queue_free_workers(struct sloop_crypt_queue *q)
{
	int cpu;

	for_each_possible_cpu(cpu)
		sloop_crypto_buf_free(per_cpu_ptr(q->workers, cpu)->buf);
	free_percpu(q->workers);
	q->workers = NULL;
}

int sloop_queue_init(struct sloop_device *sl, struct sloop_crypt_queue *q,
		     work_func_t fn, bool rx)
{
	int cpu, ret;

	q->rx = rx;
	ret = ptr_ring_init(&q->ring, SLOOP_RING_SIZE, GFP_KERNEL);
	if (ret)
		return ret;
	q->workers = alloc_percpu(struct sloop_crypt_worker);
	if (!q->workers)
		goto err_ring;
	for_each_possible_cpu(cpu) {
		struct sloop_crypt_worker *w = per_cpu_ptr(q->workers, cpu);

		INIT_WORK(&w->work, fn);
		w->sl = sl;
		w->buf = sloop_crypto_buf_new();
		if (!w->buf)
			goto err_workers;
	}
	atomic_set(&q->last_cpu, -1);
	return 0;

err_workers:
	sloop_queue_free_workers(q);
err_ring:
	ptr_ring_cleanup(&q->ring, NULL);
	return -ENOMEM;
}

static void sloop_queue_purge_one(void *ptr)
{
	sloop_skb_free(ptr);
}

/* Only once the workers are flushed and nothing can enqueue. */
void sloop_queue_uninit(struct sloop_crypt_queue *q)
{
	ptr_ring_cleanup(&q->ring, sloop_queue_purge_one);
	sloop_queue_free_workers(q);
}

static int sloop_queue_next_cpu(struct sloop_crypt_queue *q)
{
	int last = atomic_read(&q->last_cpu), cpu;

	cpu = cpumask_next(last, cpu_online_mask);
	if (cpu >= nr_cpu_ids)
		cpu = cpumask_first(cpu_online_mask);
	atomic_set(&q->last_cpu, cpu);
	return cpu;
}

void sloop_skb_release_refs(struct sk_buff *skb)
{
	struct sloop_skb_cb *cb = SLOOP_CB(skb);

	if (cb->ks)
		sloop_crypto_keyslot_put(cb->ks);
	cb->ks = NULL;
	if (cb->peer)
		sloop_peer_put(cb->peer);
	cb->peer = NULL;
}

void sloop_skb_free(struct sk_buff *skb)
{
	sloop_skb_release_refs(skb);
	kfree_skb(skb);
}

void sloop_queue_crypt(struct sloop_device *sl, struct sloop_crypt_queue *q,
		       struct sk_buff *skb)
{
	struct sloop_skb_cb *cb = SLOOP_CB(skb);
	struct sk_buff_head *ordered = q->rx ? &cb->peer->rx_queue :
					       &cb->peer->tx_queue;
	unsigned long flags;
	int cpu;

	atomic_set(&cb->state, SLOOP_PKT_PENDING);
	spin_lock_irqsave(&ordered->lock, flags);
	if (skb_queue_len(ordered) >= SLOOP_PEER_QUEUE_LEN) {
		spin_unlock_irqrestore(&ordered->lock, flags);
		sloop_stat_add(cb->peer->stats, SLOOP_STATS_A_DROP_QUEUE_FULL, 1);
		sloop_stat_add(sl->stats, SLOOP_STATS_A_DROP_QUEUE_FULL, 1);
		sloop_skb_free(skb);
		return;
	}
	__skb_queue_tail(ordered, skb);
	spin_unlock_irqrestore(&ordered->lock, flags);

	if (unlikely(ptr_ring_produce_bh(&q->ring, skb))) {
		/* It is on the ordered queue: let the serial stage free it. */
		cb->drop_reason = SLOOP_STATS_A_DROP_QUEUE_FULL;
		sloop_queue_done(q, skb, SLOOP_PKT_DEAD);
		return;
	}
	cpu = sloop_queue_next_cpu(q);
	queue_work_on(cpu, sl->wq, &per_cpu_ptr(q->workers, cpu)->work);
}

/*
 * A peer's transmit work runs on one CPU, picked by its id, while that CPU
 * is online. What it hands to the underlay then lands on one backlog (of
 * a veth, say), in order; two runs on two CPUs could each leave part of
 * the stream on their own CPU, to be received in parallel, out of order.
 */
static int sloop_queue_serial_cpu(struct sloop_peer *peer)
{
	int cpu = READ_ONCE(peer->serial_cpu);

	if (likely(cpu >= 0 && cpu_online(cpu)))
		return cpu;
	cpu = cpumask_nth(peer->id % num_online_cpus(), cpu_online_mask);
	if (cpu >= nr_cpu_ids)
		cpu = cpumask_first(cpu_online_mask);
	WRITE_ONCE(peer->serial_cpu, cpu);
	return cpu;
}

void sloop_queue_done(struct sloop_crypt_queue *q, struct sk_buff *skb,
		      enum sloop_pkt_state state)
{
	struct sloop_peer *peer = sloop_peer_get(SLOOP_CB(skb)->peer);

	/*
	 * Once the state is set the serial stage may free the packet and
	 * drop its peer reference: hold our own until the work is queued.
	 */
	atomic_set_release(&SLOOP_CB(skb)->state, state);
	if (q->rx)
		napi_schedule(&peer->napi);
	else
		queue_work_on(sloop_queue_serial_cpu(peer), peer->sl->wq,
			      &peer->tx_work);
	sloop_peer_put(peer);
}

struct sk_buff *sloop_queue_next(struct sk_buff_head *ordered)
{
	struct sk_buff *skb;
	unsigned long flags;

	spin_lock_irqsave(&ordered->lock, flags);
	skb = skb_peek(ordered);
	if (skb && atomic_read_acquire(&SLOOP_CB(skb)->state) ==
		   SLOOP_PKT_PENDING)
		skb = NULL;
	if (skb)
		__skb_unlink(skb, ordered);
	spin_unlock_irqrestore(&ordered->lock, flags);
	return skb;
}
