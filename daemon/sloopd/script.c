// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "script.h"

void scr_init(struct scripts *s)
{
	memset(s, 0, sizeof(*s));
}

static char *fmt(const char *f, const char *a)
{
	char *out;

	return asprintf(&out, f, a ? a : "") < 0 ? NULL : out;
}

static char *fmt_u64(const char *name, uint64_t v)
{
	char *out;

	return asprintf(&out, "%s=%llu", name, (unsigned long long)v) < 0 ?
	       NULL : out;
}

void scr_job_free(struct scr_job *j)
{
	for (int i = 0; i <= SCR_ARGS; i++)
		free(j->argv[i]);
	for (int i = 0; i <= SCR_ENVS; i++)
		free(j->envp[i]);
	memset(j, 0, sizeof(*j));
}

int scr_build(struct scr_job *j, const char *path, const struct scr_vars *v)
{
	int e = 0;

	memset(j, 0, sizeof(*j));
	j->argv[0] = fmt("%s", path);
	j->argv[1] = fmt("%s", v->ifname);
	j->argv[2] = fmt("%s", v->peername);
	j->argv[3] = fmt("%s", "0");
	j->argv[4] = fmt("%s", v->iplocal);
	j->argv[5] = fmt("%s", v->ipremote);
	j->argv[6] = fmt("%s", v->linkname);
	j->envp[e++] = fmt("%s", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	j->envp[e++] = fmt("IFNAME=%s", v->ifname);
	j->envp[e++] = fmt("IPLOCAL=%s", v->iplocal);
	j->envp[e++] = fmt("IPREMOTE=%s", v->ipremote);
	j->envp[e++] = fmt("PEERNAME=%s", v->peername);
	j->envp[e++] = fmt("LINKNAME=%s", v->linkname);
	if (v->down) {
		j->envp[e++] = fmt_u64("CONNECT_TIME", v->connect_time_s);
		j->envp[e++] = fmt_u64("BYTES_SENT", v->bytes_sent);
		j->envp[e++] = fmt_u64("BYTES_RCVD", v->bytes_rcvd);
	}
	for (int i = 0; i < SCR_ARGS; i++)
		if (!j->argv[i])
			goto nomem;
	for (int i = 0; i < e; i++)
		if (!j->envp[i])
			goto nomem;
	return 0;
nomem:
	scr_job_free(j);
	return -1;
}

static pid_t spawn(struct scr_job *j)
{
	pid_t pid = fork();

	if (pid == 0) {
		sigset_t none;
		int fd = open("/dev/null", O_RDWR);

		/* The daemon blocks signals for signalfd; scripts must not. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (fd >= 0) {
			dup2(fd, 0);
			if (fd > 2)
				close(fd);
		}
		setsid();
		execve(j->argv[0], j->argv, j->envp);
		_exit(127);
	}
	return pid;
}

static void report(const char *name, int status)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		log_fail(REASON_SCRIPT_EXEC, "%s could not be run", name);
	else if (WIFEXITED(status) && WEXITSTATUS(status))
		log_fail(REASON_SCRIPT_EXIT, "%s exited with status %d", name,
			 WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_fail(REASON_SCRIPT_SIGNAL, "%s killed by signal %d", name,
			 WTERMSIG(status));
	else
		log_dbg("%s finished", name);
}

static void start_next(struct scripts *s)
{
	struct scr_job *j;

	while (!s->running && s->n) {
		j = &s->q[s->head];
		s->head = (s->head + 1) % SCR_QUEUE;
		s->n--;
		snprintf(s->running_name, sizeof(s->running_name), "%s",
			 j->argv[0]);
		s->running = spawn(j);
		if (s->running < 0) {
			log_fail(REASON_SCRIPT_EXEC, "%s: fork: %s",
				 j->argv[0], strerror(errno));
			s->running = 0;
		} else {
			log_msg(LOG_INFO, "running %s", j->argv[0]);
		}
		scr_job_free(j);
	}
}

int scr_queue(struct scripts *s, const char *path, const struct scr_vars *v)
{
	struct scr_job *j;

	if (!path || access(path, X_OK))
		return 0;
	if (s->n == SCR_QUEUE) {
		log_fail(REASON_SCRIPT_EXEC, "%s: too many scripts queued", path);
		return -1;
	}
	j = &s->q[(s->head + s->n) % SCR_QUEUE];
	if (scr_build(j, path, v)) {
		log_fail(REASON_NOMEM, "%s: out of memory", path);
		return -1;
	}
	s->n++;
	start_next(s);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits for pid until deadline; kills it past that.  Returns the status. */
static int wait_until(pid_t pid, uint64_t deadline, const char *name)
{
	int status = 0;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= deadline) {
			log_fail(REASON_SCRIPT_TIMEOUT, "%s still running, killed",
				 name);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return status;
		}
		usleep(20000);
	}
}

int scr_run_wait(const char *path, const struct scr_vars *v,
		 unsigned int timeout_ms)
{
	struct scr_job j;
	pid_t pid;
	int status;

	if (!path || access(path, X_OK))
		return 0;
	if (scr_build(&j, path, v))
		return -1;
	pid = spawn(&j);
	scr_job_free(&j);
	if (pid < 0) {
		log_fail(REASON_SCRIPT_EXEC, "%s: fork: %s", path,
			 strerror(errno));
		return -1;
	}
	log_msg(LOG_INFO, "running %s", path);
	status = wait_until(pid, now_ms() + timeout_ms, path);
	report(path, status);
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

void scr_reap(struct scripts *s)
{
	int status;

	if (s->running && waitpid(s->running, &status, WNOHANG) == s->running) {
		report(s->running_name, status);
		s->running = 0;
	}
	start_next(s);
}

void scr_drain(struct scripts *s, unsigned int timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;

	while (s->running) {
		int status = wait_until(s->running, deadline, s->running_name);

		report(s->running_name, status);
		s->running = 0;
		start_next(s);
	}
}

void scr_free(struct scripts *s)
{
	while (s->n) {
		scr_job_free(&s->q[s->head]);
		s->head = (s->head + 1) % SCR_QUEUE;
		s->n--;
	}
}
