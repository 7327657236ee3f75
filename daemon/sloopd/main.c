// SPDX-License-Identifier: MIT
/*
 * sloopd: one process per sloop device, started like pppd:
 *
 *	sloopd sloop0 call office
 *
 * A single epoll loop over the UDP socket, the kernel's event socket, a
 * timerfd and a signalfd (so no signal handler runs at all: signals
 * are read as data in the loop).  HUP drops and reconnects, TERM/INT exit
 * with status 5, USR1 toggles debug, USR2 rekeys, CHLD reaps scripts.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <sodium.h>

#include "broker.h"
#include "link.h"
#include "log.h"
#include "options.h"
#include "sdnotify.h"

struct loop {
	int ep, tfd, sfd;
	struct lk lk;
	struct brk brk;		/* loop mode only */
	bool loop_mode;
	struct ctl ctl;
	char pidfile[PATH_MAX];
	bool detach_on_up;
};

static int load_options(struct sloopd_options *o, int argc, char **argv)
{
	struct opt_env env;
	struct opt_error err;
	char msg[1024];
	const char *root = getenv("SLOOPD_ETC");

	opt_env_default(&env);
	if (root && *root)
		env.root = root;
	env.cmdline_privileged = getuid() == 0;
	if (opt_init(o)) {
		fprintf(stderr, "sloopd: out of memory\n");
		return LK_EXIT_FATAL;
	}
	if (opt_load(o, &env, argc, argv, &err) || (o->help || o->version) ||
	    opt_validate(o, &err)) {
		if (o->help) {
			opt_usage(stdout);
			return -1;
		}
		if (o->version) {
			printf("sloopd %s\n", SLOOP_VERSION);
			return -1;
		}
		opt_strerror(&err, msg, sizeof(msg));
		fprintf(stderr, "sloopd: %s\n", msg);
		return LK_EXIT_OPTIONS;
	}
	if (opt_check_secrets(o, &env, &err)) {
		opt_strerror(&err, msg, sizeof(msg));
		fprintf(stderr, "sloopd: %s\n", msg);
		return LK_EXIT_KEYS;
	}
	for (size_t i = 0; i < o->n_warnings; i++) {
		opt_strerror(&o->warnings[i], msg, sizeof(msg));
		fprintf(stderr, "sloopd: %s\n", msg);
	}
	if (o->dump || o->dryrun)
		opt_dump(o, stdout);
	return o->dryrun ? -1 : 0;
}

static int write_pidfile(struct loop *lp, const struct sloopd_options *o)
{
	FILE *f;

	if (opt_pidfile(o, lp->pidfile, sizeof(lp->pidfile)))
		return -1;
	f = fopen(lp->pidfile, "we");
	if (!f) {
		log_fail(REASON_PIDFILE, "%s: %s", lp->pidfile, strerror(errno));
		lp->pidfile[0] = 0;
		return -1;
	}
	fprintf(f, "%d\n%s\n", (int)getpid(), o->device);
	fclose(f);
	return 0;
}

/*
 * A signalfd wakes epoll through the signal handlers of the process that
 * added it to the epoll set: after the fork that is the parent, which
 * leaves, so the child re-adds it or it never hears TERM, HUP or CHLD.
 */
static void rearm_signals(struct loop *lp)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lp->sfd };

	if (lp->ep < 0 || lp->sfd < 0)
		return;
	epoll_ctl(lp->ep, EPOLL_CTL_DEL, lp->sfd, NULL);
	if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, lp->sfd, &ev))
		log_fail(REASON_DETACH, "signals after detaching: %s",
			 strerror(errno));
}

/*
 * daemon(3), except that the parent leaves only once the child wrote the
 * pid file: whoever started us (updetach: once the link is up) finds it.
 */
static void detach(struct loop *lp)
{
	int fds[2], null;
	pid_t pid;
	char c;

	if (pipe2(fds, O_CLOEXEC) || (pid = fork()) < 0) {
		log_fail(REASON_DETACH, "cannot detach: %s", strerror(errno));
		return;
	}
	if (pid > 0) {
		close(fds[1]);
		/* EOF without the byte: the child died first. */
		_exit(read(fds[0], &c, 1) == 1 ? LK_EXIT_OK : LK_EXIT_FATAL);
	}
	close(fds[0]);
	setsid();
	(void)!chdir("/");
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	log_open("sloopd", lp->lk.o->syslog_facility, NULL, false,
		 log_debug_on());
	rearm_signals(lp);
	write_pidfile(lp, lp->lk.o);
	(void)!write(fds[1], "r", 1);
	close(fds[1]);
}

static void on_first_up(void *ctx)
{
	struct loop *lp = ctx;

	sdnotify_send("READY=1");
	if (lp->detach_on_up) {
		lp->detach_on_up = false;
		detach(lp);
	}
}

static int add_fd(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Loop requests go to the broker client, the rest to the link. */
static int control(void *ctx, const struct ctl_req *r, FILE *out, char *why,
		   size_t len)
{
	struct loop *lp = ctx;

	switch (r->cmd) {
	case CTL_INVITE:
	case CTL_PENDING:
	case CTL_APPROVE:
	case CTL_REJECT:
	case CTL_REVOKE:
		break;
	default:
		return lk_control(&lp->lk, r, out, why, len);
	}
	if (!lp->loop_mode) {
		snprintf(why, len, "not a loop member (no loop option)");
		return -1;
	}
	if (r->cmd == CTL_INVITE)
		return brk_ctl_invite(&lp->brk, out, why, len);
	if (r->cmd == CTL_PENDING)
		return brk_ctl_pending(&lp->brk, out, why, len);
	if (!r->peer[0]) {
		snprintf(why, len, "%s needs a device name or key",
			 ctl_cmd_name(r->cmd));
		return -1;
	}
	if (r->cmd == CTL_REVOKE)
		return brk_ctl_revoke(&lp->brk, r->peer, out, why, len);
	return brk_ctl_decide(&lp->brk, r->peer, r->cmd == CTL_APPROVE, out,
			      why, len);
}

static int setup_loop(struct loop *lp)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	lp->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	lp->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	lp->ep = epoll_create1(EPOLL_CLOEXEC);
	if (lp->sfd < 0 || lp->tfd < 0 || lp->ep < 0 ||
	    add_fd(lp->ep, lp->sfd) || add_fd(lp->ep, lp->tfd) ||
	    add_fd(lp->ep, lp->lk.udp) ||
	    add_fd(lp->ep, knl_event_fd(&lp->lk.knl))) {
		log_fail(REASON_SOCKET, "event loop: %s", strerror(errno));
		return -1;
	}
	/* The link works without it; the failure is logged (E705). */
	ctl_open(&lp->ctl, lp->ep, lp->lk.linkname, control, lp);
	return 0;
}

static void arm_timer(struct loop *lp)
{
	uint64_t now = lk_now_ms(), d = lk_deadline(&lp->lk);
	struct itimerspec its = { 0 };
	uint64_t wait = d > now ? d - now : 1;

	if (wait > 1000)
		wait = 1000;
	its.it_value.tv_sec = (time_t)(wait / 1000);
	its.it_value.tv_nsec = (long)(wait % 1000) * 1000000;
	timerfd_settime(lp->tfd, 0, &its, NULL);
}

static void on_signal(struct loop *lp)
{
	struct signalfd_siginfo si;

	while (read(lp->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			lk_hangup(&lp->lk);
			break;
		case SIGTERM:
		case SIGINT:
			log_msg(LOG_NOTICE, "terminating on signal %u",
				si.ssi_signo);
			lp->lk.want_exit = true;
			lp->lk.exit_code = LK_EXIT_SIGNAL;
			break;
		case SIGUSR1:
			log_set_debug(!log_debug_on());
			log_msg(LOG_NOTICE, "debug %s", log_debug_on() ? "on" : "off");
			break;
		case SIGUSR2:
			lk_rekey_all(&lp->lk);
			break;
		case SIGCHLD:
			lk_reap_scripts(&lp->lk);
			break;
		}
	}
}

static void run(struct loop *lp)
{
	struct epoll_event evs[8];

	while (!lp->lk.want_exit) {
		int n;

		arm_timer(lp);
		n = epoll_wait(lp->ep, evs, 8, -1);
		if (n < 0 && errno != EINTR) {
			log_fail(REASON_SOCKET, "epoll: %s", strerror(errno));
			lp->lk.exit_code = LK_EXIT_FATAL;
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			uint64_t exp;

			if (fd == lp->sfd)
				on_signal(lp);
			else if (fd == lp->tfd)
				(void)!read(lp->tfd, &exp, sizeof(exp));
			else if (ctl_owns(&lp->ctl, fd))
				ctl_on_fd(&lp->ctl, fd, lk_now_ms());
			else if (lp->loop_mode && brk_owns(&lp->brk, fd))
				brk_on_fd(&lp->brk, evs[i].events);
			else if (fd == lp->lk.udp)
				lk_on_udp(&lp->lk);
			else
				lk_on_kernel(&lp->lk);
		}
		lk_tick(&lp->lk);
		if (lp->loop_mode)
			brk_tick(&lp->brk, lk_now_ms());
		ctl_expire(&lp->ctl, lk_now_ms());
	}
}

int main(int argc, char **argv)
{
	struct sloopd_options o;
	struct loop lp = { .ep = -1, .tfd = -1, .sfd = -1 };
	int rc;

	ctl_init(&lp.ctl);
	if (argc == 2 && !strcmp(argv[1], "--reason-table")) {
		reason_man_table(stdout);
		return 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "sloopd: libsodium failed to initialise\n");
		return LK_EXIT_FATAL;
	}
	rc = load_options(&o, argc, argv);
	if (rc) {
		opt_free(&o);
		return rc < 0 ? LK_EXIT_OK : rc;
	}
	umask(077);
	if (log_open("sloopd", o.syslog_facility, o.logfile, true, o.debug))
		fprintf(stderr, "sloopd: %s %s: %s: %s\n",
			reason_code(REASON_LOGFILE), reason_name(REASON_LOGFILE),
			o.logfile, strerror(errno));
	rc = lk_init(&lp.lk, &o);
	if (!rc)
		rc = lk_start(&lp.lk);
	if (!rc && setup_loop(&lp))
		rc = LK_EXIT_FATAL;
	if (!rc && o.loop) {
		rc = brk_init(&lp.brk, &lp.lk, &o, lp.ep);
		lp.loop_mode = true;
	}
	if (rc)
		goto out;
	lp.lk.on_first_up = on_first_up;
	lp.lk.ctx = &lp;
	if (o.updetach && !o.nodetach)
		lp.detach_on_up = true;
	else if (!o.nodetach)
		detach(&lp);
	else
		write_pidfile(&lp, &o);
	run(&lp);
	lk_shutdown(&lp.lk);
	rc = lp.lk.exit_code;
out:
	ctl_close(&lp.ctl);
	if (lp.loop_mode)
		brk_free(&lp.brk);
	if (lp.pidfile[0])
		unlink(lp.pidfile);
	lk_free(&lp.lk);
	if (lp.ep >= 0)
		close(lp.ep);
	if (lp.tfd >= 0)
		close(lp.tfd);
	if (lp.sfd >= 0)
		close(lp.sfd);
	log_close();
	opt_free(&o);
	return rc;
}
