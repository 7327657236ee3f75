#!/bin/bash
# timeout: 400
# Hostile UDP at the sloop port: 100 000 random payloads, then truncated,
# random-length and oversized (fragmented, up to 65507 bytes) payloads
# that start with the transport type and the real receiver index.  No
# crash (dmesg is checked by the harness); every payload that looks like
# transport is consumed by the kernel and counted as a drop, everything
# else falls through to the owner's socket (or overflows its buffer,
# counted by UDP itself).  Then a packet with an inner source outside the
# sending peer's subnets is dropped and counted as a bad source.
. "$SLOOP_SRC/tests/vm/lib.sh"
. "$SLOOP_SRC/tests/vm/dp-lib.sh"
set -e
dp_need sloopctl udpspray jq python3

udp_stat() {
	ip netns exec "$1" awk -v want="$2" '/^Udp:/ { if (!h) { split($0, k); h = 1 }
		else { split($0, v); for (i in k) if (k[i] == want) print v[i] } }' \
		/proc/net/snmp
}

dp_pair aes256gcm 4
dp_ping a 10.99.0.2 2
drops0=$(dp_drops b sloop0)
rcvbuf0=$(udp_stat b RcvbufErrors)
ip netns exec b sloopctl show sloop0

note "100 000 random payloads"
out=$(ip netns exec a udpspray 192.0.2.2:5653 random --count 100000 --seed 7) ||
	fail "udpspray failed: $out"
echo "$out"
read -r _ _ _ t1 _ o1 <<< "$out"

note "transport-looking payloads with the real receiver index"
out=$(ip netns exec a udpspray 192.0.2.2:5653 edge --count 3000 --seed 9 --index "$DP_IDX_B") ||
	fail "udpspray edge failed: $out"
echo "$out"
read -r _ _ _ t2 _ o2 <<< "$out"
sleep 2

drops1=$(dp_drops b sloop0)
j=$(dp_json b sloop0)
echo "$j" | jq -c '.devices[0].stats'
want=$(( t1 + t2 ))
[ $(( drops1 - drops0 )) = "$want" ] ||
	fail "kernel drop counters rose by $(( drops1 - drops0 )), expected $want (every transport-looking payload)"
for k in drop_bad_auth drop_malformed drop_no_peer; do
	[ "$(echo "$j" | jq ".devices[0].stats.$k // 0")" -gt 0 ] ||
		fail "$k did not count anything: $j"
done
dp_ping a 10.99.0.2 3
[ "$(dp_drops a sloop0)" = 0 ] || fail "drops on the sending side: $(dp_json a sloop0)"

note "wrong inner source: peer 1 on b no longer owns 10.99.0.1"
bs0=$(dp_dev_stat b sloop0 drop_bad_src)
must ip netns exec b sloopctl set sloop0 peer 1 replace-subnets subnets 10.98.0.0/24
ip netns exec b sloopctl show sloop0
ip netns exec a ping -c 3 -i 0.3 -W 1 10.99.0.2 >/dev/null 2>&1 &&
	fail "b answered pings from a source peer 1 does not own"
bs1=$(dp_dev_stat b sloop0 drop_bad_src)
pbs1=$(dp_peer_stat b sloop0 1 drop_bad_src)
[ $(( bs1 - bs0 )) -ge 3 ] || fail "drop_bad_src rose by $(( bs1 - bs0 )), expected >= 3"
echo "bad-source drops: device $bs0 -> $bs1, peer $pbs1"
must ip netns exec b sloopctl set sloop0 peer 1 replace-subnets subnets 10.99.0.1/32,fd99::1/128
dp_ping a 10.99.0.2 3

note "non-transport payloads fell through to the owner's socket"
kill -TERM "$DP_ATTACH_B"
wait "$DP_ATTACH_B" || true
cat "$DP_RUN/attach-b-sloop0.log"
pt=$(sed -n 's/.*: \([0-9]*\) packets fell through.*/\1/p' "$DP_RUN/attach-b-sloop0.log")
rcvbuf1=$(udp_stat b RcvbufErrors)
[ -n "$pt" ] || fail "no fall-through count from sloopctl attach"
echo "fell through: $pt, socket buffer overflows: $(( rcvbuf1 - rcvbuf0 )), sent non-transport: $(( o1 + o2 ))"
[ $(( pt + rcvbuf1 - rcvbuf0 )) = $(( o1 + o2 )) ] ||
	fail "non-transport payloads unaccounted for"
echo "dp-garbage ok"
