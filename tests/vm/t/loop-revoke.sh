#!/bin/bash
# timeout: 600
# A member revokes another while the broker is down: the revocation
# holds at once on the revoker, reaches the other members over the
# control channel (signed by a member, checked by each), and cuts the
# revoked device off everywhere; the members keep talking.  When the
# broker comes back it learns the revocation from the revoker, stops
# listing the device, and tells the device itself.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -u

D=/tmp/loop-revoke
DEVS="A B C"
. "$SLOOP_SRC/tests/vm/t/loop.inc"

founded_loop
LOOP_ID=$(adm loop-list | awk '$1 == "LOOP_ID" { print $2; exit }')
members() {
	adm loop-show "$LOOP_ID" | grep -c "^  PEER$"
}
[ "$(members)" = 3 ] || fail "broker lists $(members) members"

note "the broker goes away"
kill -KILL "$(cat "$D/scb.pid")"
for m in A B C; do
	wait_for 30 grep -q "E801" "$D/$m.log" || fail "$m did not notice the broker"
done
must ip netns exec A ping -c 1 -W 2 "$(addr4 C)"

note "B revokes C; A hears of it from B, not from the broker"
out=$(sloopctl revoke B C) || fail "sloopctl revoke B C: $out $(logs)"
echo "$out"
echo "$out" | grep -q "broker not reached" || fail "B claims the broker took it"
mustnt sloopctl revoke B C
wait_for 10 grep -q "revoked (passed on by member B)" "$D/A.log" ||
	fail "A was not told over the control channel: $(logs)"
mustnt ip netns exec A ping -c 2 -W 1 "$(addr4 C)"
mustnt ip netns exec B ping -c 2 -W 1 "$(addr4 C)"
mustnt ip netns exec C ping -c 2 -W 1 "$(addr4 A)"
must ip netns exec A ping -c 2 -W 2 "$(addr4 B)"
must ip netns exec B ping -c 2 -W 2 "$(addr4 A)"
note "the broker returns and learns it from B"
ip netns exec scb sloop-scb -c "$D/scb.conf" ||
	fail "sloop-scb did not restart: $(tail "$D/scb.log")"
wait_for 30 adm hello || fail "broker not answering after the restart"
two_members() {
	[ "$(members)" = 2 ]
}
wait_for 90 two_members ||
	fail "broker still lists $(members) members: $(tail -n 30 "$D/scb.log")"
grep -q "revoked by B\|member C revoked" "$D/scb.log" ||
	fail "broker did not log the member's revocation: $(tail -n 30 "$D/scb.log")"
wait_for 90 grep -q "this device was revoked\|C.*revoked (told by the broker)" "$D/C.log" ||
	fail "C was not told: $(logs)"
must ip netns exec A ping -c 2 -W 2 "$(addr4 B)"
mustnt ip netns exec A ping -c 2 -W 1 "$(addr4 C)"

loop_end A B C
