/* SPDX-License-Identifier: MIT */
/*
 * sloop-scb's event loop: TCP listeners (v4/v6) speaking the Noise record
 * layer (scbconn.h), the UDP endpoint-probe socket, a small worker pool
 * for Argon2id, and the bookkeeping that keeps one slow or hostile
 * connection from hurting the rest: a 10 s handshake deadline, bounded
 * output (SCBC_OUT_MAX, then the connection is dropped and counted) and
 * deferred closing so that no handler ever sees a freed peer.
 * Logging for the whole broker lives here too (scblog_*).
 */
#ifndef SLOOP_SCB_SERVER_H
#define SLOOP_SCB_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "handlers.h"

#define SCBS_LISTEN_MAX		8
#define SCBS_HANDSHAKE_MS	10000
#define SCBS_CLOSE_MS		5000	/* flushing a refused/kicked peer */
#define SCBS_WORKERS		2
#define SCBS_JOBS_MAX		256	/* queued password checks */

struct scbs;

struct scbs_stats {
	uint64_t accepted, closed, hs_timeouts, dropped_slow, bad_records;
	uint64_t accept_errors, probes, bad_probes;
};

/* Binds every address (TCP and UDP on the same port). */
int scbs_open(struct scbs **s, struct scbh_ctx *x,
	      const struct sockaddr_storage *addrs, const socklen_t *lens,
	      int n, const uint8_t broker_x25519[32]);
/* After daemonizing: threads do not survive fork(). */
int scbs_start_workers(struct scbs *s, int n);
/*
 * Runs until *stop; calls on_hup when *hup is set (clearing it).
 * Returns 0, or -1 on a fatal epoll error.
 */
int scbs_run(struct scbs *s, volatile sig_atomic_t *stop,
	     volatile sig_atomic_t *hup, void (*on_hup)(void));
void scbs_stats(const struct scbs *s, struct scbs_stats *st);
void scbs_close(struct scbs *s);

/* Logging: a file, stderr (foreground) or syslog. */
int scblog_open(const char *logfile, bool to_stderr, bool debug);
int scblog_reopen(void);
void scblog_close(void);
void scblog(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* ops.log for struct scbh_ctx */
void scblog_ctx(struct scbh_ctx *x, int prio, const char *msg);

#endif /* SLOOP_SCB_SERVER_H */
