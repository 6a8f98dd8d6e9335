"""Where do non-finite values first appear when a tiny model trains with bf16 autocast?

Trains the tiny test configuration (resnet18, 32x16 inputs, 2 ids x 2 images per modality)
step by step as ``fit`` does, and after every step checks every activation (forward hooks), every
gradient, every parameter and every buffer (BatchNorm running statistics included). The first
non-finite value is reported with the module, the tensor, forward/backward/step and the step.

    PYTHONPATH=. python bench/bf16_finiteness.py --seeds 0 1 2 --steps 150 [--amp bf16]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from fienet.config import Config, apply_overrides
from fienet.data import make_train_loader, set_epoch, split_validation
from fienet.data.synthetic import generate_synthetic
from fienet.engine import training_records
from fienet.losses import FIENetCriterion
from fienet.model import build_model
from fienet.optim import build_optimizer
from fienet.runtime import Runtime, seed_everything


def tiny_config(root: Path, seed: int, amp: str, extra: list[str]) -> Config:
    return apply_overrides(Config(), [
        "data.dataset=synthetic", f"data.root={root}", "data.height=32", "data.width=16",
        "data.p=2", "data.k=2", "data.val_ids=0", "data.in_memory=true", "data.workers=0",
        "model.arch=resnet18", "model.weights=null", "train.optimizer=sgd", "train.lr=0.01",
        "train.warmup_epochs=0", "train.progress=false", "train.device=cpu", f"train.amp={amp}",
        f"train.seed={seed}", *extra,
    ])


def first_bad(named: dict[str, torch.Tensor]) -> str | None:
    for name, t in named.items():
        if t is not None and t.is_floating_point() and not bool(torch.isfinite(t).all()):
            return f"{name} ({int((~torch.isfinite(t)).sum())} of {t.numel()} values, dtype {t.dtype})"
    return None


def probe(root: Path, seed: int, steps: int, amp: str, extra: list[str]) -> str:
    cfg = tiny_config(root, seed, amp, extra)
    seed_everything(seed)
    runtime = Runtime.from_config(cfg)
    train_recs, _ = split_validation(training_records(cfg), 0, seed)
    loader = make_train_loader(train_recs, cfg.data, seed=seed, num_batches=steps)
    net = runtime.place(build_model(cfg.model, loader.dataset.num_classes)).train()
    criterion = FIENetCriterion(cfg.loss)
    optimizer = build_optimizer(net, cfg.train)

    bad_activation: list[str] = []

    def check(module_name: str):
        def hook(_module, _inputs, output):
            outs = output if isinstance(output, (tuple, list)) else getattr(output, "_asdict", lambda: {"out": output})()
            items = outs.items() if isinstance(outs, dict) else enumerate(outs)
            for key, t in items:
                if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
                    if not bad_activation:
                        bad_activation.append(f"{module_name or 'model'} output {key} ({t.dtype}, shape {tuple(t.shape)})")
        return hook

    for name, module in net.named_modules():
        module.register_forward_hook(check(name))

    set_epoch(loader, 0)
    for step, batch in enumerate(loader):
        images = runtime.inputs(batch.images)
        labels, is_ir = batch.labels, batch.is_infrared
        n_vis = int((~is_ir).sum())
        with runtime.autocast():
            out = net(visible=images[:n_vis], infrared=images[n_vis:])
            loss, _ = criterion(out, labels, is_ir)
        if bad_activation:
            return f"step {step + 1}: forward: first non-finite activation in {bad_activation[0]}; loss {loss.item()}"
        if not torch.isfinite(loss):
            return f"step {step + 1}: loss {loss.item()} with finite activations"
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        bad = first_bad({n: p.grad for n, p in net.named_parameters()})
        if bad:
            return f"step {step + 1}: backward: first non-finite gradient {bad}; loss {loss.item():.4g}"
        optimizer.step()
        bad = first_bad(dict(net.named_parameters())) or first_bad(dict(net.named_buffers()))
        if bad:
            return f"step {step + 1}: after the optimiser step / BN update: {bad}"
    return f"all {steps} steps finite (last loss {loss.item():.4g})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--amp", default="bf16")
    parser.add_argument("--data", default="data/synthetic_tiny")
    parser.add_argument("overrides", nargs="*", help="extra section.field=value overrides")
    args = parser.parse_args()
    root = Path(args.data)
    if not (root / "exp" / "test_id.txt").is_file():
        generate_synthetic(root, preset="tiny", seed=0)
    for seed in args.seeds:
        start = time.perf_counter()
        result = probe(root, seed, args.steps, args.amp, args.overrides)
        print(f"amp={args.amp} seed={seed} {' '.join(args.overrides)}: {result} [{time.perf_counter() - start:.0f} s]",
              flush=True)


if __name__ == "__main__":
    main()
