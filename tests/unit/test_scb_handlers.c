// SPDX-License-Identifier: MIT
/*
 * The broker's handler layer without sockets: peers are structs whose
 * outgoing frames are collected, the store is a real SQLite file in a
 * temporary directory, and Argon2id runs inline at its minimum cost.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cred.h"
#include "../../daemon/scb/handlers.h"
#include "../../daemon/scb/scbopts.h"
#include "noise.h"
#include "scbwire.h"
#include "../../daemon/scb/store.h"
#include "unit.h"

#define TQ 64

struct tpeer {
	struct scbh_peer p;		/* first: ops get &tp->p */
	uint8_t sk[64], pk[32];
	uint8_t *q[TQ];			/* frames sent to this peer */
	size_t qlen[TQ];
	int n;
	bool kicked;
	uint32_t next_id;
	uint64_t tai_sec;
};

struct tenv {
	char dir[64], path[96];
	struct store *st;
	struct scbh_ctx *x;
	uint8_t bsk[64], bpk[32];
};

static int t_send(struct scbh_ctx *x, struct scbh_peer *p,
		  const uint8_t *frame, size_t len)
{
	struct tpeer *tp = (struct tpeer *)p;

	(void)x;
	if (tp->n == TQ)
		return -1;
	tp->q[tp->n] = malloc(len);
	memcpy(tp->q[tp->n], frame, len);
	tp->qlen[tp->n++] = len;
	return 0;
}

static void t_kick(struct scbh_ctx *x, struct scbh_peer *p)
{
	(void)x;
	((struct tpeer *)p)->kicked = true;
}

static int tenv_open(struct tenv *e)
{
	static const uint8_t ula[6] = { 0xfd, 1, 2, 3, 4, 5 };

	memset(e, 0, sizeof(*e));
	if (noise_init())
		return -1;
	strcpy(e->dir, "/tmp/scbh-test-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	snprintf(e->path, sizeof(e->path), "%s/scb.db", e->dir);
	if (store_open(&e->st, e->path, ula, NULL, NULL, NULL))
		return -1;
	crypto_sign_keypair(e->bpk, e->bsk);
	e->x = calloc(1, sizeof(*e->x));
	if (!e->x || scbh_init(e->x, e->st, e->bsk))
		return -1;
	e->x->ops.send = t_send;
	e->x->ops.kick = t_kick;
	e->x->pw_ops = crypto_pwhash_OPSLIMIT_MIN;
	e->x->pw_mem = crypto_pwhash_MEMLIMIT_MIN;
	return 0;
}

static void tp_clear(struct tpeer *tp)
{
	for (int i = 0; i < tp->n; i++)
		free(tp->q[i]);
	tp->n = 0;
}

static void tp_free(struct tenv *e, struct tpeer *tp)
{
	if (tp->p.listed)
		scbh_gone(e->x, &tp->p);
	tp_clear(tp);
	free(tp);
}

static void tenv_close(struct tenv *e)
{
	char p[128];

	scbh_destroy(e->x);
	free(e->x);
	store_close(e->st);
	snprintf(p, sizeof(p), "%s-wal", e->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", e->path);
	unlink(p);
	unlink(e->path);
	rmdir(e->dir);
}

static void add_user(struct tenv *e, const char *name, const char *pw,
		     uint32_t limit)
{
	char h[crypto_pwhash_STRBYTES];

	if (!crypto_pwhash_str(h, pw, strlen(pw), crypto_pwhash_OPSLIMIT_MIN,
			       crypto_pwhash_MEMLIMIT_MIN))
		store_user_add(e->st, name, h, limit);
}

static void tai_of(uint8_t out[12], uint64_t sec)
{
	uint64_t v = 0x400000000000000aULL + sec;

	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (56 - 8 * i));
	memset(out + 8, 0, 4);
}

/* HELLO with a given stamp; returns scbh_hello's verdict. */
static int hello_at(struct tenv *e, struct tpeer *tp, int role, uint64_t sec,
		    uint8_t *out, size_t *olen)
{
	uint8_t f[256], xpub[32], tai[12];
	struct scbw_buf b;

	tai_of(tai, sec);
	if (crypto_sign_ed25519_pk_to_curve25519(xpub, tp->pk))
		return -1;
	scbw_start(&b, f, sizeof(f), SCB_MSG_HELLO, 0);
	scbw_put_u8(&b, SCB_A_ROLE, (uint8_t)role);
	scbw_put(&b, SCB_A_PUB, tp->pk, 32);
	scbw_put(&b, SCB_A_TAI64N, tai, 12);
	return scbh_hello(e->x, &tp->p, xpub, f, scbw_end(&b), out, 4096,
			  olen);
}

/* Another connection of tp's device, serving one loop (HELLO LOOP_NAME). */
static struct tpeer *peer_scoped(struct tenv *e, const struct tpeer *tp,
				 const char *scope, uint64_t sec)
{
	struct tpeer *n = calloc(1, sizeof(*n));
	uint8_t f[256], xpub[32], tai[12], out[4096];
	struct scbw_buf b;
	size_t olen;

	memcpy(n->pk, tp->pk, 32);
	memcpy(n->sk, tp->sk, 64);
	n->next_id = 1;
	n->tai_sec = sec;
	tai_of(tai, sec);
	if (crypto_sign_ed25519_pk_to_curve25519(xpub, n->pk)) {
		free(n);
		return NULL;
	}
	scbw_start(&b, f, sizeof(f), SCB_MSG_HELLO, 0);
	scbw_put_u8(&b, SCB_A_ROLE, SCB_ROLE_DEVICE);
	scbw_put(&b, SCB_A_PUB, n->pk, 32);
	scbw_put(&b, SCB_A_TAI64N, tai, 12);
	scbw_put_str(&b, SCB_A_LOOP_NAME, scope);
	if (scbh_hello(e->x, &n->p, xpub, f, scbw_end(&b), out, sizeof(out),
		       &olen)) {
		free(n);
		return NULL;
	}
	return n;
}

static struct tpeer *peer_new(struct tenv *e, int role)
{
	struct tpeer *tp = calloc(1, sizeof(*tp));
	uint8_t out[4096];
	size_t olen;

	crypto_sign_keypair(tp->pk, tp->sk);
	tp->next_id = 1;
	tp->tai_sec = 1700000000;
	if (role == SCB_ROLE_ADMIN) {
		memcpy(e->x->admins[e->x->n_admins++], tp->pk, 32);
	}
	if (hello_at(e, tp, role, tp->tai_sec, out, &olen)) {
		free(tp);
		return NULL;
	}
	return tp;
}

/* The newest frame sent to tp, parsed into f (static storage). */
static struct scbw_frame *last(struct tpeer *tp)
{
	static struct scbw_frame f;
	char why[128];

	if (!tp->n || scbw_parse(&f, tp->q[tp->n - 1], tp->qlen[tp->n - 1],
				 why, sizeof(why)))
		return NULL;
	return &f;
}

/* The frame answering request id, or NULL. */
static struct scbw_frame *reply_to(struct tpeer *tp, uint32_t id)
{
	static struct scbw_frame f;
	char why[128];

	for (int i = tp->n - 1; i >= 0; i--)
		if (!scbw_parse(&f, tp->q[i], tp->qlen[i], why, sizeof(why)) &&
		    f.id == id && (f.type == SCB_MSG_OK ||
				   f.type == SCB_MSG_ERROR))
			return &f;
	return NULL;
}

static bool got_event(struct tpeer *tp, int type)
{
	struct scbw_frame f;
	char why[128];

	for (int i = 0; i < tp->n; i++)
		if (!scbw_parse(&f, tp->q[i], tp->qlen[i], why, sizeof(why)) &&
		    f.type == type)
			return true;
	return false;
}

static int code_of(const struct scbw_frame *f)
{
	if (!f)
		return -1;
	if (f->type == SCB_MSG_OK)
		return 0;
	return scbw_u16(scbw_get(f, SCB_A_CODE));
}

/* Send the built frame b as request and return the answer code. */
static int send_req(struct tenv *e, struct tpeer *tp, struct scbw_buf *b,
		    struct scbw_frame **rep)
{
	uint32_t id = tp->next_id - 1;
	struct scbw_frame *f;

	scbh_frame(e->x, &tp->p, b->p, scbw_end(b));
	f = reply_to(tp, id);
	if (rep)
		*rep = f;
	return code_of(f);
}

static void start(struct tpeer *tp, struct scbw_buf *b, uint8_t *buf,
		  size_t cap, int type)
{
	scbw_start(b, buf, cap, (uint8_t)type, tp->next_id++);
}

static int do_register(struct tenv *e, struct tpeer *tp, const char *user,
		       const char *pw, const char *name)
{
	uint8_t buf[512];
	struct scbw_buf b;

	start(tp, &b, buf, sizeof(buf), SCB_MSG_REGISTER);
	scbw_put_str(&b, SCB_A_USER, user);
	scbw_put_str(&b, SCB_A_PASSWORD, pw);
	scbw_put_str(&b, SCB_A_NAME, name);
	return send_req(e, tp, &b, NULL);
}

/* A founded loop: LOOP_CREATE plus the founder's self-signed root. */
struct tloop {
	uint8_t id[32];
	uint8_t addr4[4], addr6[16];
	int policy;
};

static void loop_addrs(const struct scbw_frame *f, struct tloop *l)
{
	struct scbw_frame in;
	char why[128];
	const struct scbw_attr *a = scbw_get(f, SCB_A_LOOP);

	if (!a || scbw_parse_nested(a, &in, why, sizeof(why)))
		return;
	memcpy(l->id, scbw_get(&in, SCB_A_LOOP_ID)->val, 32);
	l->policy = scbw_u8(scbw_get(&in, SCB_A_POLICY));
	if (scbw_get(&in, SCB_A_ADDR4)) {
		memcpy(l->addr4, scbw_get(&in, SCB_A_ADDR4)->val, 4);
		memcpy(l->addr6, scbw_get(&in, SCB_A_ADDR6)->val, 16);
	}
}

static uint64_t cred_life = 3000;	/* of what make_cred signs */

static void make_cred(uint8_t out[CRED_LEN], const struct tloop *l,
		      const uint8_t dev[32], const uint8_t a4[4],
		      const uint8_t a6[16], const uint8_t signer_sk[64])
{
	struct cred c;
	uint64_t now = (uint64_t)time(NULL);

	memset(&c, 0, sizeof(c));
	c.policy = (uint8_t)l->policy;
	memcpy(c.loop_id, l->id, 32);
	memcpy(c.device, dev, 32);
	memcpy(c.addr4, a4, 4);
	memcpy(c.addr6, a6, 16);
	c.not_before = now - 10;
	c.not_after = now + cred_life;
	cred_sign(&c, signer_sk);
	cred_encode(&c, out);
}

static int found(struct tenv *e, struct tpeer *tp, const char *name,
		 struct tloop *l)
{
	uint8_t buf[1024], cr[CRED_LEN];
	struct scbw_buf b;
	struct scbw_frame *rep;
	int rc;

	start(tp, &b, buf, sizeof(buf), SCB_MSG_LOOP_CREATE);
	scbw_put_str(&b, SCB_A_LOOP_NAME, name);
	scbw_put_u8(&b, SCB_A_POLICY, 1);
	rc = send_req(e, tp, &b, &rep);
	if (rc)
		return rc;
	memset(l, 0, sizeof(*l));
	loop_addrs(rep, l);
	make_cred(cr, l, tp->pk, l->addr4, l->addr6, tp->sk);
	start(tp, &b, buf, sizeof(buf), SCB_MSG_RENEW_ANSWER);
	scbw_put(&b, SCB_A_LOOP_ID, l->id, 32);
	scbw_put(&b, SCB_A_DEVICE, tp->pk, 32);
	scbw_put(&b, SCB_A_CRED, cr, CRED_LEN);
	return send_req(e, tp, &b, NULL);
}

static int invite(struct tenv *e, struct tpeer *tp, const struct tloop *l,
		  char *code, size_t cap)
{
	uint8_t buf[256];
	struct scbw_buf b;
	struct scbw_frame *rep;
	int rc;

	start(tp, &b, buf, sizeof(buf), SCB_MSG_INVITE_CREATE);
	scbw_put(&b, SCB_A_LOOP_ID, l->id, 32);
	scbw_put_u32(&b, SCB_A_TTL, 600);
	rc = send_req(e, tp, &b, &rep);
	if (!rc && !scbw_str(scbw_get(rep, SCB_A_INVITE), code, cap))
		return -1;
	return rc;
}

static int join(struct tenv *e, struct tpeer *tp, const char *code,
		uint8_t a4[4], uint8_t a6[16])
{
	uint8_t buf[256];
	struct scbw_buf b;
	struct scbw_frame *rep;
	int rc;

	start(tp, &b, buf, sizeof(buf), SCB_MSG_JOIN);
	scbw_put_str(&b, SCB_A_INVITE, code);
	rc = send_req(e, tp, &b, &rep);
	if (!rc && a4) {
		memcpy(a4, scbw_get(rep, SCB_A_ADDR4)->val, 4);
		memcpy(a6, scbw_get(rep, SCB_A_ADDR6)->val, 16);
	}
	return rc;
}

static int approve(struct tenv *e, struct tpeer *tp, const struct tloop *l,
		   const uint8_t dev[32], const uint8_t cr[CRED_LEN])
{
	uint8_t buf[512];
	struct scbw_buf b;

	start(tp, &b, buf, sizeof(buf), SCB_MSG_APPROVE);
	scbw_put(&b, SCB_A_LOOP_ID, l->id, 32);
	scbw_put(&b, SCB_A_DEVICE, dev, 32);
	scbw_put(&b, SCB_A_CRED, cr, CRED_LEN);
	return send_req(e, tp, &b, NULL);
}

/* D joins L with M's invitation and M approves it with its credential. */
static void member_of_loop(struct tenv *e, struct tpeer *m, struct tpeer *d,
			   const struct tloop *l)
{
	char code[64];
	uint8_t a4[4], a6[16], cr[CRED_LEN];

	CHECK_EQ_INT(invite(e, m, l, code, sizeof(code)), 0);
	CHECK_EQ_INT(join(e, d, code, a4, a6), 0);
	make_cred(cr, l, d->pk, a4, a6, m->sk);
	CHECK_EQ_INT(approve(e, m, l, d->pk, cr), 0);
}

static int loop_get(struct tenv *e, struct tpeer *tp, const uint8_t id[32],
		    struct scbw_frame **rep)
{
	uint8_t buf[128];
	struct scbw_buf b;

	start(tp, &b, buf, sizeof(buf), SCB_MSG_LOOP_GET);
	scbw_put(&b, SCB_A_LOOP_ID, id, 32);
	return send_req(e, tp, &b, rep);
}

static int count_attr(const struct scbw_frame *f, int type)
{
	int n = 0;

	for (const struct scbw_attr *a = scbw_get(f, (uint16_t)type); a;
	     a = scbw_next(f, a))
		n++;
	return n;
}

static struct tpeer *registered(struct tenv *e, const char *name)
{
	struct tpeer *tp = peer_new(e, SCB_ROLE_DEVICE);

	if (tp && do_register(e, tp, "alice", "secret", name)) {
		tp_free(e, tp);
		return NULL;
	}
	return tp;
}

/* ------------------------------------------------------------ tests */

TEST(scbh_register_password_and_limit)
{
	struct tenv e;
	struct tpeer *a, *b, *c;

	CHECK_EQ_INT(tenv_open(&e), 0);
	add_user(&e, "alice", "secret", 2);
	a = peer_new(&e, SCB_ROLE_DEVICE);
	b = peer_new(&e, SCB_ROLE_DEVICE);
	c = peer_new(&e, SCB_ROLE_DEVICE);
	CHECK(a && b && c);
	CHECK_EQ_INT(do_register(&e, a, "alice", "wrong", "a"), SCB_E_AUTH);
	CHECK_EQ_INT(do_register(&e, a, "nobody", "secret", "a"), SCB_E_AUTH);
	CHECK(!a->p.registered);
	CHECK_EQ_INT(do_register(&e, a, "alice", "secret", "a"), 0);
	CHECK(a->p.registered);
	CHECK_EQ_INT(do_register(&e, b, "alice", "secret", "b"), 0);
	CHECK_EQ_INT(do_register(&e, c, "alice", "secret", "c"),
		     SCB_E_DEVICE_LIMIT);
	CHECK(!c->p.registered);
	tp_free(&e, a);
	tp_free(&e, b);
	tp_free(&e, c);
	tenv_close(&e);
}

TEST(scbh_hello_replay_and_key_binding)
{
	struct tenv e;
	struct tpeer *a;
	uint8_t out[4096], xpub[32], f[256], tai[12];
	size_t olen;
	struct scbw_buf b;
	char why[128];
	static struct scbw_frame pf;

	CHECK_EQ_INT(tenv_open(&e), 0);
	add_user(&e, "alice", "secret", 5);
	a = registered(&e, "a");
	CHECK(a);
	/* A registered key: the stamp is checked against the store. */
	scbh_gone(e.x, &a->p);
	CHECK_EQ_INT(hello_at(&e, a, SCB_ROLE_DEVICE, a->tai_sec, out, &olen),
		     SCB_E_REPLAY);
	CHECK_EQ_INT(scbw_parse(&pf, out, olen, why, sizeof(why)), 0);
	CHECK_EQ_INT(pf.type, SCB_MSG_ERROR);
	CHECK_EQ_INT(scbw_u16(scbw_get(&pf, SCB_A_CODE)), SCB_E_REPLAY);
	CHECK_EQ_INT(hello_at(&e, a, SCB_ROLE_DEVICE, a->tai_sec + 1, out,
			      &olen), 0);
	CHECK_EQ_INT(scbw_parse(&pf, out, olen, why, sizeof(why)), 0);
	CHECK_EQ_INT(pf.type, SCB_MSG_WELCOME);
	CHECK(scbw_get(&pf, SCB_A_TOKEN));
	/* An unregistered key: the broker's memory. */
	{
		struct tpeer *u = peer_new(&e, SCB_ROLE_DEVICE);

		CHECK(u);
		scbh_gone(e.x, &u->p);
		CHECK_EQ_INT(hello_at(&e, u, SCB_ROLE_DEVICE, u->tai_sec, out,
				      &olen), SCB_E_REPLAY);
		tp_free(&e, u);
	}
	/* PUB must be the key Noise authenticated. */
	CHECK_EQ_INT(crypto_sign_ed25519_pk_to_curve25519(xpub, e.bpk), 0);
	tai_of(tai, 1800000000);
	scbw_start(&b, f, sizeof(f), SCB_MSG_HELLO, 0);
	scbw_put_u8(&b, SCB_A_ROLE, SCB_ROLE_DEVICE);
	scbw_put(&b, SCB_A_PUB, a->pk, 32);
	scbw_put(&b, SCB_A_TAI64N, tai, 12);
	CHECK_EQ_INT(scbh_hello(e.x, &a->p, xpub, f, scbw_end(&b), out,
				sizeof(out), &olen), SCB_E_AUTH);
	/* A device key claiming the admin role. */
	CHECK_EQ_INT(hello_at(&e, a, SCB_ROLE_ADMIN, a->tai_sec + 5, out,
			      &olen), SCB_E_NOT_ADMIN);
	tp_free(&e, a);
	tenv_close(&e);
}

TEST(scbh_hostile_frames_b400_state_unchanged)
{
	struct tenv e;
	struct tpeer *a;
	struct tloop l;
	uint8_t buf[512], junk[64];
	struct scbw_buf b;
	size_t full;
	uint32_t u0, d0, l0, u1, d1, l1;
	int errs = 0;
	struct scbw_frame *rep;

	CHECK_EQ_INT(tenv_open(&e), 0);
	add_user(&e, "alice", "secret", 5);
	a = registered(&e, "a");
	CHECK(a);
	CHECK_EQ_INT(found(&e, a, "home", &l), 0);
	CHECK_EQ_INT(store_count(e.st, &u0, &d0, &l0), 0);
	/* Every truncation of a valid INVITE_CREATE. */
	start(a, &b, buf, sizeof(buf), SCB_MSG_INVITE_CREATE);
	scbw_put(&b, SCB_A_LOOP_ID, l.id, 32);
	scbw_put_u32(&b, SCB_A_TTL, 600);
	full = scbw_end(&b);
	for (size_t len = 0; len < full; len++) {
		tp_clear(a);
		scbh_frame(e.x, &a->p, buf, len);
		CHECK_EQ_INT(a->n, 1);
		CHECK_EQ_INT(last(a)->type, SCB_MSG_ERROR);
		CHECK_EQ_INT(code_of(last(a)), SCB_E_MALFORMED);
		CHECK(scbw_get(last(a), SCB_A_TEXT));
		errs++;
	}
	/* Header damage, attribute damage, random junk. */
	buf[0] = 2;		/* version */
	scbh_frame(e.x, &a->p, buf, full);
	CHECK_EQ_INT(code_of(last(a)), SCB_E_VERSION);
	buf[0] = 1;
	buf[2] = 1;		/* flags */
	scbh_frame(e.x, &a->p, buf, full);
	CHECK_EQ_INT(code_of(last(a)), SCB_E_MALFORMED);
	buf[2] = 0;
	buf[9] = 0xee;		/* unknown attribute type */
	scbh_frame(e.x, &a->p, buf, full);
	CHECK_EQ_INT(code_of(last(a)), SCB_E_MALFORMED);
	buf[9] = SCB_A_LOOP_ID;
	buf[11] = 31;		/* fixed-size attribute too short */
	scbh_frame(e.x, &a->p, buf, full);
	CHECK_EQ_INT(code_of(last(a)), SCB_E_MALFORMED);
	for (int i = 0; i < 200; i++) {
		randombytes_buf(junk, sizeof(junk));
		junk[0] = 1;
		tp_clear(a);
		scbh_frame(e.x, &a->p, junk, 8 + (size_t)(i % 56));
		CHECK_EQ_INT(a->n, 1);
		CHECK(code_of(last(a)) != 0);
	}
	/* Nothing changed, and the connection still works. */
	CHECK_EQ_INT(store_count(e.st, &u1, &d1, &l1), 0);
	CHECK(u0 == u1 && d0 == d1 && l0 == l1);
	CHECK_EQ_INT(loop_get(&e, a, l.id, &rep), 0);
	CHECK_EQ_INT(count_attr(rep, SCB_A_PEER), 1);
	CHECK(errs > 10);
	tp_free(&e, a);
	tenv_close(&e);
}

static int count_cb(void *ctx, const struct store_invite *i)
{
	(void)i;
	(*(int *)ctx)++;
	return 0;
}

TEST(scbh_truncated_frames_create_no_invite)
{
	struct tenv e;
	struct tpeer *a;
	struct tloop l;
	uint8_t buf[512];
	struct scbw_buf b;
	size_t full;
	int n = 0;

	CHECK_EQ_INT(tenv_open(&e), 0);
	add_user(&e, "alice", "secret", 5);
	a = registered(&e, "a");
	CHECK(a);
	CHECK_EQ_INT(found(&e, a, "home", &l), 0);
	start(a, &b, buf, sizeof(buf), SCB_MSG_INVITE_CREATE);
	scbw_put(&b, SCB_A_LOOP_ID, l.id, 32);
	scbw_put_u32(&b, SCB_A_TTL, 600);
	full = scbw_end(&b);
	for (size_t len = 0; len < full; len++)
		scbh_frame(e.x, &a->p, buf, len);
	CHECK_EQ_INT(store_invite_list(e.st, l.id, time(NULL), count_cb, &n),
		     0);
	CHECK_EQ_INT(n, 0);
	scbh_frame(e.x, &a->p, buf, full);
	CHECK_EQ_INT(code_of(last(a)), 0);
	CHECK_EQ_INT(store_invite_list(e.st, l.id, time(NULL), count_cb, &n),
		     0);
	CHECK_EQ_INT(n, 1);
	tp_free(&e, a);
	tenv_close(&e);
}

TEST(scbh_admin_request_on_device_b411)
{
	struct tenv e;
	struct tpeer *a, *adm;
	uint8_t buf[128];
	struct scbw_buf b;
	struct scbw_frame *rep;

	CHECK_EQ_INT(tenv_open(&e), 0);
	add_user(&e, "alice", "secret", 5);
	a = registered(&e, "a");
	adm = peer_new(&e, SCB_ROLE_ADMIN);
	CHECK(a && adm);
	start(a, &b, buf, sizeof(buf), SCB_MSG_ADM_USER_LIST);
	CHECK_EQ_INT(send_req(&e, a, &b, NULL), SCB_E_NOT_ADMIN);
	start(a, &b, buf, sizeof(buf), SCB_MSG_ADM_DEVICE_SET);
	scbw_put(&b, SCB_A_DEVICE, a->pk, 32);
	scbw_put_u8(&b, SCB_A_STATE, SCB_DEV_REMOVED);
	CHECK_EQ_INT(send_req(&e, a, &b, NULL), SCB_E_NOT_ADMIN);
	CHECK(!a->kicked);
	/* The same on an admin connection works. */
	start(adm, &b, buf, sizeof(buf), SCB_MSG_ADM_USER_LIST);
	CHECK_EQ_INT(send_req(&e, adm, &b, &rep), 0);
	CHECK_EQ_INT(count_attr(rep, SCB_A_USER_ENTRY), 1);
	start(adm, &b, buf, sizeof(buf), SCB_MSG_ADM_USER_ADD);
	scbw_put_str(&b, SCB_A_USER, "bob");
	scbw_put_str(&b, SCB_A_PASSWORD, "pw");
	CHECK_EQ_INT(send_req(&e, adm, &b, NULL), 0);
	start(adm, &b, buf, sizeof(buf), SCB_MSG_ADM_USER_LIST);
	CHECK_EQ_INT(send_req(&e, adm, &b, &rep), 0);
	CHECK_EQ_INT(count_attr(rep, SCB_A_USER_ENTRY), 2);
	/* A device request on the admin connection is refused too. */
	start(adm, &b, buf, sizeof(buf), SCB_MSG_LOOPS);
	CHECK_EQ_INT(send_req(&e, adm, &b, NULL), SCB_E_NOT_ADMIN);
	tp_free(&e, a);
	tp_free(&e, adm);
	tenv_close(&e);
}

TEST(scbh_waiting_room_b413)
{
	struct tenv e;
	struct tpeer *a, *w;
	struct tloop l;
	uint8_t buf[256], rnd[32];
	struct scbw_buf b;

	CHECK_EQ_INT(tenv_open(&e), 0);
	add_user(&e, "alice", "secret", 5);
	a = registered(&e, "a");
	w = registered(&e, "w");
	CHECK(a && w);
	CHECK_EQ_INT(found(&e, a, "home", &l), 0);
	randombytes_buf(rnd, sizeof(rnd));
	CHECK_EQ_INT(loop_get(&e, w, rnd, NULL), SCB_E_NOT_MEMBER);
	CHECK_EQ_INT(loop_get(&e, w, l.id, NULL), SCB_E_NOT_MEMBER);
	start(w, &b, buf, sizeof(buf), SCB_MSG_CONNECT);
	scbw_put(&b, SCB_A_LOOP_ID, l.id, 32);
	scbw_put(&b, SCB_A_DEVICE, a->pk, 32);
	CHECK_EQ_INT(send_req(&e, w, &b, NULL), SCB_E_NOT_MEMBER);
	CHECK(!got_event(a, SCB_MSG_EV_CONNECT));
	start(w, &b, buf, sizeof(buf), SCB_MSG_INVITE_CREATE);
	scbw_put(&b, SCB_A_LOOP_ID, l.id, 32);
	scbw_put_u32(&b, SCB_A_TTL, 600);
	CHECK_EQ_INT(send_req(&e, w, &b, NULL), SCB_E_NOT_MEMBER);
	/* Unregistered: nothing but REGISTER. */
	{
		struct tpeer *u = peer_new(&e, SCB_ROLE_DEVICE);

		CHECK(u);
		CHECK_EQ_INT(loop_get(&e, u, l.id, NULL),
			     SCB_E_NOT_REGISTERED);
		tp_free(&e, u);
	}
	tp_free(&e, a);
	tp_free(&e, w);
	tenv_close(&e);
}

TEST(scbh_invite_join_approve_flow)
{
	struct tenv e;
	struct tpeer *a, *b, *c, *x;
	struct tloop l;
	char code[64];
	uint8_t a4[4], a6[16], cr[CRED_LEN];
	struct scbw_frame *rep;

	CHECK_EQ_INT(tenv_open(&e), 0);
	add_user(&e, "alice", "secret", 10);
	a = registered(&e, "a");
	b = registered(&e, "b");
	c = registered(&e, "c");
	x = registered(&e, "x");
	CHECK(a && b && c && x);
	CHECK_EQ_INT(found(&e, a, "home", &l), 0);
	CHECK_EQ_INT(invite(&e, a, &l, code, sizeof(code)), 0);
	CHECK_EQ_INT(strlen(code), 32);
	tp_clear(a);
	CHECK_EQ_INT(join(&e, b, code, a4, a6), 0);
	CHECK(got_event(a, SCB_MSG_EV_PENDING));
	/* One-time: a second join with the same code is refused. */
	CHECK_EQ_INT(join(&e, c, code, NULL, NULL), SCB_E_INVITE);
	CHECK_EQ_INT(join(&e, c, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL,
			  NULL), SCB_E_INVITE);
	/* Pending: still in the waiting room. */
	CHECK_EQ_INT(loop_get(&e, b, l.id, NULL), SCB_E_NOT_MEMBER);
	/* Signed by a non-member (x), sent by a member (a): refused. */
	make_cred(cr, &l, b->pk, a4, a6, x->sk);
	CHECK_EQ_INT(approve(&e, a, &l, b->pk, cr), SCB_E_BAD_CRED);
	/* Sent by the non-member itself: not a member. */
	CHECK_EQ_INT(approve(&e, x, &l, b->pk, cr), SCB_E_NOT_MEMBER);
	/* Right signer, wrong addresses. */
	a4[3] ^= 1;
	make_cred(cr, &l, b->pk, a4, a6, a->sk);
	CHECK_EQ_INT(approve(&e, a, &l, b->pk, cr), SCB_E_BAD_CRED);
	a4[3] ^= 1;
	/* A tampered signature. */
	make_cred(cr, &l, b->pk, a4, a6, a->sk);
	cr[CRED_LEN - 1] ^= 1;
	CHECK_EQ_INT(approve(&e, a, &l, b->pk, cr), SCB_E_BAD_CRED);
	CHECK_EQ_INT(loop_get(&e, b, l.id, NULL), SCB_E_NOT_MEMBER);
	/* The real thing. */
	make_cred(cr, &l, b->pk, a4, a6, a->sk);
	tp_clear(b);
	CHECK_EQ_INT(approve(&e, a, &l, b->pk, cr), 0);
	CHECK(got_event(b, SCB_MSG_EV_JOINED));
	CHECK_EQ_INT(loop_get(&e, b, l.id, &rep), 0);
	CHECK_EQ_INT(count_attr(rep, SCB_A_PEER), 2);
	CHECK_EQ_INT(loop_get(&e, a, l.id, &rep), 0);
	CHECK_EQ_INT(count_attr(rep, SCB_A_PEER), 2);
	tp_free(&e, a);
	tp_free(&e, b);
	tp_free(&e, c);
	tp_free(&e, x);
	tenv_close(&e);
}

TEST(scbh_connect_rendezvous)
{
	struct tenv e;
	struct tpeer *a, *b;
	struct tloop l;
	uint8_t buf[256];
	struct scbw_buf fb;
	uint32_t cid;

	CHECK_EQ_INT(tenv_open(&e), 0);
	add_user(&e, "alice", "secret", 10);
	a = registered(&e, "a");
	b = registered(&e, "b");
	CHECK(a && b);
	CHECK_EQ_INT(found(&e, a, "home", &l), 0);
	member_of_loop(&e, a, b, &l);
	tp_clear(a);
	tp_clear(b);
	cid = b->next_id;
	start(b, &fb, buf, sizeof(buf), SCB_MSG_CONNECT);
	scbw_put(&fb, SCB_A_LOOP_ID, l.id, 32);
	scbw_put(&fb, SCB_A_DEVICE, a->pk, 32);
	scbh_frame(e.x, &b->p, buf, scbw_end(&fb));
	CHECK(!reply_to(b, cid));	/* deferred */
	CHECK(got_event(a, SCB_MSG_EV_CONNECT));
	start(a, &fb, buf, sizeof(buf), SCB_MSG_CONNECT_ANSWER);
	scbw_put(&fb, SCB_A_LOOP_ID, l.id, 32);
	scbw_put(&fb, SCB_A_DEVICE, b->pk, 32);
	scbw_put_u8(&fb, SCB_A_ACCEPT, 1);
	CHECK_EQ_INT(send_req(&e, a, &fb, NULL), 0);
	CHECK_EQ_INT(code_of(reply_to(b, cid)), 0);
	CHECK(got_event(a, SCB_MSG_EV_RENDEZVOUS));
	CHECK(got_event(b, SCB_MSG_EV_RENDEZVOUS));
	/* Rejected: B419.  Offline target: B418. */
	cid = b->next_id;
	start(b, &fb, buf, sizeof(buf), SCB_MSG_CONNECT);
	scbw_put(&fb, SCB_A_LOOP_ID, l.id, 32);
	scbw_put(&fb, SCB_A_DEVICE, a->pk, 32);
	scbh_frame(e.x, &b->p, buf, scbw_end(&fb));
	start(a, &fb, buf, sizeof(buf), SCB_MSG_CONNECT_ANSWER);
	scbw_put(&fb, SCB_A_LOOP_ID, l.id, 32);
	scbw_put(&fb, SCB_A_DEVICE, b->pk, 32);
	scbw_put_u8(&fb, SCB_A_ACCEPT, 0);
	CHECK_EQ_INT(send_req(&e, a, &fb, NULL), 0);
	CHECK_EQ_INT(code_of(reply_to(b, cid)), SCB_E_REJECTED);
	scbh_gone(e.x, &a->p);
	start(b, &fb, buf, sizeof(buf), SCB_MSG_CONNECT);
	scbw_put(&fb, SCB_A_LOOP_ID, l.id, 32);
	scbw_put(&fb, SCB_A_DEVICE, a->pk, 32);
	CHECK_EQ_INT(send_req(&e, b, &fb, NULL), SCB_E_OFFLINE);
	tp_free(&e, a);
	tp_free(&e, b);
	tenv_close(&e);
}

static int connect_to(struct tenv *e, struct tpeer *from,
		      const struct tloop *l, const uint8_t dev[32])
{
	uint8_t buf[256];
	struct scbw_buf fb;

	start(from, &fb, buf, sizeof(buf), SCB_MSG_CONNECT);
	scbw_put(&fb, SCB_A_LOOP_ID, l->id, 32);
	scbw_put(&fb, SCB_A_DEVICE, dev, 32);
	scbh_frame(e->x, &from->p, buf, scbw_end(&fb));
	return 0;
}

static int member_revoke(struct tenv *e, struct tpeer *from,
			 const struct tloop *l, const uint8_t dev[32],
			 const uint8_t signer_sk[64], const uint8_t signer[32],
			 uint64_t at)
{
	struct cred_revoke rv = { 0 };
	uint8_t rec[CRED_REVOKE_LEN], buf[512];
	struct scbw_buf b;

	memcpy(rv.loop_id, l->id, 32);
	memcpy(rv.device, dev, 32);
	memcpy(rv.signer, signer, 32);
	rv.at = at;
	if (cred_revoke_sign(&rv, signer_sk))
		return -1;
	cred_revoke_encode(&rv, rec);
	start(from, &b, buf, sizeof(buf), SCB_MSG_REVOKE);
	scbw_put(&b, SCB_A_LOOP_ID, l->id, 32);
	scbw_put(&b, SCB_A_REVOKE, rec, sizeof(rec));
	return send_req(e, from, &b, NULL);
}

/*
 * REVOKE by a member: only a record the sender signed for this loop,
 * about a member; then stored, the member gone from LOOP_GET, and the
 * loop and the device told.
 */
TEST(scbh_member_revoke)
{
	struct tenv e;
	struct tpeer *a, *b, *c, *d;
	struct tloop l;
	struct scbw_frame *rep;
	uint64_t now = (uint64_t)time(NULL);

	CHECK_EQ_INT(tenv_open(&e), 0);
	add_user(&e, "alice", "secret", 10);
	a = registered(&e, "a");
	b = registered(&e, "b");
	c = registered(&e, "c");
	d = registered(&e, "d");
	CHECK(a && b && c && d);
	CHECK_EQ_INT(found(&e, a, "home", &l), 0);
	member_of_loop(&e, a, b, &l);
	member_of_loop(&e, a, c, &l);
	/* Signed by another than the sender, or dated far ahead: B400. */
	CHECK_EQ_INT(member_revoke(&e, b, &l, c->pk, a->sk, a->pk, now),
		     SCB_E_MALFORMED);
	CHECK_EQ_INT(member_revoke(&e, b, &l, c->pk, b->sk, b->pk, now + 4000),
		     SCB_E_MALFORMED);
	/* Not a member: B413; about a non-member: B417. */
	CHECK_EQ_INT(member_revoke(&e, d, &l, c->pk, d->sk, d->pk, now),
		     SCB_E_NOT_MEMBER);
	CHECK_EQ_INT(member_revoke(&e, b, &l, d->pk, b->sk, b->pk, now),
		     SCB_E_NO_DEVICE);
	tp_clear(a);
	tp_clear(c);
	CHECK_EQ_INT(member_revoke(&e, b, &l, c->pk, b->sk, b->pk, now), 0);
	CHECK(got_event(a, SCB_MSG_EV_REVOKED));
	CHECK(got_event(c, SCB_MSG_EV_REVOKED));
	CHECK_EQ_INT(loop_get(&e, a, l.id, &rep), 0);
	CHECK_EQ_INT(count_attr(rep, SCB_A_PEER), 2);
	CHECK_EQ_INT(count_attr(rep, SCB_A_REVOKE), 1);
	/*
	 * A revoked device that missed the push (offline then) learns it
	 * from its next LOOP_GET; a device never admitted learns nothing.
	 */
	tp_clear(c);
	CHECK_EQ_INT(loop_get(&e, c, l.id, NULL), SCB_E_REMOVED);
	CHECK(got_event(c, SCB_MSG_EV_REVOKED));
	tp_clear(d);
	CHECK_EQ_INT(loop_get(&e, d, l.id, NULL), SCB_E_NOT_MEMBER);
	CHECK(!got_event(d, SCB_MSG_EV_REVOKED));
	tp_free(&e, a);
	tp_free(&e, b);
	tp_free(&e, c);
	tp_free(&e, d);
	tenv_close(&e);
}

static int renew_answer(struct tenv *e, struct tpeer *from,
			const struct tloop *l, const uint8_t dev[32],
			const uint8_t a4[4], const uint8_t a6[16])
{
	uint8_t buf[512], cr[CRED_LEN];
	struct scbw_buf b;

	make_cred(cr, l, dev, a4, a6, from->sk);
	start(from, &b, buf, sizeof(buf), SCB_MSG_RENEW_ANSWER);
	scbw_put(&b, SCB_A_LOOP_ID, l->id, 32);
	scbw_put(&b, SCB_A_DEVICE, dev, 32);
	scbw_put(&b, SCB_A_CRED, cr, CRED_LEN);
	return send_req(e, from, &b, NULL);
}

/*
 * The founder's root may live up to 30 days (all hangs on it); any
 * other credential no longer than the broker's credential-lifetime.
 */
TEST(scbh_root_outlives_credentials)
{
	struct tenv e;
	struct tpeer *a, *b;
	struct tloop l;
	uint8_t a4[4], a6[16], cr[CRED_LEN];
	char code[64];

	CHECK_EQ_INT(tenv_open(&e), 0);
	e.x->cred_lifetime = 3600;
	add_user(&e, "alice", "secret", 10);
	a = registered(&e, "a");
	b = registered(&e, "b");
	CHECK(a && b);
	CHECK_EQ_INT(found(&e, a, "home", &l), 0);
	CHECK_EQ_INT(invite(&e, a, &l, code, sizeof(code)), 0);
	CHECK_EQ_INT(join(&e, b, code, a4, a6), 0);
	cred_life = 20 * 86400;
	CHECK_EQ_INT(renew_answer(&e, a, &l, a->pk, l.addr4, l.addr6), 0);
	make_cred(cr, &l, b->pk, a4, a6, a->sk);
	CHECK_EQ_INT(approve(&e, a, &l, b->pk, cr), SCB_E_BAD_CRED);
	cred_life = 31 * 86400;
	CHECK_EQ_INT(renew_answer(&e, a, &l, a->pk, l.addr4, l.addr6),
		     SCB_E_BAD_CRED);
	cred_life = 3000;
	tp_free(&e, a);
	tp_free(&e, b);
	tenv_close(&e);
}

/* A member's LOOP_GET shows the waiting room with what it must sign. */
TEST(scbh_loop_get_lists_waiting_room)
{
	struct tenv e;
	struct tpeer *a, *b;
	struct tloop l;
	struct scbw_frame *rep, n;
	char code[64], why[128];
	uint8_t a4[4], a6[16];

	CHECK_EQ_INT(tenv_open(&e), 0);
	add_user(&e, "alice", "secret", 10);
	a = registered(&e, "a");
	b = registered(&e, "b");
	CHECK(a && b);
	CHECK_EQ_INT(found(&e, a, "home", &l), 0);
	CHECK_EQ_INT(invite(&e, a, &l, code, sizeof(code)), 0);
	CHECK_EQ_INT(join(&e, b, code, a4, a6), 0);
	CHECK_EQ_INT(loop_get(&e, a, l.id, &rep), 0);
	CHECK_EQ_INT(count_attr(rep, SCB_A_PENDING), 1);
	CHECK_EQ_INT(scbw_parse_nested(scbw_get(rep, SCB_A_PENDING), &n, why,
				       sizeof(why)), 0);
	CHECK(!memcmp(scbw_get(&n, SCB_A_DEVICE)->val, b->pk, 32));
	CHECK(!memcmp(scbw_get(&n, SCB_A_ADDR4)->val, a4, 4));
	CHECK(!memcmp(scbw_get(&n, SCB_A_ADDR6)->val, a6, 16));
	/* The waiting device itself learns nothing (B413). */
	CHECK_EQ_INT(loop_get(&e, b, l.id, NULL), SCB_E_NOT_MEMBER);
	tp_free(&e, a);
	tp_free(&e, b);
	tenv_close(&e);
}

/*
 * One device in two loops through two sloopd: one connection per loop,
 * neither knocks the other off, and each loop's events reach only the
 * connection serving it; a newer connection for the same loop replaces
 * the older one.  Device-wide verdicts (stolen) reach both.
 */
TEST(scbh_one_device_two_loops)
{
	struct tenv e;
	struct tpeer *a, *ah, *aw, *ah2, *b, *c, *adm;
	struct tloop lh, lw;
	uint8_t buf[128];
	struct scbw_buf fb;

	CHECK_EQ_INT(tenv_open(&e), 0);
	add_user(&e, "alice", "secret", 10);
	a = registered(&e, "a");
	b = registered(&e, "b");
	c = registered(&e, "c");
	CHECK(a && b && c);
	ah = peer_scoped(&e, a, "home", a->tai_sec + 1);
	aw = peer_scoped(&e, a, "work", a->tai_sec + 2);
	CHECK(ah && aw);
	CHECK(ah->p.listed && aw->p.listed && a->p.listed);
	tp_free(&e, a);
	CHECK_EQ_INT(found(&e, ah, "home", &lh), 0);
	CHECK_EQ_INT(found(&e, aw, "work", &lw), 0);
	member_of_loop(&e, ah, b, &lh);
	member_of_loop(&e, aw, c, &lw);
	tp_clear(ah);
	tp_clear(aw);
	connect_to(&e, b, &lh, ah->pk);
	CHECK(got_event(ah, SCB_MSG_EV_CONNECT));
	CHECK(!got_event(aw, SCB_MSG_EV_CONNECT));
	tp_clear(ah);
	connect_to(&e, c, &lw, aw->pk);
	CHECK(got_event(aw, SCB_MSG_EV_CONNECT));
	CHECK(!got_event(ah, SCB_MSG_EV_CONNECT));
	/* The same loop again: the newer connection wins. */
	ah2 = peer_scoped(&e, ah, "home", aw->tai_sec + 1);
	CHECK(ah2 && ah2->p.listed);
	CHECK(ah->kicked && !ah->p.listed);
	CHECK(!aw->kicked && aw->p.listed);
	/* Stolen: every connection of the device is told and closed. */
	tp_clear(ah2);
	tp_clear(aw);
	adm = peer_new(&e, SCB_ROLE_ADMIN);
	CHECK(adm != NULL);
	start(adm, &fb, buf, sizeof(buf), SCB_MSG_ADM_DEVICE_SET);
	scbw_put(&fb, SCB_A_DEVICE, ah->pk, 32);
	scbw_put_u8(&fb, SCB_A_STATE, SCB_DEV_STOLEN);
	CHECK_EQ_INT(send_req(&e, adm, &fb, NULL), 0);
	CHECK(got_event(ah2, SCB_MSG_EV_WIPE) && ah2->kicked);
	CHECK(got_event(aw, SCB_MSG_EV_WIPE) && aw->kicked);
	tp_free(&e, ah);
	tp_free(&e, ah2);
	tp_free(&e, aw);
	tp_free(&e, b);
	tp_free(&e, c);
	tp_free(&e, adm);
	tenv_close(&e);
}

TEST(scbh_stolen_device_revoked_and_wiped)
{
	struct tenv e;
	struct tpeer *a, *b, *adm;
	struct tloop l;
	char why[128];
	uint8_t buf[256], out[4096];
	struct scbw_buf fb;
	struct scbw_frame *ev, wf;
	struct cred_revoke rv;
	size_t olen;

	CHECK_EQ_INT(tenv_open(&e), 0);
	add_user(&e, "alice", "secret", 10);
	a = registered(&e, "a");
	b = registered(&e, "b");
	adm = peer_new(&e, SCB_ROLE_ADMIN);
	CHECK(a && b && adm);
	CHECK_EQ_INT(found(&e, a, "home", &l), 0);
	member_of_loop(&e, a, b, &l);
	tp_clear(a);
	tp_clear(b);
	start(adm, &fb, buf, sizeof(buf), SCB_MSG_ADM_DEVICE_SET);
	scbw_put(&fb, SCB_A_DEVICE, b->pk, 32);
	scbw_put_u8(&fb, SCB_A_STATE, SCB_DEV_STOLEN);
	CHECK_EQ_INT(send_req(&e, adm, &fb, NULL), 0);
	CHECK(b->kicked);
	CHECK(got_event(b, SCB_MSG_EV_WIPE));
	/* a got a broker-signed revocation. */
	ev = last(a);
	CHECK(ev && ev->type == SCB_MSG_EV_REVOKED);
	CHECK_EQ_INT(cred_revoke_decode(&rv, scbw_get(ev, SCB_A_REVOKE)->val,
					scbw_get(ev, SCB_A_REVOKE)->len), 0);
	CHECK(cred_revoke_sig_ok(&rv));
	CHECK(!memcmp(rv.signer, e.bpk, 32));
	CHECK(!memcmp(rv.device, b->pk, 32));
	/* Coming back: EV_WIPE instead of WELCOME. */
	scbh_gone(e.x, &b->p);
	CHECK_EQ_INT(hello_at(&e, b, SCB_ROLE_DEVICE, b->tai_sec + 10, out,
			      &olen), SCB_E_STOLEN);
	CHECK_EQ_INT(scbw_parse(&wf, out, olen, why, sizeof(why)), 0);
	CHECK_EQ_INT(wf.type, SCB_MSG_EV_WIPE);
	/* Suspended: B406 at HELLO. */
	start(adm, &fb, buf, sizeof(buf), SCB_MSG_ADM_DEVICE_SET);
	scbw_put(&fb, SCB_A_DEVICE, b->pk, 32);
	scbw_put_u8(&fb, SCB_A_STATE, SCB_DEV_SUSPENDED);
	CHECK_EQ_INT(send_req(&e, adm, &fb, NULL), 0);
	CHECK_EQ_INT(hello_at(&e, b, SCB_ROLE_DEVICE, b->tai_sec + 11, out,
			      &olen), SCB_E_SUSPENDED);
	CHECK_EQ_INT(loop_get(&e, a, l.id, &ev), 0);
	CHECK_EQ_INT(count_attr(ev, SCB_A_PEER), 1);
	CHECK_EQ_INT(count_attr(ev, SCB_A_REVOKE), 1);
	tp_free(&e, a);
	tp_free(&e, b);
	tp_free(&e, adm);
	tenv_close(&e);
}

TEST(scbh_udp_probe)
{
	struct tenv e;
	struct tpeer *a;
	uint8_t pkt[SCB_PROBE_LEN], ans[SCB_PROBE_ANSWER_LEN], src[18];

	CHECK_EQ_INT(tenv_open(&e), 0);
	a = peer_new(&e, SCB_ROLE_DEVICE);
	CHECK(a);
	memset(src, 7, sizeof(src));
	memcpy(pkt, SCB_PROBE_MAGIC, 4);
	memcpy(pkt + 4, a->p.token, 16);
	CHECK_EQ_INT(scbh_probe(e.x, pkt, sizeof(pkt), src, ans),
		     SCB_PROBE_ANSWER_LEN);
	CHECK(!memcmp(ans, SCB_PROBE_ANSWER_MAGIC, 4));
	CHECK(!memcmp(ans + 20, src, 18));
	CHECK(a->p.has_endpoint);
	pkt[5] ^= 1;
	CHECK(scbh_probe(e.x, pkt, sizeof(pkt), src, ans) < 0);
	CHECK(scbh_probe(e.x, pkt, sizeof(pkt) - 1, src, ans) < 0);
	tp_free(&e, a);
	tenv_close(&e);
}

/* ------------------------------------------------------------ options */

TEST(scbo_values)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t ula[6], k[32];

	CHECK_EQ_INT(scbo_parse_listen("[::]:5660", &ss, &sl), 0);
	CHECK_EQ_INT(ss.ss_family, AF_INET6);
	CHECK_EQ_INT(scbo_parse_listen("127.0.0.1:7", &ss, &sl), 0);
	CHECK_EQ_INT(ss.ss_family, AF_INET);
	CHECK_EQ_INT(ntohs(((struct sockaddr_in *)&ss)->sin_port), 7);
	CHECK_EQ_INT(scbo_parse_listen("10.0.0.1", &ss, &sl), 0);
	CHECK_EQ_INT(ntohs(((struct sockaddr_in *)&ss)->sin_port), 5660);
	CHECK_EQ_INT(scbo_parse_listen("::1", &ss, &sl), 0);
	CHECK_EQ_INT(scbo_parse_listen("1.2.3.4:0", &ss, &sl), -1);
	CHECK_EQ_INT(scbo_parse_listen("1.2.3.4:65536", &ss, &sl), -1);
	CHECK_EQ_INT(scbo_parse_listen("[::1:5660", &ss, &sl), -1);
	CHECK_EQ_INT(scbo_parse_listen("host.example:1", &ss, &sl), -1);
	CHECK_EQ_INT(scbo_parse_ula("fd12:3456:789a::/48", ula), 0);
	CHECK(ula[0] == 0xfd && ula[5] == 0x9a);
	CHECK_EQ_INT(scbo_parse_ula("fc12:3456:789a::/48", ula), -1);
	CHECK_EQ_INT(scbo_parse_ula("fd12:3456:789a:1::/48", ula), -1);
	CHECK_EQ_INT(scbo_parse_ula("fd12:3456:789a::/64", ula), -1);
	CHECK_EQ_INT(scbo_parse_key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", k), 0);
	CHECK_EQ_INT(scbo_parse_key("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", k), 0);
	CHECK_EQ_INT(k[1], 0x11);
	CHECK_EQ_INT(scbo_parse_key("AAAA", k), -1);
}

TEST(scbo_file_and_args)
{
	char path[] = "/tmp/scbo-test-XXXXXX";
	int fd = mkstemp(path);
	struct scbo o;
	struct scbo_err err;
	char *argv[] = { "sloop-scb", "-c", path, "--listen", "127.0.0.1:9",
			 "max-users=3", "--debug", NULL };
	const char *conf =
		"# comment\n"
		"listen [::]:1000   # trailing comment\n"
		"listen 0.0.0.0:1001\n"
		"db \"/tmp/with space.db\"\n"
		"admin-key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
		"max-users 10\n"
		"nodetach\n";

	CHECK(fd >= 0);
	CHECK(write(fd, conf, strlen(conf)) == (ssize_t)strlen(conf));
	close(fd);
	scbo_init(&o);
	CHECK_EQ_INT(scbo_load(&o, 7, argv, &err), 0);
	/* the command line's listen replaces the file's two */
	CHECK_EQ_INT(o.n_listen, 1);
	CHECK_EQ_STR(o.listen[0], "127.0.0.1:9");
	CHECK_EQ_STR(o.db, "/tmp/with space.db");
	CHECK_EQ_INT(o.n_admins, 1);
	CHECK_EQ_INT(o.max_users, 3);
	CHECK(o.nodetach && o.debug);
	CHECK_EQ_INT(o.cred_lifetime, 3600);
	scbo_free(&o);

	/* errors name the file and line */
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0);
	CHECK(write(fd, "max-users 1\nmax-loops x\n", 24) == 24);
	close(fd);
	scbo_init(&o);
	CHECK_EQ_INT(scbo_load(&o, 3, argv, &err), -1);
	CHECK(strstr(err.msg, ":2: max-loops"));
	scbo_free(&o);
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(write(fd, "nodetach yes\n", 13) == 13);
	close(fd);
	scbo_init(&o);
	CHECK_EQ_INT(scbo_load(&o, 3, argv, &err), -1);
	scbo_free(&o);
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(write(fd, "frobnicate 1\n", 13) == 13);
	close(fd);
	scbo_init(&o);
	CHECK_EQ_INT(scbo_load(&o, 3, argv, &err), -1);
	CHECK(strstr(err.msg, "unknown option"));
	scbo_free(&o);
	unlink(path);
}

TEST(scbo_key_file)
{
	char path[] = "/tmp/scbo-key-XXXXXX";
	int fd = mkstemp(path);
	uint8_t sk[64], sk2[64], pk[32], seed[32];
	char b64[64];
	struct scbo_err err;

	CHECK(fd >= 0);
	randombytes_buf(seed, sizeof(seed));
	sodium_bin2base64(b64, sizeof(b64), seed, 32,
			  sodium_base64_VARIANT_ORIGINAL);
	strcat(b64, "\n");
	CHECK(write(fd, b64, strlen(b64)) == (ssize_t)strlen(b64));
	close(fd);
	chmod(path, 0600);
	CHECK_EQ_INT(scbo_read_key(path, true, sk, &err), 0);
	crypto_sign_seed_keypair(pk, sk2, seed);
	CHECK(!memcmp(sk, sk2, 64));
	chmod(path, 0640);
	CHECK_EQ_INT(scbo_read_key(path, true, sk, &err), -1);
	CHECK(strstr(err.msg, "0600"));
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(write(fd, "not a key\n", 10) == 10);
	close(fd);
	CHECK_EQ_INT(scbo_read_key(path, false, sk, &err), -1);
	unlink(path);
}
