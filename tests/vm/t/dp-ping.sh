#!/bin/bash
# timeout: 600
# Two namespaces joined by veth, a sloop device in each, keys and peers
# installed with `sloopctl set`: ping both ways over IPv4 and IPv6 inner,
# for an IPv4 and an IPv6 underlay, with each cipher; then iperf3 TCP and
# UDP for 3 s each.  Counters must show the traffic and no drops.
. "$SLOOP_SRC/tests/vm/lib.sh"
. "$SLOOP_SRC/tests/vm/dp-lib.sh"
set -e
dp_need sloopctl iperf3 jq python3

# iperf_check NS ADDR tcp|udp: 3 s through the tunnel; the server's own
# report must show bytes received.
iperf_check() {
	local ns=$1 addr=$2 mode=$3 out flags=""
	[ "$mode" = udp ] && flags="-u -b 20M"
	dp_iperf_server b "$addr"
	# shellcheck disable=SC2086
	out=$(ip netns exec "$ns" iperf3 -c "$addr" $flags -t 3 2>&1) ||
		fail "iperf3 $mode to $addr failed: $out"
	wait "$DP_IPERF_PID" || true
	jq -e '(.end.sum_received.bytes // .end.sum.bytes) > 0' "$DP_IPERF_OUT" >/dev/null ||
		fail "iperf3 $mode to $addr moved nothing: $(cat "$DP_IPERF_OUT")"
	echo "iperf3 $mode $addr: $(jq -r '(.end.sum_received.bits_per_second // .end.sum.bits_per_second) / 1e6 | floor | tostring + " Mbit/s received"' "$DP_IPERF_OUT")"
}

for under in 4 6; do
	for cipher in aes256gcm aes128gcm chacha20poly1305; do
		note "underlay IPv$under, $cipher"
		dp_pair "$cipher" "$under"
		dp_ping a 10.99.0.2 5
		dp_ping b 10.99.0.1 5
		dp_ping a fd99::2 5
		dp_ping b fd99::1 5
		rx=$(dp_peer_stat b sloop0 1 rx_packets)
		tx=$(dp_peer_stat a sloop0 2 tx_packets)
		[ "$rx" -ge 20 ] || fail "peer 1 on b received $rx packets, expected >= 20"
		[ "$tx" -ge 20 ] || fail "peer 2 on a sent $tx packets, expected >= 20"
		if [ "$under" = 4 ]; then
			iperf_check a 10.99.0.2 tcp
			iperf_check a 10.99.0.2 udp
		else
			iperf_check a fd99::2 tcp
			iperf_check a fd99::2 udp
		fi
		for ns in a b; do
			d=$(dp_drops "$ns" sloop0)
			[ "$d" = 0 ] || fail "drops on $ns: $(dp_json "$ns" sloop0)"
		done
		ip netns exec a sloopctl show sloop0
		dp_unpair
	done
done
echo "dp-ping ok"
