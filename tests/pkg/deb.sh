#!/bin/bash
# Debian packages: dpkg-buildpackage -us -uc -b in a copy of the checkout
# (never in it), lintian on the result (any tag not listed in
# debian/lintian-expected fails), then unpack the .debs into a scratch
# root and check that every file the units, man pages and maintainer
# scripts name is where they say.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
ver=$(cat "$src/VERSION")
work=$(mktemp -d /tmp/sloop-deb.XXXXXX)
# SLOOP_DEB_KEEP=1 keeps the build directory for a look.
[ "${SLOOP_DEB_KEEP:-0}" = 1 ] && echo "deb: working in $work" || trap 'rm -rf "$work"' EXIT
fail() { echo "deb: $*"; exit 1; }

# Tracked and new (not ignored) files only: no build products go along.
mkdir "$work/sloop-$ver"
(cd "$src" && git ls-files -co --exclude-standard -z |
	rsync -a --from0 --files-from=- ./ "$work/sloop-$ver/")
(cd "$work/sloop-$ver" && dpkg-buildpackage -us -uc -b) > "$work/build.log" 2>&1 ||
	{ cp "$work/build.log" "$src/build/pkg/deb-build.log" 2>/dev/null
	  tail -n 40 "$work/build.log"; fail "dpkg-buildpackage failed (build/pkg/deb-build.log)"; }
arch=$(dpkg --print-architecture)
changes=$work/sloop_${ver}_$arch.changes
[ -f "$changes" ] || fail "no $changes"
for p in "sloop_${ver}_$arch.deb" "sloop-dkms_${ver}_all.deb"; do
	[ -f "$work/$p" ] || fail "$p not built"
done
echo "deb: built $(cd "$work" && ls ./*.deb | tr '\n' ' ')"

# lintian: every tag left must be listed (and justified in
# docs/packaging.md); a listed tag that no longer shows is reported too,
# so the list does not rot.
lintian --no-cfg --display-info --tag-display-limit 0 "$changes" > "$work/lintian.out" 2>&1 || true
sed -n 's/^[EWIXP]: \([^ :]*\)[^:]*: \([^ ]*\).*/\1 \2/p' "$work/lintian.out" | sort -u > "$work/tags"
{ grep -v '^#' "$src/debian/lintian-expected" || true; } | awk 'NF { print $1, $2 }' | sort -u > "$work/expected"
unexpected=$(comm -23 "$work/tags" "$work/expected")
stale=$(comm -13 "$work/tags" "$work/expected")
if [ -n "$unexpected" ]; then
	cat "$work/lintian.out"
	fail "lintian tags not in debian/lintian-expected: $(echo $unexpected)"
fi
[ -z "$stale" ] || echo "deb: note: expected lintian tags no longer reported: $(echo $stale)"
echo "deb: lintian: $(wc -l < "$work/tags") tag(s), all listed in debian/lintian-expected"

# Unpack into a scratch root and check the layout.
root=$work/root
for d in "$work"/*.deb; do dpkg -x "$d" "$root"; done
unitdir=$root/lib/systemd/system
[ -f "$unitdir/sloopd@.service" ] || fail "sloopd@.service not installed"
for u in "$unitdir"/*.service; do
	for exe in $(sed -n 's/^Exec[A-Za-z]*=[-@:+!]*\([^ ]*\).*/\1/p' "$u"); do
		[ -x "$root$exe" ] || fail "$(basename "$u"): $exe not in the package"
	done
done
[ -x "$root/usr/sbin/sloopd" ] && [ -x "$root/usr/sbin/sloopctl" ] || fail "programs missing"
for m in "$src"/docs/man/*.[1-8]; do
	s=${m##*.}
	[ -f "$root/usr/share/man/man$s/$(basename "$m").gz" ] || fail "man page $(basename "$m") missing"
done
# Paths the man pages promise.
for f in /etc/sloop/options /etc/sloop/ip-up /etc/sloop/ip-down; do
	[ -e "$root$f" ] || fail "$f missing"
done
[ -d "$root/etc/sloop/ip-up.d" ] && [ -d "$root/etc/sloop/ip-down.d" ] || fail "ip-up.d/ip-down.d missing"
[ -f "$root/etc/sloop/peers/example" ] || fail "peers/example missing"
[ "$(cat "$root/usr/lib/modules-load.d/sloop.conf" | grep -v '^#')" = sloop ] || fail "modules-load.d/sloop.conf"
# Conffiles: everything under /etc/sloop is the admin's.
dpkg-deb -e "$work/sloop_${ver}_$arch.deb" "$work/ctl"
for f in /etc/sloop/options /etc/sloop/peers/example /etc/sloop/ip-up /etc/sloop/ip-down; do
	grep -qx "$f" "$work/ctl/conffiles" || fail "$f is not a conffile"
done
# The DKMS source: dkms.conf versioned like the package, no Makefile.
dk=$root/usr/src/sloop-$ver
grep -qx "PACKAGE_VERSION=\"$ver\"" "$dk/dkms.conf" || fail "dkms.conf version is not $ver"
[ -f "$dk/Kbuild" ] && [ -f "$dk/VERSION" ] && [ -f "$dk/kmod/main.c" ] || fail "DKMS source incomplete"
[ ! -e "$dk/Makefile" ] || fail "DKMS source ships a Makefile"
[ "$(dpkg-deb -f "$work/sloop-dkms_${ver}_all.deb" Version)" = "$ver" ] || fail "package version"
dpkg-deb -f "$work/sloop-dkms_${ver}_all.deb" Depends | grep -q dkms || fail "sloop-dkms does not depend on dkms"
# Units in the package must also pass systemd-analyze.
SLOOP_UNIT_ROOT=$root "$src/tests/pkg/units.sh" > "$work/units.out" 2>&1 ||
	{ cat "$work/units.out"; fail "installed units do not verify"; }
echo "deb: layout of the unpacked packages matches units, man pages and conffiles"
