// SPDX-License-Identifier: MIT
/*
 * sloopctl: the user-facing layer over snl_*.  snl_* never prints, so
 * that the daemon can log its own way; a command-line tool tells the
 * user on stderr, with the kernel's extended-ack text when there is one,
 * because "Invalid argument" alone does not say which token was wrong.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <sloop/uapi.h>

#include "nl.h"

int sctl_nl_open(struct snl *nl)
{
	if (!snl_open(nl))
		return 0;
	fprintf(stderr, "sloopctl: %s\n",
		nl->errmsg[0] ? nl->errmsg : "cannot open netlink");
	return -1;
}

int sctl_nl_put_dev(struct nl_msg *msg, const char *dev)
{
	unsigned int idx = if_nametoindex(dev);

	if (!idx) {
		fprintf(stderr, "sloopctl: no such device '%s'\n", dev);
		return -1;
	}
	if (nla_put_u32(msg, SLOOP_A_IFINDEX, idx)) {
		fprintf(stderr, "sloopctl: message too large\n");
		return -1;
	}
	return 0;
}

void sctl_nl_perror(struct snl *nl, const char *what, int err)
{
	if (nl->extack[0])
		fprintf(stderr, "sloopctl: %s: %s (%s)\n", what,
			strerror(-err), nl->extack);
	else
		fprintf(stderr, "sloopctl: %s: %s\n", what, strerror(-err));
}
