#!/bin/bash
# timeout: 420
# Two namespaces, a sloop device in each, brought up by two sloopd from
# option files (keys 0600 root): the handshake installs keys and peers,
# ip-up runs with pppd-style arguments, ping passes both ways.  Then a
# rekey every 2 s during an iperf3 UDP run must lose no packet, and the
# outer packets keep their receiver index.  A group-readable key is
# refused with its reason code; SIGTERM exits 5 and runs ip-down.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e

D=/tmp/sloopd-link
sloopd_pair "$D"

# Scripts record their arguments and environment.
for s in ip-up ip-down; do
	cat > "$D/$s" <<EOF
#!/bin/sh
echo "\$0 \$*" >> "$D/\$LINKNAME.$s"
env | sort >> "$D/\$LINKNAME.$s"
EOF
	chmod 700 "$D/$s"
done

# opts NAME ROLE-LINES... : an option file
opts() {
	local f=$D/$1.opts
	shift
	printf '%s\n' "$@" > "$f"
	chmod 600 "$f"
}

common=("nodetach" "rekey-interval ${REKEY:-2s}" "rekey-jitter 0"
	"ip-up $D/ip-up" "ip-down $D/ip-down" "logfile $D/LOG" "debug")
opts a "role primary" "key $D/a.key" "listen 5653" "local 10.9.0.1" \
	"remote 10.9.0.2" "linkname pri" \
	"peer sec pubkey $B_PUB subnets 10.9.0.2/32" "${common[@]}"
opts b "role secondary" "key $D/b.key" "listen 5654" "local 10.9.0.2" \
	"remote 10.9.0.1" "linkname sec" "persist" \
	"primary 192.0.2.1:5653 pubkey $A_PUB subnets 10.9.0.1/32" \
	"${common[@]}"
sed -i "s|LOG|a.log|" "$D/a.opts"
sed -i "s|LOG|b.log|" "$D/b.opts"

start() {
	ip netns exec "$1" sloopd sloop0 file "$D/$1.opts" \
		> "$D/$1.out" 2>&1 &
	eval "PID_$1=$!"
}

note "bring-up"
start a
start b
wait_for 30 test -s "$D/pri.ip-up" ||
	fail "no ip-up on the primary: $(cat "$D"/a.out "$D"/a.log)"
wait_for 30 test -s "$D/sec.ip-up" ||
	fail "no ip-up on the secondary: $(cat "$D"/b.out "$D"/b.log)"
head -n1 "$D/sec.ip-up"
grep -q "^$D/ip-up sloop0 192.0.2.1:5653 0 10.9.0.2 10.9.0.1 sec$" "$D/sec.ip-up" ||
	fail "ip-up arguments: $(head -n1 "$D/sec.ip-up")"
grep -q '^IPREMOTE=10.9.0.1$' "$D/sec.ip-up" || fail "ip-up environment"
grep -q '^PEERNAME=sec$' "$D/pri.ip-up" || fail "ip-up environment (primary)"
! grep -q '^HOME=' "$D/sec.ip-up" || fail "ip-up environment not cleared"

note "ping"
must ip netns exec b ping -c 3 -W 2 10.9.0.1
must ip netns exec a ping -c 3 -W 2 10.9.0.2

note "iperf3 with a rekey every 2 s"
ip netns exec a iperf3 -s -1 -J > "$D/iperf.json" 2>&1 &
IPERF=$!
sleep 1
ip netns exec a tcpdump -n -i va -c 4000 -w "$D/cap.pcap" udp port 5653 \
	> /dev/null 2>&1 &
TCPDUMP=$!
before_a=$(grep -c "rekeyed" "$D/a.log" || true)
ip netns exec b iperf3 -c 10.9.0.1 -u -b ${IPERF_RATE:-2M} -l 1000 -t ${IPERF_TIME:-20} \
	> "$D/iperf-client.txt" 2>&1 || fail "iperf3: $(cat "$D/iperf-client.txt")"
wait "$IPERF" || true
kill "$TCPDUMP" 2>/dev/null || true
after_a=$(grep -c "rekeyed" "$D/a.log" || true)
rekeys=$((after_a - before_a))
echo "rekeys on the primary during iperf3: $rekeys"
[ "$rekeys" -ge 5 ] || fail "only $rekeys rekeys: $(tail -n 30 "$D/a.log")"
for ns in a b; do
	echo "$ns: $(ip netns exec $ns sloopctl show sloop0 --json | jq -c '.devices[0].stats')"
	ip netns exec $ns nstat -az 2>/dev/null | grep -E 'Udp(InErrors|RcvbufErrors|SndbufErrors)' || true
	ip -n $ns -s link show sloop0 | sed -n '3,6p'
done
ip -n a -s link show va | sed -n '3,6p'
ip -n b -s link show vb | sed -n '3,6p'
ip netns exec a cat /proc/net/softnet_stat | awk '{ print "softnet dropped:", $2 }' 
jq -r '.intervals[] | "\(.sum.start|floor)s lost \(.sum.lost_packets) of \(.sum.packets)"' \
	"$D/iperf.json" | grep -v ' lost 0 ' || true
grep -E "rekeyed|E4" "$D/a.log" | head -n 30
for ns in a b; do
	bad=$(ip netns exec $ns sloopctl show sloop0 --json |
		jq '.devices[0].stats | .drop_no_key + .drop_bad_auth + .drop_replay')
	[ "$bad" = 0 ] || fail "$ns dropped $bad packets (no key, bad auth, replay)"
done
lost=$(jq '.end.sum.lost_packets' "$D/iperf.json")
total=$(jq '.end.sum.packets' "$D/iperf.json")
echo "iperf3: $total packets, $lost lost"
[ "$total" -gt 1000 ] || fail "iperf3 moved too little: $(cat "$D/iperf.json")"
[ "$lost" = 0 ] || fail "$lost packets lost across rekeys"
! grep -q "E40[12]" "$D/a.log" "$D/b.log" || fail "rekey failures logged"

# Outer packets to the primary: one receiver index across all the
# rekeys, and every transport length a multiple of 16 plus the overhead.
python3 - "$D/cap.pcap" <<'PY' || fail "wire check failed"
import struct, sys
data = open(sys.argv[1], "rb").read()
link = struct.unpack("<I", data[20:24])[0]
off, idx, lens, n = 24, set(), set(), 0
while off + 16 <= len(data):
    incl = struct.unpack("<I", data[off + 8:off + 12])[0]
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if link == 1:
        pkt = pkt[14:]
    ihl = (pkt[0] & 15) * 4 if pkt[0] >> 4 == 4 else 40
    udp = pkt[ihl:]
    if struct.unpack(">H", udp[2:4])[0] != 5653:
        continue
    pl = udp[8:]
    if pl and pl[0] & 0xc0 == 0x40:
        n += 1
        idx.add(pl[1:5])
        lens.add((len(pl) - 29) % 16)
print("transport packets to the primary:", n, "indices:", len(idx),
      "length residues:", sorted(lens))
sys.exit(0 if n > 500 and len(idx) == 1 and lens == {0} else 1)
PY

note "SIGTERM: exit 5, ip-down"
kill -TERM "$PID_b"
rc=0
wait "$PID_b" || rc=$?
[ "$rc" = 5 ] || fail "secondary exited $rc, expected 5: $(tail "$D/b.log")"
wait_for 10 test -s "$D/sec.ip-down" || fail "no ip-down on the secondary"
grep -q '^BYTES_SENT=[1-9]' "$D/sec.ip-down" || fail "ip-down counters"
# The primary hears the SHUTDOWN and goes down too.
wait_for 10 test -s "$D/pri.ip-down" || fail "no ip-down on the primary"
kill -TERM "$PID_a"
wait "$PID_a" || true

note "a group-readable key is refused"
chmod 640 "$D/b.key"
rc=0
ip netns exec b sloopd sloop0 file "$D/b.opts" > "$D/refused.out" 2>&1 || rc=$?
cat "$D/refused.out"
[ "$rc" = 3 ] || fail "sloopd with a 0640 key exited $rc, expected 3"
grep -q "E201" "$D/refused.out" || fail "no E201 in the refusal"
echo "sloopd-link ok"
