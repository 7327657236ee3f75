#!/bin/bash
# systemd-analyze verify on the units, offline: no systemd runs in this
# container, so --man=no (no man pages to look up) and --generators=no,
# and the unit files are verified by path.  --root= would need a whole
# systemd tree (sysinit.target...) in the root, so instead the Exec paths
# are rewritten to point into the install root, where they must exist.
# Any message, even a warning about an unknown key, fails.
#   SLOOP_UNIT_ROOT=DIR  verify the units installed in DIR (a package
#                        unpacked by deb.sh); default: `make install` here
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/sloop-units.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=${SLOOP_UNIT_ROOT:-}
if [ -z "$root" ]; then
	root=$work/root
	make -s -C "$src" install DESTDIR="$root" > "$work/install.log" 2>&1 ||
		{ cat "$work/install.log"; echo "units: make install failed"; exit 1; }
fi
command -v systemd-analyze >/dev/null || { echo "units: systemd-analyze missing (make deps)"; exit 1; }
n=0 bad=0
mkdir "$work/u"
for u in "$root"/lib/systemd/system/*.service; do
	[ -e "$u" ] || continue
	b=$(basename "$u")
	sed -E "s#^(Exec[A-Za-z]*=[-@:+!]*)/#\\1$root/#" "$u" > "$work/u/$b"
	# A template is verified as an instance of itself.
	case "$b" in *@.service) t=${b%@.service}@test.service; ln -s "$b" "$work/u/$t" ;; *) t=$b ;; esac
	out=$(cd "$work/u" && systemd-analyze verify --man=no --generators=no "$work/u/$t" 2>&1) && rc=0 || rc=$?
	n=$((n + 1))
	if [ "$rc" != 0 ] || [ -n "$out" ]; then
		echo "units: $b: systemd-analyze verify status $rc:"
		echo "$out" | sed 's/^/    /'
		bad=$((bad + 1))
	else
		echo "units: $b verifies"
	fi
done
[ "$n" -gt 0 ] || { echo "units: no unit files in $root/lib/systemd/system"; exit 1; }
# The module must be listed for modules-load.d.
grep -qx sloop "$root/usr/lib/modules-load.d/sloop.conf" || { echo "units: modules-load.d/sloop.conf"; exit 1; }
[ "$bad" = 0 ]
