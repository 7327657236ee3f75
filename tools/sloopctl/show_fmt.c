// SPDX-License-Identifier: MIT
/*
 * sloopctl show: text (wg show's layout) and JSON output.  Absent
 * attributes are left out rather than printed as zero, so that a field
 * the kernel does not report is not mistaken for a real zero.
 */
#include <inttypes.h>
#include <string.h>

#include <sodium.h>

#include "show.h"

static const char *const stat_names[SLOOP_STATS_A_MAX + 1] = {
	[SLOOP_STATS_A_RX_BYTES] = "rx_bytes",
	[SLOOP_STATS_A_RX_PACKETS] = "rx_packets",
	[SLOOP_STATS_A_TX_BYTES] = "tx_bytes",
	[SLOOP_STATS_A_TX_PACKETS] = "tx_packets",
	[SLOOP_STATS_A_DROP_BAD_AUTH] = "drop_bad_auth",
	[SLOOP_STATS_A_DROP_REPLAY] = "drop_replay",
	[SLOOP_STATS_A_DROP_NO_KEY] = "drop_no_key",
	[SLOOP_STATS_A_DROP_NO_ROUTE] = "drop_no_route",
	[SLOOP_STATS_A_DROP_BAD_SRC] = "drop_bad_src",
	[SLOOP_STATS_A_DROP_MALFORMED] = "drop_malformed",
	[SLOOP_STATS_A_DROP_QUEUE_FULL] = "drop_queue_full",
	[SLOOP_STATS_A_DROP_NO_PEER] = "drop_no_peer",
	[SLOOP_STATS_A_CTRL_RX] = "ctrl_rx",
	[SLOOP_STATS_A_CTRL_TX] = "ctrl_tx",
	[SLOOP_STATS_A_KEEPALIVE_RX] = "keepalive_rx",
};

const char *sctl_stat_name(unsigned int i)
{
	return i <= SLOOP_STATS_A_MAX ? stat_names[i] : NULL;
}

static bool is_drop(unsigned int i)
{
	return i >= SLOOP_STATS_A_DROP_BAD_AUTH &&
	       i <= SLOOP_STATS_A_DROP_NO_PEER;
}

/* ----------------------------------------------------------------- text */

static void text_bytes(FILE *f, uint64_t b)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		fprintf(f, "%" PRIu64 " B", b);
	else
		fprintf(f, "%.2f %s", v, units[u]);
}

static void text_stats(FILE *f, const struct sctl_stats *st)
{
	bool any = false;

	if (st->has[SLOOP_STATS_A_RX_BYTES] && st->has[SLOOP_STATS_A_TX_BYTES]) {
		fprintf(f, "  transfer: ");
		text_bytes(f, st->v[SLOOP_STATS_A_RX_BYTES]);
		fprintf(f, " (%" PRIu64 " packets) received, ",
			st->v[SLOOP_STATS_A_RX_PACKETS]);
		text_bytes(f, st->v[SLOOP_STATS_A_TX_BYTES]);
		fprintf(f, " (%" PRIu64 " packets) sent\n",
			st->v[SLOOP_STATS_A_TX_PACKETS]);
	}
	for (unsigned int i = 0; i <= SLOOP_STATS_A_MAX; i++) {
		if (!is_drop(i) || !st->has[i] || !st->v[i])
			continue;
		fprintf(f, "%s%s %" PRIu64, any ? ", " : "  drops: ",
			stat_names[i] + 5, st->v[i]);
		any = true;
	}
	if (any)
		fputc('\n', f);
	if (st->has[SLOOP_STATS_A_CTRL_RX] && st->has[SLOOP_STATS_A_CTRL_TX])
		fprintf(f, "  control: %" PRIu64 " received, %" PRIu64 " sent\n",
			st->v[SLOOP_STATS_A_CTRL_RX],
			st->v[SLOOP_STATS_A_CTRL_TX]);
}

static void text_ago(FILE *f, uint64_t then, uint64_t now)
{
	uint64_t s;

	if (!then) {
		fprintf(f, "never\n");
		return;
	}
	s = now > then ? (now - then) / 1000000000ull : 0;
	if (s >= 3600)
		fprintf(f, "%" PRIu64 " h %" PRIu64 " min ago\n", s / 3600,
			s / 60 % 60);
	else if (s >= 60)
		fprintf(f, "%" PRIu64 " min %" PRIu64 " s ago\n", s / 60,
			s % 60);
	else
		fprintf(f, "%" PRIu64 " s ago\n", s);
}

/* Wall-clock seconds, as the daemon reports them. */
static void text_wall_ago(FILE *f, const char *what, int64_t then,
			  int64_t now)
{
	fprintf(f, "  %s: ", what);
	if (then <= 0) {
		fprintf(f, "never\n");
		return;
	}
	text_ago(f, (uint64_t)then * 1000000000ull,
		 (uint64_t)(now > then ? now : then) * 1000000000ull);
}

static void text_daemon(FILE *f, const struct sctl_peer_info *p,
			int64_t now)
{
	if (!p->has_daemon)
		return;
	text_wall_ago(f, "last handshake", p->last_handshake, now);
	text_wall_ago(f, "last rekey", p->last_rekey, now);
	if (p->n_rekeys)
		fprintf(f, "  rekeys: %u\n", p->n_rekeys);
}

static void text_keys(FILE *f, const struct sctl_peer_info *p)
{
	for (size_t i = 0; i < p->n_keys; i++) {
		const struct sctl_key_info *k = &p->keys[i];

		fprintf(f, "  key phase %u:", k->phase);
		if (k->has_id)
			fprintf(f, " id %u,", k->id);
		fprintf(f, " %" PRIu64 " packets sent, %" PRIu64
			" packets received%s\n", k->tx_packets, k->rx_packets,
			p->has_tx_phase && p->tx_phase == k->phase ?
				" (sending)" : "");
	}
}

static void text_peer(FILE *f, const struct sctl_peer_info *p, uint64_t now,
		      int64_t wall_now)
{
	char buf[INET6_ADDRSTRLEN + 64];

	fprintf(f, "\npeer: %u\n", p->id);
	if (p->has_daemon && p->name[0])
		fprintf(f, "  name: %s\n", p->name);
	if (p->has_pubkey) {
		char b64[sodium_base64_ENCODED_LEN(32,
			sodium_base64_VARIANT_ORIGINAL)];

		sodium_bin2base64(b64, sizeof(b64), p->pubkey, 32,
				  sodium_base64_VARIANT_ORIGINAL);
		fprintf(f, "  public key: %s\n", b64);
	}
	if (p->has_endpoint) {
		sctl_format_sockaddr((const struct sockaddr *)&p->endpoint,
				     p->endpoint_len, buf, sizeof(buf));
		fprintf(f, "  endpoint: %s\n", buf);
	}
	if (p->has_rx_index || p->has_tx_index)
		fprintf(f, "  indices: rx 0x%08x, tx 0x%08x\n", p->rx_index,
			p->tx_index);
	if (p->has_cipher)
		fprintf(f, "  cipher: %s\n", sctl_cipher_name(p->cipher));
	if (p->has_tx_phase)
		fprintf(f, "  tx phase: %u\n", p->tx_phase);
	text_keys(f, p);
	fprintf(f, "  subnets: ");
	for (size_t i = 0; i < p->n_subnets; i++) {
		sctl_format_subnet(&p->subnets[i], buf, sizeof(buf));
		fprintf(f, "%s%s", i ? ", " : "", buf);
	}
	fprintf(f, "%s\n", p->n_subnets ? "" : "(none)");
	if (p->has_last_rx) {
		fprintf(f, "  last rx: ");
		text_ago(f, p->last_rx, now);
	}
	text_daemon(f, p, wall_now);
	text_stats(f, &p->stats);
}

static void text_dev(FILE *f, const struct sctl_dev_info *d, uint64_t now,
		     int64_t wall_now)
{
	fprintf(f, "interface: %s\n", d->name);
	if (d->daemon_link[0])
		fprintf(f, "  sloopd: link %s\n", d->daemon_link);
	if (d->has_port)
		fprintf(f, "  listening port: %u\n", d->port);
	if (d->has_pid && d->pid)
		fprintf(f, "  owner: pid %u\n", d->pid);
	else if (d->has_pid)
		fprintf(f, "  owner: none\n");
	if (d->has_carrier)
		fprintf(f, "  carrier: %s\n", d->carrier ? "on" : "off");
	if (d->has_padding)
		fprintf(f, "  padding: %s\n", sctl_padding_name(d->padding));
	if (d->has_rekey_after)
		fprintf(f, "  rekey after: %" PRIu64 " packets\n",
			d->rekey_after);
	if (d->has_reject_after)
		fprintf(f, "  reject after: %" PRIu64 " packets\n",
			d->reject_after);
	text_stats(f, &d->stats);
	for (size_t i = 0; i < d->n_peers; i++)
		text_peer(f, &d->peers[i], now, wall_now);
}

void sctl_show_text(FILE *f, const struct sctl_show *s, uint64_t now_ns)
{
	for (size_t i = 0; i < s->n_devs; i++) {
		if (i)
			fputc('\n', f);
		text_dev(f, &s->devs[i], now_ns, s->wall_now);
	}
}

/* ----------------------------------------------------------------- JSON */

void sctl_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_stats(FILE *f, const struct sctl_stats *st)
{
	bool first = true;

	fprintf(f, "\"stats\":{");
	for (unsigned int i = 0; i <= SLOOP_STATS_A_MAX; i++) {
		if (!st->has[i] || !stat_names[i])
			continue;
		fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",", stat_names[i],
			st->v[i]);
		first = false;
	}
	fputc('}', f);
}

static void json_keys(FILE *f, const struct sctl_peer_info *p)
{
	fprintf(f, ",\"keys\":[");
	for (size_t i = 0; i < p->n_keys; i++) {
		const struct sctl_key_info *k = &p->keys[i];

		fprintf(f, "%s{\"phase\":%u", i ? "," : "", k->phase);
		if (k->has_id)
			fprintf(f, ",\"id\":%u", k->id);
		if (k->has_tx)
			fprintf(f, ",\"tx_packets\":%" PRIu64, k->tx_packets);
		if (k->has_rx)
			fprintf(f, ",\"rx_packets\":%" PRIu64, k->rx_packets);
		fputc('}', f);
	}
	fputc(']', f);
}

static void json_peer_ids(FILE *f, const struct sctl_peer_info *p)
{
	char buf[INET6_ADDRSTRLEN + 64];

	fprintf(f, "{\"id\":%u", p->id);
	if (p->has_pubkey) {
		char b64[sodium_base64_ENCODED_LEN(32,
			sodium_base64_VARIANT_ORIGINAL)];

		sodium_bin2base64(b64, sizeof(b64), p->pubkey, 32,
				  sodium_base64_VARIANT_ORIGINAL);
		fprintf(f, ",\"pubkey\":\"%s\"", b64);
	}
	if (p->has_endpoint) {
		sctl_format_sockaddr((const struct sockaddr *)&p->endpoint,
				     p->endpoint_len, buf, sizeof(buf));
		fprintf(f, ",\"endpoint\":");
		sctl_json_str(f, buf);
	}
	if (p->has_rx_index)
		fprintf(f, ",\"rx_index\":%u", p->rx_index);
	if (p->has_tx_index)
		fprintf(f, ",\"tx_index\":%u", p->tx_index);
	if (p->has_cipher)
		fprintf(f, ",\"cipher\":\"%s\"", sctl_cipher_name(p->cipher));
	if (p->has_tx_phase)
		fprintf(f, ",\"tx_phase\":%u", p->tx_phase);
}

static void json_peer(FILE *f, const struct sctl_peer_info *p, uint64_t now)
{
	char buf[INET6_ADDRSTRLEN + 8];

	json_peer_ids(f, p);
	json_keys(f, p);
	fprintf(f, ",\"subnets\":[");
	for (size_t i = 0; i < p->n_subnets; i++) {
		sctl_format_subnet(&p->subnets[i], buf, sizeof(buf));
		fprintf(f, "%s\"%s\"", i ? "," : "", buf);
	}
	fputc(']', f);
	if (p->has_last_rx) {
		fprintf(f, ",\"last_rx_ns\":%" PRIu64, p->last_rx);
		if (p->last_rx && now >= p->last_rx)
			fprintf(f, ",\"last_rx_ago_ms\":%" PRIu64,
				(now - p->last_rx) / 1000000);
	}
	if (p->has_daemon) {
		fprintf(f, ",\"name\":");
		sctl_json_str(f, p->name);
		fprintf(f, ",\"session\":\"%s\",\"last_handshake\":%" PRId64
			",\"last_rekey\":%" PRId64 ",\"rekeys\":%u",
			p->up ? "up" : "down", p->last_handshake,
			p->last_rekey, p->n_rekeys);
	}
	fputc(',', f);
	json_stats(f, &p->stats);
	fputc('}', f);
}

static void json_dev(FILE *f, const struct sctl_dev_info *d, uint64_t now)
{
	fprintf(f, "{\"ifname\":");
	sctl_json_str(f, d->name);
	fprintf(f, ",\"ifindex\":%u", d->ifindex);
	if (d->daemon_link[0]) {
		fprintf(f, ",\"sloopd_link\":");
		sctl_json_str(f, d->daemon_link);
	}
	if (d->has_port)
		fprintf(f, ",\"listen_port\":%u", d->port);
	if (d->has_pid)
		fprintf(f, ",\"owner_pid\":%u", d->pid);
	if (d->has_carrier)
		fprintf(f, ",\"carrier\":%s", d->carrier ? "true" : "false");
	if (d->has_num_peers)
		fprintf(f, ",\"num_peers\":%u", d->num_peers);
	if (d->has_padding)
		fprintf(f, ",\"padding\":\"%s\"", sctl_padding_name(d->padding));
	if (d->has_rekey_after)
		fprintf(f, ",\"rekey_after_packets\":%" PRIu64, d->rekey_after);
	if (d->has_reject_after)
		fprintf(f, ",\"reject_after_packets\":%" PRIu64,
			d->reject_after);
	fputc(',', f);
	json_stats(f, &d->stats);
	fprintf(f, ",\"peers\":[");
	for (size_t i = 0; i < d->n_peers; i++) {
		if (i)
			fputc(',', f);
		json_peer(f, &d->peers[i], now);
	}
	fprintf(f, "]}");
}

void sctl_show_json(FILE *f, const struct sctl_show *s, uint64_t now_ns)
{
	fprintf(f, "{\"devices\":[");
	for (size_t i = 0; i < s->n_devs; i++) {
		if (i)
			fputc(',', f);
		json_dev(f, &s->devs[i], now_ns);
	}
	fprintf(f, "]}\n");
}
