"""One image decoder: every accepted mode shows what the image holds, the others are refused by name."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fienet.data.io import load_image, read_rgb
from fienet.evaluation.trivial import load_gray
from fienet.plots.images import to_rgb

GREY = np.array([[0, 64], [128, 255]], dtype=np.uint8)  # (2, 2) grey levels
RGB = np.stack([GREY, 255 - GREY, np.full_like(GREY, 30)], axis=2)  # (2, 2, 3)


def _save(tmp_path, name: str, image: Image.Image) -> str:
    path = tmp_path / name
    image.save(path)
    return str(path)


def _expected_grey() -> np.ndarray:
    return np.repeat(GREY[:, :, None], 3, axis=2)


@pytest.mark.parametrize("name, build, expected", [
    ("grey.png", lambda: Image.fromarray(GREY), _expected_grey),
    ("grey16.png", lambda: Image.fromarray(GREY.astype(np.uint16) * 257), _expected_grey),  # I;16
    ("grey_alpha.png", lambda: Image.fromarray(GREY).convert("LA"), _expected_grey),
    ("palette.png", lambda: Image.fromarray(RGB).convert("P", palette=Image.Palette.ADAPTIVE, colors=4), lambda: RGB),
    ("rgba.png", lambda: Image.fromarray(RGB).convert("RGBA"), lambda: RGB),
    ("rgb.bmp", lambda: Image.fromarray(RGB), lambda: RGB),
    ("grey.bmp", lambda: Image.fromarray(GREY), _expected_grey),
    ("bilevel.png", lambda: Image.fromarray(GREY >= 128), lambda: np.repeat((GREY >= 128)[:, :, None] * 255, 3, axis=2)),
])
def test_every_accepted_mode_decodes_to_what_it_shows(tmp_path, name, build, expected) -> None:
    path = _save(tmp_path, name, build())
    rgb = read_rgb(path)
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 2, 3)
    np.testing.assert_array_equal(rgb, expected())
    # every caller uses the same decoder
    np.testing.assert_array_equal(to_rgb(path), rgb)
    np.testing.assert_array_equal(load_image(path).permute(1, 2, 0).numpy(), rgb)


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path) -> None:
    """A 16-bit thermal PNG at mid-range was decoded almost all white by a plain convert("RGB")."""
    levels = np.array([[0, 1000], [32768, 65535]], dtype=np.uint16)
    path = _save(tmp_path, "thermal16.png", Image.fromarray(levels))
    assert Image.open(path).mode == "I;16"
    np.testing.assert_array_equal(read_rgb(path)[:, :, 0], [[0, 4], [128, 255]])
    np.testing.assert_allclose(load_gray([path], (2, 2))[0], [[0, 4 / 255], [128 / 255, 1]], atol=1e-6)


def test_cmyk_is_converted(tmp_path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(path, quality=100)  # pure red ink mix
    rgb = read_rgb(path)
    assert rgb[..., 0].mean() > 200 and rgb[..., 1].mean() < 60 and rgb[..., 2].mean() < 60


def test_modes_without_a_brightness_range_are_refused_by_name(tmp_path) -> None:
    path = tmp_path / "float.tiff"
    Image.fromarray(np.array([[0.5, 2.0]], dtype=np.float32)).save(path)
    for decode in (read_rgb, to_rgb, load_image):
        with pytest.raises(ValueError, match=r"float\.tiff: image mode F is not supported; expected"):
            decode(path)
    signed = tmp_path / "signed.tiff"
    Image.fromarray(np.array([[-5, 70000]], dtype=np.int32)).save(signed)
    with pytest.raises(ValueError, match=r"signed\.tiff: image mode I is not supported"):
        read_rgb(signed)


def test_missing_and_corrupt_files_are_named(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nothing\.png: image file missing"):
        read_rgb(tmp_path / "nothing.png")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    for decode in (read_rgb, to_rgb, load_image):
        with pytest.raises(ValueError, match=r"broken\.jpg: cannot decode image"):
            decode(broken)
