#!/bin/bash
# scb-bench: one sloop-scb on loopback against thousands of simulated
# devices (build/*/scb-load): logins per second (HELLO -> WELCOME of
# registered devices), waiting-room matches per second (CONNECT ->
# EV_CONNECT -> CONNECT_ANSWER -> EV_RENDEZVOUS to both) and the broker's
# RSS per online device.  Runs on the host, no VM; prints a table and
# asserts nothing but that the phases ran.
#
# Environment: SLOOP_BIN (programs, default build/rel), SCB_BENCH_DEVICES
# (2000), SCB_BENCH_PAIRS (100), SCB_BENCH_SECONDS (10), SCB_BENCH_WINDOW
# (handshakes in flight, 128), SCB_BENCH_OUT (the table, default
# build/bench/scb-bench.txt).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
bin=${SLOOP_BIN:-$src/build/rel}
devices=${SCB_BENCH_DEVICES:-2000}
pairs=${SCB_BENCH_PAIRS:-100}
seconds=${SCB_BENCH_SECONDS:-10}
window=${SCB_BENCH_WINDOW:-128}
out=${SCB_BENCH_OUT:-$src/build/bench/scb-bench.txt}
# The store's directory: a login commits (fsync) the device's HELLO stamp,
# so the disk under it bounds the login rate; /dev/shm shows the rest.
dbdir=${SCB_BENCH_DB_DIR:-}

for p in sloop-scb sloopctl scb-load; do
	if [ ! -x "$bin/$p" ]; then
		echo "scb-bench: $bin/$p is missing (make progs)" >&2
		exit 1
	fi
done

# Each simulated device and its broker side hold one descriptor.
ulimit -n $((devices + 1024)) 2>/dev/null || {
	echo "scb-bench: cannot raise the descriptor limit to $((devices + 1024))" >&2
	exit 1
}

tmp=$(mktemp -d /tmp/scb-bench.XXXXXX)
bpid=
cleanup() {
	if [ -n "$bpid" ]; then
		kill "$bpid" 2>/dev/null || true
		wait "$bpid" 2>/dev/null || true
	fi
	[ -z "$dbdir" ] || rm -f "$dbdir/scb-bench-$$.db"*
	rm -rf "$tmp"
}
trap cleanup EXIT

umask 077
"$bin/sloopctl" genkey >"$tmp/broker.key"
"$bin/sloopctl" genkey >"$tmp/admin.key"
bpub=$("$bin/sloopctl" pubkey <"$tmp/broker.key")
apub=$("$bin/sloopctl" pubkey <"$tmp/admin.key")
head -c 18 /dev/urandom | base64 >"$tmp/password"
port=${SCB_BENCH_PORT:-$((20000 + RANDOM % 20000))}
cat >"$tmp/scb.conf" <<EOF
listen 127.0.0.1:$port
key $tmp/broker.key
db ${dbdir:-$tmp}/scb-bench-$$.db
admin-key $apub
nodetach
logfile $tmp/scb.log
EOF

start_broker() {
	"$bin/sloop-scb" -c "$tmp/scb.conf" >>"$tmp/scb.out" 2>&1 &
	bpid=$!
	for _ in $(seq 100); do
		if (: <>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		kill -0 "$bpid" 2>/dev/null || break
		sleep 0.1
	done
	echo "scb-bench: sloop-scb did not start; its output:" >&2
	cat "$tmp/scb.out" >&2 || true
	exit 1
}

stop_broker() {
	kill -TERM "$bpid"
	wait "$bpid" || true
	bpid=
}

admin() {
	"$bin/sloopctl" broker "127.0.0.1:$port" key "$bpub" \
		admin-key "$tmp/admin.key" "$@"
}

start_broker
admin user add bench password-file "$tmp/password" \
	device-limit $((devices + 16))
# Registration is not what is measured: the user's Argon2id hash is
# redone at minimum cost so that registering thousands of devices takes
# seconds (the verify reads its cost from the stored hash).
stop_broker
"$bin/scb-load" cheapen "${dbdir:-$tmp}/scb-bench-$$.db" bench "$tmp/password"
start_broker

mkdir -p "$(dirname "$out")"
rc=0
{
	r=0
	echo "scb-bench $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores," \
		"load $(cut -d' ' -f1-3 /proc/loadavg), programs from $bin," \
		"store in ${dbdir:-$tmp} ($(stat -f -c %T "${dbdir:-$tmp}"))"
	"$bin/scb-load" run 127.0.0.1 "$port" "$bpub" bench "$tmp/password" \
		--devices "$devices" --pairs "$pairs" --seconds "$seconds" \
		--window "$window" --pid "$bpid" || r=$?
	echo
	echo "admin view (sloopctl broker ... user list):"
	admin user list || r=1
	exit $r
} | tee "$out" || rc=$?
kill -0 "$bpid" 2>/dev/null || {
	echo "scb-bench: sloop-scb died; its output:" >&2
	tail -n 20 "$tmp/scb.out" >&2
	exit 1
}
exit $rc
