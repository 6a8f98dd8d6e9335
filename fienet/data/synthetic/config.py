"""Configuration of the synthetic dataset: one dataclass, a few named presets.

The difficulty knobs are ordered by how much they matter. A small network trained from scratch
for a few CPU minutes learns the visible-infrared match easily when infrared intensity follows
visible luminance (``ir_luminance_mix`` near 1) and hardly at all when it is purely thermal
(near 0); look-alike group size, pattern contrast and noise fine-tune from there.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SynthConfig:
    # size of the dataset
    n_train: int = 180  # training identities
    n_val: int = 20  # validation identities (exp/val_id.txt)
    n_test: int = 100  # test identities
    images_per_camera: int = 4  # images of every identity in every one of the six cameras
    height: int = 128  # image height in pixels
    width: int = 64  # image width in pixels
    jpeg_quality: int = 90  # JPEG quality of the written images
    # difficulty, strongest knob first
    ir_luminance_mix: float = 0.95  # infrared intensity = mix * visible luminance + (1 - mix) * thermal value
    ir_polarity_agreement: float = 1.0  # chance that a thermal edge has the sign of the luminance edge
    group_size: int = 2  # identities per look-alike group (1: no look-alikes)
    max_fine_parts: int = 2  # look-alikes differ in 1..max_fine_parts fine-grained parts (1 or 2)
    pattern_contrast: float = 0.9  # contrast of stripes, checks and logos against the top (0..1)
    noise_std: float = 0.01  # Gaussian pixel noise, as a fraction of the intensity range
    blur_max: float = 0.3  # largest Gaussian blur radius in pixels (uniform per image)
    occlusion_prob: float = 0.0  # chance that an obstacle hides part of the person
    colour_jitter: float = 0.03  # per-image relative jitter of every clothing colour
    illumination_jitter: float = 0.1  # per-image relative jitter of the camera's brightness
    scale_jitter: float = 0.06  # per-image relative jitter of the person's height in pixels
    shift_jitter: float = 0.07  # per-image horizontal offset std, as a fraction of the width
    clutter: int = 4  # largest number of background objects per image

    def __post_init__(self) -> None:
        for name in ("n_train", "n_test", "images_per_camera", "group_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"SynthConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.n_val < 0:
            raise ValueError(f"SynthConfig.n_val must be >= 0, got {self.n_val}")
        if self.height < 32 or self.width < 16:
            raise ValueError(f"SynthConfig image size must be at least 32x16, got {self.height}x{self.width}")
        if self.max_fine_parts not in (1, 2):
            raise ValueError(f"SynthConfig.max_fine_parts must be 1 or 2, got {self.max_fine_parts}")
        if not 1 <= self.jpeg_quality <= 95:
            raise ValueError(f"SynthConfig.jpeg_quality must be in 1..95, got {self.jpeg_quality}")
        if not 0.5 <= self.ir_polarity_agreement <= 1.0:
            raise ValueError(
                f"SynthConfig.ir_polarity_agreement must be in [0.5, 1], got {self.ir_polarity_agreement}"
            )
        for name in ("ir_luminance_mix", "pattern_contrast", "occlusion_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"SynthConfig.{name} must be in [0, 1], got {getattr(self, name)}")
        for name in ("noise_std", "blur_max", "colour_jitter", "illumination_jitter", "scale_jitter",
                     "shift_jitter", "clutter"):
            if getattr(self, name) < 0:
                raise ValueError(f"SynthConfig.{name} must be >= 0, got {getattr(self, name)}")

    @property
    def n_identities(self) -> int:
        return self.n_train + self.n_val + self.n_test

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# Overrides of the SynthConfig defaults; "default" is the dataclass itself.
PRESETS: dict[str, dict[str, Any]] = {
    # 12 identities, 144 images: for unit tests and smoke runs (about a second).
    "tiny": dict(n_train=6, n_val=2, n_test=4, images_per_camera=2, group_size=2),
    # Infrared a grey-level copy of the visible image, almost no clutter: for first experiments.
    "easy": dict(ir_luminance_mix=1.0, clutter=2, blur_max=0.2, colour_jitter=0.02),
    # Infrared nearly follows luminance, pairs of look-alikes, little clutter, no occlusion: what
    # the CPU demo learns in four minutes.
    "default": {},
    # The default with mostly thermal infrared (mix 0.3) and nothing else changed: the same
    # identities in the same images, only the infrared intensities differ. Isolates the gap.
    "thermal": dict(ir_luminance_mix=0.3),
    # More thermal infrared (15 %), more clutter, some occlusion: the demo's earlier default.
    "moderate": dict(ir_luminance_mix=0.85, clutter=8, blur_max=0.4, colour_jitter=0.04, occlusion_prob=0.05),
    # Infrared 40 % thermal, triplets of look-alikes, noisier: needs a longer (GPU) schedule.
    "medium": dict(
        ir_luminance_mix=0.6, ir_polarity_agreement=0.85, group_size=3, pattern_contrast=0.7,
        noise_std=0.025, blur_max=0.8, occlusion_prob=0.12, colour_jitter=0.07, illumination_jitter=0.2,
        clutter=8,
    ),
    # Mostly thermal infrared, groups of four look-alikes that differ in a single part, noisy.
    "hard": dict(
        ir_luminance_mix=0.3, ir_polarity_agreement=0.6, group_size=4, max_fine_parts=1,
        pattern_contrast=0.45, noise_std=0.04, blur_max=1.1, occlusion_prob=0.25, colour_jitter=0.1,
        illumination_jitter=0.3, clutter=8,
    ),
}


def resolve_config(preset: str = "default", **overrides: Any) -> SynthConfig:
    """Build the config of a preset with some fields replaced.

    Args:
        preset: one of ``PRESETS``.
        **overrides: SynthConfig fields to set on top of the preset.

    Returns:
        The resolved, validated config.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown synthetic preset '{preset}'; expected one of {sorted(PRESETS)}")
    names = {f.name for f in dataclasses.fields(SynthConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"unknown SynthConfig field(s) {unknown}; expected some of {sorted(names)}")
    return SynthConfig(**{**PRESETS[preset], **overrides})
