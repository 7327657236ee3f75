#!/bin/bash
# timeout: 180
# The module's built-in self tests (replay window; AEAD, header protection
# and nonlinear skb known answers for every cipher) pass in the real
# kernel, and the AEADs resolve to the fast implementations.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e

# /proc/crypto entry field for the entry whose driver is $1.
crypto_field() {
	awk -v drv="$1" -v f="$2" '
		/^name/ { d = "" }
		/^driver/ { d = $3 }
		d == drv && $1 == f { print $3; exit }' /proc/crypto
}

# Highest-priority tested implementation registered under name $1.
best_driver() {
	awk -v want="$1" '
		/^name/ { n = $3; d = ""; p = -1; ok = 0 }
		/^driver/ { d = $3 }
		/^priority/ { p = $3 }
		/^selftest/ { ok = ($3 == "passed") }
		/^$/ { if (n == want && ok && p > bp) { bp = p; bd = d } }
		END { if (n == want && ok && p > bp) bd = d; print bd }' /proc/crypto
}

lsmod | grep -q '^sloop ' && must modprobe -r sloop
dmesg -C
must modprobe sloop selftest=1
log=$(dmesg | grep 'sloop')
echo "$log"
grep -q 'sloop: selftest ok' <<< "$log" || fail "no 'selftest ok' in dmesg"
grep -qi 'selftest.*fail' <<< "$log" && fail "a selftest reported a failure"

note "implementations chosen"
for suite in AES-256-GCM AES-128-GCM ChaCha20-Poly1305; do
	drv=$(sed -n "s/.*selftest $suite via \([^ ]*\) ok.*/\1/p" <<< "$log")
	[ -n "$drv" ] || fail "no selftest line for $suite"
	echo "$suite: $drv (module $(crypto_field "$drv" module)," \
		"priority $(crypto_field "$drv" priority))"
	[ "$(crypto_field "$drv" selftest)" = passed ] ||
		fail "$drv is not a tested entry of /proc/crypto"
done
aes_drv=$(sed -n 's/.*selftest AES-256-GCM via \([^ ]*\) ok.*/\1/p' <<< "$log")
chacha_drv=$(sed -n 's/.*selftest ChaCha20-Poly1305 via \([^ ]*\) ok.*/\1/p' <<< "$log")
echo "gcm(aes) resolved to $aes_drv; best registered: $(best_driver 'gcm(aes)')"
echo "rfc7539(chacha20,poly1305) resolved to $chacha_drv;" \
	"best registered: $(best_driver 'rfc7539(chacha20,poly1305)')"
[ "$aes_drv" = "$(best_driver 'gcm(aes)')" ] ||
	fail "gcm(aes) did not resolve to the best implementation"

# With the CPU features there, the generic C code must not be what we got.
if grep -qw aes /proc/cpuinfo && grep -qw pclmulqdq /proc/cpuinfo; then
	[[ "$aes_drv" == *aesni* ]] || fail "AES-NI present but gcm(aes) is $aes_drv"
fi
if grep -qw ssse3 /proc/cpuinfo; then
	[[ "$chacha_drv" == *chacha20-simd* ]] ||
		fail "SSSE3 present but ChaCha20 is $chacha_drv"
fi

note "unload after the self tests"
must modprobe -r sloop
lsmod | grep -q '^sloop ' && fail "module still loaded"
echo "kmod-selftest ok"
