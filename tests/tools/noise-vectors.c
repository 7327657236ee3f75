// SPDX-License-Identifier: MIT
/*
 * noise-vectors FILE: checks the Noise engine against a cacophony-format
 * vector file, one PASS/FAIL/SKIP line per vector, then a summary.
 * Exit status: 0 all run vectors passed, 1 a failure, 2 unusable file.
 */
#include <stdio.h>

#include "noise_vectors.h"

int main(int argc, char **argv)
{
	struct noise_vectors_summary sum;
	char why[256];

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	if (noise_vectors_check_file(argv[1], stdout, false, &sum, why,
				     sizeof(why))) {
		fprintf(stderr, "noise-vectors: %s\n", why);
		return 2;
	}
	printf("%d passed, %d failed", sum.passed, sum.failed);
	if (sum.skipped)
		printf(", %d skipped", sum.skipped);
	printf("\n");
	return sum.failed ? 1 : 0;
}
