#!/bin/bash
# timeout: 300
# A hub device with three peers in three namespaces, each peer owning its
# own subnet: every packet must go to the right peer (per-peer counters
# from `sloopctl show --json`), spoke-to-spoke traffic is routed through
# the hub, and a destination no peer owns gets ICMP unreachable and a
# counted no-route drop.
. "$SLOOP_SRC/tests/vm/lib.sh"
. "$SLOOP_SRC/tests/vm/dp-lib.sh"
set -e
dp_need sloopctl jq python3

ip netns add hub
ip -n hub link set lo up
must ip -n hub link add sloop0 type sloop
for i in 1 2 3; do
	ip netns add "s$i"
	ip -n "s$i" link set lo up
	ip link add "h$i" netns hub type veth peer name v netns "s$i"
	ip -n hub addr add "192.168.$i.1/24" dev "h$i"
	ip -n "s$i" addr add "192.168.$i.2/24" dev v
	ip -n hub link set "h$i" up
	ip -n "s$i" link set v up
	must ip -n "s$i" link add sloop0 type sloop
done
dp_attach hub sloop0 5653 4
ip -n hub addr add 10.0.0.1/32 dev sloop0
ip -n hub link set sloop0 up
for i in 1 2 3; do
	dp_attach "s$i" sloop0 5653 4
	dp_link hub sloop0 "s$i" sloop0 aes256gcm "192.168.$i.2:5653" \
		"192.168.$i.1:5653" 100 "$i" "10.$i.0.0/16" 10.0.0.0/8
	ip -n "s$i" addr add "10.$i.0.1/16" dev sloop0
	ip -n "s$i" link set sloop0 up
	ip -n "s$i" route add 10.0.0.0/8 dev sloop0
	ip -n hub route add "10.$i.0.0/16" dev sloop0
done
ip netns exec hub sysctl -qw net.ipv4.ip_forward=1
# Forwarding back out of sloop0 would also send ICMP redirects to the
# spokes, extra packets the per-peer counts below would have to guess.
ip netns exec hub sysctl -qw net.ipv4.conf.all.send_redirects=0 \
	net.ipv4.conf.sloop0.send_redirects=0
dp_wait_carrier hub sloop0
ip netns exec hub sloopctl show sloop0

# counters: "tx rx" of every hub peer, one line per peer id 1..3.
counters() {
	local j
	j=$(dp_json hub sloop0)
	for i in 1 2 3; do
		echo "$j" | jq -r --argjson id "$i" \
			'.devices[0].peers[] | select(.id == $id) |
			 "\(.stats.tx_packets // 0) \(.stats.rx_packets // 0)"'
	done
}

# expect_deltas BEFORE AFTER "tx1 rx1 tx2 rx2 tx3 rx3"
expect_deltas() {
	local before=($1) after=($2) want=($3) k
	for k in 0 1 2 3 4 5; do
		local d=$(( after[k] - before[k] ))
		[ "$d" = "${want[k]}" ] ||
			fail "hub peer $(( k / 2 + 1 )) $([ $((k % 2)) = 0 ] && echo tx || echo rx) moved by $d, expected ${want[k]} (before: ${before[*]}, after: ${after[*]})"
	done
	echo "per-peer tx/rx deltas: ${want[*]} as expected"
}

note "hub to each spoke: each peer carries only its own packets"
for i in 1 2 3; do
	c=$(( i + 2 ))
	b=$(counters)
	dp_ping hub "10.$i.0.1" "$c"
	a=$(counters)
	want=(0 0 0 0 0 0)
	want[$(( (i - 1) * 2 ))]=$c
	want[$(( (i - 1) * 2 + 1 ))]=$c
	expect_deltas "$(echo $b)" "$(echo $a)" "${want[*]}"
done

note "spoke 1 to spoke 3 through the hub"
b=$(counters)
s2rx=$(dp_peer_stat s2 sloop0 100 rx_packets)
dp_ping s1 10.3.0.1 4
a=$(counters)
expect_deltas "$(echo $b)" "$(echo $a)" "4 4 0 0 4 4"
[ "$(dp_peer_stat s2 sloop0 100 rx_packets)" = "$s2rx" ] ||
	fail "spoke 2 received packets meant for spoke 3"

note "a destination no peer owns: ICMP unreachable, counted"
ip -n hub route add 10.9.0.0/16 dev sloop0
nr=$(dp_dev_stat hub sloop0 drop_no_route)
out=$(ip netns exec hub ping -c 2 -W 2 10.9.0.1 2>&1) &&
	fail "ping to 10.9.0.1 (no peer) succeeded: $out"
echo "$out" | grep -qi unreachable ||
	fail "no ICMP unreachable for a destination without peer: $out"
nr2=$(dp_dev_stat hub sloop0 drop_no_route)
[ "$nr2" -ge $(( nr + 2 )) ] || fail "drop_no_route went from $nr to $nr2, expected +2"
echo "no-route drops: $nr -> $nr2"

note "spoke sends from a source its hub peer does not own: dropped, counted"
bs=$(dp_dev_stat hub sloop0 drop_bad_src)
ip -n s2 addr add 10.7.0.1/32 dev sloop0
ip netns exec s2 ping -c 2 -W 1 -I 10.7.0.1 10.0.0.1 >/dev/null 2>&1 &&
	fail "hub answered a ping from 10.7.0.1, which peer 2 does not own"
bs2=$(dp_dev_stat hub sloop0 drop_bad_src)
[ "$bs2" -ge $(( bs + 2 )) ] || fail "drop_bad_src went from $bs to $bs2, expected +2"
echo "bad-source drops: $bs -> $bs2"
ip netns exec hub sloopctl show sloop0
echo "dp-hub ok"
