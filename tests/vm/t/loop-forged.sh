#!/bin/bash
# timeout: 600
# A broker cannot insert a device into a loop.  D registers and waits in
# the waiting room; then the broker is made to lie: its store gets D as
# a member with a credential that D signed itself (a non-member), and
# the broker, restarted, reports D to the members as one of them.  A, B
# and C check the signatures themselves and refuse D (E804); D's own
# sloopd does not believe it either; D reaches nobody; the members keep
# talking.  Replayed broker frames are refused: a HELLO with an old
# stamp gets B403.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -u

D=/tmp/loop-forged
DEVS="A B C D"
. "$SLOOP_SRC/tests/vm/t/loop.inc"

founded_loop
dev D
wait_for 60 grep -q "registered with the broker" "$D/D.log" || fail "D did not register: $(logs)"
LOOP_ID=$(adm loop-list | awk '$1 == "LOOP_ID" { print $2; exit }')
DPUB=$(sloopctl pubkey < "$D/D.key")
A4=$(addr4 A)
F4=${A4%.*}.200
F6=$(python3 -c 'import ipaddress, sys
print(ipaddress.IPv6Network(sys.argv[1] + "/64", strict=False).network_address + 200)' "$(addr6 A)")

note "the broker lies: D in the loop on a credential D signed itself"
SPID=$(cat "$D/scb.pid")
kill "$SPID"
wait_for 10 sh -c "! kill -0 $SPID 2>/dev/null" || fail "broker did not stop"
CRED=$(scb-client cred -k "$D/D.key" "$LOOP_ID" "$DPUB" "$F4" "$F6") ||
	fail "scb-client cred failed"
python3 - "$D/scb.db" "$LOOP_ID" "$DPUB" "$CRED" <<'PY' || fail "could not plant D"
import base64, sqlite3, sys, time
db, lid, dev, cred = sys.argv[1], bytes.fromhex(sys.argv[2]), base64.b64decode(sys.argv[3]), bytes.fromhex(sys.argv[4])
c = sqlite3.connect(db)
now = int(time.time())
c.execute("INSERT INTO members (loop_id, device, host, pending, joined) VALUES (?, ?, 200, 0, ?)", (lid, dev, now))
c.execute("INSERT INTO member_creds (loop_id, device, signer, not_after, cred) VALUES (?, ?, ?, ?, ?)", (lid, dev, dev, now + 3000, cred))
c.commit()
PY
ip netns exec scb sloop-scb -c "$D/scb.conf" || fail "broker did not restart"
wait_for 30 adm hello || fail "broker not answering"
[ "$(adm loop-show "$LOOP_ID" | grep -c '^  PEER$')" = 4 ] ||
	fail "the planted member is not in the broker's view"

note "every member refuses D by the signatures"
for m in A B C; do
	wait_for 60 grep -q "E804 .*device D (.*) refused: no valid membership signature chain" "$D/$m.log" ||
		fail "$m did not refuse D: $(logs)"
done
has_addr D && fail "D's own sloopd took the forged membership"
must ip -n D addr add "$F4/22" dev sloop1
must ip -n D link set sloop1 up
for m in A B C; do
	mustnt ip netns exec D ping -c 2 -W 1 "$(addr4 $m)"
	grep -q "link up: peer D" "$D/$m.log" && fail "$m has a session with D"
done
must ip netns exec A ping -c 2 -W 2 "$(addr4 B)"
must ip netns exec C ping -c 2 -W 2 "$(addr4 A)"

note "a replayed broker frame: a HELLO stamp older than the last one"
TAI=$(scb-client tai)
must ip netns exec scb scb-client -k "$D/admin.key" -a -b "$BPUB" -s 127.0.0.1:5660 -T "$TAI" hello
mustnt ip netns exec scb scb-client -k "$D/admin.key" -a -b "$BPUB" -s 127.0.0.1:5660 -T "$TAI" hello
grep -q "B403" "$D/scb.log" || fail "no B403 in the broker's log"

loop_end A B C D
