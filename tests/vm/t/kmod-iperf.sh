#!/bin/bash
# timeout: 600
# iperf3 TCP and UDP through sloop for each cipher (GSO segmented before
# encryption, parallel crypto), a key swap every second during a TCP run
# with no packet lost, then device delete, netns delete and rmmod while
# traffic flows.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e

hex() { head -c "$1" /dev/urandom | od -An -tx1 -v | tr -d ' \n'; }

# setup CIPHER KEYLEN: namespaces a, b; s0 in each; peer 1 with phase 0 key
setup() {
	local cipher=$1 n=$2
	netns_pair a b
	K_AB=$(hex $n) S_AB=$(hex 4) K_BA=$(hex $n) S_BA=$(hex 4)
	HP_AB=$(hex $n) HP_BA=$(hex $n)
	for ns in a b; do
		must ip -n $ns link add s0 type sloop
		rm -f /tmp/r$ns
		ip netns exec $ns sloopctl attach s0 port 5653 --ready-file /tmp/r$ns > /tmp/attach-$ns.log 2>&1 &
		eval "P$ns=\$!"
		wait_for 20 test -s /tmp/r$ns || fail "attach $ns: $(cat /tmp/attach-$ns.log)"
	done
	must ip netns exec a sloopctl set s0 peer 1 endpoint 192.0.2.2:5653 \
		rx-index 11 tx-index 22 cipher $cipher hp-tx-key $HP_AB hp-rx-key $HP_BA \
		subnets 10.9.0.2/32,fd00::2/128 \
		key 0 tx-key $K_AB tx-salt $S_AB rx-key $K_BA rx-salt $S_BA
	must ip netns exec b sloopctl set s0 peer 1 endpoint 192.0.2.1:5653 \
		rx-index 22 tx-index 11 cipher $cipher hp-tx-key $HP_BA hp-rx-key $HP_AB \
		subnets 10.9.0.1/32,fd00::1/128 \
		key 0 tx-key $K_BA tx-salt $S_BA rx-key $K_AB rx-salt $S_AB
	must ip -n a addr add 10.9.0.1/24 dev s0
	must ip -n b addr add 10.9.0.2/24 dev s0
	must ip -n a addr add fd00::1/64 dev s0 nodad
	must ip -n b addr add fd00::2/64 dev s0 nodad
	must ip -n a link set s0 up
	must ip -n b link set s0 up
	ip netns exec b iperf3 -s -D -1 > /dev/null 2>&1 || true
}

teardown() {
	kill $Pa $Pb 2>/dev/null || true
	wait $Pa $Pb 2>/dev/null || true
	ip netns del a 2>/dev/null || true
	ip netns del b 2>/dev/null || true
	sleep 0.5
}

stat_of() { # NS FIELD
	ip netns exec "$1" sloopctl show s0 --json | jq ".devices[0].stats.$2 // 0"
}

iperf() { # ARGS...: one iperf3 client run from a to b, server restarted
	ip netns exec b iperf3 -s -D -1 > /dev/null 2>&1
	sleep 0.3
	ip netns exec a iperf3 -c "$@" 2>&1 | tail -4
}

for c in aes256gcm:32 aes128gcm:16 chacha20poly1305:32; do
	note "cipher ${c%:*}"
	setup "${c%:*}" "${c#*:}"
	must ip netns exec a ping -c 2 -W 2 10.9.0.2 > /dev/null
	iperf 10.9.0.2 -t 4 | tee /tmp/tcp.txt
	grep -q receiver /tmp/tcp.txt || fail "TCP run failed"
	iperf fd00::2 -t 3 | tee /tmp/tcp6.txt
	grep -q receiver /tmp/tcp6.txt || fail "TCP over inner v6 failed"
	iperf 10.9.0.2 -u -b 50M -t 3 -l 1300 | tee /tmp/udp.txt
	loss=$(awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i ~ /\(.*%\)/) print $i }' /tmp/udp.txt | tr -d '()%')
	echo "UDP loss: $loss%"
	for ns in a b; do
		for f in drop_bad_auth drop_replay drop_malformed drop_bad_src; do
			[ "$(stat_of $ns $f)" = 0 ] || fail "$ns: $f = $(stat_of $ns $f)"
		done
	done
	teardown
done

note "key swap every second during a 20 s TCP run: no packet lost"
setup aes256gcm 32
ip netns exec b iperf3 -s -D -1 > /dev/null 2>&1
sleep 0.3
ip netns exec a iperf3 -c 10.9.0.2 -t 20 > /tmp/swap.txt 2>&1 &
IP=$!
phase=0
for i in $(seq 1 18); do
	sleep 1
	new=$((1 - phase))
	K1=$(hex 32) S1=$(hex 4) K2=$(hex 32) S2=$(hex 4)
	# the receiver side gets the new key first, like the daemons do it
	must ip netns exec b sloopctl set s0 peer 1 key $new tx-key $K2 tx-salt $S2 rx-key $K1 rx-salt $S1
	must ip netns exec a sloopctl set s0 peer 1 key $new tx-key $K1 tx-salt $S1 rx-key $K2 rx-salt $S2 swap $new
	must ip netns exec b sloopctl set s0 peer 1 swap $new
	phase=$new
done
wait $IP || fail "iperf3 during key swaps failed: $(cat /tmp/swap.txt)"
tail -4 /tmp/swap.txt
retr=$(awk '/sender/ { print $9 }' /tmp/swap.txt)
echo "TCP retransmissions: $retr"
for ns in a b; do
	for f in drop_bad_auth drop_replay drop_no_key drop_malformed drop_queue_full; do
		v=$(stat_of $ns $f)
		[ "$v" = 0 ] || fail "$ns: $f = $v during key swaps"
	done
done
ta=$(stat_of a tx_packets) rb=$(stat_of b rx_packets)
tb=$(stat_of b tx_packets) ra=$(stat_of a rx_packets)
echo "a sent $ta, b received $rb; b sent $tb, a received $ra"
[ "$ta" = "$rb" ] && [ "$tb" = "$ra" ] || fail "packets lost during key swaps"
teardown

note "device delete under load"
setup aes256gcm 32
ip netns exec b iperf3 -s -D -1 > /dev/null 2>&1; sleep 0.3
ip netns exec a iperf3 -c 10.9.0.2 -t 30 > /dev/null 2>&1 &
IP=$!
sleep 3
must ip -n b link del s0
must ip -n a link del s0
kill $IP 2>/dev/null || true; wait $IP 2>/dev/null || true
teardown

note "netns delete under load"
setup chacha20poly1305 32
ip netns exec b iperf3 -s -D -1 > /dev/null 2>&1; sleep 0.3
ip netns exec a iperf3 -c 10.9.0.2 -u -b 200M -t 30 > /dev/null 2>&1 &
IP=$!
sleep 3
kill $Pb; wait $Pb 2>/dev/null || true
ip netns del b
sleep 1
kill $IP 2>/dev/null || true; wait $IP 2>/dev/null || true
teardown

note "rmmod under load"
setup aes256gcm 32
ip netns exec b iperf3 -s -D -1 > /dev/null 2>&1; sleep 0.3
ip netns exec a iperf3 -c 10.9.0.2 -t 30 > /dev/null 2>&1 &
IP=$!
sleep 3
kill -9 $Pa $Pb; wait $Pa $Pb 2>/dev/null || true
must modprobe -r sloop
kill $IP 2>/dev/null || true; wait $IP 2>/dev/null || true
teardown
lsmod | grep -q '^sloop ' && fail "module still loaded"
echo "kmod-iperf ok"
