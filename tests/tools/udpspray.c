// SPDX-License-Identifier: MIT
/*
 * udpspray: hostile UDP payloads at a sloop port, fast enough for TCG.
 *
 *   udpspray IP:PORT|[IP6]:PORT MODE [--count N] [--seed S] [--index N]
 *
 * MODE random: N payloads of random length (0..1472) and content.
 * MODE edge:   payloads that start like a transport packet (0x40 and the
 *              receiver index --index, big endian): every length from 0
 *              to 64, random lengths up to 1472, and oversized ones up
 *              to 65507 bytes (IP fragments), N in all.
 * Prints "sent N transport M other K": transport counts the payloads
 * whose first byte has the transport type bits (0b01xxxxxx), which the
 * kernel must consume and count; the others fall through to the socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sloop/wire.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	/* xorshift64*: reproducible from --seed, and cheap under TCG. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void fill(uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t r = rng();

		memcpy(buf + i, &r, len - i < 8 ? len - i : 8);
	}
}

static int parse_addr(const char *s, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t n;

	if (!colon || (n = (size_t)(colon - s)) >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[n - 1] == ']') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		host[n - 1] = '\0';
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)atoi(colon + 1));
		*len = sizeof(*sin6);
		return inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) == 1 ?
		       0 : -1;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)atoi(colon + 1));
		*len = sizeof(*sin);
		return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
	}
}

static size_t edge_len(unsigned long i)
{
	if (i <= 64)
		return i;
	if (i % 50 == 0)
		return 1473 + rng() % (65507 - 1473);
	return rng() % 1473;
}

int main(int argc, char **argv)
{
	unsigned long count = 1000, sent = 0, transport = 0, other = 0;
	static uint8_t buf[65536];
	struct sockaddr_storage ss;
	uint32_t index = 0;
	socklen_t sslen;
	int fd, edge;

	if (argc < 3 || parse_addr(argv[1], &ss, &sslen)) {
		fprintf(stderr, "usage: udpspray IP:PORT random|edge [--count N] [--seed S] [--index N]\n");
		return 2;
	}
	edge = !strcmp(argv[2], "edge");
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--count"))
			count = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--seed"))
			rng_state ^= strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--index"))
			index = (uint32_t)strtoul(argv[i + 1], NULL, 0);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("udpspray: socket");
		return 2;
	}
	for (unsigned long i = 0; i < count; i++) {
		size_t len = edge ? edge_len(i) : rng() % 1473;
		uint32_t be = htonl(index);

		fill(buf, len);
		if (edge && len >= 1)
			buf[0] = SLOOP_MSG_TRANSPORT | (buf[0] & 0x3f);
		if (edge)
			memcpy(buf + 1, &be, len >= 5 ? 4 : (len ? len - 1 : 0));
		while (sendto(fd, buf, len, 0, (struct sockaddr *)&ss,
			      sslen) < 0) {
			/* A full send buffer is back-pressure, not loss. */
			if (errno != ENOBUFS && errno != EAGAIN) {
				perror("udpspray: sendto");
				return 1;
			}
			usleep(1000);
		}
		sent++;
		if (len && (buf[0] & SLOOP_MSG_TRANSPORT_MASK) ==
			   SLOOP_MSG_TRANSPORT)
			transport++;
		else
			other++;
	}
	printf("sent %lu transport %lu other %lu\n", sent, transport, other);
	close(fd);
	return 0;
}
