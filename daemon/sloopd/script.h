/* SPDX-License-Identifier: MIT */
/*
 * ip-pre-up / ip-up / ip-down, pppd style.  Arguments:
 *
 *   SCRIPT IFNAME PEERNAME 0 IPLOCAL IPREMOTE LINKNAME
 *
 * (pppd's "interface tty speed local remote ipparam", with the peer's
 * name where pppd has the tty and 0 for the speed).  The environment is
 * cleared and set to PATH, IFNAME, IPLOCAL, IPREMOTE, PEERNAME, LINKNAME,
 * and for ip-down CONNECT_TIME (s), BYTES_SENT, BYTES_RCVD.
 *
 * ip-up and ip-down run in the background, one at a time, in the order
 * asked, so that an up and a down never overlap; ip-pre-up is waited for.
 * A missing script is not an error (pppd's rule).
 */
#ifndef SLOOPD_SCRIPT_H
#define SLOOPD_SCRIPT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SCR_QUEUE	32
#define SCR_ARGS	7
#define SCR_ENVS	10
#define SCR_TIMEOUT_MS	30000

struct scr_vars {
	const char *ifname, *peername, *iplocal, *ipremote, *linkname;
	bool down;
	uint64_t connect_time_s, bytes_sent, bytes_rcvd;
};

struct scr_job {
	char *argv[SCR_ARGS + 1];
	char *envp[SCR_ENVS + 1];
};

struct scripts {
	pid_t running;
	char running_name[64];
	struct scr_job q[SCR_QUEUE];
	unsigned int head, n;
};

void scr_init(struct scripts *s);
/* Queues path (if it exists) and starts it when nothing else runs. */
int scr_queue(struct scripts *s, const char *path, const struct scr_vars *v);
/* Runs path and waits (at most timeout_ms); 0 when it exited 0. */
int scr_run_wait(const char *path, const struct scr_vars *v,
		 unsigned int timeout_ms);
/* After SIGCHLD: reaps, logs, starts the next one. */
void scr_reap(struct scripts *s);
/* At exit: waits for what runs and what is queued (ip-down). */
void scr_drain(struct scripts *s, unsigned int timeout_ms);
void scr_free(struct scripts *s);
/* For the unit test: the argument and environment vectors (malloc'd). */
int scr_build(struct scr_job *j, const char *path, const struct scr_vars *v);
void scr_job_free(struct scr_job *j);

#endif
