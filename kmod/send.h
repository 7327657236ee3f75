/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SLOOP_SEND_H
#define _SLOOP_SEND_H

#include <linux/netdevice.h>
#include <linux/workqueue.h>

struct sloop_peer;

netdev_tx_t sloop_send_xmit(struct sk_buff *skb, struct net_device *dev);
/* Encrypts a control message for @peer like data; process context. */
int sloop_send_ctrl(struct sloop_peer *peer, const u8 *msg, unsigned int len);
void sloop_send_crypt_work(struct work_struct *work);
void sloop_send_serial_work(struct work_struct *work);

#endif /* _SLOOP_SEND_H */
