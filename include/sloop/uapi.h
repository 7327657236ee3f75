/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * sloop generic netlink interface, shared by sloop.ko, sloopd and sloopctl.
 * docs/netlink/sloop.yaml describes the same family in the kernel's
 * netlink-spec format; keep the two in step.
 *
 * Conventions:
 *  - every command names its device with SLOOP_A_IFINDEX or SLOOP_A_IFNAME;
 *  - peers are named by SLOOP_PEER_A_ID, a non-zero number the caller picks,
 *    unique within the device;
 *  - mutating commands need CAP_NET_ADMIN in the device's user namespace.
 */
#ifndef _UAPI_SLOOP_H
#define _UAPI_SLOOP_H

#include <linux/types.h>

#define SLOOP_GENL_NAME		"sloop"
#define SLOOP_GENL_VERSION	1
#define SLOOP_MCGRP_NOTIFY	"notify"

enum sloop_cmd {
	SLOOP_CMD_UNSPEC,
	SLOOP_CMD_DEV_GET,	/* do + dump: device state and counters */
	SLOOP_CMD_DEV_ATTACH,	/* SOCK_FD; the caller becomes the owner */
	SLOOP_CMD_DEV_DETACH,	/* only the owner, or the owner's loss */
	SLOOP_CMD_DEV_SET,	/* PADDING, packet limits */
	SLOOP_CMD_PEER_NEW,	/* PEER{ID, ...} */
	SLOOP_CMD_PEER_SET,	/* PEER{ID, ...} */
	SLOOP_CMD_PEER_DEL,	/* PEER{ID} */
	SLOOP_CMD_PEER_GET,	/* do (PEER{ID}) + resumable dump */
	SLOOP_CMD_KEY_NEW,	/* PEER{ID}, KEY{PHASE, TX_*, RX_*} */
	SLOOP_CMD_KEY_SWAP,	/* PEER{ID}, KEY{PHASE}: send with PHASE */
	SLOOP_CMD_KEY_DEL,	/* PEER{ID}, KEY{PHASE} */
	SLOOP_CMD_CTRL_SEND,	/* PEER{ID}, CTRL */

	/* kernel to user space */
	SLOOP_CMD_CTRL_RECV,	 /* unicast to the owner: PEER{ID}, CTRL */
	SLOOP_CMD_PEER_DOWN_NTF, /* multicast: PEER{ID}, REASON */
	SLOOP_CMD_KEY_LIMIT_NTF, /* multicast: PEER{ID}, KEY{PHASE} */
	SLOOP_CMD_ENDPOINT_NTF,	 /* multicast: PEER{ID, ENDPOINT} */

	__SLOOP_CMD_MAX
};

#define SLOOP_CMD_MAX (__SLOOP_CMD_MAX - 1)

enum sloop_a {
	SLOOP_A_UNSPEC,
	SLOOP_A_PAD,			/* 64-bit alignment only */
	SLOOP_A_IFINDEX,		/* u32 */
	SLOOP_A_IFNAME,			/* string */
	SLOOP_A_SOCK_FD,		/* u32, ATTACH only */
	SLOOP_A_LISTEN_PORT,		/* u16, read only */
	SLOOP_A_OWNER_PID,		/* u32, read only: 0 when detached */
	SLOOP_A_CARRIER,		/* u8, read only */
	SLOOP_A_NUM_PEERS,		/* u32, read only */
	SLOOP_A_PADDING,		/* u8, enum sloop_padding */
	SLOOP_A_REKEY_AFTER_PACKETS,	/* u64: KEY_LIMIT_NTF past this */
	SLOOP_A_REJECT_AFTER_PACKETS,	/* u64: a key never sends past this */
	SLOOP_A_STATS,			/* nest, enum sloop_stats_a */
	SLOOP_A_PEER,			/* nest, enum sloop_peer_a */
	SLOOP_A_KEY,			/* nest, enum sloop_key_a */
	SLOOP_A_CTRL,			/* binary, <= SLOOP_CTRL_MAX bytes */
	SLOOP_A_REASON,			/* u32, enum sloop_down_reason */
	__SLOOP_A_MAX
};

#define SLOOP_A_MAX (__SLOOP_A_MAX - 1)

enum sloop_peer_a {
	SLOOP_PEER_A_UNSPEC,
	SLOOP_PEER_A_PAD,
	SLOOP_PEER_A_ID,		/* u32, non-zero */
	SLOOP_PEER_A_PUBKEY,		/* binary[32]: a label for show */
	SLOOP_PEER_A_ENDPOINT,		/* struct sockaddr_in or _in6 */
	SLOOP_PEER_A_RX_INDEX,		/* u32: index the peer sends to us */
	SLOOP_PEER_A_TX_INDEX,		/* u32: index we send to the peer */
	SLOOP_PEER_A_CIPHER,		/* u32, enum sloop_cipher */
	SLOOP_PEER_A_HP_TX_KEY,		/* binary: header protection, send */
	SLOOP_PEER_A_HP_RX_KEY,		/* binary: header protection, receive */
	SLOOP_PEER_A_SUBNETS,		/* nest of SLOOP_SUBNET entries */
	SLOOP_PEER_A_REPLACE_SUBNETS,	/* flag: drop old subnets first */
	SLOOP_PEER_A_TX_PHASE,		/* u8, read only */
	SLOOP_PEER_A_KEYS,		/* nest of SLOOP_A_KEY, read only */
	SLOOP_PEER_A_LAST_RX,		/* u64 ns, CLOCK_BOOTTIME, read only */
	SLOOP_PEER_A_STATS,		/* nest, enum sloop_stats_a */
	__SLOOP_PEER_A_MAX
};

#define SLOOP_PEER_A_MAX (__SLOOP_PEER_A_MAX - 1)

/* SLOOP_PEER_A_SUBNETS holds a list of SLOOP_SUBNET nests */
#define SLOOP_SUBNET 1

enum sloop_subnet_a {
	SLOOP_SUBNET_A_UNSPEC,
	SLOOP_SUBNET_A_FAMILY,		/* u16: AF_INET or AF_INET6 */
	SLOOP_SUBNET_A_ADDR,		/* binary[4] or binary[16] */
	SLOOP_SUBNET_A_CIDR,		/* u8 */
	__SLOOP_SUBNET_A_MAX
};

#define SLOOP_SUBNET_A_MAX (__SLOOP_SUBNET_A_MAX - 1)

enum sloop_key_a {
	SLOOP_KEY_A_UNSPEC,
	SLOOP_KEY_A_PAD,
	SLOOP_KEY_A_PHASE,		/* u8: 0 or 1 */
	SLOOP_KEY_A_ID,			/* u32: the caller's generation */
	SLOOP_KEY_A_TX_KEY,		/* binary: AEAD key, send */
	SLOOP_KEY_A_TX_SALT,		/* binary[4]: nonce salt, send */
	SLOOP_KEY_A_RX_KEY,		/* binary: AEAD key, receive */
	SLOOP_KEY_A_RX_SALT,		/* binary[4]: nonce salt, receive */
	SLOOP_KEY_A_TX_PACKETS,		/* u64, read only */
	SLOOP_KEY_A_RX_PACKETS,		/* u64, read only */
	__SLOOP_KEY_A_MAX
};

#define SLOOP_KEY_A_MAX (__SLOOP_KEY_A_MAX - 1)

enum sloop_stats_a {
	SLOOP_STATS_A_UNSPEC,
	SLOOP_STATS_A_PAD,
	SLOOP_STATS_A_RX_BYTES,		/* u64 each */
	SLOOP_STATS_A_RX_PACKETS,
	SLOOP_STATS_A_TX_BYTES,
	SLOOP_STATS_A_TX_PACKETS,
	SLOOP_STATS_A_DROP_BAD_AUTH,
	SLOOP_STATS_A_DROP_REPLAY,
	SLOOP_STATS_A_DROP_NO_KEY,
	SLOOP_STATS_A_DROP_NO_ROUTE,
	SLOOP_STATS_A_DROP_BAD_SRC,
	SLOOP_STATS_A_DROP_MALFORMED,
	SLOOP_STATS_A_DROP_QUEUE_FULL,
	SLOOP_STATS_A_DROP_NO_PEER,	/* unknown receiver index */
	SLOOP_STATS_A_CTRL_RX,
	SLOOP_STATS_A_CTRL_TX,
	SLOOP_STATS_A_KEEPALIVE_RX,
	__SLOOP_STATS_A_MAX
};

#define SLOOP_STATS_A_MAX (__SLOOP_STATS_A_MAX - 1)

enum sloop_cipher {
	SLOOP_CIPHER_NONE,
	SLOOP_CIPHER_AES256_GCM,	/* the default */
	SLOOP_CIPHER_AES128_GCM,
	SLOOP_CIPHER_CHACHA20_POLY1305,
	__SLOOP_CIPHER_MAX
};

#define SLOOP_CIPHER_MAX (__SLOOP_CIPHER_MAX - 1)

enum sloop_padding {
	SLOOP_PADDING_16,		/* multiple of 16, the default */
	SLOOP_PADDING_BUCKETS,		/* 256, 512, 1024, then the MTU */
	__SLOOP_PADDING_MAX
};

#define SLOOP_PADDING_MAX (__SLOOP_PADDING_MAX - 1)

enum sloop_down_reason {
	SLOOP_DOWN_UNSPEC,
	SLOOP_DOWN_DELETED,		/* PEER_DEL */
	SLOOP_DOWN_DETACHED,		/* owner detached or went away */
	SLOOP_DOWN_KEY_EXHAUSTED,	/* REJECT_AFTER_PACKETS reached */
	SLOOP_DOWN_DEVICE_GONE,		/* device or netns deleted */
	__SLOOP_DOWN_MAX
};

#define SLOOP_CTRL_MAX		1024	/* largest control message */

#endif /* _UAPI_SLOOP_H */
