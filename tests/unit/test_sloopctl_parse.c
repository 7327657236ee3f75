// SPDX-License-Identifier: MIT
/*
 * Unit tests of sloopctl's value parsers: endpoints, subnets, hex keys
 * (inline and @FILE), cipher and padding names, numbers.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <sloop/uapi.h>

#include "unit.h"
#include "../../tools/sloopctl/parse.h"

TEST(sloopctl_endpoint_v4)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	char err[SCTL_ERR_LEN], out[64];
	socklen_t len;

	CHECK_EQ_INT(sctl_parse_endpoint("192.0.2.7:5653", &ss, &len, err), 0);
	CHECK_EQ_INT(len, sizeof(struct sockaddr_in));
	CHECK_EQ_INT(sin->sin_family, AF_INET);
	CHECK_EQ_INT(ntohs(sin->sin_port), 5653);
	CHECK_EQ_INT(ntohl(sin->sin_addr.s_addr), 0xc0000207);
	sctl_format_sockaddr((struct sockaddr *)&ss, len, out, sizeof(out));
	CHECK_EQ_STR(out, "192.0.2.7:5653");
}

TEST(sloopctl_endpoint_v6)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char err[SCTL_ERR_LEN], out[80];
	socklen_t len;

	CHECK_EQ_INT(sctl_parse_endpoint("[2001:db8::1]:65535", &ss, &len,
					 err), 0);
	CHECK_EQ_INT(len, sizeof(struct sockaddr_in6));
	CHECK_EQ_INT(sin6->sin6_family, AF_INET6);
	CHECK_EQ_INT(ntohs(sin6->sin6_port), 65535);
	CHECK_EQ_INT(sin6->sin6_addr.s6_addr[15], 1);
	sctl_format_sockaddr((struct sockaddr *)&ss, len, out, sizeof(out));
	CHECK_EQ_STR(out, "[2001:db8::1]:65535");
}

TEST(sloopctl_endpoint_errors)
{
	static const char *const bad[] = {
		"192.0.2.7", "192.0.2.7:", "192.0.2.7:0", "192.0.2.7:65536",
		"192.0.2.7:-1", "192.0.2.7:12x", "192.0.2.300:1", ":1",
		"2001:db8::1:5", "[2001:db8::1]", "[2001:db8::1]5",
		"[]:5", "[1.2.3.4]:5", "host.example:5", "[2001:db8::1]:+5",
		"1.2.3.4: 5",
	};
	struct sockaddr_storage ss;
	char err[SCTL_ERR_LEN];
	socklen_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (sctl_parse_endpoint(bad[i], &ss, &len, err) != -1) {
			fprintf(stderr, "  accepted '%s'\n", bad[i]);
			CHECK(0);
		}
		/* The message names the token the user typed. */
		CHECK(strstr(err, bad[i]) != NULL);
	}
}

TEST(sloopctl_cidr)
{
	struct sctl_subnet sn;
	char err[SCTL_ERR_LEN], out[64];

	CHECK_EQ_INT(sctl_parse_cidr("10.1.2.3/16", &sn, err), 0);
	CHECK_EQ_INT(sn.family, AF_INET);
	CHECK_EQ_INT(sn.cidr, 16);
	sctl_format_subnet(&sn, out, sizeof(out));
	CHECK_EQ_STR(out, "10.1.0.0/16");	/* host bits cleared */

	CHECK_EQ_INT(sctl_parse_cidr("10.1.2.3", &sn, err), 0);
	CHECK_EQ_INT(sn.cidr, 32);
	CHECK_EQ_INT(sctl_parse_cidr("0.0.0.0/0", &sn, err), 0);
	CHECK_EQ_INT(sn.cidr, 0);
	CHECK_EQ_INT(sctl_parse_cidr("10.255.255.255/9", &sn, err), 0);
	sctl_format_subnet(&sn, out, sizeof(out));
	CHECK_EQ_STR(out, "10.128.0.0/9");

	CHECK_EQ_INT(sctl_parse_cidr("fd00:1:2:3::ff/62", &sn, err), 0);
	CHECK_EQ_INT(sn.family, AF_INET6);
	sctl_format_subnet(&sn, out, sizeof(out));
	CHECK_EQ_STR(out, "fd00:1:2::/62");
	CHECK_EQ_INT(sctl_parse_cidr("::/0", &sn, err), 0);
	CHECK_EQ_INT(sctl_parse_cidr("fd00::1", &sn, err), 0);
	CHECK_EQ_INT(sn.cidr, 128);
}

TEST(sloopctl_cidr_errors)
{
	static const char *const bad[] = {
		"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/-1",
		"10.0.0.0/1x", "10.0.0/8", "/8", "", "10.0.0.0/0x8",
		"fd00::/ 8", "x",
	};
	struct sctl_subnet sn;
	char err[SCTL_ERR_LEN];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sctl_parse_cidr(bad[i], &sn, err) != -1) {
			fprintf(stderr, "  accepted '%s'\n", bad[i]);
			CHECK(0);
		}
	}
}

TEST(sloopctl_subnet_list)
{
	struct sctl_subnet sn[4];
	char err[SCTL_ERR_LEN];
	size_t n = 0;

	CHECK_EQ_INT(sctl_parse_subnet_list("10.0.0.0/8,fd00::/8", sn, 4, &n,
					    err), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(sn[1].family, AF_INET6);
	n = 0;
	CHECK_EQ_INT(sctl_parse_subnet_list("10.0.0.0/8,,1.0.0.0/8", sn, 4,
					    &n, err), -1);
	CHECK_EQ_INT(sctl_parse_subnet_list("10.0.0.0/8,", sn, 4, &n, err),
		     -1);
	n = 0;
	CHECK_EQ_INT(sctl_parse_subnet_list("1.0.0.0/8,2.0.0.0/8,3.0.0.0/8",
					    sn, 2, &n, err), -1);
	CHECK(strstr(err, "too many") != NULL);
	n = 0;
	CHECK_EQ_INT(sctl_parse_subnet_list("1.0.0.0/8,bogus", sn, 4, &n,
					    err), -1);
	CHECK(strstr(err, "bogus") != NULL);
}

TEST(sloopctl_hex)
{
	uint8_t buf[8];
	char err[SCTL_ERR_LEN];
	size_t len;

	CHECK_EQ_INT(sctl_parse_hex("00ff10Ab", buf, sizeof(buf), &len, err),
		     0);
	CHECK_EQ_INT(len, 4);
	CHECK_EQ_INT(buf[1], 0xff);
	CHECK_EQ_INT(buf[3], 0xab);
	CHECK_EQ_INT(sctl_parse_hex("abc", buf, sizeof(buf), &len, err), -1);
	CHECK_EQ_INT(sctl_parse_hex("", buf, sizeof(buf), &len, err), -1);
	CHECK_EQ_INT(sctl_parse_hex("zz", buf, sizeof(buf), &len, err), -1);
	CHECK_EQ_INT(sctl_parse_hex("00 1", buf, sizeof(buf), &len, err), -1);
	CHECK_EQ_INT(sctl_parse_hex("000102030405060708", buf, sizeof(buf),
				    &len, err), -1);
	CHECK(strstr(err, "too long") != NULL);
}

TEST(sloopctl_key_file)
{
	char path[] = "/tmp/sloopctl-unit-XXXXXX", arg[64];
	char err[SCTL_ERR_LEN];
	struct sctl_bin bin;
	int fd = mkstemp(path);
	const char *text = "  00112233445566778899aabbccddeeff\n";

	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, text, strlen(text)), (long long)strlen(text));
	close(fd);
	snprintf(arg, sizeof(arg), "@%s", path);
	CHECK_EQ_INT(sctl_parse_key_arg(arg, &bin, err), 0);
	CHECK_EQ_INT(bin.len, 16);
	CHECK_EQ_INT(bin.buf[15], 0xff);

	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, "0011 22", 7), 7);
	close(fd);
	CHECK_EQ_INT(sctl_parse_key_arg(arg, &bin, err), -1);
	CHECK(strstr(err, path) != NULL);
	unlink(path);
	CHECK_EQ_INT(sctl_parse_key_arg(arg, &bin, err), -1);
	CHECK(strstr(err, "cannot open") != NULL);
}

TEST(sloopctl_cipher_names)
{
	uint32_t c;

	CHECK_EQ_INT(sctl_parse_cipher("aes256gcm", &c), 0);
	CHECK_EQ_INT(c, SLOOP_CIPHER_AES256_GCM);
	CHECK_EQ_INT(sctl_parse_cipher("aes128gcm", &c), 0);
	CHECK_EQ_INT(c, SLOOP_CIPHER_AES128_GCM);
	CHECK_EQ_INT(sctl_parse_cipher("chacha20poly1305", &c), 0);
	CHECK_EQ_INT(c, SLOOP_CIPHER_CHACHA20_POLY1305);
	CHECK_EQ_INT(sctl_parse_cipher("none", &c), -1);
	CHECK_EQ_INT(sctl_parse_cipher("AES256GCM", &c), -1);
	CHECK_EQ_INT(sctl_parse_cipher("", &c), -1);
	for (uint32_t i = 1; i <= SLOOP_CIPHER_MAX; i++) {
		CHECK_EQ_INT(sctl_parse_cipher(sctl_cipher_name(i), &c), 0);
		CHECK_EQ_INT(c, i);
	}
	CHECK_EQ_STR(sctl_cipher_name(99), "unknown");
}

TEST(sloopctl_numbers)
{
	uint32_t v;
	uint64_t w;

	CHECK_EQ_INT(sctl_parse_u32("4294967295", &v), 0);
	CHECK_EQ_INT(v, 4294967295u);
	CHECK_EQ_INT(sctl_parse_u32("0x10", &v), 0);
	CHECK_EQ_INT(v, 16);
	CHECK_EQ_INT(sctl_parse_u32("010", &v), 0);
	CHECK_EQ_INT(v, 10);		/* decimal, never octal */
	CHECK_EQ_INT(sctl_parse_u32("4294967296", &v), -1);
	CHECK_EQ_INT(sctl_parse_u32("-1", &v), -1);
	CHECK_EQ_INT(sctl_parse_u32(" 1", &v), -1);
	CHECK_EQ_INT(sctl_parse_u32("1 ", &v), -1);
	CHECK_EQ_INT(sctl_parse_u32("0x", &v), -1);
	CHECK_EQ_INT(sctl_parse_u32("", &v), -1);
	CHECK_EQ_INT(sctl_parse_u64("18446744073709551615", &w), 0);
	CHECK(w == UINT64_MAX);
	CHECK_EQ_INT(sctl_parse_u64("18446744073709551616", &w), -1);
}

TEST(sloopctl_padding_family)
{
	uint8_t p;
	int fam;

	CHECK_EQ_INT(sctl_parse_padding("16", &p), 0);
	CHECK_EQ_INT(p, SLOOP_PADDING_16);
	CHECK_EQ_INT(sctl_parse_padding("buckets", &p), 0);
	CHECK_EQ_INT(p, SLOOP_PADDING_BUCKETS);
	CHECK_EQ_INT(sctl_parse_padding("32", &p), -1);
	CHECK_EQ_INT(sctl_parse_family("4", &fam), 0);
	CHECK_EQ_INT(fam, AF_INET);
	CHECK_EQ_INT(sctl_parse_family("dual", &fam), 0);
	CHECK_EQ_INT(fam, AF_UNSPEC);
	CHECK_EQ_INT(sctl_parse_family("5", &fam), -1);
}
