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
#define SCTL_DNAME_MAX 64	/* link and peer names from sloopd */

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
	/* From the device's sloopd, when one answers (has_daemon). */
	bool has_daemon, up;
	char name[SCTL_DNAME_MAX];
	int64_t last_handshake, last_rekey;	/* unix seconds, 0 = never */
	uint32_t n_rekeys;
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
	char daemon_link[SCTL_DNAME_MAX];	/* "" = no sloopd answered */
};

struct sctl_show {
	struct sctl_dev_info *devs;
	size_t n_devs;
	int64_t wall_now;	/* time(2), for the daemon's timestamps */
};

/* A sloopd's answer to `peers` (daemon/sloopd/ctl.h). */
struct sctl_dpeer {
	uint32_t id;
	char name[SCTL_DNAME_MAX];
	bool up;
	int64_t handshake, rekey;
	uint32_t rekeys;
};

struct sctl_daemon {
	bool has_link;
	char link[SCTL_DNAME_MAX], device[IF_NAMESIZE];
	uint32_t ifindex;
	uint64_t netns;
	struct sctl_dpeer *peers;
	size_t n_peers;
};

/* One answer line into d: 0, or -1 for a malformed line (pure). */
int sctl_daemon_line(struct sctl_daemon *d, const char *line);
void sctl_daemon_free(struct sctl_daemon *d);
/* Copies d's timestamps into the matching device of s, if any (pure). */
void sctl_daemon_merge(struct sctl_show *s, uint64_t my_netns,
		       const struct sctl_daemon *d);
/*
 * Asks every sloopd in $SLOOPD_RUN (default /run/sloop) for its peers
 * and merges the answers; silent when there is none or we may not ask.
 */
void sctl_show_daemons(struct sctl_show *s);

int sctl_show_collect(struct snl *nl, const char *dev,
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
