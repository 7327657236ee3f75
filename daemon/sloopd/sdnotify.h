/* SPDX-License-Identifier: MIT */
#ifndef SLOOPD_SDNOTIFY_H
#define SLOOPD_SDNOTIFY_H

/*
 * Tell the service manager something (e.g. "READY=1") over the datagram
 * socket named in $NOTIFY_SOCKET, without linking libsystemd.  Returns 0
 * when sent, 0 too when there is no manager to tell, -1 on error.
 */
int sdnotify_send(const char *state);

#endif
