#!/usr/bin/env bash
# Faults during real conversions, as users and other programs cause them: every signal at several
# moments of a large conversion, a full disk, a file-size limit, the input truncated mid-run,
# concurrent writers, and the output named as the input by every spelling. After each case:
#   - the input is byte-identical to what it was,
#   - no stray file is left in any folder involved,
#   - the outcome is one complete file that `zoo verify` accepts, or a clean end: one line
#     `zoo: error: …` and a non-zero status, or death by the signal that was sent.
# Usage: bash scripts/fault_injection.sh [ZOO_BINARY]   (default .build/release/zoo)
# Part of the test command; needs no Python. A tmpfs is mounted for the full-disk case when
# the machine allows it (root); otherwise that case says so and uses a file-size limit.
set -uo pipefail
cd "$(dirname "$0")/.."
zoo=$(realpath "${1:-.build/release/zoo}")
work=$(mktemp -d "${TMPDIR:-/tmp}/zoo-faults.XXXXXX")
disk="$work/disk"
cleanup() { mountpoint -q "$disk" 2>/dev/null && umount "$disk"; rm -rf "$work"; }
trap cleanup EXIT

passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# A large seeded checkpoint, as torch.save writes it (resnet152: 242 MB).
src="$work/src"; mkdir -p "$src"
"$zoo" random resnet152 -o "$src/r152.pth" --seed 3 >/dev/null || { echo "fault_injection: cannot make the checkpoint" >&2; exit 1; }
"$zoo" random resnet18 -o "$src/r18.pth" --seed 4 >/dev/null || exit 1
sum() { sha256sum "$1" | cut -d' ' -f1; }
big_sum=$(sum "$src/r152.pth")
small_sum=$(sum "$src/r18.pth")

# check CASE DIR EXPECTED_FILES STATUS STDERR_FILE INPUT INPUT_SUM [OUTPUT]
# EXPECTED_FILES: the folder's listing when the run failed; on success OUTPUT must be added.
check() {
  local name=$1 dir=$2 expected=$3 status=$4 err=$5 input=$6 want=$7 output=${8:-}
  local listing ok=1
  [ "$(sum "$input")" = "$want" ] || { fail "$name: the input changed"; ok=0; }
  listing=$(ls -A "$dir" | sort | tr '\n' ' ')
  if [ "$status" -eq 0 ]; then
    local with_output
    with_output=$( (echo "$expected" | tr ' ' '\n'; basename "$output") | grep -v '^$' | sort | tr '\n' ' ')
    [ "$listing" = "$with_output" ] || { fail "$name: expected '$with_output' in $dir, found '$listing'"; ok=0; }
    "$zoo" verify resnet152 "$src/r152.pth" "$output" >/dev/null 2>"$work/verify.err" \
      || "$zoo" verify "$input" "$output" >/dev/null 2>>"$work/verify.err" \
      || { fail "$name: the finished file does not verify: $(cat "$work/verify.err")"; ok=0; }
  else
    local wanted
    wanted=$(echo "$expected" | tr ' ' '\n' | grep -v '^$' | sort | tr '\n' ' ')
    [ "$listing" = "$wanted" ] || { fail "$name: expected only '$wanted' in $dir, found '$listing'"; ok=0; }
    if [ "$status" -lt 128 ]; then
      local lines
      lines=$(grep -c . "$err")
      [ "$lines" -eq 1 ] && grep -q '^zoo: error: ' "$err" || { fail "$name: expected one 'zoo: error:' line, found: $(head -c 400 "$err")"; ok=0; }
    fi
  fi
  [ $ok -eq 1 ] && pass
}

# 1. Signals at several moments of a conversion with verification (≈ 4 s in release). The
#    checkpoint is only read here, so every case reads the same one.
for signal in INT TERM HUP QUIT KILL; do
  for delay in 0.05 0.5 2.0; do
    dir="$work/sig-$signal-$delay"; mkdir -p "$dir"
    env --default-signal "$zoo" convert "$src/r152.pth" -o "$dir/out.keras" >/dev/null 2>"$work/err" &
    pid=$!
    sleep "$delay"; kill -s "$signal" "$pid" 2>/dev/null
    { wait "$pid"; } 2>/dev/null; status=$?
    check "SIG$signal after ${delay}s" "$dir" "" "$status" "$work/err" "$src/r152.pth" "$big_sum" "$dir/out.keras"
    [ "$(ls -A "$src" | sort | tr '\n' ' ')" = "r152.pth r18.pth " ] || fail "SIG$signal: stray files beside the input: $(ls -A "$src")"
    rm -rf "$dir"
  done
done

# 2. A full disk: the output folder on a 60 MB tmpfs (the .keras needs 243 MB).
mkdir -p "$disk" "$work/in"; cp "$src/r152.pth" "$work/in/in.pth"
if mount -t tmpfs -o size=60m tmpfs "$disk" 2>/dev/null; then
  "$zoo" convert "$work/in/in.pth" -o "$disk/out.keras" >/dev/null 2>"$work/err"; status=$?
  [ "$status" -ne 0 ] || fail "full disk: expected a failure, found success"
  check "full disk" "$disk" "" "$status" "$work/err" "$work/in/in.pth" "$big_sum"
  used=$(df --output=used -k "$disk" | tail -1 | tr -d ' ')
  [ "$used" -le 64 ] && pass || fail "full disk: $used KB still used on the tmpfs after the run"
  umount "$disk"
else
  echo "fault_injection: cannot mount a tmpfs here (not root?); the full disk is simulated by a file-size limit" >&2
fi
# and a file-size limit (what `ulimit -f` users meet), in the input's own folder
( ulimit -f 51200; exec "$zoo" convert "$work/in/in.pth" -o "$work/in/out.keras" ) >/dev/null 2>"$work/err"; status=$?
[ "$status" -ne 0 ] || fail "file-size limit: expected a failure, found success"
check "file-size limit" "$work/in" "in.pth" "$status" "$work/err" "$work/in/in.pth" "$big_sum"

# 3. The input truncated (another program rewrites it) at several moments.
for delay in 0.05 0.3 1.0; do
  dir="$work/trunc-$delay"; mkdir -p "$dir"; cp "$src/r152.pth" "$dir/in.pth"
  "$zoo" convert "$dir/in.pth" -o "$dir/out.keras" >/dev/null 2>"$work/err" &
  pid=$!
  sleep "$delay"; truncate -s 100000000 "$dir/in.pth"
  { wait "$pid"; } 2>/dev/null; status=$?
  truncated_sum=$(sum "$dir/in.pth")
  check "input truncated after ${delay}s" "$dir" "in.pth" "$status" "$work/err" "$dir/in.pth" "$truncated_sum" "$dir/out.keras"
  rm -rf "$dir"
done

# 4. Concurrent writers to one name: without --force exactly one wins; with --force all finish
#    and the name holds one complete file.
dir="$work/race"; mkdir -p "$dir"; cp "$src/r18.pth" "$dir/in.pth"
pids=()
for i in 1 2 3 4; do "$zoo" convert "$dir/in.pth" -o "$dir/out.keras" >/dev/null 2>"$work/race-$i.err" & pids+=($!); done
wins=0
for i in 0 1 2 3; do
  if wait "${pids[$i]}"; then wins=$((wins + 1)); else
    grep -q "already exists" "$work/race-$((i + 1)).err" || fail "race: a loser said $(cat "$work/race-$((i + 1)).err")"
  fi
done
[ "$wins" -eq 1 ] && pass || fail "race without --force: expected exactly one winner, found $wins"
[ "$(ls -A "$dir" | sort | tr '\n' ' ')" = "in.pth out.keras " ] && pass || fail "race: stray files: $(ls -A "$dir")"
pids=()
for i in 1 2 3 4; do "$zoo" convert "$dir/in.pth" -o "$dir/out.keras" --force >/dev/null 2>&1 & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "race with --force: a run failed"; done
"$zoo" verify "$dir/in.pth" "$dir/out.keras" >/dev/null 2>&1 && pass || fail "race with --force: the final file does not verify"
[ "$(ls -A "$dir" | sort | tr '\n' ' ')" = "in.pth out.keras " ] && pass || fail "race --force: stray files: $(ls -A "$dir")"
[ "$(sum "$dir/in.pth")" = "$small_sum" ] && pass || fail "race: the input changed"

# 5. The output named as the input, by every spelling, with and without --force: refused (64).
dir="$work/same"; mkdir -p "$dir/sub"
for name in model.h5 model.keras model.weights.h5; do
  cp "$src/r18.pth" "$dir/$name"
  ln -sf "$dir/$name" "$dir/link-$name"
  ln -f "$dir/$name" "$dir/hard-$name"
  for spelling in "$dir/$name" "$dir/./$name" "$dir/sub/../$name" "$(realpath --relative-to=. "$dir")/$name" "$dir/hard-$name"; do
    for input in "$dir/$name" "$dir/link-$name"; do
      for force in "" "--force"; do
        "$zoo" convert resnet18 "$input" -o "$spelling" $force >/dev/null 2>"$work/err"; status=$?
        [ "$status" -eq 64 ] && grep -q "never replaces its input" "$work/err" && pass \
          || fail "-o $spelling from $input $force: expected status 64 refusing, found $status: $(cat "$work/err")"
        [ "$(sum "$dir/$name")" = "$small_sum" ] || fail "-o $spelling: the input changed"
      done
    done
  done
  rm -f "$dir/$name" "$dir/link-$name" "$dir/hard-$name"
done
[ -z "$(ls -A "$dir/sub")" ] && [ "$(ls -A "$dir")" = "sub" ] && pass || fail "same-file cases left files: $(ls -A "$dir")"

echo "fault injection: $passed checks passed, $failed failed"
[ "$failed" -eq 0 ]
