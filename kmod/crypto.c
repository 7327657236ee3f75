// SPDX-License-Identifier: GPL-2.0
/*
 * sloop: AEAD key slots, sealing and opening transport packets in place,
 * and header protection (docs/protocol.md, sections 5 and 6).
 *
 * The AEADs come from the kernel crypto API by their generic names, so
 * that the fastest registered implementation is used (AES-NI, AVX2). The
 * implementations may be asynchronous: the SIMD ones hand a request to
 * cryptd when the FPU is not usable, so every request is waited for.
 */
#include <linux/bottom_half.h>
#include <linux/kmod.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <asm/unaligned.h>
#include <crypto/aes.h>
#include <crypto/chacha.h>

#include "crypto.h"

#define SLOOP_NONCE_LEN		12
#define SLOOP_COUNTER_OFF	5	/* type, receiver index */

/* Load the fast implementations before the generic ones get picked. */
#ifdef CONFIG_X86_64
MODULE_SOFTDEP("pre: aesni_intel chacha_x86_64 poly1305_x86_64");
static const char * const sloop_crypto_modules[] = {
	"aesni_intel", "chacha_x86_64", "poly1305_x86_64",
};
#else
static const char * const sloop_crypto_modules[] = { };
#endif

static const char *sloop_aead_name(enum sloop_cipher cipher)
{
	switch (cipher) {
	case SLOOP_CIPHER_AES256_GCM:
	case SLOOP_CIPHER_AES128_GCM:
		return "gcm(aes)";
	case SLOOP_CIPHER_CHACHA20_POLY1305:
		return "rfc7539(chacha20,poly1305)";
	default:
		return NULL;
	}
}

unsigned int sloop_crypto_key_len(enum sloop_cipher cipher)
{
	switch (cipher) {
	case SLOOP_CIPHER_AES256_GCM:
		return AES_KEYSIZE_256;
	case SLOOP_CIPHER_AES128_GCM:
		return AES_KEYSIZE_128;
	case SLOOP_CIPHER_CHACHA20_POLY1305:
		return CHACHA_KEY_SIZE;
	default:
		return 0;
	}
}

static struct crypto_aead *sloop_aead_new(enum sloop_cipher cipher,
					  const u8 *key)
{
	struct crypto_aead *tfm;
	int ret;

	/* Type and mask 0: asynchronous implementations are welcome. */
	tfm = crypto_alloc_aead(sloop_aead_name(cipher), 0, 0);
	if (IS_ERR(tfm))
		return tfm;
	ret = crypto_aead_setkey(tfm, key, sloop_crypto_key_len(cipher));
	if (!ret)
		ret = crypto_aead_setauthsize(tfm, SLOOP_TAG_LEN);
	if (!ret && crypto_aead_ivsize(tfm) != SLOOP_NONCE_LEN)
		ret = -EINVAL;
	if (ret) {
		crypto_free_aead(tfm);
		return ERR_PTR(ret);
	}
	return tfm;
}

static void sloop_keyslot_free(struct sloop_keyslot *ks)
{
	/* crypto_free_aead zeroes the expanded keys (kfree_sensitive). */
	if (ks->tx_aead)
		crypto_free_aead(ks->tx_aead);
	if (ks->rx_aead)
		crypto_free_aead(ks->rx_aead);
	memzero_explicit(ks->tx_salt, sizeof(ks->tx_salt));
	memzero_explicit(ks->rx_salt, sizeof(ks->rx_salt));
	kfree_sensitive(ks);
}

/*
 * Either direction may be left out (NULL key): seal or open with that
 * slot then fails with -ENOKEY. A key always comes with its salt.
 */
struct sloop_keyslot *sloop_crypto_keyslot_new(enum sloop_cipher cipher,
					       u8 phase, u32 id,
					       const u8 *tx_key,
					       const u8 *tx_salt,
					       const u8 *rx_key,
					       const u8 *rx_salt)
{
	struct sloop_keyslot *ks;
	int ret;

	if (!sloop_crypto_key_len(cipher) || phase > 1 ||
	    (tx_key && !tx_salt) || (rx_key && !rx_salt))
		return ERR_PTR(-EINVAL);

	ks = kzalloc(sizeof(*ks), GFP_KERNEL);
	if (!ks)
		return ERR_PTR(-ENOMEM);
	kref_init(&ks->ref);
	ks->cipher = cipher;
	ks->phase = phase;
	ks->id = id;
	sloop_replay_init(&ks->replay);

	if (tx_key) {
		ks->tx_aead = sloop_aead_new(cipher, tx_key);
		if (IS_ERR(ks->tx_aead)) {
			ret = PTR_ERR(ks->tx_aead);
			ks->tx_aead = NULL;
			goto free_ks;
		}
		memcpy(ks->tx_salt, tx_salt, SLOOP_SALT_LEN);
	}
	if (rx_key) {
		ks->rx_aead = sloop_aead_new(cipher, rx_key);
		if (IS_ERR(ks->rx_aead)) {
			ret = PTR_ERR(ks->rx_aead);
			ks->rx_aead = NULL;
			goto free_ks;
		}
		memcpy(ks->rx_salt, rx_salt, SLOOP_SALT_LEN);
	}
	return ks;

free_ks:
	sloop_keyslot_free(ks);
	return ERR_PTR(ret);
}

/* For RCU readers too: NULL when the slot is already on its way out. */
struct sloop_keyslot *sloop_crypto_keyslot_get(struct sloop_keyslot *ks)
{
	if (ks && !kref_get_unless_zero(&ks->ref))
		return NULL;
	return ks;
}

static void sloop_keyslot_free_rcu(struct rcu_head *rcu)
{
	sloop_keyslot_free(container_of(rcu, struct sloop_keyslot, rcu));
}

static void sloop_keyslot_release(struct kref *ref)
{
	struct sloop_keyslot *ks = container_of(ref, struct sloop_keyslot, ref);

	call_rcu(&ks->rcu, sloop_keyslot_free_rcu);
}

void sloop_crypto_keyslot_put(struct sloop_keyslot *ks)
{
	if (ks)
		kref_put(&ks->ref, sloop_keyslot_release);
}

/* Bytes of the request, its context and an aligned nonce for @tfm. */
static size_t sloop_req_len(struct crypto_aead *tfm, size_t *iv_off)
{
	size_t len = sizeof(struct aead_request) + crypto_aead_reqsize(tfm);

	*iv_off = ALIGN(len, __alignof__(u64));
	return *iv_off + SLOOP_NONCE_LEN + crypto_aead_alignmask(tfm);
}

struct sloop_crypto_buf *sloop_crypto_buf_new(void)
{
	return kzalloc(sizeof(struct sloop_crypto_buf), GFP_KERNEL);
}

void sloop_crypto_buf_free(struct sloop_crypto_buf *buf)
{
	if (!buf)
		return;
	/* The request context held nonces and AEAD state. */
	kfree_sensitive(buf->req);
	kfree(buf);
}

/*
 * The request and scatterlist for one packet: from @buf when it is big
 * enough (grown once for a new implementation), otherwise from one
 * allocation that the caller frees (*tmp).
 */
static struct aead_request *sloop_req_get(struct crypto_aead *tfm,
					  struct sloop_crypto_buf *buf,
					  int nsg, struct scatterlist **sg,
					  u8 **iv, void **tmp)
{
	unsigned int align = crypto_aead_alignmask(tfm) + 1;
	size_t iv_off, sg_off, len = sloop_req_len(tfm, &iv_off);
	struct aead_request *req;

	*tmp = NULL;
	if (buf && nsg <= SLOOP_SG_MAX) {
		if (unlikely(buf->req_len < len)) {
			void *req_buf = kmalloc(len, GFP_KERNEL);

			if (!req_buf)
				return NULL;
			kfree_sensitive(buf->req);
			buf->req = req_buf;
			buf->req_len = len;
		}
		req = buf->req;
		*sg = buf->sg;
	} else {
		sg_off = ALIGN(len, __alignof__(struct scatterlist));
		req = kmalloc(sg_off + (size_t)nsg * sizeof(**sg), GFP_KERNEL);
		if (!req)
			return NULL;
		*tmp = req;
		*sg = (struct scatterlist *)((u8 *)req + sg_off);
	}
	aead_request_set_tfm(req, tfm);
	*iv = PTR_ALIGN((u8 *)req + iv_off, align);
	return req;
}

/*
 * The skb holds header, payload and room for the tag, all of it in
 * @nsg writable pieces (skb_cow_data). The header is the associated data.
 */
static int sloop_aead_crypt(struct crypto_aead *tfm, const u8 *salt,
			    struct sk_buff *skb, int nsg, u64 counter,
			    unsigned int cryptlen, bool encrypt,
			    struct sloop_crypto_buf *buf)
{
	DECLARE_CRYPTO_WAIT(wait);
	struct aead_request *req;
	struct scatterlist *sg;
	void *tmp;
	u8 *iv;
	int ret;

	req = sloop_req_get(tfm, buf, nsg, &sg, &iv, &tmp);
	if (!req)
		return -ENOMEM;
	sg_init_table(sg, nsg);
	ret = skb_to_sgvec(skb, sg, 0, skb->len);
	if (unlikely(ret < 0))
		goto free_req;

	memcpy(iv, salt, SLOOP_SALT_LEN);
	put_unaligned_be64(counter, iv + SLOOP_SALT_LEN);
	aead_request_set_callback(req, CRYPTO_TFM_REQ_MAY_SLEEP |
				  CRYPTO_TFM_REQ_MAY_BACKLOG,
				  crypto_req_done, &wait);
	aead_request_set_ad(req, SLOOP_HDR_LEN);
	aead_request_set_crypt(req, sg, sg, cryptlen, iv);
	/* A synchronous implementation returns at once: no wait then. */
	ret = encrypt ? crypto_aead_encrypt(req) : crypto_aead_decrypt(req);
	if (unlikely(ret == -EINPROGRESS || ret == -EBUSY)) {
		/*
		 * Run the NAPI polls a decrypt worker may have scheduled
		 * before we sleep, rather than at some later interrupt.
		 */
		local_bh_disable();
		local_bh_enable();
		ret = crypto_wait_req(ret, &wait);
	}
free_req:
	kfree_sensitive(tmp);
	return ret;
}

/* The nonce must be the counter the header (the AAD) carries. */
static bool sloop_hdr_matches(const struct sk_buff *skb, u64 counter)
{
	return get_unaligned_be64(skb->data + SLOOP_COUNTER_OFF) == counter;
}

int sloop_crypto_seal(struct sloop_keyslot *ks, struct sk_buff *skb,
		      u64 counter, struct sloop_crypto_buf *buf)
{
	struct sk_buff *trailer;
	unsigned int ptlen;
	int nsg;

	if (unlikely(!ks->tx_aead))
		return -ENOKEY;
	if (unlikely(skb_headlen(skb) < SLOOP_HDR_LEN ||
		     !sloop_hdr_matches(skb, counter)))
		return -EINVAL;
	ptlen = skb->len - SLOOP_HDR_LEN;

	/* Private, writable pieces, the last with room for the tag. */
	nsg = skb_cow_data(skb, SLOOP_TAG_LEN, &trailer);
	if (unlikely(nsg < 0))
		return nsg;
	pskb_put(skb, trailer, SLOOP_TAG_LEN);
	return sloop_aead_crypt(ks->tx_aead, ks->tx_salt, skb, nsg, counter,
				ptlen, true, buf);
}

int sloop_crypto_open(struct sloop_keyslot *ks, struct sk_buff *skb,
		      u64 counter, struct sloop_crypto_buf *buf)
{
	struct sk_buff *trailer;
	int nsg, ret;

	if (unlikely(!ks->rx_aead))
		return -ENOKEY;
	if (unlikely(skb->len < SLOOP_OVERHEAD ||
		     skb_headlen(skb) < SLOOP_HDR_LEN ||
		     !sloop_hdr_matches(skb, counter)))
		return -EINVAL;

	nsg = skb_cow_data(skb, 0, &trailer);
	if (unlikely(nsg < 0))
		return nsg;
	ret = sloop_aead_crypt(ks->rx_aead, ks->rx_salt, skb, nsg, counter,
			       skb->len - SLOOP_HDR_LEN, false, buf);
	if (ret)
		return ret;
	return pskb_trim(skb, skb->len - SLOOP_TAG_LEN);
}

/* Header protection, RFC 9001 section 5.4 applied to our header. */

int sloop_crypto_hp_set(struct sloop_hp *hp, enum sloop_cipher cipher,
			const u8 *key, unsigned int len)
{
	unsigned int i;
	int ret;

	if (!len || len != sloop_crypto_key_len(cipher))
		return -EINVAL;
	sloop_crypto_hp_wipe(hp);
	if (cipher == SLOOP_CIPHER_CHACHA20_POLY1305) {
		for (i = 0; i < ARRAY_SIZE(hp->chacha_key); i++)
			hp->chacha_key[i] = get_unaligned_le32(key + 4 * i);
	} else {
		ret = aes_expandkey(&hp->aes, key, len);
		if (ret)
			return ret;
	}
	hp->cipher = cipher;
	return 0;
}

void sloop_crypto_hp_wipe(struct sloop_hp *hp)
{
	memzero_explicit(hp, sizeof(*hp));
}

/*
 * ChaCha20 keystream with the first four sample bytes as the block
 * counter (little endian) and the other twelve as the nonce, which is
 * exactly the 16-byte IV layout chacha_init() takes.
 */
static void sloop_hp_chacha(const struct sloop_hp *hp, const u8 *sample,
			    u8 *mask)
{
	u32 state[CHACHA_STATE_WORDS];
	u8 block[CHACHA_BLOCK_SIZE];

	chacha_init_generic(state, hp->chacha_key, sample);
	chacha20_block(state, block);
	memcpy(mask, block, SLOOP_HP_MASK_LEN);
	memzero_explicit(state, sizeof(state));
	memzero_explicit(block, sizeof(block));
}

void sloop_crypto_hp_apply(const struct sloop_hp *hp, u8 *pkt)
{
	const u8 *sample = pkt + SLOOP_HDR_LEN;
	u8 mask[AES_BLOCK_SIZE];
	unsigned int i;

	switch (hp->cipher) {
	case SLOOP_CIPHER_AES256_GCM:
	case SLOOP_CIPHER_AES128_GCM:
		aes_encrypt(&hp->aes, mask, sample);
		break;
	case SLOOP_CIPHER_CHACHA20_POLY1305:
		sloop_hp_chacha(hp, sample, mask);
		break;
	default:
		/* No key: leave the header alone, authentication will fail. */
		return;
	}
	pkt[0] ^= mask[0] & SLOOP_HDR_PROTECTED;
	for (i = 0; i < sizeof(__be64); i++)
		pkt[SLOOP_COUNTER_OFF + i] ^= mask[1 + i];
	memzero_explicit(mask, sizeof(mask));
}

static const char *sloop_aead_driver(struct crypto_aead *tfm)
{
	return crypto_tfm_alg_driver_name(crypto_aead_tfm(tfm));
}

static void sloop_crypto_report(void)
{
	enum sloop_cipher c;

	for (c = SLOOP_CIPHER_AES256_GCM; c <= SLOOP_CIPHER_MAX; c++) {
		struct crypto_aead *tfm;

		if (c == SLOOP_CIPHER_AES128_GCM)
			continue;	/* same algorithm as AES-256-GCM */
		tfm = crypto_alloc_aead(sloop_aead_name(c), 0, 0);
		if (IS_ERR(tfm)) {
			pr_warn("sloop: %s unavailable (%ld)\n",
				sloop_aead_name(c), PTR_ERR(tfm));
			continue;
		}
		pr_info("sloop: %s uses %s\n", sloop_aead_name(c),
			sloop_aead_driver(tfm));
		crypto_free_aead(tfm);
	}
}

int sloop_crypto_init(void)
{
	unsigned int i;

	/* For insmod, which does not honour the soft dependencies. */
	for (i = 0; i < ARRAY_SIZE(sloop_crypto_modules); i++)
		request_module("%s", sloop_crypto_modules[i]);
	sloop_crypto_report();
	return 0;
}

void sloop_crypto_uninit(void)
{
	/* Key slots freed by call_rcu must be gone before our text is. */
	rcu_barrier();
}

/*
 * Self test. The expected bytes were computed in user space with OpenSSL
 * (and the AES-256-GCM and ChaCha20-Poly1305 ones checked against
 * libsodium); docs/protocol.md quotes the AES-256-GCM packets as its
 * worked example. Key bytes 0x00..0x1f, header protection key bytes
 * 0x40..0x5f, salt a0 a1 a2 a3, receiver index 0x1a2b3c4d.
 */

#define SLOOP_KAT_INDEX		0x1a2b3c4d
#define SLOOP_KAT_LONG_LEN	200
#define SLOOP_KAT_LONG_COUNTER	0x0123456789abcdefULL

static const u8 sloop_kat_key[32] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

static const u8 sloop_kat_hp_key[32] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
	0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
	0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
};

static const u8 sloop_kat_salt[SLOOP_SALT_LEN] = { 0xa0, 0xa1, 0xa2, 0xa3 };

/* ICMP echo 10.10.0.1 -> 10.10.0.2 with data "hi", padded from 30 to 32. */
static const u8 sloop_kat_ping[32] = {
	0x45, 0x00, 0x00, 0x1e, 0x12, 0x34, 0x40, 0x00,
	0x40, 0x01, 0x14, 0x95, 0x0a, 0x0a, 0x00, 0x01,
	0x0a, 0x0a, 0x00, 0x02, 0x08, 0x00, 0x8f, 0x94,
	0x00, 0x01, 0x00, 0x01, 0x68, 0x69, 0x00, 0x00,
};

struct sloop_kat {
	enum sloop_cipher cipher;
	u64 counter;
	u8 phase;
	u8 pt_len;
	u8 sealed[sizeof(sloop_kat_ping) + SLOOP_TAG_LEN];
	u8 wire_hdr[SLOOP_HDR_LEN];
};

static const struct sloop_kat sloop_kats[] = {
	{ /* AES-256-GCM keepalive */
		.cipher = SLOOP_CIPHER_AES256_GCM,
		.counter = 5,
		.phase = 0,
		.pt_len = 0,
		.sealed = {
			0xd8, 0x87, 0x34, 0x2c, 0x62, 0x3a, 0x34, 0x3b,
			0x35, 0xa5, 0xf6, 0xc9, 0xe5, 0xc6, 0xa3, 0xea,
		},
		.wire_hdr = {
			0x7e, 0x1a, 0x2b, 0x3c, 0x4d, 0x2d, 0x5b, 0x40,
			0xf4, 0x5b, 0x5e, 0x74, 0xbc,
		},
	},
	{ /* AES-256-GCM ping */
		.cipher = SLOOP_CIPHER_AES256_GCM,
		.counter = 258,
		.phase = 1,
		.pt_len = sizeof(sloop_kat_ping),
		.sealed = {
			0x58, 0x79, 0x32, 0x53, 0x08, 0x3d, 0x15, 0x0b,
			0xfd, 0x73, 0x2b, 0xae, 0x88, 0x92, 0x1d, 0xa8,
			0xea, 0x84, 0x44, 0x54, 0xb6, 0xc6, 0x97, 0x28,
			0x10, 0x7b, 0x78, 0xc6, 0xad, 0xaa, 0x66, 0x91,
			0xc6, 0x0f, 0x44, 0xe1, 0x8c, 0x0f, 0xd5, 0x2c,
			0x2a, 0x93, 0x9d, 0xa9, 0xe6, 0x06, 0xf8, 0x21,
		},
		.wire_hdr = {
			0x7d, 0x1a, 0x2b, 0x3c, 0x4d, 0xb0, 0xa1, 0x9d,
			0x69, 0x8c, 0xa6, 0x98, 0xe1,
		},
	},
	{ /* AES-128-GCM keepalive */
		.cipher = SLOOP_CIPHER_AES128_GCM,
		.counter = 5,
		.phase = 0,
		.pt_len = 0,
		.sealed = {
			0xcf, 0x81, 0x31, 0x54, 0x60, 0x29, 0x9a, 0x5c,
			0xd9, 0x26, 0x04, 0xbf, 0x7f, 0xbc, 0x90, 0x0f,
		},
		.wire_hdr = {
			0x4d, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0xae, 0x9f,
			0x63, 0x93, 0x04, 0xc3, 0xf6,
		},
	},
	{ /* AES-128-GCM ping */
		.cipher = SLOOP_CIPHER_AES128_GCM,
		.counter = 258,
		.phase = 1,
		.pt_len = sizeof(sloop_kat_ping),
		.sealed = {
			0xe3, 0x2e, 0xd1, 0xda, 0x47, 0xa5, 0x0f, 0x81,
			0x74, 0xe3, 0x1e, 0x18, 0x8a, 0xa6, 0xe4, 0x5b,
			0x80, 0xe8, 0x8d, 0xef, 0x21, 0x94, 0xcc, 0xe3,
			0x3d, 0x41, 0xbf, 0x58, 0xec, 0x99, 0x87, 0xf7,
			0xa9, 0x17, 0xd0, 0x4c, 0x41, 0x4b, 0x0e, 0x25,
			0x8d, 0xfb, 0xd4, 0xa9, 0x7c, 0x34, 0x7b, 0xc9,
		},
		.wire_hdr = {
			0x7a, 0x1a, 0x2b, 0x3c, 0x4d, 0x45, 0x81, 0xb6,
			0x1d, 0xac, 0x0e, 0x66, 0xe7,
		},
	},
	{ /* CHACHA20-POLY1305 keepalive */
		.cipher = SLOOP_CIPHER_CHACHA20_POLY1305,
		.counter = 5,
		.phase = 0,
		.pt_len = 0,
		.sealed = {
			0xd6, 0xe5, 0x4e, 0x03, 0x0b, 0x0c, 0x30, 0x01,
			0x44, 0xd3, 0x13, 0xbb, 0xdb, 0x65, 0x72, 0xa5,
		},
		.wire_hdr = {
			0x49, 0x1a, 0x2b, 0x3c, 0x4d, 0x48, 0xec, 0xb3,
			0x88, 0x9f, 0x9a, 0xf3, 0x33,
		},
	},
	{ /* CHACHA20-POLY1305 ping */
		.cipher = SLOOP_CIPHER_CHACHA20_POLY1305,
		.counter = 258,
		.phase = 1,
		.pt_len = sizeof(sloop_kat_ping),
		.sealed = {
			0x22, 0xd1, 0xd9, 0xd9, 0x5a, 0xa3, 0x78, 0x17,
			0xf7, 0x1c, 0x60, 0xca, 0x2a, 0x8c, 0xd2, 0x09,
			0x36, 0x5b, 0x1a, 0xa6, 0xb4, 0xdb, 0x2e, 0xc7,
			0x74, 0xdb, 0xeb, 0xd6, 0x0b, 0xb5, 0x73, 0xa7,
			0x91, 0x23, 0x9b, 0xf0, 0x1b, 0x3a, 0x4d, 0xe9,
			0xe9, 0x9a, 0x3f, 0x1a, 0xf8, 0xed, 0xf2, 0x4b,
		},
		.wire_hdr = {
			0x7a, 0x1a, 0x2b, 0x3c, 0x4d, 0xc6, 0x7e, 0xbc,
			0x94, 0x2c, 0x2c, 0x08, 0x0d,
		},
	},
};

/* Tags of a 200-byte message (byte i = 7 * i + 3), phase 0. */
static const struct {
	enum sloop_cipher cipher;
	u8 tag[SLOOP_TAG_LEN];
} sloop_kat_long[] = {
	{ SLOOP_CIPHER_AES256_GCM, {
		0x4f, 0x7a, 0xe0, 0xa7, 0xe1, 0x4d, 0xc2, 0x3f,
		0xe5, 0x1e, 0xee, 0x4c, 0x1b, 0xba, 0x18, 0x2c,
	} },
	{ SLOOP_CIPHER_AES128_GCM, {
		0x9d, 0x07, 0x86, 0xfc, 0x94, 0x01, 0xe3, 0x63,
		0x9e, 0x96, 0x69, 0x5e, 0x20, 0xff, 0x49, 0xa7,
	} },
	{ SLOOP_CIPHER_CHACHA20_POLY1305, {
		0xeb, 0xa1, 0x58, 0x0f, 0xd8, 0x29, 0x11, 0xc5,
		0x5f, 0x77, 0x74, 0x09, 0xec, 0x5c, 0x20, 0x05,
	} },
};

/* RFC 9001 appendix A.2 (AES-128) and A.5 (ChaCha20) give mask[0..4]. */
static const u8 sloop_rfc9001_aes_key[16] = {
	0x9f, 0x50, 0x44, 0x9e, 0x04, 0xa0, 0xe8, 0x10,
	0x28, 0x3a, 0x1e, 0x99, 0x33, 0xad, 0xed, 0xd2,
};

static const u8 sloop_rfc9001_chacha_key[32] = {
	0x25, 0xa2, 0x82, 0xb9, 0xe8, 0x2f, 0x06, 0xf2,
	0x1f, 0x48, 0x89, 0x17, 0xa4, 0xfc, 0x8f, 0x1b,
	0x73, 0x57, 0x36, 0x85, 0x60, 0x85, 0x97, 0xd0,
	0xef, 0xcb, 0x07, 0x6b, 0x0a, 0xb7, 0xa7, 0xa4,
};

static const struct {
	enum sloop_cipher cipher;
	const u8 *key;
	u8 sample[SLOOP_HP_SAMPLE_LEN];
	u8 mask[SLOOP_HP_MASK_LEN];
} sloop_hp_kats[] = {
	{ SLOOP_CIPHER_AES128_GCM, sloop_rfc9001_aes_key, {
		0xd1, 0xb1, 0xc9, 0x8d, 0xd7, 0x68, 0x9f, 0xb8,
		0xec, 0x11, 0xd2, 0x42, 0xb1, 0x23, 0xdc, 0x9b,
	}, {
		0x43, 0x7b, 0x9a, 0xec, 0x36, 0xbe, 0x42, 0x34, 0x00,
	} },
	{ SLOOP_CIPHER_CHACHA20_POLY1305, sloop_rfc9001_chacha_key, {
		0x5e, 0x5c, 0xd5, 0x5c, 0x41, 0xf6, 0x90, 0x80,
		0x57, 0x5d, 0x79, 0x99, 0xc2, 0x5a, 0x5b, 0xfb,
	}, {
		0xae, 0xfe, 0xfe, 0x7d, 0x03, 0xe4, 0xaf, 0x62, 0x8e,
	} },
	/* Block counter 0xf3f2f1f0: checks its byte order. */
	{ SLOOP_CIPHER_CHACHA20_POLY1305, sloop_kat_hp_key, {
		0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
		0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
	}, {
		0x05, 0xa7, 0xd7, 0xc0, 0xa9, 0xa0, 0x3d, 0x70, 0x95,
	} },
	{ SLOOP_CIPHER_AES256_GCM, sloop_kat_hp_key, {
		0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
		0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
	}, {
		0xaa, 0x40, 0x5d, 0xd4, 0xa7, 0x18, 0x01, 0x74, 0x88,
	} },
	{ SLOOP_CIPHER_AES128_GCM, sloop_kat_hp_key, {
		0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
		0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
	}, {
		0xc9, 0xfb, 0x97, 0x7f, 0x58, 0x02, 0x49, 0xa0, 0x96,
	} },
};

static const char *sloop_cipher_name(enum sloop_cipher cipher)
{
	switch (cipher) {
	case SLOOP_CIPHER_AES256_GCM:
		return "AES-256-GCM";
	case SLOOP_CIPHER_AES128_GCM:
		return "AES-128-GCM";
	case SLOOP_CIPHER_CHACHA20_POLY1305:
		return "ChaCha20-Poly1305";
	default:
		return "none";
	}
}

static bool sloop_kat_fail(enum sloop_cipher cipher, const char *what)
{
	pr_err("sloop: crypto selftest, %s: %s failed\n",
	       sloop_cipher_name(cipher), what);
	return false;
}

static void sloop_kat_hdr(u8 *hdr, u8 phase, u64 counter)
{
	hdr[0] = SLOOP_MSG_TRANSPORT | phase;
	put_unaligned_be32(SLOOP_KAT_INDEX, hdr + 1);
	put_unaligned_be64(counter, hdr + SLOOP_COUNTER_OFF);
}

/* A linear skb holding @a then @b with no tailroom left. */
static struct sk_buff *sloop_kat_skb(const u8 *a, unsigned int alen,
				     const u8 *b, unsigned int blen)
{
	struct sk_buff *skb = alloc_skb(alen + blen, GFP_KERNEL);

	if (!skb)
		return NULL;
	skb_reserve(skb, skb_tailroom(skb) - (alen + blen));
	skb_put_data(skb, a, alen);
	if (blen)
		skb_put_data(skb, b, blen);
	return skb;
}

static bool sloop_skb_equals(struct sk_buff *skb, unsigned int off,
			     const u8 *want, unsigned int len, u8 *scratch)
{
	return !skb_copy_bits(skb, off, scratch, len) &&
	       !memcmp(scratch, want, len);
}

/* Open a copy of a sealed packet with one bit flipped: must fail. */
static bool sloop_kat_tamper(struct sloop_keyslot *ks, const u8 *pkt,
			     unsigned int len, unsigned int byte)
{
	struct sk_buff *skb = sloop_kat_skb(pkt, len, NULL, 0);
	int ret;

	if (!skb)
		return false;
	skb->data[byte] ^= 0x10;
	ret = sloop_crypto_open(ks, skb,
				get_unaligned_be64(skb->data +
						   SLOOP_COUNTER_OFF), NULL);
	kfree_skb(skb);
	return ret == -EBADMSG;
}

/*
 * Seal, protect, unprotect and open one known packet with a worker's
 * buffer, then tamper (with per-call requests).
 */
static bool sloop_kat_run(const struct sloop_kat *kat,
			  struct sloop_keyslot *ks, struct sloop_hp *hp,
			  u8 *buf, struct sloop_crypto_buf *cbuf)
{
	unsigned int sealed_len = SLOOP_OVERHEAD + kat->pt_len;
	const unsigned int flips[] = { 0, 3, 12, SLOOP_HDR_LEN,
				       sealed_len - 1 };
	struct sk_buff *skb;
	u8 hdr[SLOOP_HDR_LEN];
	bool ok = false;
	unsigned int i;

	sloop_kat_hdr(hdr, kat->phase, kat->counter);
	skb = sloop_kat_skb(hdr, sizeof(hdr), sloop_kat_ping, kat->pt_len);
	if (!skb)
		return false;
	if (sloop_crypto_seal(ks, skb, kat->counter, cbuf) ||
	    skb->len != sealed_len || skb_is_nonlinear(skb) ||
	    memcmp(skb->data, hdr, sizeof(hdr)) ||
	    memcmp(skb->data + SLOOP_HDR_LEN, kat->sealed,
		   kat->pt_len + SLOOP_TAG_LEN)) {
		sloop_kat_fail(kat->cipher, "seal");
		pr_err("sloop: got %*phN\n", (int)min(skb_headlen(skb), 64U),
		       skb->data);
		goto free_skb;
	}
	sloop_crypto_hp_apply(hp, skb->data);
	if (memcmp(skb->data, kat->wire_hdr, SLOOP_HDR_LEN)) {
		sloop_kat_fail(kat->cipher, "header protection");
		pr_err("sloop: got %*phN\n", SLOOP_HDR_LEN, skb->data);
		goto free_skb;
	}
	memcpy(buf, skb->data, sealed_len);
	sloop_crypto_hp_apply(hp, skb->data);
	if (memcmp(skb->data, hdr, sizeof(hdr))) {
		sloop_kat_fail(kat->cipher, "header unprotection");
		goto free_skb;
	}
	/* The receiver's view: the wire bytes with the header unmasked. */
	memcpy(buf, hdr, sizeof(hdr));
	if (sloop_crypto_open(ks, skb, kat->counter, cbuf) ||
	    skb->len != SLOOP_HDR_LEN + kat->pt_len ||
	    memcmp(skb->data + SLOOP_HDR_LEN, sloop_kat_ping, kat->pt_len)) {
		sloop_kat_fail(kat->cipher, "open");
		goto free_skb;
	}
	for (i = 0; i < ARRAY_SIZE(flips); i++) {
		if (!sloop_kat_tamper(ks, buf, sealed_len, flips[i])) {
			sloop_kat_fail(kat->cipher, "rejecting a flipped bit");
			goto free_skb;
		}
	}
	ok = true;
free_skb:
	kfree_skb(skb);
	return ok;
}

static bool sloop_kat_all(u8 *buf)
{
	struct sloop_crypto_buf *cbuf;
	struct sloop_keyslot *ks;
	struct sloop_hp *hp;
	unsigned int i, len;
	bool ok = true;

	cbuf = sloop_crypto_buf_new();
	hp = kzalloc(sizeof(*hp), GFP_KERNEL);
	if (!hp || !cbuf) {
		kfree(hp);
		sloop_crypto_buf_free(cbuf);
		return false;
	}
	for (i = 0; ok && i < ARRAY_SIZE(sloop_kats); i++) {
		const struct sloop_kat *kat = &sloop_kats[i];

		len = sloop_crypto_key_len(kat->cipher);
		ks = sloop_crypto_keyslot_new(kat->cipher, kat->phase, 1,
					      sloop_kat_key, sloop_kat_salt,
					      sloop_kat_key, sloop_kat_salt);
		if (IS_ERR(ks)) {
			ok = sloop_kat_fail(kat->cipher, "key slot");
			break;
		}
		if (sloop_crypto_hp_set(hp, kat->cipher, sloop_kat_hp_key, len))
			ok = sloop_kat_fail(kat->cipher, "header protection key");
		else
			ok = sloop_kat_run(kat, ks, hp, buf, cbuf);
		if (ok && kat->pt_len)
			pr_info("sloop: selftest %s via %s ok\n",
				sloop_cipher_name(kat->cipher),
				sloop_aead_driver(ks->tx_aead));
		sloop_crypto_keyslot_put(ks);
	}
	sloop_crypto_hp_wipe(hp);
	kfree(hp);
	sloop_crypto_buf_free(cbuf);
	return ok;
}

static bool sloop_hp_kat_all(void)
{
	u8 pkt[SLOOP_HDR_LEN + SLOOP_HP_SAMPLE_LEN];
	struct sloop_hp *hp;
	bool ok = true;
	unsigned int i;

	hp = kzalloc(sizeof(*hp), GFP_KERNEL);
	if (!hp)
		return false;
	for (i = 0; ok && i < ARRAY_SIZE(sloop_hp_kats); i++) {
		enum sloop_cipher c = sloop_hp_kats[i].cipher;
		const u8 *mask = sloop_hp_kats[i].mask;

		memset(pkt, 0, SLOOP_HDR_LEN);
		memcpy(pkt + SLOOP_HDR_LEN, sloop_hp_kats[i].sample,
		       SLOOP_HP_SAMPLE_LEN);
		if (sloop_crypto_hp_set(hp, c, sloop_hp_kats[i].key,
					sloop_crypto_key_len(c))) {
			ok = sloop_kat_fail(c, "header protection key");
			break;
		}
		sloop_crypto_hp_apply(hp, pkt);
		ok = pkt[0] == (mask[0] & SLOOP_HDR_PROTECTED) &&
		     !memchr_inv(pkt + 1, 0, 4) &&
		     !memcmp(pkt + SLOOP_COUNTER_OFF, mask + 1, 8) &&
		     !memcmp(pkt + SLOOP_HDR_LEN, sloop_hp_kats[i].sample,
			     SLOOP_HP_SAMPLE_LEN);
		if (!ok) {
			sloop_kat_fail(c, "header protection mask");
			pr_err("sloop: got %*phN\n", SLOOP_HDR_LEN, pkt);
		}
	}
	/* A wrong key length is refused. */
	if (ok && !sloop_crypto_hp_set(hp, SLOOP_CIPHER_AES256_GCM,
				       sloop_kat_hp_key, 16))
		ok = sloop_kat_fail(SLOOP_CIPHER_AES256_GCM, "key length check");
	sloop_crypto_hp_wipe(hp);
	kfree(hp);
	return ok;
}

/* Adds @len bytes of @data to @skb as a page fragment at @off. */
static bool sloop_kat_add_frag(struct sk_buff *skb, const u8 *data,
			       unsigned int off, unsigned int len)
{
	struct page *page = alloc_page(GFP_KERNEL);

	if (!page)
		return false;
	memcpy(page_address(page) + off, data, len);
	skb_add_rx_frag(skb, skb_shinfo(skb)->nr_frags, page, off, len,
			PAGE_SIZE);
	return true;
}

/* Chains @len bytes of @data to @skb's frag_list, with no tailroom. */
static bool sloop_kat_add_list(struct sk_buff *skb, const u8 *data,
			       unsigned int len)
{
	struct sk_buff *frag = sloop_kat_skb(data, len, NULL, 0);
	struct sk_buff **tail = &skb_shinfo(skb)->frag_list;

	if (!frag)
		return false;
	while (*tail)
		tail = &(*tail)->next;
	*tail = frag;
	skb->len += len;
	skb->data_len += len;
	skb->truesize += frag->truesize;
	return true;
}

/*
 * @pkt (header and @len more bytes) cut into a linear head, page frags
 * and a frag_list, as GRO or IP reassembly can hand them to us.
 */
static struct sk_buff *sloop_kat_nonlinear(const u8 *pkt, unsigned int len,
					   bool frag_list)
{
	unsigned int total = SLOOP_HDR_LEN + len;
	unsigned int head = SLOOP_HDR_LEN + 40;
	struct sk_buff *skb;
	bool ok;

	skb = sloop_kat_skb(pkt, head, NULL, 0);
	if (!skb)
		return NULL;
	if (frag_list)
		ok = sloop_kat_add_frag(skb, pkt + head, 100, 60) &&
		     sloop_kat_add_list(skb, pkt + head + 60, 70) &&
		     sloop_kat_add_list(skb, pkt + head + 130,
					total - head - 130);
	else
		ok = sloop_kat_add_frag(skb, pkt + head, 100, 100) &&
		     sloop_kat_add_frag(skb, pkt + head + 100, 3000,
					total - head - 100);
	if (!ok) {
		kfree_skb(skb);
		return NULL;
	}
	return skb;
}

static bool sloop_kat_long_one(struct sloop_keyslot *ks, const u8 *tag,
			       bool frag_list, u8 *pkt, u8 *scratch)
{
	unsigned int len = SLOOP_KAT_LONG_LEN;
	struct sk_buff *skb, *clone;
	bool ok = false;

	/* Seal a nonlinear skb: the tag lands in the last piece. */
	skb = sloop_kat_nonlinear(pkt, len, frag_list);
	if (!skb)
		return false;
	if (sloop_crypto_seal(ks, skb, SLOOP_KAT_LONG_COUNTER, NULL) ||
	    skb->len != SLOOP_OVERHEAD + len ||
	    !sloop_skb_equals(skb, SLOOP_HDR_LEN + len, tag, SLOOP_TAG_LEN,
			      scratch) ||
	    skb_copy_bits(skb, 0, scratch, skb->len)) {
		sloop_kat_fail(ks->cipher, frag_list ? "seal frag_list" :
				"seal frags");
		goto free_skb;
	}
	kfree_skb(skb);

	/* Open a clone of a nonlinear copy; the original must not change. */
	skb = sloop_kat_nonlinear(scratch, len + SLOOP_TAG_LEN, frag_list);
	if (!skb)
		return false;
	clone = skb_clone(skb, GFP_KERNEL);
	if (!clone)
		goto free_skb;
	ok = !sloop_crypto_open(ks, clone, SLOOP_KAT_LONG_COUNTER, NULL) &&
	     clone->len == SLOOP_HDR_LEN + len &&
	     sloop_skb_equals(clone, 0, pkt, SLOOP_HDR_LEN + len,
			      scratch + 256) &&
	     sloop_skb_equals(skb, 0, scratch, SLOOP_OVERHEAD + len,
			      scratch + 256);
	kfree_skb(clone);
	if (!ok)
		sloop_kat_fail(ks->cipher, frag_list ? "open frag_list" :
			       "open frags");
free_skb:
	kfree_skb(skb);
	return ok;
}

static bool sloop_kat_long_all(u8 *pkt, u8 *scratch)
{
	struct sloop_keyslot *ks;
	unsigned int i;
	bool ok = true;

	sloop_kat_hdr(pkt, 0, SLOOP_KAT_LONG_COUNTER);
	for (i = 0; i < SLOOP_KAT_LONG_LEN; i++)
		pkt[SLOOP_HDR_LEN + i] = 7 * i + 3;

	for (i = 0; ok && i < ARRAY_SIZE(sloop_kat_long); i++) {
		enum sloop_cipher c = sloop_kat_long[i].cipher;

		ks = sloop_crypto_keyslot_new(c, 0, 1, sloop_kat_key,
					      sloop_kat_salt, sloop_kat_key,
					      sloop_kat_salt);
		if (IS_ERR(ks))
			return sloop_kat_fail(c, "key slot");
		ok = sloop_kat_long_one(ks, sloop_kat_long[i].tag, false,
					pkt, scratch) &&
		     sloop_kat_long_one(ks, sloop_kat_long[i].tag, true,
					pkt, scratch);
		sloop_crypto_keyslot_put(ks);
	}
	return ok;
}

bool sloop_crypto_selftest(void)
{
	u8 *buf;
	bool ok;

	/* A packet, then room for a sealed copy and for a scratch one. */
	buf = kmalloc(3 * 256, GFP_KERNEL);
	if (!buf)
		return false;
	ok = sloop_hp_kat_all() &&
	     sloop_kat_all(buf) &&
	     sloop_kat_long_all(buf, buf + 256);
	kfree(buf);
	/* The key slots are freed by RCU callbacks: let them finish. */
	rcu_barrier();
	return ok;
}
