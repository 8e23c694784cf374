"""nn.TransformerEncoder checkpoints written by real PyTorch, and what each computes.

Tests/Fixtures/encoder/pre_gelu.pth   nn.TransformerEncoder(nn.TransformerEncoderLayer(d_model=32, nhead=4,
                                      dim_feedforward=37, activation="gelu", norm_first=True, batch_first=True),
                                      num_layers=2, norm=nn.LayerNorm(32)): its state_dict()
Tests/Fixtures/encoder/post_relu.pth  the same with PyTorch's defaults (relu, post-norm) and no final norm
Tests/Fixtures/encoder/in_model.pth   a user's module holding the first encoder as `encoder` beside a Linear
                                      `head`: the encoder's tensors under 'encoder.'
Tests/Fixtures/encoder/NAME.expected.safetensors  a batch [2, 7, 32] ("src") and the encoder's output ("output.0")

LayerNorm weights and biases are randomised, so a dropped or swapped norm shows.
Run: $(bash scripts/venv.sh torch) scripts/make_encoder_fixtures.py
"""
import os

import torch
from safetensors.torch import save_file

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "encoder")
os.makedirs(root, exist_ok=True)
torch.set_grad_enabled(False)


def encoder(seed, norm, **layer):
    torch.manual_seed(seed)
    e = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=37, batch_first=True, **layer),
        num_layers=2, norm=torch.nn.LayerNorm(32) if norm else None, enable_nested_tensor=False).eval()
    for m in e.modules():
        if isinstance(m, torch.nn.LayerNorm):
            m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape))
            m.bias.copy_(0.1 * torch.randn(m.bias.shape))
    return e


class UserModel(torch.nn.Module):
    def __init__(self, enc):
        super().__init__()
        self.encoder = enc
        self.head = torch.nn.Linear(32, 3)


for name, model in [("pre_gelu", encoder(0, True, activation="gelu", norm_first=True)), ("post_relu", encoder(1, False))]:
    torch.save(model.state_dict(), os.path.join(root, f"{name}.pth"))
    src = torch.randn(2, 7, 32, generator=torch.Generator().manual_seed(7))
    save_file({"src": src, "output.0": model(src).contiguous()}, os.path.join(root, f"{name}.expected.safetensors"))
    if name == "pre_gelu":
        torch.save(UserModel(model).state_dict(), os.path.join(root, "in_model.pth"))
    print("wrote", name)
