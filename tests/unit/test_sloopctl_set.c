// SPDX-License-Identifier: MIT
/*
 * Unit tests of the `sloopctl set` grammar, and of the decoding and JSON
 * output of `sloopctl show` on a hand-built netlink peer.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

#include <sloop/uapi.h>

#include "unit.h"
#include "../../tools/sloopctl/parse.h"
#include "../../tools/sloopctl/show.h"

#define K32 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define K16 "ffeeddccbbaa99887766554433221100"

static int parse(struct sctl_set_req *req, char *err, const char *line)
{
	char *copy = strdup(line), *argv[64], *save = NULL;
	int argc = 0, ret;

	for (char *t = strtok_r(copy, " ", &save); t && argc < 64;
	     t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	err[0] = '\0';
	ret = sctl_set_parse(argc, argv, req, err);
	/* req->dev points into copy: tests only look at it while alive. */
	if (ret == 0)
		req->dev = "dev";
	free(copy);
	return ret;
}

TEST(sloopctl_set_full)
{
	struct sctl_set_req req;
	char err[SCTL_ERR_LEN];
	struct sctl_set_peer *p;

	CHECK_EQ_INT(parse(&req, err,
		"sloop0 padding buckets rekey-after 1000 reject-after 2000 "
		"peer 7 pubkey A9OwlI2w60Vvi+UidPXh/ZgpDJxU9cWbTPSxF0AzXao= "
		"endpoint [fd00::2]:5653 rx-index 0x11 tx-index 34 "
		"cipher chacha20poly1305 hp-tx-key " K32 " hp-rx-key " K16 " "
		"subnets 10.0.0.0/24,fd00::/64 replace-subnets "
		"key 1 tx-key " K32 " tx-salt 01020304 rx-key " K32
		" rx-salt 05060708 id 9 swap 1 del-key 0 "
		"peer 8 remove"), 0);
	CHECK(req.has_padding && req.padding == SLOOP_PADDING_BUCKETS);
	CHECK(req.has_rekey_after && req.rekey_after == 1000);
	CHECK(req.has_reject_after && req.reject_after == 2000);
	CHECK_EQ_INT(req.n_peers, 2);
	p = &req.peers[0];
	CHECK_EQ_INT(p->id, 7);
	CHECK(p->has_pubkey && p->pubkey[0] == 0x03);
	CHECK(p->has_endpoint && p->endpoint.ss_family == AF_INET6);
	CHECK(p->has_rx_index && p->rx_index == 0x11);
	CHECK(p->has_tx_index && p->tx_index == 34);
	CHECK(p->has_cipher && p->cipher == SLOOP_CIPHER_CHACHA20_POLY1305);
	CHECK_EQ_INT(p->hp_tx.len, 32);
	CHECK_EQ_INT(p->hp_rx.len, 16);
	CHECK_EQ_INT(p->n_subnets, 2);
	CHECK(p->replace_subnets);
	CHECK_EQ_INT(p->n_keyops, 3);
	CHECK_EQ_INT(p->keyops[0].kind, SCTL_KEYOP_NEW);
	CHECK_EQ_INT(p->keyops[0].phase, 1);
	CHECK(p->keyops[0].has_id && p->keyops[0].id == 9);
	CHECK_EQ_INT(p->keyops[0].rx_salt.buf[3], 8);
	CHECK_EQ_INT(p->keyops[1].kind, SCTL_KEYOP_SWAP);
	CHECK_EQ_INT(p->keyops[2].kind, SCTL_KEYOP_DEL);
	CHECK_EQ_INT(p->keyops[2].phase, 0);
	CHECK(req.peers[1].remove);
	CHECK(!sctl_peer_has_attrs(&req.peers[1]));
	sctl_set_free(&req);
	CHECK(req.peers == NULL);
}

TEST(sloopctl_set_keys_only)
{
	struct sctl_set_req req;
	char err[SCTL_ERR_LEN];

	CHECK_EQ_INT(parse(&req, err, "sloop0 peer 3 swap 0"), 0);
	CHECK(!sctl_peer_has_attrs(&req.peers[0]));
	CHECK_EQ_INT(req.peers[0].n_keyops, 1);
	sctl_set_free(&req);
	CHECK_EQ_INT(parse(&req, err, "sloop0"), 0);
	CHECK_EQ_INT(req.n_peers, 0);
	sctl_set_free(&req);
}

struct bad_case {
	const char *line;
	const char *msg;	/* must appear in the error */
};

TEST(sloopctl_set_errors)
{
	static const struct bad_case cases[] = {
		{ "sloop0 bogus 1", "unknown option 'bogus'" },
		{ "sloop0 endpoint 1.2.3.4:5", "peer options follow" },
		{ "sloop0 padding", "'padding' needs a value" },
		{ "sloop0 padding 32", "bad padding '32'" },
		{ "sloop0 rekey-after lots", "bad rekey-after 'lots'" },
		{ "sloop0 reject-after -5", "bad reject-after '-5'" },
		{ "sloop0 peer", "'peer' needs a value" },
		{ "sloop0 peer x", "bad peer id 'x'" },
		{ "sloop0 peer 0", "bad peer id '0'" },
		{ "sloop0 peer 1 padding 16", "device option" },
		{ "sloop0 peer 1 frob", "unknown peer option 'frob'" },
		{ "sloop0 peer 1 pubkey abc", "bad pubkey 'abc'" },
		{ "sloop0 peer 1 endpoint 1.2.3.4", "bad endpoint '1.2.3.4'" },
		{ "sloop0 peer 1 rx-index 0", "bad rx-index '0'" },
		{ "sloop0 peer 1 tx-index 4294967296", "bad tx-index" },
		{ "sloop0 peer 1 cipher aes", "bad cipher 'aes'" },
		{ "sloop0 peer 1 hp-tx-key 0011", "hp-tx-key: 2 bytes" },
		{ "sloop0 peer 1 hp-rx-key xyz", "hp-rx-key" },
		{ "sloop0 peer 1 subnets 10.0.0.0/40", "bad subnet '10.0.0.0/40'" },
		{ "sloop0 peer 1 key 2", "bad key phase '2'" },
		{ "sloop0 peer 1 key 0 tx-key " K32, "needs tx-key, tx-salt" },
		{ "sloop0 peer 1 key 0 tx-key " K32 " tx-salt 0102 rx-key " K32
		  " rx-salt 01020304", "tx-salt: 2 bytes, expected 4" },
		{ "sloop0 peer 1 key 0 tx-key " K32 " tx-salt 01020304 rx-key "
		  K32 " rx-salt 01020304 id x", "bad key id 'x'" },
		{ "sloop0 peer 1 key 0 tx-key", "'tx-key' needs a value" },
		{ "sloop0 peer 1 swap", "'swap' needs a value" },
		{ "sloop0 peer 1 swap 3", "bad swap phase '3'" },
		{ "sloop0 peer 1 del-key x", "bad del-key phase 'x'" },
		{ "sloop0 peer 1 remove endpoint 1.2.3.4:5", "being removed" },
		{ "sloop0 peer 1 endpoint 1.2.3.4:5 remove",
		  "cannot be combined" },
		{ "sloop0 peer 1 tx-key " K32, "unknown peer option 'tx-key'" },
		{ "sloop0 peer 1 key 0 tx-key @/nonexistent/key tx-salt 01020304",
		  "cannot open '/nonexistent/key'" },
	};
	struct sctl_set_req req;
	char err[SCTL_ERR_LEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (parse(&req, err, cases[i].line) != -1) {
			fprintf(stderr, "  accepted: %s\n", cases[i].line);
			sctl_set_free(&req);
			CHECK(0);
		}
		if (!strstr(err, cases[i].msg)) {
			fprintf(stderr, "  '%s': got \"%s\", want \"%s\"\n",
				cases[i].line, err, cases[i].msg);
			CHECK(0);
		}
		CHECK(req.peers == NULL);	/* freed on error */
	}
}

TEST(sloopctl_set_too_many_keyops)
{
	char *argv[4 + 2 * (SCTL_KEYOPS_MAX + 1)];
	struct sctl_set_req req;
	char err[SCTL_ERR_LEN];
	int argc = 0;

	argv[argc++] = "sloop0";
	argv[argc++] = "peer";
	argv[argc++] = "1";
	for (int i = 0; i <= SCTL_KEYOPS_MAX; i++) {
		argv[argc++] = "swap";
		argv[argc++] = "0";
	}
	CHECK_EQ_INT(sctl_set_parse(argc, argv, &req, err), -1);
	CHECK(strstr(err, "too many key operations") != NULL);
}

/* A peer as the kernel would dump it, decoded and printed as JSON. */
TEST(sloopctl_show_decode_json)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct nlattr *peer, *subs, *sub, *keys, *key, *stats;
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(5653) };
	uint8_t addr[4] = { 10, 1, 0, 0 };
	struct sctl_dev_info dev = { .ifindex = 3, .name = "sl\"0" };
	struct sctl_show show = { .devs = &dev, .n_devs = 1 };
	struct sctl_peer_info p;
	char *out = NULL;
	size_t outlen = 0;
	FILE *f;

	CHECK(msg);
	sin.sin_addr.s_addr = htonl(0xc0000201);
	peer = nla_nest_start(msg, SLOOP_A_PEER);
	nla_put_u32(msg, SLOOP_PEER_A_ID, 42);
	nla_put(msg, SLOOP_PEER_A_ENDPOINT, sizeof(sin), &sin);
	nla_put_u32(msg, SLOOP_PEER_A_CIPHER, SLOOP_CIPHER_AES128_GCM);
	nla_put_u8(msg, SLOOP_PEER_A_TX_PHASE, 1);
	subs = nla_nest_start(msg, SLOOP_PEER_A_SUBNETS);
	sub = nla_nest_start(msg, SLOOP_SUBNET);
	nla_put_u16(msg, SLOOP_SUBNET_A_FAMILY, AF_INET);
	nla_put(msg, SLOOP_SUBNET_A_ADDR, 4, addr);
	nla_put_u8(msg, SLOOP_SUBNET_A_CIDR, 16);
	nla_nest_end(msg, sub);
	sub = nla_nest_start(msg, SLOOP_SUBNET);	/* bad: skipped */
	nla_put_u16(msg, SLOOP_SUBNET_A_FAMILY, AF_INET6);
	nla_put(msg, SLOOP_SUBNET_A_ADDR, 4, addr);
	nla_put_u8(msg, SLOOP_SUBNET_A_CIDR, 16);
	nla_nest_end(msg, sub);
	nla_nest_end(msg, subs);
	keys = nla_nest_start(msg, SLOOP_PEER_A_KEYS);
	key = nla_nest_start(msg, SLOOP_A_KEY);
	nla_put_u8(msg, SLOOP_KEY_A_PHASE, 1);
	nla_put_u32(msg, SLOOP_KEY_A_ID, 5);
	nla_put_u64(msg, SLOOP_KEY_A_TX_PACKETS, 100);
	nla_put_u64(msg, SLOOP_KEY_A_RX_PACKETS, 200);
	nla_nest_end(msg, key);
	nla_nest_end(msg, keys);
	stats = nla_nest_start(msg, SLOOP_PEER_A_STATS);
	nla_put_u64(msg, SLOOP_STATS_A_RX_PACKETS, 7);
	nla_put_u64(msg, SLOOP_STATS_A_DROP_REPLAY, 3);
	nla_nest_end(msg, stats);
	nla_nest_end(msg, peer);

	CHECK_EQ_INT(sctl_decode_peer(peer, &p), 0);
	nlmsg_free(msg);
	CHECK_EQ_INT(p.id, 42);
	CHECK(p.has_endpoint);
	CHECK_EQ_INT(p.n_subnets, 1);
	CHECK_EQ_INT(p.n_keys, 1);
	CHECK(p.stats.has[SLOOP_STATS_A_DROP_REPLAY]);
	CHECK(!p.stats.has[SLOOP_STATS_A_DROP_BAD_AUTH]);
	dev.peers = &p;
	dev.n_peers = 1;
	f = open_memstream(&out, &outlen);
	CHECK(f);
	sctl_show_json(f, &show, 0);
	fclose(f);
	free(p.subnets);
	CHECK_EQ_STR(out,
		"{\"devices\":[{\"ifname\":\"sl\\\"0\",\"ifindex\":3,"
		"\"stats\":{},\"peers\":[{\"id\":42,"
		"\"endpoint\":\"192.0.2.1:5653\",\"cipher\":\"aes128gcm\","
		"\"tx_phase\":1,\"keys\":[{\"phase\":1,\"id\":5,"
		"\"tx_packets\":100,\"rx_packets\":200}],"
		"\"subnets\":[\"10.1.0.0/16\"],"
		"\"stats\":{\"rx_packets\":7,\"drop_replay\":3}}]}]}\n");
	free(out);
}
