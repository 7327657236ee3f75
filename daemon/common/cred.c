// SPDX-License-Identifier: MIT
/*
 * Loop membership credentials (cred.h, docs/membership.md).
 *
 * Membership at time t is computed as a whole for the loop, not by a
 * recursive walk from the asked device: a recursive walk over a hostile
 * set (many keys signing each other) is exponential, and its cycle
 * protection has to tell "on my path" from "already refused".  Instead
 * a view is built for t: the usable credentials sorted by (device,
 * addresses, signer), and members are found in rounds.  Round 0 admits
 * the founder; round r admits every device that has `policy` distinct
 * signers admitted in rounds < r.  After CRED_MAX_DEPTH rounds nobody
 * else is admitted, so chains are at most that long, and devices that
 * only sign each other are never admitted (least fixed point).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cred.h"

#define CRED_BODY_LEN		(CRED_LEN - 64)
#define CRED_REVOKE_BODY_LEN	(CRED_REVOKE_LEN - 64)
#define CRED_VERSION		1
#define CRED_FILE_MAGIC		"SLOOPPL1"
#define CRED_FILE_HDR_LEN	(8 + 32 * 3 + 4 + 4)

static const uint8_t cred_magic[4] = { 'S', 'L', 'M', 'C' };
static const uint8_t revoke_magic[4] = { 'S', 'L', 'M', 'R' };

/* ---- encoding ---- */

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *put(uint8_t *p, const void *src, size_t len)
{
	memcpy(p, src, len);
	return p + len;
}

static const uint8_t *get(const uint8_t *p, void *dst, size_t len)
{
	memcpy(dst, p, len);
	return p + len;
}

void cred_encode(const struct cred *c, uint8_t out[CRED_LEN])
{
	uint8_t *p = put(out, cred_magic, 4);

	*p++ = CRED_VERSION;
	*p++ = c->policy;
	p = put(p, c->loop_id, 32);
	p = put(p, c->device, 32);
	p = put(p, c->addr4, 4);
	p = put(p, c->addr6, 16);
	put_be64(p, c->not_before);
	put_be64(p + 8, c->not_after);
	p = put(p + 16, c->signer, 32);
	put(p, c->sig, 64);
}

int cred_decode(struct cred *c, const uint8_t *in, size_t len)
{
	const uint8_t *p = in + 6;

	if (len != CRED_LEN || memcmp(in, cred_magic, 4) ||
	    in[4] != CRED_VERSION)
		return -1;
	c->policy = in[5];
	p = get(p, c->loop_id, 32);
	p = get(p, c->device, 32);
	p = get(p, c->addr4, 4);
	p = get(p, c->addr6, 16);
	c->not_before = get_be64(p);
	c->not_after = get_be64(p + 8);
	p = get(p + 16, c->signer, 32);
	get(p, c->sig, 64);
	return 0;
}

void cred_revoke_encode(const struct cred_revoke *r,
			uint8_t out[CRED_REVOKE_LEN])
{
	uint8_t *p = put(out, revoke_magic, 4);

	*p++ = CRED_VERSION;
	p = put(p, r->loop_id, 32);
	p = put(p, r->device, 32);
	put_be64(p, r->at);
	p = put(p + 8, r->signer, 32);
	put(p, r->sig, 64);
}

int cred_revoke_decode(struct cred_revoke *r, const uint8_t *in, size_t len)
{
	const uint8_t *p = in + 5;

	if (len != CRED_REVOKE_LEN || memcmp(in, revoke_magic, 4) ||
	    in[4] != CRED_VERSION)
		return -1;
	p = get(p, r->loop_id, 32);
	p = get(p, r->device, 32);
	r->at = get_be64(p);
	p = get(p + 8, r->signer, 32);
	get(p, r->sig, 64);
	return 0;
}

/* ---- identities and signatures ---- */

void cred_loop_id(uint8_t out[32], const uint8_t founder[32],
		  const char *name)
{
	static const char domain[] = "sloop loop id v1";
	crypto_generichash_state st;

	if (sodium_init() < 0) {
		/* BLAKE2b needs no randomness: it still hashes right. */
	}
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)domain,
				  sizeof(domain) - 1);
	crypto_generichash_update(&st, founder, 32);
	if (name)
		crypto_generichash_update(&st, (const uint8_t *)name,
					  strlen(name));
	crypto_generichash_final(&st, out, 32);
}

static int sign_body(uint8_t sig[64], const uint8_t *body, size_t len,
		     const uint8_t sk[64])
{
	return crypto_sign_detached(sig, NULL, body, len, sk) ? -1 : 0;
}

int cred_sign(struct cred *c, const uint8_t sk[64])
{
	uint8_t buf[CRED_LEN];

	if (sodium_init() < 0 || crypto_sign_ed25519_sk_to_pk(c->signer, sk))
		return -1;
	cred_encode(c, buf);
	return sign_body(c->sig, buf, CRED_BODY_LEN, sk);
}

bool cred_sig_ok(const struct cred *c)
{
	uint8_t buf[CRED_LEN];

	if (sodium_init() < 0)
		return false;
	cred_encode(c, buf);
	return !crypto_sign_verify_detached(c->sig, buf, CRED_BODY_LEN,
					    c->signer);
}

int cred_revoke_sign(struct cred_revoke *r, const uint8_t sk[64])
{
	uint8_t buf[CRED_REVOKE_LEN];

	if (sodium_init() < 0 || crypto_sign_ed25519_sk_to_pk(r->signer, sk))
		return -1;
	cred_revoke_encode(r, buf);
	return sign_body(r->sig, buf, CRED_REVOKE_BODY_LEN, sk);
}

bool cred_revoke_sig_ok(const struct cred_revoke *r)
{
	uint8_t buf[CRED_REVOKE_LEN];

	if (sodium_init() < 0)
		return false;
	cred_revoke_encode(r, buf);
	return !crypto_sign_verify_detached(r->sig, buf, CRED_REVOKE_BODY_LEN,
					    r->signer);
}

/* ---- the set ---- */

void cred_set_init(struct cred_set *s, const uint8_t loop_id[32],
		   const uint8_t founder[32], const uint8_t broker[32])
{
	memset(s, 0, sizeof(*s));
	memcpy(s->loop_id, loop_id, 32);
	memcpy(s->founder, founder, 32);
	memcpy(s->broker, broker, 32);
}

void cred_set_free(struct cred_set *s)
{
	free(s->creds);
	free(s->revokes);
	s->creds = NULL;
	s->revokes = NULL;
	s->n_creds = s->cap_creds = 0;
	s->n_revokes = s->cap_revokes = 0;
}

static bool key_eq(const uint8_t a[32], const uint8_t b[32])
{
	return !memcmp(a, b, 32);
}

static bool valid_at(const struct cred *c, uint64_t t)
{
	return c->not_before <= t && t < c->not_after;
}

static bool is_founder_self(const struct cred_set *s, const struct cred *c)
{
	return key_eq(c->device, s->founder) && key_eq(c->signer, s->founder);
}

static bool cred_same(const struct cred *a, const struct cred *b)
{
	uint8_t ea[CRED_LEN], eb[CRED_LEN];

	/* The signature is part of the bytes: a cheap first test. */
	if (memcmp(a->sig, b->sig, 64))
		return false;
	cred_encode(a, ea);
	cred_encode(b, eb);
	return !memcmp(ea, eb, CRED_LEN);
}

/* Grow an array of n elements of size sz to hold one more, up to max. */
static int grow(void **arr, size_t *cap, size_t n, size_t sz, size_t max)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	if (n >= max)
		return -ENOSPC;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap > max)
		ncap = max;
	p = realloc(*arr, ncap * sz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

int cred_set_add(struct cred_set *s, const struct cred *c)
{
	int err;

	if (!key_eq(c->loop_id, s->loop_id) || c->not_after <= c->not_before ||
	    c->not_after - c->not_before > CRED_MAX_LIFETIME)
		return -1;
	/* The broker may remove trust, never add it. */
	if (key_eq(c->signer, s->broker))
		return -1;
	if (is_founder_self(s, c) && c->policy != 1 && c->policy != 2)
		return -1;
	if (!cred_sig_ok(c))
		return -1;
	for (size_t i = 0; i < s->n_creds; i++)
		if (cred_same(&s->creds[i], c))
			return 0;
	err = grow((void **)&s->creds, &s->cap_creds, s->n_creds,
		   sizeof(*c), CRED_SET_MAX_CREDS);
	if (err)
		return err;
	s->creds[s->n_creds++] = *c;
	return 0;
}

int cred_set_policy(const struct cred_set *s, uint64_t now)
{
	int policy = 0;

	/*
	 * Several valid self-credentials overlap while the founder renews
	 * or changes the policy: the stricter one holds until it expires.
	 */
	for (size_t i = 0; i < s->n_creds; i++) {
		const struct cred *c = &s->creds[i];

		if (is_founder_self(s, c) && valid_at(c, now) &&
		    (c->policy == 1 || c->policy == 2) && c->policy > policy)
			policy = c->policy;
	}
	return policy;
}

/* ---- the membership view at one time ---- */

struct view {
	const struct cred_set *s;
	uint64_t t;
	int policy;
	size_t *ent;		/* indices into s->creds, sorted */
	size_t n_ent;
	size_t *ent_dev;	/* device index of each entry */
	size_t *ent_sig;	/* signer's device index, SIZE_MAX if none */
	const uint8_t **dev;	/* distinct devices of the entries, sorted */
	size_t n_dev;
	int *depth;		/* per device: round admitted, -1 if not */
	bool *revoked;
};

/* Group by device, then addresses (approvers must agree), then signer. */
static int ent_cmp(const void *a, const void *b, void *arg)
{
	const struct cred_set *s = arg;
	const struct cred *x = &s->creds[*(const size_t *)a];
	const struct cred *y = &s->creds[*(const size_t *)b];
	int d;

	d = memcmp(x->device, y->device, 32);
	if (!d)
		d = memcmp(x->addr4, y->addr4, 4);
	if (!d)
		d = memcmp(x->addr6, y->addr6, 16);
	if (!d)
		d = memcmp(x->signer, y->signer, 32);
	return d;
}

static size_t dev_find(const struct view *v, const uint8_t key[32])
{
	size_t lo = 0, hi = v->n_dev;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = memcmp(v->dev[mid], key, 32);

		if (!d)
			return mid;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

static void view_free(struct view *v)
{
	free(v->ent);
	free(v->ent_dev);
	free(v->ent_sig);
	free(v->dev);
	free(v->depth);
	free(v->revoked);
}

/*
 * Never counts: the broker's signatures, self-signatures other than the
 * founder's root, and others' signatures for the founder.
 */
static bool may_count(const struct cred_set *s, const struct cred *c)
{
	if (key_eq(c->signer, s->broker))
		return false;
	if (key_eq(c->device, s->founder))
		return key_eq(c->signer, s->founder);
	return !key_eq(c->signer, c->device);
}

static bool usable(const struct cred_set *s, const struct cred *c, uint64_t t)
{
	return valid_at(c, t) && may_count(s, c);
}

static int view_alloc(struct view *v, size_t n)
{
	size_t m = n ? n : 1;

	v->ent = calloc(m, sizeof(*v->ent));
	v->ent_dev = calloc(m, sizeof(*v->ent_dev));
	v->ent_sig = calloc(m, sizeof(*v->ent_sig));
	v->dev = calloc(m, sizeof(*v->dev));
	v->depth = calloc(m, sizeof(*v->depth));
	v->revoked = calloc(m, sizeof(*v->revoked));
	if (!v->ent || !v->ent_dev || !v->ent_sig || !v->dev || !v->depth ||
	    !v->revoked)
		return -ENOMEM;
	return 0;
}

static void view_index(struct view *v)
{
	const struct cred_set *s = v->s;

	for (size_t i = 0; i < v->n_ent; i++) {
		const uint8_t *d = s->creds[v->ent[i]].device;

		if (!v->n_dev || !key_eq(v->dev[v->n_dev - 1], d))
			v->dev[v->n_dev++] = d;
		v->ent_dev[i] = v->n_dev - 1;
	}
	for (size_t i = 0; i < v->n_ent; i++)
		v->ent_sig[i] = dev_find(v, s->creds[v->ent[i]].signer);
	for (size_t i = 0; i < v->n_dev; i++)
		v->depth[i] = -1;
}

/* Revocations among the first n_rev with at <= t. */
static void view_revoke(struct view *v, size_t n_rev)
{
	for (size_t i = 0; i < n_rev; i++) {
		const struct cred_revoke *r = &v->s->revokes[i];
		size_t d;

		if (r->at > v->t)
			continue;
		d = dev_find(v, r->device);
		if (d != SIZE_MAX)
			v->revoked[d] = true;
	}
}

static bool same_group(const struct view *v, size_t a, size_t b)
{
	const struct cred *x = &v->s->creds[v->ent[a]];
	const struct cred *y = &v->s->creds[v->ent[b]];

	return v->ent_dev[a] == v->ent_dev[b] &&
	       !memcmp(x->addr4, y->addr4, 4) &&
	       !memcmp(x->addr6, y->addr6, 16);
}

/* Distinct signers admitted before round r in the group at *i; advances. */
static int group_count(const struct view *v, size_t *i, int r)
{
	const uint8_t *last = NULL;
	size_t j;
	int n = 0;

	for (j = *i; j < v->n_ent && same_group(v, *i, j); j++) {
		size_t sg = v->ent_sig[j];
		const uint8_t *signer = v->s->creds[v->ent[j]].signer;

		if (sg == SIZE_MAX || v->depth[sg] < 0 || v->depth[sg] >= r)
			continue;
		if (last && key_eq(last, signer))
			continue;	/* sorted: repeats are adjacent */
		last = signer;
		/*
		 * The founder alone suffices: it can lower the policy
		 * anyway, and under policy 2 nobody could join a loop
		 * whose only member is its founder.
		 */
		n += key_eq(signer, v->s->founder) ? v->policy : 1;
	}
	*i = j;
	return n;
}

static bool view_round(struct view *v, int r)
{
	bool added = false;
	size_t i = 0;

	while (i < v->n_ent) {
		size_t d = v->ent_dev[i];
		int n = group_count(v, &i, r);

		if (v->depth[d] >= 0 || v->revoked[d] ||
		    key_eq(v->dev[d], v->s->founder))
			continue;
		if (n >= v->policy) {
			v->depth[d] = r;
			added = true;
		}
	}
	return added;
}

/*
 * Build the view at t, honouring only the first n_rev revocations (so
 * that a revocation is judged against the revocations that came before
 * it, on load exactly as when it arrived).
 */
static int view_build(struct view *v, const struct cred_set *s, uint64_t t,
		      size_t n_rev)
{
	size_t f;

	memset(v, 0, sizeof(*v));
	v->s = s;
	v->t = t;
	if (view_alloc(v, s->n_creds))
		return -ENOMEM;
	for (size_t i = 0; i < s->n_creds; i++)
		if (usable(s, &s->creds[i], t))
			v->ent[v->n_ent++] = i;
	qsort_r(v->ent, v->n_ent, sizeof(*v->ent), ent_cmp, (void *)s);
	view_index(v);
	view_revoke(v, n_rev);
	v->policy = cred_set_policy(s, t);
	f = dev_find(v, s->founder);
	if (!v->policy || f == SIZE_MAX || v->revoked[f])
		return 0;
	v->depth[f] = 0;
	for (int r = 1; r <= CRED_MAX_DEPTH; r++)
		if (!view_round(v, r))
			break;
	return 0;
}

static bool view_member(const struct view *v, const uint8_t device[32])
{
	size_t d = dev_find(v, device);

	return d != SIZE_MAX && v->depth[d] >= 0;
}

/* Counts for device: the founder's root, or from an admitted signer. */
static bool view_counts(const struct view *v, size_t e)
{
	size_t d = v->ent_dev[e], sg = v->ent_sig[e];

	if (v->depth[d] < 0)
		return false;
	if (v->depth[d] == 0)
		return true;
	return sg != SIZE_MAX && v->depth[sg] >= 0 &&
	       v->depth[sg] < v->depth[d];
}

/*
 * Any credential from a member counts for *best once its group (same
 * addresses) has enough approvers, not only those of the shortest
 * chain.
 */
static void view_best(const struct view *v, const uint8_t device[32],
		      struct cred *best)
{
	const struct cred *b = NULL;
	size_t i = 0;

	while (i < v->n_ent) {
		size_t start = i, sg;

		if (!key_eq(v->dev[v->ent_dev[i]], device)) {
			i++;
			continue;
		}
		if (group_count(v, &i, INT_MAX) < v->policy)
			continue;
		for (size_t j = start; j < i; j++) {
			const struct cred *c = &v->s->creds[v->ent[j]];

			sg = v->ent_sig[j];
			if (sg != SIZE_MAX && v->depth[sg] >= 0 &&
			    (!b || c->not_after > b->not_after))
				b = c;
		}
	}
	if (b)
		*best = *b;
}

static bool member_at(const struct cred_set *s, const uint8_t device[32],
		      uint64_t t, size_t n_rev, struct cred *best)
{
	struct view v;
	bool yes = false;

	if (!view_build(&v, s, t, n_rev)) {
		yes = view_member(&v, device);
		if (yes && best)
			view_best(&v, device, best);
	}
	view_free(&v);
	return yes;
}

bool cred_set_is_member(const struct cred_set *s, const uint8_t device[32],
			uint64_t now, struct cred *best)
{
	return member_at(s, device, now, s->n_revokes, best);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool key_listed(const uint8_t **keys, size_t n, const uint8_t k[32])
{
	for (size_t i = 0; i < n; i++)
		if (key_eq(keys[i], k))
			return true;
	return false;
}

/*
 * Mark the credentials and revocations that can bear on device's
 * membership: its own and, recursively, its possible signers'.  Others
 * may come and go without changing the answer.
 */
static int ancestry(const struct cred_set *s, const uint8_t device[32],
		    bool *rel_cred, bool *rel_rev)
{
	const uint8_t **keys = calloc(s->n_creds + 1, sizeof(*keys));
	size_t n = 0;

	if (!keys)
		return -ENOMEM;
	keys[n++] = device;
	for (size_t k = 0; k < n; k++) {
		for (size_t i = 0; i < s->n_creds; i++) {
			const struct cred *c = &s->creds[i];

			if (rel_cred[i] || !key_eq(c->device, keys[k]) ||
			    !may_count(s, c))
				continue;
			rel_cred[i] = true;
			if (!key_listed(keys, n, c->signer))
				keys[n++] = c->signer;
		}
	}
	for (size_t i = 0; i < s->n_revokes; i++)
		rel_rev[i] = key_listed(keys, n, s->revokes[i].device);
	free(keys);
	return 0;
}

/*
 * The moments in (now, last] at which a relevant entry starts, ends or
 * bites.  Starts matter too: a stricter root taking over can end a
 * membership.
 */
static uint64_t *expiry_events(const struct cred_set *s,
			       const uint8_t device[32], uint64_t now,
			       uint64_t last, size_t *n)
{
	bool *rc = calloc(s->n_creds + 1, sizeof(*rc));
	bool *rr = calloc(s->n_revokes + 1, sizeof(*rr));
	uint64_t *ev = calloc(2 * s->n_creds + s->n_revokes + 1, sizeof(*ev));

	*n = 0;
	if (!rc || !rr || !ev || ancestry(s, device, rc, rr)) {
		free(ev);
		ev = NULL;
		goto out;
	}
	for (size_t i = 0; i < s->n_creds; i++) {
		const struct cred *c = &s->creds[i];

		if (rc[i] && c->not_after > now && c->not_after <= last)
			ev[(*n)++] = c->not_after;
		if (rc[i] && c->not_before > now && c->not_before <= last)
			ev[(*n)++] = c->not_before;
	}
	for (size_t i = 0; i < s->n_revokes; i++)
		if (rr[i] && s->revokes[i].at > now && s->revokes[i].at <= last)
			ev[(*n)++] = s->revokes[i].at;
	qsort(ev, *n, sizeof(*ev), u64_cmp);
out:
	free(rc);
	free(rr);
	return ev;
}

/*
 * Membership only changes where an entry of the device's ancestry
 * starts or ends, so try those moments in order up to the device's last
 * credential.
 */
uint64_t cred_set_expiry(const struct cred_set *s, const uint8_t device[32],
			 uint64_t now)
{
	uint64_t last = 0, *ev, res;
	size_t n;

	if (!cred_set_is_member(s, device, now, NULL))
		return 0;
	for (size_t i = 0; i < s->n_creds; i++)
		if (key_eq(s->creds[i].device, device) &&
		    s->creds[i].not_after > last)
			last = s->creds[i].not_after;
	ev = expiry_events(s, device, now, last, &n);
	if (!ev)
		return now + 1;	/* do not claim more than we checked */
	res = last;
	for (size_t i = 0; i < n; i++) {
		if (i && ev[i] == ev[i - 1])
			continue;
		if (!cred_set_is_member(s, device, ev[i], NULL)) {
			res = ev[i];
			break;
		}
	}
	free(ev);
	return res;
}

/* ---- revocations ---- */

static bool revoke_redundant(const struct cred_set *s,
			     const struct cred_revoke *r)
{
	for (size_t i = 0; i < s->n_revokes; i++)
		if (key_eq(s->revokes[i].device, r->device) &&
		    s->revokes[i].at <= r->at)
			return true;
	return false;
}

/*
 * The broker key may revoke at any time, even dated ahead (its clock
 * may run ahead of ours; the revocation then bites a little later).  A
 * member must be one at r->at, judged with the revocations that came
 * before, and may not date a revocation ahead of now: nobody can judge
 * yet whether it will still be a member then.
 */
int cred_set_revoke(struct cred_set *s, const struct cred_revoke *r,
		    uint64_t now)
{
	int err;

	if (!key_eq(r->loop_id, s->loop_id) || !cred_revoke_sig_ok(r))
		return -1;
	if (!key_eq(r->signer, s->broker) &&
	    (r->at > now || !member_at(s, r->signer, r->at, s->n_revokes,
				       NULL)))
		return -1;
	if (revoke_redundant(s, r))
		return 0;
	err = grow((void **)&s->revokes, &s->cap_revokes, s->n_revokes,
		   sizeof(*r), CRED_SET_MAX_REVOKES);
	if (err)
		return err;
	s->revokes[s->n_revokes++] = *r;
	return 0;
}

/* ---- pruning ---- */

/*
 * Mark the credentials that prove the member at device index d in v:
 * those from signers admitted in earlier rounds, recursively.
 */
static void view_keep(const struct view *v, size_t d, bool *keep,
		      bool *seen)
{
	if (seen[d])
		return;
	seen[d] = true;
	for (size_t i = 0; i < v->n_ent; i++) {
		if (v->ent_dev[i] != d || !view_counts(v, i))
			continue;
		keep[v->ent[i]] = true;
		if (v->depth[d] > 0)
			view_keep(v, v->ent_sig[i], keep, seen);
	}
}

/*
 * A member's revocation stays checkable (on load) only while the
 * credentials proving the signer at r->at are kept: keep them.
 */
static int keep_evidence(const struct cred_set *s, bool *keep)
{
	for (size_t k = 0; k < s->n_revokes; k++) {
		const struct cred_revoke *r = &s->revokes[k];
		struct view v;
		bool *seen;
		size_t d;
		int err = -ENOMEM;

		if (key_eq(r->signer, s->broker))
			continue;
		if (view_build(&v, s, r->at, k))
			goto out;
		seen = calloc(v.n_dev ? v.n_dev : 1, sizeof(*seen));
		if (!seen)
			goto out;
		d = dev_find(&v, r->signer);
		if (d != SIZE_MAX && v.depth[d] >= 0)
			view_keep(&v, d, keep, seen);
		free(seen);
		err = 0;
out:
		view_free(&v);
		if (err)
			return err;
	}
	return 0;
}

void cred_set_prune(struct cred_set *s, uint64_t now)
{
	bool *keep = calloc(s->n_creds ? s->n_creds : 1, sizeof(*keep));
	size_t n = 0;

	/* Out of memory: keeping everything is always correct. */
	if (!keep || keep_evidence(s, keep)) {
		free(keep);
		return;
	}
	for (size_t i = 0; i < s->n_creds; i++)
		if (keep[i] || s->creds[i].not_after > now)
			s->creds[n++] = s->creds[i];
	s->n_creds = n;
	free(keep);
}

/* ---- the cache file ---- */

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static uint8_t *file_image(const struct cred_set *s, size_t *len)
{
	uint8_t *buf, *p;

	*len = CRED_FILE_HDR_LEN + s->n_creds * CRED_LEN +
	       s->n_revokes * CRED_REVOKE_LEN;
	buf = malloc(*len);
	if (!buf)
		return NULL;
	p = put(buf, CRED_FILE_MAGIC, 8);
	p = put(p, s->loop_id, 32);
	p = put(p, s->founder, 32);
	p = put(p, s->broker, 32);
	put_be32(p, (uint32_t)s->n_creds);
	put_be32(p + 4, (uint32_t)s->n_revokes);
	p += 8;
	for (size_t i = 0; i < s->n_creds; i++, p += CRED_LEN)
		cred_encode(&s->creds[i], p);
	for (size_t i = 0; i < s->n_revokes; i++, p += CRED_REVOKE_LEN)
		cred_revoke_encode(&s->revokes[i], p);
	return buf;
}

static int fsync_dir(const char *path)
{
	char *dir = strdup(path), *slash;
	int fd, err = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		err = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return err;
}

static int write_tmp(const char *tmp, const uint8_t *buf, size_t len)
{
	int fd, err;

	/* A stale tmp may carry another owner or mode: start afresh. */
	if (unlink(tmp) && errno != ENOENT)
		return -errno;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -errno;
	err = fchmod(fd, 0600) ? -errno : 0;
	if (!err)
		err = write_all(fd, buf, len);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

int cred_set_save(const struct cred_set *s, const char *path)
{
	size_t len, plen = strlen(path);
	uint8_t *buf;
	char *tmp;
	int err;

	tmp = malloc(plen + 5);
	buf = file_image(s, &len);
	if (!tmp || !buf) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", 5);
	err = write_tmp(tmp, buf, len);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	else
		err = fsync_dir(path);
out:
	free(tmp);
	free(buf);
	return err;
}

static int read_file(const char *path, bool strict, uint8_t **out,
		     size_t *len)
{
	size_t max = CRED_FILE_HDR_LEN + (size_t)CRED_SET_MAX_CREDS * CRED_LEN +
		     (size_t)CRED_SET_MAX_REVOKES * CRED_REVOKE_LEN;
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else if (strict && (st.st_uid != 0 || (st.st_mode & 077)))
		err = -EPERM;
	else if ((uint64_t)st.st_size > max || st.st_size < CRED_FILE_HDR_LEN)
		err = -EBADMSG;
	else if (!(buf = malloc((size_t)st.st_size)))
		err = -ENOMEM;
	while (!err && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = -errno;
		else if (n == 0)
			err = -EBADMSG;	/* shrank under us */
		else
			got += (size_t)n;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*len = got;
	return 0;
}

static int parse_entries(struct cred_set *t, const uint8_t *p, size_t nc,
			 size_t nr, uint64_t now)
{
	for (size_t i = 0; i < nc; i++, p += CRED_LEN) {
		struct cred c;
		size_t before = t->n_creds;

		/* A duplicate entry would be silently dropped: refuse it. */
		if (cred_decode(&c, p, CRED_LEN) || cred_set_add(t, &c) ||
		    t->n_creds != before + 1)
			return -EBADMSG;
	}
	for (size_t i = 0; i < nr; i++, p += CRED_REVOKE_LEN) {
		struct cred_revoke r;

		/* Dated ahead is fine on disk: it was accepted before. */
		if (cred_revoke_decode(&r, p, CRED_REVOKE_LEN) ||
		    cred_set_revoke(t, &r, r.at > now ? r.at : now))
			return -EBADMSG;
	}
	return 0;
}

static bool zero32(const uint8_t k[32])
{
	static const uint8_t z[32];

	return !memcmp(k, z, 32);
}

static int parse_file(struct cred_set *t, const struct cred_set *s,
		      const uint8_t *buf, size_t len)
{
	const uint8_t *h = buf + 8;
	size_t nc, nr;

	if (memcmp(buf, CRED_FILE_MAGIC, 8))
		return -EBADMSG;
	nc = get_be32(h + 96);
	nr = get_be32(h + 100);
	if (nc > CRED_SET_MAX_CREDS || nr > CRED_SET_MAX_REVOKES ||
	    len != CRED_FILE_HDR_LEN + nc * CRED_LEN + nr * CRED_REVOKE_LEN)
		return -EBADMSG;
	cred_set_init(t, h, h + 32, h + 64);
	/* A set the caller initialised must be for the same loop. */
	if (!zero32(s->loop_id) &&
	    (!key_eq(s->loop_id, t->loop_id) ||
	     !key_eq(s->founder, t->founder) || !key_eq(s->broker, t->broker)))
		return -EBADMSG;
	return parse_entries(t, buf + CRED_FILE_HDR_LEN, nc, nr,
			     (uint64_t)time(NULL));
}

int cred_set_load(struct cred_set *s, const char *path, bool strict)
{
	struct cred_set t;
	uint8_t *buf = NULL;
	size_t len = 0;
	int err;

	memset(&t, 0, sizeof(t));
	err = read_file(path, strict, &buf, &len);
	if (err)
		return err;
	err = parse_file(&t, s, buf, len);
	free(buf);
	if (err) {
		cred_set_free(&t);
		return err == -ENOMEM ? -ENOMEM : -EBADMSG;
	}
	cred_set_free(s);
	*s = t;
	return 0;
}
