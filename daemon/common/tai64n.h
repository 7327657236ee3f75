/* SPDX-License-Identifier: MIT */
/*
 * TAI64N timestamps (cr.yp.to/libtai/tai64.html): 8 bytes big-endian
 * 2^62 + 10 + Unix seconds (the TAI offset of 1970, as WireGuard uses),
 * then 4 bytes big-endian nanoseconds.  Sent in the first handshake
 * payload; a responder accepts an initiation only when its timestamp is
 * greater than the last one accepted from that peer, which makes a
 * replayed initiation useless.
 */
#ifndef SLOOP_TAI64N_H
#define SLOOP_TAI64N_H

#include <stdint.h>
#include <time.h>

#define TAI64N_LEN 12
/*
 * tai64n_now() rounds the nanoseconds down to this power of two (about
 * 16.8 ms) so that the timestamp does not leak a precise clock; it is
 * still finer than the handshake rate limit.
 */
#define TAI64N_NOW_GRANULE_NS (1u << 24)

void tai64n_encode(uint8_t out[TAI64N_LEN], const struct timespec *ts);
/* -1 if the label is below 1970 or the nanoseconds are out of range. */
int tai64n_decode(const uint8_t in[TAI64N_LEN], struct timespec *ts);
/* CLOCK_REALTIME, rounded down; -1 if the clock cannot be read. */
int tai64n_now(uint8_t out[TAI64N_LEN]);
/* <0, 0, >0 like memcmp: later timestamps compare greater. */
int tai64n_compare(const uint8_t a[TAI64N_LEN], const uint8_t b[TAI64N_LEN]);

#endif
