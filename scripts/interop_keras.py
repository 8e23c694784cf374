"""Interop, Keras side: loads what zoo wrote and compares with PyTorch's outputs.

For each WORK/<arch>/ prepared by interop_torch.py and converted by zoo into
model.keras, model.weights.h5 and model.h5, runs the same input through
  - keras.saving.load_model(model.keras)          (no custom objects)
  - a fresh copy of that model + load_weights(model.weights.h5)
  - a fresh copy of that model + load_weights(model.h5)   (Keras 3's legacy loader)
  - for vgg16/vgg19: keras.applications.VGGxx(weights=None) + load_weights(model.h5),
    and the same through tf-keras (tf.keras 2)
and prints max |Δ| / max |y| against PyTorch's output. Exits 1 if any exceeds
the bar (1e-5 for CNNs, 1e-4 for the encoders; 1e-2 for the float16 .keras, whose
weights are rounded to half precision). Image models converted at a second size
(model.second.keras) are loaded and run on a batch of two at that size.

Runs on whichever Keras 3 backend KERAS_BACKEND names (tensorflow, jax, torch); with
ZOO_INTEROP_QUICK=1 only the .keras files (load_model, the user's path) are checked, which is
what the extra backends run.

Usage: python interop_keras.py WORK ARCH [ARCH ...]
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402

work, archs = sys.argv[1], sys.argv[2:]
failures = []
rows = []


def fresh(model):
    clone = keras.models.clone_model(model)
    for w in clone.weights:
        w.assign(np.zeros(w.shape, w.dtype))
    return clone


def check(arch, route, got, want, bar):
    got = np.asarray(keras.ops.convert_to_numpy(got), np.float64)
    rel = float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30))
    ok = rel <= bar
    rows.append((arch, route, rel, ok))
    print(f"{arch:18s} {route:34s} max|Δ|/max|y| = {rel:.2e}  {'ok' if ok else 'FAIL'} (bar {bar:g})", flush=True)
    if not ok:
        failures.append(f"{arch} {route}: {rel:.2e}")


for arch in archs:
    # one model's graphs and variables at a time: without it TensorFlow keeps every model of the
    # chunk (each loaded four times) and slows down as the chunk goes on
    keras.backend.clear_session(free_memory=True)
    folder = os.path.join(work, arch)
    meta = json.load(open(os.path.join(folder, "meta.json")))
    want = np.load(os.path.join(folder, "output.npy")).astype(np.float64)
    if meta["kind"] in ("image", "pixels"):  # pixels: a Hugging Face image model at its config's size
        x = np.load(os.path.join(folder, "input_nchw.npy")).transpose(0, 2, 3, 1)
        bar = 1e-5
    elif meta["kind"] == "features":  # nn.TransformerEncoder: [batch, T, d_model]
        x = np.load(os.path.join(folder, "input_src.npy"))
        bar = 1e-5
    else:
        # as a Hugging Face user calls the model: input_ids and attention_mask only
        x = {k: np.load(os.path.join(folder, f"input_{k}.npy")).astype("int32") for k in ["input_ids", "attention_mask"]}
        bar = 1e-4

    def first(y):
        return y[0] if isinstance(y, (list, tuple)) else y

    model = keras.saving.load_model(os.path.join(folder, "model.keras"))
    check(arch, ".keras load_model", first(model(x)), want, bar)
    half = os.path.join(folder, "model.float16.keras")
    if os.path.exists(half):
        check(arch, ".keras --dtype float16 load_model", first(keras.saving.load_model(half)(x)), want, 1e-2)
    if os.path.exists(os.path.join(folder, "output_pooler.npy")):
        check(arch, ".keras load_model (pooler)", model(x)[1], np.load(os.path.join(folder, "output_pooler.npy")), bar)
    if os.path.exists(os.path.join(folder, "output_1.npy")):  # question answering's end logits
        check(arch, ".keras load_model (second output)", model(x)[1], np.load(os.path.join(folder, "output_1.npy")), bar)
    if meta.get("second_size"):
        x2 = np.load(os.path.join(folder, "input2_nchw.npy")).transpose(0, 2, 3, 1)
        second = keras.saving.load_model(os.path.join(folder, "model.second.keras"))
        check(arch, f".keras at {meta['second_size']} (batch 2)", first(second(x2)), np.load(os.path.join(folder, "output2.npy")), bar)
    if os.environ.get("ZOO_INTEROP_QUICK"):
        continue
    m = fresh(model)
    m.load_weights(os.path.join(folder, "model.weights.h5"))
    check(arch, ".weights.h5 load_weights", first(m(x)), want, bar)
    m = fresh(model)
    m.load_weights(os.path.join(folder, "model.h5"))
    check(arch, ".h5 (legacy) load_weights", first(m(x)), want, bar)
    if arch in ("vgg16", "vgg19") and keras.backend.backend() == "tensorflow":
        app = getattr(keras.applications, arch.upper())(weights=None, classes=10, classifier_activation=None)
        app.load_weights(os.path.join(folder, "model.h5"))
        check(arch, ".h5 → keras.applications", app(x), want, bar)
        import tf_keras
        tfk = getattr(tf_keras.applications, arch.upper())(weights=None, classes=10, classifier_activation=None)
        tfk.load_weights(os.path.join(folder, "model.h5"))
        check(arch, ".h5 → tf_keras.applications", tfk(x), want, bar)
        # files zoo did not write, for `zoo verify` to check (scripts/interop.sh): the
        # keras.applications model holding the converted weights, saved by Keras — once as the
        # PyTorch model computes (no softmax), once with Keras's default softmax classifier
        app.save(os.path.join(folder, "keras-applications.keras"))
        soft = getattr(keras.applications, arch.upper())(weights=None, classes=10)
        soft.load_weights(os.path.join(folder, "model.h5"))
        soft.save(os.path.join(folder, "keras-applications-softmax.keras"))
    if keras.backend.backend() == "tensorflow":
        # zoo's model loaded into Keras and saved again by Keras itself (its own config.json and
        # HDF5 layout), for `zoo verify`
        model.save(os.path.join(folder, "resaved-by-keras.keras"))

print(f"interop [{keras.backend.backend()}]: {sum(ok for *_, ok in rows)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
