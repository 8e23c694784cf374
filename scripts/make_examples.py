"""Writes the built-in example the README's first command converts.

examples/bert-tiny/: a tiny random BertModel (vocab 99, hidden 32, 2 layers, 4 heads,
intermediate 37) saved by real PyTorch with torch.save(model.state_dict()), plus the
Hugging Face config.json that sizes it. Small enough to ship, real enough to exercise every
mapping of the encoder (embeddings, q/k/v heads, attention output, GELU MLP, LayerNorms,
pooler).

Run: $(bash scripts/venv.sh torch) scripts/make_examples.py
"""
import json
import os

import torch
from transformers import BertConfig, BertModel

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "bert-tiny")
os.makedirs(root, exist_ok=True)
torch.manual_seed(0)
config = BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=37, max_position_embeddings=64, type_vocab_size=2)
model = BertModel(config).eval()
torch.save(model.state_dict(), os.path.join(root, "pytorch_model.pth"))
with open(os.path.join(root, "config.json"), "w") as f:
    json.dump(config.to_dict(), f, indent=2, sort_keys=True)
print("wrote", root, sum(p.numel() for p in model.parameters()), "parameters")
