// SPDX-License-Identifier: MIT
/*
 * sloopctl batch: `set` commands read from standard input, one per line,
 * on one netlink socket.  Each line is answered on standard output with
 * "ok" or "error" once it has been applied, so that a script can drive
 * several devices in a strict order (a hitless key change) without
 * paying for a process start per step.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cmds.h"
#include "nl.h"

#define BATCH_LINE_MAX	8192
#define BATCH_ARGS_MAX	256

/* Splits on white space in place; no quoting, as no value needs it. */
static int split(char *line, char **argv, int max)
{
	int argc = 0;
	char *save = NULL;

	for (char *t = strtok_r(line, " \t\r\n", &save); t;
	     t = strtok_r(NULL, " \t\r\n", &save)) {
		if (argc == max)
			return -1;
		argv[argc++] = t;
	}
	return argc;
}

static int run_line(struct snl *nl, char *line, unsigned long lineno)
{
	char *argv[BATCH_ARGS_MAX];
	int argc = split(line, argv, BATCH_ARGS_MAX);

	if (argc == 0 || argv[0][0] == '#')
		return -1;	/* nothing to answer */
	if (argc < 0) {
		fprintf(stderr, "sloopctl batch: line %lu: too many words\n",
			lineno);
		return 1;
	}
	if (strcmp(argv[0], "set")) {
		fprintf(stderr,
			"sloopctl batch: line %lu: '%s': only 'set' lines are accepted\n",
			lineno, argv[0]);
		return 1;
	}
	return sctl_set_run(nl, argc - 1, argv + 1);
}

int sctl_cmd_batch(int argc, char **argv)
{
	static char line[BATCH_LINE_MAX];
	unsigned long lineno = 0;
	struct snl nl;
	int failed = 0;

	if (argc > 0) {
		fprintf(stderr, "Usage: sloopctl batch < COMMANDS\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sctl_nl_open(&nl))
		return 1;
	while (fgets(line, sizeof(line), stdin)) {
		int ret;

		lineno++;
		if (!strchr(line, '\n') && !feof(stdin)) {
			fprintf(stderr, "sloopctl batch: line %lu too long\n",
				lineno);
			sodium_memzero(line, sizeof(line));
			failed = 1;
			break;
		}
		ret = run_line(&nl, line, lineno);
		/* Lines carry key material. */
		sodium_memzero(line, sizeof(line));
		if (ret < 0)
			continue;
		printf("%s\n", ret ? "error" : "ok");
		failed |= ret;
	}
	snl_close(&nl);
	return failed;
}
