/* SPDX-License-Identifier: MIT */
/*
 * sloopctl's side of generic netlink: the plumbing is daemon/common's
 * snl_* (sloopnl.h); here only what a command-line tool adds on top:
 * errors explained on stderr, devices named by the user.
 */
#ifndef SLOOPCTL_NL_H
#define SLOOPCTL_NL_H

#include "sloopnl.h"

/* An error already printed to stderr, not an errno. */
#define SCTL_EREPORTED (-100000)

/* snl_open, its failure explained on stderr; 0 or -1. */
int sctl_nl_open(struct snl *nl);
/* SLOOP_A_IFINDEX of the device named dev; 0, or -1 after a message. */
int sctl_nl_put_dev(struct nl_msg *msg, const char *dev);
/* "sloopctl: WHAT: strerror (the kernel's extended ack)" on stderr. */
void sctl_nl_perror(struct snl *nl, const char *what, int err);

#endif
