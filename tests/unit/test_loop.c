// SPDX-License-Identifier: MIT
/*
 * Loop mode of sloopd: the new options and their cross-checks, the
 * peer-install decision (a membership chain verifies or the device is
 * refused, whatever the broker says), the initiator choice, endpoints
 * and the loop cache (side file and round trip, 0600).
 */
#include <errno.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "unit.h"
#include "../../daemon/sloopd/loop.h"
#include "../../daemon/sloopd/options.h"

#define BK "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="

static int load_words(struct sloopd_options *o, struct opt_error *err,
		      char **w)
{
	struct opt_env env;
	int n = 0;

	while (w[n])
		n++;
	opt_env_default(&env);
	env.secure_uid = getuid();
	env.cmdline_privileged = true;
	memset(err, 0, sizeof(*err));
	if (opt_init(o))
		return -2;
	if (opt_load_words(o, &env, n, w, err))
		return -1;
	return opt_validate(o, err);
}

/* A valid Ed25519 point for broker-key. */
static void pub_b64(char *out, size_t len)
{
	uint8_t pk[32], sk[64], seed[32] = { 7 };

	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_bin2base64(out, len, pk, 32, sodium_base64_VARIANT_ORIGINAL);
}

TEST(loop_options_parse)
{
	struct sloopd_options o;
	struct opt_error err;
	char bk[64];
	char *w[] = { "device", "sloop1", "key", "/k", "broker", "10.0.0.1",
		      "broker-key", bk, "loop", "home", "user", "alice",
		      "password-file", "/pw", "found", "policy", "2",
		      "auto-approve", "loop-cache", "/var/tmp/c", NULL };

	pub_b64(bk, sizeof(bk));
	CHECK_EQ_INT(load_words(&o, &err, w), 0);
	CHECK_EQ_STR(o.loop, "home");
	CHECK_EQ_STR(o.broker.host, "10.0.0.1");
	CHECK_EQ_INT(o.broker.port, SCB_DEFAULT_PORT);
	CHECK(o.has_broker_key);
	CHECK_EQ_STR(o.user, "alice");
	CHECK_EQ_STR(o.password_file, "/pw");
	CHECK(o.found && o.auto_approve);
	CHECK_EQ_INT(o.policy, 2);
	CHECK_EQ_STR(o.loop_cache, "/var/tmp/c");
	CHECK(opt_find("invite") && opt_find("broker-key"));
	CHECK(opt_find("password-file")->flags & OPT_F_SECFILE);
	opt_free(&o);
}

TEST(loop_options_dump_roundtrip)
{
	struct sloopd_options o;
	struct opt_error err;
	char bk[64], *buf = NULL;
	size_t len = 0;
	FILE *m;
	char *w[] = { "device", "sloop1", "key", "/k", "broker", "h:7000",
		      "broker-key", bk, "loop", "home", "invite", "ABCD", NULL };

	pub_b64(bk, sizeof(bk));
	CHECK_EQ_INT(load_words(&o, &err, w), 0);
	m = open_memstream(&buf, &len);
	CHECK(m);
	opt_dump(&o, m);
	fclose(m);
	CHECK(strstr(buf, "broker h:7000"));
	CHECK(strstr(buf, "loop home"));
	CHECK(strstr(buf, "invite ABCD"));
	CHECK(strstr(buf, bk));
	CHECK(strstr(buf, "policy 1"));
	free(buf);
	opt_free(&o);
}

TEST(loop_options_refused)
{
	struct sloopd_options o;
	struct opt_error err;
	char bk[64];
	char *nokey[] = { "device", "s", "key", "/k", "broker", "h",
			  "loop", "home", NULL };
	char *role[] = { "device", "s", "key", "/k", "broker", "h",
			 "broker-key", bk, "loop", "home", "role", "primary",
			 NULL };
	char *both[] = { "device", "s", "key", "/k", "broker", "h",
			 "broker-key", bk, "loop", "home", "found", "invite",
			 "X", NULL };
	char *half[] = { "device", "s", "key", "/k", "broker", "h",
			 "broker-key", bk, "loop", "home", "user", "u", NULL };
	char *pol[] = { "policy", "3", NULL };
	char *badkey[] = { "broker-key", "AAAA", NULL };

	pub_b64(bk, sizeof(bk));
	CHECK_EQ_INT(load_words(&o, &err, nokey), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_CONFLICT);
	CHECK(strstr(err.msg, "broker-key"));
	opt_free(&o);
	CHECK_EQ_INT(load_words(&o, &err, role), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_CONFLICT);
	opt_free(&o);
	CHECK_EQ_INT(load_words(&o, &err, both), -1);
	CHECK(strstr(err.msg, "exclude"));
	opt_free(&o);
	CHECK_EQ_INT(load_words(&o, &err, half), -1);
	CHECK(strstr(err.msg, "password-file"));
	opt_free(&o);
	CHECK_EQ_INT(load_words(&o, &err, pol), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_RANGE);
	opt_free(&o);
	CHECK_EQ_INT(load_words(&o, &err, badkey), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_BAD_VALUE);
	opt_free(&o);
}

/* ---------------------------------------------------------- membership */

struct dev {
	uint8_t pk[32], sk[64];
};

static void mkdev(struct dev *d, uint8_t n)
{
	uint8_t seed[32];

	memset(seed, n, sizeof(seed));
	crypto_sign_seed_keypair(d->pk, d->sk, seed);
}

static const uint8_t A4[4] = { 100, 64, 0, 1 }, A6[16] = { 0xfd };

/* A founded loop "home": F self-signed, M approved by F. */
static void mkloop(struct cred_set *s, const struct dev *f,
		   const struct dev *brk, uint64_t now)
{
	uint8_t id[32];
	struct cred c;

	cred_loop_id(id, f->pk, "home");
	cred_set_init(s, id, f->pk, brk->pk);
	loop_cred_issue(&c, id, 1, f->pk, A4, A6, now, 3600, f->sk);
	cred_set_add(s, &c);
}

TEST(loop_peer_verified_or_refused)
{
	struct dev f, m, x, brk;
	struct cred_set s;
	struct cred c, best;
	uint64_t now = 1800000000;

	mkdev(&f, 1);
	mkdev(&m, 2);
	mkdev(&x, 3);
	mkdev(&brk, 9);
	mkloop(&s, &f, &brk, now);
	CHECK_EQ_INT(loop_check_peer(&s, f.pk, f.pk, now, NULL), LOOP_PEER_SELF);
	/* Reported by the broker but never signed: refused. */
	CHECK_EQ_INT(loop_check_peer(&s, f.pk, m.pk, now, NULL), LOOP_PEER_REFUSED);
	/* Signed by a non-member (x): still refused. */
	CHECK_EQ_INT(loop_cred_issue(&c, s.loop_id, 1, m.pk, A4, A6, now, 3600,
				     x.sk), 0);
	cred_set_add(&s, &c);
	CHECK_EQ_INT(loop_check_peer(&s, f.pk, m.pk, now, NULL), LOOP_PEER_REFUSED);
	/* The broker's key cannot sign members in either. */
	loop_cred_issue(&c, s.loop_id, 1, m.pk, A4, A6, now, 3600, brk.sk);
	cred_set_add(&s, &c);
	CHECK_EQ_INT(loop_check_peer(&s, f.pk, m.pk, now, NULL), LOOP_PEER_REFUSED);
	/* Approved by the founder: verified, with the signed addresses. */
	{
		uint8_t a4[4] = { 100, 64, 0, 2 };

		loop_cred_issue(&c, s.loop_id, 1, m.pk, a4, A6, now, 3600, f.sk);
		CHECK_EQ_INT(cred_set_add(&s, &c), 0);
		CHECK_EQ_INT(loop_check_peer(&s, f.pk, m.pk, now, &best),
			     LOOP_PEER_OK);
		CHECK(!memcmp(best.addr4, a4, 4));
	}
	/* Expired: refused again. */
	CHECK_EQ_INT(loop_check_peer(&s, f.pk, m.pk, now + 7200, NULL),
		     LOOP_PEER_REFUSED);
	/* Revoked by the broker's key: refused at once. */
	{
		struct cred_revoke r = { 0 };

		memcpy(r.loop_id, s.loop_id, 32);
		memcpy(r.device, m.pk, 32);
		r.at = now;
		CHECK_EQ_INT(cred_revoke_sign(&r, brk.sk), 0);
		CHECK_EQ_INT(cred_set_revoke(&s, &r, now), 0);
		CHECK(loop_revoked(&s, m.pk));
		CHECK_EQ_INT(loop_check_peer(&s, f.pk, m.pk, now + 1, NULL),
			     LOOP_PEER_REFUSED);
	}
	cred_set_free(&s);
}

TEST(loop_identity_and_initiator)
{
	struct dev f, m;
	uint8_t id[32];

	mkdev(&f, 1);
	mkdev(&m, 2);
	cred_loop_id(id, f.pk, "home");
	CHECK(loop_identity_ok(id, f.pk, "home"));
	CHECK(!loop_identity_ok(id, f.pk, "work"));
	CHECK(!loop_identity_ok(id, m.pk, "home"));
	/* Exactly one side of a pair initiates. */
	CHECK(loop_initiator(f.pk, m.pk) != loop_initiator(m.pk, f.pk));
	CHECK_EQ_INT(loop_initiator(f.pk, m.pk), memcmp(f.pk, m.pk, 32) < 0);
	CHECK(!loop_initiator(f.pk, f.pk));
}

TEST(loop_endpoint_forms)
{
	uint8_t v4[18] = { [10] = 0xff, [11] = 0xff, [12] = 192, [13] = 0,
			   [14] = 2, [15] = 7, [16] = 0x16, [17] = 0x15 };
	uint8_t v6[18] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1, [16] = 0,
			   [17] = 1 };
	uint8_t zero_port[18] = { [10] = 0xff, [11] = 0xff, [12] = 1 };
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[80];

	CHECK_EQ_INT(loop_ep_to_sockaddr(v4, AF_INET, &ss, &len), 0);
	CHECK_EQ_INT(ss.ss_family, AF_INET);
	CHECK_EQ_INT(ntohs(((struct sockaddr_in *)&ss)->sin_port), 5653);
	CHECK_EQ_INT(loop_ep_to_sockaddr(v4, AF_INET6, &ss, &len), 0);
	CHECK_EQ_INT(ss.ss_family, AF_INET6);
	CHECK_EQ_INT(loop_ep_to_sockaddr(v6, AF_INET, &ss, &len), -1);
	CHECK_EQ_INT(loop_ep_to_sockaddr(zero_port, AF_INET6, &ss, &len), -1);
	loop_ep_str(v4, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "192.0.2.7:5653");
	loop_ep_str(v6, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "[2001:db8::1]:1");
}

TEST(loop_cache_roundtrip)
{
	struct dev f, m, brk;
	struct loop_state st, back;
	struct loop_member *lm;
	struct cred c;
	struct stat sb;
	char dir[] = "/tmp/sloop-loop-XXXXXX", path[128], side[160];
	uint64_t now = (uint64_t)time(NULL);

	mkdev(&f, 1);
	mkdev(&m, 2);
	mkdev(&brk, 9);
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/loop.cache", dir);
	snprintf(side, sizeof(side), "%s.peers", path);
	loop_state_init(&st, "home");
	{
		uint8_t id[32];

		cred_loop_id(id, f.pk, "home");
		loop_state_set_identity(&st, id, f.pk, brk.pk);
	}
	st.policy = 1;
	loop_cred_issue(&c, st.loop_id, 1, f.pk, A4, A6, now, 3600, f.sk);
	CHECK_EQ_INT(cred_set_add(&st.set, &c), 0);
	loop_cred_issue(&c, st.loop_id, 1, m.pk, A4, A6, now, 3600, f.sk);
	CHECK_EQ_INT(cred_set_add(&st.set, &c), 0);
	lm = loop_member_get(&st, m.pk, true);
	CHECK(lm);
	snprintf(lm->name, sizeof(lm->name), "laptop");
	lm->has_ep = true;
	lm->ep[10] = lm->ep[11] = 0xff;
	lm->ep[12] = 10;
	lm->ep[17] = 9;
	CHECK(loop_member_get(&st, f.pk, true));
	CHECK_EQ_INT(loop_cache_save(&st, path), 0);
	CHECK_EQ_INT(stat(path, &sb), 0);
	CHECK_EQ_INT(sb.st_mode & 0777, 0600);
	CHECK_EQ_INT(stat(side, &sb), 0);
	CHECK_EQ_INT(sb.st_mode & 0777, 0600);

	loop_state_init(&back, "home");
	CHECK_EQ_INT(loop_cache_load(&back, path, brk.pk), 0);
	CHECK(back.known);
	CHECK_EQ_INT(back.n_m, 2);
	lm = loop_member_get(&back, m.pk, false);
	CHECK(lm && lm->has_ep && !strcmp(lm->name, "laptop"));
	CHECK(!memcmp(lm->ep, st.m[0].ep, 18));
	CHECK_EQ_INT(loop_check_peer(&back.set, f.pk, m.pk, now, NULL),
		     LOOP_PEER_OK);
	loop_state_free(&back);

	/* Another broker key or loop name: the cache is not trusted. */
	loop_state_init(&back, "home");
	CHECK_EQ_INT(loop_cache_load(&back, path, f.pk), -EBADMSG);
	loop_state_free(&back);
	loop_state_init(&back, "work");
	CHECK_EQ_INT(loop_cache_load(&back, path, brk.pk), -EBADMSG);
	loop_state_free(&back);
	/* A group-readable cache is refused. */
	chmod(path, 0640);
	loop_state_init(&back, "home");
	CHECK(loop_cache_load(&back, path, brk.pk) < 0);
	loop_state_free(&back);

	loop_cache_remove(path);
	CHECK(stat(path, &sb) && stat(side, &sb));
	loop_state_free(&st);
	snprintf(side, sizeof(side), "%s/sub", dir);
	rmdir(side);
	rmdir(dir);
}

TEST(loop_side_file_hostile)
{
	static const char *bad[] = {
		"loop other\n",
		"member zz laptop\n",
		"member 0000000000000000000000000000000000000000000000000000000000000000\n",
		"net4 0102\n",
		"whatever\n",
		"member 0000000000000000000000000000000000000000000000000000000000000000 a 12\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct loop_state st;
		FILE *f = fmemopen((void *)bad[i], strlen(bad[i]), "r");

		CHECK(f);
		loop_state_init(&st, "home");
		CHECK(loop_side_read(&st, f) < 0);
		fclose(f);
		loop_state_free(&st);
	}
}

TEST(loop_cache_default_path)
{
	struct sloopd_options o;
	char buf[256];

	CHECK_EQ_INT(opt_init(&o), 0);
	CHECK_EQ_INT(loop_cache_path(&o, "home", buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "/var/lib/sloop/loop-home.cache");
	opt_free(&o);
}
