#!/usr/bin/python3
"""Reference files for Diffusion.Clip.ClipModel (parity with OpenAI's CLIP) and ClipImageProcessor.

Runs OpenAI's own CLIP model code (openai/CLIP clip/model.py, read from the local snapshot at run
time; nothing upstream is committed) at a tiny configuration with seeded random weights, exports
the weights under Hugging Face CLIPModel key names, and writes:

  tests/reference/clip/parity/config.json         Hugging Face CLIPConfig of the tiny model
  tests/reference/clip/parity/model.safetensors   its weights (written by hand: no safetensors package),
                                                  plus the two position_ids buffers older
                                                  transformers checkpoints carry (the loader must skip them)
  tests/reference/clip/parity/parity.json         inputs (pixels, token ids), CLIP's outputs, provenance
  tests/reference/clip/preprocess.json            a small image and the Hugging Face CLIPImageProcessor
                                                  steps done in float (resize shortest side bicubic with
                                                  antialias, centre crop with floor offsets, normalise)

Key mapping, OpenAI -> Hugging Face (per layer i; "T" = transposed):
  visual.conv1.weight                     -> vision_model.embeddings.patch_embedding.weight
  visual.class_embedding                  -> vision_model.embeddings.class_embedding
  visual.positional_embedding             -> vision_model.embeddings.position_embedding.weight
  visual.ln_pre.*                         -> vision_model.pre_layrnorm.*
  visual.transformer.resblocks.i.*        -> vision_model.encoder.layers.i.*  (see block mapping)
  visual.ln_post.*                        -> vision_model.post_layernorm.*
  visual.proj                             -> visual_projection.weight (T)
  token_embedding.weight                  -> text_model.embeddings.token_embedding.weight
  positional_embedding                    -> text_model.embeddings.position_embedding.weight
  transformer.resblocks.i.*               -> text_model.encoder.layers.i.*
  ln_final.*                              -> text_model.final_layer_norm.*
  text_projection                         -> text_projection.weight (T)
  logit_scale                             -> logit_scale
Block mapping:
  attn.in_proj_weight / in_proj_bias      -> self_attn.{q,k,v}_proj.{weight,bias} (rows split in thirds, q, k, v)
  attn.out_proj.*                         -> self_attn.out_proj.*
  ln_1.* / ln_2.*                         -> layer_norm1.* / layer_norm2.*
  mlp.c_fc.* / mlp.c_proj.*               -> mlp.fc1.* / mlp.fc2.*

Usage: /usr/bin/python3 tools/reference/clip_parity.py
"""
import json
import os
import struct
import subprocess
import sys
import types

import torch
import torch.nn.functional as F

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "reference", "clip")
CLIP_GIT = "/work/.mirror/openai+CLIP/repo"

# Tiny configuration: every structural feature of ViT-B/32 (several heads and layers, class token,
# causal text mask, projections), small enough for a < 1 MB reference.
EMBED_DIM = 24
IMAGE_SIZE, PATCH, V_WIDTH, V_LAYERS, V_HEADS = 32, 8, 48, 2, 4
CONTEXT, VOCAB, T_WIDTH, T_LAYERS, T_HEADS = 16, 500, 32, 2, 4


def git(*args):
    return subprocess.check_output(["git", "-C", CLIP_GIT, *args], text=True)


def load_openai_model_module():
    source = git("show", "HEAD:clip/model.py")
    module = types.ModuleType("openai_clip_model")
    exec(compile(source, "openai/CLIP/clip/model.py", "exec"), module.__dict__)
    return module


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.float32:
            code, data = "F32", t.numpy().astype("<f4").tobytes()
        elif t.dtype == torch.int64:
            code, data = "I64", t.numpy().astype("<i8").tobytes()
        else:
            raise ValueError(t.dtype)
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def to_hf(sd, v_layers, t_layers):
    out = {}

    def block(src, dst):
        w, b = sd[src + "attn.in_proj_weight"], sd[src + "attn.in_proj_bias"]
        for name, wi, bi in zip("qkv", w.chunk(3, 0), b.chunk(3, 0)):
            out[f"{dst}self_attn.{name}_proj.weight"] = wi
            out[f"{dst}self_attn.{name}_proj.bias"] = bi
        for a, h in [("attn.out_proj", "self_attn.out_proj"), ("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"),
                     ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2")]:
            out[f"{dst}{h}.weight"] = sd[f"{src}{a}.weight"]
            out[f"{dst}{h}.bias"] = sd[f"{src}{a}.bias"]

    out["vision_model.embeddings.patch_embedding.weight"] = sd["visual.conv1.weight"]
    out["vision_model.embeddings.class_embedding"] = sd["visual.class_embedding"]
    out["vision_model.embeddings.position_embedding.weight"] = sd["visual.positional_embedding"]
    for p in ("weight", "bias"):
        out[f"vision_model.pre_layrnorm.{p}"] = sd[f"visual.ln_pre.{p}"]
        out[f"vision_model.post_layernorm.{p}"] = sd[f"visual.ln_post.{p}"]
        out[f"text_model.final_layer_norm.{p}"] = sd[f"ln_final.{p}"]
    for i in range(v_layers):
        block(f"visual.transformer.resblocks.{i}.", f"vision_model.encoder.layers.{i}.")
    for i in range(t_layers):
        block(f"transformer.resblocks.{i}.", f"text_model.encoder.layers.{i}.")
    out["visual_projection.weight"] = sd["visual.proj"].t()
    out["text_model.embeddings.token_embedding.weight"] = sd["token_embedding.weight"]
    out["text_model.embeddings.position_embedding.weight"] = sd["positional_embedding"]
    out["text_projection.weight"] = sd["text_projection"].t()
    out["logit_scale"] = sd["logit_scale"]
    missing = set(sd) - {k for k in sd if k.endswith("attn_mask")} - used_keys(v_layers, t_layers)
    assert not missing, missing
    return out


def used_keys(v_layers, t_layers):
    keys = {"visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding", "visual.proj",
            "token_embedding.weight", "positional_embedding", "text_projection", "logit_scale"}
    for p in ("weight", "bias"):
        keys |= {f"visual.ln_pre.{p}", f"visual.ln_post.{p}", f"ln_final.{p}"}
    for prefix, n in (("visual.transformer.resblocks.", v_layers), ("transformer.resblocks.", t_layers)):
        for i in range(n):
            keys |= {f"{prefix}{i}.attn.in_proj_weight", f"{prefix}{i}.attn.in_proj_bias"}
            for a in ("attn.out_proj", "ln_1", "ln_2", "mlp.c_fc", "mlp.c_proj"):
                keys |= {f"{prefix}{i}.{a}.weight", f"{prefix}{i}.{a}.bias"}
    return keys


def rounded(t):
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def parity():
    clip = load_openai_model_module()
    torch.manual_seed(20240601)
    model = clip.CLIP(EMBED_DIM, IMAGE_SIZE, V_LAYERS, 64, PATCH, CONTEXT, VOCAB, T_WIDTH, T_HEADS, T_LAYERS)
    # CLIP derives vision heads as width // 64; build the vision tower directly to get several heads.
    model.visual = clip.VisionTransformer(IMAGE_SIZE, PATCH, V_WIDTH, V_LAYERS, V_HEADS, EMBED_DIM)
    with torch.no_grad():
        # Perturb every parameter so LayerNorm gains, biases and masks all matter.
        for name, p in model.named_parameters():
            if name == "logit_scale":
                continue
            is_layer_norm = ".ln_" in name or name.startswith("ln_")
            if is_layer_norm and name.endswith(".weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            else:
                p.add_(0.05 * torch.randn_like(p))
    model.eval()

    pixels = torch.randn(2, 3, IMAGE_SIZE, IMAGE_SIZE)
    sot, eot = VOCAB - 2, VOCAB - 1
    ids = torch.zeros(3, CONTEXT, dtype=torch.long)
    for row, length in enumerate((5, 16, 9)):  # one sequence fills the context exactly
        body = torch.randint(1, VOCAB - 2, (length - 2,))
        ids[row, :length] = torch.cat([torch.tensor([sot]), body, torch.tensor([eot])])
    ids[2, 9:] = eot  # Hugging Face pads with the end token; pooling must take the first one

    with torch.no_grad():
        image_features = model.encode_image(pixels)
        text_features = model.encode_text(ids)
        logits_per_image, _ = model(pixels, ids)

    sd = model.state_dict()
    hf = to_hf(sd, V_LAYERS, T_LAYERS)
    hf["text_model.embeddings.position_ids"] = torch.arange(CONTEXT).unsqueeze(0)
    hf["vision_model.embeddings.position_ids"] = torch.arange((IMAGE_SIZE // PATCH) ** 2 + 1).unsqueeze(0)

    out = os.path.join(OUT_DIR, "parity")
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "model.safetensors"), hf, {"format": "pt"})
    config = {
        "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": EMBED_DIM,
        "logit_scale_init_value": 2.6592,
        "text_config": {"vocab_size": VOCAB, "hidden_size": T_WIDTH, "intermediate_size": 4 * T_WIDTH,
                        "num_attention_heads": T_HEADS, "num_hidden_layers": T_LAYERS,
                        "max_position_embeddings": CONTEXT, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-05,
                        "model_type": "clip_text_model"},
        "vision_config": {"hidden_size": V_WIDTH, "intermediate_size": 4 * V_WIDTH, "num_attention_heads": V_HEADS,
                          "num_hidden_layers": V_LAYERS, "image_size": IMAGE_SIZE, "patch_size": PATCH,
                          "hidden_act": "quick_gelu", "layer_norm_eps": 1e-05, "model_type": "clip_vision_model"},
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    reference = {
        "provenance": provenance("OpenAI CLIP forward (model.encode_image, model.encode_text, model(image, text))"),
        "pixel_values": {"shape": list(pixels.shape), "data": rounded(pixels)},
        "input_ids": ids.tolist(),
        "image_features": {"shape": list(image_features.shape), "data": rounded(image_features)},
        "text_features": {"shape": list(text_features.shape), "data": rounded(text_features)},
        "logits_per_image": {"shape": list(logits_per_image.shape), "data": rounded(logits_per_image)},
    }
    with open(os.path.join(out, "parity.json"), "w") as f:
        json.dump(reference, f)


def preprocess():
    torch.manual_seed(7)
    image = torch.rand(3, 20, 28)  # [3, H, W] in [0, 1], landscape
    shortest_edge, crop = 16, 12
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(3, 1, 1)
    h, w = image.shape[1:]
    short, long = min(h, w), max(h, w)
    new_long = int(shortest_edge * long / short)  # transformers' get_resize_output_image_size
    size = (shortest_edge, new_long) if h <= w else (new_long, shortest_edge)
    resized = F.interpolate(image[None], size=size, mode="bicubic", align_corners=False, antialias=True)[0].clamp(0, 1)
    top, left = (resized.shape[1] - crop) // 2, (resized.shape[2] - crop) // 2  # transformers' center_crop
    cropped = resized[:, top:top + crop, left:left + crop]
    normalised = (cropped - mean) / std
    reference = {
        "provenance": provenance("transformers CLIPImageProcessor steps in float: resize (bicubic, antialias), "
                                 "center_crop, normalize with CLIP's mean/std"),
        "shortest_edge": shortest_edge, "crop_size": crop,
        "image": {"shape": list(image.shape), "data": rounded(image)},
        "expected": {"shape": list(normalised.shape), "data": rounded(normalised)},
    }
    with open(os.path.join(OUT_DIR, "preprocess.json"), "w") as f:
        json.dump(reference, f)


def provenance(what):
    return {
        "what": what,
        "upstream": "openai/CLIP clip/model.py at " + git("rev-parse", "HEAD").strip(),
        "script": "tools/reference/clip_parity.py",
        "torch": torch.__version__,
        "python": sys.version.split()[0],
    }


if __name__ == "__main__":
    torch.set_num_threads(1)
    parity()
    preprocess()
    print("written to", OUT_DIR)
