"""The ``fienet`` command: ``synth | train | evaluate | demo | extract``.

YAML configs are read here and nowhere below; every library function gets plain arguments.
Overrides of any config field follow the config path: ``fienet train --config configs/sysu.yaml
train.epochs=80 model.pfam=false``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence


def _add_config_args(p: argparse.ArgumentParser, default: str | None) -> None:
    p.add_argument("--config", default=default, help="YAML config file (default: %(default)s)")
    p.add_argument("overrides", nargs="*", metavar="section.field=value", help="config overrides")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fienet", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="render the procedural synthetic VI-ReID dataset (SYSU-MM01 layout)")
    p.add_argument("--out", default="data/synthetic", help="output root (default: %(default)s)")
    p.add_argument("--preset", default="default", help="difficulty preset: tiny, easy, default, moderate, medium, hard")
    p.add_argument("--seed", type=int, default=0, help="generator seed")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--overwrite", action="store_true", help="replace an older synthetic dataset in --out")

    p = sub.add_parser("train", help="train FIENet (or an ablation) from a config")
    _add_config_args(p, "configs/demo.yaml")
    p.add_argument("--resume", action="store_true", help="continue from <train.out_dir>/last.pt")

    p = sub.add_parser("evaluate", help="full test protocol of a checkpoint, saved as CSV/JSON")
    p.add_argument("checkpoint", help="a checkpoint written by fienet train (best.pt or last.pt)")
    p.add_argument("--dataset", help="dataset to test on (default: the checkpoint's)")
    p.add_argument("--root", help="dataset root (default: the checkpoint's)")
    p.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking")
    p.add_argument("--flip", action="store_true", help="average the embeddings of the image and its mirror")
    p.add_argument("--out", help="folder for the tables (default: the checkpoint's folder)")
    p.add_argument("--device", default="auto")
    p.add_argument("--workers", type=int, help="image-decoding processes (default: the checkpoint's data.workers)")

    p = sub.add_parser("demo", help="the main job: synthetic data, CPU training, SYSU protocol, report")
    _add_config_args(p, "configs/demo.yaml")

    p = sub.add_parser("extract", help="write features of a split to .npz for other tools")
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument("--dataset", help="dataset (default: the checkpoint's)")
    p.add_argument("--root", help="dataset root (default: the checkpoint's)")
    p.add_argument("--split", default="test", choices=["test", "train"], help="which images")
    p.add_argument("--device", default="auto")
    p.add_argument("--workers", type=int, help="image-decoding processes (default: the checkpoint's data.workers)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (OSError, ValueError, RuntimeError) as err:
        # One clear line for the user; the traceback is for developers (FIENET_DEBUG=1).
        if os.environ.get("FIENET_DEBUG"):
            raise
        print(f"fienet {args.command}: error: {err}", file=sys.stderr)
        return 1


def cmd_synth(args: argparse.Namespace) -> int:
    from fienet.data.synthetic import generate_synthetic

    root = generate_synthetic(
        args.out, preset=args.preset, seed=args.seed, workers=args.workers, overwrite=args.overwrite, progress=True
    )
    print(f"synthetic dataset written to {root}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from fienet.config import load_config
    from fienet.engine import fit

    cfg = load_config(args.config, args.overrides)
    history = fit(cfg, resume=args.resume)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, rank 0 speaks for all
        print(history.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"run folder: {cfg.train.out_dir}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from fienet.report import evaluate_checkpoint

    table = evaluate_checkpoint(
        args.checkpoint, dataset=args.dataset, root=args.root, out_dir=args.out,
        rerank=args.rerank, flip=args.flip, device=args.device, workers=args.workers, progress=True,
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from fienet.config import load_config
    from fienet.demo import run_demo

    report = run_demo(load_config(args.config, args.overrides))
    print(f"report: {report}")
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from fienet.report import extract_to_npz

    path = extract_to_npz(args.checkpoint, args.out, dataset=args.dataset, root=args.root,
                          split=args.split, device=args.device, workers=args.workers, progress=True)
    print(f"features written to {path}")
    return 0


COMMANDS = {
    "synth": cmd_synth,
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "demo": cmd_demo,
    "extract": cmd_extract,
}

if __name__ == "__main__":
    raise SystemExit(main())
