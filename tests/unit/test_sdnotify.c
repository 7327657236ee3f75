// SPDX-License-Identifier: MIT
/* sd_notify without libsystemd: path and abstract sockets, no socket. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "unit.h"
#include "../../daemon/sloopd/sdnotify.h"

/* Bind a datagram socket at name ('@' = abstract) and return it. */
static int listener(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	if (fd < 0)
		return -1;
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	if (bind(fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int received(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);

	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

TEST(sdnotify_abstract_and_path)
{
	char name[64], buf[64];
	int fd;

	snprintf(name, sizeof(name), "@sloop-unit-sdnotify-%d", (int)getpid());
	fd = listener(name);
	CHECK(fd >= 0);
	setenv("NOTIFY_SOCKET", name, 1);
	CHECK_EQ_INT(sdnotify_send("READY=1"), 0);
	CHECK_EQ_INT(received(fd, buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "READY=1");
	close(fd);

	snprintf(name, sizeof(name), "/tmp/sloop-unit-sdnotify-%d", (int)getpid());
	unlink(name);
	fd = listener(name);
	CHECK(fd >= 0);
	setenv("NOTIFY_SOCKET", name, 1);
	CHECK_EQ_INT(sdnotify_send("STATUS=up"), 0);
	CHECK_EQ_INT(received(fd, buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "STATUS=up");
	close(fd);
	unlink(name);
	unsetenv("NOTIFY_SOCKET");
}

TEST(sdnotify_without_or_with_bad_socket)
{
	unsetenv("NOTIFY_SOCKET");
	CHECK_EQ_INT(sdnotify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	CHECK_EQ_INT(sdnotify_send("READY=1"), -1);
	setenv("NOTIFY_SOCKET", "/nonexistent/sloop-notify", 1);
	CHECK_EQ_INT(sdnotify_send("READY=1"), -1);
	unsetenv("NOTIFY_SOCKET");
}
