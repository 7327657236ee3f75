/* SPDX-License-Identifier: MIT */
/*
 * The daemon's control socket: a UNIX stream socket,
 * $SLOOPD_RUN/<linkname>.sock (default /run/sloop), directory 0700,
 * socket 0600, and only uid 0 served (SO_PEERCRED), so that a stray
 * permission change on the directory still lets no one else in.
 *
 * Protocol: the client sends ONE line of at most CTL_LINE_MAX bytes,
 *
 *	rekey [PEER]
 *	flush-keys [PEER]
 *	shutdown [PEER|all]
 *	dump
 *	peers
 *	invite		(loop mode: a one-time invitation code from the broker,
 *			 answered as "invite CODE")
 *	pending		(loop mode: devices waiting for approval, one line
 *			 "pending name=N device=KEY addr4=A addr6=A approvals=K/P")
 *	approve WHO	(loop mode: sign WHO's membership; WHO is its name or
 *	reject WHO	 a prefix of its key; answered "approved N" / "rejected N")
 *	revoke WHO	(loop mode: sign member WHO out of the loop; spread to
 *			 the members over the control channel and to the broker)
 *
 * and the daemon answers with zero or more text lines followed by a last
 * line "ok" or "error E707 ctl-request: why", then closes.  `peers`
 * answers with key=value words, unknown keys to be ignored by readers:
 *
 *	link name=LINK device=DEV ifindex=N netns=INODE
 *	peer id=KID name=NAME state=up|down handshake=T rekey=T rekeys=N
 *
 * (one peer line per configured peer or primary; T = unix seconds of the
 * last completed handshake / key swap, 0 = never; INODE is that of
 * /proc/self/ns/net, 0 if unknown).  One request
 * per connection keeps the server free of per-client state beyond the
 * line buffer.
 */
#ifndef SLOOPD_CTL_H
#define SLOOPD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CTL_LINE_MAX	256	/* including the newline */
#define CTL_NAME_MAX	64
#define CTL_MAX_CONNS	8
#define CTL_TIMEOUT_MS	5000u
#define CTL_DEFAULT_DIR	"/run/sloop"

enum ctl_cmd { CTL_REKEY, CTL_FLUSH, CTL_SHUTDOWN, CTL_DUMP, CTL_PEERS,
	       CTL_INVITE, CTL_PENDING, CTL_APPROVE, CTL_REJECT, CTL_REVOKE };

struct ctl_req {
	enum ctl_cmd cmd;
	char peer[CTL_NAME_MAX + 1];	/* "" = every peer */
};

/* Line assembly across partial reads. */
struct ctl_buf {
	char data[CTL_LINE_MAX + 1];
	size_t len;
};

enum ctl_feed {
	CTL_FEED_MORE,		/* no newline yet */
	CTL_FEED_LINE,		/* b->data holds the line, NUL-terminated */
	CTL_FEED_TOOLONG,	/* CTL_LINE_MAX bytes and no newline */
	CTL_FEED_BINARY,	/* a NUL byte: not a text request */
};

enum ctl_feed ctl_buf_feed(struct ctl_buf *b, const char *in, size_t n);
/* Parses one line (without its newline); 0, or -1 with why filled. */
int ctl_parse(const char *line, struct ctl_req *req, char *why, size_t len);
const char *ctl_cmd_name(enum ctl_cmd cmd);

/* $SLOOPD_RUN or CTL_DEFAULT_DIR, then /<linkname>.sock; 0 or -1. */
int ctl_socket_path(const char *linkname, char *buf, size_t len);

/*
 * What a request does; writes its text lines to out and returns 0 for
 * "ok", or -1 after writing the error text (without "error ") to why.
 */
typedef int (*ctl_handler)(void *ctx, const struct ctl_req *req, FILE *out,
			   char *why, size_t len);

struct ctl_conn {
	int fd;
	uint64_t since_ms;
	struct ctl_buf b;
};

struct ctl {
	int lfd, ep;
	char path[108];
	struct ctl_conn conns[CTL_MAX_CONNS];
	ctl_handler fn;
	void *ctx;
	uint64_t n_denied, n_bad;
};

void ctl_init(struct ctl *c);
/* Creates the directory and the socket and adds it to epoll ep; 0 or -1. */
int ctl_open(struct ctl *c, int ep, const char *linkname, ctl_handler fn,
	     void *ctx);
/* True when fd is the control socket's or one of its clients'. */
bool ctl_owns(const struct ctl *c, int fd);
void ctl_on_fd(struct ctl *c, int fd, uint64_t now_ms);
/* Drops clients that did not send a full line in time. */
void ctl_expire(struct ctl *c, uint64_t now_ms);
void ctl_close(struct ctl *c);

#endif
