/* SPDX-License-Identifier: MIT */
/* Hex encoding of binary strings (keys, test vectors, debug output). */
#ifndef SLOOP_HEX_H
#define SLOOP_HEX_H

#include <stddef.h>
#include <stdint.h>

/*
 * Lower-case hex of in[0..len) into out, NUL-terminated; out needs
 * 2 * len + 1 bytes.  Returns -1 (out untouched) if it is too small.
 */
int hex_encode(char *out, size_t outcap, const uint8_t *in, size_t len);
/*
 * Decodes exactly hexlen characters (either case, no separators) into
 * out.  Returns the byte count, or -1 on an odd length, a non-hex
 * character or an output larger than outcap.
 */
long hex_decode(uint8_t *out, size_t outcap, const char *hex, size_t hexlen);
/* Like hex_decode into a fresh malloc'd buffer (free() it); -1 on error. */
long hex_decode_alloc(uint8_t **out, const char *hex, size_t hexlen);

#endif
