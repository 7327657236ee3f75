/* SPDX-License-Identifier: MIT */
/*
 * Control messages between two sloopd (the P3 control channel).  Sealed
 * end to end with the session's control keys (ChaCha20-Poly1305-IETF),
 * then handed to the kernel (CTRL_SEND), which carries them inside
 * transport packets like data: the P3 double layer.
 *
 *   0  version (1), 3 zero bytes
 *   4  sequence number, be64 (nonce = 4 zero bytes || these 8 bytes)
 *  12  AEAD(ctrl key, ad = bytes 0..11) of:
 *        type (1), flags (1), then TLVs: tag (1), length (be16), value
 *      + 16-byte tag
 *
 * Sequence numbers start at 1 and are checked against a 64-message
 * sliding window after authentication.  Unknown TLV tags are skipped
 * (later versions may add fields); a repeated tag is malformed.
 */
#ifndef SLOOPD_CTRLMSG_H
#define SLOOPD_CTRLMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reason.h"

#define CTRL_VERSION	1
#define CTRL_HDR_LEN	12
#define CTRL_TAG_LEN	16
#define CTRL_TEXT_MAX	128
#define CTRL_RECORD_MAX	256	/* revocation 173, credential 202 bytes */
/* Fits SLOOP_CTRL_MAX (1024) with room to spare. */
#define CTRL_MSG_MAX	(CTRL_HDR_LEN + 2 + 3 * 4 * 3 + 3 + 32 + 3 + \
			 CTRL_TEXT_MAX + 3 + CTRL_RECORD_MAX + CTRL_TAG_LEN)

enum ctrl_type {
	CTRL_HEARTBEAT = 1,
	CTRL_REKEY_INIT = 2,	/* id, ephemeral, generation */
	CTRL_REKEY_ACK = 3,	/* id, ephemeral */
	CTRL_REKEY_DONE = 4,	/* id; flag REPLY from the answering side */
	CTRL_SHUTDOWN = 5,	/* reason, text */
	CTRL_REVOKE = 6,	/* record: a signed loop revocation, passed on */
	CTRL_RENEW = 7,		/* loop: sign me a fresh membership credential */
	CTRL_CRED = 8,		/* record: a signed membership credential */
	/* 9..255 reserved */
};

#define CTRL_F_REPLY	0x01

enum ctrl_tlv {
	CTRL_T_REKEY_ID = 1,	/* be32 */
	CTRL_T_EPHEMERAL = 2,	/* 32 bytes, X25519 */
	CTRL_T_REASON = 3,	/* be32, enum reason */
	CTRL_T_TEXT = 4,	/* UTF-8, <= CTRL_TEXT_MAX, no NUL */
	CTRL_T_GENERATION = 5,	/* be32: the sender's current key generation */
	CTRL_T_RECORD = 6,	/* opaque, 1..CTRL_RECORD_MAX bytes */
};

struct ctrl_msg {
	uint8_t type;
	uint8_t flags;
	bool has_id, has_ephemeral, has_reason, has_gen;
	uint32_t rekey_id;
	uint32_t gen;
	uint8_t ephemeral[32];
	uint32_t reason;
	char text[CTRL_TEXT_MAX + 1];
	size_t record_len;
	uint8_t record[CTRL_RECORD_MAX];
};

struct ctrl_chan {
	uint8_t tx_key[32], rx_key[32];
	uint64_t tx_seq;		/* last used */
	uint64_t rx_top;		/* greatest accepted */
	uint64_t rx_bits;		/* bit i: rx_top - i seen */
	uint64_t n_auth_fail, n_replay, n_malformed;
};

void ctrl_chan_init(struct ctrl_chan *c, const uint8_t tx_key[32],
		    const uint8_t rx_key[32]);
void ctrl_chan_wipe(struct ctrl_chan *c);
/* 0, or -1 when out is too small or the message is invalid. */
int ctrl_seal(struct ctrl_chan *c, const struct ctrl_msg *m, uint8_t *out,
	      size_t cap, size_t *len);
/*
 * REASON_OK and m filled; REASON_CTRL_AUTH (forged or from another
 * session), REASON_HS_REPLAY (duplicate), REASON_HS_MALFORMED.  Each
 * refusal is counted in c.
 */
enum reason ctrl_open(struct ctrl_chan *c, const uint8_t *in, size_t len,
		      struct ctrl_msg *m);
const char *ctrl_type_name(uint8_t type);

#endif
