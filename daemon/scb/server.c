// SPDX-License-Identifier: MIT
/*
 * sloop-scb's epoll loop.  Level-triggered throughout: a handler that
 * stops reading a connection early (refusal, drop) simply gets called
 * again, and nothing depends on draining a socket in one go.
 *
 * A connection is never freed while an epoll batch or a worker job may
 * still point at it: closing only marks it dead and queues it; the
 * queue is reaped after the batch, and a peer still held by a password
 * job stays as a zombie (fd closed) until the job comes back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "scbconn.h"
#include "server.h"

enum kind { K_TCP, K_UDP, K_EVENT, K_CONN };

struct lsock {
	enum kind kind;
	int fd;
};

struct conn {
	enum kind kind;			/* first: epoll data points here */
	struct scbh_peer peer;
	struct scbc c;
	struct scbs *s;
	int64_t deadline_ms;		/* 0: none */
	bool closing;			/* close once flushed */
	bool dead;			/* queued for reaping */
	bool epout;			/* EPOLLOUT registered */
	bool has_c;
	struct conn *prev, *next;	/* all live connections */
	struct conn *reap_next;
};

struct scbs {
	int ep;
	struct lsock tcp[SCBS_LISTEN_MAX], udp[SCBS_LISTEN_MAX];
	int n_listen;
	struct lsock ev;		/* eventfd: jobs done */
	int reserve_fd;			/* given up on EMFILE to shed one */
	struct scbh_ctx *x;
	uint8_t bx[32];			/* broker X25519 secret */
	struct conn *all, *reap;
	struct scbs_stats st;
	uint8_t hello_out[SCB_RECORD_MAX];

	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t threads[8];
	int n_threads;
	bool stopping;
	struct scbh_job *todo, *done;
	int queued;
};

/* ------------------------------------------------------------ logging */

static struct {
	FILE *f;
	char *path;
	bool to_stderr, debug, syslog;
} lg;

int scblog_open(const char *logfile, bool to_stderr, bool debug)
{
	lg.to_stderr = to_stderr;
	lg.debug = debug;
	if (logfile) {
		free(lg.path);
		lg.path = strdup(logfile);
		if (!lg.path)
			return -1;
		return scblog_reopen();
	}
	if (!to_stderr) {
		openlog("sloop-scb", LOG_PID, LOG_DAEMON);
		lg.syslog = true;
	}
	return 0;
}

int scblog_reopen(void)
{
	FILE *f;

	if (!lg.path)
		return 0;
	f = fopen(lg.path, "ae");
	if (!f)
		return -1;
	setvbuf(f, NULL, _IOLBF, 0);
	if (lg.f)
		fclose(lg.f);
	lg.f = f;
	return 0;
}

void scblog_close(void)
{
	if (lg.f)
		fclose(lg.f);
	if (lg.syslog)
		closelog();
	free(lg.path);
	memset(&lg, 0, sizeof(lg));
}

static void vlog(int prio, const char *fmt, va_list ap)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "error", "warning", "notice",
		"info", "debug"
	};
	char msg[1024], ts[32];
	struct timespec now;
	struct tm tm;

	if (prio == LOG_DEBUG && !lg.debug)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (lg.syslog)
		syslog(prio, "%s", msg);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (lg.f)
		fprintf(lg.f, "%s sloop-scb[%d] %s: %s\n", ts, (int)getpid(),
			names[prio & 7], msg);
	if (lg.to_stderr)
		fprintf(stderr, "sloop-scb: %s: %s\n", names[prio & 7], msg);
}

void scblog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, fmt, ap);
	va_end(ap);
}

void scblog_ctx(struct scbh_ctx *x, int prio, const char *msg)
{
	(void)x;
	scblog(prio, "%s", msg);
}

/* ------------------------------------------------------------ time */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ workers */

static void *worker(void *arg)
{
	struct scbs *s = arg;
	struct scbh_job *j;
	uint64_t one = 1;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->todo && !s->stopping)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stopping)
			break;
		j = s->todo;
		s->todo = j->next;
		pthread_mutex_unlock(&s->mu);
		j->work(j);
		pthread_mutex_lock(&s->mu);
		j->next = s->done;
		s->done = j;
		if (write(s->ev.fd, &one, sizeof(one)) < 0)
			scblog(LOG_ERR, "B501 eventfd write: %s",
			       strerror(errno));
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static int submit(struct scbh_ctx *x, struct scbh_job *j)
{
	struct scbs *s = x->user;
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	if (s->n_threads && s->queued < SCBS_JOBS_MAX) {
		struct scbh_job **pp = &s->todo;

		/* FIFO, so that one key's REGISTERs answer in order */
		while (*pp)
			pp = &(*pp)->next;
		j->next = NULL;
		*pp = j;
		s->queued++;
		pthread_cond_signal(&s->cv);
		rc = 0;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int scbs_start_workers(struct scbs *s, int n)
{
	if (n > (int)(sizeof(s->threads) / sizeof(s->threads[0])))
		n = sizeof(s->threads) / sizeof(s->threads[0]);
	for (int i = 0; i < n; i++) {
		if (pthread_create(&s->threads[i], NULL, worker, s))
			return -1;
		s->n_threads++;
	}
	return 0;
}

static void conn_free(struct conn *cn);

static void jobs_done(struct scbs *s)
{
	struct scbh_job *j, *next;
	uint64_t v;

	if (read(s->ev.fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		scblog(LOG_ERR, "B501 eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&s->mu);
	j = s->done;
	s->done = NULL;
	pthread_mutex_unlock(&s->mu);
	for (; j; j = next) {
		struct conn *cn = j->peer->owner;

		next = j->next;
		pthread_mutex_lock(&s->mu);
		s->queued--;
		pthread_mutex_unlock(&s->mu);
		if (scbh_job_done(s->x, j))
			conn_free(cn);
	}
}

/* ------------------------------------------------------------ connections */

static void set_out(struct conn *cn)
{
	struct epoll_event ev = { .data.ptr = cn };
	bool want;

	if (cn->dead || !cn->has_c)
		return;
	want = scbc_want_write(&cn->c);
	if (want == cn->epout)
		return;
	ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
	if (!epoll_ctl(cn->s->ep, EPOLL_CTL_MOD, cn->c.fd, &ev))
		cn->epout = want;
}

/* Mark dead; the reaper frees it after the current epoll batch. */
static void close_later(struct conn *cn)
{
	if (cn->dead)
		return;
	cn->dead = true;
	cn->reap_next = cn->s->reap;
	cn->s->reap = cn;
}

static void conn_free(struct conn *cn)
{
	free(cn);
}

static void reap(struct scbs *s)
{
	struct conn *cn;

	while ((cn = s->reap)) {
		s->reap = cn->reap_next;
		if (cn->prev)
			cn->prev->next = cn->next;
		else
			s->all = cn->next;
		if (cn->next)
			cn->next->prev = cn->prev;
		if (cn->has_c) {
			epoll_ctl(s->ep, EPOLL_CTL_DEL, cn->c.fd, NULL);
			scbc_free(&cn->c);
			cn->has_c = false;
		}
		s->st.closed++;
		if (scbh_gone(s->x, &cn->peer))
			conn_free(cn);
	}
}

static void flush(struct conn *cn)
{
	int rc = scbc_flush(&cn->c);

	if (rc < 0) {
		close_later(cn);
		return;
	}
	if (rc == 0 && cn->closing) {
		close_later(cn);
		return;
	}
	set_out(cn);
}

static int op_send(struct scbh_ctx *x, struct scbh_peer *p,
		   const uint8_t *frame, size_t len)
{
	struct conn *cn = p->owner;
	int rc;

	if (!cn || cn->dead || !cn->has_c || cn->c.state != SCBC_OPEN)
		return -1;
	rc = scbc_send(&cn->c, frame, len);
	if (rc == -ENOBUFS) {
		char k[12] = "";

		cn->s->st.dropped_slow++;
		sodium_bin2base64(k, sizeof(k), p->pub, 8,
				  sodium_base64_VARIANT_ORIGINAL);
		scblog(LOG_WARNING,
		       "B421 busy: %s reads too slowly (over %d bytes queued), dropped",
		       k, SCBC_OUT_MAX);
	}
	if (rc) {
		close_later(cn);
		return -1;
	}
	flush(cn);
	return cn->dead ? -1 : 0;
}

static void op_kick(struct scbh_ctx *x, struct scbh_peer *p)
{
	struct conn *cn = p->owner;

	if (!cn || cn->dead)
		return;
	cn->closing = true;
	cn->deadline_ms = now_ms() + SCBS_CLOSE_MS;
	if (!cn->has_c || !scbc_want_write(&cn->c))
		close_later(cn);
}

static void on_hello(struct conn *cn, const uint8_t *frame, size_t len)
{
	struct scbs *s = cn->s;
	size_t olen = 0;
	int rc;

	rc = scbh_hello(s->x, &cn->peer, cn->c.remote_pub, frame, len,
			s->hello_out, sizeof(s->hello_out), &olen);
	if (!rc) {
		if (scbc_accept(&cn->c, s->hello_out, olen)) {
			close_later(cn);
			return;
		}
		cn->deadline_ms = 0;
	} else {
		if (!olen || scbc_refuse(&cn->c, s->hello_out, olen)) {
			close_later(cn);
			return;
		}
		cn->closing = true;
		cn->deadline_ms = now_ms() + SCBS_CLOSE_MS;
	}
	flush(cn);
}

static int on_frame(void *ctx, struct scbc *c, const uint8_t *frame,
		    size_t len)
{
	struct conn *cn = ctx;

	if (cn->dead || cn->closing)
		return 1;
	if (c->state == SCBC_SERVER_HELLO)
		on_hello(cn, frame, len);
	else if (c->state == SCBC_OPEN && cn->peer.welcomed)
		scbh_frame(cn->s->x, &cn->peer, frame, len);
	return cn->dead || cn->closing;
}

static void on_conn(struct conn *cn, uint32_t events)
{
	int rc;

	if (cn->dead)
		return;
	if (events & EPOLLOUT)
		flush(cn);
	if (cn->dead || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	if (cn->closing) {
		/* Refused or kicked: only its queued output still matters. */
		char sink[512];
		ssize_t n = read(cn->c.fd, sink, sizeof(sink));

		if (n == 0 || (n < 0 && errno != EAGAIN))
			close_later(cn);
		return;
	}
	rc = scbc_read(&cn->c, on_frame, cn);
	if (rc == 0 || cn->dead)
		return;
	if (rc < 0 && rc != -ECONNRESET) {
		cn->s->st.bad_records++;
		scblog(LOG_NOTICE, "B400 malformed: connection dropped: %s",
		       rc == -EBADMSG ? "record failed authentication" :
		       rc == -EMSGSIZE ? "oversized record" : strerror(-rc));
	}
	close_later(cn);
}

/* EMFILE: drop the newest connection rather than spin on it. */
static void shed_one(struct scbs *s, int lfd)
{
	int fd;

	if (s->reserve_fd < 0)
		return;
	close(s->reserve_fd);
	fd = accept(lfd, NULL, NULL);
	if (fd >= 0)
		close(fd);
	s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_accept(struct scbs *s, int lfd)
{
	int one = 1;

	for (int i = 0; i < 64; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *cn;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				s->st.accept_errors++;
				scblog(LOG_WARNING,
				       "B421 busy: out of file descriptors");
				shed_one(s, lfd);
			}
			return;
		}
		/* Replies and events go out as separate small writes:
		 * Nagle plus delayed ACKs would add 40 ms to each. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		cn = calloc(1, sizeof(*cn));
		if (!cn || scbc_server_start(&cn->c, fd, s->bx)) {
			s->st.accept_errors++;
			free(cn);
			close(fd);
			continue;
		}
		cn->kind = K_CONN;
		cn->s = s;
		cn->has_c = true;
		cn->peer.owner = cn;
		cn->deadline_ms = now_ms() + SCBS_HANDSHAKE_MS;
		ev.data.ptr = cn;
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev)) {
			scbc_free(&cn->c);
			free(cn);
			continue;
		}
		cn->next = s->all;
		if (s->all)
			s->all->prev = cn;
		s->all = cn;
		s->st.accepted++;
	}
}

static void src_endpoint(const struct sockaddr_storage *ss, uint8_t out[18])
{
	memset(out, 0, 18);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a->sin_addr, 4);
		memcpy(out + 16, &a->sin_port, 2);
	} else {
		const struct sockaddr_in6 *a = (const void *)ss;

		memcpy(out, &a->sin6_addr, 16);
		memcpy(out + 16, &a->sin6_port, 2);
	}
}

static void on_udp(struct scbs *s, int fd)
{
	for (int i = 0; i < 64; i++) {
		uint8_t pkt[64], ans[SCB_PROBE_ANSWER_LEN], ep[18];
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(fd, pkt, sizeof(pkt), MSG_DONTWAIT,
				     (struct sockaddr *)&ss, &sl);
		int alen;

		if (n < 0)
			return;
		src_endpoint(&ss, ep);
		alen = scbh_probe(s->x, pkt, (size_t)n, ep, ans);
		if (alen < 0) {
			s->st.bad_probes++;
			continue;
		}
		s->st.probes++;
		sendto(fd, ans, (size_t)alen, MSG_DONTWAIT,
		       (struct sockaddr *)&ss, sl);
	}
}

/* Handshake deadlines and kicked peers that never drain. */
static void tick(struct scbs *s)
{
	int64_t now = now_ms();

	for (struct conn *cn = s->all; cn; cn = cn->next) {
		if (!cn->deadline_ms || cn->deadline_ms > now || cn->dead)
			continue;
		if (!cn->peer.welcomed && !cn->closing) {
			s->st.hs_timeouts++;
			scblog(LOG_INFO, "B400 malformed: no handshake in %d s, closed",
			       SCBS_HANDSHAKE_MS / 1000);
		}
		close_later(cn);
	}
	scbh_tick(s->x);
}

/* ------------------------------------------------------------ setup */

static int bind_one(struct scbs *s, int type, const struct sockaddr *sa,
		    socklen_t len)
{
	int one = 1, zero = 0;
	int fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::] also takes IPv4 unless the admin lists both families. */
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, sa, len) ||
	    (type == SOCK_STREAM && listen(fd, 1024))) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int add_fd(struct scbs *s, struct lsock *l)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };

	return epoll_ctl(s->ep, EPOLL_CTL_ADD, l->fd, &ev);
}

int scbs_open(struct scbs **sp, struct scbh_ctx *x,
	      const struct sockaddr_storage *addrs, const socklen_t *lens,
	      int n, const uint8_t broker_x25519[32])
{
	struct scbs *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	*sp = s;
	s->ep = -1;
	s->ev.fd = -1;
	s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (int i = 0; i < SCBS_LISTEN_MAX; i++)
		s->tcp[i].fd = s->udp[i].fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->x = x;
	memcpy(s->bx, broker_x25519, 32);
	x->user = s;
	x->ops.send = op_send;
	x->ops.kick = op_kick;
	x->ops.submit = submit;
	x->ops.log = scblog_ctx;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->ev.kind = K_EVENT;
	s->ev.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->ep < 0 || s->ev.fd < 0 || add_fd(s, &s->ev))
		return -1;
	for (int i = 0; i < n && i < SCBS_LISTEN_MAX; i++) {
		const struct sockaddr *sa = (const void *)&addrs[i];

		s->tcp[i].kind = K_TCP;
		s->udp[i].kind = K_UDP;
		s->tcp[i].fd = bind_one(s, SOCK_STREAM, sa, lens[i]);
		if (s->tcp[i].fd < 0)
			return -1;
		s->udp[i].fd = bind_one(s, SOCK_DGRAM, sa, lens[i]);
		if (s->udp[i].fd < 0)
			return -1;
		s->n_listen++;
		if (add_fd(s, &s->tcp[i]) || add_fd(s, &s->udp[i]))
			return -1;
	}
	return 0;
}

int scbs_run(struct scbs *s, volatile sig_atomic_t *stop,
	     volatile sig_atomic_t *hup, void (*on_hup)(void))
{
	struct epoll_event evs[128];
	int64_t next_tick = now_ms() + 1000;

	while (!*stop) {
		int n = epoll_wait(s->ep, evs, 128, 500);

		if (n < 0 && errno != EINTR) {
			scblog(LOG_ERR, "B501 internal: epoll_wait: %s",
			       strerror(errno));
			return -1;
		}
		for (int i = 0; i < n; i++) {
			enum kind *k = evs[i].data.ptr;
			struct lsock *l = evs[i].data.ptr;

			if (*k == K_CONN)
				on_conn(evs[i].data.ptr, evs[i].events);
			else if (*k == K_TCP)
				on_accept(s, l->fd);
			else if (*k == K_UDP)
				on_udp(s, l->fd);
			else
				jobs_done(s);
		}
		if (now_ms() >= next_tick) {
			tick(s);
			next_tick = now_ms() + 1000;
		}
		reap(s);
		if (*hup) {
			*hup = 0;
			if (on_hup)
				on_hup();
		}
	}
	return 0;
}

void scbs_stats(const struct scbs *s, struct scbs_stats *st)
{
	*st = s->st;
}

void scbs_close(struct scbs *s)
{
	struct scbh_job *j;

	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->n_threads; i++)
		pthread_join(s->threads[i], NULL);
	/* Jobs never run or never collected: their peers go with them. */
	while ((j = s->todo) || (j = s->done)) {
		if (j == s->todo)
			s->todo = j->next;
		else
			s->done = j->next;
		struct scbh_peer *p = j->peer;

		p->jobs--;
		sodium_memzero(j, sizeof(*j));
		free(j);
		if (p->gone && !p->jobs)
			conn_free(p->owner);
	}
	for (struct conn *cn = s->all; cn; cn = cn->next)
		close_later(cn);
	reap(s);
	for (int i = 0; i < SCBS_LISTEN_MAX; i++) {
		if (s->tcp[i].fd >= 0)
			close(s->tcp[i].fd);
		if (s->udp[i].fd >= 0)
			close(s->udp[i].fd);
	}
	if (s->ev.fd >= 0)
		close(s->ev.fd);
	if (s->ep >= 0)
		close(s->ep);
	if (s->reserve_fd >= 0)
		close(s->reserve_fd);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	sodium_memzero(s->bx, sizeof(s->bx));
	free(s);
}
