/* SPDX-License-Identifier: MIT */
/*
 * The broker connection's record layer: Noise_IK over TCP, as in
 * docs/protocol.md ("Broker protocol").  Non-blocking and event driven
 * so that the broker's epoll loop and sloopd's poll loop both use it;
 * scbc_request() is a blocking wrapper for one-shot clients (sloopctl).
 *
 * Records are be16 length + Noise message.  The first record (client)
 * is Noise message 1 carrying a HELLO frame, the second (server) message
 * 2 carrying WELCOME or ERROR; every later record is one transport
 * message holding one frame.  Noise's implicit nonces make a replayed,
 * dropped or reordered record fail authentication, which closes the
 * connection: replay protection inside a connection comes for free, and
 * HELLO's TAI64N stamp (checked by the broker) covers replayed message 1.
 */
#ifndef SLOOP_SCBCONN_H
#define SLOOP_SCBCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "noise.h"

/* A slow reader may not make the broker buffer without bound. */
#define SCBC_OUT_MAX	(512 * 1024)

enum scbc_state {
	SCBC_CLIENT_WAIT,	/* message 1 sent, waiting for message 2 */
	SCBC_SERVER_WAIT,	/* waiting for message 1 */
	SCBC_SERVER_HELLO,	/* message 1 read: accept or refuse it */
	SCBC_OPEN,
	SCBC_CLOSED,
};

struct scbc {
	int fd;
	enum scbc_state state;
	struct noise_handshake hs;
	struct noise_cipherstate tx, rx;
	uint8_t remote_pub[NOISE_DHLEN];	/* X25519: the peer's static */
	uint8_t *in;				/* one record at most */
	size_t in_len;
	uint8_t *out;
	size_t out_len, out_off, out_cap;
};

/*
 * A frame was received: the server's first call carries HELLO (state
 * SCBC_SERVER_HELLO: answer with scbc_accept or scbc_refuse, now or
 * later), the client's first the WELCOME/ERROR frame.  Return nonzero
 * to stop reading (the connection stays usable).  frame is valid only
 * during the call (it is wiped afterwards); the callback may send but
 * must not scbc_free(c).
 */
typedef int (*scbc_frame_cb)(void *ctx, struct scbc *c, const uint8_t *frame,
			     size_t len);

/*
 * Client: queues message 1 with the HELLO frame; then flush/read.
 * my_priv is the X25519 form of the device's (or admin's) Ed25519 key.
 * Both start functions make fd non-blocking (it may still be
 * connecting).  Returns 0 or a negative errno; on failure nothing is
 * held and the fd stays the caller's to close.  Handshake frames are at
 * most 4096 bytes minus the Noise overhead (-EMSGSIZE).
 */
int scbc_client_start(struct scbc *c, int fd, const uint8_t my_priv[32],
		      const uint8_t broker_pub[32], const uint8_t *hello,
		      size_t hello_len);
int scbc_server_start(struct scbc *c, int fd, const uint8_t broker_priv[32]);
/* Server, in SCBC_SERVER_HELLO: queue message 2 carrying frame. */
int scbc_accept(struct scbc *c, const uint8_t *frame, size_t len);
/*
 * Server: a refusal also travels in message 2 (the client can read the
 * reason), then the connection closes once flushed: the state is
 * SCBC_CLOSED at once, and when scbc_flush() returns 0 it has shut down
 * the sending side; then scbc_free().
 */
int scbc_refuse(struct scbc *c, const uint8_t *frame, size_t len);

/*
 * Read what the socket has and hand each complete frame to cb.
 * Returns 0 (would block, or cb asked to stop, or the server must now
 * accept/refuse; call again when readable), 1 when the peer closed
 * cleanly between records (or the connection is already closed), or a
 * negative errno: -EBADMSG for a record that fails authentication, a
 * handshake that fails, a zero-length record or a client talking before
 * message 2; -EMSGSIZE for a handshake record over 4096 bytes;
 * -ECONNRESET when the stream ends inside a record; other errnos from
 * read().  Only one record is buffered at a time.  After an error,
 * scbc_free().
 */
int scbc_read(struct scbc *c, scbc_frame_cb cb, void *ctx);
/*
 * Encrypt and queue one frame (1..SCB_FRAME_MAX bytes, else -EINVAL /
 * -EMSGSIZE); -ENOBUFS when the queued bytes would pass SCBC_OUT_MAX
 * (nothing is queued then); -ENOTCONN unless SCBC_OPEN.
 */
int scbc_send(struct scbc *c, const uint8_t *frame, size_t len);
/* Write queued bytes: 0 all written, 1 some left (EAGAIN), <0 errno. */
int scbc_flush(struct scbc *c);
bool scbc_want_write(const struct scbc *c);
/* Closes the fd too; wipes keys and buffers.  Safe to call twice. */
void scbc_free(struct scbc *c);

/*
 * Blocking client helpers (poll with a timeout in ms, < 0 for none):
 * connect to host:port (numeric or name, v4 or v6, every address tried
 * in turn) and run the handshake, leaving the WELCOME (or ERROR)
 * frame in reply.  Returns 0 or a negative errno: -ETIMEDOUT on
 * timeout, -ECONNRESET if the broker closed without answering (e.g. a
 * wrong broker key), -EMSGSIZE if reply_cap is too small,
 * -EHOSTUNREACH if the name does not resolve.  On failure c is freed.
 */
int scbc_dial(struct scbc *c, const char *host, const char *port,
	      const uint8_t my_priv[32], const uint8_t broker_pub[32],
	      const uint8_t *hello, size_t hello_len, uint8_t *reply,
	      size_t reply_cap, size_t *reply_len, int timeout_ms);
/*
 * Send one request and wait for the frame with the same request id
 * (events arriving meanwhile are skipped).  The frame id is read from
 * the request's header; it may not be 0 (-EINVAL).  Same errors as
 * scbc_dial; c stays the caller's to free.
 */
int scbc_request(struct scbc *c, const uint8_t *req, size_t req_len,
		 uint8_t *reply, size_t reply_cap, size_t *reply_len,
		 int timeout_ms);

#endif /* SLOOP_SCBCONN_H */
