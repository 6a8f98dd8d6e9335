"""Test-time throughput at SYSU-MM01 scale: the full evaluation path against the pure forward pass.

Builds (once) a synthetic dataset with the test side of SYSU-MM01: 96 test identities with 20
images in each of the six cameras, so 3,840 infrared queries and single-shot galleries of
384 (all-search) / 192 (indoor-search) and multi-shot galleries of 3,840 / 1,920 images. Only one
training identity is generated, since evaluation never reads the training side.

Then, in one process, for a small model (ResNet-18, ``weights=None``, untrained: throughput does
not depend on the weights):

- **path**: ``evaluate_model`` end to end, as ``fienet evaluate`` runs it: list the folders,
  draw 4 settings x 10 trials, decode and embed every image any split uses once, evaluate the 40
  splits. Its rate is images embedded / wall seconds of the whole call.
- **forward**: ``model.embed`` over batches of the same images already decoded and normalised in
  memory, same batch size, precision and memory format; measured before and after every path
  run, the median kept, so that the ratio compares like with like on a loaded machine.

The ratio forward / path is the overhead of everything that is not the network (goal: <= 1.3).

    python bench/bench_scale.py [--workers 0 2] [--repeats 1] [--root data/bench_sysu]

Run from a checkout of another commit (``PYTHONPATH=<that checkout>``) to measure it "before": an
``evaluate_model`` without a ``workers`` argument is timed with its own (single-process) loader.
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import sys
import time
from pathlib import Path

import torch

from fienet.config import ModelConfig
from fienet.data import build_dataset
try:
    from fienet.modalities import MODALITIES
except ImportError:  # a checkout from before fienet.modalities
    from fienet.data.records import MODALITIES
from fienet.data.synthetic import generate_synthetic
from fienet.data.transforms import test_transform
from fienet.data.io import load_image
from fienet.evaluation.runner import evaluate_model
from fienet.model import build_model
from fienet.runtime import autocast, resolve_amp, resolve_channels_last

TEST_IDS = 96  # SYSU-MM01 test identities
IMAGES_PER_CAMERA = 20  # 96 x 2 infrared cameras x 20 = 3,840 queries; 10 of 20 drawn for multi-shot
BATCH = 128  # extract_features' default batch size


def ensure_data(root: Path, height: int, width: int) -> Path:
    """The SYSU-sized test side, generated on first use (a few minutes on two cores)."""
    start = time.perf_counter()
    out = generate_synthetic(
        root, preset="default", seed=0, workers=max(1, min(4, os.cpu_count() or 1)), progress=True,
        n_train=1, n_val=0, n_test=TEST_IDS, images_per_camera=IMAGES_PER_CAMERA, height=height, width=width,
    )
    print(f"dataset at {out} ready in {time.perf_counter() - start:.1f} s")
    return out


def subset_root(root: Path, test_ids: int) -> Path:
    """A view of ``root`` whose test list holds only its first ``test_ids`` test identities.

    The camera folders are symbolic links to ``root``'s: nothing is rendered again.
    """
    if test_ids >= TEST_IDS:
        return root
    view = root.with_name(f"{root.name}-{test_ids}ids")
    (view / "exp").mkdir(parents=True, exist_ok=True)
    for cam in range(1, 7):
        link = view / f"cam{cam}"
        if not link.exists():
            link.symlink_to((root / f"cam{cam}").resolve(), target_is_directory=True)
    for name in ("train_id.txt", "val_id.txt"):
        (view / "exp" / name).write_text((root / "exp" / name).read_text())
    ids = (root / "exp" / "test_id.txt").read_text().strip().split(",")[:test_ids]
    (view / "exp" / "test_id.txt").write_text(",".join(ids) + "\n")
    return view


def in_memory_batches(root: Path, height: int, width: int, per_modality: int) -> dict[str, list[torch.Tensor]]:
    """The first ``per_modality`` test images of each modality, decoded and normalised, in batches."""
    transform = test_transform(height, width)
    records = build_dataset("synthetic", root).test_records()
    batches: dict[str, list[torch.Tensor]] = {}
    for modality in MODALITIES:
        subset = [r for r in records if r.modality == modality][:per_modality]
        images = torch.stack([transform(load_image(r.path)) for r in subset])  # (N, 3, H, W)
        batches[modality] = list(images.split(BATCH))
    return batches


@torch.no_grad()
def forward_rate(model, batches, device, amp_dtype, channels_last) -> float:
    """Images/s of ``model.embed`` alone over in-memory batches (one pass, after a warm-up batch)."""
    first = next(iter(batches.values()))[0]
    with autocast(device, amp_dtype):
        model.embed(first[:8].to(device), MODALITIES[0])
    n, start = 0, time.perf_counter()
    for modality, chunks in batches.items():
        for images in chunks:
            images = images.to(device)
            if channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            with autocast(device, amp_dtype):
                model.embed(images, modality).float().cpu()
            n += images.shape[0]
    return n / (time.perf_counter() - start)


def path_seconds(model, root, height, width, device, amp_dtype, channels_last, workers) -> tuple[float, int]:
    """Wall seconds of one full ``evaluate_model`` call and the number of images it embedded."""
    params = inspect.signature(evaluate_model).parameters
    if "runtime" in params:
        from fienet.runtime import Runtime

        kwargs = dict(runtime=Runtime(device, amp_dtype, channels_last))
    else:
        kwargs = dict(device=device, amp_dtype=amp_dtype, channels_last=channels_last)
    if "workers" in params:
        kwargs["workers"] = workers
    elif workers:
        raise SystemExit("this fienet's evaluate_model takes no workers argument: run with --workers 0")
    start = time.perf_counter()
    if "root" in params:
        run = evaluate_model(model, "synthetic", str(root), height, width, **kwargs)
    else:
        from fienet.data import build_dataset

        run = evaluate_model(model, build_dataset("synthetic", root), height, width, **kwargs)
    seconds = time.perf_counter() - start
    assert len(run.table) == 40, f"expected 4 settings x 10 trials, got {len(run.table)} rows"
    return seconds, len(run.index)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="data/bench_sysu", help="where the SYSU-sized test side is generated")
    parser.add_argument("--image-size", type=int, nargs=2, default=(384, 192), metavar=("H", "W"),
                        help="size of the generated images (default: %(default)s)")
    parser.add_argument("--input-size", type=int, nargs=2, default=(288, 144), metavar=("H", "W"),
                        help="test input size of the model (default: %(default)s, configs/sysu.yaml)")
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--amp", default="fp32", help="fp32 (what fienet evaluate runs), bf16 or auto")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="test loader workers to time")
    parser.add_argument("--repeats", type=int, default=1, help="path runs per worker count")
    parser.add_argument("--in-memory", type=int, default=256, help="images per modality for the forward rate")
    parser.add_argument("--test-ids", type=int, default=TEST_IDS,
                        help="evaluate on the first N test identities only (a smaller run on a busy machine)")
    args = parser.parse_args()

    root = subset_root(ensure_data(Path(args.root), *args.image_size), args.test_ids)
    height, width = args.input_size
    device = torch.device("cpu")
    amp_dtype = resolve_amp(args.amp, device)
    channels_last = resolve_channels_last(None, device, amp_dtype)
    model = build_model(ModelConfig(arch=args.arch, weights=None), num_classes=10).eval()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    batches = in_memory_batches(root, height, width, args.in_memory)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPU cores, {torch.get_num_threads()} torch threads, "
          f"{args.arch} at {height}x{width}, amp={amp_dtype}, channels_last={channels_last}, batch {BATCH}")

    rates = [forward_rate(model, batches, device, amp_dtype, channels_last)]
    rows = []
    for workers in args.workers:
        for _ in range(args.repeats):
            load = os.getloadavg()[0]
            seconds, n = path_seconds(model, root, height, width, device, amp_dtype, channels_last, workers)
            rates.append(forward_rate(model, batches, device, amp_dtype, channels_last))
            forward = statistics.median(rates[-2:])  # the forward rates just before and after
            rows.append((workers, n, seconds, n / seconds, forward, forward / (n / seconds), load))
            print(f"workers={workers}: {n} images in {seconds:.1f} s = {n / seconds:.1f} images/s; forward "
                  f"{forward:.1f} images/s; ratio {forward * seconds / n:.2f} (load average {load:.1f})", flush=True)

    print("\n| workers | images | path s | path images/s | forward images/s | forward / path | load avg |")
    print("|---|---|---|---|---|---|---|")
    for w, n, s, path, fwd, ratio, load in rows:
        print(f"| {w} | {n:,} | {s:.1f} | {path:.1f} | {fwd:.1f} | {ratio:.2f} | {load:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
