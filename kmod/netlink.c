// SPDX-License-Identifier: GPL-2.0
/*
 * sloop: the generic netlink family "sloop" (include/sloop/uapi.h,
 * docs/netlink/sloop.yaml).
 */
#include <linux/hash.h>
#include <linux/netdevice.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <linux/socket.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "device.h"
#include "netlink.h"
#include "peer.h"
#include "send.h"
#include "socket.h"

static struct genl_family sloop_genl_family;

static const struct nla_policy sloop_subnet_policy[SLOOP_SUBNET_A_MAX + 1] = {
	[SLOOP_SUBNET_A_FAMILY] = { .type = NLA_U16 },
	[SLOOP_SUBNET_A_ADDR] = NLA_POLICY_RANGE(NLA_BINARY, 4, 16),
	[SLOOP_SUBNET_A_CIDR] = NLA_POLICY_MAX(NLA_U8, 128),
};

static const struct nla_policy sloop_subnets_policy[SLOOP_SUBNET + 1] = {
	[SLOOP_SUBNET] = NLA_POLICY_NESTED(sloop_subnet_policy),
};

static const struct nla_policy sloop_key_policy[SLOOP_KEY_A_MAX + 1] = {
	[SLOOP_KEY_A_PAD] = { .type = NLA_REJECT },
	[SLOOP_KEY_A_PHASE] = NLA_POLICY_MAX(NLA_U8, 1),
	[SLOOP_KEY_A_ID] = { .type = NLA_U32 },
	[SLOOP_KEY_A_TX_KEY] = NLA_POLICY_RANGE(NLA_BINARY, 16,
						SLOOP_KEY_MAX_LEN),
	[SLOOP_KEY_A_TX_SALT] = NLA_POLICY_EXACT_LEN(SLOOP_SALT_LEN),
	[SLOOP_KEY_A_RX_KEY] = NLA_POLICY_RANGE(NLA_BINARY, 16,
						SLOOP_KEY_MAX_LEN),
	[SLOOP_KEY_A_RX_SALT] = NLA_POLICY_EXACT_LEN(SLOOP_SALT_LEN),
	[SLOOP_KEY_A_TX_PACKETS] = { .type = NLA_REJECT },
	[SLOOP_KEY_A_RX_PACKETS] = { .type = NLA_REJECT },
};

static const struct nla_policy sloop_peer_policy[SLOOP_PEER_A_MAX + 1] = {
	[SLOOP_PEER_A_PAD] = { .type = NLA_REJECT },
	[SLOOP_PEER_A_ID] = NLA_POLICY_MIN(NLA_U32, 1),
	[SLOOP_PEER_A_PUBKEY] = NLA_POLICY_EXACT_LEN(32),
	[SLOOP_PEER_A_ENDPOINT] =
		NLA_POLICY_RANGE(NLA_BINARY, sizeof(struct sockaddr_in),
				 sizeof(struct sockaddr_in6)),
	[SLOOP_PEER_A_RX_INDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[SLOOP_PEER_A_TX_INDEX] = { .type = NLA_U32 },
	[SLOOP_PEER_A_CIPHER] = NLA_POLICY_RANGE(NLA_U32, 1, SLOOP_CIPHER_MAX),
	[SLOOP_PEER_A_HP_TX_KEY] = NLA_POLICY_RANGE(NLA_BINARY, 16,
						    SLOOP_KEY_MAX_LEN),
	[SLOOP_PEER_A_HP_RX_KEY] = NLA_POLICY_RANGE(NLA_BINARY, 16,
						    SLOOP_KEY_MAX_LEN),
	[SLOOP_PEER_A_SUBNETS] = NLA_POLICY_NESTED(sloop_subnets_policy),
	[SLOOP_PEER_A_REPLACE_SUBNETS] = { .type = NLA_FLAG },
	[SLOOP_PEER_A_TX_PHASE] = { .type = NLA_REJECT },
	[SLOOP_PEER_A_KEYS] = { .type = NLA_REJECT },
	[SLOOP_PEER_A_LAST_RX] = { .type = NLA_REJECT },
	[SLOOP_PEER_A_STATS] = { .type = NLA_REJECT },
};

static const struct nla_policy sloop_policy[SLOOP_A_MAX + 1] = {
	[SLOOP_A_PAD] = { .type = NLA_REJECT },
	[SLOOP_A_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[SLOOP_A_IFNAME] = { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
	[SLOOP_A_SOCK_FD] = { .type = NLA_U32 },
	[SLOOP_A_LISTEN_PORT] = { .type = NLA_REJECT },
	[SLOOP_A_OWNER_PID] = { .type = NLA_REJECT },
	[SLOOP_A_CARRIER] = { .type = NLA_REJECT },
	[SLOOP_A_NUM_PEERS] = { .type = NLA_REJECT },
	[SLOOP_A_PADDING] = NLA_POLICY_MAX(NLA_U8, SLOOP_PADDING_MAX),
	[SLOOP_A_REKEY_AFTER_PACKETS] = NLA_POLICY_MIN(NLA_U64, 1),
	[SLOOP_A_REJECT_AFTER_PACKETS] = NLA_POLICY_MIN(NLA_U64, 1),
	[SLOOP_A_STATS] = { .type = NLA_REJECT },
	[SLOOP_A_PEER] = NLA_POLICY_NESTED(sloop_peer_policy),
	[SLOOP_A_KEY] = NLA_POLICY_NESTED(sloop_key_policy),
	[SLOOP_A_CTRL] = NLA_POLICY_RANGE(NLA_BINARY, 1, SLOOP_CTRL_MAX),
	[SLOOP_A_REASON] = { .type = NLA_REJECT },
};

/* Netlink keeps the last of duplicated attributes; we refuse them. */
static int sloop_nl_no_dups(const struct nlattr *head, int len,
			    struct netlink_ext_ack *extack)
{
	DECLARE_BITMAP(seen, 64) = {};
	const struct nlattr *nla;
	int rem, type;

	nla_for_each_attr(nla, head, len, rem) {
		type = nla_type(nla);
		if (type >= 64)
			continue;	/* the policy rejects it */
		if (test_and_set_bit(type, seen)) {
			NL_SET_ERR_MSG_ATTR(extack, nla, "duplicated attribute");
			return -EINVAL;
		}
	}
	return 0;
}

static int sloop_nl_parse_nest(struct nlattr **tb, int max,
			       const struct nlattr *nest,
			       const struct nla_policy *policy,
			       struct netlink_ext_ack *extack)
{
	int ret = sloop_nl_no_dups(nla_data(nest), nla_len(nest), extack);

	if (ret)
		return ret;
	return nla_parse_nested(tb, max, nest, policy, extack);
}

/* The device the request names, referenced; or an ERR_PTR. */
static struct sloop_device *sloop_nl_device(struct net *net,
					    struct nlattr **attrs,
					    struct netlink_ext_ack *extack)
{
	struct net_device *dev = NULL;

	if (attrs[SLOOP_A_IFINDEX]) {
		dev = dev_get_by_index(net, nla_get_u32(attrs[SLOOP_A_IFINDEX]));
	} else if (attrs[SLOOP_A_IFNAME]) {
		dev = dev_get_by_name(net, nla_data(attrs[SLOOP_A_IFNAME]));
	} else {
		NL_SET_ERR_MSG(extack, "device not named (IFINDEX or IFNAME)");
		return ERR_PTR(-EINVAL);
	}
	if (!dev) {
		NL_SET_ERR_MSG(extack, "no such device");
		return ERR_PTR(-ENODEV);
	}
	if (!sloop_device_is_sloop(dev)) {
		dev_put(dev);
		NL_SET_ERR_MSG(extack, "not a sloop device");
		return ERR_PTR(-EOPNOTSUPP);
	}
	return netdev_priv(dev);
}

static int sloop_nl_pre_doit(const struct genl_ops *ops, struct sk_buff *skb,
			     struct genl_info *info)
{
	struct sloop_device *sl;
	int ret;

	ret = sloop_nl_no_dups(genlmsg_data(info->genlhdr),
			       genlmsg_len(info->genlhdr), info->extack);
	if (ret)
		return ret;
	sl = sloop_nl_device(genl_info_net(info), info->attrs, info->extack);
	if (IS_ERR(sl))
		return PTR_ERR(sl);
	info->user_ptr[0] = sl;
	mutex_lock(&sl->lock);
	if (sl->dead) {
		mutex_unlock(&sl->lock);
		dev_put(sl->dev);
		return -ENODEV;
	}
	return 0;
}

static void sloop_nl_post_doit(const struct genl_ops *ops,
			       struct sk_buff *skb, struct genl_info *info)
{
	struct sloop_device *sl = info->user_ptr[0];

	mutex_unlock(&sl->lock);
	dev_put(sl->dev);
}

static int sloop_nl_put_stats(struct sk_buff *skb, int type,
			      struct sloop_stats __percpu *stats)
{
	struct nlattr *nest = nla_nest_start(skb, type);
	int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = SLOOP_STATS_A_RX_BYTES; i <= SLOOP_STATS_A_MAX; i++)
		if (nla_put_u64_64bit(skb, i, sloop_device_stats_read(stats, i),
				      SLOOP_STATS_A_PAD))
			goto cancel;
	nla_nest_end(skb, nest);
	return 0;

cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

static int sloop_nl_fill_dev(struct sk_buff *skb, struct sloop_device *sl,
			     u32 portid, u32 seq, int flags)
{
	struct net_device *dev = sl->dev;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &sloop_genl_family, flags,
			  SLOOP_CMD_DEV_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, SLOOP_A_IFINDEX, dev->ifindex) ||
	    nla_put_string(skb, SLOOP_A_IFNAME, dev->name) ||
	    nla_put_u16(skb, SLOOP_A_LISTEN_PORT, sloop_socket_port(sl)) ||
	    nla_put_u32(skb, SLOOP_A_OWNER_PID,
			READ_ONCE(sl->owner_portid) ?
			READ_ONCE(sl->owner_pid) : 0) ||
	    nla_put_u8(skb, SLOOP_A_CARRIER, netif_carrier_ok(dev)) ||
	    nla_put_u32(skb, SLOOP_A_NUM_PEERS, READ_ONCE(sl->num_peers)) ||
	    nla_put_u8(skb, SLOOP_A_PADDING, READ_ONCE(sl->padding)) ||
	    nla_put_u64_64bit(skb, SLOOP_A_REKEY_AFTER_PACKETS,
			      READ_ONCE(sl->rekey_after), SLOOP_A_PAD) ||
	    nla_put_u64_64bit(skb, SLOOP_A_REJECT_AFTER_PACKETS,
			      READ_ONCE(sl->reject_after), SLOOP_A_PAD) ||
	    sloop_nl_put_stats(skb, SLOOP_A_STATS, sl->stats))
		goto cancel;
	genlmsg_end(skb, hdr);
	return 0;

cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static int sloop_nl_dev_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	int ret;

	msg = nlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	ret = sloop_nl_fill_dev(msg, info->user_ptr[0], info->snd_portid,
				info->snd_seq, 0);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

/* cb->args[0]: how many sloop devices earlier rounds dumped. */
static int sloop_nl_dev_get_dumpit(struct sk_buff *skb,
				   struct netlink_callback *cb)
{
	struct net *net = sock_net(skb->sk);
	struct net_device *dev;
	long idx = 0;

	rcu_read_lock();
	for_each_netdev_rcu(net, dev) {
		if (!sloop_device_is_sloop(dev))
			continue;
		if (idx++ < cb->args[0])
			continue;
		if (sloop_nl_fill_dev(skb, netdev_priv(dev),
				      NETLINK_CB(cb->skb).portid,
				      cb->nlh->nlmsg_seq, NLM_F_MULTI)) {
			idx--;
			break;
		}
	}
	rcu_read_unlock();
	cb->args[0] = idx;
	return skb->len;
}

static int sloop_nl_dev_attach(struct sk_buff *skb, struct genl_info *info)
{
	struct sloop_device *sl = info->user_ptr[0];
	int ret;

	if (!info->attrs[SLOOP_A_SOCK_FD]) {
		NL_SET_ERR_MSG(info->extack, "SOCK_FD missing");
		return -EINVAL;
	}
	if (rcu_access_pointer(sl->sock)) {
		NL_SET_ERR_MSG(info->extack, "device already attached");
		return -EBUSY;
	}
	ret = sloop_socket_attach(sl, nla_get_u32(info->attrs[SLOOP_A_SOCK_FD]));
	if (ret) {
		NL_SET_ERR_MSG(info->extack, "not a bound UDP socket of ours");
		return ret;
	}
	WRITE_ONCE(sl->owner_pid, task_tgid_vnr(current));
	WRITE_ONCE(sl->owner_net, get_net(genl_info_net(info)));
	WRITE_ONCE(sl->owner_portid, info->snd_portid);
	sloop_device_update_carrier(sl);
	/* Routes are looked up in the socket's netns. */
	sloop_device_update_mtu(sl);
	return 0;
}

static int sloop_nl_dev_detach(struct sk_buff *skb, struct genl_info *info)
{
	struct sloop_device *sl = info->user_ptr[0];

	if (!rcu_access_pointer(sl->sock))
		return -ENOTCONN;
	if (info->snd_portid != sl->owner_portid) {
		NL_SET_ERR_MSG(info->extack, "only the owner may detach");
		return -EPERM;
	}
	sloop_device_detach(sl, SLOOP_DOWN_DETACHED);
	return 0;
}

static int sloop_nl_dev_set(struct sk_buff *skb, struct genl_info *info)
{
	struct sloop_device *sl = info->user_ptr[0];
	struct nlattr **a = info->attrs;

	if (a[SLOOP_A_PADDING])
		WRITE_ONCE(sl->padding, nla_get_u8(a[SLOOP_A_PADDING]));
	if (a[SLOOP_A_REKEY_AFTER_PACKETS])
		WRITE_ONCE(sl->rekey_after,
			   nla_get_u64(a[SLOOP_A_REKEY_AFTER_PACKETS]));
	if (a[SLOOP_A_REJECT_AFTER_PACKETS])
		WRITE_ONCE(sl->reject_after,
			   nla_get_u64(a[SLOOP_A_REJECT_AFTER_PACKETS]));
	return 0;
}

/* Parses SLOOP_A_PEER into @tb; the peer id must be there. */
static int sloop_nl_peer_attrs(struct genl_info *info, struct nlattr **tb)
{
	int ret;

	if (!info->attrs[SLOOP_A_PEER]) {
		NL_SET_ERR_MSG(info->extack, "PEER missing");
		return -EINVAL;
	}
	ret = sloop_nl_parse_nest(tb, SLOOP_PEER_A_MAX,
				  info->attrs[SLOOP_A_PEER], sloop_peer_policy,
				  info->extack);
	if (ret)
		return ret;
	if (!tb[SLOOP_PEER_A_ID]) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[SLOOP_A_PEER],
				    "PEER.ID missing");
		return -EINVAL;
	}
	return 0;
}

static struct sloop_peer *sloop_nl_peer(struct sloop_device *sl,
					struct genl_info *info,
					struct nlattr **tb)
{
	struct sloop_peer *peer;
	int ret = sloop_nl_peer_attrs(info, tb);

	if (ret)
		return ERR_PTR(ret);
	peer = xa_load(&sl->peers, nla_get_u32(tb[SLOOP_PEER_A_ID]));
	if (!peer) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[SLOOP_PEER_A_ID],
				    "no such peer");
		return ERR_PTR(-ENOENT);
	}
	return peer;
}

struct sloop_nl_subnet {
	int family;
	u8 cidr;
	u8 addr[16];
};

/* Checks every subnet before anything changes. */
static int sloop_nl_subnets_parse(struct nlattr *list,
				  struct sloop_nl_subnet **out, int *n,
				  struct netlink_ext_ack *extack)
{
	struct nlattr *tb[SLOOP_SUBNET_A_MAX + 1], *nla;
	struct sloop_nl_subnet *s;
	int rem, count = 0, ret, len;

	nla_for_each_nested(nla, list, rem)
		count++;
	*n = 0;
	*out = kcalloc(max(count, 1), sizeof(**out), GFP_KERNEL);
	if (!*out)
		return -ENOMEM;
	nla_for_each_nested(nla, list, rem) {
		s = &(*out)[*n];
		ret = sloop_nl_parse_nest(tb, SLOOP_SUBNET_A_MAX, nla,
					  sloop_subnet_policy, extack);
		if (ret)
			return ret;
		if (!tb[SLOOP_SUBNET_A_FAMILY] || !tb[SLOOP_SUBNET_A_ADDR] ||
		    !tb[SLOOP_SUBNET_A_CIDR]) {
			NL_SET_ERR_MSG_ATTR(extack, nla,
					    "subnet needs FAMILY, ADDR, CIDR");
			return -EINVAL;
		}
		s->family = nla_get_u16(tb[SLOOP_SUBNET_A_FAMILY]);
		s->cidr = nla_get_u8(tb[SLOOP_SUBNET_A_CIDR]);
		len = nla_len(tb[SLOOP_SUBNET_A_ADDR]);
		if (!((s->family == AF_INET && len == 4 && s->cidr <= 32) ||
		      (s->family == AF_INET6 && len == 16)))  {
			NL_SET_ERR_MSG_ATTR(extack, nla, "bad subnet");
			return -EINVAL;
		}
		memcpy(s->addr, nla_data(tb[SLOOP_SUBNET_A_ADDR]), len);
		(*n)++;
	}
	return 0;
}

static int sloop_nl_endpoint(const struct nlattr *nla,
			     struct sloop_endpoint *ep)
{
	int len = nla_len(nla);

	memset(ep, 0, sizeof(*ep));
	memcpy(ep, nla_data(nla), len);
	if ((ep->addr.sa_family == AF_INET &&
	     len == sizeof(struct sockaddr_in)) ||
	    (ep->addr.sa_family == AF_INET6 &&
	     len == sizeof(struct sockaddr_in6)))
		return 0;
	return -EINVAL;
}

/* Applies the settable peer attributes; on error, some may be applied. */
static int sloop_nl_peer_apply(struct sloop_peer *peer, struct nlattr **tb,
			       struct netlink_ext_ack *extack)
{
	struct sloop_device *sl = peer->sl;
	struct sloop_nl_subnet *subnets = NULL;
	struct sloop_endpoint ep;
	int ret = 0, n = 0, i;

	if (tb[SLOOP_PEER_A_ENDPOINT] &&
	    sloop_nl_endpoint(tb[SLOOP_PEER_A_ENDPOINT], &ep)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[SLOOP_PEER_A_ENDPOINT],
				    "endpoint must be sockaddr_in or _in6");
		return -EINVAL;
	}
	if (tb[SLOOP_PEER_A_SUBNETS]) {
		ret = sloop_nl_subnets_parse(tb[SLOOP_PEER_A_SUBNETS], &subnets,
					     &n, extack);
		if (ret)
			goto out;
	}
	if (tb[SLOOP_PEER_A_RX_INDEX]) {
		u32 index = nla_get_u32(tb[SLOOP_PEER_A_RX_INDEX]);

		if (index != peer->rx_index) {
			struct sloop_peer *other;

			rcu_read_lock_bh();
			other = sloop_peer_by_index(sl, index);
			rcu_read_unlock_bh();
			if (other) {
				sloop_peer_put(other);
				NL_SET_ERR_MSG(extack, "RX_INDEX in use");
				ret = -EADDRINUSE;
				goto out;
			}
			hlist_del_rcu(&peer->index_node);
			synchronize_net();
			peer->rx_index = index;
			hlist_add_head_rcu(&peer->index_node,
					   &sl->index_hash[hash_32(index,
						SLOOP_INDEX_HASH_BITS)]);
		}
	}
	if (tb[SLOOP_PEER_A_CIPHER])
		peer->cipher = nla_get_u32(tb[SLOOP_PEER_A_CIPHER]);
	if (tb[SLOOP_PEER_A_HP_TX_KEY]) {
		ret = sloop_peer_set_hp(peer, true,
					nla_data(tb[SLOOP_PEER_A_HP_TX_KEY]),
					nla_len(tb[SLOOP_PEER_A_HP_TX_KEY]));
		if (ret) {
			NL_SET_ERR_MSG(extack, "bad HP_TX_KEY for the cipher");
			goto out;
		}
	}
	if (tb[SLOOP_PEER_A_HP_RX_KEY]) {
		ret = sloop_peer_set_hp(peer, false,
					nla_data(tb[SLOOP_PEER_A_HP_RX_KEY]),
					nla_len(tb[SLOOP_PEER_A_HP_RX_KEY]));
		if (ret) {
			NL_SET_ERR_MSG(extack, "bad HP_RX_KEY for the cipher");
			goto out;
		}
	}
	if (tb[SLOOP_PEER_A_PUBKEY]) {
		memcpy(peer->pubkey, nla_data(tb[SLOOP_PEER_A_PUBKEY]), 32);
		peer->has_pubkey = true;
	}
	if (tb[SLOOP_PEER_A_TX_INDEX])
		WRITE_ONCE(peer->tx_index,
			   nla_get_u32(tb[SLOOP_PEER_A_TX_INDEX]));
	if (tb[SLOOP_PEER_A_ENDPOINT])
		sloop_peer_set_endpoint(peer, &ep);
	if (tb[SLOOP_PEER_A_REPLACE_SUBNETS])
		sloop_allowedips_remove_list(&sl->aips, &peer->subnets);
	for (i = 0; i < n; i++) {
		ret = sloop_allowedips_insert(&sl->aips, subnets[i].family,
					      subnets[i].addr, subnets[i].cidr,
					      peer, &peer->subnets);
		if (ret)
			goto out;
	}
out:
	kfree(subnets);
	return ret;
}

static int sloop_nl_peer_new(struct sk_buff *skb, struct genl_info *info)
{
	struct sloop_device *sl = info->user_ptr[0];
	struct nlattr *tb[SLOOP_PEER_A_MAX + 1];
	struct sloop_peer *peer;
	u32 index = 0;
	int ret;

	ret = sloop_nl_peer_attrs(info, tb);
	if (ret)
		return ret;
	if (tb[SLOOP_PEER_A_RX_INDEX])
		index = nla_get_u32(tb[SLOOP_PEER_A_RX_INDEX]);
	peer = sloop_peer_new(sl, nla_get_u32(tb[SLOOP_PEER_A_ID]), index);
	if (IS_ERR(peer)) {
		if (PTR_ERR(peer) == -EEXIST)
			NL_SET_ERR_MSG(info->extack, "peer id exists");
		else
			NL_SET_ERR_MSG(info->extack, "cannot add peer");
		return PTR_ERR(peer);
	}
	ret = sloop_nl_peer_apply(peer, tb, info->extack);
	if (ret)
		sloop_peer_remove(peer, 0);
	return ret;
}

static int sloop_nl_peer_set(struct sk_buff *skb, struct genl_info *info)
{
	struct sloop_device *sl = info->user_ptr[0];
	struct nlattr *tb[SLOOP_PEER_A_MAX + 1];
	struct sloop_peer *peer = sloop_nl_peer(sl, info, tb);

	if (IS_ERR(peer))
		return PTR_ERR(peer);
	return sloop_nl_peer_apply(peer, tb, info->extack);
}

static int sloop_nl_peer_del(struct sk_buff *skb, struct genl_info *info)
{
	struct sloop_device *sl = info->user_ptr[0];
	struct nlattr *tb[SLOOP_PEER_A_MAX + 1];
	struct sloop_peer *peer = sloop_nl_peer(sl, info, tb);

	if (IS_ERR(peer))
		return PTR_ERR(peer);
	sloop_peer_remove(peer, SLOOP_DOWN_DELETED);
	sloop_device_update_carrier(sl);
	/* The smallest path may have gone with it. */
	sloop_device_update_mtu(sl);
	return 0;
}

static int sloop_nl_put_subnets(struct sk_buff *skb, struct sloop_peer *peer)
{
	struct nlattr *list, *one;
	struct sloop_aip_node *node;

	list = nla_nest_start(skb, SLOOP_PEER_A_SUBNETS);
	if (!list)
		return -EMSGSIZE;
	list_for_each_entry(node, &peer->subnets, peer_node) {
		one = nla_nest_start(skb, SLOOP_SUBNET);
		if (!one ||
		    nla_put_u16(skb, SLOOP_SUBNET_A_FAMILY,
				node->bitlen == 32 ? AF_INET : AF_INET6) ||
		    nla_put(skb, SLOOP_SUBNET_A_ADDR, node->bitlen / 8,
			    node->bits) ||
		    nla_put_u8(skb, SLOOP_SUBNET_A_CIDR, node->cidr))
			return -EMSGSIZE;
		nla_nest_end(skb, one);
	}
	nla_nest_end(skb, list);
	return 0;
}

static int sloop_nl_put_keys(struct sk_buff *skb, struct sloop_peer *peer)
{
	struct sloop_keyslot *ks;
	struct nlattr *list, *one;
	int phase;

	list = nla_nest_start(skb, SLOOP_PEER_A_KEYS);
	if (!list)
		return -EMSGSIZE;
	for (phase = 0; phase < 2; phase++) {
		ks = rcu_dereference_protected(peer->keys[phase],
					       lockdep_is_held(&peer->sl->lock));
		if (!ks)
			continue;
		one = nla_nest_start(skb, SLOOP_A_KEY);
		if (!one || nla_put_u8(skb, SLOOP_KEY_A_PHASE, phase) ||
		    nla_put_u32(skb, SLOOP_KEY_A_ID, ks->id) ||
		    nla_put_u64_64bit(skb, SLOOP_KEY_A_TX_PACKETS,
				      atomic64_read(&ks->tx_next),
				      SLOOP_KEY_A_PAD) ||
		    nla_put_u64_64bit(skb, SLOOP_KEY_A_RX_PACKETS,
				      atomic64_read(&ks->rx_packets),
				      SLOOP_KEY_A_PAD))
			return -EMSGSIZE;
		nla_nest_end(skb, one);
	}
	nla_nest_end(skb, list);
	return 0;
}

static int sloop_nl_put_peer(struct sk_buff *skb, struct sloop_peer *peer)
{
	struct sloop_endpoint ep;
	struct nlattr *nest;

	nest = nla_nest_start(skb, SLOOP_A_PEER);
	if (!nest)
		return -EMSGSIZE;
	sloop_peer_get_endpoint(peer, &ep);
	if (nla_put_u32(skb, SLOOP_PEER_A_ID, peer->id) ||
	    (peer->has_pubkey &&
	     nla_put(skb, SLOOP_PEER_A_PUBKEY, 32, peer->pubkey)) ||
	    (ep.addr.sa_family == AF_INET &&
	     nla_put(skb, SLOOP_PEER_A_ENDPOINT, sizeof(ep.addr4), &ep.addr4)) ||
	    (ep.addr.sa_family == AF_INET6 &&
	     nla_put(skb, SLOOP_PEER_A_ENDPOINT, sizeof(ep.addr6), &ep.addr6)) ||
	    nla_put_u32(skb, SLOOP_PEER_A_RX_INDEX, peer->rx_index) ||
	    nla_put_u32(skb, SLOOP_PEER_A_TX_INDEX, peer->tx_index) ||
	    nla_put_u32(skb, SLOOP_PEER_A_CIPHER, peer->cipher) ||
	    nla_put_u8(skb, SLOOP_PEER_A_TX_PHASE, READ_ONCE(peer->tx_phase)) ||
	    nla_put_u64_64bit(skb, SLOOP_PEER_A_LAST_RX,
			      atomic64_read(&peer->last_rx),
			      SLOOP_PEER_A_PAD) ||
	    sloop_nl_put_subnets(skb, peer) || sloop_nl_put_keys(skb, peer) ||
	    sloop_nl_put_stats(skb, SLOOP_PEER_A_STATS, peer->stats)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int sloop_nl_fill_peer(struct sk_buff *skb, struct sloop_peer *peer,
			      u32 portid, u32 seq, int flags, u8 cmd)
{
	void *hdr = genlmsg_put(skb, portid, seq, &sloop_genl_family, flags,
				cmd);

	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, SLOOP_A_IFINDEX, peer->sl->dev->ifindex) ||
	    sloop_nl_put_peer(skb, peer)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int sloop_nl_peer_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sloop_device *sl = info->user_ptr[0];
	struct nlattr *tb[SLOOP_PEER_A_MAX + 1];
	struct sloop_peer *peer = sloop_nl_peer(sl, info, tb);
	struct sk_buff *msg;
	int ret;

	if (IS_ERR(peer))
		return PTR_ERR(peer);
	msg = genlmsg_new(GENLMSG_DEFAULT_SIZE * 4, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	ret = sloop_nl_fill_peer(msg, peer, info->snd_portid, info->snd_seq, 0,
				 SLOOP_CMD_PEER_GET);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

/*
 * Peer dump, resumable: cb->args[0] the ifindex, cb->args[1] the next peer
 * id to dump, cb->args[2] set once all were dumped.
 */
static int sloop_nl_peer_dump_start(struct netlink_callback *cb)
{
	const struct genl_dumpit_info *di = genl_dumpit_info(cb);
	struct sloop_device *sl;

	sl = sloop_nl_device(sock_net(cb->skb->sk), di->attrs, cb->extack);
	if (IS_ERR(sl))
		return PTR_ERR(sl);
	cb->args[0] = sl->dev->ifindex;
	cb->args[1] = 1;
	cb->args[2] = 0;
	dev_put(sl->dev);
	return 0;
}

static int sloop_nl_peer_dumpit(struct sk_buff *skb,
				struct netlink_callback *cb)
{
	struct net_device *dev;
	struct sloop_device *sl;
	struct sloop_peer *peer;
	unsigned long id;
	int ret = 0, n = 0;

	if (cb->args[2])
		return 0;
	dev = dev_get_by_index(sock_net(skb->sk), cb->args[0]);
	if (!dev || !sloop_device_is_sloop(dev)) {
		dev_put(dev);
		return -ENODEV;
	}
	sl = netdev_priv(dev);
	mutex_lock(&sl->lock);
	id = cb->args[1];
	xa_for_each_start(&sl->peers, id, peer, cb->args[1]) {
		ret = sloop_nl_fill_peer(skb, peer, NETLINK_CB(cb->skb).portid,
					 cb->nlh->nlmsg_seq, NLM_F_MULTI,
					 SLOOP_CMD_PEER_GET);
		if (ret)
			break;
		n++;
	}
	mutex_unlock(&sl->lock);
	dev_put(dev);
	if (ret && !n)
		return ret;	/* one peer larger than a message */
	if (ret) {
		cb->args[1] = id;
		return skb->len;
	}
	cb->args[2] = 1;
	return skb->len;
}

static int sloop_nl_key_attrs(struct genl_info *info, struct nlattr **kt)
{
	int ret;

	if (!info->attrs[SLOOP_A_KEY]) {
		NL_SET_ERR_MSG(info->extack, "KEY missing");
		return -EINVAL;
	}
	ret = sloop_nl_parse_nest(kt, SLOOP_KEY_A_MAX, info->attrs[SLOOP_A_KEY],
				  sloop_key_policy, info->extack);
	if (ret)
		return ret;
	if (!kt[SLOOP_KEY_A_PHASE]) {
		NL_SET_ERR_MSG(info->extack, "KEY.PHASE missing");
		return -EINVAL;
	}
	return 0;
}

static int sloop_nl_key_new(struct sk_buff *skb, struct genl_info *info)
{
	struct sloop_device *sl = info->user_ptr[0];
	struct nlattr *tb[SLOOP_PEER_A_MAX + 1], *kt[SLOOP_KEY_A_MAX + 1];
	struct sloop_peer *peer = sloop_nl_peer(sl, info, tb);
	struct sloop_keyslot *ks;
	unsigned int klen;
	int ret;

	if (IS_ERR(peer))
		return PTR_ERR(peer);
	ret = sloop_nl_key_attrs(info, kt);
	if (ret)
		return ret;
	if (!kt[SLOOP_KEY_A_TX_KEY] || !kt[SLOOP_KEY_A_TX_SALT] ||
	    !kt[SLOOP_KEY_A_RX_KEY] || !kt[SLOOP_KEY_A_RX_SALT]) {
		NL_SET_ERR_MSG(info->extack, "KEY needs TX/RX KEY and SALT");
		return -EINVAL;
	}
	klen = sloop_crypto_key_len(peer->cipher);
	if (nla_len(kt[SLOOP_KEY_A_TX_KEY]) != klen ||
	    nla_len(kt[SLOOP_KEY_A_RX_KEY]) != klen) {
		NL_SET_ERR_MSG(info->extack, "key length does not fit cipher");
		return -EINVAL;
	}
	ks = sloop_crypto_keyslot_new(peer->cipher,
				      nla_get_u8(kt[SLOOP_KEY_A_PHASE]),
				      kt[SLOOP_KEY_A_ID] ?
				      nla_get_u32(kt[SLOOP_KEY_A_ID]) : 0,
				      nla_data(kt[SLOOP_KEY_A_TX_KEY]),
				      nla_data(kt[SLOOP_KEY_A_TX_SALT]),
				      nla_data(kt[SLOOP_KEY_A_RX_KEY]),
				      nla_data(kt[SLOOP_KEY_A_RX_SALT]));
	if (IS_ERR(ks))
		return PTR_ERR(ks);
	sloop_peer_set_key(peer, nla_get_u8(kt[SLOOP_KEY_A_PHASE]), ks);
	sloop_device_update_carrier(sl);
	return 0;
}

static int sloop_nl_key_swap(struct sk_buff *skb, struct genl_info *info)
{
	struct sloop_device *sl = info->user_ptr[0];
	struct nlattr *tb[SLOOP_PEER_A_MAX + 1], *kt[SLOOP_KEY_A_MAX + 1];
	struct sloop_peer *peer = sloop_nl_peer(sl, info, tb);
	u8 phase;
	int ret;

	if (IS_ERR(peer))
		return PTR_ERR(peer);
	ret = sloop_nl_key_attrs(info, kt);
	if (ret)
		return ret;
	phase = nla_get_u8(kt[SLOOP_KEY_A_PHASE]);
	if (!rcu_access_pointer(peer->keys[phase])) {
		NL_SET_ERR_MSG(info->extack, "no key in that phase");
		return -ENOKEY;
	}
	WRITE_ONCE(peer->tx_phase, phase);
	sloop_device_update_carrier(sl);
	return 0;
}

static int sloop_nl_key_del(struct sk_buff *skb, struct genl_info *info)
{
	struct sloop_device *sl = info->user_ptr[0];
	struct nlattr *tb[SLOOP_PEER_A_MAX + 1], *kt[SLOOP_KEY_A_MAX + 1];
	struct sloop_peer *peer = sloop_nl_peer(sl, info, tb);
	u8 phase;
	int ret;

	if (IS_ERR(peer))
		return PTR_ERR(peer);
	ret = sloop_nl_key_attrs(info, kt);
	if (ret)
		return ret;
	phase = nla_get_u8(kt[SLOOP_KEY_A_PHASE]);
	if (!rcu_access_pointer(peer->keys[phase]))
		return -ENOENT;
	sloop_peer_set_key(peer, phase, NULL);
	sloop_device_update_carrier(sl);
	return 0;
}

static int sloop_nl_ctrl_send(struct sk_buff *skb, struct genl_info *info)
{
	struct sloop_device *sl = info->user_ptr[0];
	struct nlattr *tb[SLOOP_PEER_A_MAX + 1];
	struct sloop_peer *peer = sloop_nl_peer(sl, info, tb);
	struct nlattr *ctrl = info->attrs[SLOOP_A_CTRL];

	if (IS_ERR(peer))
		return PTR_ERR(peer);
	if (!ctrl) {
		NL_SET_ERR_MSG(info->extack, "CTRL missing");
		return -EINVAL;
	}
	if (!rcu_access_pointer(sl->sock))
		return -ENOTCONN;
	return sloop_send_ctrl(peer, nla_data(ctrl), nla_len(ctrl));
}

static const struct genl_ops sloop_genl_ops[] = {
	{
		.cmd = SLOOP_CMD_DEV_GET,
		.doit = sloop_nl_dev_get_doit,
		.dumpit = sloop_nl_dev_get_dumpit,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = SLOOP_CMD_DEV_ATTACH,
		.doit = sloop_nl_dev_attach,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = SLOOP_CMD_DEV_DETACH,
		.doit = sloop_nl_dev_detach,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = SLOOP_CMD_DEV_SET,
		.doit = sloop_nl_dev_set,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = SLOOP_CMD_PEER_NEW,
		.doit = sloop_nl_peer_new,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = SLOOP_CMD_PEER_SET,
		.doit = sloop_nl_peer_set,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = SLOOP_CMD_PEER_DEL,
		.doit = sloop_nl_peer_del,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = SLOOP_CMD_PEER_GET,
		.doit = sloop_nl_peer_get_doit,
		.start = sloop_nl_peer_dump_start,
		.dumpit = sloop_nl_peer_dumpit,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = SLOOP_CMD_KEY_NEW,
		.doit = sloop_nl_key_new,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = SLOOP_CMD_KEY_SWAP,
		.doit = sloop_nl_key_swap,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = SLOOP_CMD_KEY_DEL,
		.doit = sloop_nl_key_del,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = SLOOP_CMD_CTRL_SEND,
		.doit = sloop_nl_ctrl_send,
		.flags = GENL_UNS_ADMIN_PERM,
	},
};

static const struct genl_multicast_group sloop_mcgrps[] = {
	{ .name = SLOOP_MCGRP_NOTIFY },
};

static struct genl_family sloop_genl_family __ro_after_init = {
	.name = SLOOP_GENL_NAME,
	.version = SLOOP_GENL_VERSION,
	.maxattr = SLOOP_A_MAX,
	.policy = sloop_policy,
	.netnsok = true,
	.pre_doit = sloop_nl_pre_doit,
	.post_doit = sloop_nl_post_doit,
	.module = THIS_MODULE,
	.ops = sloop_genl_ops,
	.n_ops = ARRAY_SIZE(sloop_genl_ops),
	.mcgrps = sloop_mcgrps,
	.n_mcgrps = ARRAY_SIZE(sloop_mcgrps),
};

static void sloop_nl_notify(struct sloop_peer *peer, u8 cmd, int phase,
			    u32 reason)
{
	struct sloop_device *sl = peer->sl;
	struct nlattr *nest;
	struct sk_buff *msg;
	struct net *owner;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_ATOMIC);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &sloop_genl_family, 0, cmd);
	if (!hdr)
		goto free;
	if (nla_put_u32(msg, SLOOP_A_IFINDEX, sl->dev->ifindex) ||
	    nla_put_string(msg, SLOOP_A_IFNAME, sl->dev->name))
		goto free;
	nest = nla_nest_start(msg, SLOOP_A_PEER);
	if (!nest || nla_put_u32(msg, SLOOP_PEER_A_ID, peer->id))
		goto free;
	if (cmd == SLOOP_CMD_ENDPOINT_NTF) {
		struct sloop_endpoint ep;

		sloop_peer_get_endpoint(peer, &ep);
		if (nla_put(msg, SLOOP_PEER_A_ENDPOINT,
			    ep.addr.sa_family == AF_INET ? sizeof(ep.addr4) :
			    sizeof(ep.addr6), &ep))
			goto free;
	}
	nla_nest_end(msg, nest);
	if (reason && nla_put_u32(msg, SLOOP_A_REASON, reason))
		goto free;
	if (phase >= 0) {
		nest = nla_nest_start(msg, SLOOP_A_KEY);
		if (!nest || nla_put_u8(msg, SLOOP_KEY_A_PHASE, phase))
			goto free;
		nla_nest_end(msg, nest);
	}
	genlmsg_end(msg, hdr);
	owner = READ_ONCE(sl->owner_net);
	if (owner && !net_eq(owner, dev_net(sl->dev))) {
		struct sk_buff *copy = skb_clone(msg, GFP_ATOMIC);

		if (copy)
			genlmsg_multicast_netns(&sloop_genl_family, owner, copy,
						0, 0, GFP_ATOMIC);
	}
	genlmsg_multicast_netns(&sloop_genl_family, dev_net(sl->dev), msg, 0,
				0, GFP_ATOMIC);
	return;

free:
	nlmsg_free(msg);
}

void sloop_netlink_peer_down(struct sloop_peer *peer, u32 reason)
{
	sloop_nl_notify(peer, SLOOP_CMD_PEER_DOWN_NTF, -1, reason);
}

void sloop_netlink_key_limit(struct sloop_peer *peer, u8 phase)
{
	sloop_nl_notify(peer, SLOOP_CMD_KEY_LIMIT_NTF, phase, 0);
}

void sloop_netlink_endpoint(struct sloop_peer *peer)
{
	sloop_nl_notify(peer, SLOOP_CMD_ENDPOINT_NTF, -1, 0);
}

int sloop_netlink_ctrl_recv(struct sloop_device *sl, struct net *net,
			    u32 portid, u32 peer_id, const u8 *data,
			    unsigned int len)
{
	struct nlattr *nest;
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(len + 256, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put(msg, 0, 0, &sloop_genl_family, 0,
			  SLOOP_CMD_CTRL_RECV);
	if (!hdr)
		goto free;
	if (nla_put_u32(msg, SLOOP_A_IFINDEX, sl->dev->ifindex))
		goto free;
	nest = nla_nest_start(msg, SLOOP_A_PEER);
	if (!nest || nla_put_u32(msg, SLOOP_PEER_A_ID, peer_id))
		goto free;
	nla_nest_end(msg, nest);
	if (nla_put(msg, SLOOP_A_CTRL, len, data))
		goto free;
	genlmsg_end(msg, hdr);
	return genlmsg_unicast(net, msg, portid);

free:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static int sloop_nl_release(struct notifier_block *nb, unsigned long event,
			    void *ptr)
{
	struct netlink_notify *n = ptr;

	if (event == NETLINK_URELEASE && n->protocol == NETLINK_GENERIC)
		sloop_device_owner_gone(n->net, n->portid);
	return NOTIFY_DONE;
}

static struct notifier_block sloop_nl_notifier = {
	.notifier_call = sloop_nl_release,
};

int __init sloop_netlink_init(void)
{
	int ret;

	ret = netlink_register_notifier(&sloop_nl_notifier);
	if (ret)
		return ret;
	ret = genl_register_family(&sloop_genl_family);
	if (ret)
		netlink_unregister_notifier(&sloop_nl_notifier);
	return ret;
}

void sloop_netlink_uninit(void)
{
	genl_unregister_family(&sloop_genl_family);
	netlink_unregister_notifier(&sloop_nl_notifier);
}
