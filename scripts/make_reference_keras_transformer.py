#!/usr/bin/env python3
"""Reference layout of a tiny transformer encoder saved by real Keras 3 and tf_keras.

Run with the keras virtualenv:

    PYK=$(bash scripts/venv.sh keras)
    $PYK scripts/make_reference_keras_transformer.py [OUT_DIR]

Writes OUT_DIR/transformer_layout.txt (default Tests/Fixtures/reference/keras); the
model files themselves go to a temporary folder and are deleted. The dump shows:

  * model.layers order and weights (Keras 3 and tf_keras), which fixes the per-class
    counters of .weights.h5 and the pairing order of legacy .h5 files;
  * the full .keras config.json (Functional, two inputs, two outputs, MultiHeadAttention
    called as mha(x, x, attention_mask=Reshape((1, -1))(mask)));
  * every group, dataset and attribute of the .weights.h5 (note where MultiHeadAttention
    keeps its EinsumDense sublayers: layers/multi_head_attention[_N]/{query,key,value,
    output}_dense/vars/i, plus empty _softmax and _dropout_layer groups) and of the
    tf_keras legacy .h5 (weight names `<layer>/query/kernel:0` ...);
  * the serialized config of one layer of every class zoo emits (vision classes too), so
    the .keras writer can copy what Keras writes;
  * checks: load_model/load_weights give identical weights and outputs; the padding mask
    reaches the attention (outputs at real tokens do not depend on padded tokens, and match
    a NumPy re-implementation of masked attention).

The model: input_ids, attention_mask (int32, [batch, T]) -> Embedding(50, 8) ->
LayerNormalization(1e-12) -> 2 x [MultiHeadAttention(2 heads, key_dim 4) with
attention_mask -> Add -> LayerNormalization -> Dense(16, gelu) -> Dense(8) -> Add ->
LayerNormalization] -> outputs: hidden states, and MaxPooling1D(1, strides=16) ->
Reshape((8,)) -> Dropout -> Dense(8, tanh) (the first token, BERT's pooler). A Flatten in
place of the Reshape would not do: with a dynamic T its output has an unknown last axis
and the Dense after it cannot be built (shown below).
Values: numpy.random.default_rng(0).standard_normal(shape) * 0.5 per weight, in model.weights
order, float32.
"""
import json
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import h5py  # noqa: E402
import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_reference_keras import dump_h5, dump_zip  # noqa: E402

VOCAB, D, HEADS, FF, MAXLEN = 50, 8, 2, 16, 16


def build(L, Input, Model):
    """The same model with Keras 3 (`keras`) or tf.keras 2 (`tf_keras`) layers."""
    ids = Input(shape=(None,), dtype="int32", name="input_ids")
    mask = Input(shape=(None,), dtype="int32", name="attention_mask")
    x = L.Embedding(VOCAB, D, name="word_embeddings")(ids)
    x = L.LayerNormalization(epsilon=1e-12, name="embeddings_layer_norm")(x)
    # [batch, T] -> [batch, 1, T]: broadcast over queries, masks keys (as BERT does).
    m = L.Reshape((1, -1), name="attention_mask_reshape")(mask)
    for i in range(2):
        a = L.MultiHeadAttention(num_heads=HEADS, key_dim=D // HEADS, value_dim=D // HEADS,
                                 name=f"encoder_layer_{i}_attention")(x, x, attention_mask=m)
        x = L.Add(name=f"encoder_layer_{i}_attention_add")([a, x])
        x = L.LayerNormalization(epsilon=1e-12, name=f"encoder_layer_{i}_attention_layer_norm")(x)
        h = L.Dense(FF, activation="gelu", name=f"encoder_layer_{i}_intermediate")(x)
        h = L.Dense(D, name=f"encoder_layer_{i}_output")(h)
        x = L.Add(name=f"encoder_layer_{i}_output_add")([h, x])
        x = L.LayerNormalization(epsilon=1e-12, name=f"encoder_layer_{i}_output_layer_norm")(x)
    p = L.MaxPooling1D(pool_size=1, strides=MAXLEN, name="pooler_first_token")(x)
    p = L.Reshape((D,), name="pooler_first_token_reshape")(p)
    p = L.Dropout(0.1, name="pooler_dropout")(p)
    p = L.Dense(D, activation="tanh", name="pooler_dense")(p)
    return Model([ids, mask], [x, p])


def make_values(shapes):
    """Seeded normal values (std 0.5); distinct per weight, and far enough from constant that
    LayerNormalization and the attention softmax do real work."""
    rng = np.random.default_rng(0)
    return [(0.5 * rng.standard_normal(shp)).astype(np.float32) for shp in shapes]


def numpy_forward(model, ids, mask):
    """Hidden states computed with NumPy from the model's weights: masked keys get -inf."""
    from math import erf
    w = {layer.name: [np.asarray(v) for v in layer.weights] for layer in model.layers}

    def ln(x, g, b, eps=1e-12):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * g + b

    gelu = np.vectorize(lambda v: 0.5 * v * (1 + erf(v / np.sqrt(2))))
    x = w["word_embeddings"][0][ids].astype(np.float64)
    x = ln(x, *w["embeddings_layer_norm"])
    for i in range(2):
        qk, qb, kk, kb, vk, vb, ok, ob = w[f"encoder_layer_{i}_attention"]
        q = np.einsum("btd,dhk->bthk", x, qk) + qb
        k = np.einsum("btd,dhk->bthk", x, kk) + kb
        v = np.einsum("btd,dhk->bthk", x, vk) + vb
        s = np.einsum("bqhk,bthk->bhqt", q, k) / np.sqrt(D // HEADS)
        s = np.where(mask[:, None, None, :] > 0, s, -np.inf)
        s = np.exp(s - s.max(-1, keepdims=True))
        s = s / s.sum(-1, keepdims=True)
        o = np.einsum("bhqt,bthk->bqhk", s, v)
        a = np.einsum("bqhk,hkd->bqd", o, ok) + ob
        x = ln(a + x, *w[f"encoder_layer_{i}_attention_layer_norm"])
        h = gelu(x @ w[f"encoder_layer_{i}_intermediate"][0] + w[f"encoder_layer_{i}_intermediate"][1])
        h = h @ w[f"encoder_layer_{i}_output"][0] + w[f"encoder_layer_{i}_output"][1]
        x = ln(h + x, *w[f"encoder_layer_{i}_output_layer_norm"])
    return x


def serialized_layer_classes():
    """One layer of every class zoo's .keras writer emits, serialized the way model.save does."""
    L = keras.layers
    cases = [
        (L.ZeroPadding2D(((3, 3), (3, 3)), name="zero_padding2d"), (None, 8, 8, 3)),
        (L.Conv2D(4, 3, strides=2, padding="valid", groups=1, activation="relu", use_bias=True, name="conv2d"), (None, 8, 8, 4)),
        (L.BatchNormalization(momentum=0.9, epsilon=1e-5, name="batch_normalization"), (None, 4, 4, 4)),
        (L.Activation("relu", name="activation"), (None, 4, 4, 4)),
        (L.MaxPooling2D(3, strides=2, padding="valid", name="max_pooling2d"), (None, 8, 8, 4)),
        (L.AveragePooling2D(2, strides=2, padding="valid", name="average_pooling2d"), (None, 8, 8, 4)),
        (L.GlobalAveragePooling2D(name="global_average_pooling2d"), (None, 4, 4, 4)),
        (L.Flatten(name="flatten"), (None, 2, 2, 4)),
        (L.Dense(5, activation="linear", name="dense"), (None, 16)),
        (L.Dropout(0.5, name="dropout"), (None, 16)),
        (L.Embedding(50, 8, name="embedding"), (None, None)),
        (L.LayerNormalization(epsilon=1e-12, name="layer_normalization"), (None, None, 8)),
        (L.MaxPooling1D(pool_size=1, strides=16, name="max_pooling1d"), (None, None, 8)),
        (L.Reshape((1, -1), name="reshape"), (None, None)),
    ]
    lines = ["### serialized layers of every class zoo emits (keras.saving.serialize_keras_object "
             "after build(input_shape); model.save adds name and inbound_nodes)", ""]
    for layer, shape in cases:
        layer.build(shape)
        lines.append(f"--- {layer.__class__.__name__} (built on {shape}) ---")
        lines.append(json.dumps(keras.saving.serialize_keras_object(layer)))
    add = L.Add(name="add")
    add.build([(None, 4), (None, 4)])
    lines.append("--- Add (built on [(None, 4), (None, 4)]) ---")
    lines.append(json.dumps(keras.saving.serialize_keras_object(add)))
    lines.append("")
    return lines


def main():
    import tf_keras
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join("Tests", "Fixtures", "reference", "keras")
    os.makedirs(out_dir, exist_ok=True)
    keras.utils.set_random_seed(0)

    model = build(keras.layers, keras.Input, keras.Model)
    values = make_values([tuple(w.shape) for w in model.weights])
    model.set_weights(values)
    tmodel = build(tf_keras.layers, tf_keras.Input, tf_keras.Model)
    assert [tuple(w.shape) for w in tmodel.weights] == [tuple(w.shape) for w in model.weights]
    tmodel.set_weights(values)

    # Flatten after the dynamic-length pool: its output's last axis is unknown.
    flatten_note = "Flatten in place of Reshape((8,)): "
    try:
        ids = keras.Input(shape=(None,), dtype="int32")
        y = keras.layers.Embedding(VOCAB, D)(ids)
        y = keras.layers.MaxPooling1D(pool_size=1, strides=MAXLEN)(y)
        y = keras.layers.Flatten()(y)
        flatten_note += f"output shape {tuple(y.shape)}; "
        keras.layers.Dense(D)(y)
        flatten_note += "Dense builds"
    except ValueError as e:
        flatten_note += "Dense fails: " + str(e).splitlines()[0]

    ids = np.array([[2, 7, 1, 9, 4, 3], [5, 6, 8, 11, 0, 0]], dtype=np.int32)
    mask = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], dtype=np.int32)
    y0 = [np.asarray(t) for t in model([ids, mask], training=False)]

    checks = [f"  {flatten_note}"]
    ref = numpy_forward(model, ids, mask)
    checks.append(f"  Keras 3 hidden states vs NumPy masked attention: max|d|={np.max(np.abs(ref - y0[0])):.3g}")
    ids2 = ids.copy()
    ids2[1, 4:] = [13, 17]  # change only the padded tokens
    y2 = np.asarray(model([ids2, mask], training=False)[0])
    checks.append(f"  padded tokens changed -> real tokens' outputs max|d|={np.max(np.abs(y2[1, :4] - y0[0][1, :4])):.3g}")
    nomask = np.asarray(model([ids, np.ones_like(mask)], training=False)[0])
    checks.append(f"  mask all ones instead -> real tokens' outputs max|d|={np.max(np.abs(nomask[1, :4] - y0[0][1, :4])):.3g} (must be > 0)")
    assert np.max(np.abs(ref - y0[0])) < 1e-4
    assert np.max(np.abs(y2[1, :4] - y0[0][1, :4])) < 1e-5
    assert np.max(np.abs(nomask[1, :4] - y0[0][1, :4])) > 1e-3

    lines = [
        "# transformer_layout.txt -- generated by scripts/make_reference_keras_transformer.py; do not edit",
        f"# keras {keras.__version__}, tensorflow {__import__('tensorflow').__version__}, "
        f"tf_keras {tf_keras.__version__}, h5py {h5py.__version__}, HDF5 {h5py.version.hdf5_version}",
        "#",
        "# Model (see the script's docstring): inputs input_ids, attention_mask (int32 [batch, T]);",
        "# Embedding -> LayerNormalization -> 2 x encoder layer (MultiHeadAttention(x, x,",
        "# attention_mask=Reshape((1, -1))(attention_mask)), Add, LayerNormalization, Dense gelu, Dense,",
        "# Add, LayerNormalization) -> outputs hidden states and MaxPooling1D(1, 16) -> Reshape((8,))",
        "# -> Dropout -> Dense tanh.",
        "# transformer.keras / transformer.weights.h5: Keras 3 model.save / model.save_weights",
        "# transformer.h5: tf_keras model.save_weights(path, save_format='h5')",
        "# Values: default_rng(0).standard_normal(shape) * 0.5 per weight in model.weights order, float32.",
        "",
        "model.layers / weights (Keras 3 order):",
    ]
    for layer in model.layers:
        ws = ", ".join(f"{w.path} {tuple(w.shape)}" for w in layer.weights)
        lines.append(f"  {layer.name:40s} {layer.__class__.__name__:20s} {ws}")
    lines += ["", "tf_keras model.layers / weights:"]
    for layer in tmodel.layers:
        ws = ", ".join(f"{w.name} {tuple(w.shape)}" for w in layer.weights)
        lines.append(f"  {layer.name:40s} {layer.__class__.__name__:20s} {ws}")
    lines.append("")

    with tempfile.TemporaryDirectory() as tmp:
        keras_path = os.path.join(tmp, "transformer.keras")
        wh5_path = os.path.join(tmp, "transformer.weights.h5")
        h5_path = os.path.join(tmp, "transformer.h5")
        model.save(keras_path)
        model.save_weights(wh5_path)
        tmodel.save_weights(h5_path, save_format="h5")

        loaded = []
        m1 = keras.saving.load_model(keras_path)
        loaded.append(("keras.saving.load_model(transformer.keras)", m1))
        m2 = build(keras.layers, keras.Input, keras.Model)
        m2.load_weights(wh5_path)
        loaded.append(("keras3 load_weights(transformer.weights.h5)", m2))
        m3 = build(keras.layers, keras.Input, keras.Model)
        m3.load_weights(h5_path)
        loaded.append(("keras3 load_weights(transformer.h5) [legacy loader]", m3))
        t2 = build(tf_keras.layers, tf_keras.Input, tf_keras.Model)
        t2.load_weights(h5_path)
        loaded.append(("tf_keras load_weights(transformer.h5)", t2))
        for label, m in loaded:
            same = all(np.array_equal(a, b) for a, b in zip(m.get_weights(), values))
            ys = [np.asarray(t) for t in m([ids, mask], training=False)]
            err = max(float(np.max(np.abs(a - b))) for a, b in zip(ys, y0))
            checks.append(f"  {label}: weights identical={same}, max|y-y0|={err:.3g}")
            assert same and err < 1e-4, label

        lines += ["checks:"] + checks + [""]
        # dump_zip names the archive's weights "inside tiny.keras" whatever the archive is
        lines += [l.replace("inside tiny.keras", "inside transformer.keras") for l in dump_zip(keras_path)]
        lines += dump_h5(wh5_path, "transformer.weights.h5 (Keras 3 save_weights)")
        lines += dump_h5(h5_path, "transformer.h5 (tf_keras save_weights, save_format='h5')")
    lines += serialized_layer_classes()

    path = os.path.join(out_dir, "transformer_layout.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(checks))
    print("wrote", path)


if __name__ == "__main__":
    main()
