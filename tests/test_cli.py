"""The `fienet` command end to end on the tiny synthetic preset, and its error messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from fienet.cli import main
from fienet.runtime import resolve_amp, resolve_channels_last

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
DEMO = str(CONFIGS / "demo.yaml")
TINY_TRAIN = [
    "data.height=32", "data.width=16", "data.p=2", "data.k=2", "data.val_ids=2", "data.in_memory=true",
    "data.workers=0", "model.arch=resnet18", "model.weights=null", "train.epochs=1",
    "train.iters_per_epoch=2", "train.progress=false", "train.device=cpu", "train.amp=fp32",
]


def test_synth_train_evaluate(tmp_path, capsys) -> None:
    root, run = tmp_path / "synthetic", tmp_path / "run"
    assert main(["synth", "--out", str(root), "--preset", "tiny"]) == 0
    assert (root / "exp" / "test_id.txt").is_file()

    assert main(["train", "--config", DEMO, f"data.root={root}", f"train.out_dir={run}", *TINY_TRAIN]) == 0
    assert (run / "best.pt").is_file()

    assert main(["evaluate", str(run / "best.pt"), "--workers", "2"]) == 0
    summary = pd.read_csv(run / "eval_synthetic.csv")
    assert list(summary["setting"]) == [
        "all-search single-shot", "indoor-search single-shot", "all-search multi-shot", "indoor-search multi-shot",
    ]
    assert (summary["trials"] == 10).all()
    assert summary[["rank1", "mAP", "mINP"]].apply(lambda c: c.between(0, 100)).all().all()
    trials = pd.read_csv(run / "eval_synthetic_trials.csv")
    assert len(trials) == 40
    assert json.loads((run / "eval_synthetic.json").read_text())[0]["setting"] == "all-search single-shot"
    out = capsys.readouterr().out
    assert "all-search single-shot" in out
    # The cost is stated before any image is decoded: 4 test ids x 2 images x (2 infrared + 4 visible cameras).
    assert "embedding 48 test images (16 infrared, 32 visible) once, then ranking 40 splits (4 settings)" in out
    assert out.index("embedding 48 test images") < out.index("all-search single-shot")


def test_errors_are_one_clear_line(tmp_path, capsys) -> None:
    assert main(["train", "--config", str(tmp_path / "missing.yaml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fienet train: error: config file not found:") and err.count("\n") == 1

    assert main(["train", "--config", DEMO, "train.epoch=3"]) == 1
    assert "no field 'train.epoch'" in capsys.readouterr().err

    assert main(["evaluate", str(tmp_path / "nope.pt"), "--device", "cpu"]) == 1
    assert "nope.pt: checkpoint not found" in capsys.readouterr().err

    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("not a dataset")
    assert main(["synth", "--out", str(tmp_path / "taken"), "--preset", "tiny"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fienet synth: error:") and "taken" in err
    assert (tmp_path / "taken" / "notes.txt").read_text() == "not a dataset"  # nothing lost


def test_python_dash_m_entry_point() -> None:
    out = subprocess.run([sys.executable, "-m", "fienet", "--help"], capture_output=True, text=True, check=True)
    for command in ("synth", "train", "evaluate", "demo", "extract"):
        assert command in out.stdout


def test_precision_decisions() -> None:
    cpu = torch.device("cpu")
    assert resolve_amp("fp32", cpu) is None
    assert resolve_amp("bf16", cpu) is torch.bfloat16
    with pytest.raises(ValueError, match="needs a CUDA device"):
        resolve_amp("fp16", cpu)
    with pytest.raises(ValueError, match="amp must be"):
        resolve_amp("off", cpu)
    assert resolve_channels_last(None, cpu, None) is False
    assert resolve_channels_last(None, cpu, torch.bfloat16) is True
    assert resolve_channels_last(True, cpu, None) is True


def test_configs_load_and_name_their_datasets() -> None:
    from fienet.config import load_config

    for name, dataset in [("demo", "synthetic"), ("sysu", "sysu"), ("regdb", "regdb"), ("llcm", "llcm")]:
        cfg = load_config(CONFIGS / f"{name}.yaml")
        assert cfg.data.dataset == dataset
        if name != "demo":  # the paper-style GPU recipe
            assert (cfg.model.arch, cfg.model.weights, cfg.data.height, cfg.data.width) == ("resnet50", "imagenet", 288, 144)
            assert (cfg.data.p, cfg.data.k) == (8, 4)
