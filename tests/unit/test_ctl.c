// SPDX-License-Identifier: MIT
/*
 * sloopd control socket: line assembly and request parsing, hostile input,
 * and the `peers` answer as sloopctl reads it.
 */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "../../daemon/sloopd/ctl.h"
#include "../../daemon/sloopd/link.h"
#include "../../tools/sloopctl/show.h"

static int parse(const char *line, struct ctl_req *r)
{
	char why[128];

	return ctl_parse(line, r, why, sizeof(why));
}

TEST(ctl_parse_good)
{
	struct ctl_req r;

	CHECK_EQ_INT(parse("rekey", &r), 0);
	CHECK_EQ_INT(r.cmd, CTL_REKEY);
	CHECK_EQ_STR(r.peer, "");
	CHECK_EQ_INT(parse("  rekey\tsec  ", &r), 0);
	CHECK_EQ_STR(r.peer, "sec");
	CHECK_EQ_INT(parse("flush-keys office-1", &r), 0);
	CHECK_EQ_INT(r.cmd, CTL_FLUSH);
	CHECK_EQ_STR(r.peer, "office-1");
	CHECK_EQ_INT(parse("shutdown all", &r), 0);
	CHECK_EQ_INT(r.cmd, CTL_SHUTDOWN);
	CHECK_EQ_STR(r.peer, "");
	CHECK_EQ_INT(parse("shutdown 10.0.0.1", &r), 0);
	CHECK_EQ_STR(r.peer, "10.0.0.1");
	CHECK_EQ_INT(parse("dump", &r), 0);
	CHECK_EQ_INT(r.cmd, CTL_DUMP);
	CHECK_EQ_INT(parse("pending", &r), 0);
	CHECK_EQ_INT(r.cmd, CTL_PENDING);
	CHECK_EQ_INT(parse("approve laptop", &r), 0);
	CHECK_EQ_INT(r.cmd, CTL_APPROVE);
	CHECK_EQ_STR(r.peer, "laptop");
	/* A whole base64 key fits. */
	CHECK_EQ_INT(parse("reject q8/Hs+0nYVJ1mS1V5ZkgFh3tJ0y8pXgQm5m2YV3kqa0=", &r), 0);
	CHECK_EQ_INT(r.cmd, CTL_REJECT);
	CHECK_EQ_STR(r.peer, "q8/Hs+0nYVJ1mS1V5ZkgFh3tJ0y8pXgQm5m2YV3kqa0=");
}

TEST(ctl_parse_bad)
{
	static const char *const bad[] = {
		"", "   ", "\t", "REKEY", "rekeyx", "rekey a b", "dump x",
		"shutdown all now", "reboot", "pending x", "approve a b",
		"invite now", "rekey \x01", "rekey caf\xc3\xa9",
		"\x7f", "flush-keys\x1b[2J",
		/* 65 characters: one more than a name may have */
		"rekey aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct ctl_req r;
	char why[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = 0;
		CHECK_EQ_INT(ctl_parse(bad[i], &r, why, sizeof(why)), -1);
		CHECK(why[0] != 0);
	}
	/* 64 characters is the limit, and fine. */
	CHECK_EQ_INT(parse("rekey aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &r), 0);
	CHECK_EQ_INT((int)strlen(r.peer), 64);
}

TEST(ctl_feed_partial)
{
	struct ctl_buf b = { .len = 0 };
	struct ctl_req r;

	/* A request dribbled in one byte at a time. */
	const char *req = "shutdown sec\r\n";

	for (size_t i = 0; i + 1 < strlen(req); i++)
		CHECK_EQ_INT(ctl_buf_feed(&b, req + i, 1), CTL_FEED_MORE);
	CHECK_EQ_INT(ctl_buf_feed(&b, "\n", 1), CTL_FEED_LINE);
	CHECK_EQ_STR(b.data, "shutdown sec");
	CHECK_EQ_INT(parse(b.data, &r), 0);
	CHECK_EQ_STR(r.peer, "sec");

	/* Bytes after the newline are ignored: one request per connection. */
	memset(&b, 0, sizeof(b));
	CHECK_EQ_INT(ctl_buf_feed(&b, "dump\nrekey\n", 11), CTL_FEED_LINE);
	CHECK_EQ_STR(b.data, "dump");
}

TEST(ctl_feed_hostile)
{
	struct ctl_buf b = { .len = 0 };
	char big[4 * CTL_LINE_MAX];
	size_t fed = 0;
	enum ctl_feed f = CTL_FEED_MORE;

	/* A long line is refused at the limit, never stored past it. */
	memset(big, 'a', sizeof(big));
	while (f == CTL_FEED_MORE && fed < sizeof(big)) {
		f = ctl_buf_feed(&b, big + fed, 7);
		fed += 7;
	}
	CHECK_EQ_INT(f, CTL_FEED_TOOLONG);
	CHECK(b.len < CTL_LINE_MAX);
	CHECK(fed <= CTL_LINE_MAX + 7);

	/* Exactly CTL_LINE_MAX - 1 characters and the newline fit. */
	memset(&b, 0, sizeof(b));
	CHECK_EQ_INT(ctl_buf_feed(&b, big, CTL_LINE_MAX - 1), CTL_FEED_MORE);
	CHECK_EQ_INT(ctl_buf_feed(&b, "\n", 1), CTL_FEED_LINE);
	CHECK_EQ_INT((int)strlen(b.data), CTL_LINE_MAX - 1);

	/* NUL bytes mean binary garbage, not a shorter string. */
	memset(&b, 0, sizeof(b));
	CHECK_EQ_INT(ctl_buf_feed(&b, "dump\0\n", 6), CTL_FEED_BINARY);

	/* Random binary: never a crash, only one of the four verdicts. */
	for (unsigned int seed = 1; seed < 2000; seed++) {
		char junk[64];
		struct ctl_req r;
		unsigned int x = seed;

		for (size_t i = 0; i < sizeof(junk); i++) {
			x = x * 1103515245u + 12345u;
			junk[i] = (char)(x >> 16);
		}
		memset(&b, 0, sizeof(b));
		f = ctl_buf_feed(&b, junk, sizeof(junk));
		CHECK(f == CTL_FEED_MORE || f == CTL_FEED_LINE ||
		      f == CTL_FEED_BINARY);
		if (f == CTL_FEED_LINE)
			(void)parse(b.data, &r);
	}
}

TEST(ctl_socket_path)
{
	char buf[108];

	setenv("SLOOPD_RUN", "/tmp/x", 1);
	CHECK_EQ_INT(ctl_socket_path("pri", buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "/tmp/x/pri.sock");
	CHECK_EQ_INT(ctl_socket_path("../etc", buf, sizeof(buf)), -1);
	CHECK_EQ_INT(ctl_socket_path("", buf, sizeof(buf)), -1);
	unsetenv("SLOOPD_RUN");
	CHECK_EQ_INT(ctl_socket_path("sloop0", buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "/run/sloop/sloop0.sock");
}

TEST(ctl_parse_peers)
{
	struct ctl_req r;
	char why[128];

	CHECK_EQ_INT(parse("peers", &r), 0);
	CHECK_EQ_INT(r.cmd, CTL_PEERS);
	CHECK_EQ_STR(ctl_cmd_name(CTL_PEERS), "peers");
	CHECK_EQ_INT(parse("  peers\t", &r), 0);
	/* It reports every peer: an argument is a mistake, not a filter. */
	CHECK_EQ_INT(ctl_parse("peers sec", &r, why, sizeof(why)), -1);
	CHECK_EQ_INT(ctl_parse("peersx", &r, why, sizeof(why)), -1);
}

/* What `peers` answers, read back by sloopctl's own parser. */
TEST(ctl_peers_report_roundtrip)
{
	struct sloopd_options o = { .device = "sloop7" };
	struct lk_peer peers[2] = {
		{ .name = "192.0.2.1:5653", .kid = 1, .up = true,
		  .last_handshake = 1763900000, .last_rekey = 1763900120,
		  .n_rekeys = 3 },
		{ .name = "[2001:db8::1]:5653", .kid = 2 },
	};
	struct lk l = { .o = &o, .linkname = "office", .peers = peers,
			.n_peers = 2 };
	struct sctl_daemon d = { 0 };
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f;

	l.knl.ifindex = 9;
	f = open_memstream(&text, &len);
	CHECK(f);
	lk_report(&l, 4026531840ull, f);
	fclose(f);
	CHECK_EQ_STR(text,
		"link name=office device=sloop7 ifindex=9 netns=4026531840\n"
		"peer id=1 name=192.0.2.1:5653 state=up handshake=1763900000"
		" rekey=1763900120 rekeys=3\n"
		"peer id=2 name=[2001:db8::1]:5653 state=down handshake=0"
		" rekey=0 rekeys=0\n");
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (sctl_daemon_line(&d, line)) {
			free(text);
			sctl_daemon_free(&d);
			CHECK(!"a report line did not parse");
		}
	free(text);
	CHECK(d.has_link);
	CHECK_EQ_STR(d.link, "office");
	CHECK_EQ_STR(d.device, "sloop7");
	CHECK_EQ_INT(d.ifindex, 9);
	CHECK(d.netns == 4026531840ull);
	CHECK_EQ_INT(d.n_peers, 2);
	CHECK_EQ_INT(d.peers[0].id, 1);
	CHECK(d.peers[0].up);
	CHECK_EQ_INT(d.peers[0].handshake, 1763900000);
	CHECK_EQ_INT(d.peers[0].rekey, 1763900120);
	CHECK_EQ_INT(d.peers[0].rekeys, 3);
	CHECK_EQ_STR(d.peers[1].name, "[2001:db8::1]:5653");
	CHECK(!d.peers[1].up);
	CHECK_EQ_INT(d.peers[1].handshake, 0);
	sctl_daemon_free(&d);
}
