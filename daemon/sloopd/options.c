// SPDX-License-Identifier: MIT
/*
 * sloopd option parsing: tokenizer, the option table, sources and their
 * priority, dump and --help.  See options.h for the model.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>
#include <sloop/scb.h>
#include <sloop/uapi.h>
#include <sloop/wire.h>

#include "options.h"
#include "p3conf.h"

#define OPT_F_NODUMP	0x10	/* an action, not a setting: not dumped */
#define OPT_CMDLINE	"command line"

struct opt_intern {
	struct opt_intern *next;
	char s[];
};

/* ---------------------------------------------------------------- table */

static const struct opt_enum role_enum[] = {
	{ "primary", OPT_ROLE_PRIMARY }, { "secondary", OPT_ROLE_SECONDARY },
	{ NULL, 0 },
};

static const struct opt_enum cipher_enum[] = {
	{ "aes256gcm", SLOOP_CIPHER_AES256_GCM },
	{ "aes128gcm", SLOOP_CIPHER_AES128_GCM },
	{ "chacha20poly1305", SLOOP_CIPHER_CHACHA20_POLY1305 },
	{ NULL, 0 },
};

static const struct opt_enum padding_enum[] = {
	{ "16", SLOOP_PADDING_16 }, { "buckets", SLOOP_PADDING_BUCKETS },
	{ NULL, 0 },
};

static const struct opt_enum facility_enum[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "authpriv", LOG_AUTHPRIV }, { "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 }, { NULL, 0 },
};

#define O(f) offsetof(struct sloopd_options, f)
#define SEC 1000LL
#define DAY (86400 * SEC)

static const struct opt_def table[OPT_COUNT] = {
	{ OPT_DEVICE, "device", NULL, OPT_T_IFNAME, 0, O(device), 0, 0, NULL,
	  NULL, "IFNAME", "the sloop device; on the command line also the first word" },
	{ OPT_CALL, "call", NULL, OPT_T_CALL, OPT_F_NODUMP, 0, 0, 0, NULL, NULL,
	  "NAME", "read options from <root>/peers/NAME" },
	{ OPT_FILE, "file", NULL, OPT_T_FILE, OPT_F_NODUMP, 0, 0, 0, NULL, NULL,
	  "FILE", "read options from FILE" },
	{ OPT_P3_CONFIG, "p3-config", NULL, OPT_T_P3, OPT_F_PRIV, O(p3_config),
	  0, 0, NULL, NULL, "FILE",
	  "read a P3 configuration file here (role must be set before)" },
	{ OPT_PERSIST, "persist", NULL, OPT_T_FLAG, 0, O(persist), 0, 0, NULL,
	  NULL, NULL, "keep running and reconnect after the link goes down" },
	{ OPT_HOLDOFF, "holdoff", NULL, OPT_T_DURATION, 0, O(holdoff_ms),
	  0, DAY, "5s", NULL, "TIME",
	  "first reconnect wait, added again per consecutive failure" },
	{ OPT_HOLDOFF_MAX, "holdoff-max", NULL, OPT_T_DURATION, 0,
	  O(holdoff_max_ms), 0, DAY, "60s", NULL, "TIME",
	  "the reconnect wait never grows beyond this" },
	{ OPT_MAXFAIL, "maxfail", NULL, OPT_T_INT, 0, O(maxfail), 0, 1000000,
	  "0", NULL, "N", "exit after N consecutive failed attempts (0: never)" },
	{ OPT_NODETACH, "nodetach", NULL, OPT_T_FLAG, 0, O(nodetach), 0, 0,
	  NULL, NULL, NULL, "stay in the foreground" },
	{ OPT_UPDETACH, "updetach", NULL, OPT_T_FLAG, 0, O(updetach), 0, 0,
	  NULL, NULL, NULL, "detach once the link is up" },
	{ OPT_LINKNAME, "linkname", NULL, OPT_T_NAME, OPT_F_PRIV, O(linkname),
	  0, 0, NULL, NULL, "NAME", "pid file /run/sloop-NAME.pid; LINKNAME for scripts" },
	{ OPT_DEBUG, "debug", NULL, OPT_T_FLAG, 0, O(debug), 0, 0, NULL, NULL,
	  NULL, "log debugging messages" },
	{ OPT_LOGFILE, "logfile", NULL, OPT_T_PATH, OPT_F_PRIV, O(logfile), 0,
	  0, NULL, NULL, "FILE", "append log messages to FILE" },
	{ OPT_SYSLOG, "syslog", NULL, OPT_T_SYSLOG, 0, O(syslog_facility), 0,
	  0, "daemon", facility_enum, "[FACILITY]",
	  "log to syslog (nosyslog: do not)" },
	{ OPT_ROLE, "role", NULL, OPT_T_ENUM, OPT_F_PRIV, O(role), 0, 0, NULL,
	  role_enum, "primary|secondary",
	  "primary listens for peers, secondary connects to primaries" },
	{ OPT_LISTEN, "listen", NULL, OPT_T_LISTEN, OPT_F_PRIV, O(listen), 0,
	  0, "5653", NULL, "[ADDR:]PORT", "UDP address and port to bind" },
	{ OPT_KEY, "key", NULL, OPT_T_PATH, OPT_F_PRIV | OPT_F_SECFILE,
	  O(key_file), 0, 0, NULL, NULL, "FILE", "the device private key file" },
	{ OPT_PSK, "psk", NULL, OPT_T_PATH, OPT_F_PRIV | OPT_F_SECFILE,
	  O(psk_file), 0, 0, NULL, NULL, "FILE", "pre-shared key file (all peers)" },
	{ OPT_PSK_BASE64, "psk-base64", NULL, OPT_T_KEY,
	  OPT_F_PRIV | OPT_F_SECRET | OPT_F_NOCMD, O(psk), 0, 0, NULL, NULL,
	  "KEY", "pre-shared key inline; the file must be root-only" },
	{ OPT_PEER, "peer", NULL, OPT_T_PEER, OPT_F_PRIV, 0, 0, 0, NULL, NULL,
	  "NAME SUB...", "a peer of a primary (sub-options below)" },
	{ OPT_PRIMARY, "primary", NULL, OPT_T_PRIMARY, OPT_F_PRIV, 0, 0, 0,
	  NULL, NULL, "HOST[:PORT] SUB...",
	  "a primary to connect to, tried in order (also: remote HOST[:PORT] pubkey KEY)" },
	{ OPT_LOCAL, "local", NULL, OPT_T_ADDRESS, OPT_F_PRIV, O(local_addr),
	  0, 0, NULL, NULL, "ADDR", "inner local address (IPLOCAL)" },
	{ OPT_REMOTE, "remote", NULL, OPT_T_REMOTE, OPT_F_PRIV, O(remote_addr),
	  0, 0, NULL, NULL, "ADDR", "inner remote address (IPREMOTE)" },
	{ OPT_MTU, "mtu", NULL, OPT_T_INT, 0, O(mtu), 0, 65535, "0", NULL, "N",
	  "device MTU (0: underlay MTU minus overhead)" },
	{ OPT_CIPHER, "cipher", NULL, OPT_T_ENUM, OPT_F_PRIV, O(cipher), 0, 0,
	  "aes256gcm", cipher_enum, "aes256gcm|aes128gcm|chacha20poly1305",
	  "data AEAD" },
	{ OPT_PADDING, "padding", NULL, OPT_T_ENUM, 0, O(padding), 0, 0, "16",
	  padding_enum, "16|buckets", "pad to multiples of 16 or to size buckets" },
	{ OPT_REKEY_INTERVAL, "rekey-interval", NULL, OPT_T_DURATION, 0,
	  O(rekey_ms), SEC, 365 * DAY / 10, "120s", NULL, "TIME",
	  "time between rekeys" },
	{ OPT_REKEY_JITTER, "rekey-jitter", NULL, OPT_T_PERCENT, 0,
	  O(rekey_jitter_pct), 0, 50, "30", NULL, "PERCENT",
	  "random spread of the rekey interval, +/-" },
	{ OPT_REKEY_PACKETS, "rekey-packets", NULL, OPT_T_INT, 0,
	  O(rekey_packets), 0, 2147483647, "0", NULL, "N",
	  "rekey after a key sent N packets (0: the kernel's default)" },
	{ OPT_HEARTBEAT, "heartbeat", NULL, OPT_T_DURATION, 0, O(heartbeat_ms),
	  SEC / 10, DAY, "15s", NULL, "TIME", "heartbeat when idle this long" },
	{ OPT_DEAD_TIME, "dead-time", "heartbeat-fail", OPT_T_DURATION, 0,
	  O(dead_ms), SEC / 5, DAY, "120s", NULL, "TIME",
	  "peer is dead after this long without a packet" },
	{ OPT_IP_PRE_UP, "ip-pre-up", NULL, OPT_T_PATH, OPT_F_PRIV,
	  O(ip_pre_up), 0, 0, "/etc/sloop/ip-pre-up", NULL, "FILE",
	  "script run (and waited for) before the link comes up" },
	{ OPT_IP_UP, "ip-up", NULL, OPT_T_PATH, OPT_F_PRIV, O(ip_up), 0, 0,
	  "/etc/sloop/ip-up", NULL, "FILE", "script run when the session is up" },
	{ OPT_IP_DOWN, "ip-down", NULL, OPT_T_PATH, OPT_F_PRIV, O(ip_down), 0,
	  0, "/etc/sloop/ip-down", NULL, "FILE",
	  "script run when the session goes down" },
	{ OPT_BROKER, "broker", NULL, OPT_T_ENDPOINT, OPT_F_PRIV, O(broker), 0,
	  0, NULL, NULL, "HOST[:PORT]", "broker (sloop-scb) to log in to, port 5660 by default" },
	{ OPT_LOOP, "loop", NULL, OPT_T_NAME, OPT_F_PRIV, O(loop), 0, 0, NULL,
	  NULL, "NAME", "run as a member of this loop (needs broker, broker-key)" },
	{ OPT_BROKER_KEY, "broker-key", NULL, OPT_T_PUBKEY, OPT_F_PRIV,
	  O(broker_key), 0, 0, NULL, NULL, "PUB",
	  "the broker's Ed25519 public key (base64), pinned" },
	{ OPT_USER, "user", NULL, OPT_T_STRING, OPT_F_PRIV, O(user), 0, 0, NULL,
	  NULL, "NAME", "broker user to register this device under" },
	{ OPT_PASSWORD_FILE, "password-file", NULL, OPT_T_PATH,
	  OPT_F_PRIV | OPT_F_SECFILE, O(password_file), 0, 0, NULL, NULL,
	  "FILE", "the broker user's password (root-only file)" },
	{ OPT_INVITE, "invite", NULL, OPT_T_STRING, OPT_F_PRIV, O(invite), 0, 0,
	  NULL, NULL, "CODE", "join the loop with this invitation" },
	{ OPT_FOUND, "found", NULL, OPT_T_FLAG, OPT_F_PRIV, O(found), 0, 0, NULL,
	  NULL, NULL, "create the loop if this device is not in it yet" },
	{ OPT_POLICY, "policy", NULL, OPT_T_INT, OPT_F_PRIV, O(policy), 1, 2,
	  "1", NULL, "1|2", "approvals a newcomer needs (loop founded here)" },
	{ OPT_AUTO_APPROVE, "auto-approve", NULL, OPT_T_FLAG, OPT_F_PRIV,
	  O(auto_approve), 0, 0, NULL, NULL, NULL,
	  "approve waiting devices without asking" },
	{ OPT_CRED_LIFETIME, "credential-lifetime", NULL, OPT_T_DURATION,
	  OPT_F_PRIV, O(cred_lifetime_ms), 30 * SEC, 30 * DAY, "1h", NULL,
	  "TIME", "lifetime of the membership credentials this device signs" },
	{ OPT_ROOT_LIFETIME, "root-lifetime", NULL, OPT_T_DURATION, OPT_F_PRIV,
	  O(root_lifetime_ms), 30 * SEC, 30 * DAY, "168h", NULL, "TIME",
	  "lifetime of the founder's own root credential" },
	{ OPT_LOOP_CACHE, "loop-cache", NULL, OPT_T_PATH, OPT_F_PRIV,
	  O(loop_cache), 0, 0, NULL, NULL, "FILE",
	  "signed member list cache [/var/lib/sloop/loop-LINKNAME.cache]" },
	{ OPT_DUMP, "dump", NULL, OPT_T_FLAG, OPT_F_NODUMP, O(dump), 0, 0, NULL,
	  NULL, NULL, "print the merged options with their sources" },
	{ OPT_DRYRUN, "dryrun", NULL, OPT_T_FLAG, OPT_F_NODUMP, O(dryrun), 0, 0,
	  NULL, NULL, NULL, "like dump, then exit" },
	{ OPT_HELP, "help", NULL, OPT_T_FLAG, OPT_F_NODUMP, O(help), 0, 0, NULL,
	  NULL, NULL, "print this help" },
	{ OPT_VERSION, "version", NULL, OPT_T_FLAG, OPT_F_NODUMP, O(version), 0,
	  0, NULL, NULL, NULL, "print the version" },
};

/* Sub-options of `peer` and `primary`; none is also a top-level option. */
enum peer_sub {
	PS_PUBKEY, PS_SUBNETS, PS_ENDPOINT, PS_PSK_FILE, PS_CIPHER,
	PS_REKEY, PS_HEARTBEAT, PS_DEAD, PS_COUNT
};

static const struct {
	const char *name, *arg, *help;
} peer_subs[PS_COUNT] = {
	[PS_PUBKEY] = { "pubkey", "KEY", "the peer's public key (base64)" },
	[PS_SUBNETS] = { "subnets", "CIDR,...", "inner networks routed to the peer" },
	[PS_ENDPOINT] = { "endpoint", "HOST[:PORT]", "where to send first" },
	[PS_PSK_FILE] = { "psk-file", "FILE", "pre-shared key file of this peer" },
	[PS_CIPHER] = { "peer-cipher", "CIPHER", "cipher for this peer" },
	[PS_REKEY] = { "peer-rekey", "TIME", "rekey-interval for this peer" },
	[PS_HEARTBEAT] = { "peer-heartbeat", "TIME", "heartbeat for this peer" },
	[PS_DEAD] = { "peer-dead-time", "TIME", "dead-time for this peer" },
};

const char *opt_peer_sub_name(int i)
{
	return i >= 0 && i < PS_COUNT ? peer_subs[i].name : NULL;
}

const struct opt_def *opt_table(size_t *n)
{
	*n = OPT_COUNT;
	return table;
}

const struct opt_def *opt_find(const char *name)
{
	for (int i = 0; i < OPT_COUNT; i++)
		if (!strcmp(table[i].name, name) ||
		    (table[i].alias && !strcmp(table[i].alias, name)))
			return &table[i];
	return NULL;
}

static int find_sub(const char *w)
{
	for (int i = 0; i < PS_COUNT; i++)
		if (!strcmp(peer_subs[i].name, w))
			return i;
	return -1;
}

const struct opt_origin *opt_origin_of(const struct sloopd_options *o,
				       enum opt_id id)
{
	return (unsigned int)id < OPT_COUNT ? &o->origin[id] : NULL;
}

/* ---------------------------------------------------------- context */

struct src {
	const char *file;	/* interned; OPT_CMDLINE; NULL for defaults */
	bool priv;
	bool is_file;
	uid_t uid;
	mode_t mode;
	char **w;
	int *line;
	int n, i;
};

struct ctx {
	struct sloopd_options *o;
	const struct opt_env *env;
	struct opt_error *err;
	int depth;
	struct {
		dev_t dev;
		ino_t ino;
	} stack[64];
	/* scan pass over the command line: call/file recorded, not read */
	bool scan;
	bool skip_includes;
	const char **calls, **files;
	int ncalls, nfiles;
};

static int fail(struct opt_error *err, enum reason r, const char *file,
		int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(struct opt_error *err, enum reason r, const char *file,
		int line, const char *fmt, ...)
{
	va_list ap;

	err->reason = r;
	snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int opt_strerror(const struct opt_error *e, char *buf, size_t len)
{
	if (e->file[0] && e->line)
		return reason_format(buf, len, e->reason, "%s:%d: %s", e->file,
				     e->line, e->msg);
	if (e->file[0])
		return reason_format(buf, len, e->reason, "%s: %s", e->file,
				     e->msg);
	return reason_format(buf, len, e->reason, "%s", e->msg);
}

const char *opt_intern(struct sloopd_options *o, const char *s)
{
	struct opt_intern *in;
	size_t n = strlen(s) + 1;

	for (in = o->interned; in; in = in->next)
		if (!strcmp(in->s, s))
			return in->s;
	in = malloc(sizeof(*in) + n);
	if (!in)
		return NULL;
	memcpy(in->s, s, n);
	in->next = o->interned;
	o->interned = in;
	return in->s;
}

int opt_warn(struct sloopd_options *o, const struct opt_error *w)
{
	struct opt_error *nw;

	nw = realloc(o->warnings, (o->n_warnings + 1) * sizeof(*nw));
	if (!nw)
		return -1;
	o->warnings = nw;
	nw[o->n_warnings++] = *w;
	return 0;
}

/* E109: the one place the privilege rule is enforced. */
static int check_priv(const struct opt_origin *cur, bool priv,
		      const char *name, const char *file, int line,
		      struct opt_error *err)
{
	char where[PATH_MAX + 32];

	if (priv || !cur->privileged)
		return 0;
	opt_origin_str(cur, where, sizeof(where));
	return fail(err, REASON_CFG_PRIV, file, line,
		    "%s was set by a privileged source (%s) and cannot be overridden here",
		    name, where);
}

int opt_claim(struct sloopd_options *o, enum opt_id id, const char *file,
	      int line, bool priv, struct opt_error *err)
{
	const struct opt_def *d = &table[id];

	if ((d->flags & OPT_F_PRIV) &&
	    check_priv(&o->origin[id], priv, d->name, file, line, err))
		return -1;
	o->origin[id].file = file;
	o->origin[id].line = line;
	o->origin[id].privileged = priv;
	return 0;
}

void opt_origin_str(const struct opt_origin *or, char *buf, size_t len)
{
	if (!or->file)
		snprintf(buf, len, "default");
	else if (!or->line)
		snprintf(buf, len, "%s", or->file);
	else
		snprintf(buf, len, "%s:%d", or->file, or->line);
}

/* ------------------------------------------------------ value parsers */

static int parse_ull(const char *s, unsigned long long *v, const char **end)
{
	unsigned long long x = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (x > (ULLONG_MAX - 9) / 10)
			return -1;
		x = x * 10 + (unsigned long long)(*s - '0');
	}
	*v = x;
	*end = s;
	return 0;
}

int opt_parse_addr(const char *s, struct opt_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->u.v4) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a->u.v6) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -1;
}

void opt_addr_str(const struct opt_addr *a, char *buf, size_t len)
{
	if (!a->family || !inet_ntop(a->family, &a->u, buf, (socklen_t)len))
		snprintf(buf, len, "%s", "");
}

static bool host_bits_clear(const struct opt_addr *a, unsigned int prefix)
{
	const unsigned char *b = (const unsigned char *)&a->u;
	unsigned int bytes = a->family == AF_INET ? 4 : 16;

	for (unsigned int i = 0; i < bytes; i++) {
		unsigned int keep = prefix >= 8 * (i + 1) ? 8 :
				    prefix > 8 * i ? prefix - 8 * i : 0;
		unsigned char mask = keep ? (unsigned char)(0xff << (8 - keep)) : 0;

		if (b[i] & ~mask)
			return false;
	}
	return true;
}

int opt_parse_cidr(const char *s, struct opt_cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/'), *end;
	unsigned long long p;
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned int max;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (opt_parse_addr(buf, &c->addr))
		return -1;
	max = c->addr.family == AF_INET ? 32 : 128;
	if (!slash) {
		c->prefix = max;
		return 0;
	}
	if (parse_ull(slash + 1, &p, &end) || *end || p > max)
		return -1;
	c->prefix = (unsigned int)p;
	/* 10.0.0.1/24 is almost always a typo for an address, not a net. */
	return host_bits_clear(&c->addr, c->prefix) ? 0 : -1;
}

static bool valid_host(const char *h)
{
	size_t n = strlen(h);

	if (!n || n >= OPT_HOST_LEN)
		return false;
	for (; *h; h++)
		if (!isalnum((unsigned char)*h) && *h != '.' && *h != '-' &&
		    *h != '_')
			return false;
	return true;
}

static int parse_port(const char *s, uint16_t *port, bool allow0)
{
	unsigned long long v;
	const char *end;

	if (parse_ull(s, &v, &end) || *end || v > 65535 || (!v && !allow0))
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* HOST[:PORT], [V6]:PORT or a bare IPv6 address; defport 0: port needed. */
int opt_parse_endpoint(const char *s, uint16_t defport,
		       struct opt_endpoint *ep)
{
	const char *colon, *portstr = NULL;
	struct opt_addr a;
	size_t n;

	memset(ep, 0, sizeof(*ep));
	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || (rb[1] && rb[1] != ':'))
			return -1;
		n = (size_t)(rb - s - 1);
		if (n >= sizeof(ep->host))
			return -1;
		memcpy(ep->host, s + 1, n);
		if (opt_parse_addr(ep->host, &a) || a.family != AF_INET6)
			return -1;
		portstr = rb[1] ? rb + 2 : NULL;
	} else if ((colon = strchr(s, ':')) && !strchr(colon + 1, ':')) {
		n = (size_t)(colon - s);
		if (n >= sizeof(ep->host))
			return -1;
		memcpy(ep->host, s, n);
		portstr = colon + 1;
		if (!valid_host(ep->host))
			return -1;
	} else {
		if (strlen(s) >= sizeof(ep->host))
			return -1;
		strcpy(ep->host, s);
		if (colon ? opt_parse_addr(s, &a) : !valid_host(s))
			return -1;
	}
	if (portstr)
		return parse_port(portstr, &ep->port, false);
	if (!defport)
		return -1;
	ep->port = defport;
	return 0;
}

/* [ADDR:]PORT; ADDR must be numeric, port 0 means any. */
static int parse_listen(const char *s, struct opt_endpoint *ep)
{
	struct opt_addr a;
	char buf[OPT_HOST_LEN + 8];

	memset(ep, 0, sizeof(*ep));
	if (!strchr(s, ':'))
		return parse_port(s, &ep->port, true);
	if (*s == ':')
		return parse_port(s + 1, &ep->port, true);
	/* reuse the endpoint parser, with a placeholder port for port 0 */
	if (strlen(s) >= sizeof(buf) - 2)
		return -1;
	if (opt_parse_endpoint(s, 0, ep)) {
		const char *c = strrchr(s, ':');

		if (!c || strcmp(c, ":0"))
			return -1;
		snprintf(buf, sizeof(buf), "%.*s:1", (int)(c - s), s);
		if (opt_parse_endpoint(buf, 0, ep))
			return -1;
		ep->port = 0;
	}
	return opt_parse_addr(ep->host, &a);
}

void opt_endpoint_str(const struct opt_endpoint *ep, char *buf, size_t len)
{
	if (!ep->host[0])
		snprintf(buf, len, "%u", ep->port);
	else if (strchr(ep->host, ':'))
		snprintf(buf, len, "[%s]:%u", ep->host, ep->port);
	else
		snprintf(buf, len, "%s:%u", ep->host, ep->port);
}

/* NUMBER[ms|s|m|h]; a bare number is seconds, as in pppd. */
static int parse_duration(const char *s, unsigned long long *ms)
{
	unsigned long long v, mul;
	const char *end;

	if (parse_ull(s, &v, &end))
		return -1;
	if (!*end || !strcmp(end, "s"))
		mul = 1000;
	else if (!strcmp(end, "ms"))
		mul = 1;
	else if (!strcmp(end, "m"))
		mul = 60000;
	else if (!strcmp(end, "h"))
		mul = 3600000;
	else
		return -1;
	if (v > ULLONG_MAX / mul)
		return -1;
	*ms = v * mul;
	return 0;
}

static int parse_ll(const char *s, long long *v)
{
	unsigned long long u;
	const char *end;
	bool neg = *s == '-';

	if (parse_ull(s + neg, &u, &end) || *end || u > LLONG_MAX)
		return -1;
	*v = neg ? -(long long)u : (long long)u;
	return 0;
}

static int parse_bool(const char *s, bool *b)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcmp(s, yes[i]))
			return *b = true, 0;
		if (!strcmp(s, no[i]))
			return *b = false, 0;
	}
	return -1;
}

static const struct opt_enum *find_enum(const struct opt_enum *e,
					const char *s)
{
	for (; e && e->name; e++)
		if (!strcmp(e->name, s))
			return e;
	return NULL;
}

static const char *enum_name(const struct opt_enum *e, int v)
{
	for (; e && e->name; e++)
		if (e->value == v)
			return e->name;
	return NULL;
}

const char *opt_cipher_name(int cipher)
{
	return enum_name(cipher_enum, cipher);
}

/* Peer, link and call names end up in file names and environments. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= OPT_NAME_LEN || *s == '.' || *s == '-')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return false;
	return true;
}

static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= 16 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s) ||
		    !isprint((unsigned char)*s))
			return false;
	return true;
}

static int parse_key(const char *s, unsigned char key[OPT_KEY_LEN])
{
	size_t len = 0;
	const char *end = NULL;

	if (sodium_base642bin(key, OPT_KEY_LEN, s, strlen(s), NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    len != OPT_KEY_LEN || !end || *end)
		return -1;
	return 0;
}

/* ------------------------------------------------------------ tokenizer */

struct words {
	char **w;
	int *line;
	int n, cap;
};

/* Words may be secrets (psk-base64): wiped before they are freed. */
static void words_free(struct words *ws)
{
	for (int i = 0; i < ws->n; i++) {
		sodium_memzero(ws->w[i], strlen(ws->w[i]));
		free(ws->w[i]);
	}
	free(ws->w);
	free(ws->line);
	memset(ws, 0, sizeof(*ws));
}

static int words_push(struct words *ws, const char *s, size_t n, int line)
{
	if (ws->n == ws->cap) {
		int cap = ws->cap ? 2 * ws->cap : 32;
		char **w = realloc(ws->w, cap * sizeof(*w));
		int *l;

		if (!w)
			return -1;
		ws->w = w;
		l = realloc(ws->line, cap * sizeof(*l));
		if (!l)
			return -1;
		ws->line = l;
		ws->cap = cap;
	}
	ws->w[ws->n] = strndup(s, n);
	if (!ws->w[ws->n])
		return -1;
	ws->line[ws->n++] = line;
	return 0;
}

static int escape_char(char c)
{
	switch (c) {
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case '\\': case '"': case '\'': case '#': case ' ':
		return c;
	}
	return -1;
}

struct tok {
	const char *file, *buf;
	size_t len, i;
	int line;
	char *word;
	size_t wlen;
	struct opt_error *err;
};

/* A backslash at t->i: continuation or escape, appended to the word. */
static int tok_backslash(struct tok *t)
{
	int e;

	if (t->i + 1 >= t->len)
		return fail(t->err, REASON_CFG_SYNTAX, t->file, t->line,
			    "backslash at end of file");
	if (t->buf[t->i + 1] == '\n') {
		t->line++;
		t->i += 2;
		return 0;
	}
	e = escape_char(t->buf[t->i + 1]);
	if (e < 0)
		return fail(t->err, REASON_CFG_SYNTAX, t->file, t->line,
			    "unknown escape \\%c", t->buf[t->i + 1]);
	t->word[t->wlen++] = (char)e;
	t->i += 2;
	return 1;
}

static int tok_quoted(struct tok *t)
{
	char q = t->buf[t->i++];
	int start = t->line, r;

	while (t->i < t->len && t->buf[t->i] != q) {
		char c = t->buf[t->i];

		if (c == '\0')
			return fail(t->err, REASON_CFG_SYNTAX, t->file, t->line,
				    "NUL byte");
		if (q == '"' && c == '\\') {
			r = tok_backslash(t);
			if (r < 0)
				return r;
			continue;
		}
		if (c == '\n')
			t->line++;
		t->word[t->wlen++] = c;
		t->i++;
	}
	if (t->i >= t->len)
		return fail(t->err, REASON_CFG_SYNTAX, t->file, start,
			    "unterminated %s quote",
			    q == '"' ? "double" : "single");
	t->i++;
	return 0;
}

/* Reads one word starting at t->i; *got says whether it has content. */
static int tok_word(struct tok *t, bool *got)
{
	*got = false;
	t->wlen = 0;
	while (t->i < t->len) {
		char c = t->buf[t->i];
		int r;

		if (c == '\0')
			return fail(t->err, REASON_CFG_SYNTAX, t->file, t->line,
				    "NUL byte");
		if (isspace((unsigned char)c))
			break;
		if (c == '\\') {
			r = tok_backslash(t);
			if (r < 0)
				return r;
			*got |= r > 0;
		} else if (c == '"' || c == '\'') {
			if (tok_quoted(t))
				return -1;
			*got = true;
		} else {
			t->word[t->wlen++] = c;
			t->i++;
			*got = true;
		}
	}
	return 0;
}

static int tokenize(const char *file, const char *buf, size_t len,
		    struct words *ws, struct opt_error *err)
{
	struct tok t = { file, buf, len, 0, 1, NULL, 0, err };
	int ret = 0;

	/* A word is never longer than the file it comes from. */
	t.word = malloc(len + 1);
	if (!t.word)
		return fail(err, REASON_NOMEM, file, 0, "out of memory");
	t.word[0] = '\0';
	while (t.i < len && !ret) {
		char c = buf[t.i];
		int line = t.line;
		bool got;

		if (c == '\n') {
			t.line++;
			t.i++;
		} else if (isspace((unsigned char)c)) {
			t.i++;
		} else if (c == '#') {
			while (t.i < len && buf[t.i] != '\n')
				t.i++;
		} else if (tok_word(&t, &got)) {
			ret = -1;
		} else if (got && words_push(ws, t.word, t.wlen, line)) {
			ret = fail(err, REASON_NOMEM, file, line, "out of memory");
		}
	}
	sodium_memzero(t.word, len + 1);
	free(t.word);
	return ret;
}

/* ------------------------------------------------------------- parsing */

static int apply_words(struct ctx *c, struct src *s);
static int read_file(struct ctx *c, struct src *from, int line,
		     const char *path, bool optional);

static int bad_value(struct ctx *c, struct src *s, int line,
		     const char *name, const char *arg, const char *what)
{
	return fail(c->err, REASON_CFG_BAD_VALUE, s->file, line,
		    "%s: invalid value '%s' (expected %s)", name, arg, what);
}

static const char *next_arg(struct ctx *c, struct src *s, const char *name,
			    const char *argname, int line)
{
	if (s->i >= s->n) {
		fail(c->err, REASON_CFG_MISSING_ARG, s->file, line,
		     "%s needs an argument (%s)", name, argname);
		return NULL;
	}
	return s->w[s->i++];
}

static int set_string(char **dst, const char *v)
{
	char *n = strdup(v);

	if (!n)
		return -1;
	free(*dst);
	*dst = n;
	return 0;
}

static int range_check(struct ctx *c, struct src *s, int line,
		       const struct opt_def *d, const char *arg,
		       long long v, const char *unit)
{
	if (v >= d->min && v <= d->max)
		return 0;
	return fail(c->err, REASON_CFG_RANGE, s->file, line,
		    "%s: %s out of range [%lld%s, %lld%s]", d->name, arg,
		    d->min, unit, d->max, unit);
}

/* Secret values must come from a root-only file. */
static int check_secret_source(struct ctx *c, struct src *s, int line,
			       const struct opt_def *d)
{
	if (!s->file)
		return 0;
	if (!s->is_file)
		return fail(c->err, REASON_CFG_BAD_VALUE, s->file, line,
			    "%s is not accepted on the command line (other users can read it)",
			    d->name);
	if (s->uid != c->env->secure_uid || (s->mode & 077))
		return fail(c->err, REASON_PERM_OPTFILE, s->file, line,
			    "%s holds a secret (%s) but has owner %u mode %04o: it must be owned by uid %u with no group/other access",
			    s->file, d->name, (unsigned int)s->uid,
			    (unsigned int)(s->mode & 07777),
			    (unsigned int)c->env->secure_uid);
	return 0;
}

/* Parses a single-argument value into a scratch union, then stores it. */
static int set_value(struct ctx *c, struct src *s, const struct opt_def *d,
		     const char *arg, int line)
{
	void *p = (char *)c->o + d->off;
	unsigned long long ull = 0;
	unsigned char key[OPT_KEY_LEN] = { 0 };
	const struct opt_enum *e = NULL;
	struct opt_endpoint ep = { 0 };
	struct opt_addr a = { 0 };
	long long ll = 0;
	bool b = false;

	switch (d->type) {
	case OPT_T_BOOL:
		if (parse_bool(arg, &b))
			return bad_value(c, s, line, d->name, arg, "yes or no");
		break;
	case OPT_T_INT:
	case OPT_T_PERCENT: {
		char tmp[32];
		size_t n = strlen(arg);

		snprintf(tmp, sizeof(tmp), "%s", arg);
		if (d->type == OPT_T_PERCENT && n && n < sizeof(tmp) &&
		    tmp[n - 1] == '%')
			tmp[n - 1] = '\0';
		if (n >= sizeof(tmp) || parse_ll(tmp, &ll))
			return bad_value(c, s, line, d->name, arg, "a number");
		if (range_check(c, s, line, d, arg, ll, ""))
			return -1;
		break;
	}
	case OPT_T_DURATION:
		if (parse_duration(arg, &ull))
			return bad_value(c, s, line, d->name, arg,
					 "a time such as 30, 30s, 500ms, 2m, 1h");
		if (ull > (unsigned long long)d->max || ull < (unsigned long long)d->min)
			return fail(c->err, REASON_CFG_RANGE, s->file, line,
				    "%s: %s out of range [%lldms, %lldms]",
				    d->name, arg, d->min, d->max);
		break;
	case OPT_T_STRING:
	case OPT_T_PATH:
		if (!*arg)
			return bad_value(c, s, line, d->name, arg, "a non-empty value");
		break;
	case OPT_T_NAME:
		if (!valid_name(arg))
			return fail(c->err, REASON_CFG_BADNAME, s->file, line,
				    "%s: invalid name '%s' (letters, digits, . _ -; at most %d)",
				    d->name, arg, OPT_NAME_LEN - 1);
		break;
	case OPT_T_IFNAME:
		if (!valid_ifname(arg))
			return fail(c->err, REASON_CFG_BADNAME, s->file, line,
				    "%s: invalid interface name '%s'", d->name, arg);
		break;
	case OPT_T_ADDRESS:
	case OPT_T_REMOTE:
		if (opt_parse_addr(arg, &a))
			return bad_value(c, s, line, d->name, arg, "an IPv4 or IPv6 address");
		break;
	case OPT_T_ENDPOINT:
		if (opt_parse_endpoint(arg, d->id == OPT_BROKER ? SCB_DEFAULT_PORT : 0,
				       &ep))
			return bad_value(c, s, line, d->name, arg, "HOST:PORT");
		break;
	case OPT_T_LISTEN:
		if (parse_listen(arg, &ep))
			return bad_value(c, s, line, d->name, arg, "[ADDR:]PORT");
		break;
	case OPT_T_ENUM:
	case OPT_T_SYSLOG:
		e = find_enum(d->enums, arg);
		if (!e)
			return bad_value(c, s, line, d->name, arg,
					 d->type == OPT_T_ENUM ? d->arg : "a syslog facility");
		break;
	case OPT_T_PUBKEY:
		if (parse_key(arg, key) || crypto_core_ed25519_is_valid_point(key) != 1)
			return bad_value(c, s, line, d->name, arg,
					 "base64 of an Ed25519 public key");
		break;
	case OPT_T_KEY:
		if (check_secret_source(c, s, line, d))
			return -1;
		if (parse_key(arg, key))
			return bad_value(c, s, line, d->name, "(secret)",
					 "base64 of 32 bytes");
		break;
	default:
		return fail(c->err, REASON_CFG_CONFLICT, s->file, line,
			    "%s: internal: no value parser", d->name);
	}

	if (opt_claim(c->o, d->id, s->file, line, s->priv, c->err))
		goto wipe;

	switch (d->type) {
	case OPT_T_BOOL: *(bool *)p = b; break;
	case OPT_T_INT: case OPT_T_PERCENT: *(int *)p = (int)ll; break;
	case OPT_T_DURATION: *(unsigned int *)p = (unsigned int)ull; break;
	case OPT_T_STRING: case OPT_T_PATH: case OPT_T_NAME: case OPT_T_IFNAME:
		if (set_string((char **)p, arg))
			return fail(c->err, REASON_NOMEM, s->file, line, "out of memory");
		break;
	case OPT_T_ADDRESS: case OPT_T_REMOTE: *(struct opt_addr *)p = a; break;
	case OPT_T_ENDPOINT:
		*(struct opt_endpoint *)p = ep;
		if (d->id == OPT_BROKER)
			c->o->has_broker = true;
		break;
	case OPT_T_LISTEN: *(struct opt_endpoint *)p = ep; break;
	case OPT_T_ENUM: case OPT_T_SYSLOG: *(int *)p = e->value; break;
	case OPT_T_KEY:
		memcpy(p, key, OPT_KEY_LEN);
		c->o->has_psk = true;
		break;
	case OPT_T_PUBKEY:
		memcpy(p, key, OPT_KEY_LEN);
		c->o->has_broker_key = true;
		break;
	default:
		break;
	}
	sodium_memzero(key, sizeof(key));
	return 0;
wipe:
	sodium_memzero(key, sizeof(key));
	return -1;
}

/* ----------------------------------------------------- peers, primaries */

struct opt_peer *opt_peer_get(struct sloopd_options *o, bool primaries,
			      const char *name, bool *created)
{
	struct opt_peer **list = primaries ? &o->primaries : &o->peers;
	size_t *n = primaries ? &o->n_primaries : &o->n_peers;
	struct opt_peer *np;

	*created = false;
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*list)[i].name, name))
			return &(*list)[i];
	np = realloc(*list, (*n + 1) * sizeof(*np));
	if (!np)
		return NULL;
	*list = np;
	np = &np[(*n)++];
	memset(np, 0, sizeof(*np));
	snprintf(np->name, sizeof(np->name), "%s", name);
	*created = true;
	return np;
}

static int add_subnets(struct ctx *c, struct src *s, int line,
		       struct opt_peer *p, const char *list)
{
	const char *q = list;

	if (!*list)
		return bad_value(c, s, line, "subnets", list, "CIDR,...");
	while (*q) {
		size_t n = strcspn(q, ",");
		char buf[INET6_ADDRSTRLEN + 8];
		struct opt_cidr cidr, *ns;

		if (!n || n >= sizeof(buf))
			return bad_value(c, s, line, "subnets", list, "CIDR,...");
		memcpy(buf, q, n);
		buf[n] = '\0';
		if (opt_parse_cidr(buf, &cidr))
			return bad_value(c, s, line, "subnets", buf,
					 "ADDR/PREFIX with no host bits set");
		ns = realloc(p->subnets, (p->n_subnets + 1) * sizeof(*ns));
		if (!ns)
			return fail(c->err, REASON_NOMEM, s->file, line, "out of memory");
		p->subnets = ns;
		ns[p->n_subnets++] = cidr;
		q += n;
		if (*q == ',' && !*++q)
			return bad_value(c, s, line, "subnets", list, "CIDR,...");
	}
	return 0;
}

static int peer_sub(struct ctx *c, struct src *s, struct opt_peer *p,
		    int sub, const char *arg, int line, bool *subnets_seen)
{
	unsigned long long ms;
	const struct opt_enum *e;
	unsigned int *dst;

	switch (sub) {
	case PS_PUBKEY:
		if (parse_key(arg, p->pubkey))
			return bad_value(c, s, line, "pubkey", arg, "base64 of 32 bytes");
		p->has_pubkey = true;
		return 0;
	case PS_SUBNETS:
		/* a new statement replaces the list, repeats append to it */
		if (!*subnets_seen) {
			free(p->subnets);
			p->subnets = NULL;
			p->n_subnets = 0;
			*subnets_seen = true;
		}
		return add_subnets(c, s, line, p, arg);
	case PS_ENDPOINT:
		if (opt_parse_endpoint(arg, SLOOP_DEFAULT_PORT, &p->endpoint))
			return bad_value(c, s, line, "endpoint", arg, "HOST[:PORT]");
		p->has_endpoint = true;
		return 0;
	case PS_PSK_FILE:
		if (!*arg)
			return bad_value(c, s, line, "psk-file", arg, "a file");
		return set_string(&p->psk_file, arg) ?
		       fail(c->err, REASON_NOMEM, s->file, line, "out of memory") : 0;
	case PS_CIPHER:
		e = find_enum(cipher_enum, arg);
		if (!e)
			return bad_value(c, s, line, "peer-cipher", arg,
					 "aes256gcm|aes128gcm|chacha20poly1305");
		p->cipher = e->value;
		return 0;
	}
	dst = sub == PS_REKEY ? &p->rekey_ms :
	      sub == PS_HEARTBEAT ? &p->heartbeat_ms : &p->dead_ms;
	if (parse_duration(arg, &ms) || !ms || ms > DAY * 365)
		return bad_value(c, s, line, peer_subs[sub].name, arg,
				 "a non-zero time");
	*dst = (unsigned int)ms;
	return 0;
}

/*
 * `peer NAME SUB ARG ...` and `primary HOST[:PORT] SUB ARG ...`: the
 * sub-options run until the first word that is not one.  A statement for
 * an existing name changes only the fields it gives (merge), so that a
 * P3 file and option files can describe the same peer together.
 */
static int peer_statement(struct ctx *c, struct src *s,
			  const struct opt_def *d, const char *name, int line)
{
	bool primaries = d->id == OPT_PRIMARY, created, seen = false;
	struct opt_endpoint ep;
	struct opt_peer *p;
	char key[OPT_HOST_LEN + 8];

	if (primaries) {
		if (opt_parse_endpoint(name, SLOOP_DEFAULT_PORT, &ep))
			return bad_value(c, s, line, d->name, name, "HOST[:PORT]");
		opt_endpoint_str(&ep, key, sizeof(key));
	} else {
		if (!valid_name(name))
			return fail(c->err, REASON_CFG_BADNAME, s->file, line,
				    "peer: invalid name '%s'", name);
		snprintf(key, sizeof(key), "%s", name);
	}
	for (size_t i = 0; i < (primaries ? c->o->n_primaries : c->o->n_peers); i++) {
		p = primaries ? &c->o->primaries[i] : &c->o->peers[i];
		if (!strcmp(p->name, key) &&
		    check_priv(&p->origin, s->priv, d->name, s->file, line, c->err))
			return -1;
	}
	if (opt_claim(c->o, d->id, s->file, line, s->priv, c->err))
		return -1;
	p = opt_peer_get(c->o, primaries, key, &created);
	if (!p)
		return fail(c->err, REASON_NOMEM, s->file, line, "out of memory");
	if (primaries && created) {
		p->endpoint = ep;
		p->has_endpoint = true;
	}
	p->origin = (struct opt_origin){ s->file, line, s->priv };
	while (s->i < s->n) {
		int sub = find_sub(s->w[s->i]);
		int sl = s->line ? s->line[s->i] : 0;
		const char *arg;

		if (sub < 0)
			break;
		s->i++;
		arg = next_arg(c, s, peer_subs[sub].name, peer_subs[sub].arg, sl);
		if (!arg || peer_sub(c, s, p, sub, arg, sl, &seen))
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------- includes */

static int do_call(struct ctx *c, struct src *s, const char *name, int line)
{
	char path[PATH_MAX];

	/* call names are looked up in peers/, never elsewhere */
	if (!valid_name(name))
		return fail(c->err, REASON_CFG_BADNAME, s->file, line,
			    "call: invalid name '%s' (no '/', no leading '.')",
			    name);
	if ((size_t)snprintf(path, sizeof(path), "%s/peers/%s", c->env->root,
			     name) >= sizeof(path))
		return fail(c->err, REASON_CFG_BADNAME, s->file, line,
			    "call: path too long");
	return read_file(c, s, line, path, false);
}

static int do_p3(struct ctx *c, struct src *s, const struct opt_def *d,
		 const char *path, int line)
{
	struct p3_config cfg;
	bool priv;
	int ret;

	if (!*path)
		return bad_value(c, s, line, d->name, path, "a file");
	if (c->o->role == OPT_ROLE_UNSET)
		return fail(c->err, REASON_CFG_CONFLICT, s->file, line,
			    "p3-config: set role (primary or secondary) before loading a P3 file");
	if (opt_claim(c->o, d->id, s->file, line, s->priv, c->err))
		return -1;
	if (set_string(&c->o->p3_config, path))
		return fail(c->err, REASON_NOMEM, s->file, line, "out of memory");
	if (p3_parse_file(path, &cfg, c->err)) {
		/* the P3 parser names the P3 file; say who asked for it */
		if (c->err->reason == REASON_CFG_NOFILE)
			fail(c->err, REASON_CFG_NOFILE, s->file, line,
			     "p3-config: cannot open %s", path);
		return -1;
	}
	priv = s->priv && cfg.uid == c->env->secure_uid && !(cfg.mode & 022);
	ret = p3_apply(&cfg, c->o, priv, c->err);
	p3_free(&cfg);
	return ret;
}

/* Relative names inside a file are relative to that file's directory. */
static const char *resolve(struct src *s, const char *arg, char *buf,
			   size_t len)
{
	const char *slash;

	if (!s->is_file || arg[0] == '/' || !(slash = strrchr(s->file, '/')))
		return arg;
	if ((size_t)snprintf(buf, len, "%.*s/%s", (int)(slash - s->file),
			     s->file, arg) >= len)
		return arg;
	return buf;
}

static int do_option(struct ctx *c, struct src *s)
{
	char rbuf[PATH_MAX];

	int line = s->line ? s->line[s->i] : 0;
	const char *w = s->w[s->i++], *name = w, *arg;
	const struct opt_def *d;
	bool neg = false;

	/* --debug and --help read naturally on a command line */
	if (!s->is_file && name[0] == '-' && name[1] == '-')
		name += 2;
	d = opt_find(name);
	if (!d && !strncmp(name, "no", 2)) {
		const struct opt_def *nd = opt_find(name + 2);

		if (nd && (nd->type == OPT_T_FLAG || nd->type == OPT_T_SYSLOG)) {
			d = nd;
			neg = true;
		}
	}
	if (!d)
		return fail(c->err, REASON_CFG_UNKNOWN, s->file, line,
			    "unknown option '%s'", w);

	switch (d->type) {
	case OPT_T_FLAG:
		if (opt_claim(c->o, d->id, s->file, line, s->priv, c->err))
			return -1;
		*(bool *)((char *)c->o + d->off) = !neg;
		return 0;
	case OPT_T_SYSLOG:
		if (neg || s->i >= s->n || !find_enum(d->enums, s->w[s->i])) {
			if (opt_claim(c->o, d->id, s->file, line, s->priv, c->err))
				return -1;
			c->o->syslog_facility = neg ? -1 : LOG_DAEMON;
			return 0;
		}
		return set_value(c, s, d, s->w[s->i++], line);
	default:
		break;
	}
	arg = next_arg(c, s, d->name, d->arg, line);
	if (!arg)
		return -1;
	switch (d->type) {
	case OPT_T_CALL:
		if (c->scan)
			return c->calls[c->ncalls++] = arg, 0;
		return c->skip_includes ? 0 : do_call(c, s, arg, line);
	case OPT_T_FILE:
		if (c->scan)
			return c->files[c->nfiles++] = arg, 0;
		if (c->skip_includes)
			return 0;
		if (!*arg)
			return bad_value(c, s, line, d->name, arg, "a file");
		return read_file(c, s, line, resolve(s, arg, rbuf, sizeof(rbuf)),
				 false);
	case OPT_T_P3:
		return c->scan ? 0 : do_p3(c, s, d,
					   resolve(s, arg, rbuf, sizeof(rbuf)), line);
	case OPT_T_PEER:
	case OPT_T_PRIMARY:
		return peer_statement(c, s, d, arg, line);
	case OPT_T_REMOTE:
		/* `remote HOST:PORT pubkey KEY` is a primary, as the issue writes it */
		if (s->i < s->n && find_sub(s->w[s->i]) >= 0)
			return peer_statement(c, s, &table[OPT_PRIMARY], arg, line);
		break;
	default:
		break;
	}
	return set_value(c, s, d, arg, line);
}

static int apply_words(struct ctx *c, struct src *s)
{
	while (s->i < s->n)
		if (do_option(c, s))
			return -1;
	return 0;
}

static int read_all(int fd, const char *path, char **out, size_t *len,
		    size_t size, struct opt_error *err)
{
	char *buf = malloc(size + 1);
	size_t got = 0;

	if (!buf)
		return fail(err, REASON_NOMEM, path, 0, "out of memory");
	/* the file may grow after fstat: read one byte more to notice */
	while (got <= size) {
		ssize_t r = read(fd, buf + got, size + 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return fail(err, REASON_CFG_NOFILE, path, 0, "read: %s",
				    strerror(errno));
		}
		if (!r)
			break;
		got += (size_t)r;
	}
	if (got > size) {
		free(buf);
		return fail(err, REASON_CFG_TOOBIG, path, 0, "file changed while read");
	}
	*out = buf;
	*len = got;
	return 0;
}

/* Opens path and checks it is a regular file of sane size. */
static int open_conf(const char *path, struct stat *st, const char *ffile,
		     int fline, bool optional, struct opt_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		if (optional && errno == ENOENT)
			return -2;
		return fail(err, REASON_CFG_NOFILE, ffile ? ffile : path, fline,
			    "cannot open %s: %s", path, strerror(errno));
	}
	if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
		close(fd);
		return fail(err, REASON_PERM_NOTREG, path, 0, "not a regular file");
	}
	if (st->st_size > OPT_FILE_MAX) {
		close(fd);
		return fail(err, REASON_CFG_TOOBIG, path, 0,
			    "larger than %d bytes", OPT_FILE_MAX);
	}
	return fd;
}

static int read_file(struct ctx *c, struct src *from, int line,
		     const char *path, bool optional)
{
	const char *ffile = from ? from->file : NULL;
	struct words ws = { 0 };
	struct src s = { 0 };
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, ret = -1;

	if (c->depth >= c->env->max_depth ||
	    c->depth >= (int)(sizeof(c->stack) / sizeof(c->stack[0])))
		return fail(c->err, REASON_CFG_DEPTH, ffile, line,
			    "%s: option files nested deeper than %d", path,
			    c->env->max_depth);
	fd = open_conf(path, &st, ffile, line, optional, c->err);
	if (fd == -2)
		return 0;
	if (fd < 0)
		return -1;
	for (int i = 0; i < c->depth; i++)
		if (c->stack[i].dev == st.st_dev && c->stack[i].ino == st.st_ino) {
			close(fd);
			return fail(c->err, REASON_CFG_LOOP, ffile, line,
				    "%s is already being read (include loop)", path);
		}
	ret = read_all(fd, path, &buf, &len, (size_t)st.st_size, c->err);
	close(fd);
	if (ret)
		return -1;
	s.file = opt_intern(c->o, path);
	if (!s.file) {
		free(buf);
		return fail(c->err, REASON_NOMEM, path, 0, "out of memory");
	}
	ret = tokenize(s.file, buf, len, &ws, c->err);
	sodium_memzero(buf, len);
	free(buf);
	if (!ret) {
		s.is_file = true;
		s.uid = st.st_uid;
		s.mode = st.st_mode;
		s.priv = st.st_uid == c->env->secure_uid && !(st.st_mode & 022);
		s.w = ws.w;
		s.line = ws.line;
		s.n = ws.n;
		c->stack[c->depth].dev = st.st_dev;
		c->stack[c->depth].ino = st.st_ino;
		c->depth++;
		ret = apply_words(c, &s);
		c->depth--;
	}
	words_free(&ws);
	return ret;
}

/* --------------------------------------------------------------- API */

void opt_env_default(struct opt_env *env)
{
	env->root = OPT_DEFAULT_ROOT;
	env->secure_uid = 0;
	env->cmdline_privileged = false;
	env->max_depth = OPT_DEFAULT_DEPTH;
}

int opt_init(struct sloopd_options *o)
{
	struct opt_env env;
	struct opt_error err;
	struct ctx c = { .o = o, .env = &env, .err = &err };
	struct src s = { 0 };

	opt_env_default(&env);
	memset(o, 0, sizeof(*o));
	o->syslog_facility = -1;
	for (int i = 0; i < OPT_COUNT; i++) {
		if ((int)table[i].id != i)
			return -1;	/* table out of order: caught by tests */
		if (table[i].def && set_value(&c, &s, &table[i], table[i].def, 0)) {
			opt_free(o);
			return -1;
		}
	}
	return 0;
}

static void peers_free(struct opt_peer *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].subnets);
		free(p[i].psk_file);
	}
	free(p);
}

void opt_free(struct sloopd_options *o)
{
	char **strs[] = { &o->device, &o->linkname, &o->logfile, &o->key_file,
			  &o->psk_file, &o->ip_pre_up, &o->ip_up, &o->ip_down,
			  &o->p3_config, &o->loop, &o->user,
			  &o->password_file, &o->invite, &o->loop_cache };

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	peers_free(o->peers, o->n_peers);
	peers_free(o->primaries, o->n_primaries);
	free(o->warnings);
	while (o->interned) {
		struct opt_intern *n = o->interned->next;

		free(o->interned);
		o->interned = n;
	}
	sodium_memzero(o, sizeof(*o));
}

int opt_load_file(struct sloopd_options *o, const struct opt_env *env,
		  const char *path, struct opt_error *err)
{
	struct ctx c = { .o = o, .env = env, .err = err };

	return read_file(&c, NULL, 0, path, false);
}

int opt_load_words(struct sloopd_options *o, const struct opt_env *env,
		   int n, char **words, struct opt_error *err)
{
	struct ctx c = { .o = o, .env = env, .err = err };
	struct src s = { .file = OPT_CMDLINE, .priv = env->cmdline_privileged,
			 .w = words, .n = n };

	return apply_words(&c, &s);
}

/*
 * The command line is read twice: a scan on a scratch copy finds the
 * call and file arguments (an option's arity depends on its type, so only
 * a parse can tell an option from an argument), those files are read,
 * then the command line is applied for real and wins over them.
 */
int opt_load(struct sloopd_options *o, const struct opt_env *env,
	     int argc, char **argv, struct opt_error *err)
{
	struct src s = { .file = OPT_CMDLINE, .priv = env->cmdline_privileged };
	struct ctx c = { .o = o, .env = env, .err = err };
	struct sloopd_options scratch;
	char path[PATH_MAX];
	int first = 1, ret = -1;

	if ((size_t)snprintf(path, sizeof(path), "%s/options", env->root) >= sizeof(path))
		return fail(err, REASON_CFG_BADNAME, env->root, 0, "path too long");
	if (read_file(&c, NULL, 0, path, true))
		return -1;

	if (argc > 1 && argv[1][0] != '-' && !opt_find(argv[1]) &&
	    !(strncmp(argv[1], "no", 2) == 0 && opt_find(argv[1] + 2))) {
		const struct opt_def *d = &table[OPT_DEVICE];

		s.w = argv + 1;
		s.n = 1;
		if (set_value(&c, &s, d, argv[1], 0))
			return -1;
		first = 2;
	}
	s.w = argv + first;
	s.n = argc - first;

	if (opt_init(&scratch))
		return fail(err, REASON_NOMEM, NULL, 0, "out of memory");
	c.o = &scratch;
	c.scan = true;
	c.calls = calloc((size_t)argc + 1, sizeof(*c.calls));
	c.files = calloc((size_t)argc + 1, sizeof(*c.files));
	if (!c.calls || !c.files) {
		fail(err, REASON_NOMEM, NULL, 0, "out of memory");
		goto out;
	}
	if (apply_words(&c, &s))
		goto out;
	c.o = o;
	c.scan = false;
	for (int i = 0; i < c.ncalls; i++)
		if (do_call(&c, &s, c.calls[i], 0))
			goto out;
	for (int i = 0; i < c.nfiles; i++)
		if (read_file(&c, &s, 0, c.files[i], false))
			goto out;
	s.i = 0;
	c.skip_includes = true;
	ret = apply_words(&c, &s);
out:
	free(c.calls);
	free(c.files);
	opt_free(&scratch);
	return ret;
}

/* ----------------------------------------------------------- validate */

static int conflict(struct opt_error *err, const struct opt_origin *or,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int conflict(struct opt_error *err, const struct opt_origin *or,
		    const char *fmt, ...)
{
	char msg[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fail(err, REASON_CFG_CONFLICT, or ? or->file : NULL,
		    or ? or->line : 0, "%s", msg);
}

static int validate_list(const struct opt_peer *p, size_t n,
			 const char *what, struct opt_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (!p[i].has_pubkey)
			return conflict(err, &p[i].origin, "%s %s has no pubkey",
					what, p[i].name);
		for (size_t j = 0; j < i; j++)
			if (!memcmp(p[i].pubkey, p[j].pubkey, OPT_KEY_LEN))
				return conflict(err, &p[i].origin,
						"%s %s has the same pubkey as %s",
						what, p[i].name, p[j].name);
	}
	return 0;
}

/* The same network routed to two peers: the kernel could pick either. */
static bool share_subnet(const struct opt_peer *a, const struct opt_peer *b)
{
	for (size_t k = 0; k < a->n_subnets; k++)
		for (size_t l = 0; l < b->n_subnets; l++)
			if (a->subnets[k].prefix == b->subnets[l].prefix &&
			    !memcmp(&a->subnets[k].addr, &b->subnets[l].addr,
				    sizeof(struct opt_addr)))
				return true;
	return false;
}

static int validate_common(const struct sloopd_options *o,
			   struct opt_error *err);

/*
 * Loop mode: the broker tells the peers, so role, peer and primary are
 * refused rather than silently mixed with them.
 */
static int validate_loop(const struct sloopd_options *o,
			 struct opt_error *err)
{
	const struct opt_origin *or = o->origin;

	if (!o->has_broker)
		return conflict(err, &or[OPT_LOOP], "loop %s needs broker HOST[:PORT]",
				o->loop);
	if (!o->has_broker_key)
		return conflict(err, &or[OPT_LOOP], "loop %s needs broker-key PUB",
				o->loop);
	if (!o->key_file)
		return conflict(err, NULL, "no key: set key FILE");
	if (o->role != OPT_ROLE_UNSET)
		return conflict(err, &or[OPT_ROLE], "role is set by the loop, not by %s",
				"role");
	if (o->n_peers || o->n_primaries)
		return conflict(err, o->n_peers ? &o->peers[0].origin :
				&o->primaries[0].origin,
				"peers of loop %s come from the broker, not from %s",
				o->loop, o->n_peers ? "peer" : "primary");
	if (o->found && o->invite)
		return conflict(err, &or[OPT_INVITE], "%s and %s exclude each other",
				"found", "invite");
	if (!o->user != !o->password_file)
		return conflict(err, o->user ? &or[OPT_USER] : &or[OPT_PASSWORD_FILE],
				"%s and %s go together", "user", "password-file");
	return validate_common(o, err);
}

int opt_validate(const struct sloopd_options *o, struct opt_error *err)
{
	if (!o->device)
		return conflict(err, NULL, "no device name (sloopd IFNAME ...)");
	if (o->loop)
		return validate_loop(o, err);
	if (o->role == OPT_ROLE_UNSET)
		return conflict(err, NULL, "no role: set role primary or role secondary");
	if (!o->key_file)
		return conflict(err, NULL, "no key: set key FILE");
	return validate_common(o, err);
}

static int validate_common(const struct sloopd_options *o,
			   struct opt_error *err)
{
	const struct opt_origin *or = o->origin;

	if (o->nodetach && o->updetach)
		return conflict(err, &or[OPT_UPDETACH], "%s and %s exclude each other",
				"nodetach", "updetach");
	if (o->psk_file && o->has_psk)
		return conflict(err, &or[OPT_PSK_BASE64], "%s and %s exclude each other",
				"psk", "psk-base64");
	if (o->heartbeat_ms >= o->dead_ms)
		return conflict(err, &or[OPT_DEAD_TIME], "%s must be longer than %s",
				"dead-time", "heartbeat");
	if (o->holdoff_max_ms < o->holdoff_ms)
		return conflict(err, &or[OPT_HOLDOFF_MAX], "%s must not be below %s",
				"holdoff-max", "holdoff");
	if (o->loop)
		return 0;
	if (o->role == OPT_ROLE_PRIMARY) {
		if (o->n_primaries)
			return conflict(err, &o->primaries[0].origin,
					"%s %s given but role is primary",
					"primary", o->primaries[0].name);
		if (validate_list(o->peers, o->n_peers, "peer", err))
			return -1;
		for (size_t i = 0; i < o->n_peers; i++)
			for (size_t j = 0; j < i; j++)
				if (share_subnet(&o->peers[i], &o->peers[j]))
					return conflict(err, &o->peers[i].origin,
							"peer %s repeats a subnet of peer %s",
							o->peers[i].name, o->peers[j].name);
		return 0;
	}
	if (o->n_peers)
		return conflict(err, &o->peers[0].origin,
				"%s %s given but role is secondary", "peer",
				o->peers[0].name);
	if (!o->n_primaries)
		return conflict(err, &or[OPT_ROLE],
				"role secondary needs at least one %s HOST[:PORT] %s KEY",
				"primary", "pubkey");
	return validate_list(o->primaries, o->n_primaries, "primary", err);
}

/* ------------------------------------------------------------ secrets */

int opt_open_secret(const char *path, uid_t uid, struct opt_error *err)
{
	struct stat st;
	int fd;

	/* Symlinks are followed: fstat below checks what was opened. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return fail(err, REASON_KEY_READ, path, 0, "cannot open: %s",
			    strerror(errno));
	if (fstat(fd, &st)) {
		fail(err, REASON_KEY_READ, path, 0, "fstat: %s", strerror(errno));
		goto bad;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(err, REASON_PERM_NOTREG, path, 0,
		     "not a regular file (mode %06o)", (unsigned int)st.st_mode);
		goto bad;
	}
	if (st.st_uid != uid || (st.st_mode & 077)) {
		fail(err, REASON_PERM_KEYFILE, path, 0,
		     "owner %u mode %04o: must be owned by uid %u with no group/other access (chmod 600)",
		     (unsigned int)st.st_uid, (unsigned int)(st.st_mode & 07777),
		     (unsigned int)uid);
		goto bad;
	}
	return fd;
bad:
	close(fd);
	return -1;
}

int opt_read_secret(const char *path, uid_t uid, void *buf, size_t cap,
		    size_t *len, struct opt_error *err)
{
	int fd = opt_open_secret(path, uid, err);
	size_t got = 0;

	if (fd < 0)
		return -1;
	while (got < cap) {
		ssize_t r = read(fd, (char *)buf + got, cap - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			sodium_memzero(buf, cap);
			return fail(err, REASON_KEY_READ, path, 0, "read: %s",
				    strerror(errno));
		}
		if (!r)
			break;
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return 0;
}

static int check_one(const char *path, uid_t uid, struct opt_error *err)
{
	int fd;

	if (!path)
		return 0;
	fd = opt_open_secret(path, uid, err);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

int opt_check_secrets(const struct sloopd_options *o,
		      const struct opt_env *env, struct opt_error *err)
{
	if (check_one(o->key_file, env->secure_uid, err) ||
	    check_one(o->psk_file, env->secure_uid, err) ||
	    check_one(o->password_file, env->secure_uid, err))
		return -1;
	for (size_t i = 0; i < o->n_peers; i++)
		if (check_one(o->peers[i].psk_file, env->secure_uid, err))
			return -1;
	for (size_t i = 0; i < o->n_primaries; i++)
		if (check_one(o->primaries[i].psk_file, env->secure_uid, err))
			return -1;
	return 0;
}

/* ---------------------------------------------------------- help, dump */

void opt_usage(FILE *out)
{
	char lhs[64];

	fprintf(out, "usage: sloopd IFNAME [option ...]\n"
		"Options are read from <root>/options, call NAME, file FILE, then the\n"
		"command line (later wins). * marks privileged options.\n\n");
	for (int i = 0; i < OPT_COUNT; i++) {
		const struct opt_def *d = &table[i];

		snprintf(lhs, sizeof(lhs), "%s%s%s%s", d->flags & OPT_F_PRIV ? "*" : " ",
			 d->name, d->arg ? " " : "", d->arg ? d->arg : "");
		fprintf(out, "  %-34s %s", lhs, d->help);
		if (d->def)
			fprintf(out, " [%s]", d->def);
		if (d->alias)
			fprintf(out, " (also %s)", d->alias);
		fputc('\n', out);
	}
	fprintf(out, "\npeer and primary sub-options:\n");
	for (int i = 0; i < PS_COUNT; i++) {
		snprintf(lhs, sizeof(lhs), "%s %s", peer_subs[i].name, peer_subs[i].arg);
		fprintf(out, "    %-32s %s\n", lhs, peer_subs[i].help);
	}
}

static void put_quoted(FILE *out, const char *s)
{
	if (*s && !strpbrk(s, " \t\n\r\"'\\#")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (*s == '\t')
			fputs("\\t", out);
		else if (*s == '\r')
			fputs("\\r", out);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

static void put_ms(FILE *out, unsigned int ms)
{
	if (ms % 1000)
		fprintf(out, "%ums", ms);
	else
		fprintf(out, "%us", ms / 1000);
}

static void dump_peer(const struct opt_peer *p, bool primary, FILE *out)
{
	char buf[INET6_ADDRSTRLEN + OPT_HOST_LEN], src[PATH_MAX + 32], b64[64];

	if (primary) {
		opt_endpoint_str(&p->endpoint, buf, sizeof(buf));
		fprintf(out, "primary %s", buf);
	} else {
		fprintf(out, "peer %s", p->name);
	}
	if (p->has_pubkey) {
		sodium_bin2base64(b64, sizeof(b64), p->pubkey, OPT_KEY_LEN,
				  sodium_base64_VARIANT_ORIGINAL);
		fprintf(out, " pubkey %s", b64);
	}
	for (size_t i = 0; i < p->n_subnets; i++) {
		opt_addr_str(&p->subnets[i].addr, buf, sizeof(buf));
		fprintf(out, "%s%s/%u", i ? "," : " subnets ", buf,
			p->subnets[i].prefix);
	}
	if (p->has_endpoint && !primary) {
		opt_endpoint_str(&p->endpoint, buf, sizeof(buf));
		fprintf(out, " endpoint %s", buf);
	}
	if (p->psk_file) {
		fputs(" psk-file ", out);
		put_quoted(out, p->psk_file);
	}
	if (p->cipher)
		fprintf(out, " peer-cipher %s", opt_cipher_name(p->cipher));
	if (p->rekey_ms)
		fputs(" peer-rekey ", out), put_ms(out, p->rekey_ms);
	if (p->heartbeat_ms)
		fputs(" peer-heartbeat ", out), put_ms(out, p->heartbeat_ms);
	if (p->dead_ms)
		fputs(" peer-dead-time ", out), put_ms(out, p->dead_ms);
	opt_origin_str(&p->origin, src, sizeof(src));
	fprintf(out, "  # %s\n", src);
}

/* Writes "name value" (or "#name (unset)") without the source comment. */
static void dump_value(const struct sloopd_options *o, const struct opt_def *d,
		       FILE *out)
{
	const void *p = (const char *)o + d->off;
	char buf[OPT_HOST_LEN + 16];
	const char *e;

	switch (d->type) {
	case OPT_T_FLAG:
		/* every flag defaults to off, so "off" reads back as a comment */
		fprintf(out, *(const bool *)p ? "%s" : "#%s (off)", d->name);
		return;
	case OPT_T_BOOL:
		fprintf(out, "%s %s", d->name, *(const bool *)p ? "yes" : "no");
		return;
	case OPT_T_INT:
	case OPT_T_PERCENT:
		fprintf(out, "%s %d", d->name, *(const int *)p);
		return;
	case OPT_T_DURATION:
		fprintf(out, "%s ", d->name);
		put_ms(out, *(const unsigned int *)p);
		return;
	case OPT_T_ENUM:
		e = enum_name(d->enums, *(const int *)p);
		fprintf(out, "%s%s %s", e ? "" : "#", d->name, e ? e : "(unset)");
		return;
	case OPT_T_SYSLOG:
		if (*(const int *)p < 0)
			fprintf(out, "no%s", d->name);
		else
			fprintf(out, "%s %s", d->name, enum_name(d->enums, *(const int *)p));
		return;
	case OPT_T_ADDRESS:
	case OPT_T_REMOTE:
		opt_addr_str(p, buf, sizeof(buf));
		fprintf(out, "%s%s %s", *buf ? "" : "#", d->name, *buf ? buf : "(unset)");
		return;
	case OPT_T_LISTEN:
	case OPT_T_ENDPOINT:
		if (d->id == OPT_BROKER && !o->has_broker) {
			fprintf(out, "#%s (unset)", d->name);
			return;
		}
		opt_endpoint_str(p, buf, sizeof(buf));
		fprintf(out, "%s %s", d->name, buf);
		return;
	case OPT_T_KEY:
		fprintf(out, "#%s %s", d->name, o->has_psk ? "(secret)" : "(unset)");
		return;
	case OPT_T_PUBKEY: {
		char b64[64];

		if (!o->has_broker_key) {
			fprintf(out, "#%s (unset)", d->name);
			return;
		}
		sodium_bin2base64(b64, sizeof(b64), p, OPT_KEY_LEN,
				  sodium_base64_VARIANT_ORIGINAL);
		fprintf(out, "%s %s", d->name, b64);
		return;
	}
	default:
		break;
	}
	/* strings; p3-config is commented: its values are dumped already */
	if (!*(char *const *)p) {
		fprintf(out, "#%s (unset)", d->name);
		return;
	}
	fprintf(out, "%s%s ", d->type == OPT_T_P3 ? "#" : "", d->name);
	put_quoted(out, *(char *const *)p);
}

void opt_dump(const struct sloopd_options *o, FILE *out)
{
	char src[PATH_MAX + 32];

	for (int i = 0; i < OPT_COUNT; i++) {
		const struct opt_def *d = &table[i];
		char *line = NULL;
		size_t len = 0;
		FILE *m;

		if (d->flags & OPT_F_NODUMP)
			continue;
		if (d->type == OPT_T_PEER || d->type == OPT_T_PRIMARY) {
			bool prim = d->type == OPT_T_PRIMARY;
			const struct opt_peer *p = prim ? o->primaries : o->peers;
			size_t n = prim ? o->n_primaries : o->n_peers;

			for (size_t j = 0; j < n; j++)
				dump_peer(&p[j], prim, out);
			continue;
		}
		/* rendered first so that the source comments line up */
		m = open_memstream(&line, &len);
		if (!m)
			return;
		dump_value(o, d, m);
		fclose(m);
		opt_origin_str(&o->origin[i], src, sizeof(src));
		fprintf(out, "%-39s # %s\n", line ? line : "", src);
		free(line);
	}
}

int opt_pidfile(const struct sloopd_options *o, char *buf, size_t len)
{
	const char *name = o->linkname ? o->linkname : o->device;

	if (!name || (size_t)snprintf(buf, len, "/run/sloop-%s.pid", name) >= len)
		return -1;
	return 0;
}
