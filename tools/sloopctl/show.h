/* SPDX-License-Identifier: MIT */
/*
 * sloopctl show: the state read from the kernel, decoupled from both
 * netlink (collect) and output (text, JSON).
 */
#ifndef SLOOPCTL_SHOW_H
#define SLOOPCTL_SHOW_H

#include <net/if.h>
#include <stdio.h>

#include <sloop/uapi.h>

#include "nl.h"
#include "parse.h"

#define SCTL_SHOW_KEYS 4

struct sctl_stats {
	uint64_t v[SLOOP_STATS_A_MAX + 1];
	bool has[SLOOP_STATS_A_MAX + 1];
};

struct sctl_key_info {
	bool has_phase, has_id, has_tx, has_rx;
	uint8_t phase;
	uint32_t id;
	uint64_t tx_packets, rx_packets;
};

struct sctl_peer_info {
	uint32_t id;
	bool has_pubkey, has_endpoint, has_rx_index, has_tx_index;
	bool has_cipher, has_tx_phase, has_last_rx;
	uint8_t pubkey[32];
	struct sockaddr_storage endpoint;
	size_t endpoint_len;
	uint32_t rx_index, tx_index, cipher;
	uint8_t tx_phase;
	uint64_t last_rx;
	struct sctl_key_info keys[SCTL_SHOW_KEYS];
	size_t n_keys;
	struct sctl_subnet *subnets;
	size_t n_subnets;
	struct sctl_stats stats;
};

struct sctl_dev_info {
	uint32_t ifindex;
	char name[IF_NAMESIZE];
	bool has_port, has_pid, has_carrier, has_num_peers, has_padding;
	bool has_rekey_after, has_reject_after;
	uint16_t port;
	uint32_t pid, num_peers;
	uint8_t carrier, padding;
	uint64_t rekey_after, reject_after;
	struct sctl_stats stats;
	struct sctl_peer_info *peers;
	size_t n_peers;
};

struct sctl_show {
	struct sctl_dev_info *devs;
	size_t n_devs;
};

int sctl_show_collect(struct sctl_nl *nl, const char *dev,
		      struct sctl_show *out);
void sctl_show_free(struct sctl_show *s);
void sctl_show_text(FILE *f, const struct sctl_show *s, uint64_t now_ns);
void sctl_show_json(FILE *f, const struct sctl_show *s, uint64_t now_ns);
const char *sctl_stat_name(unsigned int i);
void sctl_json_str(FILE *f, const char *s);

/* Decoders, public for the unit tests. */
int sctl_decode_peer(const struct nlattr *nest, struct sctl_peer_info *p);
int sctl_decode_stats(const struct nlattr *nest, struct sctl_stats *st);

#endif
