// SPDX-License-Identifier: GPL-2.0
/*
 * sloop: received control messages, queued for the owning daemon.
 *
 * The queue is bounded and rate limited so that a peer cannot make the
 * kernel hold memory or flood the daemon's netlink socket.
 */
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "control.h"
#include "device.h"
#include "netlink.h"

#define SLOOP_CTRL_COST_NS	(NSEC_PER_SEC / SLOOP_CTRL_RATE)

struct sloop_ctrl_msg {
	struct list_head node;
	u32 peer_id;
	u16 len;
	u8 data[];
};

static void sloop_ctrl_work(struct work_struct *work)
{
	struct sloop_ctrl_queue *q = container_of(work, struct sloop_ctrl_queue,
						  work);
	struct sloop_device *sl = q->sl;
	struct sloop_ctrl_msg *msg;
	struct net *net;
	u32 portid;

	for (;;) {
		spin_lock_bh(&q->lock);
		msg = list_first_entry_or_null(&q->msgs, struct sloop_ctrl_msg,
					       node);
		if (msg) {
			list_del(&msg->node);
			q->len--;
		}
		spin_unlock_bh(&q->lock);
		if (!msg)
			break;
		portid = READ_ONCE(sl->owner_portid);
		net = READ_ONCE(sl->owner_net);
		if (!portid || !net ||
		    sloop_netlink_ctrl_recv(sl, net, portid, msg->peer_id,
					    msg->data, msg->len))
			sloop_stat_add(sl->stats, SLOOP_STATS_A_DROP_QUEUE_FULL,
				       1);
		kfree_sensitive(msg);
	}
}

void sloop_ctrl_init(struct sloop_ctrl_queue *q, struct sloop_device *sl)
{
	spin_lock_init(&q->lock);
	INIT_LIST_HEAD(&q->msgs);
	q->len = 0;
	q->sl = sl;
	q->credit_ns = SLOOP_CTRL_BURST * SLOOP_CTRL_COST_NS;
	q->last_ns = ktime_get_ns();
	INIT_WORK(&q->work, sloop_ctrl_work);
}

void sloop_ctrl_purge(struct sloop_ctrl_queue *q)
{
	struct sloop_ctrl_msg *msg, *tmp;
	LIST_HEAD(old);

	spin_lock_bh(&q->lock);
	list_splice_init(&q->msgs, &old);
	q->len = 0;
	spin_unlock_bh(&q->lock);
	list_for_each_entry_safe(msg, tmp, &old, node)
		kfree_sensitive(msg);
}

void sloop_ctrl_uninit(struct sloop_ctrl_queue *q)
{
	cancel_work_sync(&q->work);
	sloop_ctrl_purge(q);
}

static bool sloop_ctrl_take_token(struct sloop_ctrl_queue *q)
{
	u64 now = ktime_get_ns();

	q->credit_ns = min_t(u64, q->credit_ns + (now - q->last_ns),
			     SLOOP_CTRL_BURST * SLOOP_CTRL_COST_NS);
	q->last_ns = now;
	if (q->credit_ns < SLOOP_CTRL_COST_NS)
		return false;
	q->credit_ns -= SLOOP_CTRL_COST_NS;
	return true;
}

bool sloop_ctrl_enqueue(struct sloop_ctrl_queue *q, u32 peer_id,
			const struct sk_buff *skb, unsigned int offset,
			unsigned int len)
{
	struct sloop_ctrl_msg *msg;
	bool ok;

	msg = kmalloc(struct_size(msg, data, len), GFP_ATOMIC);
	if (!msg)
		return false;
	if (skb_copy_bits(skb, offset, msg->data, len)) {
		kfree(msg);
		return false;
	}
	msg->peer_id = peer_id;
	msg->len = len;
	spin_lock_bh(&q->lock);
	ok = q->len < SLOOP_CTRL_QUEUE_LEN && sloop_ctrl_take_token(q);
	if (ok) {
		list_add_tail(&msg->node, &q->msgs);
		q->len++;
	}
	spin_unlock_bh(&q->lock);
	if (!ok) {
		kfree_sensitive(msg);
		return false;
	}
	queue_work(system_wq, &q->work);
	return true;
}
