// SPDX-License-Identifier: MIT
/*
 * Recursive descent over an explicit length, so the input needs no NUL
 * and may come straight from a file or a socket.  Recursion is bounded
 * by JSON_MAX_DEPTH; every allocation failure is a parse error.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

struct parser {
	const unsigned char *s;
	size_t len, pos;
	int depth;
	struct json_error *err;
	bool failed;
};

static int parse_value(struct parser *p, struct json_value *v);

__attribute__((format(printf, 2, 3)))
static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return -1;
	p->failed = true;
	if (!p->err)
		return -1;
	p->err->offset = p->pos;
	p->err->line = 1;
	p->err->column = 1;
	for (size_t i = 0; i < p->pos && i < p->len; i++) {
		if (p->s[i] == '\n') {
			p->err->line++;
			p->err->column = 1;
		} else {
			p->err->column++;
		}
	}
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static int peek(const struct parser *p)
{
	return p->pos < p->len ? p->s[p->pos] : -1;
}

static int parse_literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n))
		return fail(p, "invalid literal");
	p->pos += n;
	return 0;
}

/* ------------------------------------------------------------- numbers */

static size_t digits(const struct parser *p, size_t at)
{
	size_t n = 0;

	while (at + n < p->len && p->s[at + n] >= '0' && p->s[at + n] <= '9')
		n++;
	return n;
}

static int parse_number(struct parser *p, struct json_value *v)
{
	size_t start = p->pos, at = p->pos, n;
	bool integer = true;
	char buf[JSON_MAX_NUMBER_LEN + 1];
	char *end;

	if (at < p->len && p->s[at] == '-')
		at++;
	n = digits(p, at);
	if (!n)
		return fail(p, "invalid number");
	if (n > 1 && p->s[at] == '0')
		return fail(p, "leading zero in number");
	at += n;
	if (at < p->len && p->s[at] == '.') {
		integer = false;
		n = digits(p, ++at);
		if (!n)
			return fail(p, "digit expected after '.'");
		at += n;
	}
	if (at < p->len && (p->s[at] == 'e' || p->s[at] == 'E')) {
		integer = false;
		at++;
		if (at < p->len && (p->s[at] == '+' || p->s[at] == '-'))
			at++;
		n = digits(p, at);
		if (!n)
			return fail(p, "digit expected in exponent");
		at += n;
	}
	if (at - start > JSON_MAX_NUMBER_LEN)
		return fail(p, "number longer than %d characters",
			    JSON_MAX_NUMBER_LEN);
	memcpy(buf, p->s + start, at - start);
	buf[at - start] = '\0';

	v->type = JSON_NUMBER;
	errno = 0;
	v->u.number.value = strtod(buf, &end);
	if (isinf(v->u.number.value))
		return fail(p, "number out of range");
	if (integer) {
		errno = 0;
		v->u.number.integer = strtoll(buf, &end, 10);
		v->u.number.is_integer = errno != ERANGE;
	}
	p->pos = at;
	return 0;
}

/* ------------------------------------------------------------- strings */

/* Length of a valid UTF-8 sequence at s (avail bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
	size_t n;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

static size_t put_utf8(char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

static int hex4(struct parser *p, uint32_t *c)
{
	*c = 0;
	if (p->len - p->pos < 4)
		return fail(p, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		unsigned char h = p->s[p->pos + i];
		uint32_t d;

		if (h >= '0' && h <= '9')
			d = h - '0';
		else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
			d = (h | 0x20) - 'a' + 10;
		else
			return fail(p, "invalid \\u escape");
		*c = *c << 4 | d;
	}
	p->pos += 4;
	return 0;
}

/* After "\u": one code point, joining a surrogate pair. */
static int parse_u_escape(struct parser *p, uint32_t *c)
{
	uint32_t lo;

	if (hex4(p, c))
		return -1;
	if (*c >= 0xdc00 && *c <= 0xdfff)
		return fail(p, "unpaired low surrogate");
	if (*c >= 0xd800 && *c <= 0xdbff) {
		if (p->len - p->pos < 2 || p->s[p->pos] != '\\' ||
		    p->s[p->pos + 1] != 'u')
			return fail(p, "unpaired high surrogate");
		p->pos += 2;
		if (hex4(p, &lo))
			return -1;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail(p, "invalid low surrogate");
		*c = 0x10000 + ((*c - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (*c == 0)
		return fail(p, "\\u0000 is not accepted");
	return 0;
}

static int parse_escape(struct parser *p, char *out, size_t *olen)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	uint32_t c;
	int e = peek(p);

	if (e < 0)
		return fail(p, "truncated escape");
	p->pos++;
	if (e == 'u') {
		if (parse_u_escape(p, &c))
			return -1;
		*olen += put_utf8(out + *olen, c);
		return 0;
	}
	hit = e ? strchr(from, e) : NULL;
	if (!hit) {
		p->pos--;
		return fail(p, "invalid escape '\\%c'", e >= 0x20 && e < 0x7f ?
			    e : '?');
	}
	out[(*olen)++] = to[hit - from];
	return 0;
}

/* At the opening quote; decoded text is never longer than the raw text. */
static int parse_string(struct parser *p, char **str, size_t *slen)
{
	size_t cap = 0, olen = 0, n;
	char *out;

	for (size_t i = p->pos + 1; i < p->len && p->s[i] != '"'; i++, cap++)
		if (p->s[i] == '\\')
			i++, cap++;
	out = malloc(cap + 1);
	if (!out)
		return fail(p, "out of memory");
	p->pos++;
	for (;;) {
		int c = peek(p);

		if (c < 0) {
			fail(p, "unterminated string");
			goto bad;
		}
		if (c == '"')
			break;
		if (c < 0x20) {
			fail(p, "control character in string");
			goto bad;
		}
		if (c == '\\') {
			p->pos++;
			if (parse_escape(p, out, &olen))
				goto bad;
			continue;
		}
		n = utf8_len(p->s + p->pos, p->len - p->pos);
		if (!n) {
			fail(p, "invalid UTF-8");
			goto bad;
		}
		memcpy(out + olen, p->s + p->pos, n);
		olen += n;
		p->pos += n;
	}
	p->pos++;
	out[olen] = '\0';
	*str = out;
	*slen = olen;
	return 0;
bad:
	free(out);
	return -1;
}

/* ------------------------------------------------- arrays and objects */

static int grow(struct parser *p, void **items, size_t len, size_t *cap,
		size_t size)
{
	void *n;
	size_t ncap;

	if (len < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 4;
	n = realloc(*items, ncap * size);
	if (!n)
		return fail(p, "out of memory");
	*items = n;
	*cap = ncap;
	return 0;
}

static int expect_more(struct parser *p, int close, const char *what)
{
	int c;

	skip_ws(p);
	c = peek(p);
	if (c == ',') {
		p->pos++;
		return 1;
	}
	if (c == close) {
		p->pos++;
		return 0;
	}
	return c < 0 ? fail(p, "unterminated %s", what)
		     : fail(p, "',' or '%c' expected in %s", close, what);
}

static int parse_array(struct parser *p, struct json_value *v)
{
	size_t cap = 0;
	int more;

	v->type = JSON_ARRAY;
	p->pos++;
	skip_ws(p);
	if (peek(p) == ']') {
		p->pos++;
		return 0;
	}
	do {
		void *items = v->u.array.items;

		if (grow(p, &items, v->u.array.len, &cap,
			 sizeof(struct json_value)))
			return -1;
		v->u.array.items = items;
		/* Counted even on failure so json_free() releases it. */
		if (parse_value(p, &v->u.array.items[v->u.array.len++]))
			return -1;
		more = expect_more(p, ']', "array");
	} while (more > 0);
	return more;
}

static int parse_member(struct parser *p, struct json_value *obj,
			struct json_member *m)
{
	skip_ws(p);
	if (peek(p) != '"')
		return fail(p, peek(p) < 0 ? "unterminated object"
					   : "string key expected");
	if (parse_string(p, &m->key, &m->key_len))
		return -1;
	for (size_t i = 0; i < obj->u.object.len; i++) {
		const struct json_member *o = &obj->u.object.items[i];

		if (o->key_len == m->key_len &&
		    !memcmp(o->key, m->key, m->key_len))
			return fail(p, "duplicate key \"%.40s\"", m->key);
	}
	skip_ws(p);
	if (peek(p) != ':')
		return fail(p, "':' expected");
	p->pos++;
	return parse_value(p, &m->value);
}

static int parse_object(struct parser *p, struct json_value *v)
{
	size_t cap = 0;
	int more;

	v->type = JSON_OBJECT;
	p->pos++;
	skip_ws(p);
	if (peek(p) == '}') {
		p->pos++;
		return 0;
	}
	do {
		void *items = v->u.object.items;
		struct json_member *m;
		int rc;

		if (grow(p, &items, v->u.object.len, &cap,
			 sizeof(struct json_member)))
			return -1;
		v->u.object.items = items;
		m = &v->u.object.items[v->u.object.len];
		memset(m, 0, sizeof(*m));
		rc = parse_member(p, v, m);
		/* Counted even on failure so json_free() releases it. */
		v->u.object.len++;
		if (rc)
			return -1;
		more = expect_more(p, '}', "object");
	} while (more > 0);
	return more;
}

static int parse_value(struct parser *p, struct json_value *v)
{
	int c, rc;

	memset(v, 0, sizeof(*v));
	skip_ws(p);
	c = peek(p);
	switch (c) {
	case '{':
	case '[':
		if (++p->depth > JSON_MAX_DEPTH)
			return fail(p, "nesting deeper than %d", JSON_MAX_DEPTH);
		rc = c == '{' ? parse_object(p, v) : parse_array(p, v);
		p->depth--;
		return rc;
	case '"':
		v->type = JSON_STRING;
		return parse_string(p, &v->u.string.ptr, &v->u.string.len);
	case 't':
	case 'f':
		v->type = JSON_BOOL;
		v->u.boolean = c == 't';
		return parse_literal(p, c == 't' ? "true" : "false");
	case 'n':
		return parse_literal(p, "null");
	case -1:
		return fail(p, "unexpected end of input");
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return parse_number(p, v);
		return fail(p, "unexpected character '%c'",
			    c >= 0x20 && c < 0x7f ? c : '?');
	}
}

int json_parse(const char *text, size_t len, struct json_value *out,
	       struct json_error *err)
{
	struct parser p = {
		.s = (const unsigned char *)text, .len = len, .err = err,
	};

	memset(out, 0, sizeof(*out));
	if (err)
		memset(err, 0, sizeof(*err));
	if (!text && len) {
		if (err)
			snprintf(err->msg, sizeof(err->msg), "no input");
		return -1;
	}
	if (parse_value(&p, out) == 0) {
		skip_ws(&p);
		if (p.pos == p.len)
			return 0;
		fail(&p, "trailing data after the value");
	}
	json_free(out);
	return -1;
}

int json_parse_file(const char *path, struct json_value *out,
		    struct json_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (err)
		memset(err, 0, sizeof(*err));
	if (!f) {
		if (err)
			snprintf(err->msg, sizeof(err->msg), "%s",
				 strerror(errno));
		return -1;
	}
	buf = malloc(JSON_MAX_FILE + 1);
	if (buf) {
		len = fread(buf, 1, JSON_MAX_FILE + 1, f);
		if (ferror(f) || len > JSON_MAX_FILE) {
			if (err)
				snprintf(err->msg, sizeof(err->msg), "%s",
					 ferror(f) ? "read error"
						   : "file too large");
		} else {
			rc = json_parse(buf, len, out, err);
		}
	} else if (err) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
	}
	free(buf);
	fclose(f);
	return rc;
}

void json_free(struct json_value *v)
{
	if (!v)
		return;
	switch (v->type) {
	case JSON_STRING:
		free(v->u.string.ptr);
		break;
	case JSON_ARRAY:
		for (size_t i = 0; i < v->u.array.len; i++)
			json_free(&v->u.array.items[i]);
		free(v->u.array.items);
		break;
	case JSON_OBJECT:
		for (size_t i = 0; i < v->u.object.len; i++) {
			free(v->u.object.items[i].key);
			json_free(&v->u.object.items[i].value);
		}
		free(v->u.object.items);
		break;
	default:
		break;
	}
	memset(v, 0, sizeof(*v));
}

/* ----------------------------------------------------------- accessors */

const struct json_value *json_get(const struct json_value *obj,
				  const char *key)
{
	size_t klen = strlen(key);

	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (obj->u.object.items[i].key_len == klen &&
		    !memcmp(obj->u.object.items[i].key, key, klen))
			return &obj->u.object.items[i].value;
	return NULL;
}

const char *json_string(const struct json_value *v)
{
	return v && v->type == JSON_STRING ? v->u.string.ptr : NULL;
}

const char *json_get_string(const struct json_value *obj, const char *key)
{
	return json_string(json_get(obj, key));
}

size_t json_len(const struct json_value *v)
{
	if (v && v->type == JSON_ARRAY)
		return v->u.array.len;
	if (v && v->type == JSON_OBJECT)
		return v->u.object.len;
	return 0;
}

const struct json_value *json_at(const struct json_value *arr, size_t i)
{
	if (!arr || arr->type != JSON_ARRAY || i >= arr->u.array.len)
		return NULL;
	return &arr->u.array.items[i];
}

int json_int64(const struct json_value *v, int64_t *out)
{
	if (!v || v->type != JSON_NUMBER || !v->u.number.is_integer)
		return -1;
	*out = v->u.number.integer;
	return 0;
}
