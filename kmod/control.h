/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SLOOP_CONTROL_H
#define _SLOOP_CONTROL_H

#include <linux/list.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#define SLOOP_CTRL_QUEUE_LEN	64
#define SLOOP_CTRL_RATE		256	/* messages per second */
#define SLOOP_CTRL_BURST	64

struct sloop_device;

/* Received control messages on their way to the owner. */
struct sloop_ctrl_queue {
	spinlock_t lock;	/* msgs, len and the token bucket */
	struct list_head msgs;
	unsigned int len;
	u64 credit_ns;		/* token bucket, in time units */
	u64 last_ns;
	struct work_struct work;
	struct sloop_device *sl;
};

void sloop_ctrl_init(struct sloop_ctrl_queue *q, struct sloop_device *sl);
void sloop_ctrl_uninit(struct sloop_ctrl_queue *q);
void sloop_ctrl_purge(struct sloop_ctrl_queue *q);
/* Copies @len bytes at @offset of @skb; false when full or limited. */
bool sloop_ctrl_enqueue(struct sloop_ctrl_queue *q, u32 peer_id,
			const struct sk_buff *skb, unsigned int offset,
			unsigned int len);

#endif /* _SLOOP_CONTROL_H */
