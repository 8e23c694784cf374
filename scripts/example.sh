#!/usr/bin/env bash
# The main job on a built-in example: installs what is missing, builds zoo, and runs it on a
# small checkpoint written by real PyTorch (see scripts/make_torch_fixtures.py).
# Usage: bash scripts/example.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build -c release --product zoo 2>&1 | tail -1
zoo=.build/release/zoo
example=Tests/Fixtures/torch/tiny_cnn.pth
echo "\$ zoo inspect $example"
"$zoo" inspect "$example"
