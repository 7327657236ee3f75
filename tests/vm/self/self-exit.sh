#!/bin/bash
# Harness self-test: a scenario that exits non-zero fails.
# timeout: 30
exit 3
