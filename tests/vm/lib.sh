# Helpers for VM scenarios: `. "$SLOOP_SRC/tests/vm/lib.sh"`.
# Scenarios run as root in a throwaway VM; anything they leave is discarded.

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

note() {
	echo "--- $*"
}

# Run a command and fail the scenario, with its output, unless it succeeds.
must() {
	local out
	out=$("$@" 2>&1) || fail "'$*' failed: $out"
	[ -n "$out" ] && echo "$out"
	return 0
}

# Succeeds only if the command fails; for things that must be refused.
mustnt() {
	local out
	out=$("$@" 2>&1) && fail "'$*' succeeded but should not have: $out"
	echo "refused as expected: $*: $out"
	return 0
}

# wait_for SECONDS CMD...: poll until CMD succeeds.
wait_for() {
	local deadline=$(( $(date +%s) + $1 ))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# netns_pair A B [V4PREFIX] [V6PREFIX]: namespaces A and B joined by a veth
# pair (A: vA, B: vB) with underlay addresses .1 and .2 of a /24 and ::1/::2.
netns_pair() {
	local a=$1 b=$2 p4=${3:-192.0.2} p6=${4:-2001:db8:1}
	ip netns add "$a" 2>/dev/null || true
	ip netns add "$b" 2>/dev/null || true
	ip -n "$a" link set lo up
	ip -n "$b" link set lo up
	ip link add "v$a" netns "$a" type veth peer name "v$b" netns "$b"
	ip -n "$a" addr add "$p4.1/24" dev "v$a"
	ip -n "$b" addr add "$p4.2/24" dev "v$b"
	ip -n "$a" addr add "$p6::1/64" dev "v$a" nodad
	ip -n "$b" addr add "$p6::2/64" dev "v$b" nodad
	ip -n "$a" link set "v$a" up
	ip -n "$b" link set "v$b" up
}

# Are we on the debug kernel (KASAN etc.)?  Timings stretch there.
debug_kernel() {
	[ "${SLOOP_DEBUG_KERNEL:-0}" = 1 ]
}

# sloopd_pair DIR: a fresh DIR (mode 077 from now on), namespaces a and b
# (netns_pair) with a sloop0 device each, Ed25519 keys DIR/a.key and
# DIR/b.key, their public keys in A_PUB and B_PUB.
sloopd_pair() {
	rm -rf "$1"
	mkdir -p "$1"
	umask 077
	netns_pair a b
	must ip -n a link add sloop0 type sloop
	must ip -n b link add sloop0 type sloop
	sloopctl genkey > "$1/a.key"
	sloopctl genkey > "$1/b.key"
	A_PUB=$(sloopctl pubkey < "$1/a.key")
	B_PUB=$(sloopctl pubkey < "$1/b.key")
}
