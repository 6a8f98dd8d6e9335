"""Training-step cost of the baseline and of FIENet, its precision options, and how close to the CPU's peak it runs.

One training step = forward of a modality-balanced batch, the full loss (ID + WRT triplet +
IGCL), backward and an SGD step, on random images (no dataset needed). For each model size and
variant it prints the median over repeats of the wall time and of the CPU time (all threads) per
step, images/s, the peak resident memory the step adds (in a separate pass after all timings),
the FLOPs per image
(``torch.utils.flop_counter.FlopCounterMode``, forward + backward) and the achieved FLOP/s as a
fraction of the peak measured in the same run (the better of a large ``torch.mm`` and a large
3x3 convolution, in the step's precision).

Sizes: ResNet-50 at 288x144 with P=2, K=2 (8 images, small enough for a CPU), and the demo
config (ResNet-18 at 96x48, last stride 2, P=8, K=2: 32 images). The precision comparison (fp32,
bf16 autocast, each with and without channels_last) runs FIENet at the demo size; on a CPU
without native bf16 instructions bf16 is emulated and several times slower. The thread
comparison runs the demo-size FIENet step with one torch thread against the default count: on a
machine whose other cores are busy, every parallel kernel waits for a scheduler slice.

    python bench/bench_train.py [--repeats 3] [--sizes r50 demo] [--no-precision]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable

import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from fienet.config import LossConfig, ModelConfig, TrainConfig
from fienet.losses import FIENetCriterion
from fienet.model import build_model
from fienet.optim import build_optimizer
from fienet.runtime import autocast
from fienet.variants import VARIANTS
from timing import timed  # this script's folder is on sys.path


@dataclass(frozen=True)
class Size:
    arch: str
    height: int
    width: int
    p: int
    k: int
    last_stride: int = 1

    @property
    def batch(self) -> int:
        return 2 * self.p * self.k  # P identities x (K visible + K infrared)


SIZES = {"r50": Size("resnet50", 288, 144, 2, 2), "demo": Size("resnet18", 96, 48, 8, 2, last_stride=2)}
# The networks of the ablation table; every step uses the full loss, so the steps compare the networks.
NETWORKS = ("baseline", "+PFAM", "+MPIM", "FIENet")
PRECISIONS = {"fp32": (None, False), "fp32 +channels_last": (None, True), "bf16": (torch.bfloat16, False),
              "bf16 +channels_last": (torch.bfloat16, True)}
NUM_CLASSES = 200  # about the synthetic training identities; the classifier is a small share anyway


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def _limit_malloc_caching() -> None:
    """Make glibc hand every freed block of 64 KB or more back to the OS at once.

    Without it glibc keeps freed tensors' memory mapped for reuse, so the resident size stops
    following the live tensors after the first step and the peak of later runs reads as zero.
    """
    libc = _libc()
    if libc is None:
        return
    m_mmap_threshold = -3
    libc.mallopt(m_mmap_threshold, 64 * 1024)


def _trim_malloc() -> None:
    """Return the free memory glibc still holds to the OS, so that the next peak starts from the live tensors."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_growth(fn: Callable[[], object], interval: float = 0.002) -> int:
    """Largest resident-size increase above the level before ``fn``, sampled every ``interval`` s."""
    gc.collect()
    _trim_malloc()
    base = peak = _rss_bytes()
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_bytes())
            time.sleep(interval)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        fn()
    finally:
        done.set()
        thread.join()
    return max(peak, _rss_bytes()) - base


def make_step(size: Size, pfam: bool, mpim: bool, amp: torch.dtype | None, channels_last: bool) -> Callable[[], float]:
    """A closure running one training step on a fixed random batch; returns the loss."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch=size.arch, weights=None, last_stride=size.last_stride, pfam=pfam, mpim=mpim), NUM_CLASSES)
    criterion = FIENetCriterion(LossConfig())
    optimizer = build_optimizer(model, TrainConfig(optimizer="sgd", lr=0.01))
    images = torch.randn(size.batch, 3, size.height, size.width)  # (2PK, 3, H, W): [visible; infrared]
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    labels = torch.arange(size.p).repeat_interleave(size.k).repeat(2)  # (2PK,)
    is_ir = torch.arange(size.batch) >= size.batch // 2  # (2PK,)
    half = size.batch // 2
    device = torch.device("cpu")
    model.train()

    def step() -> float:
        with autocast(device, amp):
            out = model(visible=images[:half], infrared=images[half:])
            loss, _ = criterion(out, labels, is_ir)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return step


def matmul_peak(n: int = 2048, repeats: int = 10, dtype: torch.dtype = torch.float32) -> float:
    """FLOP/s of an (n, n) @ (n, n) torch.mm in ``dtype``, median of ``repeats`` after two warm-up calls."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    for _ in range(2):  # the first calls pay for the thread pool and page faults
        torch.mm(a, b)
    return 2 * n**3 / statistics.median(timed(lambda: torch.mm(a, b))[0] for _ in range(repeats))


def conv_peak(repeats: int = 10, dtype: torch.dtype = torch.float32) -> float:
    """FLOP/s of a large 3x3 convolution (256 -> 256 channels, 8 x 72x36 maps) in ``dtype``, channels_last.

    On some CPUs the convolution library reaches well above the BLAS matrix multiply, so the
    reference peak is the better of the two.
    """
    x = torch.randn(8, 256, 72, 36, dtype=dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(256, 256, 3, 3, dtype=dtype).contiguous(memory_format=torch.channels_last)
    for _ in range(2):
        torch.nn.functional.conv2d(x, w, padding=1)
    flops = 2 * 8 * 256 * 256 * 9 * 72 * 36
    return flops / statistics.median(timed(lambda: torch.nn.functional.conv2d(x, w, padding=1))[0] for _ in range(repeats))


def hardware_peak(dtype: torch.dtype = torch.float32) -> float:
    """The better of :func:`matmul_peak` and :func:`conv_peak`: what this machine sustains in ``dtype``."""
    return max(matmul_peak(dtype=dtype), conv_peak(dtype=dtype))


def step_flops(step: Callable[[], object]) -> int:
    """FLOPs of one training step (forward + backward), as FlopCounterMode counts them."""
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def with_threads(step: Callable[[], float], threads: int | None) -> Callable[[], float]:
    """``step`` run with ``threads`` torch threads (None: leave the count alone)."""
    if threads is None:
        return step

    def run() -> float:
        default = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return step()
        finally:
            torch.set_num_threads(default)

    return run


def measure_group(size: Size, configs: list[tuple[str, str, int | None]], repeats: int) -> tuple[list[dict], list]:
    """Timings and FLOPs of several (variant, precision, threads) configurations of one size.

    The configurations take turns, one step each per round, so that a change in the machine's
    load during the run hits all of them alike; the FLOP-counting step is each one's warm-up.
    Returns the rows and the step closures (for the memory pass, :func:`measure_peaks`).
    """
    steps = [
        with_threads(make_step(size, VARIANTS[v].pfam, VARIANTS[v].mpim, *PRECISIONS[p]), t) for v, p, t in configs
    ]
    flops = [step_flops(step) for step in steps]
    times: list[list[tuple[float, float]]] = [[] for _ in configs]
    for _ in range(repeats):
        for i, step in enumerate(steps):
            times[i].append(timed(step))
    rows = []
    for (variant, precision, threads), f, t in zip(configs, flops, times):
        wall = statistics.median(w for w, _ in t)
        cpu = statistics.median(c for _, c in t)
        rows.append({
            "size": f"{size.arch} {size.height}x{size.width} B={size.batch}", "variant": variant,
            "precision": precision, "threads": threads or torch.get_num_threads(),
            "images/s": size.batch / wall, "wall s/step": wall, "cpu s/step": cpu,
            "GFLOP/image": f / size.batch / 1e9, "GFLOP/s": f / wall / 1e9,
        })
    return rows, steps


def measure_peaks(steps: list[Callable[[], float]]) -> list[int]:
    """Resident memory each step adds (bytes, the larger of two steps); run after every timing.

    It needs :func:`_limit_malloc_caching`, which makes every large allocation a fresh mmap and
    so slows steps down: that is why memory has a pass of its own.
    """
    return [max(peak_rss_growth(step) for _ in range(2)) for step in steps]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per configuration (median)")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--no-precision", action="store_true", help="skip the fp32 / bf16 / channels_last runs")
    parser.add_argument("--no-threads", action="store_true", help="skip the one-thread comparison")
    args = parser.parse_args()
    peak_before = hardware_peak()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, load average {os.getloadavg()[0]:.2f}", flush=True)

    # (group, size, [(variant, precision, threads)], repeats); each group's first entry is its reference.
    groups = [("variants", SIZES[name], [(v, "fp32", None) for v in NETWORKS], args.repeats) for name in args.sizes]
    if not args.no_precision:
        groups.append(("precision", SIZES["demo"], [("FIENet", p, None) for p in PRECISIONS], args.repeats))
    if not args.no_threads:
        one_vs_default = [("FIENet", "fp32", 1), ("FIENet", "fp32", None)]
        groups.append(("threads", SIZES["demo"], one_vs_default, min(args.repeats, 2)))
    rows, all_steps = [], []
    for group, size, configs, repeats in groups:
        group_rows, steps = measure_group(size, configs, repeats)
        rows += [{"group": group, **row} for row in group_rows]
        all_steps += steps
        print(f"  {group} at {rows[-1]['size']}: timed", flush=True)
    peak_after = hardware_peak()
    peak = max(peak_before, peak_after)
    bf16_peak = hardware_peak(torch.bfloat16)
    _limit_malloc_caching()  # from here on, memory only
    for row, peak_bytes in zip(rows, measure_peaks(all_steps)):
        row["peak MB"] = peak_bytes / 2**20
    table = pd.DataFrame(rows)
    # bf16 rows against the bf16 multiply, fp32 rows against the fp32 one
    row_peak = table["precision"].str.startswith("bf16").map({True: bf16_peak, False: peak})
    table["% of peak"] = 100 * table["GFLOP/s"] * 1e9 / row_peak
    print(f"fp32 peak (better of a 2048^3 torch.mm and a 256-channel 3x3 conv, median of 10): "
          f"{peak_before / 1e9:.1f} GFLOP/s before, {peak_after / 1e9:.1f} after; % of peak uses the larger")
    print(f"bf16 peak (the same two in bf16): {bf16_peak / 1e9:.1f} GFLOP/s; bf16 rows use it")
    print(f"\nmedian of {args.repeats} steps (thread runs: {min(args.repeats, 2)}) after a warm-up; "
          "peak MB = resident memory a step adds above the model and optimiser state")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))

    print("\nratios (wall time per step, CPU time in brackets):")
    for (group, setting), part in table.groupby(["group", "size"], sort=False):
        part = part.reset_index(drop=True)
        ref = part.iloc[0]  # baseline / fp32 / one thread: the first configuration of the group
        for _, r in part.iloc[1:].iterrows():
            column = {"variants": "variant", "precision": "precision", "threads": "threads"}[group]
            name, ref_name = (f"{x[column]} thread(s)" if group == "threads" else x[column] for x in (r, ref))
            extra = (f", FLOPs x{r['GFLOP/image'] / ref['GFLOP/image']:.2f}, "
                     f"memory x{r['peak MB'] / ref['peak MB']:.2f}" if group == "variants" else "")
            print(f"  {setting}: {name} / {ref_name} = {r['wall s/step'] / ref['wall s/step']:.2f} "
                  f"({r['cpu s/step'] / ref['cpu s/step']:.2f}){extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
