// SPDX-License-Identifier: MIT
/*
 * The broker's flows (docs/broker.md): HELLO, device requests, admin
 * requests, events.  Every refusal goes back as ERROR{CODE, TEXT} and is
 * logged with its B-code; nothing here trusts a frame beyond what
 * scbw_parse and the per-message checks below have verified.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <sodium.h>

#include "cred.h"
#include "handlers.h"
#include "tai64n.h"

#define TAI_SLOTS	4096	/* HELLO stamps of keys not in the store */
#define SKEW		300	/* seconds of clock skew tolerated in creds */
#define TTL_MIN		60
#define TTL_MAX		(30 * 86400)

/* Who may send a request. */
#define R_DEV		0x1
#define R_ADM		0x2
#define R_REG		0x4	/* the device must be registered */

struct req {
	struct scbh_ctx *x;
	struct scbh_peer *p;
	const struct scbw_frame *f;
	struct scbw_buf b;
	char why[160];
};

/* ------------------------------------------------------------ helpers */

static int64_t now_s(const struct scbh_ctx *x)
{
	return x->now ? x->now() : (int64_t)time(NULL);
}

static void keystr(char out[12], const uint8_t pub[32])
{
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(b64, sizeof(b64), pub, 32,
			  sodium_base64_VARIANT_ORIGINAL);
	memcpy(out, b64, 11);
	out[11] = '\0';
}

void scbh_logf(struct scbh_ctx *x, int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!x->ops.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->ops.log(x, prio, msg);
}

static int why(struct req *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int why(struct req *r, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return code;
}

static const uint8_t *fixed(const struct scbw_frame *f, uint16_t type,
			    size_t len)
{
	const struct scbw_attr *a = scbw_get(f, type);

	return a && a->len == len ? a->val : NULL;
}

static int send_frame(struct scbh_ctx *x, struct scbh_peer *p,
		      struct scbw_buf *b)
{
	size_t len = scbw_end(b);

	if (!len || !p || p->gone)
		return -1;
	return x->ops.send ? x->ops.send(x, p, b->p, len) : 0;
}

static void send_error(struct scbh_ctx *x, struct scbh_peer *p, uint32_t id,
		       int code, const char *text)
{
	struct scbw_buf b;
	char t[256];

	snprintf(t, sizeof(t), "%s", text && *text ? text :
		 scbw_strerror(code));
	scbw_start(&b, x->buf2, sizeof(x->buf2), SCB_MSG_ERROR, id);
	scbw_put_u16(&b, SCB_A_CODE, (uint16_t)code);
	scbw_put_str(&b, SCB_A_TEXT, t);
	send_frame(x, p, &b);
}

static void refused(struct scbh_ctx *x, struct scbh_peer *p, int type,
		    int code, const char *text)
{
	char k[12];

	static const uint8_t zero[32];

	keystr(k, p->pub);
	x->st.refused++;
	scbh_logf(x, code >= 500 ? LOG_ERR : LOG_NOTICE,
		  "B%d %s: %s from %s: %s", code, scbw_strerror(code),
		  scbw_msg_name(type), memcmp(p->pub, zero, 32) ? k : "(unknown)",
		  text);
}

/* ------------------------------------------------------------ online table */

static unsigned int bucket(const uint8_t *k)
{
	return ((unsigned int)k[0] | (unsigned int)k[1] << 8) % SCBH_BUCKETS;
}

struct scbh_peer *scbh_find(struct scbh_ctx *x, const uint8_t pub[32])
{
	struct scbh_peer *p = x->by_pub[bucket(pub)];

	while (p && memcmp(p->pub, pub, 32))
		p = p->next_pub;
	return p;
}

static struct scbh_peer *find_token(struct scbh_ctx *x,
				    const uint8_t tok[16])
{
	struct scbh_peer *p = x->by_tok[bucket(tok)];

	while (p && sodium_memcmp(p->token, tok, 16))
		p = p->next_tok;
	return p;
}

static void unlink_peer(struct scbh_ctx *x, struct scbh_peer *p)
{
	struct scbh_peer **pp;

	if (!p->listed)
		return;
	for (pp = &x->by_pub[bucket(p->pub)]; *pp; pp = &(*pp)->next_pub)
		if (*pp == p) {
			*pp = p->next_pub;
			break;
		}
	for (pp = &x->by_tok[bucket(p->token)]; *pp; pp = &(*pp)->next_tok)
		if (*pp == p) {
			*pp = p->next_tok;
			break;
		}
	p->listed = false;
	x->online--;
}

static bool loop_name_of(struct scbh_ctx *x, const uint8_t lid[32],
			 const char **name)
{
	struct store_loop l;

	if (!x->memo.valid || memcmp(x->memo.loop_id, lid, 32)) {
		x->memo.valid = false;
		if (store_loop_get(x->store, lid, &l))
			return false;
		memcpy(x->memo.loop_id, lid, 32);
		snprintf(x->memo.name, sizeof(x->memo.name), "%s", l.name);
		x->memo.valid = true;
	}
	*name = x->memo.name;
	return true;
}

/*
 * A connection scoped to a loop serves only that loop; one without a
 * scope serves all (admin tools, scb-client).  The scoped one wins.
 */
struct scbh_peer *scbh_find_loop(struct scbh_ctx *x, const uint8_t pub[32],
				 const uint8_t loop_id[32])
{
	struct scbh_peer *p, *any = NULL;
	const char *name = NULL;

	for (p = x->by_pub[bucket(pub)]; p; p = p->next_pub) {
		if (memcmp(p->pub, pub, 32))
			continue;
		if (!p->scope[0]) {
			any = any ? any : p;
			continue;
		}
		if (!name && !loop_name_of(x, loop_id, &name))
			return NULL;
		if (!strcmp(p->scope, name))
			return p;
	}
	return any;
}

static struct scbh_peer *find_same(struct scbh_ctx *x,
				   const struct scbh_peer *n)
{
	struct scbh_peer *p;

	for (p = x->by_pub[bucket(n->pub)]; p; p = p->next_pub)
		if (!memcmp(p->pub, n->pub, 32) && !strcmp(p->scope, n->scope))
			return p;
	return NULL;
}

/* A newer connection with the same key and scope replaces the old one. */
static void list_peer(struct scbh_ctx *x, struct scbh_peer *p)
{
	struct scbh_peer *old = find_same(x, p);
	unsigned int b;

	if (old) {
		unlink_peer(x, old);
		if (x->ops.kick)
			x->ops.kick(x, old);
	}
	b = bucket(p->pub);
	p->next_pub = x->by_pub[b];
	x->by_pub[b] = p;
	b = bucket(p->token);
	p->next_tok = x->by_tok[b];
	x->by_tok[b] = p;
	p->listed = true;
	x->online++;
}

/* ------------------------------------------------------------ init */

int scbh_init(struct scbh_ctx *x, struct store *st, const uint8_t sk[64])
{
	memset(x, 0, sizeof(*x));
	x->store = st;
	memcpy(x->sk, sk, 64);
	crypto_sign_ed25519_sk_to_pk(x->pk, x->sk);
	x->default_limit = 5;
	x->cred_lifetime = 3600;
	x->pw_ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
	x->pw_mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	x->tais = calloc(TAI_SLOTS, sizeof(*x->tais));
	if (!x->tais)
		return -1;
	x->n_tais = TAI_SLOTS;
	return 0;
}

void scbh_destroy(struct scbh_ctx *x)
{
	struct scbh_pending *pd;

	while ((pd = x->pending)) {
		x->pending = pd->next;
		free(pd);
	}
	free(x->tais);
	x->tais = NULL;
	sodium_memzero(x->sk, sizeof(x->sk));
}

/* ------------------------------------------------------------ HELLO */

/*
 * Keys the store does not know (admins, devices before REGISTER) keep
 * their newest stamp here.  The table is bounded; a slot taken over by
 * another key forgets the older stamp, which only lets an unregistered
 * key replay a HELLO that gives it nothing but the waiting room's door.
 */
static int mem_replay(struct scbh_ctx *x, const uint8_t pub[32],
		      const uint8_t tai[12])
{
	uint32_t h;
	struct scbh_tai *t;

	memcpy(&h, pub + 4, sizeof(h));
	t = &x->tais[h % x->n_tais];
	if (t->used && !memcmp(t->pub, pub, 32) &&
	    tai64n_compare(tai, t->tai) <= 0)
		return SCB_E_REPLAY;
	memcpy(t->pub, pub, 32);
	memcpy(t->tai, tai, 12);
	t->used = true;
	return 0;
}

static bool is_admin(const struct scbh_ctx *x, const uint8_t pub[32])
{
	for (int i = 0; i < x->n_admins; i++)
		if (!sodium_memcmp(x->admins[i], pub, 32))
			return true;
	return false;
}

static size_t build_error(uint8_t *out, size_t cap, uint32_t id, int code,
			  const char *text)
{
	struct scbw_buf b;

	scbw_start(&b, out, cap, SCB_MSG_ERROR, id);
	scbw_put_u16(&b, SCB_A_CODE, (uint16_t)code);
	scbw_put_str(&b, SCB_A_TEXT, text);
	return scbw_end(&b);
}

static int hello_device(struct scbh_ctx *x, struct scbh_peer *p,
			const uint8_t tai[12], char *w, size_t wl)
{
	struct store_device d;
	int rc = store_device_get(x->store, p->pub, &d);

	if (rc == SCB_E_NO_DEVICE) {
		if (mem_replay(x, p->pub, tai))
			return snprintf(w, wl, "HELLO stamp not newer"),
			       SCB_E_REPLAY;
		return 0;
	}
	if (rc)
		return snprintf(w, wl, "store lookup failed"), rc;
	switch (d.state) {
	case SCB_DEV_ACTIVE:
		break;
	case SCB_DEV_SUSPENDED:
		return snprintf(w, wl, "device suspended"), SCB_E_SUSPENDED;
	case SCB_DEV_STOLEN:
		return snprintf(w, wl, "device reported stolen"),
		       SCB_E_STOLEN;
	default:
		return snprintf(w, wl, "device removed"), SCB_E_REMOVED;
	}
	rc = store_device_seen(x->store, p->pub, now_s(x), tai);
	if (rc == SCB_E_REPLAY)
		return snprintf(w, wl, "HELLO stamp not newer"), rc;
	if (rc)
		return snprintf(w, wl, "store update failed"), rc;
	p->registered = true;
	return 0;
}

static int hello_scope(struct scbh_peer *p, const struct scbw_frame *f,
		       char *w, size_t wl)
{
	const struct scbw_attr *a = scbw_get(f, SCB_A_LOOP_NAME);

	p->scope[0] = '\0';
	if (!a)
		return 0;
	if (!a->len || a->len > STORE_NAME_MAX ||
	    memchr(a->val, '\0', a->len))
		return snprintf(w, wl, "bad LOOP_NAME"), SCB_E_MALFORMED;
	memcpy(p->scope, a->val, a->len);
	p->scope[a->len] = '\0';
	return 0;
}

static int hello_check(struct scbh_ctx *x, struct scbh_peer *p,
		       const uint8_t remote[32], const struct scbw_frame *f,
		       char *w, size_t wl)
{
	static const uint16_t need[] = { SCB_A_ROLE, SCB_A_PUB, SCB_A_TAI64N,
					 0 };
	const uint8_t *pub, *tai;
	uint8_t xpub[32];
	struct timespec ts;
	int role, rc;

	if (f->type != SCB_MSG_HELLO)
		return snprintf(w, wl, "expected HELLO"), SCB_E_UNKNOWN_MSG;
	rc = scbw_require(f, need, w, wl);
	if (rc)
		return rc;
	role = scbw_u8(scbw_get(f, SCB_A_ROLE));
	pub = fixed(f, SCB_A_PUB, 32);
	tai = fixed(f, SCB_A_TAI64N, 12);
	if (!pub || !tai || tai64n_decode(tai, &ts))
		return snprintf(w, wl, "bad PUB or TAI64N"), SCB_E_MALFORMED;
	if (role != SCB_ROLE_DEVICE && role != SCB_ROLE_ADMIN)
		return snprintf(w, wl, "unknown role"), SCB_E_MALFORMED;
	/* The Ed25519 key claimed must be the one Noise authenticated. */
	if (crypto_sign_ed25519_pk_to_curve25519(xpub, pub) ||
	    sodium_memcmp(xpub, remote, 32))
		return snprintf(w, wl, "PUB is not the Noise static key"),
		       SCB_E_AUTH;
	memcpy(p->pub, pub, 32);
	memcpy(p->tai, tai, 12);
	rc = hello_scope(p, f, w, wl);
	if (rc)
		return rc;
	if (role == SCB_ROLE_ADMIN) {
		if (!is_admin(x, pub))
			return snprintf(w, wl, "not an admin key"),
			       SCB_E_NOT_ADMIN;
		rc = mem_replay(x, pub, tai);
		if (rc)
			snprintf(w, wl, "HELLO stamp not newer");
	} else {
		rc = hello_device(x, p, tai, w, wl);
	}
	if (!rc)
		p->role = role;
	return rc;
}

int scbh_hello(struct scbh_ctx *x, struct scbh_peer *p,
	       const uint8_t remote_x25519[32], const uint8_t *frame,
	       size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
	struct scbw_frame *f = malloc(sizeof(*f));
	struct scbw_buf b;
	char w[160] = "";
	int rc;

	x->st.hellos++;
	if (!f) {
		*outlen = build_error(out, cap, 0, SCB_E_BUSY, "out of memory");
		return SCB_E_BUSY;
	}
	rc = scbw_parse(f, frame, len, w, sizeof(w));
	if (!rc)
		rc = hello_check(x, p, remote_x25519, f, w, sizeof(w));
	free(f);
	if (rc == SCB_E_STOLEN) {
		/* Told to wipe instead of welcomed: the device's last word. */
		scbw_start(&b, out, cap, SCB_MSG_EV_WIPE, 0);
		scbw_put_u16(&b, SCB_A_REASON, SCB_E_STOLEN);
		*outlen = scbw_end(&b);
	} else if (rc) {
		*outlen = build_error(out, cap, 0, rc, w);
	}
	if (rc) {
		if (rc == SCB_E_REPLAY)
			x->st.replays++;
		refused(x, p, SCB_MSG_HELLO, rc, w);
		return rc;
	}
	randombytes_buf(p->token, sizeof(p->token));
	p->welcomed = true;
	list_peer(x, p);
	x->st.logins++;
	scbw_start(&b, out, cap, SCB_MSG_WELCOME, 0);
	scbw_put(&b, SCB_A_TOKEN, p->token, sizeof(p->token));
	scbw_put(&b, SCB_A_BROKER, x->pk, 32);
	*outlen = scbw_end(&b);
	return 0;
}

/* ------------------------------------------------------------ building */

static void put_loop(struct scbw_buf *b, const struct store_loop *l,
		     const uint8_t *addr4, const uint8_t *addr6)
{
	uint8_t n4[5], n6[17];

	memcpy(n4, l->net4, 4);
	n4[4] = 22;
	memcpy(n6, l->net6, 16);
	n6[16] = 64;
	scbw_nest_start(b, SCB_A_LOOP);
	scbw_put(b, SCB_A_LOOP_ID, l->loop_id, 32);
	scbw_put_str(b, SCB_A_LOOP_NAME, l->name);
	scbw_put_u8(b, SCB_A_POLICY, (uint8_t)l->policy);
	scbw_put(b, SCB_A_NET4, n4, sizeof(n4));
	scbw_put(b, SCB_A_NET6, n6, sizeof(n6));
	if (addr4)
		scbw_put(b, SCB_A_ADDR4, addr4, 4);
	if (addr6)
		scbw_put(b, SCB_A_ADDR6, addr6, 16);
	scbw_put(b, SCB_A_FOUNDER, l->founder, 32);
	scbw_nest_end(b);
}

static void put_peer(struct scbh_ctx *x, struct scbw_buf *b,
		     const uint8_t lid[32], const struct store_member *m,
		     bool creds)
{
	struct scbh_peer *on = scbh_find_loop(x, m->pub, lid);

	scbw_nest_start(b, SCB_A_PEER);
	scbw_put(b, SCB_A_DEVICE, m->pub, 32);
	if (m->name[0])
		scbw_put_str(b, SCB_A_NAME, m->name);
	scbw_put(b, SCB_A_ADDR4, m->addr4, 4);
	scbw_put(b, SCB_A_ADDR6, m->addr6, 16);
	for (int i = 0; creds && i < m->n_creds && i < STORE_MAX_CREDS; i++)
		scbw_put(b, SCB_A_CRED, m->creds[i], SCB_CRED_LEN);
	if (on && on->has_endpoint)
		scbw_put(b, SCB_A_ENDPOINT, on->endpoint, 18);
	scbw_put_u8(b, SCB_A_ONLINE, on != NULL);
	scbw_nest_end(b);
}

static int finish_reply(struct req *r)
{
	if (!scbw_end(&r->b))
		return why(r, SCB_E_INTERNAL, "reply too large");
	return 0;
}

/* ------------------------------------------------------------ fan-out */

struct fan {
	struct scbh_ctx *x;
	const uint8_t *lid;
	const uint8_t *skip;		/* a device not to tell */
	struct scbw_buf *ev;
	size_t len;
	int sent;
};

static int fan_cb(void *ctx, const struct store_member *m)
{
	struct fan *fn = ctx;
	struct scbh_peer *on;

	if (m->pending || (fn->skip && !memcmp(m->pub, fn->skip, 32)))
		return 0;
	on = scbh_find_loop(fn->x, m->pub, fn->lid);
	if (on && !on->gone && fn->x->ops.send &&
	    !fn->x->ops.send(fn->x, on, fn->ev->p, fn->len))
		fn->sent++;
	return 0;
}

/* Send the event in ev to every online member of a loop but skip. */
static int tell_members(struct scbh_ctx *x, const uint8_t loop_id[32],
			const uint8_t *skip, struct scbw_buf *ev)
{
	struct fan fn = { .x = x, .lid = loop_id, .skip = skip, .ev = ev };

	fn.len = scbw_end(ev);
	if (!fn.len)
		return 0;
	store_member_list(x->store, loop_id, false, fan_cb, &fn);
	return fn.sent;
}

static void tell_one(struct scbh_ctx *x, const uint8_t pub[32],
		     const uint8_t lid[32], struct scbw_buf *ev)
{
	struct scbh_peer *on = scbh_find_loop(x, pub, lid);

	if (on)
		send_frame(x, on, ev);
}

/* EV_REVOKED {LOOP_ID, DEVICE, REASON, REVOKE}, built in x->buf2. */
static void ev_revoked(struct scbh_ctx *x, struct scbw_buf *ev,
		       const uint8_t lid[32], const uint8_t dev[32], int reason,
		       const uint8_t rec[SCB_REVOKE_LEN])
{
	scbw_start(ev, x->buf2, sizeof(x->buf2), SCB_MSG_EV_REVOKED, 0);
	scbw_put(ev, SCB_A_LOOP_ID, lid, 32);
	scbw_put(ev, SCB_A_DEVICE, dev, 32);
	scbw_put_u16(ev, SCB_A_REASON, (uint16_t)reason);
	scbw_put(ev, SCB_A_REVOKE, rec, SCB_REVOKE_LEN);
}

/* ------------------------------------------------------------ checks */

/* Non-members learn nothing about a loop, not even that it exists. */
static int member_of(struct req *r, const uint8_t *loop_id,
		     const uint8_t pub[32], struct store_loop *l,
		     struct store_member *m)
{
	int rc;

	if (!loop_id)
		return why(r, SCB_E_MALFORMED, "bad LOOP_ID");
	rc = store_loop_get(r->x->store, loop_id, l);
	if (rc == SCB_E_NO_LOOP)
		return why(r, SCB_E_NOT_MEMBER, "not a member of that loop");
	if (rc)
		return rc;
	rc = store_member_get(r->x->store, loop_id, pub, m);
	if (rc == SCB_E_NOT_MEMBER)
		return why(r, rc, "not a member of that loop");
	if (rc)
		return rc;
	if (m->pending)
		return why(r, SCB_E_NOT_MEMBER, "still waiting for approval");
	return 0;
}

/*
 * A credential someone signed for a device: it must be what the store
 * expects (loop, device, addresses, policy), signed by the sender, and
 * valid now for no longer than the broker's lifetime.
 */
static int check_cred(struct req *r, const struct store_loop *l,
		      const struct store_member *t, const uint8_t *raw,
		      struct cred *c)
{
	int64_t now = now_s(r->x);
	uint64_t max;

	if (!raw || cred_decode(c, raw, SCB_CRED_LEN))
		return why(r, SCB_E_BAD_CRED, "credential undecodable");
	if (!cred_sig_ok(c))
		return why(r, SCB_E_BAD_CRED, "credential signature bad");
	if (sodium_memcmp(c->signer, r->p->pub, 32))
		return why(r, SCB_E_BAD_CRED, "credential not signed by the sender");
	if (memcmp(c->loop_id, l->loop_id, 32) ||
	    memcmp(c->device, t->pub, 32))
		return why(r, SCB_E_BAD_CRED, "credential for another loop or device");
	if (memcmp(c->addr4, t->addr4, 4) || memcmp(c->addr6, t->addr6, 16))
		return why(r, SCB_E_BAD_CRED, "credential addresses differ");
	if (c->policy != l->policy)
		return why(r, SCB_E_BAD_CRED, "credential policy differs");
	/* The founder's root may live longer: all hangs on it (membership.md). */
	max = !memcmp(c->device, l->founder, 32) &&
	      !memcmp(c->signer, l->founder, 32) ? TTL_MAX : r->x->cred_lifetime;
	if ((int64_t)c->not_before > now + SKEW ||
	    (int64_t)c->not_after <= now || c->not_after < c->not_before ||
	    c->not_after - c->not_before > max + SKEW)
		return why(r, SCB_E_BAD_CRED, "credential validity out of range");
	return 0;
}

/* ------------------------------------------------------------ jobs */

static int submit(struct req *r, struct scbh_job *j)
{
	/* One password check at a time per connection: no queue hogging. */
	if (r->p->jobs) {
		sodium_memzero(j, sizeof(*j));
		free(j);
		return why(r, SCB_E_BUSY, "a password check is running");
	}
	j->peer = r->p;
	j->id = r->f->id;
	r->p->jobs++;
	if (r->x->ops.submit) {
		if (!r->x->ops.submit(r->x, j))
			return SCBH_DEFERRED;
		r->p->jobs--;
		sodium_memzero(j, sizeof(*j));
		free(j);
		return why(r, SCB_E_BUSY, "too many password checks queued");
	}
	/* No workers (unit tests): run it here. */
	j->work(j);
	scbh_job_done(r->x, j);
	return SCBH_DEFERRED;
}

bool scbh_job_done(struct scbh_ctx *x, struct scbh_job *j)
{
	struct scbh_peer *p = j->peer;
	bool free_peer;

	p->jobs--;
	if (!p->gone)
		j->done(x, j);
	free_peer = p->gone && !p->jobs;
	sodium_memzero(j, sizeof(*j));
	free(j);
	return free_peer;
}

static void reply_result(struct scbh_ctx *x, struct scbh_job *j, int rc,
			 const char *text)
{
	struct scbw_buf b;

	if (rc) {
		refused(x, j->peer, j->kind, rc, text);
		send_error(x, j->peer, j->id, rc, text);
		return;
	}
	scbw_start(&b, x->buf, sizeof(x->buf), SCB_MSG_OK, j->id);
	send_frame(x, j->peer, &b);
}

static void work_verify(struct scbh_job *j)
{
	j->result = crypto_pwhash_str_verify(j->pwhash, j->password,
					     strlen(j->password)) ?
		    SCB_E_AUTH : 0;
	sodium_memzero(j->password, sizeof(j->password));
}

static void done_register(struct scbh_ctx *x, struct scbh_job *j)
{
	struct scbh_peer *p = j->peer;
	int rc = j->result;

	if (!rc)
		rc = store_device_add(x->store, p->pub, j->user_id, j->name);
	if (!rc) {
		/* From now on the store guards this key's HELLO stamps. */
		store_device_seen(x->store, p->pub, now_s(x), p->tai);
		p->registered = true;
		x->st.registers++;
		scbh_logf(x, LOG_INFO, "device %s registered for user %s",
			  j->name, j->user);
	}
	reply_result(x, j, rc, rc == SCB_E_AUTH ? "bad user or password" :
		     "");
}

static void work_hash(struct scbh_job *j)
{
	j->result = crypto_pwhash_str(j->pwhash, j->password,
				      strlen(j->password),
				      j->ops, j->mem) ?
		    SCB_E_INTERNAL : 0;
	sodium_memzero(j->password, sizeof(j->password));
}

static void done_user_add(struct scbh_ctx *x, struct scbh_job *j)
{
	int rc = j->result;

	if (!rc)
		rc = store_user_add(x->store, j->user, j->pwhash, j->limit);
	if (!rc)
		scbh_logf(x, LOG_INFO, "user %s added", j->user);
	reply_result(x, j, rc, "");
}

/* ------------------------------------------------------------ device */

static struct scbh_job *new_job(struct req *r)
{
	struct scbh_job *j = calloc(1, sizeof(*j));

	if (j && (!scbw_str(scbw_get(r->f, SCB_A_USER), j->user,
			    sizeof(j->user)) ||
		  !scbw_str(scbw_get(r->f, SCB_A_PASSWORD), j->password,
			    sizeof(j->password)))) {
		sodium_memzero(j, sizeof(*j));
		free(j);
		return NULL;
	}
	return j;
}

static int h_register(struct req *r)
{
	struct store_user u;
	struct scbh_job *j;
	int rc;

	if (r->p->registered)
		return why(r, SCB_E_EXISTS, "this device is registered");
	j = new_job(r);
	if (!j || !scbw_str(scbw_get(r->f, SCB_A_NAME), j->name,
			    sizeof(j->name)) || !j->name[0]) {
		if (j)
			sodium_memzero(j, sizeof(*j));
		free(j);
		return why(r, SCB_E_MALFORMED, "bad USER, PASSWORD or NAME");
	}
	rc = store_user_get(r->x->store, j->user, &u);
	if (rc) {
		sodium_memzero(j, sizeof(*j));
		free(j);
		return why(r, rc == SCB_E_STORE ? rc : SCB_E_AUTH,
			   "bad user or password");
	}
	j->kind = SCB_MSG_REGISTER;
	j->user_id = u.id;
	memcpy(j->pwhash, u.pwhash, sizeof(j->pwhash));
	j->pwhash[sizeof(j->pwhash) - 1] = '\0';
	j->work = work_verify;
	j->done = done_register;
	return submit(r, j);
}

static int h_loop_create(struct req *r)
{
	char name[STORE_NAME_MAX + 1];
	uint8_t lid[32];
	struct store_loop l;
	struct store_member m;
	int policy = scbw_u8(scbw_get(r->f, SCB_A_POLICY)), rc;

	if (!scbw_str(scbw_get(r->f, SCB_A_LOOP_NAME), name, sizeof(name)) ||
	    !name[0])
		return why(r, SCB_E_MALFORMED, "bad LOOP_NAME");
	if (policy != 1 && policy != 2)
		return why(r, SCB_E_MALFORMED, "POLICY must be 1 or 2");
	cred_loop_id(lid, r->p->pub, name);
	/* No root credential yet: the founder signs it after this reply. */
	rc = store_loop_create(r->x->store, lid, name, r->p->pub, policy,
			       NULL, &l);
	if (rc)
		return why(r, rc, "loop %s not created", name);
	rc = store_member_get(r->x->store, lid, r->p->pub, &m);
	if (rc)
		return rc;
	put_loop(&r->b, &l, m.addr4, m.addr6);
	scbh_logf(r->x, LOG_INFO, "loop %s created", name);
	return finish_reply(r);
}

/* RFC 4648 base32, no padding: 20 bytes give 32 characters. */
static void base32(char *out, const uint8_t *in, size_t len)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned int acc = 0, bits = 0;

	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			*out++ = al[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits)
		*out++ = al[(acc << (5 - bits)) & 31];
	*out = '\0';
}

static void invite_hash(uint8_t out[32], const char *code)
{
	crypto_generichash(out, 32, (const uint8_t *)code, strlen(code),
			   NULL, 0);
}

static int h_invite_create(struct req *r)
{
	const uint8_t *lid = fixed(r->f, SCB_A_LOOP_ID, 32);
	uint32_t ttl = scbw_u32(scbw_get(r->f, SCB_A_TTL));
	struct store_loop l;
	struct store_member m;
	uint8_t raw[20], h[32];
	char code[40];
	int64_t exp = now_s(r->x) + ttl;
	int rc = member_of(r, lid, r->p->pub, &l, &m);

	if (rc)
		return rc;
	if (ttl < TTL_MIN || ttl > TTL_MAX)
		return why(r, SCB_E_MALFORMED, "TTL out of range (%d..%d)",
			   TTL_MIN, TTL_MAX);
	randombytes_buf(raw, sizeof(raw));
	base32(code, raw, sizeof(raw));
	invite_hash(h, code);
	rc = store_invite_add(r->x->store, h, lid, r->p->pub, exp);
	if (!rc) {
		scbw_put_str(&r->b, SCB_A_INVITE, code);
		scbw_put(&r->b, SCB_A_LOOP_ID, lid, 32);
		scbw_put_u64(&r->b, SCB_A_EXPIRES, (uint64_t)exp);
		rc = finish_reply(r);
	}
	sodium_memzero(code, sizeof(code));
	sodium_memzero(raw, sizeof(raw));
	return rc;
}

static int h_join(struct req *r)
{
	char code[65];
	uint8_t h[32];
	struct store_loop l;
	struct store_member m;
	struct scbw_buf ev;
	int rc;

	if (!scbw_str(scbw_get(r->f, SCB_A_INVITE), code, sizeof(code)))
		return why(r, SCB_E_MALFORMED, "bad INVITE");
	invite_hash(h, code);
	sodium_memzero(code, sizeof(code));
	memset(&m, 0, sizeof(m));
	rc = store_invite_consume(r->x->store, h, r->p->pub, now_s(r->x), &l,
				  &m);
	if (rc == SCB_E_INVITE)
		return why(r, rc, "invitation unknown, used or expired");
	if (rc)
		return rc;
	put_loop(&r->b, &l, m.addr4, m.addr6);
	scbw_put(&r->b, SCB_A_ADDR4, m.addr4, 4);
	scbw_put(&r->b, SCB_A_ADDR6, m.addr6, 16);
	rc = finish_reply(r);
	if (rc)
		return rc;
	scbw_start(&ev, r->x->buf2, sizeof(r->x->buf2), SCB_MSG_EV_PENDING, 0);
	scbw_put(&ev, SCB_A_LOOP_ID, l.loop_id, 32);
	scbw_put(&ev, SCB_A_DEVICE, r->p->pub, 32);
	if (m.name[0])
		scbw_put_str(&ev, SCB_A_NAME, m.name);
	scbw_put(&ev, SCB_A_ADDR4, m.addr4, 4);
	scbw_put(&ev, SCB_A_ADDR6, m.addr6, 16);
	tell_members(r->x, l.loop_id, r->p->pub, &ev);
	return 0;
}

/* EV_JOINED: the loop, the device's addresses and all its credentials. */
static void tell_joined(struct scbh_ctx *x, const struct store_loop *l,
			const struct store_member *m)
{
	struct scbw_buf ev;

	scbw_start(&ev, x->buf2, sizeof(x->buf2), SCB_MSG_EV_JOINED, 0);
	put_loop(&ev, l, m->addr4, m->addr6);
	for (int i = 0; i < m->n_creds && i < STORE_MAX_CREDS; i++)
		scbw_put(&ev, SCB_A_CRED, m->creds[i], SCB_CRED_LEN);
	tell_one(x, m->pub, l->loop_id, &ev);
}

static int pending_target(struct req *r, const uint8_t *lid,
			  const uint8_t *dev, struct store_member *t)
{
	int rc;

	if (!dev)
		return why(r, SCB_E_MALFORMED, "bad DEVICE");
	rc = store_member_get(r->x->store, lid, dev, t);
	if (rc == SCB_E_NOT_MEMBER)
		return why(r, SCB_E_NO_DEVICE, "no such device waiting");
	if (rc)
		return rc;
	if (!t->pending)
		return why(r, SCB_E_EXISTS, "already a member");
	return 0;
}

static int h_approve(struct req *r)
{
	const uint8_t *lid = fixed(r->f, SCB_A_LOOP_ID, 32);
	const uint8_t *dev = fixed(r->f, SCB_A_DEVICE, 32);
	struct store_loop l;
	struct store_member me, t;
	struct scbw_buf ev;
	struct cred c;
	bool complete = false;
	int rc = member_of(r, lid, r->p->pub, &l, &me);

	if (!rc)
		rc = pending_target(r, lid, dev, &t);
	if (!rc)
		rc = check_cred(r, &l, &t,
				fixed(r->f, SCB_A_CRED, SCB_CRED_LEN), &c);
	if (!rc)
		rc = store_approve(r->x->store, lid, dev, r->p->pub,
				   fixed(r->f, SCB_A_CRED, SCB_CRED_LEN),
				   &complete);
	if (rc)
		return rc;
	scbw_put_u8(&r->b, SCB_A_ACCEPT, complete);
	if (!complete)
		return finish_reply(r);
	if (store_member_get(r->x->store, lid, dev, &t))
		return why(r, SCB_E_STORE, "approved member vanished");
	scbh_logf(r->x, LOG_INFO, "loop %s: new member %s", l.name, t.name);
	tell_joined(r->x, &l, &t);
	scbw_start(&ev, r->x->buf2, sizeof(r->x->buf2), SCB_MSG_EV_MEMBER, 0);
	scbw_put(&ev, SCB_A_LOOP_ID, lid, 32);
	put_peer(r->x, &ev, lid, &t, true);
	tell_members(r->x, lid, dev, &ev);
	return finish_reply(r);
}

static int h_reject(struct req *r)
{
	const uint8_t *lid = fixed(r->f, SCB_A_LOOP_ID, 32);
	const uint8_t *dev = fixed(r->f, SCB_A_DEVICE, 32);
	struct store_loop l;
	struct store_member me, t;
	struct scbw_buf ev;
	int rc = member_of(r, lid, r->p->pub, &l, &me);

	if (!rc)
		rc = pending_target(r, lid, dev, &t);
	if (!rc)
		rc = store_reject(r->x->store, lid, dev);
	if (rc)
		return rc;
	scbw_start(&ev, r->x->buf2, sizeof(r->x->buf2), SCB_MSG_EV_REJECTED,
		   0);
	scbw_put(&ev, SCB_A_LOOP_ID, lid, 32);
	tell_one(r->x, dev, lid, &ev);
	return finish_reply(r);
}

struct peers_ctx {
	struct scbh_ctx *x;
	struct scbw_buf *b;
	const uint8_t *lid;
	bool creds;
};

static int peers_cb(void *ctx, const struct store_member *m)
{
	struct peers_ctx *pc = ctx;

	if (m->pending) {
		scbw_nest_start(pc->b, SCB_A_PENDING);
		scbw_put(pc->b, SCB_A_DEVICE, m->pub, 32);
		if (m->name[0])
			scbw_put_str(pc->b, SCB_A_NAME, m->name);
		/* What a member signs when it approves the device. */
		scbw_put(pc->b, SCB_A_ADDR4, m->addr4, 4);
		scbw_put(pc->b, SCB_A_ADDR6, m->addr6, 16);
		scbw_put_u32(pc->b, SCB_A_COUNT, (uint32_t)m->n_creds);
		scbw_nest_end(pc->b);
	} else {
		put_peer(pc->x, pc->b, pc->lid, m, pc->creds);
	}
	return pc->b->overflow;
}

static int revokes_cb(void *ctx, const uint8_t rec[SCB_REVOKE_LEN])
{
	struct scbw_buf *b = ctx;

	scbw_put(b, SCB_A_REVOKE, rec, SCB_REVOKE_LEN);
	return b->overflow;
}

struct own_revoke {
	const uint8_t *dev;
	uint8_t rec[SCB_REVOKE_LEN];
	bool found;
};

static int own_revoke_cb(void *ctx, const uint8_t rec[SCB_REVOKE_LEN])
{
	struct own_revoke *o = ctx;
	struct cred_revoke rv;

	if (!cred_revoke_decode(&rv, rec, SCB_REVOKE_LEN) &&
	    !memcmp(rv.device, o->dev, 32)) {
		memcpy(o->rec, rec, SCB_REVOKE_LEN);
		o->found = true;
	}
	return 0;
}

/*
 * A device revoked while it was offline (or before it had asked about
 * the loop) missed the EV_REVOKED push: its next LOOP_GET gets the
 * record instead of a bare "not a member", or it would sit in the
 * waiting room for ever.  It was a member, so this tells it nothing new.
 */
static int tell_own_revoke(struct req *r, const uint8_t lid[32], int rc)
{
	struct own_revoke o = { .dev = r->p->pub };
	struct scbw_buf ev;

	if (rc != SCB_E_NOT_MEMBER ||
	    store_revoke_list(r->x->store, lid, own_revoke_cb, &o) || !o.found)
		return rc;
	ev_revoked(r->x, &ev, lid, r->p->pub, SCB_E_REMOVED, o.rec);
	send_frame(r->x, r->p, &ev);
	return why(r, SCB_E_REMOVED, "this device was revoked from the loop");
}

static int h_loop_get(struct req *r)
{
	const uint8_t *lid = fixed(r->f, SCB_A_LOOP_ID, 32);
	struct store_loop l;
	struct store_member me;
	struct peers_ctx pc = { r->x, &r->b, lid, true };
	int rc = member_of(r, lid, r->p->pub, &l, &me);

	if (rc)
		return lid ? tell_own_revoke(r, lid, rc) : rc;
	put_loop(&r->b, &l, me.addr4, me.addr6);
	/* Pending devices too: members approve them, even after a restart. */
	rc = store_member_list(r->x->store, lid, true, peers_cb, &pc);
	if (!rc)
		rc = store_revoke_list(r->x->store, lid, revokes_cb, &r->b);
	if (rc && !r->b.overflow)
		return rc;
	return finish_reply(r);
}

/* Loops of one device, collected first: no store calls in callbacks. */
struct loops {
	struct store_loop *v;
	size_t n, cap;
};

static int loops_cb(void *ctx, const struct store_loop *l)
{
	struct loops *ls = ctx;

	if (ls->n == ls->cap) {
		size_t cap = ls->cap ? ls->cap * 2 : 8;
		struct store_loop *v = realloc(ls->v, cap * sizeof(*v));

		if (!v)
			return -1;
		ls->v = v;
		ls->cap = cap;
	}
	ls->v[ls->n++] = *l;
	return 0;
}

static int h_loops(struct req *r)
{
	struct loops ls = { 0 };
	struct store_member m;
	int rc = store_loops_of(r->x->store, r->p->pub, loops_cb, &ls);

	for (size_t i = 0; !rc && i < ls.n; i++) {
		rc = store_member_get(r->x->store, ls.v[i].loop_id, r->p->pub,
				      &m);
		if (!rc)
			put_loop(&r->b, &ls.v[i], m.addr4, m.addr6);
	}
	free(ls.v);
	return rc ? rc : finish_reply(r);
}

/* ------------------------------------------------------------ CONNECT */

static void rendezvous(struct scbh_ctx *x, struct scbh_peer *to,
		       const uint8_t lid[32], const struct store_member *other)
{
	struct scbw_buf ev;

	scbw_start(&ev, x->buf2, sizeof(x->buf2), SCB_MSG_EV_RENDEZVOUS, 0);
	scbw_put(&ev, SCB_A_LOOP_ID, lid, 32);
	put_peer(x, &ev, lid, other, true);
	scbw_put_u32(&ev, SCB_A_AT_MS, SCBH_AT_MS);
	send_frame(x, to, &ev);
}

static int h_connect(struct req *r)
{
	const uint8_t *lid = fixed(r->f, SCB_A_LOOP_ID, 32);
	const uint8_t *dev = fixed(r->f, SCB_A_DEVICE, 32);
	struct store_loop l;
	struct store_member me, t;
	struct scbh_peer *tp;
	struct scbh_pending *pd;
	struct scbw_buf ev;
	int rc = member_of(r, lid, r->p->pub, &l, &me);

	if (rc)
		return rc;
	if (!dev || !memcmp(dev, r->p->pub, 32))
		return why(r, SCB_E_MALFORMED, "bad DEVICE");
	rc = store_member_get(r->x->store, lid, dev, &t);
	if (rc || t.pending)
		return why(r, SCB_E_NO_DEVICE, "no such member");
	tp = scbh_find_loop(r->x, dev, lid);
	if (!tp || tp->gone)
		return why(r, SCB_E_OFFLINE, "member offline");
	pd = calloc(1, sizeof(*pd));
	if (!pd)
		return why(r, SCB_E_BUSY, "out of memory");
	pd->asker = r->p;
	pd->target_conn = tp;
	pd->id = r->f->id;
	memcpy(pd->loop_id, lid, 32);
	memcpy(pd->target, dev, 32);
	pd->deadline = now_s(r->x) + SCBH_CONNECT_TIMEOUT;
	pd->next = r->x->pending;
	r->x->pending = pd;
	scbw_start(&ev, r->x->buf2, sizeof(r->x->buf2), SCB_MSG_EV_CONNECT, 0);
	scbw_put(&ev, SCB_A_LOOP_ID, lid, 32);
	scbw_put(&ev, SCB_A_DEVICE, r->p->pub, 32);
	if (me.name[0])
		scbw_put_str(&ev, SCB_A_NAME, me.name);
	send_frame(r->x, tp, &ev);
	return SCBH_DEFERRED;
}

static struct scbh_pending *take_pending(struct scbh_ctx *x,
					 const uint8_t *lid,
					 const uint8_t *asker,
					 const uint8_t *target)
{
	struct scbh_pending **pp, *pd;

	for (pp = &x->pending; (pd = *pp); pp = &pd->next)
		if (!memcmp(pd->loop_id, lid, 32) &&
		    !memcmp(pd->asker->pub, asker, 32) &&
		    !memcmp(pd->target, target, 32)) {
			*pp = pd->next;
			return pd;
		}
	return NULL;
}

static int h_connect_answer(struct req *r)
{
	const uint8_t *lid = fixed(r->f, SCB_A_LOOP_ID, 32);
	const uint8_t *dev = fixed(r->f, SCB_A_DEVICE, 32);
	bool accept = scbw_u8(scbw_get(r->f, SCB_A_ACCEPT)) != 0;
	struct store_loop l;
	struct store_member me, a;
	struct scbh_pending *pd;
	struct scbw_buf ok;
	int rc = member_of(r, lid, r->p->pub, &l, &me);

	if (rc)
		return rc;
	if (!dev)
		return why(r, SCB_E_MALFORMED, "bad DEVICE");
	pd = take_pending(r->x, lid, dev, r->p->pub);
	if (!pd)
		return why(r, SCB_E_NO_DEVICE, "no such CONNECT waiting");
	if (!accept) {
		send_error(r->x, pd->asker, pd->id, SCB_E_REJECTED,
			   "the member refused");
	} else if (store_member_get(r->x->store, lid, dev, &a)) {
		send_error(r->x, pd->asker, pd->id, SCB_E_NOT_MEMBER,
			   "no longer a member");
	} else {
		/* The reply first: a blocking client reads events after it. */
		scbw_start(&ok, r->x->buf2, sizeof(r->x->buf2), SCB_MSG_OK,
			   pd->id);
		send_frame(r->x, pd->asker, &ok);
		rendezvous(r->x, pd->asker, lid, &me);
		rendezvous(r->x, r->p, lid, &a);
	}
	free(pd);
	return finish_reply(r);
}

void scbh_tick(struct scbh_ctx *x)
{
	struct scbh_pending **pp = &x->pending, *pd;
	int64_t now = now_s(x);

	while ((pd = *pp)) {
		if (pd->deadline > now) {
			pp = &pd->next;
			continue;
		}
		*pp = pd->next;
		send_error(x, pd->asker, pd->id, SCB_E_OFFLINE,
			   "the member did not answer");
		free(pd);
	}
}

/* ------------------------------------------------------------ RENEW */

static int h_renew(struct req *r)
{
	const uint8_t *lid = fixed(r->f, SCB_A_LOOP_ID, 32);
	struct store_loop l;
	struct store_member me;
	struct scbw_buf ev;
	int rc = member_of(r, lid, r->p->pub, &l, &me), n;

	if (rc)
		return rc;
	scbw_start(&ev, r->x->buf2, sizeof(r->x->buf2), SCB_MSG_EV_RENEW, 0);
	scbw_put(&ev, SCB_A_LOOP_ID, lid, 32);
	scbw_put(&ev, SCB_A_DEVICE, r->p->pub, 32);
	scbw_put(&ev, SCB_A_ADDR4, me.addr4, 4);
	scbw_put(&ev, SCB_A_ADDR6, me.addr6, 16);
	n = tell_members(r->x, lid, r->p->pub, &ev);
	scbw_put_u32(&r->b, SCB_A_COUNT, (uint32_t)n);
	return finish_reply(r);
}

static int h_renew_answer(struct req *r)
{
	const uint8_t *lid = fixed(r->f, SCB_A_LOOP_ID, 32);
	const uint8_t *dev = fixed(r->f, SCB_A_DEVICE, 32);
	const uint8_t *raw = fixed(r->f, SCB_A_CRED, SCB_CRED_LEN);
	struct store_loop l;
	struct store_member me, t;
	struct cred c;
	bool self;
	int rc = member_of(r, lid, r->p->pub, &l, &me);

	if (rc)
		return rc;
	if (!dev)
		return why(r, SCB_E_MALFORMED, "bad DEVICE");
	self = !memcmp(dev, r->p->pub, 32);
	/* Only the founder's credential is self-signed: it is the root. */
	if (self && memcmp(dev, l.founder, 32))
		return why(r, SCB_E_BAD_CRED, "only the founder signs itself");
	rc = store_member_get(r->x->store, lid, dev, &t);
	if (rc || t.pending)
		return why(r, SCB_E_NO_DEVICE, "no such member");
	rc = check_cred(r, &l, &t, raw, &c);
	if (!rc)
		rc = store_member_set_cred(r->x->store, lid, dev, raw);
	if (rc)
		return rc;
	if (!self && !store_member_get(r->x->store, lid, dev, &t))
		tell_joined(r->x, &l, &t);
	return finish_reply(r);
}

/* ------------------------------------------------------------ admin */

static int h_user_add(struct req *r)
{
	const struct scbw_attr *lim = scbw_get(r->f, SCB_A_LIMIT);
	struct scbh_job *j = new_job(r);

	if (!j || !j->user[0] || !j->password[0]) {
		if (j)
			sodium_memzero(j, sizeof(*j));
		free(j);
		return why(r, SCB_E_MALFORMED, "bad USER or PASSWORD");
	}
	j->kind = SCB_MSG_ADM_USER_ADD;
	j->limit = lim ? scbw_u32(lim) : r->x->default_limit;
	j->ops = r->x->pw_ops;
	j->mem = r->x->pw_mem;
	j->work = work_hash;
	j->done = done_user_add;
	return submit(r, j);
}

static int h_user_set(struct req *r)
{
	char user[STORE_NAME_MAX + 1];

	if (!scbw_str(scbw_get(r->f, SCB_A_USER), user, sizeof(user)))
		return why(r, SCB_E_MALFORMED, "bad USER");
	return store_user_set_limit(r->x->store, user,
				    scbw_u32(scbw_get(r->f, SCB_A_LIMIT)));
}

static int users_cb(void *ctx, const struct store_user *u)
{
	struct scbw_buf *b = ctx;

	scbw_nest_start(b, SCB_A_USER_ENTRY);
	scbw_put_str(b, SCB_A_USER, u->name);
	scbw_put_u32(b, SCB_A_LIMIT, u->device_limit);
	scbw_put_u32(b, SCB_A_COUNT, u->n_devices);
	scbw_nest_end(b);
	return b->overflow;
}

static int h_user_list(struct req *r)
{
	int rc = store_user_list(r->x->store, users_cb, &r->b);

	return rc && !r->b.overflow ? rc : finish_reply(r);
}

struct dev_ctx {
	struct scbh_ctx *x;
	struct scbw_buf *b;
};

static int devices_cb(void *ctx, const struct store_device *d)
{
	struct dev_ctx *dc = ctx;

	scbw_nest_start(dc->b, SCB_A_DEVICE_ENTRY);
	scbw_put(dc->b, SCB_A_DEVICE, d->pub, 32);
	if (d->name[0])
		scbw_put_str(dc->b, SCB_A_NAME, d->name);
	if (d->user[0])
		scbw_put_str(dc->b, SCB_A_USER, d->user);
	scbw_put_u8(dc->b, SCB_A_STATE, (uint8_t)d->state);
	scbw_put_u8(dc->b, SCB_A_ONLINE, scbh_find(dc->x, d->pub) != NULL);
	scbw_put_u64(dc->b, SCB_A_LAST_SEEN, (uint64_t)d->last_seen);
	scbw_nest_end(dc->b);
	return dc->b->overflow;
}

static int h_device_list(struct req *r)
{
	struct dev_ctx dc = { r->x, &r->b };
	int rc = store_device_list(r->x->store, devices_cb, &dc);

	return rc && !r->b.overflow ? rc : finish_reply(r);
}

/*
 * Broker-signed revocation: stored with the member's removal in one
 * transaction, then told to the loop's online members and the device.
 */
static void tell_revoked(struct scbh_ctx *x, const uint8_t lid[32],
			 const uint8_t dev[32], int reason,
			 const uint8_t rec[SCB_REVOKE_LEN])
{
	struct scbw_buf ev;

	ev_revoked(x, &ev, lid, dev, reason, rec);
	tell_members(x, lid, dev, &ev);
	tell_one(x, dev, lid, &ev);
}

static int revoke_one(struct scbh_ctx *x, const uint8_t lid[32],
		      const uint8_t dev[32], int reason)
{
	struct cred_revoke rv;
	uint8_t rec[CRED_REVOKE_LEN];
	int rc;

	memset(&rv, 0, sizeof(rv));
	memcpy(rv.loop_id, lid, 32);
	memcpy(rv.device, dev, 32);
	rv.at = (uint64_t)now_s(x);
	if (cred_revoke_sign(&rv, x->sk))
		return SCB_E_INTERNAL;
	cred_revoke_encode(&rv, rec);
	rc = store_member_revoke(x->store, lid, dev, rec);
	if (rc)
		return rc;
	tell_revoked(x, lid, dev, reason, rec);
	return 0;
}

/*
 * REVOKE by a member: a revocation it signed itself (it may be its own
 * departure).  Peers judge it by the chain rule anyway; the broker only
 * checks that the sender signed it for this loop, then stores and
 * spreads it like its own.
 */
static int h_member_revoke(struct req *r)
{
	const uint8_t *lid = fixed(r->f, SCB_A_LOOP_ID, 32);
	const uint8_t *rec = fixed(r->f, SCB_A_REVOKE, SCB_REVOKE_LEN);
	struct store_loop l;
	struct store_member me, t;
	struct cred_revoke rv;
	int rc = member_of(r, lid, r->p->pub, &l, &me);

	if (rc)
		return rc;
	if (!rec || cred_revoke_decode(&rv, rec, SCB_REVOKE_LEN) ||
	    memcmp(rv.loop_id, lid, 32) || memcmp(rv.signer, r->p->pub, 32) ||
	    !cred_revoke_sig_ok(&rv))
		return why(r, SCB_E_MALFORMED,
			   "REVOKE not signed by the sender for this loop");
	if (rv.at > (uint64_t)now_s(r->x) + SKEW)
		return why(r, SCB_E_MALFORMED, "REVOKE dated ahead");
	rc = store_member_get(r->x->store, lid, rv.device, &t);
	if (rc || t.pending)
		return why(r, SCB_E_NO_DEVICE, "no such member");
	rc = store_member_revoke(r->x->store, lid, rv.device, rec);
	if (rc)
		return rc;
	scbh_logf(r->x, LOG_NOTICE, "loop %s: member %s revoked by %s", l.name,
		  t.name, me.name);
	tell_revoked(r->x, lid, rv.device, SCB_E_REMOVED, rec);
	return finish_reply(r);
}

static int state_reason(int state)
{
	return state == SCB_DEV_SUSPENDED ? SCB_E_SUSPENDED :
	       state == SCB_DEV_STOLEN ? SCB_E_STOLEN : SCB_E_REMOVED;
}

static int h_device_set(struct req *r)
{
	const uint8_t *dev = fixed(r->f, SCB_A_DEVICE, 32);
	int state = scbw_u8(scbw_get(r->f, SCB_A_STATE)), rc;
	struct store_device d;
	struct loops ls = { 0 };
	struct scbh_peer *on;
	struct scbw_buf ev;
	uint32_t n = 0;

	if (!dev || state < SCB_DEV_ACTIVE || state > SCB_DEV_REMOVED)
		return why(r, SCB_E_MALFORMED, "bad DEVICE or STATE");
	rc = store_device_get(r->x->store, dev, &d);
	if (!rc)
		rc = store_device_set_state(r->x->store, dev, state);
	if (rc)
		return rc;
	scbh_logf(r->x, LOG_NOTICE, "device %s: state %d -> %d", d.name,
		  d.state, state);
	if (state == SCB_DEV_ACTIVE)
		return finish_reply(r);
	rc = store_loops_of(r->x->store, dev, loops_cb, &ls);
	for (size_t i = 0; !rc && i < ls.n; i++, n++)
		rc = revoke_one(r->x, ls.v[i].loop_id, dev,
				state_reason(state));
	free(ls.v);
	/* Every connection of the device: one per loop it serves. */
	while ((on = scbh_find(r->x, dev))) {
		if (state == SCB_DEV_STOLEN) {
			scbw_start(&ev, r->x->buf2, sizeof(r->x->buf2),
				   SCB_MSG_EV_WIPE, 0);
			scbw_put_u16(&ev, SCB_A_REASON, SCB_E_STOLEN);
			send_frame(r->x, on, &ev);
		}
		unlink_peer(r->x, on);
		if (r->x->ops.kick)
			r->x->ops.kick(r->x, on);
	}
	if (rc)
		return rc;
	scbw_put_u32(&r->b, SCB_A_COUNT, n);
	return finish_reply(r);
}

static int adm_loop_cb(void *ctx, const struct store_loop *l)
{
	struct scbw_buf *b = ctx;

	put_loop(b, l, NULL, NULL);
	return b->overflow;
}

static int h_loop_list(struct req *r)
{
	int rc = store_loop_list(r->x->store, adm_loop_cb, &r->b);

	return rc && !r->b.overflow ? rc : finish_reply(r);
}

static int invites_cb(void *ctx, const struct store_invite *i)
{
	struct scbw_buf *b = ctx;

	scbw_nest_start(b, SCB_A_INVITE_ENTRY);
	scbw_put(b, SCB_A_LOOP_ID, i->loop_id, 32);
	scbw_put_u64(b, SCB_A_EXPIRES, (uint64_t)i->expires);
	scbw_put(b, SCB_A_DEVICE, i->creator, 32);
	scbw_nest_end(b);
	return b->overflow;
}

static int h_loop_show(struct req *r)
{
	const uint8_t *lid = fixed(r->f, SCB_A_LOOP_ID, 32);
	struct peers_ctx pc = { r->x, &r->b, lid, false };
	struct store_loop l;
	int rc;

	if (!lid)
		return why(r, SCB_E_MALFORMED, "bad LOOP_ID");
	rc = store_loop_get(r->x->store, lid, &l);
	if (rc)
		return rc;
	put_loop(&r->b, &l, NULL, NULL);
	rc = store_member_list(r->x->store, lid, true, peers_cb, &pc);
	if (!rc)
		rc = store_invite_list(r->x->store, lid, now_s(r->x),
				       invites_cb, &r->b);
	if (!rc)
		rc = store_revoke_list(r->x->store, lid, revokes_cb, &r->b);
	return rc && !r->b.overflow ? rc : finish_reply(r);
}

static int h_revoke(struct req *r)
{
	const uint8_t *lid = fixed(r->f, SCB_A_LOOP_ID, 32);
	const uint8_t *dev = fixed(r->f, SCB_A_DEVICE, 32);
	struct store_member t;
	struct scbw_buf ev;
	int rc;

	if (!lid || !dev)
		return why(r, SCB_E_MALFORMED, "bad LOOP_ID or DEVICE");
	rc = store_member_get(r->x->store, lid, dev, &t);
	if (rc)
		return rc;
	if (t.pending) {
		rc = store_reject(r->x->store, lid, dev);
		if (rc)
			return rc;
		scbw_start(&ev, r->x->buf2, sizeof(r->x->buf2),
			   SCB_MSG_EV_REJECTED, 0);
		scbw_put(&ev, SCB_A_LOOP_ID, lid, 32);
		tell_one(r->x, dev, lid, &ev);
	} else {
		rc = revoke_one(r->x, lid, dev, SCB_E_REMOVED);
	}
	return rc ? rc : finish_reply(r);
}

/* ------------------------------------------------------------ dispatch */

#define NEED(...) { __VA_ARGS__, 0 }

static const struct hdef {
	uint8_t msg;
	unsigned int flags;
	int (*fn)(struct req *r);
	uint16_t need[5];
} defs[] = {
	{ SCB_MSG_REGISTER, R_DEV, h_register,
	  NEED(SCB_A_USER, SCB_A_PASSWORD, SCB_A_NAME) },
	{ SCB_MSG_LOOP_CREATE, R_DEV | R_REG, h_loop_create,
	  NEED(SCB_A_LOOP_NAME, SCB_A_POLICY) },
	{ SCB_MSG_INVITE_CREATE, R_DEV | R_REG, h_invite_create,
	  NEED(SCB_A_LOOP_ID, SCB_A_TTL) },
	{ SCB_MSG_JOIN, R_DEV | R_REG, h_join, NEED(SCB_A_INVITE) },
	{ SCB_MSG_APPROVE, R_DEV | R_REG, h_approve,
	  NEED(SCB_A_LOOP_ID, SCB_A_DEVICE, SCB_A_CRED) },
	{ SCB_MSG_REJECT, R_DEV | R_REG, h_reject,
	  NEED(SCB_A_LOOP_ID, SCB_A_DEVICE) },
	{ SCB_MSG_LOOP_GET, R_DEV | R_REG, h_loop_get, NEED(SCB_A_LOOP_ID) },
	{ SCB_MSG_CONNECT, R_DEV | R_REG, h_connect,
	  NEED(SCB_A_LOOP_ID, SCB_A_DEVICE) },
	{ SCB_MSG_CONNECT_ANSWER, R_DEV | R_REG, h_connect_answer,
	  NEED(SCB_A_LOOP_ID, SCB_A_DEVICE, SCB_A_ACCEPT) },
	{ SCB_MSG_RENEW, R_DEV | R_REG, h_renew, NEED(SCB_A_LOOP_ID) },
	{ SCB_MSG_RENEW_ANSWER, R_DEV | R_REG, h_renew_answer,
	  NEED(SCB_A_LOOP_ID, SCB_A_DEVICE, SCB_A_CRED) },
	{ SCB_MSG_LOOPS, R_DEV | R_REG, h_loops, { 0 } },
	{ SCB_MSG_REVOKE, R_DEV | R_REG, h_member_revoke,
	  NEED(SCB_A_LOOP_ID, SCB_A_REVOKE) },
	{ SCB_MSG_ADM_USER_ADD, R_ADM, h_user_add,
	  NEED(SCB_A_USER, SCB_A_PASSWORD) },
	{ SCB_MSG_ADM_USER_SET, R_ADM, h_user_set,
	  NEED(SCB_A_USER, SCB_A_LIMIT) },
	{ SCB_MSG_ADM_USER_LIST, R_ADM, h_user_list, { 0 } },
	{ SCB_MSG_ADM_DEVICE_LIST, R_ADM, h_device_list, { 0 } },
	{ SCB_MSG_ADM_DEVICE_SET, R_ADM, h_device_set,
	  NEED(SCB_A_DEVICE, SCB_A_STATE) },
	{ SCB_MSG_ADM_LOOP_LIST, R_ADM, h_loop_list, { 0 } },
	{ SCB_MSG_ADM_LOOP_SHOW, R_ADM, h_loop_show, NEED(SCB_A_LOOP_ID) },
	{ SCB_MSG_ADM_REVOKE, R_ADM, h_revoke,
	  NEED(SCB_A_LOOP_ID, SCB_A_DEVICE) },
};

static const struct hdef *find_def(int type)
{
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		if (defs[i].msg == type)
			return &defs[i];
	return NULL;
}

static int admit(struct req *r, const struct hdef *d)
{
	unsigned int role = r->p->role == SCB_ROLE_ADMIN ? R_ADM : R_DEV;

	if (!d)
		return why(r, SCB_E_UNKNOWN_MSG, "not a request");
	if (!(d->flags & role))
		return why(r, SCB_E_NOT_ADMIN, d->flags & R_ADM ?
			   "admin request on a device connection" :
			   "device request on an admin connection");
	if (r->f->id == 0)
		return why(r, SCB_E_MALFORMED, "request id 0");
	if ((d->flags & R_REG) && !r->p->registered)
		return why(r, SCB_E_NOT_REGISTERED, "device not registered");
	return scbw_require(r->f, d->need, r->why, sizeof(r->why));
}

void scbh_frame(struct scbh_ctx *x, struct scbh_peer *p,
		const uint8_t *frame, size_t len)
{
	struct scbw_frame *f = malloc(sizeof(*f));
	struct req r = { .x = x, .p = p, .f = f };
	uint32_t id = 0;
	int type = len > 1 ? frame[1] : 0, rc;

	x->st.requests++;
	if (len >= SCB_FRAME_HDR_LEN)
		id = (uint32_t)frame[4] << 24 | (uint32_t)frame[5] << 16 |
		     (uint32_t)frame[6] << 8 | frame[7];
	if (!f) {
		rc = why(&r, SCB_E_BUSY, "out of memory");
	} else {
		rc = scbw_parse(f, frame, len, r.why, sizeof(r.why));
		if (rc)
			x->st.malformed++;
		else
			rc = admit(&r, find_def(f->type));
		if (!rc) {
			scbw_start(&r.b, x->buf, sizeof(x->buf), SCB_MSG_OK,
				   f->id);
			rc = find_def(f->type)->fn(&r);
		}
	}
	if (rc == 0)
		send_frame(x, p, &r.b);
	else if (rc != SCBH_DEFERRED) {
		if (!r.why[0])
			snprintf(r.why, sizeof(r.why), "%s",
				 scbw_strerror(rc));
		refused(x, p, type, rc, r.why);
		send_error(x, p, id, rc, r.why);
	}
	free(f);
}

/* ------------------------------------------------------------ lifecycle */

bool scbh_gone(struct scbh_ctx *x, struct scbh_peer *p)
{
	struct scbh_pending **pp = &x->pending, *pd;
	unlink_peer(x, p);
	p->gone = true;
	while ((pd = *pp)) {
		if (pd->asker == p) {
			*pp = pd->next;
			free(pd);
		} else if (pd->target_conn == p) {
			*pp = pd->next;
			send_error(x, pd->asker, pd->id, SCB_E_OFFLINE,
				   "the member went offline");
			free(pd);
		} else {
			pp = &pd->next;
		}
	}
	return p->jobs == 0;
}

int scbh_probe(struct scbh_ctx *x, const uint8_t *pkt, size_t len,
	       const uint8_t src[18], uint8_t out[SCB_PROBE_ANSWER_LEN])
{
	struct scbh_peer *p;

	if (len != SCB_PROBE_LEN || memcmp(pkt, SCB_PROBE_MAGIC, 4))
		return -1;
	p = find_token(x, pkt + 4);
	if (!p)
		return -1;
	memcpy(p->endpoint, src, 18);
	p->has_endpoint = true;
	memcpy(out, SCB_PROBE_ANSWER_MAGIC, 4);
	memcpy(out + 4, pkt + 4, 16);
	memcpy(out + 20, src, 18);
	return SCB_PROBE_ANSWER_LEN;
}
