// SPDX-License-Identifier: MIT
/*
 * sloopctl attach / ctrl / monitor: the commands that keep a netlink
 * socket open.  `attach` is the device's owner for as long as it runs:
 * the kernel ties the device's peers, keys and UDP socket to this
 * process's netlink socket, so exiting (or being killed) releases them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>
#include <sloop/uapi.h>
#include <sloop/wire.h>

#include "cmds.h"
#include "nl.h"
#include "parse.h"

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	stop_requested = 1;
}

/* TERM and INT stay blocked except inside ppoll(), so a signal can
 * never slip in between the flag check and the wait.
 */
static int setup_signals(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL))
		return -1;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	if (sigprocmask(SIG_BLOCK, &block, waitmask))
		return -1;
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGINT);
	return 0;
}

static int no_seq_check(struct nl_msg *msg, void *arg)
{
	return NL_OK;
}

static void print_hex_line(const char *prefix, const uint8_t *buf,
			   size_t len)
{
	char *hex = malloc(len * 2 + 1);

	if (!hex) {
		printf("%s (out of memory)\n", prefix);
		return;
	}
	sodium_bin2hex(hex, len * 2 + 1, buf, len);
	printf("%s %s\n", prefix, hex);
	free(hex);
}

static bool peer_id_of(struct nlattr *peer, uint32_t *id)
{
	struct nlattr *tb[SLOOP_PEER_A_MAX + 1];

	return peer && !nla_parse_nested(tb, SLOOP_PEER_A_MAX, peer, NULL) &&
	       snl_nla_u32(tb[SLOOP_PEER_A_ID], id);
}

/* ---------------------------------------------------------------- attach */

struct attach_opts {
	const char *dev;
	const char *ready_file;
	uint16_t port;
	int family;		/* AF_INET, AF_INET6, AF_UNSPEC: dual */
};

static int attach_opt(struct attach_opts *o, const char *kw, const char *v)
{
	uint32_t port;

	if (!strcmp(kw, "port")) {
		if (sctl_parse_u32(v, &port) || port > 65535) {
			fprintf(stderr, "sloopctl attach: bad port '%s'\n", v);
			return -1;
		}
		o->port = (uint16_t)port;
	} else if (!strcmp(kw, "family")) {
		if (sctl_parse_family(v, &o->family)) {
			fprintf(stderr,
				"sloopctl attach: bad family '%s': expected 4, 6 or dual\n",
				v);
			return -1;
		}
	} else if (!strcmp(kw, "--ready-file")) {
		o->ready_file = v;
	} else {
		fprintf(stderr, "sloopctl attach: unknown option '%s'\n", kw);
		return -1;
	}
	return 0;
}

static int parse_attach(int argc, char **argv, struct attach_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->port = SLOOP_DEFAULT_PORT;
	o->family = AF_UNSPEC;
	if (argc < 1) {
		fprintf(stderr,
			"Usage: sloopctl attach DEV [port N] [family 4|6|dual] [--ready-file F]\n");
		return -1;
	}
	o->dev = argv[0];
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc) {
			fprintf(stderr, "sloopctl attach: '%s' needs a value\n",
				argv[i]);
			return -1;
		}
		if (attach_opt(o, argv[i], argv[i + 1]))
			return -1;
	}
	return 0;
}

static int open_udp(const struct attach_opts *o)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fam = o->family == AF_INET ? AF_INET : AF_INET6;
	int v6only = o->family == AF_INET6, fd;

	memset(&ss, 0, sizeof(ss));
	fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		perror("sloopctl attach: socket");
		return -1;
	}
	if (fam == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(o->port);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(o->port);
		len = sizeof(*sin6);
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
			       sizeof(v6only))) {
			perror("sloopctl attach: IPV6_V6ONLY");
			goto close_fd;
		}
	}
	if (bind(fd, (struct sockaddr *)&ss, len)) {
		fprintf(stderr, "sloopctl attach: bind to port %u: %s\n",
			o->port, strerror(errno));
		goto close_fd;
	}
	return fd;
close_fd:
	close(fd);
	return -1;
}

static int write_ready_file(const char *path)
{
	char tmp[4096];
	FILE *f;

	/* Written under a temporary name and renamed, so that a waiting
	 * test never reads it half-written.
	 */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
		fprintf(stderr, "sloopctl attach: writing %s: %s\n", tmp,
			strerror(errno));
		return -1;
	}
	if (rename(tmp, path)) {
		fprintf(stderr, "sloopctl attach: renaming to %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int on_owner_msg(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gh = nlmsg_data(nlh);
	struct nlattr *tb[SLOOP_A_MAX + 1];
	char prefix[64];
	uint32_t id;

	if (gh->cmd != SLOOP_CMD_CTRL_RECV || snl_parse(nlh, tb))
		return NL_OK;
	if (!peer_id_of(tb[SLOOP_A_PEER], &id) || !tb[SLOOP_A_CTRL]) {
		fprintf(stderr, "sloopctl attach: malformed CTRL_RECV\n");
		return NL_OK;
	}
	snprintf(prefix, sizeof(prefix), "ctrl peer %u", id);
	print_hex_line(prefix, nla_data(tb[SLOOP_A_CTRL]),
		       (size_t)nla_len(tb[SLOOP_A_CTRL]));
	return NL_OK;
}

/* Whatever the kernel does not consume falls through to our socket;
 * nobody here speaks the handshake, so it is only counted.
 */
static void drain_udp(int fd, unsigned long long *count)
{
	char buf[65536];

	while (recv(fd, buf, sizeof(buf), 0) >= 0)
		(*count)++;
}

static int owner_loop(struct snl *nl, int udp, const sigset_t *waitmask)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	struct pollfd pfd[2] = {
		{ .fd = snl_fd(nl), .events = POLLIN },
		{ .fd = udp, .events = POLLIN },
	};
	unsigned long long passthrough = 0;
	int ret;

	if (!cb)
		return -1;
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, no_seq_check, NULL);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_owner_msg, NULL);
	while (!stop_requested) {
		ret = ppoll(pfd, 2, NULL, waitmask);
		if (ret < 0 && errno != EINTR) {
			perror("sloopctl attach: poll");
			break;
		}
		if (ret > 0 && (pfd[0].revents & POLLIN) &&
		    nl_recvmsgs(nl->sk, cb) < 0)
			fprintf(stderr,
				"sloopctl attach: netlink receive error (control messages may be lost)\n");
		if (ret > 0 && (pfd[1].revents & POLLIN))
			drain_udp(udp, &passthrough);
	}
	nl_cb_put(cb);
	fprintf(stderr, "sloopctl attach: %llu packets fell through to the socket\n",
		passthrough);
	return 0;
}

static int send_attach(struct snl *nl, const char *dev, int udp,
		       uint8_t cmd)
{
	struct nl_msg *msg = snl_msg(nl, cmd, false);
	int ret;

	if (!msg)
		return -1;
	if (sctl_nl_put_dev(msg, dev) ||
	    (cmd == SLOOP_CMD_DEV_ATTACH &&
	     nla_put_u32(msg, SLOOP_A_SOCK_FD, (uint32_t)udp))) {
		nlmsg_free(msg);
		return -1;
	}
	ret = snl_exec(nl, msg, NULL, NULL);
	if (ret)
		sctl_nl_perror(nl, cmd == SLOOP_CMD_DEV_ATTACH ? "attach" :
			       "detach", ret);
	return ret ? -1 : 0;
}

int sctl_cmd_attach(int argc, char **argv)
{
	struct attach_opts o;
	struct snl nl;
	sigset_t waitmask;
	int udp, ret = 1;

	if (parse_attach(argc, argv, &o))
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (setup_signals(&waitmask)) {
		perror("sloopctl attach: signals");
		return 1;
	}
	udp = open_udp(&o);
	if (udp < 0)
		return 1;
	if (sctl_nl_open(&nl))
		goto close_udp;
	if (send_attach(&nl, o.dev, udp, SLOOP_CMD_DEV_ATTACH))
		goto close_nl;
	if (o.ready_file && write_ready_file(o.ready_file))
		goto close_nl;
	owner_loop(&nl, udp, &waitmask);
	/* An explicit detach says "on purpose"; closing would do as well. */
	send_attach(&nl, o.dev, udp, SLOOP_CMD_DEV_DETACH);
	ret = 0;
close_nl:
	snl_close(&nl);
close_udp:
	close(udp);
	return ret;
}

/* ------------------------------------------------------------------ ctrl */

static int read_hex_stdin(uint8_t *buf, size_t max, size_t *len)
{
	char *text = malloc(max * 2 + 2), err[SCTL_ERR_LEN];
	size_t n = 0;
	int c, ret;

	if (!text)
		return -1;
	while ((c = getchar()) != EOF) {
		if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
			continue;
		if (n >= max * 2 + 1)
			break;
		text[n++] = (char)c;
	}
	text[n] = '\0';
	ret = sctl_parse_hex(text, buf, max, len, err);
	if (ret)
		fprintf(stderr, "sloopctl ctrl: %s\n", err);
	free(text);
	return ret;
}

static int parse_ctrl(int argc, char **argv, uint32_t *id, uint8_t *buf,
		      size_t *len)
{
	char err[SCTL_ERR_LEN];

	if (argc != 4 || strcmp(argv[1], "peer")) {
		fprintf(stderr, "Usage: sloopctl ctrl DEV peer ID HEX|-\n");
		return -1;
	}
	if (sctl_parse_u32(argv[2], id) || !*id) {
		fprintf(stderr, "sloopctl ctrl: bad peer id '%s'\n", argv[2]);
		return -1;
	}
	if (!strcmp(argv[3], "-"))
		return read_hex_stdin(buf, SLOOP_CTRL_MAX, len);
	if (sctl_parse_hex(argv[3], buf, SLOOP_CTRL_MAX, len, err)) {
		fprintf(stderr, "sloopctl ctrl: %s\n", err);
		return -1;
	}
	return 0;
}

int sctl_cmd_ctrl(int argc, char **argv)
{
	uint8_t buf[SLOOP_CTRL_MAX];
	struct nlattr *nest;
	struct nl_msg *msg;
	struct snl nl;
	size_t len = 0;
	uint32_t id;
	int ret;

	if (parse_ctrl(argc, argv, &id, buf, &len) || sctl_nl_open(&nl))
		return 1;
	msg = snl_msg(&nl, SLOOP_CMD_CTRL_SEND, false);
	if (!msg || sctl_nl_put_dev(msg, argv[0]) ||
	    !(nest = nla_nest_start(msg, SLOOP_A_PEER)) ||
	    nla_put_u32(msg, SLOOP_PEER_A_ID, id)) {
		if (msg)
			nlmsg_free(msg);
		snl_close(&nl);
		return 1;
	}
	nla_nest_end(msg, nest);
	if (nla_put(msg, SLOOP_A_CTRL, (int)len, buf)) {
		nlmsg_free(msg);
		snl_close(&nl);
		return 1;
	}
	ret = snl_exec(&nl, msg, NULL, NULL);
	if (ret)
		sctl_nl_perror(&nl, "ctrl", ret);
	snl_close(&nl);
	return ret ? 1 : 0;
}

/* --------------------------------------------------------------- monitor */

static const char *reason_name(uint32_t r)
{
	static const char *const names[] = {
		[SLOOP_DOWN_UNSPEC] = "unspecified",
		[SLOOP_DOWN_DELETED] = "deleted",
		[SLOOP_DOWN_DETACHED] = "detached",
		[SLOOP_DOWN_KEY_EXHAUSTED] = "key-exhausted",
		[SLOOP_DOWN_DEVICE_GONE] = "device-gone",
	};

	return r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

static void ntf_dev_name(struct nlattr **tb, char *name)
{
	uint32_t idx = 0;

	if (tb[SLOOP_A_IFNAME] && nla_len(tb[SLOOP_A_IFNAME]) > 0) {
		snprintf(name, IF_NAMESIZE, "%.*s", nla_len(tb[SLOOP_A_IFNAME]),
			 (char *)nla_data(tb[SLOOP_A_IFNAME]));
		return;
	}
	if (!snl_nla_u32(tb[SLOOP_A_IFINDEX], &idx) ||
	    !if_indextoname(idx, name))
		snprintf(name, IF_NAMESIZE, "if%u", idx);
}

static void print_endpoint(const char *dev, uint32_t id, struct nlattr *peer)
{
	struct nlattr *tb[SLOOP_PEER_A_MAX + 1];
	struct sockaddr_storage ss;
	char buf[INET6_ADDRSTRLEN + 16] = "(none)";
	size_t len;

	if (!nla_parse_nested(tb, SLOOP_PEER_A_MAX, peer, NULL) &&
	    tb[SLOOP_PEER_A_ENDPOINT]) {
		len = (size_t)nla_len(tb[SLOOP_PEER_A_ENDPOINT]);
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, nla_data(tb[SLOOP_PEER_A_ENDPOINT]),
		       len < sizeof(ss) ? len : sizeof(ss));
		sctl_format_sockaddr((struct sockaddr *)&ss, len, buf,
				     sizeof(buf));
	}
	printf("endpoint %s peer %u %s\n", dev, id, buf);
}

static int on_notify(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gh = nlmsg_data(nlh);
	struct nlattr *tb[SLOOP_A_MAX + 1], *ktb[SLOOP_KEY_A_MAX + 1];
	uint32_t only = *(uint32_t *)arg, idx = 0, id = 0, reason = 0;
	char dev[IF_NAMESIZE];
	uint8_t phase = 0;

	if (snl_parse(nlh, tb))
		return NL_OK;
	snl_nla_u32(tb[SLOOP_A_IFINDEX], &idx);
	if (only && idx != only)
		return NL_OK;
	ntf_dev_name(tb, dev);
	peer_id_of(tb[SLOOP_A_PEER], &id);
	switch (gh->cmd) {
	case SLOOP_CMD_PEER_DOWN_NTF:
		snl_nla_u32(tb[SLOOP_A_REASON], &reason);
		printf("peer-down %s peer %u reason %s\n", dev, id,
		       reason_name(reason));
		break;
	case SLOOP_CMD_KEY_LIMIT_NTF:
		if (tb[SLOOP_A_KEY] &&
		    !nla_parse_nested(ktb, SLOOP_KEY_A_MAX, tb[SLOOP_A_KEY],
				      NULL))
			snl_nla_u8(ktb[SLOOP_KEY_A_PHASE], &phase);
		printf("key-limit %s peer %u phase %u\n", dev, id, phase);
		break;
	case SLOOP_CMD_ENDPOINT_NTF:
		if (tb[SLOOP_A_PEER])
			print_endpoint(dev, id, tb[SLOOP_A_PEER]);
		break;
	default:
		break;
	}
	return NL_OK;
}

static int monitor_loop(struct snl *nl, uint32_t only,
			const sigset_t *waitmask)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	struct pollfd pfd = { .fd = snl_fd(nl),
			      .events = POLLIN };

	if (!cb)
		return 1;
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, no_seq_check, NULL);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_notify, &only);
	while (!stop_requested) {
		int ret = ppoll(&pfd, 1, NULL, waitmask);

		if (ret < 0 && errno != EINTR) {
			perror("sloopctl monitor: poll");
			break;
		}
		if (ret > 0 && nl_recvmsgs(nl->sk, cb) < 0)
			fprintf(stderr,
				"sloopctl monitor: receive error (notifications may be lost)\n");
	}
	nl_cb_put(cb);
	return 0;
}

int sctl_cmd_monitor(int argc, char **argv)
{
	struct snl nl;
	sigset_t waitmask;
	uint32_t only = 0;
	int ret;

	if (argc > 1) {
		fprintf(stderr, "Usage: sloopctl monitor [DEV]\n");
		return 1;
	}
	if (argc == 1 && !(only = if_nametoindex(argv[0]))) {
		fprintf(stderr, "sloopctl monitor: no such device '%s'\n",
			argv[0]);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (setup_signals(&waitmask) || sctl_nl_open(&nl))
		return 1;
	if (snl_join(&nl, SLOOP_MCGRP_NOTIFY)) {
		fprintf(stderr, "sloopctl monitor: cannot join group '%s'\n",
			SLOOP_MCGRP_NOTIFY);
		snl_close(&nl);
		return 1;
	}
	ret = monitor_loop(&nl, only, &waitmask);
	snl_close(&nl);
	return ret;
}
