// SPDX-License-Identifier: MIT
/*
 * Membership credentials: encoding, the chain rule, policy, time,
 * revocation, and the cache file.  Every refusal is paired with the
 * acceptance next to it, so that a check that always says "no" fails.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cred.h"
#include "unit.h"

#define T0 1700000000ULL

struct key {
	uint8_t pk[32], sk[64];
};

struct fx {
	struct key f, broker, a, b, c, d, x, y;
	uint8_t loop_id[32];
	struct cred_set s;
};

static void key_new(struct key *k)
{
	if (sodium_init() < 0)
		abort();
	crypto_sign_keypair(k->pk, k->sk);
}

/* A credential for device signed by k, addresses derived from tag. */
static struct cred mk(const struct fx *x, const uint8_t device[32],
		      uint8_t tag, uint64_t nb, uint64_t na,
		      const struct key *k, uint8_t policy)
{
	struct cred c;

	memset(&c, 0, sizeof(c));
	c.policy = policy;
	memcpy(c.loop_id, x->loop_id, 32);
	memcpy(c.device, device, 32);
	c.addr4[0] = 100;
	c.addr4[1] = 64;
	c.addr4[3] = tag;
	c.addr6[0] = 0xfd;
	c.addr6[15] = tag;
	c.not_before = nb;
	c.not_after = na;
	if (cred_sign(&c, k->sk))
		abort();
	return c;
}

/* Device signed by k, valid [T0, T0 + 3600), added to the set. */
static int sign_add(struct fx *x, const struct key *dev, uint8_t tag,
		    const struct key *k)
{
	struct cred c = mk(x, dev->pk, tag, T0, T0 + 3600, k, 0);

	return cred_set_add(&x->s, &c);
}

static struct cred_revoke mk_rev(const struct fx *x, const uint8_t device[32],
				 uint64_t at, const struct key *k)
{
	struct cred_revoke r;

	memset(&r, 0, sizeof(r));
	memcpy(r.loop_id, x->loop_id, 32);
	memcpy(r.device, device, 32);
	r.at = at;
	if (cred_revoke_sign(&r, k->sk))
		abort();
	return r;
}

/* Keys, loop and the founder's root [T0, T0 + 3600) with policy. */
static void fx_init(struct fx *x, uint8_t policy)
{
	struct key *keys[] = { &x->f, &x->broker, &x->a, &x->b, &x->c, &x->d,
			       &x->x, &x->y };
	struct cred root;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		key_new(keys[i]);
	cred_loop_id(x->loop_id, x->f.pk, "home");
	cred_set_init(&x->s, x->loop_id, x->f.pk, x->broker.pk);
	root = mk(x, x->f.pk, 1, T0, T0 + 3600, &x->f, policy);
	if (cred_set_add(&x->s, &root))
		abort();
}

static bool member(const struct fx *x, const struct key *k, uint64_t t)
{
	return cred_set_is_member(&x->s, k->pk, t, NULL);
}

static bool cred_eq(const struct cred *a, const struct cred *b)
{
	uint8_t ea[CRED_LEN], eb[CRED_LEN];

	cred_encode(a, ea);
	cred_encode(b, eb);
	return !memcmp(ea, eb, CRED_LEN);
}

TEST(cred_encode_decode)
{
	struct fx x;
	struct cred c, d;
	struct cred_revoke r, q;
	uint8_t buf[CRED_LEN + 1], rbuf[CRED_REVOKE_LEN + 1];

	fx_init(&x, 1);
	c = mk(&x, x.a.pk, 7, T0 + 1, T0 + 99, &x.f, 2);
	CHECK(!memcmp(c.signer, x.f.pk, 32));
	cred_encode(&c, buf);
	CHECK(!memcmp(buf, "SLMC\x01\x02", 6));
	CHECK(!memcmp(buf + 6, x.loop_id, 32));
	CHECK(!memcmp(buf + 38, x.a.pk, 32));
	CHECK_EQ_INT(buf[97], (T0 + 1) & 0xff);	/* be64 not_before */
	CHECK_EQ_INT(buf[90], 0);
	CHECK_EQ_INT(buf[105], (T0 + 99) & 0xff);
	CHECK(!memcmp(buf + 106, x.f.pk, 32));
	CHECK(!memcmp(buf + 138, c.sig, 64));
	CHECK_EQ_INT(cred_decode(&d, buf, CRED_LEN), 0);
	CHECK(cred_eq(&c, &d));
	CHECK_EQ_INT(d.not_before, T0 + 1);
	CHECK_EQ_INT(d.policy, 2);
	CHECK(cred_sig_ok(&d));
	CHECK_EQ_INT(cred_decode(&d, buf, CRED_LEN - 1), -1);
	CHECK_EQ_INT(cred_decode(&d, buf, CRED_LEN + 1), -1);
	buf[4] = 2;
	CHECK_EQ_INT(cred_decode(&d, buf, CRED_LEN), -1);
	buf[4] = 1;
	buf[3] = 'R';
	CHECK_EQ_INT(cred_decode(&d, buf, CRED_LEN), -1);

	r = mk_rev(&x, x.a.pk, T0 + 5, &x.broker);
	cred_revoke_encode(&r, rbuf);
	CHECK(!memcmp(rbuf, "SLMR\x01", 5));
	CHECK_EQ_INT(rbuf[76], (T0 + 5) & 0xff);
	CHECK_EQ_INT(cred_revoke_decode(&q, rbuf, CRED_REVOKE_LEN), 0);
	CHECK_EQ_INT(q.at, T0 + 5);
	CHECK(!memcmp(q.signer, x.broker.pk, 32));
	CHECK(cred_revoke_sig_ok(&q));
	CHECK_EQ_INT(cred_revoke_decode(&q, rbuf, CRED_REVOKE_LEN - 1), -1);
	CHECK_EQ_INT(cred_revoke_decode(&q, rbuf, CRED_REVOKE_LEN + 1), -1);
	rbuf[4] = 0;
	CHECK_EQ_INT(cred_revoke_decode(&q, rbuf, CRED_REVOKE_LEN), -1);
	rbuf[4] = 1;
	rbuf[0] = 'X';
	CHECK_EQ_INT(cred_revoke_decode(&q, rbuf, CRED_REVOKE_LEN), -1);
	cred_set_free(&x.s);
}

TEST(cred_tamper_every_byte)
{
	struct fx x;
	struct cred c, d;
	struct cred_revoke r, q;
	uint8_t buf[CRED_LEN], rbuf[CRED_REVOKE_LEN];
	static const uint8_t flips[] = { 0x01, 0x80, 0xff };

	fx_init(&x, 1);
	c = mk(&x, x.a.pk, 7, T0, T0 + 3600, &x.f, 1);
	r = mk_rev(&x, x.a.pk, T0 + 5, &x.f);
	cred_encode(&c, buf);
	cred_revoke_encode(&r, rbuf);
	CHECK_EQ_INT(cred_decode(&d, buf, CRED_LEN), 0);
	CHECK(cred_sig_ok(&d));
	CHECK_EQ_INT(cred_revoke_decode(&q, rbuf, CRED_REVOKE_LEN), 0);
	CHECK(cred_revoke_sig_ok(&q));
	for (size_t i = 0; i < CRED_LEN; i++) {
		for (size_t f = 0; f < sizeof(flips); f++) {
			buf[i] ^= flips[f];
			if (!cred_decode(&d, buf, CRED_LEN)) {
				CHECK(!cred_sig_ok(&d));
				CHECK_EQ_INT(cred_set_add(&x.s, &d), -1);
			}
			buf[i] ^= flips[f];
		}
	}
	for (size_t i = 0; i < CRED_REVOKE_LEN; i++) {
		for (size_t f = 0; f < sizeof(flips); f++) {
			rbuf[i] ^= flips[f];
			if (!cred_revoke_decode(&q, rbuf, CRED_REVOKE_LEN)) {
				CHECK(!cred_revoke_sig_ok(&q));
				CHECK_EQ_INT(cred_set_revoke(&x.s, &q, T0 + 9),
					     -1);
			}
			rbuf[i] ^= flips[f];
		}
	}
	CHECK_EQ_INT(x.s.n_creds, 1);
	CHECK_EQ_INT(x.s.n_revokes, 0);
	cred_set_free(&x.s);
}

TEST(cred_loop_id_definition)
{
	static const char dom[] = "sloop loop id v1";
	uint8_t f[32], g[32], buf[16 + 32 + 5], want[32], got[32];

	randombytes_buf(f, 32);
	memcpy(g, f, 32);
	g[31] ^= 1;
	memcpy(buf, dom, 16);
	memcpy(buf + 48, "home", 5);	/* with the NUL in the last byte */
	memcpy(buf + 16, f, 32);
	crypto_generichash(want, 32, buf, 16 + 32 + 4, NULL, 0);
	cred_loop_id(got, f, "home");
	CHECK(!memcmp(got, want, 32));
	crypto_generichash(want, 32, buf, sizeof(buf), NULL, 0);
	CHECK(memcmp(got, want, 32));	/* the NUL is not hashed */
	cred_loop_id(want, f, "home2");
	CHECK(memcmp(got, want, 32));
	cred_loop_id(want, g, "home");
	CHECK(memcmp(got, want, 32));
}

TEST(cred_add_refusals)
{
	struct fx x;
	struct cred c;
	size_t n;

	fx_init(&x, 1);
	n = x.s.n_creds;
	c = mk(&x, x.a.pk, 2, T0, T0 + 30 * 86400, &x.f, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);	/* 30 days: ok */
	CHECK_EQ_INT(x.s.n_creds, n + 1);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);		/* duplicate */
	CHECK_EQ_INT(x.s.n_creds, n + 1);
	c = mk(&x, x.a.pk, 2, T0, T0 + 30 * 86400 + 1, &x.f, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), -1);
	c = mk(&x, x.a.pk, 2, T0, T0, &x.f, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), -1);
	c = mk(&x, x.a.pk, 2, T0 + 1, T0, &x.f, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), -1);
	c = mk(&x, x.a.pk, 2, T0, T0 + 10, &x.f, 0);
	c.loop_id[0] ^= 1;
	CHECK(cred_sign(&c, x.f.sk) == 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), -1);		/* other loop */
	c = mk(&x, x.a.pk, 2, T0, T0 + 10, &x.f, 0);
	c.not_after++;						/* not signed */
	CHECK_EQ_INT(cred_set_add(&x.s, &c), -1);
	/* The root must carry policy 1 or 2. */
	c = mk(&x, x.f.pk, 1, T0, T0 + 10, &x.f, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), -1);
	c = mk(&x, x.f.pk, 1, T0, T0 + 10, &x.f, 3);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), -1);
	c = mk(&x, x.f.pk, 1, T0, T0 + 10, &x.f, 2);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	CHECK_EQ_INT(x.s.n_creds, n + 2);
	cred_set_free(&x.s);
}

TEST(cred_founder_only)
{
	struct fx x;
	struct cred best;

	fx_init(&x, 1);
	CHECK_EQ_INT(cred_set_policy(&x.s, T0), 1);
	CHECK(cred_set_is_member(&x.s, x.f.pk, T0, &best));
	CHECK(!memcmp(best.device, x.f.pk, 32));
	CHECK_EQ_INT(best.not_after, T0 + 3600);
	CHECK(member(&x, &x.f, T0 + 3599));
	CHECK(!member(&x, &x.f, T0 + 3600));
	CHECK(!member(&x, &x.f, T0 - 1));
	CHECK_EQ_INT(cred_set_policy(&x.s, T0 + 3600), 0);
	CHECK(!member(&x, &x.a, T0));
	CHECK(!member(&x, &x.broker, T0));
	cred_set_free(&x.s);

	/* No root, no loop; a root signed by someone else is no root. */
	fx_init(&x, 1);
	cred_set_free(&x.s);
	cred_set_init(&x.s, x.loop_id, x.f.pk, x.broker.pk);
	CHECK(!member(&x, &x.f, T0));
	CHECK_EQ_INT(sign_add(&x, &x.f, 1, &x.a), 0);
	CHECK(!member(&x, &x.f, T0));
	CHECK_EQ_INT(cred_set_policy(&x.s, T0), 0);
	cred_set_free(&x.s);
}

TEST(cred_policy1_chain)
{
	struct fx x;
	struct cred best;

	fx_init(&x, 1);
	CHECK(!member(&x, &x.a, T0));
	CHECK_EQ_INT(sign_add(&x, &x.a, 2, &x.f), 0);
	CHECK(cred_set_is_member(&x.s, x.a.pk, T0 + 10, &best));
	CHECK_EQ_INT(best.addr4[3], 2);
	CHECK(!memcmp(best.signer, x.f.pk, 32));
	CHECK(!member(&x, &x.b, T0));
	CHECK_EQ_INT(sign_add(&x, &x.b, 3, &x.a), 0);	/* via a member */
	CHECK(member(&x, &x.b, T0));
	/* best: the counting credential that lasts longest */
	{
		struct cred c = mk(&x, x.b.pk, 3, T0 + 100, T0 + 4000, &x.f,
				   0);

		CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	}
	CHECK(cred_set_is_member(&x.s, x.b.pk, T0 + 200, &best));
	CHECK_EQ_INT(best.not_after, T0 + 4000);
	CHECK(cred_set_is_member(&x.s, x.b.pk, T0 + 50, &best));
	CHECK_EQ_INT(best.not_after, T0 + 3600);
	/* Earliest added first: picking the first one would be caught. */
	for (int i = 1; i <= 4; i++) {
		struct cred c = mk(&x, x.c.pk, 4, T0, T0 + 1000 * i, &x.a, 0);

		CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	}
	CHECK(cred_set_is_member(&x.s, x.c.pk, T0 + 50, &best));
	CHECK_EQ_INT(best.not_after, T0 + 4000);
	CHECK(!memcmp(best.signer, x.a.pk, 32));
	/* Self-signed and others' credentials for the founder never count. */
	{
		struct cred c = mk(&x, x.c.pk, 4, T0, T0 + 9000, &x.c, 0);

		CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
		c = mk(&x, x.f.pk, 1, T0, T0 + 9000, &x.a, 0);
		CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	}
	CHECK(cred_set_is_member(&x.s, x.c.pk, T0 + 50, &best));
	CHECK_EQ_INT(best.not_after, T0 + 4000);
	CHECK(cred_set_is_member(&x.s, x.f.pk, T0 + 50, &best));
	CHECK_EQ_INT(best.not_after, T0 + 3600);
	CHECK(!memcmp(best.signer, x.f.pk, 32));
	CHECK_EQ_INT(cred_set_expiry(&x.s, x.c.pk, T0 + 50), T0 + 3600);
	cred_set_free(&x.s);
}

TEST(cred_policy2)
{
	struct fx x;
	struct cred c;

	fx_init(&x, 2);
	CHECK_EQ_INT(cred_set_policy(&x.s, T0), 2);
	/* The founder alone admits (else no policy-2 loop could grow). */
	CHECK_EQ_INT(sign_add(&x, &x.a, 2, &x.f), 0);
	CHECK_EQ_INT(sign_add(&x, &x.b, 3, &x.f), 0);
	CHECK(member(&x, &x.a, T0) && member(&x, &x.b, T0));
	/* One member is not enough, nor the same member twice. */
	CHECK_EQ_INT(sign_add(&x, &x.c, 4, &x.a), 0);
	CHECK(!member(&x, &x.c, T0));
	c = mk(&x, x.c.pk, 4, T0 + 1, T0 + 3000, &x.a, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	CHECK(!member(&x, &x.c, T0 + 2));
	/* Two members that disagree on the addresses are not two. */
	CHECK_EQ_INT(sign_add(&x, &x.c, 5, &x.b), 0);
	CHECK(!member(&x, &x.c, T0 + 2));
	CHECK_EQ_INT(sign_add(&x, &x.c, 4, &x.b), 0);
	CHECK(member(&x, &x.c, T0 + 2));
	/* The same under policy 1 would have sufficed: the policy matters. */
	cred_set_free(&x.s);
	fx_init(&x, 1);
	CHECK_EQ_INT(sign_add(&x, &x.a, 2, &x.f), 0);
	CHECK_EQ_INT(sign_add(&x, &x.c, 4, &x.a), 0);
	CHECK(member(&x, &x.c, T0));
	/* A stricter root still valid wins over a looser new one. */
	c = mk(&x, x.f.pk, 1, T0 + 10, T0 + 20, &x.f, 2);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	CHECK_EQ_INT(cred_set_policy(&x.s, T0 + 15), 2);
	CHECK(!member(&x, &x.c, T0 + 15));
	CHECK(member(&x, &x.c, T0 + 20));
	cred_set_free(&x.s);
}

TEST(cred_non_member_signer)
{
	struct fx x;

	fx_init(&x, 1);
	/* x is nobody: its signature is valid but proves nothing. */
	CHECK_EQ_INT(sign_add(&x, &x.a, 2, &x.x), 0);
	CHECK(!member(&x, &x.a, T0));
	CHECK_EQ_INT(sign_add(&x, &x.b, 3, &x.a), 0);
	CHECK(!member(&x, &x.b, T0));
	/* Self-signed by a non-founder proves nothing either. */
	CHECK_EQ_INT(sign_add(&x, &x.c, 4, &x.c), 0);
	CHECK(!member(&x, &x.c, T0));
	/* Once a is approved, the chain holds. */
	CHECK_EQ_INT(sign_add(&x, &x.a, 2, &x.f), 0);
	CHECK(member(&x, &x.a, T0) && member(&x, &x.b, T0));
	cred_set_free(&x.s);
}

TEST(cred_broker_cannot_admit)
{
	struct fx x;
	struct cred c;

	fx_init(&x, 1);
	c = mk(&x, x.a.pk, 2, T0, T0 + 3600, &x.broker, 0);
	CHECK(cred_sig_ok(&c));
	CHECK_EQ_INT(cred_set_add(&x.s, &c), -1);
	CHECK(!member(&x, &x.a, T0));
	/* Even smuggled past cred_set_add, it does not count. */
	x.s.creds = realloc(x.s.creds, (x.s.n_creds + 1) * sizeof(c));
	CHECK(x.s.creds);
	x.s.cap_creds = x.s.n_creds + 1;
	x.s.creds[x.s.n_creds++] = c;
	CHECK(!member(&x, &x.a, T0));
	/* Even when someone approved the broker's key as a device. */
	CHECK_EQ_INT(sign_add(&x, &x.broker, 9, &x.f), 0);
	CHECK(member(&x, &x.broker, T0));
	CHECK(!member(&x, &x.a, T0));
	/* Nor does a root the broker signed for the founder. */
	c = mk(&x, x.f.pk, 1, T0, T0 + 3600, &x.broker, 1);
	x.s.creds[0] = c;
	CHECK(!member(&x, &x.f, T0));
	cred_set_free(&x.s);
}

TEST(cred_time_window)
{
	struct fx x;
	struct cred c;

	fx_init(&x, 1);
	c = mk(&x, x.a.pk, 2, T0 + 100, T0 + 200, &x.f, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	CHECK(!member(&x, &x.a, T0 + 99));	/* not yet valid */
	CHECK(member(&x, &x.a, T0 + 100));
	CHECK(member(&x, &x.a, T0 + 199));
	CHECK(!member(&x, &x.a, T0 + 200));	/* expired */
	CHECK(!member(&x, &x.a, T0 + 5000));
	cred_set_free(&x.s);
}

TEST(cred_chain_expired_intermediate)
{
	struct fx x;
	struct cred c;

	fx_init(&x, 1);
	c = mk(&x, x.a.pk, 2, T0, T0 + 100, &x.f, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	CHECK_EQ_INT(sign_add(&x, &x.b, 3, &x.a), 0);	/* to T0 + 3600 */
	CHECK(member(&x, &x.b, T0 + 50));
	CHECK(!member(&x, &x.b, T0 + 150));
	CHECK_EQ_INT(cred_set_expiry(&x.s, x.b.pk, T0 + 50), T0 + 100);
	c = mk(&x, x.a.pk, 2, T0 + 90, T0 + 1000, &x.f, 0);	/* renewed */
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	CHECK(member(&x, &x.b, T0 + 150));
	CHECK_EQ_INT(cred_set_expiry(&x.s, x.b.pk, T0 + 50), T0 + 1000);
	CHECK_EQ_INT(cred_set_expiry(&x.s, x.f.pk, T0 + 50), T0 + 3600);
	CHECK_EQ_INT(cred_set_expiry(&x.s, x.c.pk, T0 + 50), 0);
	/* An ancestor's revocation ends it too. */
	{
		struct cred_revoke r = mk_rev(&x, x.a.pk, T0 + 700,
					      &x.broker);

		CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 50), 0);
	}
	CHECK_EQ_INT(cred_set_expiry(&x.s, x.b.pk, T0 + 50), T0 + 700);
	/* So does a stricter root taking over (b has one approver). */
	c = mk(&x, x.f.pk, 1, T0 + 300, T0 + 3600, &x.f, 2);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	CHECK_EQ_INT(cred_set_expiry(&x.s, x.b.pk, T0 + 50), T0 + 300);
	CHECK_EQ_INT(cred_set_expiry(&x.s, x.a.pk, T0 + 50), T0 + 700);
	cred_set_free(&x.s);
}

TEST(cred_cycle_without_founder)
{
	struct fx x;

	fx_init(&x, 1);
	CHECK_EQ_INT(sign_add(&x, &x.x, 2, &x.y), 0);
	CHECK_EQ_INT(sign_add(&x, &x.y, 3, &x.x), 0);
	CHECK_EQ_INT(sign_add(&x, &x.a, 4, &x.x), 0);
	CHECK(!member(&x, &x.x, T0));
	CHECK(!member(&x, &x.y, T0));
	CHECK(!member(&x, &x.a, T0));
	/* One link to the founder and the whole cycle is in. */
	CHECK_EQ_INT(sign_add(&x, &x.y, 3, &x.f), 0);
	CHECK(member(&x, &x.x, T0) && member(&x, &x.y, T0));
	CHECK(member(&x, &x.a, T0));
	cred_set_free(&x.s);

	fx_init(&x, 2);
	CHECK_EQ_INT(sign_add(&x, &x.a, 2, &x.b), 0);
	CHECK_EQ_INT(sign_add(&x, &x.a, 2, &x.c), 0);
	CHECK_EQ_INT(sign_add(&x, &x.b, 3, &x.a), 0);
	CHECK_EQ_INT(sign_add(&x, &x.b, 3, &x.c), 0);
	CHECK_EQ_INT(sign_add(&x, &x.c, 4, &x.a), 0);
	CHECK_EQ_INT(sign_add(&x, &x.c, 4, &x.b), 0);
	CHECK(!member(&x, &x.a, T0) && !member(&x, &x.b, T0) &&
	      !member(&x, &x.c, T0));
	cred_set_free(&x.s);
}

TEST(cred_depth_limit)
{
	struct fx x;
	struct key k[CRED_MAX_DEPTH + 1];

	fx_init(&x, 1);
	for (int i = 0; i <= CRED_MAX_DEPTH; i++) {
		key_new(&k[i]);
		CHECK_EQ_INT(sign_add(&x, &k[i], (uint8_t)(i + 2),
				      i ? &k[i - 1] : &x.f), 0);
	}
	CHECK(member(&x, &k[0], T0));
	CHECK(member(&x, &k[CRED_MAX_DEPTH - 1], T0));	/* depth 16 */
	CHECK(!member(&x, &k[CRED_MAX_DEPTH], T0));		/* depth 17 */
	cred_set_free(&x.s);
}

TEST(cred_revoke_by_broker)
{
	struct fx x;
	struct cred_revoke r;

	fx_init(&x, 1);
	CHECK_EQ_INT(sign_add(&x, &x.a, 2, &x.f), 0);
	CHECK_EQ_INT(sign_add(&x, &x.b, 3, &x.a), 0);
	r = mk_rev(&x, x.a.pk, T0 + 10, &x.broker);
	r.loop_id[0] ^= 1;
	CHECK(cred_revoke_sign(&r, x.broker.sk) == 0);
	CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 20), -1);	/* loop */
	r = mk_rev(&x, x.a.pk, T0 + 10, &x.broker);
	r.at++;
	CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 20), -1);	/* sig */
	CHECK(member(&x, &x.a, T0 + 20) && member(&x, &x.b, T0 + 20));
	r = mk_rev(&x, x.a.pk, T0 + 10, &x.broker);
	CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 20), 0);
	CHECK(member(&x, &x.a, T0 + 9));
	CHECK(!member(&x, &x.a, T0 + 10));
	CHECK(!member(&x, &x.b, T0 + 10));	/* a's signature died too */
	CHECK(member(&x, &x.b, T0 + 9));
	/* Re-approval by the founder does not bring a revoked device back. */
	CHECK_EQ_INT(sign_add(&x, &x.a, 9, &x.f), 0);
	CHECK(!member(&x, &x.a, T0 + 30));
	/* b can be saved by another approver. */
	CHECK_EQ_INT(sign_add(&x, &x.b, 3, &x.f), 0);
	CHECK(member(&x, &x.b, T0 + 30));
	/* The broker may date ahead; it bites then. */
	r = mk_rev(&x, x.b.pk, T0 + 500, &x.broker);
	CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 30), 0);
	CHECK(member(&x, &x.b, T0 + 499));
	CHECK(!member(&x, &x.b, T0 + 500));
	CHECK_EQ_INT(cred_set_expiry(&x.s, x.b.pk, T0 + 30), T0 + 500);
	/* Revoking the founder ends the loop. */
	r = mk_rev(&x, x.f.pk, T0 + 600, &x.broker);
	CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 600), 0);
	CHECK(!member(&x, &x.f, T0 + 600));
	CHECK(member(&x, &x.f, T0 + 599));
	cred_set_free(&x.s);
}

TEST(cred_revoke_by_member)
{
	struct fx x;
	struct cred_revoke r;

	fx_init(&x, 1);
	CHECK_EQ_INT(sign_add(&x, &x.a, 2, &x.f), 0);
	CHECK_EQ_INT(sign_add(&x, &x.c, 4, &x.f), 0);
	CHECK_EQ_INT(sign_add(&x, &x.b, 3, &x.x), 0);	/* not a member */
	/* A stranger's or a non-member's revocation is refused. */
	r = mk_rev(&x, x.a.pk, T0 + 10, &x.y);
	CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 20), -1);
	r = mk_rev(&x, x.a.pk, T0 + 10, &x.b);
	CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 20), -1);
	/* A member may not date a revocation ahead of now. */
	r = mk_rev(&x, x.a.pk, T0 + 30, &x.c);
	CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 20), -1);
	/* Nor revoke at a time it was no member. */
	r = mk_rev(&x, x.a.pk, T0 - 10, &x.c);
	CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 20), -1);
	CHECK_EQ_INT(x.s.n_revokes, 0);
	CHECK(member(&x, &x.a, T0 + 20));
	r = mk_rev(&x, x.a.pk, T0 + 10, &x.c);
	CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 20), 0);
	CHECK_EQ_INT(x.s.n_revokes, 1);
	CHECK(!member(&x, &x.a, T0 + 10));
	CHECK(member(&x, &x.a, T0 + 9));
	/* A later one for the same device adds nothing. */
	r = mk_rev(&x, x.a.pk, T0 + 15, &x.f);
	CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 20), 0);
	CHECK_EQ_INT(x.s.n_revokes, 1);
	/* The revoked member's own revocations no longer count. */
	r = mk_rev(&x, x.c.pk, T0 + 12, &x.a);
	CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 20), -1);
	r = mk_rev(&x, x.c.pk, T0 + 8, &x.a);	/* before: still valid */
	CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 20), 0);
	CHECK(!member(&x, &x.c, T0 + 8));
	CHECK(member(&x, &x.f, T0 + 20));
	cred_set_free(&x.s);
}

TEST(cred_prune_keeps_evidence)
{
	struct fx x;
	struct cred c;
	struct cred_set t;
	struct cred_revoke r;
	char dir[] = "/tmp/sloop-cred-XXXXXX", path[64];

	fx_init(&x, 1);
	c = mk(&x, x.f.pk, 1, T0 + 50, T0 + 3000, &x.f, 1);	/* renewal */
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	c = mk(&x, x.a.pk, 2, T0, T0 + 100, &x.f, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	c = mk(&x, x.d.pk, 5, T0, T0 + 100, &x.f, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	c = mk(&x, x.c.pk, 4, T0, T0 + 200, &x.f, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	r = mk_rev(&x, x.c.pk, T0 + 10, &x.a);
	CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 20), 0);
	CHECK_EQ_INT(x.s.n_creds, 5);
	/*
	 * All expired at T0 + 3600; kept is the proof that a was a member
	 * at T0 + 10: its credential and the old root.
	 */
	cred_set_prune(&x.s, T0 + 3600);
	CHECK_EQ_INT(x.s.n_creds, 2);
	CHECK_EQ_INT(x.s.creds[0].not_after, T0 + 3600);
	CHECK(!memcmp(x.s.creds[1].device, x.a.pk, 32));
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cache", dir);
	CHECK_EQ_INT(cred_set_save(&x.s, path), 0);
	memset(&t, 0, sizeof(t));
	CHECK_EQ_INT(cred_set_load(&t, path, false), 0);
	CHECK_EQ_INT(t.n_revokes, 1);
	cred_set_free(&t);
	/* Without the evidence the file would be refused: it is needed. */
	x.s.n_creds = 1;
	CHECK_EQ_INT(cred_set_save(&x.s, path), 0);
	CHECK_EQ_INT(cred_set_load(&t, path, false), -EBADMSG);
	/*
	 * A revoker revoked later, dated earlier: its revocation was judged
	 * before that, and its proof must still be kept for the load.
	 */
	cred_set_free(&x.s);
	fx_init(&x, 1);
	c = mk(&x, x.a.pk, 2, T0, T0 + 100, &x.f, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	c = mk(&x, x.c.pk, 4, T0, T0 + 100, &x.f, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	r = mk_rev(&x, x.c.pk, T0 + 10, &x.a);
	CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 20), 0);
	r = mk_rev(&x, x.a.pk, T0 + 5, &x.broker);
	CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 20), 0);
	cred_set_prune(&x.s, T0 + 3600);
	CHECK_EQ_INT(x.s.n_creds, 2);
	CHECK_EQ_INT(cred_set_save(&x.s, path), 0);
	memset(&t, 0, sizeof(t));	/* a new loop: take it from the file */
	CHECK_EQ_INT(cred_set_load(&t, path, false), 0);
	CHECK_EQ_INT(t.n_revokes, 2);
	cred_set_free(&t);
	unlink(path);
	rmdir(dir);
	/* Plain pruning: expired gone, the rest stays. */
	cred_set_free(&x.s);
	fx_init(&x, 1);
	c = mk(&x, x.a.pk, 2, T0, T0 + 100, &x.f, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	CHECK_EQ_INT(sign_add(&x, &x.b, 3, &x.f), 0);
	cred_set_prune(&x.s, T0 + 99);
	CHECK_EQ_INT(x.s.n_creds, 3);
	cred_set_prune(&x.s, T0 + 100);
	CHECK_EQ_INT(x.s.n_creds, 2);
	CHECK(member(&x, &x.b, T0 + 100));
	cred_set_free(&x.s);
}

/* A set with members, a chain, a broker and a member revocation. */
static void fx_rich(struct fx *x)
{
	struct cred_revoke r;

	fx_init(x, 1);
	if (sign_add(x, &x->a, 2, &x->f) || sign_add(x, &x->b, 3, &x->a) ||
	    sign_add(x, &x->c, 4, &x->f) || sign_add(x, &x->d, 5, &x->c))
		abort();
	r = mk_rev(x, x->d.pk, T0 + 10, &x->a);
	if (cred_set_revoke(&x->s, &r, T0 + 20))
		abort();
	r = mk_rev(x, x->c.pk, T0 + 30, &x->broker);
	if (cred_set_revoke(&x->s, &r, T0 + 20))
		abort();
}

static char tmpdir[64], tmppath[96];

static int tmp_save(const struct cred_set *s)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sloop-cred-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(tmppath, sizeof(tmppath), "%s/loop.cache", tmpdir);
	return cred_set_save(s, tmppath);
}

static void tmp_clean(void)
{
	char tmp[128];

	snprintf(tmp, sizeof(tmp), "%s.tmp", tmppath);
	unlink(tmp);
	unlink(tmppath);
	rmdir(tmpdir);
}

TEST(cred_save_load)
{
	struct fx x;
	struct cred_set t, u;
	struct stat st;
	uint8_t other[32];
	const struct key *all[] = { &x.f, &x.a, &x.b, &x.c, &x.d, &x.x };

	fx_rich(&x);
	CHECK_EQ_INT(tmp_save(&x.s), 0);
	CHECK_EQ_INT(stat(tmppath, &st), 0);
	CHECK_EQ_INT(st.st_mode & 07777, 0600);
	{
		char tmp[128];

		snprintf(tmp, sizeof(tmp), "%s.tmp", tmppath);
		CHECK(access(tmp, F_OK) != 0);	/* renamed away */
	}
	CHECK_EQ_INT(st.st_size, 8 + 96 + 8 + 5 * CRED_LEN +
			       2 * CRED_REVOKE_LEN);
	memset(&t, 0, sizeof(t));
	CHECK_EQ_INT(cred_set_load(&t, tmppath, geteuid() == 0), 0);
	CHECK(!memcmp(t.loop_id, x.loop_id, 32));
	CHECK(!memcmp(t.founder, x.f.pk, 32));
	CHECK(!memcmp(t.broker, x.broker.pk, 32));
	CHECK_EQ_INT(t.n_creds, x.s.n_creds);
	CHECK_EQ_INT(t.n_revokes, 2);
	for (size_t i = 0; i < t.n_creds; i++)
		CHECK(cred_eq(&t.creds[i], &x.s.creds[i]));
	CHECK(!memcmp(&t.revokes[1], &x.s.revokes[1], sizeof(t.revokes[1])));
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		for (uint64_t tt = T0; tt < T0 + 40; tt += 5)
			CHECK(cred_set_is_member(&t, all[i]->pk, tt, NULL) ==
			      cred_set_is_member(&x.s, all[i]->pk, tt, NULL));
	CHECK(!cred_set_is_member(&t, x.d.pk, T0 + 20, NULL));
	CHECK(cred_set_is_member(&t, x.b.pk, T0 + 20, NULL));
	/* Into a set for this loop: fine; for another loop: refused. */
	cred_set_init(&u, x.loop_id, x.f.pk, x.broker.pk);
	CHECK_EQ_INT(cred_set_load(&u, tmppath, false), 0);
	CHECK_EQ_INT(u.n_creds, x.s.n_creds);
	cred_set_free(&u);
	memcpy(other, x.loop_id, 32);
	other[0] ^= 1;
	cred_set_init(&u, other, x.f.pk, x.broker.pk);
	CHECK_EQ_INT(cred_set_load(&u, tmppath, false), -EBADMSG);
	CHECK_EQ_INT(u.n_creds, 0);
	cred_set_init(&u, x.loop_id, x.f.pk, x.a.pk);
	CHECK_EQ_INT(cred_set_load(&u, tmppath, false), -EBADMSG);
	/* Saving over an existing file replaces it. */
	cred_set_prune(&x.s, T0 + 3600);
	CHECK_EQ_INT(cred_set_save(&x.s, tmppath), 0);
	CHECK_EQ_INT(cred_set_load(&t, tmppath, false), 0);
	CHECK_EQ_INT(t.n_creds, x.s.n_creds);
	cred_set_free(&t);
	tmp_clean();
	cred_set_free(&x.s);
}

TEST(cred_load_strict)
{
	struct fx x;
	struct cred_set t;

	if (geteuid() != 0) {
		fprintf(stderr, "  cred_load_strict needs root\n");
		CHECK(geteuid() == 0);
	}
	fx_rich(&x);
	CHECK_EQ_INT(tmp_save(&x.s), 0);
	memset(&t, 0, sizeof(t));
	CHECK_EQ_INT(cred_set_load(&t, tmppath, true), 0);
	cred_set_free(&t);
	CHECK_EQ_INT(chmod(tmppath, 0640), 0);
	CHECK_EQ_INT(cred_set_load(&t, tmppath, true), -EPERM);
	CHECK_EQ_INT(cred_set_load(&t, tmppath, false), 0);
	cred_set_free(&t);
	CHECK_EQ_INT(chmod(tmppath, 0604), 0);
	CHECK_EQ_INT(cred_set_load(&t, tmppath, true), -EPERM);
	CHECK_EQ_INT(chmod(tmppath, 0400), 0);
	CHECK_EQ_INT(cred_set_load(&t, tmppath, true), 0);
	cred_set_free(&t);
	CHECK_EQ_INT(chown(tmppath, 1, 0), 0);
	CHECK_EQ_INT(cred_set_load(&t, tmppath, true), -EPERM);
	CHECK_EQ_INT(t.n_creds, 0);
	CHECK_EQ_INT(cred_set_load(&t, tmppath, false), 0);
	cred_set_free(&t);
	/* A stale tmp file of another owner and mode does not leak in. */
	{
		char tmp[128];
		struct stat st;
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", tmppath);
		f = fopen(tmp, "w");
		CHECK(f);
		fclose(f);
		CHECK_EQ_INT(chmod(tmp, 0666), 0);
		CHECK_EQ_INT(chown(tmp, 1, 1), 0);
		CHECK_EQ_INT(cred_set_save(&x.s, tmppath), 0);
		CHECK_EQ_INT(stat(tmppath, &st), 0);
		CHECK_EQ_INT(st.st_mode & 07777, 0600);
		CHECK_EQ_INT(st.st_uid, 0);
		CHECK_EQ_INT(cred_set_load(&t, tmppath, true), 0);
		cred_set_free(&t);
	}
	CHECK_EQ_INT(cred_set_load(&t, "/nonexistent/sloop/cache", true),
		     -ENOENT);
	tmp_clean();
	cred_set_free(&x.s);
}

static int write_bytes(const char *path, const uint8_t *p, size_t len)
{
	FILE *f = fopen(path, "w");
	size_t n;

	if (!f)
		return -1;
	n = fwrite(p, 1, len, f);
	if (fclose(f) || n != len)
		return -1;
	return chmod(path, 0600);
}

TEST(cred_load_corrupt)
{
	struct fx x;
	struct cred_set t;
	uint8_t *img;
	size_t len;
	FILE *f;

	fx_rich(&x);
	CHECK_EQ_INT(tmp_save(&x.s), 0);
	f = fopen(tmppath, "r");
	CHECK(f);
	img = malloc(8192);
	CHECK(img);
	len = fread(img, 1, 8192, f);
	fclose(f);
	CHECK(len > 1000 && len < 8192);
	/* Keep a root set to see that failures leave it alone. */
	cred_set_init(&t, x.loop_id, x.f.pk, x.broker.pk);
	CHECK_EQ_INT(write_bytes(tmppath, img, len), 0);
	CHECK_EQ_INT(cred_set_load(&t, tmppath, false), 0);
	CHECK_EQ_INT(t.n_creds, x.s.n_creds);
	/* Every truncation is refused. */
	for (size_t n = 0; n < len; n += (n < 130 ? 1 : 37)) {
		CHECK_EQ_INT(write_bytes(tmppath, img, n), 0);
		CHECK_EQ_INT(cred_set_load(&t, tmppath, false), -EBADMSG);
	}
	CHECK_EQ_INT(write_bytes(tmppath, img, len - 1), 0);
	CHECK_EQ_INT(cred_set_load(&t, tmppath, false), -EBADMSG);
	img[len] = 0;
	CHECK_EQ_INT(write_bytes(tmppath, img, len + 1), 0);	/* trailing */
	CHECK_EQ_INT(cred_set_load(&t, tmppath, false), -EBADMSG);
	/* Bad magic, counts, and any flipped bit in an entry. */
	img[7] ^= 1;
	CHECK_EQ_INT(write_bytes(tmppath, img, len), 0);
	CHECK_EQ_INT(cred_set_load(&t, tmppath, false), -EBADMSG);
	img[7] ^= 1;
	img[8 + 96 + 3] ^= 1;
	CHECK_EQ_INT(write_bytes(tmppath, img, len), 0);
	CHECK_EQ_INT(cred_set_load(&t, tmppath, false), -EBADMSG);
	img[8 + 96 + 3] ^= 1;
	for (size_t i = 112; i < len; i += 7) {
		img[i] ^= 0x10;
		CHECK_EQ_INT(write_bytes(tmppath, img, len), 0);
		CHECK_EQ_INT(cred_set_load(&t, tmppath, false), -EBADMSG);
		img[i] ^= 0x10;
	}
	/* A duplicated entry (count and bytes consistent) is refused too. */
	{
		uint8_t *dup = malloc(len + CRED_LEN);

		CHECK(dup);
		memcpy(dup, img, 112 + CRED_LEN);
		memcpy(dup + 112 + CRED_LEN, img + 112, len - 112);
		dup[8 + 96 + 3]++;
		CHECK_EQ_INT(write_bytes(tmppath, dup, len + CRED_LEN), 0);
		free(dup);
		CHECK_EQ_INT(cred_set_load(&t, tmppath, false), -EBADMSG);
	}
	CHECK_EQ_INT(t.n_creds, x.s.n_creds);	/* the good load stands */
	CHECK(cred_set_is_member(&t, x.b.pk, T0 + 20, NULL));
	/* And the intact image still loads. */
	CHECK_EQ_INT(write_bytes(tmppath, img, len), 0);
	CHECK_EQ_INT(cred_set_load(&t, tmppath, false), 0);
	free(img);
	cred_set_free(&t);
	tmp_clean();
	cred_set_free(&x.s);
}

/*
 * 40 strangers all signing each other (1560 credentials): nobody is in,
 * and answering takes no exponential walk.  One founder signature for
 * one of them and the whole clique is in, at depth 2 at most.
 */
TEST(cred_dense_clique)
{
	enum { N = 40 };
	struct fx x;
	struct key *k = calloc(N, sizeof(*k));
	struct cred c;

	CHECK(k);
	fx_init(&x, 2);
	for (int i = 0; i < N; i++)
		key_new(&k[i]);
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++)
			if (i != j)
				CHECK_EQ_INT(sign_add(&x, &k[i], (uint8_t)i,
						      &k[j]), 0);
	CHECK_EQ_INT(x.s.n_creds, 1 + N * (N - 1));
	for (int i = 0; i < N; i++)
		CHECK(!member(&x, &k[i], T0));
	c = mk(&x, k[7].pk, 7, T0, T0 + 3600, &x.f, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	CHECK(member(&x, &k[7], T0));
	CHECK(!member(&x, &k[8], T0));	/* policy 2: one member is not enough */
	c = mk(&x, k[9].pk, 9, T0, T0 + 3600, &x.f, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);
	for (int i = 0; i < N; i++)
		CHECK(member(&x, &k[i], T0));
	free(k);
	cred_set_free(&x.s);
}

TEST(cred_set_full)
{
	struct fx x;
	struct cred c, *big;
	struct cred_revoke r;

	fx_init(&x, 1);
	big = realloc(x.s.creds, CRED_SET_MAX_CREDS * sizeof(*big));
	CHECK(big);
	for (size_t i = 1; i < CRED_SET_MAX_CREDS; i++)
		big[i] = big[0];	/* bypasses the duplicate check */
	x.s.creds = big;
	x.s.cap_creds = x.s.n_creds = CRED_SET_MAX_CREDS - 1;
	c = mk(&x, x.a.pk, 2, T0, T0 + 3600, &x.f, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), 0);	/* the last slot */
	CHECK_EQ_INT(x.s.n_creds, CRED_SET_MAX_CREDS);
	c = mk(&x, x.b.pk, 3, T0, T0 + 3600, &x.f, 0);
	CHECK_EQ_INT(cred_set_add(&x.s, &c), -ENOSPC);
	CHECK_EQ_INT(x.s.n_creds, CRED_SET_MAX_CREDS);
	CHECK(member(&x, &x.a, T0) && !member(&x, &x.b, T0));
	r = mk_rev(&x, x.a.pk, T0 + 5, &x.broker);
	CHECK_EQ_INT(cred_set_revoke(&x.s, &r, T0 + 5), 0);
	cred_set_free(&x.s);
}
