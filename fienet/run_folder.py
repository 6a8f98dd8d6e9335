"""The run folder before training starts: never replace a run by accident, resume only the same run.

``fit`` calls :func:`prepare_run_folder` before it writes anything:

- a folder that already holds a run (a checkpoint, a history or a config) is refused unless the
  caller asks to ``resume`` it or to ``overwrite`` it (start over: its run files are deleted);
- ``resume`` continues the stored run. The config may differ from the stored one only in
  :data:`RESUME_MAY_CHANGE` (where the run lives, on which device, how fast the data comes, and
  how many epochs it lasts); any other difference is refused with one message naming the fields;
- temporary files that an interrupted write (checkpoint, config, history) left behind are removed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fienet.checkpoint import CheckpointError, load_checkpoint
from fienet.config import Config
from fienet.files import remove_stale_temp_files

# The files fit() writes into a run folder; overwrite deletes these and nothing else.
RUN_FILES = ("last.pt", "best.pt", "history.csv", "history.json", "config.yaml")

# What a resume reads from last.pt beyond the weights, epoch and config every checkpoint has.
RESUME_KEYS = ("optimizer", "scheduler", "rng", "history", "best_map")

# Fields that may differ between the stored run and the config given to a resume: none of them
# changes what the run computes in the epochs already done (epochs only adds or removes later ones;
# note that a cosine schedule is defined over train.epochs, so a longer cosine run decays later).
RESUME_MAY_CHANGE = (
    "train.epochs", "train.out_dir", "train.device", "train.progress",
    "data.root", "data.workers", "data.in_memory",
)


class RunFolderError(ValueError):
    """The run folder holds another run, or a resume would not continue the stored run."""


def prepare_run_folder(cfg: Config, resume: bool, overwrite: bool, is_main: bool = True) -> dict[str, Any] | None:
    """Check ``cfg.train.out_dir`` before training; returns the checkpoint to resume from (or None).

    Args:
        cfg: the resolved config of the run about to start.
        resume: continue the run stored in ``<out_dir>/last.pt``.
        overwrite: start over in a folder that holds a run, deleting its :data:`RUN_FILES`.
        is_main: this process may delete files (rank 0 under torchrun).

    Raises:
        RunFolderError: the folder holds a run and neither flag was given, both flags were given,
            or the config differs from the stored run in a field a resume may not change.
        CheckpointError: ``last.pt`` is missing or unreadable on resume.
    """
    cfg.validated()  # a config built in code gets the checks a config read from a file gets
    out_dir = Path(cfg.train.out_dir)
    if resume and overwrite:
        raise RunFolderError(f"{out_dir}: resume and overwrite both asked for; expected one of them")
    if out_dir.exists() and not out_dir.is_dir():
        raise RunFolderError(f"{out_dir}: exists and is not a folder; expected a folder for the run (train.out_dir)")
    if is_main and out_dir.is_dir():
        remove_stale_temp_files(out_dir)
    if resume:
        state = load_checkpoint(out_dir / "last.pt")
        missing = [k for k in RESUME_KEYS if k not in state]
        if missing:
            raise CheckpointError(
                f"{out_dir / 'last.pt'}: cannot resume from it: it lacks {missing}; expected the last.pt that fit "
                "writes after every epoch"
            )
        check_resume_config(Config.from_dict(state["config"]), cfg, out_dir / "last.pt", state["epoch"])
        return state
    found = [name for name in RUN_FILES if (out_dir / name).exists()]
    if found and not overwrite:
        raise RunFolderError(
            f"{out_dir}: already holds a run ({', '.join(found)}); nothing was changed; continue it with "
            "--resume, start over with --overwrite (deletes that run), or choose another train.out_dir"
        )
    if found and is_main:
        for name in found:
            (out_dir / name).unlink()
    return None


def config_differences(stored: Config, new: Config) -> dict[str, tuple[Any, Any]]:
    """``{"section.field": (stored value, new value)}`` for every field that differs."""
    a, b = stored.to_dict(), new.to_dict()
    return {
        f"{section}.{name}": (a[section][name], b[section][name])
        for section in a for name in a[section] if a[section][name] != b[section][name]
    }


def check_resume_config(stored: Config, new: Config, path: Path, epochs_done: int) -> None:
    """Refuse a resume whose config is not the stored run's (beyond :data:`RESUME_MAY_CHANGE`)."""
    differing = {k: v for k, v in config_differences(stored, new).items() if k not in RESUME_MAY_CHANGE}
    if differing:
        listed = ", ".join(f"{k} (run: {old!r}, now: {now!r})" for k, (old, now) in differing.items())
        raise RunFolderError(
            f"{path}: resume continues the stored run, but the config differs in {listed}; only "
            f"{', '.join(RESUME_MAY_CHANGE)} may change on resume; start a new run in another train.out_dir "
            "(or --overwrite this one)"
        )
    if new.train.epochs <= epochs_done:
        raise RunFolderError(
            f"{path}: the run has already trained {epochs_done} epoch(s) and train.epochs={new.train.epochs}; "
            "expected more epochs to resume (e.g. train.epochs=" + str(epochs_done + 1) + ")"
        )
