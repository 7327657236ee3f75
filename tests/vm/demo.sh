#!/bin/bash
# make demo: what a user sees, inside the VM.  Grows with the project:
# today it loads the module and shows a sloop device; with sloopctl it
# brings a tunnel up between two namespaces and pings through it.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "== sloop demo: kernel $(uname -r)"
say ip link add sloop0 type sloop
say lsmod | grep -E '^(Module|sloop)' || true
say modinfo -F version sloop
say ip -d link show sloop0
if [ -x "$SLOOP_SRC/tests/vm/demo-tunnel.sh" ] && command -v sloopctl >/dev/null; then
	bash "$SLOOP_SRC/tests/vm/demo-tunnel.sh"
fi
say ip link del sloop0
echo
echo "== demo done"
