#!/usr/bin/python3
"""Reference values for Diffusion.Clip.ClipLoss and SigLipLoss from open_clip's own loss classes.

Imports src/open_clip/loss.py from the local open_clip snapshot at run time (nothing upstream is
committed; only torch is needed: its optional distributed imports fall back by themselves or are
stubbed, and torch.compiler.disable, which torch 1.13 lacks, is stubbed as a no-op decorator), runs ClipLoss and SigLipLoss (world_size 1) on seeded normalised features, and
writes losses and gradients to tests/reference/clip/losses.json.

Usage: /usr/bin/python3 tools/reference/clip_losses.py
"""
import json
import os
import subprocess
import sys
import types

import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(REPO_ROOT, "tests", "reference", "clip", "losses.json")
OPEN_CLIP_GIT = "/work/.mirror/mlfoundations+open_clip/repo"
LOSS_PATH = "src/open_clip/loss.py"


def git(*args):
    return subprocess.check_output(["git", "-C", OPEN_CLIP_GIT, *args], text=True)


def load_loss_module():
    source = git("show", "HEAD:" + LOSS_PATH)
    try:
        import torch.distributed.nn  # noqa: F401  (present in Debian's build; the module falls back otherwise)
    except ImportError:
        sys.modules["torch.distributed.nn"] = types.ModuleType("torch.distributed.nn")
    if not hasattr(torch, "compiler"):
        # torch 1.13 predates torch.compiler; loss.py only uses it to decorate a helper we do not call.
        torch.compiler = types.SimpleNamespace(disable=lambda fn=None, **_: fn if fn is not None else (lambda f: f))
    module = types.ModuleType("open_clip_loss")
    exec(compile(source, "open_clip/" + LOSS_PATH, "exec"), module.__dict__)
    return module


def values(t):
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def case(loss_module, kind, n, dim, scale, bias, seed):
    g = torch.Generator().manual_seed(seed)
    image = torch.randn(n, dim, generator=g)
    text = image + 0.8 * torch.randn(n, dim, generator=g)  # matched pairs are similar, as after some training
    image = (image / image.norm(dim=1, keepdim=True)).requires_grad_()
    text = (text / text.norm(dim=1, keepdim=True)).requires_grad_()
    logit_scale = torch.tensor(scale)
    if kind == "clip":
        loss = loss_module.ClipLoss()(image, text, logit_scale)
        grads = torch.autograd.grad(loss, [image, text])
        extra = {}
    else:
        logit_bias = torch.tensor(bias, requires_grad=True)
        loss = loss_module.SigLipLoss()(image, text, logit_scale, logit_bias)
        grads = torch.autograd.grad(loss, [image, text, logit_bias])
        extra = {"logit_bias": bias, "grad_logit_bias": float(grads[2])}
    return {
        "kind": kind, "n": n, "dim": dim, "logit_scale": scale,
        "image_features": values(image), "text_features": values(text),
        "loss": float(loss), "grad_image": values(grads[0]), "grad_text": values(grads[1]), **extra,
    }


def main():
    torch.set_num_threads(1)
    loss_module = load_loss_module()
    cases = [
        case(loss_module, "clip", 4, 8, 1 / 0.07, None, 1),
        case(loss_module, "clip", 7, 5, 100.0, None, 2),
        case(loss_module, "clip", 1, 3, 14.0, None, 3),
        case(loss_module, "siglip", 4, 8, 10.0, -10.0, 4),
        case(loss_module, "siglip", 6, 5, 14.285714, -3.5, 5),
        case(loss_module, "siglip", 1, 3, 10.0, 0.25, 6),
    ]
    reference = {
        "provenance": {
            "upstream": f"mlfoundations/open_clip {LOSS_PATH} at {git('rev-parse', 'HEAD').strip()} (ClipLoss, SigLipLoss, world_size 1)",
            "script": "tools/reference/clip_losses.py",
            "torch": torch.__version__,
            "note": "features are L2-normalised; logit_scale is the already-exponentiated temperature, as open_clip passes it",
        },
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(reference, f)
    print("written", OUT)


if __name__ == "__main__":
    main()
