#!/bin/bash
# The data-path benchmark, run inside one VM (tests/bench/run): iperf3
# single-stream TCP throughput and ping latency between two namespaces over
# plain veth, WireGuard, IPsec ESP-in-UDP (AES-256-GCM), sloop with
# AES-256-GCM and with ChaCha20-Poly1305, and the AEADs' own speed from
# tcrypt, all in the same boot so that only ratios are compared.  The paths
# are measured in BENCH_ROUNDS interleaved rounds (tcrypt before the first
# and after the last), so that a host that speeds up or slows down during
# the run moves every path alike; table.py reports medians.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -u
DUR=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
res=$SLOOP_OUT/bench.jsonl
: > "$res"

hexkey() { head -c "$1" /dev/urandom | od -An -tx1 -v | tr -d ' \n'; }

record() { # name round mbit ping_ms busy
	printf '{"path":"%s","round":%s,"mbit":%s,"ping_ms":%s,"busy":%s}\n' "$1" "$2" "${3:-null}" "${4:-null}" "${5:-null}" >> "$res"
	printf '%-28s round %s %10s Mbit/s  %8s ms  %5s%% busy\n' "$1" "$2" "${3:-n/a}" "${4:-n/a}" "${5:-n/a}"
}

# cpu_snap: wall-clock seconds and the "cpu" line of /proc/stat.
cpu_snap() { echo "$(cut -d' ' -f1 /proc/uptime) $(head -n1 /proc/stat)"; }

# busy_between A B: the share of all vCPUs' time that was not idle between
# two cpu_snap lines, in percent.  Idle time is measured at idle entry and
# exit, busy time only by ticks, which an emulated vCPU starved by the host
# loses: so busy is what wall time leaves over from idle.
busy_between() {
	python3 - "$1" "$2" "$(nproc)" "$(getconf CLK_TCK)" <<'PY'
import sys
a, b = (s.split() for s in sys.argv[1:3])
ncpu, hz = int(sys.argv[3]), int(sys.argv[4])
wall = float(b[0]) - float(a[0])
idle = sum(int(b[i]) - int(a[i]) for i in (5, 6)) / hz  # idle, iowait
print("%.1f" % max(0.0, 100.0 * (1 - idle / max(wall * ncpu, 1e-9))))
PY
}

# measure NAME ROUND NS_FROM NS_TO DST: iperf3 from one namespace to the
# other (with the CPU load), then ping.
measure() {
	local name=$1 round=$2 from=$3 to=$4 dst=$5 mbit rtt
	ip netns exec "$to" iperf3 -s -1 -D -B "$dst" >/dev/null 2>&1
	sleep 0.5
	ip netns exec "$from" iperf3 -c "$dst" -t "$DUR" -J > /tmp/bench-iperf.json 2>/dev/null &
	local ipid=$! s0 s1
	# The CPU load in the steady middle of the run, not its ramp.
	sleep 1
	s0=$(cpu_snap)
	sleep $((DUR > 3 ? DUR - 2 : 1))
	s1=$(cpu_snap)
	wait $ipid
	mbit=$(python3 -c '
import json, sys
try:
    print("%.1f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    print("null")' /tmp/bench-iperf.json)
	rtt=$(ip netns exec "$from" ping -c 20 -i 0.05 -q "$dst" 2>/dev/null |
		sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p')
	pkill -x iperf3 2>/dev/null
	record "$name" "$round" "$mbit" "${rtt:-null}" "$(busy_between "$s0" "$s1")"
}

setup_veth() {
	netns_pair a b 192.0.2 2001:db8:1
	modprobe aesni_intel 2>/dev/null
}

setup_wireguard() {
	local ka kb
	ka=$(wg genkey); kb=$(wg genkey)
	ip -n a link add wg0 type wireguard
	ip -n b link add wg0 type wireguard
	ip netns exec a wg set wg0 private-key <(echo "$ka") listen-port 51820 \
		peer "$(echo "$kb" | wg pubkey)" allowed-ips 10.0.1.2/32 endpoint 192.0.2.2:51820
	ip netns exec b wg set wg0 private-key <(echo "$kb") listen-port 51820 \
		peer "$(echo "$ka" | wg pubkey)" allowed-ips 10.0.1.1/32 endpoint 192.0.2.1:51820
	ip -n a addr add 10.0.1.1/24 dev wg0
	ip -n b addr add 10.0.1.2/24 dev wg0
	ip -n a link set wg0 up
	ip -n b link set wg0 up
}

# ESP in UDP needs a UDP socket with UDP_ENCAP_ESPINUDP on port 4500 in
# each namespace, as an IKE daemon would hold.
espinudp_socket() {
	ip netns exec "$1" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_UDP, 100, 2)  # UDP_ENCAP, UDP_ENCAP_ESPINUDP
s.bind(("0.0.0.0", 4500))
time.sleep(100000)' &
}

# IPsec gets namespaces c and d of its own, so that its policies do not
# put an xfrm lookup on every other path's packets.
setup_ipsec() {
	local k1 k2 ns u=198.51.100
	netns_pair c d $u 2001:db8:2
	k1=0x$(hexkey 36); k2=0x$(hexkey 36)
	for ns in c d; do
		ip -n $ns xfrm state add src $u.1 dst $u.2 proto esp spi 0x1001 reqid 1 \
			mode tunnel aead 'rfc4106(gcm(aes))' "$k1" 128 encap espinudp 4500 4500 0.0.0.0
		ip -n $ns xfrm state add src $u.2 dst $u.1 proto esp spi 0x1002 reqid 2 \
			mode tunnel aead 'rfc4106(gcm(aes))' "$k2" 128 encap espinudp 4500 4500 0.0.0.0
		espinudp_socket $ns
	done
	ip -n c xfrm policy add src 10.0.2.1 dst 10.0.2.2 dir out \
		tmpl src $u.1 dst $u.2 proto esp reqid 1 mode tunnel
	ip -n c xfrm policy add src 10.0.2.2 dst 10.0.2.1 dir in \
		tmpl src $u.2 dst $u.1 proto esp reqid 2 mode tunnel
	ip -n d xfrm policy add src 10.0.2.2 dst 10.0.2.1 dir out \
		tmpl src $u.2 dst $u.1 proto esp reqid 2 mode tunnel
	ip -n d xfrm policy add src 10.0.2.1 dst 10.0.2.2 dir in \
		tmpl src $u.1 dst $u.2 proto esp reqid 1 mode tunnel
	ip -n c addr add 10.0.2.1/32 dev lo
	ip -n d addr add 10.0.2.2/32 dev lo
	ip -n c route add 10.0.2.2/32 dev vc src 10.0.2.1
	ip -n d route add 10.0.2.1/32 dev vd src 10.0.2.2
	sleep 1
}

# sloop with keys installed directly (no daemon yet): sloopctl attach
# holds each device, sloopctl set installs the peer and a key in phase 0.
setup_sloop() {
	local cipher=$1 dev=$2 net=$3 len=32 kab kba sab sba hab hba
	[ "$cipher" = aes128gcm ] && len=16
	kab=$(hexkey $len); kba=$(hexkey $len); sab=$(hexkey 4); sba=$(hexkey 4)
	hab=$(hexkey $len); hba=$(hexkey $len)
	ip -n a link add "$dev" type sloop
	ip -n b link add "$dev" type sloop
	ip netns exec a sloopctl attach "$dev" port "$4" --ready-file /tmp/ra-$dev > /dev/null &
	ip netns exec b sloopctl attach "$dev" port "$4" --ready-file /tmp/rb-$dev > /dev/null &
	wait_for 20 test -e /tmp/ra-$dev -a -e /tmp/rb-$dev || { echo "sloopctl attach did not come up"; return 1; }
	ip netns exec a sloopctl set "$dev" peer 1 endpoint "192.0.2.2:$4" rx-index 100 tx-index 200 \
		cipher "$cipher" hp-tx-key "$hab" hp-rx-key "$hba" subnets "$net.2/32" \
		key 0 tx-key "$kab" tx-salt "$sab" rx-key "$kba" rx-salt "$sba" swap 0 || return 1
	ip netns exec b sloopctl set "$dev" peer 1 endpoint "192.0.2.1:$4" rx-index 200 tx-index 100 \
		cipher "$cipher" hp-tx-key "$hba" hp-rx-key "$hab" subnets "$net.1/32" \
		key 0 tx-key "$kba" tx-salt "$sba" rx-key "$kab" rx-salt "$sab" swap 0 || return 1
	ip -n a addr add "$net.1/24" dev "$dev"
	ip -n b addr add "$net.2/24" dev "$dev"
	ip -n a link set "$dev" up
	ip -n b link set "$dev" up
}

# tcrypt prints "N operations in 1 seconds (B bytes)" per block size;
# keep the 1420-byte figures (bytes/s on one vCPU).
tcrypt_speed() {
	dmesg -C
	modprobe tcrypt mode="$1" sec=1 2>/dev/null
	dmesg | python3 -c '
import re, sys, json
alg = None
out = {}
for line in sys.stdin:
    m = re.search(r"testing speed of (\S+) \((\S+)\) (encryption|decryption)", line)
    if m:
        alg = (m.group(1), m.group(2), m.group(3))
        continue
    m = re.search(r"\((\d+) bit key, 1420 byte blocks\): (\d+) operations in (\d+) seconds \((\d+) bytes\)", line)
    if m and alg:
        key = "%s %s %s %s" % (alg[0], m.group(1), alg[2], alg[1])
        out[key] = int(m.group(4)) / int(m.group(3))
for k, v in out.items():
    print(json.dumps({"tcrypt": k, "bytes_per_s": v}))' >> "$res"
}

echo "== benchmark: ${DUR}s iperf3 per path, $ROUNDS rounds, $(nproc) vCPUs, kernel $(uname -r)"
# Each path: name, namespaces from and to, destination; set up once.
paths=("veth a b 192.0.2.2")
setup_veth
setup_wireguard && paths+=("wireguard a b 10.0.1.2")
setup_ipsec && paths+=("ipsec-esp-udp-aes256gcm c d 10.0.2.2")
setup_sloop aes256gcm sloop0 10.0.3 5653 && paths+=("sloop-aes256gcm a b 10.0.3.2")
setup_sloop chacha20poly1305 sloop1 10.0.4 5654 && paths+=("sloop-chacha20poly1305 a b 10.0.4.2")
echo "== tcrypt (1420-byte blocks), before the rounds"
tcrypt_speed 211
tcrypt_speed 213
for round in $(seq 1 "$ROUNDS"); do
	for p in "${paths[@]}"; do
		# shellcheck disable=SC2086
		measure ${p%% *} "$round" ${p#* }
	done
done
echo "== tcrypt (1420-byte blocks), after the rounds"
tcrypt_speed 211
tcrypt_speed 213
grep tcrypt "$res" | grep -E '"gcm\(aes\) 256|rfc7539esp' || true
echo "{\"vcpus\": $(nproc)}" >> "$res"
python3 "$SLOOP_SRC/tests/bench/table.py" "$res" | tee "$SLOOP_OUT/bench.txt"

# The background holders (ESP-in-UDP sockets, sloopctl attach) share this
# script's output pipe: stop them, or the console stream never ends.
for ns in $(ip netns list | awk '{print $1}'); do
	ip netns pids "$ns" | xargs -r kill 2>/dev/null
done
wait 2>/dev/null
exit 0
