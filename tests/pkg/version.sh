#!/bin/bash
# One version source: VERSION.  The module (MODULE_VERSION via Kbuild),
# the programs (-DSLOOP_VERSION), dkms.conf (#MODULE_VERSION#, filled in
# by make dkms-install and dh_dkms -V) and the Debian package
# (debian/changelog) must all say the same.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src"
ver=$(cat VERSION)
bad=0
check() { # what got
	if [ "$2" = "$ver" ]; then
		echo "version: $1: $2"
	else
		echo "version: $1 says '$2', VERSION says '$ver'"
		bad=1
	fi
}
[[ $ver =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "version: VERSION '$ver' is not N.N.N"; exit 1; }
check debian/changelog "$(dpkg-parsechangelog -l debian/changelog -S Version)"
# The only place the module's version comes from.
grep -q "SLOOP_VERSION='\"\$(shell cat \$(src)/VERSION)\"'" Kbuild || { echo "version: Kbuild does not take SLOOP_VERSION from VERSION"; bad=1; }
grep -q 'MODULE_VERSION(SLOOP_VERSION)' kmod/main.c || { echo "version: kmod/main.c has no MODULE_VERSION(SLOOP_VERSION)"; bad=1; }
grep -qx 'PACKAGE_VERSION="#MODULE_VERSION#"' dkms.conf || { echo "version: dkms.conf must carry PACKAGE_VERSION=\"#MODULE_VERSION#\""; bad=1; }
make -s build/rel/sloopd build/rel/sloopctl
check sloopd "$(build/rel/sloopd version | awk '{print $2}')"
check sloopctl "$(build/rel/sloopctl --version | awk '{print $2}')"
for p in sloop-scb sloop-scm; do
	[ -x "build/rel/$p" ] && check "$p" "$("build/rel/$p" --version | awk '{print $NF}')"
done
if [ -f sloop.ko ]; then
	check sloop.ko "$(modinfo -F version sloop.ko)"
fi
tmp=$(mktemp -d)
make -s dkms-install DESTDIR="$tmp"
check "installed dkms.conf" "$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$tmp/usr/src/sloop-$ver/dkms.conf")"
rm -rf "$tmp"
exit "$bad"
