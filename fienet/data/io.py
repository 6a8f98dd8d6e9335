"""Reading a dataset from disk: images, id lists, labelled list files and camera folders.

Every function here fails with one error that names the offending path and says what was
expected there, so a wrong layout is fixed from the message alone. Nothing is skipped: a stray
file where images are expected is an error, not something to step over.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
_CAM_FOLDER = re.compile(r"cam(\d+)")


# PIL modes whose conversion to RGB is exact: grey (1, L), palettes, alpha (dropped), CMYK, YCbCr.
_PIL_TO_RGB = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr")
# 16-bit grey, as PIL opens 16-bit PNGs; "I" (32-bit integers) is read as 16-bit when its values fit.
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode one image file as RGB: fienet's only image decoder.

    Every mode is converted to what the image shows: grey and palette images are replicated or
    looked up to three channels, an alpha channel is dropped, CMYK and YCbCr are converted, and
    16-bit grey (mode ``I;16``, e.g. a 16-bit thermal PNG) is scaled from 0..65535 to 0..255 rather
    than clipped. Modes without an unambiguous brightness range (32-bit float ``F``, ``I`` with
    values outside 0..65535, LAB, HSV) are refused by name.

    Args:
        path: image file (JPEG, PNG or BMP).

    Returns:
        (H, W, 3) uint8 array.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file cannot be decoded, or its mode is refused.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: image file missing; expected a readable JPEG/PNG/BMP file")
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode in _PIL_TO_RGB:
                return np.array(img.convert("RGB"))  # (H, W, 3), a writable copy
            pixels = np.array(img) if mode in _SIXTEEN_BIT else None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise ValueError(f"{path}: cannot decode image ({err}); expected a readable JPEG/PNG/BMP") from None
    if pixels is None or pixels.ndim != 2 or pixels.min(initial=0) < 0 or pixels.max(initial=0) > 65535:
        raise ValueError(
            f"{path}: image mode {mode} is not supported; expected 8-bit grey/RGB/RGBA/palette/CMYK or 16-bit grey"
        )
    grey = ((pixels.astype(np.int64) * 255 + 32767) // 65535).astype(np.uint8)  # 0..65535 -> 0..255, rounded
    return np.repeat(grey[:, :, None], 3, axis=2)  # (H, W) -> (H, W, 3)


def load_image(path: str | Path) -> torch.Tensor:
    """Decode one image file as an RGB tensor (see :func:`read_rgb` for the modes accepted).

    Grayscale files (e.g. thermal BMPs) are replicated to three channels so both modalities
    enter the network with the same shape.

    Returns:
        (3, H, W) uint8 tensor.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file exists but cannot be decoded, or its mode is refused.
    """
    return torch.from_numpy(read_rgb(path)).permute(2, 0, 1).contiguous()  # (3, H, W)


def check_image(path: str | Path) -> None:
    """Cheap validity check: the file exists and its header parses as an image.

    Only the header is read, so this finds missing, empty and non-image files quickly; a file
    truncated after a valid header is only found by :func:`load_image`.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the header is not an image header.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: image file missing; expected a readable JPEG/PNG/BMP file")
    try:
        with Image.open(path):
            pass
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot decode image ({err}); expected a readable JPEG/PNG/BMP") from None


def check_images(paths: list[str], layout: str) -> int:
    """Run :func:`check_image` on every path and report all failures in one error.

    Returns:
        The number of images checked.

    Raises:
        ValueError: listing how many images failed and the first few messages.
    """
    failures = []
    for path in paths:
        try:
            check_image(path)
        except (FileNotFoundError, ValueError) as err:
            failures.append(str(err))
    if failures:
        shown = "\n  ".join(failures[:10])
        raise ValueError(f"{len(failures)} of {len(paths)} images failed the check ({layout}):\n  {shown}")
    return len(paths)


def require_dir(path: Path, layout: str) -> Path:
    """Return ``path`` if it is a folder, else raise naming it and the expected ``layout``."""
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: folder missing; expected {layout}")
    return path


def read_id_list(path: Path, layout: str, allow_empty: bool = False) -> list[int]:
    """Read a file holding one comma-separated line of integer identities (SYSU-MM01 ``exp/*.txt``).

    Args:
        path: the list file.
        layout: how the file should look, for the error message.
        allow_empty: an empty file is an empty list (a split that may have no identities).

    Returns:
        The ids in file order.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: no ids, a non-integer entry, more than one non-empty line or a repeated id.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; expected {layout}")
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not lines and allow_empty:
        return []
    if len(lines) != 1:
        raise ValueError(f"{path}: found {len(lines)} non-empty lines; expected {layout}")
    try:
        ids = [int(token) for token in lines[0].split(",")]
    except ValueError:
        raise ValueError(f"{path}: '{lines[0][:60]}' is not a list of integers; expected {layout}") from None
    if len(set(ids)) != len(ids):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"{path}: id(s) {repeated[:10]} listed more than once; expected {layout}")
    return ids


def read_labelled_list(path: Path, root: Path, layout: str) -> list[tuple[str, int]]:
    """Read a ``relpath label`` list file (RegDB ``idx/*.txt``, LLCM ``idx/train_*.txt``).

    Every listed image must exist under ``root``; a missing one is reported with its line
    number rather than discovered mid-epoch.

    Args:
        path: the list file.
        root: folder the relative paths start from.
        layout: how the file should look, for the error message.

    Returns:
        ``(relpath, label)`` pairs in file order; ``root / relpath`` is an existing file.

    Raises:
        FileNotFoundError: the list file or a listed image is missing.
        ValueError: a line without an integer label, or an empty file.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; expected {layout}")
    items = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.rsplit(maxsplit=1)
        if len(parts) != 2 or not _is_int(parts[1]):
            raise ValueError(f"{path}, line {number}: '{line.strip()[:80]}' has no integer label; expected {layout}")
        relpath = parts[0].strip()
        if not (root / relpath).is_file():
            raise FileNotFoundError(
                f"{path}, line {number}: listed image {root / relpath} does not exist; expected {layout}"
            )
        items.append((relpath, int(parts[1])))
    if not items:
        raise ValueError(f"{path}: no entries; expected {layout}")
    return items


def list_pid_folders(cam_dir: Path, layout: str) -> dict[int, Path]:
    """Identity folders of one camera folder, keyed by the integer their name spells.

    Args:
        cam_dir: a camera folder such as ``<root>/cam3``.
        layout: the expected layout, for the error message.

    Returns:
        ``{pid: folder}``.

    Raises:
        FileNotFoundError: ``cam_dir`` is missing.
        ValueError: an entry that is not a folder named by an integer, or two names for one pid.
    """
    require_dir(cam_dir, layout)
    folders: dict[int, Path] = {}
    for entry in sorted(cam_dir.iterdir()):
        if not entry.is_dir() or not entry.name.isdigit():
            kind = "folder" if entry.is_dir() else "file"
            raise ValueError(f"{entry}: unexpected {kind}, not an identity folder named by a number; expected {layout}")
        pid = int(entry.name)
        if pid in folders:
            raise ValueError(f"{entry}: identity {pid} also in {folders[pid]}; expected {layout}")
        folders[pid] = entry
    return folders


def list_image_files(folder: Path, layout: str) -> list[str]:
    """Image paths of one identity folder, sorted by file name.

    The protocols draw random gallery images by position in this list, so its order is part of
    the protocol; every entry must be an image so that no position is silently dropped.

    Raises:
        ValueError: the folder is empty or holds something that is not an image file.
    """
    entries = sorted(folder.iterdir())
    if not entries:
        raise ValueError(f"{folder}: empty identity folder; expected {layout}")
    for entry in entries:
        if not entry.is_file() or entry.suffix.lower() not in IMAGE_SUFFIXES:
            raise ValueError(f"{entry}: not an image file ({', '.join(IMAGE_SUFFIXES)}); expected {layout}")
    return [str(entry) for entry in entries]


def list_camera_folders(parent: Path, layout: str) -> dict[int, Path]:
    """Camera folders ``cam1..camN`` of ``parent`` keyed by camera number, ascending.

    Raises:
        FileNotFoundError: ``parent`` is missing.
        ValueError: an entry not named ``cam<number>``, or no camera folder at all.
    """
    require_dir(parent, layout)
    cams: dict[int, Path] = {}
    for entry in sorted(parent.iterdir()):
        match = _CAM_FOLDER.fullmatch(entry.name)
        if not entry.is_dir() or match is None:
            raise ValueError(f"{entry}: not a camera folder named cam<number>; expected {layout}")
        cams[int(match.group(1))] = entry
    if not cams:
        raise ValueError(f"{parent}: no camera folders; expected {layout}")
    return dict(sorted(cams.items()))


def camera_from_path(path: str) -> int:
    """Camera number from the last ``cam<number>`` in a path, 0 when the path names none."""
    found = _CAM_FOLDER.findall(path)
    return int(found[-1]) if found else 0


def _is_int(token: str) -> bool:
    try:
        int(token)
    except ValueError:
        return False
    return True
