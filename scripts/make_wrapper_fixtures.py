"""Checkpoints as training code saves them, written by real PyTorch around the example BERT
(examples/bert-tiny, 20k parameters): the weights are the same, the wrapping differs.

Tests/Fixtures/wrappers/
  lightning.ckpt        PyTorch Lightning's layout: {'state_dict': {'model.<key>': …}, 'epoch',
                        'global_step', 'optimizer_states' (Adam moments), 'lr_schedulers', …}
  compiled.pth          torch.compile(model).state_dict(): every key under '_orig_mod.'
  dataparallel_compiled.pth  nn.DataParallel(torch.compile(model)).state_dict(): 'module._orig_mod.'
  ema.pth               torchvision's reference-script checkpoint: {'model': …, 'model_ema': an
                        AveragedModel's state_dict ('module.<key>' and 'n_averaged'), 'optimizer',
                        'epoch'}; the EMA weights differ from the model's
  config.json           the example's config (heads), beside them

Run: $(bash scripts/venv.sh torch) scripts/make_wrapper_fixtures.py
"""
import json
import os
import shutil

import torch
from transformers import BertConfig, BertModel

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
out = os.path.join(root, "Tests", "Fixtures", "wrappers")
os.makedirs(out, exist_ok=True)
example = os.path.join(root, "examples", "bert-tiny")
config = BertConfig(**json.load(open(os.path.join(example, "config.json"))))
model = BertModel(config).eval()
model.load_state_dict(torch.load(os.path.join(example, "pytorch_model.pth"), weights_only=True))
shutil.copy(os.path.join(example, "config.json"), os.path.join(out, "config.json"))

# Lightning: a LightningModule holding the network as `self.model`
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss = sum(p.sum() for p in model.parameters())
loss.backward()
optimizer.step()
optimizer.zero_grad()
model.load_state_dict(torch.load(os.path.join(example, "pytorch_model.pth"), weights_only=True))  # the example's own weights
torch.save({
    "epoch": 3, "global_step": 120, "pytorch-lightning_version": "2.4.0",
    "state_dict": {"model." + k: v for k, v in model.state_dict().items()},
    "loops": {}, "callbacks": {},
    "optimizer_states": [optimizer.state_dict()],
    "lr_schedulers": [],
    "hparams_name": "kwargs", "hyper_parameters": {"lr": 1e-3},
}, os.path.join(out, "lightning.ckpt"))

compiled = torch.compile(model)
torch.save(compiled.state_dict(), os.path.join(out, "compiled.pth"))
torch.save(torch.nn.DataParallel(compiled).state_dict(), os.path.join(out, "dataparallel_compiled.pth"))

ema = torch.optim.swa_utils.AveragedModel(model)
with torch.no_grad():
    for p in model.parameters():
        p.mul_(0.9)  # the model moves on; the EMA lags behind
ema.update_parameters(model)
torch.save({"model": model.state_dict(), "model_ema": ema.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 7},
           os.path.join(out, "ema.pth"))
print("wrote", out)
