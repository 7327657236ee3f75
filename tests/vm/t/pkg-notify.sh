#!/bin/bash
# timeout: 240
# Readiness for systemd's Type=notify (sloopd@.service): sloopd sends
# READY=1 to $NOTIFY_SOCKET once its link is first up, not before, and
# only once.  The secondary uses an abstract socket ("@..."), the primary
# a path; a secondary without a primary to talk to must stay not-ready.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e

D=/tmp/pkg-notify
sloopd_pair "$D"
printf '%s\n' "role primary" "key $D/a.key" "listen 5653" "local 10.9.0.1" \
	"remote 10.9.0.2" "linkname pri" "nodetach" "logfile $D/a.log" \
	"ip-up /bin/true" "ip-down /bin/true" \
	"peer sec pubkey $B_PUB subnets 10.9.0.2/32" > "$D/a.opts"
printf '%s\n' "role secondary" "key $D/b.key" "listen 5654" "local 10.9.0.2" \
	"remote 10.9.0.1" "linkname sec" "persist" "nodetach" "logfile $D/b.log" \
	"ip-up /bin/true" "ip-down /bin/true" \
	"primary 192.0.2.1:5653 pubkey $A_PUB subnets 10.9.0.1/32" > "$D/b.opts"
chmod 600 "$D"/*.opts

# listen SOCKET FILE: append every datagram to FILE, one per line.  The
# abstract socket is per network namespace, so it listens inside it.
listen() {
	python3 -u - "$1" "$2" <<'PY' &
import socket, sys
name, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + name[1:] if name.startswith("@") else name)
open(out + ".bound", "w").close()
while True:
    with open(out, "a") as f:
        f.write(s.recv(4096).decode() + "\n")
PY
}
ip netns exec b bash -c "$(declare -f listen); listen @sloop-notify-test $D/b.notify; wait" &
LB=$!
listen "$D/a.sock" "$D/a.notify"
LA=$!
wait_for 10 test -e "$D/b.notify.bound" -a -e "$D/a.notify.bound" || fail "notify listeners did not start"

note "secondary alone: not ready"
ip netns exec b env NOTIFY_SOCKET=@sloop-notify-test sloopd sloop0 file "$D/b.opts" > "$D/b.out" 2>&1 &
PB=$!
sleep 5
kill -0 "$PB" || fail "secondary exited: $(cat "$D/b.out" "$D/b.log")"
[ ! -s "$D/b.notify" ] || fail "secondary notified before its link was up: $(cat "$D/b.notify")"

note "primary starts: both become ready"
ip netns exec a env NOTIFY_SOCKET="$D/a.sock" sloopd sloop0 file "$D/a.opts" > "$D/a.out" 2>&1 &
PA=$!
wait_for 60 grep -qx READY=1 "$D/b.notify" ||
	fail "no READY=1 from the secondary: $(cat "$D/b.out" "$D/b.log")"
wait_for 30 grep -qx READY=1 "$D/a.notify" ||
	fail "no READY=1 from the primary: $(cat "$D/a.out" "$D/a.log")"
grep -q "link up" "$D/b.log" || fail "READY=1 but no 'link up' in the secondary's log"
must ip netns exec b ping -c 2 -W 2 10.9.0.1
sleep 2
for s in a b; do
	n=$(grep -c . "$D/$s.notify")
	echo "$s: $n notification(s): $(tr '\n' ' ' < "$D/$s.notify")"
	[ "$n" = 1 ] || fail "$s sent $n notifications, expected one READY=1"
done
kill "$PA" "$PB"
wait "$PA" "$PB" 2>/dev/null || true
kill "$LA" "$LB" 2>/dev/null || true
echo "pkg-notify: ok"
