"""Interop of zoo's .pth writer: files written by `zoo random` load in real PyTorch.

For each WORK/<arch>/random.pth: torch.load(weights_only=True) reads it, and the real model
(torchvision with 10 classes and ARCH+VARIANT's head, or the transformers encoder WORK/<arch>/random-config.json's
model_type names: BertModel, RobertaModel)
accepts it with load_state_dict(strict=True); BatchNorm running variances are checked to be
non-trivial (not all ones). Prints 'pth-writer: N passed, M failed'.

Usage: python interop_pth_writer.py WORK ARCH [ARCH ...]
"""
import json
import os
import sys

import torch
import torchvision
import transformers

import interop_heads

work, archs = sys.argv[1], sys.argv[2:]
passed = failed = 0
for arch in archs:
    path = os.path.join(work, arch, "random.pth")
    try:
        state = torch.load(path, weights_only=True)
        config_path = os.path.join(work, arch, "random-config.json")
        if os.path.exists(config_path):
            # a Hugging Face encoder (BertModel, RobertaModel …) as its config.json's model type builds it
            sizes = json.load(open(config_path))
            model = transformers.AutoModel.from_config(transformers.AutoConfig.for_model(sizes.pop("model_type"), **sizes))
        else:
            model = interop_heads.build(arch)[0]  # ARCH+VARIANT: with its fine-tuned head
        model.load_state_dict(state, strict=True)
        variances = [v for k, v in state.items() if k.endswith("running_var")]
        assert all(not torch.all(v == 1) for v in variances), "running variances are all ones"
        print(f"{arch:18s} zoo random → torch.load(weights_only=True) → load_state_dict(strict=True)  ok", flush=True)
        passed += 1
    except Exception as error:  # noqa: BLE001 - report every failure and go on
        print(f"{arch:18s} FAIL: {error}", flush=True)
        failed += 1
print(f"pth-writer: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
