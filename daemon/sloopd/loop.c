// SPDX-License-Identifier: MIT
/*
 * Loop membership decisions and the loop cache (see loop.h).  Nothing
 * here talks to the broker or the kernel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "loop.h"

bool loop_initiator(const uint8_t self[32], const uint8_t peer[32])
{
	return memcmp(self, peer, 32) < 0;
}

bool loop_identity_ok(const uint8_t loop_id[32], const uint8_t founder[32],
		      const char *name)
{
	uint8_t want[32];

	cred_loop_id(want, founder, name);
	return !sodium_memcmp(want, loop_id, 32);
}

enum loop_verdict loop_check_peer(const struct cred_set *s,
				  const uint8_t self[32],
				  const uint8_t dev[32], uint64_t now,
				  struct cred *best)
{
	if (!memcmp(self, dev, 32))
		return LOOP_PEER_SELF;
	return cred_set_is_member(s, dev, now, best) ? LOOP_PEER_OK :
	       LOOP_PEER_REFUSED;
}

/* A minute of slack for clocks that disagree a little. */
#define LOOP_SKEW_S	60

int loop_cred_issue(struct cred *c, const uint8_t loop_id[32], int policy,
		    const uint8_t dev[32], const uint8_t addr4[4],
		    const uint8_t addr6[16], uint64_t now,
		    unsigned int lifetime, const uint8_t sk[64])
{
	memset(c, 0, sizeof(*c));
	c->policy = (uint8_t)policy;
	memcpy(c->loop_id, loop_id, 32);
	memcpy(c->device, dev, 32);
	memcpy(c->addr4, addr4, 4);
	memcpy(c->addr6, addr6, 16);
	c->not_before = now > LOOP_SKEW_S ? now - LOOP_SKEW_S : 0;
	c->not_after = now + lifetime;
	return cred_sign(c, sk);
}

bool loop_revoked(const struct cred_set *s, const uint8_t dev[32])
{
	for (size_t i = 0; i < s->n_revokes; i++)
		if (!memcmp(s->revokes[i].device, dev, 32))
			return true;
	return false;
}

int loop_ep_to_sockaddr(const uint8_t ep[18], int family,
			struct sockaddr_storage *ss, socklen_t *len)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					    0xff, 0xff };
	uint16_t port = (uint16_t)(ep[16] << 8 | ep[17]);

	memset(ss, 0, sizeof(*ss));
	if (!port)
		return -1;
	/* A v4 endpoint for a v4 socket; a dual-stack socket takes v6. */
	if (!memcmp(ep, mapped, 12) && family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, ep + 12, 4);
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (family == AF_INET)
		return -1;	/* v6 peer, v4-only socket */
	{
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, ep, 16);
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
	}
	return 0;
}

void loop_ep_str(const uint8_t ep[18], char *buf, size_t len)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					    0xff, 0xff };
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned int port = (unsigned int)(ep[16] << 8 | ep[17]);

	if (!memcmp(ep, mapped, 12)) {
		inet_ntop(AF_INET, ep + 12, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, port);
	} else {
		inet_ntop(AF_INET6, ep, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, port);
	}
}

void loop_state_init(struct loop_state *st, const char *name)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "%s", name ? name : "");
	st->net4[4] = 22;
	st->net6[16] = 64;
}

void loop_state_free(struct loop_state *st)
{
	cred_set_free(&st->set);
	free(st->m);
	st->m = NULL;
	st->n_m = 0;
	st->known = false;
}

void loop_state_set_identity(struct loop_state *st,
			     const uint8_t loop_id[32],
			     const uint8_t founder[32],
			     const uint8_t broker[32])
{
	if (st->known && !memcmp(st->loop_id, loop_id, 32) &&
	    !memcmp(st->founder, founder, 32) &&
	    !memcmp(st->set.broker, broker, 32))
		return;
	cred_set_free(&st->set);
	free(st->m);
	st->m = NULL;
	st->n_m = 0;
	cred_set_init(&st->set, loop_id, founder, broker);
	memcpy(st->loop_id, loop_id, 32);
	memcpy(st->founder, founder, 32);
	st->known = true;
}

struct loop_member *loop_member_get(struct loop_state *st,
				    const uint8_t dev[32], bool create)
{
	struct loop_member *nm;

	for (size_t i = 0; i < st->n_m; i++)
		if (!memcmp(st->m[i].dev, dev, 32))
			return &st->m[i];
	if (!create || st->n_m >= LOOP_MEMBERS_MAX)
		return NULL;
	nm = realloc(st->m, (st->n_m + 1) * sizeof(*nm));
	if (!nm)
		return NULL;
	st->m = nm;
	nm = &nm[st->n_m++];
	memset(nm, 0, sizeof(*nm));
	memcpy(nm->dev, dev, 32);
	return nm;
}

int loop_cache_path(const struct sloopd_options *o, const char *linkname,
		    char *buf, size_t len)
{
	int n;

	if (o->loop_cache)
		n = snprintf(buf, len, "%s", o->loop_cache);
	else
		n = snprintf(buf, len, "%s/loop-%s.cache",
			     LOOP_DEFAULT_CACHE_DIR, linkname);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ---------------------------------------------------------- side file */

static void put_hex(FILE *f, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", b[i]);
}

int loop_side_write(const struct loop_state *st, FILE *f)
{
	fprintf(f, "loop %s\npolicy %d\nnet4 ", st->name, st->policy);
	put_hex(f, st->net4, sizeof(st->net4));
	fputs("\nnet6 ", f);
	put_hex(f, st->net6, sizeof(st->net6));
	fputc('\n', f);
	for (size_t i = 0; i < st->n_m; i++) {
		const struct loop_member *m = &st->m[i];

		fputs("member ", f);
		put_hex(f, m->dev, 32);
		fprintf(f, " %s", m->name[0] ? m->name : "-");
		if (m->has_ep) {
			fputc(' ', f);
			put_hex(f, m->ep, 18);
		}
		fputc('\n', f);
	}
	return ferror(f) ? -EIO : 0;
}

static bool get_hex(const char *s, uint8_t *out, size_t n)
{
	size_t got = 0;

	return s && strlen(s) == 2 * n &&
	       !sodium_hex2bin(out, n, s, 2 * n, NULL, &got, NULL) && got == n;
}

/* A name from the file goes into logs: the option rules for names. */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > OPT_NAME_LEN)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

static int side_line(struct loop_state *st, char *line)
{
	char *save = NULL, *k = strtok_r(line, " \n", &save);
	char *a = strtok_r(NULL, " \n", &save), *b = strtok_r(NULL, " \n", &save);
	char *c = strtok_r(NULL, " \n", &save);
	struct loop_member *m;
	uint8_t dev[32];

	if (!k)
		return 0;
	if (!strcmp(k, "loop") && a && name_ok(a) && !b)
		return strcmp(a, st->name) ? -EBADMSG : 0;
	if (!strcmp(k, "policy") && a && !b)
		return (st->policy = atoi(a)) >= 0 && st->policy <= 2 ? 0 : -EBADMSG;
	if (!strcmp(k, "net4") && !b)
		return get_hex(a, st->net4, 5) && st->net4[4] <= 32 ? 0 : -EBADMSG;
	if (!strcmp(k, "net6") && !b)
		return get_hex(a, st->net6, 17) && st->net6[16] <= 128 ? 0 : -EBADMSG;
	if (strcmp(k, "member") || !get_hex(a, dev, 32) || !b || !name_ok(b))
		return -EBADMSG;
	m = loop_member_get(st, dev, true);
	if (!m)
		return -ENOMEM;
	snprintf(m->name, sizeof(m->name), "%s", strcmp(b, "-") ? b : "");
	if (c) {
		if (!get_hex(c, m->ep, 18))
			return -EBADMSG;
		m->has_ep = true;
	}
	return 0;
}

int loop_side_read(struct loop_state *st, FILE *f)
{
	char line[512];
	int err = 0;

	while (!err && fgets(line, sizeof(line), f))
		err = side_line(st, line);
	return err;
}

/* ------------------------------------------------------------- files */

static int side_path(const char *path, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s.peers", path);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int mkdirs(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(dir, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(dir, 0700) && errno != EEXIST ? -errno : 0;
}

static int side_save(const struct loop_state *st, const char *path)
{
	char sp[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;
	int fd, err;

	err = side_path(path, sp, sizeof(sp));
	if (err)
		return err;
	snprintf(tmp, sizeof(tmp), "%s.tmp", sp);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return -ENOMEM;
	}
	err = loop_side_write(st, f);
	if (!err && (fflush(f) || fsync(fd)))
		err = -errno;
	if (fclose(f) && !err)
		err = -EIO;
	if (!err && rename(tmp, sp))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int loop_cache_save(const struct loop_state *st, const char *path)
{
	int err;

	if (!st->known)
		return 0;
	err = mkdirs(path);
	if (!err)
		err = cred_set_save(&st->set, path);
	if (!err)
		err = side_save(st, path);
	return err;
}

int loop_cache_load(struct loop_state *st, const char *path,
		    const uint8_t broker[32])
{
	char sp[PATH_MAX];
	struct cred_set s;
	struct stat sb;
	FILE *f;
	int fd, err;

	memset(&s, 0, sizeof(s));
	err = cred_set_load(&s, path, true);
	if (err)
		return err;
	/* A cache from before a broker key change is not trusted. */
	if (memcmp(s.broker, broker, 32) ||
	    !loop_identity_ok(s.loop_id, s.founder, st->name)) {
		cred_set_free(&s);
		return -EBADMSG;
	}
	loop_state_set_identity(st, s.loop_id, s.founder, broker);
	cred_set_free(&st->set);
	st->set = s;
	err = side_path(path, sp, sizeof(sp));
	if (err)
		return err;
	fd = open(sp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &sb) || sb.st_uid != geteuid() || (sb.st_mode & 077)) {
		close(fd);
		return -EPERM;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	err = loop_side_read(st, f);
	fclose(f);
	return err;
}

void loop_cache_remove(const char *path)
{
	char sp[PATH_MAX];

	unlink(path);
	if (!side_path(path, sp, sizeof(sp)))
		unlink(sp);
}
