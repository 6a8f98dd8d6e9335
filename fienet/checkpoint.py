"""Checkpoints: written atomically, read back with ``weights_only=True`` and nothing else.

A checkpoint is a dict of tensors and plain Python values: model, optimiser and scheduler state,
the epoch just finished, every RNG state, the training history and the resolved config. Writing
goes to a temporary file in the same folder that then replaces the target in one ``os.replace``,
so a crash mid-write never leaves a half-written file where a good checkpoint was.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from fienet.config import Config
    from fienet.runtime import Runtime

CHECKPOINT_KEYS = ("model", "epoch", "config")


class CheckpointError(RuntimeError):
    """A checkpoint file that is missing, truncated, unsafe or not a fienet checkpoint."""


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file + rename in the same folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``.

    Raises:
        CheckpointError: the file is missing, truncated or corrupt, holds arbitrary pickled
            objects (refused, never executed), or lacks the keys a fienet checkpoint has.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{path}: refused to load: it holds objects other than tensors and plain Python "
            f"values, and fienet only loads checkpoints with torch.load(weights_only=True) ({err})"
        ) from err
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as err:
        raise CheckpointError(
            f"{path}: cannot read checkpoint (truncated or corrupt file?): {err}"
        ) from err
    if not isinstance(state, dict) or any(k not in state for k in CHECKPOINT_KEYS):
        found = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(
            f"{path}: not a fienet checkpoint: expected a dict with keys {list(CHECKPOINT_KEYS)}, found {found}"
        )
    return state


def load_trained_model(path: str | Path, runtime: Runtime | torch.device | str = "cpu") -> tuple[nn.Module, Config]:
    """Rebuild the model saved in a checkpoint, with its config, ready for evaluation.

    Args:
        path: a checkpoint written by training.
        runtime: where the model goes (and in which memory format); a bare device means
            :meth:`~fienet.runtime.Runtime.for_evaluation` on it.

    Returns:
        ``(model, cfg)``: the network in eval mode, and the config it was trained with
        (``model.weights`` cleared: the checkpoint holds every weight).
    """
    # Imported here so that reading and writing checkpoints stays free of the model code.
    from fienet.config import Config
    from fienet.model import build_model
    from fienet.runtime import Runtime

    runtime = Runtime.of(runtime)
    state = load_checkpoint(path, map_location=runtime.device)
    cfg = Config.from_dict(state["config"])
    cfg.model.weights = None  # the checkpoint holds every weight; nothing to fetch
    model = build_model(cfg.model, state["num_classes"])
    model.load_state_dict(state["model"])
    return runtime.place(model).eval(), cfg
