// SPDX-License-Identifier: MIT
/*
 * sloopd options: table, sources and priority, call/file, nesting and
 * loops, the tokenizer, every error path, privileged options, secret
 * files, dump and --help; and the reason-code table.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <sloop/uapi.h>

#include "unit.h"
#include "../../daemon/sloopd/options.h"
#include "../../daemon/sloopd/p3conf.h"

#define K1 "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define K2 "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
#define K3 "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM="

static char root[4096], bad[4096];

static void env_for(struct opt_env *env)
{
	opt_env_default(env);
	snprintf(root, sizeof(root), "%s",
		 unit_path("tests/unit/data/options/root"));
	snprintf(bad, sizeof(bad), "%s",
		 unit_path("tests/unit/data/options/bad"));
	env->root = root;
	env->secure_uid = getuid();
	env->cmdline_privileged = true;
}

/* Loads "sloopd" + the NULL-terminated words; returns opt_load's result. */
static int load(struct sloopd_options *o, const struct opt_env *env,
		struct opt_error *err, ...)
{
	char *argv[64] = { "sloopd" };
	int argc = 1;
	va_list ap;

	va_start(ap, err);
	while (argc < 63 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	memset(err, 0, sizeof(*err));
	if (opt_init(o))
		return -2;
	return opt_load(o, env, argc, argv, err);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static char *origin(const struct sloopd_options *o, enum opt_id id)
{
	static char buf[4200];

	opt_origin_str(opt_origin_of(o, id), buf, sizeof(buf));
	return buf;
}

static bool origin_is(const struct sloopd_options *o, enum opt_id id,
		      const char *suffix)
{
	return ends_with(origin(o, id), suffix);
}

/* ------------------------------------------------------------ temp dirs */

static char tmp[64];

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *f)
{
	return remove(p);
}

static void tmp_clean(void)
{
	if (tmp[0])
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	tmp[0] = '\0';
}

static const char *tmp_make(void)
{
	tmp_clean();
	snprintf(tmp, sizeof(tmp), "/tmp/sloop-opt-XXXXXX");
	return mkdtemp(tmp);
}

static const char *tpath(const char *name)
{
	static char buf[8][256];
	static int n;

	n = (n + 1) % 8;
	snprintf(buf[n], sizeof(buf[n]), "%s/%s", tmp, name);
	return buf[n];
}

static int put(const char *name, mode_t mode, const char *text)
{
	const char *p = tpath(name);
	int fd;

	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return -1;
	}
	close(fd);
	return chmod(p, mode);	/* not subject to the umask */
}

/* ---------------------------------------------------------------- table */

TEST(opt_table_consistent)
{
	size_t n;
	const struct opt_def *t = opt_table(&n);
	struct sloopd_options o;

	CHECK_EQ_INT(n, OPT_COUNT);
	for (size_t i = 0; i < n; i++) {
		CHECK_EQ_INT(t[i].id, i);
		CHECK(t[i].name && t[i].help && *t[i].help);
		CHECK(opt_find(t[i].name) == &t[i]);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(t[i].name, t[j].name));
	}
	/* a peer sub-option that is also an option would end peers early */
	for (int i = 0; opt_peer_sub_name(i); i++)
		CHECK(!opt_find(opt_peer_sub_name(i)));
	CHECK(opt_find("heartbeat-fail") == &t[OPT_DEAD_TIME]);
	CHECK(!opt_find("nosuch"));
	CHECK_EQ_INT(opt_init(&o), 0);	/* every default parses */
	opt_free(&o);
}

TEST(opt_defaults)
{
	struct sloopd_options o;

	CHECK_EQ_INT(opt_init(&o), 0);
	CHECK_EQ_INT(o.rekey_ms, 120000);
	CHECK_EQ_INT(o.rekey_jitter_pct, 30);
	CHECK_EQ_INT(o.heartbeat_ms, 15000);
	CHECK_EQ_INT(o.dead_ms, 120000);
	CHECK_EQ_INT(o.holdoff_ms, 5000);
	CHECK_EQ_INT(o.holdoff_max_ms, 60000);
	CHECK_EQ_INT(o.listen.port, 5653);
	CHECK_EQ_STR(o.listen.host, "");
	CHECK_EQ_INT(o.cipher, SLOOP_CIPHER_AES256_GCM);
	CHECK_EQ_INT(o.padding, SLOOP_PADDING_16);
	CHECK_EQ_INT(o.role, OPT_ROLE_UNSET);
	CHECK_EQ_INT(o.syslog_facility, LOG_DAEMON);
	CHECK_EQ_STR(o.ip_pre_up, "/etc/sloop/ip-pre-up");
	CHECK_EQ_STR(o.ip_up, "/etc/sloop/ip-up");
	CHECK_EQ_STR(o.ip_down, "/etc/sloop/ip-down");
	CHECK(!o.persist && !o.debug && !o.key_file && !o.device);
	CHECK_EQ_STR(origin(&o, OPT_REKEY_INTERVAL), "default");
	opt_free(&o);
}

/* ----------------------------------------------------- sources, priority */

TEST(opt_priority)
{
	struct sloopd_options o;
	struct opt_error err;
	struct opt_env env;
	char extra[4200], pid[64];

	env_for(&env);
	snprintf(extra, sizeof(extra), "%s/extra.opts", root);

	/* options < call < file < command line; the file is given first */
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "file", extra, "call",
			  "office", "mtu", "1340", NULL), 0);
	CHECK_EQ_STR(o.device, "sloop0");
	CHECK_EQ_STR(origin(&o, OPT_DEVICE), "command line");
	CHECK_EQ_INT(o.mtu, 1340);
	CHECK_EQ_STR(origin(&o, OPT_MTU), "command line");
	CHECK_EQ_INT(o.heartbeat_ms, 25000);
	CHECK(origin_is(&o, OPT_HEARTBEAT, "/peers/office:9"));
	CHECK_EQ_INT(o.holdoff_ms, 10000);
	CHECK(origin_is(&o, OPT_HOLDOFF, "/options:3"));
	CHECK(o.debug);
	CHECK_EQ_INT(o.rekey_jitter_pct, 30);
	CHECK_EQ_STR(origin(&o, OPT_REKEY_JITTER), "default");
	opt_free(&o);

	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "file", extra, "call",
			  "office", NULL), 0);
	CHECK_EQ_INT(o.mtu, 1360);
	CHECK(origin_is(&o, OPT_MTU, "/extra.opts:2"));
	opt_free(&o);

	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", "office", NULL), 0);
	CHECK_EQ_INT(o.mtu, 1380);
	CHECK(origin_is(&o, OPT_MTU, "/peers/office:8"));
	opt_free(&o);

	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", NULL), 0);
	CHECK_EQ_INT(o.mtu, 1400);
	CHECK(origin_is(&o, OPT_MTU, "/options:4"));
	CHECK_EQ_INT(o.padding, SLOOP_PADDING_BUCKETS);
	opt_free(&o);

	/* the command line wins wherever it names the option */
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "--heartbeat", "40",
			  "nodebug", "call", "office", NULL), 0);
	CHECK_EQ_INT(o.heartbeat_ms, 40000);
	CHECK(!o.debug);

	CHECK_EQ_INT(opt_pidfile(&o, pid, sizeof(pid)), 0);
	CHECK_EQ_STR(pid, "/run/sloop-sloop0.pid");
	opt_free(&o);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "linkname", "office", NULL), 0);
	CHECK_EQ_INT(opt_pidfile(&o, pid, sizeof(pid)), 0);
	CHECK_EQ_STR(pid, "/run/sloop-office.pid");
	CHECK_EQ_INT(opt_pidfile(&o, pid, 10), -1);
	opt_free(&o);

	/* no device positional when the first word is an option */
	CHECK_EQ_INT(load(&o, &env, &err, "debug", "device", "sl1", NULL), 0);
	CHECK_EQ_STR(o.device, "sl1");
	opt_free(&o);
}

TEST(opt_call_resolution)
{
	struct sloopd_options o;
	struct opt_error err;
	struct opt_env env;
	char buf[64];

	env_for(&env);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", "office", NULL), 0);
	CHECK_EQ_INT(o.role, OPT_ROLE_SECONDARY);
	CHECK_EQ_INT(o.n_primaries, 2);
	CHECK_EQ_STR(o.primaries[0].endpoint.host, "192.0.2.10");
	CHECK_EQ_INT(o.primaries[0].endpoint.port, 5653);
	CHECK(o.primaries[0].has_pubkey && o.primaries[0].pubkey[0] == 1);
	CHECK_EQ_INT(o.primaries[0].n_subnets, 1);
	CHECK_EQ_INT(o.primaries[0].subnets[0].prefix, 16);
	/* `remote HOST pubkey KEY` is a primary, `remote ADDR` the inner peer */
	CHECK_EQ_STR(o.primaries[1].name, "198.51.100.20:5653");
	CHECK(o.primaries[1].pubkey[0] == 2);
	opt_addr_str(&o.remote_addr, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "10.200.0.1");
	opt_addr_str(&o.local_addr, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "10.200.0.2");
	CHECK_EQ_INT(opt_validate(&o, &err), 0);
	opt_free(&o);

	/* call inside a peers file; file relative to the including file */
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", "nested", NULL), 0);
	CHECK_EQ_INT(o.n_primaries, 2);
	CHECK_EQ_INT(o.mtu, 1360);
	CHECK(origin_is(&o, OPT_MTU, "/peers/../extra.opts:2"));
	opt_free(&o);

	/* call names never leave peers/ */
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", "../options", NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_BADNAME);
	CHECK_EQ_STR(err.file, "command line");
	opt_free(&o);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", ".hidden", NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_BADNAME);
	opt_free(&o);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", "nosuch", NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_NOFILE);
	CHECK(strstr(err.msg, "/peers/nosuch"));
	opt_free(&o);
}

TEST(opt_nesting_limit)
{
	struct sloopd_options o;
	struct opt_error err;
	struct opt_env env;
	char deep[4200];

	env_for(&env);
	snprintf(deep, sizeof(deep), "%s/deep1", root);
	env.max_depth = 8;
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "file", deep, NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_DEPTH);
	CHECK(ends_with(err.file, "/deep8"));
	CHECK_EQ_INT(err.line, 1);
	opt_free(&o);

	env.max_depth = 20;
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "file", deep, NULL), 0);
	CHECK_EQ_INT(o.mtu, 1000);
	CHECK(origin_is(&o, OPT_MTU, "/deep12:1"));
	opt_free(&o);
}

TEST(opt_loops)
{
	struct sloopd_options o;
	struct opt_error err;
	struct opt_env env;
	char f[4200];

	env_for(&env);
	env.max_depth = 50;	/* the loop check, not the depth limit */
	snprintf(f, sizeof(f), "%s/loop_a", root);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "file", f, NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_LOOP);
	CHECK(ends_with(err.file, "/loop_b"));
	CHECK_EQ_INT(err.line, 2);
	opt_free(&o);

	snprintf(f, sizeof(f), "%s/self", root);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "file", f, NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_LOOP);
	CHECK(ends_with(err.file, "/self"));
	CHECK_EQ_INT(err.line, 1);
	opt_free(&o);
}

/* ------------------------------------------------------------ tokenizer */

TEST(opt_quoting)
{
	struct sloopd_options o;
	struct opt_error err = { 0 };
	struct opt_env env;
	char f[4200];

	env_for(&env);
	snprintf(f, sizeof(f), "%s/quoting.opts", root);
	CHECK_EQ_INT(opt_init(&o), 0);
	CHECK_EQ_INT(opt_load_file(&o, &env, f, &err), 0);
	CHECK_EQ_STR(o.linkname, "my-link");
	CHECK_EQ_STR(o.logfile, "/var/log/sloop log");
	CHECK_EQ_STR(o.ip_up, "/etc/sloop/ip up\tscript");
	CHECK_EQ_STR(o.ip_down, "/etc/sloop/ip down");
	CHECK_EQ_STR(o.ip_pre_up, "/etc/sloop/preup");
	CHECK_EQ_INT(o.mtu, 1280);
	CHECK_EQ_STR(o.broker.host, "broker.example.net");
	CHECK_EQ_INT(o.broker.port, 443);
	CHECK_EQ_STR(o.loop, "test-loop");
	CHECK_EQ_STR(o.device, "sloop7");
	CHECK_EQ_STR(o.key_file, "/etc/sloop/key#1");
	/* line numbers survive continuations */
	CHECK(origin_is(&o, OPT_IP_PRE_UP, "quoting.opts:6"));
	CHECK(origin_is(&o, OPT_MTU, "quoting.opts:8"));
	CHECK(origin_is(&o, OPT_BROKER, "quoting.opts:10"));
	CHECK(origin_is(&o, OPT_HEARTBEAT, "quoting.opts:14"));
	opt_free(&o);
}

static const struct {
	const char *file;
	enum reason reason;
	int line;
	const char *text;	/* part of the message */
} bad_files[] = {
	{ "unterminated.opts", REASON_CFG_SYNTAX, 3, "unterminated double quote" },
	{ "single.opts", REASON_CFG_SYNTAX, 2, "unterminated single quote" },
	{ "escape.opts", REASON_CFG_SYNTAX, 2, "unknown escape \\q" },
	{ "backslash-eof.opts", REASON_CFG_SYNTAX, 1, "backslash at end of file" },
	{ "unknown.opts", REASON_CFG_UNKNOWN, 4, "frobnicate" },
	{ "missing-arg.opts", REASON_CFG_MISSING_ARG, 3, "holdoff needs an argument" },
	{ "value.opts", REASON_CFG_BAD_VALUE, 2, "'abc'" },
	{ "range.opts", REASON_CFG_RANGE, 2, "70000 out of range" },
	{ "jitter.opts", REASON_CFG_RANGE, 1, "rekey-jitter" },
	{ "duration.opts", REASON_CFG_BAD_VALUE, 1, "'5x'" },
	{ "call-missing.opts", REASON_CFG_NOFILE, 2, "peers/nosuch" },
	{ "call-name.opts", REASON_CFG_BADNAME, 1, "../options" },
	{ "enum.opts", REASON_CFG_BAD_VALUE, 1, "'des'" },
	{ "cidr.opts", REASON_CFG_BAD_VALUE, 1, "10.0.0.1/24" },
	{ "pubkey.opts", REASON_CFG_BAD_VALUE, 2, "pubkey" },
	{ "endpoint.opts", REASON_CFG_BAD_VALUE, 1, "HOST:PORT" },
	{ "subopt.opts", REASON_CFG_UNKNOWN, 1, "pubkye" },
	{ "ifname.opts", REASON_CFG_BADNAME, 1, "a/b" },
	{ "file-missing.opts", REASON_CFG_NOFILE, 1, "does-not-exist.opts" },
	{ "listen.opts", REASON_CFG_BAD_VALUE, 1, "[ADDR:]PORT" },
};

TEST(opt_error_paths)
{
	struct opt_env env;

	env_for(&env);
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		struct sloopd_options o;
		struct opt_error err = { 0 };
		char f[4200], msg[1200], where[4300];
		int r;

		snprintf(f, sizeof(f), "%s/%s", bad, bad_files[i].file);
		CHECK_EQ_INT(opt_init(&o), 0);
		r = opt_load_file(&o, &env, f, &err);
		opt_strerror(&err, msg, sizeof(msg));
		if (r != -1 || err.reason != bad_files[i].reason ||
		    err.line != bad_files[i].line ||
		    !strstr(err.msg, bad_files[i].text) ||
		    !ends_with(err.file, bad_files[i].file))
			fprintf(stderr, "  %s: got %d: %s\n", bad_files[i].file, r, msg);
		CHECK_EQ_INT(r, -1);
		CHECK_EQ_INT(err.reason, bad_files[i].reason);
		CHECK_EQ_INT(err.line, bad_files[i].line);
		CHECK(strstr(err.msg, bad_files[i].text));
		CHECK(ends_with(err.file, bad_files[i].file));
		/* the formatted message: code, name, file:line */
		snprintf(where, sizeof(where), "%s:%d: ", f, bad_files[i].line);
		CHECK(!strncmp(msg, reason_code(err.reason), 4));
		CHECK(strstr(msg, reason_name(err.reason)));
		CHECK(strstr(msg, where));
		opt_free(&o);
	}
}

TEST(opt_nul_and_size)
{
	struct sloopd_options o;
	struct opt_error err = { 0 };
	struct opt_env env;
	char *big;

	env_for(&env);
	CHECK(tmp_make());
	CHECK_EQ_INT(put("nul.opts", 0644, "mtu 1400\nmtu 1\0 300\n"), 0);
	/* put() writes up to the NUL: write the full thing by hand */
	{
		int fd = open(tpath("nul.opts"), O_WRONLY | O_TRUNC);

		CHECK(fd >= 0);
		CHECK_EQ_INT(write(fd, "mtu 1400\nmtu 1\0 300\n", 20), 20);
		close(fd);
	}
	CHECK_EQ_INT(opt_init(&o), 0);
	CHECK_EQ_INT(opt_load_file(&o, &env, tpath("nul.opts"), &err), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_SYNTAX);
	CHECK_EQ_INT(err.line, 2);
	opt_free(&o);

	big = malloc(OPT_FILE_MAX + 2);
	CHECK(big);
	memset(big, '#', OPT_FILE_MAX + 1);
	big[OPT_FILE_MAX + 1] = '\0';
	CHECK_EQ_INT(put("big.opts", 0644, big), 0);
	free(big);
	CHECK_EQ_INT(opt_init(&o), 0);
	CHECK_EQ_INT(opt_load_file(&o, &env, tpath("big.opts"), &err), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_TOOBIG);
	opt_free(&o);

	/* a directory or a FIFO is not an option file */
	CHECK_EQ_INT(mkfifo(tpath("fifo"), 0644), 0);
	CHECK_EQ_INT(opt_init(&o), 0);
	CHECK_EQ_INT(opt_load_file(&o, &env, tpath("fifo"), &err), -1);
	CHECK_EQ_INT(err.reason, REASON_PERM_NOTREG);
	CHECK_EQ_INT(opt_load_file(&o, &env, tmp, &err), -1);
	CHECK_EQ_INT(err.reason, REASON_PERM_NOTREG);
	opt_free(&o);
	tmp_clean();
}

TEST(opt_cmdline)
{
	struct sloopd_options o;
	struct opt_error err;
	struct opt_env env;

	env_for(&env);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "frob", NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_UNKNOWN);
	CHECK_EQ_STR(err.file, "command line");
	CHECK_EQ_INT(err.line, 0);
	opt_free(&o);

	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "mtu", NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_MISSING_ARG);
	opt_free(&o);

	/* only flags (and syslog) have a no- form */
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "nomtu", NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_UNKNOWN);
	opt_free(&o);

	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "--persist", "nodetach",
			  "--mtu", "1300", "nosyslog", "maxfail", "3",
			  "rekey-jitter", "10%", "rekey-interval", "2s",
			  "heartbeat", "500ms", "dead-time", "2m", NULL), 0);
	CHECK(o.persist && o.nodetach);
	CHECK_EQ_INT(o.mtu, 1300);
	CHECK_EQ_INT(o.syslog_facility, -1);
	CHECK_EQ_INT(o.maxfail, 3);
	CHECK_EQ_INT(o.rekey_jitter_pct, 10);
	CHECK_EQ_INT(o.rekey_ms, 2000);
	CHECK_EQ_INT(o.heartbeat_ms, 500);
	CHECK_EQ_INT(o.dead_ms, 120000);
	opt_free(&o);

	/* syslog takes a facility only when the next word is one */
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "syslog", "local3",
			  "debug", NULL), 0);
	CHECK_EQ_INT(o.syslog_facility, LOG_LOCAL3);
	opt_free(&o);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "nosyslog", "syslog",
			  "debug", NULL), 0);
	CHECK_EQ_INT(o.syslog_facility, LOG_DAEMON);
	CHECK(o.debug);
	opt_free(&o);

	/* listen and endpoint forms */
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "listen", "[::1]:6000",
			  "broker", "[2001:db8::5]:443", NULL), 0);
	CHECK_EQ_STR(o.listen.host, "::1");
	CHECK_EQ_INT(o.listen.port, 6000);
	CHECK_EQ_STR(o.broker.host, "2001:db8::5");
	opt_free(&o);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "listen", "10.0.0.1:0", NULL), 0);
	CHECK_EQ_STR(o.listen.host, "10.0.0.1");
	CHECK_EQ_INT(o.listen.port, 0);
	opt_free(&o);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "listen", "host.example:1", NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_BAD_VALUE);
	opt_free(&o);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "peer", "x", "endpoint",
			  "h.example:70000", NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_BAD_VALUE);
	opt_free(&o);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "linkname", "a/b", NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_BADNAME);
	opt_free(&o);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "mtu", "-1", NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_RANGE);
	opt_free(&o);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "rekey-interval", "500ms", NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_RANGE);
	opt_free(&o);

	/* words applied directly, e.g. from a control socket: no positional */
	{
		char *w[] = { "mtu", "1200", "sloop0" };

		CHECK_EQ_INT(opt_init(&o), 0);
		CHECK_EQ_INT(opt_load_words(&o, &env, 2, w, &err), 0);
		CHECK_EQ_INT(o.mtu, 1200);
		CHECK_EQ_INT(opt_load_words(&o, &env, 3, w, &err), -1);
		CHECK_EQ_INT(err.reason, REASON_CFG_UNKNOWN);
		opt_free(&o);
	}
}

/* ----------------------------------------------------------------- peers */

TEST(opt_peers)
{
	struct sloopd_options o;
	struct opt_error err;
	struct opt_env env;
	char buf[64];

	env_for(&env);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", "hub", NULL), 0);
	CHECK_EQ_INT(o.role, OPT_ROLE_PRIMARY);
	CHECK_EQ_INT(o.cipher, SLOOP_CIPHER_CHACHA20_POLY1305);
	CHECK_EQ_INT(o.n_peers, 2);
	CHECK_EQ_STR(o.peers[0].name, "alice");
	CHECK_EQ_INT(o.peers[0].n_subnets, 2);
	CHECK(o.peers[0].has_endpoint);
	CHECK_EQ_STR(o.peers[0].endpoint.host, "203.0.113.5");
	/* repeated subnets in one statement append, across continuations */
	CHECK_EQ_INT(o.peers[1].n_subnets, 2);
	opt_addr_str(&o.peers[1].subnets[1].addr, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "fd00:2::");
	CHECK_EQ_INT(o.peers[1].subnets[1].prefix, 64);
	CHECK(origin_is(&o, OPT_PEER, "/peers/hub:6"));
	CHECK(ends_with(o.peers[1].origin.file, "/peers/hub"));
	CHECK_EQ_INT(opt_validate(&o, &err), 0);
	opt_free(&o);

	/* a later statement for the same peer merges; subnets replace */
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", "hub", "peer",
			  "alice", "endpoint", "203.0.113.9", "subnets",
			  "10.9.0.0/24", "peer", "carol", "pubkey", K3, NULL), 0);
	CHECK_EQ_INT(o.n_peers, 3);
	CHECK(o.peers[0].has_pubkey && o.peers[0].pubkey[0] == 1);
	CHECK_EQ_STR(o.peers[0].endpoint.host, "203.0.113.9");
	CHECK_EQ_INT(o.peers[0].endpoint.port, 5653);
	CHECK_EQ_INT(o.peers[0].n_subnets, 1);
	CHECK_EQ_STR(o.peers[0].origin.file, "command line");
	CHECK_EQ_INT(opt_validate(&o, &err), 0);
	opt_free(&o);
}

TEST(opt_validate_conflicts)
{
	struct sloopd_options o;
	struct opt_error err;
	struct opt_env env;

	env_for(&env);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", NULL), 0);
	CHECK_EQ_INT(opt_validate(&o, &err), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_CONFLICT);
	CHECK(strstr(err.msg, "role"));
	opt_free(&o);

	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", "hub", "peer",
			  "dave", "subnets", "10.4.0.0/24", NULL), 0);
	CHECK_EQ_INT(opt_validate(&o, &err), -1);
	CHECK(strstr(err.msg, "dave has no pubkey"));
	CHECK_EQ_STR(err.file, "command line");
	opt_free(&o);

	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", "hub", "peer",
			  "dave", "pubkey", K1, NULL), 0);
	CHECK_EQ_INT(opt_validate(&o, &err), -1);
	CHECK(strstr(err.msg, "same pubkey as alice"));
	opt_free(&o);

	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", "hub", "peer",
			  "dave", "pubkey", K3, "subnets", "10.2.0.0/24", NULL), 0);
	CHECK_EQ_INT(opt_validate(&o, &err), -1);
	CHECK(strstr(err.msg, "repeats a subnet"));
	opt_free(&o);

	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", "hub", "nodetach",
			  "updetach", NULL), 0);
	CHECK_EQ_INT(opt_validate(&o, &err), -1);
	CHECK(strstr(err.msg, "exclude"));
	opt_free(&o);

	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", "hub", "dead-time",
			  "10", NULL), 0);
	CHECK_EQ_INT(opt_validate(&o, &err), -1);
	CHECK(strstr(err.msg, "dead-time must be longer"));
	opt_free(&o);

	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", "hub", "primary",
			  "192.0.2.1", "pubkey", K3, NULL), 0);
	CHECK_EQ_INT(opt_validate(&o, &err), -1);
	CHECK(strstr(err.msg, "role is primary"));
	opt_free(&o);

	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "role", "secondary", "key",
			  "/k", NULL), 0);
	CHECK_EQ_INT(opt_validate(&o, &err), -1);
	CHECK(strstr(err.msg, "at least one primary"));
	opt_free(&o);

	CHECK_EQ_INT(load(&o, &env, &err, "role", "secondary", NULL), 0);
	CHECK_EQ_INT(opt_validate(&o, &err), -1);
	CHECK(strstr(err.msg, "no device"));
	opt_free(&o);
}

/* ------------------------------------------------------------ privilege */

TEST(opt_privileged)
{
	struct sloopd_options o;
	struct opt_error err;
	struct opt_env env;
	char user[300];

	env_for(&env);
	CHECK(tmp_make());
	env.root = tmp;
	env.cmdline_privileged = false;
	CHECK_EQ_INT(put("options", 0644, "key /etc/sloop/key\nmtu 1400\n"
			 "linkname main\n"), 0);
	CHECK_EQ_INT(put("user.opts", 0666, "linkname other\n"), 0);
	snprintf(user, sizeof(user), "%s", tpath("user.opts"));

	/* a privileged value set by root cannot be changed by a user... */
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "key", "/tmp/k", NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_PRIV);
	CHECK_EQ_STR(err.file, "command line");
	CHECK(strstr(err.msg, "/options:1"));
	opt_free(&o);
	/* ...a non-privileged one can */
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "mtu", "1300", NULL), 0);
	CHECK_EQ_INT(o.mtu, 1300);
	opt_free(&o);
	/* a world-writable file is not privileged either */
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "file", user, NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_PRIV);
	CHECK(ends_with(err.file, "user.opts"));
	CHECK_EQ_INT(err.line, 1);
	opt_free(&o);
	/* nor can it add peers to a list root started */
	CHECK_EQ_INT(put("options", 0644, "peer a pubkey " K1 "\n"), 0);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "peer", "b", "pubkey", K2,
			  NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_PRIV);
	opt_free(&o);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "peer", "a", "pubkey", K2,
			  NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_PRIV);
	opt_free(&o);

	/* root's command line may override */
	CHECK_EQ_INT(put("options", 0644, "key /etc/sloop/key\n"), 0);
	env.cmdline_privileged = true;
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "key", "/tmp/k", NULL), 0);
	CHECK_EQ_STR(o.key_file, "/tmp/k");
	opt_free(&o);

	/* a group-writable system file is not a privileged source */
	env.cmdline_privileged = false;
	CHECK_EQ_INT(chmod(tpath("options"), 0664), 0);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "key", "/tmp/k", NULL), 0);
	opt_free(&o);
	/* nor is one owned by someone else than secure_uid */
	CHECK_EQ_INT(chmod(tpath("options"), 0644), 0);
	env.secure_uid = getuid() + 1;
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "key", "/tmp/k", NULL), 0);
	opt_free(&o);
	env.secure_uid = getuid();
	if (geteuid() == 0) {
		CHECK_EQ_INT(chown(tpath("options"), 65534, 65534), 0);
		CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "key", "/tmp/k", NULL), 0);
		opt_free(&o);
	}
	tmp_clean();
}

TEST(opt_secret_inline)
{
	struct sloopd_options o;
	struct opt_error err;
	struct opt_env env;

	env_for(&env);
	CHECK(tmp_make());
	env.root = tmp;
	CHECK_EQ_INT(put("options", 0644, "mtu 1400\npsk-base64 " K1 "\n"), 0);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_PERM_OPTFILE);
	CHECK_EQ_INT(err.line, 2);
	CHECK(strstr(err.msg, "mode 0644"));
	opt_free(&o);

	CHECK_EQ_INT(chmod(tpath("options"), 0600), 0);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", NULL), 0);
	CHECK(o.has_psk && o.psk[0] == 1);
	opt_free(&o);

	env.secure_uid = getuid() + 1;
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_PERM_OPTFILE);
	opt_free(&o);
	env.secure_uid = getuid();

	/* never on the command line, where ps shows it */
	CHECK_EQ_INT(unlink(tpath("options")), 0);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "psk-base64", K1, NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_BAD_VALUE);
	CHECK(!o.has_psk);
	opt_free(&o);
	tmp_clean();
}

static enum reason secret_reason(const char *path, uid_t uid, char *msg,
				 size_t len)
{
	struct opt_error err = { 0 };
	int fd = opt_open_secret(path, uid, &err);

	if (fd >= 0) {
		close(fd);
		return REASON_OK;
	}
	opt_strerror(&err, msg, len);
	return err.reason;
}

TEST(opt_secret_files)
{
	struct sloopd_options o;
	struct opt_error err;
	struct opt_env env;
	char msg[1200], buf[64];
	uid_t me = getuid();
	size_t n;

	env_for(&env);
	CHECK(tmp_make());
	CHECK_EQ_INT(put("good", 0600, "hello"), 0);
	CHECK_EQ_INT(put("group", 0640, "x"), 0);
	CHECK_EQ_INT(put("world", 0604, "x"), 0);
	CHECK_EQ_INT(put("ro", 0400, "x"), 0);
	CHECK_EQ_INT(mkdir(tpath("dir"), 0700), 0);
	CHECK_EQ_INT(mkfifo(tpath("fifo"), 0600), 0);
	CHECK_EQ_INT(symlink(tpath("good"), tpath("link-good")), 0);
	CHECK_EQ_INT(symlink(tpath("group"), tpath("link-group")), 0);
	CHECK_EQ_INT(symlink(tpath("none"), tpath("link-dangling")), 0);

	CHECK_EQ_INT(secret_reason(tpath("good"), me, msg, sizeof(msg)), REASON_OK);
	CHECK_EQ_INT(secret_reason(tpath("ro"), me, msg, sizeof(msg)), REASON_OK);
	CHECK_EQ_INT(secret_reason(tpath("group"), me, msg, sizeof(msg)),
		     REASON_PERM_KEYFILE);
	CHECK(strstr(msg, "E201 perm-keyfile: "));
	CHECK(strstr(msg, tpath("group")));
	CHECK(strstr(msg, "mode 0640"));
	CHECK_EQ_INT(secret_reason(tpath("world"), me, msg, sizeof(msg)),
		     REASON_PERM_KEYFILE);
	CHECK_EQ_INT(secret_reason(tpath("good"), me + 1, msg, sizeof(msg)),
		     REASON_PERM_KEYFILE);
	CHECK(strstr(msg, "owner"));
	CHECK_EQ_INT(secret_reason(tpath("dir"), me, msg, sizeof(msg)),
		     REASON_PERM_NOTREG);
	CHECK_EQ_INT(secret_reason(tpath("fifo"), me, msg, sizeof(msg)),
		     REASON_PERM_NOTREG);
	/* symlinks are followed and the file reached is what is checked */
	CHECK_EQ_INT(secret_reason(tpath("link-good"), me, msg, sizeof(msg)),
		     REASON_OK);
	CHECK_EQ_INT(secret_reason(tpath("link-group"), me, msg, sizeof(msg)),
		     REASON_PERM_KEYFILE);
	CHECK_EQ_INT(secret_reason(tpath("link-dangling"), me, msg, sizeof(msg)),
		     REASON_KEY_READ);
	CHECK_EQ_INT(secret_reason(tpath("none"), me, msg, sizeof(msg)),
		     REASON_KEY_READ);

	CHECK_EQ_INT(opt_read_secret(tpath("good"), me, buf, sizeof(buf), &n, &err), 0);
	CHECK_EQ_INT(n, 5);
	CHECK(!memcmp(buf, "hello", 5));
	CHECK_EQ_INT(opt_read_secret(tpath("group"), me, buf, sizeof(buf), &n, &err), -1);
	CHECK_EQ_INT(err.reason, REASON_PERM_KEYFILE);

	/* opt_check_secrets walks key, psk and every peer's psk-file */
	env.root = tmp;
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "key", tpath("good"), "psk",
			  tpath("link-good"), "peer", "a", "psk-file",
			  tpath("ro"), NULL), 0);
	CHECK_EQ_INT(opt_check_secrets(&o, &env, &err), 0);
	opt_free(&o);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "key", tpath("good"), "peer",
			  "a", "psk-file", tpath("group"), NULL), 0);
	CHECK_EQ_INT(opt_check_secrets(&o, &env, &err), -1);
	CHECK_EQ_INT(err.reason, REASON_PERM_KEYFILE);
	CHECK(ends_with(err.file, "/group"));
	opt_free(&o);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "key", tpath("group"), NULL), 0);
	CHECK_EQ_INT(opt_check_secrets(&o, &env, &err), -1);
	CHECK_EQ_INT(err.reason, REASON_PERM_KEYFILE);
	opt_free(&o);
	tmp_clean();
}

/* ----------------------------------------------------------- dump, help */

static char *dump_of(const struct sloopd_options *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	opt_dump(o, m);
	fclose(m);
	return buf;
}

/* The line of the dump starting with "prefix"; its text up to '\n'. */
static bool dump_has(const char *dump, const char *prefix, const char *src)
{
	const char *p = dump;
	size_t n = strlen(prefix);

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *end = strchr(p, '\n'), *hash;

		if (strncmp(p, prefix, n) || !end)
			continue;
		hash = strstr(p, " # ");
		if (!hash || hash > end)
			return false;
		hash += 3;
		return (size_t)(end - hash) >= strlen(src) &&
		       !strncmp(end - strlen(src), src, strlen(src));
	}
	return false;
}

TEST(opt_dump_output)
{
	struct sloopd_options o, o2;
	struct opt_error err;
	struct opt_env env;
	char *d;
	FILE *f;

	env_for(&env);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", "office", "mtu",
			  "1340", "logfile", "/var/log/a b", NULL), 0);
	d = dump_of(&o);
	CHECK(d);
	CHECK(dump_has(d, "device sloop0 ", "command line"));
	CHECK(dump_has(d, "mtu 1340 ", "command line"));
	CHECK(dump_has(d, "heartbeat 25s ", "/peers/office:9"));
	CHECK(dump_has(d, "holdoff 10s ", "/options:3"));
	CHECK(dump_has(d, "rekey-interval 100s ", "/options:5"));
	CHECK(dump_has(d, "rekey-jitter 30 ", "default"));
	CHECK(dump_has(d, "role secondary ", "/peers/office:2"));
	CHECK(dump_has(d, "#persist (off) ", "default"));
	CHECK(dump_has(d, "debug ", "/options:2"));
	CHECK(dump_has(d, "logfile \"/var/log/a b\" ", "command line"));
	CHECK(dump_has(d, "#linkname (unset) ", "default"));
	CHECK(dump_has(d, "listen 5653 ", "default"));
	CHECK(dump_has(d, "primary 192.0.2.10:5653 pubkey " K1
		       " subnets 10.10.0.0/16 ", "/peers/office:4"));
	CHECK(dump_has(d, "primary 198.51.100.20:5653 pubkey " K2, "/peers/office:5"));
	CHECK(dump_has(d, "remote 10.200.0.1 ", "/peers/office:7"));
	CHECK(!strstr(d, "\ncall"));

	/* the dump reads back as an option file with the same values */
	CHECK(tmp_make());
	f = fopen(tpath("dump"), "w");
	CHECK(f);
	fputs(d, f);
	fclose(f);
	free(d);
	CHECK_EQ_INT(opt_init(&o2), 0);
	CHECK_EQ_INT(opt_load_file(&o2, &env, tpath("dump"), &err), 0);
	CHECK_EQ_INT(o2.mtu, 1340);
	CHECK_EQ_INT(o2.heartbeat_ms, 25000);
	CHECK_EQ_STR(o2.logfile, "/var/log/a b");
	CHECK_EQ_INT(o2.n_primaries, 2);
	CHECK(!memcmp(o2.primaries[1].pubkey, o.primaries[1].pubkey, 32));
	CHECK(!memcmp(&o2.remote_addr, &o.remote_addr, sizeof(o.remote_addr)));
	CHECK_EQ_INT(o2.syslog_facility, o.syslog_facility);
	CHECK_EQ_INT(opt_validate(&o2, &err), 0);
	opt_free(&o2);
	opt_free(&o);
	tmp_clean();
}

TEST(opt_help_from_table)
{
	char *buf = NULL;
	size_t len = 0, n;
	const struct opt_def *t = opt_table(&n);
	FILE *m = open_memstream(&buf, &len);

	CHECK(m);
	opt_usage(m);
	fclose(m);
	for (size_t i = 0; i < n; i++) {
		CHECK(strstr(buf, t[i].name));
		CHECK(strstr(buf, t[i].help));
	}
	CHECK(strstr(buf, "rekey-interval TIME"));
	CHECK(strstr(buf, "[120s]"));
	CHECK(strstr(buf, "*key FILE"));	/* privileged marker */
	CHECK(strstr(buf, "(also heartbeat-fail)"));
	CHECK(strstr(buf, "pubkey KEY"));
	CHECK(strstr(buf, "subnets CIDR,..."));
	free(buf);
}

/* ------------------------------------------------------------ P3 via opts */

TEST(opt_p3_primary)
{
	struct sloopd_options o;
	struct opt_error err;
	struct opt_env env;
	char buf[64];

	env_for(&env);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", "p3hub", NULL), 0);
	CHECK_EQ_INT(o.n_peers, 2);
	CHECK_EQ_STR(o.peers[0].name, "p3-1");
	CHECK(o.peers[0].has_pubkey && o.peers[0].pubkey[0] == 1);
	CHECK_EQ_INT(o.peers[0].n_subnets, 2);
	opt_addr_str(&o.peers[0].subnets[1].addr, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "10.101.1.0");
	CHECK_EQ_INT(o.peers[0].subnets[1].prefix, 24);
	CHECK_EQ_INT(o.peers[0].cipher, SLOOP_CIPHER_AES256_GCM);
	CHECK_EQ_INT(o.peers[1].cipher, SLOOP_CIPHER_AES128_GCM);
	CHECK_EQ_INT(o.peers[1].heartbeat_ms, 10000);
	CHECK_EQ_STR(o.peers[1].endpoint.host, "192.0.2.12");
	CHECK_EQ_STR(o.listen.host, "192.0.2.1");
	CHECK_EQ_INT(o.listen.port, 5653);
	CHECK_EQ_INT(o.rekey_ms, 3600000);
	CHECK(origin_is(&o, OPT_REKEY_INTERVAL, "/p3/primary.p3:9"));
	CHECK(origin_is(&o, OPT_LISTEN, "/p3/primary.p3:6"));
	CHECK_EQ_INT(o.dead_ms, 120000);
	CHECK(origin_is(&o, OPT_DEAD_TIME, "/p3/primary.p3:11"));
	CHECK_EQ_INT(o.n_warnings, 0);
	CHECK(ends_with(o.p3_config, "p3/primary.p3"));
	CHECK_EQ_INT(opt_validate(&o, &err), 0);
	opt_free(&o);

	/* the command line still overrides what the P3 file set */
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", "p3hub",
			  "rekey-interval", "2s", NULL), 0);
	CHECK_EQ_INT(o.rekey_ms, 2000);
	opt_free(&o);
}

TEST(opt_p3_secondary)
{
	struct sloopd_options o;
	struct opt_error err;
	struct opt_env env;
	char buf[64];

	env_for(&env);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "call", "p3branch", NULL), 0);
	CHECK_EQ_INT(o.n_primaries, 1);	/* merged by address */
	CHECK(o.primaries[0].has_pubkey && o.primaries[0].pubkey[0] == 3);
	CHECK_EQ_INT(o.primaries[0].n_subnets, 1);
	opt_addr_str(&o.primaries[0].subnets[0].addr, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "10.100.0.0");
	CHECK_EQ_STR(o.listen.host, "192.0.2.11");
	CHECK_EQ_INT(opt_validate(&o, &err), 0);
	opt_free(&o);

	/* role must come first: the mapping depends on it */
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "p3-config",
			  unit_path("tests/unit/data/p3/secondary-a.p3"), NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_CONFLICT);
	opt_free(&o);

	/* P3 errors come through with the P3 file's name and line */
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "role", "primary", "p3-config",
			  unit_path("tests/unit/data/p3/bad-mask-noncontig.p3"), NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_P3_SUBNET);
	CHECK(ends_with(err.file, "bad-mask-noncontig.p3"));
	CHECK_EQ_INT(err.line, 5);
	opt_free(&o);
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "role", "primary", "p3-config",
			  "/nonexistent.p3", NULL), -1);
	CHECK_EQ_INT(err.reason, REASON_CFG_NOFILE);
	CHECK_EQ_STR(err.file, "command line");
	opt_free(&o);

	/* not-implemented keywords end up in the caller's warning list */
	CHECK_EQ_INT(load(&o, &env, &err, "sloop0", "role", "primary", "p3-config",
			  unit_path("tests/unit/data/p3/unimplemented.p3"), NULL), 0);
	CHECK_EQ_INT(o.n_warnings, 9);
	CHECK_EQ_INT(o.warnings[0].reason, REASON_P3_UNIMPL);
	CHECK(strstr(o.warnings[0].msg, "key_generation=2"));
	opt_free(&o);
}

/* ---------------------------------------------------------------- reasons */

TEST(reason_table)
{
	char buf[200];
	char *man = NULL;
	size_t len = 0;
	FILE *m;

	for (int i = 0; i < REASON_COUNT; i++) {
		const struct reason_info *ri = reason_info((enum reason)i);

		CHECK(ri);
		CHECK_EQ_INT(ri->reason, i);
		CHECK(ri->code && strlen(ri->code) == 4 && ri->name && ri->desc);
		CHECK(ri->code[0] == 'E' || ri->code[0] == 'W');
		for (int j = 0; j < i; j++) {
			CHECK(strcmp(ri->code, reason_code((enum reason)j)));
			CHECK(strcmp(ri->name, reason_name((enum reason)j)));
		}
		CHECK_EQ_INT(reason_lookup(ri->code), i);
		CHECK_EQ_INT(reason_lookup(ri->name), i);
	}
	CHECK(!reason_info(REASON_COUNT));
	CHECK_EQ_INT(reason_lookup("E999"), REASON_COUNT);
	/* codes the documentation and VM tests rely on stay put */
	CHECK_EQ_STR(reason_code(REASON_PERM_KEYFILE), "E201");
	CHECK_EQ_STR(reason_code(REASON_HS_BAD_PEER_KEY), "E301");
	CHECK_EQ_STR(reason_code(REASON_HS_REPLAY), "E302");
	CHECK_EQ_STR(reason_code(REASON_PEER_DEAD), "E403");

	CHECK_EQ_INT(reason_format(buf, sizeof(buf), REASON_HS_REPLAY,
				   "peer %s", "alice"), 26);
	CHECK_EQ_STR(buf, "E302 hs-replay: peer alice");
	reason_format(buf, 8, REASON_HS_REPLAY, "peer %s", "alice");
	CHECK_EQ_STR(buf, "E302 hs");	/* truncated, terminated */

	m = open_memstream(&man, &len);
	CHECK(m);
	reason_man_table(m);
	fclose(m);
	CHECK(strstr(man, ".TP\n.B E201 perm\\-keyfile\n"));
	CHECK(strstr(man, ".B W126 p3\\-not\\-implemented\n"));
	CHECK(!strstr(man, "E000"));
	free(man);
}

/* ------------------------------------------------- man page in step */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* "\n\fBname\fR" with roff's \- for each hyphen. */
static void man_key(const char *name, char *buf, size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "\n\\fB");

	for (; *name && o + 4 < len; name++) {
		if (*name == '-')
			buf[o++] = '\\';
		buf[o++] = *name;
	}
	snprintf(buf + o, len - o, "\\fR");
}

TEST(opt_man_page_in_step)
{
	char *man = slurp(unit_path("docs/man/sloop-options.5"));
	char *table = NULL, key[128];
	const char *begin, *end;
	size_t n, len = 0;
	const struct opt_def *t = opt_table(&n);
	FILE *m;

	CHECK(man);
	for (size_t i = 0; i < n; i++) {
		const char *at, *eol;
		bool priv;

		man_key(t[i].name, key, sizeof(key));
		at = strstr(man, key);
		if (!at)
			fprintf(stderr, "  option %s not in sloop-options.5\n", t[i].name);
		CHECK(at);
		eol = strchr(at + 1, '\n');
		priv = eol && memmem(at, (size_t)(eol - at), "(privileged)", 12);
		if (priv != !!(t[i].flags & OPT_F_PRIV))
			fprintf(stderr, "  option %s: privileged marker wrong\n", t[i].name);
		CHECK(priv == !!(t[i].flags & OPT_F_PRIV));
	}
	for (int i = 0; opt_peer_sub_name(i); i++) {
		man_key(opt_peer_sub_name(i), key, sizeof(key));
		CHECK(strstr(man, key));
	}

	m = open_memstream(&table, &len);
	CHECK(m);
	reason_man_table(m);
	fclose(m);
	begin = strstr(man, "BEGIN REASON TABLE");
	CHECK(begin);
	begin = strchr(begin, '\n') + 1;
	end = strstr(begin, ".\\\" END REASON TABLE");
	CHECK(end);
	CHECK_EQ_INT(end - begin, len);
	CHECK(!memcmp(begin, table, len));
	free(table);
	free(man);
}
