"""The model parameter randomisation test (Adebayo et al., "Sanity checks for saliency maps",
NeurIPS 2018): an explanation that looks the same after the weights are randomised cannot be
explaining what the trained network learnt.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def randomized_copy(model: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of ``model`` with every layer's weights drawn afresh.

    Every submodule with a ``reset_parameters`` method (convolutions and linear layers: PyTorch's
    default initialisation; BatchNorms: gamma 1, beta 0, running statistics reset) is reset with
    a generator seeded by ``seed``; the original is untouched. The architecture, the input size
    and the image statistics are all that the copy shares with the trained model, so whatever its
    maps still show comes from those, not from training.

    Args:
        model: the trained network (any device).
        seed: seed of the new weights.

    Returns:
        The randomised copy, in evaluation mode, on the model's device.
    """
    clone = copy.deepcopy(model)
    devices = {p.device for p in model.parameters()}
    with torch.random.fork_rng(devices=[d for d in devices if d.type == "cuda"]):
        torch.manual_seed(seed)
        for module in clone.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
    return clone.eval()


__all__ = ["randomized_copy"]
