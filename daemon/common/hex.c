// SPDX-License-Identifier: MIT
#include <limits.h>
#include <stdlib.h>

#include "hex.h"

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_encode(char *out, size_t outcap, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	if (!outcap || len > (outcap - 1) / 2)
		return -1;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
	return 0;
}

long hex_decode(uint8_t *out, size_t outcap, const char *hex, size_t hexlen)
{
	size_t n = hexlen / 2;

	if (hexlen % 2 || n > outcap || n > (size_t)(LONG_MAX))
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)n;
}

long hex_decode_alloc(uint8_t **out, const char *hex, size_t hexlen)
{
	/* One spare byte so that an empty string still gets a buffer. */
	uint8_t *buf = malloc(hexlen / 2 + 1);
	long n;

	*out = NULL;
	if (!buf)
		return -1;
	n = hex_decode(buf, hexlen / 2, hex, hexlen);
	if (n < 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	return n;
}
