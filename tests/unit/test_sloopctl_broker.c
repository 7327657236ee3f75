// SPDX-License-Identifier: MIT
/*
 * Unit tests of `sloopctl broker`: command lines (good and bad, with the
 * error naming the offending word), defaults from the environment and
 * the config file, the secret-file rule, request frames, and the text
 * and JSON printers fed with reply frames (JSON checked by json.h).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sloop/scb.h>

#include "unit.h"
#include "json.h"
#include "scbwire.h"
#include "../../tools/sloopctl/cmd_broker.h"
#include "../../tools/sloopctl/parse.h"

#define K_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define K_HEX "000102030405060708090a0b0c0d0e0f" \
	      "101112131415161718191a1b1c1d1e1f"

static const uint8_t key0[32] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

/* Split a command line on spaces into argv (at most 32 words). */
static int words(char *line, char **argv)
{
	int n = 0;

	for (char *w = strtok(line, " "); w && n < 32; w = strtok(NULL, " "))
		argv[n++] = w;
	return n;
}

static int parse_line(const char *line, struct sctl_broker_args *a,
		      char *err)
{
	static char buf[1024];
	char *argv[32];

	snprintf(buf, sizeof(buf), "%s", line);
	err[0] = '\0';
	return sctl_broker_parse(words(buf, argv), argv, a, err);
}

static void clear_env(void)
{
	unsetenv("SLOOP_BROKER");
	unsetenv("SLOOP_BROKER_KEY");
	unsetenv("SLOOP_ADMIN_KEY");
	unsetenv("SLOOPCTL_CONF");
}

TEST(sloopctl_broker_parse_commands)
{
	struct sctl_broker_args a;
	char err[SCTL_ERR_LEN];

	CHECK_EQ_INT(parse_line("user add alice password-file /pw device-limit 5",
				&a, err), 0);
	CHECK_EQ_INT(a.op, SCTL_B_USER_ADD);
	CHECK_EQ_INT(a.msg, SCB_MSG_ADM_USER_ADD);
	CHECK_EQ_STR(a.user, "alice");
	CHECK_EQ_STR(a.password_file, "/pw");
	CHECK(a.has_limit && a.limit == 5);
	CHECK(!a.has_host && !a.has_key && !a.has_admin_key && !a.json);

	CHECK_EQ_INT(parse_line("user add bob password-stdin", &a, err), 0);
	CHECK(a.password_stdin && !a.password_file && !a.has_limit);

	CHECK_EQ_INT(parse_line("user set bob device-limit 0x10", &a, err), 0);
	CHECK_EQ_INT(a.op, SCTL_B_USER_SET);
	CHECK_EQ_INT(a.limit, 16);

	CHECK_EQ_INT(parse_line("user list", &a, err), 0);
	CHECK_EQ_INT(a.msg, SCB_MSG_ADM_USER_LIST);
	CHECK_EQ_INT(parse_line("device list --json", &a, err), 0);
	CHECK(a.json && a.msg == SCB_MSG_ADM_DEVICE_LIST);
	CHECK_EQ_INT(parse_line("loop list", &a, err), 0);
	CHECK_EQ_INT(a.msg, SCB_MSG_ADM_LOOP_LIST);

	CHECK_EQ_INT(parse_line("device stolen " K_B64, &a, err), 0);
	CHECK_EQ_INT(a.msg, SCB_MSG_ADM_DEVICE_SET);
	CHECK_EQ_INT(a.state, SCB_DEV_STOLEN);
	CHECK(!memcmp(a.device, key0, 32));
	CHECK_EQ_INT(parse_line("device suspend " K_HEX, &a, err), 0);
	CHECK_EQ_INT(a.state, SCB_DEV_SUSPENDED);
	CHECK(!memcmp(a.device, key0, 32));
	CHECK_EQ_INT(parse_line("device resume " K_HEX, &a, err), 0);
	CHECK_EQ_INT(a.state, SCB_DEV_ACTIVE);
	CHECK_EQ_INT(parse_line("device remove " K_HEX, &a, err), 0);
	CHECK_EQ_INT(a.state, SCB_DEV_REMOVED);

	CHECK_EQ_INT(parse_line("loop show " K_HEX " --json", &a, err), 0);
	CHECK(a.json && a.op == SCTL_B_LOOP_SHOW);
	CHECK(!memcmp(a.loop_id, key0, 32));
	CHECK_EQ_INT(parse_line("loop revoke " K_HEX " " K_B64, &a, err), 0);
	CHECK_EQ_INT(a.msg, SCB_MSG_ADM_REVOKE);
	CHECK(!memcmp(a.loop_id, key0, 32) && !memcmp(a.device, key0, 32));
	CHECK(!a.has_loop_prefix);

	/* a hex prefix is kept for the loop list to resolve */
	CHECK_EQ_INT(parse_line("loop show 00010203ABC", &a, err), 0);
	CHECK(a.has_loop_prefix);
	CHECK_EQ_STR(a.loop_prefix, "00010203abc");
}

static size_t loop_list_reply(uint8_t *buf, size_t cap)
{
	uint8_t id[32];
	struct scbw_buf b;

	scbw_start(&b, buf, cap, SCB_MSG_OK, 1);
	for (int i = 0; i < 3; i++) {
		memcpy(id, key0, 32);
		id[4] = (uint8_t)(i < 2 ? 0x40 : 0x50);	/* 2 share 8 digits */
		id[5] = (uint8_t)i;
		scbw_nest_start(&b, SCB_A_LOOP);
		scbw_put(&b, SCB_A_LOOP_ID, id, 32);
		scbw_put_str(&b, SCB_A_LOOP_NAME, "l");
		scbw_nest_end(&b);
	}
	return scbw_end(&b);
}

TEST(sloopctl_broker_loop_prefix)
{
	static uint8_t buf[1024];
	struct sctl_broker_args a;
	char err[SCTL_ERR_LEN];
	size_t len = loop_list_reply(buf, sizeof(buf));

	CHECK(len > 0);
	CHECK_EQ_INT(parse_line("loop show 0001020350", &a, err), 0);
	CHECK_EQ_INT(sctl_broker_match_prefix(&a, buf, len, err), 0);
	CHECK_EQ_INT(a.loop_id[4], 0x50);
	CHECK_EQ_INT(a.loop_id[5], 2);
	CHECK_EQ_INT(a.loop_id[31], 31);

	CHECK_EQ_INT(parse_line("loop revoke 0001020340 " K_B64, &a, err), 0);
	CHECK_EQ_INT(sctl_broker_match_prefix(&a, buf, len, err), -1);
	CHECK(strstr(err, "ambiguous"));
	CHECK_EQ_INT(parse_line("loop show 000102034001", &a, err), 0);
	CHECK_EQ_INT(sctl_broker_match_prefix(&a, buf, len, err), 0);
	CHECK_EQ_INT(a.loop_id[5], 1);
	CHECK_EQ_INT(parse_line("loop show ffffffff", &a, err), 0);
	CHECK_EQ_INT(sctl_broker_match_prefix(&a, buf, len, err), -1);
	CHECK(strstr(err, "no loop id starts with 'ffffffff'"));
}

TEST(sloopctl_broker_parse_connection)
{
	struct sctl_broker_args a;
	char err[SCTL_ERR_LEN];

	CHECK_EQ_INT(parse_line("198.51.100.7:7000 key " K_B64
				" admin-key /etc/a.key --json user list",
				&a, err), 0);
	CHECK(a.has_host && a.has_key && a.has_admin_key && a.json);
	CHECK_EQ_STR(a.host, "198.51.100.7");
	CHECK_EQ_STR(a.port, "7000");
	CHECK_EQ_STR(a.admin_key, "/etc/a.key");
	CHECK(!memcmp(a.broker_pub, key0, 32));

	CHECK_EQ_INT(parse_line("broker.example user list", &a, err), 0);
	CHECK_EQ_STR(a.host, "broker.example");
	CHECK_EQ_STR(a.port, "5660");
	CHECK_EQ_INT(parse_line("[2001:db8::5]:5661 loop list", &a, err), 0);
	CHECK_EQ_STR(a.host, "2001:db8::5");
	CHECK_EQ_STR(a.port, "5661");
	CHECK_EQ_INT(parse_line("[::1] loop list", &a, err), 0);
	CHECK_EQ_STR(a.host, "::1");
	CHECK_EQ_STR(a.port, "5660");
	CHECK_EQ_INT(parse_line("2001:db8::5 loop list", &a, err), 0);
	CHECK_EQ_STR(a.host, "2001:db8::5");
	CHECK_EQ_STR(a.port, "5660");
	/* options may also follow the address */
	CHECK_EQ_INT(parse_line("key " K_HEX " h:1 admin-key k user list",
				&a, err), 0);
	CHECK(a.has_key && a.has_admin_key);
	CHECK_EQ_STR(a.host, "h");
	CHECK_EQ_STR(a.port, "1");
}

/* Each bad line fails with an error that contains the given word. */
TEST(sloopctl_broker_parse_errors)
{
	static const char *const bad[][2] = {
		{ "", "no command" },
		{ "users list", "'users' was taken as the broker address" },
		{ "h1 h2 user list", "unknown command 'h2'" },
		{ "user", "add, set, list" },
		{ "user frob", "unknown command 'user frob'" },
		{ "device add x", "unknown command 'device add'" },
		{ "user add", "missing argument" },
		{ "user add bob", "password-file F or password-stdin" },
		{ "user add bob password-file", "'password-file' needs a value" },
		{ "user add bob password-stdin password-file f",
		  "password is given twice" },
		{ "user add bob password-stdin device-limit",
		  "'device-limit' needs a value" },
		{ "user add bob password-stdin device-limit -1",
		  "bad device-limit '-1'" },
		{ "user add bob password-stdin device-limit 1 device-limit 2",
		  "device-limit given twice" },
		{ "user add bob password-stdin color red", "unexpected 'color'" },
		{ "user add bob password-stdin --json", "only for the list" },
		{ "user add 01234567890123456789012345678901234567890123456789012345678901234 password-stdin",
		  "1 to 64 bytes" },
		{ "user set bob", "needs device-limit N" },
		{ "user set bob limit 3", "unexpected 'limit'" },
		{ "user set bob device-limit 4294967296",
		  "bad device-limit '4294967296'" },
		{ "user set bob device-limit 3 extra", "unexpected 'extra'" },
		{ "user list extra", "unexpected 'extra'" },
		{ "--json device suspend " K_B64, "only for the list" },
		{ "device suspend", "missing argument" },
		{ "device suspend AAAA", "bad device key 'AAAA'" },
		{ "device stolen " K_HEX "00", "bad device key" },
		{ "device remove " K_B64 " " K_B64, "unexpected" },
		{ "loop show", "missing argument" },
		{ "loop show home", "bad loop id 'home'" },
		{ "loop show 0001020", "bad loop id '0001020'" },
		{ "loop show 00010203x", "bad loop id" },
		{ "loop revoke " K_HEX, "missing argument" },
		{ "loop revoke " K_HEX " nokey", "bad device key 'nokey'" },
		{ "key", "'key' needs a value" },
		{ "key " K_B64 " admin-key", "'admin-key' needs a value" },
		{ "key xyz user list", "bad broker key 'xyz'" },
		{ "h:0 user list", "bad broker address 'h:0'" },
		{ "h:65536 user list", "bad broker address" },
		{ "h:12a user list", "bad broker address" },
		{ "h: user list", "bad broker address" },
		{ "[::1 user list", "bad broker address" },
		{ "[::1]x user list", "bad broker address" },
		{ "[198.51.100.1]:5 user list", "bad broker address" },
		{ "[] user list", "bad broker address" },
		{ ":5 user list", "bad broker address" },
		{ "1::2::3 user list", "bad broker address" },
	};
	struct sctl_broker_args a;
	char err[SCTL_ERR_LEN];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_line(bad[i][0], &a, err);

		if (rc != -1 || !strstr(err, bad[i][1]))
			fprintf(stderr, "  line '%s': rc %d err '%s'\n",
				bad[i][0], rc, err);
		CHECK_EQ_INT(rc, -1);
		CHECK(strstr(err, bad[i][1]));
	}
}

static int write_file(char *path, const char *text, mode_t mode)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fchmod(fd, mode)) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

TEST(sloopctl_broker_defaults)
{
	char conf[] = "/tmp/sloopctl-broker-conf-XXXXXX";
	struct sctl_broker_args a;
	char err[SCTL_ERR_LEN];
	int rc;

	clear_env();
	CHECK(!write_file(conf,
			  "# the broker\n\nbroker 192.0.2.9:6000\n"
			  "broker-key " K_HEX "  # pinned\n"
			  "admin-key /etc/sloop/admin.key\n", 0644));

	/* the config file alone */
	CHECK_EQ_INT(parse_line("user list", &a, err), 0);
	rc = sctl_broker_defaults(&a, conf, err);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_STR(a.host, "192.0.2.9");
	CHECK_EQ_STR(a.port, "6000");
	CHECK(!memcmp(a.broker_pub, key0, 32));
	CHECK_EQ_STR(a.admin_key, "/etc/sloop/admin.key");

	/* the environment beats the file, the command line both */
	setenv("SLOOP_BROKER", "[2001:db8::1]:7000", 1);
	setenv("SLOOP_ADMIN_KEY", "/root/env.key", 1);
	setenv("SLOOPCTL_CONF", conf, 1);
	CHECK_EQ_INT(parse_line("admin-key /cli.key user list", &a, err), 0);
	rc = sctl_broker_defaults(&a, NULL, err);
	clear_env();
	unlink(conf);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_STR(a.host, "2001:db8::1");
	CHECK_EQ_STR(a.port, "7000");
	CHECK_EQ_STR(a.admin_key, "/cli.key");
	CHECK(!memcmp(a.broker_pub, key0, 32));

	/* a missing explicit file is an error, so is a missing value */
	CHECK_EQ_INT(parse_line("h user list", &a, err), 0);
	CHECK_EQ_INT(sctl_broker_defaults(&a, conf, err), -1);
	CHECK(strstr(err, conf));
	setenv("SLOOP_BROKER_KEY", K_B64, 1);
	CHECK_EQ_INT(parse_line("h user list", &a, err), 0);
	CHECK_EQ_INT(sctl_broker_defaults(&a, "/nonexistent/sloopctl.conf",
					  err), -1);
	setenv("SLOOPCTL_CONF", "", 1);
	CHECK_EQ_INT(parse_line("h user list", &a, err), 0);
	rc = sctl_broker_defaults(&a, NULL, err);
	if (access("/etc/sloop/sloopctl.conf", F_OK)) {
		CHECK_EQ_INT(rc, -1);
		CHECK(strstr(err, "no admin key"));
	}
	setenv("SLOOP_BROKER_KEY", "bad", 1);
	CHECK_EQ_INT(parse_line("h user list", &a, err), 0);
	CHECK_EQ_INT(sctl_broker_defaults(&a, NULL, err), -1);
	CHECK(strstr(err, "SLOOP_BROKER_KEY"));
	clear_env();
	setenv("SLOOP_BROKER", "h:99999", 1);
	CHECK_EQ_INT(parse_line("user list", &a, err), 0);
	CHECK_EQ_INT(sctl_broker_defaults(&a, NULL, err), -1);
	CHECK(strstr(err, "SLOOP_BROKER"));
	clear_env();
}

/* A config file with a problem names its line. */
TEST(sloopctl_broker_conf_errors)
{
	static const char *const bad[][2] = {
		{ "broker h\nbrokr h2\n", ":2: unknown option 'brokr'" },
		{ "broker\n", ":1: 'broker' takes one value" },
		{ "broker h extra\n", ":1: 'broker' takes one value" },
		{ "broker h\nbroker h\n", ":2: 'broker' given twice" },
		{ "broker h:0\n", " at /tmp/sloopctl-broker-conf-" },
		{ "broker-key nope\n", ":1: bad broker-key" },
		{ "admin-key relative.key\n", "absolute path" },
	};
	struct sctl_broker_args a;
	char err[SCTL_ERR_LEN];

	clear_env();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char conf[] = "/tmp/sloopctl-broker-conf-XXXXXX";
		int rc;

		CHECK(!write_file(conf, bad[i][0], 0600));
		CHECK_EQ_INT(parse_line("user list", &a, err), 0);
		rc = sctl_broker_defaults(&a, conf, err);
		unlink(conf);
		if (rc != -1 || !strstr(err, bad[i][1]))
			fprintf(stderr, "  conf '%s': err '%s'\n", bad[i][0],
				err);
		CHECK_EQ_INT(rc, -1);
		CHECK(strstr(err, bad[i][1]));
	}
	/* others may not point sloopctl at another broker or key */
	{
		char conf[] = "/tmp/sloopctl-broker-conf-XXXXXX";
		int rc;

		CHECK(!write_file(conf, "broker h\n", 0666));
		chmod(conf, 0666);
		CHECK_EQ_INT(parse_line("user list", &a, err), 0);
		rc = sctl_broker_defaults(&a, conf, err);
		unlink(conf);
		CHECK_EQ_INT(rc, -1);
		CHECK(strstr(err, "not writable by group or others"));
	}
}

TEST(sloopctl_broker_secret_rule)
{
	char path[] = "/tmp/sloopctl-broker-key-XXXXXX";
	char err[SCTL_ERR_LEN];
	int fd;

	CHECK(!write_file(path, "secret\n", 0640));
	fd = sctl_broker_open_secret(path, geteuid(), err);
	CHECK_EQ_INT(fd, -1);
	CHECK(strstr(err, "chmod 600"));
	CHECK(!chmod(path, 0600));
	fd = sctl_broker_open_secret(path, geteuid(), err);
	CHECK(fd >= 0);
	close(fd);
	fd = sctl_broker_open_secret(path, geteuid() + 1, err);
	unlink(path);
	CHECK_EQ_INT(fd, -1);
	CHECK(strstr(err, "owner"));
	CHECK_EQ_INT(sctl_broker_open_secret("/tmp", geteuid(), err), -1);
	CHECK(strstr(err, "not a regular file"));
}

TEST(sloopctl_broker_build)
{
	static uint8_t buf[1024];
	struct scbw_frame *f = malloc(sizeof(*f));
	const struct scbw_attr *at;
	struct sctl_broker_args a;
	char err[SCTL_ERR_LEN], why[128], s[80];
	size_t len;

	CHECK(f);
	CHECK_EQ_INT(parse_line("user add carol password-stdin device-limit 7",
				&a, err), 0);
	len = sctl_broker_build(&a, (const uint8_t *)"pw", 2, 9, buf,
				sizeof(buf));
	CHECK(len > 0);
	CHECK_EQ_INT(scbw_parse(f, buf, len, why, sizeof(why)), 0);
	CHECK_EQ_INT(f->type, SCB_MSG_ADM_USER_ADD);
	CHECK_EQ_INT(f->id, 9);
	CHECK((at = scbw_get(f, SCB_A_USER)) && scbw_str(at, s, sizeof(s)));
	CHECK_EQ_STR(s, "carol");
	CHECK((at = scbw_get(f, SCB_A_PASSWORD)) && at->len == 2);
	CHECK((at = scbw_get(f, SCB_A_LIMIT)) && scbw_u32(at) == 7);

	CHECK_EQ_INT(parse_line("loop revoke " K_HEX " " K_B64, &a, err), 0);
	len = sctl_broker_build(&a, NULL, 0, 2, buf, sizeof(buf));
	CHECK_EQ_INT(scbw_parse(f, buf, len, why, sizeof(why)), 0);
	CHECK_EQ_INT(f->type, SCB_MSG_ADM_REVOKE);
	CHECK((at = scbw_get(f, SCB_A_LOOP_ID)) && !memcmp(at->val, key0, 32));
	CHECK((at = scbw_get(f, SCB_A_DEVICE)) && !memcmp(at->val, key0, 32));

	CHECK_EQ_INT(parse_line("device suspend " K_HEX, &a, err), 0);
	len = sctl_broker_build(&a, NULL, 0, 3, buf, sizeof(buf));
	CHECK_EQ_INT(scbw_parse(f, buf, len, why, sizeof(why)), 0);
	CHECK((at = scbw_get(f, SCB_A_STATE)) &&
	      scbw_u8(at) == SCB_DEV_SUSPENDED);
	/* too small a buffer gives 0, not a truncated frame */
	CHECK_EQ_INT(sctl_broker_build(&a, NULL, 0, 3, buf, 20), 0);
	free(f);
}

/* Print reply into a string (caller frees). */
static char *print_reply(struct sctl_broker_args *a, const uint8_t *frame,
			 size_t len, time_t now, int *rc, char *err)
{
	char *text = NULL;
	size_t tlen = 0;
	FILE *out = open_memstream(&text, &tlen);

	if (!out)
		return NULL;
	*rc = sctl_broker_print(out, a, frame, len, now, err);
	fclose(out);
	return text;
}

static size_t device_list_reply(uint8_t *buf, size_t cap)
{
	struct scbw_buf b;

	scbw_start(&b, buf, cap, SCB_MSG_OK, 1);
	scbw_nest_start(&b, SCB_A_DEVICE_ENTRY);
	scbw_put(&b, SCB_A_DEVICE, key0, 32);
	scbw_put_str(&b, SCB_A_NAME, "lap\"top\\\xc3\xbc");
	scbw_put_str(&b, SCB_A_USER, "alice");
	scbw_put_u8(&b, SCB_A_STATE, SCB_DEV_SUSPENDED);
	scbw_put_u8(&b, SCB_A_ONLINE, 1);
	scbw_put_u64(&b, SCB_A_LAST_SEEN, 1000000 - 125);
	scbw_nest_end(&b);
	scbw_nest_start(&b, SCB_A_DEVICE_ENTRY);
	scbw_put(&b, SCB_A_DEVICE, key0, 32);
	scbw_put_str(&b, SCB_A_NAME, "phone");
	scbw_put_str(&b, SCB_A_USER, "bob");
	scbw_put_u8(&b, SCB_A_STATE, SCB_DEV_ACTIVE);
	scbw_put_u8(&b, SCB_A_ONLINE, 0);
	scbw_put_u64(&b, SCB_A_LAST_SEEN, 0);
	scbw_nest_end(&b);
	return scbw_end(&b);
}

TEST(sloopctl_broker_print_devices)
{
	static uint8_t buf[2048];
	struct sctl_broker_args a;
	struct json_value v;
	struct json_error jerr;
	const struct json_value *d;
	char err[SCTL_ERR_LEN], *text;
	size_t len = device_list_reply(buf, sizeof(buf));
	int64_t n;
	int rc = -2;

	CHECK(len > 0);
	CHECK_EQ_INT(parse_line("device list", &a, err), 0);
	text = print_reply(&a, buf, len, 1000000, &rc, err);
	CHECK(text);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_STR(text,
		     "device: " K_B64 "\n"
		     "  name: lap\"top\\\xc3\xbc\n"
		     "  user: alice\n"
		     "  state: suspended\n"
		     "  status: online\n"
		     "  last seen: 2 min 5 s ago\n"
		     "\n"
		     "device: " K_B64 "\n"
		     "  name: phone\n"
		     "  user: bob\n"
		     "  state: active\n"
		     "  status: offline\n"
		     "  last seen: never\n");
	free(text);

	a.json = true;
	text = print_reply(&a, buf, len, 1000000, &rc, err);
	CHECK(text);
	CHECK_EQ_INT(rc, 0);
	rc = json_parse(text, strlen(text), &v, &jerr);
	if (rc)
		fprintf(stderr, "  %s\n  %s\n", text, jerr.msg);
	free(text);
	CHECK_EQ_INT(rc, 0);
	d = json_at(json_get(&v, "devices"), 0);
	CHECK(d);
	CHECK_EQ_STR(json_get_string(d, "name"), "lap\"top\\\xc3\xbc");
	CHECK_EQ_STR(json_get_string(d, "state"), "suspended");
	CHECK_EQ_STR(json_get_string(d, "key"), K_B64);
	CHECK(json_get(d, "online")->type == JSON_BOOL &&
	      json_get(d, "online")->u.boolean);
	CHECK(!json_int64(json_get(d, "last_seen"), &n) && n == 1000000 - 125);
	d = json_at(json_get(&v, "devices"), 1);
	CHECK(d && json_get(d, "last_seen")->type == JSON_NULL);
	CHECK_EQ_INT(json_len(json_get(&v, "devices")), 2);
	json_free(&v);
}

/* A name with terminal escapes never reaches the terminal. */
TEST(sloopctl_broker_print_hostile_name)
{
	static uint8_t buf[512];
	struct sctl_broker_args a;
	struct scbw_buf b;
	char err[SCTL_ERR_LEN], *text;
	int rc = -2;
	size_t len;

	scbw_start(&b, buf, sizeof(buf), SCB_MSG_OK, 1);
	scbw_nest_start(&b, SCB_A_DEVICE_ENTRY);
	scbw_put(&b, SCB_A_DEVICE, key0, 32);
	scbw_put_str(&b, SCB_A_NAME, "x\x1b]0;owned\x07");
	scbw_nest_end(&b);
	len = scbw_end(&b);
	CHECK(len > 0);
	CHECK_EQ_INT(parse_line("device list", &a, err), 0);
	text = print_reply(&a, buf, len, 0, &rc, err);
	CHECK(text);
	CHECK(!strchr(text, 0x1b));
	free(text);
	CHECK_EQ_INT(rc, -1);
	CHECK(strstr(err, "bad"));
}

TEST(sloopctl_broker_print_users_and_empty)
{
	static uint8_t buf[512];
	struct sctl_broker_args a;
	struct scbw_buf b;
	char err[SCTL_ERR_LEN], *text;
	int rc = -2;
	size_t len;

	scbw_start(&b, buf, sizeof(buf), SCB_MSG_OK, 1);
	scbw_nest_start(&b, SCB_A_USER_ENTRY);
	scbw_put_str(&b, SCB_A_USER, "alice");
	scbw_put_u32(&b, SCB_A_LIMIT, 5);
	scbw_put_u32(&b, SCB_A_COUNT, 2);
	scbw_nest_end(&b);
	len = scbw_end(&b);
	CHECK_EQ_INT(parse_line("user list", &a, err), 0);
	text = print_reply(&a, buf, len, 0, &rc, err);
	CHECK(text && rc == 0);
	CHECK_EQ_STR(text, "user: alice\n  device limit: 5\n  devices: 2\n");
	free(text);
	a.json = true;
	text = print_reply(&a, buf, len, 0, &rc, err);
	CHECK(text && rc == 0);
	CHECK_EQ_STR(text, "{\"users\":[{\"name\":\"alice\",\"device_limit\":5,"
			   "\"devices\":2}]}\n");
	free(text);

	/* an empty list is an empty array, and nothing in text */
	scbw_start(&b, buf, sizeof(buf), SCB_MSG_OK, 1);
	len = scbw_end(&b);
	text = print_reply(&a, buf, len, 0, &rc, err);
	CHECK(text && rc == 0);
	CHECK_EQ_STR(text, "{\"users\":[]}\n");
	free(text);
	a.json = false;
	text = print_reply(&a, buf, len, 0, &rc, err);
	CHECK(text && rc == 0);
	CHECK_EQ_STR(text, "");
	free(text);

	/* a reply that does not parse is an error, not output */
	buf[0] = 9;
	text = print_reply(&a, buf, len, 0, &rc, err);
	free(text);
	CHECK_EQ_INT(rc, -1);
	CHECK(strstr(err, "bad reply"));
}

TEST(sloopctl_broker_print_loop_show)
{
	static const uint8_t net4[5] = { 100, 64, 4, 0, 22 };
	static const uint8_t addr4[4] = { 100, 64, 4, 1 };
	static const uint8_t ep[18] = { [10] = 0xff, [11] = 0xff, 198, 51,
					100, 2, 0x16, 0x15 };
	static uint8_t buf[2048];
	struct sctl_broker_args a;
	struct json_value v;
	struct json_error jerr;
	const struct json_value *m;
	struct scbw_buf b;
	char err[SCTL_ERR_LEN], *text;
	int rc = -2;
	size_t len;

	scbw_start(&b, buf, sizeof(buf), SCB_MSG_OK, 1);
	scbw_nest_start(&b, SCB_A_LOOP);
	scbw_put(&b, SCB_A_LOOP_ID, key0, 32);
	scbw_put_str(&b, SCB_A_LOOP_NAME, "home");
	scbw_put_u8(&b, SCB_A_POLICY, 1);
	scbw_put(&b, SCB_A_NET4, net4, 5);
	scbw_nest_end(&b);
	scbw_nest_start(&b, SCB_A_PEER);
	scbw_put(&b, SCB_A_DEVICE, key0, 32);
	scbw_put_str(&b, SCB_A_NAME, "laptop");
	scbw_put(&b, SCB_A_ADDR4, addr4, 4);
	scbw_put(&b, SCB_A_ENDPOINT, ep, 18);
	scbw_put_u8(&b, SCB_A_ONLINE, 1);
	scbw_nest_end(&b);
	scbw_nest_start(&b, SCB_A_PENDING);
	scbw_put(&b, SCB_A_DEVICE, key0, 32);
	scbw_put_str(&b, SCB_A_NAME, "phone");
	scbw_put_u32(&b, SCB_A_COUNT, 0);
	scbw_nest_end(&b);
	scbw_nest_start(&b, SCB_A_INVITE_ENTRY);
	scbw_put(&b, SCB_A_LOOP_ID, key0, 32);
	scbw_put_u64(&b, SCB_A_EXPIRES, 5000 + 600);
	scbw_put(&b, SCB_A_DEVICE, key0, 32);
	scbw_nest_end(&b);
	len = scbw_end(&b);
	CHECK(len > 0);

	CHECK_EQ_INT(parse_line("loop show " K_HEX, &a, err), 0);
	text = print_reply(&a, buf, len, 5000, &rc, err);
	CHECK(text);
	if (rc)
		fprintf(stderr, "  %s\n", err);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_STR(text,
		     "loop: " K_HEX "\n"
		     "  name: home\n"
		     "  approvals needed: 1\n"
		     "  ipv4: 100.64.4.0/22\n"
		     "\n"
		     "member: " K_B64 "\n"
		     "  name: laptop\n"
		     "  ipv4: 100.64.4.1\n"
		     "  status: online\n"
		     "  endpoint: 198.51.100.2:5653\n"
		     "\n"
		     "pending: " K_B64 "\n"
		     "  name: phone\n"
		     "  approvals: 0\n"
		     "\n"
		     "invitation by: " K_B64 "\n"
		     "  expires: in 10 min 0 s\n");
	free(text);

	a.json = true;
	text = print_reply(&a, buf, len, 5000, &rc, err);
	CHECK(text && rc == 0);
	rc = json_parse(text, strlen(text), &v, &jerr);
	if (rc)
		fprintf(stderr, "  %s\n  %s\n", text, jerr.msg);
	free(text);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_STR(json_get_string(json_get(&v, "loop"), "id"), K_HEX);
	CHECK_EQ_STR(json_get_string(json_get(&v, "loop"), "net4"),
		     "100.64.4.0/22");
	m = json_at(json_get(&v, "members"), 0);
	CHECK(m);
	CHECK_EQ_STR(json_string(json_at(json_get(m, "endpoints"), 0)),
		     "198.51.100.2:5653");
	CHECK_EQ_INT(json_len(json_get(&v, "pending")), 1);
	CHECK_EQ_INT(json_len(json_get(&v, "invitations")), 1);
	CHECK_EQ_INT(json_len(json_get(&v, "revoked")), 0);
	json_free(&v);
}

TEST(sloopctl_broker_refusal)
{
	static uint8_t buf[256];
	char err[SCTL_ERR_LEN];
	struct scbw_buf b;
	size_t len;

	scbw_start(&b, buf, sizeof(buf), SCB_MSG_ERROR, 0);
	scbw_put_u16(&b, SCB_A_CODE, SCB_E_NOT_ADMIN);
	scbw_put_str(&b, SCB_A_TEXT, "key not in admin-key");
	len = scbw_end(&b);
	sctl_broker_refusal(buf, len, err);
	CHECK(!strncmp(err, "broker refused: B411 ", 21));
	CHECK(strstr(err, "(key not in admin-key)"));

	scbw_start(&b, buf, sizeof(buf), SCB_MSG_ERROR, 0);
	scbw_put_u16(&b, SCB_A_CODE, SCB_E_REPLAY);
	len = scbw_end(&b);
	sctl_broker_refusal(buf, len, err);
	{
		char want[SCTL_ERR_LEN];

		snprintf(want, sizeof(want), "broker refused: B403 %s",
			 scbw_strerror(SCB_E_REPLAY));
		CHECK_EQ_STR(err, want);
	}

	sctl_broker_refusal(buf, 3, err);
	CHECK(strstr(err, "unreadable"));
}
