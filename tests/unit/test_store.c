// SPDX-License-Identifier: MIT
/*
 * The broker's store: migrations, limits, replay stamps, address
 * allocation, invitations, approvals, revocations, rollback of failed
 * calls, and that a process killed at any moment loses no commit.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../../daemon/scb/store.h"
#include "cred.h"
#include "unit.h"

static const uint8_t ula[6] = { 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a };
static char dir[64], db[96], lastlog[512];
static int nlog;

static void logcb(void *ctx, const char *msg)
{
	(void)ctx;
	snprintf(lastlog, sizeof(lastlog), "%s", msg);
	nlog++;
}

/* A fresh directory per test; the database file is created by the test. */
static int fresh(void)
{
	snprintf(dir, sizeof(dir), "/tmp/sloop-store-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(db, sizeof(db), "%s/scb.db", dir);
	lastlog[0] = 0;
	nlog = 0;
	return 0;
}

static void cleanup(void)
{
	char p[128];
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", db, sfx[i]);
		unlink(p);
	}
	rmdir(dir);
}

static struct store *open_lim(uint32_t users, uint32_t devices,
			      uint32_t loops)
{
	struct store_limits lim = { users, devices, loops };
	struct store *s = NULL;

	if (store_open(&s, db, ula, &lim, logcb, NULL))
		return NULL;
	return s;
}

static struct store *open_db(void)
{
	return open_lim(0, 0, 0);
}

static void key(uint8_t k[32], int n)
{
	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)(n * 7 + i);
	k[0] = (uint8_t)n;
	k[1] = (uint8_t)(n >> 8);
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Layout of daemon/common/cred.h; the store does not check signatures. */
static void mkcred(uint8_t c[SCB_CRED_LEN], const uint8_t loop[32],
		   const uint8_t dev[32], const uint8_t signer[32],
		   uint64_t not_after)
{
	memset(c, 0, SCB_CRED_LEN);
	memcpy(c, "SLMC", 4);
	c[4] = 1;
	c[5] = 1;
	memcpy(c + 6, loop, 32);
	memcpy(c + 38, dev, 32);
	put64(c + 90, 1);
	put64(c + 98, not_after);
	memcpy(c + 106, signer, 32);
	c[SCB_CRED_LEN - 1] = (uint8_t)not_after;	/* tell copies apart */
}

static void mkrevoke(uint8_t r[SCB_REVOKE_LEN], const uint8_t loop[32],
		     const uint8_t dev[32])
{
	memset(r, 0xa5, SCB_REVOKE_LEN);
	memcpy(r, "SLMR", 4);
	r[4] = 1;
	memcpy(r + 5, loop, 32);
	memcpy(r + 37, dev, 32);
}

/* Raw SQL on a second connection, for what the API cannot do. */
static int raw_exec(const char *q)
{
	sqlite3 *h;
	int rc;

	if (sqlite3_open(db, &h) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(h, q, NULL, NULL, NULL);
	sqlite3_close(h);
	return rc == SQLITE_OK ? 0 : -1;
}

static int raw_text(const char *q, char *out, size_t size)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	int rc = -1;

	out[0] = 0;
	if (sqlite3_open(db, &h) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(h, q, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(st, 0);

			snprintf(out, size, "%s", t ? (const char *)t : "");
			rc = 0;
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(h);
	return rc;
}

static long raw_int(const char *q)
{
	char buf[64];

	return raw_text(q, buf, sizeof(buf)) ? -1 : atol(buf);
}

/* A user "u" (no device limit) with devices 1..n registered. */
static int users_devices(struct store *s, int n)
{
	struct store_user u;
	uint8_t k[32];
	char name[16];

	if (store_user_add(s, "u", "$argon2id$x", 0) ||
	    store_user_get(s, "u", &u))
		return -1;
	for (int i = 1; i <= n; i++) {
		key(k, i);
		snprintf(name, sizeof(name), "dev%d", i);
		if (store_device_add(s, k, u.id, name))
			return -1;
	}
	return 0;
}

/* Device `dev` enters loop through a fresh invitation by `creator`. */
static int join(struct store *s, const uint8_t loop[32], int creator,
		int dev, int inv, struct store_member *m)
{
	uint8_t h[32], c[32], d[32];
	struct store_loop l;
	int rc;

	memset(h, 0, sizeof(h));
	h[0] = (uint8_t)inv;
	h[1] = 0x11;
	key(c, creator);
	key(d, dev);
	rc = store_invite_add(s, h, loop, c, time(NULL) + 600);
	return rc ? rc : store_invite_consume(s, h, d, time(NULL), &l, m);
}

static void hex(char out[65], const uint8_t k[32])
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", k[i]);
}

static void ip4(const uint8_t a[4], char *buf)
{
	sprintf(buf, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

/* A loop named name founded by device `founder`. */
static int mkloop(struct store *s, uint8_t loop[32], int founder,
		  const char *name, int policy, struct store_loop *l)
{
	uint8_t f[32];

	key(f, founder);
	memset(loop, 0, 32);
	snprintf((char *)loop, 32, "loop:%s", name);
	return store_loop_create(s, loop, name, f, policy, NULL, l);
}

/* ------------------------------------------------------- migrations */

TEST(store_migrate_empty_file)
{
	struct store *s;
	struct stat sb;
	char buf[64];
	int fd;

	CHECK(fresh() == 0);
	fd = open(db, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0);
	close(fd);
	s = open_db();
	CHECK(s);
	CHECK_EQ_INT(store_schema_version(s), STORE_SCHEMA_VERSION);
	store_close(s);
	CHECK_EQ_INT(raw_int("SELECT value FROM meta"
			     " WHERE name = 'schema_version'"),
		     STORE_SCHEMA_VERSION);
	CHECK_EQ_INT(raw_int("SELECT COUNT(*) FROM sqlite_master WHERE"
			     " type = 'table' AND name IN ('users', 'devices',"
			     " 'loops', 'members', 'member_creds', 'invites',"
			     " 'revocations', 'meta')"), 8);
	CHECK(raw_text("PRAGMA journal_mode", buf, sizeof(buf)) == 0);
	CHECK_EQ_STR(buf, "wal");
	CHECK(stat(db, &sb) == 0);
	CHECK_EQ_INT(sb.st_mode & 0777, 0600);
	cleanup();
}

TEST(store_migrate_in_order_and_atomic)
{
	const char *const two[] = {
		store_migrations[0],
		"CREATE TABLE extra (a INTEGER); INSERT INTO extra VALUES (7);",
	};
	const char *const three[] = {
		two[0], two[1],
		"CREATE TABLE extra3 (a INTEGER); CREATE TABLE broken (",
	};
	struct store *s;
	struct store_user u;

	CHECK(fresh() == 0);
	s = open_db();
	CHECK(s);
	CHECK_EQ_INT(store_user_add(s, "alice", "$argon2id$x", 3), 0);
	store_close(s);

	CHECK_EQ_INT(store_open_migrations(&s, db, ula, NULL, logcb, NULL,
					   two, 2), 0);
	CHECK_EQ_INT(store_schema_version(s), 2);
	CHECK_EQ_INT(store_user_get(s, "alice", &u), 0);
	store_close(s);
	CHECK_EQ_INT(raw_int("SELECT a FROM extra"), 7);

	/* A failing migration leaves the file as it was before it. */
	CHECK_EQ_INT(store_open_migrations(&s, db, ula, NULL, logcb, NULL,
					   three, 3), SCB_E_STORE);
	CHECK(s == NULL);
	CHECK(strstr(lastlog, "migration to schema version 3"));
	CHECK_EQ_INT(raw_int("SELECT value FROM meta"
			     " WHERE name = 'schema_version'"), 2);
	CHECK_EQ_INT(raw_int("SELECT COUNT(*) FROM sqlite_master"
			     " WHERE name = 'extra3'"), 0);
	cleanup();
}

TEST(store_newer_schema_refused)
{
	struct store *s;
	char q[96];

	CHECK(fresh() == 0);
	s = open_db();
	CHECK(s);
	store_close(s);
	snprintf(q, sizeof(q), "UPDATE meta SET value = %d"
		 " WHERE name = 'schema_version'", STORE_SCHEMA_VERSION + 1);
	CHECK(raw_exec(q) == 0);
	CHECK_EQ_INT(store_open(&s, db, ula, NULL, logcb, NULL), SCB_E_STORE);
	CHECK(s == NULL);
	CHECK(strstr(lastlog, "refusing"));
	CHECK(strstr(lastlog, "schema version 2"));
	CHECK_EQ_INT(raw_int("SELECT value FROM meta"
			     " WHERE name = 'schema_version'"),
		     STORE_SCHEMA_VERSION + 1);
	cleanup();
}

TEST(store_not_a_database)
{
	struct store *s;
	int fd;

	CHECK(fresh() == 0);
	fd = open(db, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, "this is not sqlite, just some text to fill a page..."
		    "..............................................", 98) == 98);
	close(fd);
	CHECK_EQ_INT(store_open(&s, db, ula, NULL, logcb, NULL), SCB_E_STORE);
	CHECK(s == NULL);
	CHECK(strstr(lastlog, "not a database"));
	cleanup();
}

/* ------------------------------------------------------------ users */

TEST(store_users_and_licence)
{
	struct store *s;
	struct store_user u;
	uint32_t nu, nd, nl;
	char big[STORE_NAME_MAX + 2];

	CHECK(fresh() == 0);
	s = open_lim(2, 0, 0);
	CHECK(s);
	CHECK_EQ_INT(store_user_add(s, "bob", "$argon2id$b", 5), 0);
	CHECK_EQ_INT(store_user_add(s, "bob", "$argon2id$c", 1), SCB_E_EXISTS);
	CHECK_EQ_INT(store_user_get(s, "bob", &u), 0);
	CHECK_EQ_STR(u.name, "bob");
	CHECK_EQ_STR(u.pwhash, "$argon2id$b");
	CHECK_EQ_INT(u.device_limit, 5);
	CHECK_EQ_INT(u.n_devices, 0);
	CHECK_EQ_INT(store_user_set_limit(s, "bob", 4000000000u), 0);
	CHECK_EQ_INT(store_user_get(s, "bob", &u), 0);
	CHECK_EQ_INT(u.device_limit, 4000000000u);
	CHECK_EQ_INT(store_user_set_limit(s, "nobody", 1), SCB_E_AUTH);
	CHECK_EQ_INT(store_user_get(s, "nobody", &u), SCB_E_AUTH);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CHECK_EQ_INT(store_user_add(s, big, "h", 1), SCB_E_MALFORMED);
	CHECK_EQ_INT(store_user_add(s, "", "h", 1), SCB_E_MALFORMED);
	CHECK_EQ_INT(store_user_add(s, "amy", "$argon2id$a", 1), 0);
	CHECK_EQ_INT(store_user_add(s, "cid", "$argon2id$c", 1),
		     SCB_E_LICENCE);
	CHECK_EQ_INT(store_count(s, &nu, &nd, &nl), 0);
	CHECK_EQ_INT(nu, 2);
	CHECK_EQ_INT(nd, 0);
	CHECK_EQ_INT(nl, 0);
	store_close(s);
	cleanup();
}

struct names {
	int n;
	char v[8][STORE_NAME_MAX + 1];
};

static int user_name_cb(void *ctx, const struct store_user *u)
{
	struct names *n = ctx;

	if (n->n < 8)
		snprintf(n->v[n->n++], sizeof(n->v[0]), "%s", u->name);
	return 0;
}

static int stop_cb(void *ctx, const struct store_user *u)
{
	(void)u;
	return ++*(int *)ctx == 2 ? 77 : 0;
}

TEST(store_user_list)
{
	struct store *s;
	struct names n = { 0 };
	int calls = 0;

	CHECK(fresh() == 0);
	s = open_db();
	CHECK(s);
	CHECK_EQ_INT(store_user_add(s, "zed", "h", 1), 0);
	CHECK_EQ_INT(store_user_add(s, "ann", "h", 1), 0);
	CHECK_EQ_INT(store_user_add(s, "max", "h", 1), 0);
	CHECK_EQ_INT(store_user_list(s, user_name_cb, &n), 0);
	CHECK_EQ_INT(n.n, 3);
	CHECK_EQ_STR(n.v[0], "ann");
	CHECK_EQ_STR(n.v[2], "zed");
	CHECK_EQ_INT(store_user_list(s, stop_cb, &calls), 77);
	CHECK_EQ_INT(calls, 2);
	store_close(s);
	cleanup();
}

/* ---------------------------------------------------------- devices */

TEST(store_device_limits)
{
	struct store *s;
	struct store_user a, b;
	struct store_device d;
	uint8_t k[6][32];
	uint32_t nd;

	CHECK(fresh() == 0);
	s = open_lim(0, 4, 0);
	CHECK(s);
	for (int i = 0; i < 6; i++)
		key(k[i], 100 + i);
	CHECK_EQ_INT(store_user_add(s, "a", "h", 2), 0);
	CHECK_EQ_INT(store_user_add(s, "b", "h", 0), 0);
	CHECK_EQ_INT(store_user_get(s, "a", &a), 0);
	CHECK_EQ_INT(store_user_get(s, "b", &b), 0);
	CHECK_EQ_INT(store_device_add(s, k[0], a.id, "a0"), 0);
	CHECK_EQ_INT(store_device_add(s, k[1], a.id, "a1"), 0);
	CHECK_EQ_INT(store_device_add(s, k[2], a.id, "a2"),
		     SCB_E_DEVICE_LIMIT);
	CHECK_EQ_INT(store_device_get(s, k[2], &d), SCB_E_NO_DEVICE);
	/* Another user's key; the same user again renames. */
	CHECK_EQ_INT(store_device_add(s, k[0], b.id, "b0"), SCB_E_EXISTS);
	CHECK_EQ_INT(store_device_add(s, k[0], a.id, "a0-new"), 0);
	CHECK_EQ_INT(store_device_get(s, k[0], &d), 0);
	CHECK_EQ_STR(d.name, "a0-new");
	CHECK_EQ_STR(d.user, "a");
	CHECK_EQ_INT(d.user_id, a.id);
	CHECK_EQ_INT(d.state, SCB_DEV_ACTIVE);
	CHECK(!memcmp(d.pub, k[0], 32));
	CHECK_EQ_INT(store_device_add(s, k[5], 9999, "x"), SCB_E_AUTH);

	/* A removed device frees its place, and takes it back on resume. */
	CHECK_EQ_INT(store_device_set_state(s, k[1], SCB_DEV_REMOVED), 0);
	CHECK_EQ_INT(store_user_get(s, "a", &a), 0);
	CHECK_EQ_INT(a.n_devices, 1);
	CHECK_EQ_INT(store_device_add(s, k[1], a.id, "again"), SCB_E_REMOVED);
	CHECK_EQ_INT(store_device_add(s, k[2], a.id, "a2"), 0);
	CHECK_EQ_INT(store_device_set_state(s, k[1], SCB_DEV_ACTIVE),
		     SCB_E_DEVICE_LIMIT);
	CHECK_EQ_INT(store_device_get(s, k[1], &d), 0);
	CHECK_EQ_INT(d.state, SCB_DEV_REMOVED);
	CHECK_EQ_INT(store_device_set_state(s, k[0], SCB_DEV_SUSPENDED), 0);
	CHECK_EQ_INT(store_device_set_state(s, k[0], 9), SCB_E_MALFORMED);
	CHECK_EQ_INT(store_device_set_state(s, k[5], SCB_DEV_STOLEN),
		     SCB_E_NO_DEVICE);

	/* Licence: 4 devices not removed, whoever owns them. */
	CHECK_EQ_INT(store_device_add(s, k[3], b.id, "b3"), 0);
	CHECK_EQ_INT(store_device_add(s, k[4], b.id, "b4"), 0);
	CHECK_EQ_INT(store_device_add(s, k[5], b.id, "b5"), SCB_E_LICENCE);
	CHECK_EQ_INT(store_count(s, NULL, &nd, NULL), 0);
	CHECK_EQ_INT(nd, 4);
	store_close(s);
	cleanup();
}

TEST(store_tai_replay)
{
	struct store *s;
	struct store_device d;
	uint8_t k[32], t1[12] = { 0x40, 0, 0, 0, 0x60, 0, 0, 1, 0, 0, 0, 5 };
	uint8_t t0[12], t2[12], tn[12];

	CHECK(fresh() == 0);
	s = open_db();
	CHECK(s);
	CHECK(users_devices(s, 1) == 0);
	key(k, 1);
	memcpy(t0, t1, 12);
	t0[7] = 0;		/* a second earlier, more nanoseconds */
	t0[11] = 0xff;
	memcpy(tn, t1, 12);
	tn[11] = 6;		/* one nanosecond later */
	memcpy(t2, t1, 12);
	t2[6] = 1;
	CHECK_EQ_INT(store_device_get(s, k, &d), 0);
	CHECK_EQ_INT(d.last_seen, 0);
	CHECK_EQ_INT(store_device_seen(s, k, 1000, t1), 0);
	CHECK_EQ_INT(store_device_seen(s, k, 1001, t1), SCB_E_REPLAY);
	CHECK_EQ_INT(store_device_seen(s, k, 1002, t0), SCB_E_REPLAY);
	CHECK_EQ_INT(store_device_get(s, k, &d), 0);
	CHECK_EQ_INT(d.last_seen, 1000);
	CHECK(!memcmp(d.last_tai, t1, 12));
	CHECK_EQ_INT(store_device_seen(s, k, 1003, tn), 0);
	CHECK_EQ_INT(store_device_seen(s, k, 1004, t2), 0);
	CHECK_EQ_INT(store_device_seen(s, k, 1005, tn), SCB_E_REPLAY);
	store_close(s);
	/* The stamp survives a restart: a replay after it is still refused. */
	s = open_db();
	CHECK(s);
	CHECK_EQ_INT(store_device_seen(s, k, 1006, t2), SCB_E_REPLAY);
	CHECK_EQ_INT(store_device_get(s, k, &d), 0);
	CHECK_EQ_INT(d.last_seen, 1004);
	key(k, 99);
	CHECK_EQ_INT(store_device_seen(s, k, 1, t2), SCB_E_NO_DEVICE);
	store_close(s);
	cleanup();
}

/* ------------------------------------------------------------ loops */

TEST(store_loop_addresses)
{
	struct store *s;
	struct store_loop la, lb, l;
	struct store_member m;
	uint8_t a[32], b[32], k[32], r[SCB_REVOKE_LEN];
	uint8_t want6[16];
	char buf[32];

	CHECK(fresh() == 0);
	s = open_lim(0, 0, 2);
	CHECK(s);
	CHECK(users_devices(s, 8) == 0);
	CHECK_EQ_INT(mkloop(s, a, 1, "home", 1, &la), 0);
	CHECK_EQ_INT(mkloop(s, b, 2, "work", 1, &lb), 0);
	ip4(la.net4, buf);
	CHECK_EQ_STR(buf, "100.64.0.0");
	ip4(lb.net4, buf);
	CHECK_EQ_STR(buf, "100.64.4.0");
	memset(want6, 0, 16);
	memcpy(want6, ula, 6);
	CHECK(!memcmp(la.net6, want6, 16));
	want6[7] = 1;
	CHECK(!memcmp(lb.net6, want6, 16));
	CHECK_EQ_STR(la.name, "home");
	CHECK_EQ_INT(la.policy, 1);
	key(k, 1);
	CHECK(!memcmp(la.founder, k, 32));

	/* Founder host 1, then 2, 3, 4. */
	CHECK_EQ_INT(store_member_get(s, a, k, &m), 0);
	ip4(m.addr4, buf);
	CHECK_EQ_STR(buf, "100.64.0.1");
	CHECK(!m.pending);
	CHECK_EQ_INT(m.n_creds, 0);
	CHECK_EQ_INT(join(s, a, 1, 3, 1, &m), 0);
	ip4(m.addr4, buf);
	CHECK_EQ_STR(buf, "100.64.0.2");
	CHECK(m.pending);
	CHECK_EQ_STR(m.name, "dev3");
	memcpy(want6, la.net6, 16);
	want6[15] = 2;
	CHECK(!memcmp(m.addr6, want6, 16));
	CHECK_EQ_INT(join(s, a, 1, 4, 2, &m), 0);
	ip4(m.addr4, buf);
	CHECK_EQ_STR(buf, "100.64.0.3");
	CHECK_EQ_INT(join(s, a, 1, 5, 3, &m), 0);
	ip4(m.addr4, buf);
	CHECK_EQ_STR(buf, "100.64.0.4");
	/* The other loop counts on its own. */
	CHECK_EQ_INT(join(s, b, 2, 3, 4, &m), 0);
	ip4(m.addr4, buf);
	CHECK_EQ_STR(buf, "100.64.4.2");

	/* A rejected device's index (3) is the next one handed out. */
	key(k, 4);
	CHECK_EQ_INT(store_reject(s, a, k), 0);
	CHECK_EQ_INT(store_member_get(s, a, k, &m), SCB_E_NOT_MEMBER);
	CHECK_EQ_INT(join(s, a, 1, 6, 5, &m), 0);
	ip4(m.addr4, buf);
	CHECK_EQ_STR(buf, "100.64.0.3");
	/* So is a revoked one's (2). */
	key(k, 3);
	mkrevoke(r, a, k);
	CHECK_EQ_INT(store_member_revoke(s, a, k, r), 0);
	CHECK_EQ_INT(join(s, a, 1, 7, 6, &m), 0);
	ip4(m.addr4, buf);
	CHECK_EQ_STR(buf, "100.64.0.2");
	CHECK_EQ_INT(join(s, a, 1, 8, 7, &m), 0);
	ip4(m.addr4, buf);
	CHECK_EQ_STR(buf, "100.64.0.5");

	/* Refusals. */
	CHECK_EQ_INT(mkloop(s, a, 1, "home", 1, &l), SCB_E_EXISTS);
	CHECK_EQ_INT(mkloop(s, k, 3, "third", 1, &l), SCB_E_LICENCE);
	CHECK_EQ_INT(mkloop(s, k, 3, "third", 3, &l), SCB_E_MALFORMED);
	CHECK_EQ_INT(mkloop(s, k, 3, "", 1, &l), SCB_E_MALFORMED);
	memset(k, 0xee, 32);
	CHECK_EQ_INT(store_loop_get(s, k, &l), SCB_E_NO_LOOP);
	CHECK_EQ_INT(store_member_get(s, k, k, &m), SCB_E_NO_LOOP);
	store_close(s);
	cleanup();
}

TEST(store_loop_founder_unknown_and_net_reuse)
{
	struct store *s;
	struct store_loop l;
	uint8_t id[32];
	char buf[32];

	CHECK(fresh() == 0);
	s = open_db();
	CHECK(s);
	CHECK(users_devices(s, 1) == 0);
	CHECK_EQ_INT(mkloop(s, id, 42, "x", 1, &l), SCB_E_NO_DEVICE);
	CHECK_EQ_INT(store_loop_get(s, id, &l), SCB_E_NO_LOOP);
	/* The failed create took no index: the first loop gets /22 #0. */
	CHECK_EQ_INT(mkloop(s, id, 1, "y", 2, &l), 0);
	ip4(l.net4, buf);
	CHECK_EQ_STR(buf, "100.64.0.0");
	CHECK_EQ_INT(l.policy, 2);
	store_close(s);
	cleanup();
}

/* Filled up behind the API's back (thousands of fsyncs otherwise). */
TEST(store_ranges_full)
{
	struct store *s;
	struct store_loop l;
	struct store_member m;
	uint8_t id[32];
	char q[512], hid[65], buf[32];

	CHECK(fresh() == 0);
	s = open_db();
	CHECK(s);
	CHECK(users_devices(s, 3) == 0);
	CHECK_EQ_INT(mkloop(s, id, 1, "full", 1, &l), 0);
	store_close(s);
	/* Hosts 2..1021 taken: one left (1022), then none. */
	hex(hid, id);
	snprintf(q, sizeof(q), "WITH RECURSIVE h(n) AS (SELECT 2 UNION ALL"
		 " SELECT n + 1 FROM h WHERE n < 1021) INSERT INTO members"
		 " (loop_id, device, host, pending, joined) SELECT x'%s',"
		 " CAST(printf('%%032d', n) AS BLOB), n, 0, 1 FROM h", hid);
	CHECK(raw_exec(q) == 0);
	/* Loop indexes 0..4095 all taken but 17 (0 is "full"). */
	CHECK(raw_exec("WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL"
		       " SELECT n + 1 FROM k WHERE n < 4095) INSERT INTO loops"
		       " (loop_id, name, founder, policy, net_index, net6,"
		       " created) SELECT CAST(printf('%032d', n) AS BLOB), 'l',"
		       " x'00', 1, n, zeroblob(16), 1 FROM k WHERE n <> 17") == 0);
	s = open_db();
	CHECK(s);
	CHECK_EQ_INT(join(s, id, 1, 2, 1, &m), 0);
	ip4(m.addr4, buf);
	CHECK_EQ_STR(buf, "100.64.3.254");
	CHECK(m.addr6[14] == 0x03 && m.addr6[15] == 0xfe);
	CHECK_EQ_INT(join(s, id, 1, 3, 2, &m), SCB_E_FULL);
	CHECK_EQ_INT(mkloop(s, id, 2, "gap", 1, &l), 0);
	ip4(l.net4, buf);
	CHECK_EQ_STR(buf, "100.64.68.0");	/* 17 * 1024 */
	CHECK(l.net6[6] == 0 && l.net6[7] == 17);
	CHECK_EQ_INT(mkloop(s, id, 3, "none", 1, &l), SCB_E_FULL);
	store_close(s);
	cleanup();
}

/* ------------------------------------------------------ invitations */

static int count_inv(void *ctx, const struct store_invite *i)
{
	(void)i;
	++*(int *)ctx;
	return 0;
}

TEST(store_invite_rules)
{
	struct store *s;
	struct store_loop l;
	struct store_member m;
	uint8_t id[32], h1[32], h2[32], h3[32], f[32], d2[32], d3[32];
	int64_t now = time(NULL);
	int n = 0;

	CHECK(fresh() == 0);
	s = open_db();
	CHECK(s);
	CHECK(users_devices(s, 4) == 0);
	CHECK_EQ_INT(mkloop(s, id, 1, "inv", 1, &l), 0);
	key(f, 1);
	key(d2, 2);
	key(d3, 3);
	memset(h1, 1, 32);
	memset(h2, 2, 32);
	memset(h3, 3, 32);
	CHECK_EQ_INT(store_invite_add(s, h1, id, f, now + 60), 0);
	CHECK_EQ_INT(store_invite_add(s, h1, id, f, now + 60), SCB_E_EXISTS);
	CHECK_EQ_INT(store_invite_add(s, h2, id, f, now), 0);
	CHECK_EQ_INT(store_invite_add(s, h3, id, d2, now + 60),
		     SCB_E_NOT_MEMBER);
	CHECK_EQ_INT(store_invite_list(s, id, now, count_inv, &n), 0);
	CHECK_EQ_INT(n, 1);		/* h2 expires at now: not live */

	/* Single use. */
	CHECK_EQ_INT(store_invite_consume(s, h1, d2, now, &l, &m), 0);
	CHECK(m.pending);
	CHECK(!memcmp(l.loop_id, id, 32));
	CHECK_EQ_INT(store_invite_consume(s, h1, d3, now, &l, &m),
		     SCB_E_INVITE);
	CHECK_EQ_INT(store_member_get(s, id, d3, &m), SCB_E_NOT_MEMBER);
	/* Expired, unknown. */
	CHECK_EQ_INT(store_invite_consume(s, h2, d3, now, &l, &m),
		     SCB_E_INVITE);
	CHECK_EQ_INT(store_invite_consume(s, h3, d3, now, &l, &m),
		     SCB_E_INVITE);
	n = 0;
	CHECK_EQ_INT(store_invite_list(s, NULL, now, count_inv, &n), 0);
	CHECK_EQ_INT(n, 0);

	/* Already pending: refused, and the invitation is not used up. */
	CHECK_EQ_INT(store_invite_add(s, h3, id, f, now + 60), 0);
	CHECK_EQ_INT(store_invite_consume(s, h3, d2, now, &l, &m),
		     SCB_E_EXISTS);
	CHECK_EQ_INT(store_invite_consume(s, h3, f, now, &l, &m),
		     SCB_E_EXISTS);
	CHECK_EQ_INT(store_invite_consume(s, h3, d3, now, &l, &m), 0);
	CHECK_EQ_INT(store_member_get(s, id, d3, &m), 0);
	CHECK(m.pending);
	memset(h3, 9, 32);
	CHECK_EQ_INT(store_invite_add(s, h3, h3, f, now + 60), SCB_E_NO_LOOP);
	store_close(s);
	cleanup();
}

/* ------------------------------------------------ approve / reject */

static int count_loops(void *ctx, const struct store_loop *l)
{
	(void)l;
	++*(int *)ctx;
	return 0;
}

TEST(store_approve_policy1)
{
	struct store *s;
	struct store_loop l;
	struct store_member m;
	uint8_t id[32], f[32], d[32], x[32], c[SCB_CRED_LEN];
	bool done = true;
	int n = 0;

	CHECK(fresh() == 0);
	s = open_db();
	CHECK(s);
	CHECK(users_devices(s, 3) == 0);
	CHECK_EQ_INT(mkloop(s, id, 1, "p1", 1, &l), 0);
	key(f, 1);
	key(d, 2);
	key(x, 3);
	CHECK_EQ_INT(join(s, id, 1, 2, 1, &m), 0);
	CHECK_EQ_INT(store_loops_of(s, d, count_loops, &n), 0);
	CHECK_EQ_INT(n, 0);		/* pending is not a member */

	mkcred(c, id, d, x, 5000);	/* signed by a non-member */
	CHECK_EQ_INT(store_approve(s, id, d, x, c, &done), SCB_E_NOT_MEMBER);
	CHECK(!done);
	mkcred(c, id, d, x, 5000);	/* signer is not the approver */
	CHECK_EQ_INT(store_approve(s, id, d, f, c, &done), SCB_E_BAD_CRED);
	mkcred(c, id, x, f, 5000);	/* for another device */
	CHECK_EQ_INT(store_approve(s, id, d, f, c, &done), SCB_E_BAD_CRED);
	mkcred(c, id, d, f, 5000);
	CHECK_EQ_INT(store_approve(s, id, d, f, c, &done), 0);
	CHECK(done);
	CHECK_EQ_INT(store_member_get(s, id, d, &m), 0);
	CHECK(!m.pending);
	CHECK_EQ_INT(m.n_creds, 1);
	CHECK(!memcmp(m.creds[0], c, SCB_CRED_LEN));
	CHECK_EQ_INT(store_loops_of(s, d, count_loops, &n), 0);
	CHECK_EQ_INT(n, 1);
	/* Approving a member again, rejecting a member: refused. */
	CHECK_EQ_INT(store_approve(s, id, d, f, c, &done), SCB_E_EXISTS);
	CHECK_EQ_INT(store_reject(s, id, d), SCB_E_EXISTS);
	CHECK_EQ_INT(store_reject(s, id, x), SCB_E_NOT_MEMBER);
	store_close(s);
	cleanup();
}

TEST(store_approve_policy2)
{
	struct store *s;
	struct store_loop l;
	struct store_member m;
	uint8_t id[32], f[32], g[32], d[32], c[SCB_CRED_LEN];
	char q[256], hid[65], hg[65];
	bool done = true;

	CHECK(fresh() == 0);
	s = open_db();
	CHECK(s);
	CHECK(users_devices(s, 3) == 0);
	CHECK_EQ_INT(mkloop(s, id, 1, "p2", 2, &l), 0);
	key(f, 1);
	key(g, 2);
	key(d, 3);
	store_close(s);
	/*
	 * A second member, put in directly: with policy 2 the API alone
	 * cannot admit anyone to a one-member loop.
	 */
	hex(hid, id);
	hex(hg, g);
	snprintf(q, sizeof(q), "INSERT INTO members (loop_id, device, host,"
		 " pending, joined) VALUES (x'%s', x'%s', 9, 0, 1)", hid, hg);
	CHECK(raw_exec(q) == 0);
	s = open_db();
	CHECK(s);

	CHECK_EQ_INT(join(s, id, 1, 3, 1, &m), 0);
	mkcred(c, id, d, f, 5000);
	CHECK_EQ_INT(store_approve(s, id, d, f, c, &done), 0);
	CHECK(!done);
	/* The same approver twice is still one approval. */
	mkcred(c, id, d, f, 6000);
	CHECK_EQ_INT(store_approve(s, id, d, f, c, &done), 0);
	CHECK(!done);
	CHECK_EQ_INT(store_member_get(s, id, d, &m), 0);
	CHECK(m.pending);
	CHECK_EQ_INT(m.n_creds, 1);
	CHECK(!memcmp(m.creds[0], c, SCB_CRED_LEN));
	mkcred(c, id, d, g, 5500);
	CHECK_EQ_INT(store_approve(s, id, d, g, c, &done), 0);
	CHECK(done);
	CHECK_EQ_INT(store_member_get(s, id, d, &m), 0);
	CHECK(!m.pending);
	CHECK_EQ_INT(m.n_creds, 2);
	store_close(s);
	cleanup();
}

/* ------------------------------------------------------ revocations */

static int copy_rev(void *ctx, const uint8_t rec[SCB_REVOKE_LEN])
{
	memcpy(ctx, rec, SCB_REVOKE_LEN);
	return 0;
}

static int count_rev(void *ctx, const uint8_t rec[SCB_REVOKE_LEN])
{
	(void)rec;
	++*(int *)ctx;
	return 0;
}

TEST(store_revoke)
{
	struct store *s;
	struct store_loop l;
	struct store_member m;
	uint8_t id[32], f[32], d[32], p[32], x[32], c[SCB_CRED_LEN];
	uint8_t r[SCB_REVOKE_LEN], got[SCB_REVOKE_LEN], h[32];
	bool done;
	int n = 0;

	CHECK(fresh() == 0);
	s = open_db();
	CHECK(s);
	CHECK(users_devices(s, 4) == 0);
	CHECK_EQ_INT(mkloop(s, id, 1, "rv", 1, &l), 0);
	key(f, 1);
	key(d, 2);
	key(p, 3);
	CHECK_EQ_INT(join(s, id, 1, 2, 1, &m), 0);
	mkcred(c, id, d, f, 5000);
	CHECK_EQ_INT(store_approve(s, id, d, f, c, &done), 0);
	CHECK(done);
	/* d invites p; p is pending when d is revoked. */
	memset(h, 0x77, 32);
	CHECK_EQ_INT(store_invite_add(s, h, id, d, time(NULL) + 60), 0);
	CHECK_EQ_INT(join(s, id, 2, 3, 2, &m), 0);
	memset(h, 0x78, 32);
	CHECK_EQ_INT(store_invite_add(s, h, id, d, time(NULL) + 60), 0);

	mkrevoke(r, id, p);	/* record for another device */
	CHECK_EQ_INT(store_member_revoke(s, id, d, r), SCB_E_BAD_CRED);
	mkrevoke(r, id, d);
	CHECK_EQ_INT(store_member_revoke(s, id, d, r), 0);
	CHECK_EQ_INT(store_member_get(s, id, d, &m), SCB_E_NOT_MEMBER);
	CHECK_EQ_INT(store_loops_of(s, d, count_loops, &n), 0);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(store_revoke_list(s, id, copy_rev, got), 0);
	CHECK(!memcmp(got, r, SCB_REVOKE_LEN));
	/* Its open invitation died with it. */
	key(x, 4);
	CHECK_EQ_INT(store_invite_consume(s, h, x, time(NULL), &l, &m),
		     SCB_E_INVITE);
	/* Again: not a member any more, nothing added. */
	CHECK_EQ_INT(store_member_revoke(s, id, d, r), SCB_E_NOT_MEMBER);
	n = 0;
	CHECK_EQ_INT(store_revoke_list(s, id, count_rev, &n), 0);
	CHECK_EQ_INT(n, 1);
	/* The pending device stays pending and can be revoked too. */
	CHECK_EQ_INT(store_member_get(s, id, p, &m), 0);
	CHECK(m.pending);
	mkrevoke(r, id, p);
	CHECK_EQ_INT(store_member_revoke(s, id, p, r), 0);
	n = 0;
	CHECK_EQ_INT(store_revoke_list(s, id, count_rev, &n), 0);
	CHECK_EQ_INT(n, 2);
	store_close(s);
	cleanup();
}

TEST(store_revoked_approver_stops_counting)
{
	struct store *s;
	struct store_loop l;
	struct store_member m;
	uint8_t id[32], f[32], g[32], p[32], c[SCB_CRED_LEN];
	uint8_t r[SCB_REVOKE_LEN];
	bool done;

	CHECK(fresh() == 0);
	s = open_db();
	CHECK(s);
	CHECK(users_devices(s, 3) == 0);
	CHECK_EQ_INT(mkloop(s, id, 1, "ra", 1, &l), 0);
	key(f, 1);
	key(g, 2);
	key(p, 3);
	CHECK_EQ_INT(join(s, id, 1, 2, 1, &m), 0);
	mkcred(c, id, g, f, 5000);
	CHECK_EQ_INT(store_approve(s, id, g, f, c, &done), 0);
	CHECK(done);
	/* Make the loop need two approvals now (as a later policy would). */
	store_close(s);
	CHECK(raw_exec("UPDATE loops SET policy = 2") == 0);
	s = open_db();
	CHECK(s);
	CHECK_EQ_INT(join(s, id, 1, 3, 2, &m), 0);
	mkcred(c, id, p, g, 5000);
	CHECK_EQ_INT(store_approve(s, id, p, g, c, &done), 0);
	CHECK(!done);
	mkrevoke(r, id, g);
	CHECK_EQ_INT(store_member_revoke(s, id, g, r), 0);
	/* g's approval went with it: f's alone does not complete. */
	mkcred(c, id, p, f, 5000);
	CHECK_EQ_INT(store_approve(s, id, p, f, c, &done), 0);
	CHECK(!done);
	CHECK_EQ_INT(store_member_get(s, id, p, &m), 0);
	CHECK(m.pending);
	CHECK_EQ_INT(m.n_creds, 1);
	store_close(s);
	cleanup();
}

/* ------------------------------------------------------ credentials */

TEST(store_cred_renewal)
{
	struct store *s;
	struct store_loop l;
	struct store_member m;
	uint8_t id[32], k[8][32], c[SCB_CRED_LEN], self[SCB_CRED_LEN];
	bool done;

	CHECK(fresh() == 0);
	s = open_db();
	CHECK(s);
	CHECK(users_devices(s, 7) == 0);
	for (int i = 1; i <= 7; i++)
		key(k[i], i);
	CHECK_EQ_INT(mkloop(s, id, 1, "cr", 1, &l), 0);
	CHECK_EQ_INT(store_member_get(s, id, k[1], &m), 0);
	CHECK_EQ_INT(m.n_creds, 0);
	/* The founder files its self-signed credential after create. */
	mkcred(self, id, k[1], k[1], 100);
	CHECK_EQ_INT(store_member_set_cred(s, id, k[1], self), 0);
	mkcred(self, id, k[1], k[1], 200);
	CHECK_EQ_INT(store_member_set_cred(s, id, k[1], self), 0);
	CHECK_EQ_INT(store_member_get(s, id, k[1], &m), 0);
	CHECK_EQ_INT(m.n_creds, 1);
	CHECK(!memcmp(m.creds[0], self, SCB_CRED_LEN));
	/* A signer that is not a member, a cred for someone else. */
	mkcred(c, id, k[1], k[2], 300);
	CHECK_EQ_INT(store_member_set_cred(s, id, k[1], c), SCB_E_BAD_CRED);
	mkcred(c, id, k[2], k[1], 300);
	CHECK_EQ_INT(store_member_set_cred(s, id, k[1], c), SCB_E_BAD_CRED);
	CHECK_EQ_INT(store_member_set_cred(s, id, k[2], c), SCB_E_NOT_MEMBER);

	/* Members 2..6; each renews the founder: at most 4 kept. */
	for (int i = 2; i <= 6; i++) {
		CHECK_EQ_INT(join(s, id, 1, i, i, &m), 0);
		mkcred(c, id, k[i], k[1], 1000);
		CHECK_EQ_INT(store_approve(s, id, k[i], k[1], c, &done), 0);
		CHECK(done);
	}
	for (int i = 2; i <= 6; i++) {
		mkcred(c, id, k[1], k[i], 1000 + (uint64_t)i);
		CHECK_EQ_INT(store_member_set_cred(s, id, k[1], c), 0);
	}
	CHECK_EQ_INT(store_member_get(s, id, k[1], &m), 0);
	CHECK_EQ_INT(m.n_creds, STORE_MAX_CREDS);
	/* Newest first; the self-signed one (not_after 200) is kept. */
	CHECK(!memcmp(m.creds[0] + 106, k[6], 32));
	CHECK(!memcmp(m.creds[STORE_MAX_CREDS - 1], self, SCB_CRED_LEN));
	CHECK_EQ_INT(raw_int("SELECT COUNT(*) FROM member_creds WHERE"
			     " not_after = 1002"), 0);
	store_close(s);
	cleanup();
}

/* The store reads fields of cred.h's encodings: they must line up. */
TEST(store_real_cred_layout)
{
	struct store *s;
	struct store_loop l;
	struct store_member m;
	struct cred c;
	struct cred_revoke rv;
	uint8_t id[32], f[32], d[32], enc[CRED_LEN], renc[CRED_REVOKE_LEN];
	bool done;

	CHECK(fresh() == 0);
	s = open_db();
	CHECK(s);
	CHECK(users_devices(s, 2) == 0);
	CHECK_EQ_INT(mkloop(s, id, 1, "real", 1, &l), 0);
	key(f, 1);
	key(d, 2);
	CHECK_EQ_INT(join(s, id, 1, 2, 1, &m), 0);
	memset(&c, 0, sizeof(c));
	c.policy = 1;
	memcpy(c.loop_id, id, 32);
	memcpy(c.device, d, 32);
	memcpy(c.addr4, m.addr4, 4);
	memcpy(c.addr6, m.addr6, 16);
	c.not_before = 10;
	c.not_after = 4000;
	memcpy(c.signer, f, 32);
	cred_encode(&c, enc);
	CHECK_EQ_INT(store_approve(s, id, d, f, enc, &done), 0);
	CHECK(done);
	CHECK_EQ_INT(raw_int("SELECT not_after FROM member_creds"), 4000);
	memcpy(c.signer, d, 32);	/* not the approver */
	cred_encode(&c, enc);
	CHECK_EQ_INT(store_member_set_cred(s, id, f, enc), SCB_E_BAD_CRED);
	memset(&rv, 0, sizeof(rv));
	memcpy(rv.loop_id, id, 32);
	memcpy(rv.device, d, 32);
	rv.at = 5;
	memcpy(rv.signer, f, 32);
	cred_revoke_encode(&rv, renc);
	CHECK_EQ_INT(store_member_revoke(s, id, d, renc), 0);
	memcpy(rv.device, f, 32);
	cred_revoke_encode(&rv, renc);
	CHECK_EQ_INT(store_member_revoke(s, id, d, renc), SCB_E_BAD_CRED);
	store_close(s);
	cleanup();
}

/* ------------------------------------------- persistence, rollback */

static int count_members(void *ctx, const struct store_member *m)
{
	int *n = ctx;

	n[m->pending ? 1 : 0]++;
	return 0;
}

TEST(store_reopen_keeps_everything)
{
	struct store *s;
	struct store_loop l;
	struct store_member m;
	struct store_device d;
	struct store_user u;
	uint8_t id[32], f[32], k[32], c[SCB_CRED_LEN], r[SCB_REVOKE_LEN];
	uint8_t got[SCB_REVOKE_LEN], h[32], tai[12];
	int64_t now = time(NULL);
	int n[2] = { 0, 0 }, ni = 0;
	bool done;

	CHECK(fresh() == 0);
	s = open_db();
	CHECK(s);
	CHECK(users_devices(s, 4) == 0);
	key(f, 1);
	CHECK_EQ_INT(mkloop(s, id, 1, "keep", 1, &l), 0);
	mkcred(c, id, f, f, 777);
	CHECK_EQ_INT(store_member_set_cred(s, id, f, c), 0);
	CHECK_EQ_INT(join(s, id, 1, 2, 1, &m), 0);
	key(k, 2);
	mkcred(c, id, k, f, 888);
	CHECK_EQ_INT(store_approve(s, id, k, f, c, &done), 0);
	CHECK_EQ_INT(join(s, id, 1, 3, 2, &m), 0);
	key(k, 4);
	CHECK_EQ_INT(join(s, id, 1, 4, 3, &m), 0);
	mkrevoke(r, id, k);
	CHECK_EQ_INT(store_member_revoke(s, id, k, r), 0);
	memset(h, 0x44, 32);
	CHECK_EQ_INT(store_invite_add(s, h, id, f, now + 60), 0);
	memset(tai, 0x41, 12);
	CHECK_EQ_INT(store_device_seen(s, f, 4242, tai), 0);
	store_close(s);

	s = open_db();
	CHECK(s);
	CHECK_EQ_INT(store_user_get(s, "u", &u), 0);
	CHECK_EQ_INT(u.n_devices, 4);
	CHECK_EQ_INT(store_device_get(s, f, &d), 0);
	CHECK_EQ_INT(d.last_seen, 4242);
	CHECK(!memcmp(d.last_tai, tai, 12));
	CHECK_EQ_INT(store_loop_get(s, id, &l), 0);
	CHECK_EQ_STR(l.name, "keep");
	CHECK_EQ_INT(store_member_list(s, id, true, count_members, n), 0);
	CHECK_EQ_INT(n[0], 2);
	CHECK_EQ_INT(n[1], 1);
	n[0] = n[1] = 0;
	CHECK_EQ_INT(store_member_list(s, id, false, count_members, n), 0);
	CHECK_EQ_INT(n[0], 2);
	CHECK_EQ_INT(n[1], 0);
	key(k, 2);
	CHECK_EQ_INT(store_member_get(s, id, k, &m), 0);
	CHECK_EQ_INT(m.n_creds, 1);
	CHECK(!memcmp(m.creds[0], c, SCB_CRED_LEN));
	CHECK_EQ_INT(store_member_get(s, id, f, &m), 0);
	CHECK_EQ_INT(m.n_creds, 1);
	CHECK_EQ_INT(store_revoke_list(s, id, copy_rev, got), 0);
	CHECK(!memcmp(got, r, SCB_REVOKE_LEN));
	CHECK_EQ_INT(store_invite_list(s, id, now, count_inv, &ni), 0);
	CHECK_EQ_INT(ni, 1);
	CHECK_EQ_INT(store_device_seen(s, f, 4243, tai), SCB_E_REPLAY);
	store_close(s);
	cleanup();
}

/*
 * An SQLite failure in the middle of a call: SCB_E_STORE, the message
 * logged, and the part done before it rolled back.
 */
TEST(store_failure_rolls_back)
{
	struct store *s;
	struct store_loop l;
	struct store_member m;
	uint8_t id[32], k[32], r[SCB_REVOKE_LEN];

	CHECK(fresh() == 0);
	s = open_db();
	CHECK(s);
	CHECK(users_devices(s, 2) == 0);
	CHECK_EQ_INT(mkloop(s, id, 1, "rb", 1, &l), 0);
	CHECK_EQ_INT(join(s, id, 1, 2, 1, &m), 0);
	/* The member row goes first, then the revocations table fails. */
	CHECK(raw_exec("DROP TABLE revocations") == 0);
	key(k, 2);
	mkrevoke(r, id, k);
	nlog = 0;
	CHECK_EQ_INT(store_member_revoke(s, id, k, r), SCB_E_STORE);
	CHECK(nlog > 0);
	CHECK(strstr(lastlog, "no such table"));
	CHECK_EQ_INT(store_member_get(s, id, k, &m), 0);
	CHECK(m.pending);
	/* The store stays usable after the failed call. */
	CHECK_EQ_INT(store_reject(s, id, k), 0);
	store_close(s);
	cleanup();
}

/* -------------------------------------------------------- durability */

static void child_registers(int fd, int64_t uid, uint32_t first)
{
	struct store *s;
	uint8_t k[32];
	char name[24];

	if (store_open(&s, db, ula, NULL, NULL, NULL))
		_exit(2);
	for (uint32_t i = first;; i++) {
		memset(k, 0, 32);
		memcpy(k, &i, sizeof(i));
		k[31] = 0xd0;
		snprintf(name, sizeof(name), "d%u", i);
		if (store_device_add(s, k, uid, name))
			_exit(3);
		if (write(fd, &i, sizeof(i)) != sizeof(i))
			_exit(4);
	}
}

/* Ids the child said were committed, read until the pipe closes. */
static int drain(int fd, uint32_t *ids, int max)
{
	int n = 0;
	uint32_t v;

	while (n < max && read(fd, &v, sizeof(v)) == sizeof(v))
		ids[n++] = v;
	return n;
}

static int all_there(uint32_t *ids, int n)
{
	struct store *s = open_db();
	struct store_device d;
	uint8_t k[32];
	int rc = 0;

	if (!s)
		return -1;
	for (int i = 0; i < n && !rc; i++) {
		memset(k, 0, 32);
		memcpy(k, &ids[i], sizeof(ids[i]));
		k[31] = 0xd0;
		if (store_device_get(s, k, &d)) {
			fprintf(stderr, "  committed id %u lost\n", ids[i]);
			rc = -1;
		}
	}
	store_close(s);
	return rc;
}

TEST(store_durability_sigkill)
{
	enum { ROUNDS = 6, MAXIDS = 1 << 16 };
	static uint32_t ids[MAXIDS];
	struct store *s;
	struct store_user u;
	uint32_t next = 1;
	char ok[64];
	int total = 0;

	CHECK(fresh() == 0);
	s = open_db();
	CHECK(s);
	CHECK_EQ_INT(store_user_add(s, "dur", "h", 0), 0);
	CHECK_EQ_INT(store_user_get(s, "dur", &u), 0);
	store_close(s);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (int round = 0; round < ROUNDS; round++) {
		int p[2], n, st;
		pid_t pid;

		CHECK(pipe(p) == 0);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			child_registers(p[1], u.id, next);
		}
		close(p[1]);
		/* First commit seen, then kill at a random moment after. */
		n = drain(p[0], ids, 1);
		if (n == 1)
			usleep(1000 + (useconds_t)(rand() % 150000));
		kill(pid, SIGKILL);
		CHECK(waitpid(pid, &st, 0) == pid);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		CHECK_EQ_INT(n, 1);
		n += drain(p[0], ids + 1, MAXIDS - 1);
		close(p[0]);
		CHECK(n < MAXIDS);
		CHECK(all_there(ids, n) == 0);
		CHECK(raw_text("PRAGMA integrity_check", ok, sizeof(ok)) == 0);
		CHECK_EQ_STR(ok, "ok");
		total += n;
		next = ids[n - 1] + 2;	/* one may be committed, unreported */
	}
	fprintf(stderr, "  %d rounds, %d committed registrations checked\n",
		ROUNDS, total);
	cleanup();
}
