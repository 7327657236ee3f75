// SPDX-License-Identifier: GPL-2.0
/*
 * sloop: peers, their receiver index, endpoint, keys and removal.
 */
#include <linux/hash.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <net/ipv6.h>

#include "netlink.h"
#include "peer.h"
#include "queueing.h"
#include "receive.h"
#include "send.h"

static struct hlist_head *sloop_index_bucket(struct sloop_device *sl,
					     u32 index)
{
	return &sl->index_hash[hash_32(index, SLOOP_INDEX_HASH_BITS)];
}

static bool sloop_index_used(struct sloop_device *sl, u32 index)
{
	struct sloop_peer *peer;

	hlist_for_each_entry(peer, sloop_index_bucket(sl, index), index_node)
		if (peer->rx_index == index)
			return true;
	return false;
}

struct sloop_peer *sloop_peer_new(struct sloop_device *sl, u32 id,
				  u32 rx_index)
{
	struct sloop_peer *peer;
	int ret, tries;

	lockdep_assert_held(&sl->lock);
	if (rx_index && sloop_index_used(sl, rx_index))
		return ERR_PTR(-EADDRINUSE);
	for (tries = 0; !rx_index && tries < 64; tries++) {
		rx_index = get_random_u32();
		if (rx_index && sloop_index_used(sl, rx_index))
			rx_index = 0;
	}
	if (!rx_index)
		return ERR_PTR(-EADDRINUSE);

	peer = kzalloc(sizeof(*peer), GFP_KERNEL);
	if (!peer)
		return ERR_PTR(-ENOMEM);
	ret = -ENOMEM;
	peer->stats = sloop_device_stats_new();
	if (!peer->stats)
		goto err_free;
	ret = dst_cache_init(&peer->dst_cache, GFP_KERNEL);
	if (ret)
		goto err_stats;
	peer->sl = sl;
	kref_init(&peer->ref);
	peer->id = id;
	peer->rx_index = rx_index;
	peer->cipher = SLOOP_CIPHER_AES256_GCM;
	INIT_LIST_HEAD(&peer->subnets);
	spin_lock_init(&peer->endpoint_lock);
	skb_queue_head_init(&peer->tx_queue);
	skb_queue_head_init(&peer->rx_queue);
	INIT_WORK(&peer->tx_work, sloop_send_serial_work);
	peer->serial_cpu = -1;

	ret = xa_insert(&sl->peers, id, peer, GFP_KERNEL);
	if (ret)
		goto err_dst;
	netif_napi_add(sl->napi_dev, &peer->napi, sloop_receive_poll);
	napi_enable(&peer->napi);
	hlist_add_head_rcu(&peer->index_node, sloop_index_bucket(sl, rx_index));
	sl->num_peers++;
	dev_hold(sl->dev);
	return peer;

err_dst:
	dst_cache_destroy(&peer->dst_cache);
err_stats:
	free_percpu(peer->stats);
err_free:
	kfree(peer);
	return ERR_PTR(ret == -EBUSY ? -EEXIST : ret);
}

struct sloop_peer *sloop_peer_get(struct sloop_peer *peer)
{
	kref_get(&peer->ref);
	return peer;
}

static void sloop_hp_free_rcu(struct rcu_head *head);

struct sloop_hp_box {
	struct rcu_head rcu;
	struct sloop_hp hp;
};

static void sloop_hp_free_rcu(struct rcu_head *head)
{
	struct sloop_hp_box *box = container_of(head, struct sloop_hp_box, rcu);

	sloop_crypto_hp_wipe(&box->hp);
	kfree_sensitive(box);
}

static void sloop_hp_release(struct sloop_hp *hp)
{
	if (hp)
		call_rcu(&container_of(hp, struct sloop_hp_box, hp)->rcu,
			 sloop_hp_free_rcu);
}

static void sloop_peer_free_rcu(struct rcu_head *head)
{
	struct sloop_peer *peer = container_of(head, struct sloop_peer, rcu);

	dst_cache_destroy(&peer->dst_cache);
	free_percpu(peer->stats);
	dev_put(peer->sl->dev);
	kfree_sensitive(peer);
}

static void sloop_peer_release(struct kref *ref)
{
	struct sloop_peer *peer = container_of(ref, struct sloop_peer, ref);

	call_rcu(&peer->rcu, sloop_peer_free_rcu);
}

void sloop_peer_put(struct sloop_peer *peer)
{
	kref_put(&peer->ref, sloop_peer_release);
}

struct sloop_peer *sloop_peer_by_index(struct sloop_device *sl, u32 index)
{
	struct sloop_peer *peer;

	hlist_for_each_entry_rcu(peer, sloop_index_bucket(sl, index),
				 index_node)
		if (peer->rx_index == index)
			return kref_get_unless_zero(&peer->ref) ? peer : NULL;
	return NULL;
}

struct sloop_peer *sloop_peer_by_addr(struct sloop_device *sl, int family,
				      const u8 *addr)
{
	struct sloop_peer *peer = sloop_allowedips_lookup(&sl->aips, family,
							  addr);

	if (peer && !kref_get_unless_zero(&peer->ref))
		peer = NULL;
	return peer;
}

int sloop_peer_set_endpoint(struct sloop_peer *peer,
			    const struct sloop_endpoint *ep)
{
	struct sloop_endpoint e = {};

	/* Only family, address, port and scope: roaming compares them. */
	if (ep->addr.sa_family == AF_INET6 &&
	    ipv6_addr_v4mapped(&ep->addr6.sin6_addr)) {
		e.addr4.sin_family = AF_INET;
		e.addr4.sin_port = ep->addr6.sin6_port;
		e.addr4.sin_addr.s_addr = ep->addr6.sin6_addr.s6_addr32[3];
	} else if (ep->addr.sa_family == AF_INET6) {
		e.addr6.sin6_family = AF_INET6;
		e.addr6.sin6_port = ep->addr6.sin6_port;
		e.addr6.sin6_addr = ep->addr6.sin6_addr;
		e.addr6.sin6_scope_id = ep->addr6.sin6_scope_id;
	} else if (ep->addr.sa_family == AF_INET) {
		e.addr4.sin_family = AF_INET;
		e.addr4.sin_port = ep->addr4.sin_port;
		e.addr4.sin_addr = ep->addr4.sin_addr;
	} else {
		return -EAFNOSUPPORT;
	}
	spin_lock_bh(&peer->endpoint_lock);
	peer->endpoint = e;
	dst_cache_reset(&peer->dst_cache);
	spin_unlock_bh(&peer->endpoint_lock);
	/* A new path may have another MTU. */
	sloop_device_update_mtu(peer->sl);
	return 0;
}

void sloop_peer_get_endpoint(struct sloop_peer *peer,
			     struct sloop_endpoint *ep)
{
	spin_lock_bh(&peer->endpoint_lock);
	*ep = peer->endpoint;
	spin_unlock_bh(&peer->endpoint_lock);
}

int sloop_peer_set_hp(struct sloop_peer *peer, bool tx, const u8 *key,
		      unsigned int len)
{
	struct sloop_hp __rcu **slot = tx ? &peer->hp_tx : &peer->hp_rx;
	struct sloop_hp_box *box;
	struct sloop_hp *old;
	int ret;

	box = kzalloc(sizeof(*box), GFP_KERNEL);
	if (!box)
		return -ENOMEM;
	ret = sloop_crypto_hp_set(&box->hp, peer->cipher, key, len);
	if (ret) {
		kfree_sensitive(box);
		return ret;
	}
	old = rcu_replace_pointer(*slot, &box->hp,
				  lockdep_is_held(&peer->sl->lock));
	sloop_hp_release(old);
	return 0;
}

void sloop_peer_set_key(struct sloop_peer *peer, u8 phase,
			struct sloop_keyslot *ks)
{
	struct sloop_keyslot *old;

	old = rcu_replace_pointer(peer->keys[phase], ks,
				  lockdep_is_held(&peer->sl->lock));
	clear_bit(SLOOP_PEER_LIMIT_SENT(phase), &peer->flags);
	clear_bit(SLOOP_PEER_EXHAUSTED(phase), &peer->flags);
	if (old)
		sloop_crypto_keyslot_put(old);
}

bool sloop_peer_tx_ready(struct sloop_peer *peer)
{
	return rcu_access_pointer(peer->keys[READ_ONCE(peer->tx_phase)]);
}

/* First stage: nothing new can find the peer. */
static void sloop_peer_unlink(struct sloop_peer *peer)
{
	struct sloop_device *sl = peer->sl;

	lockdep_assert_held(&sl->lock);
	peer->dead = true;
	xa_erase(&sl->peers, peer->id);
	hlist_del_init_rcu(&peer->index_node);
	sloop_allowedips_remove_list(&sl->aips, &peer->subnets);
	sl->num_peers--;
}

/* Second stage, after a grace period and a flush of the crypto workers. */
static void sloop_peer_finish(struct sloop_peer *peer, u32 reason)
{
	struct sk_buff *skb;

	flush_work(&peer->tx_work);
	/* Waits out a running poll; the RCU free of the peer follows del. */
	napi_disable(&peer->napi);
	netif_napi_del(&peer->napi);
	while ((skb = skb_dequeue(&peer->tx_queue)))
		sloop_skb_free(skb);
	while ((skb = skb_dequeue(&peer->rx_queue)))
		sloop_skb_free(skb);
	sloop_peer_set_key(peer, 0, NULL);
	sloop_peer_set_key(peer, 1, NULL);
	sloop_hp_release(rcu_replace_pointer(peer->hp_tx, NULL, true));
	sloop_hp_release(rcu_replace_pointer(peer->hp_rx, NULL, true));
	if (reason)
		sloop_netlink_peer_down(peer, reason);
	sloop_peer_put(peer);
}

void sloop_peer_remove(struct sloop_peer *peer, u32 reason)
{
	sloop_peer_unlink(peer);
	synchronize_net();
	flush_workqueue(peer->sl->wq);
	sloop_peer_finish(peer, reason);
}

void sloop_peer_remove_all(struct sloop_device *sl, u32 reason)
{
	struct sloop_peer *peer;
	unsigned long id;
	HLIST_HEAD(dead);

	lockdep_assert_held(&sl->lock);
	if (!sl->num_peers)
		return;
	xa_for_each(&sl->peers, id, peer) {
		sloop_peer_unlink(peer);
		/* index_node is free now: reuse it to list the dead. */
		hlist_add_head(&peer->index_node, &dead);
	}
	synchronize_net();
	flush_workqueue(sl->wq);
	while (!hlist_empty(&dead)) {
		peer = hlist_entry(dead.first, struct sloop_peer, index_node);
		hlist_del(&peer->index_node);
		sloop_peer_finish(peer, reason);
	}
}
