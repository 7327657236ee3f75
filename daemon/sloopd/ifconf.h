/* SPDX-License-Identifier: MIT */
/*
 * Interface configuration the way pppd does it for ppp0: the inner
 * point-to-point address (IPLOCAL peer IPREMOTE), the link flag, and a
 * route per peer subnet, over rtnetlink (libnl core, no libnl-route).
 */
#ifndef SLOOPD_IFCONF_H
#define SLOOPD_IFCONF_H

#include <stdbool.h>
#include <stdint.h>

#include "knl.h"
#include "options.h"

/* local/remote may be unset (family 0); 0 or -errno.  EEXIST is fine. */
int ifc_addr(unsigned int ifindex, const struct opt_addr *local,
	     const struct opt_addr *remote);
/* addr/prefix on the device (a loop's /22, /64); 0 or -errno. */
int ifc_addr_prefix(unsigned int ifindex, const struct opt_addr *addr,
		    unsigned int prefix);
int ifc_link_up(const char *ifname, bool up);
int ifc_set_mtu(const char *ifname, int mtu);
/* Adds (add = true) or removes a route to s through the device. */
int ifc_route(unsigned int ifindex, const struct knl_subnet *s, bool add);

#endif
