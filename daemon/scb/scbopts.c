// SPDX-License-Identifier: MIT
/*
 * sloop-scb options: the table below is the only list of them.  Values
 * are checked as they are read, so an error names the file and line.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <sloop/scb.h>

#include "hex.h"
#include "scbopts.h"

enum otype { T_LISTEN, T_PATH, T_PUB, T_U32, T_ULA, T_FLAG };

struct odef {
	const char *name;
	enum otype type;
	size_t off;
	uint32_t min, max;
	const char *arg, *def, *help;
};

#define O(f) offsetof(struct scbo, f)

static const struct odef table[] = {
	{ "listen", T_LISTEN, O(listen), 0, 0, "ADDR:PORT", "[::]:5660",
	  "TCP and UDP address (repeatable)" },
	{ "key", T_PATH, O(key), 0, 0, "FILE", SCBO_KEY,
	  "the broker's Ed25519 secret key (root, 0600)" },
	{ "db", T_PATH, O(db), 0, 0, "FILE", SCBO_DB, "the SQLite store" },
	{ "admin-key", T_PUB, O(admins), 0, 0, "PUB", NULL,
	  "an admin's Ed25519 public key (repeatable)" },
	{ "max-users", T_U32, O(max_users), 0, UINT32_MAX, "N", "0",
	  "licence: users (0 = no limit)" },
	{ "max-devices", T_U32, O(max_devices), 0, UINT32_MAX, "N", "0",
	  "licence: devices (0 = no limit)" },
	{ "max-loops", T_U32, O(max_loops), 0, UINT32_MAX, "N", "0",
	  "licence: loops (0 = no limit)" },
	{ "default-device-limit", T_U32, O(default_limit), 1, 100000, "N",
	  "5", "devices per user unless ADM_USER_ADD says otherwise" },
	{ "ula", T_ULA, O(ula), 0, 0, "PREFIX", "from the key",
	  "IPv6 ULA /48 the loops' /64s come from" },
	{ "credential-lifetime", T_U32, O(cred_lifetime), 60, 7 * 86400,
	  "SECONDS", "3600", "longest membership credential accepted" },
	{ "nodetach", T_FLAG, O(nodetach), 0, 0, NULL, NULL,
	  "stay in the foreground, log to stderr" },
	{ "debug", T_FLAG, O(debug), 0, 0, NULL, NULL, "log debug messages" },
	{ "logfile", T_PATH, O(logfile), 0, 0, "FILE", NULL,
	  "append the log to FILE (SIGHUP reopens it)" },
	{ "pidfile", T_PATH, O(pidfile), 0, 0, "FILE", NULL,
	  "write the daemon's pid to FILE" },
};

#define N_OPTS (sizeof(table) / sizeof(table[0]))

enum { SRC_DEFAULT, SRC_FILE, SRC_CMDLINE };

static int fail(struct scbo_err *err, const char *where, int line,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(struct scbo_err *err, const char *where, int line,
		const char *fmt, ...)
{
	char m[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(err->msg, sizeof(err->msg), "%s:%d: %s", where, line,
			 m);
	else
		snprintf(err->msg, sizeof(err->msg), "%s: %s", where, m);
	return -1;
}

void scbo_init(struct scbo *o)
{
	memset(o, 0, sizeof(*o));
	o->default_limit = 5;
	o->cred_lifetime = 3600;
}

void scbo_free(struct scbo *o)
{
	for (int i = 0; i < o->n_listen; i++)
		free(o->listen[i]);
	free(o->key);
	free(o->db);
	free(o->logfile);
	free(o->pidfile);
	free(o->config);
	scbo_init(o);
}

/* ------------------------------------------------------------ values */

static int parse_u32(const char *s, uint32_t *v)
{
	unsigned long long x;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || *end || x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

int scbo_parse_listen(const char *s, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	char host[64];
	const char *port = NULL, *h = s;
	size_t hl;
	uint32_t p = SCB_DEFAULT_PORT;
	struct sockaddr_in *a4 = (void *)ss;
	struct sockaddr_in6 *a6 = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		const char *e = strchr(s, ']');

		if (!e || (e[1] && e[1] != ':'))
			return -1;
		h = s + 1;
		hl = (size_t)(e - h);
		port = e[1] ? e + 2 : NULL;
	} else {
		const char *c = strrchr(s, ':');

		if (c && strchr(s, ':') != c)
			c = NULL;	/* a bare IPv6 address */
		hl = c ? (size_t)(c - s) : strlen(s);
		port = c ? c + 1 : NULL;
	}
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (port && (parse_u32(port, &p) || p == 0 || p > 65535))
		return -1;
	if (!host[0] || !strcmp(host, "*"))
		strcpy(host, "::");
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)p);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

static int decode_b64_or_hex(const char *s, size_t slen, uint8_t *out,
			     size_t cap, size_t *n)
{
	long h;

	if (!sodium_base642bin(out, cap, s, slen, NULL, n, NULL,
			       sodium_base64_VARIANT_ORIGINAL) && *n)
		return 0;
	h = hex_decode(out, cap, s, slen);
	if (h <= 0)
		return -1;
	*n = (size_t)h;
	return 0;
}

int scbo_parse_key(const char *s, uint8_t out[32])
{
	uint8_t buf[32];
	size_t n = 0;

	if (decode_b64_or_hex(s, strlen(s), buf, sizeof(buf), &n) || n != 32)
		return -1;
	memcpy(out, buf, 32);
	return 0;
}

int scbo_parse_ula(const char *s, uint8_t out[6])
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	struct in6_addr a;
	static const uint8_t zero[10];

	if (n >= sizeof(buf) || (slash && strcmp(slash, "/48")))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET6, buf, &a) != 1 || a.s6_addr[0] != 0xfd ||
	    memcmp(a.s6_addr + 6, zero, 10))
		return -1;
	memcpy(out, a.s6_addr, 6);
	return 0;
}

static int set_value(struct scbo *o, const struct odef *d, const char *v,
		     int src, const char *where, int line,
		     struct scbo_err *err)
{
	char *p = (char *)o + d->off;
	uint32_t u;

	switch (d->type) {
	case T_LISTEN: {
		struct sockaddr_storage ss;
		socklen_t sl;

		if (scbo_parse_listen(v, &ss, &sl))
			return fail(err, where, line,
				    "listen: '%s' is not ADDR:PORT", v);
		if (o->src_listen != src) {
			for (int i = 0; i < o->n_listen; i++)
				free(o->listen[i]);
			o->n_listen = 0;
			o->src_listen = src;
		}
		if (o->n_listen == SCBO_LISTEN_MAX)
			return fail(err, where, line, "listen: more than %d",
				    SCBO_LISTEN_MAX);
		o->listen[o->n_listen] = strdup(v);
		if (!o->listen[o->n_listen])
			return fail(err, where, line, "out of memory");
		o->n_listen++;
		return 0;
	}
	case T_PATH:
		if (!*v)
			return fail(err, where, line, "%s: empty path",
				    d->name);
		free(*(char **)p);
		*(char **)p = strdup(v);
		return *(char **)p ? 0 : fail(err, where, line,
					      "out of memory");
	case T_PUB:
		if (o->src_admins != src) {
			o->n_admins = 0;
			o->src_admins = src;
		}
		if (o->n_admins == SCBO_ADMIN_MAX)
			return fail(err, where, line, "admin-key: more than %d",
				    SCBO_ADMIN_MAX);
		if (scbo_parse_key(v, o->admins[o->n_admins]))
			return fail(err, where, line,
				    "admin-key: not a 32-byte key in base64 or hex");
		o->n_admins++;
		return 0;
	case T_U32:
		if (parse_u32(v, &u) || u < d->min || u > d->max)
			return fail(err, where, line,
				    "%s: '%s' is not a number in %u..%u",
				    d->name, v, d->min, d->max);
		*(uint32_t *)p = u;
		return 0;
	case T_ULA:
		if (scbo_parse_ula(v, o->ula))
			return fail(err, where, line,
				    "ula: '%s' is not an fdXX:XXXX:XXXX::/48 prefix",
				    v);
		o->has_ula = true;
		return 0;
	case T_FLAG:
		*(bool *)p = true;
		return 0;
	}
	return -1;
}

static const struct odef *find(const char *name)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (!strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}

/* ------------------------------------------------------------ file */

/* Splits a line into words; "quoted words" keep their spaces. */
static int split(char *line, char **w, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p || *p == '#')
			return n;
		if (n == max)
			return -1;
		if (*p == '"') {
			w[n++] = ++p;
			p = strchr(p, '"');
			if (!p || (p[1] && p[1] != ' ' && p[1] != '\t'))
				return -1;
			*p++ = '\0';
			continue;
		}
		w[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (*p)
			*p++ = '\0';
	}
}

static int file_line(struct scbo *o, char *line, const char *path, int ln,
		     struct scbo_err *err)
{
	char *w[4];
	int n = split(line, w, 4);
	const struct odef *d;

	if (n < 0)
		return fail(err, path, ln, "cannot parse this line");
	if (n == 0)
		return 0;
	d = find(w[0]);
	if (!d)
		return fail(err, path, ln, "unknown option '%s'", w[0]);
	if (n != (d->type == T_FLAG ? 1 : 2))
		return fail(err, path, ln, "%s takes %s", d->name,
			    d->type == T_FLAG ? "no value" : "one value");
	return set_value(o, d, d->type == T_FLAG ? "" : w[1], SRC_FILE, path,
			 ln, err);
}

int scbo_load_file(struct scbo *o, const char *path, bool must_exist,
		   struct scbo_err *err)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	int ln = 0, rc = 0;

	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return fail(err, path, 0, "%s", strerror(errno));
	}
	while (!rc && fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);

		ln++;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		else if (!feof(f))
			rc = fail(err, path, ln, "line too long");
		if (!rc)
			rc = file_line(o, line, path, ln, err);
	}
	if (!rc && ferror(f))
		rc = fail(err, path, 0, "read error");
	fclose(f);
	return rc;
}

/* ------------------------------------------------------------ argv */

static int arg_special(struct scbo *o, const char *a)
{
	if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help"))
		return o->help = true, 1;
	if (!strcmp(a, "-V") || !strcmp(a, "--version"))
		return o->version = true, 1;
	return 0;
}

int scbo_load_args(struct scbo *o, int argc, char **argv,
		   struct scbo_err *err)
{
	for (int i = 1; i < argc; i++) {
		char name[64];
		const char *a = argv[i], *eq, *v = NULL;
		const struct odef *d;

		if (arg_special(o, a))
			continue;
		if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
			i++;	/* read by scbo_load */
			continue;
		}
		while (*a == '-')
			a++;
		eq = strchr(a, '=');
		snprintf(name, sizeof(name), "%.*s",
			 (int)(eq ? (size_t)(eq - a) : strlen(a)), a);
		d = find(name);
		if (!d)
			return fail(err, "command line", 0,
				    "unknown option '%s' (try --help)", argv[i]);
		if (d->type != T_FLAG) {
			v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
			if (!v)
				return fail(err, "command line", 0,
					    "%s needs a value", d->name);
		} else if (eq) {
			return fail(err, "command line", 0,
				    "%s takes no value", d->name);
		}
		if (set_value(o, d, v ? v : "", SRC_CMDLINE, "command line", 0,
			      err))
			return -1;
	}
	return 0;
}

static int set_default(char **p, const char *v)
{
	if (*p)
		return 0;
	*p = strdup(v);
	return *p ? 0 : -1;
}

int scbo_load(struct scbo *o, int argc, char **argv, struct scbo_err *err)
{
	const char *cfg = NULL;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
			if (i + 1 >= argc)
				return fail(err, "command line", 0,
					    "%s needs a file", argv[i]);
			cfg = argv[++i];
		}
	o->config = strdup(cfg ? cfg : SCBO_CONFIG);
	if (!o->config ||
	    scbo_load_file(o, o->config, cfg != NULL, err) ||
	    scbo_load_args(o, argc, argv, err))
		return -1;
	if (set_default(&o->key, SCBO_KEY) || set_default(&o->db, SCBO_DB))
		return fail(err, "options", 0, "out of memory");
	if (!o->n_listen) {
		o->listen[0] = strdup("[::]:5660");
		if (!o->listen[0])
			return fail(err, "options", 0, "out of memory");
		o->n_listen = 1;
	}
	return 0;
}

void scbo_usage(FILE *out)
{
	fprintf(out,
		"Usage: sloop-scb [-c FILE] [options]\n"
		"The sloop broker (sloop-scb(8)).  Options come from %s (or\n"
		"-c FILE), then the command line as --name value or name value.\n\n",
		SCBO_CONFIG);
	for (size_t i = 0; i < N_OPTS; i++) {
		char left[48];

		snprintf(left, sizeof(left), "%s%s%s", table[i].name,
			 table[i].arg ? " " : "",
			 table[i].arg ? table[i].arg : "");
		fprintf(out, "  %-28s %s", left, table[i].help);
		if (table[i].def)
			fprintf(out, " [%s]", table[i].def);
		fputc('\n', out);
	}
	fprintf(out, "  %-28s %s\n  %-28s %s\n  %-28s %s\n", "-c, --config FILE",
		"read FILE instead of " SCBO_CONFIG, "-h, --help",
		"this text", "-V, --version", "print the version");
}

/* ------------------------------------------------------------ key file */

int scbo_read_key(const char *path, bool check_mode, uint8_t sk[64],
		  struct scbo_err *err)
{
	char buf[256];
	uint8_t raw[64], pk[32];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

	if (fd < 0)
		return fail(err, path, 0, "%s", strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, path, 0, "not a regular file");
	}
	if (check_mode && (st.st_uid != geteuid() ||
			   (st.st_mode & (S_IRWXG | S_IRWXO)))) {
		close(fd);
		return fail(err, path, 0,
			    "a secret key must be owned by us and mode 0600");
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return fail(err, path, 0, "%s", strerror(errno));
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	if (!decode_b64_or_hex(buf, (size_t)n, raw, sizeof(raw), &len) &&
	    (len == 32 || len == 64)) {
		/* A 64-byte key is seed || public: rebuild from the seed. */
		crypto_sign_seed_keypair(pk, sk, raw);
		rc = len == 64 && memcmp(pk, raw + 32, 32) ? -1 : 0;
	}
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(raw, sizeof(raw));
	if (rc)
		return fail(err, path, 0,
			    "not an Ed25519 secret key (32-byte seed or 64-byte key, base64 or hex)");
	return 0;
}
