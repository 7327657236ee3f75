// SPDX-License-Identifier: MIT
/* Link handshake: formats, MACs, replay, cookie and rate limit. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <sodium.h>
#include <sloop/uapi.h>
#include <sloop/wire.h>

#include "../../daemon/sloopd/handshake.h"
#include "unit.h"

struct hs_fixture {
	struct hs_local ini, rsp;
	uint8_t psk[32];
	uint8_t last_tai[12];
	int peer_tag;
	bool known;
};

static int fx_lookup(void *ctx, const uint8_t pub[32], struct hs_peer_ref *ref)
{
	struct hs_fixture *f = ctx;

	if (!f->known || memcmp(pub, f->ini.pub, 32))
		return -1;
	ref->peer = &f->peer_tag;
	ref->psk = f->psk;
	ref->last_tai = f->last_tai;
	ref->cipher = SLOOP_CIPHER_CHACHA20_POLY1305;
	return 0;
}

static void fx_init(struct hs_fixture *f)
{
	uint8_t seed[32];

	memset(f, 0, sizeof(*f));
	randombytes_buf(seed, 32);
	hs_local_from_ed25519_seed(&f->ini, seed);
	randombytes_buf(seed, 32);
	hs_local_from_ed25519_seed(&f->rsp, seed);
	randombytes_buf(f->psk, 32);
	f->known = true;
}

static void tai_at(uint8_t out[12], long sec)
{
	struct timespec ts = { .tv_sec = sec, .tv_nsec = 0 };

	tai64n_encode(out, &ts);
}

static struct sockaddr_in src4(const char *ip, int port)
{
	struct sockaddr_in s = { .sin_family = AF_INET };

	inet_pton(AF_INET, ip, &s.sin_addr);
	s.sin_port = htons(port);
	return s;
}

TEST(hs_ed25519_conversion_matches)
{
	uint8_t seed[32], pk[32], sk[64], xpub[32];
	struct hs_local l;

	randombytes_buf(seed, 32);
	crypto_sign_seed_keypair(pk, sk, seed);
	CHECK(hs_local_from_ed25519_seed(&l, seed) == 0);
	CHECK(hs_pub_from_ed25519(xpub, pk) == 0);
	CHECK(memcmp(xpub, l.pub, 32) == 0);
}

TEST(hs_full_handshake_agrees)
{
	struct hs_fixture f;
	struct hs_initiator in = { 0 };
	struct hs_responder r;
	struct hs_result ri = { 0 }, rr = { 0 };
	uint8_t init[HS_INIT_LEN], resp[HS_RESP_LEN], tai[12];
	struct sockaddr_in s = src4("192.0.2.1", 4000);
	size_t rlen = 0;
	enum reason why;

	fx_init(&f);
	hs_responder_init(&r, &f.rsp);
	tai_at(tai, 1000);
	CHECK(hs_initiate(&in, &f.ini, f.rsp.pub, f.psk, 0x11223344,
			  SLOOP_CIPHER_AES128_GCM, tai, 0, init) == 0);
	CHECK_EQ_INT(init[0], SLOOP_MSG_HS_INIT);
	CHECK_EQ_INT(hs_get_u32(init + 4), 0x11223344);
	CHECK_EQ_INT(hs_msg_type(init, sizeof(init)), SLOOP_MSG_HS_INIT);
	CHECK_EQ_INT(hs_respond(&r, init, sizeof(init), (void *)&s, 0,
				fx_lookup, &f, 0x55667788, resp, &rlen, &rr,
				&why), HS_ACCEPT);
	CHECK_EQ_INT(rlen, HS_RESP_LEN);
	CHECK_EQ_INT(why, REASON_OK);
	CHECK(rr.peer == &f.peer_tag);
	CHECK_EQ_INT(hs_consume_response(&in, &f.ini, resp, rlen, &ri),
		     REASON_OK);
	CHECK(memcmp(ri.ck, rr.ck, sizeof(ri.ck)) == 0);
	CHECK(memcmp(ri.h, rr.h, sizeof(ri.h)) == 0);
	CHECK(memcmp(ri.remote_pub, f.rsp.pub, 32) == 0);
	CHECK(memcmp(rr.remote_pub, f.ini.pub, 32) == 0);
	CHECK_EQ_INT(ri.remote_index, 0x55667788);
	CHECK_EQ_INT(rr.remote_index, 0x11223344);
	CHECK_EQ_INT(ri.local_index, 0x11223344);
	/* The responder's per-peer cipher wins over the initiator's wish. */
	CHECK_EQ_INT(ri.cipher, SLOOP_CIPHER_CHACHA20_POLY1305);
	CHECK_EQ_INT(rr.cipher, SLOOP_CIPHER_CHACHA20_POLY1305);
	CHECK(ri.initiator && !rr.initiator);
	/* A second copy of the response is no longer for us. */
	CHECK_EQ_INT(hs_consume_response(&in, &f.ini, resp, rlen, &ri),
		     REASON_HS_MALFORMED);
	hs_initiator_wipe(&in);
	hs_responder_wipe(&r);
}

TEST(hs_wrong_psk_fails_at_initiator)
{
	struct hs_fixture f;
	struct hs_initiator in = { 0 };
	struct hs_responder r;
	struct hs_result ri = { 0 }, rr = { 0 };
	uint8_t init[HS_INIT_LEN], resp[HS_RESP_LEN], tai[12], bad[32];
	struct sockaddr_in s = src4("192.0.2.1", 4000);
	size_t rlen = 0;
	enum reason why;

	fx_init(&f);
	hs_responder_init(&r, &f.rsp);
	tai_at(tai, 1000);
	memset(bad, 7, sizeof(bad));
	CHECK(hs_initiate(&in, &f.ini, f.rsp.pub, bad, 1, 0, tai, 0, init) == 0);
	CHECK_EQ_INT(hs_respond(&r, init, sizeof(init), (void *)&s, 0,
				fx_lookup, &f, 2, resp, &rlen, &rr, &why),
		     HS_ACCEPT);
	CHECK_EQ_INT(hs_consume_response(&in, &f.ini, resp, rlen, &ri),
		     REASON_HS_AUTH);
	/* A forged response did not kill the attempt: still outstanding. */
	CHECK(in.active);
	hs_initiator_wipe(&in);
}

TEST(hs_replay_and_unknown_key_refused)
{
	struct hs_fixture f;
	struct hs_initiator in = { 0 };
	struct hs_responder r;
	struct hs_result rr = { 0 };
	uint8_t init[HS_INIT_LEN], init2[HS_INIT_LEN], resp[HS_RESP_LEN];
	uint8_t tai[12];
	struct sockaddr_in s = src4("192.0.2.1", 4000);
	size_t rlen = 0;
	enum reason why;

	fx_init(&f);
	hs_responder_init(&r, &f.rsp);
	tai_at(tai, 2000);
	CHECK(hs_initiate(&in, &f.ini, f.rsp.pub, f.psk, 9, 0, tai, 0, init) == 0);
	CHECK_EQ_INT(hs_respond(&r, init, sizeof(init), (void *)&s, 0,
				fx_lookup, &f, 3, resp, &rlen, &rr, &why),
		     HS_ACCEPT);
	/* The same initiation again: replay. */
	CHECK_EQ_INT(hs_respond(&r, init, sizeof(init), (void *)&s, 10,
				fx_lookup, &f, 4, resp, &rlen, &rr, &why),
		     HS_REJECT);
	CHECK_EQ_INT(why, REASON_HS_REPLAY);
	/* A fresh initiation with an older timestamp: also refused. */
	tai_at(tai, 1999);
	CHECK(hs_initiate(&in, &f.ini, f.rsp.pub, f.psk, 9, 0, tai, 0, init2) == 0);
	CHECK_EQ_INT(hs_respond(&r, init2, sizeof(init2), (void *)&s, 20,
				fx_lookup, &f, 5, resp, &rlen, &rr, &why),
		     HS_REJECT);
	CHECK_EQ_INT(why, REASON_HS_REPLAY);
	/* A newer one passes. */
	tai_at(tai, 2001);
	CHECK(hs_initiate(&in, &f.ini, f.rsp.pub, f.psk, 9, 0, tai, 0, init2) == 0);
	CHECK_EQ_INT(hs_respond(&r, init2, sizeof(init2), (void *)&s, 30,
				fx_lookup, &f, 6, resp, &rlen, &rr, &why),
		     HS_ACCEPT);
	/* An unknown device key. */
	f.known = false;
	tai_at(tai, 3000);
	CHECK(hs_initiate(&in, &f.ini, f.rsp.pub, f.psk, 9, 0, tai, 0, init2) == 0);
	CHECK_EQ_INT(hs_respond(&r, init2, sizeof(init2), (void *)&s, 40,
				fx_lookup, &f, 7, resp, &rlen, &rr, &why),
		     HS_REJECT);
	CHECK_EQ_INT(why, REASON_HS_BAD_PEER_KEY);
	hs_initiator_wipe(&in);
}

TEST(hs_junk_dropped_cheaply)
{
	struct hs_fixture f;
	struct hs_initiator in = { 0 };
	struct hs_responder r;
	struct hs_result rr = { 0 };
	uint8_t init[HS_INIT_LEN], resp[HS_RESP_LEN], tai[12];
	struct sockaddr_in s = src4("192.0.2.1", 4000);
	size_t rlen = 0;
	enum reason why;

	fx_init(&f);
	hs_responder_init(&r, &f.rsp);
	tai_at(tai, 1000);
	CHECK(hs_initiate(&in, &f.ini, f.rsp.pub, f.psk, 9, 0, tai, 0, init) == 0);
	/* Wrong length, non-zero reserved byte, flipped bit (mac1). */
	CHECK_EQ_INT(hs_respond(&r, init, sizeof(init) - 1, (void *)&s, 0,
				fx_lookup, &f, 3, resp, &rlen, &rr, &why),
		     HS_DROP);
	init[2] = 1;
	CHECK_EQ_INT(hs_respond(&r, init, sizeof(init), (void *)&s, 0,
				fx_lookup, &f, 3, resp, &rlen, &rr, &why),
		     HS_DROP);
	init[2] = 0;
	init[50] ^= 1;
	CHECK_EQ_INT(hs_respond(&r, init, sizeof(init), (void *)&s, 0,
				fx_lookup, &f, 3, resp, &rlen, &rr, &why),
		     HS_DROP);
	CHECK_EQ_INT(r.n_bad_mac, 1);
	/* Addressed to another responder: mac1 fails too. */
	init[50] ^= 1;
	{
		struct hs_responder other;
		struct hs_local ol;
		uint8_t seed[32] = { 1 };

		hs_local_from_ed25519_seed(&ol, seed);
		hs_responder_init(&other, &ol);
		CHECK_EQ_INT(hs_respond(&other, init, sizeof(init), (void *)&s,
					0, fx_lookup, &f, 3, resp, &rlen, &rr,
					&why), HS_DROP);
	}
	/* Every byte of the types' fixed sizes is checked. */
	CHECK_EQ_INT(hs_msg_type(init, 151), -1);
	CHECK_EQ_INT(hs_msg_type((const uint8_t *)"\x02\0\0\0", 4), -1);
	hs_initiator_wipe(&in);
}

TEST(hs_cookie_under_load)
{
	struct hs_fixture f;
	struct hs_initiator in = { 0 };
	struct hs_responder r;
	struct hs_result ri = { 0 }, rr = { 0 };
	uint8_t init[HS_INIT_LEN], out[HS_RESP_LEN], tai[12];
	struct sockaddr_in s = src4("198.51.100.7", 5653);
	struct sockaddr_in other = src4("198.51.100.8", 5653);
	size_t olen = 0;
	enum reason why;
	int accepted = 0, dropped = 0;

	fx_init(&f);
	hs_responder_init(&r, &f.rsp);
	r.load_threshold = 0;	/* every initiation counts as load */
	tai_at(tai, 1000);
	CHECK(hs_initiate(&in, &f.ini, f.rsp.pub, f.psk, 42, 0, tai, 100, init) == 0);
	CHECK_EQ_INT(hs_respond(&r, init, sizeof(init), (void *)&s, 100,
				fx_lookup, &f, 3, out, &olen, &rr, &why),
		     HS_COOKIE);
	CHECK_EQ_INT(olen, HS_COOKIE_LEN);
	CHECK_EQ_INT(out[0], SLOOP_MSG_HS_COOKIE);
	CHECK_EQ_INT(hs_get_u32(out + 4), 42);
	/* A tampered cookie reply is refused. */
	out[40] ^= 1;
	CHECK_EQ_INT(hs_consume_cookie(&in, out, olen, 110), REASON_HS_COOKIE);
	out[40] ^= 1;
	CHECK_EQ_INT(hs_consume_cookie(&in, out, olen, 110), REASON_OK);
	/* With the cookie (mac2) the retry is served. */
	tai_at(tai, 1001);
	CHECK(hs_initiate(&in, &f.ini, f.rsp.pub, f.psk, 43, 0, tai, 120, init) == 0);
	CHECK_EQ_INT(hs_respond(&r, init, sizeof(init), (void *)&s, 120,
				fx_lookup, &f, 3, out, &olen, &rr, &why),
		     HS_ACCEPT);
	CHECK_EQ_INT(hs_consume_response(&in, &f.ini, out, olen, &ri), REASON_OK);
	/* The same mac2 from another source address is not valid. */
	tai_at(tai, 1002);
	CHECK(hs_initiate(&in, &f.ini, f.rsp.pub, f.psk, 44, 0, tai, 130, init) == 0);
	CHECK_EQ_INT(hs_respond(&r, init, sizeof(init), (void *)&other, 130,
				fx_lookup, &f, 3, out, &olen, &rr, &why),
		     HS_COOKIE);
	/* A proven source flooding within one instant: the bucket empties. */
	for (int i = 0; i < 20; i++) {
		enum hs_verdict v;

		tai_at(tai, 2000 + i);
		CHECK(hs_initiate(&in, &f.ini, f.rsp.pub, f.psk, 50 + i, 0,
				  tai, 140, init) == 0);
		v = hs_respond(&r, init, sizeof(init), (void *)&s, 140,
			       fx_lookup, &f, 3, out, &olen, &rr, &why);
		accepted += v == HS_ACCEPT;
		dropped += v == HS_DROP;
	}
	/* One token was spent at t=120; the burst refills only slowly. */
	CHECK(accepted >= 1 && accepted <= (int)HS_RL_BURST);
	CHECK_EQ_INT(accepted + dropped, 20);
	CHECK(r.n_ratelimited >= 20 - HS_RL_BURST);
	/* After a second the bucket has refilled. */
	tai_at(tai, 3000);
	CHECK(hs_initiate(&in, &f.ini, f.rsp.pub, f.psk, 99, 0, tai, 1140, init) == 0);
	CHECK_EQ_INT(hs_respond(&r, init, sizeof(init), (void *)&s, 1140,
				fx_lookup, &f, 3, out, &olen, &rr, &why),
		     HS_ACCEPT);
	hs_initiator_wipe(&in);
	hs_responder_wipe(&r);
}

TEST(hs_cookie_expires_with_secret)
{
	struct hs_fixture f;
	struct hs_initiator in = { 0 };
	struct hs_responder r;
	struct hs_result rr = { 0 };
	uint8_t init[HS_INIT_LEN], out[HS_RESP_LEN], tai[12];
	struct sockaddr_in s = src4("198.51.100.7", 5653);
	size_t olen = 0;
	enum reason why;

	fx_init(&f);
	hs_responder_init(&r, &f.rsp);
	r.load_threshold = 0;
	tai_at(tai, 1000);
	CHECK(hs_initiate(&in, &f.ini, f.rsp.pub, f.psk, 42, 0, tai, 0, init) == 0);
	CHECK_EQ_INT(hs_respond(&r, init, sizeof(init), (void *)&s, 0,
				fx_lookup, &f, 3, out, &olen, &rr, &why),
		     HS_COOKIE);
	CHECK_EQ_INT(hs_consume_cookie(&in, out, olen, 0), REASON_OK);
	/* Past the secret's lifetime the old cookie no longer proves much. */
	tai_at(tai, 1001);
	CHECK(hs_initiate(&in, &f.ini, f.rsp.pub, f.psk, 43, 0, tai,
			  HS_COOKIE_SECRET_MS + 1, init) == 0);
	CHECK(!in.has_cookie);
	CHECK_EQ_INT(hs_respond(&r, init, sizeof(init), (void *)&s,
				HS_COOKIE_SECRET_MS + 1, fx_lookup, &f, 3, out,
				&olen, &rr, &why), HS_COOKIE);
	hs_initiator_wipe(&in);
}

TEST(hs_abort_keeps_cookie)
{
	struct hs_fixture f;
	struct hs_initiator in = { 0 };
	struct hs_responder r;
	struct hs_result rr = { 0 };
	uint8_t init[HS_INIT_LEN], out[HS_RESP_LEN], tai[12];
	struct sockaddr_in s = src4("198.51.100.7", 5653);
	size_t olen = 0;
	enum reason why;

	fx_init(&f);
	hs_responder_init(&r, &f.rsp);
	r.load_threshold = 0;
	tai_at(tai, 1000);
	CHECK(hs_initiate(&in, &f.ini, f.rsp.pub, f.psk, 42, 0, tai, 0, init) == 0);
	CHECK_EQ_INT(hs_respond(&r, init, sizeof(init), (void *)&s, 0,
				fx_lookup, &f, 3, out, &olen, &rr, &why),
		     HS_COOKIE);
	CHECK_EQ_INT(hs_consume_cookie(&in, out, olen, 0), REASON_OK);
	hs_initiator_abort(&in);
	CHECK(!in.active && in.has_cookie);
	/* A cookie reply for an aborted attempt is not taken. */
	CHECK_EQ_INT(hs_consume_cookie(&in, out, olen, 0), REASON_HS_MALFORMED);
	tai_at(tai, 1001);
	CHECK(hs_initiate(&in, &f.ini, f.rsp.pub, f.psk, 43, 0, tai, 5000, init) == 0);
	CHECK_EQ_INT(hs_respond(&r, init, sizeof(init), (void *)&s, 5000,
				fx_lookup, &f, 3, out, &olen, &rr, &why),
		     HS_ACCEPT);
	hs_initiator_wipe(&in);
}
