/* SPDX-License-Identifier: MIT */
/*
 * The per-device daemon state: peers (primary role) or primaries
 * (secondary role), their sessions, and the glue between the pure parts
 * (handshake, session, rekey, ctrlmsg) and the I/O (UDP socket, kernel,
 * scripts).  main.c owns the event loop and calls in here.
 */
#ifndef SLOOPD_LINK_H
#define SLOOPD_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "ctl.h"
#include "ctrlmsg.h"
#include "handshake.h"
#include "knl.h"
#include "options.h"
#include "rekey.h"
#include "script.h"
#include "session.h"

/* Exit codes, documented in docs/protocol.md and sloopd(8). */
enum lk_exit {
	LK_EXIT_OK = 0,		/* --help, --version, dump, clean exit */
	LK_EXIT_FATAL = 1,	/* internal error (out of memory, ...) */
	LK_EXIT_OPTIONS = 2,	/* bad options or option files */
	LK_EXIT_KEYS = 3,	/* key or secret file refused or unreadable */
	LK_EXIT_KERNEL = 4,	/* module, device, socket or attach failure */
	LK_EXIT_SIGNAL = 5,	/* SIGTERM or SIGINT */
	LK_EXIT_MAXFAIL = 6,	/* maxfail consecutive failed attempts */
	LK_EXIT_HANGUP = 7,	/* session lost, no persist (secondary) */
	LK_EXIT_WIPED = 8,	/* the broker said stolen: loop data wiped */
};

struct lk_peer {
	const struct opt_peer *opt;
	char name[OPT_HOST_LEN + 8];
	uint8_t ed_pub[32];		/* as configured: the kernel's label */
	uint8_t pub[32];		/* X25519, for Noise */
	bool has_psk;
	uint8_t psk[32];
	struct knl_subnet *subnets;
	size_t n_subnets;
	bool has_ep;
	struct sockaddr_storage ep;
	socklen_t ep_len;
	int cipher;
	unsigned int rekey_ms, heartbeat_ms, dead_ms;
	uint32_t kid;			/* kernel peer id */
	uint8_t last_tai[TAI64N_LEN];	/* replay mark (primary) */
	struct hs_initiator ini;	/* secondary */

	bool up, in_kernel;
	uint32_t local_index, remote_index;
	struct rekey rk;
	struct ctrl_chan ch;
	struct sess_hb hb;
	uint64_t up_ms;
	/* Wall clock (time(2)), 0 = never: what sloopctl show prints. */
	int64_t last_handshake, last_rekey;
	uint32_t n_rekeys;
	uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes;
	/* loop mode: members come and go; a gone slot is never reused */
	bool gone;
	uint64_t next_try_ms;		/* per-peer initiator, 0 = idle */
	uint64_t punch_ms;		/* responder: next NAT punch, 0 = none */
	unsigned int punches;		/* punches left to send */
	unsigned int tries;
};

struct lk {
	struct sloopd_options *o;
	bool primary;
	struct hs_local local;
	struct hs_responder resp;
	struct knl knl;
	int udp;
	struct lk_peer *peers;
	size_t n_peers;
	struct sess_link link;		/* secondary */
	struct scripts scr;
	char linkname[OPT_NAME_LEN + 1];
	char iplocal[64], ipremote[64];
	bool ever_up;
	bool want_exit;
	int exit_code;
	uint64_t next_poll_ms;
	uint64_t n_bad_packets;
	void (*on_first_up)(void *ctx);	/* updetach */
	void *ctx;
	/* loop mode (broker.c): peers added at run time, up to LK_LOOP_MAX */
	bool loop;
	uint8_t self_ed[32];
	/* Non-handshake datagrams on the data socket (broker probe answers). */
	void (*on_udp)(void *uctx, const uint8_t *buf, size_t len,
		       const struct sockaddr *src, socklen_t slen);
	/* Loop control messages (CTRL_REVOKE) from an up member. */
	void (*on_loop_ctrl)(void *uctx, struct lk_peer *p,
			     const struct ctrl_msg *m);
	void *uctx;
};

uint64_t lk_now_ms(void);
/* Keys, peers, endpoints from the options; an exit code on failure. */
int lk_init(struct lk *l, struct sloopd_options *o);
/* Socket, kernel attach, ip-pre-up, addresses; an exit code on failure. */
int lk_start(struct lk *l);
void lk_on_udp(struct lk *l);
void lk_on_kernel(struct lk *l);
void lk_tick(struct lk *l);
uint64_t lk_deadline(const struct lk *l);
void lk_hangup(struct lk *l);
void lk_rekey_all(struct lk *l);
void lk_shutdown(struct lk *l);
void lk_free(struct lk *l);
void lk_reap_scripts(struct lk *l);
/* The control socket's handler (ctl_handler); ctx is the struct lk. */
int lk_control(void *ctx, const struct ctl_req *r, FILE *out, char *why,
	       size_t len);
/*
 * Loop mode (link.c, "loop members"): the broker client adds members it
 * verified, sets their endpoints, and drops revoked ones at once.  The
 * member with the smaller Ed25519 key initiates, the other responds.
 */
#define LK_LOOP_MAX	250
struct lk_peer *lk_loop_find(struct lk *l, const uint8_t ed_pub[32]);
/* Adds (or revives) a member with addr4/32 and addr6/128; NULL if full. */
struct lk_peer *lk_loop_add(struct lk *l, const uint8_t ed_pub[32],
			    const char *name, const uint8_t addr4[4],
			    const uint8_t addr6[16]);
/* Where to reach p; the first initiation goes out at at_ms (monotonic). */
void lk_loop_endpoint(struct lk *l, struct lk_peer *p,
		      const struct sockaddr *sa, socklen_t len, uint64_t at_ms);
void lk_loop_drop(struct lk *l, struct lk_peer *p, enum reason why,
		  const char *what);
bool lk_loop_initiates(const struct lk *l, const struct lk_peer *p);
/* Sends m over p's control channel if its session is up. */
void lk_loop_send(struct lk *l, struct lk_peer *p, const struct ctrl_msg *m);
/* The answer to `peers` (see ctl.h); netns identifies our namespace. */
void lk_report(const struct lk *l, uint64_t netns, FILE *out);

#endif
