// SPDX-License-Identifier: MIT
/*
 * sloopctl show's second source: a sloopd's `peers` answer.  Lines are
 * parsed strictly where it matters (numbers, names) and loosely where a
 * newer daemon may add things (unknown keys and lines); the times end up
 * only on the device of the same namespace and ifindex.
 */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "../../tools/sloopctl/show.h"

TEST(sloopctl_daemon_line_good)
{
	struct sctl_daemon d = { 0 };

	CHECK_EQ_INT(sctl_daemon_line(&d, "link name=pri device=sloop0 "
				      "ifindex=4 netns=77 future=x\n"), 0);
	CHECK(d.has_link);
	CHECK_EQ_STR(d.link, "pri");
	CHECK_EQ_INT(d.ifindex, 4);
	CHECK_EQ_INT(d.netns, 77);
	/* Unknown lines are a newer daemon's business, not an error. */
	CHECK_EQ_INT(sctl_daemon_line(&d, "stats x=1"), 0);
	CHECK_EQ_INT(sctl_daemon_line(&d, "peer id=3 name=sec state=up "
				      "handshake=100 rekey=200 rekeys=2 new=1"), 0);
	CHECK_EQ_INT(d.n_peers, 1);
	CHECK_EQ_INT(d.peers[0].id, 3);
	CHECK_EQ_INT(d.peers[0].rekey, 200);
	CHECK_EQ_INT(d.peers[0].handshake, 100);
	CHECK_EQ_INT(d.peers[0].rekeys, 2);
	/* A peer line without an id is not counted. */
	CHECK_EQ_INT(sctl_daemon_line(&d, "peer name=x"), 0);
	CHECK_EQ_INT(d.n_peers, 1);
	for (int i = 0; i < 100; i++)
		CHECK_EQ_INT(sctl_daemon_line(&d, "peer id=9 handshake=1"), 0);
	CHECK_EQ_INT(d.n_peers, 101);
	sctl_daemon_free(&d);
	CHECK_EQ_INT(d.n_peers, 0);
}

TEST(sloopctl_daemon_line_bad)
{
	static const char *const bad[] = {
		"", " ", "peer id=x", "peer id=-1", "peer id=4294967296",
		"peer handshake=-5", "peer handshake=99999999999999999999",
		"peer rekey=1x", "peer name=", "link ifindex=", "link netns=1.5",
		"peer name=\x01", "link device=aaaaaaaaaaaaaaaaaaaa",
		"peer id=1 rekeys=+1",
	};
	char huge[2048];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sctl_daemon d = { 0 };
		int rc = sctl_daemon_line(&d, bad[i]);

		if (rc != -1)
			fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
		CHECK_EQ_INT(d.n_peers, 0);
		sctl_daemon_free(&d);
		CHECK_EQ_INT(rc, -1);
	}
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = 0;
	memcpy(huge, "peer name=", 10);
	{
		struct sctl_daemon d = { 0 };

		CHECK_EQ_INT(sctl_daemon_line(&d, huge), -1);
		sctl_daemon_free(&d);
	}
}

static struct sctl_daemon daemon_of(uint32_t ifindex, uint64_t netns)
{
	struct sctl_daemon d = { 0 };
	char line[128];

	snprintf(line, sizeof(line), "link name=pri device=sloop0 ifindex=%u"
		 " netns=%llu", ifindex, (unsigned long long)netns);
	sctl_daemon_line(&d, line);
	sctl_daemon_line(&d, "peer id=2 name=sec state=up handshake=1000 "
			 "rekey=0 rekeys=0");
	return d;
}

TEST(sloopctl_daemon_merge)
{
	struct sctl_peer_info peers[2] = { { .id = 1 }, { .id = 2 } };
	struct sctl_dev_info dev = { .ifindex = 5, .peers = peers,
				     .n_peers = 2 };
	struct sctl_show s = { .devs = &dev, .n_devs = 1 };
	struct sctl_daemon d;

	/* Another namespace's device of the same index: not ours. */
	d = daemon_of(5, 8);
	sctl_daemon_merge(&s, 7, &d);
	sctl_daemon_free(&d);
	CHECK(!peers[1].has_daemon);
	CHECK_EQ_STR(dev.daemon_link, "");
	d = daemon_of(6, 7);
	sctl_daemon_merge(&s, 7, &d);
	sctl_daemon_free(&d);
	CHECK(!peers[1].has_daemon);
	d = daemon_of(5, 7);
	sctl_daemon_merge(&s, 7, &d);
	sctl_daemon_free(&d);
	CHECK_EQ_STR(dev.daemon_link, "pri");
	CHECK(!peers[0].has_daemon);	/* the daemon does not know id 1 */
	CHECK(peers[1].has_daemon);
	CHECK_EQ_STR(peers[1].name, "sec");
	CHECK_EQ_INT(peers[1].last_handshake, 1000);
}

static char *render(const struct sctl_show *s, bool json)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	if (json)
		sctl_show_json(f, s, 0);
	else
		sctl_show_text(f, s, 0);
	fclose(f);
	return out;
}

TEST(sloopctl_daemon_show_output)
{
	struct sctl_peer_info p = {
		.id = 2, .has_daemon = true, .up = true, .name = "sec",
		.last_handshake = 1000, .last_rekey = 0,
	};
	struct sctl_peer_info q = { .id = 3 };
	struct sctl_peer_info both[2];
	struct sctl_dev_info dev = { .ifindex = 5, .name = "sloop0",
				     .daemon_link = "pri", .peers = &p,
				     .n_peers = 1 };
	struct sctl_show s = { .devs = &dev, .n_devs = 1, .wall_now = 1012 };
	char *out = render(&s, false);

	CHECK(out);
	if (!strstr(out, "  sloopd: link pri\n") ||
	    !strstr(out, "  name: sec\n") ||
	    !strstr(out, "  last handshake: 12 s ago\n") ||
	    !strstr(out, "  last rekey: never\n")) {
		fprintf(stderr, "%s", out);
		free(out);
		CHECK(!"text output");
	}
	free(out);
	p.last_rekey = 1012 - 125;
	p.n_rekeys = 4;
	out = render(&s, false);
	CHECK(out);
	CHECK(strstr(out, "  last rekey: 2 min 5 s ago\n  rekeys: 4\n"));
	free(out);
	out = render(&s, true);
	CHECK(out);
	if (!strstr(out, "\"sloopd_link\":\"pri\"") ||
	    !strstr(out, "\"name\":\"sec\",\"session\":\"up\","
			 "\"last_handshake\":1000,\"last_rekey\":887,"
			 "\"rekeys\":4")) {
		fprintf(stderr, "%s", out);
		free(out);
		CHECK(!"JSON output");
	}
	free(out);
	/* A peer (or device) no daemon spoke for has none of it. */
	both[0] = p;
	both[1] = q;
	dev.peers = both;
	dev.n_peers = 2;
	dev.daemon_link[0] = 0;
	out = render(&s, false);
	CHECK(out);
	CHECK(!strstr(out, "sloopd:"));
	CHECK(strstr(strstr(out, "peer: 3"), "last handshake") == NULL);
	free(out);
	out = render(&s, true);
	CHECK(out);
	CHECK(!strstr(out, "sloopd_link"));
	CHECK(strstr(strstr(out, "\"id\":3"), "last_handshake") == NULL);
	free(out);
}
