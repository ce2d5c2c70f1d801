#!/usr/bin/python3
"""Reference files for Diffusion.Models.AutoencoderKL.

Runs huggingface/diffusers' own src/diffusers/models/autoencoders/autoencoder_kl.py and vae.py (Encoder, Decoder,
DiagonalGaussianDistribution; with unet_2d_blocks.py, resnet.py, attention_processor.py, downsampling.py,
upsampling.py verbatim, laid out read-only at /work/dt113 by shared/tools/diffusers-torch113; nothing upstream is
committed) under Debian's PyTorch 1.13, on tiny seeded configurations, and writes for each case a diffusers model
folder plus the inputs and diffusers' outputs:

  tests/reference/vae/<case>/config.json                          written by diffusers' own to_json_string
  tests/reference/vae/<case>/diffusion_pytorch_model.safetensors  the seeded weights (norms perturbed)
  tests/reference/vae/<case>/io.safetensors                       inputs and outputs (names below)
  tests/reference/vae/kl_one_layer_bin/                           the kl_one_layer case as an old hub folder: weights in
                                                                  PyTorch's pickle (torch.save), the mid-block attention
                                                                  under its old names (query, key, value, proj_attn)
  tests/reference/vae/parameter_counts.json                       SD 1.5's VAE configuration, random init (no download)

io.safetensors: image [2,C,H,W], latent z [2,4,h,w]; encode_mean, encode_std, encode_logvar, encode_var (of
vae.encode(image).latent_dist), kl (posterior.kl()), kl_other (posterior.kl(posterior of image.flip(3))), decode
(vae.decode(z).sample), forward (vae(image) with sample_posterior=False), forward_sampled (sample_posterior=True with
torch.Generator().manual_seed(123)); with tiling (case kl_one_layer, sample_size 16 so it engages on the 28x20 image
and the 14x10 latent): tiled_image [2,3,28,20], tiled_z [2,4,14,10], tiled_encode_mean, tiled_encode_std,
tiled_decode (vae.enable_tiling(); encode / decode as above).

Also, with an argument: /usr/bin/python3 tools/reference/autoencoder_kl.py --check-ours <folder> loads a folder
written by our AutoencoderKL.SavePretrained into diffusers' own AutoencoderKL (from_config on our config.json, which
checks _class_name; weights with load_state_dict(strict=True)) and compares the decode and encode outputs stored
beside it (made by the C# test FreshModelSavesAFolderDiffusersOpens with DIFFUSION_EXPORT_VAE=<folder>).

Usage: /usr/bin/python3 tools/reference/autoencoder_kl.py [--check-ours <folder>]
"""
import json
import os
import sys

os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before torch: bit-stable results
DT113 = "/work/dt113"
sys.path[:0] = [DT113, DT113 + "/stubs", os.path.dirname(os.path.abspath(__file__))]

import torch  # noqa: E402
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL  # noqa: E402
from unet_reference import git_head, read_safetensors, save_safetensors, write_json, write_old_attention_folder  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "reference", "vae")
DIFFUSERS_GIT = "/work/.mirror/huggingface+diffusers/repo"


def blocks(levels):
    return dict(down_block_types=("DownEncoderBlock2D",) * levels, up_block_types=("UpDecoderBlock2D",) * levels)


# Each case: (name, AutoencoderKL kwargs, image side, whether the tiled outputs are stored). Widths stay small so each
# weights file is well under 1 MB (168k and 215k parameters).
CASES = [
    ("kl_one_layer", dict(blocks(2), block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8, latent_channels=4,
                          sample_size=16, scaling_factor=0.13025), 16, True),
    ("two_layers_no_quant", dict(blocks(2), block_out_channels=(16, 32), layers_per_block=2, norm_num_groups=8, latent_channels=4,
                                 sample_size=16, use_quant_conv=False, use_post_quant_conv=False,
                                 mid_block_add_attention=False, act_fn="silu", shift_factor=0.0609), 16, False),
]

SD15 = dict(blocks(4), in_channels=3, out_channels=3, block_out_channels=(128, 256, 512, 512), layers_per_block=2,
            act_fn="silu", latent_channels=4, norm_num_groups=32, sample_size=512)


def perturb(model, generator):
    """Default init leaves norm weights at 1 and biases at 0; move them so a mis-mapped key or a wrong norm shows."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith(".weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=generator))
            elif "norm" in name and name.endswith(".bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=generator))


def encode_outputs(vae, image, prefix, io):
    posterior = vae.encode(image).latent_dist
    io[prefix + "mean"] = posterior.mean
    io[prefix + "std"] = posterior.std
    return posterior


def run_case(name, kwargs, side, tiled, provenance):
    torch.manual_seed(2024)
    vae = AutoencoderKL(**kwargs).eval()
    generator = torch.Generator().manual_seed(7)
    perturb(vae, generator)
    folder = os.path.join(OUT_DIR, name)
    os.makedirs(folder, exist_ok=True)

    down = 2 ** (len(kwargs["block_out_channels"]) - 1)
    image = torch.rand(2, vae.config.in_channels, side, side, generator=generator) * 2 - 1
    z = torch.randn(2, vae.config.latent_channels, side // down, side // down, generator=generator)
    io = {"image": image, "z": z}
    with torch.no_grad():
        posterior = encode_outputs(vae, image, "encode_", io)
        io["encode_logvar"] = posterior.logvar
        io["encode_var"] = posterior.var
        io["kl"] = posterior.kl()
        io["kl_other"] = posterior.kl(vae.encode(image.flip(3)).latent_dist)
        io["decode"] = vae.decode(z).sample
        io["forward"] = vae(image).sample
        io["forward_sampled"] = vae(image, sample_posterior=True, generator=torch.Generator().manual_seed(123)).sample
        if tiled:
            io["tiled_image"] = torch.rand(2, vae.config.in_channels, 28, 20, generator=generator) * 2 - 1
            io["tiled_z"] = torch.randn(2, vae.config.latent_channels, 14, 10, generator=generator)
            vae.enable_tiling()
            encode_outputs(vae, io["tiled_image"], "tiled_encode_", io)
            io["tiled_decode"] = vae.decode(io["tiled_z"]).sample
            vae.disable_tiling()
            # the tiled results must differ from the plain ones, or the test could not tell tiling happened
            plain = vae.decode(io["tiled_z"]).sample
            print(f"  tiled vs plain decode: max diff {(plain - io['tiled_decode']).abs().max().item():.3e}")

    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(vae.to_json_string())
    save_safetensors(dict(vae.state_dict()), os.path.join(folder, "diffusion_pytorch_model.safetensors"), {"format": "pt"})
    save_safetensors(io, os.path.join(folder, "io.safetensors"),
                     {"source": "tools/reference/autoencoder_kl.py", "case": name, "forward_sampled_generator": "torch.Generator().manual_seed(123)",
                      "diffusers": provenance["diffusers"], "torch": torch.__version__})
    params = sum(p.numel() for p in vae.parameters())
    peaks = {k: round(v.abs().max().item(), 4) for k, v in io.items()}
    print(f"{name}: {params} parameters, max |x| {peaks}")
    return {"case": name, "parameters": params, "max_abs": peaks}


def check_ours(folder):
    """Our SavePretrained folder in diffusers' AutoencoderKL: config through from_config, strict state dict, same outputs."""
    torch.set_num_threads(1)
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    vae = AutoencoderKL.from_config(config).eval()
    weights, metadata = read_safetensors(os.path.join(folder, "diffusion_pytorch_model.safetensors"))
    result = vae.load_state_dict({k: v.float() for k, v in weights.items()}, strict=True)
    io, _ = read_safetensors(os.path.join(folder, "io.safetensors"))
    ok = True
    with torch.no_grad():
        for what, theirs in (("decode", vae.decode(io["z"]).sample), ("encode_mean", vae.encode(io["image"]).latent_dist.mean)):
            error = (theirs - io[what]).abs().max().item()
            scale = io[what].abs().max().item()
            print(f"{what}: max |diffusers - ours| = {error:.3e} (max |ours| = {scale:.3f})")
            ok = ok and error <= 2e-5 * scale
    print(f"config: _class_name={config.get('_class_name')} _diffusers_version={config.get('_diffusers_version')}, "
          f"{len(config)} keys; weights: {len(weights)} tensors, metadata {sorted(metadata)}; load_state_dict: {result}")
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    provenance = {
        "diffusers": "huggingface/diffusers@" + git_head(DIFFUSERS_GIT) + " src/diffusers/models/autoencoders/autoencoder_kl.py + vae.py "
                     "(+ unet_2d_blocks.py, resnet.py, attention_processor.py, downsampling.py, upsampling.py), run from /work/dt113 "
                     "(PyTorch 1.13: classic AttnProcessor)",
        "script": "tools/reference/autoencoder_kl.py",
        "torch": torch.__version__,
    }
    summary = [run_case(*case, provenance) for case in CASES]
    write_old_attention_folder(os.path.join(OUT_DIR, "kl_one_layer"), os.path.join(OUT_DIR, "kl_one_layer_bin"))

    vae = AutoencoderKL(**SD15)
    sd15 = {"parameters": sum(p.numel() for p in vae.parameters()), "state_dict_entries": len(vae.state_dict()),
            "config": json.loads(vae.to_json_string())}
    print("SD 1.5 VAE", sd15["parameters"])
    write_json({"provenance": provenance, "cases": summary, "stable_diffusion_v1_5_vae": sd15}, os.path.join(OUT_DIR, "parameter_counts.json"))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check-ours":
        sys.exit(check_ours(sys.argv[2]))
    main()
