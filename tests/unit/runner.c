// SPDX-License-Identifier: MIT
/*
 * Unit test runner: runs every registered test (or those named on the
 * command line), prints PASS/FAIL per test and "N passed, N failed".
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

static struct unit_test *head, **tail = &head;
static int failed_now;

void unit_register(struct unit_test *t)
{
	*tail = t;
	tail = &t->next;
}

void unit_fail(const char *file, int line, const char *expr)
{
	fprintf(stderr, "  %s:%d: check failed: %s\n", file, line, expr);
	failed_now = 1;
}

const char *unit_path(const char *rel)
{
	static char buf[4096];
	const char *dir = getenv("SLOOP_SRCDIR");

	snprintf(buf, sizeof(buf), "%s/%s", dir ? dir : ".", rel);
	return buf;
}

/* An argument ending in '*' selects every test with that prefix. */
static int selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (n && argv[i][n - 1] == '*' && !strncmp(argv[i], name, n - 1))
			return 1;
		if (!strcmp(argv[i], name))
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	for (struct unit_test *t = head; t; t = t->next) {
		if (!selected(t->name, argc, argv))
			continue;
		failed_now = 0;
		t->fn();
		printf("%s %s\n", failed_now ? "FAIL" : "PASS", t->name);
		fflush(stdout);
		if (failed_now)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed || !passed ? 1 : 0;
}
