"""Loads the real upstream scheduler code for tools/reference/schedulers.py.

Nothing upstream is committed: the diffusers scheduler files and the book's ch15util.py are
read from the read-only mirrors at run time, written under a temporary folder, and imported
unmodified. diffusers' package-level machinery (ConfigMixin, register_to_config, BaseOutput,
logging, randn_tensor, ...) is replaced by the few stand-ins below, which is all the four
scheduler files need.
"""

import importlib
import os
import subprocess
import sys
import tempfile
import types

DIFFUSERS_MIRROR = "/work/.mirror/huggingface+diffusers/repo"
BOOK_MIRROR = "/work/.mirror/markhliu+DGAI/repo"
SCHEDULER_FILES = [
    "scheduling_ddpm.py",
    "scheduling_ddim.py",
    "scheduling_euler_discrete.py",
    "scheduling_dpmsolver_multistep.py",
]
BOOK_FILE = "utils/ch15util.py"


def git_head(mirror):
    return subprocess.check_output(["git", "-C", mirror, "rev-parse", "HEAD"], text=True).strip()


def git_show(mirror, path):
    return subprocess.check_output(["git", "-C", mirror, "show", f"HEAD:{path}"], text=True)


# Noise the stand-in randn_tensor hands out instead of drawing (so DDPM's internal draw is reproducible).
NOISE_QUEUE = []


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


_CONFIGURATION_UTILS = '''
import functools, inspect, types

class _Config(types.SimpleNamespace):
    def __getitem__(self, key):
        return getattr(self, key)

class ConfigMixin:
    config_name = "scheduler_config.json"
    def register_to_config(self, **kwargs):
        if not hasattr(self, "config"):
            self.config = _Config()
        for k, v in kwargs.items():
            setattr(self.config, k, v)

def register_to_config(init):
    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        bound = inspect.signature(init).bind(self, *args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        values.pop("self")
        self.config = _Config(**values)
        init(self, *args, **kwargs)
    return wrapper
'''

_UTILS_INIT = '''
import logging as _logging

class BaseOutput:
    pass

class PushToHubMixin:
    pass

def is_scipy_available():
    return False

def deprecate(*args, **kwargs):
    pass

class logging:
    @staticmethod
    def get_logger(name):
        return _logging.getLogger(name)
'''

_TORCH_UTILS = '''
import torch
from reference_shim import NOISE_QUEUE

def randn_tensor(shape, generator=None, device=None, dtype=None, layout=None):
    if NOISE_QUEUE:
        noise = NOISE_QUEUE.pop(0)
        assert tuple(noise.shape) == tuple(shape), (noise.shape, shape)
        return noise.to(device=device, dtype=dtype)
    return torch.randn(shape, generator=generator, device=device, dtype=dtype)
'''

_SCHEDULING_UTILS = '''
from dataclasses import dataclass
from enum import Enum
import torch
from ..utils import BaseOutput

class KarrasDiffusionSchedulers(Enum):
    DDIMScheduler = 1
    DDPMScheduler = 2
    EulerDiscreteScheduler = 5
    DPMSolverMultistepScheduler = 8

@dataclass
class SchedulerOutput(BaseOutput):
    prev_sample: torch.Tensor

class SchedulerMixin:
    pass
'''


def load():
    """Returns (diffusers scheduler classes by _class_name, book module, provenance dict)."""
    root = tempfile.mkdtemp(prefix="diffusers-shim-")
    pkg = os.path.join(root, "diffusers")
    _write(os.path.join(pkg, "__init__.py"), "")
    _write(os.path.join(pkg, "configuration_utils.py"), _CONFIGURATION_UTILS)
    _write(os.path.join(pkg, "utils", "__init__.py"), _UTILS_INIT)
    _write(os.path.join(pkg, "utils", "torch_utils.py"), _TORCH_UTILS)
    _write(os.path.join(pkg, "schedulers", "__init__.py"), "")
    _write(os.path.join(pkg, "schedulers", "scheduling_utils.py"), _SCHEDULING_UTILS)
    for name in SCHEDULER_FILES:
        _write(os.path.join(pkg, "schedulers", name), git_show(DIFFUSERS_MIRROR, f"src/diffusers/schedulers/{name}"))

    # The shim's randn_tensor reaches NOISE_QUEUE through this module name.
    shim = types.ModuleType("reference_shim")
    shim.NOISE_QUEUE = NOISE_QUEUE
    sys.modules["reference_shim"] = shim
    sys.path.insert(0, root)

    classes = {
        "DDPMScheduler": importlib.import_module("diffusers.schedulers.scheduling_ddpm").DDPMScheduler,
        "DDIMScheduler": importlib.import_module("diffusers.schedulers.scheduling_ddim").DDIMScheduler,
        "EulerDiscreteScheduler": importlib.import_module(
            "diffusers.schedulers.scheduling_euler_discrete").EulerDiscreteScheduler,
        "DPMSolverMultistepScheduler": importlib.import_module(
            "diffusers.schedulers.scheduling_dpmsolver_multistep").DPMSolverMultistepScheduler,
    }

    # The book's file also builds image transforms and an attention block at import time;
    # none of that is used here, so those imports get inert stand-ins.
    class _Anything:
        def __init__(self, *args, **kwargs):
            pass

        def __call__(self, *args, **kwargs):
            return _Anything()

        def __getattr__(self, name):
            return _Anything()

    class _StubModule(types.ModuleType):
        def __getattr__(self, name):
            return _Anything()

    for name in ["PIL", "PIL.Image", "torchvision", "torchvision.utils", "torchvision.transforms",
                 "matplotlib", "matplotlib.pyplot", "einops", "tqdm"]:
        if name not in sys.modules:
            sys.modules[name] = _StubModule(name)
    book_path = os.path.join(root, "ch15util.py")
    _write(book_path, git_show(BOOK_MIRROR, BOOK_FILE))
    sys.path.insert(0, root)
    book = importlib.import_module("ch15util")

    provenance = {
        "diffusers": {
            "repo": "huggingface/diffusers",
            "commit": git_head(DIFFUSERS_MIRROR),
            "files": [f"src/diffusers/schedulers/{n}" for n in SCHEDULER_FILES],
        },
        "book": {"repo": "markhliu/DGAI", "commit": git_head(BOOK_MIRROR), "files": [BOOK_FILE]},
    }
    return classes, book, provenance
