#!/bin/bash
# make demo, part two: two namespaces ("office" and "laptop") joined by a
# veth "internet", each with a sloop device brought up by its own sloopd
# from option files, as a user would write them; then traffic through it.
. "$SLOOP_SRC/tests/vm/lib.sh"
set -e
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
D=/etc/sloop
mkdir -p $D/peers
umask 077

netns_pair office laptop 192.0.2 2001:db8:1
ip -n office link add sloop0 type sloop
ip -n laptop link add sloop0 type sloop

sloopctl genkey > $D/office.key
sloopctl genkey > $D/laptop.key
OFFICE=$(sloopctl pubkey < $D/office.key)
LAPTOP=$(sloopctl pubkey < $D/laptop.key)

cat > $D/peers/office <<EOC
# The office end listens and knows the laptop by its public key.
role primary
key $D/office.key
listen 5653
local 10.9.0.1
remote 10.9.0.2
linkname office
peer laptop pubkey $LAPTOP subnets 10.9.0.2/32
nodetach
logfile /tmp/office.log
EOC
cat > $D/peers/laptop <<EOC
# The laptop connects to the office.
role secondary
key $D/laptop.key
local 10.9.0.2
remote 10.9.0.1
linkname laptop
persist
primary 192.0.2.1:5653 pubkey $OFFICE subnets 10.9.0.1/32
nodetach
logfile /tmp/laptop.log
EOC
chmod 600 $D/peers/*
echo
echo "== /etc/sloop/peers/laptop"
cat $D/peers/laptop

say ip netns exec office sloopd sloop0 call office &
sleep 0.5
say ip netns exec laptop sloopd sloop0 call laptop &
wait_for 60 ip -n laptop route get 10.9.0.1 2>/dev/null
wait_for 60 sh -c "ip netns exec laptop ping -c1 -W1 10.9.0.1" || true
say ip -n laptop addr show sloop0
say ip netns exec laptop ping -c 3 10.9.0.1
say ip netns exec office sloopctl show
echo
echo "== a rekey (SIGUSR2): the session keeps its receiver index, nothing is lost"
say pkill -USR2 -f 'sloopd sloop0 call laptop'
sleep 2
say ip netns exec laptop ping -c 3 10.9.0.1
say ip netns exec laptop sloopctl show sloop0
pkill -TERM -x sloopd || true
sleep 1
