"""Hugging Face model folders written by real transformers (`save_pretrained`), tiny configs.

Tests/Fixtures/hf/roberta-tiny/   RobertaModel (vocab 99, hidden 32, 2 layers, 4 heads): config.json
                                  says model_type 'roberta'; its weights carry BERT's very names.
Tests/Fixtures/hf/roberta-bare.pth  the same model's state_dict() saved alone with torch.save (no
                                  config.json beside it), as people pass such files around.

Run: $(bash scripts/venv.sh torch) scripts/make_hf_fixtures.py
"""
import os

import torch
from transformers import RobertaConfig, RobertaModel

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "hf")
os.makedirs(root, exist_ok=True)

torch.manual_seed(0)
config = RobertaConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                       intermediate_size=37, max_position_embeddings=66, type_vocab_size=1)
model = RobertaModel(config).eval()
model.save_pretrained(os.path.join(root, "roberta-tiny"))
torch.save(model.state_dict(), os.path.join(root, "roberta-bare.pth"))
print("wrote", root)
