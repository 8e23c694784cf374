#!/usr/bin/env python3
"""Regenerate the committed PyTorch / safetensors test fixtures in Tests/Fixtures/torch/.

Run from the repository root with the reference environment:

    $(bash scripts/venv.sh torch) scripts/make_torch_fixtures.py

Everything is made with fixed seeds (torch.manual_seed per group), so a rerun with the same
torch version gives the same files; other torch versions may give other bytes, which is fine.
The script checks every file it writes against real PyTorch (torch.load(weights_only=True) or
safetensors) and writes Tests/Fixtures/torch/manifest.json, which the Swift tests read.

File groups
-----------
Good files (listed under "good" in the manifest, with every tensor's name, dtype, shape and
flat row-major values of the LOGICAL tensor, i.e. as PyTorch shows it after views):

* zip_<dtype>.pth -- plain torch.save (zip format), one per dtype: float32, float16, bfloat16,
  float64, int64, int32, int16, int8, uint8, bool. Tensors a [3,4], b [2,3,2,2], c [5];
  float32 and int64 also have a 0-d "scalar". Integer files include each dtype's extremes
  (int64 is kept within +-(2**53 - 1) so the values survive a JSON decoder that goes through
  Double).
* zip_empty.pth -- tensors with zero elements ([0], [2,0]) next to a normal one.
* legacy_<dtype>.pth -- torch.save(..., _use_new_zipfile_serialization=False) for float32,
  float16, bfloat16, int64, uint8.
* zip_bigendian.pth -- a real torch.save zip of mixed dtypes, rewritten with Python's zipfile
  so that <top>/byteorder says "big" and every data/N record is byte-swapped by the element
  size of its storage dtype (records kept STORED and 64-byte aligned like torch writes them).
  The script asserts torch.load gives the same values as the original.
* zip_views.pth, legacy_views.pth -- tensors sharing one storage, non-contiguous, with storage
  offsets and a stride-0 expand, plus the same tensor object under two keys (pickle memo).
* wrap_state_dict.pth ({"state_dict": sd, "epoch": 3, "optimizer": {...with a tensor...}}),
  wrap_model.pth ({"model": sd, "step": 10}), wrap_model_state_dict.pth
  ({"model_state_dict": sd, "loss": 0.5}), wrap_module.pth ({"module": sd}),
  dataparallel_prefix.pth (every key starts with "module."; names in the manifest are stripped).
* zip_tiny_cnn.pth, legacy_tiny_cnn.pth -- nn.Sequential(Conv2d, BatchNorm2d, ReLU, Flatten,
  Linear).state_dict() after one training-mode forward: an OrderedDict with `_metadata`, and
  `num_batches_tracked` (int64, 0-d). This is the "real model" fixture.
* zip_parameters.pth -- values are nn.Parameter objects (torch._utils._rebuild_parameter).
* nested_key_ema.pth -- {"ema": {"weights": sd}, "meta": {...}}; manifest "key": "ema.weights".
* zip_top_folder.pth -- a zip whose top folder is "my_model/" instead of "archive/" (or the
  file stem); the script asserts torch.load reads it.
* st_<dtype>.safetensors -- safetensors.torch.save_file for F32 F16 BF16 F64 I64 I32 I16 I8 U8
  BOOL, metadata {"format": "pt"}; st_float32 has a 0-d scalar; st_empty.safetensors has a
  shape-[0] tensor. Tensor order in safetensors is not insertion order ("tensor_order_matters":
  false).

Hostile files (listed under "hostile"; a reader must refuse them and execute nothing; the tests
check that side_effect_path was not created; "global" is exactly module.name as written in the
pickle's GLOBAL opcode):

* hostile_os_system.pth -- data.pkl is a pickle whose __reduce__ is (os.system, ("touch ...",));
  on Linux that is the global posix.system.
* hostile_eval.pth -- builtins.eval (pickled with fix_imports=False);
  hostile_eval_py2name.pth -- the same with the default fix_imports, so the GLOBAL says
  __builtin__.eval, as protocol 2 normally writes it.
* hostile_subprocess.pth -- subprocess.Popen (fix_imports=False; the default would write
  commands.Popen).
* hostile_main_evil_newobj.pth, hostile_main_evil_reduce.pth -- a user class __main__.Evil via
  GLOBAL + NEWOBJ (+ BUILD) and via GLOBAL + REDUCE.
* hostile_mixed.pth -- a real torch.save file with real tensors and one posix.system object.
* hostile_legacy.pth -- a raw (non-zip) legacy stream: magic number, protocol 1001, sys_info,
  then the hostile pickle.
The zip ones are shaped like torch's (top folder, data.pkl, version, byteorder, ...). They are
only ever given to torch.load(weights_only=True), which must refuse them.

Bad files (listed under "bad"; a reader must fail with a clean error): truncated zip / legacy /
safetensors, an empty file, a text file, a zip missing a data/N record, a zip with a short data
record, safetensors with overlapping offsets, offsets past the end, a huge header length, bad
JSON, a range that does not match the shape, a hole between ranges, and pickles with 100000
nested MARK/EMPTY_LIST/APPENDS levels or a BINUNICODE claiming 0x7fffffff bytes.
"""

import collections
import io
import json
import os
import pickle
import pickletools
import shutil
import struct
import sys
import zipfile

import torch
import torch.nn as nn
import safetensors
from safetensors.torch import save_file as st_save_file, load_file as st_load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "torch")

DTYPES = ["float32", "float16", "bfloat16", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"]

# Element size of each legacy storage class name that appears in persistent ids.
STORAGE_ELEMENT_SIZE = {
    "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "DoubleStorage": 8,
    "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1,
    "ByteStorage": 1, "BoolStorage": 1,
}

WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "module")

manifest = {
    "generator": "scripts/make_torch_fixtures.py",
    "torch_version": torch.__version__,
    "good": [],
    "hostile": [],
    "bad": [],
}

# Originals kept in memory to check files against.
expected_objects = {}


def path(name):
    return os.path.join(OUT, name)


# ----------------------------------------------------------------------------------------------
# Tensor helpers


def dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def flat_values(t):
    t = t.detach()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()  # exact widening
    vals = t.reshape(-1).tolist()
    if t.dtype.is_floating_point:
        for v in vals:
            assert v == v and v not in (float("inf"), float("-inf")), "no NaN/inf in fixtures"
    return vals


def make_tensor(dtype, shape, extremes=False):
    """Random tensor of a dtype; integer tensors optionally start with the dtype's extremes."""
    dt = getattr(torch, dtype)
    numel = 1
    for s in shape:
        numel *= s
    if dtype == "bool":
        return torch.rand(shape) > 0.5
    if dt.is_floating_point:
        return torch.randn(shape, dtype=torch.float32).to(dt) if dtype != "float64" else torch.randn(shape, dtype=torch.float64)
    if dtype == "uint8":
        lo, hi = 0, 255
    elif dtype == "int64":
        lo, hi = -(2**53 - 1), 2**53 - 1
    else:
        info = torch.iinfo(dt)
        lo, hi = info.min, info.max
    if dtype == "int64":
        flat = torch.randint(-(2**40), 2**40, (numel,), dtype=torch.int64)
    else:
        flat = torch.randint(lo, hi + 1, (numel,), dtype=torch.int64)
    if extremes and numel >= 4:
        flat[0], flat[1], flat[2], flat[3] = lo, hi, 0, -1 if lo < 0 else 1
    return flat.to(dt).reshape(shape)


def tensor_entries(sd):
    """Manifest tensor list for a (flat) state dict, in its order; non-tensors skipped."""
    out = []
    for k, v in sd.items():
        if isinstance(v, torch.Tensor):
            out.append({"name": k, "dtype": dtype_name(v), "shape": list(v.shape), "values": flat_values(v)})
    return out


def add_good(file, fmt, sd, notes, key=None, order_matters=True, check_obj=None):
    manifest["good"].append({
        "file": file,
        "format": fmt,
        "key": key,
        "tensors": tensor_entries(sd),
        "tensor_order_matters": order_matters,
        "notes": notes,
    })


def add_hostile(file, glob, side_effect):
    manifest["hostile"].append({"file": file, "global": glob, "side_effect_path": side_effect})


def add_bad(file, why):
    manifest["bad"].append({"file": file, "why": why})


# ----------------------------------------------------------------------------------------------
# Zip helpers


def zip_top(p):
    with zipfile.ZipFile(p) as z:
        for n in z.namelist():
            if n.endswith("/data.pkl"):
                return n[: -len("data.pkl")]
    raise RuntimeError(f"{p}: no data.pkl")


def read_zip(p):
    with zipfile.ZipFile(p) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def write_torch_like_zip(p, entries, align=64, deflate=()):
    """Write (name, bytes) entries STORED, aligning data/ records to `align` bytes the way
    torch's writer does (an extra field "FB" filled with 'Z'). Names in `deflate` are
    compressed instead (only used for a bad file that would otherwise be 200 KB)."""
    with open(p, "wb") as f:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as z:
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED if name in deflate else zipfile.ZIP_STORED
                info.create_system = 0
                info.external_attr = 0
                if name not in deflate and ("/data/" in name or name.endswith("data.pkl")):
                    start = f.tell() + 30 + len(name.encode()) + 4
                    pad = (-start) % align
                    info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
                z.writestr(info, data)


class _StorageScan(pickle.Unpickler):
    """Reads a torch data.pkl without executing anything, recording storage key -> class name.
    Only used on files this script made itself with torch.save."""

    def __init__(self, f):
        super().__init__(f)
        self.storages = {}

    def find_class(self, module, name):
        if module == "torch" and name.endswith("Storage"):
            return name
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name.startswith("_rebuild"):
            return lambda *a: ("rebuilt", name, a)
        if module == "torch" and name in ("device",):
            return lambda *a: ("device", a)
        if module == "torch":  # dtypes in _rebuild_tensor_v3
            return ("dtype", name)
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    def persistent_load(self, pid):
        assert pid[0] == "storage", pid
        self.storages[str(pid[2])] = pid[1]
        return ("storage", pid[2])


def storage_classes(p):
    top = zip_top(p)
    with zipfile.ZipFile(p) as z:
        u = _StorageScan(io.BytesIO(z.read(top + "data.pkl")))
        u.load()
    return u.storages


def byteswap(data, size):
    if size == 1:
        return data
    assert len(data) % size == 0
    out = bytearray(len(data))
    for i in range(0, len(data), size):
        out[i : i + size] = data[i : i + size][::-1]
    return bytes(out)


# ----------------------------------------------------------------------------------------------
# Checks against real PyTorch


def unwrap(obj, key):
    if key is not None:
        for part in key.split("."):
            obj = obj[part]
        return obj
    if isinstance(obj, dict):
        for w in WRAPPER_KEYS:
            if w in obj and isinstance(obj[w], dict):
                obj = obj[w]
                break
    names = [k for k, v in obj.items() if isinstance(v, torch.Tensor)]
    if names and all(isinstance(k, str) and k.startswith("module.") for k in names):
        obj = collections.OrderedDict((k[len("module."):], v) for k, v in obj.items() if isinstance(v, torch.Tensor))
    return obj


def check_good(entry):
    p = path(entry["file"])
    if entry["format"] == "safetensors":
        loaded = st_load_file(p)
        with open(p, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
        assert header.get("__metadata__") == {"format": "pt"}, header.get("__metadata__")
    else:
        loaded = unwrap(torch.load(p, weights_only=True), entry["key"])
    names = [k for k, v in loaded.items() if isinstance(v, torch.Tensor)]
    want = [t["name"] for t in entry["tensors"]]
    if entry["tensor_order_matters"]:
        assert names == want, (entry["file"], names, want)
    else:
        assert sorted(names) == sorted(want), (entry["file"], names, want)
    for t in entry["tensors"]:
        v = loaded[t["name"]]
        assert dtype_name(v) == t["dtype"], (entry["file"], t["name"], dtype_name(v), t["dtype"])
        assert list(v.shape) == t["shape"], (entry["file"], t["name"])
        assert flat_values(v) == t["values"], (entry["file"], t["name"])
        # values survive the JSON round trip exactly
        assert json.loads(json.dumps(t["values"])) == t["values"]


def check_refused(p):
    """torch.load(weights_only=True) must refuse (it never executes the payload)."""
    try:
        torch.load(p, weights_only=True)
    except Exception as e:  # UnpicklingError / RuntimeError depending on version
        return f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
    raise AssertionError(f"{p}: torch.load(weights_only=True) accepted a hostile file")


def pickle_globals(data):
    """module.name of every GLOBAL opcode, in order."""
    out = []
    for op, arg, _ in pickletools.genops(data):
        if op.name == "GLOBAL":
            mod, name = arg.split(" ", 1)
            out.append(f"{mod}.{name}")
        elif op.name == "STACK_GLOBAL":
            raise AssertionError("fixtures use protocol 2 (GLOBAL), not STACK_GLOBAL")
    return out


# ----------------------------------------------------------------------------------------------
# Good files


def save_zip(name, obj):
    torch.save(obj, path(name))
    assert zipfile.is_zipfile(path(name))


def save_legacy(name, obj):
    torch.save(obj, path(name), _use_new_zipfile_serialization=False)
    assert not zipfile.is_zipfile(path(name))
    fix_legacy_keys(path(name))


def fix_legacy_keys(p):
    """Legacy torch.save names each storage str(storage._cdata), a memory address, so the bytes
    change on every run. Replace the keys with fixed address-like strings (same shape as the
    real ones; their sorted order differs from the order the pickle uses them, as in real files)
    and re-lay the stream: magic, protocol, sys_info, main pickle, sorted key list, then per key
    an int64 element count and the raw bytes."""
    with open(p, "rb") as f:
        data = f.read()
    f = io.BytesIO(data)
    for _ in range(3):  # magic number, protocol version, sys_info: plain ints and dicts
        pickle.load(f)
    head_end = f.tell()
    list(pickletools.genops(f))  # skips the main pickle up to its STOP
    main_end = f.tell()
    main = data[head_end:main_end]
    ops = list(pickletools.genops(main))  # positions relative to `main`
    scan = _StorageScan(io.BytesIO(main))
    scan.load()
    old_keys = pickle.load(f)
    assert sorted(old_keys) == old_keys and set(old_keys) == set(scan.storages), (old_keys, scan.storages)
    chunks = {}
    for k in old_keys:
        (count,) = struct.unpack("<q", f.read(8))
        nbytes = count * STORAGE_ELEMENT_SIZE[scan.storages[k]]
        chunks[k] = struct.pack("<q", count) + f.read(nbytes)
        assert len(chunks[k]) == 8 + nbytes
    assert f.read() == b"", "trailing bytes after the storages"
    # New keys in order of first use in the pickle.
    order = []
    for op, arg, _ in ops:
        if op.name == "BINUNICODE" and arg in chunks and arg not in order:
            order.append(arg)
    assert len(order) == len(old_keys)
    new = {k: str(139_800_000_000_000 + ((i * 37 + 11) % 97) * 4096) for i, k in enumerate(order)}
    out = bytearray()
    for i, (op, arg, pos) in enumerate(ops):
        end = ops[i + 1][2] if i + 1 < len(ops) else len(main)
        seg = main[pos:end]
        if op.name == "BINUNICODE" and arg in new:
            b = new[arg].encode()
            seg = b"X" + struct.pack("<I", len(b)) + b
        out += seg
    new_keys = sorted(new[k] for k in old_keys)
    back = {v: k for k, v in new.items()}
    body = data[:head_end] + bytes(out) + pickle.dumps(new_keys, protocol=2)
    body += b"".join(chunks[back[k]] for k in new_keys)
    with open(p, "wb") as f:
        f.write(body)


def dtype_state_dict(dtype, seed, scalar):
    torch.manual_seed(seed)
    sd = collections.OrderedDict()
    sd["a"] = make_tensor(dtype, [3, 4], extremes=True)
    sd["b"] = make_tensor(dtype, [2, 3, 2, 2])
    sd["c"] = make_tensor(dtype, [5])
    if scalar:
        sd["scalar"] = make_tensor(dtype, [])
    return sd


def gen_dtype_files():
    for i, dtype in enumerate(DTYPES):
        sd = dtype_state_dict(dtype, 100 + i, scalar=dtype in ("float32", "int64"))
        name = f"zip_{dtype}.pth"
        save_zip(name, sd)
        add_good(name, "zip", sd, f"torch.save zip format, {dtype}, bare OrderedDict state dict"
                 + (", includes a 0-d tensor" if "scalar" in sd else ""))
    for dtype in ("float32", "float16", "bfloat16", "int64", "uint8"):
        sd = dtype_state_dict(dtype, 200 + DTYPES.index(dtype), scalar=dtype in ("float32", "int64"))
        name = f"legacy_{dtype}.pth"
        save_legacy(name, sd)
        add_good(name, "legacy", sd, f"legacy format (_use_new_zipfile_serialization=False), {dtype}")
    torch.manual_seed(300)
    sd = collections.OrderedDict()
    sd["empty"] = torch.zeros(0)
    sd["empty2d"] = torch.zeros(2, 0, dtype=torch.int32)
    sd["w"] = torch.randn(2, 2)
    save_zip("zip_empty.pth", sd)
    add_good("zip_empty.pth", "zip", sd, "zip format with zero-element tensors ([0] float32, [2,0] int32)")


def gen_bigendian():
    torch.manual_seed(400)
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(3, 4)
    sd["f16"] = torch.randn(5).half()
    sd["bf16"] = torch.randn(3).bfloat16()
    sd["f64"] = torch.randn(2, 2, dtype=torch.float64)
    sd["i64"] = torch.tensor([[1, -2, 3], [2**40 + 5, -(2**33), 7]], dtype=torch.int64)
    sd["i32"] = torch.tensor([1, -70000, 2**31 - 1], dtype=torch.int32)
    sd["i16"] = torch.tensor([1, -300, 32767, -32768], dtype=torch.int16)
    sd["u8"] = torch.tensor([0, 1, 255], dtype=torch.uint8)
    sd["b"] = torch.tensor([True, False, True])
    tmp = path("zip_bigendian.pth")  # saved little-endian first, then rewritten in place
    torch.save(sd, tmp)
    original = torch.load(tmp, weights_only=True)
    top = zip_top(tmp)
    classes = storage_classes(tmp)
    entries = []
    swapped = 0
    for n, data in read_zip(tmp):
        rel = n[len(top):]
        if rel == "byteorder":
            assert data == b"little", data
            data = b"big"
        elif rel.startswith("data/"):
            key = rel[len("data/"):]
            data = byteswap(data, STORAGE_ELEMENT_SIZE[classes[key]])
            swapped += 1
        entries.append((n, data))
    assert swapped == len(classes) == len(sd), (swapped, classes)
    write_torch_like_zip(path("zip_bigendian.pth"), entries)
    loaded = torch.load(path("zip_bigendian.pth"), weights_only=True)
    for k in sd:
        assert loaded[k].dtype == original[k].dtype and torch.equal(loaded[k], original[k]), k
    add_good("zip_bigendian.pth", "zip", sd,
             "zip whose byteorder record says 'big'; every data/N record is byte-swapped by its "
             "element size (f32 4, f16/bf16/i16 2, f64/i64 8, u8/bool 1); torch.load reads the same values")


def views_state_dict():
    base = torch.arange(24.0).reshape(4, 6)
    sd = collections.OrderedDict()
    sd["base"] = base
    sd["t"] = base.t()                # strides (1, 6)
    sd["sl"] = base[1:3, 2:5]         # storage offset 8, strides (6, 1)
    sd["col"] = base[:, 3]            # storage offset 3, stride (6,)
    sd["exp"] = torch.ones(3).expand(4, 3)  # stride (0, 1)
    sd["base_again"] = base           # the same tensor object (pickle memo)
    sd["rows"] = base[::2, 1::2]      # strides (12, 2), offset 1
    assert not sd["t"].is_contiguous() and not sd["sl"].is_contiguous() and not sd["exp"].is_contiguous()
    return sd


def gen_views():
    sd = views_state_dict()
    save_zip("zip_views.pth", sd)
    loaded = torch.load(path("zip_views.pth"), weights_only=True)
    assert loaded["t"].stride() == (1, 6) and loaded["sl"].storage_offset() == 8 and loaded["exp"].stride() == (0, 1)
    assert loaded["base"] is loaded["base_again"]
    with zipfile.ZipFile(path("zip_views.pth")) as z:
        nrec = sum(1 for n in z.namelist() if "/data/" in n and not n.endswith("/"))
    assert nrec == 2, f"expected 2 shared storages, found {nrec}"
    notes = ("views sharing one storage (base 4x6 arange; t transposed strides (1,6); sl = base[1:3,2:5] "
             "offset 8; col = base[:,3]; rows = base[::2,1::2]); exp = ones(3).expand(4,3) stride 0; "
             "base_again is the same object as base (BINGET). Values are the logical tensors")
    add_good("zip_views.pth", "zip", sd, "zip: " + notes)
    sd = views_state_dict()
    save_legacy("legacy_views.pth", sd)
    loaded = torch.load(path("legacy_views.pth"), weights_only=True)
    assert loaded["t"].stride() == (1, 6) and loaded["sl"].storage_offset() == 8
    add_good("legacy_views.pth", "legacy", sd, "legacy: " + notes)


def small_sd(seed):
    torch.manual_seed(seed)
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.randn(2, 1, 2, 2)
    sd["conv.bias"] = torch.randn(2)
    sd["fc.weight"] = torch.randn(3, 2)
    sd["fc.bias"] = torch.randn(3)
    return sd


def tiny_cnn_state_dict():
    torch.manual_seed(500)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 3 * 3, 2))
    model.train()
    with torch.no_grad():
        model(torch.randn(2, 3, 5, 5))  # updates running stats, num_batches_tracked = 1
    sd = model.state_dict()
    assert isinstance(sd, collections.OrderedDict) and hasattr(sd, "_metadata")
    assert sd["1.num_batches_tracked"].dtype == torch.int64 and sd["1.num_batches_tracked"].dim() == 0
    return sd


def gen_wrappers():
    sd = small_sd(600)
    opt = {
        "state": {0: {"momentum_buffer": torch.full((2, 1, 2, 2), 0.25)}, 1: {"momentum_buffer": torch.zeros(2)}},
        "param_groups": [{"lr": 0.1, "momentum": 0.9, "weight_decay": 0.0, "nesterov": False, "params": [0, 1, 2, 3]}],
    }
    save_zip("wrap_state_dict.pth", {"state_dict": sd, "epoch": 3, "optimizer": opt})
    add_good("wrap_state_dict.pth", "zip", sd,
             "{'state_dict': sd, 'epoch': 3, 'optimizer': {...}}; the optimizer holds tensors too, which are not part of the weights")
    sd = small_sd(601)
    save_zip("wrap_model.pth", {"model": sd, "step": 10})
    add_good("wrap_model.pth", "zip", sd, "{'model': sd, 'step': 10}")
    sd = small_sd(602)
    save_zip("wrap_model_state_dict.pth", {"model_state_dict": sd, "loss": 0.5})
    add_good("wrap_model_state_dict.pth", "zip", sd, "{'model_state_dict': sd, 'loss': 0.5}")
    sd = small_sd(603)
    save_zip("wrap_module.pth", {"module": sd})
    add_good("wrap_module.pth", "zip", sd, "{'module': sd}")
    sd = small_sd(604)
    dp = collections.OrderedDict(("module." + k, v) for k, v in sd.items())
    save_zip("dataparallel_prefix.pth", dp)
    add_good("dataparallel_prefix.pth", "zip", sd,
             "DataParallel-style keys 'module.conv.weight' ...; manifest names have the prefix stripped")

    sd = tiny_cnn_state_dict()
    save_zip("zip_tiny_cnn.pth", sd)
    add_good("zip_tiny_cnn.pth", "zip", sd,
             "real nn.Sequential(Conv2d(3,4,3), BatchNorm2d(4), ReLU, Flatten, Linear(36,2)).state_dict() "
             "after one train-mode forward: OrderedDict with _metadata, 1.num_batches_tracked int64 0-d = 1")
    sd = tiny_cnn_state_dict()
    save_legacy("legacy_tiny_cnn.pth", sd)
    add_good("legacy_tiny_cnn.pth", "legacy", sd, "same tiny CNN state dict in legacy format")

    torch.manual_seed(700)
    params = collections.OrderedDict()
    params["w"] = nn.Parameter(torch.randn(2, 2))
    params["b"] = nn.Parameter(torch.randn(2), requires_grad=False)
    save_zip("zip_parameters.pth", params)
    with zipfile.ZipFile(path("zip_parameters.pth")) as z:
        g = pickle_globals(z.read(zip_top(path("zip_parameters.pth")) + "data.pkl"))
    assert "torch._utils._rebuild_parameter" in g, g
    add_good("zip_parameters.pth", "zip", params,
             "values are nn.Parameter (torch._utils._rebuild_parameter), w requires_grad=True, b False")

    sd = small_sd(800)
    save_zip("nested_key_ema.pth", {"ema": {"weights": sd, "decay": 0.999}, "meta": {"epoch": 5, "arch": "tiny"}})
    add_good("nested_key_ema.pth", "zip", sd,
             "weights under a non-standard nested key: {'ema': {'weights': sd, 'decay': 0.999}, 'meta': {...}}",
             key="ema.weights")


def gen_top_folder():
    sd = small_sd(900)
    tmp = path("_tmp_top.pth")
    torch.save(sd, tmp)
    top = zip_top(tmp)
    entries = [("my_model/" + n[len(top):], d) for n, d in read_zip(tmp)]
    os.remove(tmp)
    write_torch_like_zip(path("zip_top_folder.pth"), entries)
    assert zip_top(path("zip_top_folder.pth")) == "my_model/"
    loaded = torch.load(path("zip_top_folder.pth"), weights_only=True)
    for k in sd:
        assert torch.equal(loaded[k], sd[k])
    add_good("zip_top_folder.pth", "zip", sd, f"top folder 'my_model/' (torch wrote '{top}'); torch.load reads it")


def gen_safetensors():
    for i, dtype in enumerate(DTYPES):
        sd = dtype_state_dict(dtype, 1000 + i, scalar=dtype == "float32")
        name = f"st_{dtype}.safetensors"
        st_save_file(dict(sd), path(name), metadata={"format": "pt"})
        add_good(name, "safetensors", sd, f"safetensors.torch.save_file, {dtype}"
                 + (", includes a 0-d tensor (shape [])" if "scalar" in sd else ""), order_matters=False)
    torch.manual_seed(1100)
    sd = collections.OrderedDict()
    sd["empty"] = torch.zeros(0)
    sd["w"] = torch.randn(2, 3)
    st_save_file(dict(sd), path("st_empty.safetensors"), metadata={"format": "pt"})
    add_good("st_empty.safetensors", "safetensors", sd,
             "a shape-[0] tensor (data_offsets [x, x]) next to a normal one", order_matters=False)


# ----------------------------------------------------------------------------------------------
# Hostile files

PWNED = "/tmp/zoo-pwned-"


class _ReduceTo:
    """Pickles as REDUCE(fn, args); nothing is ever called here."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


class Evil:
    """A user class; pickled as __main__.Evil. Never instantiated by a loader of ours."""

    def __init__(self, cmd="touch " + PWNED + "main-evil"):
        self.cmd = cmd


Evil.__module__ = "__main__"
Evil.__qualname__ = "Evil"
sys.modules["__main__"].Evil = Evil


def torch_zip_skeleton():
    """Non-data records of a real torch.save zip (version, byteorder, ...), under 'archive/'."""
    tmp = path("_tmp_skel.pth")
    torch.save({"x": torch.zeros(1)}, tmp)
    top = zip_top(tmp)
    keep = []
    for n, d in read_zip(tmp):
        rel = n[len(top):]
        if rel == "data.pkl" or rel.startswith("data/"):
            continue
        keep.append((rel, d))
    os.remove(tmp)
    return keep


def write_hostile_zip(name, pkl):
    skel = torch_zip_skeleton()
    entries = [("archive/data.pkl", pkl)] + [("archive/" + rel, d) for rel, d in skel]
    write_torch_like_zip(path(name), entries)


def check_hostile_global(pkl, want):
    g = pickle_globals(pkl)
    assert want in g, (want, g)


def gen_hostile():
    refused = {}
    import subprocess
    # fix_imports=False keeps Python 3 names (builtins.eval, subprocess.Popen); with the default,
    # protocol 2 writes the Python 2 names (__builtin__.eval, commands.Popen), kept in one file.
    cases = [
        ("hostile_os_system.pth", _ReduceTo(os.system, ("touch " + PWNED + "os-system",)), PWNED + "os-system", True),
        ("hostile_eval.pth", _ReduceTo(eval, ("__import__('os').system('touch " + PWNED + "eval')",)), PWNED + "eval", False),
        ("hostile_eval_py2name.pth", _ReduceTo(eval, ("__import__('os').system('touch " + PWNED + "eval-py2')",)),
         PWNED + "eval-py2", True),
        ("hostile_subprocess.pth", _ReduceTo(subprocess.Popen, (["touch", PWNED + "subprocess"],)), PWNED + "subprocess", False),
    ]
    for name, obj, side, fix_imports in cases:
        pkl = pickle.dumps(obj, protocol=2, fix_imports=fix_imports)
        g = pickle_globals(pkl)
        assert len(g) == 1, g
        write_hostile_zip(name, pkl)
        add_hostile(name, g[0], side)

    # __main__.Evil via GLOBAL + EMPTY_TUPLE + NEWOBJ + BUILD
    pkl = pickle.dumps(Evil(), protocol=2)
    ops = [op.name for op, _, _ in pickletools.genops(pkl)]
    assert "NEWOBJ" in ops and "BUILD" in ops, ops
    check_hostile_global(pkl, "__main__.Evil")
    write_hostile_zip("hostile_main_evil_newobj.pth", pkl)
    add_hostile("hostile_main_evil_newobj.pth", "__main__.Evil", PWNED + "main-evil")
    # __main__.Evil via GLOBAL + REDUCE
    pkl = pickle.dumps(_ReduceTo(Evil, ("touch " + PWNED + "main-evil",)), protocol=2)
    ops = [op.name for op, _, _ in pickletools.genops(pkl)]
    assert "REDUCE" in ops and "NEWOBJ" not in ops, ops
    check_hostile_global(pkl, "__main__.Evil")
    write_hostile_zip("hostile_main_evil_reduce.pth", pkl)
    add_hostile("hostile_main_evil_reduce.pth", "__main__.Evil", PWNED + "main-evil")

    # A real torch.save file with real tensors and one hostile object among them.
    torch.manual_seed(1200)
    obj = {"state_dict": collections.OrderedDict(w=torch.randn(2, 2), b=torch.randn(2)),
           "hook": _ReduceTo(os.system, ("touch " + PWNED + "mixed",))}
    torch.save(obj, path("hostile_mixed.pth"))
    top = zip_top(path("hostile_mixed.pth"))
    with zipfile.ZipFile(path("hostile_mixed.pth")) as z:
        g = pickle_globals(z.read(top + "data.pkl"))
    bad = [x for x in g if not (x.startswith("torch.") or x.startswith("collections."))]
    assert len(bad) == 1, g
    add_hostile("hostile_mixed.pth", bad[0], PWNED + "mixed")

    # Raw legacy stream: magic, protocol 1001, sys_info, hostile pickle, (empty) storage key list.
    magic = 0x1950A86A20F9469CFC6C
    sys_info = dict(protocol_version=1001, little_endian=True, type_sizes=dict(short=2, int=4, long=4))
    hostile = pickle.dumps(_ReduceTo(os.system, ("touch " + PWNED + "legacy",)), protocol=2)
    data = (pickle.dumps(magic, protocol=2) + pickle.dumps(1001, protocol=2)
            + pickle.dumps(sys_info, protocol=2) + hostile + pickle.dumps([], protocol=2))
    with open(path("hostile_legacy.pth"), "wb") as f:
        f.write(data)
    g = pickle_globals(hostile)
    assert len(g) == 1
    add_hostile("hostile_legacy.pth", g[0], PWNED + "legacy")

    for h in manifest["hostile"]:
        refused[h["file"]] = check_refused(path(h["file"]))
    return refused


# ----------------------------------------------------------------------------------------------
# Bad files


def cut(src, dst, frac):
    with open(path(src), "rb") as f:
        data = f.read()
    with open(path(dst), "wb") as f:
        f.write(data[: int(len(data) * frac)])


def st_raw(name, header_obj=None, data=b"", header_bytes=None, header_len=None):
    hb = header_bytes if header_bytes is not None else json.dumps(header_obj, separators=(",", ":")).encode()
    n = len(hb) if header_len is None else header_len
    with open(path(name), "wb") as f:
        f.write(struct.pack("<Q", n) + hb + data)


def deep_pickle(depth):
    # PROTO 2, (EMPTY_LIST MARK) * depth, EMPTY_LIST, APPENDS * depth, STOP -> a list nested
    # depth+1 deep, with depth open marks at the peak. Only opcodes a state dict uses (torch's
    # weights_only unpickler accepts it), so a reader must cope with depth, not refuse an opcode.
    return b"\x80\x02" + b"](" * depth + b"]" + b"e" * depth + b"."


def gen_bad():
    cut("zip_float32.pth", "truncated_zip.pth", 0.6)
    add_bad("truncated_zip.pth", "zip_float32.pth cut to 60% of its length (no central directory)")
    cut("legacy_float32.pth", "truncated_legacy.pth", 0.6)
    add_bad("truncated_legacy.pth", "legacy_float32.pth cut to 60% of its length (storage bytes missing)")
    cut("st_float32.safetensors", "truncated.safetensors", 0.6)
    add_bad("truncated.safetensors", "st_float32.safetensors cut to 60% (data_offsets end past the file)")
    open(path("empty.pth"), "wb").close()
    add_bad("empty.pth", "0 bytes")
    with open(path("not_a_checkpoint.pth"), "w") as f:
        f.write("This is not a checkpoint, just some text.\nversion: 1\n")
    add_bad("not_a_checkpoint.pth", "plain text")

    src = path("zip_float32.pth")
    top = zip_top(src)
    entries = read_zip(src)
    dropped = top + "data/1"
    assert any(n == dropped for n, _ in entries)
    write_torch_like_zip(path("missing_record.pth"), [(n, d) for n, d in entries if n != dropped])
    add_bad("missing_record.pth", f"zip_float32.pth rewritten without its '{dropped}' record")
    short = top + "data/0"
    write_torch_like_zip(path("short_storage.pth"), [(n, d[: len(d) // 2] if n == short else d) for n, d in entries])
    add_bad("short_storage.pth", f"zip_float32.pth with '{short}' cut to half the bytes its tensor needs")

    f32 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    st_raw("st_overlap.safetensors", {
        "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
        "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]},
    }, f32)
    add_bad("st_overlap.safetensors", "two tensors whose data_offsets overlap ([0,16] and [8,24])")
    st_raw("st_overflow.safetensors", {
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [2**30], "data_offsets": [8, 8 + 4 * 2**30]},
    }, f32[:8])
    add_bad("st_overflow.safetensors", "data_offsets end 4 GiB beyond the end of the file")
    st_raw("st_header_huge.safetensors", {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}},
           f32[:4], header_len=2**62)
    add_bad("st_header_huge.safetensors", "header length field says 2**62 bytes")
    st_raw("st_offsets_huge.safetensors", {"a": {"dtype": "F32", "shape": [1], "data_offsets": [2**62, 2**62 + 4]}},
           f32[:4])
    add_bad("st_offsets_huge.safetensors", "data_offsets near 2**62 (adding the header start must not overflow)")
    st_raw("st_bad_json.safetensors", header_bytes=b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]', data=f32[:4])
    add_bad("st_bad_json.safetensors", "header is not valid JSON (unterminated object)")
    st_raw("st_shape_mismatch.safetensors", {"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}}, f32[:12])
    add_bad("st_shape_mismatch.safetensors", "shape [2,2] F32 needs 16 bytes but data_offsets give 12")
    st_raw("st_gap.safetensors", {
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]},
    }, f32)
    add_bad("st_gap.safetensors", "data_offsets leave a hole [8,16) so they do not tile the data")
    st_raw("st_bad_dtype.safetensors", {"a": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 4]}}, f32[:4])
    add_bad("st_bad_dtype.safetensors", "unknown dtype 'Q7'")

    skel = torch_zip_skeleton()
    deep = deep_pickle(100000)
    write_torch_like_zip(path("pickle_deep.pth"),
                         [("archive/data.pkl", deep)] + [("archive/" + r, d) for r, d in skel],
                         deflate={"archive/data.pkl"})
    add_bad("pickle_deep.pth", f"data.pkl ({len(deep)} bytes, the only DEFLATED record, to keep the file small) is "
            "PROTO 2, 100000 x (EMPTY_LIST, MARK), EMPTY_LIST, 100000 x APPENDS, STOP: a list 100001 deep "
            "with 100000 open marks; torch.load(weights_only=True) returns the nested list, a reader should "
            "refuse it cleanly (depth limit or 'not a state dict') without a stack overflow")
    huge = b"\x80\x02X" + struct.pack("<I", 0x7FFFFFFF) + b"abc"
    write_torch_like_zip(path("pickle_huge_len.pth"),
                         [("archive/data.pkl", huge)] + [("archive/" + r, d) for r, d in skel])
    add_bad("pickle_huge_len.pth", "data.pkl has BINUNICODE claiming 0x7fffffff bytes with 3 present")

    for b in manifest["bad"]:
        p = path(b["file"])
        if b["file"].endswith(".safetensors"):
            try:
                st_load_file(p)
            except Exception:
                continue
            raise AssertionError(f"safetensors accepted {b['file']}")


# ----------------------------------------------------------------------------------------------


def write_manifest():
    # One line per tensor keeps the file small and readable.
    inline = {}
    m = json.loads(json.dumps(manifest))
    for g in m["good"]:
        for i, t in enumerate(g["tensors"]):
            tag = f"@@T{len(inline)}@@"
            inline[tag] = json.dumps(t, separators=(", ", ": "))
            g["tensors"][i] = tag
    text = json.dumps(m, indent=2)
    for tag, s in inline.items():
        text = text.replace(f'"{tag}"', s, 1)
    assert json.loads(text) == json.loads(json.dumps(manifest))
    with open(path("manifest.json"), "w") as f:
        f.write(text + "\n")


def main():
    leftovers = [p for p in os.listdir("/tmp") if p.startswith("zoo-pwned-")]
    assert not leftovers, f"/tmp already has {leftovers}; remove them before running"
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)

    gen_dtype_files()
    gen_bigendian()
    gen_views()
    gen_wrappers()
    gen_top_folder()
    gen_safetensors()
    for entry in manifest["good"]:
        check_good(entry)
    refused = gen_hostile()
    gen_bad()
    write_manifest()

    leftovers = [p for p in os.listdir("/tmp") if p.startswith("zoo-pwned-")]
    assert not leftovers, f"a hostile payload ran: {leftovers}"
    for n in os.listdir(OUT):
        assert not n.startswith("_tmp"), n

    total = sum(os.path.getsize(path(n)) for n in os.listdir(OUT))
    print(f"torch {torch.__version__}, safetensors {safetensors.__version__}")
    print(f"{len(manifest['good'])} good, {len(manifest['hostile'])} hostile, {len(manifest['bad'])} bad; "
          f"{len(os.listdir(OUT))} files, {total} bytes")
    for f, why in refused.items():
        print(f"  refused by torch.load(weights_only=True): {f}: {why}")


if __name__ == "__main__":
    main()
