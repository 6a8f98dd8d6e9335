"""Speed of the attribution code: captum occlusion against a plain loop of forward passes doing
the same perturbations, and a CAM for scale.

Occlusion runs one forward pass per window position (225 with the default 1/8 windows and
half-window steps); the plain loop builds each occluded batch by hand and calls the model, the
least any implementation must do. Their ratio is what captum's generality costs. Both give the
same map (checked). A CAM and gradient x input (one forward and one backward pass each) for
scale. A random-weight demo-sized FIENet (ResNet-18, 96x48, last stride 2).

    PYTHONPATH=. python bench/bench_explain.py [--images 8] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from fienet.config import ModelConfig
from fienet.explain import (CamExplainer, GradientExplainer, SimilarityScore, SimilarityTarget, mean_baseline,
                            occlusion_maps)
from fienet.explain.perturbation import occlusion_window
from fienet.model import build_model
from timing import median_seconds  # this script's folder is on sys.path


@torch.no_grad()
def occlusion_loop(model, images: torch.Tensor, reference: torch.Tensor, fraction: int = 8, batch: int = 64):
    """The same occlusion map as :func:`occlusion_maps`, by a plain loop over window positions."""
    b, _, h, w = images.shape
    (wy, wx), (sy, sx), (ny, nx) = occlusion_window(h, w, fraction)
    score = SimilarityScore(model, "infrared").eval()
    fill = mean_baseline(images)
    before = score(images, reference)  # (B,)
    total = torch.zeros(b, h, w)
    count = torch.zeros(h, w)
    positions = [(y * sy, x * sx) for y in range(ny) for x in range(nx)]
    per_call = max(1, batch // b)
    for start in range(0, len(positions), per_call):
        chunk = positions[start:start + per_call]
        holes = []
        for top, left in chunk:
            hole = images.clone()
            hole[:, :, top:top + wy, left:left + wx] = fill[:, :, top:top + wy, left:left + wx]
            holes.append(hole)
        drops = before.repeat(len(chunk)) - score(torch.cat(holes), reference.repeat(len(chunk), 1))  # (k*B,)
        for k, (top, left) in enumerate(chunk):
            total[:, top:top + wy, left:left + wx] += drops[k * b:(k + 1) * b, None, None]
            count[top:top + wy, left:left + wx] += 1
    return (total / count.clamp(min=1)).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="resnet18", weights=None, last_stride=2), 100).eval()
    images = torch.randn(args.images, 3, 96, 48)
    reference = torch.randn(args.images, model.feature_dim)
    positions = int(np.prod(occlusion_window(96, 48)[2]))
    captum_s, captum_cpu, captum_map = median_seconds(
        lambda: occlusion_maps(model, "infrared", images, reference), args.repeats)
    loop_s, loop_cpu, loop_map = median_seconds(lambda: occlusion_loop(model, images, reference), args.repeats)

    def cam() -> np.ndarray:
        with CamExplainer(model, "infrared", "layer3", "hirescam") as explainer:
            return explainer(images, [SimilarityTarget(r) for r in reference])

    def gradient() -> np.ndarray:
        with GradientExplainer(model, "infrared") as explainer:
            return explainer(images, [SimilarityTarget(r) for r in reference])

    cam_s, cam_cpu, _ = median_seconds(cam, args.repeats)
    grad_s, grad_cpu, _ = median_seconds(gradient, args.repeats)
    diff = float(np.abs(captum_map - loop_map).max())
    print(f"{args.images} images, {positions} window positions each, {args.threads} threads, median of {args.repeats}")
    print("| method | images/s | forward passes/s | CPU s/image | relative to the loop (wall / CPU) |")
    print("|---|---|---|---|---|")
    for name, wall, cpu in (("occlusion, captum", captum_s, captum_cpu), ("occlusion, plain loop", loop_s, loop_cpu)):
        print(f"| {name} | {args.images / wall:.2f} | {args.images * positions / wall:.0f} | {cpu / args.images:.2f} | "
              f"{wall / loop_s:.2f} / {cpu / loop_cpu:.2f} |")
    print(f"| HiResCAM at layer3 (one forward + backward) | {args.images / cam_s:.1f} | | {cam_cpu / args.images:.3f} | |")
    print(f"| gradient x input (one forward + backward) | {args.images / grad_s:.1f} | | {grad_cpu / args.images:.3f} | "
          f"{grad_s / loop_s:.3f} / {grad_cpu / loop_cpu:.3f} |")
    print(f"same map: max |captum - loop| = {diff:.1e}")


if __name__ == "__main__":
    main()
