// SPDX-License-Identifier: MIT
/*
 * The broker connection's record layer: Noise_IK over TCP with be16
 * length-prefixed records (docs/protocol.md, "Broker protocol: records
 * and frames").  Memory per connection stays small on purpose, since the
 * broker holds thousands: the input buffer exists only while a record is
 * partly read and is exactly that record's size, and the output buffer
 * is dropped once it has been flushed unless it is small.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <sloop/scb.h>

#include "scbconn.h"

/*
 * Handshake records carry only HELLO, WELCOME or ERROR: a stranger who
 * has not authenticated yet may not make the broker allocate 64 KiB.
 */
#define SCBC_HS_RECORD_MAX	4096
#define MSG1_OVERHEAD		(2 * NOISE_DHLEN + 2 * NOISE_TAGLEN)
#define MSG2_OVERHEAD		(NOISE_DHLEN + NOISE_TAGLEN)
#define OUT_KEEP		16384	/* output buffer kept when idle */

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

/* Everything but the fd: wiped, freed, and left safe to free again. */
static void release(struct scbc *c)
{
	noise_handshake_destroy(&c->hs);
	noise_cs_destroy(&c->tx);
	noise_cs_destroy(&c->rx);
	if (c->in) {
		sodium_memzero(c->in, c->in_len);
		free(c->in);
	}
	if (c->out) {
		sodium_memzero(c->out, c->out_len);
		free(c->out);
	}
	sodium_memzero(c, sizeof(*c));
	c->fd = -1;
	c->state = SCBC_CLOSED;
}

void scbc_free(struct scbc *c)
{
	if (c->fd >= 0)
		close(c->fd);
	release(c);
}

/* The frame that was just delivered (decrypted in place) is wiped. */
static void in_release(struct scbc *c)
{
	if (c->in) {
		sodium_memzero(c->in, c->in_len);
		free(c->in);
	}
	c->in = NULL;
	c->in_len = 0;
}

/* Room for need more output bytes, within SCBC_OUT_MAX pending. */
static int out_reserve(struct scbc *c, size_t need, uint8_t **at)
{
	size_t pending = c->out_len - c->out_off, cap;
	uint8_t *p;

	if (need > SCBC_OUT_MAX - pending)
		return -ENOBUFS;
	if (c->out_off && c->out_len + need > c->out_cap) {
		memmove(c->out, c->out + c->out_off, pending);
		c->out_len = pending;
		c->out_off = 0;
	}
	if (c->out_len + need > c->out_cap) {
		cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + need)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p)
			return -ENOMEM;
		c->out = p;
		c->out_cap = cap;
	}
	*at = c->out + c->out_len;
	return 0;
}

static int noise_errno(int rc)
{
	switch (rc) {
	case NOISE_ERR_NONCE:
		return -EOVERFLOW;
	case NOISE_ERR_TOO_LONG:
	case NOISE_ERR_BUFFER:
		return -EMSGSIZE;
	case NOISE_ERR_DECRYPT:
	case NOISE_ERR_SHORT:
	case NOISE_ERR_DH:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

/* Queue the next handshake message carrying frame as one record. */
static int queue_handshake(struct scbc *c, const uint8_t *frame, size_t len,
			   size_t overhead)
{
	size_t mlen;
	uint8_t *at;
	int rc;

	if (!frame || !len)
		return -EINVAL;
	if (len > SCBC_HS_RECORD_MAX - overhead)
		return -EMSGSIZE;
	rc = out_reserve(c, 2 + len + overhead, &at);
	if (rc)
		return rc;
	rc = noise_handshake_write(&c->hs, frame, len, at + 2,
				   len + overhead, &mlen);
	if (rc)
		return noise_errno(rc);
	put_be16(at, mlen);
	c->out_len += 2 + mlen;
	return 0;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int start(struct scbc *c, int fd, enum noise_role role,
		 const uint8_t priv[32], const uint8_t *remote)
{
	struct noise_handshake_config cfg = {
		.protocol = SCB_NOISE_PROTOCOL,
		.role = role,
		.prologue = (const uint8_t *)SCB_PROLOGUE,
		.prologue_len = strlen(SCB_PROLOGUE),
		.static_priv = priv,
		.remote_static = remote,
	};
	int rc;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->state = SCBC_CLOSED;
	if (fd < 0 || !priv)
		return -EINVAL;
	if (noise_init())
		return -EIO;
	rc = set_nonblock(fd);
	if (rc)
		return rc;
	if (noise_handshake_init(&c->hs, &cfg)) {
		release(c);
		return -EINVAL;
	}
	c->fd = fd;
	return 0;
}

int scbc_client_start(struct scbc *c, int fd, const uint8_t my_priv[32],
		      const uint8_t broker_pub[32], const uint8_t *hello,
		      size_t hello_len)
{
	int rc;

	rc = start(c, broker_pub ? fd : -1, NOISE_INITIATOR, my_priv,
		   broker_pub);
	if (rc)
		return rc;
	rc = queue_handshake(c, hello, hello_len, MSG1_OVERHEAD);
	if (rc) {
		release(c);		/* the fd stays the caller's */
		return rc;
	}
	memcpy(c->remote_pub, broker_pub, NOISE_DHLEN);
	c->state = SCBC_CLIENT_WAIT;
	return 0;
}

int scbc_server_start(struct scbc *c, int fd, const uint8_t broker_priv[32])
{
	int rc = start(c, fd, NOISE_RESPONDER, broker_priv, NULL);

	if (!rc)
		c->state = SCBC_SERVER_WAIT;
	return rc;
}

int scbc_accept(struct scbc *c, const uint8_t *frame, size_t len)
{
	int rc;

	if (c->state != SCBC_SERVER_HELLO)
		return -EINVAL;
	rc = queue_handshake(c, frame, len, MSG2_OVERHEAD);
	if (rc)
		return rc;
	rc = noise_handshake_split(&c->hs, &c->tx, &c->rx);
	noise_handshake_destroy(&c->hs);
	if (rc) {
		c->state = SCBC_CLOSED;
		return -EIO;
	}
	c->state = SCBC_OPEN;
	return 0;
}

int scbc_refuse(struct scbc *c, const uint8_t *frame, size_t len)
{
	int rc;

	if (c->state != SCBC_SERVER_HELLO)
		return -EINVAL;
	rc = queue_handshake(c, frame, len, MSG2_OVERHEAD);
	noise_handshake_destroy(&c->hs);
	c->state = SCBC_CLOSED;
	return rc;
}

int scbc_send(struct scbc *c, const uint8_t *frame, size_t len)
{
	size_t clen;
	uint8_t *at;
	int rc;

	if (c->state != SCBC_OPEN)
		return -ENOTCONN;
	if (!frame || !len)
		return -EINVAL;
	if (len > SCB_FRAME_MAX)
		return -EMSGSIZE;
	rc = out_reserve(c, 2 + len + NOISE_TAGLEN, &at);
	if (rc)
		return rc;
	rc = noise_cs_encrypt(&c->tx, NULL, 0, frame, len, at + 2,
			      len + NOISE_TAGLEN, &clen);
	if (rc)
		return noise_errno(rc);
	put_be16(at, clen);
	c->out_len += 2 + clen;
	return 0;
}

bool scbc_want_write(const struct scbc *c)
{
	return c->out_len > c->out_off;
}

int scbc_flush(struct scbc *c)
{
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			n = write(c->fd, c->out + c->out_off,
				  c->out_len - c->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (n < 0)
			return -errno;
		c->out_off += n;
	}
	c->out_off = c->out_len = 0;
	if (c->out_cap > OUT_KEEP) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	/* A refusal is out: the peer reads it, then end of stream. */
	if (c->state == SCBC_CLOSED && c->fd >= 0)
		shutdown(c->fd, SHUT_WR);
	return 0;
}

/* ------------------------------------------------------------ reading */

static bool handshaking(const struct scbc *c)
{
	return c->state == SCBC_CLIENT_WAIT || c->state == SCBC_SERVER_WAIT;
}

/* The record length just read: sized, then room made for the body. */
static int take_length(struct scbc *c)
{
	size_t len = get_be16(c->in);
	uint8_t *p;

	if (!len)
		return -EBADMSG;
	if (handshaking(c) && len > SCBC_HS_RECORD_MAX)
		return -EMSGSIZE;
	if (c->state == SCBC_OPEN && len < NOISE_TAGLEN)
		return -EBADMSG;
	p = realloc(c->in, 2 + len);
	if (!p)
		return -ENOMEM;
	c->in = p;
	return 0;
}

/*
 * Reads toward the end of the current record: 0 when it is complete,
 * 1 would block, 2 end of stream between records, or a negative errno.
 * Only what the record still needs is read, so nothing beyond one record
 * is ever buffered.
 */
static int fill(struct scbc *c)
{
	size_t have, want;
	ssize_t n;
	int rc;

	for (;;) {
		have = c->in_len;
		want = have < 2 ? 2 - have : 2 + get_be16(c->in) - have;
		if (!want)
			return 0;
		if (!c->in) {
			c->in = malloc(2);
			if (!c->in)
				return -ENOMEM;
		}
		n = read(c->fd, c->in + have, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (n < 0)
			return -errno;
		if (n == 0)
			return have ? -ECONNRESET : 2;
		/* The client may not talk before it has message 2. */
		if (c->state == SCBC_SERVER_HELLO)
			return -EBADMSG;
		c->in_len += n;
		if (have < 2 && c->in_len == 2) {
			rc = take_length(c);
			if (rc)
				return rc;
		}
	}
}

static int on_message1(struct scbc *c, scbc_frame_cb cb, void *ctx)
{
	uint8_t payload[SCBC_HS_RECORD_MAX];
	size_t plen;
	int rc, stop;

	rc = noise_handshake_read(&c->hs, c->in + 2, c->in_len - 2, payload,
				  sizeof(payload), &plen);
	in_release(c);
	if (rc || noise_handshake_action(&c->hs) != NOISE_ACTION_WRITE)
		return -EBADMSG;
	memcpy(c->remote_pub, noise_handshake_remote_static(&c->hs),
	       NOISE_DHLEN);
	c->state = SCBC_SERVER_HELLO;
	stop = cb(ctx, c, payload, plen) != 0;
	sodium_memzero(payload, plen);
	return stop;
}

static int on_message2(struct scbc *c, scbc_frame_cb cb, void *ctx)
{
	uint8_t payload[SCBC_HS_RECORD_MAX];
	size_t plen;
	int rc, stop;

	rc = noise_handshake_read(&c->hs, c->in + 2, c->in_len - 2, payload,
				  sizeof(payload), &plen);
	in_release(c);
	if (rc || noise_handshake_split(&c->hs, &c->tx, &c->rx))
		return -EBADMSG;
	noise_handshake_destroy(&c->hs);
	c->state = SCBC_OPEN;
	stop = cb(ctx, c, payload, plen) != 0;
	sodium_memzero(payload, plen);
	return stop;
}

static int on_transport(struct scbc *c, scbc_frame_cb cb, void *ctx)
{
	size_t plen;
	int stop;

	/* Decrypted in place; in_release() wipes the plaintext. */
	if (noise_cs_decrypt(&c->rx, NULL, 0, c->in + 2, c->in_len - 2,
			     c->in + 2, c->in_len - 2, &plen)) {
		in_release(c);
		return -EBADMSG;
	}
	stop = cb(ctx, c, c->in + 2, plen) != 0;
	in_release(c);
	return stop;
}

/* A complete record: <0 error, 0 go on, 1 stop reading. */
static int on_record(struct scbc *c, scbc_frame_cb cb, void *ctx)
{
	int rc;

	switch (c->state) {
	case SCBC_SERVER_WAIT:
		rc = on_message1(c, cb, ctx);
		break;
	case SCBC_CLIENT_WAIT:
		rc = on_message2(c, cb, ctx);
		break;
	case SCBC_OPEN:
		rc = on_transport(c, cb, ctx);
		break;
	default:
		return -EBADMSG;
	}
	if (rc < 0)
		return rc;
	/* Refused, or waiting for scbc_accept/scbc_refuse: stop here. */
	return rc || c->state != SCBC_OPEN;
}

int scbc_read(struct scbc *c, scbc_frame_cb cb, void *ctx)
{
	int rc;

	if (c->state == SCBC_CLOSED || c->fd < 0)
		return 1;
	for (;;) {
		rc = fill(c);
		if (rc == 1)
			return 0;
		if (rc == 2)
			return 1;
		if (rc < 0)
			return rc;
		rc = on_record(c, cb, ctx);
		if (rc)
			return rc < 0 ? rc : 0;
	}
}

/* ------------------------------------------------------ blocking client */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* deadline < 0: no timeout. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int rc;

	for (;;) {
		left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left <= 0)
			return -ETIMEDOUT;
		rc = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -errno;
	}
}

static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
	int fd, err = 0;
	socklen_t elen = sizeof(err);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
		return fd;
	if (errno != EINPROGRESS) {
		err = -errno;
		goto close_fd;
	}
	err = wait_fd(fd, POLLOUT, deadline);
	if (err)
		goto close_fd;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	if (!err)
		return fd;
	err = -err;
close_fd:
	close(fd);
	return err;
}

static int gai_errno(int gai)
{
	switch (gai) {
	case EAI_SYSTEM:
		return errno ? -errno : -EIO;
	case EAI_AGAIN:
		return -EAGAIN;
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_SERVICE:
	case EAI_BADFLAGS:
		return -EINVAL;
	default:	/* EAI_NONAME, EAI_FAIL, EAI_NODATA, EAI_FAMILY */
		return -EHOSTUNREACH;
	}
}

static int dial_tcp(const char *host, const char *port, int64_t deadline)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -ECONNREFUSED, gai;

	gai = getaddrinfo(host, port, &hints, &res);
	if (gai)
		return gai_errno(gai);
	for (ai = res; ai; ai = ai->ai_next) {
		fd = connect_one(ai, deadline);
		if (fd >= 0 || fd == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	return fd;
}

/* Picks the first frame (any) or the one with request id id. */
struct grab {
	bool any, got;
	uint32_t id;
	uint8_t *buf;
	size_t cap, *len;
	int err;
};

static int grab_frame(void *ctx, struct scbc *c, const uint8_t *frame,
		      size_t len)
{
	struct grab *g = ctx;
	uint32_t id;

	if (!g->any) {
		if (len < SCB_FRAME_HDR_LEN)
			return 0;
		id = (uint32_t)get_be16(frame + 4) << 16 |
		     get_be16(frame + 6);
		if (id != g->id)
			return 0;	/* an event, or a stale reply */
	}
	g->got = true;
	if (len > g->cap) {
		g->err = -EMSGSIZE;
		return 1;
	}
	memcpy(g->buf, frame, len);
	*g->len = len;
	return 1;
}

static int pump(struct scbc *c, struct grab *g, int64_t deadline)
{
	short ev;
	int rc;

	for (;;) {
		rc = scbc_flush(c);
		if (rc < 0)
			return rc;
		rc = scbc_read(c, grab_frame, g);
		if (rc < 0)
			return rc;
		if (g->got)
			return g->err;
		if (rc == 1)
			return -ECONNRESET;
		ev = POLLIN | (scbc_want_write(c) ? POLLOUT : 0);
		rc = wait_fd(c->fd, ev, deadline);
		if (rc)
			return rc;
	}
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

int scbc_dial(struct scbc *c, const char *host, const char *port,
	      const uint8_t my_priv[32], const uint8_t broker_pub[32],
	      const uint8_t *hello, size_t hello_len, uint8_t *reply,
	      size_t reply_cap, size_t *reply_len, int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	struct grab g = {
		.any = true, .buf = reply, .cap = reply_cap, .len = reply_len,
	};
	int fd, rc;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->state = SCBC_CLOSED;
	if (!host || !port || !reply || !reply_len)
		return -EINVAL;
	fd = dial_tcp(host, port, deadline);
	if (fd < 0)
		return fd;
	rc = scbc_client_start(c, fd, my_priv, broker_pub, hello, hello_len);
	if (rc) {
		close(fd);
		return rc;
	}
	rc = pump(c, &g, deadline);
	if (rc)
		scbc_free(c);
	return rc;
}

int scbc_request(struct scbc *c, const uint8_t *req, size_t req_len,
		 uint8_t *reply, size_t reply_cap, size_t *reply_len,
		 int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	struct grab g = {
		.buf = reply, .cap = reply_cap, .len = reply_len,
	};
	int rc;

	if (!req || req_len < SCB_FRAME_HDR_LEN || !reply || !reply_len)
		return -EINVAL;
	g.id = (uint32_t)get_be16(req + 4) << 16 | get_be16(req + 6);
	if (!g.id)		/* id 0 is for events */
		return -EINVAL;
	rc = scbc_send(c, req, req_len);
	if (rc)
		return rc;
	return pump(c, &g, deadline);
}
