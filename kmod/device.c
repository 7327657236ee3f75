// SPDX-License-Identifier: GPL-2.0
/*
 * sloop: the virtual network device, its rtnl link kind and its life.
 */
#include <linux/if_arp.h>
#include <linux/netdevice.h>
#include <linux/slab.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/rtnetlink.h>

#include "control.h"
#include "device.h"
#include "netlink.h"
#include "peer.h"
#include "queueing.h"
#include "receive.h"
#include "send.h"
#include "socket.h"

/* Every sloop device of every netns, to find the owner's devices. */
static LIST_HEAD(sloop_all_devices);
static DEFINE_SPINLOCK(sloop_all_lock);
/* Runs the MTU updates, which take RTNL; flushed at module exit. */
static struct workqueue_struct *sloop_mtu_wq;

static struct rtnl_link_ops sloop_link_ops;

bool sloop_device_is_sloop(const struct net_device *dev)
{
	return dev->rtnl_link_ops == &sloop_link_ops;
}

struct sloop_stats __percpu *sloop_device_stats_new(void)
{
	struct sloop_stats __percpu *stats;
	int cpu;

	stats = alloc_percpu(struct sloop_stats);
	if (!stats)
		return NULL;
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(stats, cpu)->syncp);
	return stats;
}

u64 sloop_device_stats_read(struct sloop_stats __percpu *stats, int idx)
{
	unsigned int start;
	u64 sum = 0, v;
	int cpu;

	for_each_possible_cpu(cpu) {
		const struct sloop_stats *s = per_cpu_ptr(stats, cpu);

		do {
			start = u64_stats_fetch_begin(&s->syncp);
			v = u64_stats_read(&s->v[idx]);
		} while (u64_stats_fetch_retry(&s->syncp, start));
		sum += v;
	}
	return sum;
}

/* The smallest MTU that the peers' paths allow, or 0 if none is known. */
static int sloop_device_path_mtu(struct sloop_device *sl)
{
	struct sloop_endpoint ep;
	struct sloop_peer *peer;
	struct socket *sock;
	unsigned long id;
	int mtu = 0, m;

	lockdep_assert_held(&sl->lock);
	sock = rcu_dereference_protected(sl->sock, lockdep_is_held(&sl->lock));
	if (!sock || sl->dead)
		return 0;
	xa_for_each(&sl->peers, id, peer) {
		sloop_peer_get_endpoint(peer, &ep);
		m = sloop_socket_mtu(sock, &ep);
		if (m > 0 && (!mtu || m < mtu))
			mtu = m;
	}
	return mtu;
}

static void sloop_device_mtu_work(struct work_struct *work)
{
	struct sloop_device *sl = container_of(work, struct sloop_device,
					       mtu_work);
	struct net_device *dev = sl->dev;
	int mtu = 0;

	rtnl_lock();
	if (dev->reg_state == NETREG_REGISTERED && !sl->mtu_user) {
		mutex_lock(&sl->lock);
		mtu = sloop_device_path_mtu(sl);
		mutex_unlock(&sl->lock);
	}
	if (mtu) {
		mtu = clamp_t(int, mtu, dev->min_mtu, dev->max_mtu);
		sl->mtu_auto = true;
		if (mtu != dev->mtu && dev_set_mtu(dev, mtu))
			netdev_warn(dev, "cannot set the MTU to %d\n", mtu);
		sl->mtu_auto = false;
	}
	rtnl_unlock();
	dev_put(dev);
}

void sloop_device_update_mtu(struct sloop_device *sl)
{
	if (READ_ONCE(sl->mtu_user))
		return;
	/* The reference keeps sl until the work has run. */
	dev_hold(sl->dev);
	if (!queue_work(sloop_mtu_wq, &sl->mtu_work))
		dev_put(sl->dev);
}

/* Under RTNL, for SIOCSIFMTU, IFLA_MTU and our own updates alike. */
static int sloop_change_mtu(struct net_device *dev, int mtu)
{
	struct sloop_device *sl = netdev_priv(dev);

	if (!sl->mtu_auto)
		WRITE_ONCE(sl->mtu_user, true);
	WRITE_ONCE(dev->mtu, mtu);
	return 0;
}

/* An underlay's MTU changed: every device may route over it. */
static int sloop_device_netdev_event(struct notifier_block *nb,
				     unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct sloop_device *sl;

	if (event != NETDEV_CHANGEMTU && event != NETDEV_UP)
		return NOTIFY_DONE;
	if (sloop_device_is_sloop(dev))
		return NOTIFY_DONE;
	spin_lock_bh(&sloop_all_lock);
	list_for_each_entry(sl, &sloop_all_devices, all_node)
		if (rcu_access_pointer(sl->sock))
			sloop_device_update_mtu(sl);
	spin_unlock_bh(&sloop_all_lock);
	return NOTIFY_DONE;
}

static struct notifier_block sloop_device_notifier = {
	.notifier_call = sloop_device_netdev_event,
};

void sloop_device_update_carrier(struct sloop_device *sl)
{
	struct sloop_peer *peer;
	unsigned long id;
	bool up = false;

	lockdep_assert_held(&sl->lock);
	if (rcu_access_pointer(sl->sock)) {
		xa_for_each(&sl->peers, id, peer) {
			if (sloop_peer_tx_ready(peer)) {
				up = true;
				break;
			}
		}
	}
	if (up && !netif_carrier_ok(sl->dev))
		netif_carrier_on(sl->dev);
	else if (!up && netif_carrier_ok(sl->dev))
		netif_carrier_off(sl->dev);
}

void sloop_device_clear_owner(struct sloop_device *sl)
{
	struct net *net = sl->owner_net;

	WRITE_ONCE(sl->owner_portid, 0);
	sl->owner_net = NULL;
	if (net) {
		/* Notifications and the control work may still use it. */
		synchronize_net();
		cancel_work_sync(&sl->ctrl.work);
		put_net(net);
	}
}

void sloop_device_detach(struct sloop_device *sl, u32 reason)
{
	lockdep_assert_held(&sl->lock);
	sloop_socket_detach(sl);
	sloop_peer_remove_all(sl, reason);
	sloop_ctrl_purge(&sl->ctrl);
	sloop_device_clear_owner(sl);
	sloop_device_update_carrier(sl);
}

static void sloop_device_release_work(struct work_struct *work)
{
	struct sloop_device *sl = container_of(work, struct sloop_device,
					       release_work);

	mutex_lock(&sl->lock);
	if (!sl->dead && rcu_access_pointer(sl->sock)) {
		netdev_info(sl->dev, "owner went away: detaching\n");
		sloop_device_detach(sl, SLOOP_DOWN_DETACHED);
	}
	mutex_unlock(&sl->lock);
}

void sloop_device_owner_gone(struct net *net, u32 portid)
{
	struct sloop_device *sl;

	spin_lock_bh(&sloop_all_lock);
	list_for_each_entry(sl, &sloop_all_devices, all_node) {
		if (!portid || READ_ONCE(sl->owner_portid) != portid ||
		    READ_ONCE(sl->owner_net) != net)
			continue;
		queue_work(system_wq, &sl->release_work);
	}
	spin_unlock_bh(&sloop_all_lock);
}

static int sloop_dev_init(struct net_device *dev)
{
	struct sloop_device *sl = netdev_priv(dev);
	int ret = -ENOMEM;

	sl->dev = dev;
	mutex_init(&sl->lock);
	xa_init_flags(&sl->peers, XA_FLAGS_LOCK_BH);
	sloop_allowedips_init(&sl->aips);
	INIT_WORK(&sl->release_work, sloop_device_release_work);
	INIT_WORK(&sl->mtu_work, sloop_device_mtu_work);
	sl->padding = SLOOP_PADDING_16;
	sl->rekey_after = 1ULL << 60;
	sl->reject_after = U64_MAX - SLOOP_REPLAY_BITS;

	dev->tstats = netdev_alloc_pcpu_stats(struct pcpu_sw_netstats);
	if (!dev->tstats)
		return -ENOMEM;
	sl->stats = sloop_device_stats_new();
	if (!sl->stats)
		goto err_tstats;
	sl->index_hash = kvcalloc(1 << SLOOP_INDEX_HASH_BITS,
				  sizeof(*sl->index_hash), GFP_KERNEL);
	if (!sl->index_hash)
		goto err_stats;
	sl->wq = alloc_workqueue("sloop-%s", WQ_CPU_INTENSIVE | WQ_MEM_RECLAIM,
				 0, dev->name);
	if (!sl->wq)
		goto err_hash;
	ret = sloop_queue_init(sl, &sl->encrypt_queue, sloop_send_crypt_work,
			       false);
	if (ret)
		goto err_wq;
	ret = sloop_queue_init(sl, &sl->decrypt_queue,
			       sloop_receive_crypt_work, true);
	if (ret)
		goto err_encrypt;
	ret = -ENOMEM;
	sl->napi_dev = kzalloc(sizeof(*sl->napi_dev), GFP_KERNEL);
	if (!sl->napi_dev)
		goto err_decrypt;
	init_dummy_netdev(sl->napi_dev);
	sloop_ctrl_init(&sl->ctrl, sl);

	spin_lock_bh(&sloop_all_lock);
	list_add(&sl->all_node, &sloop_all_devices);
	spin_unlock_bh(&sloop_all_lock);
	return 0;

err_decrypt:
	sloop_queue_uninit(&sl->decrypt_queue);
err_encrypt:
	sloop_queue_uninit(&sl->encrypt_queue);
err_wq:
	destroy_workqueue(sl->wq);
err_hash:
	kvfree(sl->index_hash);
err_stats:
	free_percpu(sl->stats);
err_tstats:
	free_percpu(dev->tstats);
	return ret;
}

/* Under RTNL, once the device is down and unreachable for xmit. */
static void sloop_dev_uninit(struct net_device *dev)
{
	struct sloop_device *sl = netdev_priv(dev);

	spin_lock_bh(&sloop_all_lock);
	list_del(&sl->all_node);
	spin_unlock_bh(&sloop_all_lock);
	cancel_work_sync(&sl->release_work);

	mutex_lock(&sl->lock);
	sl->dead = true;
	sloop_socket_detach(sl);
	sloop_peer_remove_all(sl, SLOOP_DOWN_DEVICE_GONE);
	sloop_ctrl_uninit(&sl->ctrl);
	sloop_device_clear_owner(sl);
	mutex_unlock(&sl->lock);
	flush_workqueue(sl->wq);
}

static void sloop_dev_destruct(struct net_device *dev)
{
	struct sloop_device *sl = netdev_priv(dev);

	kfree(sl->napi_dev);
	destroy_workqueue(sl->wq);
	sloop_queue_uninit(&sl->decrypt_queue);
	sloop_queue_uninit(&sl->encrypt_queue);
	sloop_allowedips_free(&sl->aips);
	kvfree(sl->index_hash);
	xa_destroy(&sl->peers);
	free_percpu(sl->stats);
	free_percpu(dev->tstats);
	mutex_destroy(&sl->lock);
}

static const struct net_device_ops sloop_netdev_ops = {
	.ndo_init = sloop_dev_init,
	.ndo_uninit = sloop_dev_uninit,
	.ndo_start_xmit = sloop_send_xmit,
	.ndo_change_mtu = sloop_change_mtu,
	.ndo_get_stats64 = dev_get_tstats64,
};

#define SLOOP_FEATURES (NETIF_F_HW_CSUM | NETIF_F_RXCSUM | NETIF_F_SG | \
			NETIF_F_GSO | NETIF_F_GSO_SOFTWARE | NETIF_F_HIGHDMA)

static void sloop_setup(struct net_device *dev)
{
	dev->netdev_ops = &sloop_netdev_ops;
	dev->type = ARPHRD_NONE;
	dev->flags = IFF_POINTOPOINT | IFF_NOARP;
	dev->priv_flags |= IFF_NO_QUEUE;
	dev->hard_header_len = 0;
	dev->addr_len = 0;
	dev->needed_headroom = SLOOP_HEADROOM;
	dev->needed_tailroom = SLOOP_TAILROOM;
	/*
	 * Until a peer's path is known: an Ethernet underlay of either
	 * family (1500 minus SLOOP_OVERHEAD_IPV6, rounded down).
	 */
	dev->mtu = ETH_DATA_LEN - 80;
	dev->min_mtu = IPV6_MIN_MTU;
	dev->max_mtu = IP_MAX_MTU - 80;
	dev->features |= NETIF_F_LLTX | SLOOP_FEATURES;
	dev->hw_features |= SLOOP_FEATURES;
	dev->hw_enc_features |= SLOOP_FEATURES;
	/* icmp_ndo_send needs the route of a packet without a peer. */
	netif_keep_dst(dev);
	dev->needs_free_netdev = true;
	dev->priv_destructor = sloop_dev_destruct;
}

static int sloop_newlink(struct net *src_net, struct net_device *dev,
			 struct nlattr *tb[], struct nlattr *data[],
			 struct netlink_ext_ack *extack)
{
	struct sloop_device *sl = netdev_priv(dev);
	int ret;

	/* An MTU given at creation is the user's: never derive one. */
	sl->mtu_user = !!tb[IFLA_MTU];
	ret = register_netdevice(dev);
	if (ret)
		return ret;
	/* The carrier waits for a daemon and a session. */
	netif_carrier_off(dev);
	return 0;
}

static struct rtnl_link_ops sloop_link_ops __read_mostly = {
	.kind = "sloop",
	.priv_size = sizeof(struct sloop_device),
	.setup = sloop_setup,
	.newlink = sloop_newlink,
};

int __init sloop_device_init(void)
{
	int ret;

	sloop_mtu_wq = alloc_workqueue("sloop-mtu", 0, 0);
	if (!sloop_mtu_wq)
		return -ENOMEM;
	ret = register_netdevice_notifier(&sloop_device_notifier);
	if (ret)
		goto err_wq;
	ret = rtnl_link_register(&sloop_link_ops);
	if (ret)
		goto err_notifier;
	return 0;

err_notifier:
	unregister_netdevice_notifier(&sloop_device_notifier);
err_wq:
	destroy_workqueue(sloop_mtu_wq);
	return ret;
}

void sloop_device_uninit(void)
{
	rtnl_link_unregister(&sloop_link_ops);
	unregister_netdevice_notifier(&sloop_device_notifier);
	/* MTU works still queued hold device references: let them run. */
	destroy_workqueue(sloop_mtu_wq);
}
