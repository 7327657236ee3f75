/* SPDX-License-Identifier: MIT */
/*
 * sloop-scb's options.  One table (scbopts.c) drives the config file
 * (/etc/sloop/scb.conf: one option per line, `name value`, # comments,
 * "double quotes" for values with spaces), the command line (`--name
 * value`, `--name=value` or `name value`) and --help.  The command line
 * wins over the file; for repeatable options (listen, admin-key) the
 * command line's values replace the file's.
 */
#ifndef SLOOP_SCB_SCBOPTS_H
#define SLOOP_SCB_SCBOPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define SCBO_CONFIG		"/etc/sloop/scb.conf"
#define SCBO_DB			"/var/lib/sloop/scb.db"
#define SCBO_KEY		"/etc/sloop/scb.key"
#define SCBO_LISTEN_MAX		8
#define SCBO_ADMIN_MAX		16

struct scbo {
	char *listen[SCBO_LISTEN_MAX];
	int n_listen;
	char *key, *db, *logfile, *pidfile, *config;
	uint8_t admins[SCBO_ADMIN_MAX][32];
	int n_admins;
	uint32_t max_users, max_devices, max_loops, default_limit;
	bool has_ula;
	uint8_t ula[6];
	uint32_t cred_lifetime;
	bool nodetach, debug, help, version;
	int src_listen, src_admins;	/* which source filled the lists */
};

struct scbo_err {
	char msg[512];
};

void scbo_init(struct scbo *o);
void scbo_free(struct scbo *o);
/* Config file (the one -c names, else SCBO_CONFIG if present), argv. */
int scbo_load(struct scbo *o, int argc, char **argv, struct scbo_err *err);
int scbo_load_file(struct scbo *o, const char *path, bool must_exist,
		   struct scbo_err *err);
int scbo_load_args(struct scbo *o, int argc, char **argv,
		   struct scbo_err *err);
void scbo_usage(FILE *out);

/* Parsers shared with tests and the client tool. */
int scbo_parse_listen(const char *s, struct sockaddr_storage *ss,
		      socklen_t *len);
/* 32-byte key in standard base64 or hex. */
int scbo_parse_key(const char *s, uint8_t out[32]);
/* fdXX:XXXX:XXXX::/48 (the /48 may be left out). */
int scbo_parse_ula(const char *s, uint8_t out[6]);
/*
 * A secret key file: the 32-byte Ed25519 seed (sloopctl genkey) or
 * libsodium's 64-byte secret key, base64 or hex.  Refuses a file others
 * may read when check_mode.  sk gets the 64-byte form.
 */
int scbo_read_key(const char *path, bool check_mode, uint8_t sk[64],
		  struct scbo_err *err);

#endif /* SLOOP_SCB_SCBOPTS_H */
