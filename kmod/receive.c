// SPDX-License-Identifier: GPL-2.0
/*
 * sloop: the receive path.
 *
 * encap_rcv finds the peer by receiver index, removes header protection,
 * picks the key slot by phase and queues the packet; a crypto worker opens
 * it and checks the replay window; the peer's NAPI poll then delivers
 * packets in order: IP packets (after checking their inner source) to the
 * stack through GRO, control messages to the owner, keepalives nowhere.
 */
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/lockdep.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <asm/unaligned.h>

#include "control.h"
#include "netlink.h"
#include "peer.h"
#include "queueing.h"
#include "receive.h"

static void sloop_receive_drop(struct sloop_device *sl,
			       struct sloop_peer *peer, struct sk_buff *skb,
			       int reason)
{
	sloop_stat_add(sl->stats, reason, 1);
	if (peer)
		sloop_stat_add(peer->stats, reason, 1);
	DEV_STATS_INC(sl->dev, rx_dropped);
	kfree_skb(skb);
}

void sloop_receive(struct sloop_device *sl, struct sk_buff *skb)
{
	unsigned int off = skb_transport_offset(skb) + sizeof(struct udphdr);
	struct sloop_skb_cb *cb = SLOOP_CB(skb);
	struct sloop_keyslot *ks = NULL;
	struct sloop_peer *peer;
	struct sloop_hp *hp;
	u64 counter;
	u8 *hdr;
	int reason = SLOOP_STATS_A_DROP_MALFORMED;

	if (skb->len < off + SLOOP_HDR_LEN + SLOOP_TAG_LEN ||
	    !pskb_may_pull(skb, off + SLOOP_HDR_LEN + SLOOP_HP_SAMPLE_LEN))
		goto drop;
	__skb_pull(skb, off);
	if (skb_ensure_writable(skb, SLOOP_HDR_LEN + SLOOP_HP_SAMPLE_LEN))
		goto drop;
	hdr = skb->data;

	rcu_read_lock_bh();
	peer = sloop_peer_by_index(sl, get_unaligned_be32(hdr + 1));
	if (!peer) {
		rcu_read_unlock_bh();
		reason = SLOOP_STATS_A_DROP_NO_PEER;
		goto drop;
	}
	reason = SLOOP_STATS_A_DROP_NO_KEY;
	hp = rcu_dereference_bh(peer->hp_rx);
	if (hp) {
		sloop_crypto_hp_apply(hp, hdr);
		ks = rcu_dereference_bh(peer->keys[hdr[0] & SLOOP_HDR_PHASE]);
		if (ks && !kref_get_unless_zero(&ks->ref))
			ks = NULL;
	}
	rcu_read_unlock_bh();
	if (!ks) {
		sloop_receive_drop(sl, peer, skb, reason);
		sloop_peer_put(peer);
		return;
	}
	counter = get_unaligned_be64(hdr + 5);

	skb_orphan(skb);
	memset(cb, 0, sizeof(*cb));
	cb->peer = peer;
	cb->ks = ks;
	cb->counter = counter;
	sloop_queue_crypt(sl, &sl->decrypt_queue, skb);
	return;

drop:
	sloop_receive_drop(sl, NULL, skb, reason);
}

void sloop_receive_crypt_work(struct work_struct *work)
{
	struct sloop_crypt_worker *w =
		container_of(work, struct sloop_crypt_worker, work);
	struct sloop_device *sl = w->sl;
	struct sk_buff *skb;
	unsigned int n = 0;

	/*
	 * Not the _bh consume: its unlock would run the NAPI poll after every
	 * packet. The polls run once per batch instead, each with a batch of
	 * packets for its GRO (or at an interrupt in between).
	 */
	while ((skb = ptr_ring_consume(&sl->decrypt_queue.ring))) {
		struct sloop_skb_cb *cb = SLOOP_CB(skb);
		enum sloop_pkt_state state = SLOOP_PKT_DEAD;

		if (sloop_crypto_open(cb->ks, skb, cb->counter, w->buf)) {
			cb->drop_reason = SLOOP_STATS_A_DROP_BAD_AUTH;
		} else if (!sloop_replay_accept(&cb->ks->replay, cb->counter)) {
			cb->drop_reason = SLOOP_STATS_A_DROP_REPLAY;
		} else {
			atomic64_inc(&cb->ks->rx_packets);
			state = SLOOP_PKT_DONE;
		}
		sloop_queue_done(&sl->decrypt_queue, skb, state);
		if (++n % SLOOP_SERIAL_BATCH)
			continue;
		sloop_queue_run_softirqs();
		cond_resched();
	}
	sloop_queue_run_softirqs();
}

/* The outer source of an authenticated packet becomes the endpoint. */
static void sloop_receive_roam(struct sloop_peer *peer, struct sk_buff *skb)
{
	struct sloop_endpoint ep = {}, cur;
	struct udphdr *uh = udp_hdr(skb);

	if (ip_hdr(skb)->version == 4) {
		ep.addr4.sin_family = AF_INET;
		ep.addr4.sin_addr.s_addr = ip_hdr(skb)->saddr;
		ep.addr4.sin_port = uh->source;
	} else if (ip_hdr(skb)->version == 6) {
		ep.addr6.sin6_family = AF_INET6;
		ep.addr6.sin6_addr = ipv6_hdr(skb)->saddr;
		ep.addr6.sin6_port = uh->source;
		ep.addr6.sin6_scope_id =
			ipv6_iface_scope_id(&ipv6_hdr(skb)->saddr,
					    skb->skb_iif);
	} else {
		return;
	}
	sloop_peer_get_endpoint(peer, &cur);
	if (!memcmp(&cur, &ep, sizeof(ep)))
		return;
	if (sloop_peer_set_endpoint(peer, &ep))
		return;
	sloop_peer_get_endpoint(peer, &ep);
	if (memcmp(&cur, &ep, sizeof(ep)))
		sloop_netlink_endpoint(peer);
}

/* Trims the padding off an inner IP packet; its family, or 0. */
static int sloop_receive_ip_len(struct sk_buff *skb, const u8 **saddr)
{
	unsigned int len;
	u8 version = skb->data[0] >> 4;

	if (version == 4) {
		struct iphdr *iph;

		if (!pskb_may_pull(skb, sizeof(*iph)))
			return 0;
		iph = (struct iphdr *)skb->data;
		len = ntohs(iph->tot_len);
		if (iph->ihl < 5 || len < iph->ihl * 4 || len > skb->len ||
		    pskb_trim(skb, len))
			return 0;
		skb->protocol = htons(ETH_P_IP);
		*saddr = (const u8 *)&((struct iphdr *)skb->data)->saddr;
		return AF_INET;
	}
	if (version == 6) {
		struct ipv6hdr *ip6;

		if (!pskb_may_pull(skb, sizeof(*ip6)))
			return 0;
		ip6 = (struct ipv6hdr *)skb->data;
		len = ntohs(ip6->payload_len) + sizeof(*ip6);
		if (len > skb->len || pskb_trim(skb, len))
			return 0;
		skb->protocol = htons(ETH_P_IPV6);
		*saddr = (const u8 *)&((struct ipv6hdr *)skb->data)->saddr;
		return AF_INET6;
	}
	return 0;
}

static void sloop_receive_deliver(struct sloop_peer *peer,
				  struct sk_buff *skb)
{
	struct sloop_device *sl = peer->sl;
	struct net_device *dev = sl->dev;
	const u8 *saddr;
	unsigned int len;
	int family;

	/* The NAPI poll: softirq, or a busy poll with BHs off. */
	lockdep_assert_in_softirq();
	family = sloop_receive_ip_len(skb, &saddr);
	if (!family) {
		sloop_receive_drop(sl, peer, skb, SLOOP_STATS_A_DROP_MALFORMED);
		return;
	}
	if (sloop_allowedips_lookup(&sl->aips, family, saddr) != peer) {
		sloop_receive_drop(sl, peer, skb, SLOOP_STATS_A_DROP_BAD_SRC);
		return;
	}
	if (unlikely(!netif_running(dev))) {
		DEV_STATS_INC(dev, rx_dropped);
		kfree_skb(skb);
		return;
	}
	len = skb->len;
	skb_scrub_packet(skb, true);
	skb->dev = dev;
	skb->pkt_type = PACKET_HOST;
	/* The AEAD vouches for every byte. */
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	skb->csum_level = ~0;
	skb_reset_mac_header(skb);
	skb_reset_network_header(skb);
	skb_probe_transport_header(skb);
	sloop_stat_add(peer->stats, SLOOP_STATS_A_RX_PACKETS, 1);
	sloop_stat_add(peer->stats, SLOOP_STATS_A_RX_BYTES, len);
	sloop_stat_add(sl->stats, SLOOP_STATS_A_RX_PACKETS, 1);
	sloop_stat_add(sl->stats, SLOOP_STATS_A_RX_BYTES, len);
	dev_sw_netstats_rx_add(dev, len);
	napi_gro_receive(&peer->napi, skb);
}

static void sloop_receive_ctrl(struct sloop_peer *peer, struct sk_buff *skb)
{
	struct sloop_device *sl = peer->sl;
	unsigned int len;

	if (!pskb_may_pull(skb, SLOOP_CTRL_HDR_LEN) || skb->data[1]) {
		sloop_receive_drop(sl, peer, skb, SLOOP_STATS_A_DROP_MALFORMED);
		return;
	}
	len = get_unaligned_be16(skb->data + 2);
	if (!len || len > SLOOP_CTRL_MAX ||
	    SLOOP_CTRL_HDR_LEN + len > skb->len) {
		sloop_receive_drop(sl, peer, skb, SLOOP_STATS_A_DROP_MALFORMED);
		return;
	}
	if (!sloop_ctrl_enqueue(&sl->ctrl, peer->id, skb, SLOOP_CTRL_HDR_LEN,
				len)) {
		sloop_receive_drop(sl, peer, skb,
				   SLOOP_STATS_A_DROP_QUEUE_FULL);
		return;
	}
	sloop_stat_add(peer->stats, SLOOP_STATS_A_CTRL_RX, 1);
	sloop_stat_add(sl->stats, SLOOP_STATS_A_CTRL_RX, 1);
	consume_skb(skb);
}

static void sloop_receive_one(struct sloop_peer *peer, struct sk_buff *skb)
{
	struct sloop_device *sl = peer->sl;
	u8 first;

	atomic64_set(&peer->last_rx, ktime_get_boottime_ns());
	sloop_receive_roam(peer, skb);
	__skb_pull(skb, SLOOP_HDR_LEN);
	if (!skb->len || skb_copy_bits(skb, 0, &first, 1) || !first) {
		sloop_stat_add(peer->stats, SLOOP_STATS_A_KEEPALIVE_RX, 1);
		sloop_stat_add(sl->stats, SLOOP_STATS_A_KEEPALIVE_RX, 1);
		consume_skb(skb);
		return;
	}
	if (!pskb_may_pull(skb, 1)) {
		sloop_receive_drop(sl, peer, skb, SLOOP_STATS_A_DROP_MALFORMED);
		return;
	}
	if (first == SLOOP_INNER_CTRL)
		sloop_receive_ctrl(peer, skb);
	else
		sloop_receive_deliver(peer, skb);
}

int sloop_receive_poll(struct napi_struct *napi, int budget)
{
	struct sloop_peer *peer = container_of(napi, struct sloop_peer, napi);
	struct sloop_device *sl = peer->sl;
	struct sk_buff *skb;
	int done = 0;

	/* netpoll's zero budget asks for transmit completions only. */
	if (unlikely(budget <= 0))
		return 0;
	/* napi_disable() keeps the peer alive; RCU guards the lookups. */
	rcu_read_lock();
	while (done < budget && (skb = sloop_queue_next(&peer->rx_queue))) {
		struct sloop_skb_cb *cb = SLOOP_CB(skb);

		done++;
		if (atomic_read(&cb->state) == SLOOP_PKT_DEAD) {
			sloop_stat_add(peer->stats, cb->drop_reason, 1);
			sloop_stat_add(sl->stats, cb->drop_reason, 1);
			DEV_STATS_INC(sl->dev, rx_dropped);
			sloop_skb_free(skb);
			continue;
		}
		sloop_skb_release_refs(skb);
		sloop_receive_one(peer, skb);
	}
	rcu_read_unlock();
	if (done < budget)
		napi_complete_done(napi, done);
	return done;
}
