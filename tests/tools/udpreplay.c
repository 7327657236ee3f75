// SPDX-License-Identifier: MIT
/*
 * udpreplay: re-sends the UDP payloads of a pcap file (tcpdump -w) that
 * went to one port, to IP:PORT, in their original order.
 *
 *   udpreplay FILE.pcap PORT IP:PORT|[IP6]:PORT [--transport-only]
 *
 * Link types: Ethernet, Linux cooked (v1 and v2), raw IP.  Fragments are
 * skipped.  --transport-only keeps payloads whose first byte has the
 * sloop transport type bits.  Prints "replayed N".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sloop/wire.h>

struct pcap_hdr {
	uint32_t magic;
	uint16_t major, minor;
	int32_t zone;
	uint32_t sigfigs, snaplen, linktype;
};

struct rec_hdr {
	uint32_t sec, usec, caplen, len;
};

static int link_offset(uint32_t linktype, const uint8_t *p, size_t len,
		       size_t *off)
{
	switch (linktype) {
	case 1:			/* Ethernet, maybe one VLAN tag */
		if (len < 14)
			return -1;
		*off = (p[12] == 0x81 && p[13] == 0x00) ? 18 : 14;
		return 0;
	case 113:		/* Linux cooked v1 */
		*off = 16;
		return 0;
	case 276:		/* Linux cooked v2 */
		*off = 20;
		return 0;
	case 101:		/* raw IP */
	case 12:
		*off = 0;
		return 0;
	}
	return -1;
}

/* Finds the UDP header in an IP packet; -1 for anything else. */
static int udp_offset(const uint8_t *ip, size_t len, size_t *off)
{
	if (len >= 20 && (ip[0] >> 4) == 4) {
		size_t ihl = (size_t)(ip[0] & 0xf) * 4;
		uint16_t frag = (uint16_t)(ip[6] << 8 | ip[7]);

		if (ip[9] != IPPROTO_UDP || (frag & 0x3fff) || len < ihl + 8)
			return -1;
		*off = ihl;
		return 0;
	}
	if (len >= 48 && (ip[0] >> 4) == 6 && ip[6] == IPPROTO_UDP) {
		*off = 40;
		return 0;
	}
	return -1;
}

static int parse_addr(const char *s, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t n;

	if (!colon || (n = (size_t)(colon - s)) >= sizeof(host) || n < 2)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		host[n - 1] = '\0';
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)atoi(colon + 1));
		*len = sizeof(*sin6);
		return inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) == 1 ?
		       0 : -1;
	}
	{
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)atoi(colon + 1));
		*len = sizeof(*sin);
		return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
	}
}

int main(int argc, char **argv)
{
	static uint8_t pkt[262144];
	struct sockaddr_storage ss;
	struct pcap_hdr gh;
	struct rec_hdr rh;
	unsigned long replayed = 0;
	int transport_only, fd, port;
	socklen_t sslen;
	FILE *f;

	if (argc < 4 || parse_addr(argv[3], &ss, &sslen)) {
		fprintf(stderr, "usage: udpreplay FILE.pcap PORT IP:PORT [--transport-only]\n");
		return 2;
	}
	port = atoi(argv[2]);
	transport_only = argc > 4 && !strcmp(argv[4], "--transport-only");
	f = fopen(argv[1], "rb");
	if (!f || fread(&gh, sizeof(gh), 1, f) != 1 ||
	    (gh.magic != 0xa1b2c3d4 && gh.magic != 0xa1b23c4d)) {
		fprintf(stderr, "udpreplay: %s is not a little-endian pcap file\n",
			argv[1]);
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("udpreplay: socket");
		return 2;
	}
	while (fread(&rh, sizeof(rh), 1, f) == 1) {
		size_t l2, l3, caplen = rh.caplen;
		const uint8_t *ip, *udp;
		size_t iplen, ulen;

		if (caplen > sizeof(pkt) || fread(pkt, caplen, 1, f) != 1)
			break;
		if (link_offset(gh.linktype, pkt, caplen, &l2) || l2 >= caplen)
			continue;
		ip = pkt + l2;
		iplen = caplen - l2;
		if (udp_offset(ip, iplen, &l3))
			continue;
		udp = ip + l3;
		if ((udp[2] << 8 | udp[3]) != port)
			continue;
		ulen = (size_t)(udp[4] << 8 | udp[5]);
		if (ulen < 8 || l3 + ulen > iplen)
			continue;	/* truncated capture */
		if (transport_only && (ulen == 8 ||
		    (udp[8] & SLOOP_MSG_TRANSPORT_MASK) != SLOOP_MSG_TRANSPORT))
			continue;
		if (sendto(fd, udp + 8, ulen - 8, 0, (struct sockaddr *)&ss,
			   sslen) < 0) {
			perror("udpreplay: sendto");
			return 1;
		}
		replayed++;
		usleep(200);	/* keep the order and the receive queue sane */
	}
	printf("replayed %lu\n", replayed);
	fclose(f);
	close(fd);
	return 0;
}
