#!/bin/bash
# timeout: 480
# sloopd refusals and session recovery:
#  - a replayed handshake initiation is refused (E302);
#  - a device whose key the primary does not know is refused (E301);
#  - SIGKILL of the primary: its carrier goes off, the secondary declares
#    it dead within dead-time (E403) and runs ip-down; while the primary
#    stays away the secondary retries on the P3 schedule (5 s, then +5 s);
#    once it is back the session recovers and ping passes again.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e

D=/tmp/sloopd-recover
rm -rf "$D"
mkdir -p "$D"
umask 077

netns_pair a b
must ip -n a link add sloop0 type sloop
must ip -n b link add sloop0 type sloop
must ip -n b link add sloop1 type sloop

for k in a b c; do
	sloopctl genkey > "$D/$k.key"
done
A_PUB=$(sloopctl pubkey < "$D/a.key")
B_PUB=$(sloopctl pubkey < "$D/b.key")

for s in ip-up ip-down; do
	cat > "$D/$s" <<EOF
#!/bin/sh
echo "\$(date +%s) \$*" >> "$D/\$LINKNAME.$s"
EOF
	chmod 700 "$D/$s"
done

opts() {
	local f=$D/$1.opts
	shift
	printf '%s\n' "$@" > "$f"
	chmod 600 "$f"
}

common=("nodetach" "heartbeat 1s" "dead-time 4s" "rekey-interval 60s"
	"ip-up $D/ip-up" "ip-down $D/ip-down" "debug" "persist")
opts a "role primary" "key $D/a.key" "listen 5653" "local 10.9.0.1" \
	"remote 10.9.0.2" "linkname pri" "logfile $D/a.log" \
	"peer sec pubkey $B_PUB subnets 10.9.0.2/32" "${common[@]}"
opts b "role secondary" "key $D/b.key" "listen 5654" "local 10.9.0.2" \
	"remote 10.9.0.1" "linkname sec" "logfile $D/b.log" \
	"primary 192.0.2.1:5653 pubkey $A_PUB subnets 10.9.0.1/32" \
	"${common[@]}"
opts c "role secondary" "key $D/c.key" "listen 5655" "local 10.9.1.2" \
	"remote 10.9.1.1" "linkname rogue" "logfile $D/c.log" \
	"primary 192.0.2.1:5653 pubkey $A_PUB subnets 10.9.1.1/32" \
	"${common[@]}"

start() {	# start NS OPTS DEV
	ip netns exec "$1" sloopd "$3" file "$D/$2.opts" >> "$D/$2.out" 2>&1 &
	eval "PID_$2=$!"
}
count() { [ -f "$1" ] && wc -l < "$1" || echo 0; }

note "bring-up, with the first initiation captured"
ip netns exec a tcpdump -n -i va -c 1 -w "$D/init.pcap" \
	'udp dst port 5653 and udp[8] = 1' > /dev/null 2>&1 &
TCPDUMP=$!
sleep 1
start a a sloop0
start b b sloop0
wait_for 30 test -s "$D/sec.ip-up" || fail "no session: $(cat "$D"/*.log)"
must ip netns exec b ping -c 2 -W 2 10.9.0.1
wait "$TCPDUMP" || true

note "a replayed initiation is refused"
must ip netns exec b udpreplay "$D/init.pcap" 5653 192.0.2.1:5653
wait_for 10 grep -q "E302 hs-replay" "$D/a.log" ||
	fail "replay not refused: $(tail "$D/a.log")"
grep "E302" "$D/a.log" | head -n1
[ "$(count "$D/pri.ip-up")" = 1 ] || fail "the replay brought a session up"

note "an unknown device key is refused"
start b c sloop1
wait_for 20 grep -q "E301 hs-bad-peer-key" "$D/a.log" ||
	fail "unknown key not refused: $(tail "$D/a.log")"
grep "E301" "$D/a.log" | head -n1
kill "$PID_c"
wait "$PID_c" || true
[ ! -s "$D/rogue.ip-up" ] || fail "the rogue got a session"

note "SIGKILL of the primary"
# A bring-up that needed a retry already logged an E306: count from here.
n0=$(grep -c 'E306' "$D/b.log" || true)
kill -KILL "$PID_a"
wait "$PID_a" 2>/dev/null || true
t_kill=$(date +%s)
wait_for 5 sh -c "! ip -n a link show sloop0 | grep -q LOWER_UP" ||
	fail "carrier still on after the owner died"
wait_for 10 test -s "$D/sec.ip-down" || fail "no ip-down on the secondary"
t_down=$(head -n1 "$D/sec.ip-down" | cut -d' ' -f1)
echo "declared dead after $((t_down - t_kill)) s (dead-time 4 s)"
[ $((t_down - t_kill)) -le 7 ] || fail "dead detection took too long"
grep -q "E403 peer-dead" "$D/b.log" || fail "no E403 in the secondary's log"

note "retries while the primary is away: 5 s, then 10 s after a failure"
wait_for 40 sh -c "[ \$(grep -c 'E306 hs-timeout' $D/b.log) -ge $((n0 + 2)) ]" ||
	fail "retries: $(grep -E 'E306|handshake' "$D/b.log")"
grep "E306" "$D/b.log" | sed -n "$((n0 + 1)),$((n0 + 2))p"
t1=$(date -d "$(grep 'E306' "$D/b.log" | sed -n "$((n0 + 1))p" | cut -d' ' -f1)" +%s)
t2=$(date -d "$(grep 'E306' "$D/b.log" | sed -n "$((n0 + 2))p" | cut -d' ' -f1)" +%s)
gap=$((t2 - t1))
echo "gap between failed attempts: $gap s (10 s wait + 5 s attempt)"
[ "$gap" -ge 14 ] && [ "$gap" -le 17 ] || fail "retry gap $gap s"

note "the primary comes back: the session recovers"
start a a sloop0
wait_for 40 sh -c "[ \$(wc -l < $D/sec.ip-up) -ge 2 ]" ||
	fail "no recovery: $(tail -n 20 "$D/b.log")"
must ip netns exec b ping -c 2 -W 2 10.9.0.1

note "signals: USR2 rekeys, HUP reconnects"
gen=$(grep -c "rekeyed" "$D/a.log" || true)
kill -USR2 "$PID_b"
wait_for 10 sh -c "[ \$(grep -c rekeyed $D/a.log) -gt $gen ]" ||
	fail "USR2 did not rekey: $(tail "$D/b.log")"
grep "rekey requested" "$D/b.log" | tail -n1
ups=$(count "$D/sec.ip-up")
kill -HUP "$PID_b"
wait_for 20 sh -c "[ \$(wc -l < $D/sec.ip-up) -gt $ups ]" ||
	fail "HUP did not reconnect: $(tail "$D/b.log")"
must ip netns exec b ping -c 2 -W 2 10.9.0.1
kill -TERM "$PID_a" "$PID_b"
wait "$PID_a" "$PID_b" 2>/dev/null || true
! grep -q "Sanitizer" "$D"/*.out || fail "ASan: $(cat "$D"/*.out)"
echo "sloopd-recover ok"
