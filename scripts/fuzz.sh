#!/usr/bin/env bash
# Fuzzes zoo's readers of untrusted files with libFuzzer (Fuzz/Package.swift, entry points in
# Sources/ZooFuzzing).
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET…]     (default: 60 s, every target)
# Builds the fuzz package once, seeds each target's corpus from the committed fixtures real
# PyTorch and real Keras wrote (Fuzz/seeds.txt) and its saved regressions, keeps the working
# corpus outside git in ${ZOO_FUZZ_DIR:-~/.cache/zoo-fuzz}/<target>/corpus so that long runs
# accumulate, and prints one line per target. Exit status 1 when a target crashed, timed out or
# ran out of memory (the input's path is printed), unless Fuzz/known-crashes.txt lists the crash.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

all=(pickle legacy_pth zip_pth zip_directory safetensors keras weights_h5 legacy_h5 config_json)
seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz: unknown target '$t' (targets: ${all[*]})" >&2; exit 64; }
done
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz: expected SECONDS_PER_TARGET as a whole number, found '$seconds'" >&2; exit 64; }
work=${ZOO_FUZZ_DIR:-$HOME/.cache/zoo-fuzz}

# Dictionaries per target (libFuzzer takes one file; several are joined).
declare -A dicts=(
  [pickle]="pickle" [legacy_pth]="pickle" [zip_pth]="zip pickle" [zip_directory]="zip"
  [safetensors]="safetensors json" [keras]="zip json hdf5" [weights_h5]="hdf5" [legacy_h5]="hdf5"
  [config_json]="json"
)

start=$(date +%s)
log=$(mktemp "${TMPDIR:-/tmp}/zoo-fuzz-build.XXXXXX")
trap 'rm -f "$log"' EXIT
build() {
  nice -n 10 swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
    --package-path Fuzz --scratch-path .build-fuzz >"$log" 2>&1
}
# SwiftPM keeps the build description of .. when a target or a source file there is added or removed
# ("missing inputs", or "cannot find 'X' in scope" for a new file); remade, it builds.
if ! build && ! { rm -f .build-fuzz/release.yaml && build; }; then
  cat "$log" >&2
  echo "fuzz: the fuzz package did not build" >&2
  exit 1
fi
echo "fuzz: built the fuzz package in $(( $(date +%s) - start )) s; corpora in $work"
bin=$repo/.build-fuzz/release

# known_crash TARGET LOG: "FILES REASON" of the Fuzz/known-crashes.txt line whose frame LOG's stack names, if any.
known_crash() {
  local target=$1 crashlog=$2 t frame files reason
  while read -r t frame files reason; do
    [[ -z $t || $t == \#* || $t != "$target" ]] && continue
    # (no grep -q: with pipefail, the first grep dying of SIGPIPE would fail the test)
    if grep -E '^ +#[0-9]+ ' "$crashlog" | grep -F -- "$frame" >/dev/null; then echo "$files $reason"; return; fi
  done <Fuzz/known-crashes.txt
}

# known_file TARGET NAME: whether a regression input belongs to a known crash (not replayed).
known_file() {
  local target=$1 name=$2 t frame files reason
  while read -r t frame files reason; do
    [[ -z $t || $t == \#* || $t != "$target" ]] && continue
    # shellcheck disable=SC2053
    [[ $name == $files ]] && return 0
  done <Fuzz/known-crashes.txt
  return 1
}

# seed TARGET DIR: copies the target's seeds (Fuzz/seeds.txt) and regressions into DIR.
seed() {
  local target=$1 dir=$2 t patterns pattern archive entry file name
  local -a list
  rm -rf "$dir" && mkdir -p "$dir"
  shopt -s nullglob
  while read -r t patterns; do
    [[ -z $t || $t == \#* || $t != "$target" ]] && continue
    read -r -a list <<<"${patterns%%#*}" # split without expanding the patterns yet
    for pattern in "${list[@]}"; do
      if [[ $pattern == *:* ]]; then
        for archive in ${pattern%%:*}; do
          unzip -Z1 "$archive" >/dev/null 2>&1 || continue # not a zip (or a damaged one)
          while read -r entry; do
            # shellcheck disable=SC2053
            [[ $entry == ${pattern#*:} ]] || continue
            name=${archive//\//_}:${entry//\//_}
            unzip -p "$archive" "$entry" >"$dir/$name" 2>/dev/null || rm -f "$dir/$name"
          done < <(unzip -Z1 "$archive")
        done
      else
        for file in $pattern; do cp "$file" "$dir/${file//\//_}"; done
      fi
    done
  done <Fuzz/seeds.txt
  for file in Fuzz/regressions/"$target"/*; do
    known_file "$target" "$(basename "$file")" || cp "$file" "$dir/regression_$(basename "$file")"
  done
  shopt -u nullglob
}

# fuzzer TARGET ARGS…: the target's binary under the sanitizers' settings, niced.
fuzzer() {
  local target=$1
  shift
  # libFuzzer reports crashes itself: the Swift runtime's backtracer would hold the pipe open.
  SWIFT_BACKTRACE=enable=no \
  ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer || true)} \
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
  LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$repo/Fuzz/lsan-suppressions.txt:print_suppressions=0} \
  nice -n 10 "$bin/fuzz_$target" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 "$@"
}

failed=0
printf '%-14s %12s %9s %8s  %s\n' target executions "exec/s" corpus crashes
for t in "${targets[@]}"; do
  dir=$work/$t
  mkdir -p "$dir"
  # One run a target folder: a second fuzz.sh on a target another is fuzzing (the test command's
  # short run beside an overnight one) fuzzes a copy of its corpus, so neither clobbers the
  # other's logs or merges the corpus from under it.
  exec {lock}>"$dir/.lock"
  private=""
  if ! flock -n "$lock"; then
    private=$(mktemp -d "${TMPDIR:-/tmp}/zoo-fuzz-$t.XXXXXX")
    cp -r "$dir/corpus" "$private/corpus" 2>/dev/null || true
    echo "  ($t: another run is fuzzing $dir; this one fuzzes a copy in $private)"
    dir=$private
  fi
  mkdir -p "$dir/corpus" "$dir/crashes"
  seed "$t" "$dir/seeds"
  dict=$dir/dictionary
  : >"$dict"
  for d in ${dicts[$t]}; do cat "Fuzz/dictionaries/$d.dict" >>"$dict"; done
  # libFuzzer reports crashes itself: the Swift runtime's backtracer would hold the pipe open.
  began=$(date +%s%N)
  fuzzer "$t" "$dir/corpus" "$dir/seeds" -dict="$dict" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$dir/crashes/" >"$dir/raw.log" 2>&1 || true
  swift demangle --simplified <"$dir/raw.log" >"$dir/last.log" && rm "$dir/raw.log"
  elapsed_ms=$(( ($(date +%s%N) - began) / 1000000 ))
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/last.log" | tail -1)
  rate=${executions:+$(( executions * 1000 / (elapsed_ms > 0 ? elapsed_ms : 1) ))}
  corpus=$(ls "$dir/corpus" | wc -l)
  inputs=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$dir/last.log")
  # libFuzzer adds files but never removes the ones later inputs made redundant: when the folder
  # holds twice what the run kept, merge it down so that long runs do not slow the short ones.
  kept=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' "$dir/last.log" | tail -1)
  if [ -z "$inputs" ] && [ -n "$kept" ] && [ "$corpus" -gt 500 ] && [ "$corpus" -gt $(( 2 * kept )) ]; then
    rm -rf "$dir/merged" && mkdir "$dir/merged"
    if fuzzer "$t" -merge=1 "$dir/merged" "$dir/corpus" >"$dir/merge.log" 2>&1; then
      rm -rf "$dir/corpus" && mv "$dir/merged" "$dir/corpus"
      corpus=$(ls "$dir/corpus" | wc -l)
    fi
  fi
  printf '%-14s %12s %9s %8s  %s\n' "$t" "${executions:-?}" "${rate:-?}" "$corpus" "$(printf '%s' "$inputs" | grep -c . || true)"
  if [ -z "$executions" ] && [ -z "$inputs" ]; then
    echo "  $t did not run to the end; its output is in $dir/last.log" >&2
    failed=1
  fi
  for input in $inputs; do
    # A slow unit (libFuzzer's -report_slow_units, 10 s) on a loaded machine need not be slow:
    # replayed alone, it is a finding only if it still takes a second or more.
    if [[ $(basename "$input") == slow-unit-* ]]; then
      replay_began=$(date +%s%N)
      fuzzer "$t" "$input" >"$dir/slow.log" 2>&1 || true
      replay_ms=$(( ($(date +%s%N) - replay_began) / 1000000 ))
      if [ "$replay_ms" -lt 1000 ] && grep -q "^Executed .* in [0-9]* ms" "$dir/slow.log"; then
        echo "  slow only under load: $input took $(sed -n 's/^stat::slowest_unit_time_sec: *//p' "$dir/last.log" | tail -1) s in the run, ${replay_ms} ms replayed alone (removed)"
        rm -f "$input"
        continue
      fi
    fi
    known=$(known_crash "$t" "$dir/last.log")
    if [ -n "$known" ]; then
      echo "  known crash: $input"
      echo "    ${known#* } (Fuzz/known-crashes.txt); log: $dir/last.log"
      echo "    unless Fuzz/regressions/$t/ holds one like it, save it there named ${known%% *} (replay skips those)"
    else
      echo "  CRASH: $input"
      echo "    log: $dir/last.log; reproduce: $bin/fuzz_$t $input"
      echo "    copy it to Fuzz/regressions/$t/<what-it-is> once fixed, so the tests replay it"
      failed=1
    fi
  done
  exec {lock}>&-
  # a private copy is kept only when it holds a finding
  if [ -n "$private" ] && [ -z "$inputs" ]; then rm -rf "$private"; fi
done
echo "fuzz: done in $(( $(date +%s) - start )) s"
exit $failed
