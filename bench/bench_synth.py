"""Synthetic generator throughput on one core: images per second, with and without masks.

Renders a fixed set of identities of the default preset into a temporary folder, counting the
whole cost per image (render + JPEG + mask PNG), and prints the median over repeats. The ratio
line shows what writing the part masks costs on top of the images.

    python bench/bench_synth.py [--identities 20] [--repeats 5] [--dir runs]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fienet.data.synthetic.config import resolve_config
from fienet.data.synthetic.generate import write_identity
from fienet.data.synthetic.identities import make_identities
from fienet.data.synthetic.render import render_image


def images_per_second(people, cfg, seed: int, root: Path, stage: str) -> tuple[float, float]:
    """(CPU-time, wall-clock) images per second of one pass over ``people``.

    ``stage`` is "render" only, "write" images, or "write+masks". CPU time (user + system, this
    process only) is the one-core figure; wall clock also counts waiting for a busy machine.
    """
    start, cpu = time.perf_counter(), time.process_time()
    if stage == "render":
        n = 0
        for p in people:
            for cam in range(1, 7):
                for i in range(1, cfg.images_per_camera + 1):
                    render_image(p, cam, i, cfg, seed)
                    n += 1
    else:
        n = sum(write_identity(root, p, cfg, seed, masks=stage == "write+masks") for p in people)
    return n / (time.process_time() - cpu), n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identities", type=int, default=20, help="identities rendered per repeat")
    parser.add_argument("--repeats", type=int, default=5, help="repeats; the median is printed")
    parser.add_argument("--dir", type=Path, default=Path(__file__).resolve().parents[1] / "runs",
                        help="scratch space on the disk the data will live on (file creation costs differ a lot "
                             "between file systems); a temporary folder inside it is removed afterwards")
    args = parser.parse_args()
    cfg = resolve_config("default")
    people = make_identities(cfg.n_train, cfg.n_val, cfg.n_test, cfg.group_size, cfg.max_fine_parts,
                             cfg.ir_polarity_agreement, seed=0)[: args.identities]
    n = args.identities * 6 * cfg.images_per_camera
    print(f"synthetic generator, default preset, {cfg.height}x{cfg.width}, {n} images x {args.repeats} repeats, "
          f"one core, writing under {args.dir}")
    stages = ("render", "write", "write+masks")
    samples: dict[str, list[tuple[float, float]]] = {s: [] for s in stages}
    # Stages take turns inside every repeat, and nothing is deleted until the end, so that disk
    # housekeeping and other load on the machine hit every stage alike.
    args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench_synth-") as tmp:
        for r in range(args.repeats):
            for s in stages:
                samples[s].append(images_per_second(people, cfg, 0, Path(tmp) / f"{r}-{s}", s))
    rates = {s: statistics.median(c for c, _ in v) for s, v in samples.items()}
    walls = {s: statistics.median(w for _, w in v) for s, v in samples.items()}
    for stage in stages:
        print(f"  {stage:<12} {rates[stage]:8.0f} images/s of CPU time  ({walls[stage]:.0f} images/s wall clock)")
    print(f"  masks cost: write+masks takes {rates['write'] / rates['write+masks']:.2f}x the time of write alone")
    print(f"  target >= 500 images/s (CPU time) with masks: {'met' if rates['write+masks'] >= 500 else 'NOT met'}")


if __name__ == "__main__":
    main()
