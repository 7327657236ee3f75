#!/bin/bash
# timeout: 300
# A secondary with two primaries (P3 fail-over): the first one (a) is not
# running, so the attempt times out (E-code in the log) and the secondary
# comes up on the second one (c): ping passes, the kernel peer's
# endpoint is c's.  Then a starts and c is killed (SIGKILL, no goodbye):
# the secondary declares c dead, its retry of c times out, and it comes
# back on a: ping passes again through a.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e

D=/tmp/sloopd-failover
rm -rf "$D"
mkdir -p "$D"
umask 077

# a <-> b as usual (192.0.2.0/24); c <-> b by hand (198.51.100.0/24),
# because netns_pair names b's end vb again.
netns_pair a b
ip netns add c
ip -n c link set lo up
ip link add vc netns c type veth peer name vb2 netns b
ip -n c addr add 198.51.100.1/24 dev vc
ip -n b addr add 198.51.100.2/24 dev vb2
ip -n c link set vc up
ip -n b link set vb2 up
for ns in a b c; do
	must ip -n $ns link add sloop0 type sloop
done

for k in a b c; do
	sloopctl genkey > "$D/$k.key"
done
A_PUB=$(sloopctl pubkey < "$D/a.key")
B_PUB=$(sloopctl pubkey < "$D/b.key")
C_PUB=$(sloopctl pubkey < "$D/c.key")

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
	"ip-up $D/ip-up" "ip-down $D/ip-down" "debug" "persist"
	"holdoff 1s" "holdoff-max 2s")
# Both primaries serve the same tunnel address, as redundant gateways do.
for p in a c; do
	opts $p "role primary" "key $D/$p.key" "listen 5653" \
		"local 10.9.0.1" "remote 10.9.0.2" "linkname pri-$p" \
		"logfile $D/$p.log" "peer sec pubkey $B_PUB subnets 10.9.0.2/32" \
		"${common[@]}"
done
opts b "role secondary" "key $D/b.key" "listen 5654" "local 10.9.0.2" \
	"remote 10.9.0.1" "linkname sec" "logfile $D/b.log" \
	"primary 192.0.2.1:5653 pubkey $A_PUB subnets 10.9.0.1/32" \
	"primary 198.51.100.1:5653 pubkey $C_PUB subnets 10.9.0.1/32" \
	"${common[@]}"

start() {
	ip netns exec "$1" sloopd sloop0 file "$D/$1.opts" >> "$D/$1.out" 2>&1 &
	eval "PID_$1=$!"
}
count() { [ -f "$1" ] && wc -l < "$1" || echo 0; }
lines_above() { [ "$(count "$1")" -gt "$2" ]; }
endpoint() {
	ip netns exec b sloopctl show sloop0 --json |
		jq -r '.devices[0].peers[0].endpoint'
}
endpoint_is() { [ "$(endpoint)" = "$1" ]; }
logs() { tail -n 40 "$D/b.log"; cat "$D"/*.out 2>/dev/null; }

note "first primary down: the secondary fails over to the second"
start c
start b
wait_for 60 test -s "$D/sec.ip-up" || fail "no session: $(logs)"
cat "$D/sec.ip-up"
grep -q "no answer from 192.0.2.1:5653" "$D/b.log" ||
	fail "no timed-out attempt on the first primary: $(logs)"
grep -q "link up: peer 198.51.100.1:5653" "$D/b.log" ||
	fail "not up on the second primary: $(logs)"
test -s "$D/pri-c.ip-up" || fail "no ip-up on c"
[ ! -e "$D/pri-a.ip-up" ] || fail "ip-up on a, which is not running"
wait_for 10 endpoint_is 198.51.100.1:5653 || fail "endpoint $(endpoint)"
echo "secondary's peer endpoint: $(endpoint)"
must ip netns exec b ping -c 3 -W 2 10.9.0.1

note "the active primary is killed: back on the first one"
start a
sleep 1
ups=$(count "$D/sec.ip-up")
downs=$(count "$D/sec.ip-down")
t0=$(date +%s)
kill -KILL "$PID_c"
wait "$PID_c" 2>/dev/null || true
wait_for 20 lines_above "$D/sec.ip-down" "$downs" ||
	fail "c not declared dead: $(logs)"
wait_for 60 lines_above "$D/sec.ip-up" "$ups" || fail "no fail-back: $(logs)"
echo "back up after $(( $(date +%s) - t0 )) s"
grep -q "link down: peer 198.51.100.1:5653" "$D/b.log" || fail "no link down"
grep -q "no answer from 198.51.100.1:5653" "$D/b.log" ||
	fail "the dead primary was not retried first: $(logs)"
grep -q "link up: peer 192.0.2.1:5653" "$D/b.log" ||
	fail "not up on the first primary: $(logs)"
test -s "$D/pri-a.ip-up" || fail "no ip-up on a"
wait_for 10 endpoint_is 192.0.2.1:5653 || fail "endpoint $(endpoint)"
echo "secondary's peer endpoint: $(endpoint)"
must ip netns exec b ping -c 3 -W 2 10.9.0.1
must ip netns exec a ping -c 2 -W 2 10.9.0.2

kill -TERM "$PID_b" "$PID_a"
wait "$PID_b" || true
wait "$PID_a" || true
echo "sloopd-failover ok"
