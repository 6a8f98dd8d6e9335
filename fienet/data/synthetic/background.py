"""Backgrounds of the synthetic images: a room or a street, with random clutter.

Each background is drawn from the image's own random generator and the camera's style only, so
it carries no information about the identity in front of it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from fienet.data.synthetic.cameras import CameraStyle
from fienet.data.synthetic.identities import CLOTH_COLOURS

_WALLS = ((214, 206, 190), (190, 196, 200), (230, 226, 214), (170, 186, 200), (200, 178, 150), (150, 150, 146))
_FLOORS = ((120, 96, 72), (150, 150, 146), (90, 90, 96), (170, 150, 120), (110, 120, 110))
_SKIES = ((170, 200, 230), (200, 210, 220), (140, 170, 210), (220, 220, 215))
_GROUNDS = ((100, 100, 104), (130, 126, 120), (80, 110, 60), (150, 140, 120))
_BUILDINGS = ((150, 90, 70), (170, 170, 165), (120, 120, 130), (200, 190, 170), (90, 95, 105))
_FOLIAGE = ((50, 100, 45), (70, 120, 50), (40, 80, 40), (100, 130, 60))
# Clutter borrows the clothing palette so that colour alone cannot separate person from scene.
_CLUTTER = tuple(CLOTH_COLOURS.values()) + _WALLS + _BUILDINGS


def _pick(rng: np.random.Generator, colours: tuple) -> tuple[int, int, int]:
    return tuple(int(c) for c in colours[rng.integers(len(colours))])


def draw_background(rng: np.random.Generator, style: CameraStyle, height: int, width: int,
                    clutter: int) -> np.ndarray:
    """Draw one background.

    Args:
        rng: the image's generator.
        style: the camera (indoor or outdoor scene).
        height, width: image size in pixels.
        clutter: largest number of objects scattered over the scene.

    Returns:
        (H, W, 3) float32 RGB in [0, 1]. Infrared cameras turn it into intensity later.
    """
    img = Image.new("RGB", (width, height), _pick(rng, _WALLS if style.indoor else _SKIES))
    draw = ImageDraw.Draw(img)
    horizon = int(height * rng.uniform(0.55, 0.85))
    if not style.indoor:
        # a skyline of buildings standing on the horizon
        x = -int(rng.integers(0, width // 2))
        while x < width:
            w = int(width * rng.uniform(0.3, 0.9))
            draw.rectangle([x, int(height * rng.uniform(0.0, 0.4)), x + w, horizon], fill=_pick(rng, _BUILDINGS))
            x += w
    draw.rectangle([0, horizon, width, height], fill=_pick(rng, _FLOORS if style.indoor else _GROUNDS))
    for _ in range(int(rng.integers(clutter // 2, clutter + 1))):
        kind = rng.random()
        x0, y0 = rng.uniform(-0.2, 1.0) * width, rng.uniform(-0.1, 1.0) * height
        if kind < 0.55:  # doors, cabinets, posters, windows, cars
            w, h = rng.uniform(0.1, 0.6) * width, rng.uniform(0.05, 0.45) * height
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=_pick(rng, _CLUTTER))
        elif kind < 0.8:  # poles, door frames, railings
            w = rng.uniform(0.02, 0.08) * width
            draw.rectangle([x0, 0 if rng.random() < 0.5 else y0, x0 + w, height], fill=_pick(rng, _CLUTTER))
        else:  # plants, lamps, trees
            w, h = rng.uniform(0.15, 0.6) * width, rng.uniform(0.08, 0.3) * height
            colours = _CLUTTER if style.indoor else _FOLIAGE
            draw.ellipse([x0, y0, x0 + w, y0 + h], fill=_pick(rng, colours))
    return np.asarray(img, dtype=np.float32) / 255.0  # (H, W, 3)
