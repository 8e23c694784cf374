#!/usr/bin/env bash
# The test command (CI runs exactly this through .ci/run):
#   1. installs what is missing (Debian packages; the reference Python environments),
#   2. builds once and runs every Swift test (debug),
#   3. fuzzes every reader of untrusted files for 8 s each (scripts/fuzz.sh; its sanitized build first),
#   4. builds the release binary and runs a CI-sized `zoo nightly` (the architectures proven in CI, small sizes),
#   5. injects faults into real conversions (signals, full disk, truncated input, races, output = input),
#   6. proves every family against real PyTorch and real Keras (scripts/interop.sh --ci; the nightly runs every variant).
# Usage: bash scripts/test.sh            ZOO_SKIP_INTEROP=1 skips step 6 (for quick local runs).
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step's wall time, so that the suite's growth shows where it comes from (CI's limit is 90 min).
started=$(date +%s)
mark=$started
took() { local now; now=$(date +%s); echo "test: $1 took $((now - mark)) s"; mark=$now; }
bash scripts/bootstrap.sh
if [ -z "${ZOO_SKIP_INTEROP:-}" ]; then
  # Create the environments first: a fresh machine downloads them once (cached in ~/.cache/zoo-venvs).
  bash scripts/venv.sh torch >/dev/null
  bash scripts/venv.sh keras >/dev/null
fi
took "setup (packages, reference environments)"

swift build --build-tests
swift test --skip-build
took "debug build and Swift tests"
bash scripts/fuzz.sh 8
took "fuzzing (build and 9 targets)"

swift build -c release --product zoo --static-swift-stdlib
nightly=$(mktemp -d "${TMPDIR:-/tmp}/zoo-nightly.XXXXXX")
trap 'rm -rf "$nightly"' EXIT
.build/release/zoo nightly --small --ci --out "$nightly" | tail -n +3 | head -30
took "release build and CI nightly"
bash scripts/fault_injection.sh .build/release/zoo
took "fault injection"

if [ -z "${ZOO_SKIP_INTEROP:-}" ]; then
  bash scripts/interop.sh .build/release/zoo --ci
  took "interop"
fi
echo "test: all steps passed in $(( $(date +%s) - started )) s"
