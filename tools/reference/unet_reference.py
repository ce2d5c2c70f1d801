#!/usr/bin/python3
"""Reference files for Diffusion.Models.UNet and TimestepEmbedding.

Runs the book's PyTorch U-Net (markhliu/DGAI utils/unet_util.py, with Attention and LayerNorm from
utils/ch15util.py) and diffusers' get_timestep_embedding (src/diffusers/models/embeddings.py), both
read from the local upstream snapshots at run time (nothing upstream is committed), and writes:

  tests/reference/unet/book_state_dict_keys.json   names + shapes of the book configuration (no weights)
  tests/reference/unet/small_weights.safetensors   seeded weights of a small configuration
  tests/reference/unet/small_io.safetensors        sample, timesteps and the book model's output
  tests/reference/unet/small_config.json           the small configuration + provenance
  tests/reference/unet/timestep_embeddings.json    both embedding functions on a few inputs

Usage (Debian's PyTorch 1.13; no einops, no safetensors package needed):
  /usr/bin/python3 tools/reference/unet_reference.py
"""
import json
import os
import struct
import subprocess
import sys
import types

import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "reference", "unet")
BOOK_GIT = "/work/.mirror/markhliu+DGAI/repo"
DIFFUSERS_GIT = "/work/.mirror/huggingface+diffusers/repo"


def git_show(git_dir, path):
    return subprocess.check_output(["git", "-C", git_dir, "show", "HEAD:" + path], text=True)


def git_head(git_dir):
    return subprocess.check_output(["git", "-C", git_dir, "rev-parse", "HEAD"], text=True).strip()


# --- a minimal stand-in for einops: only the three patterns the book uses -------------------------

def rearrange(t, pattern, **sizes):
    pattern = " ".join(pattern.split())
    if pattern == "b (h c) x y -> b h c (x y)":
        b, hc, x, y = t.shape
        h = sizes["h"]
        return t.reshape(b, h, hc // h, x * y)
    if pattern == "b h (x y) d -> b (h d) x y":
        b, h, xy, d = t.shape
        x, y = sizes["x"], sizes["y"]
        return t.permute(0, 1, 3, 2).reshape(b, h * d, x, y)
    if pattern == "b c (h p1) (w p2) -> b (c p1 p2) h w":
        b, c, hp, wp = t.shape
        p1, p2 = sizes["p1"], sizes["p2"]
        t = t.reshape(b, c, hp // p1, p1, wp // p2, p2)  # b c h p1 w p2
        return t.permute(0, 1, 3, 5, 2, 4).reshape(b, c * p1 * p2, hp // p1, wp // p2)
    raise NotImplementedError(pattern)


class Rearrange(torch.nn.Module):
    def __init__(self, pattern, **sizes):
        super().__init__()
        self.pattern = pattern
        self.sizes = sizes

    def forward(self, x):
        return rearrange(x, self.pattern, **self.sizes)


def install_shims():
    einops = types.ModuleType("einops")
    einops.rearrange = rearrange
    layers = types.ModuleType("einops.layers")
    layers_torch = types.ModuleType("einops.layers.torch")
    layers_torch.Rearrange = Rearrange
    einops.layers = layers
    layers.torch = layers_torch
    sys.modules.update({"einops": einops, "einops.layers": layers, "einops.layers.torch": layers_torch})

    # unet_util imports Attention and LayerNorm from utils.ch14util; the book defines them at the end of
    # ch15util.py (whose top imports PIL, torchvision and matplotlib), so run just that part of the file.
    ch15 = git_show(BOOK_GIT, "utils/ch15util.py")
    start = ch15.index("# attention related")
    end = ch15.index("# adapted from", start)
    attention_src = ch15[start:end]
    ch14 = types.ModuleType("utils.ch14util")
    ch14.torch = torch  # imported at the top of ch15util.py
    exec(compile(attention_src, "ch15util.py[attention]", "exec"), ch14.__dict__)
    utils = types.ModuleType("utils")
    utils.ch14util = ch14
    sys.modules.update({"utils": utils, "utils.ch14util": ch14})

    unet_src = git_show(BOOK_GIT, "utils/unet_util.py")
    unet_util = types.ModuleType("utils.unet_util")
    exec(compile(unet_src, "unet_util.py", "exec"), unet_util.__dict__)
    return unet_util


def load_diffusers_embedding():
    src = git_show(DIFFUSERS_GIT, "src/diffusers/models/embeddings.py")
    start = src.index("def get_timestep_embedding(")
    end = src.index("\ndef ", start + 1)
    ns = {"torch": torch, "math": __import__("math")}
    exec(compile(src[start:end], "embeddings.py[get_timestep_embedding]", "exec"), ns)
    return ns["get_timestep_embedding"]


# --- safetensors, written by hand ------------------------------------------------------------------

DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def save_safetensors(tensors, path, metadata=None):
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)  # align the data section to 8 bytes
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


SAFETENSORS_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}


def read_safetensors(path):
    """(tensors, metadata) of a safetensors file, read by hand (no safetensors package on Debian's Python)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        data = bytearray(raw[8 + n + begin:8 + n + end])
        tensors[name] = torch.frombuffer(data, dtype=SAFETENSORS_DTYPES[entry["dtype"]]).reshape(entry["shape"]) if data else \
            torch.empty(entry["shape"], dtype=SAFETENSORS_DTYPES[entry["dtype"]])
    return tensors, header.get("__metadata__", {})


OLD_ATTENTION_NAMES = {".to_q.": ".query.", ".to_k.": ".key.", ".to_v.": ".value.", ".to_out.0.": ".proj_attn."}


def write_old_attention_folder(source, folder):
    """A diffusers model folder as checkpoints before diffusers 0.14 stored it: config.json copied, the weights as a
    PyTorch pickle (torch.save) with the attention projections under their old names (query, key, value, proj_attn)."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(source, "config.json")) as f:
        config = f.read()
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(config)
    old = {}
    for key, value in read_safetensors(os.path.join(source, "diffusion_pytorch_model.safetensors"))[0].items():
        for new, before in OLD_ATTENTION_NAMES.items():
            key = key.replace(new, before)
        old[key] = value
    torch.save(old, os.path.join(folder, "diffusion_pytorch_model.bin"))


def write_json(obj, path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    unet_util = install_shims()
    get_timestep_embedding = load_diffusers_embedding()
    provenance = {
        "book": "markhliu/DGAI@" + git_head(BOOK_GIT) + " utils/unet_util.py, utils/ch15util.py (Attention, LayerNorm)",
        "diffusers": "huggingface/diffusers@" + git_head(DIFFUSERS_GIT) + " src/diffusers/models/embeddings.py",
        "script": "tools/reference/unet_reference.py",
        "torch": torch.__version__,
    }

    # 1. Key names and shapes of the book's configuration, and parameter counts of three widths.
    counts = {}
    for dims in ([128, 256, 512, 1024], [64, 128, 256, 512], [32, 64, 128, 256]):
        model = unet_util.UNet(3, hidden_dims=dims, image_size=64)
        counts[str(dims)] = sum(p.numel() for p in model.parameters())
        if dims[0] == 128:
            keys = [{"name": k, "shape": list(v.shape)} for k, v in model.state_dict().items()]
        del model
    write_json({"provenance": provenance, "config": {"in_channels": 3, "hidden_dims": [128, 256, 512, 1024], "image_size": 64},
                "parameter_counts": counts, "keys": keys},
               os.path.join(OUT_DIR, "book_state_dict_keys.json"))
    print("keys:", len(keys), "counts:", counts)

    # 2. A small configuration with seeded weights, run once.
    dims = [8, 16, 24, 32]
    image = 16
    torch.manual_seed(1234)
    model = unet_util.UNet(3, hidden_dims=dims, image_size=image).eval()
    with torch.no_grad():
        # Default init leaves norm gains at 1 and biases at 0; perturb them so a mis-mapped key shows.
        for name, p in model.named_parameters():
            if name.endswith(".g") or (".norm" in name and name.endswith(".weight")):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif ".norm" in name and name.endswith(".bias"):
                p.copy_(0.2 * torch.randn_like(p))
    sample = torch.randn(2, 3, image, image)
    timesteps = torch.tensor([17, 803], dtype=torch.int64)
    with torch.no_grad():
        out = model(sample, timesteps)["sample"]
        out_scalar = model(sample, torch.tensor(411))["sample"]
    save_safetensors(dict(model.state_dict()), os.path.join(OUT_DIR, "small_weights.safetensors"),
                     {"format": "pt", "source": "tools/reference/unet_reference.py"})
    save_safetensors({"sample": sample, "timesteps": timesteps, "output": out,
                      "scalar_timestep": torch.tensor([411], dtype=torch.int64), "output_scalar_timestep": out_scalar},
                     os.path.join(OUT_DIR, "small_io.safetensors"))
    write_json({"provenance": provenance, "in_channels": 3, "hidden_dims": dims, "image_size": image,
                "parameter_count": sum(p.numel() for p in model.parameters()), "seed": 1234,
                "note": "norm gains/biases perturbed after default init; output = UNet(...)(sample, timesteps)['sample']"},
               os.path.join(OUT_DIR, "small_config.json"))
    print("small params:", sum(p.numel() for p in model.parameters()), "out std:", out.std().item())

    # 3. Timestep embeddings.
    t = torch.tensor([0, 1, 17, 250, 999], dtype=torch.int64)
    cases = []
    for dim in (8, 32, 128):
        cases.append({"function": "book", "dim": dim, "values": unet_util.sinusoidal_embedding(t, dim).flatten().tolist()})
    for dim, flip, shift, scale, max_period in ((32, False, 1, 1, 10000), (32, True, 0, 1, 10000),
                                                (15, True, 1, 1, 10000), (64, False, 0, 1000, 10000),
                                                (20, False, 1, 1, 1000)):
        e = get_timestep_embedding(t, dim, flip_sin_to_cos=flip, downscale_freq_shift=shift, scale=scale, max_period=max_period)
        cases.append({"function": "diffusers", "dim": dim, "flip_sin_to_cos": flip, "downscale_freq_shift": shift,
                      "scale": scale, "max_period": max_period, "values": e.flatten().tolist()})
    write_json({"provenance": provenance, "timesteps": t.tolist(), "cases": cases},
               os.path.join(OUT_DIR, "timestep_embeddings.json"))


if __name__ == "__main__":
    main()
