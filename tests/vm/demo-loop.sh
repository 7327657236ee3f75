#!/bin/bash
# make demo, part three: a loop through the broker.  sloop-scb runs in
# namespace "scb" with an admin key and user alice; devices A, B and C
# each run one sloopd from a few lines of options.  A founds loop "home",
# B and C join with invitations that A hands out, A's daemon approves
# them, and every member reaches every other over the loop's addresses.
# The admin then looks at it all with sloopctl.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -u
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

D=/tmp/demo-loop
DEVS="A B C"
. "$SLOOP_SRC/tests/vm/t/loop.inc"

echo
echo "== a loop of three devices through the broker sloop-scb"
say cat "$D/scb.conf"
founded_loop
echo
echo "device A's options ($D/A.opts); B and C have the same plus 'invite CODE':"
cat "$D/A.opts"

export SLOOP_BROKER=127.0.0.1:5660 SLOOP_BROKER_KEY=$BPUB
export SLOOP_ADMIN_KEY=$D/admin.key
say ip netns exec scb sloopctl broker device list
say ip netns exec scb sloopctl broker loop list
for m in A B C; do
	echo
	echo "-- on $m: loop address $(addr4 $m), $(addr6 $m)"
done
say ip netns exec A ping -c 2 -W 2 "$(addr4 C)"
say ip netns exec C ping -6 -c 2 -W 2 "$(addr6 B)"
say ip netns exec B sloopctl show sloop1

for m in A B C; do
	eval "kill \$PID_$m" 2>/dev/null || true
done
wait 2>/dev/null || true
kill "$(cat "$D/scb.pid")" 2>/dev/null || true
