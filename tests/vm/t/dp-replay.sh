#!/bin/bash
# timeout: 240
# Transport packets captured on the wire and re-injected later must be
# dropped after authentication and counted as replays: the replay counter
# rises by exactly the number re-sent, nothing is delivered a second time
# (peer rx counter and the ICMP echo counter stay put), and the peer's
# endpoint does not follow the replayed packets' source.
. "$SLOOP_SRC/tests/vm/lib.sh"
. "$SLOOP_SRC/tests/vm/dp-lib.sh"
set -e
dp_need sloopctl udpreplay tcpdump jq python3

in_echos() {
	ip netns exec "$1" awk '/^Icmp:/ { if (!h) { split($0, k); h = 1 }
		else { split($0, v); for (i in k) if (k[i] == "InEchos") print v[i] } }' \
		/proc/net/snmp
}

dp_pair aes256gcm 4
cap=$DP_RUN/transport.pcap
dp_bg b tcpdump -i vb -U -n -w "$cap" 'udp and dst host 192.0.2.2 and dst port 5653' \
	2> "$DP_RUN/tcpdump.log"
tcpd=$DP_BG_PID
wait_for 10 grep -q "listening on" "$DP_RUN/tcpdump.log" || fail "tcpdump did not start"
dp_ping a 10.99.0.2 20
sleep 1
kill -INT "$tcpd"
wait "$tcpd" || true
cat "$DP_RUN/tcpdump.log"

rx0=$(dp_peer_stat b sloop0 1 rx_packets)
rp0=$(dp_dev_stat b sloop0 drop_replay)
prp0=$(dp_peer_stat b sloop0 1 drop_replay)
ech0=$(in_echos b)
ep0=$(dp_json b sloop0 | jq -r '.devices[0].peers[0].endpoint')
note "before: rx $rx0, replay drops $rp0 (peer $prp0), InEchos $ech0, endpoint $ep0"

sleep 2	# "later"
out=$(ip netns exec a udpreplay "$cap" 5653 192.0.2.2:5653 --transport-only) ||
	fail "udpreplay failed: $out"
echo "$out"
n=${out#replayed }
[ "$n" -ge 20 ] || fail "only $n transport packets in the capture, expected >= 20"
sleep 1

rx1=$(dp_peer_stat b sloop0 1 rx_packets)
rp1=$(dp_dev_stat b sloop0 drop_replay)
prp1=$(dp_peer_stat b sloop0 1 drop_replay)
ech1=$(in_echos b)
ep1=$(dp_json b sloop0 | jq -r '.devices[0].peers[0].endpoint')
note "after: rx $rx1, replay drops $rp1 (peer $prp1), InEchos $ech1, endpoint $ep1"
[ $(( rp1 - rp0 )) = "$n" ] || fail "device replay drops rose by $(( rp1 - rp0 )), expected $n"
[ $(( prp1 - prp0 )) = "$n" ] || fail "peer replay drops rose by $(( prp1 - prp0 )), expected $n"
[ "$rx1" = "$rx0" ] || fail "replayed packets counted as received: rx $rx0 -> $rx1"
[ "$ech1" = "$ech0" ] || fail "replayed echo requests were delivered: InEchos $ech0 -> $ech1"
[ "$ep1" = "$ep0" ] || fail "endpoint followed replayed packets: $ep0 -> $ep1"

note "the tunnel still works after the replay"
dp_ping a 10.99.0.2 3
echo "dp-replay ok"
