"""The input formulas and JSON number formats both scheduler reference scripts use (the C# tests repeat them:
tests/Diffusion.Core.Tests/Schedulers/SchedulerReference.cs).

  pseudo(shape, seed)[i] = float32(1.5 * sin(12.9898 * (i + 1) + 78.233 * seed)), i in row-major order
  model(x, t)            = x * (0.1 * cos(t / 100)) + 0.05 * sin(t / 50)         (a stand-in for a U-Net)
"""

import json
import math
import os

import numpy as np
import torch


def pseudo(shape, seed):
    n = int(np.prod(shape))
    vals = [1.5 * math.sin(12.9898 * (i + 1) + 78.233 * seed) for i in range(n)]
    return torch.tensor(vals, dtype=torch.float32).reshape(shape)


def model(x, t):
    return x * (0.1 * math.cos(t / 100.0)) + 0.05 * math.sin(t / 50.0)


def f32(values):
    """float32 values, written with 9 significant digits (enough to round-trip)."""
    if isinstance(values, torch.Tensor):
        values = values.detach().to(torch.float32).flatten().tolist()
    return [float("%.9g" % v) for v in np.asarray(values, dtype=np.float32).ravel()]


def f64(values):
    return [float(v) for v in np.asarray(values, dtype=np.float64).ravel()]


def write_references(out_dir, provenance, files):
    """Writes each {name: content} as compact JSON with the provenance first, through a temporary file."""
    os.makedirs(out_dir, exist_ok=True)
    for name, content in files.items():
        path = os.path.join(out_dir, name)
        text = json.dumps({"provenance": provenance, **content}, separators=(",", ":"))
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
        print(f"wrote {os.path.normpath(path)}: {len(text)} bytes")
