// SPDX-License-Identifier: MIT
/* P3 configuration files (spec Appendix A): good files, bad files. */
#include <arpa/inet.h>
#include <stdlib.h>

#include <sloop/uapi.h>

#include "unit.h"
#include "../../daemon/sloopd/p3conf.h"

static int parse(const char *name, struct p3_config *cfg,
		 struct opt_error *err)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s",
		 unit_path("tests/unit/data/p3"), name);
	memset(err, 0, sizeof(*err));
	return p3_parse_file(path, cfg, err);
}

static const char *addr(const struct opt_addr *a)
{
	static char buf[4][64];
	static int n;

	n = (n + 1) % 4;
	opt_addr_str(a, buf[n], sizeof(buf[n]));
	return buf[n];
}

TEST(p3_primary)
{
	struct p3_config c;
	struct opt_error err;
	const struct p3_remote *r;

	CHECK_EQ_INT(parse("primary.p3", &c, &err), 0);
	CHECK_EQ_INT(c.ip.v, 4);
	CHECK_EQ_STR(addr(&c.address), "192.0.2.1");
	CHECK_EQ_INT(c.address_line, 6);
	CHECK_EQ_INT(c.port.v, 5653);
	CHECK_EQ_INT(c.rekey_wait.v, 3600);
	CHECK_EQ_INT(c.rekey_wait.line, 9);
	CHECK_EQ_INT(c.heartbeat_time.v, 15);
	CHECK_EQ_INT(c.heartbeat_fail.v, 120);
	CHECK_EQ_INT(c.key_generation.v, 1);
	CHECK_EQ_INT(c.n_warnings, 0);	/* key_generation=1 is what sloop does */
	CHECK_EQ_INT(c.n_remotes, 2);

	r = &c.remotes[0];
	CHECK_EQ_INT(r->id, 1);
	CHECK_EQ_STR(addr(&r->address), "192.0.2.11");
	CHECK_EQ_INT(p3_remote_port(r), 5653);
	CHECK_EQ_INT(r->key_type, P3_KEY_AES256);
	CHECK_EQ_INT(r->n_subnets, 2);
	CHECK_EQ_STR(addr(&r->subnets[0].subnet), "10.101.0.0");
	CHECK_EQ_INT(r->subnets[0].prefix, 24);
	CHECK_EQ_STR(addr(&r->subnets[1].subnet), "10.101.1.0");
	CHECK_EQ_INT(r->subnets[1].prefix, 24);

	r = &c.remotes[1];
	CHECK_EQ_INT(r->id, 2);
	CHECK_EQ_STR(addr(&r->address), "192.0.2.12");
	CHECK_EQ_INT(r->key_type, P3_KEY_AES128);
	CHECK_EQ_INT(r->heartbeat_time.v, 10);
	CHECK_EQ_INT(r->heartbeat_time.line, 29);
	CHECK_EQ_INT(r->n_subnets, 1);
	CHECK_EQ_INT(r->subnets[0].prefix, 24);
	p3_free(&c);
}

TEST(p3_secondaries)
{
	static const char *const files[] = { "secondary-a.p3", "secondary-b.p3" };
	static const char *const local[] = { "192.0.2.11", "192.0.2.12" };

	for (int i = 0; i < 2; i++) {
		struct p3_config c;
		struct opt_error err;
		const struct p3_remote *r;

		CHECK_EQ_INT(parse(files[i], &c, &err), 0);
		CHECK_EQ_STR(addr(&c.address), local[i]);
		CHECK_EQ_INT(c.n_remotes, 1);
		r = &c.remotes[0];
		CHECK_EQ_STR(addr(&r->address), "192.0.2.1");
		CHECK_EQ_INT(p3_remote_port(r), 5653);
		CHECK_EQ_INT(r->key_type, P3_KEY_UNSET);
		CHECK_EQ_INT(r->n_subnets, 1);
		CHECK_EQ_STR(addr(&r->subnets[0].subnet), "10.100.0.0");
		CHECK_EQ_INT(r->subnets[0].prefix, 24);
		CHECK_EQ_INT(c.n_warnings, 0);
		p3_free(&c);
	}
}

TEST(p3_variants)
{
	struct p3_config c;
	struct opt_error err;
	const struct p3_remote *r;

	/* CRLF, "k = v", "k v", indented comments, IPv6, prefix masks */
	CHECK_EQ_INT(parse("variants.p3", &c, &err), 0);
	CHECK_EQ_INT(c.ip.v, 6);
	CHECK_EQ_STR(addr(&c.address), "2001:db8::1");
	CHECK_EQ_INT(c.port.v, 6000);
	CHECK_EQ_INT(c.key_type, P3_KEY_AES256);
	CHECK_EQ_INT(c.n_remotes, 2);
	r = &c.remotes[0];	/* sorted by number: 3 before 7 */
	CHECK_EQ_INT(r->id, 3);
	CHECK_EQ_INT(p3_remote_port(r), 7000);
	CHECK_EQ_INT(r->subnets[0].prefix, 128);
	CHECK_EQ_INT(r->rekey_wait.v, 600);
	CHECK_EQ_INT(r->heartbeat_fail.v, 60);
	r = &c.remotes[1];
	CHECK_EQ_INT(r->id, 7);
	CHECK_EQ_STR(addr(&r->address), "2001:db8::7");
	CHECK_EQ_INT(r->n_subnets, 2);
	CHECK_EQ_INT(r->subnets[0].id, 0);	/* "subnet" without a number */
	CHECK_EQ_INT(r->subnets[0].prefix, 64);
	CHECK_EQ_STR(addr(&r->subnets[0].subnet), "fd00:7::");
	CHECK_EQ_INT(r->subnets[1].id, 10);
	CHECK_EQ_INT(r->subnets[1].prefix, 48);
	p3_free(&c);
}

TEST(p3_not_implemented_reported)
{
	static const struct {
		const char *name;
		int line;
	} want[] = {
		{ "key_generation=2", 4 }, { "array_size=256", 5 },
		{ "data_array_time=86400", 6 }, { "control_array_time=82800", 7 },
		{ "cluster_state=0", 8 }, { "load_balance=0", 9 },
		{ "1/key_array=256", 12 }, { "1/data_array_time=86400", 13 },
		{ "1/control_array_time=82800", 14 },
	};
	struct p3_config c;
	struct opt_error err;

	CHECK_EQ_INT(parse("unimplemented.p3", &c, &err), 0);
	CHECK_EQ_INT(c.n_warnings, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < c.n_warnings; i++) {
		char msg[1200];

		CHECK_EQ_INT(c.warnings[i].reason, REASON_P3_UNIMPL);
		CHECK_EQ_INT(c.warnings[i].line, want[i].line);
		CHECK(!strncmp(c.warnings[i].msg, want[i].name, strlen(want[i].name)));
		CHECK(strstr(c.warnings[i].msg, "not implemented"));
		opt_strerror(&c.warnings[i], msg, sizeof(msg));
		CHECK(!strncmp(msg, "W126 p3-not-implemented: ", 25));
		CHECK(strstr(msg, "unimplemented.p3:"));
	}
	/* the values are still parsed and kept */
	CHECK_EQ_INT(c.array_size.v, 256);
	CHECK_EQ_INT(c.remotes[0].key_array.v, 256);
	p3_free(&c);
}

static const struct {
	const char *file;
	enum reason reason;
	int line;
	const char *text;
} bad[] = {
	{ "bad-unknown.p3", REASON_P3_UNKNOWN, 3, "frobnicate" },
	{ "bad-number.p3", REASON_P3_VALUE, 2, "abc" },
	{ "bad-range.p3", REASON_P3_VALUE, 2, "70000" },
	{ "bad-ipversion.p3", REASON_P3_VALUE, 2, "4 or 6" },
	{ "bad-address.p3", REASON_P3_VALUE, 3, "300.1.1.1" },
	{ "bad-subnet-nomask.p3", REASON_P3_SUBNET, 4, "1/subnet1 has no 1/mask1" },
	{ "bad-mask-nosubnet.p3", REASON_P3_SUBNET, 4, "1/mask3 has no 1/subnet3" },
	{ "bad-mask-noncontig.p3", REASON_P3_SUBNET, 5, "not contiguous" },
	{ "bad-host-bits.p3", REASON_P3_SUBNET, 4, "bits set outside" },
	{ "bad-dup-remote.p3", REASON_P3_DUP, 5, "same address and port as remote 1" },
	{ "bad-dup-keyword.p3", REASON_P3_DUP, 4, "first at line 3" },
	{ "bad-no-localstart.p3", REASON_P3_SECTION, 2, "outside localstart" },
	{ "bad-no-localend.p3", REASON_P3_SECTION, 2, "without localend" },
	{ "bad-remote-in-local.p3", REASON_P3_SECTION, 2, "before localend" },
	{ "bad-local-after.p3", REASON_P3_SECTION, 4, "outside localstart" },
	{ "bad-localstart-twice.p3", REASON_P3_SECTION, 3, "repeated" },
	{ "bad-ip-mismatch.p3", REASON_P3_VALUE, 4, "not an IPv6 address" },
	{ "bad-no-address.p3", REASON_P3_VALUE, 4, "remote 2 has no 2/address" },
	{ "bad-keytype.p3", REASON_P3_VALUE, 4, "AES512" },
	{ "bad-extra-words.p3", REASON_P3_SYNTAX, 2, "one value" },
	{ "bad-empty-value.p3", REASON_P3_SYNTAX, 2, "one value" },
	{ "bad-remote-number.p3", REASON_P3_SYNTAX, 3, "remote number" },
	{ "bad-local-only-in-remote.p3", REASON_P3_UNKNOWN, 4, "cluster_state" },
	{ "bad-family.p3", REASON_P3_SUBNET, 5, "family" },
};

TEST(p3_bad_files)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct p3_config c;
		struct opt_error err;
		char msg[1200];
		int r = parse(bad[i].file, &c, &err);

		opt_strerror(&err, msg, sizeof(msg));
		if (r != -1 || err.reason != bad[i].reason ||
		    err.line != bad[i].line || !strstr(err.msg, bad[i].text))
			fprintf(stderr, "  %s: got %d: %s\n", bad[i].file, r, msg);
		CHECK_EQ_INT(r, -1);
		CHECK_EQ_INT(err.reason, bad[i].reason);
		CHECK_EQ_INT(err.line, bad[i].line);
		CHECK(strstr(err.msg, bad[i].text));
		CHECK(strstr(msg, bad[i].file));
		CHECK(!strncmp(msg, reason_code(bad[i].reason), 4));
		/* nothing left allocated after an error */
		CHECK(!c.remotes && !c.warnings);
	}
}

TEST(p3_buffer_edge_cases)
{
	struct p3_config c;
	struct opt_error err;
	static const char nul[] = "localstart\nport=1\0\nlocalend\n";

	CHECK_EQ_INT(p3_parse_buffer("nul", nul, sizeof(nul) - 1, &c, &err), -1);
	CHECK_EQ_INT(err.reason, REASON_P3_SYNTAX);
	CHECK_EQ_INT(p3_parse_buffer("empty", "", 0, &c, &err), -1);
	CHECK_EQ_INT(err.reason, REASON_P3_SECTION);
	/* last line without newline; a remote with no subnets */
	CHECK_EQ_INT(p3_parse_buffer("x", "localstart\nlocalend\n1/address=10.0.0.1",
				     38, &c, &err), 0);
	CHECK_EQ_INT(c.n_remotes, 1);
	CHECK_EQ_INT(c.remotes[0].n_subnets, 0);
	p3_free(&c);
	CHECK_EQ_INT(parse("no-such-file.p3", &c, &err), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_NOFILE);
}

TEST(p3_cipher_mapping)
{
	CHECK_EQ_INT(p3_cipher(P3_KEY_AES128), SLOOP_CIPHER_AES128_GCM);
	CHECK_EQ_INT(p3_cipher(P3_KEY_AES256), SLOOP_CIPHER_AES256_GCM);
	CHECK_EQ_INT(p3_cipher(P3_KEY_UNSET), 0);
	CHECK_EQ_STR(opt_cipher_name(p3_cipher(P3_KEY_AES128)), "aes128gcm");
	CHECK_EQ_STR(opt_cipher_name(p3_cipher(P3_KEY_AES256)), "aes256gcm");
}

TEST(p3_apply_direct)
{
	struct sloopd_options o;
	struct p3_config c;
	struct opt_error err;

	CHECK_EQ_INT(parse("primary.p3", &c, &err), 0);
	CHECK_EQ_INT(opt_init(&o), 0);
	CHECK_EQ_INT(p3_apply(&c, &o, true, &err), -1);	/* no role yet */
	CHECK_EQ_INT(err.reason, REASON_CFG_CONFLICT);
	o.role = OPT_ROLE_PRIMARY;
	CHECK_EQ_INT(p3_apply(&c, &o, false, &err), 0);
	CHECK_EQ_INT(o.n_peers, 2);
	CHECK_EQ_STR(o.peers[1].name, "p3-2");
	CHECK_EQ_INT(o.heartbeat_ms, 15000);
	/* a privileged peer is not replaced by a non-privileged P3 file */
	o.peers[0].origin.privileged = true;
	CHECK_EQ_INT(p3_apply(&c, &o, false, &err), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_PRIV);
	CHECK_EQ_INT(err.line, 15);
	CHECK_EQ_INT(p3_apply(&c, &o, true, &err), 0);
	CHECK_EQ_INT(o.n_peers, 2);
	opt_free(&o);

	/* as a secondary the remotes become primaries, by address */
	CHECK_EQ_INT(opt_init(&o), 0);
	o.role = OPT_ROLE_SECONDARY;
	CHECK_EQ_INT(p3_apply(&c, &o, true, &err), 0);
	CHECK_EQ_INT(o.n_primaries, 2);
	CHECK_EQ_STR(o.primaries[0].name, "192.0.2.11:5653");
	opt_free(&o);
	p3_free(&c);
}
