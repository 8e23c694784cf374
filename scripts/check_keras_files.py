#!/usr/bin/env python3
"""Proves that Keras files written by zoo load in real Keras 3 and tf.keras 2 (tf_keras).

Run with the keras virtualenv:

    PYK=$(bash scripts/venv.sh keras)
    $PYK scripts/check_keras_files.py DIR            # writes DIR with swift test, then checks
    $PYK scripts/check_keras_files.py --no-build DIR # checks files already in DIR

Without --no-build the files come from the Swift test KerasInterop:

    ZOO_INTEROP_OUT=DIR swift test --scratch-path .build-kerasio --filter KerasInterop

which writes, per model, NAME.keras, NAME.weights.h5 and NAME.h5 (same seeded weights) and a
DIR/weights.json with each weight's shape, CRC-32 of its float32 little-endian bytes and first
values. For each model this script then checks:

  1. keras.saving.load_model(NAME.keras), no custom objects, safe mode: every weight identical;
  2. NAME.weights.h5 with model.load_weights into a fresh model built from the same config;
  3. NAME.h5 (legacy) with Keras 3 model.load_weights into a fresh model;
  4. NAME.h5 with tf_keras load_weights into a tf_keras model rebuilt from the config;
  5. a forward pass on seeded inputs through all four models: finite, and the same outputs;
  6. for models with an attention mask: outputs at real tokens ignore padded tokens, and change
     when the mask changes (the mask reaches the attention after load_model).

Exit status 0 when everything holds; the first failure is printed and exits 1.
"""
import argparse
import inspect
import json
import os
import subprocess
import sys
import zipfile
import zlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class CheckFailed(Exception):
    pass


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


def crc(array):
    return zlib.crc32(np.ascontiguousarray(array, dtype="<f4").tobytes()) & 0xFFFFFFFF


def check_weights(label, layers_by_name, expected, name_of=lambda w: w):
    """Every expected layer's weights, in order, have the expected shapes and CRCs."""
    for layer in expected["layers"]:
        model_layer = layers_by_name.get(layer["name"])
        require(model_layer is not None, f"{label}: no layer '{layer['name']}' in the loaded model")
        values = [np.asarray(w) for w in model_layer.get_weights()]
        require(len(values) == len(layer["weights"]),
                f"{label}: layer '{layer['name']}' has {len(values)} weights, expected {len(layer['weights'])}")
        for value, spec in zip(values, layer["weights"]):
            require(list(value.shape) == spec["shape"],
                    f"{label}: {layer['name']}/{spec['name']} has shape {list(value.shape)}, expected {spec['shape']}")
            require(crc(value) == spec["crc32"],
                    f"{label}: {layer['name']}/{spec['name']} differs from what zoo wrote "
                    f"(first values {value.ravel()[:4].tolist()}, expected {spec['head']})")
    weighted = {l.name for l in layers_by_name.values() if l.get_weights()}
    extra = weighted - {l["name"] for l in expected["layers"]}
    require(not extra, f"{label}: layers with weights zoo did not write: {sorted(extra)}")


def check_archive(path):
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        names = [i.filename for i in infos]
        require(names == ["metadata.json", "config.json", "model.weights.h5"],
                f"{path}: entries {names}, expected metadata.json, config.json, model.weights.h5")
        require(all(i.compress_type == zipfile.ZIP_STORED for i in infos), f"{path}: expected STORED entries")
        return json.loads(z.read("config.json"))


# ------------------------------------------------------------------ tf_keras from a Keras 3 config

def tf_keras_model(config):
    """Rebuilds the Functional model of a Keras 3 config.json with tf_keras layers."""
    import tf_keras
    L = tf_keras.layers
    base_keys = {"name", "trainable"}
    tensors = {}
    for entry in config["config"]["layers"]:
        cls_name = entry["class_name"]
        cfg = dict(entry["config"])
        if cls_name == "InputLayer":
            shape = cfg["batch_shape"]
            tensors[cfg["name"]] = tf_keras.Input(shape=tuple(shape[1:]), dtype=cfg["dtype"], name=cfg["name"])
            continue
        cls = getattr(L, cls_name)
        accepted = set(inspect.signature(cls.__init__).parameters) | base_keys
        kwargs = {k: v for k, v in cfg.items()
                  if k in accepted and not k.endswith(("_initializer", "_regularizer", "_constraint"))}
        layer = cls(**kwargs)

        def resolve(value):
            if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
                return tensors[value["config"]["keras_history"][0]]
            if isinstance(value, list):
                return [resolve(v) for v in value]
            return value

        (node,) = entry["inbound_nodes"]
        args = [resolve(a) for a in node["args"]]
        call_kwargs = {k: resolve(v) for k, v in node["kwargs"].items() if not (k == "mask" and v is None)}
        tensors[entry["name"]] = layer(*args, **call_kwargs)

    def endpoints(refs):
        refs = [refs] if refs and isinstance(refs[0], str) else refs
        return [tensors[r[0]] for r in refs]

    return tf_keras.Model(endpoints(config["config"]["input_layers"]), endpoints(config["config"]["output_layers"]))


# ------------------------------------------------------------------ inputs and forward passes

def make_inputs(expected, config, rng, batch=2, length=10):
    """Seeded inputs by name and kind: images ~ N(0, 1); token ids below the vocabulary size of
    the Embedding that reads them; an attention mask with padding at the end of row 1; position
    ids 0..T-1."""
    vocab = {}
    for entry in config["config"]["layers"]:
        if entry["class_name"] == "Embedding":
            source = entry["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0]
            vocab[source] = entry["config"]["input_dim"]
    out = []
    for spec in expected["inputs"]:
        name, shape, dtype = spec["name"], spec["shape"], spec["dtype"]
        if dtype.startswith("float"):
            out.append(rng.standard_normal([batch] + shape).astype(np.float32))
        elif "mask" in name:
            m = np.ones((batch, length), np.int32)
            m[1, length - 3:] = 0
            out.append(m)
        elif "position" in name:
            out.append(np.tile(np.arange(length, dtype=np.int32), (batch, 1)))
        else:
            out.append(rng.integers(0, vocab.get(name, 2), size=(batch, length)).astype(np.int32))
    return out


def outputs(model, inputs):
    y = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    return [np.asarray(t) for t in (y if isinstance(y, (list, tuple)) else [y])]


def check_model(folder, expected):
    import keras
    name = expected["name"]
    files = {k: os.path.join(folder, v) for k, v in expected["files"].items()}
    config = check_archive(files["keras"])
    print(f"{name}:")

    loaded = keras.saving.load_model(files["keras"])
    by_name = {l.name: l for l in loaded.layers}
    check_weights(f"{name}.keras via load_model", by_name, expected)
    print(f"  load_model(.keras): {len(expected['layers'])} layers with weights, all identical")

    # deserialize_keras_object consumes the dict it is given: hand it a copy each time
    fresh = keras.saving.deserialize_keras_object(json.loads(json.dumps(config)))
    fresh.load_weights(files["weightsH5"])
    check_weights(f"{name}.weights.h5 via load_weights", {l.name: l for l in fresh.layers}, expected)
    print("  load_weights(.weights.h5) into a model from the config: weights identical")

    fresh_legacy = keras.saving.deserialize_keras_object(json.loads(json.dumps(config)))
    fresh_legacy.load_weights(files["legacyH5"])
    check_weights(f"{name}.h5 via Keras 3 load_weights", {l.name: l for l in fresh_legacy.layers}, expected)
    print("  Keras 3 load_weights(.h5) [legacy loader]: weights identical")

    tf_model = tf_keras_model(config)
    tf_model.load_weights(files["legacyH5"])
    check_weights(f"{name}.h5 via tf_keras load_weights", {l.name: l for l in tf_model.layers}, expected)
    print("  tf_keras load_weights(.h5) into a tf_keras model rebuilt from the config: weights identical")

    rng = np.random.default_rng(0)
    inputs = make_inputs(expected, config, rng)
    ys = {label: outputs(m, inputs) for label, m in
          [("load_model", loaded), ("weights.h5", fresh), ("legacy keras3", fresh_legacy), ("legacy tf_keras", tf_model)]}
    reference = ys["load_model"]
    for y in reference:
        require(np.all(np.isfinite(y)), f"{name}: load_model gives non-finite outputs")
    for label, y in ys.items():
        for a, b in zip(y, reference):
            scale = max(float(np.max(np.abs(b))), 1e-6)
            err = float(np.max(np.abs(a - b)))
            require(a.shape == b.shape and err / scale < 1e-5,
                    f"{name}: {label} outputs differ from load_model's by {err:.3g} (scale {scale:.3g})")
    shapes = ", ".join(str(tuple(y.shape)) for y in reference)
    print(f"  forward pass: outputs {shapes}, finite, identical across the four loads "
          f"(max |y| {max(float(np.max(np.abs(y))) for y in reference):.3g})")

    names = [s["name"] for s in expected["inputs"]]
    if "attention_mask" in names and "input_ids" in names:
        m, ids = names.index("attention_mask"), names.index("input_ids")
        mask = inputs[m]
        changed = [x.copy() for x in inputs]
        changed[ids][1, mask[1] == 0] = (changed[ids][1, mask[1] == 0] + 1) % 2 + 3
        y2 = outputs(loaded, changed)[0]
        real = mask[1] == 1
        err = float(np.max(np.abs(y2[1, real] - reference[0][1, real])))
        require(err < 1e-5, f"{name}: outputs at real tokens change by {err:.3g} when only padded tokens change")
        unmasked = [x.copy() for x in inputs]
        unmasked[m] = np.ones_like(mask)
        y3 = outputs(loaded, unmasked)[0]
        moved = float(np.max(np.abs(y3[1, real] - reference[0][1, real])))
        require(moved > 1e-4, f"{name}: outputs ignore the attention mask (change {moved:.3g} when it is all ones)")
        print(f"  attention mask honoured after load_model: padded tokens change real outputs by {err:.3g}, "
              f"dropping the mask by {moved:.3g}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--no-build", action="store_true", help="check files already in FOLDER")
    parser.add_argument("--scratch-path", default=".build-kerasio", help="swift build folder (default .build-kerasio)")
    args = parser.parse_args()
    folder = os.path.abspath(args.folder)
    if not args.no_build:
        command = ["swift", "test", "--scratch-path", args.scratch_path, "--filter", "KerasInterop"]
        print("$ ZOO_INTEROP_OUT=" + folder + " " + " ".join(command), flush=True)
        result = subprocess.run(command, cwd=REPO, env=dict(os.environ, ZOO_INTEROP_OUT=folder))
        if result.returncode != 0:
            print("check_keras_files: swift test failed", file=sys.stderr)
            return 1
    description = os.path.join(folder, "weights.json")
    if not os.path.exists(description):
        print(f"check_keras_files: expected {description}, found none", file=sys.stderr)
        return 1
    with open(description) as f:
        models = json.load(f)["models"]
    import keras
    import tf_keras
    print(f"keras {keras.__version__}, tf_keras {tf_keras.__version__}")
    try:
        for expected in models:
            check_model(folder, expected)
            keras.backend.clear_session()
            tf_keras.backend.clear_session()
    except CheckFailed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    print(f"all {len(models)} models load and run in Keras 3 and tf_keras")
    return 0


if __name__ == "__main__":
    sys.exit(main())
