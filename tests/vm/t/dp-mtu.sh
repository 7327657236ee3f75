#!/bin/bash
# timeout: 480
# The device MTU follows the underlay: the route to each peer's endpoint
# gives a path MTU, minus 57 bytes of overhead for an IPv4 underlay (20 IP,
# 8 UDP, 13 header, 16 tag) or 77 for IPv6; the smallest over the peers
# wins, and it is recomputed when an endpoint or an underlay MTU changes.
# An MTU set by hand (ip link set mtu, or mtu at creation) is never
# overridden.  A ping with DF of exactly the MTU crosses without any
# fragmentation, outer or inner; one byte more is refused locally.
. "$SLOOP_SRC/tests/vm/lib.sh"
. "$SLOOP_SRC/tests/vm/dp-lib.sh"
set -e
dp_need sloopctl jq

mtu_of() {
	ip -n "$1" -j link show "$2" | jq '.[0].mtu'
}

# expect_mtu NS DEV WANT: the update runs in a work item: poll for it.
expect_mtu() {
	wait_for 10 sh -c "[ \"\$(ip -n $1 -j link show $2 | jq '.[0].mtu')\" = $3 ]" ||
		fail "$2 in $1: mtu $(mtu_of "$1" "$2"), expected $3"
	echo "$1 $2: mtu $3"
}

# frag_creates NS: IPv4 plus IPv6 fragments this namespace has made.
frag_creates() {
	ip netns exec "$1" awk '
		$1 == "Ip:" && !f { for (i = 2; i <= NF; i++) if ($i == "FragCreates") f = i; next }
		$1 == "Ip:" { n += $f }
		$1 == "Ip6FragCreates" { n += $2 }
		END { print n + 0 }' /proc/net/snmp /proc/net/snmp6
}

# ping_exact ADDR MTU 4|6: from a to ADDR with DF, a packet of exactly MTU
# bytes passes and makes no fragment anywhere; MTU + 1 is refused at a.
ping_exact() {
	local addr=$1 mtu=$2 fam=$3 hdr=28 fa fb out
	[ "$fam" = 6 ] && hdr=48
	fa=$(frag_creates a)
	fb=$(frag_creates b)
	must ip netns exec a ping -"$fam" -c 3 -i 0.2 -W 2 -M do -s $((mtu - hdr)) "$addr"
	[ "$(frag_creates a)" = "$fa" ] || fail "a fragmented a $mtu-byte packet: $fa -> $(frag_creates a)"
	[ "$(frag_creates b)" = "$fb" ] || fail "b fragmented the reply: $fb -> $(frag_creates b)"
	out=$(ip netns exec a ping -"$fam" -c 1 -W 2 -M do -s $((mtu - hdr + 1)) "$addr" 2>&1) &&
		fail "a $((mtu + 1))-byte DF ping to $addr passed: $out"
	echo "$out" | grep -qi "too long" ||
		fail "a $((mtu + 1))-byte DF ping to $addr was not refused locally: $out"
	echo "$addr: $mtu bytes with DF pass unfragmented, $((mtu + 1)) refused locally"
}

set_under_mtu() {
	must ip -n a link set va mtu "$1"
	must ip -n b link set vb mtu "$1"
}

note "IPv4 underlay: 1500 - 57, then 1400 - 57"
dp_pair aes256gcm 4
expect_mtu a sloop0 1443
expect_mtu b sloop0 1443
set_under_mtu 1400
expect_mtu a sloop0 1343
expect_mtu b sloop0 1343
ping_exact 10.99.0.2 1343 4
ping_exact fd99::2 1343 6

note "an MTU set by hand stays when the endpoint and the underlay change"
must ip -n a link set sloop0 mtu 1300
must ip -n b addr add 192.0.2.3/24 dev vb
must ip netns exec a sloopctl set sloop0 peer 2 endpoint 192.0.2.3:5653
set_under_mtu 1380
# b has no explicit MTU: it follows, which shows the update has run.
expect_mtu b sloop0 1323
sleep 1
[ "$(mtu_of a sloop0)" = 1300 ] || fail "explicit mtu 1300 on a became $(mtu_of a sloop0)"
echo "a sloop0: mtu 1300 kept"
ping_exact 10.99.0.2 1300 4

note "mtu given at creation stays; a device without one derives it"
must ip -n a link add sloop1 mtu 1290 type sloop
must ip -n a link add sloop2 type sloop
dp_attach a sloop1 5654 4
dp_attach a sloop2 5655 4
for d in sloop1 sloop2; do
	must ip netns exec a sloopctl set "$d" peer 7 endpoint 192.0.2.2:5653 \
		subnets 10.98.0.2/32
done
expect_mtu a sloop2 1323
[ "$(mtu_of a sloop1)" = 1290 ] || fail "mtu 1290 given at creation became $(mtu_of a sloop1)"
echo "a sloop1: mtu 1290 kept"
dp_unpair

note "IPv6 underlay: 1500 - 77, then 1400 - 77"
dp_pair aes256gcm 6
expect_mtu a sloop0 1423
expect_mtu b sloop0 1423
set_under_mtu 1400
expect_mtu a sloop0 1323
expect_mtu b sloop0 1323
ping_exact 10.99.0.2 1323 4
ping_exact fd99::2 1323 6
for ns in a b; do
	d=$(dp_drops "$ns" sloop0)
	[ "$d" = 0 ] || fail "drops on $ns: $(dp_json "$ns" sloop0)"
done
dp_unpair
echo "dp-mtu ok"
