// SPDX-License-Identifier: MIT
/*
 * docs/man/sloopd.8 stays in step with the code: its REASON CODES table
 * is exactly reason_man_table() (what `sloopd --reason-table` prints),
 * and EXIT STATUS lists every exit code of enum lk_exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "../../daemon/sloopd/link.h"
#include "../../daemon/sloopd/reason.h"

static char *man_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0) {
		rewind(f);
		buf = calloc(1, (size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

TEST(sloopd_man_reason_table)
{
	char *man = man_slurp(unit_path("docs/man/sloopd.8"));
	char *table = NULL;
	const char *begin = NULL, *end = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&table, &len);

	CHECK(man && m);
	reason_man_table(m);
	fclose(m);
	if (man)
		begin = strstr(man, "BEGIN REASON TABLE");
	CHECK(begin);
	if (begin) {
		begin = strchr(begin, '\n') + 1;
		end = strstr(begin, ".\\\" END REASON TABLE");
	}
	CHECK(end);
	if (end) {
		CHECK_EQ_INT(end - begin, len);
		CHECK(!memcmp(begin, table, len));
	}
	free(table);
	free(man);
}

TEST(sloopd_man_exit_status)
{
	static const int codes[] = {
		LK_EXIT_OK, LK_EXIT_FATAL, LK_EXIT_OPTIONS, LK_EXIT_KEYS,
		LK_EXIT_KERNEL, LK_EXIT_SIGNAL, LK_EXIT_MAXFAIL,
		LK_EXIT_HANGUP,
	};
	char *man = man_slurp(unit_path("docs/man/sloopd.8"));
	const char *sec = man ? strstr(man, "\n.SH EXIT STATUS\n") : NULL;
	const char *next = sec ? strstr(sec + 1, "\n.SH ") : NULL;
	char want[32];

	CHECK(sec && next);
	for (size_t i = 0; sec && next && i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *at;

		snprintf(want, sizeof(want), "\n.TP\n.B %d\n", codes[i]);
		at = strstr(sec, want);
		if (!at || at > next)
			fprintf(stderr, "  exit status %d not in sloopd.8\n", codes[i]);
		CHECK(at && at < next);
	}
	free(man);
}
