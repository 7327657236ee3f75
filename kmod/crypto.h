/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sloop: AEAD key slots, header protection and the replay window.
 *
 * Contract between the crypto code (crypto.c, replay.c) and the data path
 * (send.c, receive.c, peer.c, netlink.c). Seal and open may sleep: they run
 * in the crypto workers (process context), where the SIMD AEAD
 * implementations run inline and a deferred (async) request can be waited
 * for. Header protection and the replay window never sleep.
 */
#ifndef _SLOOP_CRYPTO_H
#define _SLOOP_CRYPTO_H

#include <linux/kref.h>
#include <linux/rcupdate.h>
#include <linux/scatterlist.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <crypto/aead.h>
#include <crypto/aes.h>
#include <sloop/uapi.h>
#include <sloop/wire.h>

#define SLOOP_KEY_MAX_LEN	32
/* Window of packets accepted out of order; DESIGN.md asks for >= 4096. */
#define SLOOP_REPLAY_BITS	8192

struct sloop_replay {
	spinlock_t lock;	/* serialises top and bitmap */
	u64 top;		/* highest counter accepted, plus one */
	unsigned long bitmap[SLOOP_REPLAY_BITS / BITS_PER_LONG];
};

/* Header protection state for one direction (RFC 9001 section 5.4). */
struct sloop_hp {
	enum sloop_cipher cipher;
	union {
		struct crypto_aes_ctx aes;
		u32 chacha_key[8];
	};
};

/* One key phase of one peer: both directions and the replay window. */
struct sloop_keyslot {
	struct kref ref;
	struct rcu_head rcu;
	enum sloop_cipher cipher;
	u32 id;			/* the daemon's key generation, for show */
	u8 phase;		/* 0 or 1, the slot it lives in */
	struct crypto_aead *tx_aead;
	struct crypto_aead *rx_aead;
	u8 tx_salt[SLOOP_SALT_LEN];
	u8 rx_salt[SLOOP_SALT_LEN];
	atomic64_t tx_next;	/* next counter to send */
	atomic64_t rx_packets;
	bool limit_notified;	/* KEY_LIMIT_NTF sent once per key */
	struct sloop_replay replay;
};

/* Pieces of an skb that the per-worker scatterlist covers. */
#define SLOOP_SG_MAX		(MAX_SKB_FRAGS + 2)

/*
 * What one seal or open needs besides the skb, owned by one crypto worker
 * so that nothing is allocated per packet: the request (with the
 * implementation's context and the nonce), grown to the largest
 * crypto_aead_reqsize() seen, and a scatterlist. A work item never runs
 * twice at once, so its buffer needs no lock.
 */
struct sloop_crypto_buf {
	void *req;
	size_t req_len;
	struct scatterlist sg[SLOOP_SG_MAX];
};

struct sloop_crypto_buf *sloop_crypto_buf_new(void);
void sloop_crypto_buf_free(struct sloop_crypto_buf *buf);

int sloop_crypto_init(void);
void sloop_crypto_uninit(void);

/* Key length for @cipher: 32, 16 or 32; 0 when @cipher is not valid. */
unsigned int sloop_crypto_key_len(enum sloop_cipher cipher);

/*
 * Allocate a key slot; may sleep. Returns an ERR_PTR on failure. The key
 * bytes are copied into the AEAD transforms; callers wipe their copies.
 */
struct sloop_keyslot *sloop_crypto_keyslot_new(enum sloop_cipher cipher,
					       u8 phase, u32 id,
					       const u8 *tx_key,
					       const u8 *tx_salt,
					       const u8 *rx_key,
					       const u8 *rx_salt);
struct sloop_keyslot *sloop_crypto_keyslot_get(struct sloop_keyslot *ks);
/* Drops a reference; the last one frees after an RCU grace period. */
void sloop_crypto_keyslot_put(struct sloop_keyslot *ks);

int sloop_crypto_hp_set(struct sloop_hp *hp, enum sloop_cipher cipher,
			const u8 *key, unsigned int len);
void sloop_crypto_hp_wipe(struct sloop_hp *hp);

/*
 * Mask the protected header bits in place: @pkt points at the transport
 * header, @len >= SLOOP_HDR_LEN + SLOOP_TAG_LEN bytes are linear, and the
 * sample is the SLOOP_HP_SAMPLE_LEN bytes that follow the header.
 * Protect and unprotect are the same XOR; both are atomic-safe.
 */
void sloop_crypto_hp_apply(const struct sloop_hp *hp, u8 *pkt);

/*
 * skb->data points at the transport header in its unprotected form (real
 * phase bit and counter), followed by the padded plaintext. Seal appends
 * the tag (expanding the skb if needed) and encrypts in place with the
 * header as associated data. May sleep. Returns 0 or -errno. @buf is
 * the caller's (a crypto worker's) scratch, or NULL to allocate one.
 */
int sloop_crypto_seal(struct sloop_keyslot *ks, struct sk_buff *skb,
		      u64 counter, struct sloop_crypto_buf *buf);
/*
 * skb->data points at the unprotected header, then ciphertext and tag.
 * On success the tag is trimmed and the plaintext follows the header.
 * Returns -EBADMSG on authentication failure. May sleep. @buf as for seal.
 */
int sloop_crypto_open(struct sloop_keyslot *ks, struct sk_buff *skb,
		      u64 counter, struct sloop_crypto_buf *buf);

void sloop_replay_init(struct sloop_replay *r);
/* Call only after authentication: true when @counter is new (recorded). */
bool sloop_replay_accept(struct sloop_replay *r, u64 counter);

/* Run at load with the module parameter selftest=1 (a VM test does). */
bool sloop_replay_selftest(void);
bool sloop_crypto_selftest(void);

#endif /* _SLOOP_CRYPTO_H */
