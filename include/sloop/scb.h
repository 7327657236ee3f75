/* SPDX-License-Identifier: MIT */
/*
 * The broker protocol's numbers: record layer, frame header, message
 * types, attributes, error codes and the UDP endpoint probe.  Shared by
 * sloop-scb, sloopd and sloopctl.  docs/protocol.md ("Broker protocol")
 * is the normative description; this header only names the numbers.
 *
 * TCP record:  be16 length | length bytes (Noise message)
 * Frame (the plaintext of one Noise message):
 *   u8 version (1) | u8 type | be16 flags (0) | be32 request id | attrs
 * Attribute:   be16 type | be16 length | value (no padding)
 */
#ifndef SLOOP_SCB_H
#define SLOOP_SCB_H

#define SCB_DEFAULT_PORT	5660	/* TCP and UDP (probes) */
#define SCB_VERSION		1
#define SCB_PROLOGUE		"sloop-scb v1"
#define SCB_NOISE_PROTOCOL	"Noise_IK_25519_ChaChaPoly_BLAKE2b"
#define SCB_FRAME_HDR_LEN	8
#define SCB_ATTR_HDR_LEN	4
#define SCB_RECORD_MAX		65535	/* be16 length */
#define SCB_FRAME_MAX		(SCB_RECORD_MAX - 16)	/* Noise tag */
#define SCB_ATTR_MAX		256	/* attributes per frame */
#define SCB_CRED_LEN		202	/* daemon/common/cred.h */
#define SCB_REVOKE_LEN		173

/* Frame types.  Requests carry a fresh id; replies echo it. */
enum scb_msg {
	SCB_MSG_HELLO = 1,		/* in Noise message 1 */
	SCB_MSG_WELCOME = 2,		/* in Noise message 2 */
	SCB_MSG_OK = 3,			/* success, maybe with attributes */
	SCB_MSG_ERROR = 4,		/* CODE, TEXT */

	/* device requests */
	SCB_MSG_REGISTER = 16,		/* USER, PASSWORD, NAME */
	SCB_MSG_LOOP_CREATE = 17,	/* LOOP_NAME, POLICY -> LOOP */
	SCB_MSG_INVITE_CREATE = 18,	/* LOOP_ID, TTL -> INVITE */
	SCB_MSG_JOIN = 19,		/* INVITE -> LOOP_ID (pending) */
	SCB_MSG_APPROVE = 20,		/* LOOP_ID, DEVICE, CRED */
	SCB_MSG_REJECT = 21,		/* LOOP_ID, DEVICE */
	SCB_MSG_LOOP_GET = 22,		/* LOOP_ID -> LOOP, PEER... */
	SCB_MSG_CONNECT = 23,		/* LOOP_ID, DEVICE: reach a member */
	SCB_MSG_CONNECT_ANSWER = 24,	/* LOOP_ID, DEVICE, ACCEPT */
	SCB_MSG_RENEW = 25,		/* LOOP_ID -> CRED (fresh) */
	SCB_MSG_RENEW_ANSWER = 26,	/* LOOP_ID, DEVICE, CRED (member signs) */
	SCB_MSG_LOOPS = 27,		/* -> LOOP... this device's loops */
	SCB_MSG_REVOKE = 28,		/* LOOP_ID, REVOKE (member-signed) */

	/* broker -> device events (request id 0) */
	SCB_MSG_EV_PENDING = 48,	/* LOOP_ID, DEVICE, NAME, ADDR4, ADDR6 */
	SCB_MSG_EV_JOINED = 49,		/* LOOP, CRED...: you are a member */
	SCB_MSG_EV_MEMBER = 50,		/* LOOP_ID, PEER: a new member */
	SCB_MSG_EV_CONNECT = 51,	/* LOOP_ID, DEVICE, NAME: wants in */
	SCB_MSG_EV_RENDEZVOUS = 52,	/* LOOP_ID, PEER, AT_MS */
	SCB_MSG_EV_REVOKED = 53,	/* LOOP_ID, DEVICE, REASON, REVOKE */
	SCB_MSG_EV_WIPE = 54,		/* stolen: wipe everything, exit */
	SCB_MSG_EV_RENEW = 55,		/* LOOP_ID, DEVICE, ADDR4, ADDR6 */
	SCB_MSG_EV_REJECTED = 56,	/* LOOP_ID: your join was refused */

	/* admin requests (only on an admin connection) */
	SCB_MSG_ADM_USER_ADD = 96,	/* USER, PASSWORD, LIMIT */
	SCB_MSG_ADM_USER_SET = 97,	/* USER, LIMIT */
	SCB_MSG_ADM_USER_LIST = 98,	/* -> USER_ENTRY... */
	SCB_MSG_ADM_DEVICE_LIST = 99,	/* -> DEVICE_ENTRY... */
	SCB_MSG_ADM_DEVICE_SET = 100,	/* DEVICE, STATE */
	SCB_MSG_ADM_LOOP_LIST = 101,	/* -> LOOP... */
	SCB_MSG_ADM_LOOP_SHOW = 102,	/* LOOP_ID -> PEER..., INVITE_ENTRY... */
	SCB_MSG_ADM_REVOKE = 103,	/* LOOP_ID, DEVICE */
};

/* Attribute types.  Fixed-size ones have their length checked. */
enum scb_attr {
	SCB_A_UNSPEC,
	SCB_A_CODE,		/* be16, enum scb_err */
	SCB_A_TEXT,		/* UTF-8, <= 255, no NUL */
	SCB_A_TAI64N,		/* 12 bytes, HELLO: against replay */
	SCB_A_ROLE,		/* u8, enum scb_role */
	SCB_A_PUB,		/* 32 bytes, Ed25519: HELLO sender */
	SCB_A_TOKEN,		/* 16 bytes, WELCOME: for UDP probes */
	SCB_A_USER,		/* 1..64 bytes name */
	SCB_A_PASSWORD,		/* 1..256 bytes */
	SCB_A_NAME,		/* 1..64 bytes device name */
	SCB_A_LOOP_NAME,	/* 1..64 bytes */
	SCB_A_LOOP_ID,		/* 32 bytes */
	SCB_A_POLICY,		/* u8: approvals needed, 1 or 2 */
	SCB_A_CRED,		/* SCB_CRED_LEN bytes, see cred.h */
	SCB_A_TTL,		/* be32 seconds */
	SCB_A_INVITE,		/* 1..64 bytes, printable */
	SCB_A_DEVICE,		/* 32 bytes, Ed25519 public key */
	SCB_A_ADDR4,		/* 4 bytes */
	SCB_A_ADDR6,		/* 16 bytes */
	SCB_A_NET4,		/* 5 bytes: address, prefix length */
	SCB_A_NET6,		/* 17 bytes: address, prefix length */
	SCB_A_ENDPOINT,		/* 18 bytes: v4-mapped v6 address, be16 port */
	SCB_A_ACCEPT,		/* u8 0/1 */
	SCB_A_AT_MS,		/* be32: open the path this many ms from now */
	SCB_A_REASON,		/* be16, enum scb_err */
	SCB_A_LIMIT,		/* be32 */
	SCB_A_STATE,		/* u8, enum scb_dev_state */
	SCB_A_ONLINE,		/* u8 0/1 */
	SCB_A_LAST_SEEN,	/* be64 unix seconds */
	SCB_A_COUNT,		/* be32 */
	SCB_A_EXPIRES,		/* be64 unix seconds */
	/* nested: a list entry, its own attributes inside */
	SCB_A_LOOP,		/* LOOP_ID, LOOP_NAME, POLICY, NET4, NET6, ADDR4, ADDR6 */
	SCB_A_PEER,		/* DEVICE, NAME, ADDR4, ADDR6, CRED..., ENDPOINT..., ONLINE */
	SCB_A_USER_ENTRY,	/* USER, LIMIT, COUNT */
	SCB_A_DEVICE_ENTRY,	/* DEVICE, NAME, USER, STATE, ONLINE, LAST_SEEN */
	SCB_A_INVITE_ENTRY,	/* LOOP_ID, EXPIRES, DEVICE (creator) */
	SCB_A_PENDING,		/* DEVICE, NAME, COUNT (approvals so far) */
	SCB_A_REVOKE,		/* SCB_REVOKE_LEN bytes, see cred.h */
	SCB_A_FOUNDER,		/* 32 bytes, Ed25519: the loop's root */
	SCB_A_BROKER,		/* 32 bytes, Ed25519: may sign revocations */
	__SCB_A_MAX,
};

#define SCB_A_MAX (__SCB_A_MAX - 1)

enum scb_role {
	SCB_ROLE_DEVICE = 1,
	SCB_ROLE_ADMIN = 2,
};

enum scb_dev_state {
	SCB_DEV_ACTIVE = 0,
	SCB_DEV_SUSPENDED = 1,
	SCB_DEV_STOLEN = 2,
	SCB_DEV_REMOVED = 3,
};

/* Error codes: stable, printed as B<code> in logs and by sloopctl. */
enum scb_err {
	SCB_E_OK = 0,
	SCB_E_MALFORMED = 400,		/* frame or attribute refused */
	SCB_E_VERSION = 401,
	SCB_E_UNKNOWN_MSG = 402,
	SCB_E_REPLAY = 403,		/* HELLO timestamp not newer */
	SCB_E_AUTH = 404,		/* bad user or password */
	SCB_E_NOT_REGISTERED = 405,	/* device key unknown */
	SCB_E_SUSPENDED = 406,
	SCB_E_STOLEN = 407,
	SCB_E_REMOVED = 408,
	SCB_E_DEVICE_LIMIT = 409,	/* user's device limit */
	SCB_E_LICENCE = 410,		/* broker-wide limit */
	SCB_E_NOT_ADMIN = 411,
	SCB_E_NO_LOOP = 412,
	SCB_E_NOT_MEMBER = 413,		/* not in that loop (waiting room) */
	SCB_E_INVITE = 414,		/* unknown, used or expired */
	SCB_E_BAD_CRED = 415,		/* signature or chain refused */
	SCB_E_EXISTS = 416,
	SCB_E_NO_DEVICE = 417,
	SCB_E_OFFLINE = 418,		/* the member to reach is not online */
	SCB_E_REJECTED = 419,
	SCB_E_FULL = 420,		/* loop address range exhausted */
	SCB_E_BUSY = 421,		/* too many connections or requests */
	SCB_E_STORE = 500,		/* the broker's store failed */
	SCB_E_INTERNAL = 501,
};

/*
 * UDP endpoint probe, sent from the device's data socket to the broker's
 * UDP port: magic, WELCOME's token.  The answer carries the address and
 * port the broker saw (v4-mapped for IPv4), so the device and the broker
 * learn the NAT mapping its data will use.
 */
/*
 * The first byte is a non-transport type (include/sloop/wire.h), so the
 * kernel hands the answer to the daemon's socket.
 */
#define SCB_PROBE_MAGIC		"\x04SCB"	/* 4 bytes */
#define SCB_PROBE_ANSWER_MAGIC	"\x05SCB"
#define SCB_PROBE_LEN		(4 + 16)	/* magic, token */
#define SCB_PROBE_ANSWER_LEN	(4 + 16 + 18)	/* magic, token, ENDPOINT */

#endif /* SLOOP_SCB_H */
