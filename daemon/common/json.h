/* SPDX-License-Identifier: MIT */
/*
 * A small strict JSON reader (RFC 8259): the whole document becomes a
 * tree of json_value.  Anything malformed is refused with a message and
 * its position; nothing is guessed.  Beyond the RFC it refuses, on
 * purpose: nesting deeper than JSON_MAX_DEPTH, duplicate object keys,
 * "\u0000" in strings (values are handed out as C strings), numbers
 * outside the range of a double, and invalid UTF-8.
 */
#ifndef SLOOP_JSON_H
#define SLOOP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH		64
#define JSON_MAX_NUMBER_LEN	512		/* characters of one number */
#define JSON_MAX_FILE		(16u << 20)	/* json_parse_file() limit */

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_member;

struct json_value {
	enum json_type type;
	union {
		bool boolean;
		struct {
			double value;
			int64_t integer;
			bool is_integer;	/* no fraction/exponent, fits */
		} number;
		struct {
			char *ptr;		/* NUL-terminated, UTF-8 */
			size_t len;
		} string;
		struct {
			struct json_value *items;
			size_t len;
		} array;
		struct {
			struct json_member *items;	/* document order */
			size_t len;
		} object;
	} u;
};

struct json_member {
	char *key;
	size_t key_len;
	struct json_value value;
};

struct json_error {
	size_t offset;			/* byte offset of the problem */
	unsigned int line, column;	/* 1-based */
	char msg[96];
};

/* 0 on success (free *out with json_free), -1 with *err filled in. */
int json_parse(const char *text, size_t len, struct json_value *out,
	       struct json_error *err);
int json_parse_file(const char *path, struct json_value *out,
		    struct json_error *err);
void json_free(struct json_value *v);

/* Accessors: NULL / 0 / -1 when the value has another type. */
const struct json_value *json_get(const struct json_value *obj,
				  const char *key);
const char *json_get_string(const struct json_value *obj, const char *key);
const char *json_string(const struct json_value *v);
size_t json_len(const struct json_value *v);
const struct json_value *json_at(const struct json_value *arr, size_t i);
int json_int64(const struct json_value *v, int64_t *out);

#endif
