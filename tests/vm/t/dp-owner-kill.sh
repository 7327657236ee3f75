#!/bin/bash
# timeout: 300
# The device's life is tied to its owner's netlink socket: SIGKILL of
# `sloopctl attach` turns the carrier off, drops peers and keys, releases
# the UDP socket (the port can be bound again) and sends a peer-down
# notification; the device can then be attached again.  Repeated a few
# times, and once with SIGTERM (explicit detach).  Kernel leaks show up in
# kmemleak on the debug kernel (checked by the harness).
. "$SLOOP_SRC/tests/vm/lib.sh"
. "$SLOOP_SRC/tests/vm/dp-lib.sh"
set -e
dp_need sloopctl jq python3

port_free() {
	ip netns exec "$1" python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))' "$2"
}

check_released() {
	local ns=$1 j
	wait_for 10 sh -c "! ip -n $ns link show sloop0 | grep -q LOWER_UP" ||
		fail "carrier still on in $ns after the owner went: $(ip -n "$ns" link show sloop0)"
	j=$(dp_json "$ns" sloop0)
	[ "$(echo "$j" | jq '.devices[0].peers | length')" = 0 ] ||
		fail "peers survived the owner in $ns: $j"
	[ "$(echo "$j" | jq '.devices[0].owner_pid // 0')" = 0 ] ||
		fail "owner pid still set in $ns: $j"
	wait_for 10 port_free "$ns" 5653 || fail "port 5653 still bound in $ns"
	echo "$ns: carrier off, no peers, no owner, port 5653 free"
}

dp_pair aes256gcm 4
dp_ping a 10.99.0.2 3
dp_bg a sloopctl monitor sloop0 >> "$DP_RUN/monitor.log" 2>&1
# The monitor is listening once it reports a peer we add and delete.
must ip netns exec a sloopctl set sloop0 peer 99 rx-index 99
must ip netns exec a sloopctl set sloop0 peer 99 remove
wait_for 30 grep -q "peer-down sloop0 peer 99 reason deleted" "$DP_RUN/monitor.log" ||
	fail "sloopctl monitor did not report deleting peer 99: $(cat "$DP_RUN/monitor.log")"
cat "$DP_RUN/monitor.log"
: > "$DP_RUN/monitor.log"

for round in 1 2 3; do
	note "round $round: SIGKILL the owner in a"
	kill -KILL "$DP_ATTACH_A"
	wait "$DP_ATTACH_A" 2>/dev/null || true
	check_released a
	ip netns exec b ping -c 2 -W 1 10.99.0.1 >/dev/null 2>&1 &&
		fail "a still answers without an owner"
	wait_for 5 grep -q "peer-down sloop0 peer 2 reason detached" "$DP_RUN/monitor.log" ||
		fail "no peer-down notification: $(cat "$DP_RUN/monitor.log")"
	: > "$DP_RUN/monitor.log"

	note "round $round: attach again and bring the link back"
	dp_attach a sloop0 5653 4
	DP_ATTACH_A=$DP_ATTACH_PID
	must ip netns exec b sloopctl set sloop0 peer 1 remove
	dp_link a sloop0 b sloop0 aes256gcm 192.0.2.2:5653 192.0.2.1:5653 1 2 \
		10.99.0.2/32,fd99::2/128 10.99.0.1/32,fd99::1/128
	dp_wait_carrier a sloop0
	dp_ping a 10.99.0.2 3
done

note "SIGTERM: the owner detaches on purpose"
kill -TERM "$DP_ATTACH_A"
wait "$DP_ATTACH_A" || fail "sloopctl attach did not exit cleanly on SIGTERM"
check_released a
cat "$DP_RUN/monitor.log"
echo "dp-owner-kill ok"
