/* SPDX-License-Identifier: MIT */
/*
 * Broker frames (include/sloop/scb.h): building them and parsing them
 * strictly.  A parsed frame points into the caller's buffer; nothing is
 * allocated.  Parsing refuses a wrong version with SCB_E_VERSION, and
 * with SCB_E_MALFORMED and a reason text: a short header, nonzero flags,
 * an attribute running past the end, an unknown attribute type, an
 * integer or fixed-size attribute of the wrong length, an integer
 * outside its range (ROLE, POLICY, ACCEPT, ONLINE, STATE), a string with
 * a NUL, a control character, invalid UTF-8 or a length outside its
 * limits, an empty nested attribute, a nest inside a nest, more than
 * SCB_ATTR_MAX attributes (per frame and per nest), and a repeated
 * attribute where the policy does not allow it (only list entries, CRED,
 * ENDPOINT and REVOKE may repeat).  Nested attributes are checked by
 * scbw_parse too, so scbw_parse_nested cannot fail on a parsed frame.
 * The builder checks only structure; it does not apply the policy.
 */
#ifndef SLOOP_SCBWIRE_H
#define SLOOP_SCBWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sloop/scb.h>

struct scbw_attr {
	uint16_t type;
	uint16_t len;
	const uint8_t *val;
};

struct scbw_frame {
	uint8_t type;			/* enum scb_msg */
	uint32_t id;
	size_t n;			/* attributes, in wire order */
	struct scbw_attr a[SCB_ATTR_MAX];
};

/* Builder over a caller's buffer; errors are sticky (check at the end). */
struct scbw_buf {
	uint8_t *p;
	size_t cap, len;
	size_t nest;			/* offset of the open nest's header */
	bool nested, overflow;
};

void scbw_start(struct scbw_buf *b, uint8_t *buf, size_t cap, uint8_t type,
		uint32_t id);
void scbw_put(struct scbw_buf *b, uint16_t type, const void *val,
	      size_t len);
void scbw_put_u8(struct scbw_buf *b, uint16_t type, uint8_t v);
void scbw_put_u16(struct scbw_buf *b, uint16_t type, uint16_t v);
void scbw_put_u32(struct scbw_buf *b, uint16_t type, uint32_t v);
void scbw_put_u64(struct scbw_buf *b, uint16_t type, uint64_t v);
void scbw_put_str(struct scbw_buf *b, uint16_t type, const char *s);
/* One level of nesting (list entries); no nest inside a nest. */
void scbw_nest_start(struct scbw_buf *b, uint16_t type);
void scbw_nest_end(struct scbw_buf *b);
/* The frame's length, or 0 if it overflowed or a nest is still open. */
size_t scbw_end(struct scbw_buf *b);

/*
 * Parse a whole frame.  0 on success; otherwise an enum scb_err and
 * why[] says what was wrong (for the ERROR reply and the log).
 */
int scbw_parse(struct scbw_frame *f, const uint8_t *buf, size_t len,
	       char *why, size_t whylen);
/* The attributes of a nested attribute, checked by the same policy. */
int scbw_parse_nested(const struct scbw_attr *nest, struct scbw_frame *f,
		      char *why, size_t whylen);

/* First attribute of a type, or NULL. */
const struct scbw_attr *scbw_get(const struct scbw_frame *f, uint16_t type);
/* Next one of the same type after prev (for repeated attributes). */
const struct scbw_attr *scbw_next(const struct scbw_frame *f,
				  const struct scbw_attr *prev);
uint8_t scbw_u8(const struct scbw_attr *a);
uint16_t scbw_u16(const struct scbw_attr *a);
uint32_t scbw_u32(const struct scbw_attr *a);
uint64_t scbw_u64(const struct scbw_attr *a);
/* Copy a string attribute into out (NUL-terminated); false if too long. */
bool scbw_str(const struct scbw_attr *a, char *out, size_t cap);
/*
 * Presence check: every type in need[] (0-terminated) is there, or
 * SCB_E_MALFORMED with "missing <name>" in why.
 */
int scbw_require(const struct scbw_frame *f, const uint16_t *need, char *why,
		 size_t whylen);

const char *scbw_msg_name(int type);
const char *scbw_attr_name(int type);
const char *scbw_strerror(int code);

#endif /* SLOOP_SCBWIRE_H */
