#!/bin/bash
# timeout: 400
# Tearing things down while iperf3 pushes traffic through the tunnel:
# device delete, network namespace delete (with the owner killed) and
# `modprobe -r sloop` with both owners still attached.  No crash, no
# warning (dmesg is checked by the harness), no leak on the debug kernel,
# and the module loads and works again afterwards.
. "$SLOOP_SRC/tests/vm/lib.sh"
. "$SLOOP_SRC/tests/vm/dp-lib.sh"
set -e
dp_need sloopctl iperf3 jq python3

# load NS ADDR [UDP]: iperf3 for 60 s in the background; pid in LOAD_PID.
load() {
	dp_iperf_server b "$2"
	# shellcheck disable=SC2086
	ip netns exec "$1" iperf3 -c "$2" ${3:+-u -b 50M} -t 60 > "$DP_RUN/load.log" 2>&1 &
	LOAD_PID=$!
	DP_PIDS+=("$LOAD_PID")
	sleep 4
	kill -0 "$LOAD_PID" 2>/dev/null || fail "iperf3 did not keep running: $(cat "$DP_RUN/load.log")"
	local rx
	rx=$(dp_peer_stat b sloop0 1 rx_packets)
	[ "$rx" -gt 100 ] || fail "no load through the tunnel (rx $rx)"
	echo "load running, $rx packets received so far"
}

stop_all() {
	ip netns pids a 2>/dev/null | xargs -r kill -9 2>/dev/null || true
	ip netns pids b 2>/dev/null | xargs -r kill -9 2>/dev/null || true
	wait 2>/dev/null || true
	ip netns del a 2>/dev/null || true
	ip netns del b 2>/dev/null || true
	sleep 1
}

note "device delete under TCP load"
dp_pair aes256gcm 4
load a 10.99.0.2
must ip -n a link del sloop0
sleep 2
ip -n a link show sloop0 2>/dev/null && fail "sloop0 still there after delete"
kill "$DP_ATTACH_A" 2>/dev/null || true
wait "$DP_ATTACH_A" 2>/dev/null || true
ip netns exec a sloopctl show all --json | python3 -m json.tool >/dev/null ||
	fail "show after delete is not valid JSON"
stop_all

note "netns delete under UDP load (owner killed with the namespace)"
dp_pair chacha20poly1305 4
load a 10.99.0.2 udp
ip netns pids b | xargs -r kill -9
ip netns del b
sleep 3
dp_json a sloop0 | jq -c '.devices[0].stats'
stop_all

note "modprobe -r under load, owners still attached"
dp_pair aes128gcm 6
load a fd99::2
ok=0
for _ in 1 2 3 4 5; do
	if modprobe -r sloop 2> "$DP_RUN/rmmod.err"; then
		ok=1
		break
	fi
	sleep 1
done
[ "$ok" = 1 ] || fail "modprobe -r sloop failed under load: $(cat "$DP_RUN/rmmod.err")"
lsmod | grep -q '^sloop ' && fail "sloop still loaded"
ip -n a link show sloop0 2>/dev/null && fail "device in a survived rmmod"
ip -n b link show sloop0 2>/dev/null && fail "device in b survived rmmod"
stop_all

note "the module loads and works again"
must modprobe sloop
dp_pair aes256gcm 4
dp_ping a 10.99.0.2 3
stop_all
echo "dp-teardown ok"
