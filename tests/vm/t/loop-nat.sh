#!/bin/bash
# timeout: 600
# Members behind NATs meet through the broker.  A and the broker sit on
# the "internet" bridge; B and C each sit behind their own NAT router
# (nftables masquerade, which maps endpoint-independently like a cone,
# and a forward filter that lets in only what answers something sent
# out).  The broker learns each member's mapped endpoint from its UDP
# probes; a CONNECT and rendezvous make B and C send at the same moment,
# so that the responder's punch opens its NAT to the initiator; then the
# handshake runs and B and C talk through both NATs.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -u

D=/tmp/loop-nat
DEVS="A"
INSTS="B C"
. "$SLOOP_SRC/tests/vm/t/loop.inc"

# nat_router NAT PUBLIC LAN-NET HOST: HOST behind router NAT, whose
# outside is PUBLIC on the bridge and whose inside is LAN-NET.1/24.
nat_router() {
	local nat=$1 pub=$2 lan=$3 host=$4
	must ip netns add $nat
	must ip netns add $host
	ip -n $nat link set lo up
	ip -n $host link set lo up
	must ip link add vh$nat type veth peer name eth0 netns $nat
	ip link set vh$nat master br0 up
	ip -n $nat addr add $pub/24 dev eth0
	ip -n $nat link set eth0 up
	must ip -n $nat link add lan0 type veth peer name eth0 netns $host
	ip -n $nat addr add $lan.1/24 dev lan0
	ip -n $nat link set lan0 up
	ip -n $host addr add $lan.2/24 dev eth0
	ip -n $host link set eth0 up
	ip -n $host route add default via $lan.1
	ip netns exec $nat sysctl -qw net.ipv4.ip_forward=1
	ip netns exec $nat nft -f - <<EOF || fail "nft in $nat"
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "eth0" masquerade
	}
}
table inet filter {
	# Like a home router: nothing unsolicited from outside, so no
	# conntrack entry is left behind that would make masquerade pick
	# another port for the inside's later packets to the same sender.
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "eth0" ct state new counter drop
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "lan0" accept
		counter
	}
}
EOF
}
for k in B C; do
	sloopctl genkey > "$D/$k.key"
done
nat_router natb 10.9.0.50 192.168.10 B
nat_router natc 10.9.0.51 192.168.20 C
must ip netns exec B ping -c 1 -W 2 10.9.0.1
mustnt ip netns exec A ping -c 1 -W 1 192.168.10.2

note "A founds the loop in the open; B and C join from behind their NATs"
dev A found auto-approve
wait_for 60 has_addr A || fail "A has no loop address: $(logs)"
for m in B C; do
	code=$(invite) || fail "no invitation from A: $code $(logs)"
	dev $m "invite $code"
done
for m in B C; do
	wait_for 60 has_addr $m || fail "$m got no loop address: $(logs)"
done
wait_for 30 grep -q "broker sees our data socket as 10.9.0.50:" "$D/B.log" ||
	fail "the broker did not see B's NAT mapping: $(logs)"
wait_for 30 grep -q "broker sees our data socket as 10.9.0.51:" "$D/C.log" ||
	fail "the broker did not see C's NAT mapping: $(logs)"

note "B and C reach each other through both NATs"
wait_for 90 ip netns exec B ping -c 1 -W 1 "$(addr4 C)" ||
	fail "B cannot reach C through the NATs: $(logs) $(grep -h 'CONNECT\|rendezvous\|asks\|link up\|no answer' "$D/B.log" "$D/C.log")"
must ip netns exec C ping -c 3 -W 2 "$(addr4 B)"
must ip netns exec B ping -6 -c 3 -W 2 "$(addr6 C)"
for m in B C; do
	grep -q "rendezvous with" "$D/$m.log" || fail "$m had no rendezvous: $(logs)"
done
# The session runs over the mapped endpoints, not the private addresses.
ip netns exec B sloopctl show sloop1 | tee "$D/show-b"
grep -q "10.9.0.51:" "$D/show-b" || fail "B does not talk to C's mapped endpoint"
# Unsolicited packets from outside were dropped at the NATs meanwhile.
ip netns exec natc nft list table inet filter | grep counter

note "A reaches both"
must ip netns exec A ping -c 2 -W 2 "$(addr4 B)"
must ip netns exec A ping -c 2 -W 2 "$(addr4 C)"

loop_end A B C
