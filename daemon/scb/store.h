/* SPDX-License-Identifier: MIT */
/*
 * The broker's store: SQLite in WAL mode with synchronous=FULL, so a
 * commit that returned is on disk and a broker killed at any moment
 * loses nothing it acknowledged.  The schema is plain SQL (no SQLite
 * extensions beyond what PostgreSQL also has) and versioned: store_open
 * applies the migrations a file lacks, each in its own transaction, and
 * refuses a file from a newer broker.
 *
 * Every function returns 0 or an enum scb_err (SCB_E_STORE on an SQLite
 * failure, logged with sqlite3_errmsg through the err callback).  Each
 * mutating call is one transaction.  Public keys are Ed25519, 32 bytes.
 * Names (users, devices, loops) are 1..STORE_NAME_MAX bytes, else
 * SCB_E_MALFORMED.  An unknown user name is SCB_E_AUTH, an unknown loop
 * SCB_E_NO_LOOP.  List functions read all rows first, then call cb for
 * each (cb may call the store); a non-zero cb result stops the list and
 * is returned.  Credentials and revocations are checked for the right
 * magic, loop and device fields (SCB_E_BAD_CRED), never for signatures:
 * the server does that.  docs/broker-store.md has the schema.
 */
#ifndef SLOOP_SCB_STORE_H
#define SLOOP_SCB_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <sloop/scb.h>

#define STORE_NAME_MAX		64
#define STORE_SCHEMA_VERSION	1
#define STORE_MAX_CREDS		4	/* per member: one per approver */

struct store;

/* Broker-wide licence limits; 0 means unlimited. */
struct store_limits {
	uint32_t users, devices, loops;
};

struct store_user {
	int64_t id;
	char name[STORE_NAME_MAX + 1];
	char pwhash[128];		/* crypto_pwhash_str (Argon2id) */
	uint32_t device_limit;
	uint32_t n_devices;		/* not removed */
};

struct store_device {
	int64_t id, user_id;
	uint8_t pub[32];
	char name[STORE_NAME_MAX + 1];
	char user[STORE_NAME_MAX + 1];
	int state;			/* enum scb_dev_state */
	int64_t last_seen;		/* unix seconds, 0 never */
	uint8_t last_tai[12];		/* newest accepted HELLO stamp */
};

struct store_loop {
	int64_t id;
	uint8_t loop_id[32];
	char name[STORE_NAME_MAX + 1];
	uint8_t founder[32];
	int policy;			/* approvals needed: 1 or 2 */
	uint8_t net4[4];		/* a /22 inside 100.64.0.0/10 */
	uint8_t net6[16];		/* a /64 inside the broker's ULA /48 */
	int64_t created;
};

struct store_member {
	uint8_t pub[32];
	char name[STORE_NAME_MAX + 1];
	uint8_t addr4[4], addr6[16];
	bool pending;			/* waiting room, not yet approved */
	int n_creds;			/* approvals so far when pending */
	uint8_t creds[STORE_MAX_CREDS][SCB_CRED_LEN];
};

struct store_invite {
	uint8_t loop_id[32];
	uint8_t creator[32];
	int64_t expires;
	bool consumed;
};

typedef void (*store_log_fn)(void *ctx, const char *msg);
typedef int (*store_user_cb)(void *ctx, const struct store_user *u);
typedef int (*store_device_cb)(void *ctx, const struct store_device *d);
typedef int (*store_loop_cb)(void *ctx, const struct store_loop *l);
typedef int (*store_member_cb)(void *ctx, const struct store_member *m);
typedef int (*store_invite_cb)(void *ctx, const struct store_invite *i);
typedef int (*store_revoke_cb)(void *ctx, const uint8_t rec[SCB_REVOKE_LEN]);

/*
 * ula48: the broker's ULA prefix (fdXX:XXXX:XXXX::/48), 6 bytes; a loop
 * keeps the /64 it got at creation even if the prefix changes later.
 * log may be NULL (stderr).  The file is created 0600.
 */
int store_open(struct store **s, const char *path, const uint8_t ula48[6],
	       const struct store_limits *lim, store_log_fn log, void *ctx);
/* The schema scripts store_open applies: store_migrations[v - 1] -> v. */
extern const char *const store_migrations[STORE_SCHEMA_VERSION];
/* store_open with another migration list (tests): it knows n versions. */
int store_open_migrations(struct store **s, const char *path,
			  const uint8_t ula48[6],
			  const struct store_limits *lim, store_log_fn log,
			  void *ctx, const char *const *migrations, int n);
void store_close(struct store *s);
int store_schema_version(struct store *s);

/* device_limit 0: no limit.  SCB_E_EXISTS, SCB_E_LICENCE. */
int store_user_add(struct store *s, const char *name, const char *pwhash,
		   uint32_t device_limit);
int store_user_set_limit(struct store *s, const char *name, uint32_t lim);
int store_user_get(struct store *s, const char *name, struct store_user *u);
int store_user_list(struct store *s, store_user_cb cb, void *ctx);

/*
 * SCB_E_DEVICE_LIMIT, SCB_E_LICENCE, SCB_E_EXISTS (other user's key),
 * SCB_E_AUTH (no such user id).  The same user registering the same key
 * again gets 0 and renames it, unless it was removed (SCB_E_REMOVED).
 */
int store_device_add(struct store *s, const uint8_t pub[32], int64_t user_id,
		     const char *name);
int store_device_get(struct store *s, const uint8_t pub[32],
		     struct store_device *d);	/* SCB_E_NO_DEVICE */
/* Leaving REMOVED counts against the device limits again. */
int store_device_set_state(struct store *s, const uint8_t pub[32],
			   int state);
/* Last seen and the HELLO stamp; SCB_E_REPLAY if tai is not newer. */
int store_device_seen(struct store *s, const uint8_t pub[32], int64_t now,
		      const uint8_t tai[12]);
int store_device_list(struct store *s, store_device_cb cb, void *ctx);

/*
 * A new loop, its founder as first member (host 1) with cred; the
 * address ranges are allocated here.  SCB_E_EXISTS, SCB_E_LICENCE,
 * SCB_E_NO_DEVICE (founder not registered), SCB_E_FULL (4096 loops).
 * cred may be NULL: the founder can only sign its credential once it
 * knows its addresses, and files it later with store_member_set_cred.
 */
int store_loop_create(struct store *s, const uint8_t loop_id[32],
		      const char *name, const uint8_t founder[32], int policy,
		      const uint8_t cred[SCB_CRED_LEN], struct store_loop *out);
int store_loop_get(struct store *s, const uint8_t loop_id[32],
		   struct store_loop *l);	/* SCB_E_NO_LOOP */
int store_loop_list(struct store *s, store_loop_cb cb, void *ctx);
/* Loops a device is a member of (not pending). */
int store_loops_of(struct store *s, const uint8_t pub[32], store_loop_cb cb,
		   void *ctx);

/* Member or pending entry; SCB_E_NOT_MEMBER when neither. */
int store_member_get(struct store *s, const uint8_t loop_id[32],
		     const uint8_t pub[32], struct store_member *m);
/* Members, then pending entries when with_pending. */
int store_member_list(struct store *s, const uint8_t loop_id[32],
		      bool with_pending, store_member_cb cb, void *ctx);
/*
 * Renewal: replaces the credential from the same signer, who must be a
 * member (SCB_E_BAD_CRED).  Beyond STORE_MAX_CREDS the credential that
 * expires first goes (never the self-signed one, never the new one).
 */
int store_member_set_cred(struct store *s, const uint8_t loop_id[32],
			  const uint8_t pub[32],
			  const uint8_t cred[SCB_CRED_LEN]);
/*
 * Remove a member (or pending entry) and keep the revocation record (one
 * transaction; a newer record for the same device replaces the older).
 * Its open invitations are dropped and its approvals of still pending
 * devices stop counting.  SCB_E_NOT_MEMBER when neither.
 */
int store_member_revoke(struct store *s, const uint8_t loop_id[32],
			const uint8_t pub[32],
			const uint8_t rec[SCB_REVOKE_LEN]);
int store_revoke_list(struct store *s, const uint8_t loop_id[32],
		      store_revoke_cb cb, void *ctx);

/* Invitations are stored as BLAKE2b-256 of the code, never the code. */
int store_invite_add(struct store *s, const uint8_t hash[32],
		     const uint8_t loop_id[32], const uint8_t creator[32],
		     int64_t expires);
/*
 * One transaction: the invitation exists, is not used or expired at
 * now, gets marked used, and the device enters the loop's waiting room
 * with the next free addresses (SCB_E_INVITE, SCB_E_FULL, SCB_E_EXISTS
 * if already a member or pending).  *loop gets the loop.
 */
int store_invite_consume(struct store *s, const uint8_t hash[32],
			 const uint8_t pub[32], int64_t now,
			 struct store_loop *loop, struct store_member *m);
/* Live (unused, unexpired) invitations; loop_id NULL: of all loops. */
int store_invite_list(struct store *s, const uint8_t loop_id[32],
		      int64_t now, store_invite_cb cb, void *ctx);

/*
 * An approver's signed credential for a pending device.  When the
 * distinct approvers reach the loop's policy the device becomes a member
 * in the same transaction and *complete is set.  The approver must be a
 * member and cred's signer (SCB_E_NOT_MEMBER, SCB_E_BAD_CRED); the same
 * approver again replaces its credential and does not count twice.
 * SCB_E_EXISTS if the device is already a member.
 */
int store_approve(struct store *s, const uint8_t loop_id[32],
		  const uint8_t pub[32], const uint8_t approver[32],
		  const uint8_t cred[SCB_CRED_LEN], bool *complete);
/*
 * Rejection: the pending entry goes, its addresses come free.
 * SCB_E_NOT_MEMBER if not pending, SCB_E_EXISTS if a member already.
 */
int store_reject(struct store *s, const uint8_t loop_id[32],
		 const uint8_t pub[32]);

/* Devices counted as the licence does: not removed. */
int store_count(struct store *s, uint32_t *users, uint32_t *devices,
		uint32_t *loops);

#endif /* SLOOP_SCB_STORE_H */
