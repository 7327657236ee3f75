/* SPDX-License-Identifier: MIT */
/*
 * sloopd's kernel client: the sloop generic netlink family, as the
 * daemon needs it.  Two sockets: `evt` attaches the device (so it is the
 * owner: the kernel unicasts CTRL_RECV to it, and closing it at exit or
 * crash detaches the device) and receives notifications; `cmd` carries
 * the synchronous requests, so that an event never arrives in the middle
 * of a request's reply.
 */
#ifndef SLOOPD_KNL_H
#define SLOOPD_KNL_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "session.h"
#include "sloopnl.h"

struct knl {
	struct snl cmd, evt;
	unsigned int ifindex;
	char ifname[IF_NAMESIZE];
};

struct knl_subnet {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t cidr;
};

/* A PEER_NEW / PEER_SET request: NULL or 0 fields are left out. */
struct knl_peer {
	uint32_t id;
	const uint8_t *pubkey;		/* 32 bytes, a label */
	const struct sockaddr *endpoint;
	socklen_t endpoint_len;
	uint32_t rx_index, tx_index;
	int cipher;
	const uint8_t *hp_tx, *hp_rx;
	uint8_t hp_len;
	const struct knl_subnet *subnets;
	size_t n_subnets;
	bool replace_subnets;
};

struct knl_peer_info {
	uint64_t last_rx_ns;		/* CLOCK_BOOTTIME, 0: never */
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
	uint8_t tx_phase;
};

struct knl_event {
	uint8_t cmd;			/* SLOOP_CMD_CTRL_RECV, ..._NTF */
	uint32_t peer_id;
	const uint8_t *ctrl;		/* CTRL_RECV */
	size_t ctrl_len;
	uint32_t reason;		/* PEER_DOWN_NTF */
	int phase;			/* KEY_LIMIT_NTF, else -1 */
	const struct sockaddr *endpoint;	/* ENDPOINT_NTF */
};

typedef void (*knl_event_fn)(void *ctx, const struct knl_event *ev);

/* Opens both sockets and finds ifname; -errno, with text in k->cmd. */
int knl_open(struct knl *k, const char *ifname);
void knl_close(struct knl *k);
/* Hands the bound UDP socket to the kernel; we become the owner. */
int knl_attach(struct knl *k, int udp_fd);
int knl_dev_set_padding(struct knl *k, int padding);
/* KEY_LIMIT_NTF once a key has sent this many packets (> 0). */
int knl_dev_set_rekey_after(struct knl *k, uint64_t packets);
int knl_peer_new(struct knl *k, const struct knl_peer *p);
int knl_peer_set(struct knl *k, const struct knl_peer *p);
int knl_peer_del(struct knl *k, uint32_t id);
int knl_peer_get(struct knl *k, uint32_t id, struct knl_peer_info *info);
int knl_key_new(struct knl *k, uint32_t peer, uint8_t phase, uint32_t key_id,
		const struct sess_data_keys *keys);
int knl_key_swap(struct knl *k, uint32_t peer, uint8_t phase);
int knl_key_del(struct knl *k, uint32_t peer, uint8_t phase);
int knl_ctrl_send(struct knl *k, uint32_t peer, const uint8_t *buf,
		  size_t len);
/* The event socket's fd, for epoll. */
int knl_event_fd(const struct knl *k);
/* Reads what is pending on the event socket; events of other devices
 * are ignored.  0 or -errno. */
int knl_read_events(struct knl *k, knl_event_fn fn, void *ctx);
/* "kernel text" of the last error, or "". */
const char *knl_errtext(const struct knl *k);

#endif
