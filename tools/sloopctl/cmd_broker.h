/* SPDX-License-Identifier: MIT */
/*
 * sloopctl broker: administration of a sloop-scb broker over an admin
 * connection (Noise_IK, ROLE=ADMIN; docs/man/sloopctl.8, "BROKER
 * ADMINISTRATION").  The parsers and printers are separate from the
 * socket code so that the unit tests can drive them.
 */
#ifndef SLOOPCTL_CMD_BROKER_H
#define SLOOPCTL_CMD_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <sys/types.h>

#define SCTL_BROKER_CONF	"/etc/sloop/sloopctl.conf"
#define SCTL_BROKER_HOST_MAX	256
#define SCTL_BROKER_PATH_MAX	4096
#define SCTL_BROKER_NAME_MAX	64	/* SCB_A_USER */
#define SCTL_BROKER_PW_MAX	256	/* SCB_A_PASSWORD */
#define SCTL_BROKER_TIMEOUT_MS	10000
#define SCTL_BROKER_PREFIX_MIN	8	/* hex digits of a LOOPID prefix */

#define SCTL_BROKER_USAGE						\
	"broker [HOST[:PORT]] [key BROKERPUB] [admin-key FILE] [--json]\n" \
	"      user add NAME [password-file F | password-stdin] [device-limit N]\n" \
	"    | user set NAME device-limit N | user list\n"		\
	"    | device list | device suspend|resume|remove|stolen KEY\n"	\
	"    | loop list | loop show LOOPID | loop revoke LOOPID KEY"

#define SCTL_BROKER_HELP						\
	"Administers a sloop-scb broker as an admin (the key in FILE must be\n" \
	"listed with admin-key in the broker's options).  The broker, its\n" \
	"public key and the admin key come from the command line, else from\n" \
	"SLOOP_BROKER, SLOOP_BROKER_KEY and SLOOP_ADMIN_KEY, else from\n" \
	"/etc/sloop/sloopctl.conf (or $SLOOPCTL_CONF): lines 'broker\n"	\
	"HOST[:PORT]', 'broker-key KEY', 'admin-key FILE'.  The port defaults\n" \
	"to 5660.  Keys are base64 or hex; a LOOPID is hex (or a unique\n" \
	"prefix of at least 8 hex digits) or base64.  The\n" \
	"list and show commands take --json.  A refusal prints its B code.\n"

enum sctl_bop {
	SCTL_B_NONE,
	SCTL_B_USER_ADD,
	SCTL_B_USER_SET,
	SCTL_B_USER_LIST,
	SCTL_B_DEVICE_LIST,
	SCTL_B_DEVICE_SET,
	SCTL_B_LOOP_LIST,
	SCTL_B_LOOP_SHOW,
	SCTL_B_LOOP_REVOKE,
};

struct sctl_broker_args {
	/* where and who: command line, else environment, else config */
	bool has_host, has_key, has_admin_key;
	char host[SCTL_BROKER_HOST_MAX];
	char port[8];
	uint8_t broker_pub[32];			/* Ed25519 */
	char admin_key[SCTL_BROKER_PATH_MAX];
	bool json;

	enum sctl_bop op;
	int msg;				/* enum scb_msg */
	char user[SCTL_BROKER_NAME_MAX + 1];
	const char *password_file;
	bool password_stdin;
	bool has_limit;
	uint32_t limit;
	uint8_t device[32];
	uint8_t loop_id[32];
	bool has_loop_prefix;			/* resolve via loop list */
	char loop_prefix[65];			/* lower-case hex */
	uint8_t state;				/* enum scb_dev_state */
};

/* The command line after "broker"; 0, or -1 with err (SCTL_ERR_LEN). */
int sctl_broker_parse(int argc, char **argv, struct sctl_broker_args *a,
		      char *err);
/*
 * Fill what the command line left out from the environment, then from
 * the config file (conf, or $SLOOPCTL_CONF, or SCTL_BROKER_CONF; a
 * missing default file is fine).  0, or -1 with err.
 */
int sctl_broker_defaults(struct sctl_broker_args *a, const char *conf,
			 char *err);
/* "host", "host:port", "[v6]", "[v6]:port", bare "v6". */
int sctl_broker_parse_hostport(const char *s, char *host, size_t hostcap,
			       char port[8], char *err);
/* 32 bytes in base64 (44 characters) or hex (64). */
int sctl_broker_parse_key32(const char *s, uint8_t out[32]);

/* The request frame for a; 0 if it does not fit. */
size_t sctl_broker_build(const struct sctl_broker_args *a,
			 const uint8_t *password, size_t pwlen, uint32_t id,
			 uint8_t *buf, size_t cap);
/*
 * Print an OK reply for a (text or JSON), ages relative to now.
 * 0, or -1 with err when the reply cannot be parsed.
 */
int sctl_broker_print(FILE *out, const struct sctl_broker_args *a,
		      const uint8_t *frame, size_t len, time_t now,
		      char *err);
/*
 * A LOOPID given as a hex prefix: find the one loop of a LOOP_LIST reply
 * it names and set a->loop_id.  0, or -1 with err (none, ambiguous).
 */
int sctl_broker_match_prefix(struct sctl_broker_args *a,
			     const uint8_t *frame, size_t len, char *err);
/* "sloopctl: broker refused: B411 not an admin (text)" into err. */
void sctl_broker_refusal(const uint8_t *frame, size_t len, char *err);
/* Regular, owned by uid, no group/other access: sloopd's secret rule. */
int sctl_broker_open_secret(const char *path, uid_t uid, char *err);

int sctl_cmd_broker(int argc, char **argv);

#endif
