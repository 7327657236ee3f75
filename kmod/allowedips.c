// SPDX-License-Identifier: GPL-2.0
/*
 * sloop: longest-prefix match of inner addresses to peers.
 *
 * A path-compressed binary trie per address family. Readers walk it under
 * RCU without locks; writers hold the device lock. A node either carries a
 * peer (an allowed subnet) or is a pure branching point, which is removed
 * as soon as it has fewer than two children.
 */
#include <linux/errno.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/string.h>

#include "allowedips.h"

static unsigned int aip_bit(const u8 *bits, unsigned int i)
{
	return (bits[i / 8] >> (7 - i % 8)) & 1;
}

static void aip_mask(u8 *bits, unsigned int cidr, unsigned int bitlen)
{
	unsigned int i;

	for (i = 0; i < bitlen / 8; i++) {
		if (cidr >= (i + 1) * 8)
			continue;
		if (cidr <= i * 8)
			bits[i] = 0;
		else
			bits[i] &= 0xff << (8 - (cidr - i * 8));
	}
}

/* Number of leading bits @a and @b share, at most @max. */
static unsigned int aip_common(const u8 *a, const u8 *b, unsigned int max)
{
	unsigned int i, n = 0;

	for (i = 0; n < max; i++) {
		u8 x = a[i] ^ b[i];

		if (x) {
			n += 7 - __fls(x);
			break;
		}
		n += 8;
	}
	return min(n, max);
}

static bool aip_matches(const struct sloop_aip_node *node, const u8 *key)
{
	return aip_common(node->bits, key, node->cidr) == node->cidr;
}

static struct sloop_aip_node __rcu **aip_root(struct sloop_allowedips *t,
					      int family)
{
	return family == AF_INET ? &t->root4 : &t->root6;
}

/* The pointer that links @node into the trie. */
static struct sloop_aip_node __rcu **aip_link(struct sloop_allowedips *t,
					      struct sloop_aip_node *node)
{
	struct sloop_aip_node *p = node->parent;

	if (!p)
		return aip_root(t, node->bitlen == 32 ? AF_INET : AF_INET6);
	return &p->child[aip_bit(node->bits, p->cidr)];
}

static struct sloop_aip_node *aip_node_new(const u8 *key, u8 cidr, u8 bitlen,
					   struct sloop_peer *peer)
{
	struct sloop_aip_node *node = kzalloc(sizeof(*node), GFP_KERNEL);

	if (!node)
		return NULL;
	memcpy(node->bits, key, bitlen / 8);
	aip_mask(node->bits, cidr, bitlen);
	node->cidr = cidr;
	node->bitlen = bitlen;
	RCU_INIT_POINTER(node->peer, peer);
	INIT_LIST_HEAD(&node->peer_node);
	return node;
}

void sloop_allowedips_init(struct sloop_allowedips *t)
{
	RCU_INIT_POINTER(t->root4, NULL);
	RCU_INIT_POINTER(t->root6, NULL);
}

static void aip_set_peer(struct sloop_aip_node *node, struct sloop_peer *peer,
			 struct list_head *list)
{
	list_del(&node->peer_node);
	list_add_tail(&node->peer_node, list);
	rcu_assign_pointer(node->peer, peer);
}

int sloop_allowedips_insert(struct sloop_allowedips *t, int family,
			    const u8 *addr, u8 cidr, struct sloop_peer *peer,
			    struct list_head *list)
{
	u8 bitlen = family == AF_INET ? 32 : 128;
	struct sloop_aip_node __rcu **link = aip_root(t, family);
	struct sloop_aip_node *node, *parent = NULL, *fresh, *branch;
	u8 key[16];
	unsigned int common;

	if ((family != AF_INET && family != AF_INET6) || cidr > bitlen)
		return -EINVAL;
	memcpy(key, addr, bitlen / 8);
	aip_mask(key, cidr, bitlen);

	for (;;) {
		node = rcu_dereference_protected(*link, true);
		if (!node)
			break;
		common = aip_common(node->bits, key, min(node->cidr, cidr));
		if (common == node->cidr && node->cidr == cidr) {
			aip_set_peer(node, peer, list);
			return 0;
		}
		if (common < node->cidr)
			break;
		parent = node;
		link = &node->child[aip_bit(key, node->cidr)];
	}

	fresh = aip_node_new(key, cidr, bitlen, peer);
	if (!fresh)
		return -ENOMEM;
	fresh->parent = parent;
	list_add_tail(&fresh->peer_node, list);
	if (!node) {
		rcu_assign_pointer(*link, fresh);
		return 0;
	}
	if (common == cidr) {
		/* The new prefix covers @node: it goes above it. */
		RCU_INIT_POINTER(fresh->child[aip_bit(node->bits, cidr)], node);
		node->parent = fresh;
		rcu_assign_pointer(*link, fresh);
		return 0;
	}
	/* They diverge at bit @common: a branching point joins them. */
	branch = aip_node_new(key, common, bitlen, NULL);
	if (!branch) {
		list_del(&fresh->peer_node);
		kfree(fresh);
		return -ENOMEM;
	}
	branch->parent = parent;
	RCU_INIT_POINTER(branch->child[aip_bit(key, common)], fresh);
	RCU_INIT_POINTER(branch->child[aip_bit(node->bits, common)], node);
	fresh->parent = branch;
	node->parent = branch;
	rcu_assign_pointer(*link, branch);
	return 0;
}

/* Unlink @node if it is peerless and has at most one child. */
static void aip_compact(struct sloop_allowedips *t, struct sloop_aip_node *node)
{
	while (node && !rcu_access_pointer(node->peer)) {
		struct sloop_aip_node *c0, *c1, *only, *parent = node->parent;

		c0 = rcu_dereference_protected(node->child[0], true);
		c1 = rcu_dereference_protected(node->child[1], true);
		if (c0 && c1)
			return;
		only = c0 ? c0 : c1;
		if (only)
			only->parent = parent;
		rcu_assign_pointer(*aip_link(t, node), only);
		kfree_rcu(node, rcu);
		node = parent;
	}
}

void sloop_allowedips_remove_list(struct sloop_allowedips *t,
				  struct list_head *list)
{
	struct sloop_aip_node *node, *tmp;

	list_for_each_entry_safe(node, tmp, list, peer_node) {
		list_del_init(&node->peer_node);
		RCU_INIT_POINTER(node->peer, NULL);
		aip_compact(t, node);
	}
}

static void aip_free_tree(struct sloop_aip_node *node)
{
	if (!node)
		return;
	aip_free_tree(rcu_dereference_protected(node->child[0], true));
	aip_free_tree(rcu_dereference_protected(node->child[1], true));
	list_del(&node->peer_node);
	kfree_rcu(node, rcu);
}

/* Only for a trie no reader can reach any more, or in the self test. */
void sloop_allowedips_free(struct sloop_allowedips *t)
{
	aip_free_tree(rcu_dereference_protected(t->root4, true));
	aip_free_tree(rcu_dereference_protected(t->root6, true));
	sloop_allowedips_init(t);
}

struct sloop_peer *sloop_allowedips_lookup(struct sloop_allowedips *t,
					   int family, const u8 *addr)
{
	struct sloop_aip_node *node;
	struct sloop_peer *best = NULL, *peer;
	unsigned int bitlen = family == AF_INET ? 32 : 128;

	node = rcu_dereference_bh(*aip_root(t, family));
	while (node && aip_matches(node, addr)) {
		peer = rcu_dereference_bh(node->peer);
		if (peer)
			best = peer;
		if (node->cidr == bitlen)
			break;
		node = rcu_dereference_bh(node->child[aip_bit(addr, node->cidr)]);
	}
	return best;
}

/*
 * Self test: random prefixes against a brute-force longest match. The
 * fake peers are only compared, never dereferenced.
 */
#define AIP_TEST_PREFIXES	256
#define AIP_TEST_PEERS		8
#define AIP_TEST_LOOKUPS	4096

struct aip_test_prefix {
	u8 addr[16];
	u8 cidr;
	int peer;
	bool live;
};

static int aip_brute(const struct aip_test_prefix *p, unsigned int n,
		     const u8 *addr, unsigned int bitlen)
{
	int best = -1, best_cidr = -1;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!p[i].live || p[i].cidr <= best_cidr)
			continue;
		if (aip_common(p[i].addr, addr, p[i].cidr) == p[i].cidr) {
			best = p[i].peer;
			best_cidr = p[i].cidr;
		}
	}
	return best;
}

static bool aip_selftest_family(int family, struct aip_test_prefix *p,
				struct list_head *lists, u8 *tokens)
{
	struct sloop_allowedips t;
	unsigned int bitlen = family == AF_INET ? 32 : 128;
	unsigned int i, j, round;
	bool ok = true;
	u8 addr[16];

	sloop_allowedips_init(&t);
	for (i = 0; i < AIP_TEST_PEERS; i++)
		INIT_LIST_HEAD(&lists[i]);
	for (i = 0; i < AIP_TEST_PREFIXES; i++) {
		get_random_bytes(p[i].addr, sizeof(p[i].addr));
		/* Share the first byte often so that prefixes nest. */
		p[i].addr[0] &= 0x3;
		p[i].cidr = get_random_u32() % (bitlen + 1);
		aip_mask(p[i].addr, p[i].cidr, bitlen);
		p[i].peer = get_random_u32() % AIP_TEST_PEERS;
		p[i].live = true;
		/* A later insert of the same prefix replaces the earlier. */
		for (j = 0; j < i; j++)
			if (p[j].live && p[j].cidr == p[i].cidr &&
			    !memcmp(p[j].addr, p[i].addr, bitlen / 8))
				p[j].live = false;
		if (sloop_allowedips_insert(&t, family, p[i].addr, p[i].cidr,
					    (struct sloop_peer *)&tokens[p[i].peer],
					    &lists[p[i].peer])) {
			ok = false;
			goto out;
		}
	}
	for (round = 0; round < 2 && ok; round++) {
		rcu_read_lock_bh();
		for (i = 0; i < AIP_TEST_LOOKUPS; i++) {
			struct sloop_peer *got;
			int want;

			if (i & 1) {
				memcpy(addr, p[i % AIP_TEST_PREFIXES].addr, 16);
				addr[bitlen / 8 - 1] ^= get_random_u32() & 3;
			} else {
				get_random_bytes(addr, sizeof(addr));
				addr[0] &= 0x3;
			}
			want = aip_brute(p, AIP_TEST_PREFIXES, addr, bitlen);
			got = sloop_allowedips_lookup(&t, family, addr);
			if (got != (want < 0 ? NULL :
				    (struct sloop_peer *)&tokens[want])) {
				ok = false;
				break;
			}
		}
		rcu_read_unlock_bh();
		/* Second round: after removing half of the peers. */
		for (i = 0; i < AIP_TEST_PEERS; i += 2)
			sloop_allowedips_remove_list(&t, &lists[i]);
		for (i = 0; i < AIP_TEST_PREFIXES; i++)
			if (!(p[i].peer & 1))
				p[i].live = false;
	}
out:
	for (i = 0; i < AIP_TEST_PEERS; i++)
		sloop_allowedips_remove_list(&t, &lists[i]);
	if (rcu_access_pointer(t.root4) || rcu_access_pointer(t.root6))
		ok = false;
	sloop_allowedips_free(&t);
	return ok;
}

bool sloop_allowedips_selftest(void)
{
	struct aip_test_prefix *p;
	struct list_head lists[AIP_TEST_PEERS];
	u8 tokens[AIP_TEST_PEERS];
	bool ok;

	p = kcalloc(AIP_TEST_PREFIXES, sizeof(*p), GFP_KERNEL);
	if (!p)
		return false;
	ok = aip_selftest_family(AF_INET, p, lists, tokens) &&
	     aip_selftest_family(AF_INET6, p, lists, tokens);
	kfree(p);
	if (!ok)
		pr_err("sloop: allowedips self test failed\n");
	return ok;
}
