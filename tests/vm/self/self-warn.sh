#!/bin/bash
# Harness self-test: a kernel warning in dmesg fails the scenario that
# caused it even though its script succeeds.  The line goes in through
# /dev/kmsg, which is where the harness reads it from as well.
# timeout: 30
echo "WARNING: CPU: 0 PID: $$ at sloop-harness-selftest" > /dev/kmsg
exit 0
