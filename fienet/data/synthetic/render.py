"""Render one synthetic image and its part mask.

Each image has its own random generator, seeded by (dataset seed, pid, camera, image index), so
an image is the same whatever order or process renders it. The visible image paints each
material with its identity colour; the infrared image paints it with
``mix * luminance + (1 - mix) * thermal`` as one intensity channel, so shapes, patterns and
accessories are shared across modalities while colours are not.
"""

from __future__ import annotations

import functools

import numpy as np

from fienet.data.synthetic.background import draw_background
from fienet.data.synthetic.cameras import CAMERAS, CameraStyle
from fienet.data.synthetic.config import SynthConfig
from fienet.data.synthetic.figure import View, draw_materials
from fienet.data.synthetic.identities import CLOTH_COLOURS, HAIR_COLOURS, SKIN_TONES, Identity
from fienet.data.synthetic.parts import MATERIAL_PART, N_MATERIALS
from fienet.modalities import INFRARED

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


def material_colours(p: Identity, contrast: float) -> np.ndarray:
    """Visible colour of every material of an identity.

    Args:
        p: the identity.
        contrast: pattern contrast; the pattern ink is blended this far from the top colour.

    Returns:
        (N_MATERIALS, 3) float32 RGB in [0, 1], indexed by the materials of ``parts``.
    """
    top, ink = np.array(CLOTH_COLOURS[p.top_colour]), np.array(CLOTH_COLOURS[p.pattern_colour])
    skin = SKIN_TONES[p.skin]
    table = [(0, 0, 0), skin, _EYE_RGB, HAIR_COLOURS[p.hair_colour], top, skin,
             CLOTH_COLOURS[p.bottom_colour], skin, CLOTH_COLOURS[p.shoe_colour],
             CLOTH_COLOURS[p.accessory_colour], top + contrast * (ink - top)]
    return np.array(table, dtype=np.float32) / 255.0


def infrared_intensities(p: Identity, mix: float, contrast: float) -> np.ndarray:
    """Infrared intensity of every material: ``mix * luminance + (1 - mix) * thermal``.

    Args:
        p: the identity.
        mix: how far infrared follows visible luminance (``ir_luminance_mix``).
        contrast: pattern contrast, applied to the thermal values as to the colours.

    Returns:
        (N_MATERIALS,) float32 intensities in [0, 1], indexed by the materials of ``parts``.
    """
    rgb = material_colours(p, contrast)
    t_pattern = p.thermal_top + contrast * (p.thermal_pattern - p.thermal_top)
    thermal = np.array([0, p.thermal_skin, p.thermal_skin, p.thermal_hair, p.thermal_top, p.thermal_skin,
                        p.thermal_bottom, p.thermal_skin, p.thermal_shoes, p.thermal_accessory, t_pattern],
                       dtype=np.float32)
    return mix * (rgb @ _RGB_TO_LUMA) + (1.0 - mix) * thermal


def _occlude(rng: np.random.Generator, mat: np.ndarray) -> np.ndarray:
    """(H, W) bool: a bench or car across the legs, or a pillar or passer-by over one side.

    The obstacle is placed against the person's extent in ``mat`` (H, W) and hides at most
    about half of it, so that an occluded image still shows its identity.
    """
    h, w = mat.shape
    occ = np.zeros((h, w), dtype=bool)
    rows, cols = np.flatnonzero(mat.any(axis=1)), np.flatnonzero(mat.any(axis=0))
    if rows.size == 0:
        return occ
    if rng.random() < 0.5:
        top = rows[-1] - int(rng.uniform(0.2, 0.45) * (rows[-1] - rows[0]))
        occ[top:, :] = True
    else:
        width = int(w * rng.uniform(0.15, 0.35))
        reach = int(rng.uniform(0.25, 0.5) * (cols[-1] - cols[0] + 1))  # columns of the person hidden
        if rng.random() < 0.5:
            occ[:, max(cols[0] + reach - width, 0):cols[0] + reach] = True
        else:
            occ[:, cols[-1] + 1 - reach:cols[-1] + 1 - reach + width] = True
    return occ


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Blur (H, W, C) by passes of the kernel [a/4, 1 - a/2, a/4] along both axes.

    Each pass adds a/2 to the variance, so passes are repeated (the last one partial) until the
    variance reaches sigma**2: a Gaussian's, at a fraction of the cost of PIL's blur filters on
    images this small.
    """
    var = sigma * sigma
    while var > 1e-3:
        a = min(2.0 * var, 1.0)
        var -= a / 2.0
        for axis in (0, 1):
            y = (1.0 - a / 2.0) * x
            head, tail = [slice(None)] * 3, [slice(None)] * 3
            head[axis], tail[axis] = slice(1, None), slice(None, -1)
            y[tuple(head)] += (a / 4.0) * x[tuple(tail)]
            y[tuple(tail)] += (a / 4.0) * x[tuple(head)]
            edge_lo, edge_hi = [slice(None)] * 3, [slice(None)] * 3
            edge_lo[axis], edge_hi[axis] = slice(0, 1), slice(-1, None)
            y[tuple(edge_lo)] += (a / 4.0) * x[tuple(edge_lo)]  # replicate the border
            y[tuple(edge_hi)] += (a / 4.0) * x[tuple(edge_hi)]
            x = y
    return x


@functools.lru_cache(maxsize=4)
def _noise_bank(size: int) -> np.ndarray:
    """A fixed bank of ``size`` standard normal samples; images take random windows of it.

    Drawing fresh normals costs more than the rest of the image, and the noise only has to
    look like sensor noise, so a window at a random offset (from the image's generator) keeps
    every image reproducible at the cost of a slice.
    """
    return np.random.default_rng(np.random.SeedSequence(0x5E115)).standard_normal(size, dtype=np.float32)


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
    view = sample_view(rng, style, p, cfg)
    mat = draw_materials(p, view, h, w)  # (H, W)
    infrared = style.modality == INFRARED
    # Mostly brightness, a little hue: a whole-channel jitter would turn skin green.
    jitter = 1.0 + cfg.colour_jitter * (rng.standard_normal((N_MATERIALS, 1)) +
                                        0.3 * rng.standard_normal((N_MATERIALS, 3))).astype(np.float32)
    if infrared:
        table = (infrared_intensities(p, cfg.ir_luminance_mix, cfg.pattern_contrast) * jitter[:, 0])[:, None]
        scene = (bg @ _RGB_TO_LUMA)[..., None] * style.background_gain  # (H, W, 1)
    else:
        table = material_colours(p, cfg.pattern_contrast) * jitter  # (N_MATERIALS, 3)
        scene = bg
    # Shade the body like a cylinder lit from the front: darker towards its outline.
    x = (np.arange(w, dtype=np.float32) - view.cx) / (0.17 * view.scale)
    shade = (1.0 - 0.3 * np.minimum(x * x, 1.0))[None, :, None]  # (1, W, 1)
    person = np.take(table.astype(np.float32), mat, axis=0) * shade  # (H, W, C)
    img = np.where((mat > 0)[..., None], person, scene)
    if rng.random() < min(cfg.occlusion_prob * style.occlusion, 1.0):
        occ = _occlude(rng, mat)
        colour = np.array(CLOTH_COLOURS[list(CLOTH_COLOURS)[rng.integers(len(CLOTH_COLOURS))]], np.float32) / 255
        img[occ] = (colour @ _RGB_TO_LUMA) * style.background_gain if infrared else colour
        mat[occ] = 0
    sigma = rng.uniform(0.0, cfg.blur_max * style.blur)
    if sigma > 0.05:
        img = _blur(img, sigma)
    # Camera brightness with a soft vertical light gradient; a visible camera's white balance.
    gain = max(style.brightness * (1.0 + cfg.illumination_jitter * rng.standard_normal()), 0.2)
    ramp = gain * (1.0 + rng.uniform(-0.15, 0.15) * np.linspace(-1.0, 1.0, h, dtype=np.float32))
    img = img * ramp[:, None, None] * (1.0 if infrared else np.array(style.cast, np.float32))
    if cfg.noise_std > 0:
        bank = _noise_bank(max(1 << 18, 8 * img.size))
        offset = int(rng.integers(0, bank.size - img.size))
        img = img + (cfg.noise_std * style.noise) * bank[offset:offset + img.size].reshape(img.shape)
    out = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if infrared:
        out = np.repeat(out, 3, axis=2)  # SYSU-MM01 stores infrared as 3 equal channels
    return out, MATERIAL_PART[mat]
