#!/usr/bin/env bash
# A longer Wasm fuzz run than the one in the tests: ITERATIONS mutated modules (default 20000) from
# SEED, each validated, instantiated and run; the host must never crash.
set -euo pipefail
cd "$(dirname "$0")/.."
export SWIFT_DETERMINISTIC_HASHING=1
swift build --build-tests >/dev/null
STRATUS_FUZZ_ITERATIONS=${ITERATIONS:-20000} STRATUS_FUZZ_SEED=${SEED:-$RANDOM} swift test --skip-build --filter mutatedModules
