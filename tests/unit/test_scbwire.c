// SPDX-License-Identifier: MIT
/* Broker frames: round trips, every refusal of the strict parser, fuzzing. */
#include <stdint.h>
#include <stdlib.h>

#include "scbwire.h"
#include "tai64n.h"
#include "unit.h"

static uint8_t cred_a[SCB_CRED_LEN], cred_b[SCB_CRED_LEN];

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* A frame using every kind of attribute, nests and repeats. */
static size_t build_rich(uint8_t *buf, size_t cap)
{
	struct scbw_buf b;
	uint8_t pub[32], loop_id[32], ep[18], net4[5] = { 100, 64, 4, 0, 22 };
	uint8_t tai[TAI64N_LEN];
	struct timespec ts = { .tv_sec = 1700000000, .tv_nsec = 5 };

	fill(pub, sizeof(pub), 1);
	fill(loop_id, sizeof(loop_id), 2);
	fill(ep, sizeof(ep), 3);
	fill(cred_a, sizeof(cred_a), 4);
	fill(cred_b, sizeof(cred_b), 5);
	tai64n_encode(tai, &ts);

	scbw_start(&b, buf, cap, SCB_MSG_OK, 0xdeadbeef);
	scbw_put_u8(&b, SCB_A_ROLE, SCB_ROLE_ADMIN);
	scbw_put_u16(&b, SCB_A_CODE, SCB_E_OFFLINE);
	scbw_put_u32(&b, SCB_A_TTL, 0x01020304);
	scbw_put_u64(&b, SCB_A_LAST_SEEN, 0x0102030405060708ull);
	scbw_put(&b, SCB_A_PUB, pub, sizeof(pub));
	scbw_put(&b, SCB_A_TAI64N, tai, sizeof(tai));
	scbw_put_str(&b, SCB_A_NAME, "caf\xc3\xa9-\xf0\x9f\x98\x80");
	scbw_put_str(&b, SCB_A_TEXT, "");
	scbw_put_str(&b, SCB_A_PASSWORD, "p\x01\xff");
	scbw_put_str(&b, SCB_A_INVITE, "ABCDEFGH234567");
	scbw_put(&b, SCB_A_CRED, cred_a, sizeof(cred_a));
	scbw_put(&b, SCB_A_CRED, cred_b, sizeof(cred_b));
	scbw_nest_start(&b, SCB_A_LOOP);
	scbw_put(&b, SCB_A_LOOP_ID, loop_id, sizeof(loop_id));
	scbw_put_str(&b, SCB_A_LOOP_NAME, "home");
	scbw_put_u8(&b, SCB_A_POLICY, 2);
	scbw_put(&b, SCB_A_NET4, net4, sizeof(net4));
	scbw_nest_end(&b);
	for (int i = 0; i < 2; i++) {
		scbw_nest_start(&b, SCB_A_PEER);
		scbw_put(&b, SCB_A_DEVICE, pub, sizeof(pub));
		scbw_put_str(&b, SCB_A_NAME, i ? "two" : "one");
		scbw_put(&b, SCB_A_CRED, cred_a, sizeof(cred_a));
		scbw_put(&b, SCB_A_CRED, cred_b, sizeof(cred_b));
		scbw_put(&b, SCB_A_ENDPOINT, ep, sizeof(ep));
		scbw_put(&b, SCB_A_ENDPOINT, ep, sizeof(ep));
		scbw_put_u8(&b, SCB_A_ONLINE, i);
		scbw_nest_end(&b);
	}
	return scbw_end(&b);
}

TEST(scbwire_roundtrip)
{
	static uint8_t buf[4096];
	static struct scbw_frame f, nf;
	const struct scbw_attr *a, *peer;
	char why[128] = "", s[80];
	size_t len = build_rich(buf, sizeof(buf));
	uint8_t pub[32];
	struct timespec ts;

	CHECK(len > SCB_FRAME_HDR_LEN);
	CHECK_EQ_INT(buf[0], SCB_VERSION);
	CHECK_EQ_INT(scbw_parse(&f, buf, len, why, sizeof(why)), 0);
	CHECK_EQ_STR(why, "");
	CHECK_EQ_INT(f.type, SCB_MSG_OK);
	CHECK(f.id == 0xdeadbeef);
	CHECK_EQ_INT(f.n, 15);
	CHECK_EQ_INT(scbw_u8(scbw_get(&f, SCB_A_ROLE)), SCB_ROLE_ADMIN);
	CHECK_EQ_INT(scbw_u16(scbw_get(&f, SCB_A_CODE)), SCB_E_OFFLINE);
	CHECK(scbw_u32(scbw_get(&f, SCB_A_TTL)) == 0x01020304);
	CHECK(scbw_u64(scbw_get(&f, SCB_A_LAST_SEEN)) == 0x0102030405060708ull);
	fill(pub, sizeof(pub), 1);
	a = scbw_get(&f, SCB_A_PUB);
	CHECK(a && a->len == 32 && !memcmp(a->val, pub, 32));
	a = scbw_get(&f, SCB_A_TAI64N);
	CHECK(a && tai64n_decode(a->val, &ts) == 0);
	CHECK(ts.tv_sec == 1700000000 && ts.tv_nsec == 5);
	CHECK(scbw_str(scbw_get(&f, SCB_A_NAME), s, sizeof(s)));
	CHECK_EQ_STR(s, "caf\xc3\xa9-\xf0\x9f\x98\x80");
	CHECK(!scbw_str(scbw_get(&f, SCB_A_NAME), s, 10));	/* too small */
	CHECK(scbw_str(scbw_get(&f, SCB_A_TEXT), s, sizeof(s)));
	CHECK_EQ_STR(s, "");
	CHECK(scbw_str(scbw_get(&f, SCB_A_PASSWORD), s, sizeof(s)));
	CHECK_EQ_STR(s, "p\x01\xff");
	CHECK(scbw_str(scbw_get(&f, SCB_A_INVITE), s, sizeof(s)));
	CHECK_EQ_STR(s, "ABCDEFGH234567");

	a = scbw_get(&f, SCB_A_CRED);
	CHECK(a && !memcmp(a->val, cred_a, SCB_CRED_LEN));
	a = scbw_next(&f, a);
	CHECK(a && !memcmp(a->val, cred_b, SCB_CRED_LEN));
	CHECK(scbw_next(&f, a) == NULL);

	a = scbw_get(&f, SCB_A_LOOP);
	CHECK(a);
	CHECK_EQ_INT(scbw_parse_nested(a, &nf, why, sizeof(why)), 0);
	CHECK_EQ_INT(nf.n, 4);
	CHECK(scbw_str(scbw_get(&nf, SCB_A_LOOP_NAME), s, sizeof(s)));
	CHECK_EQ_STR(s, "home");
	CHECK_EQ_INT(scbw_u8(scbw_get(&nf, SCB_A_POLICY)), 2);
	a = scbw_get(&nf, SCB_A_NET4);
	CHECK(a && a->len == 5 && a->val[0] == 100 && a->val[4] == 22);

	peer = scbw_get(&f, SCB_A_PEER);
	for (int i = 0; i < 2; i++, peer = scbw_next(&f, peer)) {
		CHECK(peer);
		CHECK_EQ_INT(scbw_parse_nested(peer, &nf, why, sizeof(why)), 0);
		CHECK_EQ_INT(nf.n, 7);
		CHECK(scbw_str(scbw_get(&nf, SCB_A_NAME), s, sizeof(s)));
		CHECK_EQ_STR(s, i ? "two" : "one");
		a = scbw_next(&nf, scbw_get(&nf, SCB_A_ENDPOINT));
		CHECK(a && a->len == 18);
		CHECK_EQ_INT(scbw_u8(scbw_get(&nf, SCB_A_ONLINE)), i);
	}
	CHECK(peer == NULL);
	/* Absent attributes read as NULL / 0, never crash. */
	CHECK(scbw_get(&f, SCB_A_REVOKE) == NULL);
	CHECK_EQ_INT(scbw_u32(NULL), 0);
	CHECK(!scbw_str(NULL, s, sizeof(s)));
	/* Not a nest: refused, and a frame's own attribute is not a nest. */
	CHECK_EQ_INT(scbw_parse_nested(scbw_get(&f, SCB_A_PUB), &nf, why,
				       sizeof(why)), SCB_E_MALFORMED);
}

TEST(scbwire_require)
{
	static uint8_t buf[4096];
	static struct scbw_frame f;
	static const uint16_t ok[] = { SCB_A_ROLE, SCB_A_CRED, SCB_A_PEER, 0 };
	static const uint16_t missing[] = { SCB_A_ROLE, SCB_A_REVOKE, 0 };
	char why[128] = "";
	size_t len = build_rich(buf, sizeof(buf));

	CHECK_EQ_INT(scbw_parse(&f, buf, len, why, sizeof(why)), 0);
	CHECK_EQ_INT(scbw_require(&f, ok, why, sizeof(why)), 0);
	CHECK_EQ_INT(scbw_require(&f, missing, why, sizeof(why)),
		     SCB_E_MALFORMED);
	CHECK_EQ_STR(why, "missing REVOKE");
}

TEST(scbwire_builder_limits)
{
	uint8_t buf[64];
	static uint8_t big[SCB_FRAME_MAX + 100], src[70000];
	struct scbw_buf b;

	/* The exact fit works; one byte more overflows, stickily. */
	scbw_start(&b, buf, 8 + 4 + 1, SCB_MSG_OK, 1);
	scbw_put_u8(&b, SCB_A_ONLINE, 1);
	CHECK_EQ_INT(scbw_end(&b), 13);
	scbw_start(&b, buf, 8 + 4, SCB_MSG_OK, 1);
	scbw_put_u8(&b, SCB_A_ONLINE, 1);
	CHECK_EQ_INT(scbw_end(&b), 0);
	scbw_start(&b, buf, 7, SCB_MSG_OK, 1);
	CHECK_EQ_INT(scbw_end(&b), 0);
	scbw_start(&b, NULL, 100, SCB_MSG_OK, 1);
	CHECK_EQ_INT(scbw_end(&b), 0);

	/* No nest inside a nest, no end without start, no open nest. */
	scbw_start(&b, buf, sizeof(buf), SCB_MSG_OK, 1);
	scbw_nest_start(&b, SCB_A_PEER);
	scbw_nest_start(&b, SCB_A_LOOP);
	CHECK_EQ_INT(scbw_end(&b), 0);
	scbw_start(&b, buf, sizeof(buf), SCB_MSG_OK, 1);
	scbw_nest_end(&b);
	CHECK_EQ_INT(scbw_end(&b), 0);
	scbw_start(&b, buf, sizeof(buf), SCB_MSG_OK, 1);
	scbw_nest_start(&b, SCB_A_PEER);
	scbw_put_u8(&b, SCB_A_ONLINE, 1);
	CHECK_EQ_INT(scbw_end(&b), 0);
	/* The parser refuses empty nests, so the builder does too. */
	scbw_start(&b, buf, sizeof(buf), SCB_MSG_OK, 1);
	scbw_nest_start(&b, SCB_A_PEER);
	scbw_nest_end(&b);
	CHECK_EQ_INT(scbw_end(&b), 0);
	/* Only nest types open a nest. */
	scbw_start(&b, buf, sizeof(buf), SCB_MSG_OK, 1);
	scbw_nest_start(&b, SCB_A_NAME);
	CHECK_EQ_INT(scbw_end(&b), 0);
	scbw_start(&b, buf, sizeof(buf), SCB_MSG_OK, 1);
	scbw_put_str(&b, SCB_A_NAME, NULL);
	CHECK_EQ_INT(scbw_end(&b), 0);

	/* A caller's buffer larger than a frame still stops at SCB_FRAME_MAX. */
	scbw_start(&b, big, sizeof(big), SCB_MSG_OK, 1);
	for (int i = 0; i < 400; i++)
		scbw_put(&b, SCB_A_CRED, src, SCB_CRED_LEN);
	CHECK_EQ_INT(scbw_end(&b), 0);
	scbw_start(&b, big, sizeof(big), SCB_MSG_OK, 1);
	scbw_put(&b, SCB_A_TEXT, src, 70000);
	CHECK_EQ_INT(scbw_end(&b), 0);
}

/* ------------------------------------------------------------ refusals */

struct raw {
	uint8_t b[SCB_FRAME_MAX + 16];
	size_t len;
};

static void raw_hdr(struct raw *r)
{
	static const uint8_t h[] = { 1, SCB_MSG_OK, 0, 0, 0, 0, 0, 7 };

	memcpy(r->b, h, sizeof(h));
	r->len = sizeof(h);
}

static void raw_bytes(struct raw *r, const void *p, size_t n)
{
	memcpy(r->b + r->len, p, n);
	r->len += n;
}

static void raw_attr(struct raw *r, uint16_t type, const void *val,
		     uint16_t len)
{
	uint8_t h[4] = { type >> 8, type & 0xff, len >> 8, len & 0xff };

	raw_bytes(r, h, 4);
	if (val)
		raw_bytes(r, val, len);
	else {
		memset(r->b + r->len, 'a', len);
		r->len += len;
	}
}

/* Only an attribute header: the value follows from later calls. */
static void raw_nest(struct raw *r, uint16_t type, uint16_t len)
{
	uint8_t h[4] = { type >> 8, type & 0xff, len >> 8, len & 0xff };

	raw_bytes(r, h, 4);
}

static int raw_parse(const struct raw *r, char *why, size_t whylen)
{
	static struct scbw_frame f;

	why[0] = 0;
	return scbw_parse(&f, r->b, r->len, why, whylen);
}

/* Refused with code, and the reason mentions expect. */
#define REFUSED(r, code, expect)					\
	do {								\
		char why_[160];						\
		CHECK_EQ_INT(raw_parse(r, why_, sizeof(why_)), code);	\
		if (!strstr(why_, expect)) {				\
			fprintf(stderr, "  reason \"%s\"\n", why_);	\
			CHECK(strstr(why_, expect));			\
		}							\
	} while (0)

#define ACCEPTED(r)							\
	do {								\
		char why_[160];						\
		int rc_ = raw_parse(r, why_, sizeof(why_));		\
		if (rc_)						\
			fprintf(stderr, "  reason \"%s\"\n", why_);	\
		CHECK_EQ_INT(rc_, 0);					\
	} while (0)

TEST(scbwire_refuses_header)
{
	static struct raw r;
	static struct scbw_frame f;
	char why[160];

	raw_hdr(&r);
	ACCEPTED(&r);			/* a frame without attributes is fine */
	for (size_t n = 0; n < SCB_FRAME_HDR_LEN; n++) {
		r.len = n;
		REFUSED(&r, SCB_E_MALFORMED, "short header");
	}
	CHECK_EQ_INT(scbw_parse(&f, NULL, 0, why, sizeof(why)),
		     SCB_E_MALFORMED);
	raw_hdr(&r);
	r.b[0] = 2;
	REFUSED(&r, SCB_E_VERSION, "version 2");
	r.b[0] = 0;
	REFUSED(&r, SCB_E_VERSION, "version 0");
	raw_hdr(&r);
	r.b[3] = 1;
	REFUSED(&r, SCB_E_MALFORMED, "flags 0x0001");
	r.b[3] = 0;
	r.b[2] = 0x80;
	REFUSED(&r, SCB_E_MALFORMED, "flags 0x8000");
	raw_hdr(&r);
	memset(r.b + r.len, 0, SCB_FRAME_MAX);
	r.len = SCB_FRAME_MAX + 1;
	REFUSED(&r, SCB_E_MALFORMED, "at most");
	/* A tiny why[] is truncated, not overrun; NULL why is allowed. */
	r.len = 3;
	CHECK_EQ_INT(scbw_parse(&f, r.b, r.len, why, 4), SCB_E_MALFORMED);
	CHECK_EQ_INT(strlen(why), 3);
	CHECK_EQ_INT(scbw_parse(&f, r.b, r.len, NULL, 0), SCB_E_MALFORMED);
}

TEST(scbwire_refuses_layout)
{
	static struct raw r;
	uint8_t three[3] = { 0, SCB_A_ONLINE, 0 };

	raw_hdr(&r);
	raw_bytes(&r, three, 3);
	REFUSED(&r, SCB_E_MALFORMED, "header past end");
	raw_hdr(&r);
	raw_attr(&r, SCB_A_NAME, NULL, 5);
	r.len--;
	REFUSED(&r, SCB_E_MALFORMED, "past end");
	raw_hdr(&r);
	raw_attr(&r, SCB_A_ONLINE, "\x01", 1);
	raw_nest(&r, SCB_A_NAME, 0xffff);
	raw_attr(&r, SCB_A_ONLINE, "\x01", 1);
	REFUSED(&r, SCB_E_MALFORMED, "length 65535 past end");

	raw_hdr(&r);
	raw_attr(&r, SCB_A_UNSPEC, NULL, 0);
	REFUSED(&r, SCB_E_MALFORMED, "unknown attribute type 0");
	raw_hdr(&r);
	raw_attr(&r, SCB_A_MAX + 1, NULL, 1);
	REFUSED(&r, SCB_E_MALFORMED, "unknown attribute type");
	raw_hdr(&r);
	raw_attr(&r, 0xffff, NULL, 0);
	REFUSED(&r, SCB_E_MALFORMED, "unknown attribute type 65535");

	raw_hdr(&r);
	for (int i = 0; i < SCB_ATTR_MAX; i++)
		raw_attr(&r, SCB_A_ENDPOINT, NULL, 18);
	ACCEPTED(&r);
	raw_attr(&r, SCB_A_ENDPOINT, NULL, 18);
	REFUSED(&r, SCB_E_MALFORMED, "more than 256 attributes");

	raw_hdr(&r);
	raw_attr(&r, SCB_A_NAME, NULL, 3);
	raw_attr(&r, SCB_A_ONLINE, "\x01", 1);
	raw_attr(&r, SCB_A_NAME, NULL, 3);
	REFUSED(&r, SCB_E_MALFORMED, "duplicate NAME");
	raw_hdr(&r);
	raw_attr(&r, SCB_A_CRED, NULL, SCB_CRED_LEN);
	raw_attr(&r, SCB_A_CRED, NULL, SCB_CRED_LEN);
	raw_attr(&r, SCB_A_REVOKE, NULL, SCB_REVOKE_LEN);
	raw_attr(&r, SCB_A_REVOKE, NULL, SCB_REVOKE_LEN);
	ACCEPTED(&r);
}

TEST(scbwire_refuses_values)
{
	static struct raw r;
	static const struct {
		uint16_t type;
		const char *val;
		uint16_t len;
		const char *why;	/* NULL: accepted */
	} cases[] = {
		{ SCB_A_PUB, NULL, 31, "PUB: length 31, want 32" },
		{ SCB_A_PUB, NULL, 33, "PUB: length 33, want 32" },
		{ SCB_A_PUB, NULL, 32, NULL },
		{ SCB_A_CRED, NULL, SCB_CRED_LEN - 1, "CRED: length" },
		{ SCB_A_TOKEN, NULL, 0, "TOKEN: length 0" },
		{ SCB_A_ADDR4, NULL, 16, "ADDR4: length 16, want 4" },
		{ SCB_A_ROLE, "\0\1", 2, "ROLE: length 2, want 1" },
		{ SCB_A_CODE, "\1", 1, "CODE: length 1, want 2" },
		{ SCB_A_TTL, "\0\0\0", 3, "TTL: length 3, want 4" },
		{ SCB_A_LAST_SEEN, "\0\0\0\0", 4, "LAST_SEEN: length 4" },
		{ SCB_A_ROLE, "\3", 1, "ROLE: value 3 outside 1..2" },
		{ SCB_A_ROLE, "\0", 1, "ROLE: value 0" },
		{ SCB_A_POLICY, "\0", 1, "POLICY: value 0 outside 1..2" },
		{ SCB_A_POLICY, "\2", 1, NULL },
		{ SCB_A_ACCEPT, "\2", 1, "ACCEPT: value 2" },
		{ SCB_A_ONLINE, "\xff", 1, "ONLINE: value 255" },
		{ SCB_A_STATE, "\4", 1, "STATE: value 4" },
		{ SCB_A_STATE, "\3", 1, NULL },
		{ SCB_A_NET4, "\144\100\0\0\41", 5, "NET4: prefix" },
		{ SCB_A_NET4, "\144\100\0\0\40", 5, NULL },
		{ SCB_A_NET6, "aaaaaaaaaaaaaaaa\201", 17, "NET6: prefix" },
		{ SCB_A_NET6, "aaaaaaaaaaaaaaaa\200", 17, NULL },
		/* nanoseconds 10^9: not a TAI64N label */
		{ SCB_A_TAI64N, "\100\0\0\0\145\0\0\1\73\232\312\0", 12,
		  "TAI64N: not a TAI64N label" },
		{ SCB_A_TAI64N, "\100\0\0\0\145\0\0\1\73\232\311\377", 12,
		  NULL },
		{ SCB_A_NAME, "ab\0c", 4, "NAME: NUL byte" },
		{ SCB_A_PASSWORD, "ab\0c", 4, "PASSWORD: NUL byte" },
		{ SCB_A_PASSWORD, "\1\2\377", 3, NULL },
		{ SCB_A_NAME, "", 0, "NAME: length 0 outside 1..64" },
		{ SCB_A_NAME, NULL, 65, "NAME: length 65 outside 1..64" },
		{ SCB_A_NAME, NULL, 64, NULL },
		{ SCB_A_USER, NULL, 65, "USER: length 65" },
		{ SCB_A_LOOP_NAME, NULL, 65, "LOOP_NAME: length 65" },
		{ SCB_A_PASSWORD, NULL, 257, "PASSWORD: length 257" },
		{ SCB_A_PASSWORD, NULL, 256, NULL },
		{ SCB_A_TEXT, NULL, 256, "TEXT: length 256 outside 0..255" },
		{ SCB_A_TEXT, NULL, 255, NULL },
		{ SCB_A_TEXT, "", 0, NULL },
		{ SCB_A_TEXT, "a\nb", 3, "TEXT: control character" },
		{ SCB_A_NAME, "a\177", 2, "NAME: control character" },
		{ SCB_A_NAME, "\300\200", 2, "NAME: invalid UTF-8" },
		{ SCB_A_NAME, "\355\240\200", 3, "invalid UTF-8" },
		{ SCB_A_NAME, "\364\220\200\200", 4, "invalid UTF-8" },
		{ SCB_A_NAME, "\303", 1, "invalid UTF-8" },
		{ SCB_A_NAME, "\200", 1, "invalid UTF-8" },
		{ SCB_A_NAME, "\303\251\364\217\277\277", 6, NULL },
		{ SCB_A_INVITE, "AB CD", 5, "INVITE: not printable" },
		{ SCB_A_INVITE, "AB\303\251", 4, "INVITE: not printable" },
		{ SCB_A_INVITE, "", 0, "INVITE: length 0" },
		{ SCB_A_INVITE, NULL, 65, "INVITE: length 65" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		raw_hdr(&r);
		raw_attr(&r, cases[i].type, cases[i].val, cases[i].len);
		if (cases[i].why) {
			REFUSED(&r, SCB_E_MALFORMED, cases[i].why);
		} else {
			ACCEPTED(&r);
		}
	}
}

TEST(scbwire_refuses_nests)
{
	static struct raw r, inner;
	static struct scbw_frame f, nf;
	char why[160];

	raw_hdr(&r);
	raw_attr(&r, SCB_A_PEER, NULL, 0);
	REFUSED(&r, SCB_E_MALFORMED, "empty PEER");

	/* A nest inside a nest. */
	inner.len = 0;
	raw_attr(&inner, SCB_A_ONLINE, "\1", 1);
	raw_hdr(&r);
	raw_nest(&r, SCB_A_PEER, 4 + 5 + 5);
	raw_nest(&r, SCB_A_LOOP, 5);
	raw_bytes(&r, inner.b, inner.len);
	raw_attr(&r, SCB_A_ONLINE, "\1", 1);
	REFUSED(&r, SCB_E_MALFORMED, "in PEER: LOOP nested inside a nest");

	/* Inner faults are reported with the nest's name. */
	raw_hdr(&r);
	raw_nest(&r, SCB_A_PEER, 5 + 5);
	raw_attr(&r, SCB_A_ONLINE, "\1", 1);
	raw_attr(&r, SCB_A_ONLINE, "\0", 1);
	REFUSED(&r, SCB_E_MALFORMED, "in PEER: duplicate ONLINE");
	raw_hdr(&r);
	raw_nest(&r, SCB_A_PEER, 4 + 3);
	raw_attr(&r, SCB_A_NAME, "a\0b", 3);
	REFUSED(&r, SCB_E_MALFORMED, "in PEER: NAME: NUL byte");
	raw_hdr(&r);
	raw_nest(&r, SCB_A_LOOP, 6);
	raw_attr(&r, SCB_A_ONLINE, "\1", 1);
	raw_bytes(&r, "\0", 1);
	REFUSED(&r, SCB_E_MALFORMED, "in LOOP: attribute header past end");
	raw_hdr(&r);
	raw_nest(&r, SCB_A_LOOP, 8);
	raw_attr(&r, SCB_A_NAME, NULL, 5);
	r.len -= 1;
	REFUSED(&r, SCB_E_MALFORMED, "in LOOP: attribute type 9 length 5");

	/* Too many inside one nest; the same name in two nests is fine. */
	raw_hdr(&r);
	raw_nest(&r, SCB_A_PEER, (SCB_ATTR_MAX + 1) * 22);
	for (int i = 0; i <= SCB_ATTR_MAX; i++)
		raw_attr(&r, SCB_A_ENDPOINT, NULL, 18);
	REFUSED(&r, SCB_E_MALFORMED, "in PEER: more than 256 attributes");
	raw_hdr(&r);
	for (int i = 0; i < 2; i++) {
		raw_nest(&r, SCB_A_PEER, 7);
		raw_attr(&r, SCB_A_NAME, "abc", 3);
	}
	raw_attr(&r, SCB_A_NAME, "abc", 3);
	ACCEPTED(&r);
	CHECK_EQ_INT(scbw_parse(&f, r.b, r.len, why, sizeof(why)), 0);
	CHECK_EQ_INT(f.n, 3);
	CHECK_EQ_INT(scbw_parse_nested(&f.a[1], &nf, why, sizeof(why)), 0);
	CHECK_EQ_INT(nf.n, 1);
	CHECK_EQ_INT(nf.a[0].type, SCB_A_NAME);
}

TEST(scbwire_names)
{
	static const int msgs[] = {
		1, 2, 3, 4, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
		48, 49, 50, 51, 52, 53, 54, 55, 56,
		96, 97, 98, 99, 100, 101, 102, 103,
	};
	static const int codes[] = {
		0, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410,
		411, 412, 413, 414, 415, 416, 417, 418, 419, 420, 421, 500,
		501,
	};

	for (size_t i = 0; i < sizeof(msgs) / sizeof(*msgs); i++)
		CHECK(strcmp(scbw_msg_name(msgs[i]), "unknown"));
	CHECK_EQ_STR(scbw_msg_name(SCB_MSG_EV_WIPE), "EV_WIPE");
	CHECK_EQ_STR(scbw_msg_name(0), "unknown");
	CHECK_EQ_STR(scbw_msg_name(5), "unknown");
	CHECK_EQ_STR(scbw_msg_name(255), "unknown");
	CHECK_EQ_STR(scbw_msg_name(-1), "unknown");
	for (int t = 1; t <= SCB_A_MAX; t++)
		CHECK(strcmp(scbw_attr_name(t), "unknown"));
	CHECK_EQ_STR(scbw_attr_name(SCB_A_LOOP_ID), "LOOP_ID");
	CHECK_EQ_STR(scbw_attr_name(SCB_A_BROKER), "BROKER");
	CHECK_EQ_STR(scbw_attr_name(0), "unknown");
	CHECK_EQ_STR(scbw_attr_name(SCB_A_MAX + 1), "unknown");
	CHECK_EQ_STR(scbw_attr_name(-3), "unknown");
	for (size_t i = 0; i < sizeof(codes) / sizeof(*codes); i++)
		CHECK(strcmp(scbw_strerror(codes[i]), "unknown error"));
	CHECK_EQ_STR(scbw_strerror(SCB_E_OFFLINE), "member not online");
	CHECK_EQ_STR(scbw_strerror(399), "unknown error");
}

/* ------------------------------------------------------------ fuzzing */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

/*
 * Whatever the parser accepts must rebuild to the same bytes: nothing
 * read past the buffer, nothing skipped, every nest parseable again.
 */
static int rebuild_same(const struct scbw_frame *f, const uint8_t *buf,
			size_t len)
{
	static uint8_t out[SCB_FRAME_MAX];
	static struct scbw_frame nf;
	struct scbw_buf b;
	char why[160];

	scbw_start(&b, out, sizeof(out), f->type, f->id);
	for (size_t i = 0; i < f->n; i++) {
		const struct scbw_attr *a = &f->a[i];

		if (a->val < buf + SCB_FRAME_HDR_LEN ||
		    a->val + a->len > buf + len)
			return -1;
		if (a->type < SCB_A_LOOP || a->type > SCB_A_PENDING) {
			scbw_put(&b, a->type, a->val, a->len);
			continue;
		}
		if (scbw_parse_nested(a, &nf, why, sizeof(why)))
			return -1;
		scbw_nest_start(&b, a->type);
		for (size_t j = 0; j < nf.n; j++)
			scbw_put(&b, nf.a[j].type, nf.a[j].val, nf.a[j].len);
		scbw_nest_end(&b);
	}
	return scbw_end(&b) == len && !memcmp(out, buf, len) ? 0 : -1;
}

static size_t mutate(uint8_t *buf, size_t len, size_t cap)
{
	switch (rnd() % 6) {
	case 0:	/* flip bits */
		for (int k = rnd() % 4 + 1; k > 0 && len; k--)
			buf[rnd() % len] ^= 1u << (rnd() % 8);
		return len;
	case 1:	/* truncate */
		return len ? rnd() % len : 0;
	case 2:	/* a random byte anywhere */
		if (len)
			buf[rnd() % len] = rnd();
		return len;
	case 3:	/* a length field made small or large */
		if (len > 12) {
			size_t at = 8 + rnd() % (len - 10);

			buf[at] = rnd() % 3 ? 0 : rnd();
			buf[at + 1] = rnd();
		}
		return len;
	case 4:	/* append garbage */
		for (int k = rnd() % 8; k > 0 && len < cap; k--)
			buf[len++] = rnd();
		return len;
	default:	/* duplicate a slice */
		if (len > 8) {
			size_t from = 8 + rnd() % (len - 8);
			size_t n = rnd() % (len - from + 1);

			if (len + n <= cap) {
				memmove(buf + from + n, buf + from, len - from);
				len += n;
			}
		}
		return len;
	}
}

TEST(scbwire_fuzz)
{
	static uint8_t valid[4096], buf[4096 + 64];
	static struct scbw_frame f;
	size_t vlen = build_rich(valid, sizeof(valid)), len;
	long accepted = 0, refused = 0;
	char why[160];
	uint8_t *heap;
	int rc;

	CHECK(vlen);
	for (int i = 0; i < 200000; i++) {
		if (i % 4 == 0) {
			len = rnd() % 300;
			for (size_t k = 0; k < len; k++)
				buf[k] = rnd();
			if (rnd() % 2 && len >= 8)
				memcpy(buf, "\1\3\0\0", 4);
		} else {
			memcpy(buf, valid, vlen);
			len = vlen;
			for (int k = rnd() % 3 + 1; k > 0; k--)
				len = mutate(buf, len, sizeof(buf));
		}
		/* An exact-size heap copy: ASan catches any overread. */
		heap = malloc(len ? len : 1);
		CHECK(heap);
		memcpy(heap, buf, len);
		why[0] = 0;
		rc = scbw_parse(&f, heap, len, why, sizeof(why));
		if (rc == 0) {
			accepted++;
			if (rebuild_same(&f, heap, len)) {
				free(heap);
				CHECK(!"accepted frame does not rebuild");
			}
		} else {
			refused++;
			if (!why[0] || (rc != SCB_E_MALFORMED &&
					rc != SCB_E_VERSION)) {
				free(heap);
				CHECK(!"refusal without reason or code");
			}
		}
		free(heap);
	}
	fprintf(stderr, "  fuzz: %ld accepted, %ld refused\n", accepted,
		refused);
	CHECK(accepted > 1000 && refused > 1000);
}
