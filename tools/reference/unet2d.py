#!/usr/bin/python3
"""Reference files for Diffusion.Models.UNet2DModel.

Runs huggingface/diffusers' own src/diffusers/models/unets/unet_2d.py (with unet_2d_blocks.py, resnet.py,
attention_processor.py, embeddings.py, downsampling.py, upsampling.py verbatim; laid out read-only at /work/dt113
by shared/tools/diffusers-torch113, nothing upstream is committed) under Debian's PyTorch 1.13, on tiny seeded
configurations, and writes for each case a diffusers model folder plus the inputs and outputs:

  tests/reference/unet2d/<case>/config.json                          written by diffusers' own to_json_string
  tests/reference/unet2d/<case>/diffusion_pytorch_model.safetensors  the seeded weights (norms perturbed)
  tests/reference/unet2d/<case>/io.safetensors                       inputs and diffusers' outputs
  tests/reference/unet2d/attention_bin/                               the "attention" case as an old hub folder: weights in
                                                                     PyTorch's pickle (torch.save), attention under its old
                                                                     names (query, key, value, proj_attn)
  tests/reference/unet2d/parameter_counts.json                       google/ddpm-cifar10-32 and anton-l/ddpm-ema-flowers-64

Usage: /usr/bin/python3 tools/reference/unet2d.py
"""
import json
import os
import sys

os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before torch: bit-stable results
DT113 = "/work/dt113"
sys.path[:0] = [DT113, DT113 + "/stubs", os.path.dirname(os.path.abspath(__file__))]

import torch  # noqa: E402
from diffusers.models.unets.unet_2d import UNet2DModel  # noqa: E402
from unet_reference import git_head, save_safetensors, write_json, write_old_attention_folder  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "reference", "unet2d")
DIFFUSERS_GIT = "/work/.mirror/huggingface+diffusers/repo"

# Widths are multiples of 16 so that every convolution's input (skips concatenated) is too: libtorch 2.10's
# oneDNN float32 conv2d with AVX-512 gives wrong results for batch >= 2 and 24 or 40 input channels on an AMD EPYC
# (found here; DNNL_MAX_CPU_ISA=AVX2 avoids it), which would fail these tests on the C# side for libtorch's sake.
SMALL = dict(block_out_channels=(16, 16), down_block_types=("DownBlock2D", "AttnDownBlock2D"),
             up_block_types=("AttnUpBlock2D", "UpBlock2D"), layers_per_block=1, norm_num_groups=8,
             attention_head_dim=8, sample_size=8)
THREE = dict(block_out_channels=(16, 16, 32), down_block_types=("AttnDownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
             up_block_types=("UpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D"), layers_per_block=1, norm_num_groups=8,
             attention_head_dim=8, sample_size=8)

# Each case: (name, UNet2DModel kwargs, class-label kind, image side)
CASES = [
    ("attention", dict(SMALL), None, 8),
    ("ddpm_style", dict(SMALL, add_attention=False, flip_sin_to_cos=False, freq_shift=1, downsample_padding=0,
                        attention_head_dim=None, norm_eps=1e-6, layers_per_block=2), None, 8),
    ("scale_shift", dict(SMALL, resnet_time_scale_shift="scale_shift", mid_block_scale_factor=1.4142135623730951,
                         center_input_sample=True, act_fn="mish"), None, 8),
    ("scale_shift_attn_groups", dict(SMALL, resnet_time_scale_shift="scale_shift", attn_norm_num_groups=16, attention_head_dim=None), None, 8),
    ("fourier", dict(SMALL, time_embedding_type="fourier", flip_sin_to_cos=False), None, 8),
    ("resnet_resample", dict(THREE, downsample_type="resnet", upsample_type="resnet", dropout=0.1), None, 8),
    ("class_table", dict(SMALL, num_class_embeds=5), "table", 8),
    ("class_timestep", dict(SMALL, class_embed_type="timestep"), "timestep", 8),
    ("class_identity", dict(SMALL, class_embed_type="identity"), "identity", 8),
    ("learned_no_mid", dict(SMALL, time_embedding_type="learned", num_train_timesteps=1000, mid_block_type=None), None, 8),
    ("flowers6", dict(block_out_channels=(16, 16, 16, 16, 16, 16),
                      down_block_types=("DownBlock2D", "DownBlock2D", "DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
                      up_block_types=("UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D"),
                      layers_per_block=1, norm_num_groups=8, attention_head_dim=8, sample_size=32), None, 32),
]

# The hub configurations (model cards / diffusers' train_unconditional.py), for parameter counts.
CIFAR10 = dict(sample_size=32, in_channels=3, out_channels=3, layers_per_block=2, block_out_channels=(128, 256, 256, 256),
               down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
               up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"), attention_head_dim=None,
               downsample_padding=0, flip_sin_to_cos=False, freq_shift=1, norm_eps=1e-6, norm_num_groups=32,
               act_fn="silu", center_input_sample=False, mid_block_scale_factor=1, time_embedding_type="positional")
FLOWERS64 = dict(sample_size=64, in_channels=3, out_channels=3, layers_per_block=2, block_out_channels=(128, 128, 256, 256, 512, 512),
                 down_block_types=("DownBlock2D", "DownBlock2D", "DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
                 up_block_types=("UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D"))


def perturb(model, generator):
    """Default init leaves norm weights at 1 and biases at 0; move them so a mis-mapped key shows."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith(".weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=generator))
            elif "norm" in name and name.endswith(".bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=generator))


def run_case(name, kwargs, labels_kind, side, provenance):
    torch.manual_seed(2024)
    model = UNet2DModel(**kwargs).eval()
    generator = torch.Generator().manual_seed(7)
    perturb(model, generator)
    folder = os.path.join(OUT_DIR, name)
    os.makedirs(folder, exist_ok=True)

    n = 2
    sample = torch.randn(n, model.config.in_channels, side, side, generator=generator)
    fourier = model.config.time_embedding_type == "fourier"
    # fourier models take noise levels σ (ln σ is embedded, the output is divided by σ); the others timesteps
    timesteps = torch.tensor([0.3, 7.5]) if fourier else torch.tensor([17, 803], dtype=torch.int64)
    io = {"sample": sample, "timesteps": timesteps}
    call = {}
    if labels_kind == "table":
        call["class_labels"] = torch.tensor([3, 0], dtype=torch.int64)
    elif labels_kind == "timestep":
        call["class_labels"] = torch.tensor([4, 9], dtype=torch.int64)
    elif labels_kind == "identity":
        call["class_labels"] = torch.randn(n, model.config.block_out_channels[0] * 4, generator=generator)
    if "class_labels" in call:
        io["class_labels"] = call["class_labels"]
    with torch.no_grad():
        io["output"] = model(sample, timesteps, **call).sample
        if model.config.time_embedding_type != "learned":
            # a 0-d float tensor keeps its fraction (it reaches the embedding) ...
            t0 = torch.tensor(2.75 if fourier else 250.7)
            io["timestep_0d"] = t0
            io["output_0d"] = model(sample, t0, **call).sample
        # ... a Python number is truncated to int64, as diffusers does (250.7 -> 250)
        io["output_python_number"] = model(sample, 250.7, **call).sample
    # safetensors has no 0-d tensors in our hand writer's use: store it as [1] and say so
    if "timestep_0d" in io:
        io["timestep_0d"] = io["timestep_0d"].reshape(1)
    for k in list(io):
        if io[k].dtype == torch.float64:
            io[k] = io[k].float()

    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(model.to_json_string())
    save_safetensors(dict(model.state_dict()), os.path.join(folder, "diffusion_pytorch_model.safetensors"), {"format": "pt"})
    save_safetensors(io, os.path.join(folder, "io.safetensors"),
                     {"source": "tools/reference/unet2d.py", "case": name, "python_number_timestep": "250.7",
                      "timestep_0d_note": "stored as [1]; pass it to the model as a 0-d tensor",
                      "diffusers": provenance["diffusers"], "torch": torch.__version__})
    params = sum(p.numel() for p in model.parameters())
    peak = max(io["output"].abs().max().item(), io["output_python_number"].abs().max().item())
    print(f"{name}: {params} parameters, max |output| {peak:.4f}")
    return {"case": name, "parameters": params, "max_abs_output": peak}


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    provenance = {
        "diffusers": "huggingface/diffusers@" + git_head(DIFFUSERS_GIT) + " src/diffusers/models/unets/unet_2d.py (+ unet_2d_blocks.py, resnet.py, "
                     "attention_processor.py, embeddings.py, downsampling.py, upsampling.py), run from /work/dt113 (PyTorch 1.13: classic AttnProcessor)",
        "script": "tools/reference/unet2d.py",
        "torch": torch.__version__,
    }
    summary = [run_case(*case, provenance) for case in CASES]
    write_old_attention_folder(os.path.join(OUT_DIR, "attention"), os.path.join(OUT_DIR, "attention_bin"))

    counts = {}
    for name, kwargs in (("google/ddpm-cifar10-32", CIFAR10), ("anton-l/ddpm-ema-flowers-64", FLOWERS64)):
        model = UNet2DModel(**kwargs)
        counts[name] = {"parameters": sum(p.numel() for p in model.parameters()),
                        "state_dict_entries": len(model.state_dict()), "config": json.loads(model.to_json_string())}
        print(name, counts[name]["parameters"])
        del model
    write_json({"provenance": provenance, "cases": summary, "hub_models": counts}, os.path.join(OUT_DIR, "parameter_counts.json"))


if __name__ == "__main__":
    main()
