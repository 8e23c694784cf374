#!/usr/bin/env bash
# Forward-pass benchmark of the transformer zoo: zoo's two passes against real PyTorch on the CPU,
# same threads, batch 1.
#   bash scripts/bench_transformers.sh            # bert-base and gpt2 at T=128, vit_b_16 at 224², all cores
#   THREADS=1 RUNS=5 TOKENS=64 MODELS="bert gpt2" bash scripts/bench_transformers.sh
# Builds release (scratch .build-bench), runs the ZOO_BENCH=1 test entry (TransformerBenchmarkTests:
# seeded random weights at the published sizes, written as a checkpoint and converted to .keras;
# the PyTorch-layout pass runs the checkpoint, the Keras-layout pass the file's own model), times
# transformers' BertModel(BertConfig()) and GPT2Model(GPT2Config()) (eager attention, an all-ones
# attention mask, as zoo's pass gets) and torchvision's vit_b_16 with torch.set_num_threads(THREADS)
# in the same run, before and after zoo, and prints ratios. Not a test: nothing asserts.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-$(nproc)}
RUNS=${RUNS:-5}
TOKENS=${TOKENS:-128}
MODELS=${MODELS:-"bert gpt2 vit_b_16"}
export OPENBLAS_NUM_THREADS=$THREADS ZOO_COMPUTE_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "building release (scratch path .build-bench)…" >&2
swift build -c release --build-tests -Xswiftc -enable-testing --scratch-path .build-bench >&2

PYT=$(bash scripts/venv.sh torch)
torch_bench() {
  HF_HUB_OFFLINE=1 "$PYT" - "$THREADS" "$RUNS" "$TOKENS" $MODELS <<'PY'
import sys, time, torch, torchvision, transformers
threads, runs, tokens, models = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
torch.set_num_threads(threads)
torch.manual_seed(0)
with torch.inference_mode():
    for name in models:
        if name == "vit_b_16":
            m, args = torchvision.models.vit_b_16().eval(), {"x": torch.randn(1, 3, 224, 224)}
        else:
            config = {"bert": transformers.BertConfig, "gpt2": transformers.GPT2Config}[name]()
            config._attn_implementation = "eager"
            m = {"bert": transformers.BertModel, "gpt2": transformers.GPT2Model}[name](config).eval()
            args = {"input_ids": torch.randint(0, config.vocab_size, (1, tokens)), "attention_mask": torch.ones(1, tokens, dtype=torch.long)}
        m(**args)
        times = []
        for _ in range(runs):
            t = time.perf_counter(); m(**args); times.append((time.perf_counter() - t) * 1e3)
        print(f"torch kind=forward model={name} ms={min(times)} threads={torch.get_num_threads()} version={torch.__version__}/{transformers.__version__}")
PY
}
# PyTorch before and after zoo, fastest run of each: a shared machine only ever adds time
torch_bench >>"$out"
ZOO_BENCH=1 ZOO_BENCH_RUNS=$RUNS ZOO_BENCH_TOKENS=$TOKENS ZOO_BENCH_TRANSFORMERS="$MODELS" \
  swift test -c release --skip-build -Xswiftc -enable-testing --scratch-path .build-bench \
  --filter 'ConversionTests.TransformerBenchmarkTests' 2>&1 | grep '^BENCH' | sed 's/^BENCH /zoo /' >>"$out"
torch_bench >>"$out"

python3 - "$out" "$THREADS" "$(cut -d' ' -f1-3 /proc/loadavg)" "$TOKENS" <<'PY'
import sys
rows = [dict(kv.split("=", 1) for kv in line.split()[1:]) | {"who": line.split()[0]} for line in open(sys.argv[1]) if line.strip()]
print(f"threads {sys.argv[2]} (load average {sys.argv[3]}); batch 1, T = {sys.argv[4]} for token models, 224² for vit_b_16")
print(f"{'model':10} {'GFLOP':>6} {'PyTorch':>9} {'zoo NCHW':>9} {'zoo NHWC':>9} {'NCHW/PT':>8} {'NHWC/PT':>8}")
for r in rows:
    if r["who"] != "zoo":
        continue
    times = [float(p["ms"]) for p in rows if p["who"] == "torch" and p["model"] == r["model"]]
    if not times:
        continue
    t = min(times)
    a, b, g = float(r["torch_ms"]), float(r["keras_ms"]), float(r["gflop"])
    print(f"{r['model']:10} {g:6.2f} {t:7.1f}ms {a:7.1f}ms {b:7.1f}ms {a / t:7.2f}x {b / t:7.2f}x   passes agree to {float(r['torch_vs_keras_rel']):.1e}")
print("ms = fastest of the runs; NCHW = the PyTorch-layout pass over the checkpoint, NHWC = the Keras-layout pass over the .keras file's model")
PY
