#!/bin/bash
# timeout: 60
# The module loads on demand, registers link kind sloop, devices come and
# go in any namespace, and rmmod works with devices still present.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e

lsmod | grep -q '^sloop ' && fail "sloop loaded before anything asked for it"
must ip link add sloop0 type sloop
lsmod | grep -q '^sloop ' || fail "ip link add did not load the module"
ip -d link show sloop0 | grep -q 'sloop' || fail "link kind is not sloop: $(ip -d link show sloop0)"
ip link show sloop0 | grep -q 'NO-CARRIER\|state DOWN' || true
must ip link set sloop0 up
ip link show sloop0 | grep -q NO-CARRIER || fail "carrier on without a daemon: $(ip link show sloop0)"
must ip link del sloop0
ip link show sloop0 2>/dev/null && fail "sloop0 still there after delete"

note "many devices, several namespaces"
for i in 0 1 2 3; do must ip link add "sloop$i" type sloop; done
ip netns add a
ip netns add b
must ip -n a link add sloop0 type sloop
must ip -n b link add sloop0 type sloop
must ip -n b link add sloop9 type sloop
[ "$(ip -o link show type sloop | wc -l)" = 4 ] || fail "expected 4 devices in init netns"
must ip link set sloop3 netns a
[ "$(ip -n a -o link show type sloop | wc -l)" = 2 ] || fail "device did not move to netns a"
ip netns del b

note "rmmod with devices still present"
must modprobe -r sloop
lsmod | grep -q '^sloop ' && fail "module still loaded"
ip -o link show type sloop | grep -q . && fail "devices survived rmmod"
ip -n a -o link show type sloop | grep -q . && fail "devices in netns a survived rmmod"
must modprobe sloop
must modinfo -F version sloop
echo "module-load ok"
