#!/usr/bin/env python3
"""Regenerate the committed fixtures of the two executors in Tests/Fixtures/compute/.

Run from the repository root with any Python 3 (it starts the two reference environments):

    python3 scripts/make_compute_fixtures.py

The script runs itself twice: once with PYT=$(bash scripts/venv.sh torch) (torch, torchvision,
transformers) and once with PYK=$(bash scripts/venv.sh keras) (keras 3, tensorflow-cpu). The two
phases exchange weights and inputs through .npz files in a temporary folder. Keras weights are
made from the PyTorch numbers with NumPy transposes written here, independently of zoo's
mapping, so the fixtures anchor each executor to its own framework.

Files (safetensors, read by zoo's TorchIO `Checkpoint.open`; keys "weight/<name>",
"input/<name>", "output/<i>"):

* <case>.torch.safetensors -- PyTorch: state-dict tensors under their state-dict names, inputs
  NCHW (token inputs int64), outputs.
* <case>.keras.safetensors -- Keras: weights as `layer.get_weights()` returns them after the
  transposes, under "<layer>/<weight>" (the weight's Keras 3 path: a DepthwiseConv2D's kernel is
  "<layer>/kernel"), inputs NHWC, outputs.
* cases.json -- one entry per case: which files exist, the inputs in order, and for the family
  models the recipe of their weights and inputs (see below).

Per-layer cases (tiny modules, PyTorch default init plus randomised BatchNorm/LayerNorm
parameters): strided/padded, grouped, dilated and strided 1x1 convolutions; batch norm (eps
1e-5, non-trivial statistics); ReLU + max pool with padding; max pool with padding on signed
input (PyTorch only: Keras's ZeroPadding2D would differ); average pool with padding
(count_include_pad); adaptive average pool (even, uneven and upsampling, the last two PyTorch
only); Linear after Flatten of a C x H x W map; Embedding + LayerNorm; nn.MultiheadAttention with
a key padding mask; Linear + exact GELU; tanh; tanh-approximate GELU (Keras side computed with
keras.activations.gelu(approximate=True), no layer name exists for it).

Then, from a seed of their own (torch.manual_seed(1), so the cases above keep their numbers), the
vocabulary of MobileNet, EfficientNet, RegNet, ShuffleNet, DenseNet, ConvNeXt, SqueezeNet,
GoogLeNet and Inception, through torchvision's own modules and functions where it has them:
depthwise convs (groups == in_channels; Keras DepthwiseConv2D, kernel (kh, kw, C, m) for output
channel c*m + j) with stride 2 and symmetric padding (ZeroPadding2D + 'valid') and with a depth
multiplier of 2; nn.ReLU6, nn.Hardswish, nn.Hardsigmoid, nn.SiLU, nn.Sigmoid on inputs that hold
their break points (Keras Activation relu6, hard_silu, hard_sigmoid, silu, sigmoid);
torchvision.ops.SqueezeExcitation, plain and with scale_activation=nn.Hardsigmoid, fc2 widened so
the gates span their range (GlobalAveragePooling2D(keepdims) -> Conv2D 1x1 -> act -> Conv2D 1x1 ->
gate -> Multiply); torch.cat of two inputs (Concatenate); x[:, 2:5] (Cropping2D(((0, 0), (2, 3)),
channels_first) on the channels-last value); shufflenetv2.channel_shuffle(x, 2) (Reshape ->
Permute((1, 2, 4, 3)) -> Reshape); Inception3._transform_input (Rescaling with a scale and an
offset per channel); ConvNeXt's layer scale, a [C, 1, 1] parameter times the map (a 1x1
DepthwiseConv2D without bias holding it); convnext.LayerNorm2d, eps 1e-6 (LayerNormalization on
the last axis); CNBlock.block after its depthwise conv: Permute, LayerNorm, Linear, GELU, Linear,
Permute (LayerNormalization, Dense(gelu), Dense: no permutes in Keras's layout); ReLU + max pool
3/2 with ceil_mode on 10 x 9 (the last window overhangs the rows by one: a bottom row of zero
padding); average pool 3/1 with padding 1 that does not count it (Keras 'same').

Keras-only cases (random weights, Keras file only): Conv2D 'same' with stride 2 on an even size
and with an even kernel (both pad asymmetrically), MaxPooling2D/AveragePooling2D 'same' (padding
ignored by max and not counted by average), MaxPooling1D(1, strides=4) on 7 steps + Reshape,
ReLU(max_value=6) (keras.applications' spelling of ReLU6).

Family models (zoo's registry descriptors; weights far too large to commit, so both sides
rebuild them from a recipe): every floating state-dict tensor and every image input is

    x_i = float32(center + (k_i - 2**23) / 2**23 * scale),   k_i = splitmix64_i(seed) >> 40

where splitmix64_i is the i-th output (i = 0, 1, ...) of SplitMix64 seeded with `seed`
(state += 0x9E3779B97F4A7C15; z = state; z = (z ^ z>>30) * 0xBF58476D1CE4E5B9;
z = (z ^ z>>27) * 0x94D049BB133111EB; z ^ z>>31). All operations are exact or correctly rounded
in float64, so Swift reproduces the same bits. cases.json lists (name, shape, seed, center,
scale) per tensor; token inputs are stored. Models: torchvision resnet18 (num_classes=10) at
32x32, both frameworks; torchvision vgg11 (num_classes=10) at 32x32, PyTorch only (the 1x1
feature map is upsampled to 7x7 by the adaptive pool, which Keras core layers cannot express);
vgg11 at 224x224, both frameworks; a tiny BertModel (hidden 32, 2 layers, 4 heads,
intermediate 37, eager attention) on a padded batch of two; torchvision mobilenet_v3_small,
efficientnet_b0, convnext_tiny, shufflenet_v2_x0_5, densenet121 and regnet_y_400mf
(num_classes=10) at 64x64, both frameworks.

The Keras models of resnet18 and vgg11 are written out layer by layer below. Those of the six
later families are built from torchvision's module tree: the PyTorch phase records each module's
class and the attributes its computation depends on (stride, padding, groups, eps, ...),
`TorchModules` writes the Keras layers of each leaf module, and each family's builder in
KERAS_FAMILIES its wiring (residuals, squeeze-and-excitation, concatenation, channel split and
shuffle, layer scale). The Keras phase checks every family's Keras outputs against PyTorch's
(below 1e-4 relative), so a Keras model written wrongly here cannot become a fixture.

Calibrated statistics: with the plain recipe the BatchNorm networks among those six forget their
input (MobileNetV3-Small's two outputs differ by 2e-5 of their size, EfficientNet-B0's by 3e-7),
and a mistake in most of their layers would not show in the outputs. For them (CALIBRATED) a
forward pre-hook, in forward order, sets each BatchNorm's running_mean recipe to center = the
mean of its input on the recipe input, scale = 0.1 sigma, and running_var's to center = sigma^2,
scale = 0.5 sigma^2 (sigma^2 the input's variance per channel, averaged over channels; 6
significant digits) before the layer runs. cases.json holds those centers and scales like any
other, so Swift needs nothing new.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "compute")

# ----------------------------------------------------------------------------------------------
# Shared by both phases: NumPy only.

import numpy as np  # noqa: E402

GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def recipe_values(seed, count, center, scale):
    """The documented generator, vectorised."""
    with np.errstate(over="ignore"):
        i = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(seed) + i * GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    k = (z >> np.uint64(40)).astype(np.int64)
    v = (k - 2 ** 23).astype(np.float64) / 8388608.0 * scale + center
    return v.astype(np.float32)


def from_recipe(spec):
    return recipe_values(spec["seed"], int(np.prod(spec["shape"], dtype=np.int64)), spec["center"],
                         spec["scale"]).reshape(spec["shape"])


def save_safetensors(path, tensors):
    """A plain safetensors writer (header JSON padded to 8 bytes, data in insertion order)."""
    header, blobs, offset = {}, [], 0
    names = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64", np.dtype(np.int32): "I32"}
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": names[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header["__metadata__"] = {"made_by": "scripts/make_compute_fixtures.py"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    if len(h) % 256 == 0x80 and len(h) < 0x600:
        # zoo's reader (as of this writing) sniffs a first byte 0x80 followed by 0..5 as a
        # pickle PROTO; keep the header length off those values
        h += b" " * 8
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def nhwc(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)) if a.ndim == 4 else a


def rel(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-30))


# Family models: (case, arch, options, image size or None, frameworks)
FAMILIES = [
    ("resnet18_32", "resnet18", {"classes": 10, "image_size": 32}, ["torch", "keras"]),
    ("vgg11_32", "vgg11", {"classes": 10, "image_size": 32}, ["torch"]),
    ("vgg11_224", "vgg11", {"classes": 10, "image_size": 224}, ["torch", "keras"]),
    ("bert_tiny", "bert", {"transformer": {"vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 2,
                                           "num_attention_heads": 4, "intermediate_size": 37,
                                           "max_position_embeddings": 40, "type_vocab_size": 2,
                                           "layer_norm_eps": 1e-12, "hidden_act": "gelu", "pooler": True}},
     ["torch", "keras"]),
    # at 64x64 every one of these leaves its last stage a 2x2 map (DenseNet: 2x2 before norm5)
    ("mobilenet_v3_small_64", "mobilenet_v3_small", {"classes": 10, "image_size": 64}, ["torch", "keras"]),
    ("efficientnet_b0_64", "efficientnet_b0", {"classes": 10, "image_size": 64}, ["torch", "keras"]),
    ("convnext_tiny_64", "convnext_tiny", {"classes": 10, "image_size": 64}, ["torch", "keras"]),
    ("shufflenet_v2_x0_5_64", "shufflenet_v2_x0_5", {"classes": 10, "image_size": 64}, ["torch", "keras"]),
    ("densenet121_64", "densenet121", {"classes": 10, "image_size": 64}, ["torch", "keras"]),
    ("regnet_y_400mf_64", "regnet_y_400mf", {"classes": 10, "image_size": 64}, ["torch", "keras"]),
]

# Family cases whose BatchNorm statistics are calibrated to the recipe input (see the docstring).
CALIBRATED = {"mobilenet_v3_small_64", "efficientnet_b0_64", "shufflenet_v2_x0_5_64", "densenet121_64", "regnet_y_400mf_64"}


def param_recipe(name, shape, seed):
    """center/scale for one state-dict tensor: fan-in scaled weights, BatchNorm and LayerNorm
    parameters and statistics away from their trivial values."""
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "running_var":
        center, scale = 1.0, 0.5
    elif leaf in ("running_mean", "bias", "in_proj_bias"):
        center, scale = 0.0, 0.1
    elif len(shape) == 1:
        center, scale = 1.0, 0.2
    elif "embeddings" in name:
        center, scale = 0.0, 1.0
    else:
        fan_in = int(np.prod(shape[1:]))
        center, scale = 0.0, float(np.sqrt(3.0 / fan_in))
    return {"name": name, "shape": list(shape), "seed": seed, "center": center, "scale": scale}


# ----------------------------------------------------------------------------------------------
# PyTorch phase


def torch_phase(tmp):
    import torch
    import torch.nn as nn
    import torchvision
    import transformers

    torch.manual_seed(0)
    torch.set_grad_enabled(False)
    cases = []

    def randomise_norm(m):
        for mod in m.modules():
            if isinstance(mod, (nn.BatchNorm2d, nn.LayerNorm)):
                mod.weight.copy_(1 + 0.2 * torch.randn_like(mod.weight))
                mod.bias.copy_(0.1 * torch.randn_like(mod.bias))
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.copy_(0.3 * torch.randn_like(mod.running_mean))
                mod.running_var.copy_(0.5 + torch.rand_like(mod.running_var))

    class Wrap(nn.Module):
        def __init__(self, forward, **modules):
            super().__init__()
            for k, v in modules.items():
                setattr(self, k, v)
            self._forward = forward

        def forward(self, *xs):
            return self._forward(self, *xs)

    def image(*shape):
        return torch.randn(*shape)

    layer_cases = [
        ("conv_stride2_pad1", Wrap(lambda s, x: s.conv(x), conv=nn.Conv2d(3, 8, 3, stride=2, padding=1)), {"x": image(2, 3, 9, 9)}),
        ("conv_groups", Wrap(lambda s, x: s.conv(x), conv=nn.Conv2d(8, 12, 3, padding=1, groups=4)), {"x": image(2, 8, 7, 7)}),
        ("conv_dilation", Wrap(lambda s, x: s.conv(x), conv=nn.Conv2d(4, 6, 3, padding=2, dilation=2, bias=False)), {"x": image(2, 4, 10, 10)}),
        ("conv_1x1_stride2", Wrap(lambda s, x: s.conv(x), conv=nn.Conv2d(6, 10, 1, stride=2, bias=False)), {"x": image(2, 6, 8, 8)}),
        ("batchnorm", Wrap(lambda s, x: s.bn(x), bn=nn.BatchNorm2d(6, eps=1e-5)), {"x": image(2, 6, 5, 5)}),
        ("relu_maxpool_pad1", Wrap(lambda s, x: nn.functional.max_pool2d(torch.relu(x), 3, 2, 1)), {"x": image(2, 4, 9, 9)}),
        ("maxpool_pad1_signed", Wrap(lambda s, x: nn.functional.max_pool2d(x, 3, 2, 1)), {"x": image(2, 4, 9, 9)}),
        ("avgpool_pad1", Wrap(lambda s, x: nn.functional.avg_pool2d(x, 3, 2, 1)), {"x": image(2, 4, 9, 9)}),
        ("adaptive_avgpool", Wrap(lambda s, x: nn.functional.adaptive_avg_pool2d(x, (3, 3))), {"x": image(2, 4, 6, 6)}),
        ("adaptive_avgpool_uneven", Wrap(lambda s, x: nn.functional.adaptive_avg_pool2d(x, (3, 4))), {"x": image(2, 3, 5, 7)}),
        ("adaptive_avgpool_upsample", Wrap(lambda s, x: nn.functional.adaptive_avg_pool2d(x, (7, 7))), {"x": image(2, 3, 2, 3)}),
        ("flatten_linear", Wrap(lambda s, x: s.fc(torch.flatten(s.conv(x), 1)), conv=nn.Conv2d(3, 5, 3, padding=1), fc=nn.Linear(80, 7)),
         {"x": image(2, 3, 4, 4)}),
        ("embedding_layernorm", Wrap(lambda s, ids: s.norm(s.emb(ids)), emb=nn.Embedding(20, 16), norm=nn.LayerNorm(16, eps=1e-5)),
         {"ids": torch.randint(0, 20, (2, 6))}),
        ("attention_mask", Wrap(lambda s, x, mask: s.attn(x, x, x, key_padding_mask=mask == 0, need_weights=False)[0],
                                attn=nn.MultiheadAttention(16, 4, batch_first=True)),
         {"x": image(2, 5, 16), "mask": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])}),
        ("dense_gelu", Wrap(lambda s, x: nn.functional.gelu(s.fc(x)), fc=nn.Linear(8, 12)), {"x": 2 * image(2, 8)}),
        ("tanh", Wrap(lambda s, x: torch.tanh(x)), {"x": 2 * image(2, 10)}),
        ("gelu_tanh", Wrap(lambda s, x: nn.functional.gelu(x, approximate="tanh")), {"x": 3 * image(2, 10)}),
    ]

    def record(layer_cases):
        # nn.MultiheadAttention starts with zero in_proj/out_proj biases; make them count
        for name, module, _ in layer_cases:
            randomise_norm(module)
            for p_name, p in module.named_parameters():
                if p_name.endswith("in_proj_bias") or p_name.endswith("out_proj.bias"):
                    p.copy_(0.2 * torch.randn_like(p))
        for name, module, inputs in layer_cases:
            module.eval()
            y = module(*inputs.values())
            sd = {k: v for k, v in module.state_dict().items()}
            tensors = {f"weight/{k}": v.numpy() for k, v in sd.items()}
            tensors.update({f"input/{k}": v.numpy() for k, v in inputs.items()})
            tensors["output/0"] = y.numpy()
            save_safetensors(os.path.join(OUT, f"{name}.torch.safetensors"), tensors)
            np.savez(os.path.join(tmp, f"{name}.npz"), **{k: v.numpy() for k, v in sd.items() if v.dtype != torch.int64},
                     **{f"__input__{k}": v.numpy() for k, v in inputs.items()}, __output__=y.numpy())
            cases.append({"name": name, "kind": "layer", "inputs": list(inputs), "torch": f"{name}.torch.safetensors"})

    record(layer_cases)

    # The vocabulary of the later families (see the docstring), from a seed of its own so the
    # cases above keep their numbers.
    torch.manual_seed(1)

    def activation_input():
        # every branch of the piecewise activations, their break points (-3, 0, 3, 6) among them
        edges = torch.tensor([[-7.0, -6.0, -3.0, -1e-3, 0.0, 3.0], [2.999, 3.0, 3.001, 5.5, 6.0, 7.5]])
        return torch.cat([4 * torch.randn(2, 26), edges], 1)

    def cnblock_mlp(dim):
        # CNBlock.block after its depthwise conv: Permute, LayerNorm (eps 1e-6), Linear, GELU, Linear, Permute
        block = torchvision.models.convnext.CNBlock(dim, layer_scale=1e-6, stochastic_depth_prob=0.0)
        return nn.Sequential(*list(block.block.children())[1:])

    def se(channels, squeeze, **kw):
        # default init leaves the gate within a few hundredths of 0.5; a wider fc2 (and input)
        # spreads it over its range, where the hard-sigmoid clips
        module = torchvision.ops.SqueezeExcitation(channels, squeeze, **kw)
        module.fc2.weight.mul_(12)
        module.fc2.bias.mul_(12)
        return module

    vocabulary_cases = [
        ("depthwise_stride2_pad1", Wrap(lambda s, x: s.conv(x), conv=nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=6)), {"x": image(2, 6, 9, 9)}),
        ("depthwise_multiplier2", Wrap(lambda s, x: s.conv(x), conv=nn.Conv2d(4, 8, 3, padding=1, groups=4, bias=False)), {"x": image(2, 4, 7, 7)}),
        ("relu6", Wrap(lambda s, x: s.act(x), act=nn.ReLU6()), {"x": activation_input()}),
        ("hardswish", Wrap(lambda s, x: s.act(x), act=nn.Hardswish()), {"x": activation_input()}),
        ("hardsigmoid", Wrap(lambda s, x: s.act(x), act=nn.Hardsigmoid()), {"x": activation_input()}),
        ("silu", Wrap(lambda s, x: s.act(x), act=nn.SiLU()), {"x": activation_input()}),
        ("sigmoid", Wrap(lambda s, x: s.act(x), act=nn.Sigmoid()), {"x": activation_input()}),
        ("se_relu_sigmoid", Wrap(lambda s, x: s.se(x), se=se(16, 4)), {"x": 3 * image(2, 16, 5, 5)}),
        ("se_hardsigmoid", Wrap(lambda s, x: s.se(x), se=se(16, 8, scale_activation=nn.Hardsigmoid)), {"x": 3 * image(2, 16, 5, 5)}),
        ("concat", Wrap(lambda s, a, b: torch.cat([a, b], 1)), {"a": image(2, 3, 5, 5), "b": image(2, 5, 5, 5)}),
        ("channel_range", Wrap(lambda s, x: x[:, 2:5]), {"x": image(2, 8, 5, 5)}),
        ("channel_shuffle", Wrap(lambda s, x: torchvision.models.shufflenetv2.channel_shuffle(x, 2)), {"x": image(2, 12, 4, 5)}),
        ("channel_affine", Wrap(lambda s, x: torchvision.models.inception.Inception3._transform_input(s, x), transform_input=True),
         {"x": image(2, 3, 5, 5)}),
        ("layer_scale", Wrap(lambda s, x: s.layer_scale * x, layer_scale=nn.Parameter(1 + 0.5 * torch.randn(6, 1, 1))), {"x": image(2, 6, 5, 5)}),
        ("layernorm2d", Wrap(lambda s, x: s.norm(x), norm=torchvision.models.convnext.LayerNorm2d(6, eps=1e-6)), {"x": image(2, 6, 5, 5)}),
        ("convnext_mlp", Wrap(lambda s, x: s.mlp(x), mlp=cnblock_mlp(8)), {"x": image(2, 8, 4, 5)}),
        ("relu_maxpool_ceil", Wrap(lambda s, x: nn.functional.max_pool2d(torch.relu(x), 3, 2, ceil_mode=True)), {"x": image(2, 4, 10, 9)}),
        ("avgpool_same_exclude_pad", Wrap(lambda s, x: nn.functional.avg_pool2d(x, 3, 1, 1, count_include_pad=False)), {"x": image(2, 4, 6, 7)}),
    ]
    record(vocabulary_cases)

    def describe(model):
        """Each module's class and the attributes its computation depends on, in registration
        order, for the Keras phase to build the same network (torch.json only)."""
        out = {}
        for path, m in model.named_modules():
            if not path:
                continue
            d = {"type": type(m).__name__}
            if isinstance(m, nn.Conv2d):
                assert not isinstance(m.padding, str)
                d.update(stride=list(m.stride), padding=list(m.padding), dilation=list(m.dilation), groups=m.groups)
            elif isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
                d["eps"] = m.eps
            elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
                d.update(kernel=m.kernel_size, stride=m.stride, padding=m.padding, ceil_mode=m.ceil_mode)
            elif isinstance(m, nn.AdaptiveAvgPool2d):
                d["output_size"] = m.output_size
            elif isinstance(m, nn.GELU):
                d["approximate"] = m.approximate
            elif isinstance(m, torchvision.ops.misc.Permute):
                d["dims"] = list(m.dims)
            if hasattr(m, "use_res_connect"):
                d["residual"] = bool(m.use_res_connect)
            if isinstance(m, torchvision.models.shufflenetv2.InvertedResidual):
                d["stride"] = m.stride
            out[path] = d
        return out

    def calibrate_batch_norm(model, x, specs):
        """Re-centres every BatchNorm's running statistics on its input for x, in forward order:
        a pre-hook measures the input, rewrites the two recipes and loads them before the layer
        runs, so each later layer is measured behind calibrated ones."""
        def hook(module, inputs, path):
            t = inputs[0].double()
            var = t.var(dim=(0, 2, 3), unbiased=False).mean().item()
            mean = t.mean(dim=(0, 2, 3)).mean().item()
            for leaf, center, scale in (("running_mean", mean, 0.1 * var ** 0.5), ("running_var", var, 0.5 * var)):
                spec = specs[f"{path}.{leaf}"]
                spec["center"], spec["scale"] = float(f"{center:.6g}"), float(f"{scale:.6g}")
                getattr(module, leaf).copy_(torch.from_numpy(from_recipe(spec)))
        handles = [m.register_forward_pre_hook(lambda m, i, path=path: hook(m, i, path))
                   for path, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)]
        model(x)
        for h in handles:
            h.remove()

    structure = {}
    families = []
    for seed_base, (name, arch, options, frameworks) in enumerate(FAMILIES):
        seed = 1000 * (seed_base + 1)
        if arch == "bert":
            t = options["transformer"]
            config = transformers.BertConfig(vocab_size=t["vocab_size"], hidden_size=t["hidden_size"],
                                             num_hidden_layers=t["num_hidden_layers"], num_attention_heads=t["num_attention_heads"],
                                             intermediate_size=t["intermediate_size"], max_position_embeddings=t["max_position_embeddings"],
                                             type_vocab_size=t["type_vocab_size"], layer_norm_eps=t["layer_norm_eps"],
                                             hidden_act=t["hidden_act"], attn_implementation="eager")
            model = transformers.BertModel(config, add_pooling_layer=t["pooler"])
        else:
            model = getattr(torchvision.models, arch)(num_classes=options["classes"])
        model.eval()
        sd = model.state_dict()
        params = []
        for k, v in sd.items():
            if not v.dtype.is_floating_point:
                continue
            spec = param_recipe(k, list(v.shape), seed + len(params))
            params.append(spec)
            sd[k] = torch.from_numpy(from_recipe(spec))
        model.load_state_dict(sd, strict=True)
        tensors = {}
        if arch == "bert":
            ids = torch.tensor([[2, 45, 17, 88, 5, 63, 3], [2, 31, 76, 3, 0, 0, 0]])
            mask = torch.tensor([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]])
            types = torch.tensor([[0, 0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 0, 0, 0]])
            positions = torch.arange(7).unsqueeze(0).repeat(2, 1)
            inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "position_ids": positions}
            out = model(**inputs)
            outputs = [out.last_hidden_state, out.pooler_output]
            input_recipes = []
            stored_inputs = {k: v.numpy() for k, v in inputs.items()}
        else:
            size = options["image_size"]
            spec = {"name": "input", "shape": [1 if size > 100 else 2, 3, size, size], "seed": seed + 999, "center": 0.0, "scale": 1.0}
            x = torch.from_numpy(from_recipe(spec))
            if name in CALIBRATED:
                calibrate_batch_norm(model, x, {p["name"]: p for p in params})
            outputs = [model(x)]
            input_recipes = [spec]
            stored_inputs = {}
        for k, v in stored_inputs.items():
            tensors[f"input/{k}"] = v
        for i, o in enumerate(outputs):
            tensors[f"output/{i}"] = o.numpy()
        entry = {"name": name, "kind": "family", "arch": arch, "options": options, "params": params,
                 "input_recipes": input_recipes, "inputs": list(stored_inputs) or ["input"]}
        if "torch" in frameworks:
            save_safetensors(os.path.join(OUT, f"{name}.torch.safetensors"), tensors)
            entry["torch"] = f"{name}.torch.safetensors"
        np.savez(os.path.join(tmp, f"{name}.npz"), **{f"__input__{k}": v for k, v in stored_inputs.items()},
                 **{f"__output__{i}": o.numpy() for i, o in enumerate(outputs)})
        entry["frameworks"] = frameworks
        families.append(entry)
        structure[name] = describe(model)
        print(f"torch  {name}: outputs " + ", ".join(f"{list(o.shape)} max|y| {float(o.abs().max()):.3g}" for o in outputs))
    with open(os.path.join(tmp, "torch.json"), "w") as f:
        json.dump({"cases": cases, "families": families, "modules": structure}, f)


# ----------------------------------------------------------------------------------------------
# Keras phase


def keras_phase(tmp):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    from keras import layers as L

    with open(os.path.join(tmp, "torch.json")) as f:
        plan = json.load(f)

    def conv_kernel(w):          # (out, in/g, kh, kw) -> (kh, kw, in/g, out)
        return w.transpose(2, 3, 1, 0)

    def dense_kernel(w):         # (out, in) -> (in, out)
        return w.T

    def heads_kernel(w, h):      # (d, d) Linear -> (d, h, d/h)
        return w.T.reshape(w.shape[1], h, w.shape[0] // h)

    def heads_output(w, h):      # (d, d) Linear -> (h, d/h, d)
        return w.T.reshape(h, w.shape[1] // h, w.shape[0])

    def flatten_kernel(w, c, hh, ww):  # columns C,H,W -> rows H,W,C
        return w.reshape(w.shape[0], c, hh, ww).transpose(2, 3, 1, 0).reshape(hh * ww * c, w.shape[0])

    def mha_weights(wq, bq, wk, bk, wv, bv, wo, bo, h):
        d = wq.shape[0]
        return [heads_kernel(wq, h), bq.reshape(h, d // h), heads_kernel(wk, h), bk.reshape(h, d // h),
                heads_kernel(wv, h), bv.reshape(h, d // h), heads_output(wo, h), bo]

    def image_input(shape, name="x"):
        return keras.Input(shape=tuple(shape[1:]), name=name)

    # layer case -> (build(inputs, sd) -> (model, {layer: weights}), keras inputs from torch inputs)
    def single(shape, make, weights=lambda sd: {}):
        def build(sd):
            x = image_input(shape)
            return keras.Model(x, make(x)), weights(sd)
        return build

    def conv_w(sd, prefix="conv"):
        w = [conv_kernel(sd[f"{prefix}.weight"])]
        if f"{prefix}.bias" in sd:
            w.append(sd[f"{prefix}.bias"])
        return w

    builders = {
        "conv_stride2_pad1": lambda sd, s: single(s, lambda x: L.Conv2D(8, 3, strides=2, name="conv")(L.ZeroPadding2D(1, name="conv_pad")(x)),
                                                  lambda sd: {"conv": conv_w(sd)})(sd),
        "conv_groups": lambda sd, s: single(s, lambda x: L.Conv2D(12, 3, padding="same", groups=4, name="conv")(x),
                                            lambda sd: {"conv": conv_w(sd)})(sd),
        "conv_dilation": lambda sd, s: single(s, lambda x: L.Conv2D(6, 3, padding="same", dilation_rate=2, use_bias=False, name="conv")(x),
                                              lambda sd: {"conv": conv_w(sd)})(sd),
        "conv_1x1_stride2": lambda sd, s: single(s, lambda x: L.Conv2D(10, 1, strides=2, use_bias=False, name="conv")(x),
                                                 lambda sd: {"conv": conv_w(sd)})(sd),
        "batchnorm": lambda sd, s: single(s, lambda x: L.BatchNormalization(epsilon=1e-5, name="bn")(x),
                                          lambda sd: {"bn": [sd["bn.weight"], sd["bn.bias"], sd["bn.running_mean"], sd["bn.running_var"]]})(sd),
        "relu_maxpool_pad1": lambda sd, s: single(s, lambda x: L.MaxPooling2D(3, 2, name="pool")(
            L.ZeroPadding2D(1, name="pool_pad")(L.Activation("relu", name="relu")(x))))(sd),
        "avgpool_pad1": lambda sd, s: single(s, lambda x: L.AveragePooling2D(3, 2, name="pool")(L.ZeroPadding2D(1, name="pool_pad")(x)))(sd),
        "adaptive_avgpool": lambda sd, s: single(s, lambda x: L.AveragePooling2D(2, 2, name="pool")(x))(sd),
        "flatten_linear": lambda sd, s: single(s, lambda x: L.Dense(7, name="fc")(L.Flatten(name="flatten")(L.Conv2D(5, 3, padding="same", name="conv")(x))),
                                               lambda sd: {"conv": conv_w(sd), "fc": [flatten_kernel(sd["fc.weight"], 5, 4, 4), sd["fc.bias"]]})(sd),
        "dense_gelu": lambda sd, s: single(s, lambda x: L.Dense(12, activation="gelu", name="fc")(x),
                                           lambda sd: {"fc": [dense_kernel(sd["fc.weight"]), sd["fc.bias"]]})(sd),
        "tanh": lambda sd, s: single(s, lambda x: L.Activation("tanh", name="act")(x))(sd),
    }

    def embedding_layernorm(sd, s):
        ids = keras.Input(shape=(None,), dtype="int32", name="ids")
        y = L.LayerNormalization(epsilon=1e-5, name="norm")(L.Embedding(20, 16, name="emb")(ids))
        return keras.Model(ids, y), {"emb": [sd["emb.weight"]], "norm": [sd["norm.weight"], sd["norm.bias"]]}

    def attention_mask(sd, s):
        x = keras.Input(shape=(5, 16), name="x")
        mask = keras.Input(shape=(5,), dtype="int32", name="mask")
        m = L.Reshape((1, -1), name="mask_reshape")(mask)
        y = L.MultiHeadAttention(4, 4, value_dim=4, name="attn")(x, x, attention_mask=m)
        w, b = sd["attn.in_proj_weight"], sd["attn.in_proj_bias"]
        d = w.shape[1]
        weights = mha_weights(w[:d], b[:d], w[d:2 * d], b[d:2 * d], w[2 * d:], b[2 * d:], sd["attn.out_proj.weight"], sd["attn.out_proj.bias"], 4)
        return keras.Model([x, mask], y), {"attn": weights}

    builders["embedding_layernorm"] = embedding_layernorm
    builders["attention_mask"] = attention_mask

    def depthwise_kernel(w, multiplier):  # (C*m, 1, kh, kw), output channel c*m + j -> (kh, kw, C, m)
        return w.reshape(w.shape[0] // multiplier, multiplier, w.shape[2], w.shape[3]).transpose(2, 3, 0, 1)

    def squeeze_excitation(squeeze, gate):
        def make(x):
            s = L.GlobalAveragePooling2D(keepdims=True, name="se_avgpool")(x)
            s = L.Conv2D(squeeze, 1, name="se_fc1")(s)
            s = L.Activation("relu", name="se_activation")(s)
            s = L.Conv2D(x.shape[-1], 1, name="se_fc2")(s)
            s = L.Activation(gate, name="se_scale_activation")(s)
            return L.Multiply(name="se_multiply")([x, s])
        return make

    def concat(sd, s):
        a, b = keras.Input(shape=(5, 5, 3), name="a"), keras.Input(shape=(5, 5, 5), name="b")
        return keras.Model([a, b], L.Concatenate(name="concat")([a, b])), {}

    def channel_shuffle(x):  # channel i*(C/2) + j -> j*2 + i
        h, w, c = x.shape[1:]
        x = L.Reshape((h, w, 2, c // 2), name="shuffle_split")(x)
        x = L.Permute((1, 2, 4, 3), name="shuffle_transpose")(x)
        return L.Reshape((h, w, c), name="shuffle")(x)

    se_weights = lambda sd: {"se_fc1": conv_w(sd, "se.fc1"), "se_fc2": conv_w(sd, "se.fc2")}
    builders.update({
        "depthwise_stride2_pad1": lambda sd, s: single(s, lambda x: L.DepthwiseConv2D(3, strides=2, name="conv")(L.ZeroPadding2D(1, name="conv_pad")(x)),
                                                       lambda sd: {"conv": [depthwise_kernel(sd["conv.weight"], 1), sd["conv.bias"]]})(sd),
        "depthwise_multiplier2": lambda sd, s: single(s, lambda x: L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, use_bias=False, name="conv")(x),
                                                      lambda sd: {"conv": [depthwise_kernel(sd["conv.weight"], 2)]})(sd),
        "se_relu_sigmoid": lambda sd, s: single(s, squeeze_excitation(4, "sigmoid"), se_weights)(sd),
        "se_hardsigmoid": lambda sd, s: single(s, squeeze_excitation(8, "hard_sigmoid"), se_weights)(sd),
        "concat": concat,
        "channel_range": lambda sd, s: single(s, lambda x: L.Cropping2D(((0, 0), (2, 8 - 5)), data_format="channels_first", name="crop")(x))(sd),
        "channel_shuffle": lambda sd, s: single(s, channel_shuffle)(sd),
        "channel_affine": lambda sd, s: single(s, lambda x: L.Rescaling(scale=[0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5],
                                                                         offset=[(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5],
                                                                         name="transform_input")(x))(sd),
        "layer_scale": lambda sd, s: single(s, lambda x: L.DepthwiseConv2D(1, use_bias=False, name="layer_scale")(x),
                                            lambda sd: {"layer_scale": [sd["layer_scale"].reshape(1, 1, -1, 1)]})(sd),
        "layernorm2d": lambda sd, s: single(s, lambda x: L.LayerNormalization(axis=-1, epsilon=1e-6, name="norm")(x),
                                            lambda sd: {"norm": [sd["norm.weight"], sd["norm.bias"]]})(sd),
        # CNBlock's permutes are Keras's layout already: LayerNormalization and Dense act on the last axis
        "convnext_mlp": lambda sd, s: single(s, lambda x: L.Dense(8, name="mlp_4")(L.Dense(32, activation="gelu", name="mlp_2")(
            L.LayerNormalization(axis=-1, epsilon=1e-6, name="mlp_1")(x))),
            lambda sd: {"mlp_1": [sd["mlp.1.weight"], sd["mlp.1.bias"]], "mlp_2": [dense_kernel(sd["mlp.2.weight"]), sd["mlp.2.bias"]],
                        "mlp_4": [dense_kernel(sd["mlp.4.weight"]), sd["mlp.4.bias"]]})(sd),
        # ceil_mode's last window reaches one row past the 10 rows (not the 9 columns); after a ReLU
        # zero padding is PyTorch's -inf padding
        "relu_maxpool_ceil": lambda sd, s: single(s, lambda x: L.MaxPooling2D(3, 2, name="pool")(
            L.ZeroPadding2D(((0, 1), (0, 0)), name="pool_pad")(L.Activation("relu", name="relu")(x))))(sd),
        "avgpool_same_exclude_pad": lambda sd, s: single(s, lambda x: L.AveragePooling2D(3, 1, padding="same", name="pool")(x))(sd),
    })
    for torch_name, keras_name in [("relu6", "relu6"), ("hardswish", "hard_silu"), ("hardsigmoid", "hard_sigmoid"), ("silu", "silu"),
                                   ("sigmoid", "sigmoid")]:
        builders[torch_name] = (lambda k: lambda sd, s: single(s, lambda x: L.Activation(k, name="act")(x))(sd))(keras_name)

    cases = []
    for case in plan["cases"]:
        name = case["name"]
        data = dict(np.load(os.path.join(tmp, f"{name}.npz")))
        sd = {k: v for k, v in data.items() if not k.startswith("__")}
        inputs = {k[len("__input__"):]: v for k, v in data.items() if k.startswith("__input__")}
        k_inputs = {k: nhwc(v) if v.dtype == np.float32 else v.astype(np.int32) for k, v in inputs.items()}
        if name == "gelu_tanh":
            y = np.asarray(keras.activations.gelu(k_inputs["x"], approximate=True))
            tensors = {"input/x": k_inputs["x"], "output/0": y}
        elif name in builders:
            model, weights = builders[name](sd, k_inputs[case["inputs"][0]].shape if len(case["inputs"]) == 1 else None)
            for layer_name, ws in weights.items():
                model.get_layer(layer_name).set_weights([np.asarray(w, np.float32) for w in ws])
            y = np.asarray(model([k_inputs[k] for k in case["inputs"]] if len(case["inputs"]) > 1 else k_inputs[case["inputs"][0]],
                                 training=False))
            tensors = {}
            for layer in model.layers:
                for v in layer.weights:
                    tensors[f"weight/{v.path}"] = np.asarray(v.numpy(), np.float32)
            tensors.update({f"input/{k}": v for k, v in k_inputs.items()})
            tensors["output/0"] = y
        else:
            cases.append(case)
            print(f"keras  {name}: PyTorch only")
            continue
        save_safetensors(os.path.join(OUT, f"{name}.keras.safetensors"), tensors)
        expected = data["__output__"]
        print(f"keras  {name}: vs PyTorch rel {rel(nhwc(expected), y):.2e}")
        cases.append(dict(case, keras=f"{name}.keras.safetensors"))

    # Keras-only cases: behaviour of Keras layers that zoo's lowering does not emit but a Keras
    # file may hold (asymmetric 'same' padding, 'same' pooling, a general MaxPooling1D).
    rng = np.random.default_rng(7)
    keras_only = []

    def keras_only_case(name, model, inputs):
        for layer in model.layers:
            if layer.weights:
                layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) * 0.5 for w in layer.weights])
        ys = model(inputs if len(inputs) > 1 else inputs[0], training=False)
        ys = [np.asarray(y) for y in (ys if isinstance(ys, (list, tuple)) else [ys])]
        tensors = {f"weight/{v.path}": np.asarray(v.numpy(), np.float32) for layer in model.layers for v in layer.weights}
        tensors.update({f"input/{t.name}": a for t, a in zip(model.inputs, inputs)})
        tensors.update({f"output/{i}": y for i, y in enumerate(ys)})
        save_safetensors(os.path.join(OUT, f"{name}.keras.safetensors"), tensors)
        keras_only.append({"name": name, "kind": "keras_only", "inputs": [t.name for t in model.inputs],
                           "keras": f"{name}.keras.safetensors"})
        print(f"keras  {name}: " + ", ".join(str(list(y.shape)) for y in ys))

    x = keras.Input(shape=(8, 8, 3), name="x")
    y = L.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="conv")(x)
    keras_only_case("keras_conv_same_stride2", keras.Model(x, y), [rng.standard_normal((2, 8, 8, 3)).astype(np.float32)])
    x = keras.Input(shape=(7, 7, 3), name="x")
    y = L.Conv2D(4, 4, padding="same", name="conv")(x)
    keras_only_case("keras_conv_same_even_kernel", keras.Model(x, y), [rng.standard_normal((2, 7, 7, 3)).astype(np.float32)])
    x = keras.Input(shape=(7, 8, 3), name="x")
    a = L.MaxPooling2D(3, 2, padding="same", name="max_pool")(x)
    b = L.AveragePooling2D(3, 2, padding="same", name="avg_pool")(x)
    keras_only_case("keras_pool_same", keras.Model(x, [a, b]), [rng.standard_normal((2, 7, 8, 3)).astype(np.float32)])
    x = keras.Input(shape=(None, 6), name="x")
    y = L.MaxPooling1D(pool_size=1, strides=4, name="pool")(x)
    y = L.Reshape((12,), name="reshape")(y)
    keras_only_case("keras_maxpool1d_reshape", keras.Model(x, y), [rng.standard_normal((2, 7, 6)).astype(np.float32)])
    x = keras.Input(shape=(32,), name="x")
    y = L.ReLU(max_value=6.0, name="relu")(x)  # keras.applications' MobileNets spell ReLU6 so
    keras_only_case("keras_relu_max_value6", keras.Model(x, y), [4 * rng.standard_normal((2, 32)).astype(np.float32)])
    cases += keras_only

    families = []
    for fam in plan["families"]:
        name = fam["name"]
        if "keras" not in fam["frameworks"]:
            families.append(fam)
            continue
        sd = {p["name"]: from_recipe(p) for p in fam["params"]}
        data = dict(np.load(os.path.join(tmp, f"{name}.npz")))
        if fam["arch"] == "bert":
            model, weights = keras_bert(keras, L, fam["options"]["transformer"], sd, mha_weights, dense_kernel)
            inputs = [data[f"__input__{k}"].astype(np.int32) for k in fam["inputs"]]
            stored = dict(zip(fam["inputs"], inputs))
        else:
            size = fam["options"]["image_size"]
            if fam["arch"] == "resnet18":
                model, weights = keras_resnet18(keras, L, size, fam["options"]["classes"], sd, conv_kernel, dense_kernel)
            elif fam["arch"] == "vgg11":
                model, weights = keras_vgg11(keras, L, size, fam["options"]["classes"], sd, conv_kernel, dense_kernel, flatten_kernel)
            else:
                modules = TorchModules(L, sd, plan["modules"][name])
                inp = keras.Input(shape=(size, size, 3), name="input")
                model, weights = keras.Model(inp, KERAS_FAMILIES[fam["arch"]](modules, inp)), modules.weights
            inputs = [nhwc(from_recipe(fam["input_recipes"][0]))]
            stored = {}
        for layer_name, ws in weights.items():
            model.get_layer(layer_name).set_weights([np.asarray(w, np.float32) for w in ws])
        ys = model(inputs if len(inputs) > 1 else inputs[0], training=False)
        ys = [np.asarray(y) for y in (ys if isinstance(ys, (list, tuple)) else [ys])]
        tensors = {f"input/{k}": v for k, v in stored.items()}
        tensors.update({f"output/{i}": y for i, y in enumerate(ys)})
        save_safetensors(os.path.join(OUT, f"{name}.keras.safetensors"), tensors)
        diffs = [rel(data[f"__output__{i}"], y) for i, y in enumerate(ys)]
        print(f"keras  {name}: outputs vs PyTorch rel " + ", ".join(f"{d:.2e}" for d in diffs))
        # the Keras model written here must be PyTorch's function, or it anchors nothing
        assert max(diffs) < 1e-4, f"{name}: the Keras model differs from PyTorch's"
        families.append(dict(fam, keras=f"{name}.keras.safetensors"))

    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"made_by": "scripts/make_compute_fixtures.py", "cases": cases, "families": families}, f, indent=1)
        f.write("\n")


def conv_block(L, x, name, filters, kernel, stride, pad, use_bias=False, activation=None):
    """PyTorch Conv2d(kernel, stride, pad) in Keras: 'same' when that is symmetric, else explicit
    ZeroPadding2D + 'valid' (zoo's lowering names the pad layer <name minus _conv>_pad)."""
    if pad and stride == 1 and kernel - 1 == 2 * pad:
        return L.Conv2D(filters, kernel, padding="same", use_bias=use_bias, activation=activation, name=name)(x)
    if pad:
        x = L.ZeroPadding2D(pad, name=(name[:-5] if name.endswith("_conv") else name) + "_pad")(x)
    return L.Conv2D(filters, kernel, strides=stride, use_bias=use_bias, activation=activation, name=name)(x)


def keras_resnet18(keras, L, size, classes, sd, conv_kernel, dense_kernel):
    weights = {}

    def bn(x, torch_name, name):
        weights[name] = [sd[f"{torch_name}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")]
        return L.BatchNormalization(epsilon=1e-5, name=name)(x)

    def conv(x, torch_name, name, filters, kernel, stride, pad):
        weights[name] = [conv_kernel(sd[f"{torch_name}.weight"])]
        return conv_block(L, x, name, filters, kernel, stride, pad)

    inp = keras.Input(shape=(size, size, 3), name="input")
    x = conv(inp, "conv1", "conv1_conv", 64, 7, 2, 3)
    x = bn(x, "bn1", "conv1_bn")
    x = L.Activation("relu", name="conv1_relu")(x)
    x = L.ZeroPadding2D(1, name="pool1_pad")(x)
    x = L.MaxPooling2D(3, 2, name="pool1_pool")(x)
    channels = 64
    for stage in range(4):
        planes = 64 << stage
        for index in range(2):
            stride = 2 if stage > 0 and index == 0 else 1
            t, k = f"layer{stage + 1}.{index}", f"conv{stage + 2}_block{index + 1}"
            y = conv(x, f"{t}.conv1", f"{k}_1_conv", planes, 3, stride, 1)
            y = bn(y, f"{t}.bn1", f"{k}_1_bn")
            y = L.Activation("relu", name=f"{k}_1_relu")(y)
            y = conv(y, f"{t}.conv2", f"{k}_2_conv", planes, 3, 1, 1)
            y = bn(y, f"{t}.bn2", f"{k}_2_bn")
            shortcut = x
            if stride != 1 or channels != planes:
                shortcut = conv(x, f"{t}.downsample.0", f"{k}_0_conv", planes, 1, stride, 0)
                shortcut = bn(shortcut, f"{t}.downsample.1", f"{k}_0_bn")
            x = L.Add(name=f"{k}_add")([y, shortcut])
            x = L.Activation("relu", name=f"{k}_out")(x)
            channels = planes
    x = L.GlobalAveragePooling2D(name="avg_pool")(x)
    x = L.Dense(classes, name="predictions")(x)
    weights["predictions"] = [dense_kernel(sd["fc.weight"]), sd["fc.bias"]]
    return keras.Model(inp, x), weights


def keras_vgg11(keras, L, size, classes, sd, conv_kernel, dense_kernel, flatten_kernel):
    assert size == 224, "Keras core layers express VGG's adaptive pool only when the map is 7x7 or a multiple"
    weights = {}
    inp = keras.Input(shape=(size, size, 3), name="input")
    x, index = inp, 0
    for b, widths in enumerate([[64], [128], [256, 256], [512, 512], [512, 512]]):
        for c, width in enumerate(widths):
            name = f"block{b + 1}_conv{c + 1}"
            x = L.Conv2D(width, 3, padding="same", activation="relu", name=name)(x)
            weights[name] = [conv_kernel(sd[f"features.{index}.weight"]), sd[f"features.{index}.bias"]]
            index += 2
        x = L.MaxPooling2D(2, 2, name=f"block{b + 1}_pool")(x)
        index += 1
    x = L.Flatten(name="flatten")(x)  # 7x7 map: the adaptive pool is the identity
    x = L.Dense(4096, activation="relu", name="fc1")(x)
    x = L.Dense(4096, activation="relu", name="fc2")(x)
    x = L.Dense(classes, name="predictions")(x)
    weights["fc1"] = [flatten_kernel(sd["classifier.0.weight"], 512, 7, 7), sd["classifier.0.bias"]]
    weights["fc2"] = [dense_kernel(sd["classifier.3.weight"]), sd["classifier.3.bias"]]
    weights["predictions"] = [dense_kernel(sd["classifier.6.weight"]), sd["classifier.6.bias"]]
    return keras.Model(inp, x), weights


def keras_bert(keras, L, t, sd, mha_weights, dense_kernel):
    d, heads, eps = t["hidden_size"], t["num_attention_heads"], t["layer_norm_eps"]
    weights = {}
    names = ["input_ids", "attention_mask", "token_type_ids", "position_ids"]
    ids, mask, types, positions = [keras.Input(shape=(None,), dtype="int32", name=n) for n in names]

    def embedding(x, torch_name, name, count):
        weights[name] = [sd[f"{torch_name}.weight"]]
        return L.Embedding(count, d, name=name)(x)

    def layer_norm(x, torch_name, name):
        weights[name] = [sd[f"{torch_name}.weight"], sd[f"{torch_name}.bias"]]
        return L.LayerNormalization(epsilon=eps, name=name)(x)

    def dense(x, torch_name, name, units, activation=None):
        weights[name] = [dense_kernel(sd[f"{torch_name}.weight"]), sd[f"{torch_name}.bias"]]
        return L.Dense(units, activation=activation, name=name)(x)

    w = embedding(ids, "embeddings.word_embeddings", "word_embeddings", t["vocab_size"])
    p = embedding(positions, "embeddings.position_embeddings", "position_embeddings", t["max_position_embeddings"])
    ty = embedding(types, "embeddings.token_type_embeddings", "token_type_embeddings", t["type_vocab_size"])
    x = L.Add(name="embeddings_add_token_type")([w, ty])
    x = L.Add(name="embeddings_add_position")([x, p])
    x = layer_norm(x, "embeddings.LayerNorm", "embeddings_layer_norm")
    m = L.Reshape((1, -1), name="attention_mask_reshape")(mask)  # [N, T] -> [N, 1, T]: masks keys
    for i in range(t["num_hidden_layers"]):
        tp, k = f"encoder.layer.{i}", f"encoder_layer_{i}"
        a = L.MultiHeadAttention(heads, d // heads, value_dim=d // heads, name=f"{k}_attention")(x, x, attention_mask=m)
        s = lambda part: [sd[f"{tp}.attention.{part}.weight"], sd[f"{tp}.attention.{part}.bias"]]
        q, kk, v, o = s("self.query"), s("self.key"), s("self.value"), s("output.dense")
        weights[f"{k}_attention"] = mha_weights(q[0], q[1], kk[0], kk[1], v[0], v[1], o[0], o[1], heads)
        x = L.Add(name=f"{k}_attention_add")([a, x])
        x = layer_norm(x, f"{tp}.attention.output.LayerNorm", f"{k}_attention_layer_norm")
        h = dense(x, f"{tp}.intermediate.dense", f"{k}_intermediate", t["intermediate_size"], "gelu")
        h = dense(h, f"{tp}.output.dense", f"{k}_output", d)
        x = L.Add(name=f"{k}_output_add")([h, x])
        x = layer_norm(x, f"{tp}.output.LayerNorm", f"{k}_output_layer_norm")
    first = L.MaxPooling1D(pool_size=1, strides=t["max_position_embeddings"], name="pooler_first_token")(x)
    first = L.Reshape((d,), name="pooler_first_token_reshape")(first)
    pooled = dense(first, "pooler.dense", "pooler_dense", d, "tanh")
    return keras.Model([ids, mask, types, positions], [x, pooled]), weights


class TorchModules:
    """Keras layers for torchvision's leaf modules, read from the module attributes the PyTorch
    phase recorded (`describe`) and the state dict, with the weights moved by the transposes
    written here. The families' wiring (residuals, squeeze-and-excitation, concatenation, channel
    split and shuffle, layer scale) is written out by each builder in KERAS_FAMILIES. Padding is
    always an explicit ZeroPadding2D before a 'valid' layer, never Keras's 'same'."""

    ACTIVATIONS = {"ReLU": "relu", "ReLU6": "relu6", "Hardswish": "hard_silu", "Hardsigmoid": "hard_sigmoid",
                   "SiLU": "silu", "Sigmoid": "sigmoid", "GELU": "gelu"}

    def __init__(self, L, sd, modules):
        self.L, self.sd, self.modules, self.weights, self.count = L, sd, modules, {}, 0

    def children(self, path):
        prefix = path + "."
        return [p for p in self.modules if p.startswith(prefix) and "." not in p[len(prefix):]]

    def kind(self, path):
        return self.modules[path]["type"]

    def name(self, path, suffix=""):
        return path.replace(".", "_").replace("-", "_") + suffix

    def fresh(self, base):  # a layer with no module of its own (an add, a concatenation)
        self.count += 1
        return f"{base}_{self.count}"

    def conv(self, x, path):
        L, m, w = self.L, self.modules[path], self.sd[path + ".weight"]
        out, per_group, kh, kw = w.shape
        groups, channels = m["groups"], w.shape[1] * m["groups"]
        ph, pw = m["padding"]
        if ph or pw:
            x = L.ZeroPadding2D(((ph, ph), (pw, pw)), name=self.name(path, "_pad"))(x)
        bias = path + ".bias" in self.sd
        common = dict(strides=tuple(m["stride"]), dilation_rate=tuple(m["dilation"]), use_bias=bias, name=self.name(path))
        if groups == channels and groups > 1:  # every group one channel: (C*m, 1, kh, kw) -> (kh, kw, C, m)
            multiplier = out // channels
            layer = L.DepthwiseConv2D((kh, kw), depth_multiplier=multiplier, **common)
            kernel = w.reshape(channels, multiplier, kh, kw).transpose(2, 3, 0, 1)
        else:  # (out, in/g, kh, kw) -> (kh, kw, in/g, out)
            layer = L.Conv2D(out, (kh, kw), groups=groups, **common)
            kernel = w.transpose(2, 3, 1, 0)
        self.weights[self.name(path)] = [kernel] + ([self.sd[path + ".bias"]] if bias else [])
        return layer(x)

    def leaf(self, x, path):
        L, m, sd, kind, name = self.L, self.modules[path], self.sd, self.kind(path), self.name(path)
        if kind == "Conv2d":
            return self.conv(x, path)
        if kind == "BatchNorm2d":
            self.weights[name] = [sd[f"{path}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")]
            return L.BatchNormalization(epsilon=m["eps"], name=name)(x)
        if kind in ("LayerNorm", "LayerNorm2d"):  # LayerNorm2d normalises the channels: Keras's last axis
            self.weights[name] = [sd[path + ".weight"], sd[path + ".bias"]]
            return L.LayerNormalization(axis=-1, epsilon=m["eps"], name=name)(x)
        if kind in self.ACTIVATIONS:
            assert m.get("approximate", "none") == "none"
            return L.Activation(self.ACTIVATIONS[kind], name=name)(x)
        if kind == "Linear":
            self.weights[name] = [sd[path + ".weight"].T, sd[path + ".bias"]]
            return L.Dense(sd[path + ".weight"].shape[0], name=name)(x)
        if kind == "Flatten":
            return L.Flatten(name=name)(x)
        if kind == "AdaptiveAvgPool2d":
            assert m["output_size"] in (1, [1, 1], (1, 1))
            return L.GlobalAveragePooling2D(keepdims=True, name=name)(x)
        if kind == "MaxPool2d":  # only ever after a ReLU here, where zero padding is PyTorch's -inf padding
            assert not m["ceil_mode"]
            if m["padding"]:
                x = L.ZeroPadding2D(m["padding"], name=self.name(path, "_pad"))(x)
            return L.MaxPooling2D(m["kernel"], m["stride"], name=name)(x)
        if kind == "AvgPool2d":
            assert not m["padding"] and not m["ceil_mode"]
            return L.AveragePooling2D(m["kernel"], m["stride"], name=name)(x)
        if kind == "Permute":  # to channels last and back: the layout Keras keeps throughout
            assert m["dims"] in ([0, 2, 3, 1], [0, 3, 1, 2])
            return x
        if kind in ("Dropout", "StochasticDepth", "Identity"):  # the identity at inference
            return x
        if kind == "SqueezeExcitation":  # scale_activation(fc2(activation(fc1(avgpool(x))))) * x
            s = self.leaf(x, path + ".avgpool")
            s = self.leaf(self.conv(s, path + ".fc1"), path + ".activation")
            s = self.leaf(self.conv(s, path + ".fc2"), path + ".scale_activation")
            return L.Multiply(name=self.name(path, "_multiply"))([x, s])
        raise ValueError(f"{path}: no Keras layer written for {kind}")

    def chain(self, x, path):
        """The children of a Sequential (or of a module whose forward runs them in order)."""
        for child in self.children(path):
            x = self.leaf(x, child)
        return x

    def add(self, a, b):
        return self.L.Add(name=self.fresh("add"))([a, b])


def keras_inverted_residuals(t, x):
    """MobileNetV3 and EfficientNet: features (a Conv2dNormActivation, InvertedResidual/MBConv
    blocks, for EfficientNet in stage Sequentials, a last Conv2dNormActivation), average pool,
    flatten, classifier."""
    def run(x, path):
        kind = t.kind(path)
        if kind in ("InvertedResidual", "MBConv"):  # block (stochastic depth: the identity) + input
            y = x
            for part in t.children(path + ".block"):
                y = t.leaf(y, part) if t.kind(part) == "SqueezeExcitation" else t.chain(y, part)
            return t.add(y, x) if t.modules[path]["residual"] else y
        if kind == "Conv2dNormActivation":
            return t.chain(x, path)
        assert kind == "Sequential", kind
        for child in t.children(path):
            x = run(x, child)
        return x
    x = run(x, "features")
    x = t.L.GlobalAveragePooling2D(name="avgpool_flatten")(x)
    return t.chain(x, "classifier")


def keras_convnext(t, x):
    """features: stem and downsamplings (Conv2d, LayerNorm2d), stages of CNBlock
    (x + layer_scale * block(x), γ a 1x1 DepthwiseConv2D); avgpool; classifier."""
    for part in t.children("features"):
        for child in t.children(part):
            if t.kind(child) != "CNBlock":
                x = t.leaf(x, child)
                continue
            y = t.chain(x, child + ".block")
            gamma = t.sd[child + ".layer_scale"]  # (C, 1, 1) -> (1, 1, C, 1)
            t.weights[t.name(child, "_layer_scale")] = [gamma.reshape(1, 1, -1, 1)]
            y = t.L.DepthwiseConv2D(1, use_bias=False, name=t.name(child, "_layer_scale"))(y)
            x = t.add(y, x)
    x = t.leaf(x, "avgpool")
    return t.chain(x, "classifier")


def keras_shufflenet(t, x):
    """conv1, maxpool, stages of InvertedResidual (stride 1: chunk(2) and branch2 on the second
    half; stride 2: branch1 and branch2 on the whole map; then cat and channel_shuffle(2)), conv5,
    mean over H and W, fc."""
    L = t.L
    x = t.leaf(t.chain(x, "conv1"), "maxpool")
    for stage in ("stage2", "stage3", "stage4"):
        for unit in t.children(stage):
            c = x.shape[-1]
            if t.modules[unit]["stride"] == 1:  # channels [0, C/2) and [C/2, C) of the channels-last map
                kept = L.Cropping2D(((0, 0), (0, c - c // 2)), data_format="channels_first", name=t.name(unit, "_first"))(x)
                branch = L.Cropping2D(((0, 0), (c // 2, 0)), data_format="channels_first", name=t.name(unit, "_second"))(x)
            else:
                kept, branch = t.chain(x, unit + ".branch1"), x
            y = L.Concatenate(name=t.name(unit, "_cat"))([kept, t.chain(branch, unit + ".branch2")])
            h, w, c = y.shape[1:]
            y = L.Reshape((h, w, 2, c // 2), name=t.name(unit, "_split"))(y)
            y = L.Permute((1, 2, 4, 3), name=t.name(unit, "_transpose"))(y)
            x = L.Reshape((h, w, c), name=t.name(unit, "_shuffle"))(y)
    x = t.chain(x, "conv5")
    x = L.GlobalAveragePooling2D(name="mean")(x)
    return t.leaf(x, "fc")


def keras_densenet(t, x):
    """features (dense blocks: each layer's new features concatenated after its input), ReLU,
    average pool, flatten, classifier."""
    for part in t.children("features"):
        kind = t.kind(part)
        if kind == "_DenseBlock":
            for layer in t.children(part):
                x = t.L.Concatenate(name=t.name(layer, "_cat"))([x, t.chain(x, layer)])
        elif kind == "_Transition":
            x = t.chain(x, part)
        else:
            x = t.leaf(x, part)
    x = t.L.Activation("relu", name="relu")(x)
    x = t.L.GlobalAveragePooling2D(name="avgpool_flatten")(x)
    return t.leaf(x, "classifier")


def keras_regnet(t, x):
    """stem, trunk_output stages of ResBottleneckBlock (activation(proj(x) + f(x)), f = a, b, se, c),
    average pool, flatten, fc."""
    x = t.chain(x, "stem")
    for stage in t.children("trunk_output"):
        for block in t.children(stage):
            shortcut = t.chain(x, block + ".proj") if block + ".proj" in t.modules else x
            y = x
            for part in t.children(block + ".f"):
                y = t.leaf(y, part) if t.kind(part) == "SqueezeExcitation" else t.chain(y, part)
            x = t.leaf(t.add(shortcut, y), block + ".activation")
    x = t.L.GlobalAveragePooling2D(name="avgpool_flatten")(x)
    return t.leaf(x, "fc")


KERAS_FAMILIES = {
    "mobilenet_v3_small": keras_inverted_residuals,
    "efficientnet_b0": keras_inverted_residuals,
    "convnext_tiny": keras_convnext,
    "shufflenet_v2_x0_5": keras_shufflenet,
    "densenet121": keras_densenet,
    "regnet_y_400mf": keras_regnet,
}


# ----------------------------------------------------------------------------------------------


def main():
    if len(sys.argv) == 3 and sys.argv[1] in ("torch", "keras"):
        (torch_phase if sys.argv[1] == "torch" else keras_phase)(sys.argv[2])
        return
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".safetensors") or f == "cases.json":
            os.remove(os.path.join(OUT, f))
    venv = lambda kind: subprocess.check_output(["bash", os.path.join(ROOT, "scripts", "venv.sh"), kind], text=True).strip()
    pyt, pyk = venv("torch"), venv("keras")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.check_call([pyt, os.path.abspath(__file__), "torch", tmp])
        subprocess.check_call([pyk, os.path.abspath(__file__), "keras", tmp])
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"{OUT}: {total / 1e6:.2f} MB")
    assert total < 2_000_000, "the compute fixtures must stay below 2 MB"


if __name__ == "__main__":
    main()
