/* SPDX-License-Identifier: MIT */
/*
 * sloopd options, in pppd's model.  One static table (options.c) drives
 * parsing, --help and dump.  Sources, lowest priority first:
 *
 *   <root>/options             (missing is fine)
 *   call NAME -> <root>/peers/NAME, then file F (command line: all calls,
 *                               then all files, each in order given)
 *   the rest of the command line
 *
 * `call`, `file` and `p3-config` inside a file are read where they stand,
 * nested up to env->max_depth, with loops detected by device and inode.
 * Later values override earlier ones, except that an option marked
 * privileged, once set by a privileged source, cannot be changed by a
 * non-privileged one (E109).  A file is a privileged source when it is
 * owned by env->secure_uid (root) and not writable by group or others;
 * the command line is privileged when env->cmdline_privileged (the caller
 * sets it to getuid() == 0).
 *
 * Typical use by main.c:
 *	opt_env_default(&env);
 *	env.cmdline_privileged = getuid() == 0;
 *	opt_init(&o);
 *	if (opt_load(&o, &env, argc, argv, &err)) -> report, exit
 *	if (o.help) opt_usage(stdout), exit;  (before opt_validate)
 *	if (opt_validate(&o, &err) || opt_check_secrets(&o, &env, &err))
 *		opt_strerror(&err, buf, sizeof(buf)) ... exit
 *	if (o.dump || o.dryrun) opt_dump(&o, stdout);
 *	`sloopd --reason-table`: reason_man_table(stdout) (reason.h)
 *	for each o.warnings[i]: log it (P3 keywords not implemented)
 *	... use o ...; opt_free(&o);	(also after an error)
 */
#ifndef SLOOPD_OPTIONS_H
#define SLOOPD_OPTIONS_H

#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "reason.h"

#define OPT_DEFAULT_ROOT	"/etc/sloop"
#define OPT_DEFAULT_DEPTH	8
#define OPT_FILE_MAX		(1 << 20)	/* bytes per option or P3 file */
#define OPT_KEY_LEN		32
#define OPT_NAME_LEN		64	/* peer, link and call names */
#define OPT_HOST_LEN		256

struct opt_env {
	const char *root;	/* directory holding options and peers/ */
	uid_t secure_uid;	/* owner of privileged and secret files */
	bool cmdline_privileged;
	int max_depth;		/* nested call/file/p3-config levels */
};

/* Where something went wrong (or where a warning comes from). */
struct opt_error {
	enum reason reason;
	char file[PATH_MAX];	/* "" when not about a place */
	int line;		/* 0: no line (command line, whole file) */
	char msg[512];
};

/* Where a value came from: file NULL means the default. */
struct opt_origin {
	const char *file;	/* interned; "command line" for argv */
	int line;
	bool privileged;
};

struct opt_addr {
	int family;		/* 0 (unset), AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} u;
};

struct opt_cidr {
	struct opt_addr addr;
	unsigned int prefix;
};

struct opt_endpoint {
	char host[OPT_HOST_LEN];	/* "" means any (listen only) */
	uint16_t port;
};

enum opt_role { OPT_ROLE_UNSET, OPT_ROLE_PRIMARY, OPT_ROLE_SECONDARY };

/*
 * A peer of a primary (`peer NAME ...`) or a primary a secondary connects
 * to (`primary HOST[:PORT] ...`, also `remote HOST[:PORT] pubkey ...`).
 * Zero in cipher/rekey_ms/heartbeat_ms/dead_ms means "the global value".
 */
struct opt_peer {
	char name[OPT_HOST_LEN + 8];
	bool has_pubkey;
	unsigned char pubkey[OPT_KEY_LEN];
	struct opt_cidr *subnets;
	size_t n_subnets;
	bool has_endpoint;
	struct opt_endpoint endpoint;
	char *psk_file;
	int cipher;			/* enum sloop_cipher, 0 = global */
	unsigned int rekey_ms, heartbeat_ms, dead_ms;
	struct opt_origin origin;
};

/* Indexes into the option table, for origins (see opt_origin_of()). */
enum opt_id {
	OPT_DEVICE, OPT_CALL, OPT_FILE, OPT_P3_CONFIG,
	OPT_PERSIST, OPT_HOLDOFF, OPT_HOLDOFF_MAX, OPT_MAXFAIL,
	OPT_NODETACH, OPT_UPDETACH, OPT_LINKNAME, OPT_DEBUG, OPT_LOGFILE,
	OPT_SYSLOG, OPT_ROLE, OPT_LISTEN, OPT_KEY, OPT_PSK, OPT_PSK_BASE64,
	OPT_PEER, OPT_PRIMARY, OPT_LOCAL, OPT_REMOTE, OPT_MTU, OPT_CIPHER,
	OPT_PADDING, OPT_REKEY_INTERVAL, OPT_REKEY_JITTER, OPT_REKEY_PACKETS,
	OPT_HEARTBEAT,
	OPT_DEAD_TIME, OPT_IP_PRE_UP, OPT_IP_UP, OPT_IP_DOWN, OPT_BROKER,
	OPT_LOOP, OPT_BROKER_KEY, OPT_USER, OPT_PASSWORD_FILE, OPT_INVITE,
	OPT_FOUND, OPT_POLICY, OPT_AUTO_APPROVE, OPT_CRED_LIFETIME,
	OPT_ROOT_LIFETIME,
	OPT_LOOP_CACHE, OPT_DUMP, OPT_DRYRUN, OPT_HELP, OPT_VERSION,
	OPT_COUNT
};

struct sloopd_options {
	char *device;
	bool persist;
	unsigned int holdoff_ms;	/* recovery step (P3: 5 s) */
	unsigned int holdoff_max_ms;	/* recovery cap (P3: 60 s) */
	int maxfail;			/* 0: never give up */
	bool nodetach, updetach;
	char *linkname;			/* pid file /run/sloop-NAME.pid */
	bool debug;
	char *logfile;
	int syslog_facility;		/* LOG_DAEMON etc., -1: no syslog */
	int role;			/* enum opt_role */
	struct opt_endpoint listen;
	char *key_file;
	char *psk_file;
	bool has_psk;			/* psk-base64 given */
	unsigned char psk[OPT_KEY_LEN];
	struct opt_peer *peers;		/* role primary */
	size_t n_peers;
	struct opt_peer *primaries;	/* role secondary, tried in order */
	size_t n_primaries;
	struct opt_addr local_addr, remote_addr;	/* IPLOCAL, IPREMOTE */
	int mtu;			/* 0: from the underlay */
	int cipher;			/* enum sloop_cipher */
	int padding;			/* enum sloop_padding */
	unsigned int rekey_ms;
	int rekey_jitter_pct;
	int rekey_packets;		/* 0: the kernel's limit */
	unsigned int heartbeat_ms;
	unsigned int dead_ms;
	char *ip_pre_up, *ip_up, *ip_down;
	char *p3_config;		/* last P3 file loaded */
	bool has_broker;
	struct opt_endpoint broker;
	char *loop;
	/* loop mode (`loop NAME`): the device side of a broker's loop */
	bool has_broker_key;
	unsigned char broker_key[OPT_KEY_LEN];	/* Ed25519, pinned */
	char *user, *password_file, *invite, *loop_cache;
	bool found, auto_approve;
	int policy;			/* approvals, for found */
	unsigned int cred_lifetime_ms;	/* of the credentials we sign */
	unsigned int root_lifetime_ms;	/* of our root, when we founded */
	bool dump, dryrun, help, version;

	struct opt_origin origin[OPT_COUNT];
	/* P3 "not implemented" warnings etc., for the caller to log. */
	struct opt_error *warnings;
	size_t n_warnings;
	struct opt_intern *interned;	/* file names the origins point to */
};

void opt_env_default(struct opt_env *env);
/* Sets every option to its default; 0 or -1 (out of memory). */
int opt_init(struct sloopd_options *o);
/* Frees everything and wipes the secrets; o can be opt_init()ed again. */
void opt_free(struct sloopd_options *o);

/* Reads <root>/options and the command line (argv[0] is skipped). */
int opt_load(struct sloopd_options *o, const struct opt_env *env,
	     int argc, char **argv, struct opt_error *err);
/* One option file, as `file PATH` would read it. */
int opt_load_file(struct sloopd_options *o, const struct opt_env *env,
		  const char *path, struct opt_error *err);
/* Words as if from the command line, no device positional, no deferral. */
int opt_load_words(struct sloopd_options *o, const struct opt_env *env,
		   int n, char **words, struct opt_error *err);
/* Cross-option checks after loading (role, keys, peers, ...): E110. */
int opt_validate(const struct sloopd_options *o, struct opt_error *err);

/*
 * Secret files: open (following symlinks), then fstat the fd and refuse
 * anything that is not a regular file owned by uid with no group/other
 * permission bits (E203, E201; E204 when it cannot be opened).  Returns
 * the fd, or -1 with err filled in.
 */
int opt_open_secret(const char *path, uid_t uid, struct opt_error *err);
/* Reads at most cap bytes of a secret file; the caller wipes buf. */
int opt_read_secret(const char *path, uid_t uid, void *buf, size_t cap,
		    size_t *len, struct opt_error *err);
/* Checks key, psk and every peer's psk-file. */
int opt_check_secrets(const struct sloopd_options *o,
		      const struct opt_env *env, struct opt_error *err);

/* /run/sloop-LINKNAME.pid, or /run/sloop-IFNAME.pid without linkname. */
int opt_pidfile(const struct sloopd_options *o, char *buf, size_t len);

/* "E101 cfg-syntax: FILE:LINE: message" */
int opt_strerror(const struct opt_error *e, char *buf, size_t len);
void opt_usage(FILE *out);
/* Every option with its value and source, re-readable as an option file. */
void opt_dump(const struct sloopd_options *o, FILE *out);
/* "default", "command line" or "FILE:LINE". */
void opt_origin_str(const struct opt_origin *or, char *buf, size_t len);

/* Table access, for tests and for `sloopctl` style listings. */
enum opt_type {
	OPT_T_FLAG, OPT_T_BOOL, OPT_T_INT, OPT_T_STRING, OPT_T_NAME,
	OPT_T_IFNAME, OPT_T_PATH, OPT_T_DURATION, OPT_T_PERCENT,
	OPT_T_ADDRESS, OPT_T_ENDPOINT, OPT_T_LISTEN, OPT_T_ENUM, OPT_T_KEY,
	OPT_T_SYSLOG, OPT_T_PEER, OPT_T_PRIMARY, OPT_T_REMOTE, OPT_T_CALL,
	OPT_T_FILE, OPT_T_P3, OPT_T_PUBKEY,
};

#define OPT_F_PRIV	0x1	/* privileged: see the rule above */
#define OPT_F_SECRET	0x2	/* the value is a secret: file must be 0600 root */
#define OPT_F_SECFILE	0x4	/* the value names a secret file */
#define OPT_F_NOCMD	0x8	/* not on the command line (visible in ps) */

struct opt_enum {
	const char *name;
	int value;
};

struct opt_def {
	enum opt_id id;
	const char *name;
	const char *alias;
	enum opt_type type;
	unsigned int flags;
	size_t off;			/* in struct sloopd_options */
	long long min, max;		/* int, percent; ms for durations */
	const char *def;		/* default, in option syntax */
	const struct opt_enum *enums;	/* enum, syslog */
	const char *arg;		/* argument name in --help */
	const char *help;
};

const struct opt_def *opt_table(size_t *n);
const struct opt_def *opt_find(const char *name);
/* Names of the peer/primary sub-options, i = 0, 1, ... until NULL. */
const char *opt_peer_sub_name(int i);
const struct opt_origin *opt_origin_of(const struct sloopd_options *o,
				       enum opt_id id);

/*
 * For p3conf: record that id was set from file:line, refusing (E109) a
 * non-privileged source over a privileged value.  file is interned.
 */
int opt_claim(struct sloopd_options *o, enum opt_id id, const char *file,
	      int line, bool priv, struct opt_error *err);
const char *opt_intern(struct sloopd_options *o, const char *s);
int opt_warn(struct sloopd_options *o, const struct opt_error *w);
/* Finds or appends a peer (list = o->peers or o->primaries) by name. */
struct opt_peer *opt_peer_get(struct sloopd_options *o, bool primaries,
			      const char *name, bool *created);

/* Value parsers, shared with p3conf; 0 or -1. */
int opt_parse_addr(const char *s, struct opt_addr *a);
int opt_parse_cidr(const char *s, struct opt_cidr *c);
int opt_parse_endpoint(const char *s, uint16_t defport,
		       struct opt_endpoint *ep);
void opt_addr_str(const struct opt_addr *a, char *buf, size_t len);
void opt_endpoint_str(const struct opt_endpoint *ep, char *buf, size_t len);
const char *opt_cipher_name(int cipher);

#endif
