/* SPDX-License-Identifier: MIT */
/*
 * sloopd's broker client (loop mode, `loop NAME`): one Noise_IK
 * connection to sloop-scb (scbconn.h) in sloopd's epoll loop, redialled
 * with backoff while the broker is down (never an exit for that).
 *
 *	HELLO -> WELCOME -> LOOPS  (REGISTER first if the broker answers B405)
 *	  loop listed      -> LOOP_GET
 *	  not listed       -> LOOP_CREATE (found) | JOIN (invite) | wait
 *	events: PENDING (auto-approve), JOINED, MEMBER, REVOKED, RENEW,
 *	        RENDEZVOUS, CONNECT, REJECTED, WIPE
 *
 * Every device the broker reports is checked against the loop's
 * credential set (loop.h) before it becomes a peer: the broker can
 * remove trust but not add it.  The set and the members' endpoints are
 * cached on disk after each change, and loaded at start, so the loop
 * comes up without the broker.  UDP probes go from the data socket so
 * that the broker learns the NAT mapping the data will use.
 */
#ifndef SLOOPD_BROKER_H
#define SLOOPD_BROKER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "link.h"
#include "loop.h"
#include "scbconn.h"

#define BRK_PENDING_MAX	32
#define BRK_WAIT_MAX	32

/* A device in the loop's waiting room, for `pending` / `approve`. */
struct brk_wait {
	uint8_t dev[32];
	char name[OPT_NAME_LEN + 1];
	uint8_t a4[4], a6[16];
	unsigned int approvals;		/* so far, of the policy's */
	uint64_t approved_at;		/* when auto-approve signed, or 0 */
};

struct brk {
	struct lk *l;
	const struct sloopd_options *o;
	int ep;				/* sloopd's epoll */
	uint8_t ed_sk[64], ed_pub[32];
	uint8_t x_priv[32], broker_x[32];
	char cache[PATH_MAX];

	struct scbc c;
	int fd;				/* -1: not connected */
	bool connecting, welcomed;
	uint32_t ep_events;
	unsigned int fails;
	uint64_t next_dial_ms, next_probe_ms, next_get_ms, next_check_ms;
	uint64_t next_renew_ms, next_loops_ms;
	uint8_t token[16];
	struct sockaddr_storage udp_to;	/* the broker's probe port */
	socklen_t udp_to_len;
	uint32_t next_id;
	struct {
		uint32_t id;
		uint8_t type;
	} pend[BRK_PENDING_MAX];
	bool registered_try, joined_try, created_try, waiting_logged;
	bool drop;			/* close once the read returns */
	char drop_msg[160];

	struct loop_state st;
	bool addr_set;
	uint8_t my4[4], my6[16];
	struct brk_wait wait[BRK_WAIT_MAX];
	size_t n_wait;

	/* a control-socket request waiting for its reply (invite) */
	uint32_t sync_id;
	bool sync_done;
	int sync_err;
	bool sync_accept;
	char sync_text[128];
};

/* After lk_start: keys, cache (peers come up from it), first dial. */
int brk_init(struct brk *b, struct lk *l, const struct sloopd_options *o,
	     int ep);
bool brk_owns(const struct brk *b, int fd);
void brk_on_fd(struct brk *b, uint32_t events);
void brk_tick(struct brk *b, uint64_t now);
/* `invite`: asks the broker for an invitation code, prints it to out. */
int brk_ctl_invite(struct brk *b, FILE *out, char *why, size_t len);
/* `pending`: the devices waiting for approval, one line each. */
int brk_ctl_pending(struct brk *b, FILE *out, char *why, size_t len);
/* `revoke WHO`: WHO (a member's name or key) is out, signed by us. */
int brk_ctl_revoke(struct brk *b, const char *who, FILE *out, char *why,
		   size_t len);
/* `approve WHO` / `reject WHO`: WHO is a waiting device's name or key. */
int brk_ctl_decide(struct brk *b, const char *who, bool approve, FILE *out,
		   char *why, size_t len);
void brk_free(struct brk *b);

#endif
