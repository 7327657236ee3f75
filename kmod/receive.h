/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SLOOP_RECEIVE_H
#define _SLOOP_RECEIVE_H

#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>

struct sloop_device;

/* A transport packet from the socket; softirq; consumes @skb. */
void sloop_receive(struct sloop_device *sl, struct sk_buff *skb);
void sloop_receive_crypt_work(struct work_struct *work);
/* The peer's serial stage: delivers its decrypted packets in order. */
int sloop_receive_poll(struct napi_struct *napi, int budget);

#endif /* _SLOOP_RECEIVE_H */
