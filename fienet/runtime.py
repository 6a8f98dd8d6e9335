"""One place for device, precision and seeding decisions.

The device is chosen once (``select_device``) and passed down; nothing calls ``.cuda()``.
Mixed precision: fp16 or bf16 autocast on CUDA; bf16 autocast on CPUs whose instruction set has
bf16 matrix units (AMX or AVX512-BF16), where it is measurably faster; fp32 elsewhere, where
bf16 on CPU is emulated and slower (see docs/benchmarks.md).

The three decisions (device, precision, memory format) travel together as one :class:`Runtime`:
``Runtime.from_config`` for training, ``Runtime.for_evaluation`` for every reported number.
Reported numbers are computed in fp32 whatever the training precision, so one checkpoint gives
one table on every machine and through every path (command line, demo, notebooks, ablation).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from fienet.config import Config

ModuleT = TypeVar("ModuleT", bound=nn.Module)


def select_device(name: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available, else the CPU; other names are taken as given."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"device '{name}' is not a device name; expected 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device '{name}' requested but CUDA is not available on this machine")
    return device


@lru_cache(maxsize=1)
def cpu_has_bf16_matmul() -> bool:
    """True when the CPU advertises bf16 matrix instructions (Intel AMX, AVX512-BF16)."""
    flags = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        flags = cpuinfo.read_text(errors="ignore")
    return any(f in flags.split() for f in ("amx_bf16", "avx512_bf16"))


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype for ``amp`` in {"auto", "bf16", "fp16", "fp32"} on ``device`` (None: fp32)."""
    if amp == "fp32":
        return None
    if amp == "bf16":
        return torch.bfloat16
    if amp == "fp16":
        if device.type != "cuda":
            raise ValueError("amp='fp16' needs a CUDA device; use 'bf16' or 'fp32' on the CPU")
        return torch.float16
    if amp != "auto":
        raise ValueError(f"amp must be 'auto', 'bf16', 'fp16' or 'fp32', got {amp!r}")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_bf16_matmul() else None


def resolve_channels_last(setting: bool | None, device: torch.device, amp_dtype: torch.dtype | None) -> bool:
    """channels_last helps convolutions on CUDA and with CPU bf16 kernels; ``None`` decides."""
    if setting is not None:
        return bool(setting)
    return device.type == "cuda" or amp_dtype is not None


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """Autocast context for ``dtype`` on ``device``; a no-op when ``dtype`` is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


@dataclass(frozen=True)
class Runtime:
    """Where, in which precision and in which memory format a model runs: decided once, passed whole.

    Attributes:
        device: where the model and its inputs live.
        amp_dtype: autocast dtype (``torch.bfloat16`` or ``torch.float16``), None for fp32.
        channels_last: inputs and weights in channels_last memory format.
    """

    device: torch.device = torch.device("cpu")
    amp_dtype: torch.dtype | None = None
    channels_last: bool = False

    @classmethod
    def from_config(cls, cfg: Config) -> Runtime:
        """The training runtime ``cfg.train`` asks for (``device``, ``amp``, ``channels_last``)."""
        device = select_device(cfg.train.device)
        amp_dtype = resolve_amp(cfg.train.amp, device)
        return cls(device, amp_dtype, resolve_channels_last(cfg.train.channels_last, device, amp_dtype))

    @classmethod
    def for_evaluation(cls, device: torch.device | str = "auto") -> Runtime:
        """The runtime of every reported number: fp32 on ``device``, memory format by device.

        bf16 is a training speed choice; features for tables are computed in fp32 so that they
        do not depend on the machine's instruction set, the training config or on which path
        (command line, demo, notebook) asked for them.
        """
        device = device if isinstance(device, torch.device) else select_device(device)
        return cls(device, None, resolve_channels_last(None, device, None))

    @classmethod
    def of(cls, where: Runtime | torch.device | str) -> Runtime:
        """``where`` itself when it is a Runtime, else the evaluation runtime on that device."""
        return where if isinstance(where, Runtime) else cls.for_evaluation(where)

    def on(self, device: torch.device) -> Runtime:
        """The same decisions on another device (e.g. this process's GPU under torchrun)."""
        return dataclasses.replace(self, device=device)

    def place(self, model: ModuleT) -> ModuleT:
        """``model`` moved to the device, in channels_last when asked."""
        model = model.to(self.device)
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def inputs(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) images moved to the device, in channels_last when asked."""
        images = images.to(self.device, non_blocking=True)
        return images.contiguous(memory_format=torch.channels_last) if self.channels_last else images

    def autocast(self) -> contextlib.AbstractContextManager:
        """The autocast context of this runtime (a no-op in fp32)."""
        return autocast(self.device, self.amp_dtype)


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed Python, numpy and torch; ask torch for deterministic kernels where they exist."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)


def rng_state() -> dict:
    """Every RNG state as plain Python and tensors, so ``torch.load(weights_only=True)`` takes it."""
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [np_name, torch.from_numpy(np_keys.astype(np.int64)), int(np_pos), int(np_has_gauss), float(np_gauss)],
        "python": [py_version, list(py_internal), py_gauss],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what ``rng_state`` saved."""
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_py = state["python"]
    random.setstate((version, tuple(internal), gauss_py))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
