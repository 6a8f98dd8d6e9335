"""The pedestrian's silhouette: where each material of an identity lands in one view.

Coordinates are in *body units*: x from the body's centre line and y from the top of the head,
both as fractions of the body height, so one description serves every scale. Shapes are drawn
with PIL into a material map (see ``parts``) in an order that lets nearer things cover farther
ones; stripes and checks are then laid over the top's pixels with one vectorised expression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from fienet.data.synthetic.identities import Identity
from fienet.data.synthetic.parts import (ACCESSORY, ARM_SKIN, BOTTOM, EYES, FACE, HAIR, LEG_SKIN,
                                         PATTERN, SHOES, TOP)

HIP, ANKLE = 0.48, 0.95
LOGO_Y, LOGO_HALF = 0.29, 0.036  # logo centre and half size: below long hair, above a backpack


@dataclass(frozen=True)
class View:
    """How one image sees the person.

    Args:
        facing: ``"front"``, ``"back"`` or ``"side"`` (walking across the image).
        direction: +1 or -1; the way a side view walks, and the hand that carries a handbag.
        cx: pixel column of the body's centre line.
        top: pixel row of the top of the head.
        scale: body height in pixels.
        stride: half the distance between the feet in a side view, in body units.
    """

    facing: str
    direction: int
    cx: float
    top: float
    scale: float
    stride: float


class _Canvas:
    """Draws shapes given in body units into a material map."""

    def __init__(self, view: View, height: int, width: int):
        self.view = view
        self.img = Image.new("L", (width, height), 0)
        self.draw = ImageDraw.Draw(self.img)
        # side views are drawn facing right and mirrored when walking left
        self.flip = view.direction if view.facing == "side" else 1

    def _pt(self, x: float, y: float) -> tuple[float, float]:
        v = self.view
        return v.cx + self.flip * x * v.scale, v.top + y * v.scale

    def _box(self, x0: float, y0: float, x1: float, y1: float) -> list[float]:
        (a, b), (c, d) = self._pt(x0, y0), self._pt(x1, y1)
        return [min(a, c), min(b, d), max(a, c), max(b, d)]

    def rect(self, x0: float, y0: float, x1: float, y1: float, m: int) -> None:
        self.draw.rectangle(self._box(x0, y0, x1, y1), fill=m)

    def ellipse(self, x0: float, y0: float, x1: float, y1: float, m: int) -> None:
        self.draw.ellipse(self._box(x0, y0, x1, y1), fill=m)

    def upper_half_ellipse(self, x0: float, y0: float, x1: float, y1: float, m: int) -> None:
        self.draw.chord(self._box(x0, y0, x1, y1), 180, 360, fill=m)

    def poly(self, points: list[tuple[float, float]], m: int) -> None:
        self.draw.polygon([self._pt(x, y) for x, y in points], fill=m)

    def limb(self, top: tuple[float, float], bottom: tuple[float, float], y0: float, y1: float,
             m: int, widen: float = 0.0) -> None:
        """The slice y0..y1 of a leg spanning ``top`` at the hip and ``bottom`` at the ankle."""
        def span(y: float) -> tuple[float, float]:
            t = (y - HIP) / (ANKLE - HIP)
            return (top[0] + t * (bottom[0] - top[0]) - widen, top[1] + t * (bottom[1] - top[1]) + widen)
        (a0, a1), (b0, b1) = span(y0), span(y1)
        self.poly([(a0, y0), (a1, y0), (b1, y1), (b0, y1)], m)

    def logo(self, shape: str, cx: float, squeeze: float) -> None:
        h, w, y = LOGO_HALF, LOGO_HALF * squeeze, LOGO_Y
        if shape == "circle":
            self.ellipse(cx - w, y - h, cx + w, y + h, PATTERN)
        elif shape == "square":
            self.rect(cx - w * 0.85, y - h * 0.85, cx + w * 0.85, y + h * 0.85, PATTERN)
        elif shape == "triangle":
            self.poly([(cx, y - h), (cx + w, y + h), (cx - w, y + h)], PATTERN)
        elif shape == "cross":
            self.rect(cx - w * 0.3, y - h, cx + w * 0.3, y + h, PATTERN)
            self.rect(cx - w, y - h * 0.3, cx + w, y + h * 0.3, PATTERN)


def _legs(c: _Canvas, p: Identity, legs: list[tuple[tuple[float, float], tuple[float, float]]],
          hip_half: float) -> None:
    for top, bottom in legs:
        c.limb(top, bottom, HIP, ANKLE + 0.02, LEG_SKIN)
    if p.bottom_style == "skirt":
        c.poly([(-hip_half, 0.46), (hip_half, 0.46), (hip_half * 1.35, 0.70), (-hip_half * 1.35, 0.70)], BOTTOM)
    else:
        c.rect(-hip_half, 0.46, hip_half, 0.55, BOTTOM)
        end = ANKLE if p.bottom_style == "trousers" else 0.66
        for top, bottom in legs:
            c.limb(top, bottom, HIP, end, BOTTOM)
    start = 0.83 if p.shoe_style == "boots" else 0.935
    for top, bottom in legs:
        c.limb(top, bottom, start, 1.0, SHOES, widen=0.012)


def _arm(c: _Canvas, p: Identity, x0: float, x1: float) -> None:
    c.rect(x0, 0.15, x1, 0.475, ARM_SKIN)
    c.rect(x0, 0.15, x1, 0.27 if p.sleeves == "short" else 0.44, TOP)


def _head(c: _Canvas, p: Identity, facing: str) -> None:
    c.rect(-0.022, 0.10, 0.022, 0.15, FACE)  # neck
    if facing == "back":
        c.ellipse(-0.057, 0.0, 0.057, 0.125, HAIR)
        if p.hair_style == "long":
            c.rect(-0.066, 0.04, 0.066, 0.24, HAIR)
    elif facing == "front":
        if p.hair_style == "long":  # strands on both shoulders, the face stays clear
            c.rect(-0.066, 0.04, -0.03, 0.24, HAIR)
            c.rect(0.03, 0.04, 0.066, 0.24, HAIR)
        c.ellipse(-0.058, -0.008, 0.058, 0.08, HAIR)
        c.ellipse(-0.05, 0.02, 0.05, 0.125, FACE)
        c.rect(-0.03, 0.062, -0.018, 0.072, EYES)
        c.rect(0.018, 0.062, 0.03, 0.072, EYES)
    else:
        if p.hair_style == "long":
            c.rect(-0.064, 0.04, -0.005, 0.24, HAIR)
        c.ellipse(-0.052, 0.0, 0.056, 0.125, FACE)
        c.ellipse(-0.058, -0.008, 0.03, 0.085, HAIR)
        c.rect(0.03, 0.062, 0.042, 0.072, EYES)
    if p.accessory == "hat":
        c.upper_half_ellipse(-0.062, -0.03, 0.062, 0.08, ACCESSORY)
        brim = (-0.062, 0.095) if facing == "side" else (-0.078, 0.078)
        c.rect(brim[0], 0.02, brim[1], 0.036, ACCESSORY)
    if p.hair_style == "bun":
        c.ellipse(-0.03, -0.052, 0.03, 0.01, HAIR)
    if p.accessory == "scarf":
        c.rect(-0.062, 0.11, 0.062, 0.165, ACCESSORY)
        if facing == "front":
            c.rect(0.042, 0.165, 0.066, 0.3, ACCESSORY)


def draw_materials(p: Identity, view: View, height: int, width: int) -> np.ndarray:
    """Draw one person as a material map.

    Args:
        p: the identity.
        view: facing, position and scale.
        height, width: image size in pixels.

    Returns:
        (H, W) uint8 material indices (0 where the background shows).
    """
    c = _Canvas(view, height, width)
    b = p.build
    if view.facing == "side":
        hw = 0.072 * b  # half the torso's depth seen from the side
        s = view.stride
        legs = [((-0.045 * b, 0.01), (s - 0.03, s + 0.03)), ((-0.01, 0.045 * b), (-s - 0.03, -s + 0.03))]
        _legs(c, p, legs, hw)
        if p.accessory == "backpack":
            c.rect(-hw - 0.065, 0.17, -hw + 0.01, 0.46, ACCESSORY)
        c.poly([(-hw, 0.165), (-hw + 0.02, 0.14), (hw - 0.01, 0.14), (hw, 0.165), (0.9 * hw, 0.5), (-0.9 * hw, 0.5)],
               TOP)
        _head(c, p, "side")
        _arm(c, p, -0.028, 0.022)
        c.logo(p.logo_shape, 0.03, 0.7)
        if p.accessory == "handbag":
            c.rect(-0.03, 0.45, 0.05, 0.58, ACCESSORY)
    else:
        hw = 0.115 * b  # half the shoulder width
        legs = [((-0.85 * hw, -0.006), (-0.6 * hw - 0.035, -0.015)),
                ((0.006, 0.85 * hw), (0.015, 0.6 * hw + 0.035))]
        _legs(c, p, legs, 0.85 * hw)
        c.poly([(-hw, 0.165), (-hw + 0.025, 0.14), (hw - 0.025, 0.14), (hw, 0.165), (0.85 * hw, 0.5),
                (-0.85 * hw, 0.5)], TOP)
        _arm(c, p, -hw - 0.048 * b, -hw + 0.003)
        _arm(c, p, hw - 0.003, hw + 0.048 * b)
        _head(c, p, view.facing)
        c.logo(p.logo_shape, 0.0, 1.0)
        if p.accessory == "backpack":
            for sx in (-0.6 * hw, 0.6 * hw):
                c.rect(sx - 0.011, 0.145, sx + 0.011, 0.36, ACCESSORY)
            if view.facing == "back":
                c.rect(-0.75 * hw, 0.34, 0.75 * hw, 0.49, ACCESSORY)
        if p.accessory == "handbag":
            x = view.direction * (hw + 0.024 * b)
            c.rect(x - 0.006, 0.16, x + 0.006, 0.45, ACCESSORY)  # strap
            c.rect(x - 0.04, 0.45, x + 0.04, 0.58, ACCESSORY)
    m = np.array(c.img)  # (H, W) uint8, writable copy
    if p.top_pattern in ("stripes", "checks"):
        period = max(2, int(round(0.05 * view.scale)))
        rows = ((np.arange(m.shape[0]) - int(view.top)) // period)[:, None]  # (H, 1)
        band = rows % 2 == 1
        if p.top_pattern == "checks":
            cols = ((np.arange(m.shape[1]) - int(view.cx)) // period)[None, :]  # (1, W)
            band = (rows + cols) % 2 == 1  # (H, W)
        m[(m == TOP) & band] = PATTERN
    return m
