"""The ``fienet`` command: ``synth | train | evaluate | demo | extract``.

YAML configs are read here and nowhere below; every library function gets plain arguments.
Overrides of any config field follow the config path: ``fienet train --config configs/sysu.yaml
train.epochs=80 model.pfam=false``.

Every failure ends in one line on stderr that names the file or field and a non-zero exit code;
``--debug`` (or ``FIENET_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (the usage stays in ``--help``)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _integer_at_least(low: int, high: int | None = None):
    expected = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not an integer; expected {expected}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is out of range; expected {expected}")
        return value
    return parse


def _add_config_args(p: argparse.ArgumentParser, default: str | None) -> None:
    p.add_argument("--config", default=default, help="YAML config file (default: %(default)s)")
    p.add_argument("overrides", nargs="*", metavar="section.field=value", help="config overrides")


def build_parser() -> argparse.ArgumentParser:
    from fienet.config import MAX_WORKERS

    parser = _Parser(prog="fienet", description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="on error, show the full traceback")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("synth", parents=[common],
                       help="render the procedural synthetic VI-ReID dataset (SYSU-MM01 layout)")
    p.add_argument("--out", default="data/synthetic", help="output root (default: %(default)s)")
    p.add_argument("--preset", default="default", help="difficulty preset: tiny, easy, default, moderate, medium, hard")
    p.add_argument("--seed", type=_integer_at_least(0), default=0, help="generator seed (>= 0)")
    p.add_argument("--workers", type=_integer_at_least(1, MAX_WORKERS), default=1, help="worker processes")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an older synthetic dataset in --out (only the files its synth_files.txt lists)")

    p = sub.add_parser("train", parents=[common], help="train FIENet (or an ablation) from a config")
    _add_config_args(p, "configs/demo.yaml")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="continue the run stored in <train.out_dir>/last.pt")
    mode.add_argument("--overwrite", action="store_true",
                      help="start over in a train.out_dir that holds a run (deletes its checkpoints and history)")

    p = sub.add_parser("evaluate", parents=[common], help="full test protocol of a checkpoint, saved as CSV/JSON")
    p.add_argument("checkpoint", help="a checkpoint written by fienet train (best.pt or last.pt)")
    p.add_argument("--dataset", help="dataset to test on (default: the checkpoint's)")
    p.add_argument("--root", help="dataset root (default: the checkpoint's)")
    p.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking")
    p.add_argument("--flip", action="store_true", help="average the embeddings of the image and its mirror")
    p.add_argument("--out", help="folder for the tables (default: the checkpoint's folder)")
    p.add_argument("--device", default="auto")
    p.add_argument("--workers", type=_integer_at_least(0, MAX_WORKERS),
                   help="image-decoding processes (default: the checkpoint's data.workers)")

    p = sub.add_parser("demo", parents=[common],
                       help="the main job: synthetic data, CPU training, SYSU protocol, report")
    _add_config_args(p, "configs/demo.yaml")

    p = sub.add_parser("extract", parents=[common], help="write features of a split to .npz for other tools")
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True, help="output .npz file, or an existing folder to write into")
    p.add_argument("--dataset", help="dataset (default: the checkpoint's)")
    p.add_argument("--root", help="dataset root (default: the checkpoint's)")
    p.add_argument("--split", default="test", choices=["test", "train"], help="which images")
    p.add_argument("--device", default="auto")
    p.add_argument("--workers", type=_integer_at_least(0, MAX_WORKERS),
                   help="image-decoding processes (default: the checkpoint's data.workers)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except Exception as err:  # noqa: BLE001 - every failure becomes one line; --debug shows the rest
        # One clear line for the user; the traceback is for developers (--debug or FIENET_DEBUG=1).
        if args.debug or os.environ.get("FIENET_DEBUG"):
            raise
        print(f"fienet {args.command}: error: {one_line(err)}", file=sys.stderr)
        return 1


def one_line(err: BaseException) -> str:
    """The message of ``err`` on one line.

    An error raised inside a DataLoader worker arrives wrapped with the worker's traceback; its
    own message is the last line of that text. Errors of unexpected types keep their type name.
    """
    text = str(err)
    if "Original Traceback" in text:  # torch.utils.data re-raises worker errors this way
        last = [line for line in text.splitlines() if line.strip()][-1]
        kind, sep, message = last.partition(": ")
        text = message if sep and kind.isidentifier() else last
    text = " ".join(text.split())
    if isinstance(err, (OSError, ValueError, RuntimeError, ArithmeticError)) or not text:
        return text or type(err).__name__
    return f"{type(err).__name__}: {text}"


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
    history = fit(cfg, resume=args.resume, overwrite=args.overwrite)
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
