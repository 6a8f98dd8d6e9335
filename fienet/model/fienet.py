"""FIENet: two-stream ResNet + PFAM + MPIM + re-identification head.

Data flow for a batch of ``Bv`` visible and ``Bi`` infrared images::

    visible  -> stems["visible"]  -+
                                   +-> concat (Bv+Bi) -> layer1 -> layer2 -> layer3 -> layer4
    infrared -> stems["infrared"] -+                               |f2       |f3       |f4
                                                                   +----> PFAM <-------+
                                                                            |
                                                                          MPIM -> head

Every module switches off from :class:`~fienet.config.ModelConfig` (``pfam``, ``mpim``); a
disabled module is ``None`` and owns no parameters, so the baseline and every ablation are this
same class.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fienet.config import ModelConfig
from fienet.modalities import INFRARED, MODALITIES, VISIBLE, Modality
from fienet.model.backbone import TwoStreamResNet
from fienet.model.head import TEST_FEATURES, FIENetOutput, ReIDHead
from fienet.model.mpim import MPIM
from fienet.model.pfam import PFAM

TARGET_LAYERS: tuple[str, ...] = ("layer1", "layer2", "layer3", "layer4", "pfam3", "pfam", "mpim")


def final_layer(cfg: ModelConfig) -> str:
    """The last map before pooling (``mpim``, else ``pfam``, else ``layer4``): what to explain.

    Explaining each variant at its own final map compares variants like for like.
    """
    return "mpim" if cfg.mpim else "pfam" if cfg.pfam else "layer4"


class FIENet(nn.Module):
    """The Fine-grained Information Exploration Network.

    Args:
        cfg: architecture, weights and switches (see :class:`~fienet.config.ModelConfig`).
        num_classes: number of training identities (size of the identity classifier).

    Attributes:
        backbone: :class:`~fienet.model.backbone.TwoStreamResNet` (``backbone.layer1..layer4``).
        pfam: :class:`~fienet.model.pfam.PFAM` or ``None``; its output is the aggregated stage-4 map.
        mpim: :class:`~fienet.model.mpim.MPIM` or ``None``; its output is the final feature map.
        head: :class:`~fienet.model.head.ReIDHead`.
        feature_dim: dimension C of ``pooled``, ``bn`` and of :meth:`embed`.
    """

    def __init__(self, cfg: ModelConfig, num_classes: int) -> None:
        super().__init__()
        if cfg.test_feature not in TEST_FEATURES:
            raise ValueError(f"model.test_feature must be one of {TEST_FEATURES}, got '{cfg.test_feature}'")
        self.test_feature = cfg.test_feature
        self.backbone = TwoStreamResNet(cfg.arch, cfg.weights, cfg.last_stride)
        _, c2, c3, c4 = self.backbone.channels
        self.pfam = PFAM((c2, c3, c4), last_stride=cfg.last_stride) if cfg.pfam else None
        self.mpim = MPIM(c4, cfg.mpim_dilations, cfg.mpim_reduction, cfg.mpim_groups) if cfg.mpim else None
        self.head = ReIDHead(c4, num_classes, cfg.gem_p)
        self.feature_dim: int = c4
        self.final_layer: str = final_layer(cfg)  # the map the head pools, as a Grad-CAM layer name

    def forward_features(self, visible: Tensor | None = None, infrared: Tensor | None = None) -> Tensor:
        """Final feature map of a batch of visible and/or infrared images.

        Args:
            visible: (Bv, 3, H, W) visible images, or None.
            infrared: (Bi, 3, H, W) infrared images, or None; same H, W as ``visible``.

        Returns:
            (Bv + Bi, C, h, w) map, rows ordered [visible; infrared]; h, w = H/16, W/16 with last
            stride 1.
        """
        stems = []
        for modality, images in ((VISIBLE, visible), (INFRARED, infrared)):
            if images is not None:
                _check_images(images, modality)
                stems.append(self.backbone.stem(images, modality))
        if not stems:
            raise ValueError("FIENet needs at least one of visible= or infrared= images, got neither")
        if len(stems) == 2 and stems[0].shape[1:] != stems[1].shape[1:]:
            raise ValueError(
                f"visible images {tuple(visible.shape)} and infrared images {tuple(infrared.shape)} "
                f"must share their size (3, H, W)"
            )
        x = torch.cat(stems, dim=0) if len(stems) == 2 else stems[0]  # (Bv+Bi, 64, H/4, W/4)
        _, f2, f3, f4 = self.backbone(x)
        if self.pfam is not None:
            f4 = self.pfam(f2, f3, f4)
        if self.mpim is not None:
            f4 = self.mpim(f4)
        return f4

    def forward(self, visible: Tensor | None = None, infrared: Tensor | None = None) -> FIENetOutput:
        """Features and identity logits; the same output type in training and evaluation.

        Args:
            visible: (Bv, 3, H, W) or None.
            infrared: (Bi, 3, H, W) or None.

        Returns:
            :class:`FIENetOutput` with pooled, bn (Bv+Bi, C) and logits (Bv+Bi, num_classes),
            rows ordered [visible; infrared].
        """
        return self.head(self.forward_features(visible, infrared))

    def embed(self, images: Tensor, modality: Modality) -> Tensor:
        """L2-normalised test feature (``model.test_feature``) of images of one modality.

        Put the model in eval mode first: in training mode the BNNeck uses batch statistics.

        Args:
            images: (B, 3, H, W) images, all of ``modality``.
            modality: ``"visible"`` or ``"infrared"``; chooses the stem.

        Returns:
            (B, C) unit-norm features.
        """
        if modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")
        out = self(**{modality: images})
        feats = out.bn if self.test_feature == "bn" else out.pooled  # (B, C)
        return F.normalize(feats.float(), dim=1)

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """Trainable parameters split for the learning rates: ``backbone`` and ``new``.

        ``backbone`` holds the (pretrained) stems and stages; ``new`` everything trained from
        scratch: PFAM, MPIM and the head. Frozen parameters (the BNNeck bias) are in neither.
        """
        backbone = [p for p in self.backbone.parameters() if p.requires_grad]
        ids = {id(p) for p in backbone}
        new = [p for p in self.parameters() if p.requires_grad and id(p) not in ids]
        return {"backbone": backbone, "new": new}

    def target_layer(self, name: str) -> nn.Module:
        """Module whose output Grad-CAM should look at.

        Args:
            name: ``"layer1"`` .. ``"layer4"`` (shared backbone stages), ``"pfam3"`` (PFAM's
                aggregated stage-3 map: stage 3 enriched with stage 2, twice as fine as stage 4
                with last stride 2), ``"pfam"`` (aggregated stage-4 map) or ``"mpim"`` (final map,
                input of the head).

        Raises:
            ValueError: unknown name, or the module is switched off in the config.
        """
        if name not in TARGET_LAYERS:
            raise ValueError(f"unknown target layer '{name}'; expected one of {TARGET_LAYERS}")
        if name.startswith("layer"):
            return getattr(self.backbone, name)
        module = getattr(self, name.removesuffix("3"))
        if module is None:
            raise ValueError(
                f"target layer '{name}' is switched off (model.{name.removesuffix('3')}=false); enable it or pick "
                "another layer"
            )
        return module.step23 if name == "pfam3" else module


def _check_images(images: Tensor, modality: Modality) -> None:
    if images.dim() != 4 or images.shape[1] != 3 or images.shape[0] == 0:
        raise ValueError(
            f"{modality} images must be a non-empty (B, 3, H, W) tensor (infrared as 3 repeated channels), "
            f"got shape {tuple(images.shape)}"
        )


def build_model(cfg: ModelConfig, num_classes: int) -> FIENet:
    """Build FIENet (or the baseline / an ablation, depending on ``cfg``) on the CPU.

    Move it with ``.to(device)`` (and ``memory_format=torch.channels_last`` if wanted).
    """
    return FIENet(cfg, num_classes)


__all__ = ["FIENet", "FIENetOutput", "TARGET_LAYERS", "build_model"]
