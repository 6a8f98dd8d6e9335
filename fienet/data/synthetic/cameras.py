"""The six cameras of the synthetic dataset, laid out like SYSU-MM01's.

Cameras 1, 2, 4 and 5 are visible-light (RGB) cameras, 3 and 6 near-infrared ones; 1-3 are
indoors, 4-6 outdoors. A camera fixes how people tend to face it, how large they appear, its
brightness and colour cast and its kind of background. None of this depends on who walks past:
every identity is seen by every camera, so the camera never gives the identity away.
"""

from __future__ import annotations

from dataclasses import dataclass

from fienet.modalities import INFRARED, VISIBLE, Modality


@dataclass(frozen=True)
class CameraStyle:
    """What one camera contributes to an image.

    Args:
        modality: ``"visible"`` or ``"infrared"``.
        indoor: indoor (walls, doors, furniture) or outdoor (sky, buildings, trees) backgrounds.
        facing: probabilities of a person facing the camera, turning their back, or walking across.
        scale: range of a person's height as a fraction of the image height.
        brightness: mean gain on the scene intensity.
        cast: per-channel gain (R, G, B) of a visible camera's white balance.
        background_gain: how bright an infrared camera sees the (cold) background.
        blur: this camera's share of ``SynthConfig.blur_max`` (infrared optics are softer).
        noise: this camera's share of ``SynthConfig.noise_std`` (dim and infrared sensors are noisier).
        occlusion: this camera's share of ``SynthConfig.occlusion_prob`` (streets are busier than rooms).
    """

    modality: Modality
    indoor: bool
    facing: tuple[float, float, float]  # (front, back, side)
    scale: tuple[float, float]
    brightness: float
    cast: tuple[float, float, float] = (1.0, 1.0, 1.0)
    background_gain: float = 1.0
    blur: float = 1.0
    noise: float = 1.0
    occlusion: float = 1.0


CAMERAS: dict[int, CameraStyle] = {
    1: CameraStyle(VISIBLE, True, (0.5, 0.3, 0.2), (0.80, 0.94), 1.0, cast=(1.06, 1.0, 0.9), occlusion=0.8),
    2: CameraStyle(VISIBLE, True, (0.3, 0.5, 0.2), (0.72, 0.88), 0.82, cast=(0.93, 1.0, 1.1), noise=1.3,
                   occlusion=0.8),
    3: CameraStyle(INFRARED, True, (0.4, 0.4, 0.2), (0.76, 0.92), 1.0, background_gain=0.6, blur=1.25, noise=1.3,
                   occlusion=0.8),
    4: CameraStyle(VISIBLE, False, (0.25, 0.25, 0.5), (0.66, 0.84), 1.12, blur=0.8, occlusion=1.3),
    5: CameraStyle(VISIBLE, False, (0.4, 0.4, 0.2), (0.76, 0.94), 0.95, cast=(1.02, 0.98, 0.94), occlusion=1.2),
    6: CameraStyle(INFRARED, False, (0.3, 0.3, 0.4), (0.70, 0.90), 0.95, background_gain=0.45, blur=1.25,
                   noise=1.4, occlusion=1.2),
}
VISIBLE_CAMERAS: tuple[int, ...] = tuple(c for c, s in CAMERAS.items() if s.modality == VISIBLE)
INFRARED_CAMERAS: tuple[int, ...] = tuple(c for c, s in CAMERAS.items() if s.modality == INFRARED)
