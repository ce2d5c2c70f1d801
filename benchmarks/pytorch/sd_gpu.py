#!/usr/bin/env python3
"""The PyTorch side of `Diffusion.Benchmarks gpu sd`: one Stable Diffusion 1.5 text-to-image call at SD 1.5's real
configuration with random weights, built from diffusers' own UNet2DConditionModel, AutoencoderKL and DDIMScheduler
(laid out by shared/tools/diffusers-torch113/extract.sh; nothing upstream is committed) and transformers'
CLIPTextModel, timed the way StableDiffusionPipeline.__call__ runs it: both prompts encoded, latents drawn on a CPU
generator, classifier-free guidance at 7.5 in one batch of two, DDIM, the VAE decode in float32 (SD 1.5's VAE says
force_upcast) and the images copied to the CPU.

Usage: python3 benchmarks/pytorch/sd_gpu.py --diffusers DT113 [--device cuda] [--size 512] [--steps 30] [--repeats 3]
Prints one line `RESULT {json}` in the form of the C# side's.
"""
import argparse
import json
import os
import sys
import time

import torch

PROMPT_LENGTH = 77


def build(args, device, dtype):
    try:  # transformers first, with the real huggingface_hub; the layout's stubs bring a small fake one of that name
        from transformers import CLIPTextConfig, CLIPTextModel
    except Exception:  # noqa: BLE001 -- none here (this build machine): random text states, U-Net and VAE still timed
        CLIPTextModel = None
    for name in [m for m in sys.modules if m == "huggingface_hub" or m.startswith("huggingface_hub.")]:
        del sys.modules[name]
    sys.path[:0] = [args.diffusers, os.path.join(args.diffusers, "stubs")]
    from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
    from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
    from diffusers.schedulers.scheduling_ddim import DDIMScheduler

    torch.manual_seed(0)
    unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768).to(device, dtype).eval()
    vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                        up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, latent_channels=4,
                        sample_size=512).to(device, torch.float32).eval()
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1, timestep_spacing="leading")
    if CLIPTextModel is not None:
        text = CLIPTextModel(CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072,
                                            num_hidden_layers=12, num_attention_heads=12, max_position_embeddings=77,
                                            hidden_act="quick_gelu")).to(device, dtype).eval()
        encoder = "transformers.CLIPTextModel"
    else:
        text, encoder = None, "none (random text states)"
    return unet, vae, scheduler, text, encoder


@torch.no_grad()
def generate(unet, vae, scheduler, text, size, steps, guidance, seed, device, dtype):
    ids = torch.randint(0, 49408, (2, PROMPT_LENGTH), generator=torch.Generator().manual_seed(1234)).to(device)
    if text is not None:
        states = text(ids)[0]  # row 0 the negative (empty) prompt, row 1 the prompt, as diffusers concatenates them
    else:
        states = torch.randn(2, PROMPT_LENGTH, 768, generator=torch.Generator().manual_seed(1234)).to(device, dtype)
    generator = torch.Generator().manual_seed(seed)
    latents = torch.randn(1, 4, size // 8, size // 8, generator=generator).to(device, dtype)
    scheduler.set_timesteps(steps, device=device)
    latents = latents * scheduler.init_noise_sigma
    for t in scheduler.timesteps:
        model_input = scheduler.scale_model_input(torch.cat([latents] * 2), t)
        noise = unet(model_input, t, encoder_hidden_states=states).sample
        uncond, cond = noise.chunk(2)
        latents = scheduler.step(uncond + guidance * (cond - uncond), t, latents).prev_sample
    image = vae.decode(latents.float() / 0.18215).sample
    return (image / 2 + 0.5).clamp(0, 1).cpu()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--diffusers", required=True, help="the torch-1.13 layout of diffusers (extract.sh's output)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = torch.device(args.device)
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    clock = time.perf_counter()
    unet, vae, scheduler, text, encoder = build(args, device, dtype)
    sync()
    build_s = time.perf_counter() - clock
    clock = time.perf_counter()
    generate(unet, vae, scheduler, text, args.size, 2, 7.5, 1, device, dtype)
    sync()
    warmup_s = time.perf_counter() - clock
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    seconds, pixel_mean = [], float("nan")
    for i in range(args.repeats):
        clock = time.perf_counter()
        images = generate(unet, vae, scheduler, text, args.size, args.steps, 7.5, i, device, dtype)
        seconds.append(time.perf_counter() - clock)  # .cpu() waited for the GPU
        pixel_mean = images.mean().item()
    result = {
        "side": "pytorch", "mode": "sd15_text_to_image", "device": str(device), "dtype": str(dtype).split(".")[1],
        "vae_dtype": "float32", "size": args.size, "steps": args.steps, "guidance": 7.5, "scheduler": "DDIM",
        "text_encoder": encoder, "torch": torch.__version__,
        "unet_parameters": sum(p.numel() for p in unet.parameters()), "build_s": build_s, "warmup_s": warmup_s,
        "seconds": seconds, "seconds_median": sorted(seconds)[len(seconds) // 2], "pixel_mean": pixel_mean,
        "peak_gpu_allocated_mib": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None,
        "attention": type(unet.down_blocks[0].attentions[0].transformer_blocks[0].attn1.processor).__name__,
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
