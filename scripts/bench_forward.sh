#!/usr/bin/env bash
# Forward-pass benchmark of zoo's two executors against real PyTorch on the CPU, same threads.
#   bash scripts/bench_forward.sh            # all cores
#   THREADS=1 RUNS=5 MODELS="resnet50 mobilenet_v2" bash scripts/bench_forward.sh
# Builds release (scratch .build-bench), runs the ZOO_BENCH=1 test entry (each model at 224x224,
# batch 1, random weights; an sgemm peak at n=2048), times torchvision's models with
# torch.set_num_threads(THREADS) in the same run, and prints ratios. Not a test: nothing asserts.
# Default models: ResNet-50, VGG-16, MobileNetV2, MobileNetV3-Large, EfficientNet-B0,
# RegNetY-8GF, DenseNet-121, ConvNeXt-Tiny (those zoo has registered).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-$(nproc)}
RUNS=${RUNS:-5}
MODELS=${MODELS:-"resnet50 vgg16 mobilenet_v2 mobilenet_v3_large efficientnet_b0 regnet_y_8gf densenet121 convnext_tiny"}
export OPENBLAS_NUM_THREADS=$THREADS ZOO_COMPUTE_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "building release (scratch path .build-bench)…" >&2
swift build -c release --build-tests -Xswiftc -enable-testing --scratch-path .build-bench >&2

PYT=$(bash scripts/venv.sh torch)
torch_bench() {
  "$PYT" - "$THREADS" "$RUNS" $MODELS <<'PY'
import sys, time, torch, torchvision
threads, runs, models = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
torch.set_num_threads(threads)
torch.manual_seed(0)
x = torch.randn(1, 3, 224, 224)
with torch.inference_mode():
    for name in models:
        m = getattr(torchvision.models, name)().eval()
        m(x)
        times = []
        for _ in range(runs):
            t = time.perf_counter(); m(x); times.append((time.perf_counter() - t) * 1e3)
        print(f"torch kind=forward model={name} ms={min(times)} threads={torch.get_num_threads()} version={torch.__version__}")
PY
}
# PyTorch before and after zoo, fastest run of each: a shared machine only ever adds time
torch_bench >>"$out"
ZOO_BENCH=1 ZOO_BENCH_RUNS=$RUNS ZOO_BENCH_MODELS="$MODELS" swift test -c release --skip-build -Xswiftc -enable-testing --scratch-path .build-bench \
  --filter 'ZooComputeTests.BenchmarkTests' 2>&1 | grep '^BENCH' | sed 's/^BENCH /zoo /' >>"$out"
torch_bench >>"$out"

python3 - "$out" "$THREADS" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import sys
rows = [dict(kv.split("=", 1) for kv in line.split()[1:]) | {"who": line.split()[0]} for line in open(sys.argv[1]) if line.strip()]
peak = next(float(r["gflops"]) for r in rows if r["kind"] == "sgemm")
print(f"threads {sys.argv[2]} (load average {sys.argv[3]}); OpenBLAS sgemm peak (n=2048): {peak:.1f} GFLOP/s")
print(f"{'model':18} {'GFLOP':>6} {'PyTorch':>9} {'zoo NCHW':>9} {'zoo NHWC':>9} {'NCHW/PT':>8} {'NHWC/PT':>8} {'NCHW GF/s':>10} {'NHWC GF/s':>10} {'PT GF/s':>8}")
for r in rows:
    if r["who"] != "zoo" or r["kind"] != "forward":
        continue
    times = [float(p["ms"]) for p in rows if p["who"] == "torch" and p["model"] == r["model"]]
    if not times:
        continue
    t = min(times)
    a, b, g = float(r["torch_ms"]), float(r["keras_ms"]), float(r["gflop"])
    print(f"{r['model']:18} {g:6.2f} {t:7.1f}ms {a:7.1f}ms {b:7.1f}ms {a / t:7.2f}x {b / t:7.2f}x "
          f"{g / a * 1e3:5.1f} ({100 * g / a * 1e3 / peak:3.0f}%) {g / b * 1e3:5.1f} ({100 * g / b * 1e3 / peak:3.0f}%) {g / t * 1e3:5.1f}"
          f"   executors agree to {float(r['torch_vs_keras_rel']):.1e}")
print("ms = fastest of the runs; NCHW = TorchExecutor (PyTorch semantics), NHWC = KerasExecutor; % = of the sgemm peak")
PY
