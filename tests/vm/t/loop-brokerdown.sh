#!/bin/bash
# timeout: 600
# The broker killed with SIGKILL during loop traffic: pings go on; a
# member whose sloopd restarts meanwhile comes back from its cache (0600)
# and reaches the others again without the broker; the restarted
# broker still lists every member of the loop, and the members log in
# to it again by themselves.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -u

D=/tmp/loop-brokerdown
DEVS="A B C"
. "$SLOOP_SRC/tests/vm/t/loop.inc"

founded_loop
LOOP_ID=$(adm loop-list | awk '$1 == "LOOP_ID" { print $2; exit }')
[ -n "$LOOP_ID" ] || fail "no loop listed: $(adm loop-list)"
members() {
	adm loop-show "$LOOP_ID" | grep -c "^  PEER$"
}
[ "$(members)" = 3 ] || fail "broker lists $(members) members before the kill"
# Let the members' periodic refresh store everyone's endpoints.
for m in A B C; do
	wait_for 60 sh -c "[ \$(grep -c '^member' '$D/$m.cache.peers') = 3 ]" ||
		fail "$m's cache does not list 3 members"
done

note "kill -9 the broker during traffic"
ip netns exec A ping -c 40 -i 0.25 -W 1 "$(addr4 C)" > "$D/ping-ac" 2>&1 &
PING=$!
sleep 2
kill -KILL "$(cat "$D/scb.pid")"
wait "$PING"
tail -n 3 "$D/ping-ac"
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$D/ping-ac")
[ "${got:-0}" -ge 36 ] || fail "A->C broke with the broker: $(tail -n 3 "$D/ping-ac")"
for m in A B C; do
	wait_for 30 grep -q "E801" "$D/$m.log" || fail "$m did not notice the broker"
done

note "B restarts without the broker and comes back from its cache"
kill "$PID_B"
wait "$PID_B"
[ $? = 5 ] || fail "B did not exit on SIGTERM"
mustnt ip netns exec A ping -c 1 -W 1 "$(addr4 B)"
ups=$(grep -c "link up" "$D/B.log")
start B
wait_for 30 grep -q "members from the cache" "$D/B.log" || fail "B did not use its cache: $(logs)"
for d in A C; do
	wait_for 60 ip netns exec B ping -c 1 -W 1 "$(addr4 $d)" ||
		fail "B cannot reach $d from its cache: $(logs)"
	wait_for 60 ip netns exec $d ping -c 1 -W 1 "$(addr4 B)" ||
		fail "$d cannot reach B: $(logs)"
done
[ "$(grep -c "link up" "$D/B.log")" -gt "$ups" ] || fail "B's sessions are not new"
must ip netns exec C ping -c 2 -W 2 "$(addr4 A)"

note "the broker restarts with every record"
ip netns exec scb sloop-scb -c "$D/scb.conf" ||
	fail "sloop-scb did not restart: $(tail "$D/scb.log")"
wait_for 30 adm hello || fail "broker not answering after the restart"
[ "$(members)" = 3 ] || fail "broker lists $(members) members after the restart"
for m in A B C; do
	wait_for 60 sh -c "[ \$(grep -c 'logged in to the broker' '$D/$m.log') -ge 2 ]" ||
		fail "$m did not log in again: $(logs)"
done
must ip netns exec B ping -c 2 -W 2 "$(addr4 C)"

loop_end A B C
