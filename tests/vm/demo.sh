#!/bin/bash
# make demo: what a user sees, inside the VM: the module loads on demand
# and shows a sloop device, then two sloopd bring a tunnel up between two
# namespaces from option files, traffic passes and a rekey loses nothing;
# last a broker and three devices form a loop.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "== sloop demo: kernel $(uname -r)"
say ip link add sloop0 type sloop
say lsmod | grep -E '^(Module|sloop)' || true
say modinfo -F version sloop
say ip -d link show sloop0
say ip link del sloop0
if command -v sloopd >/dev/null && command -v sloopctl >/dev/null; then
	bash "$SLOOP_SRC/tests/vm/demo-tunnel.sh"
	command -v sloop-scb >/dev/null &&
		bash "$SLOOP_SRC/tests/vm/demo-loop.sh"
fi
echo
echo "== demo done"
