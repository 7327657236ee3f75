#!/bin/bash
# The sloopd benchmark, run inside one VM (second stage of tests/bench/run):
#  - time from starting the secondary sloopd to its link being up (its
#    ip-up script stamps the time) and to the first ping answered through
#    the tunnel, over several runs;
#  - the handshake round trip on the wire (initiation out, response back,
#    tcpdump timestamps on the secondary's veth);
#  - the cost of rekeys under load: an iperf3 UDP stream and ping -i 0.05
#    while `sloopctl rekey` forces a rekey every REKEY_EVERY seconds;
#    iperf3's lost packets and the ping RTTs near rekeys against the rest.
# It prints figures and asserts nothing.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -u
RUNS=${BENCH_RUNS:-5}
LOAD=${BENCH_SECONDS:-20}
REKEY_EVERY=${BENCH_REKEY_EVERY:-2}
RATE=${BENCH_RATE:-10M}
D=/tmp/sloopd-bench
rm -rf "$D"
mkdir -p "$D"
umask 077
out=$SLOOP_OUT/bench.txt
: > "$out"

say() { echo "$*" | tee -a "$out"; }
two_lines() { [ "$(wc -l < "$1")" -ge 2 ]; }
now() { date +%s.%N; }

netns_pair a b
modprobe aesni_intel 2>/dev/null
for ns in a b; do
	ip -n $ns link add sloop0 type sloop
done
sloopctl genkey > "$D/a.key"
sloopctl genkey > "$D/b.key"
A_PUB=$(sloopctl pubkey < "$D/a.key")
B_PUB=$(sloopctl pubkey < "$D/b.key")
cat > "$D/ip-up" <<EOF
#!/bin/sh
date +%s.%N >> "$D/up.\$LINKNAME"
EOF
chmod 700 "$D/ip-up"
opts() {
	local f=$D/$1.opts
	shift
	printf '%s\n' "$@" > "$f"
	chmod 600 "$f"
}
# rekey-interval also sets the grace period of old keys (interval/4,
# at most 10 s), and a forced rekey waits for it: 8 s keeps forced rekeys
# every 2 s possible (the timer adds one every 8 s).
common=("nodetach" "rekey-interval 8s" "rekey-jitter 0" "ip-up $D/ip-up" "ip-down /bin/true")
opts a "role primary" "key $D/a.key" "listen 5653" "local 10.9.0.1" \
	"remote 10.9.0.2" "linkname pri" "logfile $D/a.log" \
	"peer sec pubkey $B_PUB subnets 10.9.0.2/32" "${common[@]}"
opts b "role secondary" "key $D/b.key" "listen 5654" "local 10.9.0.2" \
	"remote 10.9.0.1" "linkname sec" "persist" "logfile $D/b.log" \
	"primary 192.0.2.1:5653 pubkey $A_PUB subnets 10.9.0.1/32" \
	"${common[@]}"

ip netns exec a sloopd sloop0 file "$D/a.opts" > "$D/a.out" 2>&1 &
PID_a=$!
wait_for 30 test -S /run/sloop/pri.sock || { say "primary did not start"; exit 0; }

# median and max of numbers on stdin, in ms with 1 decimal
stats() { python3 -c '
import sys, statistics
v = [float(x) for x in sys.stdin.read().split()]
if not v:
    print("n/a n/a n/a")
else:
    print("%.1f %.1f %.1f" % (statistics.median(v), min(v), max(v)))'; }

# ---- start to link up, start to first packet, handshake round trip
: > "$D/t_up"; : > "$D/t_first"; : > "$D/t_rtt"
for i in $(seq 1 "$RUNS"); do
	rm -f "$D/up.sec"
	ip netns exec b tcpdump -i vb -n -tt -l -c 2 \
		'udp port 5653 and (udp[4:2] = 160 or udp[4:2] = 104)' \
		> "$D/hs.$i" 2>/dev/null &
	TD=$!
	sleep 1
	# Until sloopd addresses the device there is no route at all, so
	# ping is retried rather than left running.
	rm -f "$D/first.$i"
	ip netns exec b bash -c "end=\$((SECONDS + 30))
		until ping -c 1 -W 0.3 -n -q 10.9.0.1 > /dev/null 2>&1; do
			[ \$SECONDS -lt \$end ] || exit 1
			sleep 0.01
		done
		date +%s.%N > $D/first.$i" &
	PING=$!
	t0=$(now)
	ip netns exec b sloopd sloop0 file "$D/b.opts" > "$D/b.out" 2>&1 &
	PID_b=$!
	wait_for 30 test -s "$D/up.sec"
	wait "$PING" 2>/dev/null
	wait_for 5 two_lines "$D/hs.$i"
	kill "$TD" 2>/dev/null; wait "$TD" 2>/dev/null
	python3 - "$t0" "$D/up.sec" "$D/first.$i" "$D/hs.$i" >> "$D/runs" <<'PY'
import re, sys
t0 = float(sys.argv[1])
up = open(sys.argv[2]).read().split()
try:
    first = float(open(sys.argv[3]).read())
except Exception:
    first = None
ini = rsp = None
for line in open(sys.argv[4]):
    m = re.match(r"(\d+\.\d+) IP \S+ > (\S+): UDP, length (\d+)", line)
    if not m:
        continue
    if m.group(3) == "152" and ini is None:
        ini = float(m.group(1))
    elif m.group(3) == "96" and ini is not None and rsp is None:
        rsp = float(m.group(1))
ms = lambda a, b: "%.1f" % ((a - b) * 1000) if a is not None and b is not None else "nan"
print(ms(float(up[0]) if up else None, t0), ms(first, t0), ms(rsp, ini))
PY
	kill -TERM "$PID_b"; wait "$PID_b" 2>/dev/null
	# The primary notices the SHUTDOWN; give it a moment.
	sleep 1
done
awk '$1 != "nan" { print $1 }' "$D/runs" > "$D/t_up"
awk '$2 != "nan" { print $2 }' "$D/runs" > "$D/t_first"
awk '$3 != "nan" { print $3 }' "$D/runs" > "$D/t_rtt"

say "== sloopd benchmark: $RUNS starts, kernel $(uname -r), $(nproc) vCPUs"
say "$(printf '%-40s %10s %10s %10s  %s\n' "figure" "median" "min" "max" "(ms, runs)")"
row() { read -r med mn mx < <(stats < "$2"); say "$(printf '%-40s %10s %10s %10s  %s' "$1" "$med" "$mn" "$mx" "$(wc -l < "$2")")"; }
row "sloopd start -> link up (ip-up)" "$D/t_up"
row "sloopd start -> first ping answered" "$D/t_first"
row "handshake round trip on the wire" "$D/t_rtt"

# ---- rekeys under load
ip netns exec b sloopd sloop0 file "$D/b.opts" > "$D/b.out" 2>&1 &
PID_b=$!
wait_for 30 grep -q "link up" "$D/b.log"
sleep 1
ip netns exec a iperf3 -s -1 -J > "$D/iperf.json" 2>&1 &
IPERF=$!
sleep 1
ip netns exec b ping -D -n -i 0.05 -w $((LOAD + 2)) 10.9.0.1 > "$D/ping.load" 2>&1 &
PING=$!
ip netns exec b iperf3 -c 10.9.0.1 -u -b "$RATE" -l 1000 -t "$LOAD" \
	> "$D/iperf-client.txt" 2>&1 &
CLIENT=$!
: > "$D/rekeys"
before=$(grep -c "rekeyed" "$D/a.log")
sleep 1
end=$(( $(date +%s) + LOAD - 2 ))
while [ "$(date +%s)" -lt "$end" ]; do
	now >> "$D/rekeys"
	sloopctl rekey pri > /dev/null 2>&1
	sleep "$REKEY_EVERY"
done
wait "$CLIENT"; wait "$IPERF"; wait "$PING"
after=$(grep -c "rekeyed" "$D/a.log")
say "== rekeys under load: ${LOAD}s iperf3 UDP at $RATE, ping -i 0.05, sloopctl rekey every ${REKEY_EVERY}s"
python3 - "$D/iperf.json" "$D/ping.load" "$D/rekeys" "$((after - before))" >> "$out" <<'PY'
import json, re, statistics, sys
try:
    j = json.load(open(sys.argv[1]))["end"]["sum"]
    lost, total = j["lost_packets"], j["packets"]
    # The UDP server's sum may lack bits_per_second; bytes/seconds do.
    bps = j.get("bits_per_second") or (
        j["bytes"] * 8 / j["seconds"] if j.get("bytes") and j.get("seconds") else 0)
    mbit = bps / 1e6 if bps else None
except Exception:
    lost = total = mbit = None
rekeys = [float(x) for x in open(sys.argv[3]).read().split()]
pings = []
for line in open(sys.argv[2]):
    m = re.match(r"\[(\d+\.\d+)\] .* time=([\d.]+) ms", line)
    if m:
        pings.append((float(m.group(1)), float(m.group(2))))
sent = [l for l in open(sys.argv[2]) if "packets transmitted" in l]
near = [r for t, r in pings if any(0 <= t - k < 1.0 for k in rekeys)]
far = [r for t, r in pings if not any(0 <= t - k < 1.0 for k in rekeys)]
f = lambda v, g: "%.1f" % g(v) if v else "n/a"
print("%-40s %s" % ("forced rekeys / all completed (primary log)", "%d / %s" % (len(rekeys), sys.argv[4])))
print("%-40s %s" % ("iperf3 packets lost / sent", "%s / %s" % (lost, total)))
print("%-40s %s" % ("iperf3 throughput (Mbit/s)", "%.1f" % mbit if mbit else "n/a"))
print("%-40s %s" % ("ping", sent[0].strip() if sent else "n/a"))
print("%-40s %s" % ("ping RTT median, all (ms)", f([r for _, r in pings], statistics.median)))
print("%-40s %s" % ("ping RTT max, all (ms)", f([r for _, r in pings], max)))
print("%-40s %s" % ("ping RTT median, <1 s after a rekey (ms)", f(near, statistics.median)))
print("%-40s %s" % ("ping RTT max, <1 s after a rekey (ms)", f(near, max)))
print("%-40s %s" % ("ping RTT median, elsewhere (ms)", f(far, statistics.median)))
print("%-40s %s" % ("ping RTT max, elsewhere (ms)", f(far, max)))
PY
kill -TERM "$PID_b" "$PID_a" 2>/dev/null
wait "$PID_b" "$PID_a" 2>/dev/null
echo
cat "$out"
exit 0
