#!/usr/bin/python3
"""The PyTorch side of benchmarks/compare.sh: the book's U-Net (or diffusers' UNet2DModel) in PyTorch, timed the same way as ours.

The model is the book's own code (markhliu/DGAI utils/unet_util.py, with LayerNorm, Attention and the
DDIMScheduler from utils/ch15util.py), imported at run time from a checkout given with --dgai; nothing
upstream is copied here. Only a stand-in for the three einops patterns the book uses is ours.

With --model unet2d the model is instead huggingface/diffusers' own UNet2DModel (models/unets/unet_2d.py), imported
from the read-only layout at --diffusers (default /work/dt113, see shared/tools/diffusers-torch113), in the
google/ddpm-cifar10-32 configuration that tests/reference/unet2d/parameter_counts.json holds (written by
tools/reference/unet2d.py with diffusers' to_json_string). export then writes a diffusers model folder
(config.json + diffusion_pytorch_model.safetensors) that our UNet2DModel.FromPretrained reads, and the
training step is diffusers' train_unconditional.py step: DDPMScheduler.add_noise, MSE on the noise, AdamW.

With --model unet2dcond the model is diffusers' own UNet2DConditionModel (models/unets/unet_2d_condition.py) at
UNET2DCOND below (Stable Diffusion 1.5's layout at a quarter of its widths, 768-wide text states; the same as our
benchmarks' UNet2DConditionShapes.Reduced) on 4-channel latents with fixed text states of 77 tokens (exported in
io.safetensors as "encoder_hidden_states"); forward passes only.

Sub-commands (all print one line "RESULT {json}" that compare.sh reads):
  export  seeded weights, a fixed input and the model's output (safetensors, written by hand), and the
          model's FLOPs per forward pass and per training step, counted at the aten level
  run     time K forward passes (no_grad) or K training steps (forward + L1 loss + backward + AdamW)
  peak    time a square float32 (or bfloat16) matrix product: the machine's matmul GFLOP/s
  gpubench  on CUDA, in one process: forward passes and training steps at the shapes of our `gpu bench`
          (benchmarks/gpu/run-on-device.sh), float32 and bfloat16, and 2048² / 8192² matrix products

Usage: /usr/bin/python3 benchmarks/pytorch/compare.py --dgai /tmp/dgai export --out /tmp/cmp ...
"""
import argparse
import importlib.machinery
import json
import os
import resource
import statistics
import struct
import sys
import time
import types

import torch


# --- the book's code, loaded from the checkout -----------------------------------------------------

def _rearrange(t, pattern, **sizes):
    """The three einops patterns of the book, as reshapes and permutes."""
    pattern = " ".join(pattern.split())
    if pattern == "b (h c) x y -> b h c (x y)":
        b, hc, x, y = t.shape
        return t.reshape(b, sizes["h"], hc // sizes["h"], x * y)
    if pattern == "b h (x y) d -> b (h d) x y":
        b, h, _, d = t.shape
        return t.permute(0, 1, 3, 2).reshape(b, h * d, sizes["x"], sizes["y"])
    if pattern == "b c (h p1) (w p2) -> b (c p1 p2) h w":
        b, c, hp, wp = t.shape
        p1, p2 = sizes["p1"], sizes["p2"]
        t = t.reshape(b, c, hp // p1, p1, wp // p2, p2)
        return t.permute(0, 1, 3, 5, 2, 4).reshape(b, c * p1 * p2, hp // p1, wp // p2)
    raise NotImplementedError(pattern)


class _Rearrange(torch.nn.Module):
    def __init__(self, pattern, **sizes):
        super().__init__()
        self.pattern, self.sizes = pattern, sizes

    def forward(self, x):
        return _rearrange(x, self.pattern, **self.sizes)


def load_book(dgai):
    """Returns (unet_util module, ch15 namespace) from a DGAI checkout (needs utils/unet_util.py, utils/ch15util.py)."""
    einops = types.ModuleType("einops")
    einops.rearrange = _rearrange
    layers = types.ModuleType("einops.layers")
    layers_torch = types.ModuleType("einops.layers.torch")
    layers_torch.Rearrange = _Rearrange
    einops.layers, layers.torch = layers, layers_torch
    tqdm = types.ModuleType("tqdm")
    tqdm.tqdm = lambda it, *a, **k: it
    stand_ins = {"einops": einops, "einops.layers": layers, "einops.layers.torch": layers_torch, "tqdm": tqdm}
    for name, module in stand_ins.items():  # newer PyTorch (torch._dynamo) looks up every loaded module's spec
        module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    sys.modules.update(stand_ins)

    # ch15util.py imports PIL, torchvision and matplotlib at the top; run it from its first helper on
    # (normalisation, match_shape, clip, LayerNorm, Attention, DDIMScheduler), which needs only torch/numpy.
    with open(os.path.join(dgai, "utils", "ch15util.py")) as f:
        ch15_src = f.read()
    start = ch15_src.index("def normalize_to_neg_one_to_one")
    ch15 = types.ModuleType("utils.ch14util")
    ch15.torch = torch
    exec(compile(ch15_src[start:], "ch15util.py", "exec"), ch15.__dict__)
    utils = types.ModuleType("utils")
    utils.ch14util = ch15
    for name, module in (("utils", utils), ("utils.ch14util", ch15)):
        module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    sys.modules.update({"utils": utils, "utils.ch14util": ch15})
    with open(os.path.join(dgai, "utils", "unet_util.py")) as f:
        unet_src = f.read()
    unet_util = types.ModuleType("utils.unet_util")
    exec(compile(unet_src, "unet_util.py", "exec"), unet_util.__dict__)
    return unet_util, ch15


# --- diffusers' UNet2DModel (--model unet2d) -------------------------------------------------------

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNET2D_CONFIG = os.path.join(_REPO, "tests", "reference", "unet2d", "parameter_counts.json")
UNET2D_HUB_NAME = "google/ddpm-cifar10-32"


def load_diffusers(root):
    """Returns diffusers' (UNet2DModel, DDPMScheduler) classes from the torch-1.13 layout at `root`."""
    sys.path[:0] = [root, os.path.join(root, "stubs")]
    from diffusers.models.unets.unet_2d import UNet2DModel
    from diffusers.schedulers.scheduling_ddpm import DDPMScheduler
    return UNet2DModel, DDPMScheduler


# SD 1.5's unet/config.json with block_out_channels a quarter as wide (GroupNorm groups 16 so that 80 divides) and 2
# heads instead of 8, so that every head keeps SD 1.5's width (40, 80, 160, 160).
UNET2DCOND = dict(sample_size=32, block_out_channels=(80, 160, 320, 320), norm_num_groups=16, cross_attention_dim=768,
                  attention_head_dim=2)
TEXT_LENGTH = 77


def load_diffusers_condition(root):
    """Returns diffusers' UNet2DConditionModel class from the torch-1.13 layout at `root`."""
    sys.path[:0] = [root, os.path.join(root, "stubs")]
    from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
    return UNet2DConditionModel


class _Conditioned(torch.nn.Module):
    """Gives diffusers' UNet2DConditionModel the book's call shape with fixed text states: model(x, t)["sample"]."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet
        self.text = None

    def forward(self, sample, timesteps):
        return {"sample": self.unet(sample, timesteps, self.text.to(sample.dtype)).sample}


def unet2d_config():
    """The google/ddpm-cifar10-32 config.json as diffusers wrote it (tests/reference/unet2d/parameter_counts.json)."""
    with open(UNET2D_CONFIG) as f:
        config = json.load(f)["hub_models"][UNET2D_HUB_NAME]["config"]
    return {k: v for k, v in config.items() if not k.startswith("_")}


class _Sample(torch.nn.Module):
    """Gives diffusers' UNet2DModel the book's call shape: model(x, t)["sample"]."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timesteps):
        return {"sample": self.unet(sample, timesteps).sample}


class _AddNoise:
    """diffusers' DDPMScheduler (linear betas 1e-4..0.02, 1000 steps, train_unconditional.py's default) in the
    shape TrainStep wants."""

    def __init__(self, ddpm_class):
        self.inner = ddpm_class(num_train_timesteps=1000)

    def add_noise(self, clean, noise, t):
        return self.inner.add_noise(clean, noise, t)


# --- safetensors, by hand (Debian has no safetensors package) -------------------------------------

_CODES = {torch.float32: "F32", torch.int64: "I64", torch.bfloat16: "BF16"}
_TYPES = {v: k for k, v in _CODES.items()}


def save_safetensors(tensors, path):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": _CODES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        lo, hi = e["data_offsets"]
        dtype = _TYPES[e["dtype"]]
        buf = bytearray(data[lo:hi])
        if dtype == torch.bfloat16:
            t = torch.frombuffer(buf, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(buf, dtype=dtype)
        out[name] = t.reshape(e["shape"]).clone()
    return out


# --- FLOP counting at the aten level (torch.utils.flop_counter arrived after 1.13) ----------------

def count_flops(fn):
    """Runs fn() under a dispatch mode and returns the multiply-add FLOPs (2 per MAC) of convolutions and matrix products."""
    from torch.utils._python_dispatch import TorchDispatchMode

    aten = torch.ops.aten
    total = [0]

    def conv_flops(x_shape, w_shape, out_shape, transposed):
        n = out_shape[0]
        spatial = 1
        for s in (x_shape[2:] if transposed else out_shape[2:]):
            spatial *= s
        c_out, c_in_per_group = w_shape[0], w_shape[1]
        kernel = 1
        for k in w_shape[2:]:
            kernel *= k
        return 2 * n * spatial * c_out * c_in_per_group * kernel

    class Counter(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            packet = func.overloadpacket
            if packet is aten.convolution:
                total[0] += conv_flops(args[0].shape, args[1].shape, out.shape, args[6])
            elif packet is aten.convolution_backward:
                grad_out, x, w = args[0], args[1], args[2]
                mask = args[-1]
                one = conv_flops(x.shape, w.shape, grad_out.shape, args[7])
                total[0] += one * (int(mask[0]) + int(mask[1]))
            elif packet in (aten.mm, aten.addmm):
                a, b = (args[0], args[1]) if packet is aten.mm else (args[1], args[2])
                total[0] += 2 * a.shape[0] * a.shape[1] * b.shape[1]
            elif packet in (aten.bmm, aten.baddbmm):
                a, b = (args[0], args[1]) if packet is aten.bmm else (args[1], args[2])
                total[0] += 2 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]
            return out

    with Counter():
        fn()
    return total[0]


# --- the workloads ---------------------------------------------------------------------------------

def build(args, unet_util):
    dims = [int(d) for d in args.hidden_dims.split(",")]
    torch.manual_seed(args.seed)
    return unet_util.UNet(3, hidden_dims=dims, image_size=args.image_size)


def to_bfloat16(model):
    """Casts the book's model to bfloat16 weights and activations.

    PyTorch 1.13 cannot run the book's model in bfloat16 as it is: under CPU autocast, GroupNorm meets a
    bfloat16 input with float32 weights and fails; with bfloat16 weights, the float32 timestep embedding meets
    the first Linear unconverted. A pre-hook that casts the embedding is all that is needed (the model's code
    is untouched). AdamW then updates bfloat16 weights directly (ours keeps float32 master weights).
    """
    model.to(torch.bfloat16)
    model.time_embedding.register_forward_pre_hook(lambda module, inputs: (inputs[0].to(torch.bfloat16),))
    return model


class TrainStep:
    """The book's training step: x0 → [−1, 1], noise, random t, add_noise, predict, L1 (or MSE), backward, AdamW.

    Noise and timesteps are drawn on the CPU (as ours) and moved to `device` (a no-op on the CPU)."""

    def __init__(self, model, scheduler, x0, bf16, device=None, loss="l1"):
        self.model, self.scheduler, self.x0, self.bf16 = model, scheduler, x0, bf16
        self.loss = torch.nn.functional.mse_loss if loss == "mse" else torch.nn.functional.l1_loss
        self.device = device or torch.device("cpu")
        # The book's AdamW settings (lr 1e-4, betas (0.95, 0.999), weight decay 1e-5); ours uses the same.
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.95, 0.999), weight_decay=1e-5, eps=1e-8)
        self.generator = torch.Generator().manual_seed(0)

    def __call__(self):
        clean = self.x0 * 2 - 1
        noise = torch.randn(clean.shape, generator=self.generator).to(self.device)
        t = torch.randint(0, 1000, (clean.shape[0],), generator=self.generator).long().to(self.device)
        noisy = self.scheduler.add_noise(clean, noise, t)
        self.optimizer.zero_grad()
        prediction = self.model(noisy.to(torch.bfloat16) if self.bf16 else noisy, t)["sample"]
        loss = self.loss(prediction.float(), noise)
        loss.backward()
        self.optimizer.step()
        return loss.item()


def workload(model, ch15, mode, bf16, sample, timesteps, x0, device=None, scheduler=None, loss="l1"):
    """A no-argument function running one forward pass (no_grad) or one training step of `model`, with the
    inputs moved to `device` (None: where they are); `scheduler` (default the book's DDIMScheduler) adds the noise."""
    device = device or sample.device
    if mode == "forward":
        model.eval()
        sample, timesteps = sample.to(device), timesteps.to(device)
        if bf16:
            to_bfloat16(model)
            sample = sample.to(torch.bfloat16)

        def forward():
            with torch.no_grad():
                return model(sample, timesteps)["sample"]
        return forward
    model.train()
    if bf16:
        to_bfloat16(model)
    return TrainStep(model, scheduler or ch15.DDIMScheduler(), x0.to(device), bf16, device, loss)


def rss_peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def time_it(fn, steps, warmup, cpu=None):
    """Wall-clock ms of each of `steps` calls after `warmup` untimed ones; `cpu` receives each call's process CPU ms."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        cpu_start = time.process_time()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
        if cpu is not None:
            cpu.append((time.process_time() - cpu_start) * 1000.0)
    return times


def load_model(args):
    """(model with the book's call shape, scheduler for add_noise, loss name, weights file name) of --model."""
    if args.model == "unet2dcond":
        unet_class = load_diffusers_condition(args.diffusers)
        torch.manual_seed(args.seed)
        return _Conditioned(unet_class(**UNET2DCOND)), None, "mse", "diffusion_pytorch_model.safetensors"
    if args.model == "unet2d":
        unet_class, ddpm_class = load_diffusers(args.diffusers)
        torch.manual_seed(args.seed)
        return _Sample(unet_class(**unet2d_config())), _AddNoise(ddpm_class), "mse", "diffusion_pytorch_model.safetensors"
    unet_util, ch15 = load_book(args.dgai)
    return build(args, unet_util), ch15.DDIMScheduler(), "l1", "weights.safetensors"


def cmd_export(args):
    model, scheduler, loss, weights_name = load_model(args)
    model.eval()
    os.makedirs(args.out, exist_ok=True)
    g = torch.Generator().manual_seed(args.seed + 1)
    channels = 4 if args.model == "unet2dcond" else 3
    x0 = torch.rand(args.batch, channels, args.image_size, args.image_size, generator=g)  # images in [0, 1]
    sample = torch.randn(args.batch, channels, args.image_size, args.image_size, generator=g)
    timesteps = torch.randint(0, 1000, (args.batch,), generator=g)
    extra = {}
    if args.model == "unet2dcond":
        model.text = extra["encoder_hidden_states"] = torch.randn(args.batch, TEXT_LENGTH, UNET2DCOND["cross_attention_dim"], generator=g)
    with torch.no_grad():
        output = model(sample, timesteps)["sample"]
    if args.model in ("unet2d", "unet2dcond"):  # a diffusers model folder: config.json by diffusers' own writer, unprefixed keys
        with open(os.path.join(args.out, "config.json"), "w") as f:
            f.write(model.unet.to_json_string())
        save_safetensors(dict(model.unet.state_dict()), os.path.join(args.out, weights_name))
    else:
        save_safetensors(dict(model.state_dict()), os.path.join(args.out, weights_name))
    save_safetensors({"x0": x0, "sample": sample, "timesteps": timesteps, "output": output, **extra}, os.path.join(args.out, "io.safetensors"))

    with torch.no_grad():
        forward_flops = count_flops(lambda: model(sample, timesteps))
    if args.model == "unet2dcond":
        train_flops = 0  # forward passes only
    else:
        model.train()
        step = TrainStep(model, scheduler, x0, bf16=False, loss=loss)
        train_flops = count_flops(step)
    result = {"side": "pytorch", "mode": "export", "parameters": sum(p.numel() for p in model.parameters()),
              "forward_flops": forward_flops, "train_flops": train_flops, "torch": torch.__version__,
              "config": export_id(args), "model": args.model,
              "book": args.dgai if args.model == "book" else None}
    with open(os.path.join(args.out, "flops.json"), "w") as f:
        json.dump(result, f)
    print("RESULT " + json.dumps(result), flush=True)


def export_id(args):
    """What an export folder holds; compare.sh reuses a folder whose flops.json names the same."""
    if args.model == "unet2d":
        return f"unet2d:{UNET2D_HUB_NAME}@{args.image_size}x{args.batch}/seed{args.seed}"
    if args.model == "unet2dcond":
        return f"unet2dcond:sd15-quarter-2heads@{args.image_size}x{args.batch}/seed{args.seed}"
    return f"{args.hidden_dims}@{args.image_size}x{args.batch}/seed{args.seed}"


def cmd_run(args):
    model, scheduler, loss, weights_name = load_model(args)
    state = load_safetensors(os.path.join(args.weights, weights_name))
    (model.unet if args.model in ("unet2d", "unet2dcond") else model).load_state_dict(state, strict=True)
    io = load_safetensors(os.path.join(args.weights, "io.safetensors"))
    if args.model == "unet2dcond":
        model.text = io["encoder_hidden_states"]
    bf16 = args.dtype == "bfloat16"
    fn = workload(model, None, args.mode, bf16, io["sample"], io["timesteps"], io["x0"], scheduler=scheduler, loss=loss)
    cpu = []
    times = time_it(fn, args.steps, args.warmup, cpu)
    result = {"side": "pytorch", "model": args.model, "mode": args.mode, "dtype": args.dtype, "threads": torch.get_num_threads(),
              "batch": args.batch, "steps": args.steps, "ms": times, "ms_median": statistics.median(times),
              "cpu_ms": cpu, "cpu_ms_median": statistics.median(cpu), "load": " ".join(open("/proc/loadavg").read().split()[:3]),
              "rss_peak_mb": rss_peak_mb(), "torch": torch.__version__}
    print("RESULT " + json.dumps(result), flush=True)


# The shapes of our GpuCommand.BenchShapes: (hidden dims, image size, batch).
GPU_SHAPES = [("128,256,512,1024", 64, 1), ("128,256,512,1024", 64, 32), ("64,128,256,512", 64, 4),
              ("64,128,256,512", 64, 64), ("32,64,128,256", 32, 8), ("32,64,128,256", 32, 256)]


def cmd_gpubench(args):
    """Times the book's model on CUDA at GPU_SHAPES with seeded weights (timing only: ours checks its own
    CUDA results against its CPU results). Synchronises before every clock read; TF32 stays at PyTorch's
    defaults (off for matmul, on for cuDNN convolutions), which libtorch under TorchSharp shares."""
    unet_util, ch15 = load_book(args.dgai)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    shapes = GPU_SHAPES[:args.shapes] if args.shapes else GPU_SHAPES

    def timed(fn):
        for _ in range(3):
            fn()
        sync()
        times = []
        for _ in range(args.steps):
            start = time.perf_counter()
            fn()
            sync()
            times.append((time.perf_counter() - start) * 1000.0)
        return times

    base = {"side": "pytorch", "device": torch.cuda.get_device_name() if cuda else "cpu", "torch": torch.__version__,
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32, "tf32_cudnn": torch.backends.cudnn.allow_tf32}
    for size in (2048, 8192) if cuda else (256,):
        for dtype_name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
            a = torch.randn(size, size, device=device, dtype=dtype)
            b = torch.randn(size, size, device=device, dtype=dtype)
            times = timed(lambda: torch.mm(a, b))
            print("RESULT " + json.dumps({**base, "mode": "peak", "dtype": dtype_name, "size": size, "ms": times,
                                          "gflops_best": 2 * size ** 3 / (min(times) / 1000) / 1e9}), flush=True)
            del a, b
    for dims, image_size, batch in shapes:
        for mode in ("forward", "train"):
            for dtype_name in ("float32", "bfloat16"):
                bf16 = dtype_name == "bfloat16"
                torch.manual_seed(0)
                model = unet_util.UNet(3, hidden_dims=[int(d) for d in dims.split(",")], image_size=image_size).to(device)
                g = torch.Generator().manual_seed(1)
                x0 = torch.rand(batch, 3, image_size, image_size, generator=g)
                result = {**base, "mode": mode, "dtype": dtype_name, "hidden_dims": dims, "image_size": image_size, "batch": batch}
                try:
                    sample = torch.randn(x0.shape, generator=g)
                    t = torch.randint(0, 1000, (batch,), generator=g)
                    fn = workload(model, ch15, mode, bf16, sample, t, x0, device)
                    times = timed(fn)
                    result.update({"steps": args.steps, "ms": times, "ms_median": statistics.median(times),
                                   "images_per_s": batch / (statistics.median(times) / 1000),
                                   "max_memory_mb": torch.cuda.max_memory_allocated() / 2 ** 20 if cuda else None})
                except RuntimeError as e:  # out of memory at the largest shapes: the book's attention is quadratic
                    result["error"] = str(e).split("\n")[0][:200]
                print("RESULT " + json.dumps(result), flush=True)
                del model
                if cuda:
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats()


def cmd_peak(args):
    dtype = torch.bfloat16 if args.dtype == "bfloat16" else torch.float32
    g = torch.Generator().manual_seed(0)
    a = torch.randn(args.size, args.size, generator=g).to(dtype)
    b = torch.randn(args.size, args.size, generator=g).to(dtype)
    cpu = []
    times = time_it(lambda: torch.mm(a, b), args.steps, args.warmup, cpu)
    flops = 2 * args.size ** 3
    result = {"side": "pytorch", "mode": "peak", "dtype": args.dtype, "threads": torch.get_num_threads(), "size": args.size,
              "ms": times, "cpu_ms": cpu, "gflops_best": flops / (min(times) / 1000) / 1e9,
              "gflops_median": flops / (statistics.median(times) / 1000) / 1e9,
              "gflops_cpu_best": flops / (min(cpu) / 1000) / 1e9, "load": " ".join(open("/proc/loadavg").read().split()[:3])}
    print("RESULT " + json.dumps(result), flush=True)


def pct(gflops, peak, key):
    return f"{100 * gflops / peak[key]:.0f} %" if peak and key in peak else "n/a"


def cmd_summarize(args):
    """Reads the RESULT lines compare.sh collected (one JSON object per line, with "round") and prints the table.

    Ratios are medians over rounds of (ours / PyTorch) of each round's median step; GFLOP/s divide the counted
    FLOPs by the median wall time and by the median process CPU time (one thread: the work itself, far less
    disturbed by other processes), and the percentages compare the CPU-time figure with the same side's
    CPU-time matrix-multiply peak of that dtype.
    """
    rows = [json.loads(line) for line in open(args.results) if line.strip()]
    flops = next((r for r in rows if r.get("mode") == "export"), None)
    peaks = {(r["side"], r["dtype"]): r for r in rows if r.get("mode") == "peak"}
    runs = [r for r in rows if r.get("mode") in ("forward", "train")]
    print("| mode | dtype | PyTorch ms | ours ms | ours/PyTorch wall (range) | ours/PyTorch CPU time (range) "
          "| PyTorch GFLOP/s wall, CPU (% of peak) | ours GFLOP/s wall, CPU (% of peak) | images/s PyTorch | images/s ours | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    summary = []
    for mode in ("forward", "train"):
        for dtype in ("float32", "bfloat16"):
            mine = {r["round"]: r for r in runs if r["side"] == "ours" and r["mode"] == mode and r["dtype"] == dtype}
            theirs = {r["round"]: r for r in runs if r["side"] == "pytorch" and r["mode"] == mode and r["dtype"] == dtype}
            rounds = sorted(set(mine) & set(theirs))
            if not rounds:
                continue
            wall = [mine[k]["ms_median"] / theirs[k]["ms_median"] for k in rounds]
            cpu = [mine[k]["cpu_ms_median"] / theirs[k]["cpu_ms_median"] for k in rounds]
            ours_ms = statistics.median([mine[k]["ms_median"] for k in rounds])
            their_ms = statistics.median([theirs[k]["ms_median"] for k in rounds])
            ours_cpu = statistics.median([mine[k]["cpu_ms_median"] for k in rounds])
            their_cpu = statistics.median([theirs[k]["cpu_ms_median"] for k in rounds])
            batch = mine[rounds[0]]["batch"]
            work = (flops["forward_flops"] if mode == "forward" else flops["train_flops"]) if flops else float("nan")
            gf = lambda ms: work / (ms / 1000) / 1e9
            peak = peaks.get(("ours", dtype))
            their_peak = peaks.get(("pytorch", dtype)) or peaks.get(("pytorch", "float32"))
            loads = sorted(float(r["load"].split()[0]) for k in rounds for r in (mine[k], theirs[k]))
            print(f"| {mode} | {dtype} | {their_ms:.0f} | {ours_ms:.0f} | **{statistics.median(wall):.2f}** "
                  f"({min(wall):.2f}–{max(wall):.2f}) | **{statistics.median(cpu):.2f}** ({min(cpu):.2f}–{max(cpu):.2f}) "
                  f"| {gf(their_ms):.0f}, {gf(their_cpu):.0f} ({pct(gf(their_cpu), their_peak, 'gflops_cpu_best')}) "
                  f"| {gf(ours_ms):.0f}, {gf(ours_cpu):.0f} ({pct(gf(ours_cpu), peak, 'gflops_cpu_best')}) "
                  f"| {batch / (their_ms / 1000):.2f} | {batch / (ours_ms / 1000):.2f} | {loads[0]:.1f}–{loads[-1]:.1f} |")
            summary.append({"mode": mode, "dtype": dtype, "ratio_wall": statistics.median(wall), "ratio_cpu": statistics.median(cpu),
                            "ours_ms": ours_ms, "pytorch_ms": their_ms, "ours_cpu_ms": ours_cpu, "pytorch_cpu_ms": their_cpu,
                            "rounds": len(rounds)})
    print()
    for (side, dtype), r in sorted(peaks.items()):
        cpu_part = f", {r['gflops_cpu_best']:.0f} by CPU time" if "gflops_cpu_best" in r else ""
        print(f"- matmul peak, {side} {dtype}, {r['size']}×{r['size']}, {r['threads']} thread(s): {r['gflops_best']:.0f} GFLOP/s best wall"
              f"{cpu_part} (load {r.get('load', 'n/a')})")
    if flops:
        which = {"unet2d": "UNet2DModel", "unet2dcond": "UNet2DConditionModel"}.get(flops.get("model"), "book's")
        print(f"- FLOPs (aten-level count of the {which} model, per batch): forward {flops['forward_flops'] / 1e9:.1f} G, "
              f"training step {flops['train_flops'] / 1e9:.1f} G")
    print("SUMMARY " + json.dumps(summary))


def cmd_gpusummary(args):
    """Prints the table of docs/performance.md §8 from ours.jsonl (our `gpu bench` / `gpu sample`) and
    pytorch.jsonl (gpubench), matched by mode, dtype, widths, image size and batch."""
    ours = [json.loads(line) for line in open(args.ours) if line.strip()]
    if args.variant:
        ours = [r for r in ours if r.get("variant", "new") == args.variant or r["mode"] == "sample"]
    theirs = [json.loads(line) for line in open(args.pytorch) if line.strip()]
    key = lambda r: (r["mode"], r["dtype"], r.get("hidden_dims"), r.get("image_size"), r.get("batch"), r.get("size"))
    by_key = {key(r): r for r in theirs}
    print("| U-Net | batch | mode | dtype | PyTorch ms | ours ms | ours/PyTorch | images/s PyTorch | images/s ours | PyTorch peak GPU memory |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in ours:
        p = by_key.get(key(r))
        if r["mode"] not in ("forward", "train") or p is None or "ms_median" not in p or "ms_median" not in r:
            continue
        print(f"| [{r['hidden_dims']}]@{r['image_size']} | {r['batch']} | {r['mode']} | {r['dtype']} | {p['ms_median']:.2f} "
              f"| {r['ms_median']:.2f} | **{r['ms_median'] / p['ms_median']:.2f}** | {p['images_per_s']:.0f} | {r['images_per_s']:.0f} "
              f"| {p['max_memory_mb'] / 1024:.1f} GiB |")
    print()
    for r in ours:
        p = by_key.get(key(r))
        if r["mode"] == "peak" and p is not None:
            print(f"- matmul {r['size']}² {r['dtype']}: ours {r['gflops_best'] / 1000:.1f} TFLOP/s, PyTorch {p['gflops_best'] / 1000:.1f} TFLOP/s")
    for r in ours:
        if r["mode"] == "sample" and "plain_step_ms_median" in r:
            print(f"- sampling, Diffusion.Core {r.get('variant', '?')}, [{r['hidden_dims']}]@{r['image_size']} batch {r['batch']}: "
                  f"step {r['plain_step_ms_median']:.2f} ms, bare forward {r['bare_forward_ms_median']:.2f} ms, "
                  f"overhead {100 * r['plain_overhead_fraction']:.1f} %")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dgai", default=os.environ.get("DGAI_DIR", "/tmp/dgai"), help="checkout of markhliu/DGAI (needs utils/)")
    parser.add_argument("--model", choices=["book", "unet2d", "unet2dcond"], default="book",
                        help="book: the book's U-Net from --dgai; unet2d: diffusers' UNet2DModel (google/ddpm-cifar10-32) from --diffusers; "
                             "unet2dcond: diffusers' UNet2DConditionModel (SD 1.5 at a quarter of its widths) from --diffusers")
    parser.add_argument("--diffusers", default=os.environ.get("DIFFUSERS_DT113", "/work/dt113"),
                        help="diffusers laid out for PyTorch 1.13 (shared/tools/diffusers-torch113)")
    parser.add_argument("--hidden-dims", default="64,128,256,512")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export")
    export.add_argument("--out", required=True)
    run = sub.add_parser("run")
    run.add_argument("--weights", required=True, help="the folder export wrote")
    run.add_argument("--mode", choices=["forward", "train"], default="forward")
    peak = sub.add_parser("peak")
    peak.add_argument("--size", type=int, default=2048)
    gpusummary = sub.add_parser("gpusummary")
    gpusummary.add_argument("--ours", required=True)
    gpusummary.add_argument("--pytorch", required=True)
    gpusummary.add_argument("--variant", default="", help="only our results of this variant (new, old); sampling rows always")
    gpubench = sub.add_parser("gpubench")
    gpubench.add_argument("--device", default="cuda", help="cuda, or cpu to try the script out")
    gpubench.add_argument("--shapes", type=int, default=0, help="only the first N shapes (0: all)")
    summarize = sub.add_parser("summarize")
    summarize.add_argument("--results", required=True, help="a file of RESULT json lines")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    {"export": cmd_export, "run": cmd_run, "peak": cmd_peak, "gpubench": cmd_gpubench, "gpusummary": cmd_gpusummary,
     "summarize": cmd_summarize}[args.command](args)


if __name__ == "__main__":
    main()
