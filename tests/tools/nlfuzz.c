// SPDX-License-Identifier: MIT
/*
 * nlfuzz: sends hostile generic netlink messages to the sloop family and
 * checks that every one is refused with an error ack.
 *
 *   nlfuzz [--dev DEV] [--free-dev DEV2] [--unprivileged] [-v]
 *
 * DEV is an attached sloop device (peers can be added to it), DEV2 an
 * unattached one (for DEV_ATTACH cases).  Without them only the cases
 * that need no device run.  --unprivileged drops CAP_NET_ADMIN before the
 * socket is opened and expects EPERM from every mutating command.
 * One line per case, a summary, exit 1 on any unexpected success (or a
 * missing ack, or a setup step that should have worked and did not).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <sloop/uapi.h>

/* The case tables below are positional and leave trailing fields zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define FZ_PEER 4242		/* a valid peer nlfuzz creates on DEV */
#define FZ_PEER_UNPRIV 4243	/* must never come into existence */
#define FZ_BOGUS_PEER 0x7ffffff0u
#define FZ_BOGUS_IFINDEX 0x7ffffff0u

struct fz {
	struct nl_sock *sk;
	int fd, family, seq;
	uint32_t dev, free_dev;
	bool unpriv, verbose;
	int pass, fail, skipped;
	char extack[256];
};

struct fz_case {
	const char *name;
	uint8_t cmd;
	bool dump;
	int needs;		/* NEED_* */
	void (*build)(struct fz *f, struct nl_msg *m);
	void (*mangle)(struct nlmsghdr *nlh);
	int want;		/* 0: any error, else this errno */
};

enum { NEED_NONE, NEED_DEV, NEED_FREE_DEV };

static uint8_t zeros[2048];

/* ------------------------------------------------------------ builders */

static void put_dev(struct fz *f, struct nl_msg *m)
{
	nla_put_u32(m, SLOOP_A_IFINDEX, f->dev);
}

static void put_peer_id(struct nl_msg *m, uint32_t id)
{
	struct nlattr *n = nla_nest_start(m, SLOOP_A_PEER);

	nla_put_u32(m, SLOOP_PEER_A_ID, id);
	nla_nest_end(m, n);
}

static void b_none(struct fz *f, struct nl_msg *m)
{
}

static void b_ifindex_u8(struct fz *f, struct nl_msg *m)
{
	nla_put_u8(m, SLOOP_A_IFINDEX, 1);
}

static void b_ifindex_u64(struct fz *f, struct nl_msg *m)
{
	nla_put_u64(m, SLOOP_A_IFINDEX, f->dev ? f->dev : 1);
}

static void b_ifname_nonul(struct fz *f, struct nl_msg *m)
{
	nla_put(m, SLOOP_A_IFNAME, 6, "sloop0");
}

static void b_ifname_long(struct fz *f, struct nl_msg *m)
{
	char name[64];

	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	nla_put_string(m, SLOOP_A_IFNAME, name);
}

static void b_bogus_ifindex(struct fz *f, struct nl_msg *m)
{
	nla_put_u32(m, SLOOP_A_IFINDEX, FZ_BOGUS_IFINDEX);
	put_peer_id(m, 1);
}

static void b_bogus_ifname(struct fz *f, struct nl_msg *m)
{
	nla_put_string(m, SLOOP_A_IFNAME, "nlfuzz-none");
	put_peer_id(m, 1);
}

static void b_unknown_attr(struct fz *f, struct nl_msg *m)
{
	put_dev(f, m);
	put_peer_id(m, FZ_BOGUS_PEER);
	nla_put_u32(m, 200, 1);
}

static void b_attr_zero(struct fz *f, struct nl_msg *m)
{
	put_dev(f, m);
	put_peer_id(m, FZ_BOGUS_PEER);
	nla_put_u32(m, 0, 1);
}

static void b_dup_ifindex(struct fz *f, struct nl_msg *m)
{
	put_dev(f, m);
	nla_put_u16(m, SLOOP_A_IFINDEX, 1);
	put_peer_id(m, FZ_BOGUS_PEER);
}

static void b_peer_as_u32(struct fz *f, struct nl_msg *m)
{
	put_dev(f, m);
	nla_put_u32(m, SLOOP_A_PEER, 1);
}

static void b_peer_garbage(struct fz *f, struct nl_msg *m)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0x02, 0x00, 0xde, 0xad,
					0xbe, 0xef, 0x01, 0x02, 0x03 };

	put_dev(f, m);
	nla_put(m, SLOOP_A_PEER | NLA_F_NESTED, sizeof(junk), junk);
}

static void b_peer_unknown_inner(struct fz *f, struct nl_msg *m)
{
	struct nlattr *n;

	put_dev(f, m);
	n = nla_nest_start(m, SLOOP_A_PEER);
	nla_put_u32(m, SLOOP_PEER_A_ID, FZ_BOGUS_PEER);
	nla_put_u32(m, 99, 7);
	nla_nest_end(m, n);
}

static void b_key_garbage(struct fz *f, struct nl_msg *m)
{
	static const uint8_t junk[] = { 0x03, 0x00, 0x01, 0x00, 0x00 };

	put_dev(f, m);
	put_peer_id(m, FZ_PEER);
	nla_put(m, SLOOP_A_KEY | NLA_F_NESTED, sizeof(junk), junk);
}

static void b_ctrl_huge(struct fz *f, struct nl_msg *m)
{
	put_dev(f, m);
	put_peer_id(m, FZ_PEER);
	nla_put(m, SLOOP_A_CTRL, SLOOP_CTRL_MAX + 1, zeros);
}

/* A well-formed PEER_NEW: the setup of the key cases, and (as
 * FZ_PEER_UNPRIV) the unprivileged case that must get EPERM.
 */
static void put_valid_peer(struct nl_msg *m, uint32_t id, uint32_t idx)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(9) };
	uint8_t key[32], addr[4] = { 10, 254, (uint8_t)(id & 0xff), 0 };
	struct nlattr *p, *subs, *sub;

	memset(key, 0x5a, sizeof(key));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p = nla_nest_start(m, SLOOP_A_PEER);
	nla_put_u32(m, SLOOP_PEER_A_ID, id);
	nla_put(m, SLOOP_PEER_A_ENDPOINT, sizeof(sin), &sin);
	nla_put_u32(m, SLOOP_PEER_A_RX_INDEX, idx);
	nla_put_u32(m, SLOOP_PEER_A_TX_INDEX, idx + 1);
	nla_put_u32(m, SLOOP_PEER_A_CIPHER, SLOOP_CIPHER_AES256_GCM);
	nla_put(m, SLOOP_PEER_A_HP_TX_KEY, 32, key);
	nla_put(m, SLOOP_PEER_A_HP_RX_KEY, 32, key);
	subs = nla_nest_start(m, SLOOP_PEER_A_SUBNETS);
	sub = nla_nest_start(m, SLOOP_SUBNET);
	nla_put_u16(m, SLOOP_SUBNET_A_FAMILY, AF_INET);
	nla_put(m, SLOOP_SUBNET_A_ADDR, 4, addr);
	nla_put_u8(m, SLOOP_SUBNET_A_CIDR, 24);
	nla_nest_end(m, sub);
	nla_nest_end(m, subs);
	nla_nest_end(m, p);
}

static void b_valid_peer_unpriv(struct fz *f, struct nl_msg *m)
{
	put_dev(f, m);
	put_valid_peer(m, FZ_PEER_UNPRIV, 0x51000001);
}

/* Peer attributes: each builder puts one bad attribute into an
 * otherwise valid PEER_NEW for a fresh id.
 */
static struct nlattr *peer_start(struct fz *f, struct nl_msg *m)
{
	struct nlattr *p;

	put_dev(f, m);
	p = nla_nest_start(m, SLOOP_A_PEER);
	nla_put_u32(m, SLOOP_PEER_A_ID, FZ_PEER + 100);
	return p;
}

#define PEER_CASE(fn, body)					\
	static void fn(struct fz *f, struct nl_msg *m)		\
	{							\
		struct nlattr *p_ = peer_start(f, m);		\
		body;						\
		nla_nest_end(m, p_);				\
	}

static void put_subnet(struct nl_msg *m, int fam, int alen, int cidr)
{
	struct nlattr *subs = nla_nest_start(m, SLOOP_PEER_A_SUBNETS);
	struct nlattr *sub = nla_nest_start(m, SLOOP_SUBNET);

	nla_put_u16(m, SLOOP_SUBNET_A_FAMILY, (uint16_t)fam);
	nla_put(m, SLOOP_SUBNET_A_ADDR, alen, zeros);
	nla_put_u8(m, SLOOP_SUBNET_A_CIDR, (uint8_t)cidr);
	nla_nest_end(m, sub);
	nla_nest_end(m, subs);
}

static void put_ep(struct nl_msg *m, int fam, int len)
{
	struct sockaddr_in6 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = (sa_family_t)fam;
	sa.sin6_port = htons(9);
	nla_put(m, SLOOP_PEER_A_ENDPOINT, len, &sa);
}

PEER_CASE(b_peer_id_zero, nla_put_u32(m, SLOOP_PEER_A_ID, 0))
PEER_CASE(b_peer_id_u8, nla_put_u8(m, SLOOP_PEER_A_ID, 1))
PEER_CASE(b_pubkey_31, nla_put(m, SLOOP_PEER_A_PUBKEY, 31, zeros))
PEER_CASE(b_pubkey_33, nla_put(m, SLOOP_PEER_A_PUBKEY, 33, zeros))
PEER_CASE(b_ep_short, put_ep(m, AF_INET, 3))
PEER_CASE(b_ep_unix, put_ep(m, AF_UNIX, sizeof(struct sockaddr_in)))
PEER_CASE(b_ep_v6_short, put_ep(m, AF_INET6, sizeof(struct sockaddr_in)))
PEER_CASE(b_ep_huge, nla_put(m, SLOOP_PEER_A_ENDPOINT, 200, zeros))
PEER_CASE(b_cipher_99, nla_put_u32(m, SLOOP_PEER_A_CIPHER, 99))
PEER_CASE(b_cipher_u8, nla_put_u8(m, SLOOP_PEER_A_CIPHER, 1))
PEER_CASE(b_hp_7, nla_put(m, SLOOP_PEER_A_HP_TX_KEY, 7, zeros))
PEER_CASE(b_hp_huge, nla_put(m, SLOOP_PEER_A_HP_RX_KEY, 1000, zeros))
PEER_CASE(b_subnets_flat, nla_put_u32(m, SLOOP_PEER_A_SUBNETS, 1))
PEER_CASE(b_subnet_cidr33, put_subnet(m, AF_INET, 4, 33))
PEER_CASE(b_subnet_cidr129, put_subnet(m, AF_INET6, 16, 129))
PEER_CASE(b_subnet_fam99, put_subnet(m, 99, 4, 8))
PEER_CASE(b_subnet_addr5, put_subnet(m, AF_INET, 5, 8))
PEER_CASE(b_subnet_v4_16, put_subnet(m, AF_INET, 16, 8))
PEER_CASE(b_subnet_v6_4, put_subnet(m, AF_INET6, 4, 8))
PEER_CASE(b_rx_index_u16, nla_put_u16(m, SLOOP_PEER_A_RX_INDEX, 1))
PEER_CASE(b_replace_valued, nla_put_u32(m, SLOOP_PEER_A_REPLACE_SUBNETS, 1))
PEER_CASE(b_readonly_stats, nla_put_u64(m, SLOOP_PEER_A_STATS, 1))

static void b_peer_no_id(struct fz *f, struct nl_msg *m)
{
	struct nlattr *p;

	put_dev(f, m);
	p = nla_nest_start(m, SLOOP_A_PEER);
	nla_put_u32(m, SLOOP_PEER_A_CIPHER, SLOOP_CIPHER_AES256_GCM);
	nla_nest_end(m, p);
}

static void b_bogus_peer(struct fz *f, struct nl_msg *m)
{
	put_dev(f, m);
	put_peer_id(m, FZ_BOGUS_PEER);
}

static void b_dup_peer_new(struct fz *f, struct nl_msg *m)
{
	put_dev(f, m);
	put_valid_peer(m, FZ_PEER, 0x42000001);
}

/* Key nests: an otherwise valid KEY_NEW for FZ_PEER with one defect. */
struct key_spec {
	int phase, txk, txs, rxk, rxs;	/* -1: leave out */
};

static void put_key(struct fz *f, struct nl_msg *m, uint32_t peer,
		    const struct key_spec *k)
{
	struct nlattr *n;

	put_dev(f, m);
	put_peer_id(m, peer);
	n = nla_nest_start(m, SLOOP_A_KEY);
	if (k->phase >= 0)
		nla_put_u8(m, SLOOP_KEY_A_PHASE, (uint8_t)k->phase);
	if (k->txk >= 0)
		nla_put(m, SLOOP_KEY_A_TX_KEY, k->txk, zeros);
	if (k->txs >= 0)
		nla_put(m, SLOOP_KEY_A_TX_SALT, k->txs, zeros);
	if (k->rxk >= 0)
		nla_put(m, SLOOP_KEY_A_RX_KEY, k->rxk, zeros);
	if (k->rxs >= 0)
		nla_put(m, SLOOP_KEY_A_RX_SALT, k->rxs, zeros);
	nla_nest_end(m, n);
}

#define KEY_CASE(fn, peer, ...)					\
	static void fn(struct fz *f, struct nl_msg *m)		\
	{							\
		static const struct key_spec k_ = { __VA_ARGS__ }; \
		put_key(f, m, peer, &k_);			\
	}

KEY_CASE(b_key_phase2, FZ_PEER, 2, 32, 4, 32, 4)
KEY_CASE(b_key_txk17, FZ_PEER, 0, 17, 4, 32, 4)
KEY_CASE(b_key_rxk_huge, FZ_PEER, 0, 32, 4, 1500, 4)
KEY_CASE(b_key_txs3, FZ_PEER, 0, 32, 3, 32, 4)
KEY_CASE(b_key_rxs5, FZ_PEER, 0, 32, 4, 32, 5)
KEY_CASE(b_key_no_rxk, FZ_PEER, 0, 32, 4, -1, 4)
KEY_CASE(b_key_no_phase, FZ_PEER, -1, 32, 4, 32, 4)
KEY_CASE(b_key_mixed_len, FZ_PEER, 0, 16, 4, 32, 4)
KEY_CASE(b_key_bogus_peer, FZ_BOGUS_PEER, 0, 32, 4, 32, 4)
KEY_CASE(b_key_phase_only_5, FZ_PEER, 5, -1, -1, -1, -1)
KEY_CASE(b_swap_empty, FZ_PEER, 1, -1, -1, -1, -1)

static void b_key_missing(struct fz *f, struct nl_msg *m)
{
	put_dev(f, m);
	put_peer_id(m, FZ_PEER);
}

static void b_ctrl_missing(struct fz *f, struct nl_msg *m)
{
	put_dev(f, m);
	put_peer_id(m, FZ_PEER);
}

static void b_ctrl_bogus_peer(struct fz *f, struct nl_msg *m)
{
	put_dev(f, m);
	put_peer_id(m, FZ_BOGUS_PEER);
	nla_put(m, SLOOP_A_CTRL, 16, zeros);
}

static void b_padding_9(struct fz *f, struct nl_msg *m)
{
	put_dev(f, m);
	nla_put_u8(m, SLOOP_A_PADDING, 9);
}

static void b_padding_u32(struct fz *f, struct nl_msg *m)
{
	put_dev(f, m);
	nla_put_u32(m, SLOOP_A_PADDING, 0);
}

static void b_rekey_u32(struct fz *f, struct nl_msg *m)
{
	put_dev(f, m);
	nla_put_u32(m, SLOOP_A_REKEY_AFTER_PACKETS, 5);
}

static void b_readonly_port(struct fz *f, struct nl_msg *m)
{
	put_dev(f, m);
	nla_put_u16(m, SLOOP_A_LISTEN_PORT, 1);
}

/* DEV_ATTACH descriptors that are not a usable UDP socket. */
static int attach_fd = -1;

static void put_attach(struct fz *f, struct nl_msg *m, uint32_t fd)
{
	nla_put_u32(m, SLOOP_A_IFINDEX, f->free_dev);
	nla_put_u32(m, SLOOP_A_SOCK_FD, fd);
}

static void b_free_dev(struct fz *f, struct nl_msg *m)
{
	nla_put_u32(m, SLOOP_A_IFINDEX, f->free_dev);
}

static void b_fd_minus1(struct fz *f, struct nl_msg *m)
{
	put_attach(f, m, 0xffffffffu);
}

static void b_fd_unopened(struct fz *f, struct nl_msg *m)
{
	put_attach(f, m, 1000);
}

static void b_fd_file(struct fz *f, struct nl_msg *m)
{
	attach_fd = open("/dev/null", O_RDONLY);
	put_attach(f, m, (uint32_t)attach_fd);
}

static void b_fd_tcp(struct fz *f, struct nl_msg *m)
{
	attach_fd = socket(AF_INET, SOCK_STREAM, 0);
	put_attach(f, m, (uint32_t)attach_fd);
}

static void b_fd_unix(struct fz *f, struct nl_msg *m)
{
	attach_fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	put_attach(f, m, (uint32_t)attach_fd);
}

static void b_fd_netlink(struct fz *f, struct nl_msg *m)
{
	put_attach(f, m, (uint32_t)f->fd);
}

static void b_fd_u8(struct fz *f, struct nl_msg *m)
{
	nla_put_u32(m, SLOOP_A_IFINDEX, f->free_dev);
	nla_put_u8(m, SLOOP_A_SOCK_FD, 3);
}

static void b_attach_busy(struct fz *f, struct nl_msg *m)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	attach_fd = socket(AF_INET, SOCK_DGRAM, 0);
	bind(attach_fd, (struct sockaddr *)&sin, sizeof(sin));
	put_dev(f, m);
	nla_put_u32(m, SLOOP_A_SOCK_FD, (uint32_t)attach_fd);
}

/* ------------------------------------------------------------ manglers */

static void m_short_genl(struct nlmsghdr *nlh)
{
	nlh->nlmsg_len = NLMSG_HDRLEN + 2;
}

/* The first attribute claims more bytes than the message holds. */
static void m_attr_overrun(struct nlmsghdr *nlh)
{
	struct nlattr *a = (struct nlattr *)((char *)nlmsg_data(nlh) +
					     GENL_HDRLEN);

	a->nla_len = 0x4000;
}

static void m_attr_tiny(struct nlmsghdr *nlh)
{
	struct nlattr *a = (struct nlattr *)((char *)nlmsg_data(nlh) +
					     GENL_HDRLEN);

	a->nla_len = 2;
}

/* Trailing bytes that are not an attribute. */
static void m_trailing(struct nlmsghdr *nlh)
{
	memset((char *)nlh + nlh->nlmsg_len, 0xa5, 3);
	nlh->nlmsg_len += 3;
}

/* -------------------------------------------------------------- tables */

static const uint8_t all_cmds[] = {
	SLOOP_CMD_DEV_GET, SLOOP_CMD_DEV_ATTACH, SLOOP_CMD_DEV_DETACH,
	SLOOP_CMD_DEV_SET, SLOOP_CMD_PEER_NEW, SLOOP_CMD_PEER_SET,
	SLOOP_CMD_PEER_DEL, SLOOP_CMD_PEER_GET, SLOOP_CMD_KEY_NEW,
	SLOOP_CMD_KEY_SWAP, SLOOP_CMD_KEY_DEL, SLOOP_CMD_CTRL_SEND,
};

static const uint8_t mutating[] = {
	SLOOP_CMD_DEV_ATTACH, SLOOP_CMD_DEV_DETACH, SLOOP_CMD_DEV_SET,
	SLOOP_CMD_PEER_NEW, SLOOP_CMD_PEER_SET, SLOOP_CMD_PEER_DEL,
	SLOOP_CMD_KEY_NEW, SLOOP_CMD_KEY_SWAP, SLOOP_CMD_KEY_DEL,
	SLOOP_CMD_CTRL_SEND,
};

static const char *cmd_name(uint8_t cmd)
{
	static const char *const names[] = {
		[SLOOP_CMD_DEV_GET] = "DEV_GET",
		[SLOOP_CMD_DEV_ATTACH] = "DEV_ATTACH",
		[SLOOP_CMD_DEV_DETACH] = "DEV_DETACH",
		[SLOOP_CMD_DEV_SET] = "DEV_SET",
		[SLOOP_CMD_PEER_NEW] = "PEER_NEW",
		[SLOOP_CMD_PEER_SET] = "PEER_SET",
		[SLOOP_CMD_PEER_DEL] = "PEER_DEL",
		[SLOOP_CMD_PEER_GET] = "PEER_GET",
		[SLOOP_CMD_KEY_NEW] = "KEY_NEW",
		[SLOOP_CMD_KEY_SWAP] = "KEY_SWAP",
		[SLOOP_CMD_KEY_DEL] = "KEY_DEL",
		[SLOOP_CMD_CTRL_SEND] = "CTRL_SEND",
		[SLOOP_CMD_CTRL_RECV] = "CTRL_RECV",
		[SLOOP_CMD_PEER_DOWN_NTF] = "PEER_DOWN_NTF",
		[SLOOP_CMD_KEY_LIMIT_NTF] = "KEY_LIMIT_NTF",
		[SLOOP_CMD_ENDPOINT_NTF] = "ENDPOINT_NTF",
	};

	return cmd < sizeof(names) / sizeof(names[0]) && names[cmd] ?
	       names[cmd] : "UNKNOWN";
}

/* Applied to every command, with and without the dump flag where the
 * command has a dump.
 */
static const struct fz_case generic[] = {
	{ "wrong-size ifindex (u8)", 0, 0, NEED_NONE, b_ifindex_u8 },
	{ "wrong-size ifindex (u64)", 0, 0, NEED_NONE, b_ifindex_u64 },
	{ "ifname without NUL", 0, 0, NEED_NONE, b_ifname_nonul },
	{ "ifname of 63 bytes", 0, 0, NEED_NONE, b_ifname_long },
	{ "bogus ifindex", 0, 0, NEED_NONE, b_bogus_ifindex },
	{ "bogus ifname", 0, 0, NEED_NONE, b_bogus_ifname },
	{ "unknown attribute 200", 0, 0, NEED_DEV, b_unknown_attr },
	{ "attribute type 0", 0, 0, NEED_DEV, b_attr_zero },
	{ "duplicate ifindex, 2nd u16", 0, 0, NEED_DEV, b_dup_ifindex },
	{ "PEER as u32", 0, 0, NEED_DEV, b_peer_as_u32 },
	{ "PEER nest of garbage", 0, 0, NEED_DEV, b_peer_garbage },
	{ "PEER unknown inner attr", 0, 0, NEED_DEV, b_peer_unknown_inner },
	{ "truncated genl header", 0, 0, NEED_NONE, b_none, m_short_genl },
	{ "attribute overruns message", 0, 0, NEED_DEV, b_bogus_peer,
	  m_attr_overrun },
	{ "attribute length 2", 0, 0, NEED_DEV, b_bogus_peer, m_attr_tiny },
	{ "trailing garbage", 0, 0, NEED_DEV, b_bogus_peer, m_trailing },
};

/* Command-specific cases against real devices. */
static const struct fz_case specific[] = {
	{ "no attributes", SLOOP_CMD_DEV_GET, 0, NEED_NONE, b_none },
	{ "no device", SLOOP_CMD_PEER_GET, 1, NEED_NONE, b_none },
	{ "no attributes", SLOOP_CMD_PEER_NEW, 0, NEED_NONE, b_none },
	{ "no attributes", SLOOP_CMD_KEY_NEW, 0, NEED_NONE, b_none },
	{ "no attributes", SLOOP_CMD_CTRL_SEND, 0, NEED_NONE, b_none },
	{ "no attributes", SLOOP_CMD_DEV_ATTACH, 0, NEED_NONE, b_none },
	{ "no attributes", SLOOP_CMD_DEV_DETACH, 0, NEED_NONE, b_none },
	{ "no attributes", SLOOP_CMD_DEV_SET, 0, NEED_NONE, b_none },
	{ "no attributes", SLOOP_CMD_PEER_DEL, 0, NEED_NONE, b_none },
	{ "no attributes", SLOOP_CMD_KEY_SWAP, 0, NEED_NONE, b_none },
	{ "kernel-to-user CTRL_RECV", SLOOP_CMD_CTRL_RECV, 0, NEED_DEV,
	  b_bogus_peer },
	{ "kernel-to-user PEER_DOWN_NTF", SLOOP_CMD_PEER_DOWN_NTF, 0,
	  NEED_DEV, b_bogus_peer },
	{ "kernel-to-user ENDPOINT_NTF", SLOOP_CMD_ENDPOINT_NTF, 0, NEED_DEV,
	  b_bogus_peer },
	{ "command 0", 0, 0, NEED_DEV, b_bogus_peer },
	{ "command 250", 250, 0, NEED_DEV, b_bogus_peer },
	{ "padding 9", SLOOP_CMD_DEV_SET, 0, NEED_DEV, b_padding_9 },
	{ "padding as u32", SLOOP_CMD_DEV_SET, 0, NEED_DEV, b_padding_u32 },
	{ "rekey-after as u32", SLOOP_CMD_DEV_SET, 0, NEED_DEV, b_rekey_u32 },
	{ "read-only listen port", SLOOP_CMD_DEV_SET, 0, NEED_DEV,
	  b_readonly_port },
	{ "peer id 0", SLOOP_CMD_PEER_NEW, 0, NEED_DEV, b_peer_id_zero },
	{ "peer id as u8", SLOOP_CMD_PEER_NEW, 0, NEED_DEV, b_peer_id_u8 },
	{ "peer without id", SLOOP_CMD_PEER_NEW, 0, NEED_DEV, b_peer_no_id },
	{ "pubkey 31 bytes", SLOOP_CMD_PEER_NEW, 0, NEED_DEV, b_pubkey_31 },
	{ "pubkey 33 bytes", SLOOP_CMD_PEER_NEW, 0, NEED_DEV, b_pubkey_33 },
	{ "endpoint 3 bytes", SLOOP_CMD_PEER_NEW, 0, NEED_DEV, b_ep_short },
	{ "endpoint AF_UNIX", SLOOP_CMD_PEER_NEW, 0, NEED_DEV, b_ep_unix },
	{ "endpoint v6 too short", SLOOP_CMD_PEER_NEW, 0, NEED_DEV,
	  b_ep_v6_short },
	{ "endpoint 200 bytes", SLOOP_CMD_PEER_NEW, 0, NEED_DEV, b_ep_huge },
	{ "cipher 99", SLOOP_CMD_PEER_NEW, 0, NEED_DEV, b_cipher_99 },
	{ "cipher as u8", SLOOP_CMD_PEER_NEW, 0, NEED_DEV, b_cipher_u8 },
	{ "hp key 7 bytes", SLOOP_CMD_PEER_NEW, 0, NEED_DEV, b_hp_7 },
	{ "hp key 1000 bytes", SLOOP_CMD_PEER_NEW, 0, NEED_DEV, b_hp_huge },
	{ "subnets as u32", SLOOP_CMD_PEER_NEW, 0, NEED_DEV, b_subnets_flat },
	{ "subnet v4 /33", SLOOP_CMD_PEER_NEW, 0, NEED_DEV, b_subnet_cidr33 },
	{ "subnet v6 /129", SLOOP_CMD_PEER_NEW, 0, NEED_DEV,
	  b_subnet_cidr129 },
	{ "subnet family 99", SLOOP_CMD_PEER_NEW, 0, NEED_DEV,
	  b_subnet_fam99 },
	{ "subnet addr 5 bytes", SLOOP_CMD_PEER_NEW, 0, NEED_DEV,
	  b_subnet_addr5 },
	{ "subnet v4 with 16-byte addr", SLOOP_CMD_PEER_NEW, 0, NEED_DEV,
	  b_subnet_v4_16 },
	{ "subnet v6 with 4-byte addr", SLOOP_CMD_PEER_NEW, 0, NEED_DEV,
	  b_subnet_v6_4 },
	{ "rx-index as u16", SLOOP_CMD_PEER_NEW, 0, NEED_DEV, b_rx_index_u16 },
	{ "replace-subnets with a value", SLOOP_CMD_PEER_NEW, 0, NEED_DEV,
	  b_replace_valued },
	{ "read-only stats", SLOOP_CMD_PEER_NEW, 0, NEED_DEV,
	  b_readonly_stats },
	{ "existing peer id", SLOOP_CMD_PEER_NEW, 0, NEED_DEV,
	  b_dup_peer_new },
	{ "unknown peer", SLOOP_CMD_PEER_SET, 0, NEED_DEV, b_bogus_peer },
	{ "unknown peer", SLOOP_CMD_PEER_DEL, 0, NEED_DEV, b_bogus_peer },
	{ "unknown peer", SLOOP_CMD_PEER_GET, 0, NEED_DEV, b_bogus_peer },
	{ "unknown peer", SLOOP_CMD_KEY_NEW, 0, NEED_DEV, b_key_bogus_peer },
	{ "key missing", SLOOP_CMD_KEY_NEW, 0, NEED_DEV, b_key_missing },
	{ "key nest of garbage", SLOOP_CMD_KEY_NEW, 0, NEED_DEV,
	  b_key_garbage },
	{ "phase 2", SLOOP_CMD_KEY_NEW, 0, NEED_DEV, b_key_phase2 },
	{ "tx key 17 bytes", SLOOP_CMD_KEY_NEW, 0, NEED_DEV, b_key_txk17 },
	{ "rx key 1500 bytes", SLOOP_CMD_KEY_NEW, 0, NEED_DEV,
	  b_key_rxk_huge },
	{ "tx salt 3 bytes", SLOOP_CMD_KEY_NEW, 0, NEED_DEV, b_key_txs3 },
	{ "rx salt 5 bytes", SLOOP_CMD_KEY_NEW, 0, NEED_DEV, b_key_rxs5 },
	{ "rx key missing", SLOOP_CMD_KEY_NEW, 0, NEED_DEV, b_key_no_rxk },
	{ "phase missing", SLOOP_CMD_KEY_NEW, 0, NEED_DEV, b_key_no_phase },
	{ "16-byte key for aes256gcm", SLOOP_CMD_KEY_NEW, 0, NEED_DEV,
	  b_key_mixed_len },
	{ "phase 5", SLOOP_CMD_KEY_SWAP, 0, NEED_DEV, b_key_phase_only_5 },
	{ "to an empty phase", SLOOP_CMD_KEY_SWAP, 0, NEED_DEV,
	  b_swap_empty },
	{ "phase 5", SLOOP_CMD_KEY_DEL, 0, NEED_DEV, b_key_phase_only_5 },
	{ "key missing", SLOOP_CMD_KEY_DEL, 0, NEED_DEV, b_key_missing },
	{ "control message 1025 bytes", SLOOP_CMD_CTRL_SEND, 0, NEED_DEV,
	  b_ctrl_huge },
	{ "control message missing", SLOOP_CMD_CTRL_SEND, 0, NEED_DEV,
	  b_ctrl_missing },
	{ "unknown peer", SLOOP_CMD_CTRL_SEND, 0, NEED_DEV,
	  b_ctrl_bogus_peer },
	{ "fd -1", SLOOP_CMD_DEV_ATTACH, 0, NEED_FREE_DEV, b_fd_minus1 },
	{ "fd not open", SLOOP_CMD_DEV_ATTACH, 0, NEED_FREE_DEV,
	  b_fd_unopened },
	{ "fd of /dev/null", SLOOP_CMD_DEV_ATTACH, 0, NEED_FREE_DEV,
	  b_fd_file },
	{ "fd of a TCP socket", SLOOP_CMD_DEV_ATTACH, 0, NEED_FREE_DEV,
	  b_fd_tcp },
	{ "fd of a unix socket", SLOOP_CMD_DEV_ATTACH, 0, NEED_FREE_DEV,
	  b_fd_unix },
	{ "fd of this netlink socket", SLOOP_CMD_DEV_ATTACH, 0,
	  NEED_FREE_DEV, b_fd_netlink },
	{ "fd as u8", SLOOP_CMD_DEV_ATTACH, 0, NEED_FREE_DEV, b_fd_u8 },
	{ "device already owned", SLOOP_CMD_DEV_ATTACH, 0, NEED_DEV,
	  b_attach_busy },
	{ "not the owner", SLOOP_CMD_DEV_DETACH, 0, NEED_DEV, b_bogus_peer },
	{ "detach an unattached device", SLOOP_CMD_DEV_DETACH, 0,
	  NEED_FREE_DEV, b_free_dev },
};

/* ------------------------------------------------------------- engine */

static void save_extack(struct fz *f, struct nlmsghdr *nlh)
{
	struct nlmsgerr *e = nlmsg_data(nlh);
	size_t off = sizeof(*e);
	struct nlattr *a;
	int rem;

	f->extack[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	if (nlh->nlmsg_len < NLMSG_HDRLEN + off)
		return;
	rem = (int)(nlh->nlmsg_len - NLMSG_HDRLEN - off);
	nla_for_each_attr(a, (struct nlattr *)((char *)e + NLMSG_ALIGN(off)),
			  rem, rem)
		if (nla_type(a) == NLMSGERR_ATTR_MSG)
			snprintf(f->extack, sizeof(f->extack), "%.*s",
				 nla_len(a), (char *)nla_data(a));
}

/* 0 on success ack, -errno on error ack, 1 when no ack came. */
static int await_ack(struct fz *f, uint32_t seq, int *replies)
{
	static char buf[65536];
	struct pollfd pfd = { .fd = f->fd, .events = POLLIN };

	*replies = 0;
	for (;;) {
		struct nlmsghdr *nlh;
		ssize_t n;
		int len;

		if (poll(&pfd, 1, 5000) <= 0)
			return 1;
		n = recv(f->fd, buf, sizeof(buf), 0);
		if (n < 0)
			return errno == EINTR ? 1 : -errno;
		len = (int)n;
		for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, len);
		     nlh = NLMSG_NEXT(nlh, len)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				save_extack(f, nlh);
				return ((struct nlmsgerr *)nlmsg_data(nlh))->error;
			}
			if (nlh->nlmsg_type == NLMSG_DONE) {
				int e = 0;

				if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(e))
					memcpy(&e, nlmsg_data(nlh), sizeof(e));
				return e;
			}
			(*replies)++;
		}
	}
}

static int send_case(struct fz *f, const struct fz_case *c, uint8_t cmd,
		     bool dump, int *replies)
{
	struct nl_msg *m = nlmsg_alloc_size(8192);
	struct nlmsghdr *nlh;
	uint32_t seq = (uint32_t)++f->seq;
	ssize_t n;
	int ret;

	if (!m)
		return -ENOMEM;
	genlmsg_put(m, 0, seq, f->family, 0,
		    NLM_F_REQUEST | NLM_F_ACK | (dump ? NLM_F_DUMP : 0), cmd,
		    SLOOP_GENL_VERSION);
	c->build(f, m);
	nlh = nlmsg_hdr(m);
	if (c->mangle)
		c->mangle(nlh);
	n = send(f->fd, nlh, nlh->nlmsg_len, 0);
	nlmsg_free(m);
	if (attach_fd >= 0) {
		close(attach_fd);
		attach_fd = -1;
	}
	if (n < 0)
		return -errno;
	ret = await_ack(f, seq, replies);
	return ret;
}

static void run_one(struct fz *f, const struct fz_case *c, uint8_t cmd,
		    bool dump, int want)
{
	int replies = 0, ret;
	bool ok;

	if ((c->needs == NEED_DEV && !f->dev) ||
	    (c->needs == NEED_FREE_DEV && !f->free_dev)) {
		f->skipped++;
		return;
	}
	f->extack[0] = '\0';
	ret = send_case(f, c, cmd, dump, &replies);
	ok = ret < 0 && (!want || ret == -want);
	printf("%s %s%s: %s: ", ok ? "ok  " : "FAIL", cmd_name(cmd),
	       dump ? " (dump)" : "", c->name);
	if (ret == 1)
		printf("no ack within 5 s");
	else if (ret == 0)
		printf("accepted (%d replies)", replies);
	else
		printf("%s", strerror(-ret));
	if (!ok && want && ret < 0)
		printf(", wanted %s", strerror(want));
	if (f->extack[0])
		printf(" [%s]", f->extack);
	printf("\n");
	if (ok)
		f->pass++;
	else
		f->fail++;
}

static bool has_dump(uint8_t cmd)
{
	return cmd == SLOOP_CMD_DEV_GET || cmd == SLOOP_CMD_PEER_GET;
}

/* A device dump may legitimately ignore a device filter it does not
 * support, so naming a missing device there proves nothing.
 */
static bool filter_only(const struct fz_case *c, uint8_t cmd)
{
	return cmd == SLOOP_CMD_DEV_GET &&
	       (c->build == b_bogus_ifindex || c->build == b_bogus_ifname);
}

static void run_generic(struct fz *f)
{
	for (size_t i = 0; i < sizeof(all_cmds); i++) {
		for (size_t j = 0; j < sizeof(generic) / sizeof(generic[0]);
		     j++) {
			run_one(f, &generic[j], all_cmds[i], false, 0);
			if (has_dump(all_cmds[i]) &&
			    !filter_only(&generic[j], all_cmds[i]))
				run_one(f, &generic[j], all_cmds[i], true, 0);
		}
	}
}

static void run_specific(struct fz *f)
{
	for (size_t i = 0; i < sizeof(specific) / sizeof(specific[0]); i++)
		run_one(f, &specific[i], specific[i].cmd, specific[i].dump,
			specific[i].want);
}

/* Setup and teardown are expected to succeed: a valid peer on DEV, so
 * that key and control cases reach the code behind the peer lookup.
 */
static int valid_peer(struct fz *f, bool add)
{
	struct nl_msg *m = nlmsg_alloc();
	uint32_t seq = (uint32_t)++f->seq;
	int replies, ret;

	if (!m)
		return -1;
	genlmsg_put(m, 0, seq, f->family, 0, NLM_F_REQUEST | NLM_F_ACK,
		    add ? SLOOP_CMD_PEER_NEW : SLOOP_CMD_PEER_DEL,
		    SLOOP_GENL_VERSION);
	put_dev(f, m);
	if (add)
		put_valid_peer(m, FZ_PEER, 0x42000001);
	else
		put_peer_id(m, FZ_PEER);
	send(f->fd, nlmsg_hdr(m), nlmsg_hdr(m)->nlmsg_len, 0);
	nlmsg_free(m);
	ret = await_ack(f, seq, &replies);
	printf("%s setup: %s peer %u: %s%s%s%s\n", ret ? "FAIL" : "ok  ",
	       add ? "create" : "delete", FZ_PEER,
	       ret ? strerror(ret < 0 ? -ret : ETIMEDOUT) : "done",
	       f->extack[0] ? " [" : "", f->extack, f->extack[0] ? "]" : "");
	if (ret)
		f->fail++;
	return ret;
}

static void run_unprivileged(struct fz *f)
{
	static const struct fz_case valid = { "valid message, no CAP_NET_ADMIN",
					      0, 0, NEED_DEV,
					      b_valid_peer_unpriv };
	static const struct fz_case bare = { "device only, no CAP_NET_ADMIN",
					     0, 0, NEED_DEV, b_bogus_peer };

	for (size_t i = 0; i < sizeof(mutating); i++)
		run_one(f, mutating[i] == SLOOP_CMD_PEER_NEW ? &valid : &bare,
			mutating[i], false, EPERM);
}

static int drop_net_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	uint32_t bit = 1u << (CAP_NET_ADMIN % 32);
	int w = CAP_NET_ADMIN / 32;

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[w].effective &= ~bit;
	data[w].permitted &= ~bit;
	data[w].inheritable &= ~bit;
	if (syscall(SYS_capset, &hdr, data))
		return -1;
	/* Check it took: capget again. */
	if (syscall(SYS_capget, &hdr, data) || (data[w].effective & bit))
		return -1;
	return 0;
}

static int open_fz(struct fz *f)
{
	int one = 1;

	f->sk = nl_socket_alloc();
	if (!f->sk || genl_connect(f->sk))
		return -1;
	f->family = genl_ctrl_resolve(f->sk, SLOOP_GENL_NAME);
	if (f->family < 0) {
		fprintf(stderr, "nlfuzz: family '%s' not found\n",
			SLOOP_GENL_NAME);
		return -1;
	}
	f->fd = nl_socket_get_fd(f->sk);
	setsockopt(f->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	f->seq = 1000;
	return 0;
}

static int parse_args(struct fz *f, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--unprivileged")) {
			f->unpriv = true;
		} else if (!strcmp(a, "-v")) {
			f->verbose = true;
		} else if ((!strcmp(a, "--dev") || !strcmp(a, "--free-dev")) &&
			   i + 1 < argc) {
			uint32_t idx = if_nametoindex(argv[++i]);

			if (!idx) {
				fprintf(stderr, "nlfuzz: no device '%s'\n",
					argv[i]);
				return -1;
			}
			*(a[2] == 'd' ? &f->dev : &f->free_dev) = idx;
		} else {
			fprintf(stderr,
				"usage: nlfuzz [--dev DEV] [--free-dev DEV2] [--unprivileged]\n");
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct fz f;

	memset(&f, 0, sizeof(f));
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_args(&f, argc, argv))
		return 2;
	if (f.unpriv && drop_net_admin()) {
		perror("nlfuzz: dropping CAP_NET_ADMIN");
		return 2;
	}
	if (open_fz(&f))
		return 2;
	if (f.unpriv) {
		run_unprivileged(&f);
	} else {
		bool have_peer = f.dev && valid_peer(&f, true) == 0;

		run_generic(&f);
		run_specific(&f);
		if (have_peer)
			valid_peer(&f, false);
	}
	printf("nlfuzz: %d refused as expected, %d FAILED, %d skipped (no device)\n",
	       f.pass, f.fail, f.skipped);
	nl_socket_free(f.sk);
	return f.fail ? 1 : 0;
}
