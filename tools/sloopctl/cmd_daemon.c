// SPDX-License-Identifier: MIT
/*
 * Commands served by a running sloopd over its control socket,
 * $SLOOPD_RUN/<LINK>.sock (default /run/sloop): one request line, then
 * the daemon's text lines up to a last "ok" or "error ..." line.  The
 * protocol is described in daemon/sloopd/ctl.h.  `show` also asks every
 * daemon there for its `peers` (times only the daemon knows) and keeps
 * the answers of the daemons of the devices it shows.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmds.h"
#include "show.h"

#define SCTL_CTL_DIR	"/run/sloop"
#define SCTL_CTL_LINE	256

static const char *ctl_dir(void)
{
	const char *dir = getenv("SLOOPD_RUN");

	return dir && *dir ? dir : SCTL_CTL_DIR;
}

static int ctl_connect(const char *link)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *dir = ctl_dir();
	struct timeval tv = { .tv_sec = 10 };
	int fd, n;

	if (!*link || strchr(link, '/')) {
		fprintf(stderr, "sloopctl: bad link name '%s'\n", link);
		return -1;
	}
	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", dir,
		     link);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		fprintf(stderr, "sloopctl: socket path too long\n");
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "sloopctl: %s: %s (is sloopd running for %s?)\n",
			sa.sun_path, strerror(errno), link);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Prints the answer; the exit status from its last line. */
static int ctl_answer(int fd)
{
	FILE *in = fdopen(fd, "r");
	char line[1024], last[1024] = "";
	int rc = 1;

	if (!in) {
		close(fd);
		return 1;
	}
	while (fgets(line, sizeof(line), in)) {
		if (last[0])
			fputs(last, stdout);
		snprintf(last, sizeof(last), "%s", line);
	}
	fclose(in);
	if (!strcmp(last, "ok\n"))
		rc = 0;
	else if (!strncmp(last, "error ", 6))
		fprintf(stderr, "sloopctl: %s", last + 6);
	else
		fprintf(stderr, "sloopctl: no answer from the daemon\n");
	return rc;
}

static int ctl_request(const char *link, const char *cmd, const char *arg)
{
	char req[SCTL_CTL_LINE];
	int fd, n;

	n = snprintf(req, sizeof(req), "%s%s%s\n", cmd, arg ? " " : "",
		     arg ? arg : "");
	if (n < 0 || (size_t)n >= sizeof(req) || strpbrk(arg ? arg : "",
							 " \t\n")) {
		fprintf(stderr, "sloopctl: bad peer name\n");
		return 1;
	}
	fd = ctl_connect(link);
	if (fd < 0)
		return 1;
	/*
	 * A daemon that refuses us (not root) answers and closes before
	 * reading the request: the send then fails with EPIPE, but the
	 * answer is still there to read.
	 */
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n && errno != EPIPE) {
		fprintf(stderr, "sloopctl: sending to the daemon: %s\n",
			strerror(errno));
		close(fd);
		return 1;
	}
	shutdown(fd, SHUT_WR);
	return ctl_answer(fd);
}

static int peer_cmd(const char *cmd, int argc, char **argv)
{
	if (argc < 1 || argc > 2) {
		fprintf(stderr, "Usage: sloopctl %s LINK [PEER]\n", cmd);
		return 1;
	}
	return ctl_request(argv[0], cmd, argc == 2 ? argv[1] : NULL);
}

int sctl_cmd_rekey(int argc, char **argv)
{
	return peer_cmd("rekey", argc, argv);
}

int sctl_cmd_flush_keys(int argc, char **argv)
{
	return peer_cmd("flush-keys", argc, argv);
}

int sctl_cmd_shutdown(int argc, char **argv)
{
	return peer_cmd("shutdown", argc, argv);
}

int sctl_cmd_dump(int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "Usage: sloopctl dump LINK\n");
		return 1;
	}
	return ctl_request(argv[0], "dump", NULL);
}

/* Loop mode: the member's sloopd asks the broker and signs itself. */
int sctl_cmd_invite(int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "Usage: sloopctl invite LINK\n");
		return 1;
	}
	return ctl_request(argv[0], "invite", NULL);
}

int sctl_cmd_pending(int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "Usage: sloopctl pending LINK\n");
		return 1;
	}
	return ctl_request(argv[0], "pending", NULL);
}

static int decide_cmd(const char *cmd, int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "Usage: sloopctl %s LINK DEVICE\n", cmd);
		return 1;
	}
	return ctl_request(argv[0], cmd, argv[1]);
}

int sctl_cmd_approve(int argc, char **argv)
{
	return decide_cmd("approve", argc, argv);
}

int sctl_cmd_reject(int argc, char **argv)
{
	return decide_cmd("reject", argc, argv);
}

int sctl_cmd_revoke(int argc, char **argv)
{
	return decide_cmd("revoke", argc, argv);
}

/* ------------------------------------------------- show: sloopd's peers */

/* A show must not hang on a wedged daemon for long. */
#define SCTL_SHOW_TIMEOUT_S	2
#define SCTL_DPEERS_MAX		65536

static bool word_value(const char *w, const char *key, const char **val)
{
	size_t n = strlen(key);

	if (strncmp(w, key, n) || w[n] != '=')
		return false;
	*val = w + n + 1;
	return true;
}

static int get_u64(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end || x > max)
		return -1;
	*out = x;
	return 0;
}

static int get_u32(const char *v, uint32_t *out)
{
	uint64_t x;

	if (get_u64(v, UINT32_MAX, &x))
		return -1;
	*out = (uint32_t)x;
	return 0;
}

static int get_time(const char *v, int64_t *out)
{
	uint64_t x;

	if (get_u64(v, INT64_MAX, &x))
		return -1;
	*out = (int64_t)x;
	return 0;
}

static int get_name(const char *v, char *out, size_t cap)
{
	size_t n = strlen(v);

	if (!n || n >= cap)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
			return -1;
	memcpy(out, v, n + 1);
	return 0;
}

/* One key=value word of a `link` line; unknown keys are skipped. */
static int link_word(struct sctl_daemon *d, const char *w)
{
	const char *v;

	if (word_value(w, "name", &v))
		return get_name(v, d->link, sizeof(d->link));
	if (word_value(w, "device", &v))
		return get_name(v, d->device, sizeof(d->device));
	if (word_value(w, "ifindex", &v))
		return get_u32(v, &d->ifindex);
	if (word_value(w, "netns", &v))
		return get_u64(v, UINT64_MAX, &d->netns);
	return 0;
}

static int peer_word(struct sctl_dpeer *p, const char *w)
{
	const char *v;

	if (word_value(w, "name", &v))
		return get_name(v, p->name, sizeof(p->name));
	if (word_value(w, "state", &v)) {
		p->up = !strcmp(v, "up");
		return 0;
	}
	if (word_value(w, "id", &v))
		return get_u32(v, &p->id);
	if (word_value(w, "rekeys", &v))
		return get_u32(v, &p->rekeys);
	if (word_value(w, "handshake", &v))
		return get_time(v, &p->handshake);
	if (word_value(w, "rekey", &v))
		return get_time(v, &p->rekey);
	return 0;
}

static int add_peer(struct sctl_daemon *d, struct sctl_dpeer **out)
{
	struct sctl_dpeer *p;

	if (d->n_peers >= SCTL_DPEERS_MAX)
		return -1;
	/* Doubling at powers of two keeps many peers linear. */
	if (!(d->n_peers & (d->n_peers - 1))) {
		p = realloc(d->peers, (d->n_peers ? d->n_peers * 2 : 1) *
			    sizeof(*p));
		if (!p)
			return -1;
		d->peers = p;
	}
	*out = &d->peers[d->n_peers];
	memset(*out, 0, sizeof(**out));
	return 0;
}

int sctl_daemon_line(struct sctl_daemon *d, const char *line)
{
	char buf[512], *save = NULL, *w;
	struct sctl_dpeer *p = NULL;
	bool is_link;
	int rc = 0;

	if (strlen(line) >= sizeof(buf))
		return -1;
	memcpy(buf, line, strlen(line) + 1);
	buf[strcspn(buf, "\n")] = 0;
	w = strtok_r(buf, " ", &save);
	if (!w)
		return -1;
	is_link = !strcmp(w, "link");
	if (!is_link && strcmp(w, "peer"))
		return 0;	/* a newer daemon's line: not ours to judge */
	if (!is_link && add_peer(d, &p))
		return -1;
	while (!rc && (w = strtok_r(NULL, " ", &save)))
		rc = is_link ? link_word(d, w) : peer_word(p, w);
	if (rc)
		return -1;
	if (is_link)
		d->has_link = d->ifindex != 0;
	else if (p->id)
		d->n_peers++;
	return 0;
}

void sctl_daemon_free(struct sctl_daemon *d)
{
	free(d->peers);
	memset(d, 0, sizeof(*d));
}

static void merge_peer(struct sctl_peer_info *p, const struct sctl_dpeer *dp)
{
	p->has_daemon = true;
	p->up = dp->up;
	snprintf(p->name, sizeof(p->name), "%s", dp->name);
	p->last_handshake = dp->handshake;
	p->last_rekey = dp->rekey;
	p->n_rekeys = dp->rekeys;
}

void sctl_daemon_merge(struct sctl_show *s, uint64_t my_netns,
		       const struct sctl_daemon *d)
{
	if (!d->has_link || d->netns != my_netns)
		return;
	for (size_t i = 0; i < s->n_devs; i++) {
		struct sctl_dev_info *dev = &s->devs[i];

		if (dev->ifindex != d->ifindex)
			continue;
		snprintf(dev->daemon_link, sizeof(dev->daemon_link), "%s",
			 d->link);
		for (size_t j = 0; j < dev->n_peers; j++)
			for (size_t k = 0; k < d->n_peers; k++)
				if (dev->peers[j].id == d->peers[k].id)
					merge_peer(&dev->peers[j],
						   &d->peers[k]);
	}
}

/* 0 when the whole answer parsed and ended in "ok". */
static int read_peers(FILE *in, struct sctl_daemon *d)
{
	char *line = NULL;
	size_t cap = 0;
	bool ok = false, bad = false;

	while (getline(&line, &cap, in) > 0) {
		if (ok)
			bad = true;	/* nothing may follow "ok" */
		else if (!strcmp(line, "ok\n"))
			ok = true;
		else if (sctl_daemon_line(d, line))
			bad = true;
	}
	free(line);
	return ok && !bad ? 0 : -1;
}

static int ask_peers(const char *path, struct sctl_daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = SCTL_SHOW_TIMEOUT_S };
	static const char req[] = "peers\n";
	FILE *in;
	int fd, rc;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >=
	    sizeof(sa.sun_path))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(req) - 1) {
		close(fd);
		return -1;
	}
	shutdown(fd, SHUT_WR);
	in = fdopen(fd, "r");
	if (!in) {
		close(fd);
		return -1;
	}
	rc = read_peers(in, d);
	fclose(in);
	return rc;
}

static uint64_t my_netns(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (uint64_t)st.st_ino;
}

static bool is_socket_name(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && !strcmp(name + n - 5, ".sock");
}

void sctl_show_daemons(struct sctl_show *s)
{
	const char *dir = ctl_dir();
	uint64_t ns = my_netns();
	struct dirent *e;
	DIR *dp;

	/* Not root, or no daemon ever ran: nothing to add, no complaint. */
	if (!s->n_devs || !(dp = opendir(dir)))
		return;
	while ((e = readdir(dp))) {
		struct sctl_daemon d = { 0 };
		char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

		if (!is_socket_name(e->d_name) ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     e->d_name) >= sizeof(path))
			continue;
		if (!ask_peers(path, &d))
			sctl_daemon_merge(s, ns, &d);
		sctl_daemon_free(&d);
	}
	closedir(dp);
}
