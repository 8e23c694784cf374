#!/usr/bin/env bash
# Nightly verification of the whole zoo, suitable for cron:
#   0 3 * * *  cd /path/to/zoo && bash scripts/nightly.sh >> nightly/cron.log 2>&1
# Builds zoo in release mode, runs `zoo nightly` into nightly/<UTC date>/ (compared with the
# latest earlier run), then, when the reference environments exist (scripts/venv.sh), the
# interop check against real PyTorch and Keras. Exit status is non-zero if anything failed.
# Usage: bash scripts/nightly.sh [ROOT] [--small]    (ROOT default: ./nightly)
set -uo pipefail
cd "$(dirname "$0")/.."
root=${1:-nightly}
shift || true
bash scripts/bootstrap.sh
swift build -c release --product zoo --static-swift-stdlib 2>&1 | tail -1 || exit 1
zoo=.build/release/zoo
today=$(date -u +%Y-%m-%d)
out="$root/$today"
previous=$(ls -d "$root"/20??-??-?? 2>/dev/null | grep -v "/$today\$" | sort | tail -1)
mkdir -p "$out"
args=(nightly --out "$out" "$@")
[ -n "$previous" ] && [ -f "$previous/report.json" ] && [ ! -f "$out/report.json" ] && args+=(--previous "$previous/report.json")
status=0
"$zoo" "${args[@]}" || status=1
if [ -x "${ZOO_VENV_ROOT:-$HOME/.cache/zoo-venvs}/torch/bin/python" ] && [ -x "${ZOO_VENV_ROOT:-$HOME/.cache/zoo-venvs}/keras/bin/python" ]; then
  bash scripts/interop.sh "$zoo" 2>&1 | tee "$out/interop.log" || status=1
else
  echo "nightly: reference environments absent; skipped the interop check (create them with scripts/venv.sh)" | tee "$out/interop.log"
fi
echo "nightly: report in $out/report.html (status $status)"
exit $status
