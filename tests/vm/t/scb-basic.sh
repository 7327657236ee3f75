#!/bin/bash
# timeout: 400
# The broker alone (no sloopd): sloop-scb in namespace "scb", three
# devices in namespaces d1..d3 talk to it with scb-client.  Users and
# passwords (wrong password B404, device limit B409), a loop founded,
# an invitation, a join, an approval, LOOP_GET listing both members; a
# device without a loop gets B413; a replayed HELLO stamp gets B403; a
# used invitation B414; CONNECT brings two members together with their
# probed endpoints (B418 while the other is offline); then kill -9 of the broker and a restart: every
# committed record is still there.  Last, a device marked stolen is told
# to wipe and revoked (EV_REVOKED to the member online), a suspended one
# is refused with B406.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -u

D=/tmp/scb-basic
rm -rf "$D"
mkdir -p "$D"
umask 077

ip netns add scb
ip -n scb link set lo up
for i in 1 2 3; do
	ip netns add d$i
	ip -n d$i link set lo up
	ip link add vb$i netns scb type veth peer name vd netns d$i
	ip -n scb addr add 10.9.$i.1/24 dev vb$i
	ip -n d$i addr add 10.9.$i.2/24 dev vd
	ip -n scb link set vb$i up
	ip -n d$i link set vd up
done

# Keys as `sloopctl genkey` writes them: a 32-byte seed in base64.
for k in broker admin d1 d2 d3; do
	head -c 32 /dev/urandom | base64 > "$D/$k.key"
done
BPUB=$(scb-client pub -k "$D/broker.key")
APUB=$(scb-client pub -k "$D/admin.key")

cat > "$D/scb.conf" <<EOF
# sloop-scb test configuration
listen 0.0.0.0:5660
key $D/broker.key
db $D/scb.db
admin-key $APUB
default-device-limit 2
logfile $D/scb.log
pidfile $D/scb.pid
EOF

start_broker() {
	ip netns exec scb sloop-scb -c "$D/scb.conf" ||
		fail "sloop-scb did not start: $(cat "$D/scb.log" 2>/dev/null)"
	wait_for 30 ip netns exec scb scb-client -k "$D/admin.key" -a \
		-b "$BPUB" -s 127.0.0.1:5660 hello ||
		fail "broker not answering: $(tail -n 20 "$D/scb.log")"
}

# adm REQUEST...: as the admin, from the broker's namespace
adm() {
	ip netns exec scb scb-client -k "$D/admin.key" -a -b "$BPUB" \
		-s 127.0.0.1:5660 "$@"
}

# dev N REQUEST...: as device N from its namespace
dev() {
	local n=$1
	shift
	ip netns exec d$n scb-client -k "$D/d$n.key" -b "$BPUB" \
		-s 10.9.$n.1:5660 "$@"
}

# expect CODE CMD...: the command must fail with ERROR B<CODE>
expect() {
	local code=$1 out
	shift
	out=$("$@" 2>&1) && fail "'$*' succeeded, expected B$code: $out"
	echo "$out" | grep -q "^ERROR B$code " ||
		fail "'$*': expected B$code, got: $out"
	echo "refused as expected (B$code): $*"
}

# field NAME: the first top-level attribute NAME of a reply on stdin
field() {
	awk -v n="$1" '$1 == n && /^  [A-Z]/ { print $2; exit }'
}

start_broker
note "broker up, pid $(cat "$D/scb.pid")"

note "users and registration"
must adm user-add alice pw-alice 2
must adm user-add bob pw-bob 1
expect 404 dev 1 register alice wrong-password d1
expect 404 dev 1 register nobody pw-alice d1
must dev 1 register alice pw-alice d1
must dev 2 register alice pw-alice d2
expect 409 dev 3 register alice pw-alice d3
must dev 3 register bob pw-bob d3

note "a device without a loop reaches nothing"
expect 413 dev 3 loop-get 0000000000000000000000000000000000000000000000000000000000000000

note "found a loop, invite, join, approve"
out=$(dev 1 loop-create home 1) || fail "loop-create: $out"
echo "$out"
LOOP=$(echo "$out" | awk '$1 == "LOOP_ID" { print $2; exit }')
[ ${#LOOP} = 64 ] || fail "no loop id in: $out"
expect 413 dev 3 loop-get "$LOOP"
out=$(dev 1 invite "$LOOP" 600) || fail "invite: $out"
CODE=$(echo "$out" | field INVITE)
[ -n "$CODE" ] || fail "no invitation code: $out"
out=$(dev 2 join "$CODE") || fail "join: $out"
echo "$out"
A4=$(echo "$out" | field ADDR4)
A6=$(echo "$out" | field ADDR6)
[ -n "$A4" ] && [ -n "$A6" ] || fail "no pending addresses: $out"
expect 414 dev 3 join "$CODE"
expect 413 dev 2 loop-get "$LOOP"
D2PUB=$(scb-client pub -k "$D/d2.key")
# approved with a credential d3 (not a member) signed: refused
expect 413 dev 3 approve "$LOOP" "$D2PUB" "$A4" "$A6"
must dev 1 approve "$LOOP" "$D2PUB" "$A4" "$A6"
for n in 1 2; do
	out=$(dev $n loop-get "$LOOP") || fail "loop-get d$n: $out"
	peers=$(echo "$out" | grep -c '^  PEER$')
	[ "$peers" = 2 ] || fail "d$n sees $peers members, not 2: $out"
done
note "both members listed"

note "brokering: UDP probes, CONNECT, EV_CONNECT, EV_RENDEZVOUS"
D1PUB=$(scb-client pub -k "$D/d1.key")
expect 418 dev 2 connect "$LOOP" "$D1PUB"
# d1 stays online 8 s, learns its endpoint and accepts every CONNECT
dev 1 -w 8000 -A 1 probe > "$D/d1.events" 2>&1 &
wait_for 20 grep -q '^PROBE' "$D/d1.events" || fail "d1 probe: $(cat "$D/d1.events")"
out=$(dev 2 -w 2000 probe -- connect "$LOOP" "$D1PUB") || fail "connect: $out"
echo "$out"
echo "$out" | grep -q '^EV_RENDEZVOUS' || fail "no rendezvous for d2"
echo "$out" | grep -q 'ENDPOINT 10\.9\.1\.2 ' || fail "d1's endpoint not given"
wait
cat "$D/d1.events"
grep -q '^EV_CONNECT' "$D/d1.events" || fail "d1 got no EV_CONNECT"
grep -q 'ENDPOINT 10\.9\.2\.2 ' "$D/d1.events" || fail "d2's endpoint not given"

note "replayed HELLO"
T=$(scb-client tai)
must dev 1 -T "$T" hello
expect 403 dev 1 -T "$T" hello

note "admin view before the crash"
adm user-list > "$D/users.before" || fail "user-list"
adm device-list | grep -v -e LAST_SEEN -e ONLINE > "$D/devices.before" ||
	fail "device-list"
adm loop-show "$LOOP" | grep -v ONLINE > "$D/loop.before" || fail "loop-show"
cat "$D/loop.before"
grep -q '^  PEER$' "$D/loop.before" || fail "loop-show lists no member"

note "kill -9 and restart"
kill -9 "$(cat "$D/scb.pid")"
sleep 1
start_broker
adm user-list > "$D/users.after" || fail "user-list after restart"
adm device-list | grep -v -e LAST_SEEN -e ONLINE > "$D/devices.after" ||
	fail "device-list after restart"
adm loop-show "$LOOP" | grep -v ONLINE > "$D/loop.after" ||
	fail "loop-show after restart"
diff -u "$D/users.before" "$D/users.after" || fail "users changed"
diff -u "$D/devices.before" "$D/devices.after" || fail "devices changed"
diff -u "$D/loop.before" "$D/loop.after" || fail "loop changed"
out=$(dev 2 loop-get "$LOOP") || fail "loop-get after restart: $out"
[ "$(echo "$out" | grep -c '^  PEER$')" = 2 ] || fail "members lost: $out"
expect 414 dev 3 join "$CODE"
expect 403 dev 1 -T "$T" hello

note "admin: stolen and suspended devices"
dev 1 -w 10000 hello > "$D/d1.revoke" 2>&1 &
wait_for 20 grep -q '^WELCOME' "$D/d1.revoke" || fail "d1: $(cat "$D/d1.revoke")"
out=$(adm device-set "$D2PUB" stolen) || fail "device-set stolen: $out"
echo "$out" | grep -q 'COUNT 1' || fail "not revoked in its loop: $out"
out=$(dev 2 hello 2>&1) && fail "a stolen device was welcomed: $out"
echo "$out" | grep -q '^EV_WIPE' || fail "no EV_WIPE for the stolen device: $out"
echo "stolen device told to wipe: $out"
wait
grep -q '^EV_REVOKED' "$D/d1.revoke" || fail "d1 not told: $(cat "$D/d1.revoke")"
grep -q 'REASON B407' "$D/d1.revoke" || fail "revocation reason: $(cat "$D/d1.revoke")"
out=$(dev 1 loop-get "$LOOP") || fail "loop-get: $out"
[ "$(echo "$out" | grep -c '^  PEER$')" = 1 ] || fail "stolen device still listed: $out"
[ "$(echo "$out" | grep -c '^  REVOKE ')" = 1 ] || fail "no revocation record: $out"
D3PUB=$(scb-client pub -k "$D/d3.key")
must adm device-set "$D3PUB" suspended
expect 406 dev 3 hello
must adm device-set "$D3PUB" active
must dev 3 hello

note "log carries B-codes"
grep -q 'B404' "$D/scb.log" || fail "no B404 in the log"
grep -q 'B403' "$D/scb.log" || fail "no B403 in the log"
pid=$(cat "$D/scb.pid")
kill -TERM "$pid"
wait_for 10 sh -c "! kill -0 $pid 2>/dev/null" ||
	fail "broker did not exit on SIGTERM"
[ ! -e "$D/scb.pid" ] || fail "pid file left behind"
grep -q 'stopping:' "$D/scb.log" || fail "no clean stop in the log"
echo "PASS"
