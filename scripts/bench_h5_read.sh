#!/usr/bin/env bash
# Reading a VGG-16-sized Keras file (553 MB, .weights.h5 and .keras) with zoo's own HDF5 reader
# against libhdf5 (H5Dread of every dataset into float32), best of RUNS with the file in the page
# cache. Builds release (scratch .build-bench) and runs the ZOO_BENCH=1 test entry.
#   bash scripts/bench_h5_read.sh          RUNS=3 bash scripts/bench_h5_read.sh
# Not a test: nothing asserts; it prints the ratio zoo / libhdf5 (below 1: zoo is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "building release (scratch path .build-bench)…" >&2
swift build -c release --build-tests -Xswiftc -enable-testing --scratch-path .build-bench >&2
ZOO_BENCH=1 RUNS=${RUNS:-5} swift test -c release --skip-build --scratch-path .build-bench --filter H5ReadBenchmark 2>&1 \
  | grep '^BENCH' | sed -E 's/ checksum=[^ ]*//'
