"""Reference values for Diffusion.Schedulers (tests/Diffusion.Core.Tests/Schedulers).

Runs the real diffusers scheduler files and the book's DDIMScheduler (see schedulers_upstream.py)
and writes tests/reference/schedulers/*.json.

    /usr/bin/python3 tools/reference/schedulers.py

Inputs are made by formulas the C# tests repeat exactly (both sides compute them in float64 with
libm's sin/cos, then round to float32), so only the inputs of single steps and the outputs need to
be stored:
  pseudo(shape, seed)[i] = float32(1.5 * sin(12.9898 * (i + 1) + 78.233 * seed)), i in row-major order
  model(x, t)            = x * (0.1 * cos(t / 100)) + 0.05 * sin(t / 50)         (a stand-in for a U-Net)
  learned(x, t)          = cat([model(x, t), clamp(x, -1, 1) * (0.2 * cos(t / 70)) + 0.25], dim=1)
  loop start sample      = pseudo(shape, 7) * init_noise_sigma
  loop noise of step k   = pseudo(shape, 1000 + k)                                 (k counts from 0)
"""

import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import schedulers_upstream  # noqa: E402
from scheduler_inputs import f32, f64, model, pseudo, write_references  # noqa: E402,F401

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference", "schedulers")
SHAPE = [2, 2, 3, 3]
LEARNED_SHAPE = [1, 3, 2, 2]  # DPM-Solver cuts learned variance at 3 channels

torch.set_num_threads(1)
CLASSES, BOOK, PROVENANCE = schedulers_upstream.load()
NOISE_QUEUE = schedulers_upstream.NOISE_QUEUE


def learned(x, t):
    return torch.cat([model(x, t), x.clamp(-1.0, 1.0) * (0.2 * math.cos(t / 70.0)) + 0.25], dim=1)


def make(config):
    kwargs = {k: v for k, v in config.items() if k != "_class_name"}
    return CLASSES[config["_class_name"]](**kwargs)


def is_learned(config):
    return config.get("variance_type") in ("learned", "learned_range")


# ---------------------------------------------------------------- beta schedules
SCHEDULES = [
    {"beta_schedule": "linear"},
    {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012},
    {"beta_schedule": "squaredcos_cap_v2"},
    {"beta_schedule": "linear", "rescale_betas_zero_snr": True},
    {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "rescale_betas_zero_snr": True},
    {"beta_schedule": "squaredcos_cap_v2", "rescale_betas_zero_snr": True},
    {"beta_schedule": "linear", "num_train_timesteps": 100, "beta_start": 0.001, "beta_end": 0.03},
]


def schedules():
    out = []
    for cfg in SCHEDULES:
        s = make({"_class_name": "DDPMScheduler", **cfg})
        out.append({"config": cfg, "alphas_cumprod": f32(s.alphas_cumprod)})
    book = BOOK.DDIMScheduler(num_train_timesteps=1000)
    out.append({"config": {"beta_schedule": "clipped_cosine"}, "source": "book DDIMScheduler(num_train_timesteps=1000)",
                "betas": f32(book.betas), "alphas_cumprod": f32(book.alphas_cumprod)})
    return out


# ---------------------------------------------------------------- timesteps and sigmas
def timesteps():
    out = []
    for cls in ["DDPMScheduler", "DDIMScheduler"]:
        for spacing in ["leading", "trailing", "linspace"]:
            for n in [1, 3, 7, 50, 1000]:
                for offset in ([0, 1] if spacing == "leading" else [0]):
                    cfg = {"_class_name": cls, "timestep_spacing": spacing, "steps_offset": offset}
                    s = make(cfg)
                    s.set_timesteps(n)
                    out.append({"config": cfg, "num_inference_steps": n, "timesteps": s.timesteps.tolist()})
        for spacing in ["leading", "trailing", "linspace"]:
            cfg = {"_class_name": cls, "num_train_timesteps": 10, "timestep_spacing": spacing}
            for n in [4, 10]:
                s = make(cfg)
                s.set_timesteps(n)
                out.append({"config": cfg, "num_inference_steps": n, "timesteps": s.timesteps.tolist()})

    euler = []
    for spacing in ["linspace", "leading", "trailing"]:
        for final in ["zero", "sigma_min"]:
            euler.append({"timestep_spacing": spacing, "final_sigmas_type": final})
    euler += [
        {"timestep_spacing": "leading", "steps_offset": 1, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
         "beta_end": 0.012},
        {"interpolation_type": "log_linear"},
        {"use_karras_sigmas": True},
        {"use_karras_sigmas": True, "sigma_min": 0.05, "sigma_max": 10.0, "timestep_spacing": "trailing"},
        {"rescale_betas_zero_snr": True, "timestep_spacing": "trailing"},
    ]
    for cfg in euler:
        cfg = {"_class_name": "EulerDiscreteScheduler", **cfg}
        for n in [1, 7, 30]:
            s = make(cfg)
            init_before = float(s.init_noise_sigma)
            s.set_timesteps(n)
            out.append({"config": cfg, "num_inference_steps": n, "timesteps": f32(s.timesteps),
                        "sigmas": f32(s.sigmas), "init_noise_sigma": float(s.init_noise_sigma),
                        "init_noise_sigma_before": init_before})

    dpm = []
    for spacing in ["linspace", "leading", "trailing"]:
        for final in ["zero", "sigma_min"]:
            dpm.append({"timestep_spacing": spacing, "final_sigmas_type": final})
    dpm += [
        {"timestep_spacing": "leading", "steps_offset": 1},
        {"use_karras_sigmas": True},
        {"use_karras_sigmas": True, "beta_schedule": "squaredcos_cap_v2"},
        {"lambda_min_clipped": -5.1},
        {"lambda_min_clipped": -5.1, "timestep_spacing": "trailing"},
        {"rescale_betas_zero_snr": True, "timestep_spacing": "trailing"},
    ]
    for cfg in dpm:
        cfg = {"_class_name": "DPMSolverMultistepScheduler", **cfg}
        for n in [1, 7, 20]:
            s = make(cfg)
            s.set_timesteps(n)
            out.append({"config": cfg, "num_inference_steps": n, "timesteps": s.timesteps.tolist(),
                        "sigmas": f32(s.sigmas)})
    # Euler and DPM-Solver++ keep their own alphas_cumprod (2^-24 at the end with zero-SNR rescaling).
    for cls in ["EulerDiscreteScheduler", "DPMSolverMultistepScheduler"]:
        s = make({"_class_name": cls, "rescale_betas_zero_snr": True})
        out.append({"config": {"_class_name": cls, "rescale_betas_zero_snr": True}, "alphas_cumprod": f32(s.alphas_cumprod)})
    book = BOOK.DDIMScheduler(num_train_timesteps=1000)
    book.set_timesteps(50)
    out.append({"config": "book", "num_inference_steps": 50, "timesteps": [int(t) for t in book.timesteps]})
    return out


# ---------------------------------------------------------------- single steps
def step_kwargs(cfg, extras, noise):
    cls = cfg["_class_name"]
    if cls == "DDIMScheduler":
        kw = {"eta": extras.get("eta", 0.0), "use_clipped_model_output": extras.get("use_clipped_model_output", False)}
        if kw["eta"] > 0:
            kw["variance_noise"] = noise
        return kw
    if cls == "DDPMScheduler":
        NOISE_QUEUE.clear()
        NOISE_QUEUE.append(noise.clone())
        return {}
    if cls == "DPMSolverMultistepScheduler" and cfg.get("algorithm_type", "dpmsolver++").startswith("sde"):
        return {"variance_noise": noise}
    return {}


STEP_CONFIGS = [
    ({"_class_name": "DDPMScheduler"}, {}),
    ({"_class_name": "DDPMScheduler", "variance_type": "fixed_large", "prediction_type": "v_prediction"}, {}),
    ({"_class_name": "DDPMScheduler", "variance_type": "fixed_small_log", "prediction_type": "sample",
      "clip_sample": False}, {}),
    ({"_class_name": "DDPMScheduler", "variance_type": "learned_range"}, {}),
    ({"_class_name": "DDPMScheduler", "variance_type": "learned"}, {}),
    ({"_class_name": "DDPMScheduler", "thresholding": True, "sample_max_value": 1.5}, {}),
    ({"_class_name": "DDIMScheduler"}, {}),
    ({"_class_name": "DDIMScheduler", "prediction_type": "v_prediction", "set_alpha_to_one": False},
     {"eta": 1.0, "use_clipped_model_output": True}),
    ({"_class_name": "DDIMScheduler", "prediction_type": "sample", "clip_sample_range": 0.5}, {"eta": 0.5}),
    ({"_class_name": "DDIMScheduler", "thresholding": True, "dynamic_thresholding_ratio": 0.9,
      "sample_max_value": 2.0}, {}),
    ({"_class_name": "EulerDiscreteScheduler"}, {}),
    ({"_class_name": "EulerDiscreteScheduler", "prediction_type": "v_prediction", "timestep_spacing": "trailing"}, {}),
    ({"_class_name": "EulerDiscreteScheduler", "prediction_type": "sample", "timestep_spacing": "leading",
      "final_sigmas_type": "sigma_min"}, {}),
]


def single_steps():
    out = []
    n = 10
    for cfg, extras in STEP_CONFIGS:
        cls = cfg["_class_name"]
        probe = make(cfg)
        probe.set_timesteps(n)
        for index in [0, n // 2, n - 1]:
            s = make(cfg)
            s.set_timesteps(n)
            t = s.timesteps[index]
            shape = SHAPE
            sample = pseudo(shape, 11 + index)
            noise = pseudo(shape, 500 + index)
            if cls == "EulerDiscreteScheduler":
                s.set_begin_index(index)
            scaled = s.scale_model_input(sample, t)
            out_fn = learned if is_learned(cfg) else model
            model_output = out_fn(scaled, float(t))
            r = s.step(model_output, t, sample, **step_kwargs(cfg, extras, noise))
            out.append({"config": cfg, "extras": extras, "num_inference_steps": n, "index": index,
                        "timestep": float(t), "shape": shape, "sample": f32(sample),
                        "variance_noise": f32(noise), "scaled_model_input": f32(scaled),
                        "prev_sample": f32(r.prev_sample), "pred_original_sample": f32(r.pred_original_sample)})
    # DDPM with its own generator: the noise comes from torch.randn(generator=manual_seed(0)).
    s = make({"_class_name": "DDPMScheduler"})
    s.set_timesteps(n)
    sample = pseudo(SHAPE, 11)
    NOISE_QUEUE.clear()
    r = s.step(model(sample, float(s.timesteps[0])), s.timesteps[0], sample,
               generator=torch.Generator().manual_seed(0))
    out.append({"config": {"_class_name": "DDPMScheduler"}, "extras": {"generator_seed": 0}, "num_inference_steps": n,
                "index": 0, "timestep": float(s.timesteps[0]), "shape": SHAPE, "sample": f32(sample),
                "variance_noise": f32(torch.randn(SHAPE, generator=torch.Generator().manual_seed(0))),
                "prev_sample": f32(r.prev_sample), "pred_original_sample": f32(r.pred_original_sample)})
    return out


# ---------------------------------------------------------------- whole loops
LOOPS = [
    ({"_class_name": "DDPMScheduler"}, {}, 50),
    ({"_class_name": "DDPMScheduler", "prediction_type": "v_prediction", "variance_type": "fixed_large",
      "timestep_spacing": "trailing", "beta_schedule": "squaredcos_cap_v2"}, {}, 50),
    ({"_class_name": "DDPMScheduler", "prediction_type": "sample", "variance_type": "learned_range",
      "timestep_spacing": "linspace"}, {}, 50),
    ({"_class_name": "DDPMScheduler", "thresholding": True, "rescale_betas_zero_snr": True,
      "prediction_type": "v_prediction", "timestep_spacing": "trailing"}, {}, 50),
    ({"_class_name": "DDIMScheduler"}, {}, 50),
    ({"_class_name": "DDIMScheduler"}, {"eta": 1.0, "use_clipped_model_output": True}, 50),
    ({"_class_name": "DDIMScheduler", "prediction_type": "v_prediction", "timestep_spacing": "trailing",
      "rescale_betas_zero_snr": True, "set_alpha_to_one": False}, {}, 50),
    ({"_class_name": "DDIMScheduler", "prediction_type": "sample", "timestep_spacing": "linspace"}, {"eta": 0.3}, 50),
    ({"_class_name": "DDIMScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012,
      "clip_sample": False, "steps_offset": 1}, {"eta": 0.5}, 50),
    ({"_class_name": "DDIMScheduler", "thresholding": True}, {}, 50),
    ({"_class_name": "EulerDiscreteScheduler"}, {}, 50),
    ({"_class_name": "EulerDiscreteScheduler", "prediction_type": "v_prediction", "timestep_spacing": "trailing",
      "rescale_betas_zero_snr": True}, {}, 50),
    ({"_class_name": "EulerDiscreteScheduler", "timestep_spacing": "leading", "steps_offset": 1,
      "use_karras_sigmas": True, "final_sigmas_type": "sigma_min"}, {}, 50),
    ({"_class_name": "EulerDiscreteScheduler", "interpolation_type": "log_linear", "prediction_type": "sample"},
     {}, 50),
    ({"_class_name": "DPMSolverMultistepScheduler"}, {}, 20),
    ({"_class_name": "DPMSolverMultistepScheduler", "solver_order": 1}, {}, 20),
    ({"_class_name": "DPMSolverMultistepScheduler", "algorithm_type": "dpmsolver",
      "final_sigmas_type": "sigma_min"}, {}, 20),
    ({"_class_name": "DPMSolverMultistepScheduler", "algorithm_type": "dpmsolver", "final_sigmas_type": "sigma_min",
      "solver_type": "heun", "prediction_type": "v_prediction", "timestep_spacing": "trailing"}, {}, 20),
    ({"_class_name": "DPMSolverMultistepScheduler", "solver_type": "heun", "prediction_type": "sample",
      "thresholding": True}, {}, 20),
    ({"_class_name": "DPMSolverMultistepScheduler", "final_sigmas_type": "sigma_min"}, {}, 8),
    ({"_class_name": "DPMSolverMultistepScheduler", "final_sigmas_type": "sigma_min", "lower_order_final": False},
     {}, 8),
    ({"_class_name": "DPMSolverMultistepScheduler", "euler_at_final": True, "final_sigmas_type": "sigma_min"}, {}, 20),
    ({"_class_name": "DPMSolverMultistepScheduler", "use_karras_sigmas": True, "timestep_spacing": "leading",
      "steps_offset": 1}, {}, 20),
    ({"_class_name": "DPMSolverMultistepScheduler", "solver_order": 3}, {}, 20),
    ({"_class_name": "DPMSolverMultistepScheduler", "solver_order": 3, "algorithm_type": "dpmsolver",
      "final_sigmas_type": "sigma_min"}, {}, 20),
    ({"_class_name": "DPMSolverMultistepScheduler", "algorithm_type": "sde-dpmsolver++"}, {}, 20),
    ({"_class_name": "DPMSolverMultistepScheduler", "algorithm_type": "sde-dpmsolver", "solver_type": "heun",
      "final_sigmas_type": "sigma_min"}, {}, 20),
    ({"_class_name": "DPMSolverMultistepScheduler", "variance_type": "learned_range", "lambda_min_clipped": -5.1,
      "rescale_betas_zero_snr": True, "timestep_spacing": "trailing"}, {}, 20),
]


def checkpoints(n):
    return sorted({0, 1, n // 2, n - 1})


def loops():
    out = []
    for cfg, extras, n in LOOPS:
        s = make(cfg)
        s.set_timesteps(n)
        shape = LEARNED_SHAPE if is_learned(cfg) else SHAPE
        x = pseudo(shape, 7) * s.init_noise_sigma
        saved = {}
        for k, t in enumerate(s.timesteps):
            x_in = s.scale_model_input(x, t)
            out_fn = learned if is_learned(cfg) else model
            mo = out_fn(x_in, float(t))
            x = s.step(mo, t, x, **step_kwargs(cfg, extras, pseudo(shape, 1000 + k))).prev_sample
            if k in checkpoints(len(s.timesteps)):
                saved[str(k)] = f32(x)
        NOISE_QUEUE.clear()
        out.append({"config": cfg, "extras": extras, "num_inference_steps": n, "shape": shape,
                    "timesteps": f64(s.timesteps.to(torch.float64)), "checkpoints": saved})
    return out


def book_loop():
    """The book's own sampler: DDIMScheduler(num_train_timesteps=1000), 50 steps, eta = 1, clipped model output."""

    class TorchWithQueuedNoise:
        def __getattr__(self, name):
            return getattr(torch, name)

        @staticmethod
        def randn(*args, **kwargs):
            return NOISE_QUEUE.pop(0).clone()

    BOOK.torch = TorchWithQueuedNoise()
    s = BOOK.DDIMScheduler(num_train_timesteps=1000)
    s.set_timesteps(50)
    x = pseudo(SHAPE, 7)
    saved = {}
    steps = []
    for k, t in enumerate(s.timesteps):
        NOISE_QUEUE.append(pseudo(SHAPE, 1000 + k))
        x = s.step(model(x, float(t)), t, x, 1.0, use_clipped_model_output=True)
        if k in checkpoints(50):
            saved[str(k)] = f32(x)
    # Single steps with the book's keyword defaults (eta = 1, use_clipped_model_output = True).
    for index in [0, 25, 49]:
        t = s.timesteps[index]
        sample = pseudo(SHAPE, 11 + index)
        noise = pseudo(SHAPE, 500 + index)
        NOISE_QUEUE.append(noise.clone())
        prev = s.step(model(sample, float(t)), t, sample)
        steps.append({"index": index, "timestep": int(t), "sample": f32(sample), "variance_noise": f32(noise),
                      "prev_sample": f32(prev)})
    x0 = pseudo([5, 2, 2, 2], 3)
    noise = pseudo([5, 2, 2, 2], 4)
    ts = torch.tensor([0, 1, 499, 980, 999], dtype=torch.int64)
    noisy = s.add_noise(x0, noise, ts)
    BOOK.torch = torch
    return {"num_inference_steps": 50, "shape": SHAPE, "checkpoints": saved, "steps": steps,
            "add_noise": {"timesteps": ts.tolist(), "noisy": f32(noisy)}}


def add_noise():
    out = []
    x0 = pseudo([5, 2, 2, 2], 3)
    noise = pseudo([5, 2, 2, 2], 4)
    ts = torch.tensor([0, 1, 499, 998, 999], dtype=torch.int64)
    for cfg in SCHEDULES:
        s = make({"_class_name": "DDPMScheduler", **cfg})
        t = ts.clamp(max=s.config.num_train_timesteps - 1)
        out.append({"config": {"_class_name": "DDPMScheduler", **cfg}, "timesteps": t.tolist(),
                    "noisy": f32(s.add_noise(x0, noise, t)), "velocity": f32(s.get_velocity(x0, noise, t))})
    for cfg in [{"_class_name": "EulerDiscreteScheduler"},
                {"_class_name": "EulerDiscreteScheduler", "timestep_spacing": "trailing"},
                {"_class_name": "DPMSolverMultistepScheduler"},
                {"_class_name": "DPMSolverMultistepScheduler", "final_sigmas_type": "sigma_min",
                 "timestep_spacing": "leading"}]:
        s = make(cfg)
        s.set_timesteps(10)
        t = s.timesteps[[0, 1, 4, 8, 9]]
        out.append({"config": cfg, "num_inference_steps": 10, "timesteps": f64(t.to(torch.float64)),
                    "noisy": f32(s.add_noise(x0, noise, t))})
    return out


def main():
    provenance = {
        **PROVENANCE,
        "script": "tools/reference/schedulers.py (+ tools/reference/schedulers_upstream.py)",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "formulas": __doc__.strip(),
    }
    files = {
        "schedules.json": {"schedules": schedules(), "randn_seed0": f32(
            torch.randn(SHAPE, generator=torch.Generator().manual_seed(0)))},
        "timesteps.json": {"timesteps": timesteps()},
        "steps.json": {"steps": single_steps(), "add_noise": add_noise()},
        "loops.json": {"loops": loops()},
        "book.json": {"book": book_loop()},
    }
    write_references(OUT, provenance, files)

if __name__ == "__main__":
    main()
