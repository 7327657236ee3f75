/* SPDX-License-Identifier: MIT */
/*
 * Loop membership credentials, checked by every peer itself so that a
 * broker cannot insert a device (docs/membership.md).
 *
 * A credential says "device D is a member of loop L with these
 * addresses from not_before to not_after", signed with Ed25519 by
 * signer S.  The loop's root is its founder F: loop_id =
 * BLAKE2b-256("sloop loop id v1" || F || name), and F's own credential
 * is self-signed (D == S == F) and carries the loop's policy (1 or 2
 * approvals).  Any other device is a member at time t when credentials
 * for it, valid at t, are signed by at least `policy` distinct signers
 * that are themselves members at t (recursively, down to F), and it is
 * not revoked.  Credentials are short-lived (default 1 h) and renewed
 * while online, so a removed device drops out in bounded time even when
 * the broker is down.
 *
 * A revocation says "D is out of L since at", signed by a member or by
 * the broker's key: removing trust is allowed to the broker, adding it
 * is not.
 *
 * Encoding (big endian), CRED_LEN bytes:
 *   "SLMC" | u8 version (1) | u8 policy | loop_id[32] | device[32] |
 *   addr4[4] | addr6[16] | be64 not_before | be64 not_after |
 *   signer[32] | sig[64]      (sig over all that precedes it)
 * Revocation, CRED_REVOKE_LEN bytes:
 *   "SLMR" | u8 version (1) | loop_id[32] | device[32] | be64 at |
 *   signer[32] | sig[64]
 *
 * Exact rules (docs/membership.md has the reasons):
 * - loop_id hashes the name's bytes without its NUL; BLAKE2b-256, no key.
 * - A credential is valid at t when not_before <= t < not_after.
 *   cred_set_add refuses not_after <= not_before, a lifetime above
 *   CRED_MAX_LIFETIME, a foreign loop_id, a bad signature, a credential
 *   signed by the broker key, and a founder self-credential whose policy
 *   is not 1 or 2.
 * - The policy at t is the highest one among the founder's valid
 *   self-credentials.  Credentials of the founder signed by others,
 *   and self-signed credentials of anyone else, never count.
 * - The founder's signature alone admits a device under any policy:
 *   it can re-sign its root with policy 1 anyway, and otherwise no
 *   device could ever join a policy-2 loop that has only its founder.
 *   So "policy 2" means: two distinct members, or the founder.
 * - The `policy` signers of a device must agree on its addresses
 *   (addr4 and addr6): a lone approver cannot rebind a device that
 *   others approved.  The founder is depth 0; a device approved by
 *   members of depth < d has depth d <= CRED_MAX_DEPTH.
 * - *best is the counting credential with the latest not_after.
 * - A device with a revocation at <= t is not a member at t, so its
 *   signatures stop counting for everybody at that moment too (a
 *   revoked key is presumed stolen, and signing times are not provable:
 *   credentials it signed earlier die with it).  A member's revocation
 *   must be dated at or before now and the signer a member at r->at,
 *   judged with the revocations received before it; the broker's may
 *   be dated ahead.  A revocation is judged once, on arrival.
 * - cred_set_prune keeps, besides unexpired credentials, those that
 *   prove a member revoker at r->at, so the cache stays loadable.
 *
 * Cache file (cred_set_save/load), big endian:
 *   "SLOOPPL1" | loop_id[32] | founder[32] | broker[32] |
 *   be32 n_creds | be32 n_revokes |
 *   n_creds x credential (CRED_LEN) | n_revokes x revocation
 *   (CRED_REVOKE_LEN), in the set's order (revocations in arrival
 *   order, so that each is judged on load as when it arrived).
 * The size must match the counts exactly.
 */
#ifndef SLOOP_CRED_H
#define SLOOP_CRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRED_LEN		202
#define CRED_REVOKE_LEN		173
#define CRED_DEFAULT_LIFETIME	3600
#define CRED_MAX_DEPTH		16	/* signer chains longer are refused */
#define CRED_MAX_LIFETIME	(30 * 86400)	/* not_after - not_before */
#define CRED_SET_MAX_CREDS	16384	/* bounds what a broker can feed us */
#define CRED_SET_MAX_REVOKES	16384

struct cred {
	uint8_t policy;
	uint8_t loop_id[32];
	uint8_t device[32];		/* Ed25519 public keys throughout */
	uint8_t addr4[4];
	uint8_t addr6[16];
	uint64_t not_before, not_after;	/* unix seconds */
	uint8_t signer[32];
	uint8_t sig[64];
};

struct cred_revoke {
	uint8_t loop_id[32];
	uint8_t device[32];
	uint64_t at;
	uint8_t signer[32];
	uint8_t sig[64];
};

/* Everything a peer knows about one loop; the on-disk cache too. */
struct cred_set {
	uint8_t loop_id[32];
	uint8_t founder[32];
	uint8_t broker[32];		/* Ed25519 key allowed to revoke */
	struct cred *creds;
	size_t n_creds, cap_creds;
	struct cred_revoke *revokes;
	size_t n_revokes, cap_revokes;
};

void cred_loop_id(uint8_t out[32], const uint8_t founder[32],
		  const char *name);
/* Fill c->signer from sk (libsodium's 64-byte Ed25519 secret), sign. */
int cred_sign(struct cred *c, const uint8_t sk[64]);
bool cred_sig_ok(const struct cred *c);
void cred_encode(const struct cred *c, uint8_t out[CRED_LEN]);
/* -1 on a wrong length, magic or version (signature not checked). */
int cred_decode(struct cred *c, const uint8_t *in, size_t len);

int cred_revoke_sign(struct cred_revoke *r, const uint8_t sk[64]);
bool cred_revoke_sig_ok(const struct cred_revoke *r);
void cred_revoke_encode(const struct cred_revoke *r,
			uint8_t out[CRED_REVOKE_LEN]);
int cred_revoke_decode(struct cred_revoke *r, const uint8_t *in,
		       size_t len);

void cred_set_init(struct cred_set *s, const uint8_t loop_id[32],
		   const uint8_t founder[32], const uint8_t broker[32]);
/* Frees the entries; loop_id, founder and broker stay. */
void cred_set_free(struct cred_set *s);
/*
 * Add a credential after checking its signature and loop; an exact
 * duplicate is ignored.  -1 (and nothing added) on a bad one, -ENOSPC
 * when the set holds CRED_SET_MAX_CREDS (prune it), -ENOMEM.
 */
int cred_set_add(struct cred_set *s, const struct cred *c);
/*
 * A revocation signed by the broker key or by a member at r->at; 0 when
 * stored or redundant (an earlier one for that device exists), -1 when
 * refused, -ENOSPC when full, -ENOMEM.
 */
int cred_set_revoke(struct cred_set *s, const struct cred_revoke *r,
		    uint64_t now);
/*
 * Drop credentials expired at now (not_after <= now) to keep the cache
 * small, except those proving a member revoker at its r->at.
 */
void cred_set_prune(struct cred_set *s, uint64_t now);
/* The loop's policy from the founder's valid self-credential, 0 if none. */
int cred_set_policy(const struct cred_set *s, uint64_t now);
/*
 * Is device a member at now?  On yes, *best (if not NULL) is its
 * credential that stays valid longest (its addresses are the ones to
 * use).  Revoked devices, broken chains, signatures by non-members,
 * expired credentials and cycles all give false.
 */
bool cred_set_is_member(const struct cred_set *s, const uint8_t device[32],
			uint64_t now, struct cred *best);
/* When device's membership ends if nobody renews it (0 if not a member). */
uint64_t cred_set_expiry(const struct cred_set *s, const uint8_t device[32],
			 uint64_t now);

/*
 * The cache file: written to path.tmp (0600), fsynced, renamed.  Load
 * refuses a file that is not root-owned-and-0600-or-stricter when
 * strict is set (sloopd's rule for secrets), a bad magic, a truncated
 * file and any credential that fails cred_set_add; -errno, -EPERM for
 * the owner/mode, -EBADMSG for the content.  A set the caller
 * initialised (non-zero loop_id) must match the file's loop_id, founder
 * and broker; a zeroed one takes them from the file (then check the
 * loop_id against cred_loop_id(founder, name) yourself: the name is not
 * stored).  A symbolic link is refused (O_NOFOLLOW).  On success s holds
 * exactly the file's entries (its previous ones are freed); on failure
 * s is unchanged.
 */
int cred_set_save(const struct cred_set *s, const char *path);
int cred_set_load(struct cred_set *s, const char *path, bool strict);

#endif /* SLOOP_CRED_H */
