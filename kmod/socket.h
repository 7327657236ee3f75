/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SLOOP_SOCKET_H
#define _SLOOP_SOCKET_H

#include <linux/skbuff.h>

#include "device.h"

struct sloop_peer;

/* Takes the daemon's UDP socket by fd; sl->lock held. */
int sloop_socket_attach(struct sloop_device *sl, int fd);
/* Gives the socket back untouched; sl->lock held; may sleep. */
void sloop_socket_detach(struct sloop_device *sl);
u16 sloop_socket_port(struct sloop_device *sl);
struct sloop_endpoint;
/*
 * The largest inner packet that reaches @ep through @sock in one outer
 * datagram: the route's (path) MTU minus SLOOP_OVERHEAD_IPV4 or _IPV6;
 * 0 when there is no route or no endpoint. May sleep.
 */
int sloop_socket_mtu(struct socket *sock, const struct sloop_endpoint *ep);
/* Sends a finished transport packet to the peer; consumes @skb. */
int sloop_socket_send(struct sloop_peer *peer, struct sk_buff *skb);

#endif /* _SLOOP_SOCKET_H */
