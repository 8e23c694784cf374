"""Fine-tuned classifier heads for interop: ARCH+VARIANT on interop.sh's command line is the
torchvision model with its last Linear (the head slot) replaced the way fine-tuning code does.

Each variant gives the PyTorch module, the `--head` spec zoo is told (None: zoo reads the head
from the weights alone) and the spec `zoo random` builds it from (sizes given, no weights).
"""
import torch

# torchvision's head slot (the module path of the last Linear) of the architectures used here
SLOTS = {"resnet18": "fc", "resnet50": "fc", "regnet_y_400mf": "fc", "shufflenet_v2_x0_5": "fc", "densenet121": "classifier",
         "mobilenet_v3_small": "classifier.3", "mobilenet_v3_large": "classifier.3", "convnext_tiny": "classifier.2",
         "vgg11": "classifier.6", "alexnet": "classifier.6"}


def variant(name, features, classes=10):
    """(module, spec for convert, spec for zoo random) of head VARIANT on `features` inputs."""
    nn = torch.nn
    if name == "dropout_linear":  # the usual fine-tuning head
        return nn.Sequential(nn.Dropout(0.2), nn.Linear(features, classes)), "dropout,linear", f"dropout,linear({classes})"
    if name == "mlp":
        return (nn.Sequential(nn.Linear(features, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, classes)),
                "linear,relu,dropout,linear", f"linear(64),relu,dropout,linear({classes})")
    if name == "gelu":
        return nn.Sequential(nn.Linear(features, 32), nn.GELU(), nn.Linear(32, classes)), "linear,gelu,linear", f"linear(32),gelu,linear({classes})"
    if name == "identity":  # features out: no tensors under the slot
        return nn.Identity(), None, "none"
    raise SystemExit(f"interop_heads: unknown head variant '{name}' (dropout_linear, mlp, gelu, identity, whole_linear)")


def build(spec, classes=10):
    """The torchvision model of ARCH[+VARIANT] and its head variant's specs (None, None without one)."""
    import torchvision
    arch, _, name = spec.partition("+")
    model = getattr(torchvision.models, arch)(num_classes=classes)
    if not name:
        return model, None, None
    if name == "whole_linear":  # `model.classifier = nn.Linear(…)`: torchvision's Sequential(Dropout, Linear) replaced whole
        model.classifier = torch.nn.Linear(model.classifier[-1].in_features, classes)
        return model, None, "linear"
    slot = SLOTS[arch]
    *parents, last = slot.split(".")
    owner = model
    for part in parents:
        owner = owner[int(part)] if part.isdigit() else getattr(owner, part)
    old = owner[int(last)] if last.isdigit() else getattr(owner, last)
    head, convert_spec, random_spec = variant(name, old.in_features, classes)
    if last.isdigit():
        owner[int(last)] = head
    else:
        setattr(owner, last, head)
    return model, convert_spec, random_spec
