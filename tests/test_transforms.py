"""Training and test transforms, and CAJ channel augmentation."""

from __future__ import annotations

import pytest
import torch

from fienet.data.transforms import IMAGENET_MEAN, IMAGENET_STD, ChannelAugmentation, test_transform, train_transform

MEAN = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
STD = torch.tensor(IMAGENET_STD).view(3, 1, 1)


def _striped(height: int = 20, width: int = 10) -> torch.Tensor:
    """uint8 (3, H, W) image with constant, distinct channels R=200, G=100, B=50."""
    image = torch.empty((3, height, width), dtype=torch.uint8)
    image[0], image[1], image[2] = 200, 100, 50
    return image


def test_channel_augmentation_outcomes() -> None:
    aug = ChannelAugmentation(p=1.0)
    torch.manual_seed(0)
    outcomes = set()
    for _ in range(100):
        out = aug(_striped())
        assert out.shape == (3, 20, 10) and out.dtype == torch.uint8
        assert torch.equal(out[0], out[1]) and torch.equal(out[1], out[2])  # three equal channels
        outcomes.add(int(out[0, 0, 0]))
    # R, G, B replicated, or grayscale round(0.2989*200 + 0.587*100 + 0.114*50) = 124
    assert outcomes == {200, 100, 50, 124}


def test_channel_augmentation_probability_and_errors() -> None:
    image = _striped()
    assert ChannelAugmentation(p=0.0)(image) is image
    torch.manual_seed(0)
    changed = sum(not torch.equal(ChannelAugmentation(p=0.3)(image), image) for _ in range(1000))
    assert 240 < changed < 360  # about 30% of images changed
    batch = torch.stack([image, image])  # (2, 3, H, W): leading dims pass through
    assert ChannelAugmentation(p=1.0)(batch).shape == (2, 3, 20, 10)
    with pytest.raises(ValueError, match=r"expected a probability in \[0, 1\]"):
        ChannelAugmentation(p=1.5)
    with pytest.raises(ValueError, match=r"expected \(\.\.\., 3, H, W\) images, got shape \(1, 4, 4\)"):
        ChannelAugmentation(p=1.0)(torch.zeros((1, 4, 4), dtype=torch.uint8))


def test_test_transform_values_are_normalised_pixels() -> None:
    white = torch.full((3, 40, 20), 255, dtype=torch.uint8)
    out = test_transform(16, 8)(white)
    assert out.shape == (3, 16, 8) and out.dtype == torch.float32
    expected = [(1 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)]  # 2.2489, 2.4286, 2.64
    assert out[:, 0, 0].tolist() == pytest.approx(expected, abs=1e-5)
    image = torch.randint(0, 256, (3, 31, 17), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(test_transform(16, 8)(image), test_transform(16, 8)(image))


def test_train_transform_shapes_and_randomness() -> None:
    transform = train_transform(16, 8, pad=2, flip=True, random_erasing=0.5, channel_aug=True)
    image = torch.randint(0, 256, (3, 31, 17), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    outs = [transform(image) for _ in range(4)]
    assert all(o.shape == (3, 16, 8) and o.dtype == torch.float32 for o in outs)
    assert not torch.equal(outs[0], outs[1])
    torch.manual_seed(0)
    assert torch.equal(transform(image), outs[0])  # reproducible from the torch seed


def test_train_transform_without_augmentation_equals_test_transform() -> None:
    image = torch.randint(0, 256, (3, 31, 17), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    plain = train_transform(16, 8, pad=0, flip=False, random_erasing=0.0, channel_aug=False)
    assert torch.equal(plain(image), test_transform(16, 8)(image))


def test_channel_augmentation_runs_before_normalisation() -> None:
    transform = train_transform(16, 8, pad=0, flip=False, random_erasing=0.0, channel_aug=True)
    image = _striped()
    torch.manual_seed(0)
    gray_like = 0
    for _ in range(40):
        pixels = transform(image) * STD + MEAN  # back to [0, 1] pixel values
        equal = torch.allclose(pixels[0], pixels[1], atol=1e-5) and torch.allclose(pixels[1], pixels[2], atol=1e-5)
        gray_like += equal
        if not equal:  # untouched: the original channels
            assert pixels[:, 0, 0].tolist() == pytest.approx([200 / 255, 100 / 255, 50 / 255], abs=1e-5)
    assert 10 < gray_like < 30  # p = 0.5, and the equal channels are equal *pixel* values


def test_random_erasing_fills_with_zero() -> None:
    transform = train_transform(16, 8, pad=0, flip=False, random_erasing=1.0, channel_aug=False)
    white = torch.full((3, 16, 8), 255, dtype=torch.uint8)
    torch.manual_seed(0)
    out = transform(white)
    erased = (out == 0).all(dim=0)  # (H, W) pixels zeroed in every channel
    assert 0 < int(erased.sum()) < 16 * 8
