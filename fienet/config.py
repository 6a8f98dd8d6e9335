"""Dataclass configs for data, model, losses and training; YAML in and out.

Every field has a default and a one-line comment. YAML files are read only at the entry points
(the CLI and the notebooks); library functions take plain arguments or one of these dataclasses.
The resolved config is saved beside every checkpoint and every result.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import yaml


@dataclass
class DataConfig:
    dataset: str = "synthetic"  # "synthetic" (SYSU-MM01 layout), "sysu", "regdb" or "llcm"
    root: str = "data/synthetic"  # dataset root folder
    synth_preset: str = "default"  # synthetic difficulty preset, used when the data is generated
    synth_seed: int = 0  # seed of the synthetic generator
    regdb_trial: int = 1  # RegDB split (1..10) to train on
    height: int = 288  # input height in pixels
    width: int = 144  # input width in pixels
    p: int = 8  # identities per batch
    k: int = 4  # images per identity and per modality in a batch
    pad: int = 10  # zero padding before the random crop
    flip: bool = True  # random horizontal flip
    random_erasing: float = 0.5  # probability of random erasing
    channel_aug: bool = True  # CAJ channel augmentation on visible images
    train_modalities: str = "both"  # "both" (VI-ReID) or "visible" (a visible-only model, to measure the gap)
    val_ids: int = 0  # training identities held out for model selection (0: no validation)
    in_memory: bool = False  # decode every training image once into RAM (small datasets)
    workers: int = 4  # DataLoader worker processes (0: main process)


@dataclass
class ModelConfig:
    arch: str = "resnet50"  # "resnet18", "resnet34" or "resnet50"
    weights: str | None = "imagenet"  # "imagenet", a local .pth file of torchvision weights, or None
    last_stride: int = 1  # stride of layer4 (1 keeps a 2x larger final map, as in AGW)
    pfam: bool = True  # Progressive Feature Aggregation Module on stages 2 and 3
    mpim: bool = True  # Multi-Perception Interaction Module after stage 4
    mpim_dilations: tuple[int, ...] = (1, 2, 3)  # receptive fields of the MPIM branches
    mpim_reduction: int = 4  # channel reduction inside each MPIM branch
    mpim_groups: int = 32  # groups of the dilated 3x3 MPIM convolutions (as in SKNet; 1 = dense)
    gem_p: float = 3.0  # initial GeM pooling exponent
    test_feature: str = "bn"  # test embedding: "pooled" (before BNNeck) or "bn" (after)


@dataclass
class LossConfig:
    label_smoothing: float = 0.1  # identity cross-entropy label smoothing
    id_weight: float = 1.0  # weight of the identity loss
    triplet: str = "wrt"  # "wrt" (weighted regularised, AGW), "hard" (batch-hard) or "none"
    triplet_margin: float = 0.3  # margin of the batch-hard triplet loss
    triplet_weight: float = 1.0  # weight of the triplet loss
    igcl_weight: float = 0.5  # weight of the Identity-Guided Center Loss (0 switches it off)
    igcl_margin: float = 0.3  # inter-identity margin between identity centres
    igcl_inter_weight: float = 1.0  # weight of the inter-identity term inside IGCL


@dataclass
class TrainConfig:
    epochs: int = 60  # training epochs
    iters_per_epoch: int = 0  # batches per epoch (0: one pass over the visible training images)
    optimizer: str = "sgd"  # "sgd" or "adam"
    lr: float = 0.1  # learning rate of the new layers (head, PFAM, MPIM)
    backbone_lr_mult: float = 0.1  # backbone learning rate relative to lr
    momentum: float = 0.9  # SGD momentum
    weight_decay: float = 5e-4  # weight decay
    warmup_epochs: int = 10  # linear warm-up epochs
    schedule: str = "step"  # after warm-up: "step" (decay by gamma at milestones) or "cosine" (to 0)
    milestones: tuple[int, ...] = (20, 50)  # epochs at which the learning rate decays
    gamma: float = 0.1  # learning-rate decay factor at each milestone
    seed: int = 0  # seed of every random number generator
    device: str = "auto"  # "auto", "cpu", "cuda" or "cuda:N"
    amp: str = "auto"  # "auto" (decided per device), "bf16", "fp16" or "fp32"
    channels_last: bool | None = None  # channels_last memory format (None: decided per device)
    eval_every: int = 5  # validate every this many epochs (and after the last); needs data.val_ids > 0
    test_every: int = 0  # test-set evaluation every this many epochs (and after the last), never for selection (0: off)
    out_dir: str = "runs/default"  # run folder: checkpoints, history, config
    progress: bool = True  # tqdm progress bars
    sync_bn: bool = False  # BatchNorm over the global batch in multi-GPU (torchrun) runs; CUDA only


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        sections = {}
        for f in dataclasses.fields(cls):
            section_cls = type(getattr(cls(), f.name))
            values = dict(d.get(f.name) or {})
            unknown = set(values) - {g.name for g in dataclasses.fields(section_cls)}
            if unknown:
                raise ValueError(f"unknown config field(s) in section '{f.name}': {sorted(unknown)}")
            sections[f.name] = section_cls(**{k: _coerce(section_cls, k, v) for k, v in values.items()})
        unknown = set(d) - set(sections)
        if unknown:
            raise ValueError(f"unknown config section(s): {sorted(unknown)}")
        return cls(**sections)


def _field_type(section_cls: type, name: str) -> str:
    return next(str(f.type) for f in dataclasses.fields(section_cls) if f.name == name)


def _coerce(section_cls: type, name: str, value: Any) -> Any:
    """Turn YAML lists into the tuples the dataclasses declare."""
    if isinstance(value, list) and _field_type(section_cls, name).startswith("tuple"):
        return tuple(value)
    return value


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> Config:
    """Read a YAML config (or start from defaults) and apply ``section.field=value`` overrides."""
    d: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        with open(path) as fh:
            d = yaml.safe_load(fh) or {}
        if not isinstance(d, dict):
            raise ValueError(f"{path}: expected a mapping of sections (data, model, loss, train)")
    config = Config.from_dict(d)
    return apply_overrides(config, overrides)


def apply_overrides(config: Config, overrides: Sequence[str]) -> Config:
    """Return a copy of ``config`` with ``section.field=value`` strings applied (values as YAML)."""
    d = config.to_dict()
    for item in overrides:
        key, sep, raw = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot:
            raise ValueError(f"override '{item}' must look like section.field=value, e.g. train.epochs=3")
        if section not in d or name not in d[section]:
            raise ValueError(f"override '{item}': no field '{key}' in the config")
        d[section][name] = yaml.safe_load(raw)
    return Config.from_dict(d)


def save_config(config: Config, path: str | Path) -> None:
    """Write the resolved config as YAML."""
    d = config.to_dict()
    for section in d.values():
        for k, v in section.items():
            if isinstance(v, tuple):
                section[k] = list(v)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        yaml.safe_dump(d, fh, sort_keys=False)
