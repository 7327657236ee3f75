/* SPDX-License-Identifier: MIT */
/*
 * sloopctl: argument parsers.  Pure functions (no netlink) so that the
 * unit tests can drive them; every failure writes a message naming the
 * offending token into err.
 */
#ifndef SLOOPCTL_PARSE_H
#define SLOOPCTL_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/socket.h>

#define SCTL_ERR_LEN	256
#define SCTL_KEY_MAX	64	/* largest binary key we accept */
#define SCTL_SUBNETS_MAX 256	/* per peer per command */
#define SCTL_KEYOPS_MAX	8
#define SCTL_PEERS_MAX	64

struct sctl_subnet {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t cidr;
};

struct sctl_bin {
	uint8_t buf[SCTL_KEY_MAX];
	size_t len;
};

enum sctl_keyop_kind { SCTL_KEYOP_NEW, SCTL_KEYOP_SWAP, SCTL_KEYOP_DEL };

struct sctl_keyop {
	enum sctl_keyop_kind kind;
	uint8_t phase;
	bool has_id;
	uint32_t id;
	struct sctl_bin tx_key, tx_salt, rx_key, rx_salt;
};

/* One `peer ID ...` clause of `sloopctl set`. */
struct sctl_set_peer {
	uint32_t id;
	bool remove;
	bool has_pubkey, has_endpoint, has_rx_index, has_tx_index, has_cipher;
	bool replace_subnets;
	uint8_t pubkey[32];
	struct sockaddr_storage endpoint;
	socklen_t endpoint_len;
	uint32_t rx_index, tx_index, cipher;
	struct sctl_bin hp_tx, hp_rx;
	struct sctl_subnet *subnets;	/* heap, SCTL_SUBNETS_MAX entries */
	size_t n_subnets;
	struct sctl_keyop keyops[SCTL_KEYOPS_MAX];
	size_t n_keyops;
};

struct sctl_set_req {
	const char *dev;
	bool has_padding, has_rekey_after, has_reject_after;
	uint8_t padding;
	uint64_t rekey_after, reject_after;
	struct sctl_set_peer *peers;	/* heap, SCTL_PEERS_MAX entries */
	size_t n_peers;
};

int sctl_parse_u32(const char *s, uint32_t *out);
int sctl_parse_u64(const char *s, uint64_t *out);
int sctl_parse_endpoint(const char *s, struct sockaddr_storage *ss,
			socklen_t *len, char *err);
int sctl_parse_cidr(const char *s, struct sctl_subnet *sn, char *err);
int sctl_parse_subnet_list(const char *s, struct sctl_subnet *out,
			   size_t max, size_t *n, char *err);
int sctl_parse_hex(const char *s, uint8_t *out, size_t max, size_t *len,
		   char *err);
int sctl_parse_key_arg(const char *s, struct sctl_bin *out, char *err);
int sctl_parse_cipher(const char *s, uint32_t *out);
const char *sctl_cipher_name(uint32_t cipher);
int sctl_parse_padding(const char *s, uint8_t *out);
const char *sctl_padding_name(uint32_t padding);
int sctl_parse_family(const char *s, int *family);

/* `set DEV ...`: argv[0] is DEV.  0 on success, -1 with err set. */
int sctl_set_parse(int argc, char **argv, struct sctl_set_req *req,
		   char *err);
void sctl_set_free(struct sctl_set_req *req);
bool sctl_peer_has_attrs(const struct sctl_set_peer *p);

/* Formatting helpers shared by show and monitor. */
int sctl_format_sockaddr(const struct sockaddr *sa, size_t len, char *out,
			 size_t outlen);
int sctl_format_subnet(const struct sctl_subnet *sn, char *out,
		       size_t outlen);

#endif
