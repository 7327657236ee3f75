// SPDX-License-Identifier: GPL-2.0
/*
 * sloop: the daemon's UDP socket, borrowed for encapsulation.
 *
 * The daemon binds the socket and passes its fd; the kernel consumes
 * transport packets (top bits 01 in the first byte) and lets everything
 * else, the handshakes above all, through to the daemon.
 */
#include <linux/file.h>
#include <linux/net.h>
#include <linux/udp.h>
#include <net/dst_cache.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ipv6_stubs.h>
#include <net/route.h>
#include <net/udp.h>
#include <net/udp_tunnel.h>
#include <sloop/wire.h>

#include "peer.h"
#include "receive.h"
#include "socket.h"

static int sloop_encap_rcv(struct sock *sk, struct sk_buff *skb)
{
	struct sloop_device *sl;
	u8 type, *p;

	p = skb_header_pointer(skb, skb_transport_offset(skb) +
			       sizeof(struct udphdr), 1, &type);
	if (!p || (*p & SLOOP_MSG_TRANSPORT_MASK) != SLOOP_MSG_TRANSPORT)
		return 1;	/* not ours: the daemon reads it */
	sl = rcu_dereference_sk_user_data(sk);
	if (!sl)
		return 1;
	sloop_receive(sl, skb);
	return 0;
}

int sloop_socket_attach(struct sloop_device *sl, int fd)
{
	struct udp_tunnel_sock_cfg cfg = {};
	struct socket *sock;
	struct sock *sk;
	int err;

	lockdep_assert_held(&sl->lock);
	if (rcu_access_pointer(sl->sock))
		return -EBUSY;
	sock = sockfd_lookup(fd, &err);
	if (!sock)
		return err;
	sk = sock->sk;
	err = -EPROTONOSUPPORT;
	if (sk->sk_protocol != IPPROTO_UDP || sk->sk_type != SOCK_DGRAM ||
	    (sk->sk_family != AF_INET && sk->sk_family != AF_INET6))
		goto err_put;
	err = -EADDRNOTAVAIL;
	if (!inet_sk(sk)->inet_num)
		goto err_put;	/* not bound: no port to share */
	/* A socket already used by another tunnel stays theirs. */
	err = -EBUSY;
	lock_sock(sk);
	if (sk->sk_user_data || udp_sk(sk)->encap_type) {
		release_sock(sk);
		goto err_put;
	}
	release_sock(sk);

	cfg.sk_user_data = sl;
	cfg.encap_type = UDP_ENCAP_ESPINUDP;	/* 1, any non-zero will do */
	cfg.encap_rcv = sloop_encap_rcv;
	setup_udp_tunnel_sock(sock_net(sk), sock, &cfg);
	rcu_assign_pointer(sl->sock, sock);
	return 0;

err_put:
	sockfd_put(sock);
	return err;
}

void sloop_socket_detach(struct sloop_device *sl)
{
	struct udp_tunnel_sock_cfg cfg = {};
	struct socket *sock;

	lockdep_assert_held(&sl->lock);
	sock = rcu_replace_pointer(sl->sock, NULL, lockdep_is_held(&sl->lock));
	if (!sock)
		return;
	/* The same call with an empty config gives the socket back. */
	setup_udp_tunnel_sock(sock_net(sock->sk), sock, &cfg);
	synchronize_net();
	sockfd_put(sock);
}

u16 sloop_socket_port(struct sloop_device *sl)
{
	struct socket *sock;
	u16 port = 0;

	rcu_read_lock();
	sock = rcu_dereference(sl->sock);
	if (sock)
		port = ntohs(inet_sk(sock->sk)->inet_sport);
	rcu_read_unlock();
	return port;
}

static int sloop_send4(struct sloop_peer *peer, struct sock *sk,
		       struct sk_buff *skb, const struct sockaddr_in *to)
{
	struct flowi4 fl = {
		.daddr = to->sin_addr.s_addr,
		.fl4_dport = to->sin_port,
		.fl4_sport = inet_sk(sk)->inet_sport,
		.flowi4_proto = IPPROTO_UDP,
		.flowi4_mark = sk->sk_mark,
		.flowi4_oif = sk->sk_bound_dev_if,
	};
	struct rtable *rt;

	rt = dst_cache_get_ip4(&peer->dst_cache, &fl.saddr);
	if (!rt) {
		fl.saddr = inet_sk(sk)->inet_saddr;
		rt = ip_route_output_flow(sock_net(sk), &fl, sk);
		if (IS_ERR(rt)) {
			kfree_skb(skb);
			return PTR_ERR(rt);
		}
		dst_cache_set_ip4(&peer->dst_cache, &rt->dst, fl.saddr);
	}
	skb->ignore_df = 1;
	udp_tunnel_xmit_skb(rt, sk, skb, fl.saddr, fl.daddr, 0,
			    ip4_dst_hoplimit(&rt->dst), 0, fl.fl4_sport,
			    fl.fl4_dport, false, false);
	return 0;
}

#if IS_ENABLED(CONFIG_IPV6)
static int sloop_send6(struct sloop_peer *peer, struct sock *sk,
		       struct sk_buff *skb, const struct sockaddr_in6 *to)
{
	struct flowi6 fl = {
		.daddr = to->sin6_addr,
		.fl6_dport = to->sin6_port,
		.fl6_sport = inet_sk(sk)->inet_sport,
		.flowi6_proto = IPPROTO_UDP,
		.flowi6_mark = sk->sk_mark,
		.flowi6_oif = to->sin6_scope_id ? to->sin6_scope_id :
						  sk->sk_bound_dev_if,
	};
	struct dst_entry *dst;

	if (sk->sk_family != AF_INET6) {
		kfree_skb(skb);
		return -EAFNOSUPPORT;
	}
	dst = dst_cache_get_ip6(&peer->dst_cache, &fl.saddr);
	if (!dst) {
		fl.saddr = sk->sk_v6_rcv_saddr;
		dst = ipv6_stub->ipv6_dst_lookup_flow(sock_net(sk), sk, &fl,
						      NULL);
		if (IS_ERR(dst)) {
			kfree_skb(skb);
			return PTR_ERR(dst);
		}
		dst_cache_set_ip6(&peer->dst_cache, dst, &fl.saddr);
	}
	skb->ignore_df = 1;
	udp_tunnel6_xmit_skb(dst, sk, skb, skb->dev, &fl.saddr, &fl.daddr, 0,
			     ip6_dst_hoplimit(dst), 0, fl.fl6_sport,
			     fl.fl6_dport, false);
	return 0;
}
#endif

static int sloop_mtu4(struct sock *sk, const struct sockaddr_in *to)
{
	struct flowi4 fl = {
		.daddr = to->sin_addr.s_addr,
		.saddr = inet_sk(sk)->inet_saddr,
		.fl4_dport = to->sin_port,
		.fl4_sport = inet_sk(sk)->inet_sport,
		.flowi4_proto = IPPROTO_UDP,
		.flowi4_mark = sk->sk_mark,
		.flowi4_oif = sk->sk_bound_dev_if,
	};
	struct rtable *rt;
	int mtu;

	rt = ip_route_output_flow(sock_net(sk), &fl, sk);
	if (IS_ERR(rt))
		return 0;
	/* The path MTU when one was learnt, else the egress device's. */
	mtu = dst_mtu(&rt->dst);
	ip_rt_put(rt);
	return mtu - SLOOP_OVERHEAD_IPV4;
}

#if IS_ENABLED(CONFIG_IPV6)
static int sloop_mtu6(struct sock *sk, const struct sockaddr_in6 *to)
{
	struct flowi6 fl = {
		.daddr = to->sin6_addr,
		.saddr = sk->sk_v6_rcv_saddr,
		.fl6_dport = to->sin6_port,
		.fl6_sport = inet_sk(sk)->inet_sport,
		.flowi6_proto = IPPROTO_UDP,
		.flowi6_mark = sk->sk_mark,
		.flowi6_oif = to->sin6_scope_id ? to->sin6_scope_id :
						  sk->sk_bound_dev_if,
	};
	struct dst_entry *dst;
	int mtu;

	if (sk->sk_family != AF_INET6)
		return 0;
	dst = ipv6_stub->ipv6_dst_lookup_flow(sock_net(sk), sk, &fl, NULL);
	if (IS_ERR(dst))
		return 0;
	mtu = dst_mtu(dst);
	dst_release(dst);
	return mtu - SLOOP_OVERHEAD_IPV6;
}
#endif

int sloop_socket_mtu(struct socket *sock, const struct sloop_endpoint *ep)
{
	int mtu = 0;

	if (ep->addr.sa_family == AF_INET)
		mtu = sloop_mtu4(sock->sk, &ep->addr4);
#if IS_ENABLED(CONFIG_IPV6)
	else if (ep->addr.sa_family == AF_INET6)
		mtu = sloop_mtu6(sock->sk, &ep->addr6);
#endif
	return max(mtu, 0);
}

int sloop_socket_send(struct sloop_peer *peer, struct sk_buff *skb)
{
	struct sloop_endpoint ep;
	struct socket *sock;
	int ret = -ENOTCONN;

	sloop_peer_get_endpoint(peer, &ep);
	rcu_read_lock_bh();
	sock = rcu_dereference_bh(peer->sl->sock);
	if (!sock)
		goto drop;
	skb->dev = peer->sl->dev;
	if (ep.addr.sa_family == AF_INET) {
		ret = sloop_send4(peer, sock->sk, skb, &ep.addr4);
#if IS_ENABLED(CONFIG_IPV6)
	} else if (ep.addr.sa_family == AF_INET6) {
		ret = sloop_send6(peer, sock->sk, skb, &ep.addr6);
#endif
	} else {
		ret = -EDESTADDRREQ;
		goto drop;
	}
	rcu_read_unlock_bh();
	return ret;

drop:
	rcu_read_unlock_bh();
	kfree_skb(skb);
	return ret;
}
