#!/bin/bash
# timeout: 240
# Two namespaces joined by veth, a sloop device in each with keys installed
# by hand: ping both ways over an IPv4 and an IPv6 underlay, inner v4 and
# v6, and the counters and wire format agree with what was sent.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e

hex() { head -c "$1" /dev/urandom | od -An -tx1 -v | tr -d ' \n'; }

netns_pair a b
K_AB=$(hex 32) S_AB=$(hex 4) K_BA=$(hex 32) S_BA=$(hex 4)
HP_AB=$(hex 32) HP_BA=$(hex 32)

for ns in a b; do
	must ip -n $ns link add s0 type sloop
done
ip netns exec a sloopctl attach s0 port 5653 --ready-file /tmp/ra > /tmp/attach-a.log 2>&1 &
PA=$!
ip netns exec b sloopctl attach s0 port 5653 --ready-file /tmp/rb > /tmp/attach-b.log 2>&1 &
PB=$!
wait_for 20 test -s /tmp/ra || fail "attach a: $(cat /tmp/attach-a.log)"
wait_for 20 test -s /tmp/rb || fail "attach b: $(cat /tmp/attach-b.log)"

# setpeer NS ENDPOINT SUBNETS TXK TXS RXK RXS HPTX HPRX RXI TXI
setpeer() {
	must ip netns exec "$1" sloopctl set s0 peer 1 endpoint "$2" \
		rx-index "${10}" tx-index "${11}" cipher "${CIPHER:-aes256gcm}" \
		hp-tx-key "$8" hp-rx-key "$9" subnets "$3" \
		key 0 tx-key "$4" tx-salt "$5" rx-key "$6" rx-salt "$7"
}
setpeer a 192.0.2.2:5653 10.9.0.2/32,fd00::2/128 $K_AB $S_AB $K_BA $S_BA $HP_AB $HP_BA 1001 2002
setpeer b 192.0.2.1:5653 10.9.0.1/32,fd00::1/128 $K_BA $S_BA $K_AB $S_AB $HP_BA $HP_AB 2002 1001
must ip -n a addr add 10.9.0.1/24 dev s0
must ip -n b addr add 10.9.0.2/24 dev s0
must ip -n a addr add fd00::1/64 dev s0 nodad
must ip -n b addr add fd00::2/64 dev s0 nodad
must ip -n a link set s0 up
must ip -n b link set s0 up
# The operstate (and so NO-CARRIER) follows the carrier through linkwatch,
# which may lag link-up by up to a second.
carrier_on() { ! ip -n a link show s0 | grep -q NO-CARRIER; }
wait_for 5 carrier_on || fail "carrier off with a key: $(ip -n a link show s0)"

note "ping v4 inner over v4 underlay"
must ip netns exec a ping -c 3 -i 0.2 -W 2 10.9.0.2
note "ping v6 inner over v4 underlay"
must ip netns exec a ping -6 -c 3 -i 0.2 -W 2 fd00::2
note "large packets (padding, fragmentation of the inner)"
must ip netns exec b ping -c 2 -s 1392 -M do -W 2 10.9.0.1
must ip netns exec b ping -c 2 -s 3000 -W 2 10.9.0.1

note "wire format: type byte has 01 on top, header+tag overhead"
ip netns exec b tcpdump -i vb -c 4 -nn -x -U -w /tmp/cap.pcap udp port 5653 > /dev/null 2>&1 &
TD=$!
sleep 1
must ip netns exec a ping -c 4 -i 0.2 -W 2 10.9.0.2
wait $TD || true
ip netns exec b tcpdump -nn -r /tmp/cap.pcap -x 2>/dev/null | head -20
# 84-byte ICMP echo padded to 96: 13 + 96 + 16 = 125 bytes of UDP payload
ip netns exec b tcpdump -nn -r /tmp/cap.pcap 2>/dev/null | grep -q "length 125" ||
	fail "padding to 16 not seen on the wire"
first=$(ip netns exec b tcpdump -nn -r /tmp/cap.pcap -x 2>/dev/null | awk '/0x0010:/ { print substr($8, 1, 2); exit }')
[ $(( 0x$first & 0xc0 )) = 64 ] || fail "first byte $first is not a transport type"

note "bucket padding: 256, 512, 1024, then the MTU"
must ip netns exec a sloopctl set s0 padding buckets
ip netns exec b tcpdump -i vb -c 3 -nn -U -w /tmp/cap2.pcap udp port 5653 and src host 192.0.2.1 > /dev/null 2>&1 &
TD=$!
sleep 1
must ip netns exec a ping -c 1 -W 2 10.9.0.2
must ip netns exec a ping -c 1 -W 2 -s 600 10.9.0.2
must ip netns exec a ping -c 1 -W 2 -s 1100 10.9.0.2
wait $TD || true
lens=$(ip netns exec b tcpdump -nn -r /tmp/cap2.pcap 2>/dev/null | sed -n 's/.*length \([0-9]*\)$/\1/p' | tr '\n' ' ')
# The MTU follows the underlay (1500 - 57 here, see dp-mtu): the last
# size is that MTU plus the 29 bytes of header and tag.
mtu=$(ip -n a -j link show s0 | jq '.[0].mtu')
want="285 1053 $((mtu + 29)) "
echo "UDP payload lengths: $lens (MTU $mtu)"
[ "$lens" = "$want" ] || fail "bucket padding: got '$lens', want '$want'"
must ip netns exec a sloopctl set s0 padding 16

note "IPv6 underlay"
setpeer a '[2001:db8:1::2]:5653' 10.9.0.2/32,fd00::2/128 $K_AB $S_AB $K_BA $S_BA $HP_AB $HP_BA 1001 2002
setpeer b '[2001:db8:1::1]:5653' 10.9.0.1/32,fd00::1/128 $K_BA $S_BA $K_AB $S_AB $HP_BA $HP_AB 2002 1001
must ip netns exec a ping -c 3 -i 0.2 -W 2 10.9.0.2
must ip netns exec b ping -6 -c 3 -i 0.2 -W 2 fd00::1

note "no route: ICMP unreachable"
out=$(ip netns exec a ping -c 1 -W 2 10.9.0.77 2>&1 || true)
echo "$out"
grep -qi 'unreachable' <<< "$out" || fail "no ICMP unreachable for an unrouted address"
out=$(ip netns exec a ping -6 -c 1 -W 2 fd00::77 2>&1 || true)
echo "$out"
grep -qi 'unreachable' <<< "$out" || fail "no ICMPv6 unreachable for an unrouted address"

ip netns exec a sloopctl show s0
note "counters: what a sent, b received"
ip netns exec a sloopctl show s0 --json > /tmp/a.json
ip netns exec b sloopctl show s0 --json > /tmp/b.json
/usr/bin/python3 - <<'PY' || fail "counters do not agree"
import json
a = json.load(open("/tmp/a.json"))["devices"][0]
b = json.load(open("/tmp/b.json"))["devices"][0]
print("a:", a.get("stats"), "\nb:", b.get("stats"))
sa, sb = a["stats"], b["stats"]
assert sa["tx_packets"] == sb["rx_packets"], "a tx != b rx"
assert sb["tx_packets"] == sa["rx_packets"], "b tx != a rx"
assert sa["tx_bytes"] == sb["rx_bytes"] and sa["tx_packets"] > 20
for k in ("drop_bad_auth", "drop_replay", "drop_no_key", "drop_bad_src", "drop_malformed"):
    assert sb.get(k, 0) == 0 and sa.get(k, 0) == 0, k
PY

note "owner killed: carrier off, peers gone"
kill -9 $PA
wait_for 10 sh -c "ip -n a link show s0 | grep -q NO-CARRIER" || fail "carrier still on after SIGKILL"
ip netns exec a sloopctl show s0
[ "$(ip netns exec a sloopctl show s0 --json | jq '.devices[0].peers | length')" = 0 ] ||
	fail "peers left after the owner was killed"
wait_for 10 sh -c "! ip netns exec a ss -uanH | grep -q ':5653 '" ||
	fail "socket not released: $(ip netns exec a ss -uan)"
ip netns exec a sloopctl attach s0 port 5653 --ready-file /tmp/ra2 > /tmp/attach-a2.log 2>&1 &
PA=$!
wait_for 20 test -s /tmp/ra2 || fail "re-attach after SIGKILL: $(cat /tmp/attach-a2.log)"
kill $PA; wait $PA || true
kill $PB
wait $PB || true
ip netns del a
ip netns del b
must modprobe -r sloop
echo "kmod-ping ok"
