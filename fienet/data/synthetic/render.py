"""Render one synthetic image and its part mask.

Each image has its own random generator, seeded by (dataset seed, pid, camera, image index), so
an image is the same whatever order or process renders it. The visible image paints each
material with its identity colour; the infrared image paints it with
``mix * luminance + (1 - mix) * thermal`` as one intensity channel, so shapes, patterns and
accessories are shared across modalities while colours are not.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from fienet.data.records import INFRARED
from fienet.data.synthetic.background import draw_background
from fienet.data.synthetic.cameras import CAMERAS, CameraStyle
from fienet.data.synthetic.config import SynthConfig
from fienet.data.synthetic.figure import View, draw_materials
from fienet.data.synthetic.identities import (CLOTH_COLOURS, HAIR_COLOURS, SKIN_TONES, Identity,
                                              luminance)
from fienet.data.synthetic.parts import MATERIAL_PART, N_MATERIALS, PATTERN

_EYE_RGB = (30, 24, 24)
_RGB_TO_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def image_rng(seed: int, pid: int, camid: int, index: int) -> np.random.Generator:
    """The generator of one image: independent of every other image's."""
    return np.random.default_rng(np.random.SeedSequence([seed, pid, camid, index]))


def sample_view(rng: np.random.Generator, style: CameraStyle, p: Identity, cfg: SynthConfig) -> View:
    """Facing, position and size of the person in one image of one camera."""
    facing = ("front", "back", "side")[rng.choice(3, p=style.facing)]
    scale = cfg.height * rng.uniform(*style.scale) * p.height * (1.0 + cfg.scale_jitter * rng.standard_normal())
    top = rng.uniform(0.0, max(cfg.height - scale, 0.0) + 0.04 * cfg.height) - 0.02 * cfg.height
    cx = cfg.width * (0.5 + cfg.shift_jitter * rng.standard_normal())
    return View(facing=facing, direction=1 if rng.random() < 0.5 else -1, cx=float(cx), top=float(top),
                scale=float(scale), stride=float(rng.uniform(0.02, 0.1)))


def _material_rgb(p: Identity, contrast: float) -> np.ndarray:
    """(N_MATERIALS, 3) visible colours in [0, 1]; pattern ink blended towards the top colour."""
    top, ink = np.array(CLOTH_COLOURS[p.top_colour]), np.array(CLOTH_COLOURS[p.pattern_colour])
    skin = SKIN_TONES[p.skin]
    table = [(0, 0, 0), skin, _EYE_RGB, HAIR_COLOURS[p.hair_colour], top, skin,
             CLOTH_COLOURS[p.bottom_colour], skin, CLOTH_COLOURS[p.shoe_colour],
             CLOTH_COLOURS[p.accessory_colour], top + contrast * (ink - top)]
    return np.array(table, dtype=np.float32) / 255.0


def _material_ir(p: Identity, rgb: np.ndarray, mix: float, contrast: float) -> np.ndarray:
    """(N_MATERIALS,) infrared intensities: visible luminance mixed with the hidden thermal value."""
    t_pattern = p.thermal_top + contrast * (p.thermal_pattern - p.thermal_top)
    thermal = np.array([0, p.thermal_skin, p.thermal_skin, p.thermal_hair, p.thermal_top, p.thermal_skin,
                        p.thermal_bottom, p.thermal_skin, p.thermal_shoes, p.thermal_accessory, t_pattern],
                       dtype=np.float32)
    return mix * (rgb @ _RGB_TO_LUMA) + (1.0 - mix) * thermal


def _occlude(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """(H, W) bool: a bench or car along the bottom, or a pillar or passer-by at one side."""
    occ = np.zeros((h, w), dtype=bool)
    if rng.random() < 0.5:
        occ[int(h * rng.uniform(0.62, 0.85)):, :] = True
    else:
        width = int(w * rng.uniform(0.18, 0.35))
        start = int(rng.uniform(-0.1, 0.45) * w) if rng.random() < 0.5 else w - width - int(rng.uniform(-0.1, 0.4) * w)
        occ[:, max(start, 0):max(start + width, 0)] = True
    return occ


def render_image(p: Identity, camid: int, index: int, cfg: SynthConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Render one image of one identity in one camera.

    Args:
        p: the identity.
        camid: SYSU-MM01 camera 1..6 (3 and 6 are infrared).
        index: image number within (identity, camera).
        cfg: dataset config (size and difficulty).
        seed: dataset seed.

    Returns:
        image: (H, W, 3) uint8; the three channels are equal for infrared cameras.
        mask: (H, W) uint8 part labels (see ``PART_LABELS``).
    """
    style = CAMERAS[camid]
    rng = image_rng(seed, p.pid, camid, index)
    h, w = cfg.height, cfg.width
    bg = draw_background(rng, style, h, w, cfg.clutter)  # (H, W, 3)
    mat = draw_materials(p, sample_view(rng, style, p, cfg), h, w)  # (H, W)
    infrared = style.modality == INFRARED
    rgb = _material_rgb(p, cfg.pattern_contrast)
    # Mostly brightness, a little hue: a whole-channel jitter would turn skin green.
    jitter = 1.0 + cfg.colour_jitter * (rng.standard_normal((N_MATERIALS, 1)) +
                                        0.3 * rng.standard_normal((N_MATERIALS, 3))).astype(np.float32)
    if infrared:
        table = (_material_ir(p, rgb, cfg.ir_luminance_mix, cfg.pattern_contrast) * jitter[:, 0])[:, None]
        scene = (bg @ _RGB_TO_LUMA)[..., None] * style.background_gain  # (H, W, 1)
    else:
        table = rgb * jitter  # (N_MATERIALS, 3)
        scene = bg
    # Shade the body like a cylinder lit from the front: darker towards its outline.
    person = table[mat]  # (H, W, C)
    cols = np.arange(w, dtype=np.float32)
    x = (cols - (w / 2 if mat.max() == 0 else np.mean(np.nonzero(mat)[1]))) / max(0.17 * h, 1.0)
    person = person * (1.0 - 0.3 * np.minimum(x * x, 1.0))[None, :, None]
    img = np.where((mat > 0)[..., None], person, scene)
    if rng.random() < cfg.occlusion_prob:
        occ = _occlude(rng, h, w)
        colour = np.array(CLOTH_COLOURS[list(CLOTH_COLOURS)[rng.integers(len(CLOTH_COLOURS))]], np.float32) / 255
        img[occ] = (colour @ _RGB_TO_LUMA) * style.background_gain if infrared else colour
        mat[occ] = 0
    gain = style.brightness * (1.0 + cfg.illumination_jitter * rng.standard_normal())
    img = img * max(gain, 0.2) * (1.0 if infrared else np.array(style.cast, np.float32))
    pil = Image.fromarray(np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8).squeeze(-1) if infrared
                          else np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8))
    radius = rng.uniform(0.0, cfg.blur_max)
    if radius > 0.05:
        pil = pil.filter(ImageFilter.GaussianBlur(radius))
    out = np.asarray(pil, dtype=np.float32)
    if cfg.noise_std > 0:
        out = out + rng.standard_normal(out.shape, dtype=np.float32) * (255.0 * cfg.noise_std)
    out = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    if infrared:
        out = np.repeat(out[..., None], 3, axis=2)  # SYSU-MM01 stores infrared as 3 equal channels
    return out, MATERIAL_PART[mat]
