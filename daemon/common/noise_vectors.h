/* SPDX-License-Identifier: MIT */
/*
 * Checks the Noise engine against test vectors in the cacophony JSON
 * format ({"vectors": [...]}, see ../shared/vectors/README.md).  Used
 * by tests/noise-vectors and by the unit tests.
 */
#ifndef SLOOP_NOISE_VECTORS_H
#define SLOOP_NOISE_VECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "json.h"

enum noise_vectors_result {
	NOISE_VECTORS_PASS,
	NOISE_VECTORS_FAIL,
	NOISE_VECTORS_SKIP,
};

struct noise_vectors_summary {
	int passed, failed, skipped;
};

/*
 * Runs one vector: both sides, every handshake and transport message,
 * the handshake hash.  why gets the reason of a FAIL or SKIP.
 */
enum noise_vectors_result noise_vectors_run(const struct json_value *vec,
					    char *why, size_t whylen);
/*
 * Runs every vector of a file, printing "PASS name", "FAIL name: why"
 * or "SKIP name: why" to report (if not NULL; with problems_only, only
 * the FAIL and SKIP lines).  -1 with why filled in if the file cannot
 * be read or is not a vector file.
 */
int noise_vectors_check_file(const char *path, FILE *report,
			     bool problems_only,
			     struct noise_vectors_summary *sum,
			     char *why, size_t whylen);

#endif
