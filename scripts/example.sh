#!/usr/bin/env bash
# The main job on the built-in example: installs what is missing (Debian packages), builds zoo
# in release mode, and runs it on examples/bert-tiny, a checkpoint written by real PyTorch
# (scripts/make_examples.py).
# Usage: bash scripts/example.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build -c release --product zoo 2>&1 | tail -1
zoo=.build/release/zoo
example=examples/bert-tiny/pytorch_model.pth
run() { echo; echo "\$ zoo $*"; "$zoo" "$@"; }
run inspect "$example"
run map bert --checkpoint "$example"
