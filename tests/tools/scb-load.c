// SPDX-License-Identifier: MIT
/*
 * scb-load: thousands of simulated devices against one sloop-scb, for
 * tests/bench/scb-bench.sh.
 *
 *   scb-load cheapen DB USER PASSWORD-FILE
 *   scb-load run HOST PORT BROKERPUB USER PASSWORD-FILE [--devices N]
 *            [--pairs P] [--seconds S] [--window W] [--pid BROKERPID]
 *
 * cheapen (broker stopped) replaces USER's Argon2id hash in the store by
 * one of the same password at libsodium's minimum cost: the verify reads
 * its cost from the hash, so registering thousands of devices no longer
 * takes 0.1-1 s each.  The benchmark times logins and matches, never
 * registrations, so this changes none of its figures.
 *
 * run: setup (blocking, untimed) registers N devices (keys derived from
 * their index, so a rerun finds them registered) and, for P pairs, a
 * loop founded by the first device with the second approved as member.
 * Then, on one epoll loop: all N devices log in, at most W handshakes
 * in flight (logins per second: first connect to last WELCOME), the
 * broker's RSS is read before and after (--pid), and for S seconds each
 * pair's second device CONNECTs to its founder, who accepts at once; a
 * match counts when the asker has its OK and both have EV_RENDEZVOUS.
 * Prints a table.  Exit status 1 when a phase had failures.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>
#include <sloop/scb.h>

#include "cred.h"
#include "hex.h"
#include "scbconn.h"
#include "scbwire.h"
#include "tai64n.h"

#define TIMEOUT_MS	15000

struct pair;

struct dev {
	struct scbc c;
	bool open, online, failed;
	int idx;
	uint8_t pk[32], sk[64], xpriv[32];
	uint64_t t0;
	uint32_t next_id;
	struct pair *pair;
	bool want_out;
	const char *doomed;		/* close once out of its callbacks */
};

enum { GOT_OK = 1, GOT_A_RDV = 2, GOT_F_RDV = 4, GOT_ALL = 7 };

struct pair {
	struct dev *f, *a;
	uint8_t loop_id[32];
	uint32_t connect_id;
	uint64_t t0;
	unsigned int got;
	bool busy;
};

struct lat {
	uint32_t *us;
	size_t n, cap;
};

static struct {
	const char *host, *port, *user;
	uint8_t broker_x[32];
	char password[257];
	int n_dev, n_pairs, window, seconds;
	long pid;
	struct dev *devs;
	struct pair *pairs;
	int ep;
	struct addrinfo *ai;
	/* phase counters */
	int logins_ok, logins_failed, in_flight;
	uint64_t matches, match_errors;
	bool matching;
	uint64_t match_end;
	struct lat login_lat, match_lat;
	int errors_shown;
	bool any_doomed;
} g;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void lat_add(struct lat *l, uint64_t ns)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 4096;
		uint32_t *p = realloc(l->us, cap * sizeof(*p));

		if (!p)
			return;
		l->us = p;
		l->cap = cap;
	}
	l->us[l->n++] = (uint32_t)(ns / 1000 > UINT32_MAX ? UINT32_MAX :
				   ns / 1000);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double lat_pct(struct lat *l, double pct)
{
	if (!l->n)
		return 0;
	qsort(l->us, l->n, sizeof(*l->us), cmp_u32);
	return l->us[(size_t)(pct / 100.0 * (double)(l->n - 1))] / 1000.0;
}

/* Shown for the first few failures only: thousands would drown it. */
static void failure(const char *what, struct dev *d, const char *why)
{
	if (g.errors_shown++ < 5)
		fprintf(stderr, "scb-load: %s: device %d: %s\n", what,
			d ? d->idx : -1, why);
}

static void frame_error(const uint8_t *frame, size_t len, char *out,
			size_t cap)
{
	struct scbw_frame *f = malloc(sizeof(*f));
	const struct scbw_attr *a;
	char why[128], text[256] = "";

	if (!f || scbw_parse(f, frame, len, why, sizeof(why))) {
		snprintf(out, cap, "unparsable frame");
	} else if (f->type != SCB_MSG_ERROR) {
		snprintf(out, cap, "unexpected %s", scbw_msg_name(f->type));
	} else {
		a = scbw_get(f, SCB_A_TEXT);
		if (a)
			scbw_str(a, text, sizeof(text));
		a = scbw_get(f, SCB_A_CODE);
		snprintf(out, cap, "B%u %s (%s)", a ? scbw_u16(a) : 0,
			 a ? scbw_strerror(scbw_u16(a)) : "?", text);
	}
	free(f);
}

/* ------------------------------------------------------------ keys */

static void dev_keys(struct dev *d, int idx)
{
	uint8_t seed[32];
	char label[64];

	d->idx = idx;
	snprintf(label, sizeof(label), "scb-load device %d", idx);
	crypto_generichash(seed, sizeof(seed), (const uint8_t *)label,
			   strlen(label), NULL, 0);
	crypto_sign_seed_keypair(d->pk, d->sk, seed);
	crypto_sign_ed25519_sk_to_curve25519(d->xpriv, d->sk);
}

/* Nanoseconds kept: one device logs in twice within the 16 ms granule. */
static size_t hello(struct dev *d, uint8_t *buf, size_t cap)
{
	uint8_t tai[TAI64N_LEN];
	struct timespec ts;
	struct scbw_buf b;

	clock_gettime(CLOCK_REALTIME, &ts);
	tai64n_encode(tai, &ts);
	scbw_start(&b, buf, cap, SCB_MSG_HELLO, 0);
	scbw_put_u8(&b, SCB_A_ROLE, SCB_ROLE_DEVICE);
	scbw_put(&b, SCB_A_PUB, d->pk, 32);
	scbw_put(&b, SCB_A_TAI64N, tai, sizeof(tai));
	return scbw_end(&b);
}

/* ------------------------------------------------------ blocking setup */

static uint8_t rbuf[SCB_RECORD_MAX];
static size_t rlen;

static int dial(struct dev *d)
{
	uint8_t h[128];
	size_t hl = hello(d, h, sizeof(h));
	int rc;

	memset(&d->c, 0, sizeof(d->c));
	rc = scbc_dial(&d->c, g.host, g.port, d->xpriv, g.broker_x, h, hl,
		       rbuf, sizeof(rbuf), &rlen, TIMEOUT_MS);
	if (rc) {
		failure("dial", d, strerror(-rc));
		return -1;
	}
	d->open = true;
	if (rlen < SCB_FRAME_HDR_LEN || rbuf[1] != SCB_MSG_WELCOME) {
		char why[300];

		frame_error(rbuf, rlen, why, sizeof(why));
		failure("hello", d, why);
		return -1;
	}
	d->next_id = 1;
	return 0;
}

static void hang_up(struct dev *d)
{
	if (d->open)
		scbc_free(&d->c);
	d->open = false;
	d->online = false;
}

/* One request; 0 with the OK in rbuf/rlen, else -1 (or the B code). */
static int request(struct dev *d, struct scbw_buf *b, const char *what)
{
	size_t len = scbw_end(b);
	char why[300];
	int rc;

	if (!len)
		return -1;
	rc = scbc_request(&d->c, b->p, len, rbuf, sizeof(rbuf), &rlen,
			  TIMEOUT_MS);
	if (rc) {
		failure(what, d, strerror(-rc));
		return -1;
	}
	if (rlen >= SCB_FRAME_HDR_LEN && rbuf[1] == SCB_MSG_OK)
		return 0;
	frame_error(rbuf, rlen, why, sizeof(why));
	if (rlen >= SCB_FRAME_HDR_LEN && rbuf[1] == SCB_MSG_ERROR &&
	    strstr(why, "B416"))
		return SCB_E_EXISTS;
	failure(what, d, why);
	return -1;
}

static int do_register(struct dev *d)
{
	static uint8_t q[1024];
	struct scbw_buf b;
	char name[32];
	int rc;

	if (dial(d))
		return -1;
	snprintf(name, sizeof(name), "bench-%d", d->idx);
	scbw_start(&b, q, sizeof(q), SCB_MSG_REGISTER, d->next_id++);
	scbw_put_str(&b, SCB_A_USER, g.user);
	scbw_put_str(&b, SCB_A_PASSWORD, g.password);
	scbw_put_str(&b, SCB_A_NAME, name);
	rc = request(d, &b, "register");
	hang_up(d);
	return rc == SCB_E_EXISTS ? 0 : rc;
}

/* The nested LOOP's LOOP_ID, or top-level ADDR4/ADDR6 of a JOIN. */
static int reply_attr(uint16_t nest, uint16_t type, uint8_t *out,
		      size_t len)
{
	static struct scbw_frame f, n;
	const struct scbw_attr *a;
	char why[128];

	if (scbw_parse(&f, rbuf, rlen, why, sizeof(why)))
		return -1;
	if (nest) {
		a = scbw_get(&f, nest);
		if (!a || scbw_parse_nested(a, &n, why, sizeof(why)))
			return -1;
		a = scbw_get(&n, type);
	} else {
		a = scbw_get(&f, type);
	}
	if (!a || a->len != len)
		return -1;
	memcpy(out, a->val, len);
	return 0;
}

static int reply_str(uint16_t type, char *out, size_t cap)
{
	static struct scbw_frame f;
	char why[128];

	if (scbw_parse(&f, rbuf, rlen, why, sizeof(why)))
		return -1;
	return scbw_str(scbw_get(&f, type), out, cap) ? 0 : -1;
}

static int approve(struct pair *p, const uint8_t addr4[4],
		   const uint8_t addr6[16])
{
	static uint8_t q[1024];
	uint8_t raw[CRED_LEN];
	struct scbw_buf b;
	struct cred c;
	uint64_t now = (uint64_t)time(NULL);

	memset(&c, 0, sizeof(c));
	c.policy = 1;
	memcpy(c.loop_id, p->loop_id, 32);
	memcpy(c.device, p->a->pk, 32);
	memcpy(c.addr4, addr4, 4);
	memcpy(c.addr6, addr6, 16);
	c.not_before = now - 10;
	c.not_after = now + 3000;
	if (cred_sign(&c, p->f->sk))
		return -1;
	cred_encode(&c, raw);
	scbw_start(&b, q, sizeof(q), SCB_MSG_APPROVE, p->f->next_id++);
	scbw_put(&b, SCB_A_LOOP_ID, p->loop_id, 32);
	scbw_put(&b, SCB_A_DEVICE, p->a->pk, 32);
	scbw_put(&b, SCB_A_CRED, raw, sizeof(raw));
	return request(p->f, &b, "approve");
}

/* Founder creates the loop and an invitation, the other joins, approved. */
static int make_pair(struct pair *p, int i)
{
	static uint8_t q[1024];
	uint8_t addr4[4], addr6[16];
	struct scbw_buf b;
	char name[32], code[80];
	int rc = -1;

	snprintf(name, sizeof(name), "bench-%d", i);
	if (dial(p->f))
		goto out;
	scbw_start(&b, q, sizeof(q), SCB_MSG_LOOP_CREATE, p->f->next_id++);
	scbw_put_str(&b, SCB_A_LOOP_NAME, name);
	scbw_put_u8(&b, SCB_A_POLICY, 1);
	rc = request(p->f, &b, "loop create");
	if (rc == SCB_E_EXISTS) {
		/* a rerun on the same store: the pair is set up already */
		cred_loop_id(p->loop_id, p->f->pk, name);
		rc = 0;
		goto out;
	}
	if (rc || reply_attr(SCB_A_LOOP, SCB_A_LOOP_ID, p->loop_id, 32)) {
		rc = -1;
		goto out;
	}
	rc = -1;
	scbw_start(&b, q, sizeof(q), SCB_MSG_INVITE_CREATE, p->f->next_id++);
	scbw_put(&b, SCB_A_LOOP_ID, p->loop_id, 32);
	scbw_put_u32(&b, SCB_A_TTL, 3600);
	if (request(p->f, &b, "invite") ||
	    reply_str(SCB_A_INVITE, code, sizeof(code)) || dial(p->a))
		goto out;
	scbw_start(&b, q, sizeof(q), SCB_MSG_JOIN, p->a->next_id++);
	scbw_put_str(&b, SCB_A_INVITE, code);
	if (request(p->a, &b, "join") ||
	    reply_attr(0, SCB_A_ADDR4, addr4, 4) ||
	    reply_attr(0, SCB_A_ADDR6, addr6, 16))
		goto out;
	rc = approve(p, addr4, addr6);
out:
	hang_up(p->f);
	hang_up(p->a);
	return rc;
}

static int setup(void)
{
	uint64_t t0 = now_ns();
	int failed = 0;

	for (int i = 0; i < g.n_dev; i++)
		failed += do_register(&g.devs[i]) != 0;
	printf("setup: %d devices registered in %.1f s (%d failed)\n",
	       g.n_dev - failed, (double)(now_ns() - t0) / 1e9, failed);
	if (failed)
		return -1;
	t0 = now_ns();
	for (int i = 0; i < g.n_pairs; i++)
		failed += make_pair(&g.pairs[i], i) != 0;
	printf("setup: %d loops with founder and approved member in %.1f s (%d failed)\n",
	       g.n_pairs - failed, (double)(now_ns() - t0) / 1e9, failed);
	fflush(stdout);
	return failed ? -1 : 0;
}

/* ------------------------------------------------------- event loop */

static void watch(struct dev *d, int op)
{
	struct epoll_event ev = {
		.events = EPOLLIN | (scbc_want_write(&d->c) ? EPOLLOUT : 0),
		.data.ptr = d,
	};

	d->want_out = ev.events & EPOLLOUT;
	epoll_ctl(g.ep, op, d->c.fd, &ev);
}

static void drop(struct dev *d, const char *why)
{
	if (!d->online && !d->failed) {
		g.logins_failed++;
		g.in_flight--;
	}
	if (d->online && g.matching)
		g.match_errors++;
	if (d->pair)
		d->pair->busy = false;
	failure(d->online ? "connection" : "login", d, why);
	d->failed = true;
	if (d->open)
		epoll_ctl(g.ep, EPOLL_CTL_DEL, d->c.fd, NULL);
	hang_up(d);
}

/* Inside scbc_read's callback the connection may not be freed. */
static void doom(struct dev *d, const char *why)
{
	if (!d->doomed)
		d->doomed = why;
	g.any_doomed = true;
}

static void sweep(void)
{
	if (!g.any_doomed)
		return;
	g.any_doomed = false;
	for (int i = 0; i < g.n_dev; i++)
		if (g.devs[i].doomed && g.devs[i].open)
			drop(&g.devs[i], g.devs[i].doomed);
}

static int start_login(struct dev *d)
{
	uint8_t h[128];
	size_t hl = hello(d, h, sizeof(h));
	int fd, rc, one = 1;

	fd = socket(g.ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		failure("socket", d, strerror(errno));
		return -1;
	}
	/* A device's request should not wait for the ACK of its last one. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, g.ai->ai_addr, g.ai->ai_addrlen) &&
	    errno != EINPROGRESS) {
		failure("connect", d, strerror(errno));
		close(fd);
		return -1;
	}
	memset(&d->c, 0, sizeof(d->c));
	rc = scbc_client_start(&d->c, fd, d->xpriv, g.broker_x, h, hl);
	if (rc) {
		failure("client start", d, strerror(-rc));
		close(fd);
		return -1;
	}
	d->open = true;
	d->t0 = now_ns();
	g.in_flight++;
	watch(d, EPOLL_CTL_ADD);
	return 0;
}

static void send_frame(struct dev *d, struct scbw_buf *b)
{
	size_t len = scbw_end(b);

	if (!d->open || d->doomed)
		return;
	if (!len || scbc_send(&d->c, b->p, len)) {
		doom(d, "send failed");
		return;
	}
	if (scbc_flush(&d->c) < 0) {
		doom(d, "write failed");
		return;
	}
	if (scbc_want_write(&d->c) != d->want_out)
		watch(d, EPOLL_CTL_MOD);
}

static void start_connect(struct pair *p)
{
	uint8_t q[128];
	struct scbw_buf b;

	p->connect_id = p->a->next_id++;
	p->got = 0;
	p->busy = true;
	p->t0 = now_ns();
	scbw_start(&b, q, sizeof(q), SCB_MSG_CONNECT, p->connect_id);
	scbw_put(&b, SCB_A_LOOP_ID, p->loop_id, 32);
	scbw_put(&b, SCB_A_DEVICE, p->f->pk, 32);
	send_frame(p->a, &b);
}

static void match_progress(struct pair *p, unsigned int bit)
{
	p->got |= bit;
	if (p->got != GOT_ALL)
		return;
	g.matches++;
	lat_add(&g.match_lat, now_ns() - p->t0);
	p->busy = false;
	if (now_ns() < g.match_end && p->a->online && p->f->online)
		start_connect(p);
}

static void answer_connect(struct dev *f)
{
	struct pair *p = f->pair;
	uint8_t q[128];
	struct scbw_buf b;

	scbw_start(&b, q, sizeof(q), SCB_MSG_CONNECT_ANSWER, f->next_id++);
	scbw_put(&b, SCB_A_LOOP_ID, p->loop_id, 32);
	scbw_put(&b, SCB_A_DEVICE, p->a->pk, 32);
	scbw_put_u8(&b, SCB_A_ACCEPT, 1);
	send_frame(f, &b);
}

static void on_event(struct dev *d, uint8_t type, uint32_t id,
		     const uint8_t *frame, size_t len)
{
	struct pair *p = d->pair;
	bool asker = p && p->a == d;
	char why[300];

	if (!p || !p->busy)
		return;
	if (type == SCB_MSG_EV_CONNECT && !asker) {
		answer_connect(d);
	} else if (type == SCB_MSG_EV_RENDEZVOUS) {
		match_progress(p, asker ? GOT_A_RDV : GOT_F_RDV);
	} else if (asker && id == p->connect_id && type == SCB_MSG_OK) {
		match_progress(p, GOT_OK);
	} else if (type == SCB_MSG_ERROR) {
		frame_error(frame, len, why, sizeof(why));
		failure("match", d, why);
		g.match_errors++;
		p->busy = false;
		if (now_ns() < g.match_end)
			start_connect(p);
	}
}

static int on_frame(void *ctx, struct scbc *c, const uint8_t *frame,
		    size_t len)
{
	struct dev *d = ctx;

	if (len < SCB_FRAME_HDR_LEN)
		return 0;
	if (!d->online) {
		if (frame[1] != SCB_MSG_WELCOME) {
			static char reason[300];

			frame_error(frame, len, reason, sizeof(reason));
			failure("login", d, reason);
			doom(d, "refused");
			return 1;
		}
		d->online = true;
		d->next_id = 1;
		g.in_flight--;
		g.logins_ok++;
		lat_add(&g.login_lat, now_ns() - d->t0);
		return 0;
	}
	on_event(d, frame[1],
		 (uint32_t)frame[4] << 24 | (uint32_t)frame[5] << 16 |
		 (uint32_t)frame[6] << 8 | frame[7], frame, len);
	return d->doomed != NULL;
}

static void on_io(struct dev *d, uint32_t events)
{
	int rc;

	if (events & EPOLLOUT) {
		rc = scbc_flush(&d->c);
		if (rc < 0) {
			drop(d, strerror(-rc));
			return;
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		rc = scbc_read(&d->c, on_frame, d);
		if (d->doomed) {
			drop(d, d->doomed);
			return;
		}
		if (rc) {
			drop(d, rc == 1 ? "closed by the broker" :
				strerror(-rc));
			return;
		}
	}
	if (d->open && scbc_want_write(&d->c) != d->want_out)
		watch(d, EPOLL_CTL_MOD);
}

static void poll_once(int ms)
{
	struct epoll_event ev[256];
	int n = epoll_wait(g.ep, ev, 256, ms);

	for (int i = 0; i < n; i++) {
		struct dev *d = ev[i].data.ptr;

		if (d->open)
			on_io(d, ev[i].events);
	}
	sweep();
}

/* ------------------------------------------------------------ phases */

static long rss_kib(void)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	if (g.pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/status", g.pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void settle(int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000ull;

	while (now_ns() < end)
		poll_once(50);
}

static double phase_logins(void)
{
	uint64_t t0 = now_ns(), deadline = t0 + 120ull * 1000000000ull;
	int next = 0;

	while ((next < g.n_dev || g.in_flight > 0) && now_ns() < deadline) {
		while (next < g.n_dev && g.in_flight < g.window)
			if (start_login(&g.devs[next++]))
				g.logins_failed++;
		poll_once(100);
	}
	g.logins_failed += g.in_flight;	/* never answered */
	return (double)(now_ns() - t0) / 1e9;
}

static double phase_matches(void)
{
	uint64_t t0 = now_ns();
	int busy;

	g.matching = true;
	g.match_end = t0 + (uint64_t)g.seconds * 1000000000ull;
	for (int i = 0; i < g.n_pairs; i++)
		if (g.pairs[i].a->online && g.pairs[i].f->online)
			start_connect(&g.pairs[i]);
	sweep();
	do {
		poll_once(100);
		busy = 0;
		for (int i = 0; i < g.n_pairs; i++)
			busy += g.pairs[i].busy;
	} while (busy && now_ns() < g.match_end + 15ull * 1000000000ull);
	g.match_errors += (uint64_t)busy;	/* never completed */
	return (double)(now_ns() - t0) / 1e9;
}

static void report(double login_s, double match_s, long rss0, long rss1)
{
	printf("\n%-30s %8s %7s %9s %11s %8s %8s\n", "phase", "count",
	       "failed", "seconds", "per second", "p50 ms", "p99 ms");
	printf("%-30s %8d %7d %9.3f %11.1f %8.2f %8.2f\n",
	       "login (HELLO->WELCOME)", g.logins_ok, g.logins_failed,
	       login_s, login_s > 0 ? g.logins_ok / login_s : 0,
	       lat_pct(&g.login_lat, 50), lat_pct(&g.login_lat, 99));
	printf("%-30s %8" PRIu64 " %7" PRIu64 " %9.3f %11.1f %8.2f %8.2f\n",
	       "match (CONNECT->RENDEZVOUS)", g.matches, g.match_errors,
	       match_s, match_s > 0 ? (double)g.matches / match_s : 0,
	       lat_pct(&g.match_lat, 50), lat_pct(&g.match_lat, 99));
	if (rss0 > 0 && rss1 > 0 && g.logins_ok > 0)
		printf("broker RSS: %ld KiB idle, %ld KiB with %d online: %.1f KiB per online device\n",
		       rss0, rss1, g.logins_ok,
		       (double)(rss1 - rss0) / g.logins_ok);
	else
		printf("broker RSS: not measured (no --pid)\n");
}

/* ------------------------------------------------------------ setup */

static int read_password(const char *path)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f || !fgets(g.password, sizeof(g.password), f)) {
		fprintf(stderr, "scb-load: %s: cannot read a password\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	n = strcspn(g.password, "\r\n");
	g.password[n] = '\0';
	return n ? 0 : -1;
}

static int raise_nofile(int need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	if (rl.rlim_max < (rlim_t)need)
		rl.rlim_max = (rlim_t)need;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		fprintf(stderr, "scb-load: cannot raise RLIMIT_NOFILE to %d: %s\n",
			need, strerror(errno));
		return -1;
	}
	return 0;
}

static int parse_opts(int argc, char **argv)
{
	g.n_dev = 2000;
	g.n_pairs = 100;
	g.window = 128;
	g.seconds = 10;
	for (int i = 0; i < argc; i++) {
		int *ip = !strcmp(argv[i], "--devices") ? &g.n_dev :
			  !strcmp(argv[i], "--pairs") ? &g.n_pairs :
			  !strcmp(argv[i], "--window") ? &g.window :
			  !strcmp(argv[i], "--seconds") ? &g.seconds : NULL;
		char *end;
		long v;

		if (i + 1 >= argc || (!ip && strcmp(argv[i], "--pid"))) {
			fprintf(stderr, "scb-load: bad option '%s'\n", argv[i]);
			return -1;
		}
		v = strtol(argv[++i], &end, 10);
		if (*end || v < 0 || v > 1000000) {
			fprintf(stderr, "scb-load: bad value '%s'\n", argv[i]);
			return -1;
		}
		if (ip)
			*ip = (int)v;
		else
			g.pid = v;
	}
	if (g.n_pairs * 2 > g.n_dev || g.window < 1) {
		fprintf(stderr, "scb-load: need --devices >= 2 * --pairs, --window >= 1\n");
		return -1;
	}
	return 0;
}

static int init_run(char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	uint8_t bpub[32];
	size_t bl = 0;

	g.host = argv[0];
	g.port = argv[1];
	g.user = argv[3];
	if (getaddrinfo(g.host, g.port, &hints, &g.ai)) {
		fprintf(stderr, "scb-load: cannot resolve %s port %s\n", g.host,
			g.port);
		return -1;
	}
	if ((sodium_base642bin(bpub, 32, argv[2], strlen(argv[2]), NULL, &bl,
			       NULL, sodium_base64_VARIANT_ORIGINAL) ||
	     bl != 32) && hex_decode(bpub, 32, argv[2], strlen(argv[2])) != 32) {
		fprintf(stderr, "scb-load: bad broker key\n");
		return -1;
	}
	if (crypto_sign_ed25519_pk_to_curve25519(g.broker_x, bpub) ||
	    read_password(argv[4]) || raise_nofile(g.n_dev + 256))
		return -1;
	g.devs = calloc((size_t)g.n_dev, sizeof(*g.devs));
	g.pairs = calloc((size_t)g.n_pairs + 1, sizeof(*g.pairs));
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!g.devs || !g.pairs || g.ep < 0)
		return -1;
	for (int i = 0; i < g.n_dev; i++)
		dev_keys(&g.devs[i], i);
	for (int i = 0; i < g.n_pairs; i++) {
		g.pairs[i].f = &g.devs[2 * i];
		g.pairs[i].a = &g.devs[2 * i + 1];
		g.devs[2 * i].pair = g.devs[2 * i + 1].pair = &g.pairs[i];
	}
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	double login_s, match_s;
	long rss0, rss1;

	if (argc < 5 || parse_opts(argc - 5, argv + 5) || init_run(argv))
		return 2;
	printf("scb-load: %d devices, %d pairs, window %d, %d s of matches\n",
	       g.n_dev, g.n_pairs, g.window, g.seconds);
	if (setup())
		return 1;
	sleep(1);
	rss0 = rss_kib();
	login_s = phase_logins();
	settle(1000);
	rss1 = rss_kib();
	match_s = g.n_pairs ? phase_matches() : 0;
	report(login_s, match_s, rss0, rss1);
	for (int i = 0; i < g.n_dev; i++)
		hang_up(&g.devs[i]);
	free(g.login_lat.us);
	free(g.match_lat.us);
	free(g.devs);
	free(g.pairs);
	freeaddrinfo(g.ai);
	close(g.ep);
	return g.logins_failed || g.match_errors ? 1 : 0;
}

/* ------------------------------------------------------------ cheapen */

static int cmd_cheapen(int argc, char **argv)
{
	char hash[crypto_pwhash_STRBYTES];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = 1;

	if (argc != 3 || read_password(argv[2])) {
		fprintf(stderr, "usage: scb-load cheapen DB USER PASSWORD-FILE\n");
		return 2;
	}
	if (crypto_pwhash_str(hash, g.password, strlen(g.password),
			      crypto_pwhash_OPSLIMIT_MIN,
			      crypto_pwhash_MEMLIMIT_MIN)) {
		fprintf(stderr, "scb-load: crypto_pwhash_str failed\n");
		return 1;
	}
	if (sqlite3_open_v2(argv[0], &db, SQLITE_OPEN_READWRITE, NULL) ||
	    sqlite3_prepare_v2(db, "UPDATE users SET pwhash = ? WHERE name = ?",
			       -1, &st, NULL) ||
	    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(st, 2, argv[1], -1, SQLITE_STATIC) ||
	    sqlite3_step(st) != SQLITE_DONE)
		fprintf(stderr, "scb-load: %s: %s\n", argv[0],
			db ? sqlite3_errmsg(db) : "cannot open");
	else if (sqlite3_changes(db) != 1)
		fprintf(stderr, "scb-load: no user '%s' in %s\n", argv[1],
			argv[0]);
	else
		rc = 0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sodium_init() < 0)
		return 2;
	if (argc >= 2 && !strcmp(argv[1], "cheapen"))
		return cmd_cheapen(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return cmd_run(argc - 2, argv + 2);
	fprintf(stderr,
		"usage: scb-load cheapen DB USER PASSWORD-FILE\n"
		"       scb-load run HOST PORT BROKERPUB USER PASSWORD-FILE [--devices N]\n"
		"                [--pairs P] [--seconds S] [--window W] [--pid PID]\n");
	return 2;
}
