// SPDX-License-Identifier: MIT
/*
 * sloopctl: parsers for endpoints, subnets, hex keys, cipher names and
 * numbers.  Numbers are strict (no sign, no trailing junk) because a
 * silently truncated index or limit would be worse than an error.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sloop/uapi.h>

#include "parse.h"

#define ERR(...) snprintf(err, SCTL_ERR_LEN, __VA_ARGS__)

static int parse_ull(const char *s, unsigned long long max,
		     unsigned long long *out)
{
	unsigned long long v;
	char *end;
	int base = 10;

	if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -1;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!isxdigit((unsigned char)*s))
			return -1;
	}
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int sctl_parse_u32(const char *s, uint32_t *out)
{
	unsigned long long v;

	if (parse_ull(s, UINT32_MAX, &v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int sctl_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;

	if (parse_ull(s, UINT64_MAX, &v))
		return -1;
	*out = v;
	return 0;
}

/* Ports and prefix lengths are decimal only: "0x10" there is a typo. */
static int parse_dec(const char *s, uint32_t max, uint32_t *out)
{
	unsigned long long v;

	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10 ||
	    parse_ull(s, max, &v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_port(const char *s, uint16_t *port)
{
	uint32_t v;

	if (parse_dec(s, 65535, &v) || v == 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int endpoint_v6(const char *s, struct sockaddr_storage *ss,
		       socklen_t *len, char *err)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	const char *close = strchr(s, ']');
	char host[INET6_ADDRSTRLEN + 1];
	uint16_t port;
	size_t n;

	if (!close || close[1] != ':') {
		ERR("bad endpoint '%s': expected [IPv6]:PORT", s);
		return -1;
	}
	n = (size_t)(close - s - 1);
	if (n == 0 || n >= sizeof(host)) {
		ERR("bad endpoint '%s': bad IPv6 address", s);
		return -1;
	}
	memcpy(host, s + 1, n);
	host[n] = '\0';
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
		ERR("bad endpoint '%s': '%s' is not an IPv6 address", s, host);
		return -1;
	}
	if (parse_port(close + 2, &port)) {
		ERR("bad endpoint '%s': bad port '%s'", s, close + 2);
		return -1;
	}
	sin6->sin6_port = htons(port);
	*len = sizeof(*sin6);
	return 0;
}

int sctl_parse_endpoint(const char *s, struct sockaddr_storage *ss,
			socklen_t *len, char *err)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	char host[INET_ADDRSTRLEN + 1];
	const char *colon;
	uint16_t port;
	size_t n;

	if (s[0] == '[')
		return endpoint_v6(s, ss, len, err);
	colon = strrchr(s, ':');
	if (!colon || strchr(s, ':') != colon) {
		ERR("bad endpoint '%s': expected IP:PORT or [IPv6]:PORT", s);
		return -1;
	}
	n = (size_t)(colon - s);
	if (n == 0 || n >= sizeof(host)) {
		ERR("bad endpoint '%s': bad IPv4 address", s);
		return -1;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
		ERR("bad endpoint '%s': '%s' is not an IPv4 address", s, host);
		return -1;
	}
	if (parse_port(colon + 1, &port)) {
		ERR("bad endpoint '%s': bad port '%s'", s, colon + 1);
		return -1;
	}
	sin->sin_port = htons(port);
	*len = sizeof(*sin);
	return 0;
}

/* Host bits are cleared so that the kernel's table sees one canonical
 * prefix, as wg does for allowed-ips.
 */
static void mask_host_bits(struct sctl_subnet *sn)
{
	size_t bytes = sn->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < bytes; i++) {
		int keep = (int)sn->cidr - (int)i * 8;

		if (keep >= 8)
			continue;
		sn->addr[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
}

int sctl_parse_cidr(const char *s, struct sctl_subnet *sn, char *err)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	uint32_t cidr;
	int max;

	if (n == 0 || n >= sizeof(host)) {
		ERR("bad subnet '%s': expected ADDRESS[/PREFIX]", s);
		return -1;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	memset(sn, 0, sizeof(*sn));
	if (inet_pton(AF_INET, host, sn->addr) == 1) {
		sn->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, sn->addr) == 1) {
		sn->family = AF_INET6;
		max = 128;
	} else {
		ERR("bad subnet '%s': '%s' is not an IP address", s, host);
		return -1;
	}
	cidr = (uint32_t)max;
	if (slash && parse_dec(slash + 1, (uint32_t)max, &cidr)) {
		ERR("bad subnet '%s': prefix length must be 0..%d", s, max);
		return -1;
	}
	sn->cidr = (uint8_t)cidr;
	mask_host_bits(sn);
	return 0;
}

int sctl_parse_subnet_list(const char *s, struct sctl_subnet *out,
			   size_t max, size_t *n, char *err)
{
	char *copy = strdup(s), *save = NULL, *tok;
	int ret = 0;

	if (!copy) {
		ERR("out of memory");
		return -1;
	}
	if (!*s || s[strlen(s) - 1] == ',' || *s == ',' || strstr(s, ",,")) {
		ERR("bad subnet list '%s': empty entry", s);
		free(copy);
		return -1;
	}
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (*n >= max) {
			ERR("too many subnets (at most %zu per peer)", max);
			ret = -1;
			break;
		}
		if (sctl_parse_cidr(tok, &out[*n], err)) {
			ret = -1;
			break;
		}
		(*n)++;
	}
	free(copy);
	return ret;
}

int sctl_parse_hex(const char *s, uint8_t *out, size_t max, size_t *len,
		   char *err)
{
	size_t n = strlen(s);
	const char *end;

	if (n == 0 || n % 2) {
		ERR("bad hex '%.16s%s': need an even number of hex digits",
		    s, n > 16 ? "..." : "");
		return -1;
	}
	if (n / 2 > max) {
		ERR("hex value too long: %zu bytes, at most %zu", n / 2, max);
		return -1;
	}
	if (sodium_hex2bin(out, max, s, n, NULL, len, &end) || *end ||
	    *len != n / 2) {
		ERR("bad hex value: non-hex character at position %zu",
		    (size_t)(end - s) + 1);
		sodium_memzero(out, max);
		return -1;
	}
	return 0;
}

/* Reads a hex value from a file so that it never appears in argv (and
 * therefore in ps or /proc/PID/cmdline).
 */
static int hex_from_file(const char *path, struct sctl_bin *out, char *err)
{
	char buf[4 * SCTL_KEY_MAX + 2];
	size_t n = 0, start = 0;
	ssize_t r;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ERR("cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	while (n < sizeof(buf) - 1 &&
	       (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	if (n == sizeof(buf) - 1) {
		ERR("'%s' is too long for a key", path);
		sodium_memzero(buf, sizeof(buf));
		return -1;
	}
	while (n && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	while (isspace((unsigned char)buf[start]))
		start++;
	ret = sctl_parse_hex(buf + start, out->buf, sizeof(out->buf),
			     &out->len, err);
	if (ret)
		ERR("bad key in '%s': expected hex digits", path);
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

int sctl_parse_key_arg(const char *s, struct sctl_bin *out, char *err)
{
	if (s[0] == '@')
		return hex_from_file(s + 1, out, err);
	return sctl_parse_hex(s, out->buf, sizeof(out->buf), &out->len, err);
}

static const char *const cipher_names[] = {
	[SLOOP_CIPHER_AES256_GCM] = "aes256gcm",
	[SLOOP_CIPHER_AES128_GCM] = "aes128gcm",
	[SLOOP_CIPHER_CHACHA20_POLY1305] = "chacha20poly1305",
};

int sctl_parse_cipher(const char *s, uint32_t *out)
{
	for (uint32_t i = 1; i <= SLOOP_CIPHER_MAX; i++) {
		if (cipher_names[i] && !strcmp(s, cipher_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

const char *sctl_cipher_name(uint32_t cipher)
{
	if (cipher == SLOOP_CIPHER_NONE)
		return "none";
	if (cipher > SLOOP_CIPHER_MAX || !cipher_names[cipher])
		return "unknown";
	return cipher_names[cipher];
}

static const char *const padding_names[] = {
	[SLOOP_PADDING_16] = "16",
	[SLOOP_PADDING_BUCKETS] = "buckets",
};

int sctl_parse_padding(const char *s, uint8_t *out)
{
	for (uint8_t i = 0; i <= SLOOP_PADDING_MAX; i++) {
		if (!strcmp(s, padding_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

const char *sctl_padding_name(uint32_t padding)
{
	return padding <= SLOOP_PADDING_MAX ? padding_names[padding] :
					       "unknown";
}

int sctl_parse_family(const char *s, int *family)
{
	if (!strcmp(s, "4"))
		*family = AF_INET;
	else if (!strcmp(s, "6"))
		*family = AF_INET6;
	else if (!strcmp(s, "dual"))
		*family = AF_UNSPEC;
	else
		return -1;
	return 0;
}

int sctl_format_sockaddr(const struct sockaddr *sa, size_t len, char *out,
			 size_t outlen)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out, outlen, "%s:%u", host, ntohs(sin->sin_port));
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(out, outlen, "[%s]:%u", host, ntohs(sin6->sin6_port));
		return 0;
	}
	snprintf(out, outlen, "(unknown)");
	return -1;
}

int sctl_format_subnet(const struct sctl_subnet *sn, char *out,
		       size_t outlen)
{
	char host[INET6_ADDRSTRLEN];

	if (!inet_ntop(sn->family, sn->addr, host, sizeof(host))) {
		snprintf(out, outlen, "(bad)");
		return -1;
	}
	snprintf(out, outlen, "%s/%u", host, sn->cidr);
	return 0;
}
