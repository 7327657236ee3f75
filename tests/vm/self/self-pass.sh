#!/bin/bash
# Harness self-test: a scenario that does nothing wrong passes.
# timeout: 30
exit 0
