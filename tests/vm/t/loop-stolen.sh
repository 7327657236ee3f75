#!/bin/bash
# timeout: 600
# A stolen member: the admin marks C stolen with `sloopctl broker`.
# Within 5 s of that, all at once: A and B drop C (the broker's signed
# revocation, E806) and C is wiped, while A and B keep talking; C's sloopd gets EV_WIPE, deletes its loop cache and its
# password file and exits with status 8 (E807); C stays locked out.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -u

D=/tmp/loop-stolen
DEVS="A B C"
. "$SLOOP_SRC/tests/vm/t/loop.inc"

founded_loop
C4=$(addr4 C)
CPUB=$(sloopctl pubkey < "$D/C.key")
[ -f "$D/C.cache" ] || fail "C has no cache"

note "A and B talk while C is marked stolen"
ip netns exec A ping -c 40 -i 0.25 -W 1 "$(addr4 B)" > "$D/ping-ab" 2>&1 &
PING=$!
sleep 2
t0=$(date +%s%N)
must bctl device stolen "$CPUB"
c_done() {
	grep -q "E806 loop-revoked: link down: peer C" "$D/A.log" &&
		grep -q "E806 loop-revoked: link down: peer C" "$D/B.log" &&
		! kill -0 "$PID_C" 2>/dev/null
}
wait_for 5 c_done ||
	fail "not within 5 s: A and B drop C, C's sloopd gone: $(logs)"
echo "C dropped by A and B and wiped after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
mustnt ip netns exec A ping -c 2 -W 1 "$C4"
mustnt ip netns exec B ping -c 2 -W 1 "$C4"
bctl device list | tee "$D/devices"
grep -A2 "name: C$" "$D/devices" | grep -q "state: stolen" ||
	fail "sloopctl broker device list does not show C stolen"

note "C wiped itself and exited with 8"
wait "$PID_C"
rc=$?
[ $rc = 8 ] || fail "C's sloopd exited $rc, expected 8: $(tail "$D/C.log")"
grep -q "E807" "$D/C.log" || fail "no E807 in C's log"
[ -e "$D/C.cache" ] && fail "C's cache is still there"
[ -e "$D/C.cache.peers" ] && fail "C's cache side file is still there"
[ -e "$D/C.pw" ] && fail "C's password file is still there"

wait "$PING"
cat "$D/ping-ab" | tail -n 3
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$D/ping-ab")
[ "${got:-0}" -ge 36 ] ||
	fail "A->B lost packets while C was dropped: $(tail -n 3 "$D/ping-ab")"

note "C restarted is refused at once"
printf 'correct horse\n' > "$D/C.pw"
start C
wait_for 20 sh -c "! kill -0 $PID_C 2>/dev/null" || fail "C's sloopd keeps running"
wait "$PID_C"
rc=$?
[ $rc = 8 ] || fail "restarted C exited $rc, expected 8 (wiped again)"
mustnt ip netns exec C ping -c 2 -W 1 "$(addr4 A)"
must ip netns exec B ping -c 2 -W 2 "$(addr4 A)"

loop_end A B
