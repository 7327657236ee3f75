#!/bin/bash
# timeout: 300
# Hostile netlink input: nlfuzz sends every command with wrong attribute
# types and lengths, missing, duplicated, unknown and nested-garbage
# attributes, bogus devices, peers and descriptors; each must get an
# error ack.  Then again without CAP_NET_ADMIN: every mutating command
# must get EPERM and change nothing.  sloopctl's own error paths too.
. "$SLOOP_SRC/tests/vm/lib.sh"
. "$SLOOP_SRC/tests/vm/dp-lib.sh"
set -e
dp_need sloopctl nlfuzz jq python3

must ip link add sloop0 type sloop
must ip link add sloop1 type sloop
dp_attach - sloop0 5653 dual

note "nlfuzz without devices"
nlfuzz > "$DP_RUN/nlfuzz0.log" 2>&1 || { cat "$DP_RUN/nlfuzz0.log"; fail "nlfuzz (no device) found accepted input"; }
tail -n 1 "$DP_RUN/nlfuzz0.log"

note "nlfuzz against an owned and a free device"
rc=0
nlfuzz --dev sloop0 --free-dev sloop1 > "$DP_RUN/nlfuzz1.log" 2>&1 || rc=$?
cat "$DP_RUN/nlfuzz1.log"
[ "$rc" = 0 ] || fail "nlfuzz: unexpected successes (see FAIL lines above)"

note "nlfuzz without CAP_NET_ADMIN"
rc=0
nlfuzz --unprivileged --dev sloop0 > "$DP_RUN/nlfuzz2.log" 2>&1 || rc=$?
cat "$DP_RUN/nlfuzz2.log"
[ "$rc" = 0 ] || fail "nlfuzz --unprivileged: mutating commands not refused with EPERM"
j=$(sloopctl show sloop0 --json)
echo "$j" | python3 -m json.tool > /dev/null || fail "show --json is not valid JSON: $j"
[ "$(echo "$j" | jq '[.devices[0].peers[] | select(.id == 4243 or .id == 4242)] | length')" = 0 ] ||
	fail "a peer from nlfuzz survived: $j"
[ "$(echo "$j" | jq '.devices[0].padding // "16"')" = '"16"' ] ||
	fail "device options changed by the fuzzer: $j"

note "sloopctl: errors name the bad token, exit nonzero"
mustnt sloopctl set sloop0 peer 1 cipher rot13
out=$(sloopctl set sloop0 peer 1 cipher rot13 2>&1) || true
echo "$out" | grep -q "rot13" || fail "error does not name the token: $out"
mustnt sloopctl set sloop0 peer 1 endpoint 300.1.1.1:5
mustnt sloopctl show nosuchdev
mustnt sloopctl set nosuchdev padding 16
mustnt sloopctl set sloop0 peer 7 swap 1
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	sloopctl set sloop0 padding buckets 2>&1) && fail "nobody changed the padding: $out"
echo "as nobody: $out"
echo "$out" | grep -q "Operation not permitted" || fail "unprivileged set: unexpected error: $out"
sloopctl show all
echo "dp-netlink ok"
