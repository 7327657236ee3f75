// SPDX-License-Identifier: MIT
/* noise_handshake_set_psk: an IKpsk2 responder picks the psk after message 1. */
#include <string.h>

#include <sodium.h>

#include "unit.h"
#include "noise.h"

#define IKPSK2 "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b"

struct psk_pair {
	uint8_t i_priv[32], i_pub[32], r_priv[32], r_pub[32];
	uint8_t psk[NOISE_PSKLEN], zero[NOISE_PSKLEN];
	struct noise_handshake ini, rsp;
	uint8_t m1[256], m2[256], pay[64];
	size_t n1, n2, np;
};

/* Initiator with the real psk, responder with a zero placeholder; m1 read. */
static int psk_setup(struct psk_pair *p)
{
	struct noise_handshake_config ic = {
		.protocol = IKPSK2, .role = NOISE_INITIATOR,
		.static_priv = p->i_priv, .remote_static = p->r_pub,
		.psks = p->psk, .n_psks = 1,
	}, rc = {
		.protocol = IKPSK2, .role = NOISE_RESPONDER,
		.static_priv = p->r_priv, .psks = p->zero, .n_psks = 1,
	};

	memset(p, 0, sizeof(*p));
	noise_dh_keypair(p->i_priv, p->i_pub);
	noise_dh_keypair(p->r_priv, p->r_pub);
	randombytes_buf(p->psk, sizeof(p->psk));
	if (noise_handshake_init(&p->ini, &ic) ||
	    noise_handshake_init(&p->rsp, &rc) ||
	    noise_handshake_write(&p->ini, NULL, 0, p->m1, sizeof(p->m1), &p->n1))
		return -1;
	return noise_handshake_read(&p->rsp, p->m1, p->n1, p->pay,
				    sizeof(p->pay), &p->np);
}

static int psk_finish(struct psk_pair *p)
{
	if (noise_handshake_write(&p->rsp, NULL, 0, p->m2, sizeof(p->m2), &p->n2))
		return -2;
	return noise_handshake_read(&p->ini, p->m2, p->n2, p->pay,
				    sizeof(p->pay), &p->np);
}

static void psk_done(struct psk_pair *p)
{
	noise_handshake_destroy(&p->ini);
	noise_handshake_destroy(&p->rsp);
}

TEST(noise_set_psk_after_message_1)
{
	struct psk_pair p;

	CHECK_EQ_INT(psk_setup(&p), 0);
	CHECK(!memcmp(noise_handshake_remote_static(&p.rsp), p.i_pub, 32));
	CHECK_EQ_INT(noise_handshake_set_psk(&p.rsp, 0, p.psk), 0);
	CHECK_EQ_INT(psk_finish(&p), 0);
	CHECK(!memcmp(noise_handshake_hash(&p.ini), noise_handshake_hash(&p.rsp),
		      NOISE_HASHLEN));
	CHECK(!memcmp(noise_handshake_chaining_key(&p.ini),
		      noise_handshake_chaining_key(&p.rsp), NOISE_HASHLEN));
	/* Too late once the token is mixed. */
	CHECK_EQ_INT(noise_handshake_set_psk(&p.rsp, 0, p.psk), NOISE_ERR_STATE);
	psk_done(&p);
}

TEST(noise_set_psk_needed_and_checked)
{
	struct psk_pair p;

	/* Without it the placeholder is used and the initiator refuses. */
	CHECK_EQ_INT(psk_setup(&p), 0);
	CHECK_EQ_INT(psk_finish(&p), NOISE_ERR_DECRYPT);
	psk_done(&p);

	CHECK_EQ_INT(psk_setup(&p), 0);
	CHECK_EQ_INT(noise_handshake_set_psk(&p.rsp, 1, p.psk), NOISE_ERR_INVALID);
	CHECK_EQ_INT(noise_handshake_set_psk(&p.rsp, -1, p.psk), NOISE_ERR_INVALID);
	CHECK_EQ_INT(noise_handshake_set_psk(&p.rsp, 0, NULL), NOISE_ERR_INVALID);
	/* A wrong psk is as bad as none. */
	p.zero[0] = 1;
	CHECK_EQ_INT(noise_handshake_set_psk(&p.rsp, 0, p.zero), 0);
	CHECK_EQ_INT(psk_finish(&p), NOISE_ERR_DECRYPT);
	psk_done(&p);
}
