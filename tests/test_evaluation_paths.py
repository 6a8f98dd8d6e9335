"""One checkpoint, one table: the notebook path and the command-line path evaluate alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from fienet import notebook
from fienet.checkpoint import load_trained_model, save_checkpoint
from fienet.config import Config, apply_overrides
from fienet.evaluation.features import extract_features
from fienet.evaluation.runner import evaluate_model, summarize
from fienet.model import build_model
from fienet.report import evaluate_checkpoint, extract_to_npz
from fienet.runtime import Runtime

REPO = Path(__file__).resolve().parents[1]


def _checkpoint(root: Path, out: Path) -> Path:
    # Trained in bf16 on purpose: the evaluation must not inherit the training precision.
    cfg = apply_overrides(Config(), [
        "data.dataset=sysu", f"data.root={root}", "data.height=32", "data.width=16",
        "model.arch=resnet18", "model.weights=null", "train.amp=bf16", "train.channels_last=true",
    ])
    torch.manual_seed(0)
    model = build_model(cfg.model, num_classes=3)
    return save_checkpoint({"model": model.state_dict(), "epoch": 1, "config": cfg.to_dict(), "num_classes": 3}, out)


def test_evaluation_runtime_is_fp32_whatever_the_training_asked() -> None:
    cfg = apply_overrides(Config(), ["train.amp=bf16", "train.channels_last=true", "train.device=cpu"])
    assert Runtime.from_config(cfg).amp_dtype == torch.bfloat16
    assert Runtime.for_evaluation("cpu") == Runtime(torch.device("cpu"), None, False)
    assert Runtime.of("cpu") == Runtime.for_evaluation("cpu")


def test_notebook_and_command_line_give_identical_numbers(sysu_root: Path, tmp_path: Path) -> None:
    checkpoint = _checkpoint(sysu_root, tmp_path / "run" / "best.pt")

    # Command line: `fienet evaluate` and `fienet extract`.
    cli_summary = evaluate_checkpoint(checkpoint, device="cpu")
    cli_feats = np.load(extract_to_npz(checkpoint, tmp_path / "f.npz", device="cpu"))["features"]

    # Notebook 03: the context's reader and runtime, the model read back for it.
    saved_cfg = Config.from_dict(torch.load(checkpoint, weights_only=True)["config"])
    ctx = notebook.NotebookContext(REPO, "sysu", sysu_root, saved_cfg, torch.device("cpu"), False, tmp_path)
    model, _ = load_trained_model(checkpoint, ctx.runtime)
    run = evaluate_model(model, ctx.reader, 32, 16, ctx.runtime)
    nb_feats = extract_features(model, ctx.reader.test_records(), 32, 16, ctx.runtime)

    assert np.array_equal(cli_feats, nb_feats)
    pd.testing.assert_frame_equal(cli_summary, summarize(run.table), check_exact=True)
