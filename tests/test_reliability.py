"""Bad inputs through the real command line: one line on stderr naming the culprit, no traceback,
a non-zero exit, and no file that existed before is changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _fienet(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FIENET_DEBUG", None)
    if args[0] == "train" and "--config" not in args:
        args = (args[0], "--config", str(ROOT / "configs" / "demo.yaml"), *args[1:])
    return subprocess.run([sys.executable, "-m", "fienet", *args], cwd=cwd, env=env, capture_output=True, text=True)


def _prepare(tmp: Path) -> None:
    """Inputs the cases point at; everything under tmp is compared before and after."""
    (tmp / "malformed.yaml").write_text("train:\n  lr: [0.1\n")
    (tmp / "list_section.yaml").write_text("train: [1, 2]\n")
    (tmp / "nan_lr.yaml").write_text("train:\n  lr: .nan\n")
    torch.save({"model": {"w": torch.tensor([float("nan")])}, "epoch": 1, "config": {}, "num_classes": 2},
               tmp / "nan.pt")
    torch.save({"weights": {}}, tmp / "foreign.pt")
    real = tmp / "real_sysu"  # real-looking images in the SYSU-MM01 layout, not generated
    for cam in range(1, 7):
        (real / f"cam{cam}" / "0001").mkdir(parents=True)
        Image.fromarray(np.full((8, 4, 3), 30 * cam, np.uint8)).save(real / f"cam{cam}" / "0001" / "0001.jpg")
    (real / "exp").mkdir()
    (real / "exp" / "train_id.txt").write_text("1\n")


CASES = [  # (arguments, what the single stderr line must contain)
    (["train", "--config", "missing.yaml"], "missing.yaml"),
    (["train", "--config", "malformed.yaml"], "malformed.yaml: not valid YAML"),
    (["train", "--config", "list_section.yaml"], "list_section.yaml: section 'train' holds list"),
    (["train", "--config", "nan_lr.yaml"], "train.lr"),
    (["train", "train.epochs=-1"], "train.epochs=-1 is invalid"),
    (["train", "model.pfam=maybe"], "model.pfam='maybe' is invalid"),
    (["train", "train.epochs=3.5"], "train.epochs=3.5 is invalid"),
    (["train", "model.pfam=yes"], "model.pfam='yes' is invalid"),
    (["train", "train.epoch=3"], "no field 'train.epoch'"),
    (["extract", "nan.pt", "--out", "feats"], "nan.pt: 1 weight tensor(s) hold NaN or infinity"),
    (["evaluate", "nan.pt"], "nan.pt: 1 weight tensor(s) hold NaN or infinity"),
    (["evaluate", "foreign.pt"], "foreign.pt: not a fienet checkpoint"),
    (["train", "train.out_dir=run_missing", "--resume"], "last.pt: checkpoint not found"),
    (["synth", "--out", "real_sysu", "--overwrite", "--preset", "tiny"], "real_sysu: not empty and holds no synth_files"),
    (["synth", "--out", "new", "--seed", "-1"], "argument --seed"),
    (["synth", "--out", "new", "--preset", "extreme"], "unknown synthetic preset 'extreme'"),
]


@pytest.mark.parametrize("args, named", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_input_gives_one_line_and_changes_nothing(tmp_path, args, named) -> None:
    _prepare(tmp_path)
    before = _snapshot(tmp_path)
    result = _fienet(*args, cwd=tmp_path)
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0] and "Traceback" not in result.stderr
    assert _snapshot(tmp_path) == before
    assert not (tmp_path / "new").exists()


def test_debug_shows_the_traceback(tmp_path) -> None:
    _prepare(tmp_path)
    result = _fienet("evaluate", "foreign.pt", "--debug", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" in result.stderr
