// SPDX-License-Identifier: MIT
/* The strict JSON reader: what it accepts, and everything it must refuse. */
#include <stdint.h>
#include <stdlib.h>

#include "json.h"
#include "unit.h"

static int parse(const char *s, struct json_value *v, struct json_error *e)
{
	return json_parse(s, strlen(s), v, e);
}

TEST(json_good_document)
{
	const char *doc =
		" {\"vectors\": [ {\"name\": \"a\\\"b\\\\c\\/\\n\\t\","
		"  \"n\": -12, \"f\": 1.5e3, \"z\": -0, \"t\": true,"
		"  \"no\": false, \"nil\": null, \"e\": [], \"o\": {}} ],"
		" \"u\": \"\\u00e9\\ud83d\\ude00\xc3\xa9\" } \r\n";
	struct json_value v;
	struct json_error e;
	const struct json_value *vec, *x;
	int64_t i;

	CHECK_EQ_INT(parse(doc, &v, &e), 0);
	CHECK_EQ_INT(v.type, JSON_OBJECT);
	CHECK_EQ_INT(json_len(&v), 2);
	vec = json_at(json_get(&v, "vectors"), 0);
	CHECK(vec);
	CHECK(json_at(json_get(&v, "vectors"), 1) == NULL);
	CHECK_EQ_STR(json_get_string(vec, "name"), "a\"b\\c/\n\t");
	CHECK_EQ_INT(json_int64(json_get(vec, "n"), &i), 0);
	CHECK_EQ_INT(i, -12);
	x = json_get(vec, "f");
	CHECK(x && x->type == JSON_NUMBER && x->u.number.value == 1500.0);
	CHECK_EQ_INT(json_int64(x, &i), -1);	/* has an exponent */
	CHECK_EQ_INT(json_int64(json_get(vec, "z"), &i), 0);
	CHECK_EQ_INT(i, 0);
	x = json_get(vec, "t");
	CHECK(x && x->type == JSON_BOOL && x->u.boolean);
	x = json_get(vec, "no");
	CHECK(x && x->type == JSON_BOOL && !x->u.boolean);
	CHECK(json_get(vec, "nil") && json_get(vec, "nil")->type == JSON_NULL);
	CHECK_EQ_INT(json_get(vec, "e")->type, JSON_ARRAY);
	CHECK_EQ_INT(json_len(json_get(vec, "e")), 0);
	CHECK_EQ_INT(json_get(vec, "o")->type, JSON_OBJECT);
	CHECK(json_get(vec, "missing") == NULL);
	CHECK(json_get_string(vec, "n") == NULL);	/* not a string */
	CHECK_EQ_STR(json_get_string(&v, "u"),
		     "\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9");
	json_free(&v);
}

TEST(json_scalars_at_top)
{
	struct json_value v;
	int64_t i;

	CHECK_EQ_INT(parse("9223372036854775807", &v, NULL), 0);
	CHECK_EQ_INT(json_int64(&v, &i), 0);
	CHECK(i == INT64_MAX);
	/* Beyond int64: still a number, but not an integer. */
	CHECK_EQ_INT(parse("9223372036854775808", &v, NULL), 0);
	CHECK_EQ_INT(json_int64(&v, &i), -1);
	CHECK(v.u.number.value > 9.2e18);
	CHECK_EQ_INT(parse("-9223372036854775808", &v, NULL), 0);
	CHECK_EQ_INT(json_int64(&v, &i), 0);
	CHECK(i == INT64_MIN);
	CHECK_EQ_INT(parse("1e308", &v, NULL), 0);
	CHECK_EQ_INT(parse("1e-400", &v, NULL), 0);	/* underflows to 0 */
	CHECK_EQ_INT(parse("\"\"", &v, NULL), 0);
	CHECK_EQ_STR(json_string(&v), "");
	json_free(&v);
	CHECK_EQ_INT(parse("null", &v, NULL), 0);
	CHECK_EQ_INT(v.type, JSON_NULL);
}

static const char *const bad_docs[] = {
	"", " ", "{", "[", "[1,", "[1 2]", "[1,]", "[,1]", "{,}",
	"{\"a\" 1}", "{\"a\":}", "{\"a\":1,}", "{a:1}", "{\"a\":1 \"b\":2}",
	"{\"a\":1,\"a\":2}", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"",
	"\"\\ud800\"", "\"\\ud800\\u0041\"", "\"\\udc00\"", "\"\\u0000\"",
	"\"\\", "\"a\tb\"", "\"a\nb\"", "\"\xc3\x28\"", "\"\xc0\xaf\"",
	"\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xff\"", "\"\xe2\x82\"",
	"01", "-01", "1.", ".5", "-", "1e", "1e+", "+1", "0x10", "1.5.2",
	"tru", "nul", "True", "NaN", "Infinity", "-Infinity", "'a'",
	"[1]x", "{} {}", "1 2", "1e999", "-1e999", "[1e400]", "\xef\xbb\xbf{}",
	"[\"a\",", "/* c */ 1", "[1]//",
};

TEST(json_malformed_refused)
{
	for (size_t i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++) {
		struct json_value v;
		struct json_error e;

		if (parse(bad_docs[i], &v, &e) == 0) {
			fprintf(stderr, "  accepted: %s\n", bad_docs[i]);
			json_free(&v);
			CHECK(!"malformed JSON accepted");
		}
		CHECK(e.msg[0] != '\0');
		CHECK(e.line >= 1 && e.column >= 1);
		CHECK_EQ_INT(v.type, JSON_NULL);	/* left empty */
	}
}

TEST(json_embedded_nul_refused)
{
	struct json_value v;
	struct json_error e;

	CHECK_EQ_INT(json_parse("[1]\0", 4, &v, &e), -1);
	CHECK_EQ_INT(json_parse("\"a\0b\"", 5, &v, &e), -1);
	CHECK_EQ_INT(json_parse("[1]", 3, &v, &e), 0);
	json_free(&v);
}

TEST(json_every_truncation_refused)
{
	const char *doc = "{\"k\": [1, -2.5e-3, \"s\\u00e9\\n\", {\"x\": "
			  "[true, false, null]}], \"end\": \"\xc3\xa9\"}";
	size_t len = strlen(doc);

	for (size_t n = 0; n < len; n++) {
		struct json_value v;
		struct json_error e;

		if (json_parse(doc, n, &v, &e) == 0) {
			fprintf(stderr, "  accepted prefix of %zu bytes\n", n);
			json_free(&v);
			CHECK(!"truncated JSON accepted");
		}
		CHECK(e.offset <= n);
	}
	{
		struct json_value v;

		CHECK_EQ_INT(json_parse(doc, len, &v, NULL), 0);
		json_free(&v);
	}
}

static char *nested(int depth, const char *open, const char *close)
{
	char *s = malloc((size_t)depth * 2 + 1);

	if (!s)
		return NULL;
	for (int i = 0; i < depth; i++) {
		s[i] = open[0];
		s[depth * 2 - 1 - i] = close[0];
	}
	s[depth * 2] = '\0';
	return s;
}

TEST(json_depth_limit)
{
	struct json_value v;
	struct json_error e;
	char *ok = nested(JSON_MAX_DEPTH, "[", "]");
	char *deep = nested(JSON_MAX_DEPTH + 1, "[", "]");
	char *huge = malloc(200001);

	CHECK(ok && deep && huge);
	CHECK_EQ_INT(parse(ok, &v, &e), 0);
	json_free(&v);
	CHECK_EQ_INT(parse(deep, &v, &e), -1);
	CHECK(strstr(e.msg, "nesting"));
	/* Far too deep, unterminated: refused without exhausting the stack. */
	memset(huge, '[', 200000);
	huge[200000] = '\0';
	CHECK_EQ_INT(parse(huge, &v, &e), -1);
	CHECK(strstr(e.msg, "nesting"));
	/* Objects count too. */
	for (int i = 0; i < 40000; i++)
		memcpy(huge + i * 5, "{\"a\":", 5);
	CHECK_EQ_INT(parse(huge, &v, &e), -1);
	CHECK(strstr(e.msg, "nesting"));
	free(ok);
	free(deep);
	free(huge);
}

TEST(json_huge_numbers)
{
	struct json_value v;
	struct json_error e;
	char digits[JSON_MAX_NUMBER_LEN + 2];

	/* 300 digits: a finite double, not an integer. */
	memset(digits, '7', 300);
	digits[300] = '\0';
	CHECK_EQ_INT(parse(digits, &v, &e), 0);
	CHECK(v.u.number.value > 7e299);
	CHECK(!v.u.number.is_integer);
	/* 400 digits: beyond any double. */
	memset(digits, '7', 400);
	digits[400] = '\0';
	CHECK_EQ_INT(parse(digits, &v, &e), -1);
	CHECK(strstr(e.msg, "range"));
	/* Longer than the literal limit. */
	memset(digits, '0', sizeof(digits) - 1);
	digits[0] = '0';
	digits[1] = '.';
	digits[sizeof(digits) - 1] = '\0';
	CHECK_EQ_INT(parse(digits, &v, &e), -1);
	CHECK(strstr(e.msg, "longer"));
}

TEST(json_error_position)
{
	struct json_value v;
	struct json_error e;

	CHECK_EQ_INT(parse("{\n  \"a\": x}", &v, &e), -1);
	CHECK_EQ_INT(e.line, 2);
	CHECK_EQ_INT(e.column, 8);
	CHECK_EQ_INT(e.offset, 9);
}

TEST(json_file)
{
	struct json_value v;
	struct json_error e;

	CHECK_EQ_INT(json_parse_file("/nonexistent/x.json", &v, &e), -1);
	CHECK(e.msg[0]);
	CHECK_EQ_INT(json_parse_file(
		unit_path("../shared/vectors/noise-25519-blake2b.json"), &v,
		&e), 0);
	CHECK_EQ_INT(json_get(&v, "vectors")->type, JSON_ARRAY);
	json_free(&v);
}

/* Tiny deterministic generator: a failure reproduces exactly. */
static uint32_t lcg(uint32_t *st)
{
	*st = *st * 1103515245u + 12345u;
	return *st >> 8;
}

TEST(json_random_mutations)
{
	static const char doc[] = "{\"a\": [1, 2.5e-3, \"x\\u00e9\\n\", "
				  "{\"b\": [true, null, -0]}], \"c\": \"\xc3\xa9\"}";
	static const char alphabet[] = "{}[],:\"\\u0123456789eE+-.tfn \x80\xc3";
	uint32_t st = 1;
	char buf[sizeof(doc)];
	int accepted = 0;

	/* The sanitizers catch any overrun; here only the result counts. */
	for (int i = 0; i < 20000; i++) {
		struct json_value v;
		size_t len = sizeof(doc) - 1;

		memcpy(buf, doc, len);
		for (int k = 1 + (int)(lcg(&st) % 3); k > 0; k--)
			buf[lcg(&st) % len] =
				alphabet[lcg(&st) % (sizeof(alphabet) - 1)];
		if (lcg(&st) % 4 == 0)
			len = lcg(&st) % len;
		if (json_parse(buf, len, &v, NULL) == 0) {
			accepted++;
			CHECK(v.type <= JSON_OBJECT);
			json_free(&v);
		}
	}
	/* Some mutations (inside strings, digits) stay valid JSON. */
	CHECK(accepted > 0 && accepted < 20000);
}
