// SPDX-License-Identifier: MIT
/*
 * The control socket (see ctl.h for the protocol).  The parser is pure
 * so that hostile input can be unit-tested without a daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"

static const struct {
	const char *name;
	enum ctl_cmd cmd;
	bool takes_peer;
} ctl_cmds[] = {
	{ "rekey", CTL_REKEY, true },
	{ "flush-keys", CTL_FLUSH, true },
	{ "shutdown", CTL_SHUTDOWN, true },
	{ "dump", CTL_DUMP, false },
	{ "peers", CTL_PEERS, false },
	{ "invite", CTL_INVITE, false },
	{ "pending", CTL_PENDING, false },
	{ "approve", CTL_APPROVE, true },
	{ "reject", CTL_REJECT, true },
	{ "revoke", CTL_REVOKE, true },
};

#define N_CTL_CMDS (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

const char *ctl_cmd_name(enum ctl_cmd cmd)
{
	for (size_t i = 0; i < N_CTL_CMDS; i++)
		if (ctl_cmds[i].cmd == cmd)
			return ctl_cmds[i].name;
	return "?";
}

enum ctl_feed ctl_buf_feed(struct ctl_buf *b, const char *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\0')
			return CTL_FEED_BINARY;
		if (in[i] == '\n') {
			if (b->len && b->data[b->len - 1] == '\r')
				b->len--;
			b->data[b->len] = 0;
			return CTL_FEED_LINE;
		}
		if (b->len + 1 >= CTL_LINE_MAX)
			return CTL_FEED_TOOLONG;
		b->data[b->len++] = in[i];
	}
	return CTL_FEED_MORE;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Next word of *s into out (at most cap - 1 chars); its length or -1. */
static int next_word(const char **s, char *out, size_t cap)
{
	const char *p = *s;
	size_t n = 0;

	while (is_blank(*p))
		p++;
	while (*p && !is_blank(*p)) {
		/* Names are printable ASCII; anything else is garbage. */
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e ||
		    n + 1 >= cap)
			return -1;
		out[n++] = *p++;
	}
	out[n] = 0;
	*s = p;
	return (int)n;
}

int ctl_parse(const char *line, struct ctl_req *req, char *why, size_t len)
{
	char word[CTL_NAME_MAX + 1], extra[2];
	const char *p = line;
	size_t i;
	int n;

	memset(req, 0, sizeof(*req));
	n = next_word(&p, word, sizeof(word));
	if (n <= 0) {
		snprintf(why, len, n ? "bad characters or word too long" :
				       "empty request");
		return -1;
	}
	for (i = 0; i < N_CTL_CMDS; i++)
		if (!strcmp(word, ctl_cmds[i].name))
			break;
	if (i == N_CTL_CMDS) {
		snprintf(why, len, "unknown command");
		return -1;
	}
	req->cmd = ctl_cmds[i].cmd;
	if (ctl_cmds[i].takes_peer) {
		n = next_word(&p, req->peer, sizeof(req->peer));
		if (n < 0) {
			snprintf(why, len, "bad peer name");
			return -1;
		}
		if (!strcmp(req->peer, "all"))
			req->peer[0] = 0;
	}
	if (next_word(&p, extra, sizeof(extra)) != 0) {
		snprintf(why, len, "too many arguments");
		return -1;
	}
	return 0;
}

int ctl_socket_path(const char *linkname, char *buf, size_t len)
{
	const char *dir = getenv("SLOOPD_RUN");
	int n;

	if (!dir || !*dir)
		dir = CTL_DEFAULT_DIR;
	if (!linkname[0] || strchr(linkname, '/'))
		return -1;
	n = snprintf(buf, len, "%s/%s.sock", dir, linkname);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

void ctl_init(struct ctl *c)
{
	memset(c, 0, sizeof(*c));
	c->lfd = -1;
	c->ep = -1;
	for (int i = 0; i < CTL_MAX_CONNS; i++)
		c->conns[i].fd = -1;
}

/* The directory is ours: created 0700, or tightened to 0700 if root's. */
static int make_dir(const char *path)
{
	char dir[sizeof(((struct ctl *)0)->path)];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -1;
	if (lstat(dir, &st))
		return -1;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		errno = EPERM;
		return -1;
	}
	return chmod(dir, 0700);
}

static int listen_at(struct ctl *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A socket left by a crashed daemon; the device lock (attach)
	 * already guarantees that no live daemon of this link exists. */
	unlink(c->path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(c->path, 0600) || listen(fd, CTL_MAX_CONNS)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int ep_add(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int ctl_open(struct ctl *c, int ep, const char *linkname, ctl_handler fn,
	     void *ctx)
{
	c->ep = ep;
	c->fn = fn;
	c->ctx = ctx;
	if (ctl_socket_path(linkname, c->path, sizeof(c->path))) {
		log_fail(REASON_CTL_SOCKET, "control socket path too long");
		c->path[0] = 0;
		return -1;
	}
	if (make_dir(c->path)) {
		log_fail(REASON_CTL_SOCKET, "directory of %s: %s", c->path,
			 strerror(errno));
		c->path[0] = 0;
		return -1;
	}
	c->lfd = listen_at(c);
	if (c->lfd < 0 || ep_add(ep, c->lfd)) {
		log_fail(REASON_CTL_SOCKET, "%s: %s", c->path, strerror(errno));
		if (c->lfd >= 0)
			close(c->lfd);
		c->lfd = -1;
		unlink(c->path);
		c->path[0] = 0;
		return -1;
	}
	log_dbg("control socket %s", c->path);
	return 0;
}

bool ctl_owns(const struct ctl *c, int fd)
{
	if (fd < 0)
		return false;
	if (fd == c->lfd)
		return true;
	for (int i = 0; i < CTL_MAX_CONNS; i++)
		if (c->conns[i].fd == fd)
			return true;
	return false;
}

/* Answers are small (a dump is a few KB): a blocking write with a
 * deadline cannot stall the daemon for long. */
static void send_all(int fd, const char *buf, size_t len)
{
	struct timeval tv = { .tv_sec = 1 };
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Closing a UNIX stream socket with unread input resets the client
 * before it reads our answer; a bounded drain avoids that.
 */
static void conn_close(struct ctl_conn *cn)
{
	char junk[4096];

	for (int i = 0; cn->fd >= 0 && i < 16; i++)
		if (recv(cn->fd, junk, sizeof(junk), MSG_DONTWAIT) <= 0)
			break;
	if (cn->fd >= 0)
		close(cn->fd);
	cn->fd = -1;
	cn->b.len = 0;
}

static void reply_error(struct ctl *c, struct ctl_conn *cn, enum reason r,
			const char *why)
{
	char line[CTL_LINE_MAX + 64];
	int n = snprintf(line, sizeof(line), "error %s %s: %s\n",
			 reason_code(r), reason_name(r), why);

	if (r == REASON_CTL_REQUEST)
		c->n_bad++;
	send_all(cn->fd, line, (size_t)n < sizeof(line) ? (size_t)n :
		 sizeof(line) - 1);
	conn_close(cn);
}

static void serve(struct ctl *c, struct ctl_conn *cn)
{
	struct ctl_req req;
	char why[160] = "";
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	int rc;

	if (ctl_parse(cn->b.data, &req, why, sizeof(why))) {
		log_fail(REASON_CTL_REQUEST, "control socket: %s", why);
		reply_error(c, cn, REASON_CTL_REQUEST, why);
		return;
	}
	out = open_memstream(&text, &len);
	if (!out) {
		reply_error(c, cn, REASON_NOMEM, "out of memory");
		return;
	}
	/* `sloopctl show` polls peers: keep it out of the log by default. */
	if (req.cmd == CTL_PEERS)
		log_dbg("control: %s", ctl_cmd_name(req.cmd));
	else
		log_msg(LOG_INFO, "control: %s%s%s", ctl_cmd_name(req.cmd),
			req.peer[0] ? " " : "", req.peer);
	rc = c->fn(c->ctx, &req, out, why, sizeof(why));
	if (rc)
		fprintf(out, "error %s %s: %s\n",
			reason_code(REASON_CTL_REQUEST),
			reason_name(REASON_CTL_REQUEST), why);
	else
		fputs("ok\n", out);
	if (fclose(out) == 0)
		send_all(cn->fd, text, len);
	free(text);
	conn_close(cn);
}

static bool peer_is_root(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	return !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) &&
	       len == sizeof(cr) && cr.uid == 0;
}

static void on_accept(struct ctl *c, uint64_t now)
{
	for (;;) {
		int fd = accept4(c->lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctl_conn *cn = NULL;

		if (fd < 0)
			return;
		for (int i = 0; i < CTL_MAX_CONNS && !cn; i++)
			if (c->conns[i].fd < 0)
				cn = &c->conns[i];
		if (!cn) {
			close(fd);	/* busy: the client sees EOF */
			continue;
		}
		cn->fd = fd;
		cn->since_ms = now;
		cn->b.len = 0;
		if (!peer_is_root(fd)) {
			c->n_denied++;
			log_fail(REASON_CTL_DENIED, "control socket client is not root");
			reply_error(c, cn, REASON_CTL_DENIED, "root only");
			continue;
		}
		if (ep_add(c->ep, fd))
			conn_close(cn);
	}
}

static void on_data(struct ctl *c, struct ctl_conn *cn)
{
	char buf[CTL_LINE_MAX];

	for (;;) {
		ssize_t n = recv(cn->fd, buf, sizeof(buf), 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			/* EOF before a newline: nothing to answer. */
			c->n_bad++;
			conn_close(cn);
			return;
		}
		switch (ctl_buf_feed(&cn->b, buf, (size_t)n)) {
		case CTL_FEED_MORE:
			break;
		case CTL_FEED_LINE:
			serve(c, cn);
			return;
		case CTL_FEED_TOOLONG:
			reply_error(c, cn, REASON_CTL_REQUEST, "line too long");
			return;
		case CTL_FEED_BINARY:
			reply_error(c, cn, REASON_CTL_REQUEST, "binary data");
			return;
		}
	}
}

void ctl_on_fd(struct ctl *c, int fd, uint64_t now_ms)
{
	if (fd == c->lfd) {
		on_accept(c, now_ms);
		return;
	}
	for (int i = 0; i < CTL_MAX_CONNS; i++)
		if (c->conns[i].fd == fd) {
			on_data(c, &c->conns[i]);
			return;
		}
}

void ctl_expire(struct ctl *c, uint64_t now_ms)
{
	for (int i = 0; i < CTL_MAX_CONNS; i++) {
		struct ctl_conn *cn = &c->conns[i];

		if (cn->fd >= 0 && now_ms - cn->since_ms > CTL_TIMEOUT_MS)
			reply_error(c, cn, REASON_CTL_REQUEST, "timeout");
	}
}

void ctl_close(struct ctl *c)
{
	for (int i = 0; i < CTL_MAX_CONNS; i++)
		conn_close(&c->conns[i]);
	if (c->lfd >= 0) {
		close(c->lfd);
		unlink(c->path);
	}
	c->lfd = -1;
}
