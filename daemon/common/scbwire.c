// SPDX-License-Identifier: MIT
/*
 * Broker frames: a builder and a strict parser driven by one policy
 * table.  The parser is the broker's first line of defence against
 * hostile devices, so it checks every attribute against the table before
 * any handler sees it: handlers may then read fixed-size values without
 * length checks and print strings without escaping.  The builder only
 * checks structure (sizes, nesting); a sender's policy mistake shows up
 * as the receiver's B400 with a reason naming the attribute.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scbwire.h"
#include "tai64n.h"

enum kind {
	K_NONE,		/* not a valid type (UNSPEC, gaps) */
	K_U8,
	K_U16,
	K_U32,
	K_U64,
	K_FIXED,	/* exactly min bytes */
	K_STR,		/* min..max bytes, see enum str_rule */
	K_NEST,		/* attributes inside, one level only */
};

enum str_rule {
	S_BYTES,	/* anything but NUL (passwords) */
	S_TEXT,		/* well-formed UTF-8, no control characters */
	S_PRINT,	/* printable ASCII without space (invite codes) */
};

struct policy {
	const char *name;
	enum kind kind;
	/* lengths for K_FIXED and K_STR; value range for integers if max */
	uint32_t min, max;
	enum str_rule str;
	bool repeat;
	/* extra check of a fixed-size value; returns a reason or NULL */
	const char *(*check)(const uint8_t *val);
};

static const char *check_net4(const uint8_t *val)
{
	return val[4] > 32 ? "prefix length above 32" : NULL;
}

static const char *check_net6(const uint8_t *val)
{
	return val[16] > 128 ? "prefix length above 128" : NULL;
}

static const char *check_tai64n(const uint8_t *val)
{
	struct timespec ts;

	return tai64n_decode(val, &ts) ? "not a TAI64N label" : NULL;
}

/* Name, kind, min, max, then any of .str, .repeat, .check. */
#define P(...)	P_(__VA_ARGS__)	/* expands ANY and LEN() first */
#define P_(n, k, lo, hi, ...) \
	{ .name = n, .kind = k, .min = lo, .max = hi, __VA_ARGS__ }
#define ANY	0, 0		/* integers: no range check */
#define LEN(n)	n, n		/* fixed size */
#define REP	.repeat = true

static const struct policy policy[SCB_A_MAX + 1] = {
	[SCB_A_CODE]		= P("CODE", K_U16, ANY),
	[SCB_A_TEXT]		= P("TEXT", K_STR, 0, 255, .str = S_TEXT),
	[SCB_A_TAI64N]		= P("TAI64N", K_FIXED, LEN(TAI64N_LEN),
				    .check = check_tai64n),
	[SCB_A_ROLE]		= P("ROLE", K_U8, SCB_ROLE_DEVICE,
				    SCB_ROLE_ADMIN),
	[SCB_A_PUB]		= P("PUB", K_FIXED, LEN(32)),
	[SCB_A_TOKEN]		= P("TOKEN", K_FIXED, LEN(16)),
	[SCB_A_USER]		= P("USER", K_STR, 1, 64, .str = S_TEXT),
	[SCB_A_PASSWORD]	= P("PASSWORD", K_STR, 1, 256, .str = S_BYTES),
	[SCB_A_NAME]		= P("NAME", K_STR, 1, 64, .str = S_TEXT),
	[SCB_A_LOOP_NAME]	= P("LOOP_NAME", K_STR, 1, 64, .str = S_TEXT),
	[SCB_A_LOOP_ID]		= P("LOOP_ID", K_FIXED, LEN(32)),
	[SCB_A_POLICY]		= P("POLICY", K_U8, 1, 2),
	[SCB_A_CRED]		= P("CRED", K_FIXED, LEN(SCB_CRED_LEN), REP),
	[SCB_A_TTL]		= P("TTL", K_U32, ANY),
	[SCB_A_INVITE]		= P("INVITE", K_STR, 1, 64, .str = S_PRINT),
	[SCB_A_DEVICE]		= P("DEVICE", K_FIXED, LEN(32)),
	[SCB_A_ADDR4]		= P("ADDR4", K_FIXED, LEN(4)),
	[SCB_A_ADDR6]		= P("ADDR6", K_FIXED, LEN(16)),
	[SCB_A_NET4]		= P("NET4", K_FIXED, LEN(5), .check = check_net4),
	[SCB_A_NET6]		= P("NET6", K_FIXED, LEN(17), .check = check_net6),
	[SCB_A_ENDPOINT]	= P("ENDPOINT", K_FIXED, LEN(18), REP),
	[SCB_A_ACCEPT]		= P("ACCEPT", K_U8, 0, 1),
	[SCB_A_AT_MS]		= P("AT_MS", K_U32, ANY),
	[SCB_A_REASON]		= P("REASON", K_U16, ANY),
	[SCB_A_LIMIT]		= P("LIMIT", K_U32, ANY),
	[SCB_A_STATE]		= P("STATE", K_U8, SCB_DEV_ACTIVE,
				    SCB_DEV_REMOVED),
	[SCB_A_ONLINE]		= P("ONLINE", K_U8, 0, 1),
	[SCB_A_LAST_SEEN]	= P("LAST_SEEN", K_U64, ANY),
	[SCB_A_COUNT]		= P("COUNT", K_U32, ANY),
	[SCB_A_EXPIRES]		= P("EXPIRES", K_U64, ANY),
	[SCB_A_LOOP]		= P("LOOP", K_NEST, ANY, REP),
	[SCB_A_PEER]		= P("PEER", K_NEST, ANY, REP),
	[SCB_A_USER_ENTRY]	= P("USER_ENTRY", K_NEST, ANY, REP),
	[SCB_A_DEVICE_ENTRY]	= P("DEVICE_ENTRY", K_NEST, ANY, REP),
	[SCB_A_INVITE_ENTRY]	= P("INVITE_ENTRY", K_NEST, ANY, REP),
	[SCB_A_PENDING]		= P("PENDING", K_NEST, ANY, REP),
	[SCB_A_REVOKE]		= P("REVOKE", K_FIXED, LEN(SCB_REVOKE_LEN), REP),
	[SCB_A_FOUNDER]		= P("FOUNDER", K_FIXED, LEN(32)),
	[SCB_A_BROKER]		= P("BROKER", K_FIXED, LEN(32)),
};

static const struct policy *policy_of(unsigned int type)
{
	if (type > SCB_A_MAX || policy[type].kind == K_NONE)
		return NULL;
	return &policy[type];
}

static const char *const msg_names[] = {
	[SCB_MSG_HELLO] = "HELLO",
	[SCB_MSG_WELCOME] = "WELCOME",
	[SCB_MSG_OK] = "OK",
	[SCB_MSG_ERROR] = "ERROR",
	[SCB_MSG_REGISTER] = "REGISTER",
	[SCB_MSG_LOOP_CREATE] = "LOOP_CREATE",
	[SCB_MSG_INVITE_CREATE] = "INVITE_CREATE",
	[SCB_MSG_JOIN] = "JOIN",
	[SCB_MSG_APPROVE] = "APPROVE",
	[SCB_MSG_REJECT] = "REJECT",
	[SCB_MSG_LOOP_GET] = "LOOP_GET",
	[SCB_MSG_CONNECT] = "CONNECT",
	[SCB_MSG_CONNECT_ANSWER] = "CONNECT_ANSWER",
	[SCB_MSG_RENEW] = "RENEW",
	[SCB_MSG_RENEW_ANSWER] = "RENEW_ANSWER",
	[SCB_MSG_LOOPS] = "LOOPS",
	[SCB_MSG_REVOKE] = "REVOKE",
	[SCB_MSG_EV_PENDING] = "EV_PENDING",
	[SCB_MSG_EV_JOINED] = "EV_JOINED",
	[SCB_MSG_EV_MEMBER] = "EV_MEMBER",
	[SCB_MSG_EV_CONNECT] = "EV_CONNECT",
	[SCB_MSG_EV_RENDEZVOUS] = "EV_RENDEZVOUS",
	[SCB_MSG_EV_REVOKED] = "EV_REVOKED",
	[SCB_MSG_EV_WIPE] = "EV_WIPE",
	[SCB_MSG_EV_RENEW] = "EV_RENEW",
	[SCB_MSG_EV_REJECTED] = "EV_REJECTED",
	[SCB_MSG_ADM_USER_ADD] = "ADM_USER_ADD",
	[SCB_MSG_ADM_USER_SET] = "ADM_USER_SET",
	[SCB_MSG_ADM_USER_LIST] = "ADM_USER_LIST",
	[SCB_MSG_ADM_DEVICE_LIST] = "ADM_DEVICE_LIST",
	[SCB_MSG_ADM_DEVICE_SET] = "ADM_DEVICE_SET",
	[SCB_MSG_ADM_LOOP_LIST] = "ADM_LOOP_LIST",
	[SCB_MSG_ADM_LOOP_SHOW] = "ADM_LOOP_SHOW",
	[SCB_MSG_ADM_REVOKE] = "ADM_REVOKE",
};

static const struct {
	int code;
	const char *text;
} errors[] = {
	{ SCB_E_OK, "success" },
	{ SCB_E_MALFORMED, "malformed frame" },
	{ SCB_E_VERSION, "unsupported protocol version" },
	{ SCB_E_UNKNOWN_MSG, "unknown or unexpected message" },
	{ SCB_E_REPLAY, "replayed hello (timestamp not newer)" },
	{ SCB_E_AUTH, "bad user or password" },
	{ SCB_E_NOT_REGISTERED, "device not registered" },
	{ SCB_E_SUSPENDED, "device suspended" },
	{ SCB_E_STOLEN, "device reported stolen" },
	{ SCB_E_REMOVED, "device removed" },
	{ SCB_E_DEVICE_LIMIT, "user's device limit reached" },
	{ SCB_E_LICENCE, "broker licence limit reached" },
	{ SCB_E_NOT_ADMIN, "not an admin connection" },
	{ SCB_E_NO_LOOP, "no such loop" },
	{ SCB_E_NOT_MEMBER, "not a member of that loop" },
	{ SCB_E_INVITE, "invitation unknown, used or expired" },
	{ SCB_E_BAD_CRED, "credential refused" },
	{ SCB_E_EXISTS, "already exists" },
	{ SCB_E_NO_DEVICE, "no such device" },
	{ SCB_E_OFFLINE, "member not online" },
	{ SCB_E_REJECTED, "rejected" },
	{ SCB_E_FULL, "loop address range exhausted" },
	{ SCB_E_BUSY, "broker busy" },
	{ SCB_E_STORE, "broker store failure" },
	{ SCB_E_INTERNAL, "broker internal error" },
};

const char *scbw_msg_name(int type)
{
	size_t n = sizeof(msg_names) / sizeof(*msg_names);

	if (type < 0 || (size_t)type >= n || !msg_names[type])
		return "unknown";
	return msg_names[type];
}

const char *scbw_attr_name(int type)
{
	const struct policy *p = type < 0 ? NULL : policy_of(type);

	return p ? p->name : "unknown";
}

const char *scbw_strerror(int code)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(*errors); i++)
		if (errors[i].code == code)
			return errors[i].text;
	return "unknown error";
}

/* ------------------------------------------------------------ builder */

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v);
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)get_be16(p) << 16 | get_be16(p + 2);
}

/* Room for n more bytes within both the caller's buffer and a frame. */
static bool room(struct scbw_buf *b, size_t n)
{
	size_t cap = b->cap < SCB_FRAME_MAX ? b->cap : SCB_FRAME_MAX;

	if (b->overflow || n > cap || b->len > cap - n) {
		b->overflow = true;
		return false;
	}
	return true;
}

void scbw_start(struct scbw_buf *b, uint8_t *buf, size_t cap, uint8_t type,
		uint32_t id)
{
	*b = (struct scbw_buf){ .p = buf, .cap = buf ? cap : 0 };
	if (!room(b, SCB_FRAME_HDR_LEN))
		return;
	b->p[0] = SCB_VERSION;
	b->p[1] = type;
	put_be16(b->p + 2, 0);
	put_be32(b->p + 4, id);
	b->len = SCB_FRAME_HDR_LEN;
}

void scbw_put(struct scbw_buf *b, uint16_t type, const void *val, size_t len)
{
	if (len > UINT16_MAX || (!val && len)) {
		b->overflow = true;
		return;
	}
	if (!room(b, SCB_ATTR_HDR_LEN + len))
		return;
	put_be16(b->p + b->len, type);
	put_be16(b->p + b->len + 2, len);
	if (len)
		memcpy(b->p + b->len + SCB_ATTR_HDR_LEN, val, len);
	b->len += SCB_ATTR_HDR_LEN + len;
}

void scbw_put_u8(struct scbw_buf *b, uint16_t type, uint8_t v)
{
	scbw_put(b, type, &v, 1);
}

void scbw_put_u16(struct scbw_buf *b, uint16_t type, uint16_t v)
{
	uint8_t w[2];

	put_be16(w, v);
	scbw_put(b, type, w, sizeof(w));
}

void scbw_put_u32(struct scbw_buf *b, uint16_t type, uint32_t v)
{
	uint8_t w[4];

	put_be32(w, v);
	scbw_put(b, type, w, sizeof(w));
}

void scbw_put_u64(struct scbw_buf *b, uint16_t type, uint64_t v)
{
	uint8_t w[8];

	put_be32(w, v >> 32);
	put_be32(w + 4, v);
	scbw_put(b, type, w, sizeof(w));
}

void scbw_put_str(struct scbw_buf *b, uint16_t type, const char *s)
{
	if (!s) {
		b->overflow = true;
		return;
	}
	scbw_put(b, type, s, strlen(s));
}

void scbw_nest_start(struct scbw_buf *b, uint16_t type)
{
	const struct policy *p = policy_of(type);

	/* Misuse is sticky like an overflow: the frame is never sent. */
	if (b->nested || !p || p->kind != K_NEST) {
		b->overflow = true;
		return;
	}
	if (!room(b, SCB_ATTR_HDR_LEN))
		return;
	b->nest = b->len;
	put_be16(b->p + b->len, type);
	put_be16(b->p + b->len + 2, 0);
	b->len += SCB_ATTR_HDR_LEN;
	b->nested = true;
}

void scbw_nest_end(struct scbw_buf *b)
{
	size_t inner;

	if (!b->nested) {
		b->overflow = true;
		return;
	}
	b->nested = false;
	if (b->overflow)
		return;
	inner = b->len - b->nest - SCB_ATTR_HDR_LEN;
	if (!inner) {		/* the parser refuses empty nests */
		b->overflow = true;
		return;
	}
	put_be16(b->p + b->nest + 2, inner);
}

size_t scbw_end(struct scbw_buf *b)
{
	if (b->overflow || b->nested || b->len < SCB_FRAME_HDR_LEN)
		return 0;
	return b->len;
}

/* ------------------------------------------------------------ parser */

static int refuse(char *why, size_t whylen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int refuse(char *why, size_t whylen, int code, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Length of the UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates, beyond Unicode */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* Why the string is refused, or NULL. */
static const char *check_str(const struct policy *p, const uint8_t *s,
			     size_t n)
{
	size_t step;

	if (memchr(s, 0, n))
		return "NUL byte";
	for (size_t i = 0; i < n; i += step) {
		step = 1;
		switch (p->str) {
		case S_BYTES:
			return NULL;
		case S_PRINT:
			if (s[i] <= 0x20 || s[i] >= 0x7f)
				return "not printable ASCII";
			break;
		case S_TEXT:
			if (s[i] < 0x20 || s[i] == 0x7f)
				return "control character";
			step = utf8_seq(s + i, n - i);
			if (!step)
				return "invalid UTF-8";
			break;
		}
	}
	return NULL;
}

static const uint32_t int_len[] = {
	[K_U8] = 1, [K_U16] = 2, [K_U32] = 4, [K_U64] = 8,
};

static uint64_t get_uint(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static int parse_attrs(const uint8_t *p, size_t len, struct scbw_frame *f,
		       bool top, char *why, size_t whylen);

static int check_value(const struct policy *p, const uint8_t *val,
		       uint16_t len, bool top, char *why, size_t whylen)
{
	const char *bad;
	char inner[128];
	uint64_t v;
	int rc;

	switch (p->kind) {
	case K_U8:
	case K_U16:
	case K_U32:
	case K_U64:
		if (len != int_len[p->kind])
			return refuse(why, whylen, SCB_E_MALFORMED,
				      "%s: length %u, want %u", p->name, len,
				      int_len[p->kind]);
		v = get_uint(val, len);
		if (p->max && (v < p->min || v > p->max))
			return refuse(why, whylen, SCB_E_MALFORMED,
				      "%s: value %llu outside %u..%u", p->name,
				      (unsigned long long)v, p->min, p->max);
		return 0;
	case K_FIXED:
		if (len != p->min)
			return refuse(why, whylen, SCB_E_MALFORMED,
				      "%s: length %u, want %u", p->name, len,
				      p->min);
		bad = p->check ? p->check(val) : NULL;
		if (bad)
			return refuse(why, whylen, SCB_E_MALFORMED, "%s: %s",
				      p->name, bad);
		return 0;
	case K_STR:
		if (len < p->min || len > p->max)
			return refuse(why, whylen, SCB_E_MALFORMED,
				      "%s: length %u outside %u..%u", p->name,
				      len, p->min, p->max);
		bad = check_str(p, val, len);
		if (bad)
			return refuse(why, whylen, SCB_E_MALFORMED, "%s: %s",
				      p->name, bad);
		return 0;
	case K_NEST:
		if (!top)
			return refuse(why, whylen, SCB_E_MALFORMED,
				      "%s nested inside a nest", p->name);
		if (!len)
			return refuse(why, whylen, SCB_E_MALFORMED, "empty %s",
				      p->name);
		rc = parse_attrs(val, len, NULL, false, inner, sizeof(inner));
		if (rc)
			return refuse(why, whylen, rc, "in %s: %s", p->name,
				      inner);
		return 0;
	case K_NONE:
		break;
	}
	return refuse(why, whylen, SCB_E_INTERNAL, "no policy");
}

/*
 * Checks an attribute list; with f, also records it.  Nested lists are
 * checked without being recorded (scbw_parse_nested records them later).
 */
static int parse_attrs(const uint8_t *p, size_t len, struct scbw_frame *f,
		       bool top, char *why, size_t whylen)
{
	uint8_t seen[SCB_A_MAX / 8 + 1] = { 0 };
	const struct policy *pol;
	size_t off = 0, n = 0;
	uint16_t type, alen;
	int rc;

	while (off < len) {
		if (len - off < SCB_ATTR_HDR_LEN)
			return refuse(why, whylen, SCB_E_MALFORMED,
				      "attribute header past end at offset %zu",
				      off);
		type = get_be16(p + off);
		alen = get_be16(p + off + 2);
		if (alen > len - off - SCB_ATTR_HDR_LEN)
			return refuse(why, whylen, SCB_E_MALFORMED,
				      "attribute type %u length %u past end",
				      type, alen);
		pol = policy_of(type);
		if (!pol)
			return refuse(why, whylen, SCB_E_MALFORMED,
				      "unknown attribute type %u", type);
		if (n == SCB_ATTR_MAX)
			return refuse(why, whylen, SCB_E_MALFORMED,
				      "more than %d attributes", SCB_ATTR_MAX);
		if (!pol->repeat && (seen[type / 8] & (1u << (type % 8))))
			return refuse(why, whylen, SCB_E_MALFORMED,
				      "duplicate %s", pol->name);
		seen[type / 8] |= 1u << (type % 8);
		rc = check_value(pol, p + off + SCB_ATTR_HDR_LEN, alen, top,
				 why, whylen);
		if (rc)
			return rc;
		if (f)
			f->a[n] = (struct scbw_attr){
				.type = type, .len = alen,
				.val = p + off + SCB_ATTR_HDR_LEN,
			};
		n++;
		off += SCB_ATTR_HDR_LEN + alen;
	}
	if (f)
		f->n = n;
	return 0;
}

int scbw_parse(struct scbw_frame *f, const uint8_t *buf, size_t len,
	       char *why, size_t whylen)
{
	uint16_t flags;

	f->type = 0;
	f->id = 0;
	f->n = 0;
	if (!buf || len < SCB_FRAME_HDR_LEN)
		return refuse(why, whylen, SCB_E_MALFORMED,
			      "short header: %zu bytes", buf ? len : 0);
	if (len > SCB_FRAME_MAX)
		return refuse(why, whylen, SCB_E_MALFORMED,
			      "frame of %zu bytes, at most %d", len,
			      SCB_FRAME_MAX);
	if (buf[0] != SCB_VERSION)
		return refuse(why, whylen, SCB_E_VERSION,
			      "version %u, want %u", buf[0], SCB_VERSION);
	flags = get_be16(buf + 2);
	if (flags)
		return refuse(why, whylen, SCB_E_MALFORMED,
			      "flags 0x%04x, want 0", flags);
	f->type = buf[1];
	f->id = get_be32(buf + 4);
	return parse_attrs(buf + SCB_FRAME_HDR_LEN, len - SCB_FRAME_HDR_LEN, f,
			   true, why, whylen);
}

int scbw_parse_nested(const struct scbw_attr *nest, struct scbw_frame *f,
		      char *why, size_t whylen)
{
	const struct policy *p = nest ? policy_of(nest->type) : NULL;

	f->type = 0;
	f->id = 0;
	f->n = 0;
	if (!p || p->kind != K_NEST)
		return refuse(why, whylen, SCB_E_MALFORMED,
			      "%s is not a nested attribute",
			      scbw_attr_name(nest ? nest->type : 0));
	if (!nest->len)
		return refuse(why, whylen, SCB_E_MALFORMED, "empty %s",
			      p->name);
	return parse_attrs(nest->val, nest->len, f, false, why, whylen);
}

/* ------------------------------------------------------------ access */

const struct scbw_attr *scbw_get(const struct scbw_frame *f, uint16_t type)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->a[i].type == type)
			return &f->a[i];
	return NULL;
}

const struct scbw_attr *scbw_next(const struct scbw_frame *f,
				  const struct scbw_attr *prev)
{
	size_t i;

	if (!prev || prev < f->a || prev >= f->a + f->n)
		return NULL;
	for (i = prev - f->a + 1; i < f->n; i++)
		if (f->a[i].type == prev->type)
			return &f->a[i];
	return NULL;
}

/* The parser checked the sizes; a short or absent attribute reads 0. */
uint8_t scbw_u8(const struct scbw_attr *a)
{
	return a && a->len >= 1 ? a->val[0] : 0;
}

uint16_t scbw_u16(const struct scbw_attr *a)
{
	return a && a->len >= 2 ? get_be16(a->val) : 0;
}

uint32_t scbw_u32(const struct scbw_attr *a)
{
	return a && a->len >= 4 ? get_be32(a->val) : 0;
}

uint64_t scbw_u64(const struct scbw_attr *a)
{
	return a && a->len >= 8 ? get_uint(a->val, 8) : 0;
}

bool scbw_str(const struct scbw_attr *a, char *out, size_t cap)
{
	if (!a || !cap || a->len >= cap)
		return false;
	memcpy(out, a->val, a->len);
	out[a->len] = 0;
	return true;
}

int scbw_require(const struct scbw_frame *f, const uint16_t *need, char *why,
		 size_t whylen)
{
	for (; *need; need++)
		if (!scbw_get(f, *need))
			return refuse(why, whylen, SCB_E_MALFORMED,
				      "missing %s", scbw_attr_name(*need));
	return 0;
}
