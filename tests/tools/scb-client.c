// SPDX-License-Identifier: MIT
/*
 * scb-client: speaks the broker protocol from the command line, for VM
 * scenarios and the benchmark.  One connection, then one or more
 * requests separated by `--`; each reply is printed as text:
 *
 *   OK                       or   ERROR B413 not a member of that loop
 *   LOOP                          (nested attributes are indented)
 *     LOOP_ID 5f0c...
 *
 * -w MS waits MS after the last request and prints the events that
 * arrive; with -A 1 (or 0) it also accepts (refuses) every EV_CONNECT.
 *
 * Exit status: 0 all replies OK, 2 some reply was an ERROR (or the
 * HELLO was refused), 1 usage or connection trouble.
 *
 *   scb-client tai                         current TAI64N in hex
 *   scb-client pub -k KEY                  the key's public key
 *   scb-client load -s H:P -b PUB N [SEC] [PID]
 *       N simulated devices log in at once (HELLO/WELCOME each), stay
 *       SEC seconds, print logins per second and, with the broker's PID,
 *       its memory per online device.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <sloop/scb.h>

#include "cred.h"
#include "hex.h"
#include "scbconn.h"
#include "scbwire.h"
#include "tai64n.h"

struct cli {
	uint8_t sk[64], pk[32], xpriv[32];
	uint8_t bpk[32], bx[32];
	bool have_key, have_broker, admin, have_tai, show_welcome;
	uint8_t tai[12];
	char host[256], port[16];
	int timeout_ms, wait_ms;
	int auto_answer;		/* -A: answer EV_CONNECT, -1 never */
	uint8_t token[16];
	uint32_t id;
	struct scbc c;
	int errors;
};

static uint8_t fbuf[SCB_RECORD_MAX], rbuf[SCB_RECORD_MAX];

static int usage(void)
{
	fprintf(stderr,
		"Usage: scb-client [-k KEY] [-b PUB] [-s HOST:PORT] [-a] [-T TAI] [-t MS]\n"
		"                  [-w MS [-A 0|1]]\n"
		"                  REQUEST [ARGS] [-- REQUEST [ARGS]]...\n"
		"Requests: hello, register USER PASSWORD NAME, loop-create NAME [POLICY],\n"
		"  invite LOOP_ID [TTL], join CODE, approve LOOP_ID DEVICE ADDR4 ADDR6,\n"
		"  reject LOOP_ID DEVICE, loop-get LOOP_ID, loops, connect LOOP_ID DEVICE,\n"
		"  answer LOOP_ID DEVICE 0|1, renew LOOP_ID, probe,\n"
		"  user-add USER PASSWORD [LIMIT], user-set USER LIMIT, user-list,\n"
		"  device-list, device-set DEVICE active|suspended|stolen|removed,\n"
		"  loop-list, loop-show LOOP_ID, revoke LOOP_ID DEVICE, raw HEX,\n"
		"  match LOOP_ID DEVICE N (N CONNECTs to a member running -w MS -A 1)\n"
		"Other: scb-client tai | pub -k KEY | load -s H:P -b PUB N [SEC] [PID]\n"
		"     | cred -k KEY LOOP_ID DEVICE ADDR4 ADDR6 [POLICY] (offline, hex)\n");
	return 1;
}

/* ------------------------------------------------------------ keys */

static int decode32(const char *s, uint8_t out[32])
{
	size_t n = 0;

	if (!sodium_base642bin(out, 32, s, strlen(s), NULL, &n, NULL,
			       sodium_base64_VARIANT_ORIGINAL) && n == 32)
		return 0;
	return hex_decode(out, 32, s, strlen(s)) == 32 ? 0 : -1;
}

static int load_key(struct cli *c, const char *path)
{
	char buf[256];
	uint8_t seed[64];
	size_t n = 0;
	FILE *f = fopen(path, "re");

	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\r\n ")] = '\0';
	if (sodium_base642bin(seed, sizeof(seed), buf, strlen(buf), NULL, &n,
			      NULL, sodium_base64_VARIANT_ORIGINAL) ||
	    (n != 32 && n != 64)) {
		long h = hex_decode(seed, sizeof(seed), buf, strlen(buf));

		if (h != 32 && h != 64)
			return -1;
	}
	crypto_sign_seed_keypair(c->pk, c->sk, seed);
	sodium_memzero(seed, sizeof(seed));
	if (crypto_sign_ed25519_sk_to_curve25519(c->xpriv, c->sk))
		return -1;
	c->have_key = true;
	return 0;
}

static void b64(char *out, size_t cap, const uint8_t *in, size_t len)
{
	sodium_bin2base64(out, cap, in, len, sodium_base64_VARIANT_ORIGINAL);
}

/* ------------------------------------------------------------ printing */

static const char *state_name(int s)
{
	static const char *const n[] = { "active", "suspended", "stolen",
					 "removed" };

	return s >= 0 && s < 4 ? n[s] : "?";
}

static void print_value(const struct scbw_attr *a)
{
	char s[512];
	char ip[INET6_ADDRSTRLEN];

	switch (a->type) {
	case SCB_A_LOOP_ID:
		hex_encode(s, sizeof(s), a->val, a->len);
		printf("%s", s);
		return;
	case SCB_A_ADDR4:
		inet_ntop(AF_INET, a->val, ip, sizeof(ip));
		printf("%s", ip);
		return;
	case SCB_A_ADDR6:
		inet_ntop(AF_INET6, a->val, ip, sizeof(ip));
		printf("%s", ip);
		return;
	case SCB_A_NET4:
		inet_ntop(AF_INET, a->val, ip, sizeof(ip));
		printf("%s/%u", ip, a->val[4]);
		return;
	case SCB_A_NET6:
		inet_ntop(AF_INET6, a->val, ip, sizeof(ip));
		printf("%s/%u", ip, a->val[16]);
		return;
	case SCB_A_ENDPOINT: {
		struct in6_addr a6;

		memcpy(&a6, a->val, 16);
		if (IN6_IS_ADDR_V4MAPPED(&a6))
			inet_ntop(AF_INET, a->val + 12, ip, sizeof(ip));
		else
			inet_ntop(AF_INET6, a->val, ip, sizeof(ip));
		printf("%s %u", ip, (unsigned)(a->val[16] << 8 | a->val[17]));
		return;
	}
	case SCB_A_CODE:
	case SCB_A_REASON:
		printf("B%u", scbw_u16(a));
		return;
	case SCB_A_STATE:
		printf("%s", state_name(scbw_u8(a)));
		return;
	case SCB_A_ROLE: case SCB_A_POLICY: case SCB_A_ACCEPT:
	case SCB_A_ONLINE:
		printf("%u", scbw_u8(a));
		return;
	case SCB_A_TTL: case SCB_A_AT_MS: case SCB_A_LIMIT: case SCB_A_COUNT:
		printf("%u", scbw_u32(a));
		return;
	case SCB_A_LAST_SEEN: case SCB_A_EXPIRES:
		printf("%llu", (unsigned long long)scbw_u64(a));
		return;
	case SCB_A_TEXT: case SCB_A_USER: case SCB_A_NAME:
	case SCB_A_LOOP_NAME: case SCB_A_INVITE: case SCB_A_PASSWORD:
		printf("%.*s", (int)a->len, (const char *)a->val);
		return;
	default:
		if (a->len <= 64) {
			b64(s, sizeof(s), a->val, a->len);
		} else {
			/* credentials and revocations: long, base64 too */
			char *big = malloc(a->len * 2 + 4);

			if (big) {
				b64(big, a->len * 2 + 4, a->val, a->len);
				printf("%s", big);
				free(big);
			}
			return;
		}
		printf("%s", s);
	}
}

static bool is_nest(int t)
{
	return t == SCB_A_LOOP || t == SCB_A_PEER || t == SCB_A_USER_ENTRY ||
	       t == SCB_A_DEVICE_ENTRY || t == SCB_A_INVITE_ENTRY ||
	       t == SCB_A_PENDING;
}

static void print_attrs(const struct scbw_frame *f, int depth)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct scbw_attr *a = &f->a[i];

		printf("%*s%s", depth * 2, "", scbw_attr_name(a->type));
		if (is_nest(a->type)) {
			struct scbw_frame *in = malloc(sizeof(*in));
			char why[128];

			putchar('\n');
			if (in && !scbw_parse_nested(a, in, why, sizeof(why)))
				print_attrs(in, depth + 1);
			free(in);
			continue;
		}
		putchar(' ');
		print_value(a);
		putchar('\n');
	}
}

/* Prints a frame; returns its error code (0 for anything but ERROR). */
static int print_frame(const uint8_t *buf, size_t len)
{
	static struct scbw_frame f;
	char why[128];
	int rc = scbw_parse(&f, buf, len, why, sizeof(why));

	if (rc) {
		printf("UNPARSABLE B%d %s\n", rc, why);
		return rc;
	}
	if (f.type == SCB_MSG_ERROR) {
		const struct scbw_attr *t = scbw_get(&f, SCB_A_TEXT);

		rc = scbw_u16(scbw_get(&f, SCB_A_CODE));
		printf("ERROR B%d %.*s\n", rc, t ? (int)t->len : 0,
		       t ? (const char *)t->val : "");
		return rc;
	}
	printf("%s\n", f.type == SCB_MSG_OK ? "OK" : scbw_msg_name(f.type));
	print_attrs(&f, 1);
	fflush(stdout);
	return 0;
}

/* ------------------------------------------------------------ requests */

static int request(struct cli *c, struct scbw_buf *b, struct scbw_frame *out)
{
	size_t len = scbw_end(b), rlen = 0;
	char why[128];
	int rc;

	if (!len) {
		fprintf(stderr, "scb-client: request too large\n");
		return -1;
	}
	rc = scbc_request(&c->c, b->p, len, rbuf, sizeof(rbuf), &rlen,
			  c->timeout_ms);
	if (rc) {
		fprintf(stderr, "scb-client: request failed: %s\n",
			strerror(-rc));
		return -1;
	}
	rc = print_frame(rbuf, rlen);
	if (rc)
		c->errors++;
	if (out && scbw_parse(out, rbuf, rlen, why, sizeof(why)))
		return -1;
	return rc;
}

static void start(struct cli *c, struct scbw_buf *b, int type)
{
	scbw_start(b, fbuf, sizeof(fbuf), (uint8_t)type, ++c->id);
}

static int need_args(char **av, int ac, int n)
{
	if (ac < n) {
		fprintf(stderr, "scb-client: %s needs %d argument(s)\n",
			av[0], n - 1);
		return -1;
	}
	return 0;
}

static int put_key(struct scbw_buf *b, int type, const char *s)
{
	uint8_t k[32];

	if (decode32(s, k)) {
		fprintf(stderr, "scb-client: '%s' is not a 32-byte key\n", s);
		return -1;
	}
	scbw_put(b, (uint16_t)type, k, 32);
	return 0;
}

static uint64_t now_s(void)
{
	return (uint64_t)time(NULL);
}

static int make_cred(struct cli *c, const uint8_t lid[32],
		     const uint8_t dev[32], const uint8_t a4[4],
		     const uint8_t a6[16], int policy, uint8_t raw[CRED_LEN])
{
	struct cred cr;

	memset(&cr, 0, sizeof(cr));
	cr.policy = (uint8_t)policy;
	memcpy(cr.loop_id, lid, 32);
	memcpy(cr.device, dev, 32);
	memcpy(cr.addr4, a4, 4);
	memcpy(cr.addr6, a6, 16);
	cr.not_before = now_s() - 60;
	cr.not_after = now_s() + 3000;
	if (cred_sign(&cr, c->sk))
		return -1;
	cred_encode(&cr, raw);
	return 0;
}

static int sign_send(struct cli *c, int type, const uint8_t lid[32],
		     const uint8_t dev[32], const uint8_t a4[4],
		     const uint8_t a6[16], int policy)
{
	struct scbw_buf b;
	uint8_t raw[CRED_LEN];

	if (make_cred(c, lid, dev, a4, a6, policy, raw))
		return -1;
	start(c, &b, type);
	scbw_put(&b, SCB_A_LOOP_ID, lid, 32);
	scbw_put(&b, SCB_A_DEVICE, dev, 32);
	scbw_put(&b, SCB_A_CRED, raw, CRED_LEN);
	return request(c, &b, NULL);
}

/* LOOP_CREATE, then the founder's self-signed root credential. */
static int do_loop_create(struct cli *c, char **av, int ac)
{
	static struct scbw_frame f, in;
	const struct scbw_attr *l;
	struct scbw_buf b;
	char why[128];
	int policy = ac > 2 ? atoi(av[2]) : 1, rc;

	start(c, &b, SCB_MSG_LOOP_CREATE);
	scbw_put_str(&b, SCB_A_LOOP_NAME, av[1]);
	scbw_put_u8(&b, SCB_A_POLICY, (uint8_t)policy);
	rc = request(c, &b, &f);
	if (rc)
		return rc;
	l = scbw_get(&f, SCB_A_LOOP);
	if (!l || scbw_parse_nested(l, &in, why, sizeof(why)) ||
	    !scbw_get(&in, SCB_A_ADDR4) || !scbw_get(&in, SCB_A_ADDR6))
		return -1;
	return sign_send(c, SCB_MSG_RENEW_ANSWER,
			 scbw_get(&in, SCB_A_LOOP_ID)->val, c->pk,
			 scbw_get(&in, SCB_A_ADDR4)->val,
			 scbw_get(&in, SCB_A_ADDR6)->val, policy);
}

static int do_approve(struct cli *c, char **av, int ac)
{
	uint8_t lid[32], dev[32], a4[4], a6[16];
	int policy = ac > 5 ? atoi(av[5]) : 1;

	if (hex_decode(lid, 32, av[1], strlen(av[1])) != 32 ||
	    decode32(av[2], dev) || inet_pton(AF_INET, av[3], a4) != 1 ||
	    inet_pton(AF_INET6, av[4], a6) != 1) {
		fprintf(stderr, "scb-client: approve LOOP_ID DEVICE ADDR4 ADDR6 [POLICY]\n");
		return -1;
	}
	return sign_send(c, SCB_MSG_APPROVE, lid, dev, a4, a6, policy);
}

/*
 * Offline: a credential signed by -k KEY, in hex, whoever KEY is.  VM
 * scenarios plant it in a broker's store to play a broker that lies.
 */
static int do_cred(struct cli *c, char **av, int ac)
{
	uint8_t lid[32], dev[32], a4[4], a6[16], raw[CRED_LEN];
	char hex[2 * CRED_LEN + 1];

	if (ac < 4 || hex_decode(lid, 32, av[0], strlen(av[0])) != 32 ||
	    decode32(av[1], dev) || inet_pton(AF_INET, av[2], a4) != 1 ||
	    inet_pton(AF_INET6, av[3], a6) != 1 ||
	    make_cred(c, lid, dev, a4, a6, ac > 4 ? atoi(av[4]) : 1, raw)) {
		fprintf(stderr, "scb-client: cred -k KEY LOOP_ID DEVICE ADDR4 ADDR6 [POLICY]\n");
		return 1;
	}
	hex_encode(hex, sizeof(hex), raw, CRED_LEN);
	printf("%s\n", hex);
	return 0;
}

static int put_loop_id(struct scbw_buf *b, const char *s)
{
	uint8_t lid[32];

	if (hex_decode(lid, 32, s, strlen(s)) != 32) {
		fprintf(stderr, "scb-client: '%s' is not a loop id (hex)\n",
			s);
		return -1;
	}
	scbw_put(b, SCB_A_LOOP_ID, lid, 32);
	return 0;
}

static int parse_state(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, state_name(i)))
			return i;
	return -1;
}

static int do_probe(struct cli *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
	uint8_t pkt[SCB_PROBE_LEN], ans[64];
	struct pollfd pfd;
	int fd, rc = -1;
	ssize_t n;

	if (getaddrinfo(c->host, c->port, &hints, &ai))
		return -1;
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memcpy(pkt, SCB_PROBE_MAGIC, 4);
	memcpy(pkt + 4, c->token, 16);
	if (fd >= 0 && sendto(fd, pkt, sizeof(pkt), 0, ai->ai_addr,
			      ai->ai_addrlen) == (ssize_t)sizeof(pkt)) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, c->timeout_ms) == 1) {
			n = recv(fd, ans, sizeof(ans), 0);
			if (n == SCB_PROBE_ANSWER_LEN &&
			    !memcmp(ans, SCB_PROBE_ANSWER_MAGIC, 4) &&
			    !memcmp(ans + 4, c->token, 16)) {
				struct scbw_attr a = { SCB_A_ENDPOINT, 18,
						       ans + 20 };

				printf("PROBE\n  ENDPOINT ");
				print_value(&a);
				putchar('\n');
				rc = 0;
			}
		}
	}
	if (rc)
		printf("PROBE no answer\n");
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

static int do_raw(struct cli *c, const char *h)
{
	uint8_t *raw = NULL;
	long n = hex_decode_alloc(&raw, h, strlen(h));
	size_t rlen = 0;
	int rc;

	if (n < 0)
		return -1;
	rc = scbc_request(&c->c, raw, (size_t)n, rbuf, sizeof(rbuf), &rlen,
			  c->timeout_ms);
	free(raw);
	if (rc) {
		fprintf(stderr, "scb-client: raw request: %s\n",
			strerror(-rc));
		return -1;
	}
	rc = print_frame(rbuf, rlen);
	if (rc)
		c->errors++;
	return rc;
}

/* Requests with plain attributes: name, message, argument kinds. */
static const struct simple {
	const char *name;
	int msg;
	const char *args;	/* L loop id, D device, S string, U u32, B u8 */
	uint16_t types[4];
} simple[] = {
	{ "register", SCB_MSG_REGISTER, "SSS",
	  { SCB_A_USER, SCB_A_PASSWORD, SCB_A_NAME } },
	{ "invite", SCB_MSG_INVITE_CREATE, "Lu", { 0, SCB_A_TTL } },
	{ "join", SCB_MSG_JOIN, "S", { SCB_A_INVITE } },
	{ "reject", SCB_MSG_REJECT, "LD", { 0, SCB_A_DEVICE } },
	{ "loop-get", SCB_MSG_LOOP_GET, "L", { 0 } },
	{ "loops", SCB_MSG_LOOPS, "", { 0 } },
	{ "connect", SCB_MSG_CONNECT, "LD", { 0, SCB_A_DEVICE } },
	{ "answer", SCB_MSG_CONNECT_ANSWER, "LDB",
	  { 0, SCB_A_DEVICE, SCB_A_ACCEPT } },
	{ "renew", SCB_MSG_RENEW, "L", { 0 } },
	{ "user-add", SCB_MSG_ADM_USER_ADD, "SSu",
	  { SCB_A_USER, SCB_A_PASSWORD, SCB_A_LIMIT } },
	{ "user-set", SCB_MSG_ADM_USER_SET, "SU", { SCB_A_USER, SCB_A_LIMIT } },
	{ "user-list", SCB_MSG_ADM_USER_LIST, "", { 0 } },
	{ "device-list", SCB_MSG_ADM_DEVICE_LIST, "", { 0 } },
	{ "loop-list", SCB_MSG_ADM_LOOP_LIST, "", { 0 } },
	{ "loop-show", SCB_MSG_ADM_LOOP_SHOW, "L", { 0 } },
	{ "revoke", SCB_MSG_ADM_REVOKE, "LD", { 0, SCB_A_DEVICE } },
};

/* Upper-case letters are required arguments, lower-case optional. */
static int do_simple(struct cli *c, const struct simple *s, char **av,
		     int ac)
{
	struct scbw_buf b;
	int i;

	start(c, &b, s->msg);
	for (i = 0; s->args[i]; i++) {
		char k = s->args[i];
		const char *v = i + 1 < ac ? av[i + 1] : NULL;

		if (!v) {
			if (k >= 'A' && k <= 'Z')
				return need_args(av, ac, i + 2);
			if (k == 'u' && s->msg == SCB_MSG_INVITE_CREATE)
				scbw_put_u32(&b, SCB_A_TTL, 3600);
			continue;
		}
		switch (k) {
		case 'L':
			if (put_loop_id(&b, v))
				return -1;
			break;
		case 'D':
			if (put_key(&b, s->types[i], v))
				return -1;
			break;
		case 'S':
			scbw_put_str(&b, s->types[i], v);
			break;
		case 'U': case 'u':
			scbw_put_u32(&b, s->types[i], (uint32_t)strtoul(v, NULL, 0));
			break;
		case 'B':
			scbw_put_u8(&b, s->types[i], (uint8_t)atoi(v));
			break;
		}
	}
	if (i + 1 < ac) {
		fprintf(stderr, "scb-client: %s: too many arguments\n", av[0]);
		return -1;
	}
	return request(c, &b, NULL);
}

static double now_f(void);

/*
 * match LOOP_ID DEVICE N: N CONNECTs in a row to a member that answers
 * (scb-client -w MS -A 1 on its side); waiting-room matches per second.
 */
static int do_match(struct cli *c, char **av)
{
	uint8_t lid[32], dev[32];
	int n = atoi(av[3]), ok = 0;
	double t0 = now_f(), t;

	if (hex_decode(lid, 32, av[1], strlen(av[1])) != 32 ||
	    decode32(av[2], dev) || n <= 0)
		return -1;
	for (int i = 0; i < n; i++) {
		struct scbw_buf b;
		size_t rlen = 0;

		start(c, &b, SCB_MSG_CONNECT);
		scbw_put(&b, SCB_A_LOOP_ID, lid, 32);
		scbw_put(&b, SCB_A_DEVICE, dev, 32);
		if (scbc_request(&c->c, b.p, scbw_end(&b), rbuf, sizeof(rbuf),
				 &rlen, c->timeout_ms))
			break;
		if (rlen > 1 && rbuf[1] == SCB_MSG_OK)
			ok++;
	}
	t = now_f() - t0;
	printf("match: %d of %d CONNECTs matched in %.3f s, %.0f matches/s\n",
	       ok, n, t, ok / (t > 0 ? t : 1));
	if (ok != n)
		c->errors++;
	return ok == n ? 0 : 2;
}

static int one(struct cli *c, char **av, int ac)
{
	struct scbw_buf b;
	int st;

	if (!strcmp(av[0], "hello"))
		return 0;
	if (!strcmp(av[0], "probe"))
		return do_probe(c);
	if (!strcmp(av[0], "raw"))
		return need_args(av, ac, 2) ? -1 : do_raw(c, av[1]);
	if (!strcmp(av[0], "loop-create"))
		return need_args(av, ac, 2) ? -1 : do_loop_create(c, av, ac);
	if (!strcmp(av[0], "match"))
		return need_args(av, ac, 4) ? -1 : do_match(c, av);
	if (!strcmp(av[0], "approve"))
		return need_args(av, ac, 5) ? -1 : do_approve(c, av, ac);
	if (!strcmp(av[0], "device-set")) {
		if (need_args(av, ac, 3))
			return -1;
		st = parse_state(av[2]);
		start(c, &b, SCB_MSG_ADM_DEVICE_SET);
		if (st < 0 || put_key(&b, SCB_A_DEVICE, av[1]))
			return -1;
		scbw_put_u8(&b, SCB_A_STATE, (uint8_t)st);
		return request(c, &b, NULL);
	}
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		if (!strcmp(av[0], simple[i].name))
			return do_simple(c, &simple[i], av, ac);
	fprintf(stderr, "scb-client: unknown request '%s'\n", av[0]);
	return -1;
}

/* ------------------------------------------------------------ connect */

static size_t build_hello(struct cli *c, const uint8_t pk[32],
			  uint8_t *buf, size_t cap)
{
	struct scbw_buf b;
	uint8_t tai[12];

	if (c->have_tai)
		memcpy(tai, c->tai, 12);
	else
		tai64n_now(tai);
	scbw_start(&b, buf, cap, SCB_MSG_HELLO, 0);
	scbw_put_u8(&b, SCB_A_ROLE, c->admin ? SCB_ROLE_ADMIN :
		    SCB_ROLE_DEVICE);
	scbw_put(&b, SCB_A_PUB, pk, 32);
	scbw_put(&b, SCB_A_TAI64N, tai, 12);
	return scbw_end(&b);
}

static int dial(struct cli *c)
{
	uint8_t hello[256];
	size_t hl = build_hello(c, c->pk, hello, sizeof(hello)), rlen = 0;
	static struct scbw_frame f;
	char why[128];
	int rc;

	rc = scbc_dial(&c->c, c->host, c->port, c->xpriv, c->bx, hello, hl,
		       rbuf, sizeof(rbuf), &rlen, c->timeout_ms);
	if (rc) {
		fprintf(stderr, "scb-client: cannot reach %s:%s: %s\n",
			c->host, c->port, strerror(-rc));
		return 1;
	}
	if (scbw_parse(&f, rbuf, rlen, why, sizeof(why)) ||
	    f.type != SCB_MSG_WELCOME) {
		print_frame(rbuf, rlen);
		return 2;
	}
	if (scbw_get(&f, SCB_A_TOKEN))
		memcpy(c->token, scbw_get(&f, SCB_A_TOKEN)->val, 16);
	if (c->show_welcome)
		print_frame(rbuf, rlen);
	return 0;
}

/* -A 0|1: answer an EV_CONNECT as a member's sloopd would. */
static void answer_connect(struct cli *c, const uint8_t *frame, size_t len)
{
	static struct scbw_frame f;
	const struct scbw_attr *lid, *dev;
	struct scbw_buf b;
	char why[128];

	if (scbw_parse(&f, frame, len, why, sizeof(why)))
		return;
	lid = scbw_get(&f, SCB_A_LOOP_ID);
	dev = scbw_get(&f, SCB_A_DEVICE);
	if (!lid || !dev)
		return;
	start(c, &b, SCB_MSG_CONNECT_ANSWER);
	scbw_put(&b, SCB_A_LOOP_ID, lid->val, 32);
	scbw_put(&b, SCB_A_DEVICE, dev->val, 32);
	scbw_put_u8(&b, SCB_A_ACCEPT, (uint8_t)c->auto_answer);
	if (scbw_end(&b))
		scbc_send(&c->c, b.p, scbw_end(&b));
}

static int on_event(void *ctx, struct scbc *sc, const uint8_t *frame,
		    size_t len)
{
	struct cli *c = ctx;

	(void)sc;
	print_frame(frame, len);
	if (c->auto_answer >= 0 && len > 1 &&
	    frame[1] == SCB_MSG_EV_CONNECT)
		answer_connect(c, frame, len);
	return 0;
}

static void wait_events(struct cli *c)
{
	struct timespec t0, t;
	struct pollfd pfd = { .fd = c->c.fd, .events = POLLIN };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long el;

		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (t.tv_sec - t0.tv_sec) * 1000 +
		     (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (el >= c->wait_ms || poll(&pfd, 1, (int)(c->wait_ms - el)) <= 0)
			return;
		if (scbc_read(&c->c, on_event, c) || scbc_flush(&c->c) < 0)
			return;
	}
}

static int split_hostport(struct cli *c, const char *s)
{
	const char *colon = strrchr(s, ':');
	const char *h = s;
	size_t hl;

	if (!colon)
		return -1;
	hl = (size_t)(colon - s);
	if (*s == '[' && hl >= 2 && s[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(c->host) || strlen(colon + 1) >= sizeof(c->port))
		return -1;
	memcpy(c->host, h, hl);
	c->host[hl] = '\0';
	strcpy(c->port, colon + 1);
	return 0;
}

/* ------------------------------------------------------------ load */

struct sim {
	struct scbc c;
	bool welcomed, failed;
};

static int sim_cb(void *ctx, struct scbc *sc, const uint8_t *frame,
		  size_t len)
{
	struct sim *s = ctx;

	(void)sc;
	if (len > 1 && frame[1] == SCB_MSG_WELCOME)
		s->welcomed = true;
	else
		s->failed = true;
	return 0;
}

static long rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = atol(line + 6);
	fclose(f);
	return kb;
}

static int sim_start(struct cli *c, struct sim *s, struct addrinfo *ai)
{
	uint8_t pk[32], sk[64], xp[32], hello[256];
	size_t hl;
	int fd, rc;

	crypto_sign_keypair(pk, sk);
	if (crypto_sign_ed25519_sk_to_curve25519(xp, sk))
		return -1;
	hl = build_hello(c, pk, hello, sizeof(hello));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	rc = scbc_client_start(&s->c, fd, xp, c->bx, hello, hl);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(xp, sizeof(xp));
	return rc;
}

static double now_f(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int load(struct cli *c, int n, int hold, int pid)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	struct sim *sims = calloc((size_t)n, sizeof(*sims));
	struct pollfd *pfd = calloc((size_t)n, sizeof(*pfd));
	int *idx = calloc((size_t)n, sizeof(*idx));
	struct rlimit rl;
	long rss0 = pid ? rss_kb(pid) : -1, rss1;
	int done = 0, failed = 0, started = 0;
	double t0, t1;

	if (!sims || !pfd || !idx || getaddrinfo(c->host, c->port, &hints, &ai))
		return 1;
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	t0 = now_f();
	for (int i = 0; i < n; i++) {
		if (sim_start(c, &sims[i], ai)) {
			sims[i].failed = true;
			failed++;
			continue;
		}
		started++;
	}
	while (done + failed < n && now_f() - t0 < c->timeout_ms / 1000.0) {
		int k = 0;

		for (int i = 0; i < n; i++) {
			if (sims[i].welcomed || sims[i].failed)
				continue;
			pfd[k].fd = sims[i].c.fd;
			pfd[k].events = POLLIN |
				(scbc_want_write(&sims[i].c) ? POLLOUT : 0);
			idx[k++] = i;
		}
		if (poll(pfd, (nfds_t)k, 200) < 0)
			break;
		for (int j = 0; j < k; j++) {
			struct sim *s = &sims[idx[j]];

			if ((pfd[j].revents & POLLOUT) &&
			    scbc_flush(&s->c) < 0)
				s->failed = true;
			if (!s->failed &&
			    (pfd[j].revents & (POLLIN | POLLERR | POLLHUP)) &&
			    scbc_read(&s->c, sim_cb, s))
				s->failed = true;
			if (s->welcomed)
				done++;
			else if (s->failed)
				failed++;
		}
	}
	t1 = now_f();
	printf("load: %d devices, %d logged in, %d failed, %.3f s, %.0f logins/s\n",
	       n, done, failed, t1 - t0, done / (t1 - t0 > 0 ? t1 - t0 : 1));
	if (hold > 0)
		sleep((unsigned int)hold);
	rss1 = pid ? rss_kb(pid) : -1;
	if (rss0 >= 0 && rss1 >= 0 && done > 0)
		printf("load: broker RSS %ld kB -> %ld kB, %.1f kB per online device\n",
		       rss0, rss1, (double)(rss1 - rss0) / done);
	for (int i = 0; i < n; i++)
		if (sims[i].c.fd > 0)
			scbc_free(&sims[i].c);
	freeaddrinfo(ai);
	free(sims);
	free(pfd);
	free(idx);
	return done == n ? 0 : 2;
}

/* ------------------------------------------------------------ main */

static int parse_opts(struct cli *c, int argc, char **argv)
{
	int o;

	while ((o = getopt(argc, argv, "+k:b:s:aA:T:t:w:")) != -1) {
		switch (o) {
		case 'k':
			if (load_key(c, optarg)) {
				fprintf(stderr, "scb-client: %s: not a key\n",
					optarg);
				return -1;
			}
			break;
		case 'b':
			if (decode32(optarg, c->bpk) ||
			    crypto_sign_ed25519_pk_to_curve25519(c->bx, c->bpk))
				return fprintf(stderr, "scb-client: bad -b\n"), -1;
			c->have_broker = true;
			break;
		case 's':
			if (split_hostport(c, optarg))
				return fprintf(stderr, "scb-client: -s HOST:PORT\n"), -1;
			break;
		case 'a':
			c->admin = true;
			break;
		case 'A':
			c->auto_answer = atoi(optarg) ? 1 : 0;
			break;
		case 'T':
			if (hex_decode(c->tai, 12, optarg, strlen(optarg)) != 12)
				return fprintf(stderr, "scb-client: -T: 24 hex digits\n"), -1;
			c->have_tai = true;
			break;
		case 't':
			c->timeout_ms = atoi(optarg);
			break;
		case 'w':
			c->wait_ms = atoi(optarg);
			break;
		default:
			return -1;
		}
	}
	return optind;
}

static int run_requests(struct cli *c, char **av, int ac)
{
	int rc, i = 0;

	c->show_welcome = !strcmp(av[0], "hello");
	rc = dial(c);
	if (rc)
		return rc;
	while (i < ac) {
		int j = i;

		while (j < ac && strcmp(av[j], "--"))
			j++;
		if (j > i && one(c, av + i, j - i) < 0 && !c->errors) {
			scbc_free(&c->c);
			return 1;
		}
		i = j + 1;
	}
	if (c->wait_ms)
		wait_events(c);
	scbc_free(&c->c);
	return c->errors ? 2 : 0;
}

int main(int argc, char **argv)
{
	static struct cli c;
	int i;

	if (sodium_init() < 0)
		return 1;
	/* Scenarios watch the output of a client still running. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	c.timeout_ms = 10000;
	c.auto_answer = -1;
	strcpy(c.host, "127.0.0.1");
	snprintf(c.port, sizeof(c.port), "%d", SCB_DEFAULT_PORT);
	if (argc > 1 && !strcmp(argv[1], "tai")) {
		uint8_t t[12];
		char h[25];

		tai64n_now(t);
		hex_encode(h, sizeof(h), t, 12);
		printf("%s\n", h);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "cred")) {
		i = parse_opts(&c, argc - 1, argv + 1);
		if (i < 0 || !c.have_key)
			return usage();
		return do_cred(&c, argv + i + 1, argc - i - 1);
	}
	if (argc > 1 && (!strcmp(argv[1], "pub") || !strcmp(argv[1], "load"))) {
		const char *mode = argv[1];
		char out[64];

		i = parse_opts(&c, argc - 1, argv + 1);
		if (i < 0)
			return usage();
		i++;
		if (!strcmp(mode, "pub")) {
			if (!c.have_key)
				return usage();
			b64(out, sizeof(out), c.pk, 32);
			printf("%s\n", out);
			return 0;
		}
		if (!c.have_broker || i >= argc)
			return usage();
		if (c.timeout_ms == 10000)
			c.timeout_ms = 120000;
		return load(&c, atoi(argv[i]), i + 1 < argc ? atoi(argv[i + 1]) : 0,
			    i + 2 < argc ? atoi(argv[i + 2]) : 0);
	}
	i = parse_opts(&c, argc, argv);
	if (i < 0 || i >= argc || !c.have_key || !c.have_broker)
		return usage();
	return run_requests(&c, argv + i, argc - i);
}
