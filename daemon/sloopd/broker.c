// SPDX-License-Identifier: MIT
/*
 * The broker client of a loop member (see broker.h).  Frames are built
 * and parsed with scbwire.h; trust decisions are loop.h's; peers go to
 * the kernel through link.c's loop functions.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sloop/scb.h>

#include "broker.h"
#include "ifconf.h"
#include "log.h"
#include "scbwire.h"
#include "tai64n.h"

#define BRK_FRAME_MAX		4096
#define BRK_PROBE_MS		20000u
#define BRK_GET_MS		30000u
#define BRK_GET_FAST_MS		5000u
#define BRK_CHECK_MS		1000u
#define BRK_RENEW_RETRY_MS	30000u
#define BRK_LOOPS_MS		30000u
#define BRK_DIAL_MAX_MS		30000u
#define BRK_INVITE_TTL		86400u
#define BRK_SYNC_MS		5000
#define BRK_CONNECT_MS		2000u	/* first CONNECT retry, doubling */
#define BRK_CONNECT_MAX_MS	60000u
#define BRK_APPROVE_RETRY_S	60u

static uint64_t now_s(void)
{
	return (uint64_t)time(NULL);
}

static bool is_self(const struct brk *b, const uint8_t dev[32])
{
	return !memcmp(b->ed_pub, dev, 32);
}

static const char *short_key(const uint8_t k[32], char buf[12])
{
	sodium_bin2hex(buf, 12, k, 5);
	return buf;
}

/* ------------------------------------------------------------ connection */

static void ep_update(struct brk *b)
{
	struct epoll_event ev = { 0 };
	uint32_t want = EPOLLIN;

	if (b->fd < 0)
		return;
	if (b->connecting || scbc_want_write(&b->c))
		want |= EPOLLOUT;
	if (want == b->ep_events)
		return;
	ev.events = want;
	ev.data.fd = b->fd;
	if (!epoll_ctl(b->ep, b->ep_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
		       b->fd, &ev))
		b->ep_events = want;
}

static void disconnect(struct brk *b, enum reason why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void disconnect(struct brk *b, enum reason why, const char *fmt, ...)
{
	unsigned int wait;
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (b->fd >= 0) {
		epoll_ctl(b->ep, EPOLL_CTL_DEL, b->fd, NULL);
		scbc_free(&b->c);
	}
	b->fd = -1;
	b->connecting = b->welcomed = false;
	b->ep_events = 0;
	memset(b->pend, 0, sizeof(b->pend));
	b->fails++;
	wait = 1000u << (b->fails < 6 ? b->fails - 1 : 5);
	if (wait > BRK_DIAL_MAX_MS)
		wait = BRK_DIAL_MAX_MS;
	b->next_dial_ms = lk_now_ms() + wait;
	log_fail(why, "broker %s:%u: %s; retrying in %us", b->o->broker.host,
		 b->o->broker.port, msg, wait / 1000);
}

/* The broker's UDP port in the data socket's family (v4-mapped on v6). */
static void probe_target(struct brk *b, const struct sockaddr *sa)
{
	struct sockaddr_storage me;
	socklen_t mlen = sizeof(me);
	uint8_t ep[18] = { 0 };

	b->udp_to_len = 0;
	if (getsockname(b->l->udp, (struct sockaddr *)&me, &mlen))
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		ep[10] = ep[11] = 0xff;
		memcpy(ep + 12, &s4->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		memcpy(ep, &s6->sin6_addr, 16);
	}
	ep[16] = (uint8_t)(b->o->broker.port >> 8);
	ep[17] = (uint8_t)b->o->broker.port;
	if (loop_ep_to_sockaddr(ep, me.ss_family, &b->udp_to, &b->udp_to_len))
		b->udp_to_len = 0;
}

static size_t build_hello(struct brk *b, uint8_t *buf, size_t cap)
{
	uint8_t tai[TAI64N_LEN];
	struct scbw_buf w;

	if (tai64n_now(tai))
		return 0;
	scbw_start(&w, buf, cap, SCB_MSG_HELLO, 0);
	scbw_put_u8(&w, SCB_A_ROLE, SCB_ROLE_DEVICE);
	scbw_put(&w, SCB_A_PUB, b->ed_pub, 32);
	scbw_put(&w, SCB_A_TAI64N, tai, sizeof(tai));
	/* One connection per loop: another sloopd of ours may serve another. */
	scbw_put_str(&w, SCB_A_LOOP_NAME, b->st.name);
	return scbw_end(&w);
}

static void dial(struct brk *b)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV }, *res = NULL;
	uint8_t hello[256];
	size_t hlen;
	char port[8];
	int fd, rc;

	b->next_dial_ms = 0;
	snprintf(port, sizeof(port), "%u", b->o->broker.port);
	rc = getaddrinfo(b->o->broker.host, port, &hints, &res);
	if (rc) {
		b->fd = -1;
		disconnect(b, REASON_BRK_CONNECT, "cannot resolve: %s",
			   gai_strerror(rc));
		return;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		freeaddrinfo(res);
		disconnect(b, REASON_BRK_CONNECT, "socket: %s", strerror(errno));
		return;
	}
	probe_target(b, res->ai_addr);
	rc = connect(fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (rc && errno != EINPROGRESS) {
		rc = errno;
		close(fd);
		disconnect(b, REASON_BRK_CONNECT, "connect: %s", strerror(rc));
		return;
	}
	hlen = build_hello(b, hello, sizeof(hello));
	if (!hlen || scbc_client_start(&b->c, fd, b->x_priv, b->broker_x,
				       hello, hlen)) {
		close(fd);
		disconnect(b, REASON_BRK_PROTO, "cannot start the handshake");
		return;
	}
	b->fd = fd;
	b->connecting = true;
	b->ep_events = 0;
	ep_update(b);
	log_dbg("broker: connecting to %s:%u", b->o->broker.host,
		b->o->broker.port);
}

/* From a frame handler: acted on once scbc_read has returned. */
static void drop_later(struct brk *b, const char *msg)
{
	size_t n = strnlen(msg, sizeof(b->drop_msg) - 1);

	b->drop = true;
	memcpy(b->drop_msg, msg, n);
	b->drop_msg[n] = '\0';
}

static void conn_send(struct brk *b, const uint8_t *frame, size_t len)
{
	int rc;

	if (b->fd < 0 || !b->welcomed)
		return;
	rc = scbc_send(&b->c, frame, len);
	if (!rc)
		rc = scbc_flush(&b->c);
	if (rc < 0)
		drop_later(b, rc == -ENOBUFS ? "output queue full" : "write failed");
	ep_update(b);
}

static uint32_t req_begin(struct brk *b, struct scbw_buf *w, uint8_t *buf,
			  size_t cap, uint8_t type)
{
	if (!++b->next_id)
		b->next_id = 1;
	scbw_start(w, buf, cap, type, b->next_id);
	return b->next_id;
}

static void req_send(struct brk *b, struct scbw_buf *w, uint32_t id,
		     uint8_t type)
{
	size_t n = scbw_end(w), slot = id % BRK_PENDING_MAX;

	if (!n) {
		log_fail(REASON_BRK_PROTO, "internal: %s frame does not fit",
			 scbw_msg_name(type));
		return;
	}
	b->pend[slot].id = id;
	b->pend[slot].type = type;
	conn_send(b, w->p, n);
	log_dbg("broker: -> %s #%u", scbw_msg_name(type), id);
}

/* A request that only names the loop. */
static uint32_t send_loop_req(struct brk *b, uint8_t type)
{
	uint8_t buf[128];
	struct scbw_buf w;
	uint32_t id = req_begin(b, &w, buf, sizeof(buf), type);

	if (type != SCB_MSG_LOOPS)
		scbw_put(&w, SCB_A_LOOP_ID, b->st.loop_id, 32);
	req_send(b, &w, id, type);
	return id;
}

static void send_probe(struct brk *b)
{
	uint8_t p[SCB_PROBE_LEN];

	if (!b->udp_to_len)
		return;
	memcpy(p, SCB_PROBE_MAGIC, 4);
	memcpy(p + 4, b->token, 16);
	if (sendto(b->l->udp, p, sizeof(p), 0, (struct sockaddr *)&b->udp_to,
		   b->udp_to_len) < 0)
		log_dbg("broker probe: %s", strerror(errno));
}

static void brk_on_udp(void *ctx, const uint8_t *buf, size_t len,
		       const struct sockaddr *src, socklen_t slen)
{
	struct brk *b = ctx;
	char ep[80];

	(void)src;
	(void)slen;
	if (len != SCB_PROBE_ANSWER_LEN || memcmp(buf, SCB_PROBE_ANSWER_MAGIC, 4) ||
	    sodium_memcmp(buf + 4, b->token, 16)) {
		b->l->n_bad_packets++;
		return;
	}
	loop_ep_str(buf + 20, ep, sizeof(ep));
	log_dbg("broker sees our data socket as %s", ep);
}

/* ------------------------------------------------------------ the cache */

static void save(struct brk *b)
{
	int err;

	if (!b->st.known)
		return;
	cred_set_prune(&b->st.set, now_s());
	err = loop_cache_save(&b->st, b->cache);
	if (err)
		log_fail(REASON_LOOP_CACHE, "saving %s: %s", b->cache,
			 strerror(-err));
}

/* ------------------------------------------------------------ membership */

static void set_own_addr(struct brk *b, const struct cred *mine)
{
	struct opt_addr a4 = { .family = AF_INET }, a6 = { .family = AF_INET6 };
	int rc;

	if (b->addr_set && !memcmp(b->my4, mine->addr4, 4) &&
	    !memcmp(b->my6, mine->addr6, 16))
		return;
	memcpy(&a4.u.v4, mine->addr4, 4);
	memcpy(&a6.u.v6, mine->addr6, 16);
	rc = ifc_addr_prefix(b->l->knl.ifindex, &a4, b->st.net4[4]);
	if (!rc)
		rc = ifc_addr_prefix(b->l->knl.ifindex, &a6, b->st.net6[16]);
	if (rc) {
		log_fail(REASON_NL_ERROR, "loop address on %s: %s",
			 b->o->device, strerror(-rc));
		return;
	}
	memcpy(b->my4, mine->addr4, 4);
	memcpy(b->my6, mine->addr6, 16);
	b->addr_set = true;
	opt_addr_str(&a4, b->l->iplocal, sizeof(b->l->iplocal));
	log_msg(LOG_NOTICE, "loop %s: this device is %s/%u", b->st.name,
		b->l->iplocal, b->st.net4[4]);
}

/* Broker-given names end up in logs and script variables. */
static void peer_name(const struct loop_member *m, char *buf, size_t len)
{
	char hex[12];
	size_t i;

	if (!m->name[0]) {
		snprintf(buf, len, "m-%s", short_key(m->dev, hex));
		return;
	}
	snprintf(buf, len, "%s", m->name);
	for (i = 0; buf[i]; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
			    buf[i]))
			buf[i] = '_';
}

static void install_member(struct brk *b, struct loop_member *m,
			   const struct cred *best)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	struct lk_peer *p;
	char name[OPT_NAME_LEN + 1];

	peer_name(m, name, sizeof(name));
	p = lk_loop_add(b->l, m->dev, name, best->addr4, best->addr6);
	if (!p) {
		log_fail(REASON_NOMEM, "loop %s: no room for member %s",
			 b->st.name, name);
		return;
	}
	m->refused_logged = false;
	if (!m->has_ep ||
	    loop_ep_to_sockaddr(m->ep, b->udp_to.ss_family ? b->udp_to.ss_family :
				AF_INET6, &ss, &len))
		return;
	if (!p->has_ep || p->ep_len != len || memcmp(&p->ep, &ss, len))
		lk_loop_endpoint(b->l, p, (struct sockaddr *)&ss, len, 0);
}

static void refuse_member(struct brk *b, struct loop_member *m, uint64_t now)
{
	struct lk_peer *p = lk_loop_find(b->l, m->dev);
	char name[OPT_NAME_LEN + 1], hex[12];
	enum reason why = REASON_LOOP_NOT_MEMBER;
	const char *what = "no valid membership signature chain";

	peer_name(m, name, sizeof(name));
	if (loop_revoked(&b->st.set, m->dev)) {
		why = REASON_LOOP_REVOKED;
		what = "revoked";
	} else if (p && !p->gone) {
		why = REASON_LOOP_EXPIRED;
		what = "membership expired";
	}
	(void)now;
	if (p && !p->gone) {
		lk_loop_drop(b->l, p, why, what);
		m->refused_logged = true;
		return;
	}
	if (m->refused_logged)
		return;
	m->refused_logged = true;
	log_fail(why, "loop %s: device %s (%s) refused: %s", b->st.name, name,
		 short_key(m->dev, hex), what);
}

/* Brings the kernel in line with what the signatures say, now. */
static void reconcile(struct brk *b)
{
	uint64_t now = now_s();
	struct cred mine, best;
	bool me;

	if (!b->st.known)
		return;
	me = cred_set_is_member(&b->st.set, b->ed_pub, now, &mine);
	if (me)
		set_own_addr(b, &mine);
	for (size_t i = 0; i < b->st.n_m; i++) {
		struct loop_member *m = &b->st.m[i];
		enum loop_verdict v = loop_check_peer(&b->st.set, b->ed_pub,
						      m->dev, now, &best);

		if (v == LOOP_PEER_SELF)
			continue;
		if (v == LOOP_PEER_OK && me)
			install_member(b, m, &best);
		else if (v == LOOP_PEER_REFUSED)
			refuse_member(b, m, now);
	}
}

static void drop_all(struct brk *b, enum reason why, const char *what)
{
	for (size_t i = 0; i < b->l->n_peers; i++)
		lk_loop_drop(b->l, &b->l->peers[i], why, what);
}

/* ------------------------------------------------------------ attributes */

static bool attr_is(const struct scbw_frame *f, uint16_t type, size_t len,
		    const uint8_t **val)
{
	const struct scbw_attr *a = scbw_get(f, type);

	if (!a || a->len != len)
		return false;
	*val = a->val;
	return true;
}

/* The LOOP nest: identity checked before anything of it is believed. */
static int loop_info(struct brk *b, const struct scbw_attr *nest)
{
	const uint8_t *id, *founder, *v;
	struct scbw_frame n;
	char why[128], name[OPT_NAME_LEN + 1];

	if (!nest || scbw_parse_nested(nest, &n, why, sizeof(why)))
		return -1;
	if (!attr_is(&n, SCB_A_LOOP_ID, 32, &id) ||
	    !attr_is(&n, SCB_A_FOUNDER, 32, &founder) ||
	    !scbw_get(&n, SCB_A_LOOP_NAME) ||
	    !scbw_str(scbw_get(&n, SCB_A_LOOP_NAME), name, sizeof(name)))
		return -1;
	if (strcmp(name, b->st.name))
		return -1;
	if (!loop_identity_ok(id, founder, name)) {
		log_fail(REASON_LOOP_IDENTITY, "loop %s: the broker's loop id does not derive from its founder",
			 name);
		return -1;
	}
	loop_state_set_identity(&b->st, id, founder, b->o->broker_key);
	if (scbw_get(&n, SCB_A_POLICY))
		b->st.policy = scbw_u8(scbw_get(&n, SCB_A_POLICY));
	if (attr_is(&n, SCB_A_NET4, 5, &v) && v[4] <= 32)
		memcpy(b->st.net4, v, 5);
	if (attr_is(&n, SCB_A_NET6, 17, &v) && v[16] <= 128)
		memcpy(b->st.net6, v, 17);
	return 0;
}

static bool loop_matches(struct brk *b, const struct scbw_frame *f)
{
	const uint8_t *id;

	return b->st.known && attr_is(f, SCB_A_LOOP_ID, 32, &id) &&
	       !memcmp(id, b->st.loop_id, 32);
}

static void add_creds(struct brk *b, const struct scbw_frame *f)
{
	for (const struct scbw_attr *a = scbw_get(f, SCB_A_CRED); a;
	     a = scbw_next(f, a)) {
		struct cred c;

		if (cred_decode(&c, a->val, a->len) ||
		    cred_set_add(&b->st.set, &c))
			log_dbg("loop %s: a credential from the broker does not verify",
				b->st.name);
	}
}

static void add_revokes(struct brk *b, const struct scbw_frame *f)
{
	for (const struct scbw_attr *a = scbw_get(f, SCB_A_REVOKE); a;
	     a = scbw_next(f, a)) {
		struct cred_revoke r;

		if (cred_revoke_decode(&r, a->val, a->len) ||
		    cred_set_revoke(&b->st.set, &r, now_s()))
			log_dbg("loop %s: a revocation from the broker does not verify",
				b->st.name);
	}
}

/* A PEER nest: its credentials count, its endpoint is remembered. */
static struct loop_member *peer_info(struct brk *b, const struct scbw_attr *nest)
{
	struct loop_member *m;
	const struct scbw_attr *a;
	const uint8_t *dev, *ep;
	struct scbw_frame n;
	char why[128];

	if (scbw_parse_nested(nest, &n, why, sizeof(why)) ||
	    !attr_is(&n, SCB_A_DEVICE, 32, &dev))
		return NULL;
	add_creds(b, &n);
	m = loop_member_get(&b->st, dev, true);
	if (!m)
		return NULL;
	a = scbw_get(&n, SCB_A_NAME);
	if (a)
		scbw_str(a, m->name, sizeof(m->name));
	if (attr_is(&n, SCB_A_ENDPOINT, 18, &ep) && (ep[16] | ep[17])) {
		memcpy(m->ep, ep, 18);
		m->has_ep = true;
	}
	a = scbw_get(&n, SCB_A_ONLINE);
	m->online = a ? scbw_u8(a) != 0 : m->has_ep;
	return m;
}

/* ------------------------------------------------------------ signing */

static int policy_of(const struct brk *b)
{
	int p = cred_set_policy(&b->st.set, now_s());

	return p ? p : b->st.policy ? b->st.policy : 1;
}

/*
 * The founder's root outlives the others: every membership hangs on it
 * and only the founder can renew it, so a founder that is offline for a
 * while must not end the loop.  Revoking the founder still does.
 */
static unsigned int lifetime_s(const struct brk *b, const uint8_t dev[32])
{
	if (is_self(b, dev) && is_self(b, b->st.founder) &&
	    b->o->root_lifetime_ms)
		return b->o->root_lifetime_ms / 1000;
	return b->o->cred_lifetime_ms ? b->o->cred_lifetime_ms / 1000 :
	       CRED_DEFAULT_LIFETIME;
}

static int sign_cred(struct brk *b, struct cred *c, const uint8_t dev[32],
		     const uint8_t a4[4], const uint8_t a6[16])
{
	if (loop_cred_issue(c, b->st.loop_id, policy_of(b), dev, a4, a6,
			    now_s(), lifetime_s(b, dev), b->ed_sk)) {
		log_fail(REASON_NOMEM, "cannot sign a credential");
		return -1;
	}
	return 0;
}

/* Signs and sends a credential for dev; the request id, 0 if none. */
static uint32_t send_cred(struct brk *b, uint8_t type, const uint8_t dev[32],
			  const uint8_t a4[4], const uint8_t a6[16])
{
	uint8_t buf[512], enc[CRED_LEN];
	struct scbw_buf w;
	struct cred c;
	uint32_t id;

	if (sign_cred(b, &c, dev, a4, a6))
		return 0;
	cred_encode(&c, enc);
	if (is_self(b, dev) && !cred_set_add(&b->st.set, &c))
		save(b);
	id = req_begin(b, &w, buf, sizeof(buf), type);
	scbw_put(&w, SCB_A_LOOP_ID, b->st.loop_id, 32);
	scbw_put(&w, SCB_A_DEVICE, dev, 32);
	scbw_put(&w, SCB_A_CRED, enc, CRED_LEN);
	req_send(b, &w, id, type);
	sodium_memzero(&c, sizeof(c));
	return id;
}

static bool me_member(const struct brk *b, struct cred *mine)
{
	return b->st.known &&
	       cred_set_is_member(&b->st.set, b->ed_pub, now_s(), mine);
}

/* ------------------------------------------------------------ requests */

static void do_loops(struct brk *b)
{
	b->next_loops_ms = lk_now_ms() + BRK_LOOPS_MS;
	send_loop_req(b, SCB_MSG_LOOPS);
}

static void do_register(struct brk *b)
{
	struct opt_error err;
	uint8_t buf[1024];
	char pw[257];
	size_t len = 0;
	struct scbw_buf w;
	uint32_t id;
	char msg[800];

	if (!b->o->user || b->registered_try) {
		log_fail(REASON_LOOP_WAITING, "this device is not registered with the broker%s",
			 b->o->user ? "" : " (set user and password-file)");
		return;
	}
	if (opt_read_secret(b->o->password_file, 0, pw, sizeof(pw) - 1, &len,
			    &err)) {
		opt_strerror(&err, msg, sizeof(msg));
		log_msg(LOG_ERR, "%s", msg);
		return;
	}
	while (len && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
		len--;
	pw[len] = 0;
	b->registered_try = true;
	id = req_begin(b, &w, buf, sizeof(buf), SCB_MSG_REGISTER);
	scbw_put_str(&w, SCB_A_USER, b->o->user);
	scbw_put_str(&w, SCB_A_PASSWORD, pw);
	scbw_put_str(&w, SCB_A_NAME, b->l->linkname);
	req_send(b, &w, id, SCB_MSG_REGISTER);
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(buf, sizeof(buf));
}

static void do_create(struct brk *b)
{
	uint8_t buf[256];
	struct scbw_buf w;
	uint32_t id = req_begin(b, &w, buf, sizeof(buf), SCB_MSG_LOOP_CREATE);

	b->created_try = true;
	scbw_put_str(&w, SCB_A_LOOP_NAME, b->st.name);
	scbw_put_u8(&w, SCB_A_POLICY, (uint8_t)b->o->policy);
	req_send(b, &w, id, SCB_MSG_LOOP_CREATE);
	log_msg(LOG_NOTICE, "loop %s: founding it (policy %d)", b->st.name,
		b->o->policy);
}

static void do_join(struct brk *b)
{
	uint8_t buf[256];
	struct scbw_buf w;
	uint32_t id = req_begin(b, &w, buf, sizeof(buf), SCB_MSG_JOIN);

	b->joined_try = true;
	scbw_put_str(&w, SCB_A_INVITE, b->o->invite);
	req_send(b, &w, id, SCB_MSG_JOIN);
	log_msg(LOG_NOTICE, "loop %s: joining with an invitation", b->st.name);
}

/* Our own credential nears its end: ask the others, or sign it (founder). */
/* m to every member with a session, but skip and the device not_to. */
static void broadcast(struct brk *b, const struct ctrl_msg *m,
		      const struct lk_peer *skip, const uint8_t *not_to)
{
	for (size_t i = 0; i < b->l->n_peers; i++) {
		struct lk_peer *p = &b->l->peers[i];

		if (p == skip || (not_to && !memcmp(p->ed_pub, not_to, 32)))
			continue;
		lk_loop_send(b->l, p, m);
	}
}

static void send_cred_to_peers(struct brk *b, const struct cred *c)
{
	struct ctrl_msg m = { .type = CTRL_CRED, .record_len = CRED_LEN };

	cred_encode(c, m.record);
	broadcast(b, &m, NULL, NULL);
}

/*
 * With the broker away, membership is renewed among the members: the
 * founder re-signs its root and hands it round; anyone else asks the
 * members it has sessions with, who sign and hand round (CTRL_RENEW,
 * CTRL_CRED).  A revoked or removed device gets nothing, so it still
 * drops out within a lifetime.
 */
static void renew_from_peers(struct brk *b, const struct cred *mine)
{
	struct ctrl_msg ask = { .type = CTRL_RENEW };
	struct cred c;

	if (is_self(b, b->st.founder)) {
		if (sign_cred(b, &c, b->ed_pub, mine->addr4, mine->addr6))
			return;
		if (!cred_set_add(&b->st.set, &c))
			save(b);
		send_cred_to_peers(b, &c);
		sodium_memzero(&c, sizeof(c));
		reconcile(b);
		log_msg(LOG_INFO, "loop %s: root renewed and handed to the members (no broker)",
			b->st.name);
		return;
	}
	broadcast(b, &ask, NULL, NULL);
	log_msg(LOG_INFO, "loop %s: asking the members to renew this device (no broker)",
		b->st.name);
}

static void renew_self(struct brk *b, uint64_t now_ms)
{
	struct cred mine;
	uint64_t now = now_s(), life;

	if (now_ms < b->next_renew_ms || !me_member(b, &mine))
		return;
	life = mine.not_after > mine.not_before ?
	       mine.not_after - mine.not_before : 0;
	if (cred_set_expiry(&b->st.set, b->ed_pub, now) > now + life / 3)
		return;
	b->next_renew_ms = now_ms + (life / 10 * 1000 < BRK_RENEW_RETRY_MS ?
				     life / 10 * 1000 : BRK_RENEW_RETRY_MS);
	if (!b->welcomed) {
		renew_from_peers(b, &mine);
	} else if (is_self(b, b->st.founder)) {
		send_cred(b, SCB_MSG_RENEW_ANSWER, b->ed_pub, mine.addr4,
			  mine.addr6);
		reconcile(b);
	} else {
		send_loop_req(b, SCB_MSG_RENEW);
	}
	log_msg(LOG_INFO, "loop %s: renewing this device's membership",
		b->st.name);
}

/* ------------------------------------------------------------ replies */

static void on_loops(struct brk *b, const struct scbw_frame *f)
{
	for (const struct scbw_attr *a = scbw_get(f, SCB_A_LOOP); a;
	     a = scbw_next(f, a)) {
		if (!loop_info(b, a)) {
			send_loop_req(b, SCB_MSG_LOOP_GET);
			return;
		}
	}
	if (b->o->found && !b->created_try)
		do_create(b);
	else if (b->o->invite && !b->joined_try)
		do_join(b);
	else if (!b->waiting_logged) {
		log_fail(REASON_LOOP_WAITING, "not a member of loop %s (waiting room)",
			 b->st.name);
		b->waiting_logged = true;
	}
}

static void on_created(struct brk *b, const struct scbw_frame *f)
{
	struct scbw_frame n;
	const uint8_t *a4, *a6;
	char why[128];

	if (loop_info(b, scbw_get(f, SCB_A_LOOP)) ||
	    scbw_parse_nested(scbw_get(f, SCB_A_LOOP), &n, why, sizeof(why)) ||
	    !attr_is(&n, SCB_A_ADDR4, 4, &a4) ||
	    !attr_is(&n, SCB_A_ADDR6, 16, &a6)) {
		log_fail(REASON_BRK_PROTO, "loop %s: unusable LOOP_CREATE answer",
			 b->st.name);
		return;
	}
	if (!is_self(b, b->st.founder)) {
		log_fail(REASON_LOOP_IDENTITY, "loop %s: created, but not founded by us",
			 b->st.name);
		return;
	}
	if (!b->st.policy)
		b->st.policy = b->o->policy;
	loop_member_get(&b->st, b->ed_pub, true);
	send_cred(b, SCB_MSG_RENEW_ANSWER, b->ed_pub, a4, a6);
	log_msg(LOG_NOTICE, "loop %s founded", b->st.name);
	reconcile(b);
	save(b);
}

static struct brk_wait *wait_find(struct brk *b, const uint8_t dev[32])
{
	for (size_t i = 0; i < b->n_wait; i++)
		if (!memcmp(b->wait[i].dev, dev, 32))
			return &b->wait[i];
	return NULL;
}

static void wait_drop(struct brk *b, const uint8_t dev[32])
{
	struct brk_wait *w = wait_find(b, dev);

	if (w)
		*w = b->wait[--b->n_wait];
}

static struct brk_wait *wait_note(struct brk *b, const uint8_t dev[32],
				  const char *name, const uint8_t a4[4],
				  const uint8_t a6[16], unsigned int approvals)
{
	struct brk_wait *w = wait_find(b, dev);

	if (!w) {
		if (b->n_wait == BRK_WAIT_MAX)
			return NULL;
		w = &b->wait[b->n_wait++];
		w->approved_at = 0;
	}
	memcpy(w->dev, dev, 32);
	snprintf(w->name, sizeof(w->name), "%s", name);
	memcpy(w->a4, a4, 4);
	memcpy(w->a6, a6, 16);
	w->approvals = approvals;
	return w;
}

/*
 * auto-approve signs for a waiting device at once.  The event that says
 * a device waits can be missed (our broker connection was down at that
 * moment), so the waiting room of every LOOP_GET answer comes here too
 * and our approval is given then, again if the last one seems lost
 * (BRK_APPROVE_RETRY_S).  Signing twice is harmless: the broker keeps one
 * credential per signer.
 */
static bool approve_waiting(struct brk *b, struct brk_wait *w)
{
	struct cred mine;
	char hex[12];

	if (!b->o->auto_approve || !me_member(b, &mine))
		return false;
	if (w->approved_at && now_s() - w->approved_at < BRK_APPROVE_RETRY_S)
		return true;
	w->approved_at = now_s();
	log_msg(LOG_NOTICE, "loop %s: approving device %s (%s) (auto-approve)",
		b->st.name, w->name, short_key(w->dev, hex));
	send_cred(b, SCB_MSG_APPROVE, w->dev, w->a4, w->a6);
	return true;
}

/* LOOP_GET's PENDING nests are the broker's whole waiting room. */
static void waiting_room(struct brk *b, const struct scbw_frame *f)
{
	b->n_wait = 0;
	for (const struct scbw_attr *a = scbw_get(f, SCB_A_PENDING); a;
	     a = scbw_next(f, a)) {
		const uint8_t *dev, *a4, *a6;
		const struct scbw_attr *na, *ca;
		char name[OPT_NAME_LEN + 1] = "?", why[128];
		struct scbw_frame n;
		struct brk_wait *w;

		if (scbw_parse_nested(a, &n, why, sizeof(why)) ||
		    !attr_is(&n, SCB_A_DEVICE, 32, &dev) ||
		    !attr_is(&n, SCB_A_ADDR4, 4, &a4) ||
		    !attr_is(&n, SCB_A_ADDR6, 16, &a6))
			continue;
		na = scbw_get(&n, SCB_A_NAME);
		ca = scbw_get(&n, SCB_A_COUNT);
		if (na)
			scbw_str(na, name, sizeof(name));
		w = wait_note(b, dev, name, a4, a6, ca ? scbw_u32(ca) : 0);
		if (w)
			approve_waiting(b, w);
	}
}

static bool frame_has_revoke(const struct scbw_frame *f, const uint8_t dev[32])
{
	struct cred_revoke r;

	for (const struct scbw_attr *a = scbw_get(f, SCB_A_REVOKE); a;
	     a = scbw_next(f, a))
		if (!cred_revoke_decode(&r, a->val, a->len) &&
		    !memcmp(r.device, dev, 32))
			return true;
	return false;
}

/*
 * Revocations we signed while the broker was away: it learns them at
 * our next LOOP_GET, and tells the loop (the revoked device too).
 */
static void push_revokes(struct brk *b, const struct scbw_frame *f)
{
	uint8_t rec[CRED_REVOKE_LEN], buf[320];
	struct scbw_buf w;
	uint32_t id;

	for (size_t i = 0; i < b->st.set.n_revokes; i++) {
		const struct cred_revoke *r = &b->st.set.revokes[i];

		if (memcmp(r->signer, b->ed_pub, 32) ||
		    frame_has_revoke(f, r->device))
			continue;
		cred_revoke_encode(r, rec);
		id = req_begin(b, &w, buf, sizeof(buf), SCB_MSG_REVOKE);
		scbw_put(&w, SCB_A_LOOP_ID, b->st.loop_id, 32);
		scbw_put(&w, SCB_A_REVOKE, rec, sizeof(rec));
		req_send(b, &w, id, SCB_MSG_REVOKE);
		log_msg(LOG_INFO, "loop %s: giving the broker a revocation it lacks",
			b->st.name);
	}
}

static void on_loop_get(struct brk *b, const struct scbw_frame *f)
{
	if (loop_info(b, scbw_get(f, SCB_A_LOOP))) {
		log_fail(REASON_BRK_PROTO, "loop %s: unusable LOOP_GET answer",
			 b->st.name);
		return;
	}
	for (const struct scbw_attr *a = scbw_get(f, SCB_A_PEER); a;
	     a = scbw_next(f, a))
		peer_info(b, a);
	waiting_room(b, f);
	add_revokes(b, f);
	push_revokes(b, f);
	reconcile(b);
	save(b);
}

static void on_error(struct brk *b, uint8_t type, const struct scbw_frame *f)
{
	const struct scbw_attr *t = scbw_get(f, SCB_A_TEXT);
	int code = scbw_get(f, SCB_A_CODE) ? scbw_u16(scbw_get(f, SCB_A_CODE)) : 0;
	char text[256] = "";

	if (t)
		scbw_str(t, text, sizeof(text));
	if (code == SCB_E_NOT_REGISTERED && !b->registered_try) {
		do_register(b);
		return;
	}
	if (type == SCB_MSG_REGISTER && code == SCB_E_EXISTS) {
		do_loops(b);
		return;
	}
	if (type == SCB_MSG_CONNECT) {
		/* Offline or refused: the back-off retries; not a failure. */
		log_msg(LOG_INFO, "loop %s: CONNECT: B%d %s%s%s", b->st.name,
			code, scbw_strerror(code), text[0] ? ": " : "", text);
		return;
	}
	if (type == SCB_MSG_LOOP_GET && code == SCB_E_REMOVED) {
		/* The EV_REVOKED sent just before it said it all. */
		log_dbg("loop %s: broker: this device is revoked", b->st.name);
		return;
	}
	if (type == SCB_MSG_LOOP_GET && code == SCB_E_NOT_MEMBER) {
		log_fail(REASON_LOOP_WAITING, "not a member of loop %s yet",
			 b->st.name);
		return;
	}
	log_fail(REASON_BRK_REFUSED, "broker refused %s: B%d %s%s%s",
		 scbw_msg_name(type), code, scbw_strerror(code),
		 text[0] ? ": " : "", text);
	if (type == SCB_MSG_LOOP_CREATE && code == SCB_E_EXISTS)
		do_loops(b);
}

static void on_reply(struct brk *b, const struct scbw_frame *f)
{
	size_t slot = f->id % BRK_PENDING_MAX;
	uint8_t type;

	if (b->pend[slot].id != f->id) {
		log_dbg("broker: reply #%u to nothing we asked", f->id);
		return;
	}
	type = b->pend[slot].type;
	b->pend[slot].id = 0;
	log_dbg("broker: <- %s for %s #%u", scbw_msg_name(f->type),
		scbw_msg_name(type), f->id);
	if (f->id == b->sync_id) {
		const struct scbw_attr *a = scbw_get(f, f->type == SCB_MSG_OK ?
						     SCB_A_INVITE : SCB_A_TEXT);

		b->sync_done = true;
		b->sync_err = f->type == SCB_MSG_OK ? 0 :
			      scbw_get(f, SCB_A_CODE) ?
			      scbw_u16(scbw_get(f, SCB_A_CODE)) : SCB_E_INTERNAL;
		b->sync_text[0] = 0;
		if (a)
			scbw_str(a, b->sync_text, sizeof(b->sync_text));
		b->sync_accept = scbw_get(f, SCB_A_ACCEPT) &&
				 scbw_u8(scbw_get(f, SCB_A_ACCEPT));
		return;
	}
	if (f->type == SCB_MSG_ERROR) {
		on_error(b, type, f);
		return;
	}
	switch (type) {
	case SCB_MSG_REGISTER:
		log_msg(LOG_NOTICE, "registered with the broker as user %s",
			b->o->user);
		do_loops(b);
		break;
	case SCB_MSG_LOOPS:
		on_loops(b, f);
		break;
	case SCB_MSG_LOOP_CREATE:
		on_created(b, f);
		break;
	case SCB_MSG_JOIN:
		if (!loop_info(b, scbw_get(f, SCB_A_LOOP)))
			save(b);
		log_msg(LOG_NOTICE, "loop %s: invitation accepted, waiting for approval",
			b->st.name);
		break;
	case SCB_MSG_LOOP_GET:
		on_loop_get(b, f);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------ events */

static void wipe(struct brk *b)
{
	log_fail(REASON_LOOP_WIPED, "the broker marked this device stolen: wiping loop %s and exiting",
		 b->st.name);
	drop_all(b, REASON_LOOP_WIPED, "device wiped");
	loop_cache_remove(b->cache);
	if (b->o->password_file && unlink(b->o->password_file))
		log_fail(REASON_LOOP_WIPED, "removing %s: %s",
			 b->o->password_file, strerror(errno));
	loop_state_free(&b->st);
	b->l->want_exit = true;
	b->l->exit_code = LK_EXIT_WIPED;
	drop_later(b, "wiped");
}

static void ev_pending(struct brk *b, const struct scbw_frame *f)
{
	const uint8_t *dev, *a4, *a6;
	const struct scbw_attr *na = scbw_get(f, SCB_A_NAME);
	char name[OPT_NAME_LEN + 1] = "?", hex[12];
	struct brk_wait *w;

	if (!loop_matches(b, f) || !attr_is(f, SCB_A_DEVICE, 32, &dev) ||
	    !attr_is(f, SCB_A_ADDR4, 4, &a4) || !attr_is(f, SCB_A_ADDR6, 16, &a6))
		return;
	if (na)
		scbw_str(na, name, sizeof(name));
	w = wait_note(b, dev, name, a4, a6, 0);
	if (w && !approve_waiting(b, w))
		log_msg(LOG_NOTICE, "loop %s: device %s (%s) waits for approval (sloopctl approve %s %s)",
			b->st.name, name, short_key(dev, hex), b->l->linkname,
			name);
}

static void ev_joined(struct brk *b, const struct scbw_frame *f)
{
	if (loop_info(b, scbw_get(f, SCB_A_LOOP)))
		return;
	loop_member_get(&b->st, b->ed_pub, true);
	add_creds(b, f);
	log_msg(LOG_NOTICE, "loop %s: membership %s", b->st.name,
		me_member(b, &(struct cred){ 0 }) ? "confirmed" :
		"announced but it does not verify");
	reconcile(b);
	save(b);
	send_loop_req(b, SCB_MSG_LOOP_GET);
}

/*
 * Revocations spread between members over the control channel too, so
 * that they reach members the broker cannot (it is down, or they are
 * offline from it but online in the loop).  A member passes on only a
 * revocation that is new to it and verifies, so the flood ends.
 */
static void gossip(struct brk *b, const uint8_t rec[CRED_REVOKE_LEN],
		   const uint8_t dev[32], const struct lk_peer *from)
{
	struct ctrl_msg m = { .type = CTRL_REVOKE,
			      .record_len = CRED_REVOKE_LEN };

	memcpy(m.record, rec, CRED_REVOKE_LEN);
	broadcast(b, &m, from, dev);
}

/* The revocation of dev now holds: act on it. */
static void revoked(struct brk *b, const uint8_t dev[32], const char *by)
{
	struct lk_peer *p;
	char hex[12];

	save(b);
	log_msg(LOG_NOTICE, "loop %s: %s revoked (%s)", b->st.name,
		short_key(dev, hex), by);
	if (is_self(b, dev)) {
		drop_all(b, REASON_LOOP_REVOKED, "this device was revoked");
		return;
	}
	p = lk_loop_find(b->l, dev);
	if (p)
		lk_loop_drop(b->l, p, REASON_LOOP_REVOKED, "revoked");
}

static void ev_revoked(struct brk *b, const struct scbw_frame *f)
{
	const uint8_t *dev;
	const struct scbw_attr *rec = scbw_get(f, SCB_A_REVOKE);
	char hex[12];
	bool was;

	if (!loop_matches(b, f) || !attr_is(f, SCB_A_DEVICE, 32, &dev))
		return;
	was = loop_revoked(&b->st.set, dev);
	add_revokes(b, f);
	if (!loop_revoked(&b->st.set, dev)) {
		log_fail(REASON_BRK_PROTO, "loop %s: revocation of %s does not verify; ignored",
			 b->st.name, short_key(dev, hex));
		return;
	}
	if (was)
		return;
	if (rec && rec->len == CRED_REVOKE_LEN)
		gossip(b, rec->val, dev, NULL);
	revoked(b, dev, "told by the broker");
}

/* CTRL_RENEW: a member asks us to extend the trust we gave it. */
static void peer_renew(struct brk *b, struct lk_peer *from)
{
	struct cred best, c;

	if (!me_member(b, &(struct cred){ 0 }) ||
	    loop_revoked(&b->st.set, from->ed_pub) ||
	    !cred_set_is_member(&b->st.set, from->ed_pub, now_s(), &best)) {
		log_fail(REASON_LOOP_NOT_MEMBER, "loop %s: renewal for %s refused: not a member",
			 b->st.name, from->name);
		return;
	}
	if (sign_cred(b, &c, from->ed_pub, best.addr4, best.addr6))
		return;
	if (!cred_set_add(&b->st.set, &c))
		save(b);
	send_cred_to_peers(b, &c);
	sodium_memzero(&c, sizeof(c));
	log_msg(LOG_INFO, "loop %s: renewed %s's membership (no broker)",
		b->st.name, from->name);
}

/* CTRL_CRED: a credential counts only by its signature, like any other. */
static void peer_cred(struct brk *b, struct lk_peer *from,
		      const struct ctrl_msg *m)
{
	size_t before = b->st.set.n_creds;
	struct cred c;

	if (!b->st.known || cred_decode(&c, m->record, m->record_len) ||
	    cred_set_add(&b->st.set, &c)) {
		log_dbg("loop %s: a credential from %s is not usable",
			b->st.name, from->name);
		return;
	}
	if (b->st.set.n_creds == before)
		return;
	save(b);
	reconcile(b);
}

/* CTRL_REVOKE from a member: judged by the signatures like any other. */
static void peer_revoke(struct brk *b, struct lk_peer *from,
			const struct ctrl_msg *m)
{
	struct cred_revoke r;
	char by[OPT_HOST_LEN + 40];

	if (!b->st.known || m->record_len != CRED_REVOKE_LEN ||
	    cred_revoke_decode(&r, m->record, m->record_len) ||
	    memcmp(r.loop_id, b->st.loop_id, 32) ||
	    loop_revoked(&b->st.set, r.device))
		return;
	if (cred_set_revoke(&b->st.set, &r, now_s()) ||
	    !loop_revoked(&b->st.set, r.device)) {
		log_fail(REASON_LOOP_NOT_MEMBER, "loop %s: a revocation from %s does not verify; ignored",
			 b->st.name, from->name);
		return;
	}
	snprintf(by, sizeof(by), "passed on by member %s", from->name);
	gossip(b, m->record, r.device, from);
	revoked(b, r.device, by);
}

static void brk_on_loop_ctrl(void *ctx, struct lk_peer *from,
			     const struct ctrl_msg *m)
{
	struct brk *b = ctx;

	if (m->type == CTRL_RENEW)
		peer_renew(b, from);
	else if (m->type == CTRL_CRED)
		peer_cred(b, from, m);
	else if (m->type == CTRL_REVOKE)
		peer_revoke(b, from, m);
}

static void ev_renew(struct brk *b, const struct scbw_frame *f)
{
	const uint8_t *dev;
	struct cred mine, best;
	char hex[12];

	if (!loop_matches(b, f) || !attr_is(f, SCB_A_DEVICE, 32, &dev) ||
	    !me_member(b, &mine))
		return;
	/* Renewal extends trust we gave; it never creates it. */
	if (loop_revoked(&b->st.set, dev) ||
	    !cred_set_is_member(&b->st.set, dev, now_s(), &best)) {
		log_fail(REASON_LOOP_NOT_MEMBER, "loop %s: renewal for %s refused: not a member",
			 b->st.name, short_key(dev, hex));
		return;
	}
	send_cred(b, SCB_MSG_RENEW_ANSWER, dev, best.addr4, best.addr6);
}

static void ev_rendezvous(struct brk *b, const struct scbw_frame *f)
{
	const struct scbw_attr *at = scbw_get(f, SCB_A_AT_MS);
	struct loop_member *m;
	struct lk_peer *p;
	struct sockaddr_storage ss;
	socklen_t len;

	if (!loop_matches(b, f) || !scbw_get(f, SCB_A_PEER))
		return;
	m = peer_info(b, scbw_get(f, SCB_A_PEER));
	reconcile(b);
	p = m ? lk_loop_find(b->l, m->dev) : NULL;
	if (!p || p->gone || !m->has_ep ||
	    loop_ep_to_sockaddr(m->ep, b->udp_to.ss_family ? b->udp_to.ss_family :
				AF_INET6, &ss, &len))
		return;
	log_msg(LOG_NOTICE, "loop %s: rendezvous with %s, opening the path in %u ms",
		b->st.name, p->name, at ? scbw_u32(at) : 0);
	lk_loop_endpoint(b->l, p, (struct sockaddr *)&ss, len,
			 lk_now_ms() + (at ? scbw_u32(at) : 0));
}

static void ev_connect(struct brk *b, const struct scbw_frame *f)
{
	const uint8_t *dev;
	uint8_t buf[128];
	struct scbw_buf w;
	uint32_t id;
	char hex[12];
	bool ok;

	if (!loop_matches(b, f) || !attr_is(f, SCB_A_DEVICE, 32, &dev))
		return;
	ok = cred_set_is_member(&b->st.set, dev, now_s(), NULL);
	log_msg(ok ? LOG_INFO : LOG_NOTICE, "loop %s: %s asks to connect: %s",
		b->st.name, short_key(dev, hex),
		ok ? "accepted" : "refused, not a member by the signatures");
	id = req_begin(b, &w, buf, sizeof(buf), SCB_MSG_CONNECT_ANSWER);
	scbw_put(&w, SCB_A_LOOP_ID, b->st.loop_id, 32);
	scbw_put(&w, SCB_A_DEVICE, dev, 32);
	scbw_put_u8(&w, SCB_A_ACCEPT, ok);
	req_send(b, &w, id, SCB_MSG_CONNECT_ANSWER);
}

static void ev_member(struct brk *b, const struct scbw_frame *f)
{
	struct loop_member *m;

	if (!loop_matches(b, f) || !scbw_get(f, SCB_A_PEER))
		return;
	m = peer_info(b, scbw_get(f, SCB_A_PEER));
	if (!m)
		return;
	wait_drop(b, m->dev);
	reconcile(b);
	save(b);
}

static void on_event(struct brk *b, const struct scbw_frame *f)
{
	log_dbg("broker: event %s", scbw_msg_name(f->type));
	switch (f->type) {
	case SCB_MSG_EV_PENDING:
		ev_pending(b, f);
		break;
	case SCB_MSG_EV_JOINED:
		ev_joined(b, f);
		break;
	case SCB_MSG_EV_MEMBER:
		ev_member(b, f);
		break;
	case SCB_MSG_EV_REVOKED:
		ev_revoked(b, f);
		break;
	case SCB_MSG_EV_RENEW:
		ev_renew(b, f);
		break;
	case SCB_MSG_EV_RENDEZVOUS:
		ev_rendezvous(b, f);
		break;
	case SCB_MSG_EV_CONNECT:
		ev_connect(b, f);
		break;
	case SCB_MSG_EV_REJECTED:
		log_fail(REASON_LOOP_WAITING, "loop %s: the members refused this device",
			 b->st.name);
		break;
	case SCB_MSG_EV_WIPE:
		wipe(b);
		break;
	default:
		log_dbg("broker: %s ignored", scbw_msg_name(f->type));
		break;
	}
}

static void on_welcome(struct brk *b, const struct scbw_frame *f)
{
	const uint8_t *tok, *bk;
	const struct scbw_attr *t = scbw_get(f, SCB_A_TEXT);
	char text[256] = "", msg[300];
	int code;

	if (f->type == SCB_MSG_EV_WIPE) {
		wipe(b);
		return;
	}
	if (f->type == SCB_MSG_ERROR) {
		code = scbw_get(f, SCB_A_CODE) ? scbw_u16(scbw_get(f, SCB_A_CODE)) : 0;
		if (t)
			scbw_str(t, text, sizeof(text));
		snprintf(msg, sizeof(msg), "login refused: B%d %s%s%s", code,
			 scbw_strerror(code), text[0] ? ": " : "", text);
		drop_later(b, msg);
		return;
	}
	if (f->type != SCB_MSG_WELCOME || !attr_is(f, SCB_A_TOKEN, 16, &tok)) {
		drop_later(b, "no WELCOME");
		return;
	}
	if (attr_is(f, SCB_A_BROKER, 32, &bk) && memcmp(bk, b->o->broker_key, 32)) {
		drop_later(b, "WELCOME names another broker key");
		return;
	}
	memcpy(b->token, tok, 16);
	b->welcomed = true;
	b->fails = 0;
	b->registered_try = b->joined_try = b->created_try = false;
	b->waiting_logged = false;
	log_msg(LOG_NOTICE, "logged in to the broker %s:%u", b->o->broker.host,
		b->o->broker.port);
	send_probe(b);
	b->next_probe_ms = lk_now_ms() + BRK_PROBE_MS;
	b->next_get_ms = lk_now_ms() + BRK_GET_MS;
	do_loops(b);
}

static int on_frame(void *ctx, struct scbc *c, const uint8_t *frame,
		    size_t len)
{
	struct brk *b = ctx;
	struct scbw_frame *f = malloc(sizeof(*f));
	char why[128];
	int rc;

	(void)c;
	if (!f) {
		drop_later(b, "out of memory");
		return 1;
	}
	rc = scbw_parse(f, frame, len, why, sizeof(why));
	if (rc)
		log_fail(REASON_BRK_PROTO, "malformed frame from the broker: B%d %s",
			 rc, why);
	else if (!b->welcomed)
		on_welcome(b, f);
	else if (f->type == SCB_MSG_OK || f->type == SCB_MSG_ERROR)
		on_reply(b, f);
	else
		on_event(b, f);
	free(f);
	return b->drop;
}

/* ------------------------------------------------------------ API */

static void after_io(struct brk *b, int rc)
{
	if (b->drop) {
		b->drop = false;
		if (b->fd >= 0)
			disconnect(b, REASON_BRK_CONNECT, "%s", b->drop_msg);
		return;
	}
	if (rc == 1)
		disconnect(b, REASON_BRK_CONNECT, "the broker closed the connection");
	else if (rc == -EBADMSG)
		disconnect(b, REASON_BRK_PROTO, "broker handshake or record failed authentication (wrong broker-key?)");
	else if (rc < 0)
		disconnect(b, REASON_BRK_CONNECT, "%s", strerror(-rc));
	else
		ep_update(b);
}

void brk_on_fd(struct brk *b, uint32_t events)
{
	int rc = 0, err = 0;
	socklen_t elen = sizeof(err);

	if (b->fd < 0)
		return;
	if (b->connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		if (getsockopt(b->fd, SOL_SOCKET, SO_ERROR, &err, &elen) || err) {
			disconnect(b, REASON_BRK_CONNECT, "connect: %s",
				   strerror(err ? err : errno));
			return;
		}
		b->connecting = false;
	}
	if (events & EPOLLOUT)
		rc = scbc_flush(&b->c);
	if (rc >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		rc = scbc_read(&b->c, on_frame, b);
	if (rc > 0 && !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		rc = 0;		/* flush: 1 is "some left", not "closed" */
	after_io(b, rc);
}

/*
 * Waiting-room brokering: for a member we have no link to, ask the
 * broker to tell it at once; both sides then get a rendezvous and open
 * the path from their data sockets at the same moment, which is what
 * gets through NATs.  One side asks (the lower key), so that the two
 * do not race each other's CONNECT.
 */
static void connect_down(struct brk *b, uint64_t now)
{
	uint8_t buf[128];
	struct scbw_buf w;
	uint32_t id;

	if (!b->st.known || !me_member(b, &(struct cred){ 0 }))
		return;
	for (size_t i = 0; i < b->st.n_m; i++) {
		struct loop_member *m = &b->st.m[i];
		struct lk_peer *p = lk_loop_find(b->l, m->dev);
		uint64_t wait;

		if (!p || p->gone || p->up) {
			m->connects = 0;
			m->next_connect_ms = 0;
			continue;
		}
		if (!m->online || memcmp(b->ed_pub, m->dev, 32) > 0 ||
		    now < m->next_connect_ms)
			continue;
		wait = BRK_CONNECT_MS << (m->connects < 5 ? m->connects : 5);
		m->next_connect_ms = now + (wait < BRK_CONNECT_MAX_MS ? wait :
					    BRK_CONNECT_MAX_MS);
		m->connects++;
		id = req_begin(b, &w, buf, sizeof(buf), SCB_MSG_CONNECT);
		scbw_put(&w, SCB_A_LOOP_ID, b->st.loop_id, 32);
		scbw_put(&w, SCB_A_DEVICE, m->dev, 32);
		req_send(b, &w, id, SCB_MSG_CONNECT);
		log_dbg("loop %s: CONNECT to %s", b->st.name, m->name);
	}
}

bool brk_owns(const struct brk *b, int fd)
{
	return fd >= 0 && fd == b->fd;
}

static bool any_member_down(const struct brk *b)
{
	for (size_t i = 0; i < b->l->n_peers; i++)
		if (!b->l->peers[i].gone && !b->l->peers[i].up)
			return true;
	return false;
}

void brk_tick(struct brk *b, uint64_t now)
{
	if (b->fd < 0 && now >= b->next_dial_ms && !b->l->want_exit)
		dial(b);
	if (now >= b->next_check_ms) {
		b->next_check_ms = now + BRK_CHECK_MS;
		reconcile(b);
		renew_self(b, now);
	}
	if (!b->welcomed)
		goto out;
	if (now >= b->next_probe_ms) {
		send_probe(b);
		b->next_probe_ms = now + BRK_PROBE_MS;
	}
	if (b->st.known && now >= b->next_get_ms) {
		send_loop_req(b, SCB_MSG_LOOP_GET);
		b->next_get_ms = now + (any_member_down(b) ? BRK_GET_FAST_MS :
					BRK_GET_MS);
	}
	if (!b->st.known && now >= b->next_loops_ms)
		do_loops(b);
	connect_down(b, now);
out:
	after_io(b, 0);
}

/*
 * Waits for the answer to b->sync_id (a control-socket request).  The
 * data path is in the kernel: waiting here stalls nothing.
 */
static int sync_wait(struct brk *b, char *why, size_t len)
{
	uint64_t end = lk_now_ms() + BRK_SYNC_MS;

	b->sync_done = false;
	b->sync_accept = false;
	after_io(b, 0);
	while (!b->sync_done && b->fd >= 0 && lk_now_ms() < end) {
		struct pollfd pfd = { .fd = b->fd, .events = POLLIN };

		if (scbc_want_write(&b->c))
			pfd.events |= POLLOUT;
		if (poll(&pfd, 1, (int)(end - lk_now_ms())) <= 0)
			continue;
		brk_on_fd(b, (pfd.revents & POLLIN ? EPOLLIN : 0) |
			  (pfd.revents & POLLOUT ? EPOLLOUT : 0) |
			  (pfd.revents & (POLLERR | POLLHUP) ? EPOLLERR : 0));
	}
	b->sync_id = 0;
	if (!b->sync_done) {
		snprintf(why, len, "no answer from the broker");
		return -1;
	}
	if (b->sync_err) {
		snprintf(why, len, "broker: B%d %s%s%s", b->sync_err,
			 scbw_strerror(b->sync_err), b->sync_text[0] ? ": " : "",
			 b->sync_text);
		return -1;
	}
	return 0;
}

/* A control-socket request needs the broker and a verified membership. */
static int ctl_ready(struct brk *b, char *why, size_t len)
{
	if (!b->welcomed) {
		snprintf(why, len, "not logged in to the broker");
		return -1;
	}
	if (!me_member(b, &(struct cred){ 0 })) {
		snprintf(why, len, "not a member of loop %s", b->st.name);
		return -1;
	}
	return 0;
}

int brk_ctl_invite(struct brk *b, FILE *out, char *why, size_t len)
{
	uint8_t buf[128];
	struct scbw_buf w;

	if (ctl_ready(b, why, len))
		return -1;
	b->sync_id = req_begin(b, &w, buf, sizeof(buf), SCB_MSG_INVITE_CREATE);
	scbw_put(&w, SCB_A_LOOP_ID, b->st.loop_id, 32);
	scbw_put_u32(&w, SCB_A_TTL, BRK_INVITE_TTL);
	req_send(b, &w, b->sync_id, SCB_MSG_INVITE_CREATE);
	if (sync_wait(b, why, len))
		return -1;
	fprintf(out, "invite %s\n", b->sync_text);
	log_msg(LOG_INFO, "loop %s: invitation created", b->st.name);
	return 0;
}

int brk_ctl_pending(struct brk *b, FILE *out, char *why, size_t len)
{
	char key[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];

	if (ctl_ready(b, why, len))
		return -1;
	for (size_t i = 0; i < b->n_wait; i++) {
		const struct brk_wait *w = &b->wait[i];

		sodium_bin2base64(key, sizeof(key), w->dev, 32,
				  sodium_base64_VARIANT_ORIGINAL);
		inet_ntop(AF_INET, w->a4, a4, sizeof(a4));
		inet_ntop(AF_INET6, w->a6, a6, sizeof(a6));
		fprintf(out, "pending name=%s device=%s addr4=%s addr6=%s approvals=%u/%d\n",
			w->name, key, a4, a6, w->approvals, policy_of(b));
	}
	return 0;
}

/* WHO names a device by its name, or by six or more leading base64 chars. */
static bool names(const char *who, const uint8_t dev[32], const char *name)
{
	char key[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	size_t n = strlen(who);

	if (!strcmp(name, who))
		return true;
	sodium_bin2base64(key, sizeof(key), dev, 32,
			  sodium_base64_VARIANT_ORIGINAL);
	return n >= 6 && !strncmp(key, who, n);
}

static struct brk_wait *wait_lookup(struct brk *b, const char *who,
				    char *why, size_t len)
{
	struct brk_wait *hit = NULL;
	int hits = 0;

	for (size_t i = 0; i < b->n_wait; i++) {
		if (names(who, b->wait[i].dev, b->wait[i].name)) {
			hit = &b->wait[i];
			hits++;
		}
	}
	if (hits == 1)
		return hit;
	snprintf(why, len, hits ? "'%s' names more than one waiting device" :
		 "no device '%s' is waiting for approval in loop %s", who,
		 b->st.name);
	return NULL;
}

static struct loop_member *member_lookup(struct brk *b, const char *who,
					 char *why, size_t len)
{
	struct loop_member *hit = NULL;
	int hits = 0;

	for (size_t i = 0; i < b->st.n_m; i++) {
		if (names(who, b->st.m[i].dev, b->st.m[i].name)) {
			hit = &b->st.m[i];
			hits++;
		}
	}
	if (hits == 1)
		return hit;
	snprintf(why, len, hits ? "'%s' names more than one member" :
		 "no member '%s' in loop %s", who, b->st.name);
	return NULL;
}

/*
 * `revoke WHO`: this member signs WHO out of the loop.  It holds at once
 * here, spreads over the control channel to every member we have a
 * session with, and goes to the broker when it is there.
 */
int brk_ctl_revoke(struct brk *b, const char *who, FILE *out, char *why,
		   size_t len)
{
	uint8_t rec[CRED_REVOKE_LEN], buf[320], dev[32];
	struct loop_member *m;
	struct cred_revoke rv = { 0 };
	struct scbw_buf w;
	char name[OPT_NAME_LEN + 1];

	if (!me_member(b, &(struct cred){ 0 })) {
		snprintf(why, len, "not a member of loop %s", b->st.name);
		return -1;
	}
	m = member_lookup(b, who, why, len);
	if (!m)
		return -1;
	memcpy(dev, m->dev, 32);
	snprintf(name, sizeof(name), "%s", m->name);
	if (loop_revoked(&b->st.set, dev)) {
		snprintf(why, len, "%s is revoked already", name);
		return -1;
	}
	memcpy(rv.loop_id, b->st.loop_id, 32);
	memcpy(rv.device, dev, 32);
	memcpy(rv.signer, b->ed_pub, 32);
	rv.at = now_s();
	if (cred_revoke_sign(&rv, b->ed_sk) ||
	    cred_set_revoke(&b->st.set, &rv, now_s()) ||
	    !loop_revoked(&b->st.set, dev)) {
		snprintf(why, len, "the revocation does not verify here");
		return -1;
	}
	cred_revoke_encode(&rv, rec);
	gossip(b, rec, dev, NULL);
	revoked(b, dev, "by this member");
	fprintf(out, "revoked %s\n", name);
	if (!b->welcomed) {
		fprintf(out, "broker not reached: the members we have sessions with were told\n");
		return 0;
	}
	b->sync_id = req_begin(b, &w, buf, sizeof(buf), SCB_MSG_REVOKE);
	scbw_put(&w, SCB_A_LOOP_ID, b->st.loop_id, 32);
	scbw_put(&w, SCB_A_REVOKE, rec, sizeof(rec));
	req_send(b, &w, b->sync_id, SCB_MSG_REVOKE);
	if (sync_wait(b, why, len)) {
		fprintf(out, "broker: %s\n", why);
		return 0;
	}
	fprintf(out, "broker: stored\n");
	return 0;
}

int brk_ctl_decide(struct brk *b, const char *who, bool approve, FILE *out,
		   char *why, size_t len)
{
	uint8_t buf[128], dev[32];
	struct brk_wait *w;
	struct scbw_buf m;
	char name[OPT_NAME_LEN + 1], hex[12];

	if (ctl_ready(b, why, len))
		return -1;
	w = wait_lookup(b, who, why, len);
	if (!w)
		return -1;
	memcpy(dev, w->dev, 32);
	snprintf(name, sizeof(name), "%s", w->name);
	if (approve) {
		b->sync_id = send_cred(b, SCB_MSG_APPROVE, dev, w->a4, w->a6);
	} else {
		b->sync_id = req_begin(b, &m, buf, sizeof(buf), SCB_MSG_REJECT);
		scbw_put(&m, SCB_A_LOOP_ID, b->st.loop_id, 32);
		scbw_put(&m, SCB_A_DEVICE, dev, 32);
		req_send(b, &m, b->sync_id, SCB_MSG_REJECT);
	}
	if (!b->sync_id) {
		snprintf(why, len, "cannot sign the credential");
		return -1;
	}
	if (sync_wait(b, why, len))
		return -1;
	if (!approve || b->sync_accept)
		wait_drop(b, dev);
	log_msg(LOG_NOTICE, "loop %s: device %s (%s) %s by the operator",
		b->st.name, name, short_key(dev, hex),
		approve ? "approved" : "rejected");
	fprintf(out, "%s %s%s\n", approve ? "approved" : "rejected", name,
		approve && !b->sync_accept ?
		" (more approvals needed by the loop's policy)" : "");
	return 0;
}


static int load_keys(struct brk *b)
{
	uint8_t seed[32];
	char buf[256];
	size_t len = 0, bin = 0;
	struct opt_error err;
	int rc = -1;

	if (opt_read_secret(b->o->key_file, 0, buf, sizeof(buf) - 1, &len, &err))
		return -1;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
		       buf[len - 1] == ' '))
		len--;
	if (!sodium_base642bin(seed, 32, buf, len, NULL, &bin, NULL,
			       sodium_base64_VARIANT_ORIGINAL) && bin == 32 &&
	    !crypto_sign_seed_keypair(b->ed_pub, b->ed_sk, seed) &&
	    !crypto_sign_ed25519_sk_to_curve25519(b->x_priv, b->ed_sk) &&
	    !crypto_sign_ed25519_pk_to_curve25519(b->broker_x, b->o->broker_key))
		rc = 0;
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/* Without the broker, the loop comes up from what was verified before. */
static void load_cache(struct brk *b)
{
	int err = loop_cache_load(&b->st, b->cache, b->o->broker_key);

	if (err == -ENOENT)
		return;
	if (err) {
		log_fail(REASON_LOOP_CACHE, "%s: %s; starting without it",
			 b->cache, err == -EBADMSG ? "not a valid cache of this loop" :
			 strerror(-err));
		loop_state_free(&b->st);
		loop_state_init(&b->st, b->o->loop);
		return;
	}
	log_msg(LOG_NOTICE, "loop %s: %zu members from the cache %s",
		b->st.name, b->st.n_m, b->cache);
	reconcile(b);
}

int brk_init(struct brk *b, struct lk *l, const struct sloopd_options *o,
	     int ep)
{
	memset(b, 0, sizeof(*b));
	b->l = l;
	b->o = o;
	b->ep = ep;
	b->fd = -1;
	loop_state_init(&b->st, o->loop);
	if (load_keys(b)) {
		log_fail(REASON_KEY_FORMAT, "%s or broker-key: not usable for the broker",
			 o->key_file);
		return LK_EXIT_KEYS;
	}
	if (loop_cache_path(o, l->linkname, b->cache, sizeof(b->cache))) {
		log_fail(REASON_LOOP_CACHE, "loop-cache: path too long");
		return LK_EXIT_OPTIONS;
	}
	l->on_udp = brk_on_udp;
	l->on_loop_ctrl = brk_on_loop_ctrl;
	l->uctx = b;
	load_cache(b);
	b->next_dial_ms = lk_now_ms();
	return 0;
}

void brk_free(struct brk *b)
{
	if (b->fd >= 0) {
		epoll_ctl(b->ep, EPOLL_CTL_DEL, b->fd, NULL);
		scbc_free(&b->c);
	}
	b->fd = -1;
	loop_state_free(&b->st);
	sodium_memzero(b->ed_sk, sizeof(b->ed_sk));
	sodium_memzero(b->x_priv, sizeof(b->x_priv));
}
