#!/bin/bash
# timeout: 360
# A primary (hub) with three secondaries, each its own key, subnet and
# cipher (the primary's per-peer cipher wins the handshake): all three
# sessions come up from option files and ping passes between the hub and
# every spoke; killing one secondary leaves the others untouched.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e

D=/tmp/sloopd-hub
rm -rf "$D"
mkdir -p "$D"
umask 077

ip netns add hub
ip -n hub link set lo up
must ip -n hub link add sloop0 type sloop
ciphers=(x aes256gcm aes128gcm chacha20poly1305)
peers=()
sloopctl genkey > "$D/hub.key"
HUB_PUB=$(sloopctl pubkey < "$D/hub.key")
for i in 1 2 3; do
	ip netns add "s$i"
	ip -n "s$i" link set lo up
	ip link add "h$i" netns hub type veth peer name v netns "s$i"
	ip -n hub addr add "192.168.$i.1/24" dev "h$i"
	ip -n "s$i" addr add "192.168.$i.2/24" dev v
	ip -n hub link set "h$i" up
	ip -n "s$i" link set v up
	must ip -n "s$i" link add sloop0 type sloop
	sloopctl genkey > "$D/s$i.key"
	peers+=("peer s$i pubkey $(sloopctl pubkey < "$D/s$i.key") subnets 10.$i.0.1/32 peer-cipher ${ciphers[$i]}")
done

cat > "$D/ip-up" <<EOF
#!/bin/sh
echo "\$*" >> "$D/\$LINKNAME.ip-up"
EOF
chmod 700 "$D/ip-up"

opts() {
	local f=$D/$1.opts
	shift
	printf '%s\n' "$@" > "$f"
	chmod 600 "$f"
}
common=("nodetach" "persist" "ip-up $D/ip-up" "heartbeat 1s" "dead-time 5s")
opts hub "role primary" "key $D/hub.key" "listen 5653" "local 10.0.0.1" \
	"linkname hub" "logfile $D/hub.log" "${peers[@]}" "${common[@]}"
ip netns exec hub sloopd sloop0 file "$D/hub.opts" > "$D/hub.out" 2>&1 &
PID_hub=$!
for i in 1 2 3; do
	opts "s$i" "role secondary" "key $D/s$i.key" "listen 5653" \
		"local 10.$i.0.1" "remote 10.0.0.1" "linkname s$i" \
		"logfile $D/s$i.log" \
		"primary 192.168.$i.1:5653 pubkey $HUB_PUB subnets 10.0.0.1/32" \
		"${common[@]}"
	ip netns exec "s$i" sloopd sloop0 file "$D/s$i.opts" > "$D/s$i.out" 2>&1 &
	eval "PID_s$i=$!"
done

for i in 1 2 3; do
	wait_for 30 test -s "$D/s$i.ip-up" ||
		fail "s$i did not come up: $(cat "$D/s$i.log" "$D/hub.log")"
	grep "link up" "$D/s$i.log" | tail -n1
	grep -q "cipher ${ciphers[$i]}" "$D/s$i.log" ||
		fail "s$i did not get ${ciphers[$i]}"
done
[ "$(wc -l < "$D/hub.ip-up")" = 3 ] || fail "hub ip-up ran $(wc -l < "$D/hub.ip-up") times"
for i in 1 2 3; do
	must ip netns exec "s$i" ping -c 2 -W 2 10.0.0.1
	must ip netns exec hub ping -c 2 -W 2 "10.$i.0.1"
done

note "one spoke goes away, the others stay"
kill -KILL "$PID_s2"
wait "$PID_s2" 2>/dev/null || true
wait_for 15 grep -q "E403 peer-dead: link down: peer s2" "$D/hub.log" ||
	fail "hub did not notice s2: $(tail "$D/hub.log")"
mustnt ip netns exec hub ping -c 1 -W 1 10.2.0.1
must ip netns exec hub ping -c 2 -W 2 10.1.0.1
must ip netns exec hub ping -c 2 -W 2 10.3.0.1
! grep -q "link down: peer s[13]" "$D/hub.log" || fail "other spokes dropped"
kill -TERM "$PID_hub" "$PID_s1" "$PID_s3"
wait "$PID_hub" "$PID_s1" "$PID_s3" 2>/dev/null || true
! grep -q "Sanitizer" "$D"/*.out || fail "ASan: $(cat "$D"/*.out)"
echo "sloopd-hub ok"
