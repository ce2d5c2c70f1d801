#!/usr/bin/python3
"""Reference files for Diffusion.Models.UNet2DConditionModel.

Runs huggingface/diffusers' own src/diffusers/models/unets/unet_2d_condition.py (with unet_2d_blocks.py,
transformers/transformer_2d.py, attention.py, attention_processor.py, activations.py, resnet.py, embeddings.py,
downsampling.py, upsampling.py verbatim; laid out read-only at /work/dt113 by shared/tools/diffusers-torch113, nothing
upstream is committed) under Debian's PyTorch 1.13 on tiny seeded configurations, and writes for each case a diffusers
model folder plus inputs and outputs:

  tests/reference/unet2dcond/<case>/config.json                          diffusers' own to_json_string
  tests/reference/unet2dcond/<case>/diffusion_pytorch_model.safetensors  the seeded weights (norms perturbed)
  tests/reference/unet2dcond/<case>/io.safetensors                       inputs and diffusers' outputs
  tests/reference/unet2dcond/sd1_fp16/                                   the sd1 case as a hub fp16 variant: only
                                                                         diffusion_pytorch_model.fp16.safetensors
  tests/reference/unet2dcond/parameter_counts.json                       SD 1.5 and SD 2.1-base U-Nets at their real
                                                                         configurations (random init, no download)

Outputs per case (batch 2): "output" (int64 timesteps [17, 803], no mask), "output_mask" (the same with the encoder
attention mask), "output_frac" (float32 timesteps [250.7, 3.25]: fractions kept), "output_number" (the Python float
250.7, which diffusers turns into a float64 tensor: kept fractional too).

Usage: /usr/bin/python3 tools/reference/unet2d_condition.py
"""
import json
import os
import subprocess
import sys

os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before torch: bit-stable results
DT113 = "/work/dt113"
sys.path[:0] = [DT113, DT113 + "/stubs", os.path.dirname(os.path.abspath(__file__))]

import torch  # noqa: E402
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel  # noqa: E402
import unet_reference  # noqa: E402
from unet_reference import save_safetensors, write_json  # noqa: E402
from unet2d import perturb  # noqa: E402  (norm weights moved off 1 and 0, as for UNet2DModel)

unet_reference.DTYPES[torch.float16] = "F16"

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "reference", "unet2dcond")
DIFFUSERS_GIT = "/work/.mirror/huggingface+diffusers/repo"

# Widths are multiples of 16 (see tools/reference/unet2d.py: libtorch's oneDNN float32 convolution bug on AMD EPYC).
# Kept small: every weights file stays well under 1 MB.
SD1 = dict(block_out_channels=(16, 16, 16), down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
           up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"), layers_per_block=1, norm_num_groups=8,
           cross_attention_dim=24, attention_head_dim=2, sample_size=8)
SD2 = dict(SD1, use_linear_projection=True, upcast_attention=True, attention_head_dim=(1, 2, 4), cross_attention_dim=40,
           transformer_layers_per_block=(1, 2, 1))
VARIANTS = dict(block_out_channels=(16, 16), down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"), layers_per_block=(1, 2), norm_num_groups=8,
                cross_attention_dim=(16, 16), attention_head_dim=(2, 3), only_cross_attention=(True, False),
                mid_block_type=None, time_embedding_dim=24, conv_in_kernel=1, conv_out_kernel=5, center_input_sample=True,
                flip_sin_to_cos=False, freq_shift=1, resnet_time_scale_shift="scale_shift", act_fn="mish", norm_eps=1e-6,
                mid_block_scale_factor=1.25, downsample_padding=0, sample_size=7)

# Each case: (name, kwargs, latent height, latent width, text length)
CASES = [
    ("sd1", SD1, 8, 8, 7),
    ("sd2", SD2, 8, 8, 5),
    ("variants", VARIANTS, 7, 5, 6),   # sizes not multiples of 2: the up path is told the skips' sizes
]

# The hub configurations (unet/config.json of stable-diffusion-v1-5 and stable-diffusion-2-1-base), for parameter counts.
SD15 = dict(sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
            cross_attention_dim=768, attention_head_dim=8)
SD21_BASE = dict(SD15, cross_attention_dim=1024, attention_head_dim=(5, 10, 20, 20), use_linear_projection=True)


def git_head(git_dir):
    return subprocess.check_output(["git", "-C", git_dir, "rev-parse", "HEAD"], text=True).strip()


def run_case(name, kwargs, height, width, length, provenance):
    torch.manual_seed(2024)
    model = UNet2DConditionModel(**kwargs).eval()
    generator = torch.Generator().manual_seed(7)
    perturb(model, generator)
    folder = os.path.join(OUT_DIR, name)
    os.makedirs(folder, exist_ok=True)

    n = 2
    cross = kwargs["cross_attention_dim"]
    cross = cross if isinstance(cross, int) else cross[0]
    sample = torch.randn(n, model.config.in_channels, height, width, generator=generator)
    text = torch.randn(n, length, cross, generator=generator)
    timesteps = torch.tensor([17, 803], dtype=torch.int64)
    mask = torch.ones(n, length, dtype=torch.int64)
    mask[0, length - 2:] = 0   # the first prompt's last two tokens are padding
    mask[1, 3:] = 0            # the second prompt has three tokens
    frac = torch.tensor([250.7, 3.25], dtype=torch.float32)
    io = {"sample": sample, "encoder_hidden_states": text, "timesteps": timesteps, "encoder_attention_mask": mask,
          "timesteps_frac": frac}
    with torch.no_grad():
        io["output"] = model(sample, timesteps, text).sample
        io["output_mask"] = model(sample, timesteps, text, encoder_attention_mask=mask).sample
        io["output_frac"] = model(sample, frac, text).sample
        io["output_number"] = model(sample, 250.7, text).sample   # a Python float: a float64 tensor, fraction kept

    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(model.to_json_string())
    save_safetensors(dict(model.state_dict()), os.path.join(folder, "diffusion_pytorch_model.safetensors"), {"format": "pt"})
    save_safetensors(io, os.path.join(folder, "io.safetensors"),
                     {"source": "tools/reference/unet2d_condition.py", "case": name, "python_number_timestep": "250.7",
                      "diffusers": provenance["diffusers"], "torch": torch.__version__})
    params = sum(p.numel() for p in model.parameters())
    peak = max(io[k].abs().max().item() for k in ("output", "output_mask", "output_frac", "output_number"))
    mask_effect = (io["output_mask"] - io["output"]).abs().max().item()
    print(f"{name}: {params} parameters, max |output| {peak:.4f}, mask changes the output by up to {mask_effect:.4f}")
    return model, {"case": name, "parameters": params, "state_dict_entries": len(model.state_dict()), "max_abs_output": peak}


def write_fp16_variant(model, name):
    """A hub fp16 variant folder: the weights only as diffusion_pytorch_model.fp16.safetensors (float16)."""
    folder = os.path.join(OUT_DIR, name + "_fp16")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(model.to_json_string())
    half = {k: v.half() for k, v in model.state_dict().items()}
    save_safetensors(half, os.path.join(folder, "diffusion_pytorch_model.fp16.safetensors"), {"format": "pt"})


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    provenance = {
        "diffusers": "huggingface/diffusers@" + git_head(DIFFUSERS_GIT) + " src/diffusers/models/unets/unet_2d_condition.py (+ unet_2d_blocks.py, "
                     "transformers/transformer_2d.py, attention.py, attention_processor.py, activations.py, resnet.py, embeddings.py, "
                     "downsampling.py, upsampling.py), run from /work/dt113 (PyTorch 1.13: classic AttnProcessor)",
        "script": "tools/reference/unet2d_condition.py",
        "torch": torch.__version__,
    }
    summary = []
    for case in CASES:
        model, info = run_case(*case, provenance)
        summary.append(info)
        if case[0] == "sd1":
            write_fp16_variant(model, "sd1")

    counts = {}
    for name, kwargs in (("stable-diffusion-v1-5/stable-diffusion-v1-5", SD15), ("stabilityai/stable-diffusion-2-1-base", SD21_BASE)):
        model = UNet2DConditionModel(**kwargs)
        counts[name] = {"parameters": sum(p.numel() for p in model.parameters()),
                        "state_dict_entries": len(model.state_dict()), "config": json.loads(model.to_json_string())}
        print(name, counts[name]["parameters"])
        del model
    write_json({"provenance": provenance, "cases": summary, "hub_models": counts}, os.path.join(OUT_DIR, "parameter_counts.json"))


if __name__ == "__main__":
    main()
