// SPDX-License-Identifier: GPL-2.0
/*
 * sloop: the virtual network device and its rtnl link kind.
 */
#include <linux/if_arp.h>
#include <linux/netdevice.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/rtnetlink.h>

#include "device.h"

static netdev_tx_t sloop_xmit(struct sk_buff *skb, struct net_device *dev)
{
	/* No peers yet: nothing can leave. */
	dev->stats.tx_dropped++;
	kfree_skb(skb);
	return NETDEV_TX_OK;
}

static const struct net_device_ops sloop_netdev_ops = {
	.ndo_start_xmit = sloop_xmit,
};

static void sloop_setup(struct net_device *dev)
{
	dev->netdev_ops = &sloop_netdev_ops;
	dev->type = ARPHRD_NONE;
	dev->flags = IFF_POINTOPOINT | IFF_NOARP;
	dev->priv_flags |= IFF_NO_QUEUE;
	dev->hard_header_len = 0;
	dev->addr_len = 0;
	dev->mtu = ETH_DATA_LEN - 80;
	dev->min_mtu = IPV6_MIN_MTU;
	dev->max_mtu = IP_MAX_MTU - 80;
	dev->needs_free_netdev = true;
}

static int sloop_newlink(struct net *src_net, struct net_device *dev,
			 struct nlattr *tb[], struct nlattr *data[],
			 struct netlink_ext_ack *extack)
{
	struct sloop_device *sl = netdev_priv(dev);
	int ret;

	sl->dev = dev;
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
	return rtnl_link_register(&sloop_link_ops);
}

void sloop_device_uninit(void)
{
	rtnl_link_unregister(&sloop_link_ops);
}
