#!/bin/bash
# timeout: 360
# A P3 primary with two remotes and their subnets against two P3
# secondaries, all configured by P3 files as the appendix writes them
# (keys next to them in option files): both sessions come up, each spoke's
# subnet is routed to it, rekey_wait drives the rekeys, and keywords
# sloop does not implement are reported by name (W126).
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e

D=/tmp/sloopd-p3
rm -rf "$D"
mkdir -p "$D"
umask 077

# One underlay LAN: a bridge in the hub namespace, 192.0.2.0/24.
ip netns add hub
ip -n hub link set lo up
ip -n hub link add br0 type bridge
ip -n hub addr add 192.0.2.1/24 dev br0
ip -n hub link set br0 up
must ip -n hub link add sloop0 type sloop
for i in 1 2; do
	ip netns add "s$i"
	ip -n "s$i" link set lo up
	ip link add "h$i" netns hub type veth peer name v netns "s$i"
	ip -n hub link set "h$i" master br0 up
	ip -n "s$i" addr add "192.0.2.1$i/24" dev v
	ip -n "s$i" link set v up
	must ip -n "s$i" link add sloop0 type sloop
done

sloopctl genkey > "$D/hub.key"
HUB_PUB=$(sloopctl pubkey < "$D/hub.key")
for i in 1 2; do
	sloopctl genkey > "$D/s$i.key"
done

cat > "$D/hub.p3" <<EOF
# P3 primary, appendix A.1
localstart
ip=4
address=192.0.2.1
port=5653
key_generation=1
rekey_wait=3
array_size=256
heartbeat_time=15
heartbeat_fail=120
cluster_state=0
localend
1/ip=4
1/address=192.0.2.11
1/subnet1=10.1.0.0
1/mask1=255.255.0.0
1/key_type=AES128
2/ip=4
2/address=192.0.2.12
2/subnet1=10.2.0.0
2/mask1=255.255.0.0
2/subnet2=10.22.0.0
2/mask2=255.255.255.0
2/key_type=AES256
EOF
for i in 1 2; do
	cat > "$D/s$i.p3" <<EOF
# P3 secondary, appendix A.2
localstart
ip=4
address=192.0.2.1$i
localend
1/ip=4
1/address=192.0.2.1
1/subnet1=10.0.0.0
1/mask1=255.255.255.0
1/port=5653
EOF
done
chmod 600 "$D"/*.p3

opts() {
	local f=$D/$1.opts
	shift
	printf '%s\n' "$@" > "$f"
	chmod 600 "$f"
}
opts hub "role primary" "key $D/hub.key" "p3-config $D/hub.p3" \
	"peer p3-1 pubkey $(sloopctl pubkey < "$D/s1.key")" \
	"peer p3-2 pubkey $(sloopctl pubkey < "$D/s2.key")" \
	"local 10.0.0.1" "nodetach" "rekey-jitter 0" "logfile $D/hub.log"
for i in 1 2; do
	opts "s$i" "role secondary" "key $D/s$i.key" \
		"primary 192.0.2.1:5653 pubkey $HUB_PUB" "p3-config $D/s$i.p3" \
		"local 10.$i.0.1" "remote 10.0.0.1" "nodetach" "persist" \
		"rekey-interval 1h" "logfile $D/s$i.log"
done

ip netns exec hub sloopd sloop0 file "$D/hub.opts" > "$D/hub.out" 2>&1 &
PID_hub=$!
for i in 1 2; do
	ip netns exec "s$i" sloopd sloop0 file "$D/s$i.opts" > "$D/s$i.out" 2>&1 &
	eval "PID_s$i=$!"
done
for i in 1 2; do
	wait_for 30 grep -q "link up" "$D/s$i.log" ||
		fail "s$i: $(cat "$D/s$i.out" "$D/s$i.log" "$D/hub.out")"
done
grep "link up" "$D/hub.log"
grep -q "peer p3-1, cipher aes128gcm" "$D/hub.log" || fail "p3-1 cipher"
grep -q "peer p3-2, cipher aes256gcm" "$D/hub.log" || fail "p3-2 cipher"
for w in array_size cluster_state; do
	grep -q "W126.*$w" "$D/hub.out" || fail "no W126 for $w: $(cat "$D/hub.out")"
done
grep "W126" "$D/hub.out"

note "subnets"
# Addresses inside each spoke's P3 subnets, behind its sloop0.
ip -n s1 addr add 10.1.5.5/32 dev lo
ip -n s2 addr add 10.22.0.7/32 dev lo
must ip netns exec hub ping -c 2 -W 2 10.1.0.1
must ip netns exec hub ping -c 2 -W 2 10.1.5.5
must ip netns exec hub ping -c 2 -W 2 10.2.0.1
must ip netns exec hub ping -c 2 -W 2 10.22.0.7
must ip netns exec s1 ping -c 2 -W 2 10.0.0.1
ip -n hub route show dev sloop0

note "rekey_wait=3 drives the rekeys"
sleep 8
n=$(grep -c "rekeyed" "$D/hub.log" || true)
echo "rekeys on the hub: $n"
[ "$n" -ge 4 ] || fail "rekey_wait not applied: $n rekeys"
must ip netns exec hub ping -c 2 -W 2 10.22.0.7
kill -TERM "$PID_hub" "$PID_s1" "$PID_s2"
wait "$PID_hub" "$PID_s1" "$PID_s2" 2>/dev/null || true
! grep -q "Sanitizer" "$D"/*.out || fail "ASan: $(cat "$D"/*.out)"
echo "sloopd-p3 ok"
