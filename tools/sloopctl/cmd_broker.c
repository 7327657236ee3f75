// SPDX-License-Identifier: MIT
/*
 * sloopctl broker: the admin side of sloop-scb.  One admin connection
 * per run: Noise_IK with the admin's Ed25519 key (in its X25519 form) to
 * the pinned broker key, HELLO with ROLE=ADMIN, one request, one reply.
 * The broker checks the admin key against its admin-key list; anything
 * it refuses comes back as ERROR with a B code, printed as such.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>
#include <sloop/scb.h>

#include "cmd_broker.h"
#include "cred.h"
#include "hex.h"
#include "parse.h"
#include "scbconn.h"
#include "scbwire.h"
#include "tai64n.h"

#define ERR(...) snprintf(err, SCTL_ERR_LEN, __VA_ARGS__)
#define B64_32_LEN 44	/* 32 bytes, standard base64 with padding */

/* ------------------------------------------------------------ values */

int sctl_broker_parse_key32(const char *s, uint8_t out[32])
{
	size_t len = strlen(s), bin = 0;
	const char *end = NULL;

	if (len == 64)
		return hex_decode(out, 32, s, len) == 32 ? 0 : -1;
	if (len != B64_32_LEN ||
	    sodium_base642bin(out, 32, s, len, NULL, &bin, &end,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    bin != 32 || !end || *end)
		return -1;
	return 0;
}

static int parse_port(const char *s, char port[8])
{
	uint32_t v;

	if (!*s || strlen(s) > 5 || strspn(s, "0123456789") != strlen(s) ||
	    sctl_parse_u32(s, &v) || v < 1 || v > 65535)
		return -1;
	snprintf(port, 8, "%u", v);
	return 0;
}

static bool host_ok(const char *h, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)h[i] <= ' ' || h[i] == 0x7f || h[i] == '/' ||
		    h[i] == '[' || h[i] == ']')
			return false;
	return true;
}

int sctl_broker_parse_hostport(const char *s, char *host, size_t hostcap,
			       char port[8], char *err)
{
	const char *h = s, *colon, *rest = NULL;
	struct in6_addr a6;
	size_t n;

	snprintf(port, 8, "%d", SCB_DEFAULT_PORT);
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (close[1] && close[1] != ':'))
			goto bad;
		h = s + 1;
		n = (size_t)(close - h);
		if (close[1])
			rest = close + 2;
	} else {
		colon = strchr(s, ':');
		n = strlen(s);
		/* two colons or more: a bare IPv6 address, default port */
		if (colon && !strchr(colon + 1, ':')) {
			n = (size_t)(colon - s);
			rest = colon + 1;
		}
	}
	if (!host_ok(h, n) || n >= hostcap)
		goto bad;
	memcpy(host, h, n);
	host[n] = '\0';
	if ((s[0] == '[' || strchr(host, ':')) &&
	    inet_pton(AF_INET6, host, &a6) != 1)
		goto bad;
	if (rest && parse_port(rest, port))
		goto bad;
	return 0;
bad:
	ERR("bad broker address '%s' (HOST, HOST:PORT or [IPV6]:PORT)", s);
	return -1;
}

/* Device and user names travel as they are; refuse what a terminal or
 * a shell word could not show.
 */
static int parse_name(const char *s, char *out, const char *what,
		      char *err)
{
	size_t n = strlen(s);

	if (!n || n > SCTL_BROKER_NAME_MAX) {
		ERR("%s '%s' must be 1 to %d bytes", what, s,
		    SCTL_BROKER_NAME_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f) {
			ERR("%s '%s' has a space or control character", what,
			    s);
			return -1;
		}
	memcpy(out, s, n + 1);
	return 0;
}

/* ------------------------------------------------------- command line */

struct bcmd {
	const char *group, *verb;
	enum sctl_bop op;
	int msg;
	uint8_t state;
	bool listing;			/* takes --json */
	int (*parse)(int argc, char **argv, struct sctl_broker_args *a,
		     char *err);
	const char *usage;
};

static int need_args(int argc, int n, const char *usage, char *err)
{
	if (argc < n) {
		ERR("missing argument: usage: sloopctl broker %s", usage);
		return -1;
	}
	return 0;
}

static int extra_arg(char *arg, const char *usage, char *err)
{
	ERR("unexpected '%s': usage: sloopctl broker %s", arg, usage);
	return -1;
}

#define U_USER_ADD "user add NAME [password-file F | password-stdin] [device-limit N]"
#define U_USER_SET "user set NAME device-limit N"
#define U_KEY_CMD "device suspend|resume|remove|stolen KEY"

static int parse_limit(const char *s, struct sctl_broker_args *a, char *err)
{
	if (a->has_limit) {
		ERR("device-limit given twice");
		return -1;
	}
	if (sctl_parse_u32(s, &a->limit)) {
		ERR("bad device-limit '%s' (a number up to 4294967295)", s);
		return -1;
	}
	a->has_limit = true;
	return 0;
}

static int parse_user_add(int argc, char **argv, struct sctl_broker_args *a,
			  char *err)
{
	if (need_args(argc, 1, U_USER_ADD, err) ||
	    parse_name(argv[0], a->user, "user name", err))
		return -1;
	for (int i = 1; i < argc; i++) {
		bool pw = !strcmp(argv[i], "password-file") ||
			  !strcmp(argv[i], "password-stdin");

		if (pw && (a->password_file || a->password_stdin)) {
			ERR("the password is given twice ('%s')", argv[i]);
			return -1;
		}
		if (!strcmp(argv[i], "password-stdin")) {
			a->password_stdin = true;
			continue;
		}
		if (i + 1 >= argc && (pw || !strcmp(argv[i], "device-limit"))) {
			ERR("'%s' needs a value", argv[i]);
			return -1;
		}
		if (!strcmp(argv[i], "password-file")) {
			a->password_file = argv[++i];
		} else if (!strcmp(argv[i], "device-limit")) {
			if (parse_limit(argv[++i], a, err))
				return -1;
		} else {
			return extra_arg(argv[i], U_USER_ADD, err);
		}
	}
	if (!a->password_file && !a->password_stdin) {
		ERR("user add needs password-file F or password-stdin (the password stays out of ps)");
		return -1;
	}
	return 0;
}

static int parse_user_set(int argc, char **argv, struct sctl_broker_args *a,
			  char *err)
{
	if (need_args(argc, 1, U_USER_SET, err) ||
	    parse_name(argv[0], a->user, "user name", err))
		return -1;
	if (argc < 3 || strcmp(argv[1], "device-limit")) {
		if (argc >= 2 && strcmp(argv[1], "device-limit"))
			return extra_arg(argv[1], U_USER_SET, err);
		ERR("user set needs device-limit N");
		return -1;
	}
	if (parse_limit(argv[2], a, err))
		return -1;
	return argc > 3 ? extra_arg(argv[3], U_USER_SET, err) : 0;
}

static int parse_none(int argc, char **argv, struct sctl_broker_args *a,
		      char *err)
{
	return argc ? extra_arg(argv[0], "... list [--json]", err) : 0;
}

static int parse_key_arg(const char *s, uint8_t out[32], char *err)
{
	if (sctl_broker_parse_key32(s, out)) {
		ERR("bad device key '%s' (32 bytes: base64 or hex)", s);
		return -1;
	}
	return 0;
}

/* A whole loop id, or a hex prefix the loop list resolves later. */
static int parse_loop_arg(const char *s, struct sctl_broker_args *a,
			  char *err)
{
	size_t n = strlen(s);

	if (!sctl_broker_parse_key32(s, a->loop_id))
		return 0;
	if (n >= SCTL_BROKER_PREFIX_MIN && n < 64 &&
	    strspn(s, "0123456789abcdefABCDEF") == n) {
		for (size_t i = 0; i <= n; i++)
			a->loop_prefix[i] = (char)tolower((unsigned char)s[i]);
		a->has_loop_prefix = true;
		return 0;
	}
	ERR("bad loop id '%s' (32 bytes in hex or base64, or a hex prefix of at least %d digits)",
	    s, SCTL_BROKER_PREFIX_MIN);
	return -1;
}

static int parse_device_key(int argc, char **argv,
			    struct sctl_broker_args *a, char *err)
{
	if (need_args(argc, 1, U_KEY_CMD, err) ||
	    parse_key_arg(argv[0], a->device, err))
		return -1;
	return argc > 1 ? extra_arg(argv[1], U_KEY_CMD, err) : 0;
}

static int parse_loop_show(int argc, char **argv,
			   struct sctl_broker_args *a, char *err)
{
	if (need_args(argc, 1, "loop show LOOPID [--json]", err) ||
	    parse_loop_arg(argv[0], a, err))
		return -1;
	return argc > 1 ? extra_arg(argv[1], "loop show LOOPID [--json]",
				    err) : 0;
}

static int parse_loop_revoke(int argc, char **argv,
			     struct sctl_broker_args *a, char *err)
{
	if (need_args(argc, 2, "loop revoke LOOPID KEY", err) ||
	    parse_loop_arg(argv[0], a, err) ||
	    parse_key_arg(argv[1], a->device, err))
		return -1;
	return argc > 2 ? extra_arg(argv[2], "loop revoke LOOPID KEY", err) :
			  0;
}

static const struct bcmd bcmds[] = {
	{ "user", "add", SCTL_B_USER_ADD, SCB_MSG_ADM_USER_ADD, 0, false,
	  parse_user_add, U_USER_ADD },
	{ "user", "set", SCTL_B_USER_SET, SCB_MSG_ADM_USER_SET, 0, false,
	  parse_user_set, U_USER_SET },
	{ "user", "list", SCTL_B_USER_LIST, SCB_MSG_ADM_USER_LIST, 0, true,
	  parse_none, "user list [--json]" },
	{ "device", "list", SCTL_B_DEVICE_LIST, SCB_MSG_ADM_DEVICE_LIST, 0,
	  true, parse_none, "device list [--json]" },
	{ "device", "suspend", SCTL_B_DEVICE_SET, SCB_MSG_ADM_DEVICE_SET,
	  SCB_DEV_SUSPENDED, false, parse_device_key, U_KEY_CMD },
	{ "device", "resume", SCTL_B_DEVICE_SET, SCB_MSG_ADM_DEVICE_SET,
	  SCB_DEV_ACTIVE, false, parse_device_key, U_KEY_CMD },
	{ "device", "remove", SCTL_B_DEVICE_SET, SCB_MSG_ADM_DEVICE_SET,
	  SCB_DEV_REMOVED, false, parse_device_key, U_KEY_CMD },
	{ "device", "stolen", SCTL_B_DEVICE_SET, SCB_MSG_ADM_DEVICE_SET,
	  SCB_DEV_STOLEN, false, parse_device_key, U_KEY_CMD },
	{ "loop", "list", SCTL_B_LOOP_LIST, SCB_MSG_ADM_LOOP_LIST, 0, true,
	  parse_none, "loop list [--json]" },
	{ "loop", "show", SCTL_B_LOOP_SHOW, SCB_MSG_ADM_LOOP_SHOW, 0, true,
	  parse_loop_show, "loop show LOOPID [--json]" },
	{ "loop", "revoke", SCTL_B_LOOP_REVOKE, SCB_MSG_ADM_REVOKE, 0, false,
	  parse_loop_revoke, "loop revoke LOOPID KEY" },
};

#define N_BCMDS (sizeof(bcmds) / sizeof(bcmds[0]))

static bool is_group(const char *s)
{
	return !strcmp(s, "user") || !strcmp(s, "device") ||
	       !strcmp(s, "loop");
}

static const struct bcmd *find_bcmd(const char *group, const char *verb)
{
	for (size_t i = 0; i < N_BCMDS; i++)
		if (!strcmp(group, bcmds[i].group) &&
		    verb && !strcmp(verb, bcmds[i].verb))
			return &bcmds[i];
	return NULL;
}

static void list_verbs(const char *group, char *out, size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < N_BCMDS && len < cap; i++)
		if (!strcmp(group, bcmds[i].group))
			len += (size_t)snprintf(out + len, cap - len, "%s%s",
						len ? ", " : "",
						bcmds[i].verb);
}

/* Connection options before the command: key, admin-key, --json. */
static int parse_conn_opts(int argc, char **argv, int *i,
			   struct sctl_broker_args *a, char *err)
{
	while (*i < argc && !is_group(argv[*i])) {
		const char *o = argv[*i];

		if (!strcmp(o, "--json")) {
			a->json = true;
			(*i)++;
			continue;
		}
		if (strcmp(o, "key") && strcmp(o, "admin-key"))
			return 1;
		if (*i + 1 >= argc) {
			ERR("'%s' needs a value", o);
			return -1;
		}
		if (!strcmp(o, "key")) {
			if (sctl_broker_parse_key32(argv[*i + 1],
						    a->broker_pub)) {
				ERR("bad broker key '%s' (32 bytes: base64 or hex)",
				    argv[*i + 1]);
				return -1;
			}
			a->has_key = true;
		} else {
			if (strlen(argv[*i + 1]) >= sizeof(a->admin_key) ||
			    !argv[*i + 1][0]) {
				ERR("bad admin-key file name");
				return -1;
			}
			strcpy(a->admin_key, argv[*i + 1]);
			a->has_admin_key = true;
		}
		*i += 2;
	}
	return 0;
}

static int parse_command(int argc, char **argv, struct sctl_broker_args *a,
			 const char *host_word, char *err)
{
	const struct bcmd *c;
	char verbs[128];

	if (!argc) {
		ERR("no command: user, device or loop (sloopctl help broker)");
		return -1;
	}
	if (!is_group(argv[0])) {
		if (host_word)
			ERR("unknown command '%s' ('%s' was taken as the broker address; commands: user, device, loop)",
			    argv[0], host_word);
		else
			ERR("unknown command '%s' (user, device or loop)",
			    argv[0]);
		return -1;
	}
	c = find_bcmd(argv[0], argc > 1 ? argv[1] : NULL);
	if (!c) {
		list_verbs(argv[0], verbs, sizeof(verbs));
		if (argc > 1)
			ERR("unknown command '%s %s' (%s %s)", argv[0],
			    argv[1], argv[0], verbs);
		else
			ERR("'%s' needs one of: %s", argv[0], verbs);
		return -1;
	}
	argc -= 2;
	argv += 2;
	if (argc && !strcmp(argv[argc - 1], "--json")) {
		a->json = true;
		argc--;
	}
	if (a->json && !c->listing) {
		ERR("--json is only for the list and show commands");
		return -1;
	}
	a->op = c->op;
	a->msg = c->msg;
	a->state = c->state;
	return c->parse(argc, argv, a, err);
}

int sctl_broker_parse(int argc, char **argv, struct sctl_broker_args *a,
		      char *err)
{
	const char *host_word = NULL;
	int i = 0, rc;

	memset(a, 0, sizeof(*a));
	snprintf(a->port, sizeof(a->port), "%d", SCB_DEFAULT_PORT);
	rc = parse_conn_opts(argc, argv, &i, a, err);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		host_word = argv[i];
		if (sctl_broker_parse_hostport(argv[i], a->host,
					       sizeof(a->host), a->port, err))
			return -1;
		a->has_host = true;
		i++;
		if (parse_conn_opts(argc, argv, &i, a, err) < 0)
			return -1;
	}
	return parse_command(argc - i, argv + i, a, host_word, err);
}

/* ------------------------------------------------- defaults, config */

static int env_defaults(struct sctl_broker_args *a, char *err)
{
	const char *v;

	v = getenv("SLOOP_BROKER");
	if (!a->has_host && v && *v) {
		if (sctl_broker_parse_hostport(v, a->host, sizeof(a->host),
					       a->port, err)) {
			snprintf(err + strlen(err), SCTL_ERR_LEN - strlen(err),
				 " in SLOOP_BROKER");
			return -1;
		}
		a->has_host = true;
	}
	v = getenv("SLOOP_BROKER_KEY");
	if (!a->has_key && v && *v) {
		if (sctl_broker_parse_key32(v, a->broker_pub)) {
			ERR("bad SLOOP_BROKER_KEY (32 bytes: base64 or hex)");
			return -1;
		}
		a->has_key = true;
	}
	v = getenv("SLOOP_ADMIN_KEY");
	if (!a->has_admin_key && v && *v) {
		if (strlen(v) >= sizeof(a->admin_key)) {
			ERR("SLOOP_ADMIN_KEY is too long");
			return -1;
		}
		strcpy(a->admin_key, v);
		a->has_admin_key = true;
	}
	return 0;
}

/* It says where the admin key is and which broker to trust: it may not
 * be writable by anyone but root or the caller.
 */
static int conf_check(FILE *f, const char *path, char *err)
{
	struct stat st;

	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		ERR("%.180s: not a regular file", path);
		return -1;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & 022)) {
		ERR("%.100s: owner %u mode %04o: must be owned by root or uid %u and not writable by group or others",
		    path, (unsigned int)st.st_uid,
		    (unsigned int)(st.st_mode & 07777),
		    (unsigned int)geteuid());
		return -1;
	}
	return 0;
}

static int conf_line(struct sctl_broker_args *a, char *line,
		     const char *path, int ln, bool seen[3], char *err)
{
	static const char *const names[3] = {
		"broker", "broker-key", "admin-key"
	};
	char *opt, *val, *extra, *save = NULL;
	int k;

	opt = strtok_r(line, " \t\r\n", &save);
	if (!opt || opt[0] == '#')
		return 0;
	val = strtok_r(NULL, " \t\r\n", &save);
	extra = strtok_r(NULL, " \t\r\n", &save);
	for (k = 0; k < 3 && strcmp(opt, names[k]); k++)
		;
	if (k == 3) {
		ERR("%s:%d: unknown option '%s' (broker, broker-key, admin-key)",
		    path, ln, opt);
		return -1;
	}
	if (!val || (extra && extra[0] != '#')) {
		ERR("%s:%d: '%s' takes one value", path, ln, opt);
		return -1;
	}
	if (seen[k]) {
		ERR("%s:%d: '%s' given twice", path, ln, opt);
		return -1;
	}
	seen[k] = true;
	if (k == 0 && !a->has_host) {
		if (sctl_broker_parse_hostport(val, a->host, sizeof(a->host),
					       a->port, err)) {
			snprintf(err + strlen(err), SCTL_ERR_LEN - strlen(err),
				 " at %s:%d", path, ln);
			return -1;
		}
		a->has_host = true;
	} else if (k == 1 && !a->has_key) {
		if (sctl_broker_parse_key32(val, a->broker_pub)) {
			ERR("%s:%d: bad broker-key (32 bytes: base64 or hex)",
			    path, ln);
			return -1;
		}
		a->has_key = true;
	} else if (k == 2 && !a->has_admin_key) {
		if (val[0] != '/' || strlen(val) >= sizeof(a->admin_key)) {
			ERR("%s:%d: admin-key needs an absolute path", path,
			    ln);
			return -1;
		}
		strcpy(a->admin_key, val);
		a->has_admin_key = true;
	}
	return 0;
}

static int conf_defaults(struct sctl_broker_args *a, const char *conf,
			 char *err)
{
	const char *env = getenv("SLOOPCTL_CONF");
	const char *path = conf ? conf : env && *env ? env : SCTL_BROKER_CONF;
	bool explicit = conf || (env && *env), seen[3] = { false };
	char line[1024];
	int ln = 0, rc = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && !explicit)
			return 0;
		ERR("%.180s: %s", path, strerror(errno));
		return -1;
	}
	if (conf_check(f, path, err)) {
		fclose(f);
		return -1;
	}
	while (!rc && fgets(line, sizeof(line), f)) {
		ln++;
		if (!strchr(line, '\n') && !feof(f)) {
			ERR("%s:%d: line too long", path, ln);
			rc = -1;
			break;
		}
		rc = conf_line(a, line, path, ln, seen, err);
	}
	fclose(f);
	return rc;
}

int sctl_broker_defaults(struct sctl_broker_args *a, const char *conf,
			 char *err)
{
	const char *where = "SLOOP_BROKER, or 'broker' in the config file";

	if (env_defaults(a, err))
		return -1;
	if ((!a->has_host || !a->has_key || !a->has_admin_key) &&
	    conf_defaults(a, conf, err))
		return -1;
	if (!a->has_host) {
		ERR("no broker: give HOST[:PORT], %s", where);
		return -1;
	}
	if (!a->has_key) {
		ERR("no broker key: give key BROKERPUB, SLOOP_BROKER_KEY, or 'broker-key' in the config file");
		return -1;
	}
	if (!a->has_admin_key) {
		ERR("no admin key: give admin-key FILE, SLOOP_ADMIN_KEY, or 'admin-key' in the config file");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ secrets */

int sctl_broker_open_secret(const char *path, uid_t uid, char *err)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ERR("%.180s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		ERR("%.180s: not a regular file", path);
		goto bad;
	}
	if (st.st_uid != uid || (st.st_mode & 077)) {
		ERR("%.100s: owner %u mode %04o: must be owned by uid %u with no group/other access (chmod 600)",
		    path, (unsigned int)st.st_uid,
		    (unsigned int)(st.st_mode & 07777), (unsigned int)uid);
		goto bad;
	}
	return fd;
bad:
	close(fd);
	return -1;
}

/* Reads up to cap bytes (cap + 1 to notice an overlong file). */
static ssize_t read_fd(int fd, uint8_t *buf, size_t cap, bool line)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t r = read(fd, buf + got, cap - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (!r)
			break;
		got += (size_t)r;
		if (line && memchr(buf, '\n', got))
			break;
	}
	return (ssize_t)got;
}

static int read_secret_file(const char *path, uint8_t *buf, size_t cap,
			    size_t *len, char *err)
{
	int fd = sctl_broker_open_secret(path, geteuid(), err);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read_fd(fd, buf, cap, false);
	close(fd);
	if (n < 0) {
		ERR("%.180s: read: %s", path, strerror(errno));
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

/* The base64 seed from genkey (or a 64-byte seed||public secret). */
static int load_admin_key(const char *path, uint8_t pk[32],
			  uint8_t xpriv[32], char *err)
{
	uint8_t text[256], bin[64], sk[64];
	size_t len = 0, n = 0;
	int rc = -1;

	if (read_secret_file(path, text, sizeof(text) - 1, &len, err))
		return -1;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
		       text[len - 1] == ' '))
		len--;
	/* base64 as genkey writes it, or hex as sloop-scb also reads */
	if (sodium_base642bin(bin, sizeof(bin), (const char *)text, len, NULL,
			      &n, NULL, sodium_base64_VARIANT_ORIGINAL)) {
		long h = hex_decode(bin, sizeof(bin), (const char *)text, len);

		n = h > 0 ? (size_t)h : 0;
	}
	if (n != 32 && n != 64) {
		ERR("%.180s: not an Ed25519 secret key (32 bytes in base64, from sloopctl genkey)",
		    path);
		goto out;
	}
	crypto_sign_seed_keypair(pk, sk, bin);
	if (n == 64 && sodium_memcmp(bin + 32, pk, 32)) {
		ERR("%.180s: the public half does not match the seed", path);
		goto out;
	}
	if (crypto_sign_ed25519_sk_to_curve25519(xpriv, sk))
		ERR("%.180s: key conversion failed", path);
	else
		rc = 0;
out:
	sodium_memzero(text, sizeof(text));
	sodium_memzero(bin, sizeof(bin));
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

static void strip_newline(uint8_t *buf, size_t *len)
{
	uint8_t *nl = memchr(buf, '\n', *len);

	if (nl)
		*len = (size_t)(nl - buf);
	if (*len && buf[*len - 1] == '\r')
		(*len)--;
}

static ssize_t read_password_tty(uint8_t *buf, size_t cap)
{
	struct termios old, quiet;
	bool echo_off;
	ssize_t n;

	fprintf(stderr, "Password: ");
	echo_off = !tcgetattr(STDIN_FILENO, &old);
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	n = read_fd(STDIN_FILENO, buf, cap, true);
	if (echo_off)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fprintf(stderr, "\n");
	return n;
}

static int read_password(const struct sctl_broker_args *a, uint8_t *buf,
			 size_t *len, char *err)
{
	const size_t cap = SCTL_BROKER_PW_MAX + 2;	/* CR LF */
	ssize_t n;

	if (a->password_file) {
		if (read_secret_file(a->password_file, buf, cap, len, err))
			return -1;
	} else {
		n = isatty(STDIN_FILENO) ? read_password_tty(buf, cap) :
					   read_fd(STDIN_FILENO, buf, cap,
						   true);
		if (n < 0) {
			ERR("reading the password: %s", strerror(errno));
			return -1;
		}
		*len = (size_t)n;
	}
	strip_newline(buf, len);
	if (!*len || *len > SCTL_BROKER_PW_MAX) {
		ERR("the password must be 1 to %d bytes on its first line",
		    SCTL_BROKER_PW_MAX);
		sodium_memzero(buf, cap);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ request */

size_t sctl_broker_build(const struct sctl_broker_args *a,
			 const uint8_t *password, size_t pwlen, uint32_t id,
			 uint8_t *buf, size_t cap)
{
	struct scbw_buf b;

	scbw_start(&b, buf, cap, (uint8_t)a->msg, id);
	switch (a->op) {
	case SCTL_B_USER_ADD:
		scbw_put_str(&b, SCB_A_USER, a->user);
		scbw_put(&b, SCB_A_PASSWORD, password, pwlen);
		if (a->has_limit)
			scbw_put_u32(&b, SCB_A_LIMIT, a->limit);
		break;
	case SCTL_B_USER_SET:
		scbw_put_str(&b, SCB_A_USER, a->user);
		scbw_put_u32(&b, SCB_A_LIMIT, a->limit);
		break;
	case SCTL_B_DEVICE_SET:
		scbw_put(&b, SCB_A_DEVICE, a->device, 32);
		scbw_put_u8(&b, SCB_A_STATE, a->state);
		break;
	case SCTL_B_LOOP_SHOW:
		scbw_put(&b, SCB_A_LOOP_ID, a->loop_id, 32);
		break;
	case SCTL_B_LOOP_REVOKE:
		scbw_put(&b, SCB_A_LOOP_ID, a->loop_id, 32);
		scbw_put(&b, SCB_A_DEVICE, a->device, 32);
		break;
	default:
		break;
	}
	return scbw_end(&b);
}

/* ------------------------------------------------------------ output */

/*
 * One printer for both forms: text like wg (a "kind: title" line, then
 * indented "label: value" lines, a blank line between entries) and JSON
 * (an object of lists of objects).  Names come from devices, so text
 * output replaces control characters and JSON output escapes them.
 */
struct bout {
	FILE *f;
	bool json;
	int depth;
	bool comma[8];
	bool any_entry;
	time_t now;
};

static void text_safe(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < ' ' || *s == 0x7f ? '?' : *s, f);
}

/* Length of a valid UTF-8 sequence at s, 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 :
		   s[0] >= 0xe0 && s[0] < 0xf0 ? 3 :
		   s[0] >= 0xf0 && s[0] < 0xf5 ? 4 : 0;
	uint32_t cp;

	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3) {
		cp = (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6;
		if (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))
			return 0;
	} else if (n == 4) {
		cp = (s[0] & 0x07u) << 18 | (s[1] & 0x3fu) << 12;
		if (cp < 0x10000 || cp > 0x10ffff)
			return 0;
	}
	return n;
}

static void json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		size_t n = utf8_len(p);

		if (!n) {
			fputs("\\ufffd", f);
			p++;
		} else if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p++);
		} else if (*p < ' ' || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p++);
		} else {
			fwrite(p, 1, n, f);
			p += n;
		}
	}
	fputc('"', f);
}

static void bo_sep(struct bout *o)
{
	if (o->comma[o->depth])
		fputc(',', o->f);
	o->comma[o->depth] = true;
}

static void bo_key(struct bout *o, const char *key)
{
	bo_sep(o);
	if (key)
		fprintf(o->f, "\"%s\":", key);
}

static void bo_push(struct bout *o, char open)
{
	fputc(open, o->f);
	if (o->depth < 7)
		o->depth++;
	o->comma[o->depth] = false;
}

static void bo_pop(struct bout *o, char close)
{
	fputc(close, o->f);
	if (o->depth > 0)
		o->depth--;
}

static void bo_list(struct bout *o, const char *key)
{
	if (o->json) {
		bo_key(o, key);
		bo_push(o, '[');
	}
}

static void bo_list_end(struct bout *o)
{
	if (o->json)
		bo_pop(o, ']');
}

/* An entry: text "kind: title", JSON {"field":"title". */
static void bo_entry(struct bout *o, const char *jkey, const char *kind,
		     const char *field, const char *title)
{
	if (o->json) {
		bo_key(o, jkey);
		bo_push(o, '{');
		bo_key(o, field);
		json_str(o->f, title);
		return;
	}
	if (o->any_entry)
		fputc('\n', o->f);
	o->any_entry = true;
	fprintf(o->f, "%s: ", kind);
	text_safe(o->f, title);
	fputc('\n', o->f);
}

static void bo_entry_end(struct bout *o)
{
	if (o->json)
		bo_pop(o, '}');
}

static void bo_str(struct bout *o, const char *label, const char *key,
		   const char *v)
{
	if (o->json) {
		bo_key(o, key);
		json_str(o->f, v);
	} else {
		fprintf(o->f, "  %s: ", label);
		text_safe(o->f, v);
		fputc('\n', o->f);
	}
}

static void bo_u64(struct bout *o, const char *label, const char *key,
		   uint64_t v)
{
	if (o->json) {
		bo_key(o, key);
		fprintf(o->f, "%" PRIu64, v);
	} else {
		fprintf(o->f, "  %s: %" PRIu64 "\n", label, v);
	}
}

static void bo_bool(struct bout *o, const char *label, const char *key,
		    bool v, const char *yes, const char *no)
{
	if (o->json) {
		bo_key(o, key);
		fputs(v ? "true" : "false", o->f);
	} else {
		fprintf(o->f, "  %s: %s\n", label, v ? yes : no);
	}
}

static void span(char *out, size_t cap, uint64_t s)
{
	if (s >= 86400)
		snprintf(out, cap, "%" PRIu64 " d %" PRIu64 " h", s / 86400,
			 s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, cap, "%" PRIu64 " h %" PRIu64 " min", s / 3600,
			 s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, cap, "%" PRIu64 " min %" PRIu64 " s", s / 60,
			 s % 60);
	else
		snprintf(out, cap, "%" PRIu64 " s", s);
}

/* A unix time as an age or a countdown; JSON keeps the time itself. */
static void bo_when(struct bout *o, const char *label, const char *key,
		    int64_t t, const char *never)
{
	char s[48];

	if (o->json) {
		bo_key(o, key);
		if (t > 0)
			fprintf(o->f, "%" PRId64, t);
		else
			fputs("null", o->f);
		return;
	}
	if (t <= 0) {
		fprintf(o->f, "  %s: %s\n", label, never);
	} else if (t <= o->now) {
		span(s, sizeof(s), (uint64_t)(o->now - t));
		fprintf(o->f, "  %s: %s ago\n", label, s);
	} else {
		span(s, sizeof(s), (uint64_t)(t - o->now));
		fprintf(o->f, "  %s: in %s\n", label, s);
	}
}

static void b64(char out[B64_32_LEN + 1], const uint8_t k[32])
{
	sodium_bin2base64(out, B64_32_LEN + 1, k, 32,
			  sodium_base64_VARIANT_ORIGINAL);
}

static void bo_key32(struct bout *o, const char *label, const char *key,
		     const uint8_t k[32])
{
	char s[B64_32_LEN + 1];

	b64(s, k);
	bo_str(o, label, key, s);
}

static void fmt_net(char *out, size_t cap, const struct scbw_attr *a,
		    int family)
{
	char addr[INET6_ADDRSTRLEN];
	size_t alen = family == AF_INET ? 4 : 16;

	if (a->len == alen + 1) {
		inet_ntop(family, a->val, addr, sizeof(addr));
		snprintf(out, cap, "%s/%u", addr, a->val[alen]);
	} else if (a->len == alen) {
		inet_ntop(family, a->val, out, (socklen_t)cap);
	} else {
		snprintf(out, cap, "?");
	}
}

static void fmt_endpoint(char *out, size_t cap, const struct scbw_attr *a)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	char addr[INET6_ADDRSTRLEN];
	unsigned int port;

	if (a->len != 18) {
		snprintf(out, cap, "?");
		return;
	}
	port = (unsigned int)a->val[16] << 8 | a->val[17];
	if (!memcmp(a->val, mapped, 12)) {
		inet_ntop(AF_INET, a->val + 12, addr, sizeof(addr));
		snprintf(out, cap, "%s:%u", addr, port);
	} else {
		inet_ntop(AF_INET6, a->val, addr, sizeof(addr));
		snprintf(out, cap, "[%s]:%u", addr, port);
	}
}

/* Field helpers over an entry's attributes: absent ones are skipped. */
static void f_str(struct bout *o, const struct scbw_frame *f, uint16_t t,
		  const char *label, const char *key)
{
	const struct scbw_attr *a = scbw_get(f, t);
	char s[256];

	if (a && scbw_str(a, s, sizeof(s)))
		bo_str(o, label, key, s);
}

static void f_net(struct bout *o, const struct scbw_frame *f, uint16_t t,
		  int family, const char *label, const char *key)
{
	const struct scbw_attr *a = scbw_get(f, t);
	char s[64];

	if (a) {
		fmt_net(s, sizeof(s), a, family);
		bo_str(o, label, key, s);
	}
}

static void f_u32(struct bout *o, const struct scbw_frame *f, uint16_t t,
		  const char *label, const char *key)
{
	const struct scbw_attr *a = scbw_get(f, t);

	if (a)
		bo_u64(o, label, key, scbw_u32(a));
}

static const char *state_name(unsigned int s)
{
	static const char *const names[] = {
		[SCB_DEV_ACTIVE] = "active",
		[SCB_DEV_SUSPENDED] = "suspended",
		[SCB_DEV_STOLEN] = "stolen",
		[SCB_DEV_REMOVED] = "removed",
	};

	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

/* The entry's title attribute, as text, or "?" when missing. */
static const char *title(const struct scbw_frame *f, uint16_t t,
			 bool hexform, char *buf, size_t cap)
{
	const struct scbw_attr *a = scbw_get(f, t);

	if (!a)
		return "?";
	if (a->len == 32 && hexform)
		hex_encode(buf, cap, a->val, 32);
	else if (a->len == 32)
		b64(buf, a->val);
	else if (!scbw_str(a, buf, cap))
		return "?";
	return buf;
}

static void print_user(struct bout *o, const struct scbw_frame *e)
{
	char t[80];

	bo_entry(o, NULL, "user", "name", title(e, SCB_A_USER, false, t,
						 sizeof(t)));
	f_u32(o, e, SCB_A_LIMIT, "device limit", "device_limit");
	f_u32(o, e, SCB_A_COUNT, "devices", "devices");
	bo_entry_end(o);
}

static void print_device(struct bout *o, const struct scbw_frame *e)
{
	const struct scbw_attr *a;
	char t[80];

	bo_entry(o, NULL, "device", "key", title(e, SCB_A_DEVICE, false, t,
						  sizeof(t)));
	f_str(o, e, SCB_A_NAME, "name", "name");
	f_str(o, e, SCB_A_USER, "user", "user");
	a = scbw_get(e, SCB_A_STATE);
	if (a)
		bo_str(o, "state", "state", state_name(scbw_u8(a)));
	a = scbw_get(e, SCB_A_ONLINE);
	bo_bool(o, "status", "online", a && scbw_u8(a), "online",
		"offline");
	a = scbw_get(e, SCB_A_LAST_SEEN);
	bo_when(o, "last seen", "last_seen", a ? (int64_t)scbw_u64(a) : 0,
		"never");
	bo_entry_end(o);
}

static void print_loop_fields(struct bout *o, const struct scbw_frame *e)
{
	const struct scbw_attr *a;

	f_str(o, e, SCB_A_LOOP_NAME, "name", "name");
	a = scbw_get(e, SCB_A_FOUNDER);
	if (a && a->len == 32)
		bo_key32(o, "founder", "founder", a->val);
	f_u32(o, e, SCB_A_COUNT, "members", "members");
	a = scbw_get(e, SCB_A_POLICY);
	if (a)
		bo_u64(o, "approvals needed", "policy", scbw_u8(a));
	f_net(o, e, SCB_A_NET4, AF_INET, "ipv4", "net4");
	f_net(o, e, SCB_A_NET6, AF_INET6, "ipv6", "net6");
	f_net(o, e, SCB_A_ADDR4, AF_INET, "founder ipv4", "addr4");
	f_net(o, e, SCB_A_ADDR6, AF_INET6, "founder ipv6", "addr6");
}

static void print_loop(struct bout *o, const struct scbw_frame *e,
		       const char *jkey)
{
	char t[80];

	bo_entry(o, jkey, "loop", "id", title(e, SCB_A_LOOP_ID, true, t,
					       sizeof(t)));
	print_loop_fields(o, e);
	bo_entry_end(o);
}

static void print_endpoints(struct bout *o, const struct scbw_frame *e)
{
	const struct scbw_attr *a = scbw_get(e, SCB_A_ENDPOINT);
	char s[64];

	if (!a)
		return;
	bo_list(o, "endpoints");
	for (; a; a = scbw_next(e, a)) {
		fmt_endpoint(s, sizeof(s), a);
		if (o->json) {
			bo_sep(o);
			json_str(o->f, s);
		} else {
			fprintf(o->f, "  endpoint: %s\n", s);
		}
	}
	bo_list_end(o);
}

/* Credentials: how many, and until when the best one holds. */
static void print_creds(struct bout *o, const struct scbw_frame *e)
{
	const struct scbw_attr *a;
	uint64_t until = 0;
	unsigned int n = 0;
	struct cred c;

	for (a = scbw_get(e, SCB_A_CRED); a; a = scbw_next(e, a)) {
		n++;
		if (!cred_decode(&c, a->val, a->len) && c.not_after > until)
			until = c.not_after;
	}
	/* The admin view of a loop carries none: say nothing then. */
	if (!n)
		return;
	bo_u64(o, "credentials", "credentials", n);
	bo_when(o, "credential valid until", "cred_not_after",
		(int64_t)until, "?");
}

static void print_member(struct bout *o, const struct scbw_frame *e)
{
	const struct scbw_attr *a;
	char t[80];

	bo_entry(o, NULL, "member", "key", title(e, SCB_A_DEVICE, false, t,
						  sizeof(t)));
	f_str(o, e, SCB_A_NAME, "name", "name");
	f_net(o, e, SCB_A_ADDR4, AF_INET, "ipv4", "addr4");
	f_net(o, e, SCB_A_ADDR6, AF_INET6, "ipv6", "addr6");
	a = scbw_get(e, SCB_A_ONLINE);
	bo_bool(o, "status", "online", a && scbw_u8(a), "online",
		"offline");
	print_endpoints(o, e);
	print_creds(o, e);
	bo_entry_end(o);
}

static void print_pending(struct bout *o, const struct scbw_frame *e)
{
	char t[80];

	bo_entry(o, NULL, "pending", "key", title(e, SCB_A_DEVICE, false, t,
						   sizeof(t)));
	f_str(o, e, SCB_A_NAME, "name", "name");
	f_net(o, e, SCB_A_ADDR4, AF_INET, "ipv4", "addr4");
	f_net(o, e, SCB_A_ADDR6, AF_INET6, "ipv6", "addr6");
	f_u32(o, e, SCB_A_COUNT, "approvals", "approvals");
	bo_entry_end(o);
}

static void print_invite(struct bout *o, const struct scbw_frame *e)
{
	const struct scbw_attr *a = scbw_get(e, SCB_A_EXPIRES);
	char t[80];

	bo_entry(o, NULL, "invitation by", "creator",
		 title(e, SCB_A_DEVICE, false, t, sizeof(t)));
	bo_when(o, "expires", "expires", a ? (int64_t)scbw_u64(a) : 0, "?");
	bo_entry_end(o);
}

static void print_revoke(struct bout *o, const struct scbw_attr *a,
			 const struct sctl_broker_args *args)
{
	struct cred_revoke r;
	char t[B64_32_LEN + 1];

	if (cred_revoke_decode(&r, a->val, a->len))
		return;
	b64(t, r.device);
	bo_entry(o, NULL, "revoked", "key", t);
	bo_when(o, "at", "at", (int64_t)r.at, "?");
	if (args->has_key && !memcmp(args->broker_pub, r.signer, 32))
		bo_str(o, "by", "by", "broker");
	else
		bo_key32(o, "by", "by", r.signer);
	bo_entry_end(o);
}

/*
 * A list of nested entries of one type; *bad set when one does not
 * parse.  The nested frame is large: one, reused.
 */
static void print_nested(struct bout *o, const struct scbw_frame *f,
			 uint16_t type, const char *jkey,
			 void (*fn)(struct bout *o,
				    const struct scbw_frame *e),
			 struct scbw_frame *e, bool always, char *err)
{
	const struct scbw_attr *a = scbw_get(f, type);
	char why[128];

	if (!a && !always)
		return;
	bo_list(o, jkey);
	for (; a; a = scbw_next(f, a)) {
		if (scbw_parse_nested(a, e, why, sizeof(why))) {
			if (!err[0])
				ERR("bad %s entry in the reply: %s",
				    scbw_attr_name(type), why);
			continue;
		}
		fn(o, e);
	}
	bo_list_end(o);
}

static void print_loop_entry(struct bout *o, const struct scbw_frame *e)
{
	print_loop(o, e, NULL);
}

static void print_show(struct bout *o, const struct sctl_broker_args *args,
		       const struct scbw_frame *f, struct scbw_frame *e,
		       char *err)
{
	const struct scbw_attr *a = scbw_get(f, SCB_A_LOOP);
	char t[65], why[128];

	if (a && !scbw_parse_nested(a, e, why, sizeof(why))) {
		print_loop(o, e, "loop");
	} else {
		hex_encode(t, sizeof(t), args->loop_id, 32);
		bo_entry(o, "loop", "loop", "id", t);
		bo_entry_end(o);
	}
	print_nested(o, f, SCB_A_PEER, "members", print_member, e, true, err);
	print_nested(o, f, SCB_A_PENDING, "pending", print_pending, e, true,
		     err);
	print_nested(o, f, SCB_A_INVITE_ENTRY, "invitations", print_invite,
		     e, true, err);
	bo_list(o, "revoked");
	for (a = scbw_get(f, SCB_A_REVOKE); a; a = scbw_next(f, a))
		print_revoke(o, a, args);
	bo_list_end(o);
}

int sctl_broker_print(FILE *out, const struct sctl_broker_args *a,
		      const uint8_t *frame, size_t len, time_t now,
		      char *err)
{
	struct bout o = { .f = out, .json = a->json, .now = now };
	struct scbw_frame *f = malloc(2 * sizeof(*f));
	char why[128];
	int rc = -1;

	err[0] = '\0';
	if (!f) {
		ERR("out of memory");
		return -1;
	}
	if (scbw_parse(f, frame, len, why, sizeof(why))) {
		ERR("bad reply from the broker: %s", why);
		goto out;
	}
	if (o.json)
		bo_push(&o, '{');
	switch (a->op) {
	case SCTL_B_USER_LIST:
		print_nested(&o, f, SCB_A_USER_ENTRY, "users", print_user,
			     f + 1, true, err);
		break;
	case SCTL_B_DEVICE_LIST:
		print_nested(&o, f, SCB_A_DEVICE_ENTRY, "devices",
			     print_device, f + 1, true, err);
		break;
	case SCTL_B_LOOP_LIST:
		print_nested(&o, f, SCB_A_LOOP, "loops", print_loop_entry,
			     f + 1, true, err);
		break;
	case SCTL_B_LOOP_SHOW:
		print_show(&o, a, f, f + 1, err);
		break;
	default:
		break;
	}
	if (o.json) {
		bo_pop(&o, '}');
		fputc('\n', out);
	}
	rc = err[0] ? -1 : 0;
out:
	free(f);
	return rc;
}

void sctl_broker_refusal(const uint8_t *frame, size_t len, char *err)
{
	struct scbw_frame *f = malloc(sizeof(*f));
	const struct scbw_attr *a;
	char why[128], text[256] = "";
	unsigned int code;

	if (!f || scbw_parse(f, frame, len, why, sizeof(why)) ||
	    f->type != SCB_MSG_ERROR || !(a = scbw_get(f, SCB_A_CODE))) {
		ERR("broker refused, with an unreadable answer");
		free(f);
		return;
	}
	code = scbw_u16(a);
	a = scbw_get(f, SCB_A_TEXT);
	if (a)
		scbw_str(a, text, sizeof(text));
	for (char *p = text; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	if (!strcmp(text, scbw_strerror((int)code)))
		text[0] = '\0';	/* no news in the reason */
	snprintf(err, SCTL_ERR_LEN, "broker refused: B%u %.40s%s%.160s%s", code,
		 scbw_strerror((int)code), text[0] ? " (" : "", text,
		 text[0] ? ")" : "");
	free(f);
}

/* ------------------------------------------------------- connection */

/*
 * The stamp keeps its nanoseconds: two sloopctl runs within the 16 ms
 * granule of tai64n_now() would otherwise look like a replay to the
 * broker, and an admin connection's stamp leaks nothing worth hiding.
 */
static int hello_frame(const uint8_t pk[32], uint8_t *buf, size_t cap,
		       size_t *len)
{
	uint8_t tai[TAI64N_LEN];
	struct timespec ts;
	struct scbw_buf b;

	if (clock_gettime(CLOCK_REALTIME, &ts))
		return -1;
	tai64n_encode(tai, &ts);
	scbw_start(&b, buf, cap, SCB_MSG_HELLO, 0);
	scbw_put_u8(&b, SCB_A_ROLE, SCB_ROLE_ADMIN);
	scbw_put(&b, SCB_A_PUB, pk, 32);
	scbw_put(&b, SCB_A_TAI64N, tai, sizeof(tai));
	*len = scbw_end(&b);
	return *len ? 0 : -1;
}

static int frame_type(const uint8_t *frame, size_t len)
{
	return len >= SCB_FRAME_HDR_LEN ? frame[1] : -1;
}

static void conn_error(const struct sctl_broker_args *a, int rc, char *err)
{
	const char *hint = "";

	if (rc == -EBADMSG || rc == -ECONNRESET || rc == -EPIPE || rc == 1)
		hint = " (the handshake failed: wrong broker key, or not a sloop broker?)";
	ERR("broker %.100s port %s: %s%s", a->host, a->port,
	    rc == 1 ? "connection closed" : strerror(-rc), hint);
}

/* Dial and log in: 0, or -1 with err (a refusal included). */
static int broker_login(const struct sctl_broker_args *a, struct scbc *c,
			uint8_t *reply, size_t cap, char *err)
{
	uint8_t pk[32], xpriv[32], bx[32], hello[128];
	size_t hlen = 0, rlen = 0;
	int rc = -1;

	if (crypto_sign_ed25519_pk_to_curve25519(bx, a->broker_pub)) {
		ERR("the broker key is not a valid Ed25519 public key");
		return -1;
	}
	if (load_admin_key(a->admin_key, pk, xpriv, err))
		return -1;
	if (hello_frame(pk, hello, sizeof(hello), &hlen)) {
		ERR("cannot build HELLO");
		goto out;
	}
	rc = scbc_dial(c, a->host, a->port, xpriv, bx, hello, hlen, reply,
		       cap, &rlen, SCTL_BROKER_TIMEOUT_MS);
	if (rc) {
		conn_error(a, rc, err);
		rc = -1;
	} else if (frame_type(reply, rlen) == SCB_MSG_ERROR) {
		sctl_broker_refusal(reply, rlen, err);
		rc = -1;
	} else if (frame_type(reply, rlen) != SCB_MSG_WELCOME) {
		ERR("broker answered HELLO with %s, not WELCOME",
		    scbw_msg_name(frame_type(reply, rlen)));
		rc = -1;
	}
out:
	sodium_memzero(xpriv, sizeof(xpriv));
	sodium_memzero(hello, sizeof(hello));
	return rc;
}

int sctl_broker_match_prefix(struct sctl_broker_args *a,
			     const uint8_t *frame, size_t len, char *err)
{
	struct scbw_frame *f = malloc(2 * sizeof(*f));
	const struct scbw_attr *at, *id;
	char why[128], hex[65];
	int found = 0;

	if (!f || scbw_parse(f, frame, len, why, sizeof(why))) {
		ERR("bad loop list from the broker");
		free(f);
		return -1;
	}
	for (at = scbw_get(f, SCB_A_LOOP); at; at = scbw_next(f, at)) {
		if (scbw_parse_nested(at, f + 1, why, sizeof(why)))
			continue;
		id = scbw_get(f + 1, SCB_A_LOOP_ID);
		if (!id || id->len != 32)
			continue;
		hex_encode(hex, sizeof(hex), id->val, 32);
		if (strncmp(hex, a->loop_prefix, strlen(a->loop_prefix)))
			continue;
		if (found++)
			break;
		memcpy(a->loop_id, id->val, 32);
	}
	free(f);
	if (found == 1)
		return 0;
	ERR(found ? "loop id prefix '%s' is ambiguous: give more digits" :
		    "no loop id starts with '%s' (sloopctl broker loop list)",
	    a->loop_prefix);
	return -1;
}

/* One request and its OK (in reply), or -1 with err. */
static int exchange(const struct sctl_broker_args *a, struct scbc *c,
		    const uint8_t *req, size_t qlen, uint8_t *reply,
		    size_t cap, size_t *rlen, char *err)
{
	int rc = scbc_request(c, req, qlen, reply, cap, rlen,
			      SCTL_BROKER_TIMEOUT_MS);

	if (rc) {
		conn_error(a, rc, err);
		return -1;
	}
	if (frame_type(reply, *rlen) == SCB_MSG_ERROR) {
		sctl_broker_refusal(reply, *rlen, err);
		return -1;
	}
	if (frame_type(reply, *rlen) != SCB_MSG_OK) {
		ERR("broker answered with %s, not OK",
		    scbw_msg_name(frame_type(reply, *rlen)));
		return -1;
	}
	return 0;
}

static int resolve_prefix(struct sctl_broker_args *a, struct scbc *c,
			  uint8_t *buf, size_t cap, char *err)
{
	struct sctl_broker_args list = { .op = SCTL_B_LOOP_LIST,
					 .msg = SCB_MSG_ADM_LOOP_LIST };
	uint8_t req[64];
	size_t qlen = sctl_broker_build(&list, NULL, 0, 1, req, sizeof(req));
	size_t rlen = 0;

	if (exchange(a, c, req, qlen, buf, cap, &rlen, err))
		return -1;
	return sctl_broker_match_prefix(a, buf, rlen, err);
}

static int broker_run(const struct sctl_broker_args *args, char *err)
{
	static uint8_t req[SCB_RECORD_MAX], reply[SCB_RECORD_MAX];
	struct sctl_broker_args a = *args;
	uint8_t pw[SCTL_BROKER_PW_MAX + 2];
	size_t pwlen = 0, rlen = 0, qlen;
	struct scbc c;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.fd = -1;
	if (a.op == SCTL_B_USER_ADD && read_password(&a, pw, &pwlen, err))
		return -1;
	if (broker_login(&a, &c, reply, sizeof(reply), err) ||
	    (a.has_loop_prefix &&
	     resolve_prefix(&a, &c, reply, sizeof(reply), err)))
		goto out;
	qlen = sctl_broker_build(&a, pw, pwlen, 2, req, sizeof(req));
	if (!qlen) {
		ERR("request does not fit in a frame");
		goto out;
	}
	if (exchange(&a, &c, req, qlen, reply, sizeof(reply), &rlen, err))
		goto out;
	rc = sctl_broker_print(stdout, &a, reply, rlen, time(NULL), err);
	if (fflush(stdout) && !rc) {
		ERR("writing the output: %s", strerror(errno));
		rc = -1;
	}
out:
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(req, sizeof(req));
	scbc_free(&c);		/* safe on a connection never opened */
	return rc;
}

int sctl_cmd_broker(int argc, char **argv)
{
	struct sctl_broker_args a;
	char err[SCTL_ERR_LEN] = "";

	if (sodium_init() < 0) {
		fprintf(stderr, "sloopctl: libsodium failed to initialise\n");
		return 1;
	}
	if (sctl_broker_parse(argc, argv, &a, err) ||
	    sctl_broker_defaults(&a, NULL, err) || broker_run(&a, err)) {
		fprintf(stderr, "sloopctl: %s\n", err);
		return 1;
	}
	return 0;
}
