"""The Python pipeline a user writes today, as the baseline of scripts/bench_convert.sh:
torch.load, numpy transposes per layer, h5py to write every Keras weight.

Usage: python bench_python_pipeline.py CHECKPOINT MAP_JSON OUTPUT_H5
(MAP_JSON is `zoo map ARCH --json`: the user's hand-written table of names and transposes.)
"""
import json
import re
import sys

import h5py
import numpy as np
import torch

checkpoint, mapping, output = sys.argv[1:4]
state = torch.load(checkpoint, map_location="cpu", weights_only=True)
entries = json.load(open(mapping))["entries"]
with h5py.File(output, "w") as f:
    for e in entries:
        if e["keras"] is None:
            continue
        w = state[e["torch"]["name"]].numpy()
        t = e["transform"]
        if t.startswith("conv_kernel"):
            w = w.transpose(2, 3, 1, 0)
        elif t.startswith("flatten_permute"):
            c, h, wd = map(int, re.findall(r"=(\d+)", t))
            w = w.reshape(w.shape[0], c, h, wd).transpose(0, 2, 3, 1).reshape(w.shape[0], -1).T
        elif t == "transpose":
            w = w.T
        elif t != "identity":
            raise SystemExit(f"transform {t} not handled by this baseline")
        f.create_dataset(f"{e['keras']['layer']}/{e['keras']['weight']}", data=np.ascontiguousarray(w, dtype=np.float32))
