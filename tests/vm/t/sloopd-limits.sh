#!/bin/bash
# timeout: 300
# Device options applied by sloopd: `mtu` sets the device MTU, and
# `rekey-packets N` sets the device's REKEY_AFTER_PACKETS so that the
# kernel's KEY_LIMIT_NTF starts each rekey.  With a 600 s interval, the
# rekeys during a 20 s iperf3 run (500 packets/s) can only come from
# the notification.
# The secondary runs the shipped tools/etc/ip-up and ip-down, which must
# hand sloopd's arguments and environment on to ip-up.d / ip-down.d.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e

D=/tmp/sloopd-limits
sloopd_pair "$D"
for s in ip-up ip-down; do
	cp "$SLOOP_SRC/tools/etc/$s" "$D/$s"
	mkdir "$D/$s.d"
	printf '#!/bin/sh\n{ echo "$*"; env | sort; } > %s\n' "$D/$s.out" \
		> "$D/$s.d/50-record"
	chmod 700 "$D/$s" "$D/$s.d/50-record"
done
opts() {
	local f=$D/$1.opts
	shift
	printf '%s\n' "$@" > "$f"
	chmod 600 "$f"
}
common=("nodetach" "rekey-interval 600s" "rekey-packets 2000" "mtu 1300")
opts a "role primary" "key $D/a.key" "listen 5653" "local 10.9.0.1" \
	"remote 10.9.0.2" "logfile $D/a.log" \
	"peer sec pubkey $B_PUB subnets 10.9.0.2/32" "${common[@]}"
opts b "role secondary" "key $D/b.key" "listen 5654" "local 10.9.0.2" \
	"remote 10.9.0.1" "persist" "logfile $D/b.log" "linkname office" \
	"ip-up $D/ip-up" "ip-down $D/ip-down" \
	"primary 192.0.2.1:5653 pubkey $A_PUB subnets 10.9.0.1/32" \
	"${common[@]}"
ip netns exec a sloopd sloop0 file "$D/a.opts" > "$D/a.out" 2>&1 &
PID_a=$!
ip netns exec b sloopd sloop0 file "$D/b.opts" > "$D/b.out" 2>&1 &
PID_b=$!
wait_for 30 grep -q "link up" "$D/a.log" || fail "no link: $(cat "$D"/a.out "$D"/a.log)"
wait_for 30 grep -q "link up" "$D/b.log" || fail "no link: $(cat "$D"/b.out "$D"/b.log)"

note "shipped ip-up: run-parts gets the arguments and environment"
wait_for 10 test -s "$D/ip-up.out" || fail "ip-up.d/50-record did not run"
cat "$D/ip-up.out"
grep -qx "sloop0 192.0.2.1:5653 0 10.9.0.2 10.9.0.1 office" "$D/ip-up.out" ||
	fail "ip-up.d arguments: $(head -n1 "$D/ip-up.out")"
for v in IFNAME=sloop0 IPLOCAL=10.9.0.2 IPREMOTE=10.9.0.1 \
	 PEERNAME=192.0.2.1:5653 LINKNAME=office; do
	grep -qx "$v" "$D/ip-up.out" || fail "ip-up.d environment: no $v"
done

note "mtu"
for ns in a b; do
	mtu=$(ip -n $ns -j link show sloop0 | jq '.[0].mtu')
	echo "$ns: sloop0 mtu $mtu"
	[ "$mtu" = 1300 ] || fail "$ns: mtu $mtu, expected 1300"
done
must ip netns exec b ping -c 1 -W 3 -M do -s 1272 10.9.0.1
mustnt ip netns exec b ping -c 1 -W 1 -M do -s 1273 10.9.0.1

note "rekey-packets"
ra=$(ip netns exec a sloopctl show sloop0 --json | jq '.devices[0].rekey_after_packets')
echo "primary device rekey-after: $ra"
[ "$ra" = 2000 ] || fail "rekey-after is $ra"
ip netns exec a iperf3 -s -1 -J > "$D/iperf.json" 2>&1 &
IPERF=$!
sleep 1
ip netns exec b iperf3 -c 10.9.0.1 -u -b 4M -l 1000 -t 20 \
	> "$D/iperf-client.txt" 2>&1 || fail "iperf3: $(cat "$D/iperf-client.txt")"
wait "$IPERF" || true
total=$(jq '.end.sum.packets' "$D/iperf.json")
lost=$(jq '.end.sum.lost_packets' "$D/iperf.json")
ntf() { grep -c "key limit reached" "$D/b.log" || true; }
rekeyed() { grep -c "rekeyed" "$D/$1.log" || true; }
# A forced rekey waits until the previous key's grace period (10 s) is
# over, so the last notification may still be pending here.
all_done() { [ "$(rekeyed b)" -ge "$(ntf)" ]; }
wait_for 15 all_done || true
echo "iperf3: $total packets, $lost lost"
echo "secondary: $(ntf) key-limit notifications, $(rekeyed b) rekeys; primary: $(rekeyed a) rekeys"
grep -E "key limit|rekeyed" "$D/b.log" | head -n 8
[ "$total" -gt 6000 ] || fail "iperf3 sent too little: $total"
# The limit is per key: the second notification is for the new key.
[ "$(ntf)" -ge 2 ] || fail "only $(ntf) KEY_LIMIT notifications on the sender"
grep -q "key limit reached (phase 0)" "$D/b.log" &&
	grep -q "key limit reached (phase 1)" "$D/b.log" ||
	fail "the limit did not apply to the new key too"
all_done || fail "notifications without rekeys"
[ "$(rekeyed a)" -ge 2 ] || fail "the primary saw $(rekeyed a) rekeys"
! grep -q "E40[12]" "$D/a.log" "$D/b.log" || fail "rekey failures logged"
kill -TERM "$PID_a" "$PID_b"
wait "$PID_a" || true
wait "$PID_b" || true
test -s "$D/ip-down.out" || fail "ip-down.d/50-record did not run"
grep -qx "sloop0 192.0.2.1:5653 0 10.9.0.2 10.9.0.1 office" "$D/ip-down.out" ||
	fail "ip-down.d arguments: $(head -n1 "$D/ip-down.out")"
grep -q "^BYTES_SENT=[1-9]" "$D/ip-down.out" || fail "ip-down.d: no BYTES_SENT"
grep -q "^CONNECT_TIME=" "$D/ip-down.out" || fail "ip-down.d: no CONNECT_TIME"
echo "sloopd-limits ok"
