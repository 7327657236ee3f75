#!/bin/sh
# The shipped tools/etc/ip-up and ip-down hand sloopd's arguments and
# environment on to every script in ip-up.d / ip-down.d via run-parts.
# Run from the checkout: sh tests/scripts/ip-scripts.sh; exit 0 = pass.
set -e
src=$(cd "$(dirname "$0")/../.." && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for s in ip-up ip-down; do
	cp "$src/tools/etc/$s" "$t/$s"
	mkdir "$t/$s.d"
	for n in 10-first 20-second; do
		cat > "$t/$s.d/$n" <<EOS
#!/bin/sh
{ echo "args[\$#]: \$*"; env | sort; } > "$t/$s.$n.out"
EOS
		chmod 755 "$t/$s.d/$n"
	done
	# Not a run-parts name: must not run.
	cp "$t/$s.d/10-first" "$t/$s.d/30-skipped.sh"
	# The environment exactly as sloopd's script.c builds it.
	env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		IFNAME=sloop0 IPLOCAL=10.9.0.2 IPREMOTE=10.9.0.1 \
		PEERNAME=192.0.2.1:5653 LINKNAME=office \
		CONNECT_TIME=42 BYTES_SENT=1000 BYTES_RCVD=2000 \
		"$t/$s" sloop0 192.0.2.1:5653 0 10.9.0.2 10.9.0.1 office ||
		fail "$s exited $?"
	for n in 10-first 20-second; do
		o="$t/$s.$n.out"
		[ -f "$o" ] || fail "$s did not run $n"
		grep -qx "args\[6\]: sloop0 192.0.2.1:5653 0 10.9.0.2 10.9.0.1 office" "$o" ||
			fail "$s $n args: $(head -n1 "$o")"
		for v in IFNAME=sloop0 IPLOCAL=10.9.0.2 IPREMOTE=10.9.0.1 \
			 PEERNAME=192.0.2.1:5653 LINKNAME=office CONNECT_TIME=42 \
			 BYTES_SENT=1000 BYTES_RCVD=2000; do
			grep -qx "$v" "$o" || fail "$s $n: no $v"
		done
	done
	[ ! -e "$t/$s.30-skipped.sh.out" ] || fail "$s ran 30-skipped.sh"
	# An empty argument (ip-pre-up style PEERNAME) keeps its place.
	env -i "$t/$s" sloop0 "" 0 10.9.0.2 10.9.0.1 office || fail "$s empty arg"
	grep -qx "args\[6\]: sloop0  0 10.9.0.2 10.9.0.1 office" "$t/$s.10-first.out" ||
		fail "$s with an empty PEERNAME: $(head -n1 "$t/$s.10-first.out")"
	# A failing part makes the script fail, so sloopd logs E602.
	printf '#!/bin/sh\nexit 3\n' > "$t/$s.d/40-fails"
	chmod 755 "$t/$s.d/40-fails"
	! env -i "$t/$s" a b 0 c d e 2>/dev/null || fail "$s hid a failing part"
	rm "$t/$s.d/40-fails"
	# No directory: nothing to do, success.
	rm -rf "$t/$s.d"
	"$t/$s" a b 0 c d e || fail "$s without $s.d"
done
echo "ip-scripts ok"
