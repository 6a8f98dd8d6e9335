"""The ablation study on the synthetic data, as the paper's ablation table would be.

Six variants of one config (the baseline is FIENet with PFAM, MPIM and IGCL off, see
docs/design.md), each trained with several seeds, each tested on the SYSU-MM01 all-search
single-shot protocol (10 gallery trials) and, on a fixed set of test images, by where its
Grad-CAM looks (:func:`fienet.explain.attention_on_parts` at the variant's final map: ``mpim``,
else ``pfam``, else ``layer4``). One command reruns everything::

    python -m fienet.ablation --config configs/demo.yaml --seeds 0 1 2 --out runs/ablation

writes ``runs.csv`` (one row per variant and seed), ``summary.csv`` and ``ablation.md`` (mean
and standard deviation over seeds), and keeps every run folder; a run whose ``result.json``
exists is read back instead of retrained, so an interrupted study continues where it stopped.
``--gpu`` trains with the paper-style GPU recipe of ``configs/sysu.yaml`` (ResNet-50 from
ImageNet at 288x144) on the same synthetic data.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
import torch

from fienet.config import Config, apply_overrides, load_config, save_config
from fienet.configs import PACKAGED
from fienet.data import SYSUMM01, Record, dataset_from_config
from fienet.data.synthetic import ensure_synthetic
from fienet.checkpoint import load_trained_model
from fienet.engine import fit
from fienet.evaluation.runner import evaluate_model, summarize
from fienet.explain import attention_on_parts, attention_summary
from fienet.files import write_csv, write_text
from fienet.protocols import sysu_settings
from fienet.runtime import Runtime
from fienet.variants import VARIANTS

SETTING = sysu_settings(shots=(1,))[0]  # all-search single-shot, 10 gallery trials
METRICS = ("rank1", "mAP", "mINP", "parts", "parts_lift", "person")
GPU_CONFIG = PACKAGED / "sysu.yaml"


def variant_slug(name: str) -> str:
    """Folder name of a variant: ``"+PFAM+MPIM"`` -> ``"pfam_mpim"``."""
    return VARIANTS[name].slug


def variant_config(base: Config, variant: str, seed: int, out_dir: str | Path) -> Config:
    """``base`` with the variant's switches, the training seed and the run folder set."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant '{variant}'; expected one of {list(VARIANTS)}")
    return VARIANTS[variant].apply(base, [f"train.seed={seed}", f"train.out_dir={out_dir}"])


def attention_records(root: str | Path, num_ids: int) -> list[Record]:
    """Query and trial-0 gallery images of the first ``num_ids`` test identities (all if 0)."""
    query, gallery = SYSUMM01(root).test_split("all", 0, 1)
    ids = sorted({r.pid for r in query})
    keep = set(ids[:num_ids] if num_ids else ids)
    return [r for r in (*query, *gallery) if r.pid in keep]


def run_one(cfg: Config, attention_ids: int = 20) -> dict[str, Any]:
    """Train one variant and seed, then test it; the result is also written to ``result.json``.

    Returns:
        ``rank1``, ``mAP``, ``mINP`` (percent, mean of the 10 trials), ``parts``, ``person``
        (share of CAM energy on the distinguishing parts / on the person), ``parts_lift``
        (parts share over the parts' area), the CAM ``layer`` and ``train_s``.
    """
    start = time.perf_counter()
    fit(cfg, overwrite=True)  # a variant's folder holds that variant and seed only: retraining replaces it
    train_s = time.perf_counter() - start
    runtime = Runtime.for_evaluation(cfg.train.device)
    model, _ = load_trained_model(Path(cfg.train.out_dir) / "best.pt", runtime)
    run = evaluate_model(
        model, dataset_from_config(cfg.data), cfg.data.height, cfg.data.width, runtime, settings=[SETTING]
    )
    metrics = summarize(run.table).iloc[0]
    layer = model.final_layer
    table = attention_on_parts(
        model, cfg.data.root, attention_records(cfg.data.root, attention_ids),
        cfg.data.height, cfg.data.width, runtime.device, layer=layer,
    )
    attention = attention_summary(table).loc["all"]
    result = {
        "rank1": float(metrics["rank1"]), "mAP": float(metrics["mAP"]), "mINP": float(metrics["mINP"]),
        "parts": float(attention["parts"]), "parts_lift": float(attention["parts_lift"]),
        "person": float(attention["person"]), "layer": layer, "train_s": train_s,
    }
    write_text(Path(cfg.train.out_dir) / "result.json", json.dumps(result, indent=1))
    return result


def run_ablation(
    base: Config,
    seeds: Sequence[int],
    out_dir: str | Path,
    variants: Sequence[str] = tuple(VARIANTS),
    attention_ids: int = 20,
) -> pd.DataFrame:
    """Every variant x seed (finished runs are read back); writes runs.csv, summary.csv, ablation.md.

    Args:
        base: the config every variant starts from (its data, schedule and loss weights).
        seeds: training seeds.
        out_dir: study folder; run ``<variant>/seed<k>`` lives under it.
        variants: names from :data:`VARIANTS`, in table order.
        attention_ids: test identities whose images the attention score uses (0: all).

    Returns:
        One row per (variant, seed) with the :func:`run_one` columns.
    """
    if not seeds:
        raise ValueError("seeds is empty; expected at least one training seed, e.g. --seeds 0 1 2")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ensure_synthetic(base.data.root, base.data.synth_preset, base.data.synth_seed)
    save_config(base, out_dir / "config.yaml")
    rows = []
    for variant in variants:
        for seed in seeds:
            cfg = variant_config(base, variant, seed, out_dir / variant_slug(variant) / f"seed{seed}")
            done = Path(cfg.train.out_dir) / "result.json"
            if done.is_file():
                print(f"{variant} seed {seed}: reusing {done}")
                result = json.loads(done.read_text())
            else:
                print(f"{variant} seed {seed}: training into {cfg.train.out_dir}")
                result = run_one(cfg, attention_ids)
            rows.append({"variant": variant, "seed": seed, **result})
    runs = pd.DataFrame(rows)
    write_csv(out_dir / "runs.csv", runs)
    summary = summarize_ablation(runs)
    write_csv(out_dir / "summary.csv", summary)
    write_text(out_dir / "ablation.md", render_markdown(summary, base, list(seeds)))
    return runs


def summarize_ablation(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample standard deviation over seeds of every metric, one row per variant (in order)."""
    grouped = runs.groupby("variant", sort=False)
    table = grouped[list(METRICS)].agg(["mean", "std"])
    table.columns = [f"{metric}_{stat}" for metric, stat in table.columns]
    table["seeds"] = grouped.size()
    table["train_s"] = grouped["train_s"].mean()
    return table.reset_index()


def render_markdown(summary: pd.DataFrame, base: Config, seeds: list[int]) -> str:
    """The ablation table: switches, then ``mean ± std`` of every metric over the seeds."""

    def cell(row: pd.Series, metric: str, digits: int = 1) -> str:
        mean, std = row[f"{metric}_mean"], row[f"{metric}_std"]
        return f"{mean:.{digits}f}" if pd.isna(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"

    lines = [
        f"Synthetic data ({base.data.synth_preset} preset), {base.model.arch} at {base.data.height}x"
        f"{base.data.width}, {base.train.epochs} epochs; seeds {seeds}. Rank-1 / mAP / mINP in percent, "
        "SYSU-MM01 all-search single-shot, mean of 10 gallery trials; person, parts = share of Grad-CAM "
        "energy on the person and on the distinguishing parts (lift = share / area).",
        "",
        "| variant | PFAM | MPIM | IGCL | Rank-1 | mAP | mINP | person | parts | parts lift | seeds |",
        "|---|:-:|:-:|:-:|---|---|---|---|---|---|---|",
    ]
    for _, row in summary.iterrows():
        v = VARIANTS[row["variant"]]
        marks = ["✓" if on else "" for on in (v.pfam, v.mpim, v.igcl)]
        lines.append(
            f"| {row['variant']} | {' | '.join(marks)} | {cell(row, 'rank1')} | {cell(row, 'mAP')} | "
            f"{cell(row, 'mINP')} | {cell(row, 'person', 3)} | {cell(row, 'parts', 3)} | "
            f"{cell(row, 'parts_lift', 2)} | {row['seeds']} |"
        )
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fienet.ablation", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/demo.yaml", help="base config (default: %(default)s)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--out", default="runs/ablation", help="study folder (default: %(default)s)")
    parser.add_argument("--attention-ids", type=int, default=20, help="test identities for the CAM score (0: all)")
    parser.add_argument("--gpu", action="store_true",
                        help=f"train with the GPU recipe of {GPU_CONFIG.name} on --config's synthetic data")
    parser.add_argument("overrides", nargs="*", metavar="section.field=value", help="config overrides")
    return parser


def resolve_base(config: str, gpu: bool, overrides: Sequence[str]) -> Config:
    """The study's base config: ``config`` itself, or the GPU recipe on ``config``'s synthetic data."""
    cfg = load_config(config)
    if gpu:
        data = cfg.data
        cfg = load_config(GPU_CONFIG, [
            "data.dataset=synthetic", f"data.root={data.root}", f"data.synth_preset={data.synth_preset}",
            f"data.synth_seed={data.synth_seed}", f"data.val_ids={data.val_ids}", "train.device=auto",
        ])
    if cfg.data.dataset != "synthetic":
        raise ValueError(f"{config}: data.dataset='{cfg.data.dataset}'; the ablation runs on the synthetic data")
    return apply_overrides(cfg, overrides)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    base = resolve_base(args.config, args.gpu, args.overrides)
    print(f"device: {Runtime.from_config(base).device}; torch threads: {torch.get_num_threads()}")
    run_ablation(base, args.seeds, args.out, args.variants, args.attention_ids)
    print((Path(args.out) / "ablation.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
