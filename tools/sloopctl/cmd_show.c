// SPDX-License-Identifier: MIT
/*
 * sloopctl show: reads devices (DEV_GET dump) and their peers (PEER_GET
 * dump, which the kernel may split over many messages and resume; the
 * reader simply keeps appending until NLMSG_DONE), then what only the
 * devices' sloopd know (handshake and rekey times, cmd_daemon.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <sloop/uapi.h>

#include "cmds.h"
#include "show.h"

/* Makes room for element n; doubling keeps a dump of thousands of peers
 * linear.  On failure the old array stays valid (and owned by the caller).
 */
static int grow(void *arrp, size_t n, size_t size)
{
	void **arr = arrp, *p;

	if (n && (n & (n - 1)))
		return 0;
	p = realloc(*arr, (n ? n * 2 : 1) * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	return 0;
}

int sctl_decode_stats(const struct nlattr *nest, struct sctl_stats *st)
{
	struct nlattr *tb[SLOOP_STATS_A_MAX + 1];

	if (nla_parse_nested(tb, SLOOP_STATS_A_MAX, (struct nlattr *)nest,
			     NULL))
		return -EBADMSG;
	for (int i = SLOOP_STATS_A_RX_BYTES; i <= SLOOP_STATS_A_MAX; i++)
		st->has[i] = snl_nla_u64(tb[i], &st->v[i]);
	return 0;
}

static void decode_key(const struct nlattr *nest, struct sctl_key_info *k)
{
	struct nlattr *tb[SLOOP_KEY_A_MAX + 1];

	memset(k, 0, sizeof(*k));
	if (nla_parse_nested(tb, SLOOP_KEY_A_MAX, (struct nlattr *)nest, NULL))
		return;
	k->has_phase = snl_nla_u8(tb[SLOOP_KEY_A_PHASE], &k->phase);
	k->has_id = snl_nla_u32(tb[SLOOP_KEY_A_ID], &k->id);
	k->has_tx = snl_nla_u64(tb[SLOOP_KEY_A_TX_PACKETS], &k->tx_packets);
	k->has_rx = snl_nla_u64(tb[SLOOP_KEY_A_RX_PACKETS], &k->rx_packets);
}

static void decode_keys(const struct nlattr *nest, struct sctl_peer_info *p)
{
	struct nlattr *a;
	int rem;

	nla_for_each_nested(a, (struct nlattr *)nest, rem) {
		if (p->n_keys >= SCTL_SHOW_KEYS)
			break;
		decode_key(a, &p->keys[p->n_keys++]);
	}
}

static int decode_subnet(const struct nlattr *nest, struct sctl_subnet *sn)
{
	struct nlattr *tb[SLOOP_SUBNET_A_MAX + 1];
	uint16_t family = 0;
	size_t alen;

	if (nla_parse_nested(tb, SLOOP_SUBNET_A_MAX, (struct nlattr *)nest,
			     NULL) ||
	    !snl_nla_u16(tb[SLOOP_SUBNET_A_FAMILY], &family) ||
	    !tb[SLOOP_SUBNET_A_ADDR] ||
	    !snl_nla_u8(tb[SLOOP_SUBNET_A_CIDR], &sn->cidr))
		return -1;
	alen = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
	if (!alen || (size_t)nla_len(tb[SLOOP_SUBNET_A_ADDR]) != alen)
		return -1;
	sn->family = family;
	memcpy(sn->addr, nla_data(tb[SLOOP_SUBNET_A_ADDR]), alen);
	return 0;
}

static int decode_subnets(const struct nlattr *nest, struct sctl_peer_info *p)
{
	struct nlattr *a;
	int rem;

	nla_for_each_nested(a, (struct nlattr *)nest, rem) {
		struct sctl_subnet sn;

		if (decode_subnet(a, &sn))
			continue;
		if (grow(&p->subnets, p->n_subnets, sizeof(sn)))
			return -ENOMEM;
		p->subnets[p->n_subnets++] = sn;
	}
	return 0;
}

static void decode_endpoint(const struct nlattr *a, struct sctl_peer_info *p)
{
	size_t len = (size_t)nla_len(a);
	sa_family_t fam;

	if (len < sizeof(fam) || len > sizeof(p->endpoint))
		return;
	memcpy(&p->endpoint, nla_data(a), len);
	fam = p->endpoint.ss_family;
	if ((fam == AF_INET && len >= sizeof(struct sockaddr_in)) ||
	    (fam == AF_INET6 && len >= sizeof(struct sockaddr_in6))) {
		p->has_endpoint = true;
		p->endpoint_len = len;
	}
}

int sctl_decode_peer(const struct nlattr *nest, struct sctl_peer_info *p)
{
	struct nlattr *tb[SLOOP_PEER_A_MAX + 1];

	memset(p, 0, sizeof(*p));
	if (nla_parse_nested(tb, SLOOP_PEER_A_MAX, (struct nlattr *)nest,
			     NULL) ||
	    !snl_nla_u32(tb[SLOOP_PEER_A_ID], &p->id))
		return -EBADMSG;
	if (tb[SLOOP_PEER_A_PUBKEY] &&
	    nla_len(tb[SLOOP_PEER_A_PUBKEY]) == sizeof(p->pubkey)) {
		memcpy(p->pubkey, nla_data(tb[SLOOP_PEER_A_PUBKEY]),
		       sizeof(p->pubkey));
		p->has_pubkey = true;
	}
	if (tb[SLOOP_PEER_A_ENDPOINT])
		decode_endpoint(tb[SLOOP_PEER_A_ENDPOINT], p);
	p->has_rx_index = snl_nla_u32(tb[SLOOP_PEER_A_RX_INDEX], &p->rx_index);
	p->has_tx_index = snl_nla_u32(tb[SLOOP_PEER_A_TX_INDEX], &p->tx_index);
	p->has_cipher = snl_nla_u32(tb[SLOOP_PEER_A_CIPHER], &p->cipher);
	p->has_tx_phase = snl_nla_u8(tb[SLOOP_PEER_A_TX_PHASE], &p->tx_phase);
	p->has_last_rx = snl_nla_u64(tb[SLOOP_PEER_A_LAST_RX], &p->last_rx);
	if (tb[SLOOP_PEER_A_KEYS])
		decode_keys(tb[SLOOP_PEER_A_KEYS], p);
	if (tb[SLOOP_PEER_A_STATS])
		sctl_decode_stats(tb[SLOOP_PEER_A_STATS], &p->stats);
	if (tb[SLOOP_PEER_A_SUBNETS])
		return decode_subnets(tb[SLOOP_PEER_A_SUBNETS], p);
	return 0;
}

static void decode_dev(struct nlattr **tb, struct sctl_dev_info *d)
{
	d->has_port = snl_nla_u16(tb[SLOOP_A_LISTEN_PORT], &d->port);
	d->has_pid = snl_nla_u32(tb[SLOOP_A_OWNER_PID], &d->pid);
	d->has_carrier = snl_nla_u8(tb[SLOOP_A_CARRIER], &d->carrier);
	d->has_num_peers = snl_nla_u32(tb[SLOOP_A_NUM_PEERS], &d->num_peers);
	d->has_padding = snl_nla_u8(tb[SLOOP_A_PADDING], &d->padding);
	d->has_rekey_after = snl_nla_u64(tb[SLOOP_A_REKEY_AFTER_PACKETS],
					  &d->rekey_after);
	d->has_reject_after = snl_nla_u64(tb[SLOOP_A_REJECT_AFTER_PACKETS],
					   &d->reject_after);
	if (tb[SLOOP_A_STATS])
		sctl_decode_stats(tb[SLOOP_A_STATS], &d->stats);
	if (tb[SLOOP_A_IFNAME] && nla_len(tb[SLOOP_A_IFNAME]) > 0)
		snprintf(d->name, sizeof(d->name), "%.*s",
			 nla_len(tb[SLOOP_A_IFNAME]),
			 (char *)nla_data(tb[SLOOP_A_IFNAME]));
	else if (!if_indextoname(d->ifindex, d->name))
		snprintf(d->name, sizeof(d->name), "if%u", d->ifindex);
}

struct dev_collect {
	struct sctl_show *out;
	uint32_t only;		/* ifindex, 0 for all */
};

static int on_dev(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct dev_collect *dc = arg;
	struct sctl_show *s = dc->out;
	struct sctl_dev_info *d;
	uint32_t idx;

	if (!snl_nla_u32(tb[SLOOP_A_IFINDEX], &idx))
		return 0;
	if (dc->only && idx != dc->only)
		return 0;
	if (grow(&s->devs, s->n_devs, sizeof(*s->devs)))
		return -ENOMEM;
	d = &s->devs[s->n_devs++];
	memset(d, 0, sizeof(*d));
	d->ifindex = idx;
	decode_dev(tb, d);
	return 0;
}

static int on_peer(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct sctl_dev_info *d = arg;
	struct nlattr *a;
	int rem;

	/* One peer per message is usual; several are accepted. */
	nlmsg_for_each_attr(a, nlh, GENL_HDRLEN, rem) {
		struct sctl_peer_info *p;
		int ret;

		if (nla_type(a) != SLOOP_A_PEER)
			continue;
		if (grow(&d->peers, d->n_peers, sizeof(*d->peers)))
			return -ENOMEM;
		p = &d->peers[d->n_peers];
		ret = sctl_decode_peer(a, p);
		/* Count it even when half-decoded so that free sees it. */
		if (ret != -EBADMSG)
			d->n_peers++;
		if (ret == -ENOMEM)
			return ret;
	}
	return 0;
}

static int collect_peers(struct snl *nl, struct sctl_dev_info *d)
{
	struct nl_msg *msg = snl_msg(nl, SLOOP_CMD_PEER_GET, true);

	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, SLOOP_A_IFINDEX, d->ifindex)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return snl_exec(nl, msg, on_peer, d);
}

int sctl_show_collect(struct snl *nl, const char *dev,
		      struct sctl_show *out)
{
	struct dev_collect dc = { .out = out };
	struct nl_msg *msg;
	int ret;

	memset(out, 0, sizeof(*out));
	if (dev && strcmp(dev, "all")) {
		dc.only = if_nametoindex(dev);
		if (!dc.only) {
			fprintf(stderr, "sloopctl: no such device '%s'\n", dev);
			return -1;
		}
	}
	msg = snl_msg(nl, SLOOP_CMD_DEV_GET, true);
	if (!msg)
		return -1;
	ret = snl_exec(nl, msg, on_dev, &dc);
	if (ret) {
		sctl_nl_perror(nl, "reading devices", ret);
		return -1;
	}
	if (dc.only && !out->n_devs) {
		fprintf(stderr, "sloopctl: '%s' is not a sloop device\n", dev);
		return -1;
	}
	for (size_t i = 0; i < out->n_devs; i++) {
		ret = collect_peers(nl, &out->devs[i]);
		if (ret) {
			sctl_nl_perror(nl, "reading peers", ret);
			return -1;
		}
	}
	return 0;
}

void sctl_show_free(struct sctl_show *s)
{
	for (size_t i = 0; i < s->n_devs; i++) {
		struct sctl_dev_info *d = &s->devs[i];

		for (size_t j = 0; j < d->n_peers; j++)
			free(d->peers[j].subnets);
		free(d->peers);
	}
	free(s->devs);
	memset(s, 0, sizeof(*s));
}

int sctl_cmd_show(int argc, char **argv)
{
	const char *dev = NULL;
	struct sctl_show s;
	struct snl nl;
	struct timespec ts;
	bool json = false;
	int ret = 1;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!dev && argv[i][0] != '-') {
			dev = argv[i];
		} else {
			fprintf(stderr, "Usage: sloopctl show [DEV|all] [--json]\n");
			return 1;
		}
	}
	if (sctl_nl_open(&nl))
		return 1;
	if (sctl_show_collect(&nl, dev, &s) == 0) {
		s.wall_now = (int64_t)time(NULL);
		sctl_show_daemons(&s);
		clock_gettime(CLOCK_BOOTTIME, &ts);
		if (json)
			sctl_show_json(stdout, &s,
				       (uint64_t)ts.tv_sec * 1000000000ull +
				       (uint64_t)ts.tv_nsec);
		else
			sctl_show_text(stdout, &s,
				       (uint64_t)ts.tv_sec * 1000000000ull +
				       (uint64_t)ts.tv_nsec);
		ret = fflush(stdout) ? 1 : 0;
	}
	sctl_show_free(&s);
	snl_close(&nl);
	return ret;
}
