#!/bin/bash
# timeout: 120
# Loads the module that DKMS built and installed on the host
# (tests/pkg/dkms.sh; the VM sees the host's /lib/modules read-only) in
# place of the freshly built one, and checks its version.  Run by
# tests/pkg/run between dkms install and dkms remove:
#   tests/vm/run --dir tests/vm/pkg pkg-dkms
# It is not in tests/vm/t because without that setup it can only fail.
set -euo pipefail
ver=$(cat "$SLOOP_SRC/VERSION")
kver=$(uname -r)
ko=$(ls "/lib/modules/$kver/updates/dkms/sloop.ko"* 2>/dev/null | head -n1 || true)
if [ -z "$ko" ]; then
	echo "FAIL: no DKMS-built sloop.ko in /lib/modules/$kver/updates/dkms:"
	echo "run tests/pkg/run (it does dkms add/build/install first)"
	exit 1
fi
echo "DKMS module: $ko"
modprobe -r sloop 2>/dev/null || true
[ ! -d /sys/module/sloop ] || { echo "FAIL: sloop still loaded"; exit 1; }
for dep in $(modinfo -F depends "$ko" | tr ',' ' '); do
	modprobe "$dep"
done
case "$ko" in
*.xz) xz -dc "$ko" > /tmp/sloop.ko; ko=/tmp/sloop.ko ;;
*.zst) zstd -dcq "$ko" > /tmp/sloop.ko; ko=/tmp/sloop.ko ;;
esac
insmod "$ko"
got=$(cat /sys/module/sloop/version)
echo "loaded sloop version $got"
[ "$got" = "$ver" ] || { echo "FAIL: /sys/module/sloop/version is '$got', VERSION is '$ver'"; exit 1; }
# It is the DKMS build that runs: same build id as the file we loaded.
want=$(readelf -n "$ko" | sed -n 's/.*Build ID: *//p')
have=$(od -An -tx1 -v /sys/module/sloop/notes/.note.gnu.build-id | tr -d ' \n' | tail -c ${#want})
[ -n "$want" ] && [ "$have" = "$want" ] || { echo "FAIL: build id of the loaded module ($have) is not the DKMS file's ($want)"; exit 1; }
echo "build id $want matches"
# The DKMS module works: the device type and the netlink family exist.
ip link add sloopdk0 type sloop
ip link show sloopdk0
ip link del sloopdk0
rmmod sloop
echo "pkg-dkms: ok"
