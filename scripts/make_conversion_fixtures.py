"""Writes Tests/Fixtures/conversion/: the built-in example (examples/bert-tiny, a real
BertModel state dict) saved again by real PyTorch and safetensors in the layouts conversion
must stream from without the fast in-place path, each loaded back and checked equal here:

* legacy.pth         torch.save(..., _use_new_zipfile_serialization=False): the pre-1.6 stream
* float16.safetensors safetensors.torch.save_file with every tensor in float16 (widened by zoo)
* bfloat16.pth       zip, every tensor bfloat16
* views.pth          zip, 2-D weights saved as transposed views (strides, not row-major) and
                     every LayerNorm weight/bias a slice of one shared storage (offsets)

Run: $(bash scripts/venv.sh torch) scripts/make_conversion_fixtures.py
"""
import os

import torch
from safetensors.torch import load_file, save_file

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..")
out = os.path.join(root, "Tests", "Fixtures", "conversion")
os.makedirs(out, exist_ok=True)
sd = torch.load(os.path.join(root, "examples", "bert-tiny", "pytorch_model.pth"), weights_only=True)

legacy = os.path.join(out, "legacy.pth")
torch.save(sd, legacy, _use_new_zipfile_serialization=False)

half = {k: v.half().contiguous() for k, v in sd.items() if v.is_floating_point()}
half.update({k: v for k, v in sd.items() if not v.is_floating_point()})
save_file(half, os.path.join(out, "float16.safetensors"))

bf16 = {k: (v.bfloat16() if v.is_floating_point() else v) for k, v in sd.items()}
torch.save(bf16, os.path.join(out, "bfloat16.pth"))

views = {}
norms = [k for k in sd if "LayerNorm" in k]
shared = torch.cat([sd[k].reshape(-1) for k in norms])
offset = 0
for k, v in sd.items():
    if k in norms:
        views[k] = shared[offset:offset + v.numel()].view(v.shape)
        offset += v.numel()
    elif v.dim() == 2:
        views[k] = v.t().contiguous().t()  # same values, column-major storage
        assert not views[k].is_contiguous()
    else:
        views[k] = v
torch.save(views, os.path.join(out, "views.pth"))

# Each file reads back as the example's values (bfloat16/float16 as rounded).
assert all(torch.equal(torch.load(legacy, weights_only=True)[k], sd[k]) for k in sd)
st = load_file(os.path.join(out, "float16.safetensors"))
assert all(torch.equal(st[k].float(), sd[k].half().float()) for k in half if sd[k].is_floating_point())
back = torch.load(os.path.join(out, "views.pth"), weights_only=True)
assert all(torch.equal(back[k], sd[k]) for k in sd)
print("wrote", sorted(os.listdir(out)))
