// SPDX-License-Identifier: MIT
/*
 * Commands served by a running sloopd over its control socket,
 * $SLOOPD_RUN/<LINK>.sock (default /run/sloop): one request line, then
 * the daemon's text lines up to a last "ok" or "error ..." line.  The
 * protocol is described in daemon/sloopd/ctl.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmds.h"

#define SCTL_CTL_DIR	"/run/sloop"
#define SCTL_CTL_LINE	256

static int ctl_connect(const char *link)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *dir = getenv("SLOOPD_RUN");
	struct timeval tv = { .tv_sec = 10 };
	int fd, n;

	if (!dir || !*dir)
		dir = SCTL_CTL_DIR;
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
