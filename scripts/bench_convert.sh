#!/usr/bin/env bash
# Conversion speed and memory, measured in one run against two baselines on the same files:
# copying the checkpoint with cp, and the Python pipeline a user writes today
# (scripts/bench_python_pipeline.py: torch.load, numpy transposes, h5py).
# Checkpoints are real torchvision models (1000 classes) saved by torch.save.
# Usage: bash scripts/bench_convert.sh [ARCH ...]     (default: resnet50 vgg16)
set -euo pipefail
cd "$(dirname "$0")/.."
archs=("$@"); [ ${#archs[@]} -gt 0 ] || archs=(resnet50 vgg16)
swift build -c release --product zoo --static-swift-stdlib 2>&1 | tail -1
zoo=$PWD/.build/release/zoo
PYT=$(bash scripts/venv.sh torch)
work=$(mktemp -d "${TMPDIR:-/tmp}/zoo-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
measure() { # OUTPUT CMD...: prints "seconds peak_kb" (best of 3 by time). Before each run the
  # output is removed and dirty pages are flushed (not timed), so no contender pays for another's
  # write-back or for truncating an old file.
  local out=$1 best="" line; shift
  for _ in 1 2 3; do
    rm -f "$out"; sync
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$work/time.txt" "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    line="$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}') $(tail -1 "$work/time.txt")"
    if [ -z "$best" ] || awk -v a="${line%% *}" -v b="${best%% *}" 'BEGIN{exit !(a<b)}'; then best=$line; fi
  done
  echo "$best"
}
printf "%-9s %8s %7s %7s %7s %9s %8s %7s %10s %8s %9s %10s\n" arch "ckpt MB" "cp s" "zoo s" "zoo .h5" "zoo+ver s" "python s" "zoo/cp" "python/zoo" "RSS zoo" "RSS +ver" "RSS python"
for arch in "${archs[@]}"; do
  "$PYT" -c "import torch, torchvision; torch.save(getattr(torchvision.models, '$arch')().state_dict(), '$work/$arch.pth')"
  "$zoo" map "$arch" --json > "$work/$arch.map.json"
  size=$(stat -c %s "$work/$arch.pth")
  cat "$work/$arch.pth" > /dev/null # warm the page cache for every contender alike
  cp_run=$(measure "$work/copy.pth" cp "$work/$arch.pth" "$work/copy.pth")
  zoo_run=$(measure "$work/$arch.keras" "$zoo" convert "$arch" "$work/$arch.pth" -o "$work/$arch.keras" --no-verify --force --quiet)
  h5_run=$(measure "$work/$arch.h5" "$zoo" convert "$arch" "$work/$arch.pth" -o "$work/$arch.h5" --no-verify --force --quiet)
  ver_run=$(measure "$work/$arch.keras" "$zoo" convert "$arch" "$work/$arch.pth" -o "$work/$arch.keras" --force --quiet)
  py_run=$(measure "$work/$arch.py.h5" "$PYT" scripts/bench_python_pipeline.py "$work/$arch.pth" "$work/$arch.map.json" "$work/$arch.py.h5")
  read -r cp_s _ <<<"$cp_run"; read -r zoo_s zoo_kb <<<"$zoo_run"; read -r h5_s _ <<<"$h5_run"; read -r ver_s ver_kb <<<"$ver_run"; read -r py_s py_kb <<<"$py_run"
  awk -v a="$arch" -v sz="$size" -v c="$cp_s" -v z="$zoo_s" -v h="$h5_s" -v v="$ver_s" -v p="$py_s" -v zk="$zoo_kb" -v vk="$ver_kb" -v pk="$py_kb" \
    'BEGIN{printf "%-9s %8.1f %7.3f %7.3f %7.3f %9.3f %8.3f %6.2fx %9.2fx %7.2fx %8.2fx %9.2fx\n", a, sz/1e6, c, z, h, v, p, z/c, p/z, zk*1024/sz, vk*1024/sz, pk*1024/sz}'
  rm -f "$work"/*.pth "$work"/*.keras "$work"/*.h5
done
echo "(seconds: best of 3, checkpoint in the page cache, output removed and dirty pages flushed before each run;"
echo " zoo = convert to .keras without verification, zoo .h5 = to legacy .h5, zoo+ver = .keras verified (the default);"
echo " RSS = peak resident memory / checkpoint size: zoo, zoo+ver, the Python pipeline)"
