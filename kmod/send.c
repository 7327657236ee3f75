// SPDX-License-Identifier: GPL-2.0
/*
 * sloop: the transmit path.
 *
 * xmit picks the peer by destination, segments GSO packets, pads them,
 * writes the header with a fresh counter and queues them; a crypto worker
 * seals each packet and applies header protection; the peer's serial work
 * sends them out in order.
 */
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/unaligned/packed_struct.h>
#include <net/icmp.h>
#include <asm/unaligned.h>

#include "netlink.h"
#include "peer.h"
#include "queueing.h"
#include "send.h"
#include "socket.h"

static unsigned int sloop_padded_len(struct sloop_device *sl,
				     unsigned int len)
{
	unsigned int mtu = READ_ONCE(sl->dev->mtu), want;

	if (READ_ONCE(sl->padding) == SLOOP_PADDING_BUCKETS)
		want = len <= 256 ? 256 : len <= 512 ? 512 :
		       len <= 1024 ? 1024 : mtu;
	else
		want = ALIGN(len, 16);
	/* Padding never makes a packet bigger than the MTU. */
	if (want > mtu)
		want = mtu;
	return max(want, len);
}

static void sloop_send_drop(struct sloop_device *sl, struct sloop_peer *peer,
			    struct sk_buff *skb, int reason)
{
	sloop_stat_add(sl->stats, reason, 1);
	if (peer)
		sloop_stat_add(peer->stats, reason, 1);
	DEV_STATS_INC(sl->dev, tx_dropped);
	kfree_skb(skb);
}

/* The key for the next packet, with a reference, and its counter. */
static struct sloop_keyslot *sloop_send_key(struct sloop_peer *peer,
					    u8 *phase, u64 *counter)
{
	struct sloop_device *sl = peer->sl;
	struct sloop_keyslot *ks;

	rcu_read_lock_bh();
	*phase = READ_ONCE(peer->tx_phase);
	ks = rcu_dereference_bh(peer->keys[*phase]);
	if (ks && !kref_get_unless_zero(&ks->ref))
		ks = NULL;
	if (ks && !rcu_access_pointer(peer->hp_tx)) {
		sloop_crypto_keyslot_put(ks);
		ks = NULL;
	}
	rcu_read_unlock_bh();
	if (!ks)
		return NULL;

	*counter = atomic64_inc_return(&ks->tx_next) - 1;
	if (unlikely(*counter >= READ_ONCE(sl->reject_after))) {
		if (!test_and_set_bit(SLOOP_PEER_EXHAUSTED(*phase),
				      &peer->flags))
			sloop_netlink_peer_down(peer, SLOOP_DOWN_KEY_EXHAUSTED);
		sloop_crypto_keyslot_put(ks);
		return NULL;
	}
	if (unlikely(*counter >= READ_ONCE(sl->rekey_after)) &&
	    !test_and_set_bit(SLOOP_PEER_LIMIT_SENT(*phase), &peer->flags))
		sloop_netlink_key_limit(peer, *phase);
	return ks;
}

/* Pads, adds the header and queues one packet; consumes @skb. */
static int sloop_send_one(struct sloop_peer *peer, struct sk_buff *skb,
			  bool is_ctrl)
{
	struct sloop_device *sl = peer->sl;
	struct sloop_skb_cb *cb = SLOOP_CB(skb);
	struct sloop_keyslot *ks;
	unsigned int len, padded, head, tail;
	u64 counter;
	u8 *hdr, phase;

	if (skb->ip_summed == CHECKSUM_PARTIAL && skb_checksum_help(skb))
		goto malformed;
	len = skb->len;
	padded = sloop_padded_len(sl, len);
	/*
	 * One reallocation at most: the head gets room for our header, the
	 * padding, the tag and, for a paged skb, the pages that the
	 * linearisation then copies in without reallocating again. Segments
	 * of a GSO packet come here linear (copied and checksummed in one
	 * pass by skb_gso_segment), so they usually need none.
	 */
	head = skb_headroom(skb) < SLOOP_HEADROOM ?
	       SLOOP_HEADROOM - skb_headroom(skb) : 0;
	tail = padded - len + SLOOP_TAILROOM + skb->data_len;
	tail = skb_tailroom(skb) < tail ? tail - skb_tailroom(skb) : 0;
	if ((head || tail || skb_cloned(skb)) &&
	    pskb_expand_head(skb, ALIGN(head, NET_SKB_PAD), tail, GFP_ATOMIC))
		goto malformed;
	if (skb_linearize(skb))
		goto malformed;
	skb_put_zero(skb, padded - len);

	ks = sloop_send_key(peer, &phase, &counter);
	if (!ks) {
		sloop_send_drop(sl, peer, skb, SLOOP_STATS_A_DROP_NO_KEY);
		return -ENOKEY;
	}

	skb_scrub_packet(skb, true);
	skb->encapsulation = 0;
	skb->ip_summed = CHECKSUM_NONE;
	hdr = skb_push(skb, SLOOP_HDR_LEN);
	hdr[0] = SLOOP_MSG_TRANSPORT | phase;
	put_unaligned_be32(READ_ONCE(peer->tx_index), hdr + 1);
	put_unaligned_be64(counter, hdr + 5);

	memset(cb, 0, sizeof(*cb));
	cb->peer = sloop_peer_get(peer);
	cb->ks = ks;
	cb->counter = counter;
	cb->len = len;
	cb->is_ctrl = is_ctrl;
	sloop_queue_crypt(sl, &sl->encrypt_queue, skb);
	return 0;

malformed:
	sloop_send_drop(sl, peer, skb, SLOOP_STATS_A_DROP_MALFORMED);
	return -EINVAL;
}

/* Destination of an inner packet; 0 when it is not IPv4 or IPv6. */
static int sloop_send_dest(struct sk_buff *skb, const u8 **daddr)
{
	if (skb->protocol == htons(ETH_P_IP) &&
	    pskb_network_may_pull(skb, sizeof(struct iphdr)) &&
	    ip_hdr(skb)->version == 4) {
		*daddr = (const u8 *)&ip_hdr(skb)->daddr;
		return AF_INET;
	}
	if (skb->protocol == htons(ETH_P_IPV6) &&
	    pskb_network_may_pull(skb, sizeof(struct ipv6hdr)) &&
	    ipv6_hdr(skb)->version == 6) {
		*daddr = (const u8 *)&ipv6_hdr(skb)->daddr;
		return AF_INET6;
	}
	return 0;
}

static void sloop_send_unreachable(struct sk_buff *skb, int family)
{
	if (family == AF_INET)
		icmp_ndo_send(skb, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0);
	else
		icmpv6_ndo_send(skb, ICMPV6_DEST_UNREACH, ICMPV6_ADDR_UNREACH,
				0);
}

netdev_tx_t sloop_send_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct sloop_device *sl = netdev_priv(dev);
	struct sk_buff *segs, *next;
	struct sloop_peer *peer;
	const u8 *daddr;
	int family;

	family = sloop_send_dest(skb, &daddr);
	if (!family) {
		sloop_send_drop(sl, NULL, skb, SLOOP_STATS_A_DROP_MALFORMED);
		return NETDEV_TX_OK;
	}
	rcu_read_lock_bh();
	peer = sloop_peer_by_addr(sl, family, daddr);
	rcu_read_unlock_bh();
	if (!peer) {
		sloop_send_unreachable(skb, family);
		sloop_send_drop(sl, NULL, skb, SLOOP_STATS_A_DROP_NO_ROUTE);
		return NETDEV_TX_OK;
	}
	if (skb_is_gso(skb)) {
		segs = skb_gso_segment(skb, 0);
		if (IS_ERR_OR_NULL(segs)) {
			sloop_send_drop(sl, peer, skb,
					SLOOP_STATS_A_DROP_MALFORMED);
			goto out;
		}
		consume_skb(skb);
		skb = segs;
	}
	skb_list_walk_safe(skb, skb, next) {
		skb_mark_not_on_list(skb);
		sloop_send_one(peer, skb, false);
	}
out:
	sloop_peer_put(peer);
	return NETDEV_TX_OK;
}

int sloop_send_ctrl(struct sloop_peer *peer, const u8 *msg, unsigned int len)
{
	struct sk_buff *skb;
	u8 *p;
	int ret;

	if (!len || len > SLOOP_CTRL_MAX)
		return -EINVAL;
	skb = alloc_skb(SLOOP_HEADROOM + SLOOP_CTRL_HDR_LEN + len +
			READ_ONCE(peer->sl->dev->mtu) + SLOOP_TAILROOM,
			GFP_KERNEL);
	if (!skb)
		return -ENOMEM;
	skb_reserve(skb, SLOOP_HEADROOM);
	p = skb_put(skb, SLOOP_CTRL_HDR_LEN + len);
	p[0] = SLOOP_INNER_CTRL;
	p[1] = 0;
	put_unaligned_be16(len, p + 2);
	memcpy(p + SLOOP_CTRL_HDR_LEN, msg, len);
	local_bh_disable();
	ret = sloop_send_one(peer, skb, true);
	local_bh_enable();
	return ret;
}

void sloop_send_crypt_work(struct work_struct *work)
{
	struct sloop_crypt_worker *w =
		container_of(work, struct sloop_crypt_worker, work);
	struct sloop_device *sl = w->sl;
	struct sk_buff *skb;

	while ((skb = ptr_ring_consume_bh(&sl->encrypt_queue.ring))) {
		struct sloop_skb_cb *cb = SLOOP_CB(skb);
		struct sloop_peer *peer = cb->peer;
		enum sloop_pkt_state state = SLOOP_PKT_DEAD;
		struct sloop_hp *hp;

		cb->drop_reason = SLOOP_STATS_A_DROP_MALFORMED;
		if (!sloop_crypto_seal(cb->ks, skb, cb->counter, w->buf)) {
			rcu_read_lock_bh();
			hp = rcu_dereference_bh(peer->hp_tx);
			if (hp) {
				sloop_crypto_hp_apply(hp, skb->data);
				state = SLOOP_PKT_DONE;
			} else {
				cb->drop_reason = SLOOP_STATS_A_DROP_NO_KEY;
			}
			rcu_read_unlock_bh();
		}
		sloop_queue_done(&sl->encrypt_queue, skb, state);
		cond_resched();
	}
}

void sloop_send_serial_work(struct work_struct *work)
{
	struct sloop_peer *peer = container_of(work, struct sloop_peer,
					       tx_work);
	struct sloop_device *sl = peer->sl;
	struct sk_buff *skb;
	unsigned int n = 0;

	/* The peer may lose its last reference here: RCU keeps it. */
	rcu_read_lock();
	local_bh_disable();
	while ((skb = sloop_queue_next(&peer->tx_queue))) {
		struct sloop_skb_cb *cb = SLOOP_CB(skb);
		unsigned int len = cb->len;
		bool is_ctrl = cb->is_ctrl;

		sloop_queue_batch_tick(&n);

		if (atomic_read(&cb->state) == SLOOP_PKT_DEAD) {
			sloop_stat_add(sl->stats, cb->drop_reason, 1);
			sloop_stat_add(peer->stats, cb->drop_reason, 1);
			DEV_STATS_INC(sl->dev, tx_dropped);
			sloop_skb_free(skb);
			continue;
		}
		sloop_skb_release_refs(skb);
		if (sloop_socket_send(peer, skb)) {
			DEV_STATS_INC(sl->dev, tx_errors);
			continue;
		}
		sloop_stat_add(peer->stats, SLOOP_STATS_A_TX_PACKETS, 1);
		sloop_stat_add(peer->stats, SLOOP_STATS_A_TX_BYTES, len);
		sloop_stat_add(sl->stats, SLOOP_STATS_A_TX_PACKETS, 1);
		sloop_stat_add(sl->stats, SLOOP_STATS_A_TX_BYTES, len);
		if (is_ctrl) {
			sloop_stat_add(peer->stats, SLOOP_STATS_A_CTRL_TX, 1);
			sloop_stat_add(sl->stats, SLOOP_STATS_A_CTRL_TX, 1);
		}
	}
	local_bh_enable();
	rcu_read_unlock();
}
