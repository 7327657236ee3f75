/* SPDX-License-Identifier: MIT */
/*
 * The broker's protocol logic, kept apart from sockets so that unit
 * tests can drive it: a peer is whatever sits behind one connection,
 * the context holds the store, the broker key, the online table and
 * callbacks through which frames leave (server.c sends them over Noise,
 * tests collect them).  One table maps each request type to its handler,
 * its required attributes and the roles allowed (handlers.c).
 *
 * Threads: everything here runs on the epoll thread except job->work,
 * which the server runs on a worker thread (Argon2id takes 0.1-1 s and
 * 64 MiB; the event loop must not wait for it).  Without a submit
 * callback jobs run inline (unit tests).
 */
#ifndef SLOOP_SCB_HANDLERS_H
#define SLOOP_SCB_HANDLERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sloop/scb.h>

#include "scbwire.h"
#include "store.h"

#define SCBH_ADMIN_MAX		16
#define SCBH_BUCKETS		16384	/* online table; chains beyond */
#define SCBH_CONNECT_TIMEOUT	10	/* seconds for CONNECT_ANSWER */
#define SCBH_AT_MS		200	/* simultaneous open, from now */
#define SCBH_DEFERRED		(-1)	/* handler replies later */

struct scbh_ctx;
struct scbh_job;

/* One connection as the protocol layer sees it. */
struct scbh_peer {
	int role;			/* enum scb_role, 0 before HELLO */
	bool welcomed;			/* HELLO accepted */
	bool registered;		/* device key bound to a user */
	bool gone;			/* closed; kept while jobs hold it */
	bool listed;			/* in the online table */
	int jobs;			/* worker jobs still holding it */
	uint8_t pub[32];		/* Ed25519 */
	uint8_t token[16];		/* UDP probe token */
	uint8_t tai[12];		/* accepted HELLO stamp */
	bool has_endpoint;
	uint8_t endpoint[18];		/* from the last UDP probe */
	/*
	 * The loop this connection serves (HELLO's LOOP_NAME), "" for all.
	 * One device in several loops runs one sloopd, one data socket and
	 * so one endpoint per loop: each needs its own connection.
	 */
	char scope[STORE_NAME_MAX + 1];
	struct scbh_peer *next_pub, *next_tok;	/* online table chains */
	void *owner;			/* the server's connection */
};

/* How frames and verdicts leave the protocol layer. */
struct scbh_ops {
	/* Queue one frame to p; nonzero: p is beyond help (dropped). */
	int (*send)(struct scbh_ctx *x, struct scbh_peer *p,
		    const uint8_t *frame, size_t len);
	/* Close p once what is queued has been flushed. */
	void (*kick)(struct scbh_ctx *x, struct scbh_peer *p);
	/* Run job->work off the event loop, then job->done on it. */
	int (*submit)(struct scbh_ctx *x, struct scbh_job *job);
	void (*log)(struct scbh_ctx *x, int prio, const char *msg);
};

struct scbh_job {
	struct scbh_peer *peer;
	uint32_t id;			/* request id to answer */
	int kind;
	int result;
	int64_t user_id;
	uint32_t limit;			/* ADM_USER_ADD: device limit */
	unsigned long long ops;		/* crypto_pwhash_str cost */
	size_t mem;
	char user[STORE_NAME_MAX + 1];
	char name[STORE_NAME_MAX + 1];
	char password[257];
	char pwhash[128];
	void (*work)(struct scbh_job *j);
	void (*done)(struct scbh_ctx *x, struct scbh_job *j);
	struct scbh_job *next;		/* the server's queues */
};

/* A CONNECT waiting for the member's CONNECT_ANSWER. */
struct scbh_pending {
	struct scbh_peer *asker;
	struct scbh_peer *target_conn;	/* the connection told */
	uint32_t id;
	uint8_t loop_id[32];
	uint8_t target[32];
	int64_t deadline;
	struct scbh_pending *next;
};

struct scbh_stats {
	uint64_t requests, refused, malformed, hellos, replays;
	uint64_t registers, logins;
};

struct scbh_ctx {
	struct store *store;
	uint8_t sk[64];			/* broker Ed25519 secret */
	uint8_t pk[32];
	uint8_t admins[SCBH_ADMIN_MAX][32];
	int n_admins;
	uint32_t default_limit;		/* devices per new user */
	uint32_t cred_lifetime;		/* seconds */
	/* crypto_pwhash_str cost for ADM_USER_ADD (tests lower it) */
	unsigned long long pw_ops;
	size_t pw_mem;
	struct scbh_ops ops;
	void *user;			/* the server's or the test's */
	int64_t (*now)(void);		/* unix seconds; tests fix it */

	struct scbh_peer *by_pub[SCBH_BUCKETS];
	struct scbh_peer *by_tok[SCBH_BUCKETS];
	size_t online;
	/* HELLO stamps of keys not in the store (admins, unregistered) */
	struct scbh_tai {
		uint8_t pub[32];
		uint8_t tai[12];
		bool used;
	} *tais;
	size_t n_tais;
	struct scbh_pending *pending;
	struct {			/* loop_id -> name, for scoped lookups */
		uint8_t loop_id[32];
		char name[STORE_NAME_MAX + 1];
		bool valid;
	} memo;
	struct scbh_stats st;
	uint8_t buf[SCB_RECORD_MAX];	/* reply/event builder */
	uint8_t buf2[SCB_RECORD_MAX];
};

int scbh_init(struct scbh_ctx *x, struct store *st, const uint8_t sk[64]);
void scbh_destroy(struct scbh_ctx *x);

/*
 * Message 1's HELLO.  remote_x25519 is the Noise static the record
 * layer saw.  Returns 0 to accept (out holds WELCOME, p is now online)
 * or an enum scb_err to refuse (out holds ERROR, or EV_WIPE for a stolen
 * device); either way out goes back in message 2.
 */
int scbh_hello(struct scbh_ctx *x, struct scbh_peer *p,
	       const uint8_t remote_x25519[32], const uint8_t *frame,
	       size_t len, uint8_t *out, size_t cap, size_t *outlen);
/* One transport frame from an accepted peer: answers through ops.send. */
void scbh_frame(struct scbh_ctx *x, struct scbh_peer *p,
		const uint8_t *frame, size_t len);
/*
 * The connection closed: leaves the online table and drops its pending
 * CONNECTs.  Returns true if p may be freed now (no job holds it).
 */
bool scbh_gone(struct scbh_ctx *x, struct scbh_peer *p);
/* A worker job finished (epoll thread).  True: free the peer now. */
bool scbh_job_done(struct scbh_ctx *x, struct scbh_job *j);
/* Time-outs of CONNECTs; call about once a second. */
void scbh_tick(struct scbh_ctx *x);

/* UDP probe from src (18-byte ENDPOINT form); the answer goes in out. */
int scbh_probe(struct scbh_ctx *x, const uint8_t *pkt, size_t len,
	       const uint8_t src[18], uint8_t out[SCB_PROBE_ANSWER_LEN]);

/* Any connection of the device pub (online or not). */
struct scbh_peer *scbh_find(struct scbh_ctx *x, const uint8_t pub[32]);
/* The connection of pub that serves loop_id, or NULL. */
struct scbh_peer *scbh_find_loop(struct scbh_ctx *x, const uint8_t pub[32],
				 const uint8_t loop_id[32]);
/* "B413 not-member" style names for logs. */
void scbh_logf(struct scbh_ctx *x, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* SLOOP_SCB_HANDLERS_H */
