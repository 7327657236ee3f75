#!/bin/bash
# DKMS route on the host: install the module source with `make
# dkms-install`, then dkms add/build/install against the newest installed
# Debian kernel headers, and check the built module's version against
# VERSION.  Nothing is loaded here (see tests/vm/pkg/dkms.sh).
#   dkms.sh [install|remove]   default install; remove undoes it
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src"
ver=$(cat VERSION)
KVER=${KVER:-$(ls -1 /lib/modules | sort -V |
	while read -r v; do [ -d "/lib/modules/$v/build" ] && echo "$v"; done | tail -n1)}
[ -n "$KVER" ] || { echo "dkms: no kernel with a build tree in /lib/modules"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "dkms: needs root (dkms writes /usr/src, /var/lib/dkms, /lib/modules)"; exit 1; }
command -v dkms >/dev/null || { echo "dkms: dkms is not installed (make deps)"; exit 1; }

remove() {
	dkms remove "sloop/$ver" --all >/dev/null 2>&1 || true
	rm -rf "/usr/src/sloop-$ver"
}

if [ "${1:-install}" = remove ]; then
	remove
	[ ! -e "/var/lib/dkms/sloop/$ver" ] || { echo "dkms: sloop/$ver still registered"; exit 1; }
	echo "dkms: sloop/$ver removed"
	exit 0
fi

remove
make -s dkms-install
# Only the files DKMS needs, and no Makefile: dkms must build from Kbuild.
extra=$(cd "/usr/src/sloop-$ver" && find . -type f | grep -Ev '^\./(Kbuild|VERSION|dkms\.conf|kmod/[a-z_]+\.[ch]|include/sloop/[a-z_]+\.h)$' || true)
[ -z "$extra" ] || { echo "dkms: unexpected files in /usr/src/sloop-$ver: $extra"; exit 1; }
grep -qx "PACKAGE_VERSION=\"$ver\"" "/usr/src/sloop-$ver/dkms.conf" ||
	{ echo "dkms: dkms.conf does not carry version $ver"; exit 1; }
dkms add "sloop/$ver"
dkms build "sloop/$ver" -k "$KVER" || {
	cat "/var/lib/dkms/sloop/$ver/build/make.log" 2>/dev/null | tail -n 30
	exit 1
}
dkms install "sloop/$ver" -k "$KVER" --force
ko=$(ls "/lib/modules/$KVER/updates/dkms/sloop.ko"* 2>/dev/null | head -n1)
[ -n "$ko" ] || { echo "dkms: no sloop.ko in /lib/modules/$KVER/updates/dkms"; exit 1; }
got=$(modinfo -F version "$ko")
[ "$got" = "$ver" ] || { echo "dkms: module version '$got', VERSION says '$ver'"; exit 1; }
dkms status "sloop/$ver" | grep -q "$KVER.*installed" ||
	{ echo "dkms: status does not show sloop/$ver installed for $KVER"; dkms status; exit 1; }
echo "dkms: sloop/$ver built and installed for $KVER: $ko (version $got)"
