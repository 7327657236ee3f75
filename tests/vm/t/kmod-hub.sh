#!/bin/bash
# timeout: 400
# A hub device with three peers, each with its own subnets (one nested in
# another's: longest prefix wins), routes every packet to the right peer,
# forwards spoke to spoke, and a peer dump of 3000 more peers is complete.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e

hex() { head -c "$1" /dev/urandom | od -An -tx1 -v | tr -d ' \n'; }
PY=/usr/bin/python3
peer_stat() { # NS PEERID FIELD
	ip netns exec "$1" sloopctl show s0 --json |
		jq ".devices[0].peers[] | select(.id == $2) | .stats.$3 // 0"
}

note "a lookup of the genl family loads the module"
lsmod | grep -q '^sloop ' && must modprobe -r sloop
sloopctl show > /dev/null 2>&1 || true
lsmod | grep -q '^sloop ' || fail "genl family lookup did not load the module"

ip netns add h
ip -n h link set lo up
ip -n h link add br0 type bridge
ip -n h addr add 192.0.2.254/24 dev br0
ip -n h link set br0 up
must ip -n h link add s0 type sloop
ip netns exec h sloopctl attach s0 port 5653 --ready-file /tmp/rh > /tmp/attach-h.log 2>&1 &
PIDS=$!
wait_for 20 test -s /tmp/rh || fail "attach h: $(cat /tmp/attach-h.log)"
must ip -n h addr add 10.0.0.1/32 dev s0
must ip -n h link set s0 up
ip netns exec h sysctl -qw net.ipv4.ip_forward=1

i=0
for s in x y z; do
	i=$((i + 1))
	ip netns add $s
	ip -n $s link set lo up
	ip link add "h$s" netns h type veth peer name vh netns $s
	ip -n h link set "h$s" master br0 up
	ip -n $s addr add 192.0.2.$i/24 dev vh
	ip -n $s link set vh up
	K1=$(hex 32) S1=$(hex 4) K2=$(hex 32) S2=$(hex 4) H1=$(hex 32) H2=$(hex 32)
	case $s in
	x) subnets=10.1.0.0/24 ;;
	y) subnets=10.2.0.0/24 ;;
	z) subnets=10.3.0.0/24,10.2.0.128/25 ;;
	esac
	must ip netns exec h sloopctl set s0 peer $i endpoint 192.0.2.$i:5653 \
		rx-index $((100 + i)) tx-index $((200 + i)) hp-tx-key $H1 hp-rx-key $H2 \
		subnets $subnets key 0 tx-key $K1 tx-salt $S1 rx-key $K2 rx-salt $S2
	must ip -n $s link add s0 type sloop
	ip netns exec $s sloopctl attach s0 port 5653 --ready-file /tmp/r$s > /tmp/attach-$s.log 2>&1 &
	PIDS="$PIDS $!"
	wait_for 20 test -s /tmp/r$s || fail "attach $s: $(cat /tmp/attach-$s.log)"
	must ip netns exec $s sloopctl set s0 peer 1 endpoint 192.0.2.254:5653 \
		rx-index $((200 + i)) tx-index $((100 + i)) hp-tx-key $H2 hp-rx-key $H1 \
		subnets 10.0.0.0/8 key 0 tx-key $K2 tx-salt $S2 rx-key $K1 rx-salt $S1
	must ip -n $s addr add 10.$i.0.1/32 dev s0
	must ip -n $s link set s0 up
	must ip -n $s route add 10.0.0.0/8 dev s0
	must ip -n h route add ${subnets%%,*} dev s0
done
must ip -n z addr add 10.2.0.129/32 dev s0
must ip -n h route add 10.2.0.128/25 dev s0

note "hub to each spoke, and the nested prefix to z"
must ip netns exec h ping -c 3 -i 0.2 -W 2 10.1.0.1 > /dev/null
must ip netns exec h ping -c 4 -i 0.2 -W 2 10.2.0.1 > /dev/null
must ip netns exec h ping -c 5 -i 0.2 -W 2 10.3.0.1 > /dev/null
must ip netns exec h ping -c 6 -i 0.2 -W 2 10.2.0.129 > /dev/null
t1=$(peer_stat h 1 tx_packets) t2=$(peer_stat h 2 tx_packets) t3=$(peer_stat h 3 tx_packets)
echo "hub sent: peer 1 $t1, peer 2 $t2, peer 3 $t3"
[ "$t1" = 3 ] && [ "$t2" = 4 ] && [ "$t3" = 11 ] || fail "packets went to the wrong peers"
for s in x y z; do
	echo "$s received $(ip netns exec $s sloopctl show s0 --json | jq '.devices[0].stats.rx_packets')"
done

note "spoke to spoke through the hub"
must ip netns exec x ping -c 3 -i 0.2 -W 2 10.2.0.1
must ip netns exec y ping -c 3 -i 0.2 -W 2 -I 10.2.0.1 10.2.0.129
note "a spoke cannot use another spoke's source"
must ip -n x addr add 10.3.0.9/32 dev s0
b0=$(peer_stat h 1 drop_bad_src)
ip netns exec x ping -c 2 -i 0.2 -W 1 -I 10.3.0.9 10.0.0.1 > /dev/null 2>&1 && fail "spoofed source got through"
[ $(( $(peer_stat h 1 drop_bad_src) - b0 )) = 2 ] || fail "bad source not counted on peer 1"

note "3000 more peers: the dump is complete"
ifh=$(ip netns exec h cat /sys/class/net/s0/ifindex)
ip netns exec h env IFH=$ifh $PY - <<'PYEOF' || fail "bulk peers"
import os, socket, struct, sys, time
def attr(t, data):
    n = 4 + len(data)
    return struct.pack("HH", n, t) + data + b"\0" * ((4 - n % 4) % 4)
u8 = lambda t, v: attr(t, struct.pack("B", v))
u16 = lambda t, v: attr(t, struct.pack("H", v))
u32 = lambda t, v: attr(t, struct.pack("I", v))
nest = lambda t, *a: attr(t | 0x8000, b"".join(a))
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)
s.bind((0, 0))
seq = [0]
def send(typ, cmd, payload, flags=5):
    seq[0] += 1
    body = struct.pack("BBH", cmd, 1, 0) + payload
    s.send(struct.pack("IHHII", 16 + len(body), typ, flags, seq[0], 0) + body)
def msgs():
    while True:
        d = s.recv(1 << 20)
        off = 0
        while off < len(d):
            ln, typ = struct.unpack_from("IH", d, off)
            yield typ, d[off + 16:off + ln]
            off += (ln + 3) & ~3
def ack():
    for typ, body in msgs():
        if typ == 2:
            return struct.unpack_from("i", body)[0]
send(0x10, 3, attr(2, b"sloop\0"))
for typ, body in msgs():
    off = 4
    while off < len(body):
        ln, t = struct.unpack_from("HH", body, off)
        if t == 1:
            fam = struct.unpack_from("H", body, off + 4)[0]
        off += (ln + 3) & ~3
    break
ack()
dev = u32(2, int(os.environ["IFH"]))
t0 = time.time()
for i in range(3000):
    pid = 1000 + i
    ep = struct.pack("!HH4s", 2, 5653, bytes([198, 51, i // 250, i % 250 + 1]))
    ep = struct.pack("H", 2) + ep[2:] + bytes(8)
    sub = nest(1, u16(1, 2), attr(2, bytes([172, 16 + i // 250, i % 250, 0])), u8(3, 24))
    send(fam, 5, dev + nest(13, u32(2, pid), attr(4, ep), nest(10, sub)))
    e = ack()
    if e:
        print("peer", pid, "refused", e); sys.exit(1)
print("3000 peers added in %.1f s" % (time.time() - t0))
# our own dump: count the peers and the rounds it took
send(fam, 8, dev, flags=1 | 0x300)
n, rounds, ids = 0, 0, set()
done = False
while not done:
    d = s.recv(1 << 16)
    rounds += 1
    off = 0
    while off < len(d):
        ln, typ = struct.unpack_from("IH", d, off)
        if typ == 3:
            done = True
            break
        if typ == 2:
            print("dump error", struct.unpack_from("i", d, off + 16)[0]); sys.exit(1)
        body = d[off + 20:off + ln]
        a = 0
        while a < len(body):
            alen, at = struct.unpack_from("HH", body, a)
            if at & 0x7fff == 13:
                ids.add(struct.unpack_from("I", body, a + 8)[0])
                n += 1
            a += (alen + 3) & ~3
        off += (ln + 3) & ~3
print("dump: %d peer messages, %d distinct, in %d reads" % (n, len(ids), rounds))
sys.exit(0 if n == 3003 and len(ids) == 3003 and rounds > 1 else 1)
PYEOF
cnt=$(ip netns exec h sloopctl show s0 --json | jq '.devices[0].peers | length')
echo "sloopctl show lists $cnt peers"
[ "$cnt" = 3003 ] || fail "sloopctl show lists $cnt peers, want 3003"
must ip netns exec h ping -c 2 -W 2 10.3.0.1 > /dev/null

note "delete the hub device with 3003 peers"
time ip -n h link del s0
kill $PIDS; wait || true
for n in h x y z; do ip netns del $n; done
must modprobe -r sloop
echo "kmod-hub ok"
