/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SLOOP_NETLINK_H
#define _SLOOP_NETLINK_H

#include <linux/types.h>

struct net;
struct sloop_device;
struct sloop_peer;

int sloop_netlink_init(void);
void sloop_netlink_uninit(void);

/* Notifications; any context. */
void sloop_netlink_peer_down(struct sloop_peer *peer, u32 reason);
void sloop_netlink_key_limit(struct sloop_peer *peer, u8 phase);
void sloop_netlink_endpoint(struct sloop_peer *peer);
/* A received control message for the owner; process context. */
int sloop_netlink_ctrl_recv(struct sloop_device *sl, struct net *net,
			    u32 portid, u32 peer_id, const u8 *data,
			    unsigned int len);

#endif /* _SLOOP_NETLINK_H */
