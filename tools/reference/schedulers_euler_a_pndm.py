"""Reference values for EulerAncestralDiscreteScheduler, PNDMScheduler and the image-to-image start.

Runs diffusers' own scheduler files and configuration_utils.py as laid out by
/work/shared/tools/diffusers-torch113 (verbatim upstream files at the mirror's commit, imported unmodified)
under Debian's PyTorch 1.13, and the `get_timesteps` method of diffusers' StableDiffusionImg2ImgPipeline,
read from the mirror at run time and executed as it is. Writes:
  tests/reference/schedulers/euler_a_pndm.json   single steps, PNDM steps fed the reference's inputs, loops
  tests/reference/schedulers/img2img.json        get_timesteps + set_begin_index for six schedulers, and
                                                 whole image-to-image loops from add_noise to the end
  tests/reference/schedulers/configs/<class>/scheduler_config.json   as diffusers' save_config writes it

    /usr/bin/python3 tools/reference/schedulers_euler_a_pndm.py

Inputs follow tools/reference/schedulers.py (the C# tests repeat the formulas):
  pseudo(shape, seed)[i] = float32(1.5 * sin(12.9898 * (i + 1) + 78.233 * seed)), i in row-major order
  model(x, t)            = x * (0.1 * cos(t / 100)) + 0.05 * sin(t / 50)
  loop start sample      = pseudo(shape, 7) * init_noise_sigma
  noise of loop step k   = pseudo(shape, 1000 + k): what randn_tensor returns inside step k (the only change
                           made to diffusers: its module-level randn_tensor is swapped for this feed)
  img2img x0, noise      = pseudo(shape, 3), pseudo(shape, 4); x_start = add_noise(x0, noise, timesteps[:1])
  pipeline model(x, t)   = x * (1 + 0.05 * sin(t / 50))  (predicts its input as the noise: images stay in [0, 1])
"""

import ast
import json
import math
import os
import subprocess
import sys

os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"
DT113 = "/work/dt113"
sys.path[:0] = [DT113, os.path.join(DT113, "stubs")]

import numpy as np  # noqa: E402
import torch  # noqa: E402

import diffusers.schedulers.scheduling_ddim as ddim_module  # noqa: E402
import diffusers.schedulers.scheduling_ddpm as ddpm_module  # noqa: E402
import diffusers.schedulers.scheduling_dpmsolver_multistep as dpm_module  # noqa: E402
import diffusers.schedulers.scheduling_euler_ancestral_discrete as ea_module  # noqa: E402
import diffusers.schedulers.scheduling_euler_discrete as euler_module  # noqa: E402
import diffusers.schedulers.scheduling_pndm as pndm_module  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scheduler_inputs import f32, f64, model, pseudo, write_references  # noqa: E402

MIRROR = "/work/.mirror/huggingface+diffusers/repo"
IMG2IMG_FILE = "src/diffusers/pipelines/stable_diffusion/pipeline_stable_diffusion_img2img.py"
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "reference", "schedulers")
SHAPE = [2, 2, 3, 3]
SD = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}

torch.set_num_threads(1)

CLASSES = {
    "DDPMScheduler": ddpm_module.DDPMScheduler,
    "DDIMScheduler": ddim_module.DDIMScheduler,
    "EulerDiscreteScheduler": euler_module.EulerDiscreteScheduler,
    "DPMSolverMultistepScheduler": dpm_module.DPMSolverMultistepScheduler,
    "EulerAncestralDiscreteScheduler": ea_module.EulerAncestralDiscreteScheduler,
    "PNDMScheduler": pndm_module.PNDMScheduler,
}


# ---------------------------------------------------------------- noise feed
class NoiseFeed:
    """Stands in for diffusers' randn_tensor: hands out the noise set for this step, or draws from the generator."""

    def __init__(self, original):
        self.original = original
        self.pending = None

    def __call__(self, shape, generator=None, device=None, dtype=None, layout=None):
        if self.pending is None:
            assert generator is not None, "a step drew noise without a feed or a generator"
            return self.original(shape, generator=generator, device=device, dtype=dtype, layout=layout)
        noise, self.pending = self.pending, None
        assert tuple(noise.shape) == tuple(shape), (noise.shape, shape)
        return noise.to(device=device, dtype=dtype)


FEED = NoiseFeed(ea_module.randn_tensor)
ea_module.randn_tensor = FEED
ddpm_module.randn_tensor = FEED


def make(config):
    return CLASSES[config["_class_name"]](**{k: v for k, v in config.items() if k != "_class_name"})


def step(s, cfg, model_output, t, x, noise):
    """One diffusers step with this step's noise fed to randn_tensor (DDPM, Euler ancestral) or passed (DDIM η > 0)."""
    if cfg["_class_name"] in ("DDPMScheduler", "EulerAncestralDiscreteScheduler"):
        FEED.pending = noise
    out = s.step(model_output, t, x)
    FEED.pending = None
    return out


def checkpoints(n):
    return sorted({0, 1, 2, n // 2, n - 1} & set(range(n)))


def timestep_values(s):
    return f64(s.timesteps.to(torch.float64))


# ---------------------------------------------------------------- Euler ancestral: single steps
EA = "EulerAncestralDiscreteScheduler"
EA_STEPS = [
    {"_class_name": EA},
    {"_class_name": EA, **SD, "timestep_spacing": "leading", "steps_offset": 1},
    {"_class_name": EA, "prediction_type": "v_prediction", "timestep_spacing": "trailing", "rescale_betas_zero_snr": True},
    {"_class_name": EA, **SD, "prediction_type": "v_prediction", "timestep_spacing": "linspace"},
]


def euler_a_steps():
    out = []
    n = 10
    for cfg in EA_STEPS:
        for index in [0, n // 2, n - 1]:
            s = make(cfg)
            s.set_timesteps(n)
            s.set_begin_index(index)
            t = s.timesteps[index]
            sample = pseudo(SHAPE, 11 + index)
            noise = pseudo(SHAPE, 500 + index)
            scaled = s.scale_model_input(sample, t)
            r = step(s, cfg, model(scaled, float(t)), t, sample, noise)
            out.append({"config": cfg, "num_inference_steps": n, "index": index, "timestep": float(t), "shape": SHAPE,
                        "sample": f32(sample), "variance_noise": f32(noise), "scaled_model_input": f32(scaled),
                        "prev_sample": f32(r.prev_sample), "pred_original_sample": f32(r.pred_original_sample)})
    # The scheduler's own draw: randn_tensor(generator=manual_seed(0)) on the CPU is torch.randn.
    cfg = EA_STEPS[1]
    s = make(cfg)
    s.set_timesteps(n)
    t = s.timesteps[0]
    sample = pseudo(SHAPE, 11)
    scaled = s.scale_model_input(sample, t)
    r = s.step(model(scaled, float(t)), t, sample, generator=torch.Generator().manual_seed(0))
    out.append({"config": cfg, "generator_seed": 0, "num_inference_steps": n, "index": 0, "timestep": float(t),
                "shape": SHAPE, "sample": f32(sample), "scaled_model_input": f32(scaled),
                "prev_sample": f32(r.prev_sample), "pred_original_sample": f32(r.pred_original_sample)})
    return out


# ---------------------------------------------------------------- PNDM: every step, fed the reference's inputs
PNDM = "PNDMScheduler"
PNDM_SD = {"_class_name": PNDM, **SD, "skip_prk_steps": True, "steps_offset": 1, "set_alpha_to_one": False}
PNDM_FORCED = [
    (PNDM_SD, 10),
    ({"_class_name": PNDM}, 10),
    ({"_class_name": PNDM, "prediction_type": "v_prediction", "timestep_spacing": "trailing", "skip_prk_steps": True}, 7),
    ({"_class_name": PNDM, "timestep_spacing": "linspace", "set_alpha_to_one": True,
      "beta_schedule": "squaredcos_cap_v2"}, 6),
    ({"_class_name": PNDM, **SD, "skip_prk_steps": True}, 1),
    ({"_class_name": PNDM, **SD, "skip_prk_steps": True}, 2),
]


def pndm_forced():
    """Each step's input sample and output from one loop: the C# test feeds the reference's sample to every step,
    so each comparison is one step (the history it keeps was made from the same inputs)."""
    out = []
    for cfg, n in PNDM_FORCED:
        s = make(cfg)
        s.set_timesteps(n)
        x = pseudo(SHAPE, 7)
        samples, outputs = [], []
        for t in s.timesteps:
            samples.append(f32(x))
            x = s.step(model(x, float(t)), t, x).prev_sample
            outputs.append(f32(x))
        out.append({"config": cfg, "num_inference_steps": n, "shape": SHAPE, "timesteps": timestep_values(s),
                    "samples": samples, "prev_samples": outputs})
    return out


# ---------------------------------------------------------------- whole loops
LOOPS = [
    ({"_class_name": EA}, 50),
    ({"_class_name": EA, **SD, "timestep_spacing": "leading", "steps_offset": 1}, 30),
    ({"_class_name": EA, **SD, "timestep_spacing": "trailing", "prediction_type": "v_prediction",
      "rescale_betas_zero_snr": True}, 25),
    ({"_class_name": EA, "beta_schedule": "squaredcos_cap_v2", "timestep_spacing": "linspace"}, 20),
    (PNDM_SD, 50),
    (PNDM_SD, 20),
    ({"_class_name": PNDM}, 50),
    ({"_class_name": PNDM, **SD, "steps_offset": 1}, 20),
    ({"_class_name": PNDM, "prediction_type": "v_prediction", "timestep_spacing": "trailing", "skip_prk_steps": True,
      **SD}, 25),
    ({"_class_name": PNDM, "timestep_spacing": "linspace", "set_alpha_to_one": True,
      "beta_schedule": "squaredcos_cap_v2"}, 30),
]


def run_loop(s, cfg, timesteps, x, noise_seed_base=1000):
    saved = {}
    for k, t in enumerate(timesteps):
        x_in = s.scale_model_input(x, t)
        x = step(s, cfg, model(x_in, float(t)), t, x, pseudo(SHAPE, noise_seed_base + k)).prev_sample
        if k in checkpoints(len(timesteps)):
            saved[str(k)] = f32(x)
    return x, saved


def loops():
    out = []
    for cfg, n in LOOPS:
        s = make(cfg)
        s.set_timesteps(n)
        x = pseudo(SHAPE, 7) * s.init_noise_sigma
        _, saved = run_loop(s, cfg, s.timesteps, x)
        out.append({"config": cfg, "num_inference_steps": n, "shape": SHAPE, "init_noise_sigma": float(s.init_noise_sigma),
                    "timesteps": timestep_values(s), "checkpoints": saved})
    return out


# ---------------------------------------------------------------- image-to-image start
def load_get_timesteps():
    """diffusers' StableDiffusionImg2ImgPipeline.get_timesteps, taken from the mirror and executed unmodified."""
    source = subprocess.check_output(["git", "-C", MIRROR, "show", f"HEAD:{IMG2IMG_FILE}"], text=True)
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "get_timesteps":
            namespace = {}
            exec(compile(ast.Module(body=[node], type_ignores=[]), IMG2IMG_FILE, "exec"), namespace)
            return namespace["get_timesteps"]
    raise RuntimeError("get_timesteps not found")


GET_TIMESTEPS = load_get_timesteps()


class PipelineStandIn:
    """The only attribute get_timesteps reads from the pipeline."""

    def __init__(self, scheduler):
        self.scheduler = scheduler


IMG2IMG = [
    ({"_class_name": "DDPMScheduler"}, 50, 0.6),
    ({"_class_name": "DDIMScheduler", **SD, "clip_sample": False, "set_alpha_to_one": False, "steps_offset": 1}, 50, 0.75),
    ({"_class_name": "DDIMScheduler", "timestep_spacing": "trailing", "prediction_type": "v_prediction"}, 20, 0.3),
    ({"_class_name": "EulerDiscreteScheduler", **SD, "timestep_spacing": "leading", "steps_offset": 1}, 30, 0.6),
    ({"_class_name": "EulerDiscreteScheduler"}, 20, 1.0),
    ({"_class_name": "DPMSolverMultistepScheduler", **SD, "steps_offset": 1}, 25, 0.8),
    ({"_class_name": "DPMSolverMultistepScheduler", "use_karras_sigmas": True, "solver_order": 3}, 20, 0.45),
    ({"_class_name": EA, **SD, "timestep_spacing": "leading", "steps_offset": 1}, 30, 0.5),
    ({"_class_name": EA, "timestep_spacing": "trailing"}, 20, 0.99),
    (PNDM_SD, 50, 0.6),
    (PNDM_SD, 20, 1.0),
    ({"_class_name": PNDM}, 20, 1.0),
    ({"_class_name": PNDM}, 20, 0.5),  # PRK warm-up started mid-schedule: recorded, refused by the C# port
]


def img2img():
    out = []
    for cfg, n, strength in IMG2IMG:
        s = make(cfg)
        s.set_timesteps(n)
        timesteps, steps_left = GET_TIMESTEPS(PipelineStandIn(s), n, strength, "cpu")
        case = {"config": cfg, "num_inference_steps": n, "strength": strength, "timesteps": f64(timesteps.to(torch.float64)),
                "steps_left": int(steps_left), "begin_index": getattr(s, "begin_index", None), "shape": SHAPE}
        if len(timesteps) > 0:
            x0, noise = pseudo(SHAPE, 3), pseudo(SHAPE, 4)
            x = s.add_noise(x0, noise, timesteps[:1])
            case["start"] = f32(x)
            x, saved = run_loop(s, cfg, timesteps, x)
            case["checkpoints"] = saved
        out.append(case)
    return out


# ---------------------------------------------------------------- scheduler_config.json as diffusers saves it
SAVED_CONFIGS = {
    # Stable Diffusion 1.x's own scheduler settings under each class.
    EA: ({**SD, "timestep_spacing": "leading", "steps_offset": 1}, 30),
    PNDM: ({**SD, "skip_prk_steps": True, "steps_offset": 1, "set_alpha_to_one": False}, 50),
    # The four older schedulers, so that every class's saved file is tested the same way (issue: all nine).
    "DDPMScheduler": ({}, 20),
    "DDIMScheduler": ({**SD, "clip_sample": False, "set_alpha_to_one": False, "steps_offset": 1}, 20),
    "EulerDiscreteScheduler": ({**SD, "timestep_spacing": "leading", "steps_offset": 1}, 20),
    "DPMSolverMultistepScheduler": ({**SD, "algorithm_type": "dpmsolver++", "solver_order": 2}, 20),
}


def saved_configs():
    out = []
    for name, (kwargs, n) in SAVED_CONFIGS.items():
        folder = os.path.join(OUT, "configs", name)
        CLASSES[name](**kwargs).save_config(folder)
        path = os.path.join(folder, "scheduler_config.json")
        with open(path) as f:
            text = f.read()
        # The loop runs on the scheduler diffusers builds from the saved file.
        s = CLASSES[name].from_config(json.loads(text))
        cfg = {"_class_name": name}
        s.set_timesteps(n)
        x = pseudo(SHAPE, 7) * s.init_noise_sigma
        _, saved = run_loop(s, cfg, s.timesteps, x)
        out.append({"file": os.path.relpath(path, OUT), "num_inference_steps": n, "shape": SHAPE,
                    "timesteps": timestep_values(s), "checkpoints": saved})
    return out


# ---------------------------------------------------------------- a pipeline's loop
PIPELINES = [
    (PNDM_SD, 20, 5),
    ({"_class_name": PNDM}, 10, 6),
    ({"_class_name": EA, **SD, "timestep_spacing": "leading", "steps_offset": 1}, 20, 5),
]
PIPELINE_SHAPE = [1, 3, 4, 4]


def pipeline_model(x, t):
    return x * (1.0 + 0.05 * math.sin(t / 50.0))


def pipelines():
    """diffusers' text-to-image loop as DiffusionPipeline runs it: x_T = randn(generator) * init_noise_sigma, the
    scheduler's step gets the same CPU generator (diffusers passes it where step accepts one), images x/2 + 1/2
    clamped to [0, 1]."""
    out = []
    for cfg, n, seed in PIPELINES:
        s = make(cfg)
        s.set_timesteps(n)
        generator = torch.Generator().manual_seed(seed)
        x = torch.randn(PIPELINE_SHAPE, generator=generator) * s.init_noise_sigma
        for t in s.timesteps:
            mo = pipeline_model(s.scale_model_input(x, t), float(t))
            kwargs = {"generator": generator} if cfg["_class_name"] == EA else {}
            x = s.step(mo, t, x, **kwargs).prev_sample
        out.append({"config": cfg, "num_inference_steps": n, "seed": seed, "shape": PIPELINE_SHAPE,
                    "timesteps": timestep_values(s), "images": f32((x / 2 + 0.5).clamp(0, 1))})
    return out


def git_head():
    return subprocess.check_output(["git", "-C", MIRROR, "rev-parse", "HEAD"], text=True).strip()


def main():
    verbatim = os.path.join(DT113, "VERBATIM_FILES.txt")
    with open(verbatim) as f:
        blobs = {line.split()[0]: line.split()[1] for line in f if line.strip()}
    files = ["src/diffusers/configuration_utils.py"] + [
        f"src/diffusers/schedulers/{m.__name__.split('.')[-1]}.py"
        for m in (ddpm_module, ddim_module, euler_module, dpm_module, ea_module, pndm_module)]
    provenance = {
        "diffusers": {"repo": "huggingface/diffusers", "commit": git_head(),
                      "files": {p: blobs.get(p) for p in files}, "get_timesteps": IMG2IMG_FILE},
        "script": "tools/reference/schedulers_euler_a_pndm.py (diffusers laid out by shared/tools/diffusers-torch113)",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "formulas": __doc__.strip(),
    }
    os.makedirs(OUT, exist_ok=True)
    contents = {
        "euler_a_pndm.json": {"steps": euler_a_steps(), "pndm_forced": pndm_forced(), "loops": loops(),
                              "saved_configs": saved_configs(), "pipelines": pipelines()},
        "img2img.json": {"cases": img2img()},
    }
    write_references(OUT, provenance, contents)

if __name__ == "__main__":
    main()
