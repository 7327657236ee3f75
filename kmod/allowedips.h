/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SLOOP_ALLOWEDIPS_H
#define _SLOOP_ALLOWEDIPS_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/types.h>

struct sloop_peer;

/* A node of the path-compressed binary trie; bits are big endian. */
struct sloop_aip_node {
	struct sloop_peer __rcu *peer;	/* NULL: a branching point only */
	struct sloop_aip_node __rcu *child[2];
	struct sloop_aip_node *parent;	/* updates only, under the lock */
	struct list_head peer_node;	/* on the owner's list */
	struct rcu_head rcu;
	u8 cidr;
	u8 bitlen;			/* 32 or 128 */
	u8 bits[16] __aligned(8);	/* masked to cidr */
};

struct sloop_allowedips {
	struct sloop_aip_node __rcu *root4;
	struct sloop_aip_node __rcu *root6;
};

void sloop_allowedips_init(struct sloop_allowedips *t);
/* Updates need the caller's lock; @list is the peer's list of nodes. */
int sloop_allowedips_insert(struct sloop_allowedips *t, int family,
			    const u8 *addr, u8 cidr, struct sloop_peer *peer,
			    struct list_head *list);
void sloop_allowedips_remove_list(struct sloop_allowedips *t,
				  struct list_head *list);
void sloop_allowedips_free(struct sloop_allowedips *t);
/* Under rcu_read_lock: the longest match for @addr, or NULL. */
struct sloop_peer *sloop_allowedips_lookup(struct sloop_allowedips *t,
					   int family, const u8 *addr);
/* The node's address masked to its prefix, for dumps. */
bool sloop_allowedips_selftest(void);

#endif /* _SLOOP_ALLOWEDIPS_H */
