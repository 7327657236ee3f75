#!/bin/bash
# timeout: 300
# Control messages both ways through the kernel to the owner, the key
# limit and key exhaustion notifications, roaming with its notification,
# and a wrong inner source dropped and counted.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e

hex() { head -c "$1" /dev/urandom | od -An -tx1 -v | tr -d ' \n'; }
stat_of() { ip netns exec "$1" sloopctl show s0 --json | jq ".devices[0].stats.$2 // 0"; }

netns_pair a b
K_AB=$(hex 32) S_AB=$(hex 4) K_BA=$(hex 32) S_BA=$(hex 4)
HP_AB=$(hex 32) HP_BA=$(hex 32)
for ns in a b; do
	must ip -n $ns link add s0 type sloop
	ip netns exec $ns sloopctl attach s0 port 5653 --ready-file /tmp/r$ns > /tmp/attach-$ns.log 2>&1 &
	eval "P$ns=\$!"
	wait_for 20 test -s /tmp/r$ns || fail "attach $ns: $(cat /tmp/attach-$ns.log)"
	ip netns exec $ns sloopctl monitor > /tmp/mon-$ns.log 2>&1 &
	eval "M$ns=\$!"
done
must ip netns exec a sloopctl set s0 peer 1 endpoint 192.0.2.2:5653 \
	rx-index 11 tx-index 22 hp-tx-key $HP_AB hp-rx-key $HP_BA \
	subnets 10.9.0.2/32 key 0 tx-key $K_AB tx-salt $S_AB rx-key $K_BA rx-salt $S_BA
must ip netns exec b sloopctl set s0 peer 7 endpoint 192.0.2.1:5653 \
	rx-index 22 tx-index 11 hp-tx-key $HP_BA hp-rx-key $HP_AB \
	subnets 10.9.0.0/24 key 0 tx-key $K_BA tx-salt $S_BA rx-key $K_AB rx-salt $S_AB
must ip -n a addr add 10.9.0.1/24 dev s0
must ip -n b addr add 10.9.0.2/24 dev s0
must ip -n a link set s0 up
must ip -n b link set s0 up
must ip netns exec a ping -c 2 -W 2 10.9.0.2

note "control messages both ways"
must ip netns exec a sloopctl ctrl s0 peer 1 deadbeef00112233
must ip netns exec b sloopctl ctrl s0 peer 7 "$(hex 1024)"
wait_for 10 grep -q "ctrl peer 7 deadbeef00112233" /tmp/attach-b.log ||
	fail "b's owner did not get the message: $(cat /tmp/attach-b.log)"
wait_for 10 grep -q "ctrl peer 1 " /tmp/attach-a.log ||
	fail "a's owner did not get the message: $(cat /tmp/attach-a.log)"
grep "ctrl peer" /tmp/attach-b.log
for ns in a b; do
	[ "$(stat_of $ns ctrl_tx)" = 1 ] && [ "$(stat_of $ns ctrl_rx)" = 1 ] ||
		fail "$ns: ctrl counters wrong: tx $(stat_of $ns ctrl_tx) rx $(stat_of $ns ctrl_rx)"
done
mustnt ip netns exec a sloopctl ctrl s0 peer 1 "$(hex 1025)"
mustnt ip netns exec a sloopctl ctrl s0 peer 99 00

note "key limit notification"
must ip netns exec a sloopctl set s0 rekey-after 10
must ip netns exec a ping -c 12 -i 0.05 -W 2 10.9.0.2 > /dev/null
wait_for 10 grep -q "key-limit s0 peer 1 phase 0" /tmp/mon-a.log ||
	fail "no key-limit notification: $(cat /tmp/mon-a.log)"
[ "$(grep -c key-limit /tmp/mon-a.log)" = 1 ] || fail "key-limit sent more than once"

note "key exhausted: no packet past reject-after, peer-down once"
must ip netns exec a sloopctl set s0 reject-after 40
ip netns exec a ping -c 30 -i 0.05 -W 1 10.9.0.2 > /dev/null 2>&1 || true
wait_for 10 grep -q "peer-down s0 peer 1 reason" /tmp/mon-a.log ||
	fail "no peer-down notification: $(cat /tmp/mon-a.log)"
grep "peer-down" /tmp/mon-a.log
[ "$(grep -c peer-down /tmp/mon-a.log)" = 1 ] || fail "peer-down sent more than once"
sent=$(ip netns exec a sloopctl show s0 --json | jq '.devices[0].peers[0].keys[0].tx_packets')
rx=$(stat_of b rx_packets)
echo "phase 0 counter $sent, b received $rx packets"
[ "$(stat_of b rx_packets)" -le 40 ] || fail "b received more than reject-after"
[ "$(stat_of a drop_no_key)" -gt 0 ] || fail "no drop counted past reject-after"
# a fresh key in phase 1 brings the link back
K1=$(hex 32) S1=$(hex 4) K2=$(hex 32) S2=$(hex 4)
must ip netns exec b sloopctl set s0 peer 7 key 1 tx-key $K2 tx-salt $S2 rx-key $K1 rx-salt $S1 swap 1
must ip netns exec a sloopctl set s0 reject-after 1000000 peer 1 key 1 tx-key $K1 tx-salt $S1 rx-key $K2 rx-salt $S2 swap 1
must ip netns exec a ping -c 2 -W 2 10.9.0.2

note "roaming: b's packets come from a new address"
must ip -n b addr add 192.0.2.3/24 dev vb
must ip -n b route change 192.0.2.0/24 dev vb src 192.0.2.3
must ip netns exec b ping -c 2 -W 2 10.9.0.1
wait_for 10 grep -q "endpoint s0 peer 1 192.0.2.3" /tmp/mon-a.log ||
	fail "no endpoint notification: $(cat /tmp/mon-a.log)"
ip netns exec a sloopctl show s0 | grep endpoint
ip netns exec a sloopctl show s0 | grep -q "endpoint: 192.0.2.3" || fail "endpoint did not follow"
must ip netns exec a ping -c 2 -W 2 10.9.0.2

note "wrong inner source: dropped and counted"
must ip -n b addr add 10.9.0.99/32 dev s0
ip netns exec b ping -c 3 -i 0.2 -W 1 -I 10.9.0.99 10.9.0.1 > /dev/null 2>&1 && fail "spoofed source got through"
[ "$(stat_of a drop_bad_src)" -ge 3 ] || fail "bad source drops not counted: $(stat_of a drop_bad_src)"
echo "drop_bad_src: $(stat_of a drop_bad_src)"

note "detach by the owner (SIGTERM): peers dropped, socket released"
kill $Pa; wait $Pa || true
wait_for 10 grep -q "peer-down s0 peer 1 reason" /tmp/mon-a.log
[ "$(ip netns exec a sloopctl show s0 --json | jq '.devices[0].peers | length')" = 0 ] || fail "peers left after detach"
# the port is free again: a new owner can bind and attach
ip netns exec a sloopctl attach s0 port 5653 --ready-file /tmp/ra2 > /tmp/attach-a2.log 2>&1 &
Pa=$!
wait_for 20 test -s /tmp/ra2 || fail "re-attach: $(cat /tmp/attach-a2.log)"
cat /tmp/mon-a.log
kill $Pa $Pb $Ma $Mb; wait || true
ip netns del a; ip netns del b
must modprobe -r sloop
echo "kmod-ctrl ok"
