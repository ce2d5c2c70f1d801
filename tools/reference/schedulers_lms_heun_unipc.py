"""Reference values for LMSDiscreteScheduler, HeunDiscreteScheduler and UniPCMultistepScheduler
(tests/Diffusion.Core.Tests/Schedulers/SdSchedulerParityTests.cs and friends).

Runs diffusers' own scheduler files and configuration_utils.py, laid out read-only at /work/dt113 (see
/work/shared/tools/diffusers-torch113/README.md), under Debian's PyTorch 1.13 and SciPy, and writes
tests/reference/schedulers/lms_heun_unipc.json and tests/reference/schedulers/configs/*.json.

    /usr/bin/python3 tools/reference/schedulers_lms_heun_unipc.py

Inputs are the formulas of tools/reference/scheduler_inputs.py (the C# tests repeat them exactly):
  pseudo(shape, seed)[i] = float32(1.5 * sin(12.9898 * (i + 1) + 78.233 * seed))
  model(x, t)            = x * (0.1 * cos(t / 100)) + 0.05 * sin(t / 50)      (t as a Python float)
  loop start             = pseudo(shape, 7) * init_noise_sigma
  pipeline_model(x, t)   = x * (0.9 + 0.02 * cos(t / 100)) + 0.05 * sin(t / 50)  (near an ε-denoiser: images stay in [0, 1])
A "run" calls scale_model_input, model and step for every entry of scheduler.timesteps and stores every
step's prev_sample (so the C# test can feed diffusers' own inputs to each step, and also run freely).
LMS's "lms_order" is our config key for diffusers' step(order=...) argument. Image-to-image runs use
diffusers' StableDiffusionImg2ImgPipeline.get_timesteps rule: init = min(int(n * strength), n),
t_start = max(n - init, 0), timesteps[t_start * order:], set_begin_index(t_start * order), and start from
add_noise(pseudo(shape, 3), pseudo(shape, 4), timesteps[:1].repeat(batch)).
"""

import json
import math
import os
import subprocess
import sys
import tempfile

os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"
DT113 = "/work/dt113"
sys.path[:0] = [DT113, DT113 + "/stubs"]

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scheduler_inputs import f32, model, pseudo, write_references  # noqa: E402
from diffusers.schedulers.scheduling_heun_discrete import HeunDiscreteScheduler  # noqa: E402
from diffusers.schedulers.scheduling_lms_discrete import LMSDiscreteScheduler  # noqa: E402
from diffusers.schedulers.scheduling_unipc_multistep import UniPCMultistepScheduler  # noqa: E402

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "reference", "schedulers")
MIRROR = "/work/.mirror/huggingface+diffusers/repo"
SHAPE = [2, 2, 3, 3]
CLASSES = {c.__name__: c for c in [LMSDiscreteScheduler, HeunDiscreteScheduler, UniPCMultistepScheduler]}
SD = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}


def pipeline_model(x, t):
    return x * (0.9 + 0.02 * math.cos(t / 100.0)) + 0.05 * math.sin(t / 50.0)


def make(config):
    kwargs = {k: v for k, v in config.items() if k not in ("_class_name", "lms_order")}
    return CLASSES[config["_class_name"]](**kwargs)


def step(s, config, mo, t, x):
    if config["_class_name"] == "LMSDiscreteScheduler":
        return s.step(mo, t, x, order=config.get("lms_order", 4))
    return s.step(mo, t, x)


def run(s, config, x, timesteps):
    outs = []
    for t in timesteps:
        x_in = s.scale_model_input(x, t)
        x = step(s, config, model(x_in, float(t)), t, x).prev_sample
        outs.append(f32(x))
    return outs


LMS = "LMSDiscreteScheduler"
HEUN = "HeunDiscreteScheduler"
UNIPC = "UniPCMultistepScheduler"
RUNS = [
    ({"_class_name": LMS}, 20),
    ({"_class_name": LMS, **SD, "timestep_spacing": "leading", "steps_offset": 1}, 50),
    ({"_class_name": LMS, "prediction_type": "v_prediction", "timestep_spacing": "trailing"}, 25),
    ({"_class_name": LMS, **SD, "use_karras_sigmas": True}, 25),
    ({"_class_name": LMS, "prediction_type": "sample", "lms_order": 2}, 20),
    ({"_class_name": LMS, **SD, "use_exponential_sigmas": True, "timestep_spacing": "trailing"}, 25),
    ({"_class_name": HEUN}, 20),
    ({"_class_name": HEUN, **SD, "timestep_spacing": "leading", "steps_offset": 1}, 25),
    ({"_class_name": HEUN, "prediction_type": "v_prediction", "timestep_spacing": "trailing"}, 20),
    ({"_class_name": HEUN, **SD, "use_karras_sigmas": True}, 20),
    ({"_class_name": HEUN, "prediction_type": "sample", "clip_sample": True, "clip_sample_range": 0.8}, 20),
    ({"_class_name": HEUN, **SD, "use_exponential_sigmas": True, "prediction_type": "v_prediction"}, 20),
    ({"_class_name": UNIPC}, 20),
    ({"_class_name": UNIPC, **SD, "timestep_spacing": "leading", "steps_offset": 1}, 50),
    ({"_class_name": UNIPC, "solver_type": "bh1", "solver_order": 3, "final_sigmas_type": "sigma_min"}, 20),
    ({"_class_name": UNIPC, **SD, "solver_order": 3, "timestep_spacing": "trailing"}, 25),
    ({"_class_name": UNIPC, "solver_order": 1}, 20),
    ({"_class_name": UNIPC, "predict_x0": False, "solver_type": "bh1", "final_sigmas_type": "sigma_min"}, 20),
    ({"_class_name": UNIPC, "predict_x0": False, "solver_order": 3, "final_sigmas_type": "sigma_min",
      "prediction_type": "v_prediction"}, 20),
    ({"_class_name": UNIPC, "prediction_type": "v_prediction", "timestep_spacing": "trailing",
      "rescale_betas_zero_snr": True}, 20),
    ({"_class_name": UNIPC, **SD, "use_karras_sigmas": True}, 20),
    ({"_class_name": UNIPC, "use_karras_sigmas": True, "sigma_min": 0.05, "sigma_max": 12.0,
      "final_sigmas_type": "sigma_min", "solver_order": 3}, 20),
    ({"_class_name": UNIPC, "disable_corrector": [0, 1, 7]}, 20),
    ({"_class_name": UNIPC, "prediction_type": "sample", "thresholding": True, "sample_max_value": 1.5}, 20),
    ({"_class_name": UNIPC, "lower_order_final": False, "final_sigmas_type": "sigma_min", "solver_order": 3}, 8),
]

IMG2IMG = [
    ({"_class_name": LMS, **SD, "timestep_spacing": "leading", "steps_offset": 1}, 25, 0.6),
    ({"_class_name": LMS, "use_karras_sigmas": True}, 20, 0.35),
    ({"_class_name": HEUN, **SD, "timestep_spacing": "leading", "steps_offset": 1}, 20, 0.6),
    ({"_class_name": HEUN, "use_karras_sigmas": True}, 20, 0.35),
    ({"_class_name": HEUN, "use_exponential_sigmas": True}, 20, 0.5),
    ({"_class_name": UNIPC, **SD, "timestep_spacing": "leading", "steps_offset": 1}, 25, 0.6),
    ({"_class_name": UNIPC, "solver_order": 3, "solver_type": "bh1", "final_sigmas_type": "sigma_min"}, 20, 0.35),
]

# Whole pipeline loop: the sampling loop of src/Diffusion.Core/Pipelines/DenoisingLoop.cs written out in Python:
# x_T = randn(shape, generator=manual_seed(seed)) * init_noise_sigma, every timestep, images = clamp(x/2 + 0.5, 0, 1).
PIPELINE = [
    ({"_class_name": HEUN, **SD, "timestep_spacing": "leading", "steps_offset": 1}, 12, 42),
    ({"_class_name": LMS, **SD, "use_karras_sigmas": True}, 15, 42),
    ({"_class_name": UNIPC, **SD}, 10, 42),
]
PIPELINE_SHAPE = [1, 3, 4, 4]

# Schedule-only cases: timesteps and sigmas for more step counts.
SCHEDULES = [
    ({"_class_name": LMS}, [1, 7, 30]),
    ({"_class_name": LMS, "timestep_spacing": "leading", "steps_offset": 1}, [7, 30]),
    ({"_class_name": LMS, "timestep_spacing": "trailing", "use_karras_sigmas": True}, [7, 30]),
    ({"_class_name": HEUN}, [1, 7, 30]),
    ({"_class_name": HEUN, "timestep_spacing": "trailing"}, [7]),
    ({"_class_name": HEUN, **SD, "use_karras_sigmas": True}, [7, 30]),
    ({"_class_name": UNIPC}, [1, 7, 30]),
    ({"_class_name": UNIPC, "timestep_spacing": "leading", "steps_offset": 1, "final_sigmas_type": "sigma_min"}, [7, 30]),
    ({"_class_name": UNIPC, "timestep_spacing": "trailing"}, [7, 30]),
    ({"_class_name": UNIPC, "use_karras_sigmas": True, "final_sigmas_type": "sigma_min"}, [7, 30]),
    ({"_class_name": UNIPC, "use_karras_sigmas": True, "beta_schedule": "squaredcos_cap_v2"}, [7]),
    ({"_class_name": UNIPC, "rescale_betas_zero_snr": True, "timestep_spacing": "trailing"}, [7]),
    ({"_class_name": LMS, "use_exponential_sigmas": True}, [7, 30]),
    ({"_class_name": HEUN, "use_exponential_sigmas": True, "timestep_spacing": "leading", "steps_offset": 1}, [7]),
]

# Config files as diffusers saves them (save_config / to_json_string), for the load-run-save test.
CONFIG_FILES = {
    "lms_scheduler_config.json": {"_class_name": LMS, **SD, "timestep_spacing": "leading", "steps_offset": 1},
    "heun_scheduler_config.json": {"_class_name": HEUN, **SD, "use_karras_sigmas": True,
                                   "prediction_type": "v_prediction"},
    "unipc_scheduler_config.json": {"_class_name": UNIPC, **SD, "solver_order": 3, "solver_type": "bh1",
                                    "disable_corrector": [0], "final_sigmas_type": "sigma_min",
                                    "timestep_spacing": "trailing", "use_karras_sigmas": True, "sigma_max": 14.5},
}


def runs():
    out = []
    for cfg, n in RUNS:
        s = make(cfg)
        s.set_timesteps(n)
        x = pseudo(SHAPE, 7) * s.init_noise_sigma
        out.append({"config": cfg, "num_inference_steps": n, "shape": SHAPE,
                    "timesteps": [float(t) for t in s.timesteps], "sigmas": f32(s.sigmas),
                    "init_noise_sigma": float(s.init_noise_sigma), "prev_samples": run(s, cfg, x, s.timesteps)})
    return out


def img2img():
    out = []
    for cfg, n, strength in IMG2IMG:
        s = make(cfg)
        s.set_timesteps(n)
        init = min(int(n * strength), n)
        t_start = max(n - init, 0)
        begin = t_start * s.order
        timesteps = s.timesteps[begin:]
        s.set_begin_index(begin)
        x0, noise = pseudo(SHAPE, 3), pseudo(SHAPE, 4)
        latents = s.add_noise(x0, noise, timesteps[:1].repeat(SHAPE[0]))
        out.append({"config": cfg, "num_inference_steps": n, "strength": strength, "shape": SHAPE,
                    "begin_index": begin, "timesteps": [float(t) for t in timesteps], "noisy": f32(latents),
                    "prev_samples": run(s, cfg, latents, timesteps)})
    return out


def pipeline():
    out = []
    for cfg, n, seed in PIPELINE:
        s = make(cfg)
        s.set_timesteps(n)
        x = torch.randn(PIPELINE_SHAPE, generator=torch.Generator().manual_seed(seed)) * s.init_noise_sigma
        for t in s.timesteps:
            x = step(s, cfg, pipeline_model(s.scale_model_input(x, t), float(t)), t, x).prev_sample
        out.append({"config": cfg, "num_inference_steps": n, "seed": seed, "shape": PIPELINE_SHAPE,
                    "calls": len(s.timesteps), "final": f32(x), "images": f32((x / 2 + 0.5).clamp(0, 1))})
    return out


def schedules():
    out = []
    for cfg, counts in SCHEDULES:
        for n in counts:
            s = make(cfg)
            s.set_timesteps(n)
            out.append({"config": cfg, "num_inference_steps": n, "timesteps": [float(t) for t in s.timesteps],
                        "sigmas": f32(s.sigmas), "init_noise_sigma": float(s.init_noise_sigma)})
    return out


def lms_coefficients():
    """scipy.integrate.quad through diffusers' get_lms_coefficient, for every step and order of a few schedules."""
    out = []
    for cfg, n in [({"_class_name": LMS}, 10), ({"_class_name": LMS, **SD, "use_karras_sigmas": True}, 12),
                   ({"_class_name": LMS, **SD, "timestep_spacing": "leading", "steps_offset": 1}, 50)]:
        s = make(cfg)
        s.set_timesteps(n)
        coefficients = []
        for i in range(n):
            for order in range(1, min(i + 1, 4) + 1):
                coefficients.append({"index": i, "order": order,
                                     "values": [float(s.get_lms_coefficient(order, i, j)) for j in range(order)]})
        out.append({"config": cfg, "num_inference_steps": n, "sigmas": f32(s.sigmas), "coefficients": coefficients})
    return out


def write_configs():
    folder = os.path.join(OUT, "configs")
    os.makedirs(folder, exist_ok=True)
    for name, cfg in CONFIG_FILES.items():
        with tempfile.TemporaryDirectory() as tmp:
            make(cfg).save_config(tmp)
            text = open(os.path.join(tmp, "scheduler_config.json")).read()
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)
        print(f"wrote {os.path.normpath(os.path.join(folder, name))}: {len(text)} bytes")


def provenance():
    blobs = {}
    for line in open(os.path.join(DT113, "VERBATIM_FILES.txt")):
        parts = line.split()
        if len(parts) == 2 and any(k in parts[0] for k in ["lms_discrete", "heun_discrete", "unipc", "configuration_utils"]):
            blobs[parts[0]] = parts[1]
    commit = subprocess.check_output(["git", "-C", MIRROR, "rev-parse", "HEAD"], text=True).strip()
    return {"upstream": "huggingface/diffusers", "commit": commit, "files": blobs,
            "script": "tools/reference/schedulers_lms_heun_unipc.py", "torch": torch.__version__,
            "numpy": np.__version__, "scipy": scipy.__version__, "python": sys.version.split()[0],
            "formulas": __doc__.strip()}


def main():
    content = {"runs": runs(), "img2img": img2img(), "pipeline": pipeline(), "schedules": schedules(),
               "lms_coefficients": lms_coefficients()}
    write_references(OUT, provenance(), {"lms_heun_unipc.json": content})
    write_configs()


if __name__ == "__main__":
    main()
