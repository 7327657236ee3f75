// SPDX-License-Identifier: MIT
/*
 * P3 configuration file parser (spec Appendix A) and its mapping onto
 * sloopd options.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sloop/uapi.h>

#include "p3conf.h"

enum p3_kind { K_INT, K_IP, K_ADDR, K_KEYTYPE, K_SUBNET, K_MASK };

#define LOCAL	0x1
#define REMOTE	0x2
#define NONE	((size_t)-1)

#define CO(f) offsetof(struct p3_config, f)
#define RO(f) offsetof(struct p3_remote, f)

/*
 * Every keyword of Appendix A.  why != NULL: parsed and checked but not
 * implemented by sloop; the text goes into the W126 warning.
 */
static const struct p3_kw {
	const char *name;
	unsigned int scope;
	enum p3_kind kind;
	long long min, max;
	size_t loff, roff;	/* struct p3_val in config / remote */
	const char *why;
} kws[] = {
	{ "ip", LOCAL | REMOTE, K_IP, 4, 6, CO(ip), RO(ip), NULL },
	{ "address", LOCAL | REMOTE, K_ADDR, 0, 0, NONE, NONE, NULL },
	{ "port", LOCAL | REMOTE, K_INT, 1, 65535, CO(port), RO(port), NULL },
	{ "key_generation", LOCAL, K_INT, 1, 2, CO(key_generation), NONE,
	  "hardware random number generation is not implemented; sloop uses the kernel RNG" },
	{ "rekey_wait", LOCAL | REMOTE, K_INT, 1, 3153600, CO(rekey_wait),
	  RO(rekey_wait), NULL },
	{ "array_size", LOCAL, K_INT, 1, 1 << 20, CO(array_size), NONE,
	  "key arrays are not implemented; sloop derives fresh keys at every rekey" },
	{ "key_array", REMOTE, K_INT, 1, 1 << 20, NONE, RO(key_array),
	  "key arrays are not implemented; sloop derives fresh keys at every rekey" },
	{ "data_array_time", LOCAL | REMOTE, K_INT, 1, 3153600,
	  CO(data_array_time), RO(data_array_time),
	  "key array indexes are not implemented" },
	{ "control_array_time", LOCAL | REMOTE, K_INT, 1, 3153600,
	  CO(control_array_time), RO(control_array_time),
	  "key array indexes are not implemented" },
	{ "heartbeat_time", LOCAL | REMOTE, K_INT, 1, 86400,
	  CO(heartbeat_time), RO(heartbeat_time), NULL },
	{ "heartbeat_fail", LOCAL | REMOTE, K_INT, 1, 86400,
	  CO(heartbeat_fail), RO(heartbeat_fail), NULL },
	{ "cluster_state", LOCAL, K_INT, 0, 1, CO(cluster_state), NONE,
	  "clustering is not implemented" },
	{ "load_balance", LOCAL, K_INT, 0, 1, CO(load_balance), NONE,
	  "load balancing is not implemented" },
	{ "key_type", LOCAL | REMOTE, K_KEYTYPE, 0, 0, NONE, NONE, NULL },
	{ "subnet", REMOTE, K_SUBNET, 0, 0, NONE, NONE, NULL },
	{ "mask", REMOTE, K_MASK, 0, 0, NONE, NONE, NULL },
};

enum state { BEFORE, LOCAL_SECTION, AFTER };

struct p3p {
	struct p3_config *cfg;
	struct opt_error *err;
	const char *file;
	int line;
	enum state st;
	int local_line;
};

static int p3fail(struct p3p *p, enum reason r, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int p3fail(struct p3p *p, enum reason r, int line, const char *fmt, ...)
{
	va_list ap;

	p->err->reason = r;
	snprintf(p->err->file, sizeof(p->err->file), "%s", p->file);
	p->err->line = line;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int warn_unimpl(struct p3p *p, const char *key, const char *value,
		       const char *why)
{
	struct opt_error *w;

	w = realloc(p->cfg->warnings, (p->cfg->n_warnings + 1) * sizeof(*w));
	if (!w)
		return p3fail(p, REASON_NOMEM, p->line, "out of memory");
	p->cfg->warnings = w;
	w = &w[p->cfg->n_warnings++];
	memset(w, 0, sizeof(*w));
	w->reason = REASON_P3_UNIMPL;
	snprintf(w->file, sizeof(w->file), "%s", p->file);
	w->line = p->line;
	snprintf(w->msg, sizeof(w->msg), "%s=%s: not implemented (%s)", key,
		 value, why);
	return 0;
}

static int parse_num(const char *s, long long *v)
{
	long long x = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) || x > 1000000000000LL)
			return -1;
		x = x * 10 + (*s - '0');
	}
	*v = x;
	return 0;
}

/* Digits at the end of subnetM / maskM; none means M = 0. */
static int parse_suffix_id(const char *s, unsigned int *id)
{
	long long v = 0;

	if (*s && (parse_num(s, &v) || v > 1000000))
		return -1;
	*id = (unsigned int)v;
	return 0;
}

static struct p3_remote *get_remote(struct p3p *p, unsigned int id)
{
	struct p3_config *c = p->cfg;
	struct p3_remote *r;

	for (size_t i = 0; i < c->n_remotes; i++)
		if (c->remotes[i].id == id)
			return &c->remotes[i];
	r = realloc(c->remotes, (c->n_remotes + 1) * sizeof(*r));
	if (!r)
		return NULL;
	c->remotes = r;
	r = &r[c->n_remotes++];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->line = p->line;
	return r;
}

static struct p3_subnet *get_subnet(struct p3_remote *r, unsigned int id)
{
	struct p3_subnet *s;

	for (size_t i = 0; i < r->n_subnets; i++)
		if (r->subnets[i].id == id)
			return &r->subnets[i];
	s = realloc(r->subnets, (r->n_subnets + 1) * sizeof(*s));
	if (!s)
		return NULL;
	r->subnets = s;
	s = &s[r->n_subnets++];
	memset(s, 0, sizeof(*s));
	s->id = id;
	return s;
}

static int dup_kw(struct p3p *p, const char *key, int first)
{
	return p3fail(p, REASON_P3_DUP, p->line,
		      "%s given twice (first at line %d)", key, first);
}

static int set_mask(struct p3p *p, const char *key, const char *v,
		    struct p3_subnet *sn)
{
	long long pl;

	/* a prefix length ("24" or "/24") is accepted besides a mask */
	if (!parse_num(v + (*v == '/'), &pl)) {
		if (pl > 128)
			return p3fail(p, REASON_P3_VALUE, p->line,
				      "%s: bad prefix length %s", key, v);
		sn->mask.family = 0;
		sn->prefix = (unsigned int)pl;
		return 0;
	}
	if (opt_parse_addr(v, &sn->mask))
		return p3fail(p, REASON_P3_VALUE, p->line, "%s: bad mask '%s'",
			      key, v);
	return 0;
}

static int set_keyword(struct p3p *p, const struct p3_kw *kw,
		       struct p3_remote *r, unsigned int sid, const char *key,
		       const char *v)
{
	void *base = r ? (void *)r : (void *)p->cfg;
	size_t off = r ? kw->roff : kw->loff;
	struct p3_subnet *sn;
	struct opt_addr *addr;
	int *line, *kt;
	long long n;

	switch (kw->kind) {
	case K_INT:
	case K_IP: {
		struct p3_val *pv = (struct p3_val *)((char *)base + off);

		if (pv->line)
			return dup_kw(p, key, pv->line);
		if (parse_num(v, &n) || n < kw->min || n > kw->max ||
		    (kw->kind == K_IP && n == 5))
			return p3fail(p, REASON_P3_VALUE, p->line,
				      "%s: bad value '%s' (%s)", key, v,
				      kw->kind == K_IP ? "4 or 6" : "out of range or not a number");
		pv->v = n;
		pv->line = p->line;
		if (kw->why && !(!strcmp(kw->name, "key_generation") && n == 1))
			return warn_unimpl(p, key, v, kw->why);
		return 0;
	}
	case K_ADDR:
		addr = r ? &r->address : &p->cfg->address;
		line = r ? &r->address_line : &p->cfg->address_line;
		if (*line)
			return dup_kw(p, key, *line);
		if (opt_parse_addr(v, addr))
			return p3fail(p, REASON_P3_VALUE, p->line,
				      "%s: bad address '%s'", key, v);
		*line = p->line;
		return 0;
	case K_KEYTYPE:
		kt = r ? &r->key_type : &p->cfg->key_type;
		line = r ? &r->key_type_line : &p->cfg->key_type_line;
		if (*line)
			return dup_kw(p, key, *line);
		if (!strcasecmp(v, "AES128"))
			*kt = P3_KEY_AES128;
		else if (!strcasecmp(v, "AES256"))
			*kt = P3_KEY_AES256;
		else
			return p3fail(p, REASON_P3_VALUE, p->line,
				      "%s: bad key type '%s' (AES128 or AES256)", key, v);
		*line = p->line;
		return 0;
	case K_SUBNET:
	case K_MASK:
		sn = get_subnet(r, sid);
		if (!sn)
			return p3fail(p, REASON_NOMEM, p->line, "out of memory");
		if (kw->kind == K_SUBNET) {
			if (sn->subnet_line)
				return dup_kw(p, key, sn->subnet_line);
			if (opt_parse_addr(v, &sn->subnet))
				return p3fail(p, REASON_P3_VALUE, p->line,
					      "%s: bad address '%s'", key, v);
			sn->subnet_line = p->line;
			return 0;
		}
		if (sn->mask_line)
			return dup_kw(p, key, sn->mask_line);
		sn->mask_line = p->line;
		return set_mask(p, key, v, sn);
	}
	return 0;
}

static const struct p3_kw *find_kw(const char *name, unsigned int *sid,
				   bool remote)
{
	for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++) {
		size_t n = strlen(kws[i].name);

		if (remote && (kws[i].kind == K_SUBNET || kws[i].kind == K_MASK)) {
			if (!strncmp(name, kws[i].name, n) &&
			    !parse_suffix_id(name + n, sid))
				return &kws[i];
			continue;
		}
		if (!strcmp(name, kws[i].name))
			return &kws[i];
	}
	return NULL;
}

/* KEY=VALUE, KEY = VALUE or KEY VALUE; *v is "" for a bare word. */
static int split_line(struct p3p *p, char *s, char **k, char **v)
{
	char *e = s + strcspn(s, "= \t");

	*k = s;
	if (!*e) {
		*v = e;
		return 0;
	}
	if (*e == '=') {
		*e++ = '\0';
	} else {
		*e++ = '\0';
		e += strspn(e, " \t");
		if (*e == '=')
			e++;
	}
	e += strspn(e, " \t");
	*v = e;
	if (!**k)
		return p3fail(p, REASON_P3_SYNTAX, p->line, "missing keyword");
	if (!*e || e[strcspn(e, " \t=")])
		return p3fail(p, REASON_P3_SYNTAX, p->line,
			      "%s: expected one value after the keyword", *k);
	return 0;
}

static int section_word(struct p3p *p, const char *k)
{
	if (!strcmp(k, "localstart")) {
		if (p->st != BEFORE)
			return p3fail(p, REASON_P3_SECTION, p->line,
				      "localstart repeated (first at line %d)",
				      p->local_line);
		p->st = LOCAL_SECTION;
		p->local_line = p->line;
		return 0;
	}
	if (p->st != LOCAL_SECTION)
		return p3fail(p, REASON_P3_SECTION, p->line,
			      "localend without localstart");
	p->st = AFTER;
	return 0;
}

static int parse_line(struct p3p *p, char *s)
{
	const struct p3_kw *kw;
	struct p3_remote *r = NULL;
	unsigned int sid = 0;
	char *k, *v, *name;
	long long id;

	if (split_line(p, s, &k, &v))
		return -1;
	if (!strcmp(k, "localstart") || !strcmp(k, "localend")) {
		if (*v)
			return p3fail(p, REASON_P3_SYNTAX, p->line,
				      "%s takes no value", k);
		return section_word(p, k);
	}
	if (!*v)
		return p3fail(p, REASON_P3_SYNTAX, p->line, "%s: missing value", k);
	name = strchr(k, '/');
	if (name) {
		*name++ = '\0';
		if (parse_num(k, &id) || id > 1000000)
			return p3fail(p, REASON_P3_SYNTAX, p->line,
				      "bad remote number '%s'", k);
		name[-1] = '/';
	}
	kw = find_kw(name ? name : k, &sid, name != NULL);
	if (!kw || !(kw->scope & (name ? REMOTE : LOCAL)))
		return p3fail(p, REASON_P3_UNKNOWN, p->line,
			      "unknown %s keyword '%s'",
			      name ? "remote" : "local", k);
	if (!name && p->st != LOCAL_SECTION)
		return p3fail(p, REASON_P3_SECTION, p->line,
			      "%s outside localstart ... localend", k);
	if (name) {
		if (p->st != AFTER)
			return p3fail(p, REASON_P3_SECTION, p->line,
				      "remote keyword %s before localend", k);
		r = get_remote(p, (unsigned int)id);
		if (!r)
			return p3fail(p, REASON_NOMEM, p->line, "out of memory");
	}
	return set_keyword(p, kw, r, sid, k, v);
}

/* Turns a mask into a prefix length; -1 when not contiguous. */
static int mask_prefix(const struct opt_addr *m)
{
	const unsigned char *b = (const unsigned char *)&m->u;
	int n = m->family == AF_INET ? 4 : 16, len = 0;
	bool zero = false;

	for (int i = 0; i < n; i++)
		for (int bit = 7; bit >= 0; bit--) {
			if (b[i] & (1 << bit)) {
				if (zero)
					return -1;
				len++;
			} else {
				zero = true;
			}
		}
	return len;
}

static bool host_bits_clear(const struct opt_addr *a, unsigned int prefix)
{
	const unsigned char *b = (const unsigned char *)&a->u;
	unsigned int n = a->family == AF_INET ? 4 : 16;

	for (unsigned int i = 0; i < n; i++) {
		unsigned int keep = prefix >= 8 * (i + 1) ? 8 :
				    prefix > 8 * i ? prefix - 8 * i : 0;

		if (b[i] & (unsigned char)~(keep ? 0xff << (8 - keep) : 0))
			return false;
	}
	return true;
}

static int check_subnet(struct p3p *p, struct p3_remote *r,
			struct p3_subnet *sn)
{
	int maxp, pl;

	if (!sn->mask_line)
		return p3fail(p, REASON_P3_SUBNET, sn->subnet_line,
			      "%u/subnet%u has no %u/mask%u", r->id, sn->id,
			      r->id, sn->id);
	if (!sn->subnet_line)
		return p3fail(p, REASON_P3_SUBNET, sn->mask_line,
			      "%u/mask%u has no %u/subnet%u", r->id, sn->id,
			      r->id, sn->id);
	maxp = sn->subnet.family == AF_INET ? 32 : 128;
	if (sn->mask.family) {
		if (sn->mask.family != sn->subnet.family)
			return p3fail(p, REASON_P3_SUBNET, sn->mask_line,
				      "%u/mask%u: address family differs from the subnet",
				      r->id, sn->id);
		pl = mask_prefix(&sn->mask);
		if (pl < 0)
			return p3fail(p, REASON_P3_SUBNET, sn->mask_line,
				      "%u/mask%u is not contiguous", r->id, sn->id);
		sn->prefix = (unsigned int)pl;
	} else if (sn->prefix > (unsigned int)maxp) {
		return p3fail(p, REASON_P3_SUBNET, sn->mask_line,
			      "%u/mask%u: prefix longer than %d", r->id, sn->id, maxp);
	}
	if (!host_bits_clear(&sn->subnet, sn->prefix))
		return p3fail(p, REASON_P3_SUBNET, sn->subnet_line,
			      "%u/subnet%u has bits set outside %u/mask%u",
			      r->id, sn->id, r->id, sn->id);
	return 0;
}

static int check_family(struct p3p *p, const struct p3_val *ip,
			const struct opt_addr *a, int line, const char *what)
{
	int want = ip->v == 6 ? AF_INET6 : AF_INET;

	if (ip->line && a->family && a->family != want)
		return p3fail(p, REASON_P3_VALUE, line,
			      "%s is not an IPv%lld address (ip=%lld at line %d)",
			      what, ip->v, ip->v, ip->line);
	return 0;
}

static int cmp_remote(const void *a, const void *b)
{
	const struct p3_remote *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_subnet(const void *a, const void *b)
{
	const struct p3_subnet *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int check_remote(struct p3p *p, struct p3_remote *r, size_t idx)
{
	char what[32];

	if (!r->address_line)
		return p3fail(p, REASON_P3_VALUE, r->line,
			      "remote %u has no %u/address", r->id, r->id);
	snprintf(what, sizeof(what), "%u/address", r->id);
	if (check_family(p, &r->ip, &r->address, r->address_line, what))
		return -1;
	if (r->n_subnets)
		qsort(r->subnets, r->n_subnets, sizeof(*r->subnets), cmp_subnet);
	for (size_t i = 0; i < r->n_subnets; i++)
		if (check_subnet(p, r, &r->subnets[i]))
			return -1;
	for (size_t j = 0; j < idx; j++) {
		const struct p3_remote *o = &p->cfg->remotes[j];

		if (!memcmp(&o->address, &r->address, sizeof(r->address)) &&
		    p3_remote_port(o) == p3_remote_port(r))
			return p3fail(p, REASON_P3_DUP, r->address_line,
				      "remote %u has the same address and port as remote %u",
				      r->id, o->id);
	}
	return 0;
}

static int finish(struct p3p *p)
{
	struct p3_config *c = p->cfg;

	if (p->st == BEFORE)
		return p3fail(p, REASON_P3_SECTION, p->line, "no localstart");
	if (p->st == LOCAL_SECTION)
		return p3fail(p, REASON_P3_SECTION, p->local_line,
			      "localstart without localend");
	if (check_family(p, &c->ip, &c->address, c->address_line, "address"))
		return -1;
	if (c->n_remotes)
		qsort(c->remotes, c->n_remotes, sizeof(*c->remotes), cmp_remote);
	for (size_t i = 0; i < c->n_remotes; i++)
		if (check_remote(p, &c->remotes[i], i))
			return -1;
	return 0;
}

int p3_parse_buffer(const char *name, const char *text, size_t len,
		    struct p3_config *cfg, struct opt_error *err)
{
	struct p3p p = { cfg, err, name, 0, BEFORE, 0 };
	char *buf, *s, *nl;
	uid_t uid = cfg->uid;
	mode_t mode = cfg->mode;
	int ret = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->uid = uid;
	cfg->mode = mode;
	snprintf(cfg->file, sizeof(cfg->file), "%s", name);
	if (memchr(text, '\0', len))
		return p3fail(&p, REASON_P3_SYNTAX, 0, "NUL byte in file");
	buf = strndup(text, len);
	if (!buf)
		return p3fail(&p, REASON_NOMEM, 0, "out of memory");
	for (s = buf; s && !ret; s = nl) {
		size_t n;

		nl = strchr(s, '\n');
		if (nl)
			*nl++ = '\0';
		else if (!*s)
			break;
		p.line++;
		s += strspn(s, " \t");
		n = strlen(s);
		while (n && isspace((unsigned char)s[n - 1]))
			s[--n] = '\0';
		if (!*s || *s == '#')
			continue;
		ret = parse_line(&p, s);
	}
	free(buf);
	if (!ret)
		ret = finish(&p);
	if (ret)
		p3_free(cfg);
	return ret;
}

int p3_parse_file(const char *path, struct p3_config *cfg,
		  struct opt_error *err)
{
	struct p3p p = { cfg, err, path, 0, BEFORE, 0 };
	struct stat st;
	char *buf;
	ssize_t r;
	size_t got = 0;
	int fd, ret;

	memset(cfg, 0, sizeof(*cfg));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return p3fail(&p, REASON_CFG_NOFILE, 0, "cannot open: %s",
			      strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return p3fail(&p, REASON_PERM_NOTREG, 0, "not a regular file");
	}
	if (st.st_size > OPT_FILE_MAX) {
		close(fd);
		return p3fail(&p, REASON_CFG_TOOBIG, 0, "larger than %d bytes",
			      OPT_FILE_MAX);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return p3fail(&p, REASON_NOMEM, 0, "out of memory");
	}
	while (got <= (size_t)st.st_size) {
		r = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got > (size_t)st.st_size) {
		free(buf);
		return p3fail(&p, REASON_CFG_TOOBIG, 0, "file changed while read");
	}
	cfg->uid = st.st_uid;
	cfg->mode = st.st_mode;
	ret = p3_parse_buffer(path, buf, got, cfg, err);
	free(buf);
	return ret;
}

void p3_free(struct p3_config *cfg)
{
	for (size_t i = 0; i < cfg->n_remotes; i++)
		free(cfg->remotes[i].subnets);
	free(cfg->remotes);
	free(cfg->warnings);
	cfg->remotes = NULL;
	cfg->warnings = NULL;
	cfg->n_remotes = cfg->n_warnings = 0;
}

unsigned int p3_remote_port(const struct p3_remote *r)
{
	return r->port.line ? (unsigned int)r->port.v : P3_DEFAULT_PORT;
}

int p3_cipher(int key_type)
{
	switch (key_type) {
	case P3_KEY_AES128: return SLOOP_CIPHER_AES128_GCM;
	case P3_KEY_AES256: return SLOOP_CIPHER_AES256_GCM;
	}
	return 0;
}

/* ---------------------------------------------------------- mapping */

struct ap {
	const struct p3_config *cfg;
	struct sloopd_options *o;
	const char *file;
	bool priv;
	struct opt_error *err;
};

static int map_seconds(struct ap *a, const struct p3_val *v, enum opt_id id,
		       unsigned int *dst)
{
	if (!v->line)
		return 0;
	if (opt_claim(a->o, id, a->file, v->line, a->priv, a->err))
		return -1;
	*dst = (unsigned int)v->v * 1000u;
	return 0;
}

static int map_listen(struct ap *a)
{
	const struct p3_config *c = a->cfg;
	int line = c->address_line ? c->address_line : c->port.line;

	if (!line)
		return 0;
	if (opt_claim(a->o, OPT_LISTEN, a->file, line, a->priv, a->err))
		return -1;
	if (c->address_line)
		opt_addr_str(&c->address, a->o->listen.host, sizeof(a->o->listen.host));
	a->o->listen.port = c->port.line ? (uint16_t)c->port.v : P3_DEFAULT_PORT;
	return 0;
}

static int priv_refused(struct ap *a, int line, const char *what)
{
	a->err->reason = REASON_CFG_PRIV;
	snprintf(a->err->file, sizeof(a->err->file), "%s", a->file);
	a->err->line = line;
	snprintf(a->err->msg, sizeof(a->err->msg),
		 "%s was set by a privileged source and cannot be overridden by this P3 file",
		 what);
	return -1;
}

static int nomem(struct ap *a, int line)
{
	a->err->reason = REASON_NOMEM;
	snprintf(a->err->file, sizeof(a->err->file), "%s", a->cfg->file);
	a->err->line = line;
	snprintf(a->err->msg, sizeof(a->err->msg), "out of memory");
	return -1;
}

/* The existing peer this remote describes: by p3-N name or by address. */
static struct opt_peer *find_peer(struct sloopd_options *o, bool prim,
				  const char *name, const char *host,
				  unsigned int port)
{
	struct opt_peer *l = prim ? o->primaries : o->peers;
	size_t n = prim ? o->n_primaries : o->n_peers;

	for (size_t i = 0; i < n; i++)
		if (!strcmp(l[i].name, name))
			return &l[i];
	for (size_t i = 0; i < n; i++)
		if (l[i].has_endpoint && !strcmp(l[i].endpoint.host, host) &&
		    l[i].endpoint.port == port)
			return &l[i];
	return NULL;
}

static int map_remote(struct ap *a, const struct p3_remote *r)
{
	bool prim = a->o->role == OPT_ROLE_SECONDARY, created;
	enum opt_id id = prim ? OPT_PRIMARY : OPT_PEER;
	char host[OPT_HOST_LEN], name[OPT_HOST_LEN + 8];
	unsigned int port = p3_remote_port(r);
	struct opt_peer *p;
	struct opt_cidr *cidrs = NULL;

	opt_addr_str(&r->address, host, sizeof(host));
	if (prim)
		snprintf(name, sizeof(name), r->address.family == AF_INET6 ?
			 "[%s]:%u" : "%s:%u", host, port);
	else
		snprintf(name, sizeof(name), "p3-%u", r->id);
	p = find_peer(a->o, prim, name, host, port);
	if (p && p->origin.privileged && !a->priv)
		return priv_refused(a, r->line, p->name);
	if (opt_claim(a->o, id, a->file, r->line, a->priv, a->err))
		return -1;
	if (!p) {
		p = opt_peer_get(a->o, prim, name, &created);
		if (!p)
			return nomem(a, r->line);
	}
	if (r->n_subnets) {
		cidrs = calloc(r->n_subnets, sizeof(*cidrs));
		if (!cidrs)
			return nomem(a, r->line);
		for (size_t i = 0; i < r->n_subnets; i++) {
			cidrs[i].addr = r->subnets[i].subnet;
			cidrs[i].prefix = r->subnets[i].prefix;
		}
		free(p->subnets);
		p->subnets = cidrs;
		p->n_subnets = r->n_subnets;
	}
	snprintf(p->endpoint.host, sizeof(p->endpoint.host), "%s", host);
	p->endpoint.port = (uint16_t)port;
	p->has_endpoint = true;
	if (r->key_type_line)
		p->cipher = p3_cipher(r->key_type);
	if (r->rekey_wait.line)
		p->rekey_ms = (unsigned int)r->rekey_wait.v * 1000u;
	if (r->heartbeat_time.line)
		p->heartbeat_ms = (unsigned int)r->heartbeat_time.v * 1000u;
	if (r->heartbeat_fail.line)
		p->dead_ms = (unsigned int)r->heartbeat_fail.v * 1000u;
	p->origin = (struct opt_origin){ a->file, r->line, a->priv };
	return 0;
}

int p3_apply(const struct p3_config *cfg, struct sloopd_options *o,
	     bool priv, struct opt_error *err)
{
	struct ap a = { cfg, o, opt_intern(o, cfg->file), priv, err };
	const struct p3_config *c = cfg;

	if (!a.file)
		return nomem(&a, 0);
	if (o->role == OPT_ROLE_UNSET) {
		err->reason = REASON_CFG_CONFLICT;
		snprintf(err->file, sizeof(err->file), "%s", cfg->file);
		err->line = 0;
		snprintf(err->msg, sizeof(err->msg),
			 "the role (primary or secondary) must be set before a P3 file is applied");
		return -1;
	}
	for (size_t i = 0; i < c->n_warnings; i++)
		if (opt_warn(o, &c->warnings[i]))
			return nomem(&a, 0);
	if (map_seconds(&a, &c->rekey_wait, OPT_REKEY_INTERVAL, &o->rekey_ms) ||
	    map_seconds(&a, &c->heartbeat_time, OPT_HEARTBEAT, &o->heartbeat_ms) ||
	    map_seconds(&a, &c->heartbeat_fail, OPT_DEAD_TIME, &o->dead_ms) ||
	    map_listen(&a))
		return -1;
	if (c->key_type_line) {
		if (opt_claim(o, OPT_CIPHER, a.file, c->key_type_line, priv, err))
			return -1;
		o->cipher = p3_cipher(c->key_type);
	}
	for (size_t i = 0; i < c->n_remotes; i++)
		if (map_remote(&a, &c->remotes[i]))
			return -1;
	return 0;
}
