#!/bin/bash
# timeout: 600
# Memberships are renewed among the members while the broker is down.
# Credentials and the founder's root live 60 s here (credential-lifetime,
# root-lifetime); the broker is killed
# and stays away for more than two lifetimes.  The founder re-signs its
# root and hands it round, the others ask their peers (CTRL_RENEW) and
# get fresh credentials (CTRL_CRED); nobody's membership lapses and the
# members keep talking all along.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -u

D=/tmp/loop-renew
DEVS="A B C"
LOOP_EXTRA=("credential-lifetime 60s" "root-lifetime 60s")
. "$SLOOP_SRC/tests/vm/t/loop.inc"

founded_loop
note "the broker goes away for more than two credential lifetimes"
kill -KILL "$(cat "$D/scb.pid")"
end=$(( $(date +%s) + 140 ))
lost=0 sent=0
while [ "$(date +%s)" -lt "$end" ]; do
	for pair in "A B" "B C" "C A"; do
		set -- $pair
		sent=$((sent + 1))
		ip netns exec $1 ping -c 1 -W 2 "$(addr4 $2)" > /dev/null 2>&1 ||
			lost=$((lost + 1))
	done
	sleep 2
done
echo "$sent pings over 140 s without the broker, $lost lost"
# A lapse would cut a member off for good (nobody could renew it).
[ "$lost" -le 3 ] || fail "$lost of $sent pings lost: a membership lapsed? $(logs)"
grep -q "root renewed and handed to the members (no broker)" "$D/A.log" ||
	fail "the founder did not renew its root: $(logs)"
for m in B C; do
	grep -q "asking the members to renew this device (no broker)" "$D/$m.log" ||
		fail "$m did not ask for renewal: $(logs)"
done
grep -q "renewed B's membership (no broker)" "$D/A.log" "$D/C.log" ||
	fail "nobody renewed B: $(logs)"
for m in A B C; do
	grep -q "E810\|membership expired" "$D/$m.log" && fail "$m saw a membership expire: $(logs)"
done
for s in A B C; do
	for d in A B C; do
		[ $s = $d ] && continue
		must ip netns exec $s ping -c 1 -W 2 "$(addr4 $d)"
	done
done

loop_end A B C
