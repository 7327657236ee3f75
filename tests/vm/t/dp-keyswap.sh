#!/bin/bash
# timeout: 240
# Hitless key swap: during an iperf3 UDP run (20 Mbit/s) the keys are
# replaced every second (or as fast as a loaded emulated VM allows), 20
# times, with the P3 order: the new key goes into the
# spare phase on the receiver first, then on the sender, then both swap
# to it, and the old phase is deleted after a grace period.  Zero lost
# packets (iperf3's own count on the receiving side) and zero sloop drops.
. "$SLOOP_SRC/tests/vm/lib.sh"
. "$SLOOP_SRC/tests/vm/dp-lib.sh"
set -e
dp_need sloopctl iperf3 jq python3

dp_pair aes256gcm 4
dp_ping a 10.99.0.2 3
# Loss must be sloop's, not a too-small socket buffer in an emulated VM.
sysctl -qw net.core.rmem_max=8388608 net.core.wmem_max=8388608

# Every process start costs about half a second in the emulated VM under
# load, so the loop below forks nothing: one `sloopctl batch` per side
# takes the commands over a FIFO and answers each once it is applied, the
# key material is made up front, and time and sleeps are bash builtins.
rounds=20
hex=$(od -An -tx1 -N$(( rounds * 72 )) /dev/urandom | tr -d ' \n')
mkfifo "$DP_RUN/a.in" "$DP_RUN/a.out" "$DP_RUN/b.in" "$DP_RUN/b.out" "$DP_RUN/idle"
exec {ain}<>"$DP_RUN/a.in" {aout}<>"$DP_RUN/a.out" \
	{bin}<>"$DP_RUN/b.in" {bout}<>"$DP_RUN/b.out" {idle}<>"$DP_RUN/idle"
dp_bg a sloopctl batch <&"$ain" >&"$aout" 2> "$DP_RUN/batch-a.err"
dp_bg b sloopctl batch <&"$bin" >&"$bout" 2> "$DP_RUN/batch-b.err"

# say IN OUT LINE: one command to a batch, and its answer.
say() {
	local in=$1 out=$2 reply
	shift 2
	printf '%s\n' "$*" >&"$in"
	read -r -t 30 -u "$out" reply ||
		fail "no answer to '$1 $2 $3 $4 $5 $6' (stderr: $(cat "$DP_RUN"/batch-*.err))"
	[ "$reply" = ok ] ||
		fail "refused: '$1 $2 $3 $4 $5 $6': $(cat "$DP_RUN"/batch-*.err)"
}

nap() {
	read -r -t "$1" -u "$idle" _ || true
}

# A swap takes up to 3 s on the KASAN kernel under load: the run must
# outlast all 20 of them there too (the loop stops swapping at 20).
secs=45
debug_kernel && secs=180
dp_iperf_server b 10.99.0.2
ip netns exec a iperf3 -c 10.99.0.2 -u -b 8M -l 1200 -w 4M -t "$secs" \
	--json > "$DP_RUN/client.json" 2>&1 &
client=$!
DP_PIDS+=("$client")

phase=0
swaps=0
slow=0
t_start=${EPOCHREALTIME/./}
while kill -0 "$client" 2>/dev/null && [ "$swaps" -lt "$rounds" ]; do
	t0=${EPOCHREALTIME/./}
	new=$(( 1 - phase ))
	o=$(( swaps * 144 ))
	abk=${hex:o:64} abs=${hex:o+64:8} bak=${hex:o+72:64} bas=${hex:o+136:8}
	id=$(( swaps + 2 ))
	# the receiver (b) first, then the sender installs and swaps
	say "$bin" "$bout" set sloop0 peer 1 key "$new" tx-key "$bak" tx-salt "$bas" \
		rx-key "$abk" rx-salt "$abs" id "$id"
	say "$ain" "$aout" set sloop0 peer 2 key "$new" tx-key "$abk" tx-salt "$abs" \
		rx-key "$bak" rx-salt "$bas" id "$id" swap "$new"
	say "$bin" "$bout" set sloop0 peer 1 swap "$new"
	nap 0.3		# grace: stragglers under the old key still decrypt
	say "$ain" "$aout" set sloop0 peer 2 del-key "$phase"
	say "$bin" "$bout" set sloop0 peer 1 del-key "$phase"
	phase=$new
	swaps=$(( swaps + 1 ))
	left=$(( 1000000 - (${EPOCHREALTIME/./} - t0) ))
	if [ "$left" -gt 0 ]; then
		printf -v frac '%06d' "$left"
		nap "0.$frac"
	else
		slow=$(( slow + 1 ))
	fi
done
echo "swaps took $(( (${EPOCHREALTIME/./} - t_start) / 1000 )) ms"
wait "$client" || fail "iperf3 client failed: $(cat "$DP_RUN/client.json")"
wait "$DP_IPERF_PID" || true
echo "key swaps during the run: $swaps ($slow took longer than a second)"
[ "$swaps" = "$rounds" ] || fail "only $swaps of $rounds swaps happened during the run"

read -r packets lost < <(jq -r '"\(.end.sum.packets) \(.end.sum.lost_packets)"' "$DP_IPERF_OUT")
for ns in a b; do
	echo "$ns: $(dp_json "$ns" sloop0 | jq -c '.devices[0].stats')"
done
echo "lost per second: $(jq -c '[.intervals[].sum.lost_packets]' "$DP_IPERF_OUT")"
echo "UDP on b: $(ip netns exec b awk '/^Udp:/' /proc/net/snmp | tail -n 1)"
echo "iperf3 receiver: $packets packets, $lost lost"
[ "$packets" -gt 1000 ] 2>/dev/null || fail "too few packets arrived: $(cat "$DP_IPERF_OUT")"
[ "$lost" = 0 ] || fail "$lost packets lost across $swaps key swaps"

for ns in a b; do
	d=$(dp_drops "$ns" sloop0)
	[ "$d" = 0 ] || fail "sloop drops on $ns: $(dp_json "$ns" sloop0)"
done
j=$(dp_json a sloop0)
[ "$(echo "$j" | jq '.devices[0].peers[0].tx_phase')" = "$phase" ] ||
	fail "a does not send with phase $phase: $j"
[ "$(echo "$j" | jq '.devices[0].peers[0].keys | length')" = 1 ] ||
	fail "old key not deleted on a: $j"
ip netns exec a sloopctl show sloop0
echo "dp-keyswap ok"
