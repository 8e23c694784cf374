"""Hugging Face model folders written by real transformers (`save_pretrained`), tiny configs.

Tests/Fixtures/hf/roberta-tiny/   RobertaModel (vocab 99, hidden 32, 2 layers, 4 heads): config.json
                                  says model_type 'roberta'; its weights carry BERT's very names.
Tests/Fixtures/hf/roberta-bare.pth  the same model's state_dict() saved alone with torch.save (no
                                  config.json beside it), as people pass such files around.
Tests/Fixtures/hf/roberta-tiny-seqcls/   RobertaForSequenceClassification (3 labels), LayerNorms randomised
Tests/Fixtures/hf/roberta-tiny-qa/   RobertaForQuestionAnswering (start and end logits), LayerNorms randomised
Tests/Fixtures/hf/roberta-tiny-mlm/  RobertaForMaskedLM as save_pretrained writes it: the decoder, tied to the
                                  word embeddings, is not stored
Tests/Fixtures/hf/roberta-tiny-mlm-bin/  the same model's state_dict() saved by torch.save as pytorch_model.bin,
                                  with config.json: the tied decoder stored a second time
Tests/Fixtures/hf/xlm-roberta-tiny-tokcls/  XLMRobertaForTokenClassification (5 labels, model_type
                                  'xlm-roberta'), LayerNorms randomised
Tests/Fixtures/hf/distilbert-tiny/  DistilBertModel; distilbert-tiny-seqcls/: DistilBertForSequenceClassification
Tests/Fixtures/hf/electra-tiny/     ElectraModel: BERT's keys without a pooler; electra-tiny-seqcls/:
                                  ElectraForSequenceClassification with embedding_size 16 < hidden 32 (embeddings_project)
Tests/Fixtures/hf/albert-tiny/      AlbertModel (embedding 16, hidden 32, one layer run 3 times); albert-tiny-seqcls/:
                                  AlbertForSequenceClassification with 2 groups of 2 layers run 4 times
Tests/Fixtures/hf/gpt2-tiny/        GPT2Model (n_embd 32, 2 layers, 4 heads, n_inner 37), LayerNorms randomised;
                                  gpt2-tiny-lm/: GPT2LMHeadModel as save_pretrained writes it (lm_head, tied to wte, not
                                  stored); gpt2-tiny-lm-bin/: its state_dict() by torch.save as pytorch_model.bin (lm_head
                                  stored a second time) plus each block's causal-mask buffers attn.bias / attn.masked_bias,
                                  as the hub's original gpt2 pytorch_model.bin holds them; gpt2-tiny-tokcls/:
                                  GPT2ForTokenClassification (3 labels); gpt2-tiny-seqcls/: GPT2ForSequenceClassification
                                  (3 labels, pad_token_id 1), on rows padded inside, after, before, and wholly
Tests/Fixtures/hf/vit-tiny/         ViTModel (32×32 images, 8×8 patches, hidden 32, 2 layers, 4 heads), with the pooler;
                                  vit-tiny-cls/: ViTForImageClassification (5 labels); NAME.expected.safetensors holds
                                  pixel_values (2 distinct NCHW images) and what the model returns
Tests/Fixtures/hf/deit-tiny/        DeiTModel (the same sizes, a distillation token); deit-tiny-teacher/:
                                  DeiTForImageClassificationWithTeacher (4 labels: two heads averaged)
Tests/Fixtures/hf/swin-tiny/        SwinModel (40×40 images, patch 2, window 4, embed 16, depths 2-2-2: maps 20, 10, 5,
                                  padded to whole windows and shifted); swin-tiny-cls/: SwinForImageClassification (3 labels);
                                  swin-tiny-v4/: swin-tiny's weights with each block's relative_position_index [N, N], as
                                  transformers 4 saved it (the hub's files)
Tests/Fixtures/hf/clip-vision-tiny/ CLIPVisionModel (ViT-tiny's sizes, quick_gelu); clip-vision-tiny-proj/:
                                  CLIPVisionModelWithProjection (projection_dim 16: image_embeds, then the last hidden state)
Tests/Fixtures/hf/clip-text-tiny/   CLIPTextModel with the legacy eos_token_id 2 (pooled at the greatest id); clip-text-tiny-proj/:
                                  CLIPTextModelWithProjection with eos_token_id 98 (first end token; none: position 0)
Tests/Fixtures/hf/albert-tiny-mlm/  AlbertForMaskedLM (decoder tied to the 16-wide word embeddings); electra-tiny-mlm/:
                                  ElectraForMaskedLM, the generator (embedding_size 16 < hidden 32)
Tests/Fixtures/hf/camembert-tiny/   CamembertModel (transformers builds it as RobertaModel's subclass): RoBERTa's keys
                                  and function under model_type 'camembert'
Tests/Fixtures/hf/ernie-tiny/       ErnieModel (use_task_id false): BERT's very keys under a model type zoo does not convert
Tests/Fixtures/hf/NAME.expected.safetensors  for the RoBERTa, CamemBERT, DistilBERT, ELECTRA, ALBERT and GPT-2 folders: a padded batch (input_ids with the padding
                                  token where attention_mask is 0, and once inside a real row, which
                                  RoBERTa's positions skip) and what the real model returns on it
                                  (output.0, output.1: last_hidden_state and pooler_output, start and end logits, or logits)

One tiny BertModel (the config of examples/bert-tiny/config.json, seed 0) in the four layouts of a
model folder, each with its config.json:

Tests/Fixtures/hf/bert-tiny-safetensors/        save_pretrained(dir): model.safetensors
Tests/Fixtures/hf/bert-tiny-sharded-safetensors/  save_pretrained(dir, max_shard_size="30KB"):
                                  model-0000N-of-00003.safetensors + model.safetensors.index.json
Tests/Fixtures/hf/bert-tiny-bin/                pytorch_model.bin (a torch.save zip)
Tests/Fixtures/hf/bert-tiny-sharded-bin/        pytorch_model-0000N-of-00003.bin + pytorch_model.bin.index.json
Tests/Fixtures/hf/bert-tiny-manifest.json       the state dict's names and shapes, in the model's order

transformers 5 writes safetensors only (it ignores safe_serialization=False), so the two .bin
folders are written as transformers 4's save_pretrained(safe_serialization=False) wrote them:
huggingface_hub's split_torch_state_dict_into_shards with the pattern "pytorch_model{suffix}.bin",
torch.save of each shard, and the index {"metadata": {"total_size": …}, "weight_map": …}. Every
folder is then loaded back with transformers' from_pretrained and must compute what the model does.

Run: HF_HUB_OFFLINE=1 $(bash scripts/venv.sh torch) scripts/make_hf_fixtures.py
"""
import json
import os
import shutil

import torch
from huggingface_hub import split_torch_state_dict_into_shards
from safetensors.torch import save_file
from transformers import (AlbertForMaskedLM, ElectraForMaskedLM, DeiTConfig, DeiTForImageClassificationWithTeacher, DeiTModel, CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPVisionConfig, CLIPVisionModel, CLIPVisionModelWithProjection, SwinConfig, SwinForImageClassification, SwinModel, ViTConfig, ViTForImageClassification, ViTModel, ErnieConfig, ErnieModel, GPT2Config, GPT2ForSequenceClassification, GPT2ForTokenClassification, GPT2LMHeadModel, GPT2Model, AlbertConfig, AlbertForSequenceClassification, AlbertModel, BertConfig, BertModel, CamembertConfig, CamembertModel, ElectraForSequenceClassification, DistilBertConfig, DistilBertForSequenceClassification, DistilBertModel,
                          ElectraConfig, ElectraModel, RobertaConfig, RobertaForMaskedLM, RobertaForQuestionAnswering, RobertaForSequenceClassification, RobertaModel,
                          XLMRobertaConfig, XLMRobertaForTokenClassification)

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..", "Tests", "Fixtures", "hf")
os.makedirs(root, exist_ok=True)

torch.manual_seed(0)
config = RobertaConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                       intermediate_size=37, max_position_embeddings=66, type_vocab_size=1)
model = RobertaModel(config).eval()
model.save_pretrained(os.path.join(root, "roberta-tiny"))
torch.save(model.state_dict(), os.path.join(root, "roberta-bare.pth"))

# The tiny BERT of examples/bert-tiny, saved in every layout of a model folder.
SHARD_SIZE = "30KB"  # three shards of the 80 KB model
torch.manual_seed(0)
bert = BertModel(BertConfig.from_json_file(os.path.join(here, "..", "examples", "bert-tiny", "config.json"))).eval()
state = bert.state_dict()


def fresh(name):
    path = os.path.join(root, name)
    shutil.rmtree(path, ignore_errors=True)
    return path


bert.save_pretrained(fresh("bert-tiny-safetensors"))
bert.save_pretrained(fresh("bert-tiny-sharded-safetensors"), max_shard_size=SHARD_SIZE)


def save_bin(path, max_shard_size):
    """transformers 4's save_pretrained(path, safe_serialization=False, max_shard_size=…)."""
    os.makedirs(path)
    bert.config.save_pretrained(path)
    split = split_torch_state_dict_into_shards(state, filename_pattern="pytorch_model{suffix}.bin",
                                               max_shard_size=max_shard_size)
    for file, names in split.filename_to_tensors.items():
        torch.save({name: state[name].contiguous() for name in names}, os.path.join(path, file))
    if split.is_sharded:
        index = {"metadata": split.metadata, "weight_map": split.tensor_to_filename}
        with open(os.path.join(path, "pytorch_model.bin.index.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return split


save_bin(fresh("bert-tiny-bin"), "50GB")
split = save_bin(fresh("bert-tiny-sharded-bin"), SHARD_SIZE)
assert len(split.filename_to_tensors) >= 3, split.filename_to_tensors.keys()

with open(os.path.join(root, "bert-tiny-manifest.json"), "w") as f:
    json.dump({"tensors": [[name, list(t.shape)] for name, t in state.items()]}, f, indent=1)
    f.write("\n")

# Each folder is what transformers reads back: the same function as the model that wrote it.
ids = torch.randint(0, bert.config.vocab_size, (2, 11), generator=torch.Generator().manual_seed(1))
with torch.no_grad():
    want = bert(input_ids=ids).last_hidden_state
    for name in ["bert-tiny-safetensors", "bert-tiny-sharded-safetensors", "bert-tiny-bin", "bert-tiny-sharded-bin"]:
        folder = os.path.join(root, name)
        loaded = BertModel.from_pretrained(folder).eval()
        got = loaded(input_ids=ids).last_hidden_state
        assert torch.equal(got, want), name
        print("wrote", folder, sorted(os.listdir(folder)))
print("wrote", root)

# A DistilBERT folder (DistilBertModel).
torch.manual_seed(0)
distil = DistilBertModel(DistilBertConfig(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=64)).eval()
distil.save_pretrained(os.path.join(root, "distilbert-tiny"))
print("wrote", os.path.join(root, "distilbert-tiny"))

# RoBERTa-family models and what they compute, called as a Hugging Face user calls them.
PADDED = {
    "input_ids": torch.tensor([[0, 45, 17, 1, 5, 63, 2, 9, 33, 2], [0, 31, 76, 2, 1, 1, 1, 1, 1, 1]]),
    "attention_mask": torch.tensor([[1] * 10, [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]]),
}


def expected(model, name, inputs=PADDED):
    with torch.no_grad():
        out = model(**inputs)
    if hasattr(out, "start_logits"):
        outputs = [out.start_logits, out.end_logits]
    elif getattr(out, "image_embeds", None) is not None:  # CLIPVisionModelWithProjection
        outputs = [out.image_embeds, out.last_hidden_state]
    elif getattr(out, "text_embeds", None) is not None:  # CLIPTextModelWithProjection
        outputs = [out.text_embeds, out.last_hidden_state]
    elif hasattr(out, "logits"):
        outputs = [out.logits]
    else:
        outputs = [out.last_hidden_state] + ([out.pooler_output] if getattr(out, "pooler_output", None) is not None else [])
    tensors = dict(inputs)
    tensors.update({f"output.{i}": o.contiguous() for i, o in enumerate(outputs)})
    save_file(tensors, os.path.join(root, f"{name}.expected.safetensors"))
    print("wrote", name, "and what it computes")


def randomize_layer_norms(model, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.copy_(1 + 0.1 * torch.randn(module.weight.shape, generator=generator))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))


expected(RobertaModel.from_pretrained(os.path.join(root, "roberta-tiny")).eval(), "roberta-tiny")
torch.manual_seed(1)
seqcls = RobertaForSequenceClassification(RobertaConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=66, type_vocab_size=1, num_labels=3)).eval()
randomize_layer_norms(seqcls, 1)
seqcls.save_pretrained(fresh("roberta-tiny-seqcls"))
expected(seqcls, "roberta-tiny-seqcls")
torch.manual_seed(2)
tokcls = XLMRobertaForTokenClassification(XLMRobertaConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=66, type_vocab_size=1, num_labels=5, hidden_act="gelu_new")).eval()
randomize_layer_norms(tokcls, 2)
tokcls.save_pretrained(fresh("xlm-roberta-tiny-tokcls"))
expected(tokcls, "xlm-roberta-tiny-tokcls")
expected(DistilBertModel.from_pretrained(os.path.join(root, "distilbert-tiny")).eval(), "distilbert-tiny")
torch.manual_seed(3)
distil_seqcls = DistilBertForSequenceClassification(DistilBertConfig(
    vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=64, num_labels=4)).eval()
randomize_layer_norms(distil_seqcls, 3)
distil_seqcls.save_pretrained(fresh("distilbert-tiny-seqcls"))
expected(distil_seqcls, "distilbert-tiny-seqcls")

# An ELECTRA folder: BERT's very keys (embedding size = hidden size).
torch.manual_seed(4)
ElectraModel(ElectraConfig(vocab_size=99, embedding_size=32, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=37, max_position_embeddings=64)).eval().save_pretrained(fresh("electra-tiny"))
print("wrote", os.path.join(root, "electra-tiny"))
torch.manual_seed(5)
qa = RobertaForQuestionAnswering(RobertaConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=66, type_vocab_size=1)).eval()
randomize_layer_norms(qa, 5)
qa.save_pretrained(fresh("roberta-tiny-qa"))
expected(qa, "roberta-tiny-qa")
torch.manual_seed(6)
mlm = RobertaForMaskedLM(RobertaConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=66, type_vocab_size=1)).eval()
randomize_layer_norms(mlm, 6)
with torch.no_grad():
    mlm.lm_head.bias.copy_(0.1 * torch.randn(mlm.lm_head.bias.shape, generator=torch.Generator().manual_seed(6)))
mlm.save_pretrained(fresh("roberta-tiny-mlm"))
expected(mlm, "roberta-tiny-mlm")
os.makedirs(fresh("roberta-tiny-mlm-bin"))
mlm.config.save_pretrained(os.path.join(root, "roberta-tiny-mlm-bin"))
torch.save(mlm.state_dict(), os.path.join(root, "roberta-tiny-mlm-bin", "pytorch_model.bin"))
assert "lm_head.decoder.weight" in mlm.state_dict()
expected(ElectraModel.from_pretrained(os.path.join(root, "electra-tiny")).eval(), "electra-tiny")
torch.manual_seed(7)
electra = ElectraForSequenceClassification(ElectraConfig(
    vocab_size=99, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=64, num_labels=3)).eval()
randomize_layer_norms(electra, 7)
electra.save_pretrained(fresh("electra-tiny-seqcls"))
expected(electra, "electra-tiny-seqcls")
torch.manual_seed(8)
CamembertModel(CamembertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                               max_position_embeddings=66, type_vocab_size=1)).eval().save_pretrained(fresh("camembert-tiny"))
expected(CamembertModel.from_pretrained(os.path.join(root, "camembert-tiny")).eval(), "camembert-tiny")
torch.manual_seed(14)
ErnieModel(ErnieConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                       max_position_embeddings=64, use_task_id=False)).eval().save_pretrained(fresh("ernie-tiny"))
print("wrote ernie-tiny")
torch.manual_seed(9)
albert = AlbertModel(AlbertConfig(vocab_size=99, embedding_size=16, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                                  intermediate_size=37, max_position_embeddings=64)).eval()
randomize_layer_norms(albert, 9)
albert.save_pretrained(fresh("albert-tiny"))
expected(albert, "albert-tiny")
torch.manual_seed(10)
albert_seqcls = AlbertForSequenceClassification(AlbertConfig(
    vocab_size=99, embedding_size=16, hidden_size=32, num_hidden_layers=4, num_hidden_groups=2, inner_group_num=2,
    num_attention_heads=4, intermediate_size=37, max_position_embeddings=64, num_labels=3)).eval()
randomize_layer_norms(albert_seqcls, 10)
albert_seqcls.save_pretrained(fresh("albert-tiny-seqcls"))
expected(albert_seqcls, "albert-tiny-seqcls")

# GPT-2: a causal decoder; the padded batch's second row is right-padded, as GPT-2 users pad.
GPT2_TINY = dict(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_inner=37, n_positions=64, bos_token_id=98, eos_token_id=98)
torch.manual_seed(11)
gpt2 = GPT2Model(GPT2Config(**GPT2_TINY)).eval()
randomize_layer_norms(gpt2, 11)
gpt2.save_pretrained(fresh("gpt2-tiny"))
expected(gpt2, "gpt2-tiny")
torch.manual_seed(12)
gpt2_lm = GPT2LMHeadModel(GPT2Config(**GPT2_TINY)).eval()
randomize_layer_norms(gpt2_lm, 12)
gpt2_lm.save_pretrained(fresh("gpt2-tiny-lm"))
expected(gpt2_lm, "gpt2-tiny-lm")
os.makedirs(fresh("gpt2-tiny-lm-bin"))
gpt2_lm.config.save_pretrained(os.path.join(root, "gpt2-tiny-lm-bin"))
lm_state = gpt2_lm.state_dict()
assert "lm_head.weight" in lm_state
n = GPT2_TINY["n_positions"]
held = {}
for name, tensor in lm_state.items():
    held[name] = tensor
    if name.endswith(".attn.c_attn.weight"):  # the buffers sat before c_attn in transformers 4's blocks
        block = name[:-len(".c_attn.weight")]
        held[block + ".bias"] = torch.tril(torch.ones((n, n), dtype=torch.bool)).view(1, 1, n, n)
        held[block + ".masked_bias"] = torch.tensor(-1e4)
torch.save(held, os.path.join(root, "gpt2-tiny-lm-bin", "pytorch_model.bin"))
torch.manual_seed(13)
gpt2_tok = GPT2ForTokenClassification(GPT2Config(**GPT2_TINY, num_labels=3)).eval()
randomize_layer_norms(gpt2_tok, 13)
gpt2_tok.save_pretrained(fresh("gpt2-tiny-tokcls"))
expected(gpt2_tok, "gpt2-tiny-tokcls")
# GPT2ForSequenceClassification pools at each row's last token that is not padding (pad_token_id 1):
# inside a row, after it, before it, and a row of padding alone (position 0)
torch.manual_seed(14)
gpt2_seq = GPT2ForSequenceClassification(GPT2Config(**GPT2_TINY, num_labels=3, pad_token_id=1)).eval()
randomize_layer_norms(gpt2_seq, 14)
gpt2_seq.save_pretrained(fresh("gpt2-tiny-seqcls"))
expected(gpt2_seq, "gpt2-tiny-seqcls", {
    "input_ids": torch.tensor([[0, 45, 17, 1, 5, 63, 2, 9, 33, 2], [0, 31, 76, 2, 1, 1, 1, 1, 1, 1],
                               [1, 1, 7, 8, 1, 1, 1, 1, 1, 1], [1] * 10]),
    "attention_mask": torch.tensor([[1] * 10, [1, 1, 1, 1, 0, 0, 0, 0, 0, 0], [1] * 10, [1] * 10]),
})

# Hugging Face ViT: files hold transformers 4's names (save_pretrained renames transformers 5's back).
VIT_TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, image_size=32, patch_size=8)
PIXELS = {"pixel_values": torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(15))}
torch.manual_seed(15)
vit = ViTModel(ViTConfig(**VIT_TINY)).eval()
randomize_layer_norms(vit, 15)
vit.save_pretrained(fresh("vit-tiny"))
expected(vit, "vit-tiny", PIXELS)
torch.manual_seed(16)
vit_cls = ViTForImageClassification(ViTConfig(**VIT_TINY, num_labels=5)).eval()
randomize_layer_norms(vit_cls, 16)
vit_cls.save_pretrained(fresh("vit-tiny-cls"))
expected(vit_cls, "vit-tiny-cls", PIXELS)
torch.manual_seed(17)
deit = DeiTModel(DeiTConfig(**VIT_TINY)).eval()
randomize_layer_norms(deit, 17)
with torch.no_grad():  # DeiT initialises its distillation token to zeros, which would hide a misplaced one
    deit.embeddings.distillation_token.normal_(generator=torch.Generator().manual_seed(17))
deit.save_pretrained(fresh("deit-tiny"))
expected(deit, "deit-tiny", PIXELS)
torch.manual_seed(18)
teacher = DeiTForImageClassificationWithTeacher(DeiTConfig(**VIT_TINY, num_labels=4)).eval()
randomize_layer_norms(teacher, 18)
with torch.no_grad():
    teacher.deit.embeddings.distillation_token.normal_(generator=torch.Generator().manual_seed(18))
    teacher.cls_classifier.bias.normal_(generator=torch.Generator().manual_seed(19))
    teacher.distillation_classifier.bias.normal_(generator=torch.Generator().manual_seed(20))
teacher.save_pretrained(fresh("deit-tiny-teacher"))
expected(teacher, "deit-tiny-teacher", PIXELS)

# Hugging Face Swin: windows of 4 at patch 2 on 40×40 images — maps 20, 10, 5, each padded to whole
# windows and shifted in every second block, the last merged from an odd size; the relative position
# bias at the size of attention scores (its trunc_normal(0.02) init would hide a misplaced one)
SWIN_TINY = dict(image_size=40, patch_size=2, embed_dim=16, depths=[2, 2, 2], num_heads=[2, 4, 4], window_size=4)
SWIN_PIXELS = {"pixel_values": torch.randn(2, 3, 40, 40, generator=torch.Generator().manual_seed(22))}
for seed, (name, model_class, sizes) in enumerate([("swin-tiny", SwinModel, {}), ("swin-tiny-cls", SwinForImageClassification, dict(num_labels=3))], 22):
    torch.manual_seed(seed)
    swin = model_class(SwinConfig(**SWIN_TINY, **sizes)).eval()
    randomize_layer_norms(swin, seed)
    with torch.no_grad():
        for key, p in swin.named_parameters():
            if key.endswith("relative_position_bias_table"):
                p.normal_(generator=torch.Generator().manual_seed(seed))
    swin.save_pretrained(fresh(name))
    expected(swin, name, SWIN_PIXELS)
# as the hub's transformers 4 files hold it: each block's relative_position_index buffer [N, N] stored too
from safetensors.torch import load_file  # noqa: E402
held = load_file(os.path.join(root, "swin-tiny", "model.safetensors"))
side = SWIN_TINY["window_size"]
coords = torch.stack(torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")).flatten(1)
relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (side - 1)
index = (relative[:, :, 0] * (2 * side - 1) + relative[:, :, 1]).contiguous()
for key in [k for k in held if k.endswith("attention.self.relative_position_bias_table")]:
    held[key.replace("relative_position_bias_table", "relative_position_index")] = index.clone()
os.makedirs(fresh("swin-tiny-v4"))
shutil.copy(os.path.join(root, "swin-tiny", "config.json"), os.path.join(root, "swin-tiny-v4", "config.json"))
save_file(held, os.path.join(root, "swin-tiny-v4", "model.safetensors"), metadata={"format": "pt"})

# CLIP's vision tower (quick_gelu, pre_layrnorm, post_layernorm on the class token), and with its projection
for seed, (name, model_class) in enumerate([("clip-vision-tiny", CLIPVisionModel), ("clip-vision-tiny-proj", CLIPVisionModelWithProjection)], 24):
    torch.manual_seed(seed)
    clip = model_class(CLIPVisionConfig(**VIT_TINY, projection_dim=16)).eval()
    randomize_layer_norms(clip, seed)
    clip.save_pretrained(fresh(name))
    expected(clip, name, PIXELS)

# CLIP's text tower, pooled at the end-of-text token: with the legacy eos_token_id 2, the first position
# of the greatest id (here twice in a row); else the first position of eos_token_id 98 (twice, once
# only in the padding, and missing: position 0)
CLIP_TEXT_TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, max_position_embeddings=16)
for seed, (name, model_class, eos, ids) in enumerate([
        ("clip-text-tiny", CLIPTextModel, 2, [[0, 45, 97, 1, 5, 97, 2, 9, 33, 2], [0, 31, 76, 2, 1, 1, 1, 1, 1, 1]]),
        ("clip-text-tiny-proj", CLIPTextModelWithProjection, 98,
         [[0, 45, 98, 1, 5, 98, 2, 9, 33, 2], [0, 31, 76, 2, 98, 98, 98, 98, 98, 98], [0, 31, 76, 2, 5, 6, 7, 8, 9, 10]])], 26):
    torch.manual_seed(seed)
    clip_text = model_class(CLIPTextConfig(**CLIP_TEXT_TINY, eos_token_id=eos, projection_dim=16)).eval()
    randomize_layer_norms(clip_text, seed)
    clip_text.save_pretrained(fresh(name))
    expected(clip_text, name, {"input_ids": torch.tensor(ids),
                               "attention_mask": torch.tensor([[1] * 10] + [[1, 1, 1, 1, 0, 0, 0, 0, 0, 0]] + [[1] * 10] * (len(ids) - 2))})

# The masked-LM heads of the factorised-embedding families: the decoder tied to the narrower word embeddings.
torch.manual_seed(21)
albert_mlm = AlbertForMaskedLM(AlbertConfig(vocab_size=99, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                            intermediate_size=37, max_position_embeddings=64)).eval()
randomize_layer_norms(albert_mlm, 21)
with torch.no_grad():
    albert_mlm.predictions.bias.normal_(generator=torch.Generator().manual_seed(21))
albert_mlm.save_pretrained(fresh("albert-tiny-mlm"))
expected(albert_mlm, "albert-tiny-mlm")
torch.manual_seed(22)
electra_mlm = ElectraForMaskedLM(ElectraConfig(vocab_size=99, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                               intermediate_size=37, max_position_embeddings=64)).eval()
randomize_layer_norms(electra_mlm, 22)
with torch.no_grad():
    electra_mlm.generator_lm_head.bias.normal_(generator=torch.Generator().manual_seed(22))
electra_mlm.save_pretrained(fresh("electra-tiny-mlm"))
expected(electra_mlm, "electra-tiny-mlm")
