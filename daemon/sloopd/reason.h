/* SPDX-License-Identifier: MIT */
/*
 * Stable reason codes.  Every failure message of sloopd carries one, so
 * that an administrator can grep for it and the man page can list them;
 * the code string of an entry ("E201") never changes once released, new
 * reasons get new numbers.  reason_man_table() writes the sloopd(8)
 * table from the same array, so the two cannot drift apart.
 */
#ifndef SLOOPD_REASON_H
#define SLOOPD_REASON_H

#include <stddef.h>
#include <stdio.h>

enum reason {
	REASON_OK = 0,

	/* 1xx: option files and command line */
	REASON_CFG_SYNTAX,
	REASON_CFG_UNKNOWN,
	REASON_CFG_MISSING_ARG,
	REASON_CFG_BAD_VALUE,
	REASON_CFG_RANGE,
	REASON_CFG_NOFILE,
	REASON_CFG_DEPTH,
	REASON_CFG_LOOP,
	REASON_CFG_PRIV,
	REASON_CFG_CONFLICT,
	REASON_CFG_TOOBIG,
	REASON_CFG_BADNAME,

	/* 12x: P3 configuration files */
	REASON_P3_SYNTAX,
	REASON_P3_UNKNOWN,
	REASON_P3_VALUE,
	REASON_P3_SUBNET,
	REASON_P3_DUP,
	REASON_P3_SECTION,
	REASON_P3_UNIMPL,

	/* 2xx: keys and file permissions */
	REASON_PERM_KEYFILE,
	REASON_PERM_OPTFILE,
	REASON_PERM_NOTREG,
	REASON_KEY_READ,
	REASON_KEY_FORMAT,

	/* 3xx: handshake */
	REASON_HS_BAD_PEER_KEY,
	REASON_HS_REPLAY,
	REASON_HS_TIMESTAMP,
	REASON_HS_COOKIE,
	REASON_HS_AUTH,
	REASON_HS_TIMEOUT,
	REASON_HS_MALFORMED,

	/* 4xx: established session */
	REASON_REKEY_FAIL,
	REASON_REKEY_TIMEOUT,
	REASON_PEER_DEAD,
	REASON_CTRL_AUTH,
	REASON_UNREACHABLE,
	REASON_MAXFAIL,

	/* 5xx: kernel and sockets */
	REASON_NL_FAMILY,
	REASON_NL_DEVICE,
	REASON_NL_BUSY,
	REASON_NL_ERROR,
	REASON_SOCKET,

	/* 6xx: scripts */
	REASON_SCRIPT_EXEC,
	REASON_SCRIPT_EXIT,
	REASON_SCRIPT_SIGNAL,
	REASON_SCRIPT_TIMEOUT,

	/* 7xx: process */
	REASON_PIDFILE,
	REASON_LOGFILE,
	REASON_NOMEM,
	REASON_DETACH,
	REASON_CTL_SOCKET,
	REASON_CTL_DENIED,
	REASON_CTL_REQUEST,
	REASON_KEYS_FLUSHED,

	/* 8xx: broker and loop */
	REASON_BRK_CONNECT,
	REASON_BRK_REFUSED,
	REASON_BRK_PROTO,
	REASON_LOOP_NOT_MEMBER,
	REASON_LOOP_IDENTITY,
	REASON_LOOP_REVOKED,
	REASON_LOOP_WIPED,
	REASON_LOOP_CACHE,
	REASON_LOOP_WAITING,
	REASON_LOOP_EXPIRED,

	REASON_COUNT
};

struct reason_info {
	enum reason reason;
	const char *code;	/* "E201": stable, printed and documented */
	const char *name;	/* "perm-keyfile": stable short name */
	const char *desc;	/* one line for the man page */
};

const struct reason_info *reason_info(enum reason r);
const char *reason_code(enum reason r);
const char *reason_name(enum reason r);
/* Looks up "E201" or "perm-keyfile"; REASON_COUNT when unknown. */
enum reason reason_lookup(const char *code_or_name);

/*
 * "E201 perm-keyfile: " followed by the printf-formatted message.
 * Returns what snprintf returns (the untruncated length).
 */
int reason_format(char *buf, size_t len, enum reason r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The man-page table (roff .TP list), for `sloopd --reason-table`. */
void reason_man_table(FILE *out);

#endif
