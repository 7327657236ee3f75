// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static struct {
	bool to_stderr, debug, syslog;
	FILE *file;
	const char *ident;
} lg = { .to_stderr = true, .ident = "sloopd" };

int log_open(const char *ident, int facility, const char *logfile,
	     bool to_stderr, bool debug)
{
	lg.ident = ident;
	lg.to_stderr = to_stderr;
	lg.debug = debug;
	if (facility >= 0) {
		openlog(ident, LOG_PID, facility);
		lg.syslog = true;
	}
	if (logfile) {
		lg.file = fopen(logfile, "ae");
		if (!lg.file)
			return -1;
		setvbuf(lg.file, NULL, _IOLBF, 0);
	}
	return 0;
}

void log_close(void)
{
	if (lg.file)
		fclose(lg.file);
	lg.file = NULL;
	if (lg.syslog)
		closelog();
	lg.syslog = false;
}

void log_set_debug(bool on)
{
	lg.debug = on;
}

bool log_debug_on(void)
{
	return lg.debug;
}

static void emit(int prio, const char *text)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	if (prio == LOG_DEBUG && !lg.debug)
		return;
	if (lg.syslog)
		syslog(prio, "%s", text);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", gmtime_r(&now, &tm));
	if (lg.file)
		fprintf(lg.file, "%s %s: %s\n", ts, lg.ident, text);
	if (lg.to_stderr)
		fprintf(stderr, "%s: %s\n", lg.ident, text);
}

void log_msg(int prio, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	emit(prio, buf);
}

void log_fail(enum reason r, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "%s %s: ", reason_code(r),
		     reason_name(r));
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	emit(reason_code(r)[0] == 'W' ? LOG_WARNING : LOG_ERR, buf);
}
