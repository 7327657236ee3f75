/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SLOOP_PEER_H
#define _SLOOP_PEER_H

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/kref.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <net/dst_cache.h>

#include "crypto.h"
#include "device.h"

struct sloop_endpoint {
	union {
		struct sockaddr addr;
		struct sockaddr_in addr4;
		struct sockaddr_in6 addr6;
	};
};

/* Bits of sloop_peer.flags, one per key phase. */
#define SLOOP_PEER_LIMIT_SENT(phase)	(0 + (phase))
#define SLOOP_PEER_EXHAUSTED(phase)	(2 + (phase))

#define SLOOP_PEER_QUEUE_LEN	1024

struct sloop_peer {
	struct sloop_device *sl;
	struct kref ref;
	struct rcu_head rcu;
	bool dead;

	u32 id;
	u32 rx_index;
	u32 tx_index;
	enum sloop_cipher cipher;
	u8 pubkey[32];
	bool has_pubkey;

	struct hlist_node index_node;
	struct list_head subnets;	/* sloop_aip_node.peer_node */

	struct sloop_keyslot __rcu *keys[2];
	u8 tx_phase;
	unsigned long flags;
	struct sloop_hp __rcu *hp_tx;
	struct sloop_hp __rcu *hp_rx;

	spinlock_t endpoint_lock;	/* endpoint and dst_cache reset */
	struct sloop_endpoint endpoint;
	struct dst_cache dst_cache;

	/* Packets in order; each carries a crypto state in its cb. */
	struct sk_buff_head tx_queue;
	struct sk_buff_head rx_queue;
	struct work_struct tx_work;
	int serial_cpu;			/* where tx_work runs; -1: not picked */
	struct napi_struct napi;	/* delivers rx_queue */

	atomic64_t last_rx;		/* ns, CLOCK_BOOTTIME */
	struct sloop_stats __percpu *stats;
};

struct sloop_peer *sloop_peer_new(struct sloop_device *sl, u32 id,
				  u32 rx_index);
struct sloop_peer *sloop_peer_get(struct sloop_peer *peer);
void sloop_peer_put(struct sloop_peer *peer);
/* Under RCU: a referenced peer, or NULL. */
struct sloop_peer *sloop_peer_by_index(struct sloop_device *sl, u32 index);
struct sloop_peer *sloop_peer_by_addr(struct sloop_device *sl, int family,
				      const u8 *addr);
/* Removes one or all peers; sl->lock held; may sleep. */
void sloop_peer_remove(struct sloop_peer *peer, u32 reason);
void sloop_peer_remove_all(struct sloop_device *sl, u32 reason);

int sloop_peer_set_endpoint(struct sloop_peer *peer,
			    const struct sloop_endpoint *ep);
void sloop_peer_get_endpoint(struct sloop_peer *peer,
			     struct sloop_endpoint *ep);
int sloop_peer_set_hp(struct sloop_peer *peer, bool tx, const u8 *key,
		      unsigned int len);
/* Install, or with @ks NULL remove, the key of a phase; sl->lock held. */
void sloop_peer_set_key(struct sloop_peer *peer, u8 phase,
			struct sloop_keyslot *ks);
bool sloop_peer_tx_ready(struct sloop_peer *peer);

#endif /* _SLOOP_PEER_H */
