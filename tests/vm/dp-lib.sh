# Helpers for the data-path scenarios (tests/vm/t/dp-*.sh), sourced after
# lib.sh:  . "$SLOOP_SRC/tests/vm/lib.sh"; . "$SLOOP_SRC/tests/vm/dp-lib.sh"
#
# Keys and peers are installed with `sloopctl set`, so no daemon is
# involved: each side's tx key is the other side's rx key.

DP_PIDS=()
DP_RUN=${DP_RUN:-/tmp/dp}
mkdir -p "$DP_RUN"

# Runs on exit with `set -e` still on: nothing in here may fail.
dp_cleanup() {
	local p
	for p in "${DP_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}
trap dp_cleanup EXIT

# dp_need PROG...: the programs a scenario needs are on PATH.
dp_need() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null ||
			fail "$p not found on PATH ($SLOOP_BIN): make SAN=1 progs build/san/$p"
	done
}

# dp_hex BYTES: random hex from /dev/urandom.
dp_hex() {
	od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}

# dp_index: a random non-zero 32-bit receiver index, in decimal.
dp_index() {
	local v=0
	while [ "$v" = 0 ]; do
		v=$(od -An -tu4 -N4 /dev/urandom | tr -d ' ')
	done
	echo "$v"
}

# dp_keylen CIPHER: AEAD key length in bytes.
dp_keylen() {
	case "$1" in
	aes128gcm) echo 16 ;;
	*) echo 32 ;;
	esac
}

# dp_wait_file FILE [SECONDS]
dp_wait_file() {
	wait_for "${2:-20}" test -s "$1" || fail "$1 did not appear within ${2:-20}s"
}

# dp_bg NS CMD...: CMD in the background in namespace NS ("-": the initial
# one); its pid in DP_BG_PID.  Unlike `ip netns exec`, which may stay
# around as CMD's parent, nsenter execs CMD, so the pid is CMD's own and a
# signal sent to it reaches CMD.  Redirections given to dp_bg apply to CMD
# (stdin too: the explicit <&0 keeps bash from pointing a background
# job's stdin at /dev/null).
dp_bg() {
	local ns=$1
	shift
	if [ "$ns" = - ]; then
		"$@" <&0 &
	else
		nsenter --net="/run/netns/$ns" "$@" <&0 &
	fi
	DP_BG_PID=$!
	DP_PIDS+=("$DP_BG_PID")
}

# dp_attach NS DEV PORT FAMILY: `sloopctl attach` in the background as the
# device's owner; its output goes to $DP_RUN/attach-NS-DEV.log and its pid
# to DP_ATTACH_PID (and to $DP_RUN/attach-NS-DEV.pid).  NS "-": init netns.
dp_attach() {
	local ns=$1 dev=$2 port=$3 fam=$4
	local ready=$DP_RUN/attach-$ns-$dev.ready log=$DP_RUN/attach-$ns-$dev.log
	rm -f "$ready"
	dp_bg "$ns" sloopctl attach "$dev" port "$port" family "$fam" \
		--ready-file "$ready" > "$log" 2>&1
	DP_ATTACH_PID=$DP_BG_PID
	echo "$DP_ATTACH_PID" > "$DP_RUN/attach-$ns-$dev.pid"
	wait_for 20 test -s "$ready" ||
		fail "sloopctl attach $dev in $ns did not get ready: $(cat "$log")"
}

# dp_keys NAME CIPHER: fresh material for one direction, in variables
# NAME_key NAME_salt.
dp_keys() {
	local n=$1 len
	len=$(dp_keylen "$2")
	printf -v "${n}_key" '%s' "$(dp_hex "$len")"
	printf -v "${n}_salt" '%s' "$(dp_hex 4)"
}

# dp_link NSA DEVA NSB DEVB CIPHER EP_OF_B EP_OF_A IDA IDB SUBNETS_OF_B SUBNETS_OF_A
# Installs peer IDB on A (endpoint EP_OF_B) and peer IDA on B, with fresh
# keys in phase 0 and header-protection keys, both sending with phase 0.
dp_link() {
	local nsa=$1 deva=$2 nsb=$3 devb=$4 cipher=$5 epb=$6 epa=$7
	local ida=$8 idb=$9 subb=${10} suba=${11}
	local ixa ixb len hpab hpba
	len=$(dp_keylen "$cipher")
	ixa=$(dp_index)
	ixb=$(dp_index)
	hpab=$(dp_hex "$len")
	hpba=$(dp_hex "$len")
	dp_keys ab "$cipher"
	dp_keys ba "$cipher"
	must ip netns exec "$nsa" sloopctl set "$deva" peer "$idb" \
		endpoint "$epb" rx-index "$ixa" tx-index "$ixb" cipher "$cipher" \
		hp-tx-key "$hpab" hp-rx-key "$hpba" subnets "$subb" \
		key 0 tx-key "$ab_key" tx-salt "$ab_salt" \
		rx-key "$ba_key" rx-salt "$ba_salt" id 1 swap 0
	must ip netns exec "$nsb" sloopctl set "$devb" peer "$ida" \
		endpoint "$epa" rx-index "$ixb" tx-index "$ixa" cipher "$cipher" \
		hp-tx-key "$hpba" hp-rx-key "$hpab" subnets "$suba" \
		key 0 tx-key "$ba_key" tx-salt "$ba_salt" \
		rx-key "$ab_key" rx-salt "$ab_salt" id 1 swap 0
	DP_IDX_A=$ixa
	DP_IDX_B=$ixb
}

# dp_json NS DEV: `sloopctl show DEV --json`, checked to be valid JSON.
dp_json() {
	local out
	out=$(ip netns exec "$1" sloopctl show "$2" --json) ||
		fail "sloopctl show $2 --json failed in $1"
	printf '%s\n' "$out" | python3 -m json.tool > /dev/null ||
		fail "sloopctl show --json is not valid JSON: $out"
	printf '%s\n' "$out"
}

# dp_peer_stat NS DEV PEER FIELD: one per-peer counter (0 when absent).
dp_peer_stat() {
	dp_json "$1" "$2" | jq -e --argjson id "$3" --arg f "$4" \
		'.devices[0].peers[] | select(.id == $id) | .stats[$f] // 0' ||
		fail "no peer $3 on $2 in $1"
}

# dp_dev_stat NS DEV FIELD: one device counter (0 when absent).
dp_dev_stat() {
	dp_json "$1" "$2" | jq -e --arg f "$3" '.devices[0].stats[$f] // 0' ||
		fail "no device $2 in $1"
}

# dp_drops NS DEV [SKIP]: sum of the drop counters, device-wide, except
# no_route and counter SKIP: no_route also counts the stack's own IPv6
# chatter (router solicitations, MLD reports to ff02::/16) that no peer
# owns, so scenarios check it apart.
dp_drops() {
	dp_json "$1" "$2" | jq --arg skip "${3:-}" '[.devices[0].stats |
		to_entries[] | select((.key | startswith("drop_")) and
		.key != "drop_no_route" and .key != $skip) | .value] | add // 0'
}

# dp_require_carrier NS DEV: the carrier is on (IPv6 and routing need it).
dp_wait_carrier() {
	wait_for 10 sh -c "ip -n $1 link show $2 | grep -q LOWER_UP" ||
		fail "carrier of $2 in $1 did not come on: $(ip -n "$1" link show "$2")"
}

# dp_pair CIPHER UNDER(4|6): namespaces a and b, veth va/vb, sloop0 in each,
# attached on port 5653, one peer each side (ids 1 and 2), inner 10.99.0.1
# and 10.99.0.2 and fd99::1 and fd99::2.
dp_pair() {
	local cipher=$1 under=$2 epa epb fam
	netns_pair a b
	if [ "$under" = 6 ]; then
		epa="[2001:db8:1::1]:5653"
		epb="[2001:db8:1::2]:5653"
		fam=6
	else
		epa="192.0.2.1:5653"
		epb="192.0.2.2:5653"
		fam=4
	fi
	must ip -n a link add sloop0 type sloop
	must ip -n b link add sloop0 type sloop
	dp_attach a sloop0 5653 "$fam"
	DP_ATTACH_A=$DP_ATTACH_PID
	dp_attach b sloop0 5653 "$fam"
	DP_ATTACH_B=$DP_ATTACH_PID
	dp_link a sloop0 b sloop0 "$cipher" "$epb" "$epa" 1 2 \
		10.99.0.2/32,fd99::2/128 10.99.0.1/32,fd99::1/128
	ip -n a addr add 10.99.0.1/24 dev sloop0
	ip -n b addr add 10.99.0.2/24 dev sloop0
	ip -n a addr add fd99::1/64 dev sloop0 nodad
	ip -n b addr add fd99::2/64 dev sloop0 nodad
	ip -n a link set sloop0 up
	ip -n b link set sloop0 up
	dp_wait_carrier a sloop0
	dp_wait_carrier b sloop0
}

# dp_unpair: tear down what dp_pair built.
dp_unpair() {
	kill "$DP_ATTACH_A" "$DP_ATTACH_B" 2>/dev/null || true
	wait "$DP_ATTACH_A" "$DP_ATTACH_B" 2>/dev/null || true
	ip netns pids a 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns pids b 2>/dev/null | xargs -r kill 2>/dev/null || true
	wait 2>/dev/null || true
	ip netns del a 2>/dev/null || true
	ip netns del b 2>/dev/null || true
	sleep 0.5
}

# dp_ping NS ADDR [COUNT]: all replies must come back.
dp_ping() {
	local out
	out=$(ip netns exec "$1" ping -c "${3:-3}" -i 0.2 -W 2 "$2" 2>&1) ||
		fail "ping $2 from $1 failed: $out"
	echo "$out" | tail -n 2
}

# dp_iperf_server NS ADDR: iperf3 server for one test, JSON to a file
# named in DP_IPERF_OUT.
dp_iperf_server() {
	DP_IPERF_OUT=$DP_RUN/iperf-server-$1-$RANDOM.json
	ip netns exec "$1" iperf3 -s -1 -B "$2" --json > "$DP_IPERF_OUT" 2>&1 &
	DP_IPERF_PID=$!
	DP_PIDS+=("$DP_IPERF_PID")
	wait_for 10 sh -c "ip netns exec $1 ss -ltn | grep -q ':5201 '" ||
		fail "iperf3 server in $1 did not start"
}
