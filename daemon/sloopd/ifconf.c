// SPDX-License-Identifier: MIT
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "ifconf.h"

/* One rtnetlink request, waited for; 0, or -errno from the kernel. */
static int rtnl_do(struct nl_msg *m)
{
	struct nl_sock *sk = nl_socket_alloc();
	int ret;

	if (!sk) {
		nlmsg_free(m);
		return -ENOMEM;
	}
	ret = nl_connect(sk, NETLINK_ROUTE);
	if (!ret)
		ret = nl_send_auto(sk, m);
	if (ret >= 0)
		ret = nl_wait_for_ack(sk);
	nlmsg_free(m);
	nl_socket_free(sk);
	if (ret == -NLE_EXIST)
		return 0;
	return ret < 0 ? -EIO : 0;
}

static int addr_len(const struct opt_addr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

int ifc_addr(unsigned int ifindex, const struct opt_addr *local,
	     const struct opt_addr *remote)
{
	struct ifaddrmsg ifa = { 0 };
	struct nl_msg *m;
	bool ptp;

	if (!local->family)
		return 0;
	ptp = remote->family == local->family;
	ifa.ifa_family = (uint8_t)local->family;
	ifa.ifa_prefixlen = local->family == AF_INET ? 32 : 128;
	ifa.ifa_index = ifindex;
	ifa.ifa_flags = local->family == AF_INET6 ? IFA_F_NODAD : 0;
	m = nlmsg_alloc_simple(RTM_NEWADDR,
			       NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK);
	if (!m)
		return -ENOMEM;
	if (nlmsg_append(m, &ifa, sizeof(ifa), NLMSG_ALIGNTO) ||
	    nla_put(m, IFA_LOCAL, addr_len(local), &local->u) ||
	    nla_put(m, IFA_ADDRESS, addr_len(local),
		    ptp ? (const void *)&remote->u : (const void *)&local->u)) {
		nlmsg_free(m);
		return -EMSGSIZE;
	}
	return rtnl_do(m);
}

int ifc_addr_prefix(unsigned int ifindex, const struct opt_addr *addr,
		    unsigned int prefix)
{
	struct ifaddrmsg ifa = { 0 };
	struct nl_msg *m;

	ifa.ifa_family = (uint8_t)addr->family;
	ifa.ifa_prefixlen = (uint8_t)prefix;
	ifa.ifa_index = ifindex;
	ifa.ifa_flags = addr->family == AF_INET6 ? IFA_F_NODAD : 0;
	m = nlmsg_alloc_simple(RTM_NEWADDR,
			       NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK);
	if (!m)
		return -ENOMEM;
	if (nlmsg_append(m, &ifa, sizeof(ifa), NLMSG_ALIGNTO) ||
	    nla_put(m, IFA_LOCAL, addr_len(addr), &addr->u) ||
	    nla_put(m, IFA_ADDRESS, addr_len(addr), &addr->u)) {
		nlmsg_free(m);
		return -EMSGSIZE;
	}
	return rtnl_do(m);
}

int ifc_link_up(const char *ifname, bool up)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		ret = -errno;
		goto out;
	}
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
out:
	close(fd);
	return ret;
}

int ifc_set_mtu(const char *ifname, int mtu)
{
	struct ifreq ifr = { .ifr_mtu = mtu };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCSIFMTU, &ifr) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int ifc_route(unsigned int ifindex, const struct knl_subnet *s, bool add)
{
	struct rtmsg rt = { 0 };
	struct nl_msg *m;
	int flags = NLM_F_REQUEST | NLM_F_ACK;

	rt.rtm_family = (uint8_t)s->family;
	rt.rtm_dst_len = s->cidr;
	rt.rtm_table = RT_TABLE_MAIN;
	rt.rtm_protocol = RTPROT_STATIC;
	rt.rtm_scope = RT_SCOPE_LINK;
	rt.rtm_type = RTN_UNICAST;
	if (add)
		flags |= NLM_F_CREATE | NLM_F_EXCL;
	m = nlmsg_alloc_simple(add ? RTM_NEWROUTE : RTM_DELROUTE, flags);
	if (!m)
		return -ENOMEM;
	if (nlmsg_append(m, &rt, sizeof(rt), NLMSG_ALIGNTO) ||
	    nla_put(m, RTA_DST, s->family == AF_INET ? 4 : 16, s->addr) ||
	    nla_put_u32(m, RTA_OIF, ifindex)) {
		nlmsg_free(m);
		return -EMSGSIZE;
	}
	return rtnl_do(m);
}
