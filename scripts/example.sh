#!/usr/bin/env bash
# The main job on the built-in example: installs what is missing (Debian packages), builds zoo
# in release mode, and converts examples/bert-tiny — a checkpoint written by real PyTorch
# (scripts/make_examples.py) — into a verified .keras file.
# Usage: bash scripts/example.sh [OUTPUT_DIR]     (default: ./out)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out}
bash scripts/bootstrap.sh
swift build -c release --product zoo --static-swift-stdlib 2>&1 | tail -1
zoo=.build/release/zoo
example=examples/bert-tiny/pytorch_model.pth
mkdir -p "$out"
run() { echo; echo "\$ zoo $*"; "$zoo" "$@"; }
run inspect "$example"
run convert "$example" -o "$out/bert-tiny.keras" --force
run verify "$example" "$out/bert-tiny.keras"
echo
echo "The Keras model is in $out/bert-tiny.keras: keras.saving.load_model(\"$out/bert-tiny.keras\") loads it with no custom code."
