/* SPDX-License-Identifier: MIT */
/*
 * What a loop member knows about its loop, apart from the broker
 * connection (broker.c): the loop's identity, the credential set that
 * decides who is a member (cred.h), the members' names and last
 * endpoints, and the on-disk cache that lets the loop come up without
 * the broker.  The decisions here are pure so that they can be tested:
 * whether a reported device may be installed, who initiates, how a
 * credential is issued, how the cache's side file reads.
 *
 * Cache: <loop-cache> holds the signed credential set (cred_set_save,
 * 0600), <loop-cache>.peers the rest, one line each:
 *	loop NAME
 *	policy N
 *	net4 HEX(addr[4] prefix)	net6 HEX(addr[16] prefix)
 *	member HEX(pub) NAME [HEX(ENDPOINT)]
 */
#ifndef SLOOPD_LOOP_H
#define SLOOPD_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include <sloop/scb.h>

#include "cred.h"
#include "options.h"

#define LOOP_MEMBERS_MAX	250
#define LOOP_DEFAULT_CACHE_DIR	"/var/lib/sloop"

struct loop_member {
	uint8_t dev[32];
	char name[OPT_NAME_LEN + 1];
	bool has_ep;
	uint8_t ep[18];		/* SCB_A_ENDPOINT form */
	bool refused_logged;	/* E804 once per device, not per refresh */
	bool online;		/* the broker's last word */
	uint64_t next_connect_ms;	/* CONNECT back-off (broker.c) */
	unsigned int connects;	/* CONNECTs since the link was last up */
};

struct loop_state {
	char name[OPT_NAME_LEN];
	bool known;		/* loop_id, founder, set valid */
	uint8_t loop_id[32], founder[32];
	int policy;
	uint8_t net4[5], net6[17];	/* address, prefix length */
	struct cred_set set;
	struct loop_member *m;
	size_t n_m;
};

enum loop_verdict {
	LOOP_PEER_OK,		/* verified: install with best's addresses */
	LOOP_PEER_SELF,		/* that is us */
	LOOP_PEER_REFUSED,	/* no valid chain, revoked or expired */
};

/* The member with the smaller Ed25519 key starts the handshake. */
bool loop_initiator(const uint8_t self[32], const uint8_t peer[32]);
/* Does loop_id derive from founder and name (cred_loop_id)? */
bool loop_identity_ok(const uint8_t loop_id[32], const uint8_t founder[32],
		      const char *name);
/*
 * May the device the broker reported become a peer?  Only the signature
 * chain counts, never the broker's word: the addresses to route are
 * those of *best.
 */
enum loop_verdict loop_check_peer(const struct cred_set *s,
				  const uint8_t self[32],
				  const uint8_t dev[32], uint64_t now,
				  struct cred *best);
/* Sign "dev is a member with these addresses" for lifetime seconds. */
int loop_cred_issue(struct cred *c, const uint8_t loop_id[32], int policy,
		    const uint8_t dev[32], const uint8_t addr4[4],
		    const uint8_t addr6[16], uint64_t now,
		    unsigned int lifetime, const uint8_t sk[64]);
bool loop_revoked(const struct cred_set *s, const uint8_t dev[32]);

/* SCB_A_ENDPOINT (v4-mapped v6 address, be16 port) to a sockaddr. */
int loop_ep_to_sockaddr(const uint8_t ep[18], int family,
			struct sockaddr_storage *ss, socklen_t *len);
void loop_ep_str(const uint8_t ep[18], char *buf, size_t len);

void loop_state_init(struct loop_state *st, const char *name);
void loop_state_free(struct loop_state *st);
/* Starts over with a new identity (drops creds of another loop). */
void loop_state_set_identity(struct loop_state *st,
			     const uint8_t loop_id[32],
			     const uint8_t founder[32],
			     const uint8_t broker[32]);
struct loop_member *loop_member_get(struct loop_state *st,
				    const uint8_t dev[32], bool create);

/* <dir>/loop-<linkname>.cache unless the option gives a path. */
int loop_cache_path(const struct sloopd_options *o, const char *linkname,
		    char *buf, size_t len);
/* Both files; 0 or -errno. */
int loop_cache_save(const struct loop_state *st, const char *path);
int loop_cache_load(struct loop_state *st, const char *path,
		    const uint8_t broker[32]);
void loop_cache_remove(const char *path);

/* Side file alone (tests). */
int loop_side_write(const struct loop_state *st, FILE *f);
int loop_side_read(struct loop_state *st, FILE *f);

#endif
