#!/bin/bash
# timeout: 240
# pppd's detach modes.  Default: sloopd forks into the background at once,
# exit status 0, and the pid file /run/sloop-NAME.pid names the running
# daemon (a session leader, not the process we started).  updetach: sloopd
# returns only once the link is up: ping works at the first try right
# after it returns, exit status 0, pid file written, daemon still running,
# and its scripts are its own children (ip-down runs on a session drop).
# SIGTERM through the pid file ends both and removes the pid files.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e

D=/tmp/sloopd-detach
rm -rf /run/sloop-pri.pid /run/sloop-sec.pid
sloopd_pair "$D"

opts() {
	local f=$D/$1.opts
	shift
	printf '%s\n' "$@" > "$f"
	chmod 600 "$f"
}
for sc in ip-up ip-down; do
	cat > "$D/$sc" <<EOF
#!/bin/sh
echo "\$\$ \$*" >> "$D/\$LINKNAME.$sc"
EOF
	chmod 700 "$D/$sc"
done
common=("rekey-interval 600s" "ip-up $D/ip-up" "ip-down $D/ip-down" "debug")
opts a "role primary" "key $D/a.key" "listen 5653" "local 10.9.0.1" \
	"remote 10.9.0.2" "linkname pri" "logfile $D/a.log" \
	"peer sec pubkey $B_PUB subnets 10.9.0.2/32" "${common[@]}"
opts b "role secondary" "key $D/b.key" "listen 5654" "local 10.9.0.2" \
	"remote 10.9.0.1" "linkname sec" "logfile $D/b.log" "updetach" \
	"persist" "holdoff 1s" \
	"primary 192.0.2.1:5653 pubkey $A_PUB subnets 10.9.0.1/32" \
	"${common[@]}"

# check_daemon NAME: the pid file names a live sloopd; prints its pid.
check_daemon() {
	local f=/run/sloop-$1.pid pid
	[ -s "$f" ] || fail "no pid file $f right after sloopd returned"
	pid=$(head -n1 "$f")
	[[ "$pid" =~ ^[0-9]+$ ]] || fail "$f: '$pid' is not a pid"
	kill -0 "$pid" 2>/dev/null || fail "$f: pid $pid is not running"
	[ "$(cat "/proc/$pid/comm")" = sloopd ] ||
		fail "$f: pid $pid is $(cat "/proc/$pid/comm")"
	[ "$(sed -n 2p "$f")" = sloop0 ] || fail "$f: no device line"
	echo "$pid"
}

# The 6th field of /proc/PID/stat (after the parenthesised name).
session_of() { sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f4; }
# Fields of /proc/PID/stat after the name: state, ppid, pgrp, session.

note "default: detach at once"
rc=0
timeout 60 ip netns exec a sloopd sloop0 file "$D/a.opts" > "$D/a.out" 2>&1 ||
	rc=$?
[ "$rc" = 0 ] || fail "sloopd (detach) exited $rc: $(cat "$D/a.out")"
PID_a=$(check_daemon pri)
echo "primary daemon pid $PID_a"
[ "$(session_of "$PID_a")" = "$PID_a" ] || fail "not a session leader"
[ -S /run/sloop/pri.sock ] || fail "no control socket"

note "updetach: return once the link is up"
t0=$(date +%s)
rc=0
timeout 90 ip netns exec b sloopd sloop0 file "$D/b.opts" > "$D/b.out" 2>&1 ||
	rc=$?
[ "$rc" = 0 ] || fail "sloopd (updetach) exited $rc: $(cat "$D/b.out" "$D/b.log")"
# At once: no retry, no wait.
ip netns exec b ping -c 1 -W 3 10.9.0.1 ||
	fail "no ping right after updetach returned: $(cat "$D/b.log")"
echo "returned after $(( $(date +%s) - t0 )) s"
PID_b=$(check_daemon sec)
echo "secondary daemon pid $PID_b"
[ "$(session_of "$PID_b")" = "$PID_b" ] || fail "not a session leader"
grep -q "link up: peer 192.0.2.1:5653" "$D/b.log" || fail "no link up in the log"
ip netns exec b sloopctl show sloop0 | grep '^  last handshake: [0-9]\+ s ago$' ||
	fail "show: no handshake time from the detached daemon"
must ip netns exec b ping -c 2 -W 2 10.9.0.1
# ip-up ran in the daemon, not in the parent that left: the daemon reaps
# it, so the script queue moves on and a session drop runs ip-down at once.
wait_for 10 test -s "$D/sec.ip-up" || fail "no ip-up after updetach"
sloopctl shutdown pri sec || fail "shutdown pri sec"
wait_for 15 test -s "$D/sec.ip-down" ||
	fail "no ip-down on the detached secondary: $(tail "$D/b.log")"
cat "$D/sec.ip-up" "$D/sec.ip-down"
ups=$(wc -l < "$D/sec.ip-up")
lines_above() { [ "$(wc -l < "$1")" -gt "$2" ]; }
wait_for 30 lines_above "$D/sec.ip-up" "$ups" || fail "no reconnect (persist)"
must ip netns exec b ping -c 2 -W 3 10.9.0.1

note "SIGTERM through the pid files"
kill -TERM "$PID_b" "$PID_a"
# A detached daemon's parent is pid 1, which in this VM need not reap it:
# a zombie has exited.
state_of() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }
gone() { [ ! -e "/proc/$1" ] || [ "$(state_of "$1")" = Z ]; }
wait_for 20 gone "$PID_b" || fail "secondary still running ($(state_of "$PID_b"))"
wait_for 20 gone "$PID_a" || fail "primary still running ($(state_of "$PID_a"))"
[ ! -e /run/sloop-sec.pid ] || fail "sec pid file left behind"
[ ! -e /run/sloop-pri.pid ] || fail "pri pid file left behind"
echo "sloopd-detach ok"
