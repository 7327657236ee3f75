#!/bin/bash
# timeout: 600
# Two namespaces joined by veth, a sloop device in each, keys and peers
# installed with `sloopctl set`: ping both ways over IPv4 and IPv6 inner,
# for an IPv4 and an IPv6 underlay, with each cipher; then iperf3 TCP and
# UDP for 3 s each.  Counters must show the traffic and no drops, and the
# stream must arrive in order (the crypto runs on all CPUs, the serial
# stages must put the packets back in order): the TCP sender sees no
# reordering, no UDP datagram arrives out of sequence.  TCP at full speed
# may fill the receiver's queue (its loss is TCP's congestion signal, so
# the receiver's out-of-order queue is no measure of reordering); UDP at
# 20 Mbit/s may not.
. "$SLOOP_SRC/tests/vm/lib.sh"
. "$SLOOP_SRC/tests/vm/dp-lib.sh"
set -e
dp_need sloopctl iperf3 jq python3

# reord NS: reorderings the namespace's TCP senders have detected so far
# (by SACK, timestamps or duplicate ACKs), which loss alone does not count.
reord() {
	ip netns exec "$1" nstat -az TcpExtTCPSACKReorder TcpExtTCPTSReorder \
		TcpExtTCPRenoReorder | awk '/Reorder/ { n += $2; k++ }
		END { if (k == 3) print n }'
}

# iperf_check NS ADDR tcp|udp: 3 s through the tunnel; the server's own
# report must show bytes received, in order.
iperf_check() {
	local ns=$1 addr=$2 mode=$3 out flags="" r0 r1 q0 q1
	[ "$mode" = udp ] && flags="-u -b 20M"
	r0=$(reord "$ns")
	[ -n "$r0" ] || fail "nstat gave no TcpExt*Reorder counters"
	q0=$(dp_dev_stat b sloop0 drop_queue_full)
	dp_iperf_server b "$addr"
	# shellcheck disable=SC2086
	out=$(ip netns exec "$ns" iperf3 -c "$addr" $flags -t 3 2>&1) ||
		fail "iperf3 $mode to $addr failed: $out"
	wait "$DP_IPERF_PID" || true
	jq -e '(.end.sum_received.bytes // .end.sum.bytes) > 0' "$DP_IPERF_OUT" >/dev/null ||
		fail "iperf3 $mode to $addr moved nothing: $(cat "$DP_IPERF_OUT")"
	r1=$(reord "$ns")
	[ "$r1" = "$r0" ] ||
		fail "iperf3 $mode to $addr: the sender saw $((r1 - r0)) reorderings"
	jq -e '[.end.streams[].udp.out_of_order // 0] | add == 0' "$DP_IPERF_OUT" >/dev/null ||
		fail "iperf3 $mode to $addr: datagrams out of order: $(jq -c '[.end.streams[].udp]' "$DP_IPERF_OUT")"
	q1=$(dp_dev_stat b sloop0 drop_queue_full)
	[ "$mode" = tcp ] || [ "$q1" = "$q0" ] ||
		fail "iperf3 udp to $addr: b dropped $((q1 - q0)) packets as queue full"
	[ "$q1" = "$q0" ] || echo "iperf3 tcp $addr: b's queue overflowed $((q1 - q0)) times"
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
			d=$(dp_drops "$ns" sloop0 drop_queue_full)
			[ "$d" = 0 ] || fail "drops on $ns: $(dp_json "$ns" sloop0)"
		done
		ip netns exec a sloopctl show sloop0
		dp_unpair
	done
done
echo "dp-ping ok"
