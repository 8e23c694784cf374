#!/usr/bin/env bash
# Proof against the real frameworks: real PyTorch models → zoo convert (all three formats, and
# image models also at a second input size) → real Keras 3 on the TensorFlow backend (every
# format; tf-keras for VGG), and the .keras files on the JAX and PyTorch backends too → same
# outputs; and `zoo random` checkpoints → real torch.load(weights_only=True), strict load.
# Creates the reference environments on first use (scripts/venv.sh; cached in ~/.cache/zoo-venvs).
# Usage: bash scripts/interop.sh [ZOO_BINARY] [--ci | ARCH ...]
#   default: every registered image architecture + the Hugging Face models (the nightly matrix);
#   --ci: the image architectures `zoo list --json` marks proven_in_ci (one or two per family), + the
#   Hugging Face models: bert_tiny, minilm, roberta_tiny, distilbert_tiny, gpt2_tiny, vit_hf_tiny and task models (scripts/interop_torch.py).
#   Both add fine-tuned heads, ARCH+VARIANT (scripts/interop_heads.py): the head read off the weights, or
#   named with --head where the weights cannot say (and then refused without it) — --ci each head kind of
#   each family once, the default every variant.
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=${1:-.build/release/zoo}
shift || true
archs=("$@")
if [ ${#archs[@]} -eq 0 ] || [ "${archs[0]}" = --ci ]; then
  filter='True' ci=''
  [ "${archs[0]:-}" = --ci ] && filter='a["proven_in_ci"]' ci=1
  # families with a Hugging Face model type are proven by the transformers models below instead
  archs=($("$zoo" list --json | python3 -c "import json,sys; print(' '.join(a['name'] for a in json.load(sys.stdin)['architectures'] if 'model_types' not in a and 'image_size' in a and ($filter)))") bert_tiny minilm roberta_tiny distilbert_tiny gpt2_tiny vit_hf_tiny)
  # fine-tuned heads (scripts/interop_heads.py): read from the weights, or named with --head where they cannot say;
  # CI proves each head kind of each family once, the nightly matrix every variant below
  archs+=(resnet18+mlp mobilenet_v2+whole_linear
          bert_tiny+seqcls bert_tiny+qa roberta_tiny+seqcls xlmr_tiny+tokcls distilbert_tiny+seqcls
          bert_tiny+mlm distilbert_tiny+mlm electra_tiny+seqcls albert_tiny+seqcls
          gpt2_tiny+lm gpt2_tiny+seqcls clip_text_tiny clip_text_tiny+proj albert_tiny+mlm electra_tiny+mlm vit_hf_tiny+cls deit_tiny+teacher swin_hf_tiny swin_hf_tiny+cls clip_vision_tiny clip_vision_tiny+proj transformer_encoder+pre_gelu transformer_encoder+post_relu)
  [ -n "$ci" ] || archs+=(resnet18+dropout_linear resnet18+identity mobilenet_v3_small+gelu bert_tiny+tokcls distilbert_tiny+qa)
fi
# image models also run at a second, non-square size where the weights do not fix the size (ViT's
# position table does): their small size (`zoo list --json`) high and half as much again plus one wide
declare -A second
while read -r name size; do second[$name]=$size; done < <("$zoo" list --json | python3 -c '
import json, sys
for a in json.load(sys.stdin)["architectures"]:
    s = a.get("small_image_size")
    if s and s != a.get("image_size") and not a.get("image_size_from_weights"): print(a["name"], f"{s}x{s + s // 2 + 1}")')
PYT=$(bash scripts/venv.sh torch)
PYK=$(bash scripts/venv.sh keras)
work=$(mktemp -d "${TMPDIR:-/tmp}/zoo-interop.XXXXXX")
trap 'rm -rf "$work"' EXIT
export TF_CPP_MIN_LOG_LEVEL=3
# Eight architectures at a time: the disk footprint stays a few GB (VGG checkpoints are ~0.5 GB) and
# each chunk starts the five Python processes (~35 s of imports) once.
status=0
passed=0
failed=0
for ((i = 0; i < ${#archs[@]}; i += 8)); do
  chunk=("${archs[@]:i:8}")
  specs=()
  for arch in "${chunk[@]}"; do specs+=("$arch${second[${arch%%+*}]:+@${second[${arch%%+*}]}}"); done
  "$PYT" scripts/interop_torch.py "$work" "${specs[@]}"
  for arch in "${chunk[@]}"; do
    meta="$work/$arch/meta.json"
    ckpt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["checkpoint"])' "$meta")
    # the zoo architecture and config.json of a Hugging Face model (meta.json), else the image model's name
    name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("zoo") or "")' "$meta"); name=${name:-${arch%%+*}}
    config=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("config") or "")' "$meta")
    extra=(); [ -n "$config" ] && extra=(--config "$config")
    # options for what the weights do not record (nn.TransformerEncoder's heads, activation, norm placement)
    while read -r arg; do [ -n "$arg" ] && extra+=("$arg"); done < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1])).get("args") or []))' "$meta")
    kind=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kind"])' "$meta")
    # image models at the size the PyTorch side ran (224), whatever the variant's default
    [ "$kind" = image ] && extra=(--image-size 224)
    spec=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("head") or "")' "$meta")
    if [ -n "$spec" ]; then
      # the weights cannot say what the head's modules without weights are: refused until named
      if "$zoo" convert "$name" "$ckpt" -o "$work/$arch/unnamed.keras" --quiet "${extra[@]}" > "$work/head.log" 2>&1; then
        echo "zoo: $arch converted without --head: FAIL (the weights do not name its modules)"; status=1; failed=$((failed + 1))
      elif grep -q -- "cannot say which module.*--head '" "$work/head.log" && [ ! -e "$work/$arch/unnamed.keras" ]; then
        echo "zoo: $arch without --head refused ($(grep -o -- "--head '[^']*'" "$work/head.log" | head -1) proposed; $spec is the truth) ok"; passed=$((passed + 1))
      else
        echo "zoo: $arch without --head: FAIL: $(tail -1 "$work/head.log")"; status=1; failed=$((failed + 1))
      fi
      extra+=(--head "$spec")
    fi
    for ext in keras weights.h5 h5; do
      verify=(); [ "$ext" = keras ] || verify=(--no-verify)  # the Keras side checks every format; zoo verifies once
      if ! "$zoo" convert "$name" "$ckpt" -o "$work/$arch/model.$ext" --quiet "${verify[@]}" "${extra[@]}"; then
        status=1; failed=$((failed + 1))
      fi
    done
    # --dtype float16: half-size .keras, weights rounded (bar 1e-2 on the Keras side)
    if ! "$zoo" convert "$name" "$ckpt" -o "$work/$arch/model.float16.keras" --dtype float16 --quiet --no-verify "${extra[@]}"; then
      status=1; failed=$((failed + 1))
    fi
    size2=""; [ "$kind" = image ] && size2=${second[$name]:-}
    if [ -n "$size2" ]; then
      "$zoo" convert "$name" "$ckpt" --image-size "$size2" ${spec:+--head "$spec"} -o "$work/$arch/model.second.keras" --quiet || { status=1; failed=$((failed + 1)); }
    fi
    echo "zoo: $arch converted to .keras (verified by zoo), .weights.h5, .h5, float16 .keras${size2:+, and .keras at ${size2}}"
    # MiniLM's checkpoint is the model folder it ships in: also sized by the config.json inside it
    if [ "$arch" = minilm ]; then
      if "$zoo" convert "$ckpt" -o "$work/$arch/folder.keras" --quiet; then
        echo "zoo: minilm converted as its model folder, config.json found inside, verified by zoo ok"; passed=$((passed + 1))
      else
        status=1; failed=$((failed + 1))
      fi
    fi
    # zoo's own .pth writer, checked by real PyTorch below
    random_args=(--classes 10)
    random_head=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("random_head") or "")' "$meta")
    [ -n "$random_head" ] && random_args+=(--head "$random_head")
    if [ "${extra[0]}" = --config ]; then cp "${extra[1]}" "$work/$arch/random-config.json"; random_args=("${extra[@]}"); fi
    # (not for the Hugging Face task models: zoo random writes the bare encoder's names, without their 'bert.')
    if [ "$kind" != features ] && [[ -z $config || $arch != *+* ]]; then
      "$zoo" random "$name" -o "$work/$arch/random.pth" --seed 7 "${random_args[@]}" >/dev/null || { status=1; failed=$((failed + 1)); }
    fi
  done
  writers=(); for arch in "${chunk[@]}"; do [ -f "$work/$arch/random.pth" ] && writers+=("$arch"); done
  if [ ${#writers[@]} -eq 0 ] || "$PYT" scripts/interop_pth_writer.py "$work" "${writers[@]}" > "$work/pth.log" 2>&1; then :; else status=1; fi
  [ ${#writers[@]} -gt 0 ] || echo "pth-writer: 0 passed, 0 failed" > "$work/pth.log"
  grep -E " ok$|FAIL" "$work/pth.log" || true
  pcounts=$(grep -E "^pth-writer: [0-9]+ passed" "$work/pth.log" | tail -1 || true)
  if [ -z "$pcounts" ]; then failed=$((failed + 1)); tail -5 "$work/pth.log"; else
    passed=$((passed + $(echo "$pcounts" | awk '{print $2}'))); failed=$((failed + $(echo "$pcounts" | awk '{print $4}'))); fi
  # TensorFlow: every format; JAX and PyTorch: the .keras files (ZOO_INTEROP_QUICK)
  # the three backends at once (each is mostly one Python thread; the machine has more cores)
  pids=()
  for backend in tensorflow jax torch; do
    py=$PYK; quick=""
    [ "$backend" = torch ] && py=$PYT
    [ "$backend" = tensorflow ] || quick=1
    KERAS_BACKEND=$backend ZOO_INTEROP_QUICK=$quick "$py" scripts/interop_keras.py "$work" "${chunk[@]}" > "$work/keras-$backend.log" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
  for backend in tensorflow jax torch; do
    log="$work/keras-$backend.log"
    grep -E "max\|Δ\||Error|error|Traceback" "$log" | sed "s/^/[$backend] /" || true
    counts=$(grep -E "^interop \[$backend\]: [0-9]+ passed, [0-9]+ failed" "$log" | tail -1 || true)
    if [ -z "$counts" ]; then status=1; failed=$((failed + 1)); tail -20 "$log"; else
      passed=$((passed + $(echo "$counts" | awk '{print $3}'))); failed=$((failed + $(echo "$counts" | awk '{print $5}'))); fi
  done
  # `zoo verify` on .keras files real Keras wrote: it runs the file's own model
  for arch in "${chunk[@]}"; do
    ckpt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["checkpoint"])' "$work/$arch/meta.json")
    sizing=(--image-size 224)
    name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("zoo") or "")' "$work/$arch/meta.json"); name=${name:-${arch%%+*}}
    spec=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("head") or "")' "$work/$arch/meta.json")
    [ -n "$spec" ] && sizing+=(--head "$spec")
    config=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("config") or "")' "$work/$arch/meta.json")
    [ -n "$config" ] && sizing=(--config "$config")
    if [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kind"])' "$work/$arch/meta.json")" = features ]; then
      sizing=(); while read -r arg; do [ -n "$arg" ] && sizing+=("$arg"); done < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1])).get("args") or []))' "$work/$arch/meta.json")
    fi
    for file in resaved-by-keras keras-applications; do
      [ -f "$work/$arch/$file.keras" ] || continue
      if "$zoo" verify "$name" "$ckpt" "$work/$arch/$file.keras" "${sizing[@]}" > "$work/verify.log" 2>&1; then
        echo "zoo verify: $arch $file.keras (written by Keras) ok"; passed=$((passed + 1))
      else
        echo "zoo verify: $arch $file.keras FAIL: $(tail -1 "$work/verify.log")"; failed=$((failed + 1)); status=1
      fi
    done
    if [ -f "$work/$arch/keras-applications-softmax.keras" ]; then
      if "$zoo" verify "$name" "$ckpt" "$work/$arch/keras-applications-softmax.keras" "${sizing[@]}" > "$work/verify.log" 2>&1; then
        echo "zoo verify: $arch keras-applications-softmax.keras FAIL: passed, but the file ends in a softmax"; failed=$((failed + 1)); status=1
      elif grep -q "ends in a softmax" "$work/verify.log"; then
        echo "zoo verify: $arch keras-applications-softmax.keras refused: $(grep -o "the Keras model ends in a softmax[^;]*" "$work/verify.log")"; passed=$((passed + 1))
      else
        echo "zoo verify: $arch keras-applications-softmax.keras FAIL: $(tail -1 "$work/verify.log")"; failed=$((failed + 1)); status=1
      fi
    fi
  done
  rm -rf "${work:?}"/*
done
echo "interop: $passed passed, $failed failed"
exit $status
