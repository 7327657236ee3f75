// SPDX-License-Identifier: MIT
#include <string.h>

#include "tai64n.h"

#define TAI64_BASE 0x400000000000000aULL

void tai64n_encode(uint8_t out[TAI64N_LEN], const struct timespec *ts)
{
	uint64_t label = TAI64_BASE + (uint64_t)ts->tv_sec;
	uint32_t ns = (uint32_t)ts->tv_nsec;

	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(label >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(ns >> (24 - 8 * i));
}

int tai64n_decode(const uint8_t in[TAI64N_LEN], struct timespec *ts)
{
	uint64_t label = 0;
	uint32_t ns = 0;

	for (int i = 0; i < 8; i++)
		label = label << 8 | in[i];
	for (int i = 0; i < 4; i++)
		ns = ns << 8 | in[8 + i];
	/* Labels from 2^63 up are reserved by TAI64. */
	if (label < TAI64_BASE || label >= 1ULL << 63 || ns >= 1000000000u)
		return -1;
	ts->tv_sec = (time_t)(label - TAI64_BASE);
	ts->tv_nsec = (long)ns;
	return 0;
}

int tai64n_now(uint8_t out[TAI64N_LEN])
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts))
		return -1;
	ts.tv_nsec -= ts.tv_nsec % TAI64N_NOW_GRANULE_NS;
	tai64n_encode(out, &ts);
	return 0;
}

int tai64n_compare(const uint8_t a[TAI64N_LEN], const uint8_t b[TAI64N_LEN])
{
	return memcmp(a, b, TAI64N_LEN);
}
