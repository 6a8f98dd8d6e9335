"""ImageNet weights for the torchvision ResNet that the two-stream backbone is built from.

``weights`` is one of:

* ``"imagenet"``: torchvision's ``IMAGENET1K_V1`` weights of the architecture, fetched through
  ``torch.hub`` (cached under ``$TORCH_HOME/hub/checkpoints``);
* a path to a local file holding a torchvision state dict of the same architecture (for offline
  machines: copy the file that torchvision would download, e.g. ``resnet50-0676ba61.pth``);
* ``None``: keep the random initialisation.

The weights are loaded into the complete torchvision model *before* it is split into stems and
shared stages, so the file format is exactly torchvision's and nothing needs renaming.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision
from torch import nn

IMAGENET = "imagenet"


def imagenet_weights(arch: str) -> torchvision.models.WeightsEnum:
    """The ``IMAGENET1K_V1`` entry of torchvision's weights enum for ``arch`` (e.g. ``"resnet50"``).

    V1 rather than torchvision's newer V2 recipe because V1 is what the VI-ReID literature
    (AGW, CAJ and their descendants) starts from, so results stay comparable.
    """
    return torchvision.models.get_model_weights(arch).IMAGENET1K_V1


def fetch_imagenet_state_dict(arch: str) -> dict[str, torch.Tensor]:
    """Download (or read from the torch hub cache) the ImageNet state dict of ``arch``.

    Raises:
        RuntimeError: the weights could not be fetched (offline machine, proxy, bad cache);
            the message says how to pass a local file instead.
    """
    entry = imagenet_weights(arch)
    try:
        return torch.hub.load_state_dict_from_url(entry.url, progress=True, check_hash=True)
    except Exception as err:  # URLError, HTTPError, OSError, hash mismatch: all mean "not available"
        filename = entry.url.rsplit("/", 1)[-1]
        raise RuntimeError(
            f"could not fetch the ImageNet weights of {arch} from {entry.url} ({type(err).__name__}: {err}). "
            f"On a machine without internet access, download that file elsewhere, copy it over and pass "
            f"it as a local file: model.weights=/path/to/{filename} (a torchvision state dict), or use "
            f"model.weights=null for random initialisation."
        ) from err


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a torchvision state dict from ``path`` with ``torch.load(weights_only=True)``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file cannot be read as a state dict (corrupt, truncated, not a dict of tensors).
    """
    path = Path(path)
    expected = (
        f"expected '{IMAGENET}', null (random initialisation) or a local torchvision ResNet state dict "
        f"saved with torch.save(model.state_dict(), path)"
    )
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model weights file not found; {expected}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and unsafe-type errors all mean "not a state dict"
        raise ValueError(f"{path}: cannot be read as model weights ({type(err).__name__}: {err}); {expected}") from err
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ValueError(f"{path}: holds a {type(state).__name__}, not a dict of tensors; {expected}")
    return state


def load_pretrained(net: nn.Module, arch: str, weights: str | Path | None) -> None:
    """Load ``weights`` in place into ``net``, a complete torchvision ``arch`` model.

    Args:
        net: the torchvision ResNet, still with its ``fc`` layer (the file format is torchvision's).
        arch: the torchvision name of ``net`` (``"resnet18"``, ``"resnet34"``, ``"resnet50"``).
        weights: ``"imagenet"``, a path to a local state dict, or ``None`` (keep the random init).

    Raises:
        RuntimeError: ``"imagenet"`` could not be fetched.
        FileNotFoundError, ValueError: the local file is missing, unreadable, or does not match
            ``arch`` (the message names the file and the first offending keys).
    """
    if weights is None:
        return
    if isinstance(weights, str) and weights == IMAGENET:
        state, source = fetch_imagenet_state_dict(arch), imagenet_weights(arch).url
    else:
        state, source = read_state_dict(weights), str(weights)
    own = net.state_dict()
    # Files saved before PyTorch 0.4.1 have no BatchNorm step counters; they are not weights.
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    wrong_shape = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in own.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or wrong_shape:
        problems = []
        if missing:
            problems.append(f"{len(missing)} missing key(s), e.g. {missing[:3]}")
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected key(s), e.g. {unexpected[:3]}")
        if wrong_shape:
            problems.append(f"{len(wrong_shape)} shape mismatch(es), e.g. {wrong_shape[:3]}")
        raise ValueError(
            f"{source}: does not match torchvision's {arch} ({'; '.join(problems)}); "
            f"expected the state dict of torchvision.models.{arch}() as saved by torch.save(model.state_dict(), path)"
        )
    net.load_state_dict(state, strict=False)  # every key was checked above, counters aside
