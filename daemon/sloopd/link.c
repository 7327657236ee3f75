// SPDX-License-Identifier: MIT
/*
 * The daemon's link logic.  Roles (P3): a primary answers handshakes from
 * its configured peers; a secondary connects to its primaries in turn and
 * recovers lost sessions on the P3 schedule.  After a handshake the
 * session's keys go to the kernel and are wiped here; the rekey and
 * heartbeat machines run per peer over the control channel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sloop/uapi.h>
#include <sloop/wire.h>

#include "ifconf.h"
#include "link.h"
#include "log.h"

#define LK_POLL_MS	1000u
#define LK_ATTEMPT_MS	5000u
#define LK_UDP_MAX	2048

uint64_t lk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ setup */

static int read_b64_secret(const struct sloopd_options *o, const char *path,
			   uint8_t out[32])
{
	char buf[256];
	size_t len = 0, bin = 0;
	struct opt_error err;
	int ret = -1;

	(void)o;
	if (opt_read_secret(path, 0, buf, sizeof(buf) - 1, &len, &err)) {
		char msg[800];

		opt_strerror(&err, msg, sizeof(msg));
		log_msg(LOG_ERR, "%s", msg);
		return -1;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
		       buf[len - 1] == ' '))
		len--;
	if (sodium_base642bin(out, 32, buf, len, NULL, &bin, NULL,
			      sodium_base64_VARIANT_ORIGINAL) || bin != 32)
		log_fail(REASON_KEY_FORMAT, "%s: not 32 bytes in base64", path);
	else
		ret = 0;
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

static int resolve(const struct opt_endpoint *e, struct sockaddr_storage *ss,
		   socklen_t *len, bool passive)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_DGRAM,
		.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0),
	}, *res;
	char port[8];
	int rc;

	snprintf(port, sizeof(port), "%u", e->port);
	rc = getaddrinfo(e->host[0] ? e->host : NULL, port, &hints, &res);
	if (rc)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int peer_subnets(struct lk_peer *p, const struct opt_peer *op)
{
	p->subnets = calloc(op->n_subnets ? op->n_subnets : 1,
			    sizeof(*p->subnets));
	if (!p->subnets)
		return -1;
	for (size_t i = 0; i < op->n_subnets; i++) {
		const struct opt_cidr *c = &op->subnets[i];
		struct knl_subnet *s = &p->subnets[i];

		s->family = c->addr.family;
		s->cidr = (uint8_t)c->prefix;
		memcpy(s->addr, &c->addr.u, c->addr.family == AF_INET ? 4 : 16);
	}
	p->n_subnets = op->n_subnets;
	return 0;
}

static int peer_setup(struct lk *l, struct lk_peer *p,
		      const struct opt_peer *op, uint32_t kid)
{
	const struct sloopd_options *o = l->o;

	p->opt = op;
	p->kid = kid;
	snprintf(p->name, sizeof(p->name), "%s", op->name);
	memcpy(p->ed_pub, op->pubkey, 32);
	if (hs_pub_from_ed25519(p->pub, op->pubkey)) {
		log_fail(REASON_KEY_FORMAT, "peer %s: pubkey is not an Ed25519 public key",
			 p->name);
		return LK_EXIT_KEYS;
	}
	if (op->psk_file) {
		if (read_b64_secret(o, op->psk_file, p->psk))
			return LK_EXIT_KEYS;
		p->has_psk = true;
	} else if (o->has_psk) {
		memcpy(p->psk, o->psk, 32);
		p->has_psk = true;
	} else if (o->psk_file) {
		if (read_b64_secret(o, o->psk_file, p->psk))
			return LK_EXIT_KEYS;
		p->has_psk = true;
	}
	if (peer_subnets(p, op))
		return LK_EXIT_FATAL;
	if (op->has_endpoint) {
		if (resolve(&op->endpoint, &p->ep, &p->ep_len, false)) {
			log_fail(REASON_UNREACHABLE, "peer %s: cannot resolve %s",
				 p->name, op->endpoint.host);
			return LK_EXIT_OPTIONS;
		}
		p->has_ep = true;
	}
	p->cipher = op->cipher ? op->cipher : o->cipher;
	p->rekey_ms = op->rekey_ms ? op->rekey_ms : o->rekey_ms;
	p->heartbeat_ms = op->heartbeat_ms ? op->heartbeat_ms : o->heartbeat_ms;
	p->dead_ms = op->dead_ms ? op->dead_ms : o->dead_ms;
	return 0;
}

int lk_init(struct lk *l, struct sloopd_options *o)
{
	const struct opt_peer *list;
	uint8_t seed[32];
	int rc;

	memset(l, 0, sizeof(*l));
	l->o = o;
	l->udp = -1;
	/* A loop member answers handshakes like a primary (and initiates). */
	l->primary = o->role == OPT_ROLE_PRIMARY || o->loop;
	l->loop = o->loop != NULL;
	scr_init(&l->scr);
	snprintf(l->linkname, sizeof(l->linkname), "%s",
		 o->linkname ? o->linkname : o->device);
	opt_addr_str(&o->local_addr, l->iplocal, sizeof(l->iplocal));
	opt_addr_str(&o->remote_addr, l->ipremote, sizeof(l->ipremote));
	if (!o->key_file) {
		log_fail(REASON_KEY_READ, "no key file (option key FILE)");
		return LK_EXIT_KEYS;
	}
	if (read_b64_secret(o, o->key_file, seed))
		return LK_EXIT_KEYS;
	rc = hs_local_from_ed25519_seed(&l->local, seed);
	if (!rc) {
		uint8_t sk[64];

		crypto_sign_seed_keypair(l->self_ed, sk, seed);
		sodium_memzero(sk, sizeof(sk));
	}
	sodium_memzero(seed, sizeof(seed));
	if (rc) {
		log_fail(REASON_KEY_FORMAT, "%s: not a usable device key",
			 o->key_file);
		return LK_EXIT_KEYS;
	}
	hs_responder_init(&l->resp, &l->local);
	list = l->primary ? o->peers : o->primaries;
	l->n_peers = l->primary ? o->n_peers : o->n_primaries;
	l->peers = calloc(l->loop ? LK_LOOP_MAX : l->n_peers ? l->n_peers : 1,
			  sizeof(*l->peers));
	if (!l->peers)
		return LK_EXIT_FATAL;
	for (size_t i = 0; i < l->n_peers; i++) {
		rc = peer_setup(l, &l->peers[i], &list[i], (uint32_t)i + 1);
		if (rc)
			return rc;
		if (!l->primary && !l->peers[i].has_ep) {
			log_fail(REASON_CFG_CONFLICT, "primary %s has no address",
				 l->peers[i].name);
			return LK_EXIT_OPTIONS;
		}
	}
	sess_link_init(&l->link, lk_now_ms(), o->holdoff_ms, o->holdoff_max_ms,
		       LK_ATTEMPT_MS, (unsigned int)l->n_peers,
		       (unsigned int)o->maxfail);
	return 0;
}

static int open_socket(struct lk *l)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, off = 0;

	if (resolve(&l->o->listen, &ss, &len, true)) {
		log_fail(REASON_SOCKET, "cannot resolve the listen address %s",
			 l->o->listen.host);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		log_fail(REASON_SOCKET, "socket: %s", strerror(errno));
		return -1;
	}
	/* One socket for both families when bound to the IPv6 wildcard. */
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(fd, (struct sockaddr *)&ss, len)) {
		log_fail(REASON_SOCKET, "bind to port %u: %s",
			 l->o->listen.port, strerror(errno));
		close(fd);
		return -1;
	}
	l->udp = fd;
	return 0;
}

static void script_vars(const struct lk *l, const struct lk_peer *p,
			struct scr_vars *v)
{
	memset(v, 0, sizeof(*v));
	v->ifname = l->o->device;
	v->peername = p ? p->name : "";
	v->iplocal = l->iplocal;
	v->ipremote = l->ipremote;
	v->linkname = l->linkname;
}

/* The options the device itself carries; a failure is logged, not fatal. */
static void dev_limits(struct lk *l)
{
	int rc;

	if (l->o->mtu > 0) {
		rc = ifc_set_mtu(l->o->device, l->o->mtu);
		if (rc)
			log_fail(REASON_NL_ERROR, "mtu %d on %s: %s", l->o->mtu,
				 l->o->device, strerror(-rc));
	}
	if (l->o->rekey_packets > 0) {
		rc = knl_dev_set_rekey_after(&l->knl,
					     (uint64_t)l->o->rekey_packets);
		if (rc)
			log_fail(REASON_NL_ERROR, "rekey-packets: %s (%s)",
				 strerror(-rc), knl_errtext(&l->knl));
	}
}

int lk_start(struct lk *l)
{
	struct scr_vars v;
	int rc;

	rc = knl_open(&l->knl, l->o->device);
	if (rc) {
		log_fail(rc == -ENOENT ? REASON_NL_FAMILY : REASON_NL_DEVICE,
			 "%s", knl_errtext(&l->knl));
		return LK_EXIT_KERNEL;
	}
	if (open_socket(l))
		return LK_EXIT_KERNEL;
	rc = knl_attach(&l->knl, l->udp);
	if (rc) {
		log_fail(rc == -EBUSY ? REASON_NL_BUSY : REASON_NL_ERROR,
			 "attach %s: %s (%s)", l->o->device, strerror(-rc),
			 knl_errtext(&l->knl));
		return LK_EXIT_KERNEL;
	}
	rc = knl_dev_set_padding(&l->knl, l->o->padding);
	if (rc)
		log_fail(REASON_NL_ERROR, "padding: %s (%s)", strerror(-rc),
			 knl_errtext(&l->knl));
	dev_limits(l);
	/* pppd: ip-pre-up sees the interface addressed but down. */
	rc = ifc_addr(l->knl.ifindex, &l->o->local_addr, &l->o->remote_addr);
	if (rc)
		log_fail(REASON_NL_ERROR, "address %s on %s: %s", l->iplocal,
			 l->o->device, strerror(-rc));
	script_vars(l, NULL, &v);
	scr_run_wait(l->o->ip_pre_up, &v, SCR_TIMEOUT_MS);
	rc = ifc_link_up(l->o->device, true);
	if (rc)
		log_fail(REASON_NL_ERROR, "set %s up: %s", l->o->device,
			 strerror(-rc));
	/* Bringing it up drops a v6 address' routes? Re-add to be sure. */
	ifc_addr(l->knl.ifindex, &l->o->local_addr, &l->o->remote_addr);
	log_msg(LOG_INFO, "%s attached, %s, %zu %s", l->o->device,
		l->primary ? "primary" : "secondary", l->n_peers,
		l->primary ? "peers" : "primaries");
	return 0;
}

/* ------------------------------------------------------------ sessions */

static uint32_t new_index(const struct lk *l)
{
	for (;;) {
		uint32_t idx = randombytes_random();
		bool used = !idx;

		for (size_t i = 0; i < l->n_peers && !used; i++)
			used = l->peers[i].local_index == idx ||
			       l->peers[i].ini.local_index == idx;
		if (!used)
			return idx;
	}
}

static void rk_config_for(const struct lk *l, const struct lk_peer *p,
			  struct rk_config *c)
{
	memset(c, 0, sizeof(*c));
	c->interval_ms = p->rekey_ms;
	c->jitter_pct = (unsigned int)l->o->rekey_jitter_pct;
	/*
	 * Short intervals (tests) need a short grace; 10 s is plenty for
	 * stragglers on any real path.
	 */
	c->grace_ms = p->rekey_ms / 4 < RK_GRACE_MS ? p->rekey_ms / 4 :
		      RK_GRACE_MS;
	c->retry_ms = p->rekey_ms / 2 < RK_RETRY_MS ? p->rekey_ms / 2 :
		      RK_RETRY_MS;
	if (c->grace_ms < 200)
		c->grace_ms = 200;
	if (c->retry_ms < 200)
		c->retry_ms = 200;
	c->max_retries = RK_MAX_RETRIES;
}

static void routes(struct lk *l, struct lk_peer *p, bool add)
{
	for (size_t i = 0; i < p->n_subnets; i++) {
		int rc = ifc_route(l->knl.ifindex, &p->subnets[i], add);

		if (rc && add)
			log_fail(REASON_NL_ERROR, "route for peer %s: %s",
				 p->name, strerror(-rc));
	}
}

static int install(struct lk *l, struct lk_peer *p, const struct sess_keys *k,
		   const struct sockaddr *ep, socklen_t eplen)
{
	struct knl_peer kp = {
		.id = p->kid, .pubkey = p->ed_pub, .endpoint = ep,
		.endpoint_len = eplen, .rx_index = p->local_index,
		.tx_index = p->remote_index, .cipher = k->cipher,
		.hp_tx = k->hp_tx, .hp_rx = k->hp_rx, .hp_len = k->keylen,
		.subnets = p->subnets, .n_subnets = p->n_subnets,
	};
	int rc;

	if (p->in_kernel) {
		knl_peer_del(&l->knl, p->kid);
		p->in_kernel = false;
	}
	rc = knl_peer_new(&l->knl, &kp);
	if (!rc) {
		p->in_kernel = true;
		rc = knl_key_new(&l->knl, p->kid, 0, 0, &k->data);
	}
	if (!rc)
		rc = knl_key_swap(&l->knl, p->kid, 0);
	if (rc)
		log_fail(REASON_NL_ERROR, "installing peer %s: %s (%s)",
			 p->name, strerror(-rc), knl_errtext(&l->knl));
	return rc;
}

static void peer_down(struct lk *l, struct lk_peer *p, enum reason why,
		      const char *what);

static void peer_up(struct lk *l, struct lk_peer *p, struct hs_result *res,
		    const struct sockaddr *ep, socklen_t eplen)
{
	struct sess_keys k;
	struct rk_config rc;
	struct scr_vars v;
	uint64_t now = lk_now_ms();

	if (p->up)
		peer_down(l, p, REASON_OK, "replaced by a new handshake");
	p->local_index = res->local_index;
	p->remote_index = res->remote_index;
	if (sess_keys_derive(&k, res) || install(l, p, &k, ep, eplen)) {
		sess_keys_wipe(&k);
		if (p->in_kernel)
			knl_peer_del(&l->knl, p->kid);
		p->in_kernel = false;
		if (!l->primary)
			sess_link_down(&l->link, now);
		return;
	}
	ctrl_chan_init(&p->ch, k.ctrl_tx, k.ctrl_rx);
	rk_config_for(l, p, &rc);
	rk_init(&p->rk, &rc, k.chain, res->initiator,
		memcmp(l->local.pub, p->pub, 32) < 0, k.keylen, now);
	sess_keys_wipe(&k);
	sess_hb_init(&p->hb, now, p->heartbeat_ms, p->dead_ms);
	p->up = true;
	p->up_ms = now;
	p->last_handshake = (int64_t)time(NULL);
	p->rx_packets = p->tx_packets = 0;
	routes(l, p, true);
	log_msg(LOG_NOTICE, "link up: peer %s, cipher %s, index %08x/%08x",
		p->name, opt_cipher_name(res->cipher), p->local_index,
		p->remote_index);
	if (!l->primary)
		sess_link_up(&l->link, now);
	/*
	 * updetach forks here: before ip-up starts, so that the script is
	 * the daemon's child (to reap, and to wait for before ip-down),
	 * not the exiting parent's.
	 */
	if (!l->ever_up && l->on_first_up)
		l->on_first_up(l->ctx);
	l->ever_up = true;
	script_vars(l, p, &v);
	scr_queue(&l->scr, l->o->ip_up, &v);
}

static void peer_down(struct lk *l, struct lk_peer *p, enum reason why,
		      const char *what)
{
	struct knl_peer_info info;
	struct scr_vars v;
	uint64_t now = lk_now_ms();

	if (!p->up)
		return;
	if (why == REASON_OK)
		log_msg(LOG_NOTICE, "link down: peer %s: %s", p->name, what);
	else
		log_fail(why, "link down: peer %s: %s", p->name, what);
	script_vars(l, p, &v);
	v.down = true;
	v.connect_time_s = (now - p->up_ms) / 1000;
	if (!knl_peer_get(&l->knl, p->kid, &info)) {
		v.bytes_sent = info.tx_bytes;
		v.bytes_rcvd = info.rx_bytes;
	}
	routes(l, p, false);
	knl_peer_del(&l->knl, p->kid);
	p->in_kernel = false;
	rk_wipe(&p->rk);
	ctrl_chan_wipe(&p->ch);
	p->up = false;
	p->local_index = 0;
	scr_queue(&l->scr, l->o->ip_down, &v);
	if (!l->primary) {
		sess_link_down(&l->link, now);
		if (!l->o->persist && why != REASON_OK) {
			l->want_exit = true;
			l->exit_code = LK_EXIT_HANGUP;
		}
	}
}

/* ------------------------------------------------------------ control */

static void send_ctrl(struct lk *l, struct lk_peer *p, const struct ctrl_msg *m)
{
	uint8_t buf[CTRL_MSG_MAX];
	size_t len;
	int rc;

	if (ctrl_seal(&p->ch, m, buf, sizeof(buf), &len))
		return;
	rc = knl_ctrl_send(&l->knl, p->kid, buf, len);
	if (rc)
		log_fail(REASON_NL_ERROR, "control message to %s: %s (%s)",
			 p->name, strerror(-rc), knl_errtext(&l->knl));
	else
		sess_hb_tx(&p->hb, lk_now_ms());
	log_dbg("sent %s to %s", ctrl_type_name(m->type), p->name);
}

void lk_loop_send(struct lk *l, struct lk_peer *p, const struct ctrl_msg *m)
{
	if (p->up && !p->gone)
		send_ctrl(l, p, m);
}

static void apply(struct lk *l, struct lk_peer *p, struct rk_actions *acts)
{
	for (int i = 0; i < acts->n && p->up; i++) {
		struct rk_action *a = &acts->a[i];
		int rc = 0;

		switch (a->type) {
		case RK_ACT_SEND:
			send_ctrl(l, p, &a->msg);
			break;
		case RK_ACT_KEY_NEW:
			rc = knl_key_new(&l->knl, p->kid, a->phase, a->key_id,
					 &a->keys);
			break;
		case RK_ACT_KEY_SWAP:
			rc = knl_key_swap(&l->knl, p->kid, a->phase);
			if (rc)
				break;
			p->last_rekey = (int64_t)time(NULL);
			p->n_rekeys++;
			log_msg(LOG_INFO, "peer %s: rekeyed, generation %u",
				p->name, a->key_id);
			break;
		case RK_ACT_KEY_DEL:
			rc = knl_key_del(&l->knl, p->kid, a->phase);
			break;
		case RK_ACT_RECOVER:
			peer_down(l, p, a->reason, "rekey failed, recovering");
			break;
		}
		if (rc) {
			log_fail(REASON_REKEY_FAIL, "peer %s: kernel: %s (%s)",
				 p->name, strerror(-rc), knl_errtext(&l->knl));
			peer_down(l, p, REASON_REKEY_FAIL, "key installation failed");
		}
	}
	rk_actions_wipe(acts);
}

static struct lk_peer *peer_by_kid(struct lk *l, uint32_t kid)
{
	if (kid == 0 || kid > l->n_peers)
		return NULL;
	return &l->peers[kid - 1];
}

/* A secondary reconnects at once, not on the failure schedule. */
static void relink_now(struct lk *l)
{
	if (l->primary)
		return;
	sess_link_init(&l->link, lk_now_ms(), l->o->holdoff_ms,
		       l->o->holdoff_max_ms, LK_ATTEMPT_MS,
		       (unsigned int)l->n_peers, (unsigned int)l->o->maxfail);
}

static void on_ctrl(struct lk *l, struct lk_peer *p, const uint8_t *buf,
		    size_t len)
{
	struct rk_actions acts = { 0 };
	struct ctrl_msg m;
	enum reason r = ctrl_open(&p->ch, buf, len, &m);
	uint64_t now = lk_now_ms();

	if (r != REASON_OK) {
		log_dbg("peer %s: control message dropped: %s", p->name,
			reason_name(r));
		return;
	}
	sess_hb_rx(&p->hb, now);
	log_dbg("received %s from %s", ctrl_type_name(m.type), p->name);
	if (m.type == CTRL_SHUTDOWN && m.has_reason &&
	    m.reason == REASON_KEYS_FLUSHED) {
		peer_down(l, p, REASON_OK, "the peer flushed the keys");
		relink_now(l);
		return;
	}
	if (m.type == CTRL_REVOKE || m.type == CTRL_RENEW ||
	    m.type == CTRL_CRED) {
		if (l->loop && l->on_loop_ctrl)
			l->on_loop_ctrl(l->uctx, p, &m);
		return;
	}
	if (m.type == CTRL_SHUTDOWN) {
		peer_down(l, p, REASON_OK, "the peer shut the session down");
		/* pppd: without persist the link ending ends the daemon. */
		if (!l->primary && !l->o->persist) {
			l->want_exit = true;
			l->exit_code = LK_EXIT_HANGUP;
		}
		return;
	}
	rk_recv(&p->rk, &m, now, &acts);
	apply(l, p, &acts);
}

static void on_event(void *ctx, const struct knl_event *ev)
{
	struct lk *l = ctx;
	struct lk_peer *p = peer_by_kid(l, ev->peer_id);
	struct rk_actions acts = { 0 };

	if (!p || !p->up)
		return;
	switch (ev->cmd) {
	case SLOOP_CMD_CTRL_RECV:
		if (ev->ctrl)
			on_ctrl(l, p, ev->ctrl, ev->ctrl_len);
		break;
	case SLOOP_CMD_PEER_DOWN_NTF:
		if (ev->reason != SLOOP_DOWN_DELETED) {
			p->in_kernel = false;
			peer_down(l, p, REASON_NL_ERROR, "the kernel dropped it");
		}
		break;
	case SLOOP_CMD_KEY_LIMIT_NTF:
		log_msg(LOG_INFO, "peer %s: key limit reached (phase %d), rekeying",
			p->name, ev->phase);
		rk_force(&p->rk, lk_now_ms(), &acts);
		apply(l, p, &acts);
		break;
	default:
		break;
	}
}

void lk_on_kernel(struct lk *l)
{
	int rc = knl_read_events(&l->knl, on_event, l);

	if (rc)
		log_fail(REASON_NL_ERROR, "reading kernel events: %s",
			 strerror(-rc));
}

/* ------------------------------------------------------------ handshake */

static int lookup(void *ctx, const uint8_t pub[32], struct hs_peer_ref *ref)
{
	struct lk *l = ctx;

	for (size_t i = 0; i < l->n_peers; i++) {
		struct lk_peer *p = &l->peers[i];

		if (!p->gone && !sodium_memcmp(p->pub, pub, 32)) {
			ref->peer = p;
			ref->psk = p->has_psk ? p->psk : NULL;
			ref->last_tai = p->last_tai;
			ref->cipher = (uint8_t)p->cipher;
			return 0;
		}
	}
	return -1;
}

static void addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)sa;

		inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
		port = ntohs(s->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)sa;

		inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
		port = ntohs(s->sin6_port);
	}
	snprintf(buf, len, "%s:%u", host, port);
}

static void on_init(struct lk *l, const uint8_t *msg, size_t len,
		    const struct sockaddr *src, socklen_t slen)
{
	uint8_t out[HS_RESP_LEN];
	struct hs_result res = { 0 };
	enum reason why;
	size_t olen = 0;
	char from[80];
	enum hs_verdict v;

	if (!l->primary)
		return;		/* P3: secondaries accept no connections */
	v = hs_respond(&l->resp, msg, len, src, lk_now_ms(), lookup, l,
		       new_index(l), out, &olen, &res, &why);
	addr_str(src, from, sizeof(from));
	switch (v) {
	case HS_DROP:
		l->n_bad_packets++;
		log_dbg("handshake from %s dropped", from);
		break;
	case HS_REJECT:
		log_fail(why, "handshake from %s refused", from);
		break;
	case HS_COOKIE:
		sendto(l->udp, out, olen, 0, src, slen);
		log_dbg("under load: cookie to %s", from);
		break;
	case HS_ACCEPT:
		if (sendto(l->udp, out, olen, 0, src, slen) < 0)
			log_fail(REASON_SOCKET, "response to %s: %s", from,
				 strerror(errno));
		peer_up(l, res.peer, &res, src, slen);
		break;
	}
	hs_result_wipe(&res);
}

static struct lk_peer *initiating(struct lk *l, const uint8_t *msg)
{
	uint32_t idx = hs_get_u32(msg + (msg[0] == SLOOP_MSG_HS_RESP ? 8 : 4));

	for (size_t i = 0; i < l->n_peers; i++)
		if (l->peers[i].ini.active &&
		    l->peers[i].ini.local_index == idx)
			return &l->peers[i];
	return NULL;
}

static void send_initiation(struct lk *l, struct lk_peer *p)
{
	uint8_t msg[HS_INIT_LEN], tai[TAI64N_LEN];

	if (tai64n_now(tai) ||
	    hs_initiate(&p->ini, &l->local, p->pub, p->has_psk ? p->psk : NULL,
			new_index(l), (uint8_t)p->cipher, tai, lk_now_ms(),
			msg)) {
		log_fail(REASON_NOMEM, "cannot build a handshake initiation");
		return;
	}
	if (sendto(l->udp, msg, sizeof(msg), 0, (struct sockaddr *)&p->ep,
		   p->ep_len) < 0)
		log_fail(REASON_UNREACHABLE, "handshake to %s: %s", p->name,
			 strerror(errno));
	else
		log_dbg("handshake initiation to %s", p->name);
}

static void on_reply(struct lk *l, const uint8_t *msg, size_t len,
		     const struct sockaddr *src, socklen_t slen)
{
	struct lk_peer *p = l->primary && !l->loop ? NULL : initiating(l, msg);
	struct hs_result res = { 0 };
	enum reason why;

	if (!p) {
		l->n_bad_packets++;
		return;
	}
	if (msg[0] == SLOOP_MSG_HS_COOKIE) {
		if (hs_consume_cookie(&p->ini, msg, len, lk_now_ms()) ==
		    REASON_OK) {
			log_msg(LOG_INFO, "primary %s is under load: retrying with a cookie",
				p->name);
			send_initiation(l, p);
		}
		return;
	}
	why = hs_consume_response(&p->ini, &l->local, msg, len, &res);
	if (why != REASON_OK) {
		log_fail(why, "bad handshake response from %s", p->name);
		return;
	}
	/* The kernel sends to where the answer came from (NAT). */
	peer_up(l, p, &res, src, slen);
	hs_result_wipe(&res);
}

void lk_on_udp(struct lk *l)
{
	uint8_t buf[LK_UDP_MAX];
	struct sockaddr_storage src;

	for (;;) {
		socklen_t slen = sizeof(src);
		ssize_t n = recvfrom(l->udp, buf, sizeof(buf), 0,
				     (struct sockaddr *)&src, &slen);
		int type;

		if (n < 0)
			break;
		type = hs_msg_type(buf, (size_t)n);
		if (type == SLOOP_MSG_HS_INIT)
			on_init(l, buf, (size_t)n, (struct sockaddr *)&src, slen);
		else if (type == SLOOP_MSG_HS_RESP || type == SLOOP_MSG_HS_COOKIE)
			on_reply(l, buf, (size_t)n, (struct sockaddr *)&src,
				 slen);
		else if (n == SLOOP_PUNCH_LEN && buf[0] == SLOOP_MSG_PUNCH)
			log_dbg("NAT punch received");
		else if (l->on_udp && n > 0)
			l->on_udp(l->uctx, buf, (size_t)n,
				  (struct sockaddr *)&src, slen);
		else
			l->n_bad_packets++;
	}
}

/* ------------------------------------------------------------ loop members */

#define LK_LOOP_RETRY_MS	1000u
#define LK_PUNCHES		4	/* the initiator retries in 1 s, 2 s, ... */
#define LK_PUNCH_EVERY_MS	1000u
#define LK_LOOP_RETRY_MAX_MS	30000u

bool lk_loop_initiates(const struct lk *l, const struct lk_peer *p)
{
	return memcmp(l->self_ed, p->ed_pub, 32) < 0;
}

struct lk_peer *lk_loop_find(struct lk *l, const uint8_t ed_pub[32])
{
	for (size_t i = 0; i < l->n_peers; i++)
		if (!memcmp(l->peers[i].ed_pub, ed_pub, 32))
			return &l->peers[i];
	return NULL;
}

static void loop_subnets(struct lk_peer *p, const uint8_t addr4[4],
			 const uint8_t addr6[16])
{
	memset(p->subnets, 0, 2 * sizeof(*p->subnets));
	p->subnets[0].family = AF_INET;
	memcpy(p->subnets[0].addr, addr4, 4);
	p->subnets[0].cidr = 32;
	p->subnets[1].family = AF_INET6;
	memcpy(p->subnets[1].addr, addr6, 16);
	p->subnets[1].cidr = 128;
	p->n_subnets = 2;
}

static bool same_subnets(const struct lk_peer *p, const uint8_t addr4[4],
			 const uint8_t addr6[16])
{
	return p->n_subnets == 2 && !memcmp(p->subnets[0].addr, addr4, 4) &&
	       !memcmp(p->subnets[1].addr, addr6, 16);
}

/* Kernel ids are slot + 1 for life: a gone member keeps its slot. */
struct lk_peer *lk_loop_add(struct lk *l, const uint8_t ed_pub[32],
			    const char *name, const uint8_t addr4[4],
			    const uint8_t addr6[16])
{
	struct lk_peer *p = lk_loop_find(l, ed_pub);
	const struct sloopd_options *o = l->o;

	if (p) {
		if (!same_subnets(p, addr4, addr6)) {
			peer_down(l, p, REASON_OK, "its loop addresses changed");
			loop_subnets(p, addr4, addr6);
		}
		if (p->gone)
			log_msg(LOG_NOTICE, "loop member %s is back", p->name);
		p->gone = false;
		return p;
	}
	if (l->n_peers >= LK_LOOP_MAX)
		return NULL;
	p = &l->peers[l->n_peers];
	memset(p, 0, sizeof(*p));
	p->subnets = calloc(2, sizeof(*p->subnets));
	if (!p->subnets || hs_pub_from_ed25519(p->pub, ed_pub)) {
		free(p->subnets);
		p->subnets = NULL;
		return NULL;
	}
	l->n_peers++;
	p->kid = (uint32_t)l->n_peers;
	memcpy(p->ed_pub, ed_pub, 32);
	snprintf(p->name, sizeof(p->name), "%s", name);
	loop_subnets(p, addr4, addr6);
	if (o->has_psk) {
		memcpy(p->psk, o->psk, 32);
		p->has_psk = true;
	}
	p->cipher = o->cipher;
	p->rekey_ms = o->rekey_ms;
	p->heartbeat_ms = o->heartbeat_ms;
	p->dead_ms = o->dead_ms;
	log_msg(LOG_INFO, "loop member %s added (%s)", p->name,
		lk_loop_initiates(l, p) ? "we initiate" : "it initiates");
	return p;
}

void lk_loop_endpoint(struct lk *l, struct lk_peer *p,
		      const struct sockaddr *sa, socklen_t len, uint64_t at_ms)
{
	if (len > sizeof(p->ep))
		return;
	memcpy(&p->ep, sa, len);
	p->ep_len = len;
	p->has_ep = true;
	if (!p->up && lk_loop_initiates(l, p)) {
		p->next_try_ms = at_ms ? at_ms : lk_now_ms();
		p->tries = 0;
	} else if (!p->up && at_ms) {
		/*
		 * The responder sends too, at the same moment: its NAT
		 * lets the initiator's packets in only once it has sent
		 * something to the initiator's mapped address.
		 */
		p->punch_ms = at_ms;
		p->punches = LK_PUNCHES;
	}
}

static void punch(struct lk *l, struct lk_peer *p, uint64_t now)
{
	static const uint8_t msg[SLOOP_PUNCH_LEN] = { SLOOP_MSG_PUNCH, 'p',
						      'n', 'h' };

	if (p->up || p->gone || !p->has_ep || !p->punches) {
		p->punch_ms = 0;
		return;
	}
	if (sendto(l->udp, msg, sizeof(msg), 0, (struct sockaddr *)&p->ep,
		   p->ep_len) < 0)
		log_dbg("NAT punch to %s: %s", p->name, strerror(errno));
	p->punches--;
	p->punch_ms = p->punches ? now + LK_PUNCH_EVERY_MS : 0;
}

void lk_loop_drop(struct lk *l, struct lk_peer *p, enum reason why,
		  const char *what)
{
	if (p->gone)
		return;
	if (p->up)
		peer_down(l, p, why, what);
	else
		log_fail(why, "loop member %s dropped: %s", p->name, what);
	if (p->in_kernel)
		knl_peer_del(&l->knl, p->kid);
	p->in_kernel = false;
	hs_initiator_abort(&p->ini);
	p->gone = true;
	p->next_try_ms = 0;
}

/* The initiator side of a member pair: retry with a doubling wait. */
static void loop_tick(struct lk *l, uint64_t now)
{
	for (size_t i = 0; i < l->n_peers; i++) {
		struct lk_peer *p = &l->peers[i];
		unsigned int wait;

		if (p->up) {
			p->tries = 0;
			p->next_try_ms = 0;
		}
		if (p->punch_ms && now >= p->punch_ms)
			punch(l, p, now);
		if (p->gone || p->up || !p->has_ep || !lk_loop_initiates(l, p))
			continue;
		if (!p->next_try_ms)
			p->next_try_ms = now;
		if (now < p->next_try_ms)
			continue;
		if (p->ini.active && p->tries)
			log_dbg("no answer from loop member %s", p->name);
		send_initiation(l, p);
		wait = LK_LOOP_RETRY_MS << (p->tries < 5 ? p->tries : 5);
		if (wait > LK_LOOP_RETRY_MAX_MS)
			wait = LK_LOOP_RETRY_MAX_MS;
		p->tries++;
		p->next_try_ms = now + wait;
	}
}

/* ------------------------------------------------------------ timers */

/* Kernel counters tell the heartbeat about data traffic. */
static void poll_traffic(struct lk *l, struct lk_peer *p, uint64_t now)
{
	struct knl_peer_info info;

	if (knl_peer_get(&l->knl, p->kid, &info))
		return;
	if (info.rx_packets != p->rx_packets)
		sess_hb_rx(&p->hb, now);
	if (info.tx_packets != p->tx_packets)
		sess_hb_tx(&p->hb, now);
	p->rx_packets = info.rx_packets;
	p->tx_packets = info.tx_packets;
}

static void tick_peer(struct lk *l, struct lk_peer *p, uint64_t now,
		      bool poll)
{
	struct rk_actions acts = { 0 };
	struct ctrl_msg hb = { .type = CTRL_HEARTBEAT };

	if (poll)
		poll_traffic(l, p, now);
	switch (sess_hb_tick(&p->hb, now)) {
	case SESS_HB_DEAD:
		peer_down(l, p, REASON_PEER_DEAD, "silent for too long");
		return;
	case SESS_HB_SEND:
		send_ctrl(l, p, &hb);
		sess_hb_tx(&p->hb, now);
		break;
	default:
		break;
	}
	rk_tick(&p->rk, now, &acts);
	apply(l, p, &acts);
}

static void tick_link(struct lk *l, uint64_t now)
{
	/* Taken before the tick: a failed attempt moves the target on. */
	struct lk_peer *p = &l->peers[l->link.target % l->n_peers];

	switch (sess_link_tick(&l->link, now)) {
	case SESS_LINK_CONNECT:
		send_initiation(l, p);
		break;
	case SESS_LINK_GIVE_UP:
		log_fail(REASON_MAXFAIL, "%d attempts failed, giving up",
			 l->o->maxfail);
		l->want_exit = true;
		l->exit_code = LK_EXIT_MAXFAIL;
		break;
	default:
		if (l->link.state == SESS_LINK_IDLE && p->ini.active) {
			log_fail(REASON_HS_TIMEOUT, "no answer from %s", p->name);
			hs_initiator_abort(&p->ini);
		}
		break;
	}
}

void lk_tick(struct lk *l)
{
	uint64_t now = lk_now_ms();
	bool poll = now >= l->next_poll_ms;

	if (poll)
		l->next_poll_ms = now + LK_POLL_MS;
	for (size_t i = 0; i < l->n_peers; i++)
		if (l->peers[i].up)
			tick_peer(l, &l->peers[i], now, poll);
	if (!l->primary && l->n_peers)
		tick_link(l, now);
	if (l->loop)
		loop_tick(l, now);
}

uint64_t lk_deadline(const struct lk *l)
{
	uint64_t d = l->next_poll_ms;

	for (size_t i = 0; i < l->n_peers; i++) {
		const struct lk_peer *p = &l->peers[i];
		uint64_t t;

		if (!p->up)
			continue;
		t = rk_deadline(&p->rk);
		if (t < d)
			d = t;
		t = sess_hb_deadline(&p->hb);
		if (t < d)
			d = t;
	}
	if (!l->primary && sess_link_deadline(&l->link) < d)
		d = sess_link_deadline(&l->link);
	for (size_t i = 0; l->loop && i < l->n_peers; i++)
		if (l->peers[i].next_try_ms && l->peers[i].next_try_ms < d)
			d = l->peers[i].next_try_ms;
	return d;
}

/* ------------------------------------------------------------ signals */

static void say_goodbye(struct lk *l, struct lk_peer *p, enum reason why)
{
	struct ctrl_msg m = { .type = CTRL_SHUTDOWN, .has_reason = true,
			      .reason = why };

	send_ctrl(l, p, &m);
}

void lk_hangup(struct lk *l)
{
	log_msg(LOG_NOTICE, "hangup: dropping the sessions");
	for (size_t i = 0; i < l->n_peers; i++) {
		struct lk_peer *p = &l->peers[i];

		if (p->up) {
			say_goodbye(l, p, REASON_OK);
			peer_down(l, p, REASON_OK, "hangup (SIGHUP)");
		}
	}
	relink_now(l);
}

void lk_rekey_all(struct lk *l)
{
	for (size_t i = 0; i < l->n_peers; i++) {
		struct lk_peer *p = &l->peers[i];
		struct rk_actions acts = { 0 };

		if (!p->up)
			continue;
		log_msg(LOG_INFO, "peer %s: rekey requested", p->name);
		rk_force(&p->rk, lk_now_ms(), &acts);
		apply(l, p, &acts);
	}
}

void lk_shutdown(struct lk *l)
{
	for (size_t i = 0; i < l->n_peers; i++) {
		struct lk_peer *p = &l->peers[i];

		if (p->up) {
			say_goodbye(l, p, REASON_OK);
			peer_down(l, p, REASON_OK, "daemon exiting");
		}
	}
	scr_drain(&l->scr, SCR_TIMEOUT_MS);
}

void lk_reap_scripts(struct lk *l)
{
	scr_reap(&l->scr);
}

void lk_free(struct lk *l)
{
	for (size_t i = 0; l->peers && i < l->n_peers; i++) {
		struct lk_peer *p = &l->peers[i];

		free(p->subnets);
		hs_initiator_wipe(&p->ini);
		rk_wipe(&p->rk);
		ctrl_chan_wipe(&p->ch);
		sodium_memzero(p->psk, sizeof(p->psk));
	}
	free(l->peers);
	l->peers = NULL;
	scr_free(&l->scr);
	knl_close(&l->knl);
	if (l->udp >= 0)
		close(l->udp);
	l->udp = -1;
	hs_responder_wipe(&l->resp);
	hs_local_wipe(&l->local);
}

/* ------------------------------------------------------------ control socket */

static struct lk_peer *ctl_peer(struct lk *l, const char *name)
{
	for (size_t i = 0; i < l->n_peers; i++)
		if (!strcmp(l->peers[i].name, name))
			return &l->peers[i];
	return NULL;
}

static void ctl_rekey(struct lk *l, struct lk_peer *p, FILE *out)
{
	struct rk_actions acts = { 0 };

	log_msg(LOG_INFO, "peer %s: rekey requested (sloopctl)", p->name);
	rk_force(&p->rk, lk_now_ms(), &acts);
	apply(l, p, &acts);
	fprintf(out, "%s: rekey started\n", p->name);
}

/*
 * Only a secondary can start a handshake (P3), so a primary asks the
 * peer to reconnect: a SHUTDOWN carrying keys-flushed.
 */
static void ctl_flush(struct lk *l, struct lk_peer *p, FILE *out)
{
	struct ctrl_msg m = { .type = CTRL_SHUTDOWN, .has_reason = true,
			      .reason = REASON_KEYS_FLUSHED };

	send_ctrl(l, p, &m);
	peer_down(l, p, REASON_OK, "keys flushed (sloopctl)");
	fprintf(out, "%s: keys flushed, renegotiating\n", p->name);
}

static void ctl_shut(struct lk *l, struct lk_peer *p, FILE *out)
{
	say_goodbye(l, p, REASON_OK);
	peer_down(l, p, REASON_OK, "shut down (sloopctl)");
	fprintf(out, "%s: session closed\n", p->name);
}

static int ctl_peers(struct lk *l, const struct ctl_req *r, FILE *out,
		     char *why, size_t len)
{
	struct lk_peer *only = NULL;
	int done = 0;

	if (r->peer[0] && !(only = ctl_peer(l, r->peer))) {
		snprintf(why, len, "no peer named %s", r->peer);
		return -1;
	}
	for (size_t i = 0; i < l->n_peers; i++) {
		struct lk_peer *p = &l->peers[i];

		if ((only && p != only) || !p->up)
			continue;
		if (r->cmd == CTL_REKEY)
			ctl_rekey(l, p, out);
		else if (r->cmd == CTL_FLUSH)
			ctl_flush(l, p, out);
		else
			ctl_shut(l, p, out);
		done++;
	}
	if (!done) {
		snprintf(why, len, "no session up%s%s", only ? " with " : "",
			 only ? only->name : "");
		return -1;
	}
	if (r->cmd == CTL_FLUSH)
		relink_now(l);
	/* pppd: an administrative close ends a non-persistent link. */
	if (r->cmd == CTL_SHUTDOWN && !l->primary && !l->o->persist)
		l->want_exit = true;
	return 0;
}

void lk_report(const struct lk *l, uint64_t netns, FILE *out)
{
	fprintf(out, "link name=%s device=%s ifindex=%u netns=%" PRIu64 "\n",
		l->linkname, l->o->device, l->knl.ifindex, netns);
	for (size_t i = 0; i < l->n_peers; i++) {
		const struct lk_peer *p = &l->peers[i];

		fprintf(out, "peer id=%u name=%s state=%s handshake=%" PRId64
			" rekey=%" PRId64 " rekeys=%u\n", p->kid, p->name,
			p->up ? "up" : "down", p->last_handshake,
			p->last_rekey, p->n_rekeys);
	}
}

/*
 * sloopctl matches us to a device by (network namespace, ifindex): the
 * device name alone repeats across namespaces.
 */
static uint64_t netns_id(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (uint64_t)st.st_ino;
}

int lk_control(void *ctx, const struct ctl_req *r, FILE *out, char *why,
	       size_t len)
{
	struct lk *l = ctx;

	if (r->cmd == CTL_DUMP) {
		opt_dump(l->o, out);
		return 0;
	}
	if (r->cmd == CTL_PEERS) {
		lk_report(l, netns_id(), out);
		return 0;
	}
	return ctl_peers(l, r, out, why, len);
}
