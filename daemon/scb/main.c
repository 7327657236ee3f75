// SPDX-License-Identifier: MIT
/*
 * sloop-scb: the loop broker (docs/broker.md, sloop-scb(8)).
 *
 * Start-up order matters: everything that can fail for a reason the
 * admin must see (options, key, store, binding) happens before
 * detaching, so the exit status and stderr tell; threads start after
 * the fork because they would not survive it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "handlers.h"
#include "noise.h"
#include "scbopts.h"
#include "server.h"
#include "store.h"

#ifndef SLOOP_VERSION
#define SLOOP_VERSION "unknown"
#endif

enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,		/* options or config file */
	EXIT_KEY = 2,		/* broker key unreadable */
	EXIT_STORE = 3,		/* database cannot be opened */
	EXIT_NET = 4,		/* cannot bind / start */
	EXIT_FATAL = 5,		/* the event loop failed */
};

static volatile sig_atomic_t stop_flag, hup_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void on_hup_sig(int sig)
{
	(void)sig;
	hup_flag = 1;
}

static void signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup_sig;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static void reopen_log(void)
{
	if (scblog_reopen())
		scblog(LOG_ERR, "B501 internal: cannot reopen the log: %s",
		       strerror(errno));
	else
		scblog(LOG_INFO, "log reopened");
}

static void store_log(void *ctx, const char *msg)
{
	(void)ctx;
	scblog(LOG_ERR, "B500 store: %s", msg);
}

/* Without `ula`: fd + 40 bits of a hash of the broker key (RFC 4193). */
static void default_ula(uint8_t ula[6], const uint8_t pk[32])
{
	uint8_t h[16];

	crypto_generichash(h, sizeof(h), pk, 32,
			   (const uint8_t *)"sloop ula v1", 12);
	ula[0] = 0xfd;
	memcpy(ula + 1, h, 5);
}

/* Thousands of devices: one descriptor each. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int write_pidfile(const char *path)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (fd < 0)
		return -1;
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int open_store(struct store **st, const struct scbo *o,
		      const uint8_t pk[32])
{
	struct store_limits lim = {
		.users = o->max_users, .devices = o->max_devices,
		.loops = o->max_loops,
	};
	uint8_t ula[6];

	if (o->has_ula)
		memcpy(ula, o->ula, 6);
	else
		default_ula(ula, pk);
	return store_open(st, o->db, ula, &lim, store_log, NULL);
}

static int listen_addrs(const struct scbo *o, struct sockaddr_storage *ss,
			socklen_t *lens)
{
	for (int i = 0; i < o->n_listen; i++)
		if (scbo_parse_listen(o->listen[i], &ss[i], &lens[i]))
			return -1;
	return o->n_listen;
}

static int run(const struct scbo *o, const uint8_t sk[64])
{
	struct sockaddr_storage ss[SCBO_LISTEN_MAX];
	socklen_t lens[SCBO_LISTEN_MAX];
	struct scbh_ctx *x = calloc(1, sizeof(*x));
	struct store *st = NULL;
	struct scbs *srv = NULL;
	struct scbs_stats stats;
	uint8_t pk[32], bx[32];
	int rc = EXIT_OK, n;

	crypto_sign_ed25519_sk_to_pk(pk, sk);
	if (!x)
		return EXIT_FATAL;
	if (open_store(&st, o, pk)) {
		fprintf(stderr, "sloop-scb: %s: cannot open the store\n", o->db);
		free(x);
		return EXIT_STORE;
	}
	if (scbh_init(x, st, sk)) {
		rc = EXIT_FATAL;
		goto out_store;
	}
	x->default_limit = o->default_limit;
	x->cred_lifetime = o->cred_lifetime;
	memcpy(x->admins, o->admins, sizeof(o->admins[0]) * o->n_admins);
	x->n_admins = o->n_admins;
	n = listen_addrs(o, ss, lens);
	crypto_sign_ed25519_sk_to_curve25519(bx, sk);
	if (n <= 0 || scbs_open(&srv, x, ss, lens, n, bx)) {
		fprintf(stderr, "sloop-scb: cannot listen on %s: %s\n",
			o->listen[0], strerror(errno));
		rc = EXIT_NET;
		goto out_srv;
	}
	sodium_memzero(bx, sizeof(bx));
	if (!o->nodetach && daemon(0, 0)) {
		rc = EXIT_FATAL;
		goto out_srv;
	}
	if (o->pidfile && write_pidfile(o->pidfile))
		scblog(LOG_WARNING, "cannot write %s: %s", o->pidfile,
		       strerror(errno));
	if (scbs_start_workers(srv, SCBS_WORKERS)) {
		scblog(LOG_ERR, "B501 internal: no worker threads");
		rc = EXIT_FATAL;
		goto out_pid;
	}
	scblog(LOG_NOTICE, "sloop-scb %s listening on %s (%d admin keys)",
	       SLOOP_VERSION, o->listen[0], o->n_admins);
	if (scbs_run(srv, &stop_flag, &hup_flag, reopen_log))
		rc = EXIT_FATAL;
	scbs_stats(srv, &stats);
	scblog(LOG_NOTICE,
	       "stopping: %llu connections, %llu handshake timeouts, %llu slow readers dropped, %llu bad records, %llu refusals",
	       (unsigned long long)stats.accepted,
	       (unsigned long long)stats.hs_timeouts,
	       (unsigned long long)stats.dropped_slow,
	       (unsigned long long)stats.bad_records,
	       (unsigned long long)x->st.refused);
out_pid:
	if (o->pidfile)
		unlink(o->pidfile);
out_srv:
	scbs_close(srv);
	scbh_destroy(x);
out_store:
	store_close(st);
	sodium_memzero(x, sizeof(*x));
	free(x);
	return rc;
}

int main(int argc, char **argv)
{
	struct scbo o;
	struct scbo_err err;
	uint8_t sk[64];
	int rc;

	scbo_init(&o);
	if (scbo_load(&o, argc, argv, &err)) {
		fprintf(stderr, "sloop-scb: %s\n", err.msg);
		scbo_free(&o);
		return EXIT_USAGE;
	}
	if (o.help || o.version) {
		if (o.help)
			scbo_usage(stdout);
		else
			printf("sloop-scb %s\n", SLOOP_VERSION);
		scbo_free(&o);
		return EXIT_OK;
	}
	if (noise_init()) {
		fprintf(stderr, "sloop-scb: libsodium failed to initialise\n");
		scbo_free(&o);
		return EXIT_FATAL;
	}
	if (scbo_read_key(o.key, true, sk, &err)) {
		fprintf(stderr, "sloop-scb: %s\n", err.msg);
		scbo_free(&o);
		return EXIT_KEY;
	}
	umask(077);
	raise_nofile();
	signals();
	if (scblog_open(o.logfile, o.nodetach, o.debug)) {
		fprintf(stderr, "sloop-scb: %s: %s\n", o.logfile,
			strerror(errno));
		sodium_memzero(sk, sizeof(sk));
		scbo_free(&o);
		return EXIT_USAGE;
	}
	rc = run(&o, sk);
	sodium_memzero(sk, sizeof(sk));
	scblog_close();
	scbo_free(&o);
	return rc;
}
