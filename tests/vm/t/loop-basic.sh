#!/bin/bash
# timeout: 600
# Loops through the broker with sloopd as the member side: a broker
# namespace running sloop-scb and four device namespaces on one bridge.
# A founds loop "home" (auto-approve) from an option file; B and C join
# with invitations A's sloopd hands out on its control socket; every
# member pings every other over the loop addresses (IPv4 and IPv6).
# D registers and logs in without an invitation: it stays in the
# waiting room and reaches no loop address, even with an address of the
# loop's range on its own device.  E joins while the auto-approving
# member is down and is approved when it comes back.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -u

D=/tmp/loop-basic
DEVS="A B C D E"
. "$SLOOP_SRC/tests/vm/t/loop.inc"

note "A founds loop home"
dev A found auto-approve
wait_for 60 has_addr A || fail "A has no loop address: $(logs)"
A4=$(addr4 A)
echo "A is $A4 / $(addr6 A)"
grep -q "loop home founded" "$D/A.log" || fail "A did not found: $(logs)"

note "B and C join with invitations"
for m in B C; do
	code=$(invite) || fail "no invitation from A: $code $(logs)"
	[ -n "$code" ] || fail "empty invitation"
	echo "invitation for $m: ${code:0:6}..."
	dev $m "invite $code"
	eval "CODE_$m=\$code"
	wait_for 60 has_addr $m || fail "$m got no loop address: $(logs)"
	echo "$m is $(addr4 $m) / $(addr6 $m)"
done
grep -q "approving device B" "$D/A.log" || fail "A did not approve B: $(logs)"

note "every member reaches every other, v4 and v6"
for s in A B C; do
	for d in A B C; do
		[ $s = $d ] && continue
		wait_for 60 ip netns exec $s ping -c 1 -W 1 "$(addr4 $d)" ||
			fail "$s cannot ping $d ($(addr4 $d)): $(logs)"
		must ip netns exec $s ping -c 2 -W 2 "$(addr4 $d)"
		must ip netns exec $s ping -6 -c 2 -W 2 "$(addr6 $d)"
	done
done
for m in A B C; do
	grep "link up" "$D/$m.log" | tail -n 2
done

note "the cache is root-only"
for m in A B C; do
	[ "$(stat -c %a "$D/$m.cache")" = 600 ] || fail "$m.cache mode $(stat -c %a "$D/$m.cache")"
	[ "$(stat -c %a "$D/$m.cache.peers")" = 600 ] || fail "$m.cache.peers mode"
done

note "D logs in with B's used invitation: refused, waiting room, no reach"
dev D "invite $CODE_B"
wait_for 60 grep -q "B414" "$D/D.log" || fail "D's used invitation was not refused: $(logs)"
wait_for 60 grep -q "E809" "$D/D.log" || fail "D not in the waiting room: $(logs)"
grep -q "approving device D" "$D/A.log" && fail "A approved D"
grep -q "registered with the broker" "$D/D.log" || fail "D did not register: $(logs)"
has_addr D && fail "D got a loop address"
# Give D an address of the loop's range by hand and try everything.
NET=${A4%.*}
must ip -n D addr add "$NET.250/22" dev sloop1
must ip -n D link set sloop1 up
for m in A B C; do
	mustnt ip netns exec D ping -c 2 -W 1 "$(addr4 $m)"
done
for m in A B C; do
	peers=$(grep -o "link up: peer [^,]*" "$D/$m.log" | sort -u)
	[ "$(echo "$peers" | wc -l)" = 2 ] ||
		fail "$m has sessions with other than the two members: $peers"
	echo "$peers" | grep -q "peer D" && fail "$m has a session with D"
done

note "members still talk"
must ip netns exec B ping -c 2 -W 2 "$(addr4 C)"

note "E joins with B's invitation while A is down; A approves on its return"
# B does not auto-approve; A, the one that does, never sees E's
# EV_PENDING and must find E in the waiting room of its LOOP_GET.
kill "$PID_A"
wait "$PID_A" 2>/dev/null
code=$(invite B) || fail "no invitation from B: $code $(logs)"
dev E "invite $code"
wait_for 60 grep -q "device E .* waits for approval" "$D/B.log" ||
	fail "B was not told E waits: $(logs)"
has_addr E && fail "E got a loop address with nobody approving"
start A
wait_for 90 has_addr E || fail "E was not approved by A after its restart: $(logs)"
grep -q "approving device E" "$D/A.log" || fail "A did not approve E: $(logs)"
wait_for 60 ip netns exec E ping -c 1 -W 1 "$(addr4 B)" ||
	fail "E cannot reach B: $(logs)"

note "C restarts with only 'broker' and 'loop' on the command line"
# The rest (key, pinned broker key, user, password file) lives in the
# options file, here $D/etcC/options for /etc/sloop/options.
kill "$PID_C"
wait "$PID_C" 2>/dev/null
mkdir -p "$D/etcC"
grep -v '^\(broker\|loop\|invite\) ' "$D/C.opts" > "$D/etcC/options"
grep -q '^broker-key ' "$D/etcC/options" || fail "broker-key went missing"
ip netns exec C env SLOOPD_ETC="$D/etcC" sloopd sloop1 broker 10.9.0.1:5660 \
	loop home >> "$D/C.out" 2>&1 &
PID_C=$!
wait_for 60 ip netns exec B ping -c 1 -W 1 "$(addr4 C)" ||
	fail "C did not come back from 'broker ... loop home': $(logs)"
must ip netns exec C ping -c 2 -W 2 "$(addr4 A)"

loop_end -x A B C D E
