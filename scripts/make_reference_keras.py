#!/usr/bin/env python3
"""Reference Keras layer/weight lists and tiny files in the three Keras formats.

Run with the keras virtualenv:

    PYK=$(bash scripts/venv.sh keras)
    $PYK scripts/make_reference_keras.py [OUT_DIR]

Writes into OUT_DIR (default Tests/Fixtures/reference/keras):

  vgg16.json, vgg19.json   keras.applications VGG16/VGG19 (weights=None,
                           include_top=True): every layer in model.layers order
                           with its class and weights ([path, shape]).
  tiny.keras               Keras 3 `model.save` (zip: config.json, metadata.json,
                           model.weights.h5)
  tiny.weights.h5          Keras 3 `model.save_weights`
  tiny.h5                  legacy weights-only HDF5, written by tf_keras (the
                           tf-keras package, i.e. tf.keras 2) with
                           `save_weights(path, save_format="h5")`
  tiny_layout.txt          readable dump of all of the above (zip entries,
                           config.json, metadata.json, every HDF5 group, dataset
                           and attribute with dtypes, shapes and values), plus
                           the group/dataset paths of VGG16 saved as Keras 3
                           .weights.h5 and as tf.keras 2 legacy .h5 (those
                           files are written to a temp folder and deleted)

The tiny model: Input(8,8,3) -> ZeroPadding2D(1) -> Conv2D(4,3,strides=2,
use_bias=False, name="conv1_conv") -> BatchNormalization(epsilon=1e-5,
name="conv1_bn") -> ReLU -> GlobalAveragePooling2D -> Dense(5,
name="predictions").  All three files hold the same, deterministic values
(see make_values); every weight is distinct so readers can be checked.
"""
import io
import json
import os
import sys
import tempfile
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import h5py  # noqa: E402
import keras  # noqa: E402


def dump_layers_json(path, arch, model):
    lines = ["{", f'"arch": {json.dumps(arch)},',
             f'"source": {json.dumps("keras " + keras.__version__)},', '"layers": [']
    for i, layer in enumerate(model.layers):
        ws = [[getattr(w, "path", None) or w.name, list(w.shape)] for w in layer.weights]
        entry = {"name": layer.name, "class": layer.__class__.__name__, "weights": ws}
        comma = "," if i < len(model.layers) - 1 else ""
        lines.append("  " + json.dumps(entry, separators=(",", ":")) + comma)
    lines += ["]", "}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    json.load(open(path))
    return len(model.layers), sum(len(l.weights) for l in model.layers)


# ---------------------------------------------------------------- tiny model

def build_tiny_keras3():
    inp = keras.Input(shape=(8, 8, 3))
    x = keras.layers.ZeroPadding2D(1)(inp)
    x = keras.layers.Conv2D(4, 3, strides=2, use_bias=False, name="conv1_conv")(x)
    x = keras.layers.BatchNormalization(epsilon=1e-5, name="conv1_bn")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(5, name="predictions")(x)
    return keras.Model(inp, out)


def build_tiny_tfkeras():
    import tf_keras
    L = tf_keras.layers
    inp = tf_keras.Input(shape=(8, 8, 3))
    x = L.ZeroPadding2D(1)(inp)
    x = L.Conv2D(4, 3, strides=2, use_bias=False, name="conv1_conv")(x)
    x = L.BatchNormalization(epsilon=1e-5, name="conv1_bn")(x)
    x = L.ReLU()(x)
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(5, name="predictions")(x)
    return tf_keras.Model(inp, out), tf_keras


def make_values(shapes):
    """Deterministic, distinct values: weight i holds (i+1) + arange(n)/1000.

    Variances (BatchNormalization moving_variance) stay positive this way.
    """
    vals = []
    for i, shp in enumerate(shapes):
        n = int(np.prod(shp)) if len(shp) else 1
        vals.append(((i + 1) + np.arange(n, dtype=np.float64) / 1000.0)
                    .astype(np.float32).reshape(shp))
    return vals


# ---------------------------------------------------------------- dumps

def fmt_value(v):
    if isinstance(v, bytes):
        return repr(v)
    if isinstance(v, np.ndarray):
        if v.dtype.kind in "SOU":
            return "[" + ", ".join(repr(x) for x in v.tolist()) + "]"
        return np.array2string(v, threshold=20, max_line_width=200)
    return repr(v)


def attr_lines(obj, indent):
    out = []
    for name in obj.attrs.keys():
        aid = obj.attrs.get_id(name)
        dt = aid.dtype
        st = h5py.check_string_dtype(dt)
        sdesc = ""
        if st is not None:
            sdesc = f" string(encoding={st.encoding}, length={'variable' if st.length is None else st.length})"
        elif dt.kind == "O":
            sdesc = " object"
        space = aid.get_space()
        shape = space.shape
        val = obj.attrs[name]
        out.append(f"{indent}@{name}: dtype={dt.str}{sdesc} shape={shape} = {fmt_value(val)}")
    return out


def dump_h5(path, title):
    lines = [f"### HDF5: {title}", ""]
    with h5py.File(path, "r") as f:
        fcpl = f.id.get_create_plist()
        fapl = f.id.get_access_plist()
        sv = fcpl.get_version()
        lines.append(f"file: libver={f.libver} userblock={fcpl.get_userblock()} "
                     f"superblock/freelist/symtable/sharedheader versions={sv} "
                     f"sizes(offset,length)={fcpl.get_sizes()} "
                     f"libver_bounds(fapl)={fapl.get_libver_bounds()}")

        def group_info(g):
            gcpl = g.id.get_create_plist()
            try:
                lco = gcpl.get_link_creation_order()
            except Exception:
                lco = "?"
            try:
                aco = gcpl.get_attr_creation_order()
            except Exception:
                aco = "?"
            return f"link_creation_order={lco} attr_creation_order={aco}"

        lines.append(f"/  (root group) {group_info(f)}")
        lines += attr_lines(f, "    ")

        def visit(name, obj):
            depth = name.count("/") + 1
            ind = "  " * depth
            if isinstance(obj, h5py.Group):
                lines.append(f"{ind}{name}/  (group, {len(obj)} members) {group_info(obj)}")
                lines.extend(attr_lines(obj, ind + "    "))
            else:
                dcpl = obj.id.get_create_plist()
                layout = {h5py.h5d.COMPACT: "compact", h5py.h5d.CONTIGUOUS: "contiguous",
                          h5py.h5d.CHUNKED: "chunked"}.get(dcpl.get_layout(), dcpl.get_layout())
                lines.append(f"{ind}{name}  (dataset) dtype={obj.dtype.str} shape={obj.shape} "
                             f"layout={layout} chunks={obj.chunks} compression={obj.compression} "
                             f"fillvalue={obj.fillvalue!r}")
                data = obj[()]
                flat = np.asarray(data).ravel()
                head = ", ".join(f"{x:.6g}" if np.issubdtype(flat.dtype, np.floating) else repr(x)
                                 for x in flat[:6])
                lines.append(f"{ind}    values[:6] = [{head}]{' ...' if flat.size > 6 else ''} "
                             f"(n={flat.size})")
                lines.extend(attr_lines(obj, ind + "    "))

        f.visititems(visit)
    lines.append("")
    return lines


def dump_zip(path):
    lines = [f"### ZIP: {os.path.basename(path)}", ""]
    with zipfile.ZipFile(path) as z:
        lines.append("entries (name, compress_type, file_size, compress_size, date_time, "
                     "header_offset, external_attr, create_system, flag_bits, extra):")
        for zi in z.infolist():
            ct = {zipfile.ZIP_STORED: "STORED", zipfile.ZIP_DEFLATED: "DEFLATED"}.get(
                zi.compress_type, zi.compress_type)
            lines.append(f"  {zi.filename!r} {ct} size={zi.file_size} csize={zi.compress_size} "
                         f"date_time={zi.date_time} header_offset={zi.header_offset} "
                         f"external_attr={oct(zi.external_attr)} create_system={zi.create_system} "
                         f"flag_bits={hex(zi.flag_bits)} extra={zi.extra!r}")
        lines.append(f"zip comment: {z.comment!r}")
        lines.append("")
        for name in ("metadata.json", "config.json"):
            raw = z.read(name)
            lines.append(f"--- {name} (raw, {len(raw)} bytes) ---")
            lines.append(raw.decode())
            lines.append(f"--- {name} (pretty-printed) ---")
            lines.append(json.dumps(json.loads(raw), indent=2))
            lines.append("")
        cfg = json.loads(z.read("config.json"))
        lines.append("--- per-layer module / class_name / registered_name ---")
        for l in cfg["config"]["layers"]:
            lines.append(f"  {l['config']['name']:24s} module={l.get('module')!r} "
                         f"class_name={l.get('class_name')!r} registered_name={l.get('registered_name')!r}")
        lines.append("")
        tmp = tempfile.NamedTemporaryFile(suffix=".h5", delete=False)
        tmp.write(z.read("model.weights.h5"))
        tmp.close()
    lines += dump_h5(tmp.name, "model.weights.h5 inside tiny.keras")
    os.unlink(tmp.name)
    return lines


def dump_h5_paths(path, title):
    """Groups, datasets (dtype, shape) and attributes, without values."""
    lines = [f"### HDF5 (paths only): {title}", ""]
    with h5py.File(path, "r") as f:
        lines.append("/  (root group)")
        lines += attr_lines(f, "    ")

        def visit(name, obj):
            ind = "  " * (name.count("/") + 1)
            if isinstance(obj, h5py.Group):
                lines.append(f"{ind}{name}/  (group, {len(obj)} members)")
            else:
                lines.append(f"{ind}{name}  (dataset) dtype={obj.dtype.str} shape={obj.shape}")
            lines.extend(attr_lines(obj, ind + "    "))

        f.visititems(visit)
    lines.append("")
    return lines


def vgg16_weight_layouts():
    """Where VGG16's weights go in a Keras 3 .weights.h5 and a tf.keras 2 legacy
    .h5 (shows the per-class counters `conv2d_N`, `dense_N`); the files
    themselves (~530 MB each) are written to a temporary folder and deleted."""
    import tf_keras
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        m = keras.applications.VGG16(weights=None, include_top=True)
        p = os.path.join(tmp, "vgg16.weights.h5")
        m.save_weights(p)
        lines += dump_h5_paths(p, "keras.applications.VGG16 save_weights -> vgg16.weights.h5 (Keras 3)")
        os.unlink(p)
        del m
        keras.backend.clear_session()
        m = tf_keras.applications.VGG16(weights=None, include_top=True)
        p = os.path.join(tmp, "vgg16.h5")
        m.save_weights(p, save_format="h5")
        lines += dump_h5_paths(p, "tf_keras.applications.VGG16 save_weights(save_format='h5') -> vgg16.h5 (legacy)")
        os.unlink(p)
        del m
        tf_keras.backend.clear_session()
    return lines


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join("Tests", "Fixtures", "reference", "keras")
    os.makedirs(out_dir, exist_ok=True)
    keras.utils.set_random_seed(0)

    for arch, ctor in (("vgg16", keras.applications.VGG16), ("vgg19", keras.applications.VGG19)):
        m = ctor(weights=None, include_top=True)
        nl, nw = dump_layers_json(os.path.join(out_dir, f"{arch}.json"), arch, m)
        print(f"{arch}: {nl} layers, {nw} weights")
        del m
        keras.backend.clear_session()

    # --- tiny model, Keras 3 ---
    model = build_tiny_keras3()
    shapes = [tuple(w.shape) for w in model.weights]
    values = make_values(shapes)
    model.set_weights(values)
    keras_path = os.path.join(out_dir, "tiny.keras")
    wh5_path = os.path.join(out_dir, "tiny.weights.h5")
    h5_path = os.path.join(out_dir, "tiny.h5")
    model.save(keras_path)
    model.save_weights(wh5_path)

    # --- tiny model, tf_keras (tf.keras 2) for the legacy weights-only .h5 ---
    tmodel, tf_keras = build_tiny_tfkeras()
    tshapes = [tuple(w.shape) for w in tmodel.weights]
    assert tshapes == shapes, (tshapes, shapes)
    tmodel.set_weights(values)
    tmodel.save_weights(h5_path, save_format="h5")

    # --- read everything back, check the values survive ---
    x = np.linspace(-1, 1, 2 * 8 * 8 * 3, dtype=np.float32).reshape(2, 8, 8, 3)
    y0 = np.asarray(model(x, training=False))
    checks = []
    m1 = keras.saving.load_model(keras_path)
    checks.append(("keras.saving.load_model(tiny.keras)", m1))
    m2 = build_tiny_keras3()
    m2.load_weights(wh5_path)
    checks.append(("keras3 load_weights(tiny.weights.h5)", m2))
    m3 = build_tiny_keras3()
    m3.load_weights(h5_path)
    checks.append(("keras3 load_weights(tiny.h5) [legacy loader]", m3))
    t2, _ = build_tiny_tfkeras()
    t2.load_weights(h5_path)
    checks.append(("tf_keras load_weights(tiny.h5)", t2))
    check_lines = []
    for label, m in checks:
        same = all(np.array_equal(a, b) for a, b in zip(m.get_weights(), values))
        y = np.asarray(m(x, training=False))
        err = float(np.max(np.abs(y - y0)))
        check_lines.append(f"  {label}: weights identical={same}, max|y-y0|={err:.3g}")
        assert same and err < 1e-4, label

    # --- layout dump ---
    lines = [
        "# tiny_layout.txt -- generated by scripts/make_reference_keras.py; do not edit",
        f"# keras {keras.__version__}, tensorflow {__import__('tensorflow').__version__}, "
        f"tf_keras {tf_keras.__version__}, h5py {h5py.__version__}, HDF5 {h5py.version.hdf5_version}",
        "#",
        "# Model: Input(8,8,3) -> ZeroPadding2D(1) -> Conv2D(4,3,strides=2,use_bias=False,name='conv1_conv')",
        "#        -> BatchNormalization(epsilon=1e-5,name='conv1_bn') -> ReLU -> GlobalAveragePooling2D",
        "#        -> Dense(5,name='predictions')",
        "# tiny.keras       : Keras 3 model.save(path)",
        "# tiny.weights.h5  : Keras 3 model.save_weights(path)",
        "# tiny.h5          : tf_keras (tf.keras 2, package tf-keras) model.save_weights(path, save_format='h5')",
        "#                    (Keras 3 refuses to write legacy weights-only .h5 files)",
        "# Values: weight i (model.weights order) = (i+1) + arange(n)/1000, float32, reshaped.",
        "",
        "model.layers / weights (Keras 3 order):",
    ]
    for layer in model.layers:
        ws = ", ".join(f"{w.path} {tuple(w.shape)} trainable={w.trainable}" for w in layer.weights)
        lines.append(f"  {layer.name:24s} {layer.__class__.__name__:24s} {ws}")
    lines.append("")
    lines.append("tf_keras model.layers / weights:")
    for layer in tmodel.layers:
        ws = ", ".join(f"{w.name} {tuple(w.shape)} trainable={w.trainable}" for w in layer.weights)
        lines.append(f"  {layer.name:24s} {layer.__class__.__name__:24s} {ws}")
    lines.append("")
    lines.append("read-back checks:")
    lines += check_lines
    lines.append("")
    lines += dump_zip(keras_path)
    lines += dump_h5(wh5_path, "tiny.weights.h5 (Keras 3 save_weights)")
    lines += dump_h5(h5_path, "tiny.h5 (tf_keras save_weights, save_format='h5')")
    lines += vgg16_weight_layouts()
    with open(os.path.join(out_dir, "tiny_layout.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(check_lines))
    print("wrote", out_dir)


if __name__ == "__main__":
    main()
