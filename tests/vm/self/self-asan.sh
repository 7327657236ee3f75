#!/bin/bash
# Harness self-test: a sanitizer report left by a program fails the
# scenario.  A sanitized program that aborts writes one to
# $ASAN_OPTIONS' log_path; this one does it by hand.
# timeout: 30
log=${ASAN_OPTIONS#*log_path=}
log=${log%%:*}
echo "ERROR: AddressSanitizer: harness self-test" > "$log.$$"
exit 0
