#!/usr/bin/python3
"""Reference values for Diffusion.Clip.FrechetDistance, computed the way pytorch-fid does it.

pytorch-fid's calculate_frechet_distance (src/pytorch_fid/fid_score.py): mean and np.cov(rowvar=False) of
each set, covmean = scipy.linalg.sqrtm(sigma1 @ sigma2), and
d^2 = |mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr(covmean). That formula is re-stated here (nothing
upstream is copied or imported); scipy's sqrtm (Schur method, float64) is the independent square root
the C# eigendecomposition route is checked against.

The embeddings are seeded float32 values (so the JSON round-trips them exactly) in several shapes:
full-rank covariances (N > D), N < D (singular covariances, as with few samples of 512-d CLIP
embeddings), unit-normalised rows (as ClipModel.EncodeImages returns them), and sets of different sizes.

Usage: /usr/bin/python3 tools/reference/frechet.py   (writes tests/reference/clip/frechet.json)
"""
import json
import os

import numpy as np
import scipy
import scipy.linalg

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(REPO_ROOT, "tests", "reference", "clip", "frechet.json")


def frechet(x1, x2):
    x1 = x1.astype(np.float64)
    x2 = x2.astype(np.float64)
    mu1, mu2 = x1.mean(axis=0), x2.mean(axis=0)
    s1, s2 = np.cov(x1, rowvar=False), np.cov(x2, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    if np.iscomplexobj(covmean):
        # sqrtm of a singular product carries imaginary rounding noise; pytorch-fid drops it the same way.
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def case(rng, name, n1, n2, d, normalise, shift, scale2):
    a = rng.standard_normal((n1, d)).astype(np.float32)
    b = (rng.standard_normal((n2, d)) * scale2 + shift).astype(np.float32)
    # Correlate the dimensions so that the covariances do not commute.
    mix = rng.standard_normal((d, d)).astype(np.float32) / np.sqrt(d)
    a = (a @ mix).astype(np.float32)
    b = (b @ (mix + np.float32(0.3) * rng.standard_normal((d, d)).astype(np.float32) / np.sqrt(d))).astype(np.float32)
    if normalise:
        a = (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)
        b = (b / np.linalg.norm(b, axis=1, keepdims=True)).astype(np.float32)
    return {
        "name": name,
        "first": {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]},
        "second": {"shape": list(b.shape), "data": [float(v) for v in b.reshape(-1)]},
        "full_rank": bool(min(n1, n2) > d),
        "distance": frechet(a, b),
    }


def main():
    rng = np.random.default_rng(20261203)
    cases = [
        case(rng, "full rank, shifted and scaled", 64, 48, 8, False, 0.5, 1.5),
        case(rng, "full rank, unit rows", 96, 80, 12, True, 0.2, 1.0),
        case(rng, "N < D, singular covariances", 10, 12, 16, False, 0.1, 1.2),
        case(rng, "N < D, unit rows", 9, 9, 24, True, 0.0, 1.0),
    ]
    doc = {
        "provenance": "tools/reference/frechet.py: pytorch-fid's formula (fid_score.calculate_frechet_distance) "
                      f"with scipy.linalg.sqrtm, numpy {np.__version__}, scipy {scipy.__version__}, float64",
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
        f.write("\n")
    for c in cases:
        print(c["name"], c["distance"])


if __name__ == "__main__":
    main()
