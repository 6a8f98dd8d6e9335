"""Bad inputs through the real command line: one line on stderr naming the culprit, no traceback,
a non-zero exit, and no file that existed before is changed."""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
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


def _fienet(*args: str, cwd: Path, max_file_bytes: int | None = None) -> subprocess.CompletedProcess:
    """``python -m fienet *args``; with ``max_file_bytes``, a write past that size fails as on a full disk."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("FIENET_DEBUG", None)
    if args[0] == "train" and "--config" not in args:
        args = (args[0], "--config", str(ROOT / "configs" / "demo.yaml"), *args[1:])

    def limit_file_size() -> None:  # EFBIG past the limit, as ENOSPC on a full disk (not a SIGXFSZ kill)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run([sys.executable, "-m", "fienet", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          preexec_fn=limit_file_size if max_file_bytes is not None else None)


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
    (["extract", "nan.pt", "--out", "feats", "--workers", "100000"], "argument --workers: 100000 is out of range"),
    (["evaluate", "nan.pt", "--device", "banana"], "device 'banana' is not a device name"),
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


TINY_RUN = """data: {dataset: synthetic, root: synth, height: 32, width: 16, p: 2, k: 2, val_ids: 2, in_memory: true,
       workers: 0}
model: {arch: resnet18, weights: null}
train: {epochs: 1, iters_per_epoch: 2, optimizer: sgd, lr: 0.01, warmup_epochs: 0, milestones: [], eval_every: 1,
        progress: false, device: cpu, amp: fp32, out_dir: run}
"""


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A folder with tiny synthetic data, a copy whose images are all corrupt, a finished one-epoch
    run in run/ and a features file."""
    from fienet.config import load_config
    from fienet.data.synthetic import generate_synthetic
    from fienet.engine import fit

    folder = tmp_path_factory.mktemp("runs")
    generate_synthetic(folder / "synth", preset="tiny", seed=0)
    shutil.copytree(folder / "synth", folder / "synth_bad")
    for image in (folder / "synth_bad").rglob("*.jpg"):
        image.write_bytes(b"not an image")
    (folder / "tiny.yaml").write_text(TINY_RUN)
    cwd = Path.cwd()
    os.chdir(folder)  # the config's relative paths
    try:
        fit(load_config("tiny.yaml"))
    finally:
        os.chdir(cwd)
    (folder / "feats.npz").write_bytes(b"features of an earlier extraction")
    return folder


TOO_LARGE = r": cannot write \(File too large\); "
RUN_CASES = [  # (arguments, file size limit in bytes or None, regex for the line, files that may be new or changed)
    # a full disk (the file size limit fails the write with EFBIG as a full disk fails with ENOSPC)
    (["train", "--resume", "train.epochs=2"], 1_000_000, r"run/(best|last)\.pt" + TOO_LARGE, {"run/config.yaml"}),
    (["train", "train.out_dir=run2"], 300, r"run2/config\.yaml" + TOO_LARGE, set()),
    (["extract", "run/best.pt", "--out", "feats.npz"], 1_000, r"feats\.npz" + TOO_LARGE, set()),
    (["synth", "--out", "synth2", "--preset", "tiny"], 2_000, r"synth2/synth_files\.txt" + TOO_LARGE, set()),
    # a NaN loss, and corrupt images met inside a DataLoader worker process
    (["train", "train.lr=1e30", "train.out_dir=run3"], None,
     r"run3: training loss became nan at epoch 1, .*; no checkpoint was written yet", {"run3/config.yaml"}),
    (["train", "data.root=synth_bad", "data.workers=1", "data.in_memory=false", "train.out_dir=run4"], None,
     r"synth_bad/cam\d/\d{4}/\d{4}\.jpg: cannot decode image", {"run4/config.yaml"}),
]


@pytest.mark.parametrize("args, limit, line, may_change", RUN_CASES, ids=[" ".join(c[0]) for c in RUN_CASES])
def test_failures_during_a_run_give_one_line_and_keep_every_earlier_file(finished_run, args, limit, line,
                                                                        may_change) -> None:
    if args[0] == "train":
        args = [args[0], "--config", "tiny.yaml", *args[1:]]
    before = _snapshot(finished_run)
    result = _fienet(*args, cwd=finished_run, max_file_bytes=limit)
    assert result.returncode != 0
    lines = [text for text in result.stderr.splitlines() if "img/s" not in text and text.strip()]  # not tqdm's
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert re.search(line, lines[0]), lines[0]
    after = _snapshot(finished_run)
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed <= may_change  # no earlier file changed, no partial or temporary file left
