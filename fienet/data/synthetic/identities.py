"""Identities of the synthetic pedestrians: their attributes and their look-alike groups.

An identity is a body (height, build, skin), hair, a top (colour and pattern), a bottom, shoes
and an accessory. Every material also has a hidden *thermal* value in [0, 1]: what an infrared
camera sees of it, independently of its visible colour.

Identities come in look-alike groups. Everything *coarse* (body, all colours, all thermal values)
is shared inside a group; the members differ in one or two *fine-grained* parts (hair style,
sleeves, top pattern or logo, bottom style, shoe style, accessory), each of which changes a shape
or a pattern, so that the difference shows in both modalities and from every facing direction.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

import numpy as np

# Visible colours, by name so that the identity table reads like a description.
CLOTH_COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (28, 28, 32), "white": (232, 232, 226), "grey": (128, 128, 128),
    "charcoal": (62, 64, 68), "navy": (30, 40, 92), "blue": (45, 95, 185),
    "sky": (130, 180, 225), "red": (190, 35, 40), "maroon": (112, 26, 36),
    "pink": (228, 140, 170), "orange": (235, 125, 35), "yellow": (235, 205, 55),
    "olive": (110, 115, 45), "green": (45, 135, 65), "teal": (30, 130, 130),
    "khaki": (190, 170, 120), "brown": (110, 70, 40), "purple": (110, 60, 150),
    "beige": (215, 200, 170),
}  # fmt: skip
SKIN_TONES: dict[str, tuple[int, int, int]] = {
    "light": (236, 202, 178), "fair": (222, 182, 150), "medium": (192, 142, 106),
    "tan": (162, 112, 76), "brown": (122, 82, 56), "dark": (86, 56, 40),
}  # fmt: skip
HAIR_COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (22, 20, 20), "dark_brown": (60, 40, 28), "brown": (105, 70, 40),
    "auburn": (132, 56, 30), "blonde": (214, 184, 120), "grey": (168, 168, 162),
}  # fmt: skip

# Fine-grained attributes and the part label (see parts.PART_LABELS) each one changes.
FINE_ATTRIBUTE_PART: dict[str, str] = {
    "hair_style": "hair",
    "sleeves": "torso",
    "top_pattern": "pattern",
    "logo_shape": "pattern",
    "bottom_style": "legs",
    "shoe_style": "shoes",
    "accessory": "accessory",
}
LOGO_SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "cross")
# Every value a fine-grained part can take; look-alikes pick different entries.
FINE_OPTIONS: dict[str, tuple[dict[str, str], ...]] = {
    "hair": tuple({"hair_style": s} for s in ("short", "long", "bun")),
    "torso": tuple({"sleeves": s} for s in ("short", "long")),
    "pattern": (
        {"top_pattern": "plain", "logo_shape": "none"},
        {"top_pattern": "stripes", "logo_shape": "none"},
        {"top_pattern": "checks", "logo_shape": "none"},
        *({"top_pattern": "logo", "logo_shape": s} for s in LOGO_SHAPES),
    ),
    "legs": tuple({"bottom_style": s} for s in ("trousers", "shorts", "skirt")),
    "shoes": tuple({"shoe_style": s} for s in ("low", "boots")),
    "accessory": tuple({"accessory": s} for s in ("none", "backpack", "handbag", "hat", "scarf")),
}
FINE_PARTS: tuple[str, ...] = tuple(FINE_OPTIONS)
SPLITS: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class Identity:
    """One synthetic person. Colours are names of the palettes above; thermal values in [0, 1]."""

    pid: int
    group: int
    split: str
    # coarse: shared by the look-alike group
    height: float  # body height relative to the average body
    build: float  # body width relative to the average body
    skin: str
    hair_colour: str
    top_colour: str
    pattern_colour: str  # ink of stripes, checks and logos
    bottom_colour: str
    shoe_colour: str
    accessory_colour: str
    thermal_skin: float
    thermal_hair: float
    thermal_top: float
    thermal_pattern: float
    thermal_bottom: float
    thermal_shoes: float
    thermal_accessory: float
    # fine-grained: look-alikes differ here
    hair_style: str
    sleeves: str
    top_pattern: str
    logo_shape: str
    bottom_style: str
    shoe_style: str
    accessory: str
    distinguishing_parts: tuple[str, ...] = ()  # parts that tell it from its look-alikes

    def fine(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in FINE_ATTRIBUTE_PART}


COARSE_ATTRIBUTES: tuple[str, ...] = tuple(
    f.name
    for f in dataclasses.fields(Identity)
    if f.name not in FINE_ATTRIBUTE_PART and f.name not in ("pid", "group", "split", "distinguishing_parts")
)


def luminance(rgb: tuple[int, int, int]) -> float:
    """Rec. 601 luma of an 8-bit colour, in [0, 1]."""
    r, g, b = rgb
    return (0.299 * r + 0.587 * g + 0.114 * b) / 255.0


def differing_parts(a: Identity, b: Identity) -> set[str]:
    """Part names in which two identities' fine-grained attributes differ."""
    return {part for attr, part in FINE_ATTRIBUTE_PART.items() if getattr(a, attr) != getattr(b, attr)}


def _pick_contrasting(rng: np.random.Generator, palette: dict, against: float, min_diff: float) -> str:
    """A palette name whose luminance is at least ``min_diff`` away from ``against``."""
    names = [n for n, rgb in palette.items() if abs(luminance(rgb) - against) >= min_diff]
    names = names or list(palette)
    return names[rng.integers(len(names))]


def _sample_coarse(rng: np.random.Generator, polarity_agreement: float) -> dict:
    """Body, colours and thermal values of one look-alike group.

    Colours that meet at a boundary a fine-grained difference depends on (hair/skin, sleeve/arm,
    trousers/leg, pattern/top, accessory/top, shoes/bottom) get a minimum luminance gap so the
    boundary shows in visible light, and a minimum thermal gap so it shows in infrared. With
    probability ``polarity_agreement`` the thermal gap has the sign of the luminance gap, so
    that a partly luminance-driven infrared image cannot make the boundary vanish.
    """
    skin = list(SKIN_TONES)[rng.integers(len(SKIN_TONES))]
    lum = {"skin": luminance(SKIN_TONES[skin])}
    colours = {"skin": skin}
    # (material, parent material, palette, minimum luminance gap): a tree rooted at the skin.
    tree = (
        ("hair", "skin", HAIR_COLOURS, 0.12),
        ("top", "skin", CLOTH_COLOURS, 0.12),
        ("bottom", "skin", CLOTH_COLOURS, 0.12),
        ("pattern", "top", CLOTH_COLOURS, 0.3),
        ("accessory", "top", CLOTH_COLOURS, 0.15),
        ("shoes", "bottom", CLOTH_COLOURS, 0.15),
    )
    thermal = {"skin": rng.uniform(0.7, 0.95)}  # skin is warm
    for name, parent, palette, gap in tree:
        colours[name] = _pick_contrasting(rng, palette, lum[parent], gap)
        lum[name] = luminance(palette[colours[name]])
        sign = 1.0 if lum[name] >= lum[parent] else -1.0
        if rng.random() >= polarity_agreement:
            sign = -sign
        thermal[name] = thermal[parent] + sign * rng.uniform(0.2, 0.45)
    # Squeeze back into [0.05, 0.95]: an affine map keeps every gap's sign.
    t = np.array(list(thermal.values()))
    lo, hi = min(t.min(), 0.05), max(t.max(), 0.95)
    thermal = {k: 0.05 + 0.9 * (v - lo) / (hi - lo) for k, v in thermal.items()}
    return dict(
        height=round(float(rng.uniform(0.92, 1.06)), 4),
        build=round(float(rng.uniform(0.85, 1.15)), 4),
        skin=skin,
        hair_colour=colours["hair"],
        top_colour=colours["top"],
        pattern_colour=colours["pattern"],
        bottom_colour=colours["bottom"],
        shoe_colour=colours["shoes"],
        accessory_colour=colours["accessory"],
        **{f"thermal_{k}": round(float(v), 4) for k, v in thermal.items()},
    )


def _sample_fine(rng: np.random.Generator) -> dict[str, str]:
    """Fine-grained attributes of a group's prototype (pattern type before logo shape)."""
    fine: dict[str, str] = {}
    for part, options in FINE_OPTIONS.items():
        if part == "pattern":
            kind = ("plain", "stripes", "checks", "logo")[rng.integers(4)]
            shape = LOGO_SHAPES[rng.integers(len(LOGO_SHAPES))] if kind == "logo" else "none"
            fine.update(top_pattern=kind, logo_shape=shape)
        else:
            fine.update(options[rng.integers(len(options))])
    return fine


def _group_members(rng: np.random.Generator, size: int, max_fine_parts: int) -> list[dict]:
    """Coarse-equal attribute sets that differ pairwise in one to ``max_fine_parts`` parts."""
    prototype = _sample_fine(rng)
    if size == 1:
        return [prototype]
    while True:
        k = int(rng.integers(1, max_fine_parts + 1))
        parts = [FINE_PARTS[i] for i in rng.choice(len(FINE_PARTS), size=k, replace=False)]
        combos = list(itertools.product(*(FINE_OPTIONS[p] for p in parts)))
        if len(combos) >= size:
            break
    chosen = rng.choice(len(combos), size=size, replace=False)
    members = []
    for i in chosen:
        fine = dict(prototype)
        for option in combos[i]:
            fine.update(option)
        members.append(fine)
    return members


def make_identities(
    n_train: int,
    n_val: int,
    n_test: int,
    group_size: int,
    max_fine_parts: int,
    polarity_agreement: float,
    seed: int,
) -> list[Identity]:
    """Sample every identity of the dataset, sorted by pid.

    Look-alike groups never straddle splits, so the test set holds whole groups and its
    identities must be told apart by their fine-grained parts. Pids 1..N are shuffled over the
    groups so that neither the split nor the group can be read from a pid.

    Args:
        n_train, n_val, n_test: identities per split.
        group_size: identities per look-alike group (the last group of a split may be smaller).
        max_fine_parts: look-alikes differ in at most this many parts (1 or 2).
        polarity_agreement: see ``_sample_coarse``.
        seed: dataset seed.

    Returns:
        The identities, ``distinguishing_parts`` filled in.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x1DE7]))
    drafts: list[dict] = []
    group = 0
    for split, n in zip(SPLITS, (n_train, n_val, n_test)):
        for start in range(0, n, group_size):
            group += 1
            coarse = _sample_coarse(rng, polarity_agreement)
            for fine in _group_members(rng, min(group_size, n - start), max_fine_parts):
                drafts.append(dict(group=group, split=split, **coarse, **fine))
    pids = rng.permutation(len(drafts)) + 1
    people = sorted((Identity(pid=int(p), **d) for p, d in zip(pids, drafts)), key=lambda x: x.pid)
    by_group: dict[int, list[Identity]] = {}
    for person in people:
        by_group.setdefault(person.group, []).append(person)
    out = []
    for person in people:
        parts: set[str] = set()
        for other in by_group[person.group]:
            if other.pid != person.pid:
                parts |= differing_parts(person, other)
        out.append(dataclasses.replace(person, distinguishing_parts=tuple(p for p in FINE_PARTS if p in parts)))
    return out
