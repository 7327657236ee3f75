// SPDX-License-Identifier: MIT
/*
 * The vector check drives an initiator and a responder in lock step:
 * each message is written by its sender and must equal the published
 * ciphertext byte for byte, then the published ciphertext is read by
 * the receiver and must give back the payload.  That proves both the
 * writing and the reading path of every token on both sides.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hex.h"
#include "noise.h"
#include "noise_vectors.h"

struct side {
	struct noise_handshake hs;
	struct noise_cipherstate send, recv;
	uint8_t s[NOISE_DHLEN], e[NOISE_DHLEN], rs[NOISE_DHLEN];
	uint8_t psks[NOISE_MAX_PSKS * NOISE_PSKLEN];
	uint8_t *prologue;
	struct noise_handshake_config cfg;
};

struct run {
	struct side init, resp;
	bool one_way;
	uint8_t *payload, *ct;		/* decoded from the vector */
	uint8_t buf[NOISE_MAX_MSG];	/* what this engine produced */
	char *why;
	size_t whylen;
};

__attribute__((format(printf, 2, 3)))
static enum noise_vectors_result bad(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, r->whylen, fmt, ap);
	va_end(ap);
	return NOISE_VECTORS_FAIL;
}

/* An optional 32-byte hex field; 1 if present, 0 if absent, -1 if bad. */
static int key_field(const struct json_value *vec, const char *name,
		     uint8_t out[32])
{
	const struct json_value *f = json_get(vec, name);
	const char *hex = json_string(f);

	if (!f)
		return 0;
	if (!hex || hex_decode(out, 32, hex, strlen(hex)) != 32)
		return -1;
	return 1;
}

/* "init_psks": ["hex", ...] (cacophony), or a single "init_psk". */
static int psk_field(const struct json_value *vec, const char *prefix,
		     struct side *sd)
{
	char name[32];
	const struct json_value *list;
	size_t n;

	snprintf(name, sizeof(name), "%s_psks", prefix);
	list = json_get(vec, name);
	if (!list) {
		snprintf(name, sizeof(name), "%s_psk", prefix);
		if (key_field(vec, name, sd->psks) < 0)
			return -1;
		sd->cfg.n_psks = json_get(vec, name) ? 1 : 0;
		sd->cfg.psks = sd->cfg.n_psks ? sd->psks : NULL;
		return 0;
	}
	n = json_len(list);
	if (list->type != JSON_ARRAY || n > NOISE_MAX_PSKS)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *hex = json_string(json_at(list, i));

		if (!hex || hex_decode(sd->psks + i * NOISE_PSKLEN,
				       NOISE_PSKLEN, hex,
				       strlen(hex)) != NOISE_PSKLEN)
			return -1;
	}
	sd->cfg.n_psks = (int)n;
	sd->cfg.psks = n ? sd->psks : NULL;
	return 0;
}

static int load_side(struct run *r, const struct json_value *vec,
		     const char *prefix, struct side *sd, enum noise_role role)
{
	static const char *const keys[] = { "static", "ephemeral",
					     "remote_static" };
	uint8_t *dst[] = { sd->s, sd->e, sd->rs };
	const uint8_t **cfg_dst[] = { &sd->cfg.static_priv,
				      &sd->cfg.ephemeral_priv,
				      &sd->cfg.remote_static };
	char name[48];
	const char *hex;
	long n = 0;

	sd->cfg.protocol = json_get_string(vec, "protocol_name");
	sd->cfg.role = role;
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "%s_%s", prefix, keys[i]);
		switch (key_field(vec, name, dst[i])) {
		case 1:
			*cfg_dst[i] = dst[i];
			break;
		case -1:
			bad(r, "%s is not a 32-byte hex string", name);
			return -1;
		}
	}
	snprintf(name, sizeof(name), "%s_prologue", prefix);
	hex = json_get_string(vec, name);
	if (hex)
		n = hex_decode_alloc(&sd->prologue, hex, strlen(hex));
	if (n < 0) {
		bad(r, "%s is not hex", name);
		return -1;
	}
	sd->cfg.prologue = sd->prologue;
	sd->cfg.prologue_len = (size_t)n;
	if (psk_field(vec, prefix, sd)) {
		bad(r, "%s psks are not 32-byte hex strings", prefix);
		return -1;
	}
	return 0;
}

static bool handshaking(const struct run *r)
{
	return noise_handshake_action(&r->init.hs) != NOISE_ACTION_SPLIT ||
	       noise_handshake_action(&r->resp.hs) != NOISE_ACTION_SPLIT;
}

static enum noise_vectors_result check_hash(struct run *r,
					    const struct json_value *vec)
{
	const char *hex = json_get_string(vec, "handshake_hash");
	uint8_t want[NOISE_HASHLEN];

	if (!hex)
		return NOISE_VECTORS_PASS;
	if (hex_decode(want, sizeof(want), hex, strlen(hex)) != NOISE_HASHLEN)
		return bad(r, "handshake_hash is not 64-byte hex");
	if (memcmp(noise_handshake_hash(&r->init.hs), want, NOISE_HASHLEN))
		return bad(r, "initiator handshake hash differs");
	if (memcmp(noise_handshake_hash(&r->resp.hs), want, NOISE_HASHLEN))
		return bad(r, "responder handshake hash differs");
	return NOISE_VECTORS_PASS;
}

static enum noise_vectors_result hs_message(struct run *r, size_t i,
					    size_t plen, size_t clen)
{
	bool init_sends = noise_handshake_action(&r->init.hs) ==
			  NOISE_ACTION_WRITE;
	struct side *tx = init_sends ? &r->init : &r->resp;
	struct side *rx = init_sends ? &r->resp : &r->init;
	size_t n;
	int rc;

	rc = noise_handshake_write(&tx->hs, r->payload, plen, r->buf,
				   sizeof(r->buf), &n);
	if (rc)
		return bad(r, "message %zu: write: %s", i, noise_strerror(rc));
	if (n != clen || memcmp(r->buf, r->ct, n))
		return bad(r, "message %zu: ciphertext differs", i);
	rc = noise_handshake_read(&rx->hs, r->ct, clen, r->buf,
				  sizeof(r->buf), &n);
	if (rc)
		return bad(r, "message %zu: read: %s", i, noise_strerror(rc));
	if (n != plen || memcmp(r->buf, r->payload, n))
		return bad(r, "message %zu: payload differs", i);
	return NOISE_VECTORS_PASS;
}

static enum noise_vectors_result transport_message(struct run *r, size_t i,
						   size_t plen, size_t clen)
{
	bool init_sends = r->one_way || i % 2 == 0;
	struct side *tx = init_sends ? &r->init : &r->resp;
	struct side *rx = init_sends ? &r->resp : &r->init;
	size_t n;
	int rc;

	rc = noise_cs_encrypt(&tx->send, NULL, 0, r->payload, plen, r->buf,
			      sizeof(r->buf), &n);
	if (rc)
		return bad(r, "message %zu: encrypt: %s", i,
			   noise_strerror(rc));
	if (n != clen || memcmp(r->buf, r->ct, n))
		return bad(r, "message %zu: transport ciphertext differs", i);
	rc = noise_cs_decrypt(&rx->recv, NULL, 0, r->ct, clen, r->buf,
			      sizeof(r->buf), &n);
	if (rc)
		return bad(r, "message %zu: decrypt: %s", i,
			   noise_strerror(rc));
	if (n != plen || memcmp(r->buf, r->payload, n))
		return bad(r, "message %zu: transport payload differs", i);
	return NOISE_VECTORS_PASS;
}

static enum noise_vectors_result one_message(struct run *r,
					     const struct json_value *vec,
					     const struct json_value *m,
					     size_t i)
{
	const char *p = json_get_string(m, "payload");
	const char *c = json_get_string(m, "ciphertext");
	long plen, clen;
	enum noise_vectors_result res;
	int rc;

	if (!p || !c)
		return bad(r, "message %zu: payload/ciphertext missing", i);
	plen = hex_decode_alloc(&r->payload, p, strlen(p));
	clen = hex_decode_alloc(&r->ct, c, strlen(c));
	if (plen < 0 || clen < 0)
		return bad(r, "message %zu: not hex", i);
	if (!handshaking(r))
		return transport_message(r, i, (size_t)plen, (size_t)clen);

	res = hs_message(r, i, (size_t)plen, (size_t)clen);
	if (res != NOISE_VECTORS_PASS || handshaking(r))
		return res;
	res = check_hash(r, vec);
	if (res != NOISE_VECTORS_PASS)
		return res;
	rc = noise_handshake_split(&r->init.hs, &r->init.send, &r->init.recv);
	if (!rc)
		rc = noise_handshake_split(&r->resp.hs, &r->resp.send,
					   &r->resp.recv);
	return rc ? bad(r, "split: %s", noise_strerror(rc))
		  : NOISE_VECTORS_PASS;
}

static enum noise_vectors_result run_messages(struct run *r,
					      const struct json_value *vec)
{
	const struct json_value *msgs = json_get(vec, "messages");
	enum noise_vectors_result res = NOISE_VECTORS_PASS;
	int rc;

	if (!msgs || msgs->type != JSON_ARRAY)
		return bad(r, "no messages array");
	rc = noise_handshake_init(&r->init.hs, &r->init.cfg);
	if (!rc)
		rc = noise_handshake_init(&r->resp.hs, &r->resp.cfg);
	if (rc)
		return bad(r, "init: %s", noise_strerror(rc));
	for (size_t i = 0; i < json_len(msgs) && res == NOISE_VECTORS_PASS;
	     i++) {
		res = one_message(r, vec, json_at(msgs, i), i);
		free(r->payload);
		free(r->ct);
		r->payload = r->ct = NULL;
	}
	if (res == NOISE_VECTORS_PASS && handshaking(r))
		return bad(r, "vector ends before the handshake does");
	return res;
}

static void side_destroy(struct side *sd)
{
	free(sd->prologue);
	noise_handshake_destroy(&sd->hs);
	noise_cs_destroy(&sd->send);
	noise_cs_destroy(&sd->recv);
	sodium_memzero(sd, sizeof(*sd));
}

enum noise_vectors_result noise_vectors_run(const struct json_value *vec,
					    char *why, size_t whylen)
{
	struct noise_protocol proto;
	const char *name = json_get_string(vec, "protocol_name");
	enum noise_vectors_result res;
	struct run *r;
	int rc;

	snprintf(why, whylen, "%s", "");
	if (!name) {
		snprintf(why, whylen, "no protocol_name");
		return NOISE_VECTORS_FAIL;
	}
	rc = noise_protocol_parse(name, &proto);
	if (rc == NOISE_ERR_UNSUPPORTED) {
		snprintf(why, whylen, "%s", proto.cipher ==
			 NOISE_CIPHER_AESGCM ? "AESGCM not available here"
					     : "protocol not supported");
		return NOISE_VECTORS_SKIP;
	}
	if (rc) {
		snprintf(why, whylen, "%s", noise_strerror(rc));
		return NOISE_VECTORS_FAIL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(why, whylen, "out of memory");
		return NOISE_VECTORS_FAIL;
	}
	r->why = why;
	r->whylen = whylen;
	r->one_way = proto.one_way;
	if (load_side(r, vec, "init", &r->init, NOISE_INITIATOR) ||
	    load_side(r, vec, "resp", &r->resp, NOISE_RESPONDER))
		res = NOISE_VECTORS_FAIL;
	else
		res = run_messages(r, vec);
	side_destroy(&r->init);
	side_destroy(&r->resp);
	free(r->payload);
	free(r->ct);
	free(r);
	return res;
}

int noise_vectors_check_file(const char *path, FILE *report,
			     bool problems_only,
			     struct noise_vectors_summary *sum,
			     char *why, size_t whylen)
{
	static const char *const tag[] = { "PASS", "FAIL", "SKIP" };
	struct json_value doc;
	struct json_error err;
	const struct json_value *vecs;
	char reason[160];

	memset(sum, 0, sizeof(*sum));
	if (noise_init())
		return snprintf(why, whylen, "libsodium init failed"), -1;
	if (json_parse_file(path, &doc, &err)) {
		if (err.line)
			snprintf(why, whylen, "%s:%u:%u: %s", path, err.line,
				 err.column, err.msg);
		else
			snprintf(why, whylen, "%s: %s", path, err.msg);
		return -1;
	}
	vecs = json_get(&doc, "vectors");
	if (!vecs || vecs->type != JSON_ARRAY) {
		json_free(&doc);
		snprintf(why, whylen, "%s: no \"vectors\" array", path);
		return -1;
	}
	for (size_t i = 0; i < json_len(vecs); i++) {
		const struct json_value *v = json_at(vecs, i);
		const char *name = json_get_string(v, "name");
		enum noise_vectors_result res = noise_vectors_run(v, reason,
								  sizeof(reason));

		if (!name)
			name = json_get_string(v, "protocol_name");
		if (res == NOISE_VECTORS_PASS)
			sum->passed++;
		else if (res == NOISE_VECTORS_FAIL)
			sum->failed++;
		else
			sum->skipped++;
		if (!report || (problems_only && res == NOISE_VECTORS_PASS))
			continue;
		if (res == NOISE_VECTORS_PASS)
			fprintf(report, "PASS %s\n", name ? name : "?");
		else
			fprintf(report, "%s %s: %s\n", tag[res],
				name ? name : "?", reason);
	}
	json_free(&doc);
	return 0;
}
