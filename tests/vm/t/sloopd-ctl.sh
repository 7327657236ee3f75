#!/bin/bash
# timeout: 300
# sloopd's control socket and the sloopctl commands that use it: dump,
# rekey (seen as a new key id in `sloopctl show --json`), the daemon's
# handshake and rekey times in `sloopctl show`, flush-keys from
# either side (new handshake: new receiver index), shutdown (the peer
# runs ip-down), hostile requests, and non-root clients refused (by the
# 0700 directory, and by SO_PEERCRED when the directory is opened up).
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e

D=/tmp/sloopd-ctl
rm -rf /run/sloop
sloopd_pair "$D"

for s in ip-up ip-down; do
	cat > "$D/$s" <<EOF
#!/bin/sh
echo "\$0 \$*" >> "$D/\$LINKNAME.$s"
EOF
	chmod 700 "$D/$s"
done

opts() {
	local f=$D/$1.opts
	shift
	printf '%s\n' "$@" > "$f"
	chmod 600 "$f"
}
common=("nodetach" "rekey-interval 600s" "ip-up $D/ip-up"
	"ip-down $D/ip-down" "debug")
opts a "role primary" "key $D/a.key" "listen 5653" "local 10.9.0.1" \
	"remote 10.9.0.2" "linkname pri" "logfile $D/a.log" \
	"peer sec pubkey $B_PUB subnets 10.9.0.2/32" "${common[@]}"
opts b "role secondary" "key $D/b.key" "listen 5654" "local 10.9.0.2" \
	"remote 10.9.0.1" "linkname sec" "persist" "holdoff 1s" \
	"logfile $D/b.log" \
	"primary 192.0.2.1:5653 pubkey $A_PUB subnets 10.9.0.1/32" \
	"${common[@]}"

# The primary uses the default /run/sloop, the secondary $SLOOPD_RUN.
ip netns exec a sloopd sloop0 file "$D/a.opts" > "$D/a.out" 2>&1 &
PID_a=$!
SLOOPD_RUN=$D/run ip netns exec b sloopd sloop0 file "$D/b.opts" \
	> "$D/b.out" 2>&1 &
PID_b=$!
ctl_b() { SLOOPD_RUN=$D/run sloopctl "$@"; }
count() { [ -f "$1" ] && wc -l < "$1" || echo 0; }
json() { ip netns exec "$1" sloopctl show sloop0 --json; }
max_key_id() { json "$1" | jq '[.devices[0].peers[0].keys[].id] | max'; }
rx_index() { json "$1" | jq '.devices[0].peers[0].rx_index'; }
# For wait_for, which needs a command, not an expanded value.
key_above() { [ "$(max_key_id "$1")" -gt "$2" ]; }
lines_above() { [ "$(count "$1")" -gt "$2" ]; }
index_set() { [ "$(rx_index "$1")" != null ]; }
rekeys_at_least() {
	[ "$(json "$1" | jq '.devices[0].peers[0].rekeys')" -ge "$2" ]
}

wait_for 30 test -s "$D/pri.ip-up" || fail "no ip-up: $(cat "$D"/a.out "$D"/a.log)"
wait_for 30 test -s "$D/sec.ip-up" || fail "no ip-up: $(cat "$D"/b.out "$D"/b.log)"
must ip netns exec b ping -c 2 -W 2 10.9.0.1

note "show: handshake and rekey times from the daemon"
now=$(date +%s)
ip netns exec a sloopctl show sloop0 > "$D/show.a"
cat "$D/show.a"
grep -q '^  sloopd: link pri$' "$D/show.a" || fail "show: no daemon line"
grep -q '^  name: sec$' "$D/show.a" || fail "show: no peer name"
age=$(sed -n 's/^  last handshake: \([0-9]\+\) s ago$/\1/p' "$D/show.a")
[ -n "$age" ] && [ "$age" -le 60 ] || fail "show: last handshake '$age'"
grep -q '^  last rekey: never$' "$D/show.a" || fail "show: a rekey already?"
hs_a=$(json a | jq '.devices[0].peers[0].last_handshake')
echo "json last_handshake $hs_a (now $now)"
[ "$hs_a" -gt $((now - 60)) ] && [ "$hs_a" -le $((now + 1)) ] ||
	fail "json: last_handshake $hs_a, now $now"
[ "$(json a | jq '.devices[0].peers[0].last_rekey')" = 0 ] ||
	fail "json: last_rekey not 0 before any rekey"
# The secondary's daemon answers under $SLOOPD_RUN only; without it the
# only socket is the primary's, in another namespace: it must not match.
SLOOPD_RUN=$D/run ip netns exec b sloopctl show sloop0 > "$D/show.b"
grep -q '^  sloopd: link sec$' "$D/show.b" || fail "show b: no daemon"
grep -q '^  last handshake: [0-9]\+ s ago$' "$D/show.b" || fail "show b: no handshake"
[ "$(json b | jq '.devices[0].peers[0].last_handshake')" = null ] ||
	fail "show b matched the daemon of another namespace"
ip netns exec b sloopctl show sloop0 | grep -q 'last handshake' &&
	fail "show b without its daemon has a handshake line"

note "socket and directory modes"
[ "$(stat -c %a /run/sloop)" = 700 ] || fail "/run/sloop is $(stat -c %a /run/sloop)"
[ "$(stat -c %a /run/sloop/pri.sock)" = 600 ] || fail "pri.sock mode"
[ "$(stat -c %a "$D/run")" = 700 ] || fail "$D/run mode"
[ -S "$D/run/sec.sock" ] || fail "no $D/run/sec.sock"

note "dump"
sloopctl dump pri > "$D/dump.pri" || fail "dump failed"
head -n 3 "$D/dump.pri"
grep -q '^role primary ' "$D/dump.pri" || fail "dump: no role"
grep -q '^linkname pri ' "$D/dump.pri" || fail "dump: no linkname"
ctl_b dump sec | grep -q '^persist ' || fail "dump of the secondary"

note "rekey"
id0=$(max_key_id a)
sloopctl rekey pri sec || fail "rekey pri sec"
wait_for 10 key_above a "$id0" ||
	fail "key id stayed $id0: $(tail "$D/a.log")"
id1=$(max_key_id a)
echo "primary key id $id0 -> $id1"
ctl_b rekey sec || fail "rekey from the secondary"
wait_for 10 key_above b "$id1" || fail "no rekey from the secondary"
echo "secondary key id now $(max_key_id b)"
grep -q "rekey requested (sloopctl)" "$D/b.log" || fail "no rekey log line"
# The primary swaps last in a rekey the secondary started (its DONE).
wait_for 10 rekeys_at_least a 2 || fail "the primary counts < 2 rekeys"
rk_a=$(json a | jq '.devices[0].peers[0].last_rekey')
n_a=$(json a | jq '.devices[0].peers[0].rekeys')
echo "json last_rekey $rk_a (handshake $hs_a), rekeys $n_a"
[ "$rk_a" -ge "$hs_a" ] && [ "$rk_a" -le $(( $(date +%s) + 1 )) ] ||
	fail "json: last_rekey $rk_a not after the handshake $hs_a"
[ "$n_a" -ge 2 ] || fail "json: $n_a rekeys after two"
ip netns exec a sloopctl show sloop0 | grep '^  last rekey: [0-9]\+ s ago$' ||
	fail "show: no last rekey after a rekey"
must ip netns exec b ping -c 2 -W 2 10.9.0.1
out=$(sloopctl rekey pri nosuch 2>&1) && fail "rekey of an unknown peer succeeded"
echo "$out"
echo "$out" | grep -q E707 || fail "unknown peer: $out"

note "flush-keys from the primary"
idx0=$(rx_index b)
ups=$(count "$D/sec.ip-up")
sloopctl flush-keys pri || fail "flush-keys pri"
wait_for 15 lines_above "$D/sec.ip-up" "$ups" ||
	fail "no new session after flush-keys: $(tail "$D/b.log")"
wait_for 10 index_set b
idx1=$(rx_index b)
echo "secondary rx index $idx0 -> $idx1"
[ "$idx1" != "$idx0" ] || fail "same receiver index after flush-keys"
grep -q "the peer flushed the keys" "$D/b.log" || fail "no flush seen"
must ip netns exec b ping -c 2 -W 3 10.9.0.1

note "flush-keys from the secondary"
ups=$(count "$D/pri.ip-up")
ctl_b flush-keys sec || fail "flush-keys sec"
wait_for 15 lines_above "$D/pri.ip-up" "$ups" || fail "no re-handshake"
must ip netns exec b ping -c 2 -W 3 10.9.0.1

note "shutdown: the peer runs ip-down"
downs=$(count "$D/sec.ip-down")
ups=$(count "$D/sec.ip-up")
sloopctl shutdown pri sec || fail "shutdown pri sec"
wait_for 10 lines_above "$D/sec.ip-down" "$downs" ||
	fail "no ip-down on the secondary: $(tail "$D/b.log")"
grep -q "the peer shut the session down" "$D/b.log" || fail "no SHUTDOWN seen"
test -s "$D/pri.ip-down" || fail "no ip-down on the primary"
# persist: the secondary comes back on its own (holdoff 1s).
wait_for 20 lines_above "$D/sec.ip-up" "$ups" || fail "no reconnect: $(tail -n 30 "$D/b.log")"
must ip netns exec b ping -c 2 -W 3 10.9.0.1

note "hostile requests"
python3 - /run/sloop/pri.sock <<'PY' || fail "hostile requests"
import socket, sys
def ask(data, close=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sys.argv[1])
    s.sendall(data)
    if close:
        s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        out += d
    return out.decode(errors="replace")
for data in [b"x" * 5000, b"rekey\0sec\n", b"\xff\xfe\n", b"reboot now\n",
             b"rekey a b c\n", b""]:
    out = ask(data)
    print(repr(data[:16]), "->", out.strip())
    if data and "error E707" not in out:
        sys.exit(1)
# A client that sends half a line and waits is dropped after the timeout.
out = ask(b"rek", close=False)
print("slow client ->", out.strip())
if "E707" not in out:
    sys.exit(1)
PY
sloopctl dump pri > /dev/null || fail "daemon unusable after hostile input"

note "non-root clients"
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups sloopctl rekey pri \
	> "$D/nobody.out" 2>&1 || rc=$?
cat "$D/nobody.out"
[ "$rc" != 0 ] || fail "nobody could rekey"
# Open the directory and socket to everyone: SO_PEERCRED still refuses.
chmod 711 /run/sloop
chmod 666 /run/sloop/pri.sock
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups sloopctl rekey pri \
	> "$D/nobody2.out" 2>&1 || rc=$?
cat "$D/nobody2.out"
[ "$rc" != 0 ] || fail "nobody could rekey through an open socket"
grep -q E706 "$D/nobody2.out" || fail "no E706 for nobody"
grep -q "E706 ctl-denied" "$D/a.log" || fail "no E706 in the daemon log"
chmod 700 /run/sloop

note "exit removes the sockets"
kill -TERM "$PID_b" "$PID_a"
wait "$PID_b" || true
wait "$PID_a" || true
[ ! -e /run/sloop/pri.sock ] || fail "pri.sock left behind"
[ ! -e "$D/run/sec.sock" ] || fail "sec.sock left behind"
echo "sloopd-ctl ok"
