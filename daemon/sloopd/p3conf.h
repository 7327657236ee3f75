/* SPDX-License-Identifier: MIT */
/*
 * P3 configuration files (Velocite P3 functional specification,
 * Appendix A), read as they are and mapped onto sloopd options.
 *
 *   # comment                      lines starting with '#' (after blanks)
 *   localstart                     the local section ...
 *   ip=4                           KEY=VALUE; "KEY = VALUE", "KEY VALUE"
 *   address=192.0.2.1              are accepted too: the appendix does not
 *   port=5653                      fix the separator
 *   localend                       ... ends here
 *   1/address=198.51.100.7         N/KEY: remote host number N
 *   1/subnet1=10.1.0.0             N/subnetM with N/maskM: one subnet
 *   1/mask1=255.255.0.0
 *   1/key_type=AES256
 *
 * Keywords sloop does not implement are parsed, checked and reported by
 * name in cfg->warnings (W126); nothing is dropped silently.  Unknown
 * keywords and malformed lines are errors with file and line.
 * docs/p3-compat.md has the full mapping.
 */
#ifndef SLOOPD_P3CONF_H
#define SLOOPD_P3CONF_H

#include "options.h"

#define P3_DEFAULT_PORT 5653

enum p3_key_type { P3_KEY_UNSET, P3_KEY_AES128, P3_KEY_AES256 };

/* A number from the file; line 0 means the keyword was not given. */
struct p3_val {
	long long v;
	int line;
};

struct p3_subnet {
	unsigned int id;	/* the M of subnetM / maskM */
	struct opt_addr subnet, mask;
	unsigned int prefix;	/* from the mask */
	int subnet_line, mask_line;
};

struct p3_remote {
	unsigned int id;	/* the N of N/KEY */
	int line;		/* first line naming it */
	struct p3_val ip, port, rekey_wait, key_array, data_array_time,
		      control_array_time, heartbeat_time, heartbeat_fail;
	struct opt_addr address;
	int address_line;
	int key_type;		/* enum p3_key_type */
	int key_type_line;
	struct p3_subnet *subnets;	/* sorted by id after parsing */
	size_t n_subnets;
};

struct p3_config {
	char file[PATH_MAX];
	uid_t uid;		/* owner and mode of the file, from fstat */
	mode_t mode;
	struct p3_val ip, port, key_generation, rekey_wait, array_size,
		      data_array_time, control_array_time, heartbeat_time,
		      heartbeat_fail, cluster_state, load_balance;
	struct opt_addr address;
	int address_line;
	int key_type;		/* not in the appendix's list, accepted */
	int key_type_line;
	struct p3_remote *remotes;	/* sorted by id */
	size_t n_remotes;
	struct opt_error *warnings;	/* W126, one per keyword use */
	size_t n_warnings;
};

/* 0, or -1 with err (reason E12x, file, line).  cfg is freed on error. */
int p3_parse_file(const char *path, struct p3_config *cfg,
		  struct opt_error *err);
int p3_parse_buffer(const char *name, const char *text, size_t len,
		    struct p3_config *cfg, struct opt_error *err);
void p3_free(struct p3_config *cfg);

/* The port of a remote: N/port, else port 5653. */
unsigned int p3_remote_port(const struct p3_remote *r);
/* AES128 -> SLOOP_CIPHER_AES128_GCM, AES256 -> ..._AES256_GCM, else 0. */
int p3_cipher(int key_type);

/*
 * Applies cfg to o as if its settings stood where p3-config was read
 * (see docs/p3-compat.md).  priv: whether the P3 file counts as a
 * privileged source.  o->role must be set.  Warnings are appended to
 * o->warnings.
 */
int p3_apply(const struct p3_config *cfg, struct sloopd_options *o,
	     bool priv, struct opt_error *err);

#endif
