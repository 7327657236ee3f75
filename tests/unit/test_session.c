// SPDX-License-Identifier: MIT
/* Session key schedule, control messages, heartbeat and recovery timers. */
#include <string.h>

#include <sodium.h>
#include <sloop/uapi.h>

#include "../../daemon/sloopd/ctrlmsg.h"
#include "../../daemon/sloopd/script.h"
#include "../../daemon/sloopd/session.h"
#include "unit.h"

static void pair_keys(struct sess_keys k[2], int cipher)
{
	struct hs_result r = { 0 };

	randombytes_buf(r.ck, sizeof(r.ck));
	randombytes_buf(r.h, sizeof(r.h));
	r.cipher = cipher;
	r.initiator = true;
	sess_keys_derive(&k[0], &r);
	r.initiator = false;
	sess_keys_derive(&k[1], &r);
}

TEST(sess_keys_mirror_between_sides)
{
	struct sess_keys k[2];

	pair_keys(k, SLOOP_CIPHER_AES256_GCM);
	CHECK_EQ_INT(k[0].keylen, 32);
	CHECK(!memcmp(k[0].data.tx.key, k[1].data.rx.key, 32));
	CHECK(!memcmp(k[0].data.rx.key, k[1].data.tx.key, 32));
	CHECK(!memcmp(k[0].data.tx.salt, k[1].data.rx.salt, 4));
	CHECK(!memcmp(k[0].hp_tx, k[1].hp_rx, 32));
	CHECK(!memcmp(k[0].hp_rx, k[1].hp_tx, 32));
	CHECK(!memcmp(k[0].ctrl_tx, k[1].ctrl_rx, 32));
	CHECK(!memcmp(k[0].chain, k[1].chain, SESS_CHAIN_LEN));
	/* Every key is distinct from every other. */
	const uint8_t *all[] = { k[0].data.tx.key, k[0].data.rx.key,
				 k[0].hp_tx, k[0].hp_rx, k[0].ctrl_tx,
				 k[0].ctrl_rx, k[0].chain };
	for (size_t i = 0; i < 7; i++)
		for (size_t j = i + 1; j < 7; j++)
			CHECK(memcmp(all[i], all[j], 16));
	sess_keys_wipe(&k[0]);
	sess_keys_wipe(&k[1]);
}

TEST(sess_keys_cipher_lengths)
{
	struct sess_keys k[2];
	struct hs_result r = { .cipher = 0 };

	pair_keys(k, SLOOP_CIPHER_AES128_GCM);
	CHECK_EQ_INT(k[0].keylen, 16);
	CHECK_EQ_INT(k[0].data.keylen, 16);
	/* Nothing beyond the key length is set. */
	for (int i = 16; i < SESS_KEY_MAX; i++)
		CHECK_EQ_INT(k[0].data.tx.key[i] | k[0].hp_tx[i], 0);
	pair_keys(k, SLOOP_CIPHER_CHACHA20_POLY1305);
	CHECK_EQ_INT(k[0].keylen, 32);
	CHECK_EQ_INT(sess_keys_derive(&k[0], &r), -1);
	r.cipher = 9;
	CHECK_EQ_INT(sess_keys_derive(&k[0], &r), -1);
}

TEST(sess_rekey_derive_forward)
{
	struct sess_keys k[2];
	struct sess_data_keys a, b;
	uint8_t chain0[SESS_CHAIN_LEN], e1[32], e1p[32], e2[32], e2p[32];
	uint8_t dh1[32], dh2[32];

	pair_keys(k, SLOOP_CIPHER_AES256_GCM);
	memcpy(chain0, k[0].chain, sizeof(chain0));
	noise_dh_keypair(e1, e1p);
	noise_dh_keypair(e2, e2p);
	CHECK(noise_dh(dh1, e1, e2p) == 0);
	CHECK(noise_dh(dh2, e2, e1p) == 0);
	sess_rekey_derive(k[0].chain, dh1, true, 32, &a);
	sess_rekey_derive(k[1].chain, dh2, false, 32, &b);
	CHECK(!memcmp(a.tx.key, b.rx.key, 32));
	CHECK(!memcmp(a.rx.key, b.tx.key, 32));
	CHECK(!memcmp(a.tx.salt, b.rx.salt, 4));
	CHECK(memcmp(a.tx.key, k[0].data.tx.key, 32));
	/* The old chain is gone: the next keys depend on it and the DH. */
	CHECK(memcmp(chain0, k[0].chain, sizeof(chain0)));
	CHECK(!memcmp(k[0].chain, k[1].chain, sizeof(chain0)));
}

static struct ctrl_chan ch_a, ch_b;

static void chan_pair(void)
{
	uint8_t k1[32], k2[32];

	randombytes_buf(k1, 32);
	randombytes_buf(k2, 32);
	ctrl_chan_init(&ch_a, k1, k2);
	ctrl_chan_init(&ch_b, k2, k1);
}

TEST(ctrl_roundtrip_all_fields)
{
	struct ctrl_msg m = { .type = CTRL_REKEY_INIT, .has_id = true,
			      .rekey_id = 0xdeadbeef, .has_ephemeral = true,
			      .has_gen = true, .gen = 7 };
	struct ctrl_msg r;
	uint8_t buf[CTRL_MSG_MAX];
	size_t len;

	chan_pair();
	memset(m.ephemeral, 0x5a, 32);
	CHECK(ctrl_seal(&ch_a, &m, buf, sizeof(buf), &len) == 0);
	CHECK(len <= SLOOP_CTRL_MAX);
	CHECK_EQ_INT(ctrl_open(&ch_b, buf, len, &r), REASON_OK);
	CHECK_EQ_INT(r.type, CTRL_REKEY_INIT);
	CHECK_EQ_INT(r.rekey_id, 0xdeadbeef);
	CHECK(r.has_ephemeral && !memcmp(r.ephemeral, m.ephemeral, 32));
	CHECK(r.has_gen && r.gen == 7);

	memset(&m, 0, sizeof(m));
	m.type = CTRL_SHUTDOWN;
	m.has_reason = true;
	m.reason = REASON_PEER_DEAD;
	memset(m.text, 'x', CTRL_TEXT_MAX);
	CHECK(ctrl_seal(&ch_a, &m, buf, sizeof(buf), &len) == 0);
	CHECK(len <= CTRL_MSG_MAX && len <= SLOOP_CTRL_MAX);
	CHECK_EQ_INT(ctrl_open(&ch_b, buf, len, &r), REASON_OK);
	CHECK_EQ_INT(strlen(r.text), CTRL_TEXT_MAX);
	CHECK_EQ_INT(r.reason, REASON_PEER_DEAD);
	/* Too small an output buffer is refused, not overrun. */
	CHECK(ctrl_seal(&ch_a, &m, buf, 40, &len) == -1);

	/* Every field at its largest still fits one kernel control message. */
	m.type = CTRL_REVOKE;
	m.record_len = CTRL_RECORD_MAX;
	memset(m.record, 0xa7, CTRL_RECORD_MAX);
	m.has_id = m.has_ephemeral = m.has_gen = true;
	CHECK(ctrl_seal(&ch_a, &m, buf, sizeof(buf), &len) == 0);
	CHECK(len <= CTRL_MSG_MAX && len <= SLOOP_CTRL_MAX);
	CHECK_EQ_INT(ctrl_open(&ch_b, buf, len, &r), REASON_OK);
	CHECK_EQ_INT(r.type, CTRL_REVOKE);
	CHECK_EQ_INT(r.record_len, CTRL_RECORD_MAX);
	CHECK(!memcmp(r.record, m.record, CTRL_RECORD_MAX));
	/* One byte more is refused on both sides. */
	m.record_len = CTRL_RECORD_MAX + 1;
	CHECK(ctrl_seal(&ch_a, &m, buf, sizeof(buf), &len) == -1);
}


TEST(ctrl_forgery_replay_and_window)
{
	struct ctrl_msg m = { .type = CTRL_HEARTBEAT }, r;
	uint8_t buf[8][CTRL_MSG_MAX];
	size_t len[8];

	chan_pair();
	for (int i = 0; i < 8; i++)
		CHECK(ctrl_seal(&ch_a, &m, buf[i], sizeof(buf[i]), &len[i]) == 0);
	/* Out of order inside the window: fine; each exactly once. */
	CHECK_EQ_INT(ctrl_open(&ch_b, buf[3], len[3], &r), REASON_OK);
	CHECK_EQ_INT(ctrl_open(&ch_b, buf[1], len[1], &r), REASON_OK);
	CHECK_EQ_INT(ctrl_open(&ch_b, buf[3], len[3], &r), REASON_HS_REPLAY);
	CHECK_EQ_INT(ctrl_open(&ch_b, buf[2], len[2], &r), REASON_OK);
	CHECK_EQ_INT(ctrl_open(&ch_b, buf[1], len[1], &r), REASON_HS_REPLAY);
	CHECK_EQ_INT(ch_b.n_replay, 2);
	/* A flipped bit anywhere (header is AD) fails authentication. */
	buf[4][5] ^= 1;
	CHECK_EQ_INT(ctrl_open(&ch_b, buf[4], len[4], &r), REASON_CTRL_AUTH);
	buf[4][5] ^= 1;
	buf[4][len[4] - 1] ^= 1;
	CHECK_EQ_INT(ctrl_open(&ch_b, buf[4], len[4], &r), REASON_CTRL_AUTH);
	/* Our own message reflected back does not open (direction keys). */
	CHECK_EQ_INT(ctrl_open(&ch_a, buf[5], len[5], &r), REASON_CTRL_AUTH);
	/* Junk sizes and versions. */
	CHECK_EQ_INT(ctrl_open(&ch_b, buf[5], 10, &r), REASON_HS_MALFORMED);
	buf[5][0] = 2;
	CHECK_EQ_INT(ctrl_open(&ch_b, buf[5], len[5], &r), REASON_HS_MALFORMED);
	/* Far ahead, then the old ones fall out of the 64-message window. */
	for (int i = 0; i < 70; i++)
		CHECK(ctrl_seal(&ch_a, &m, buf[7], sizeof(buf[7]), &len[7]) == 0);
	CHECK_EQ_INT(ctrl_open(&ch_b, buf[7], len[7], &r), REASON_OK);
	CHECK_EQ_INT(ctrl_open(&ch_b, buf[6], len[6], &r), REASON_HS_REPLAY);
}

/* Seals raw plaintext the way ctrl_seal does, to test the decoder. */
static size_t seal_raw(const uint8_t key[32], uint64_t seq, const uint8_t *pt,
		       size_t n, uint8_t *out)
{
	uint8_t nonce[12] = { 0 };
	unsigned long long clen;

	memset(out, 0, CTRL_HDR_LEN);
	out[0] = CTRL_VERSION;
	for (int i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)(seq >> (56 - 8 * i));
	memcpy(nonce + 4, out + 4, 8);
	crypto_aead_chacha20poly1305_ietf_encrypt(out + CTRL_HDR_LEN, &clen,
						  pt, n, out, CTRL_HDR_LEN,
						  NULL, nonce, key);
	return CTRL_HDR_LEN + clen;
}

/* A record TLV longer than CTRL_RECORD_MAX, inside a valid frame. */
TEST(ctrl_decoder_rejects_long_record)
{
	uint8_t pt[5 + CTRL_RECORD_MAX + 1] = { CTRL_CRED, 0, CTRL_T_RECORD,
						(CTRL_RECORD_MAX + 1) >> 8,
						(CTRL_RECORD_MAX + 1) & 0xff };
	uint8_t buf[CTRL_HDR_LEN + sizeof(pt) + CTRL_TAG_LEN];
	struct ctrl_msg r;
	size_t len;

	chan_pair();
	len = seal_raw(ch_a.tx_key, 1, pt, sizeof(pt), buf);
	CHECK_EQ_INT(ctrl_open(&ch_b, buf, len, &r), REASON_HS_MALFORMED);
	/* The same at the limit opens. */
	pt[3] = CTRL_RECORD_MAX >> 8;
	pt[4] = CTRL_RECORD_MAX & 0xff;
	len = seal_raw(ch_a.tx_key, 2, pt, sizeof(pt) - 1, buf);
	CHECK_EQ_INT(ctrl_open(&ch_b, buf, len, &r), REASON_OK);
	CHECK_EQ_INT(r.record_len, CTRL_RECORD_MAX);
}

TEST(ctrl_decoder_rejects_bad_tlvs)
{
	static const struct {
		uint8_t pt[16];
		size_t n;
		enum reason want;
	} cases[] = {
		{ { 1, 0 }, 2, REASON_OK },			/* heartbeat */
		{ { 1, 0, 99, 0, 1, 7 }, 6, REASON_OK },	/* unknown TLV */
		{ { 0, 0 }, 2, REASON_HS_MALFORMED },		/* type 0 */
		{ { 1 }, 1, REASON_HS_MALFORMED },		/* short */
		{ { 1, 0, 1, 0, 5, 0, 0, 0, 1 }, 9, REASON_HS_MALFORMED }, /* overrun */
		{ { 1, 0, 1, 0, 3, 0, 0, 1 }, 8, REASON_HS_MALFORMED },	/* id len */
		{ { 1, 0, 1, 0 }, 4, REASON_HS_MALFORMED },	/* cut header */
		{ { 4, 0, 1, 0, 4, 0, 0, 0, 1, 1, 0, 4, 0, 0, 0, 2 }, 16,
		  REASON_HS_MALFORMED },			/* duplicate */
		{ { 2, 0, 1, 0, 4, 0, 0, 0, 1 }, 9, REASON_HS_MALFORMED }, /* INIT lacks e */
		{ { 5, 0, 4, 0, 2, 'h', 0 }, 7, REASON_HS_MALFORMED }, /* NUL */
		{ { 6, 0, 6, 0, 0 }, 5, REASON_HS_MALFORMED },	/* empty record */
		{ { 6, 0, 6, 0, 2, 1, 2 }, 7, REASON_OK },	/* opaque here */
	};
	uint8_t buf[CTRL_MSG_MAX];
	struct ctrl_msg r;

	chan_pair();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = seal_raw(ch_a.tx_key, i + 1, cases[i].pt,
				      cases[i].n, buf);

		if (ctrl_open(&ch_b, buf, len, &r) != cases[i].want) {
			fprintf(stderr, "  case %zu\n", i);
			CHECK(0);
		}
	}
}

TEST(sess_heartbeat_and_dead_timers)
{
	struct sess_hb hb;

	sess_hb_init(&hb, 1000, 15000, 120000);
	CHECK_EQ_INT(sess_hb_tick(&hb, 1000), SESS_HB_NONE);
	CHECK_EQ_INT(sess_hb_deadline(&hb), 16000);
	CHECK_EQ_INT(sess_hb_tick(&hb, 15999), SESS_HB_NONE);
	/* Idle for 15 s: a heartbeat. */
	CHECK_EQ_INT(sess_hb_tick(&hb, 16000), SESS_HB_SEND);
	sess_hb_tx(&hb, 16000);
	CHECK_EQ_INT(sess_hb_tick(&hb, 16001), SESS_HB_NONE);
	CHECK_EQ_INT(sess_hb_deadline(&hb), 31000);
	/* Traffic we send postpones the heartbeat. */
	sess_hb_tx(&hb, 20000);
	CHECK_EQ_INT(sess_hb_tick(&hb, 31000), SESS_HB_NONE);
	CHECK_EQ_INT(sess_hb_tick(&hb, 35000), SESS_HB_SEND);
	/* Keep sending; the peer is silent since 1000: dead at 121000. */
	for (uint64_t t = 35000; t < 121000; t += 15000)
		sess_hb_tx(&hb, t);
	CHECK_EQ_INT(sess_hb_tick(&hb, 120999), SESS_HB_NONE);
	CHECK_EQ_INT(sess_hb_tick(&hb, 121000), SESS_HB_DEAD);
	/* Anything from the peer resets that. */
	sess_hb_rx(&hb, 121000);
	/* last tx was at 110000: the next heartbeat is due at 125000 */
	CHECK_EQ_INT(sess_hb_tick(&hb, 124999), SESS_HB_NONE);
	CHECK_EQ_INT(sess_hb_deadline(&hb), 125000);
	CHECK_EQ_INT(sess_hb_tick(&hb, 125000), SESS_HB_SEND);
	/* Time never runs backwards in the timers. */
	sess_hb_rx(&hb, 5);
	CHECK_EQ_INT(hb.last_rx_ms, 121000);
	/* Zero disables. */
	sess_hb_init(&hb, 0, 0, 0);
	CHECK_EQ_INT(sess_hb_tick(&hb, UINT64_MAX / 2), SESS_HB_NONE);
	CHECK(sess_hb_deadline(&hb) == UINT64_MAX);
}

TEST(sess_link_recovery_schedule)
{
	struct sess_link l;
	uint64_t t = 0;
	/* P3: 5 s, then +5 s per failure, capped at 60 s. */
	static const unsigned int waits[] = { 5000, 10000, 15000, 20000,
					      25000, 30000, 35000, 40000,
					      45000, 50000, 55000, 60000,
					      60000, 60000 };

	sess_link_init(&l, 0, 0, 0, 3000, 1, 0);
	CHECK_EQ_INT(sess_link_tick(&l, 0), SESS_LINK_CONNECT);
	sess_link_up(&l, 100);
	CHECK(sess_link_deadline(&l) == UINT64_MAX);
	/* Session lost at t=1000: first retry 5 s later. */
	t = 1000;
	sess_link_down(&l, t);
	CHECK_EQ_INT(sess_link_tick(&l, t + 4999), SESS_LINK_NONE);
	t += 5000;
	CHECK_EQ_INT(sess_link_deadline(&l), t);
	CHECK_EQ_INT(sess_link_tick(&l, t), SESS_LINK_CONNECT);
	/* Each attempt fails after 3 s; the wait grows by 5 s each time. */
	for (size_t i = 1; i < sizeof(waits) / sizeof(waits[0]); i++) {
		t += 3000;
		CHECK_EQ_INT(sess_link_tick(&l, t), SESS_LINK_NONE);
		CHECK_EQ_INT(sess_link_deadline(&l), t + waits[i]);
		CHECK_EQ_INT(sess_link_tick(&l, t + waits[i] - 1),
			     SESS_LINK_NONE);
		t += waits[i];
		CHECK_EQ_INT(sess_link_tick(&l, t), SESS_LINK_CONNECT);
	}
	/* Success resets the schedule. */
	sess_link_up(&l, t + 10);
	sess_link_down(&l, t + 20);
	CHECK_EQ_INT(sess_link_deadline(&l), t + 20 + 5000);
}

TEST(sess_link_failover_and_maxfail)
{
	struct sess_link l;
	uint64_t t = 0;

	/* Three primaries; each failed attempt moves to the next. */
	sess_link_init(&l, 0, 1000, 4000, 500, 3, 4);
	CHECK_EQ_INT(sess_link_tick(&l, t), SESS_LINK_CONNECT);
	CHECK_EQ_INT(l.target, 0);
	t += 500;
	CHECK_EQ_INT(sess_link_tick(&l, t), SESS_LINK_NONE);
	CHECK_EQ_INT(l.target, 1);
	t += 1000;	/* holdoff step 1 s */
	CHECK_EQ_INT(sess_link_tick(&l, t), SESS_LINK_CONNECT);
	t += 500;
	CHECK_EQ_INT(sess_link_tick(&l, t), SESS_LINK_NONE);
	CHECK_EQ_INT(l.target, 2);
	t += 2000;
	CHECK_EQ_INT(sess_link_tick(&l, t), SESS_LINK_CONNECT);
	t += 500;
	CHECK_EQ_INT(sess_link_tick(&l, t), SESS_LINK_NONE);
	CHECK_EQ_INT(l.target, 0);
	t += 3000;
	CHECK_EQ_INT(sess_link_tick(&l, t), SESS_LINK_CONNECT);
	t += 500;
	/* Fourth consecutive failure: maxfail 4 gives up. */
	CHECK_EQ_INT(sess_link_tick(&l, t), SESS_LINK_GIVE_UP);
	CHECK_EQ_INT(l.state, SESS_LINK_GAVE_UP);
	CHECK_EQ_INT(sess_link_tick(&l, t + 100000), SESS_LINK_NONE);
}

TEST(script_arguments_and_environment)
{
	struct scr_vars v = {
		.ifname = "sloop0", .peername = "office", .iplocal = "10.9.0.2",
		.ipremote = "10.9.0.1", .linkname = "hq", .down = true,
		.connect_time_s = 61, .bytes_sent = 1000, .bytes_rcvd = 2000,
	};
	static const char *const argv[] = { "/etc/sloop/ip-down", "sloop0",
		"office", "0", "10.9.0.2", "10.9.0.1", "hq", NULL };
	static const char *const envp[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"IFNAME=sloop0", "IPLOCAL=10.9.0.2", "IPREMOTE=10.9.0.1",
		"PEERNAME=office", "LINKNAME=hq", "CONNECT_TIME=61",
		"BYTES_SENT=1000", "BYTES_RCVD=2000", NULL };
	struct scr_job j;

	CHECK(scr_build(&j, "/etc/sloop/ip-down", &v) == 0);
	for (int i = 0; argv[i]; i++)
		CHECK_EQ_STR(j.argv[i], argv[i]);
	CHECK(j.argv[7] == NULL);
	for (int i = 0; envp[i]; i++)
		CHECK_EQ_STR(j.envp[i], envp[i]);
	CHECK(j.envp[9] == NULL);
	scr_job_free(&j);
	/* ip-up carries no counters. */
	v.down = false;
	CHECK(scr_build(&j, "/x", &v) == 0);
	CHECK(j.envp[6] == NULL);
	scr_job_free(&j);
}
