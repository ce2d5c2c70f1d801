#!/usr/bin/python3
"""Reference files for Diffusion.Pipelines.StableDiffusionPipeline and the Stable Diffusion text encoder.

Builds a tiny Stable Diffusion pipeline folder laid out as diffusers' StableDiffusionPipeline.save_pretrained writes
one (model_index.json, text_encoder/, tokenizer/, unet/, vae/, scheduler/), with seeded random weights, and runs the
sampling loops of diffusers' StableDiffusionPipeline.__call__ and StableDiffusionImg2ImgPipeline.__call__ step by step
(src/diffusers/pipelines/stable_diffusion/pipeline_stable_diffusion.py and pipeline_stable_diffusion_img2img.py at
the diffusers commit below: encode_prompt, prepare_latents, get_timesteps, the denoising loop, vae.decode,
postprocess) on diffusers' own model and scheduler code (UNet2DConditionModel, AutoencoderKL, PNDMScheduler,
EulerDiscreteScheduler verbatim from /work/dt113, see shared/tools/diffusers-torch113; nothing upstream is committed).

There is no `transformers` package here, so the text encoder is Hugging Face's CLIPTextModel forward written out below
in torch (embeddings, pre-LN causal transformer, final LayerNorm; quick_gelu or gelu), and the tokenizer is CLIP's BPE
written out below on a tiny vocabulary (the 512 byte-level symbols, a few merges, the two special tokens last).

Writes (every file well under 1 MB):
  tests/reference/sd/tiny/...               the pipeline folder (configs by diffusers' own to_json_string)
  tests/reference/sd/text-gelu/...          an SD 2 style text_encoder/ (hidden_act gelu) + tokenizer/ padding with "!"
  tests/reference/sd/io.safetensors         token ids, text embeddings, noise, final latents, images
  tests/reference/sd/reference.json         the cases' parameters and provenance

Usage: /usr/bin/python3 tools/reference/stable_diffusion.py
"""
import json
import os
import shutil
import subprocess
import sys

os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before torch: bit-stable results
DT113 = "/work/dt113"
sys.path[:0] = [DT113, DT113 + "/stubs", os.path.dirname(os.path.abspath(__file__))]

import regex  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from clip_parity import write_safetensors  # noqa: E402
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL  # noqa: E402
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel  # noqa: E402
from diffusers.schedulers.scheduling_euler_discrete import EulerDiscreteScheduler  # noqa: E402
from diffusers.schedulers.scheduling_pndm import PNDMScheduler  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "reference", "sd")
DIFFUSERS_GIT = "/work/.mirror/huggingface+diffusers/repo"

CONTEXT = 77                  # the tokenizer's model_max_length and the text encoder's max_position_embeddings
TEXT = dict(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_hidden_layers=2, layer_norm_eps=1e-5)
MERGES = [("r", "e"), ("re", "d</w>"), ("t", "u"), ("l", "i"), ("tu", "li"), ("tuli", "p</w>"), ("g", "a"), ("i", "n</w>")]

# Widths are multiples of 8 with 4 groups: small enough for files well under 1 MB, structurally SD 1's UNet (cross-attention
# down and up blocks, a cross-attention mid block, 2 levels) and VAE (4 levels: the factor 8 between pixels and latents).
UNET = dict(sample_size=8, in_channels=4, out_channels=4, block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
            cross_attention_dim=TEXT["hidden_size"], attention_head_dim=2)
VAE = dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 8, 16, 16), layers_per_block=1, norm_num_groups=4,
           down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, sample_size=64)
# Stable Diffusion 1.5's scheduler/scheduler_config.json
SCHEDULER = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", set_alpha_to_one=False,
                 skip_prk_steps=True, steps_offset=1)

TXT2IMG = dict(prompt="a red tulip in a garden", negative_prompt=None, steps=8, guidance_scale=7.5, seed=0, count=2, size=64)
IMG2IMG = dict(prompt="a red tulip, oil painting", negative_prompt="blurry", steps=10, guidance_scale=7.5, seed=1, count=1,
               strength=0.6, size=64)


def git_head(git_dir):
    return subprocess.check_output(["git", "-C", git_dir, "rev-parse", "HEAD"], text=True).strip()


# --- CLIP's tokenizer (openai/CLIP simple_tokenizer.py, Hugging Face CLIPTokenizer), ASCII prompts only ---------------

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def build_vocab():
    symbols = list(bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in MERGES] + ["<|startoftext|>", "<|endoftext|>"]
    return {token: i for i, token in enumerate(vocab)}


def bpe(word):
    parts = list(word[:-1]) + [word[-1] + "</w>"]
    ranks = {m: i for i, m in enumerate(MERGES)}
    while len(parts) > 1:
        pairs = [(ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
        rank, i = min(pairs)
        if rank == 1 << 30:
            break
        parts[i:i + 2] = [parts[i] + parts[i + 1]]  # the leftmost occurrence of the best pair first, as CLIP (one pair per round)
    return parts


PATTERN = regex.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
                        regex.IGNORECASE)


def tokenize(text, vocab, pad_id):
    """CLIPTokenizer(text, padding="max_length", max_length=77, truncation=True).input_ids"""
    byte_map = bytes_to_unicode()
    ids = []
    for piece in PATTERN.findall(" ".join(text.split()).strip().lower()):
        ids += [vocab[t] for t in bpe("".join(byte_map[b] for b in piece.encode("utf-8")))]
    ids = [vocab["<|startoftext|>"]] + ids[:CONTEXT - 2] + [vocab["<|endoftext|>"]]
    return ids + [pad_id] * (CONTEXT - len(ids))


def write_tokenizer(folder, vocab, pad_token):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in MERGES))
    special = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "pad_token": pad_token}
    with open(os.path.join(folder, "special_tokens_map.json"), "w") as f:
        json.dump(special, f, indent=2)
    config = dict(special, add_prefix_space=False, do_lower_case=True, errors="replace", model_max_length=CONTEXT,
                  tokenizer_class="CLIPTokenizer")
    # transformers writes added tokens as AddedToken objects; the loader must read both forms
    config["pad_token"] = {"__type": "AddedToken", "content": pad_token, "lstrip": False, "normalized": True, "rstrip": False,
                           "single_word": False}
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)


# --- Hugging Face CLIPTextModel (modeling_clip.py: CLIPTextTransformer), written out ---------------------------------

def text_weights(vocab_size, seed):
    torch.manual_seed(seed)
    c, inner, layers = TEXT["hidden_size"], TEXT["intermediate_size"], TEXT["num_hidden_layers"]
    w = {"text_model.embeddings.token_embedding.weight": 0.5 * torch.randn(vocab_size, c),
         "text_model.embeddings.position_embedding.weight": 0.1 * torch.randn(CONTEXT, c),
         "text_model.final_layer_norm.weight": 1 + 0.2 * torch.randn(c), "text_model.final_layer_norm.bias": 0.1 * torch.randn(c)}
    for i in range(layers):
        p = f"text_model.encoder.layers.{i}."
        for name, shape in [("self_attn.q_proj", (c, c)), ("self_attn.k_proj", (c, c)), ("self_attn.v_proj", (c, c)),
                            ("self_attn.out_proj", (c, c)), ("mlp.fc1", (inner, c)), ("mlp.fc2", (c, inner))]:
            w[p + name + ".weight"] = torch.randn(shape) / shape[1] ** 0.5
            w[p + name + ".bias"] = 0.1 * torch.randn(shape[0])
        for norm in ("layer_norm1", "layer_norm2"):
            w[p + norm + ".weight"] = 1 + 0.2 * torch.randn(c)
            w[p + norm + ".bias"] = 0.1 * torch.randn(c)
    return w


def text_forward(w, ids, act):
    """last_hidden_state of CLIPTextModel(input_ids) (no attention mask: Stable Diffusion passes none)."""
    c, heads = TEXT["hidden_size"], TEXT["num_attention_heads"]
    d = c // heads
    eps = TEXT["layer_norm_eps"]
    n, t = ids.shape
    x = w["text_model.embeddings.token_embedding.weight"][ids] + w["text_model.embeddings.position_embedding.weight"][:t]
    causal = torch.full((t, t), torch.finfo(torch.float32).min).triu(1)  # transformers' _create_4d_causal_attention_mask
    for i in range(TEXT["num_hidden_layers"]):
        p = f"text_model.encoder.layers.{i}."

        def lin(name, v):
            return F.linear(v, w[p + name + ".weight"], w[p + name + ".bias"])

        h = F.layer_norm(x, (c,), w[p + "layer_norm1.weight"], w[p + "layer_norm1.bias"], eps)
        q = (lin("self_attn.q_proj", h) * d ** -0.5).view(n, t, heads, d).transpose(1, 2)  # [N, heads, T, d]
        k = lin("self_attn.k_proj", h).view(n, t, heads, d).transpose(1, 2)
        v = lin("self_attn.v_proj", h).view(n, t, heads, d).transpose(1, 2)
        attn = torch.softmax(q @ k.transpose(-1, -2) + causal, dim=-1) @ v  # [N, heads, T, d]
        x = x + lin("self_attn.out_proj", attn.transpose(1, 2).reshape(n, t, c))
        h = F.layer_norm(x, (c,), w[p + "layer_norm2.weight"], w[p + "layer_norm2.bias"], eps)
        h = lin("mlp.fc1", h)
        h = h * torch.sigmoid(1.702 * h) if act == "quick_gelu" else F.gelu(h)
        x = x + lin("mlp.fc2", h)
    return F.layer_norm(x, (c,), w["text_model.final_layer_norm.weight"], w["text_model.final_layer_norm.bias"], eps)


def write_text_encoder(folder, w, act, vocab_size, with_position_ids):
    os.makedirs(folder, exist_ok=True)
    tensors = dict(w)
    if with_position_ids:  # older transformers saved this buffer; the loader must skip it
        tensors["text_model.embeddings.position_ids"] = torch.arange(CONTEXT).unsqueeze(0)
    write_safetensors(os.path.join(folder, "model.safetensors"), tensors, {"format": "pt"})
    config = dict(TEXT, architectures=["CLIPTextModel"], model_type="clip_text_model", vocab_size=vocab_size,
                  max_position_embeddings=CONTEXT, hidden_act=act, projection_dim=TEXT["hidden_size"], bos_token_id=0,
                  eos_token_id=2, pad_token_id=1, initializer_factor=1.0, initializer_range=0.02, attention_dropout=0.0,
                  dropout=0.0, torch_dtype="float32", transformers_version="4.25.0.dev0")
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)


# --- the models ------------------------------------------------------------------------------------------------------

def perturb_norms(model, seed):
    """Norm gains and biases away from 1 and 0 (and every zero-initialised tensor given values), so a port that skips one fails."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith(".weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif "norm" in name and name.endswith(".bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif bool((p == 0).all()):
                p.copy_(0.05 * torch.randn_like(p))


def write_model(model, folder):
    os.makedirs(folder, exist_ok=True)
    write_safetensors(os.path.join(folder, "diffusion_pytorch_model.safetensors"), model.state_dict(), {"format": "pt"})
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(model.to_json_string())


# --- the pipelines' loops ----------------------------------------------------------------------------------------------

def encode_prompt(w, vocab, pad_id, prompt, negative_prompt, count, guidance):
    """StableDiffusionPipeline.encode_prompt: ids, embeddings, repeated per image, [negative; positive] under guidance."""
    ids = torch.tensor([tokenize(prompt, vocab, pad_id)])
    embeds = text_forward(w, ids, "quick_gelu").repeat(1, count, 1).view(count, CONTEXT, -1)
    uncond_ids = torch.tensor([tokenize(negative_prompt or "", vocab, pad_id)])
    if guidance > 1:
        negative = text_forward(w, uncond_ids, "quick_gelu").repeat(1, count, 1).view(count, CONTEXT, -1)
        embeds = torch.cat([negative, embeds])
    return ids, uncond_ids, embeds


def denoise(unet, scheduler, latents, timesteps, embeds, guidance, generator):
    step_kwargs = {"generator": generator} if isinstance(scheduler, EulerDiscreteScheduler) else {}  # prepare_extra_step_kwargs
    for t in timesteps:
        model_input = torch.cat([latents] * 2) if guidance > 1 else latents
        model_input = scheduler.scale_model_input(model_input, t)
        noise_pred = unet(model_input, t, encoder_hidden_states=embeds, return_dict=False)[0]
        if guidance > 1:
            uncond, text = noise_pred.chunk(2)
            noise_pred = uncond + guidance * (text - uncond)
        latents = scheduler.step(noise_pred, t, latents, **step_kwargs, return_dict=False)[0]
    return latents


def decode(vae, latents):
    image = vae.decode(latents / vae.config.scaling_factor, return_dict=False)[0]
    return (image / 2 + 0.5).clamp(0, 1)  # VaeImageProcessor.denormalize


def main():
    torch.set_num_threads(1)
    if os.path.isdir(OUT_DIR):
        shutil.rmtree(OUT_DIR)
    tiny = os.path.join(OUT_DIR, "tiny")
    vocab = build_vocab()
    eot = vocab["<|endoftext|>"]

    # text encoder + tokenizer: SD 1 style (quick_gelu, padding with <|endoftext|>)
    w = text_weights(len(vocab), 11)
    write_text_encoder(os.path.join(tiny, "text_encoder"), w, "quick_gelu", len(vocab), with_position_ids=True)
    write_tokenizer(os.path.join(tiny, "tokenizer"), vocab, "<|endoftext|>")

    torch.manual_seed(12)
    unet = UNet2DConditionModel(**UNET).eval()
    perturb_norms(unet, 13)
    write_model(unet, os.path.join(tiny, "unet"))
    torch.manual_seed(14)
    vae = AutoencoderKL(**VAE).eval()
    perturb_norms(vae, 15)
    write_model(vae, os.path.join(tiny, "vae"))
    pndm = PNDMScheduler(**SCHEDULER)
    os.makedirs(os.path.join(tiny, "scheduler"))
    with open(os.path.join(tiny, "scheduler", "scheduler_config.json"), "w") as f:
        f.write(pndm.to_json_string())
    model_index = {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.33.0.dev0",
                   "feature_extractor": ["transformers", "CLIPImageProcessor"], "requires_safety_checker": True,
                   "safety_checker": ["stable_diffusion", "StableDiffusionSafetyChecker"], "scheduler": ["diffusers", "PNDMScheduler"],
                   "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
                   "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}
    with open(os.path.join(tiny, "model_index.json"), "w") as f:
        json.dump(model_index, f, indent=2, sort_keys=True)

    io = {}
    with torch.no_grad():
        # text to image: PNDM from the folder, "" as the unconditional prompt
        c = TXT2IMG
        ids, uncond_ids, embeds = encode_prompt(w, vocab, eot, c["prompt"], c["negative_prompt"], c["count"], c["guidance_scale"])
        generator = torch.Generator().manual_seed(c["seed"])
        pndm.set_timesteps(c["steps"])
        noise = torch.randn([c["count"], 4, c["size"] // 8, c["size"] // 8], generator=generator)
        latents = denoise(unet, pndm, noise * pndm.init_noise_sigma, pndm.timesteps, embeds, c["guidance_scale"], generator)
        io.update({"txt2img.prompt_ids": ids, "txt2img.uncond_ids": uncond_ids, "txt2img.embeds": embeds, "txt2img.noise": noise,
                   "txt2img.timesteps": pndm.timesteps.clone(), "txt2img.latents": latents, "txt2img.images": decode(vae, latents)})

        # image to image: Euler (the folder's config), a negative prompt, strength 0.6
        c = IMG2IMG
        ids, uncond_ids, embeds = encode_prompt(w, vocab, eot, c["prompt"], c["negative_prompt"], c["count"], c["guidance_scale"])
        generator = torch.Generator().manual_seed(c["seed"])
        # from the folder's written config, as the C# test reads it: pndm.config itself would carry "_use_default_values",
        # which makes from_config drop timestep_spacing ("leading") for Euler's own default ("linspace")
        with open(os.path.join(tiny, "scheduler", "scheduler_config.json")) as f:
            euler = EulerDiscreteScheduler.from_config(dict(json.load(f), _class_name="EulerDiscreteScheduler"))
        ys, xs = torch.meshgrid(torch.linspace(0, 1, c["size"]), torch.linspace(0, 1, c["size"]), indexing="ij")
        init = torch.stack([xs, ys, 0.5 + 0.4 * torch.sin(6 * xs * ys)]).unsqueeze(0)  # [1, 3, H, W] in [0, 1]
        euler.set_timesteps(c["steps"])
        init_timestep = min(int(c["steps"] * c["strength"]), c["steps"])  # get_timesteps
        t_start = max(c["steps"] - init_timestep, 0)
        timesteps = euler.timesteps[t_start * euler.order:]
        euler.set_begin_index(t_start * euler.order)
        posterior = vae.encode(init * 2 - 1).latent_dist  # VaeImageProcessor.normalize
        init_latents = vae.config.scaling_factor * posterior.sample(generator)  # prepare_latents (retrieve_latents, sample mode)
        noise = torch.randn(init_latents.shape, generator=generator)
        start = euler.add_noise(init_latents, noise, timesteps[:1].repeat(c["count"]))
        latents = denoise(unet, euler, start, timesteps, embeds, c["guidance_scale"], generator)
        io.update({"img2img.prompt_ids": ids, "img2img.uncond_ids": uncond_ids, "img2img.init_image": init,
                   "img2img.posterior_mean": posterior.mean, "img2img.init_latents": init_latents, "img2img.timesteps": timesteps.clone(),
                   "img2img.start_latents": start, "img2img.latents": latents, "img2img.images": decode(vae, latents)})

        # SD 2 style text encoder: gelu, padding with "!" (id 0); one short prompt and one longer than 77 tokens
        gelu = os.path.join(OUT_DIR, "text-gelu")
        wg = text_weights(len(vocab), 16)
        write_text_encoder(os.path.join(gelu, "text_encoder"), wg, "gelu", len(vocab), with_position_ids=False)
        write_tokenizer(os.path.join(gelu, "tokenizer"), vocab, "!")
        prompts = ["a red tulip in a garden", " ".join(["red tulip"] * 40)]  # 82 tokens: truncated to 77
        gids = torch.tensor([tokenize(p, vocab, vocab["!"]) for p in prompts])
        io.update({"gelu.ids": gids, "gelu.hidden": text_forward(wg, gids, "gelu")})

    write_safetensors(os.path.join(OUT_DIR, "io.safetensors"), {k: v.contiguous().float() if v.is_floating_point() else v
                                                                 for k, v in io.items()}, {"format": "pt"})
    reference = {
        "provenance": {
            "what": "StableDiffusionPipeline / StableDiffusionImg2ImgPipeline loops on diffusers' UNet2DConditionModel, AutoencoderKL, "
                    "PNDMScheduler, EulerDiscreteScheduler; Hugging Face CLIPTextModel forward and CLIPTokenizer written out in torch",
            "upstream": "huggingface/diffusers at " + git_head(DIFFUSERS_GIT),
            "script": "tools/reference/stable_diffusion.py",
            "torch": torch.__version__,
        },
        "txt2img": TXT2IMG, "img2img": IMG2IMG, "gelu_prompts": prompts,
        "max_abs": {k: float(v.abs().max()) for k, v in io.items() if v.is_floating_point()},
    }
    with open(os.path.join(OUT_DIR, "reference.json"), "w") as f:
        json.dump(reference, f, indent=2)
    for root, _, files in os.walk(OUT_DIR):
        for name in files:
            print(os.path.relpath(os.path.join(root, name), OUT_DIR), os.path.getsize(os.path.join(root, name)))
    print(json.dumps(reference["max_abs"], indent=1))


if __name__ == "__main__":
    main()
