"""Checkpoints: written atomically, read back with ``weights_only=True`` and nothing else.

A checkpoint is a dict of tensors and plain Python values: model, optimiser and scheduler state,
the epoch just finished, every RNG state, the training history and the resolved config. Writing
goes through :func:`fienet.files.atomic_write` (a temporary file renamed over the target), so a
crash or a full disk mid-write never leaves a half-written file where a good checkpoint was.

One finiteness rule on both sides: weights holding NaN or infinity are never written, and a
checkpoint holding them is refused on every loading path (resume, evaluate, extract, notebooks).
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from fienet.files import atomic_write

if TYPE_CHECKING:
    from fienet.config import Config
    from fienet.runtime import Runtime

CHECKPOINT_KEYS = ("model", "epoch", "config")


class CheckpointError(RuntimeError):
    """A checkpoint file that is missing, truncated, unsafe or not a fienet checkpoint."""


def non_finite_weights(weights: dict[str, Any]) -> list[str]:
    """Names of the floating-point tensors of a state dict that hold NaN or infinity."""
    return [
        name for name, t in weights.items()
        if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all())
    ]


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file + rename in the same folder).

    Raises:
        CheckpointError: ``state["model"]`` holds NaN or infinite weights (nothing is written,
            the previous file at ``path`` stays).
        WriteError: the write failed (disk full, no permission); the previous file stays.
    """
    path = Path(path)
    bad = non_finite_weights(state.get("model", {}))
    if bad:
        raise CheckpointError(
            f"{path}: not written: {len(bad)} weight tensor(s) hold NaN or infinity after epoch "
            f"{state.get('epoch', '?')} (first: {bad[0]}); the previous checkpoint there, if any, is kept. "
            "Lower train.lr, or train in fp32 (train.amp=fp32)"
        )
    with atomic_write(path, durable=True) as fh:
        torch.save(state, fh)
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
    bad = non_finite_weights(state["model"]) if isinstance(state["model"], dict) else []
    if bad:
        raise CheckpointError(
            f"{path}: {len(bad)} weight tensor(s) hold NaN or infinity (first: {bad[0]}); "
            "expected finite weights: this checkpoint cannot be used"
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
    load_weights(model, state["model"], path)
    return runtime.place(model).eval(), cfg


def load_weights(model: torch.nn.Module, weights: dict[str, Any], path: str | Path) -> None:
    """``model.load_state_dict(weights)``, failing with one short line instead of a list of keys.

    Raises:
        CheckpointError: the checkpoint's weights do not fit the model the config builds.
    """
    try:
        model.load_state_dict(weights)
    except RuntimeError as err:
        own = model.state_dict()
        missing = [k for k in own if k not in weights]
        unexpected = [k for k in weights if k not in own]
        shapes = [k for k in own if k in weights and own[k].shape != weights[k].shape]
        first = (missing or unexpected or shapes or ["?"])[0]
        raise CheckpointError(
            f"{path}: weights do not fit the model its config builds ({len(missing)} missing, {len(unexpected)} "
            f"unexpected, {len(shapes)} of another shape; first: {first}); expected a checkpoint written by fit"
        ) from err
