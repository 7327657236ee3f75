/* SPDX-License-Identifier: MIT */
/*
 * sloopd logging: stderr (foreground), a log file and/or syslog.  Every
 * failure goes through log_fail() so that it carries its reason code.
 */
#ifndef SLOOPD_LOG_H
#define SLOOPD_LOG_H

#include <stdbool.h>
#include <syslog.h>

#include "reason.h"

/* facility < 0: no syslog; logfile NULL: none; to_stderr: foreground. */
int log_open(const char *ident, int facility, const char *logfile,
	     bool to_stderr, bool debug);
void log_close(void);
void log_set_debug(bool on);
bool log_debug_on(void);
void log_msg(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "E403 peer-dead: ..." at LOG_ERR (LOG_WARNING for W codes). */
void log_fail(enum reason r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_dbg(...) \
	do { if (log_debug_on()) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
