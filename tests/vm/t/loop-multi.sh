#!/bin/bash
# timeout: 600
# One device in two loops, and the two kept apart.  Device A (one key)
# runs two sloopd: "A" on sloop1 in loop home and "Aw" on sloop2 in loop
# work.  B joins home (auto-approve); C and D join work, where the
# operator approves C and rejects D with sloopctl.  Both of A's broker connections stay
# up side by side; members meet through CONNECT and a rendezvous; A
# reaches both loops.  With forwarding on in A and routes into the other
# loop's range on B and C, nothing crosses: no packet from B reaches C or
# A's work address, none from C reaches B, and A's devices do not carry
# them.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -u

D=/tmp/loop-multi
DEVS="A B C D"
INSTS="Aw"
. "$SLOOP_SRC/tests/vm/t/loop.inc"

note "A founds home on sloop1 and work on sloop2, with one key"
member A A A sloop1 home found auto-approve
wait_for 60 has_addr A || fail "A has no home address: $(logs)"
member Aw A A sloop2 work found "listen 5654"
wait_for 60 has_addr Aw || fail "A has no work address: $(logs)"
echo "A is $(addr4 A) in home and $(addr4 Aw) in work"
[ "${A4:=$(addr4 A)}" != "$(addr4 Aw)" ] || fail "both loops gave A one address"

note "B joins home; C and D join work and wait for the operator"
code=$(invite A) || fail "no invitation for home: $code $(logs)"
member B B B sloop1 home "invite $code"
for m in C D; do
	out=$(sloopctl invite Aw) || fail "sloopctl invite Aw: $out $(logs)"
	code=${out#invite }
	member $m $m $m sloop1 work "invite $code"
done
wait_for 60 has_addr B || fail "B got no address: $(logs)"
wait_for 30 grep -q "device D .* waits for approval" "$D/Aw.log" ||
	fail "Aw was not told of D: $(logs)"
wait_for 30 grep -q "device C .* waits for approval" "$D/Aw.log" ||
	fail "Aw was not told of C: $(logs)"
sloopctl pending Aw | tee "$D/pending"
grep -q "name=C .*approvals=0/1" "$D/pending" || fail "C not pending"
grep -q "name=D " "$D/pending" || fail "D not pending"
has_addr C && fail "C has an address before approval"
out=$(sloopctl approve Aw C) || fail "approve C: $out $(logs)"
echo "$out"
out=$(sloopctl reject Aw D) || fail "reject D: $out $(logs)"
echo "$out"
mustnt sloopctl approve Aw nobody
wait_for 60 has_addr C || fail "C got no address after approval: $(logs)"
wait_for 30 grep -q "the members refused this device" "$D/D.log" ||
	fail "D was not told it was refused: $(logs)"
sloopctl pending Aw | grep -q name= && fail "still pending: $(sloopctl pending Aw)"
has_addr D && fail "D got an address"
B4=$(addr4 B) C4=$(addr4 C) AW4=$(addr4 Aw)

note "each loop works, and A is in both"
wait_for 60 ip netns exec B ping -c 1 -W 1 "$A4" || fail "B cannot reach A: $(logs)"
wait_for 60 ip netns exec C ping -c 1 -W 1 "$AW4" || fail "C cannot reach A: $(logs)"
must ip netns exec A ping -c 2 -W 2 "$B4"
must ip netns exec A ping -c 2 -W 2 "$C4"
must ip netns exec A ping -6 -c 2 -W 2 "$(addr6 B)"
must ip netns exec A ping -6 -c 2 -W 2 "$(addr6 C)"

note "A's two broker connections live side by side"
for i in A Aw; do
	n=$(grep -c "logged in to the broker" "$D/$i.log")
	[ "$n" = 1 ] || fail "$i logged in $n times (knocked off by the other?): $(logs)"
	grep -q "the broker closed the connection" "$D/$i.log" &&
		fail "the broker dropped $i: $(logs)"
done

note "members met through CONNECT and a rendezvous"
grep -q "rendezvous with" "$D/A.log" "$D/B.log" ||
	fail "no rendezvous in home: $(logs)"
grep -q "asks to connect: accepted" "$D/A.log" "$D/B.log" ||
	fail "no CONNECT answered in home: $(logs)"
grep -q "rendezvous with" "$D/Aw.log" "$D/C.log" ||
	fail "no rendezvous in work: $(logs)"

note "forwarding on in A, routes into the other loop: nothing crosses"
must ip netns exec A sysctl -qw net.ipv4.ip_forward=1
must ip netns exec A sysctl -qw net.ipv6.conf.all.forwarding=1
NETW=$(ip -n A -4 -o route show dev sloop2 | awk '/100\./ && /\// { print $1; exit }')
NETH=$(ip -n A -4 -o route show dev sloop1 | awk '/100\./ && /\// { print $1; exit }')
[ -n "$NETW" ] && [ -n "$NETH" ] || fail "no loop routes in A: $(ip -n A route)"
ip -n B route replace "$NETW" dev sloop1
ip -n C route replace "$NETH" dev sloop1
ip netns exec C tcpdump -l -n -i sloop1 -w "$D/c.pcap" 2>/dev/null &
TD=$!
ip netns exec B tcpdump -l -n -i sloop1 -w "$D/b.pcap" 2>/dev/null &
TDB=$!
sleep 2
txa() { ip -n A -s -j link show "$1" | jq '.[0].stats64.tx.packets'; }
tx1=$(txa sloop1) tx2=$(txa sloop2)
mustnt ip netns exec B ping -c 5 -i 0.2 -W 1 "$C4"
mustnt ip netns exec B ping -c 5 -i 0.2 -W 1 "$AW4"
mustnt ip netns exec C ping -c 5 -i 0.2 -W 1 "$B4"
mustnt ip netns exec C ping -c 5 -i 0.2 -W 1 "$A4"
sleep 1
kill $TD $TDB
wait $TD $TDB 2>/dev/null
n=$(tcpdump -n -r "$D/c.pcap" "src host $B4" 2>/dev/null | wc -l)
[ "$n" = 0 ] || fail "$n packets from B reached C"
n=$(tcpdump -n -r "$D/b.pcap" "src host $C4" 2>/dev/null | wc -l)
[ "$n" = 0 ] || fail "$n packets from C reached B"
# Heartbeats may go out meanwhile; 20 crossing pings would not fit.
d1=$(($(txa sloop1) - tx1)) d2=$(($(txa sloop2) - tx2))
echo "A sent $d1 packets on sloop1 and $d2 on sloop2 meanwhile"
[ "$d1" -lt 10 ] && [ "$d2" -lt 10 ] || fail "A carried traffic between the loops"
# And the loops themselves still work.
must ip netns exec B ping -c 2 -W 2 "$A4"
must ip netns exec C ping -c 2 -W 2 "$AW4"

loop_end -x A Aw B C D
