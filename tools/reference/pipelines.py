#!/usr/bin/python3
"""Reference folders for DiffusionPipeline.FromPretrained: diffusers pipeline folders and the images diffusers draws.

diffusers' own UNet2DModel (src/diffusers/models/unets/unet_2d.py), DDIMScheduler and DDPMScheduler
(src/diffusers/schedulers/scheduling_ddim.py, scheduling_ddpm.py) and configuration_utils.py run under Debian's
PyTorch 1.13 from /work/dt113 (nothing upstream is committed). The pipelines folder is not laid out there, so the
sampling loop of src/diffusers/pipelines/ddim/pipeline_ddim.py and pipelines/ddpm/pipeline_ddpm.py (__call__) is
restated below step by step, and model_index.json is written the way DiffusionPipeline.save_pretrained writes it
(pipeline_utils.py register_modules -> {"unet": ["diffusers", "UNet2DModel"], ...}; configuration_utils.py
to_json_string: json.dumps(indent=2, sort_keys=True) + "\n").

  tests/reference/pipelines/<case>/model_index.json
  tests/reference/pipelines/<case>/unet/config.json, diffusion_pytorch_model.safetensors
  tests/reference/pipelines/<case>/scheduler/scheduler_config.json
  tests/reference/pipelines/<case>_images.safetensors   images [N, C, H, W] in [0, 1] for the seed and steps in its metadata

Usage: /usr/bin/python3 tools/reference/pipelines.py
"""
import json
import os
import subprocess
import sys

os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before torch: bit-stable results
DT113 = "/work/dt113"
sys.path[:0] = [DT113, DT113 + "/stubs", os.path.dirname(os.path.abspath(__file__))]

import torch  # noqa: E402
from diffusers.models.unets.unet_2d import UNet2DModel  # noqa: E402
from diffusers.schedulers.scheduling_ddim import DDIMScheduler  # noqa: E402
from diffusers.schedulers.scheduling_ddpm import DDPMScheduler  # noqa: E402
from unet_reference import save_safetensors  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "reference", "pipelines")
DIFFUSERS_GIT = "/work/.mirror/huggingface+diffusers/repo"

UNET = dict(sample_size=8, in_channels=3, out_channels=3, block_out_channels=(8, 16),
            down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
            layers_per_block=1, norm_num_groups=4, attention_head_dim=8)
SEED, COUNT = 1234, 2


def git_head(git_dir):
    return subprocess.check_output(["git", "-C", git_dir, "rev-parse", "HEAD"], text=True).strip()


def make_unet():
    torch.manual_seed(2024)
    model = UNet2DModel(**UNET).eval()
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():  # default init leaves norms at 1/0 and the output conv small: move them so the images depend on every weight
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith(".weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif "norm" in name and name.endswith(".bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
    return model


def sample(unet, scheduler, steps, step_kwargs):
    """pipeline_ddim.py / pipeline_ddpm.py __call__ with a CPU generator and output_type="np" before the permute."""
    generator = torch.Generator().manual_seed(SEED)
    shape = (COUNT, unet.config.in_channels, unet.config.sample_size, unet.config.sample_size)
    image = torch.randn(shape, generator=generator)  # randn_tensor on the CPU with one generator
    scheduler.set_timesteps(steps)
    with torch.no_grad():
        for t in scheduler.timesteps:
            model_output = unet(image, t).sample
            image = scheduler.step(model_output, t, image, generator=generator, **step_kwargs).prev_sample
    return (image / 2 + 0.5).clamp(0, 1)


def write_case(name, pipeline_class, unet, scheduler, steps, step_kwargs, provenance):
    folder = os.path.join(OUT_DIR, name)
    os.makedirs(os.path.join(folder, "unet"), exist_ok=True)
    os.makedirs(os.path.join(folder, "scheduler"), exist_ok=True)
    index = {"_class_name": pipeline_class, "_diffusers_version": json.loads(scheduler.to_json_string())["_diffusers_version"],
             "scheduler": ["diffusers", type(scheduler).__name__], "unet": ["diffusers", "UNet2DModel"]}
    with open(os.path.join(folder, "model_index.json"), "w") as f:
        f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")
    with open(os.path.join(folder, "unet", "config.json"), "w") as f:
        f.write(unet.to_json_string())
    save_safetensors(dict(unet.state_dict()), os.path.join(folder, "unet", "diffusion_pytorch_model.safetensors"), {"format": "pt"})
    with open(os.path.join(folder, "scheduler", "scheduler_config.json"), "w") as f:
        f.write(scheduler.to_json_string())
    images = sample(unet, scheduler, steps, step_kwargs)
    save_safetensors({"images": images}, os.path.join(OUT_DIR, name + "_images.safetensors"),
                     {"source": "tools/reference/pipelines.py", "case": name, "seed": str(SEED), "count": str(COUNT),
                      "steps": str(steps), "diffusers": provenance, "torch": torch.__version__})
    print(f"{name}: images mean {images.mean().item():.4f} std {images.std().item():.4f}")


def main():
    torch.set_num_threads(1)
    provenance = ("huggingface/diffusers@" + git_head(DIFFUSERS_GIT) + " models/unets/unet_2d.py, schedulers/scheduling_ddim.py, "
                  "scheduling_ddpm.py, configuration_utils.py (run from /work/dt113); loops of pipelines/ddim/pipeline_ddim.py and "
                  "pipelines/ddpm/pipeline_ddpm.py restated")
    unet = make_unet()
    # DDIMPipeline(eta=0.0, num_inference_steps=10); linear betas and clip_sample as the google/ddpm-* configs have them
    write_case("ddim", "DDIMPipeline", unet, DDIMScheduler(num_train_timesteps=1000, beta_schedule="linear"), 10,
               dict(eta=0.0, use_clipped_model_output=None), provenance)
    # DDPMPipeline(num_inference_steps=10): the variance noise comes from the same generator
    write_case("ddpm", "DDPMPipeline", unet, DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear"), 10, {}, provenance)


if __name__ == "__main__":
    main()
