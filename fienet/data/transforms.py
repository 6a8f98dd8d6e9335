"""Image transforms for training and testing, on uint8 (3, H, W) tensors.

Working on tensors (torchvision.transforms.v2) lets one pipeline serve both images decoded from
files and images already cached in memory at the target size (resizing is then a no-op).
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ChannelAugmentation(nn.Module):
    """Channel augmentation of CAJ (Ye et al., ICCV 2021) for visible images.

    With probability ``p`` the image is replaced by one of its R, G, B channels or by its
    grayscale, replicated to three channels (each of the four with equal chance). Visible images
    then sometimes look like single-channel infrared ones, which pushes the network towards
    colour-independent cues. Infrared images are already gray and should not get it.

    Args:
        p: probability of changing an image.

    Shapes:
        (..., 3, H, W) -> (..., 3, H, W), same dtype; apply before normalisation.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"ChannelAugmentation p={p}: expected a probability in [0, 1]")
        self.p = p

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if image.shape[-3] != 3:
            raise ValueError(f"ChannelAugmentation: expected (..., 3, H, W) images, got shape {tuple(image.shape)}")
        if torch.rand(()) >= self.p:
            return image
        choice = int(torch.randint(4, ()))
        if choice == 3:
            return F.rgb_to_grayscale(image, num_output_channels=3)
        return image[..., choice : choice + 1, :, :].expand_as(image).clone()  # (..., 3, H, W)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def train_transform(
    height: int,
    width: int,
    pad: int = 10,
    flip: bool = True,
    random_erasing: float = 0.5,
    channel_aug: bool = False,
) -> v2.Compose:
    """Training augmentation: resize, pad + random crop, flip, channel augmentation, normalise, erase.

    Build it twice when training on both modalities: with ``channel_aug=True`` for visible
    images and ``channel_aug=False`` for infrared ones.

    Args:
        height, width: output size.
        pad: zero padding on every side before the random crop back to (height, width); 0 skips it.
        flip: random horizontal flip with probability 0.5.
        random_erasing: probability of erasing a random rectangle (filled with 0, the mean after
            normalisation); 0 skips it.
        channel_aug: include :class:`ChannelAugmentation` (before normalisation, on uint8 values).

    Returns:
        A transform mapping a uint8 (3, h, w) image to a float32 (3, height, width) tensor.
    """
    steps: list[nn.Module] = [v2.Resize((height, width), antialias=True)]
    if pad > 0:
        steps.append(v2.RandomCrop((height, width), padding=pad, fill=0))
    if flip:
        steps.append(v2.RandomHorizontalFlip())
    if channel_aug:
        steps.append(ChannelAugmentation())
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    if random_erasing > 0:
        steps.append(v2.RandomErasing(p=random_erasing, value=0))
    return v2.Compose(steps)


def test_transform(height: int, width: int) -> v2.Compose:
    """Deterministic test pipeline: resize, scale to [0, 1], normalise with ImageNet statistics.

    Returns:
        A transform mapping a uint8 (3, h, w) image to a float32 (3, height, width) tensor.
    """
    return v2.Compose(
        [
            v2.Resize((height, width), antialias=True),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


# The name starts with "test": without this, pytest collects the function as a test wherever a
# test module imports it by name.
test_transform.__test__ = False  # type: ignore[attr-defined]
