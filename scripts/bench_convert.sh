#!/usr/bin/env bash
# Conversion speed and memory, measured in one run against two baselines on the same files:
# copying the checkpoint with cp, and the Python pipeline a user writes today
# (scripts/bench_python_pipeline.py: torch.load, numpy transposes, h5py).
# Checkpoints are real torchvision models (1000 classes) saved by torch.save.
# Usage: bash scripts/bench_convert.sh [ARCH ...]     (default: resnet50 vgg16)
set -euo pipefail
cd "$(dirname "$0")/.."
archs=("$@"); [ ${#archs[@]} -gt 0 ] || archs=(resnet50 vgg16)
swift build -c release --product zoo 2>&1 | tail -1
zoo=$PWD/.build/release/zoo
PYT=$(bash scripts/venv.sh torch)
work=$(mktemp -d "${TMPDIR:-/tmp}/zoo-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
measure() { # prints "seconds peak_kb" of a command (best of 3 runs for time; peak of the best run)
  local best="" line
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null 2>&1
    line=$(tail -1 "$work/time.txt")
    if [ -z "$best" ] || awk -v a="${line%% *}" -v b="${best%% *}" 'BEGIN{exit !(a<b)}'; then best=$line; fi
  done
  echo "$best"
}
printf "%-10s %9s %9s %9s %9s %9s %11s %11s %12s\n" arch "ckpt MB" "cp s" "zoo s" "zoo+ver s" "python s" "zoo/cp" "python/zoo" "zoo RSS/ckpt"
for arch in "${archs[@]}"; do
  "$PYT" -c "import torch, torchvision; torch.save(getattr(torchvision.models, '$arch')().state_dict(), '$work/$arch.pth')"
  "$zoo" map "$arch" --json > "$work/$arch.map.json"
  size=$(stat -c %s "$work/$arch.pth")
  cat "$work/$arch.pth" > /dev/null # warm the page cache for every contender alike
  cp_run=$(measure cp "$work/$arch.pth" "$work/copy.pth")
  zoo_run=$(measure "$zoo" convert "$arch" "$work/$arch.pth" -o "$work/$arch.keras" --no-verify --force --quiet)
  ver_run=$(measure "$zoo" convert "$arch" "$work/$arch.pth" -o "$work/$arch.keras" --force --quiet)
  py_run=$(measure "$PYT" scripts/bench_python_pipeline.py "$work/$arch.pth" "$work/$arch.map.json" "$work/$arch.py.h5")
  read -r cp_s _ <<<"$cp_run"; read -r zoo_s zoo_kb <<<"$zoo_run"; read -r ver_s _ <<<"$ver_run"; read -r py_s _ <<<"$py_run"
  awk -v a="$arch" -v mb="$(echo "$size/1000000" | bc -l)" -v c="$cp_s" -v z="$zoo_s" -v v="$ver_s" -v p="$py_s" -v kb="$zoo_kb" -v sz="$size" \
    'BEGIN{printf "%-10s %9.1f %9.2f %9.2f %9.2f %9.2f %10.2fx %10.2fx %11.2fx\n", a, mb, c, z, v, p, z/(c>0?c:0.01), p/(z>0?z:0.01), kb*1024/sz}'
  rm -f "$work"/*.pth "$work"/*.keras "$work"/*.h5
done
echo "(times: best of 3, page cache warm; zoo = convert to .keras without verification, zoo+ver = with it; RSS = peak resident memory of zoo convert)"
