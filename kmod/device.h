/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SLOOP_DEVICE_H
#define _SLOOP_DEVICE_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/ptr_ring.h>
#include <linux/u64_stats_sync.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <sloop/uapi.h>

#include "allowedips.h"
#include "control.h"

#define SLOOP_INDEX_HASH_BITS	12
#define SLOOP_RING_SIZE		4096
/* Room for the transport header and the outer UDP/IPv6 headers. */
#define SLOOP_HEADROOM		(SLOOP_HDR_LEN + 8 + 40 + LL_MAX_HEADER)
#define SLOOP_TAILROOM		(SLOOP_TAG_LEN + 16)

struct sloop_device;
struct sloop_crypto_buf;

/* One per possible CPU: drains a device-wide crypto ring. */
struct sloop_crypt_worker {
	struct work_struct work;
	struct sloop_device *sl;
	struct sloop_crypto_buf *buf;	/* its AEAD request and sg */
};

struct sloop_crypt_queue {
	struct ptr_ring ring;
	struct sloop_crypt_worker __percpu *workers;
	atomic_t last_cpu;
	bool rx;			/* decrypt: done packets go to NAPI */
};

/* Counters by enum sloop_stats_a, per CPU: summed when read. */
struct sloop_stats {
	u64_stats_t v[__SLOOP_STATS_A_MAX];
	struct u64_stats_sync syncp;
};

struct sloop_device {
	struct net_device *dev;
	struct list_head all_node;	/* sloop_all_devices */
	/* Serialises configuration: peers, keys, attach and teardown. */
	struct mutex lock;
	bool dead;

	struct socket __rcu *sock;	/* attached UDP socket, or NULL */
	u32 owner_portid;
	struct net *owner_net;		/* referenced while attached */
	pid_t owner_pid;		/* for show: the attaching process */
	struct work_struct release_work;	/* the owner went away */

	struct xarray peers;		/* by peer id */
	u32 num_peers;
	struct hlist_head *index_hash;	/* by rx_index, RCU */
	struct sloop_allowedips aips;

	struct workqueue_struct *wq;
	struct sloop_crypt_queue encrypt_queue;
	struct sloop_crypt_queue decrypt_queue;
	/*
	 * Holds the peers' NAPI contexts. On the sloop device itself they
	 * would sit on a list that RTNL guards, and peers come and go under
	 * sl->lock alone; nothing but us walks this one.
	 */
	struct net_device *napi_dev;

	struct sloop_ctrl_queue ctrl;

	u8 padding;			/* enum sloop_padding */
	u64 rekey_after;
	u64 reject_after;
	struct sloop_stats __percpu *stats;

	/* Under RTNL: the MTU was set by hand, or we are setting it. */
	bool mtu_user;
	bool mtu_auto;
	struct work_struct mtu_work;
};

/* From any context: softirq and process context share a CPU's copy. */
static inline void sloop_stat_add(struct sloop_stats __percpu *stats, int idx,
				  u64 n)
{
	struct sloop_stats *s = get_cpu_ptr(stats);
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&s->syncp);
	u64_stats_add(&s->v[idx], n);
	u64_stats_update_end_irqrestore(&s->syncp, flags);
	put_cpu_ptr(stats);
}

struct sloop_stats __percpu *sloop_device_stats_new(void);
/* The sum over all CPUs of counter @idx. */
u64 sloop_device_stats_read(struct sloop_stats __percpu *stats, int idx);
/*
 * Recomputes the MTU from the underlay later (it needs RTNL), unless the
 * user set one: call after an endpoint, the socket or the peers change.
 */
void sloop_device_update_mtu(struct sloop_device *sl);

int sloop_device_init(void);
void sloop_device_uninit(void);
bool sloop_device_is_sloop(const struct net_device *dev);
/* Recomputes the carrier; call with sl->lock held. */
void sloop_device_update_carrier(struct sloop_device *sl);
/* Drops peers and socket after the owner left; sl->lock held. */
/* Forgets the owner; sl->lock held. */
void sloop_device_clear_owner(struct sloop_device *sl);
void sloop_device_detach(struct sloop_device *sl, u32 reason);
void sloop_device_owner_gone(struct net *net, u32 portid);

#endif /* _SLOOP_DEVICE_H */
