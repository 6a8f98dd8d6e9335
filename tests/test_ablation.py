"""The ablation runner end to end on the tiny synthetic preset, its variants and its errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fienet import ablation
from fienet.config import Config, apply_overrides
from fienet.model.fienet import final_layer

DEMO = str(Path(__file__).resolve().parents[1] / "configs" / "demo.yaml")


def test_variants_switch_exactly_their_modules() -> None:
    base = apply_overrides(Config(), ["loss.igcl_weight=0.5"])
    expected = {  # (pfam, mpim, igcl weight)
        "baseline": (False, False, 0.0), "+PFAM": (True, False, 0.0), "+MPIM": (False, True, 0.0),
        "+PFAM+MPIM": (True, True, 0.0), "+IGCL": (False, False, 0.5), "FIENet": (True, True, 0.5),
    }
    for name, switches in expected.items():
        cfg = ablation.variant_config(base, name, seed=3, out_dir="runs/x")
        assert (cfg.model.pfam, cfg.model.mpim, cfg.loss.igcl_weight) == switches, name
        assert cfg.train.seed == 3 and cfg.train.out_dir == "runs/x"
    models = [ablation.variant_config(base, name, 0, "x").model for name in ("baseline", "+PFAM", "FIENet")]
    layers = [final_layer(model) for model in models]
    assert layers == ["layer4", "pfam", "mpim"]
    assert ablation.variant_slug("+PFAM+MPIM") == "pfam_mpim"


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"variant '\+IGCL' uses IGCL but the config has loss.igcl_weight=0"):
        ablation.variant_config(apply_overrides(Config(), ["loss.igcl_weight=0"]), "+IGCL", 0, "x")
    with pytest.raises(ValueError, match=r"unknown variant 'full'"):
        ablation.variant_config(Config(), "full", 0, "x")
    with pytest.raises(SystemExit):
        ablation.main(["--variants", "full"])


def test_smoke_study_writes_tables_and_reuses_finished_runs(tmp_path, monkeypatch, capsys) -> None:
    out = tmp_path / "study"
    args = [
        "--config", DEMO, "--seeds", "0", "--variants", "baseline", "FIENet", "--out", str(out),
        "--attention-ids", "2",
        f"data.root={tmp_path / 'tiny'}", "data.synth_preset=tiny", "data.height=64", "data.width=32",
        "data.p=2", "data.k=2", "data.val_ids=2", "data.in_memory=true", "data.workers=0",
        "model.arch=resnet18", "model.weights=null", "train.epochs=1", "train.iters_per_epoch=2",
        "train.warmup_epochs=0", "train.milestones=[]", "train.eval_every=1", "train.progress=false",
        "train.device=cpu", "train.amp=fp32",
    ]
    assert ablation.main(args) == 0
    runs = pd.read_csv(out / "runs.csv")
    assert list(zip(runs["variant"], runs["seed"], runs["layer"])) == [("baseline", 0, "layer4"), ("FIENet", 0, "mpim")]
    for col in ("rank1", "mAP", "mINP"):
        assert runs[col].between(0, 100).all()
    assert runs["parts"].between(0, 1).all() and (runs["parts_lift"] > 0).all()
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["variant"]) == ["baseline", "FIENet"] and (summary["seeds"] == 1).all()
    assert summary["rank1_mean"].tolist() == runs["rank1"].tolist()  # one seed: mean is the run
    table = (out / "ablation.md").read_text()
    assert "| baseline |  |  |  |" in table and "| FIENet | ✓ | ✓ | ✓ |" in table
    assert (out / "fienet" / "seed0" / "best.pt").is_file() and (out / "config.yaml").is_file()

    # A second call reads result.json back and trains nothing.
    monkeypatch.setattr(ablation, "fit", lambda cfg: pytest.fail("finished run retrained"))
    assert ablation.main(args) == 0
    assert "FIENet seed 0: reusing" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_csv(out / "runs.csv"), runs)
