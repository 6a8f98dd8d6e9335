"""Write a synthetic dataset to disk in the SYSU-MM01 layout."""

from __future__ import annotations

import dataclasses
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
import yaml
from PIL import Image
from tqdm import tqdm

from fienet.data.synthetic.cameras import CAMERAS, INFRARED_CAMERAS, VISIBLE_CAMERAS
from fienet.data.synthetic.config import SynthConfig, resolve_config
from fienet.data.synthetic.identities import SPLITS, Identity, make_identities
from fienet.data.synthetic.layout import (CONFIG_FILE, IDENTITY_TABLE, MASKS_DIR, SPLIT_FILES,
                                          image_relpath, mask_relpath)
from fienet.data.synthetic.parts import PART_LABELS
from fienet.data.synthetic.render import render_image

# Everything generate_synthetic writes at the root; only these may be replaced by overwrite=True.
_OWN_ENTRIES = {f"cam{c}" for c in CAMERAS} | {MASKS_DIR, "exp", IDENTITY_TABLE, CONFIG_FILE}


def write_identity(root: Path, p: Identity, cfg: SynthConfig, seed: int, masks: bool = True) -> int:
    """Render and write every image (and its mask) of one identity; returns the image count."""
    n = 0
    for camid in CAMERAS:
        for index in range(1, cfg.images_per_camera + 1):
            image, mask = render_image(p, camid, index, cfg, seed)
            rel = image_relpath(camid, p.pid, index)
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(root / rel, quality=cfg.jpeg_quality)
            if masks:
                (root / mask_relpath(rel)).parent.mkdir(parents=True, exist_ok=True)
                # fast zlib level: masks are tiny and mostly runs, level 1 is nearly as small
                Image.fromarray(mask).save(root / mask_relpath(rel), compress_level=1)
            n += 1
    return n


def _write_chunk(args: tuple[Path, list[Identity], SynthConfig, int]) -> int:
    root, people, cfg, seed = args
    return sum(write_identity(root, p, cfg, seed) for p in people)


def identity_table(people: Iterable[Identity]) -> pd.DataFrame:
    """One row per identity; ``distinguishing_parts`` joined with ';' for the CSV."""
    rows = [dataclasses.asdict(p) | {"distinguishing_parts": ";".join(p.distinguishing_parts)} for p in people]
    return pd.DataFrame(rows)


def _manifest(preset: str, seed: int, cfg: SynthConfig) -> dict[str, Any]:
    return {
        "preset": preset,
        "seed": seed,
        "config": cfg.to_dict(),
        "layout": "SYSU-MM01",
        "visible_cameras": list(VISIBLE_CAMERAS),
        "infrared_cameras": list(INFRARED_CAMERAS),
        "part_labels": dict(PART_LABELS),
    }


def _prepare(out: Path, manifest: dict[str, Any], overwrite: bool) -> bool:
    """Make ``out`` ready to write; False when it already holds exactly this dataset."""
    config_path = out / CONFIG_FILE
    if config_path.is_file():
        with open(config_path) as fh:
            if yaml.safe_load(fh) == manifest:
                return False
    if not out.exists():
        return True
    if not out.is_dir():
        raise NotADirectoryError(f"{out}: exists and is not a folder; expected a folder for the synthetic dataset")
    entries = {e.name for e in out.iterdir()}
    if not entries:
        return True
    if not overwrite:
        raise FileExistsError(
            f"{out}: not empty and not a synthetic dataset of preset '{manifest['preset']}' with seed "
            f"{manifest['seed']}; choose an empty folder, or pass overwrite=True to replace a synthetic dataset"
        )
    foreign = sorted(entries - _OWN_ENTRIES)
    if foreign:
        raise FileExistsError(f"{out}: holds {foreign}, which generate_synthetic did not write; refusing to overwrite")
    for name in entries:
        target = out / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    return True


def generate_synthetic(
    out: str | Path,
    preset: str = "default",
    seed: int = 0,
    *,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = False,
    **overrides: Any,
) -> Path:
    """Generate the procedural visible-infrared dataset in the SYSU-MM01 layout.

    The same preset, overrides and seed give byte-identical files, whatever ``workers``.
    Calling again on a folder that already holds the same dataset returns at once.

    Args:
        out: dataset root to create.
        preset: ``"tiny"``, ``"easy"``, ``"default"`` or ``"hard"`` (see ``PRESETS``).
        seed: dataset seed.
        workers: processes rendering in parallel (1: this process).
        overwrite: replace a different synthetic dataset already in ``out``.
        progress: show a progress bar over identities.
        **overrides: ``SynthConfig`` fields set on top of the preset.

    Returns:
        The dataset root.
    """
    cfg = resolve_config(preset, **overrides)
    out = Path(out)
    manifest = _manifest(preset, seed, cfg)
    if not _prepare(out, manifest, overwrite):
        return out
    out.mkdir(parents=True, exist_ok=True)
    people = make_identities(cfg.n_train, cfg.n_val, cfg.n_test, cfg.group_size, cfg.max_fine_parts,
                             cfg.ir_polarity_agreement, seed)
    (out / "exp").mkdir(exist_ok=True)
    for split in SPLITS:
        pids = [p.pid for p in people if p.split == split]
        (out / SPLIT_FILES[split]).write_text(",".join(str(pid) for pid in pids) + "\n")
    identity_table(people).to_csv(out / IDENTITY_TABLE, index=False)
    if workers <= 1:
        for p in tqdm(people, desc="synthetic identities", disable=not progress):
            write_identity(out, p, cfg, seed)
    else:
        chunks = [(out, people[i::workers * 4], cfg, seed) for i in range(workers * 4)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(tqdm(pool.map(_write_chunk, chunks), total=len(chunks), desc="synthetic chunks",
                      disable=not progress))
    # written last: its presence marks a complete dataset
    with open(out / CONFIG_FILE, "w") as fh:
        yaml.safe_dump(manifest, fh, sort_keys=False)
    return out
