"""Dataclass configs for data, model, losses and training; YAML in and out.

Every field has a default and a one-line comment. YAML files are read only at the entry points
(the CLI and the notebooks); library functions take plain arguments or one of these dataclasses.
The resolved config is saved beside every checkpoint and every result.

The dataclasses are the single source of truth, including what each field accepts: the type
annotation (with ``Literal`` choices and ``annotated_types`` bounds) is checked by pydantic
whenever a config is read, from YAML, from ``section.field=value`` overrides or from a checkpoint.
A bad value fails with one line naming the field, the value and what is expected.

Values are typed strictly: a number field takes a number (never a bool or a string), an integer
field takes an integral number however written (``3``, ``3.0``, ``1e3``; ``3.5`` is refused), a
float field a finite number, and a flag only ``true`` or ``false``. YAML files and overrides are
read with YAML 1.2 scalars (:class:`ConfigLoader`), so ``1e-3``, ``5E-4`` and ``.5`` are numbers
(YAML 1.1 reads the first two as strings) and ``yes``/``no``/``on``/``off`` are plain strings
(YAML 1.1 reads them as booleans). See docs/reliability.md for the rule and for why pydantic.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Sequence

import yaml
from annotated_types import Ge, Gt, Interval, Len, Lt
from pydantic import AllowInfNan, BeforeValidator, ConfigDict, StringConstraints, TypeAdapter, ValidationError, with_config
from pydantic_core import PydanticCustomError

from fienet.configs import find_config
from fienet.files import atomic_write


def _only(kind: type, expected: str) -> BeforeValidator:
    """Refuse what pydantic would otherwise convert: a bool as a number (True -> 1), a string
    parsed as a number or a flag ("1", "yes"), a number as a flag (1 -> True)."""
    def check(value: Any) -> Any:
        if kind is bool:
            ok = isinstance(value, bool)
        else:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok:
            raise PydanticCustomError(f"{kind.__name__}_type", f"input should be {expected}")
        return value  # then pydantic: 3.0 -> 3 for an integer, 3.5 refused; 3 -> 3.0 for a float
    return BeforeValidator(check)


# Strict scalar types and shorthands for the bounds used below.
Int = Annotated[int, _only(int, "an integer")]
Float = Annotated[float, _only(float, "a number"), AllowInfNan(False)]
Flag = Annotated[bool, _only(bool, "true or false")]
Positive = Annotated[Int, Gt(0)]
NonNegative = Annotated[Int, Ge(0)]
Fraction = Annotated[Float, Interval(ge=0.0, le=1.0)]
Weight = Annotated[Float, Ge(0.0)]
Stride = Annotated[Literal[1, 2], _only(int, "1 or 2")]
Device = Annotated[str, StringConstraints(pattern=r"^(auto|cpu|cuda(:[0-9]+)?)$")]
MAX_WORKERS = 64  # more processes than any machine needs for decoding; 100000 would start a fork storm
_STRICT_FIELDS = ConfigDict(extra="forbid")


@with_config(_STRICT_FIELDS)
@dataclass
class DataConfig:
    dataset: str = "synthetic"  # a name in fienet.data.datasets.READERS (checked when the reader is built)
    root: str = "data/synthetic"  # dataset root folder
    synth_preset: str = "default"  # synthetic difficulty preset, used when the data is generated
    synth_seed: NonNegative = 0  # seed of the synthetic generator
    regdb_trial: Annotated[Int, Interval(ge=1, le=10)] = 1  # RegDB split (1..10) to train on
    height: Annotated[Int, Ge(4)] = 288  # input height in pixels (at least 4: smaller sizes fail inside torchvision)
    width: Annotated[Int, Ge(2)] = 144  # input width in pixels (at least 2)
    p: Positive = 8  # identities per batch
    k: Positive = 4  # images per identity and per modality in a batch
    pad: NonNegative = 10  # zero padding before the random crop
    flip: Flag = True  # random horizontal flip
    random_erasing: Fraction = 0.5  # probability of random erasing
    channel_aug: Flag = True  # CAJ channel augmentation on visible images
    train_modalities: Literal["both", "visible"] = "both"  # "visible": a visible-only model, to measure the gap
    val_ids: NonNegative = 0  # training identities held out for model selection (0: no validation)
    in_memory: Flag = False  # decode every training image once into RAM (small datasets)
    workers: Annotated[Int, Interval(ge=0, le=MAX_WORKERS)] = 4  # DataLoader worker processes (0: main process)


@with_config(_STRICT_FIELDS)
@dataclass
class ModelConfig:
    arch: Literal["resnet18", "resnet34", "resnet50"] = "resnet50"  # ResNet depth of the two-stream backbone
    weights: str | None = "imagenet"  # "imagenet", a local .pth file of torchvision weights, or None
    last_stride: Stride = 1  # stride of layer4 (1 keeps a 2x larger final map, as in AGW)
    pfam: Flag = True  # Progressive Feature Aggregation Module on stages 2 and 3
    mpim: Flag = True  # Multi-Perception Interaction Module after stage 4
    mpim_dilations: Annotated[tuple[Positive, ...], Len(1)] = (1, 2, 3)  # receptive fields of MPIM's branches
    mpim_reduction: Positive = 4  # channel reduction inside each MPIM branch
    mpim_groups: Positive = 32  # groups of the dilated 3x3 MPIM convolutions (as in SKNet; 1 = dense)
    gem_p: Annotated[Float, Gt(0.0)] = 3.0  # initial GeM pooling exponent
    test_feature: Literal["pooled", "bn"] = "bn"  # test embedding: "pooled" (before BNNeck) or "bn" (after)


@with_config(_STRICT_FIELDS)
@dataclass
class LossConfig:
    label_smoothing: Annotated[Float, Ge(0.0), Lt(1.0)] = 0.1  # identity cross-entropy label smoothing
    id_weight: Weight = 1.0  # weight of the identity loss
    triplet: Literal["wrt", "hard", "none"] = "wrt"  # "wrt" (weighted regularised, AGW) or "hard" (batch-hard)
    triplet_margin: Weight = 0.3  # margin of the batch-hard triplet loss
    triplet_weight: Weight = 1.0  # weight of the triplet loss
    igcl_weight: Weight = 0.5  # weight of the Identity-Guided Center Loss (0 switches it off)
    igcl_margin: Weight = 0.3  # inter-identity margin between identity centres
    igcl_inter_weight: Weight = 1.0  # weight of the inter-identity term inside IGCL


@with_config(_STRICT_FIELDS)
@dataclass
class TrainConfig:
    epochs: Positive = 60  # training epochs
    iters_per_epoch: NonNegative = 0  # batches per epoch (0: one pass over the visible training images)
    optimizer: Literal["sgd", "adam"] = "sgd"  # "sgd" or "adam"
    lr: Annotated[Float, Gt(0.0)] = 0.1  # learning rate of the new layers (head, PFAM, MPIM)
    backbone_lr_mult: Weight = 0.1  # backbone learning rate relative to lr
    momentum: Annotated[Float, Ge(0.0), Lt(1.0)] = 0.9  # SGD momentum
    weight_decay: Weight = 5e-4  # weight decay
    warmup_epochs: NonNegative = 10  # linear warm-up epochs
    schedule: Literal["step", "cosine"] = "step"  # after warm-up: decay by gamma at milestones, or cosine to 0
    milestones: tuple[Positive, ...] = (20, 50)  # epochs at which the learning rate decays (>= epochs: never; warned)
    gamma: Annotated[Float, Gt(0.0)] = 0.1  # learning-rate decay factor at each milestone
    seed: NonNegative = 0  # seed of every random number generator
    device: Device = "auto"  # "auto", "cpu", "cuda" or "cuda:N"
    amp: Literal["auto", "bf16", "fp16", "fp32"] = "auto"  # autocast precision ("auto": decided per device)
    channels_last: Flag | None = None  # channels_last memory format (None: decided per device)
    eval_every: NonNegative = 5  # validate every this many epochs (and after the last); needs data.val_ids > 0
    test_every: NonNegative = 0  # test-set evaluation every this many epochs and after the last (0: off); never selects
    out_dir: Annotated[str, Len(1)] = "runs/default"  # run folder: checkpoints, history, config
    progress: Flag = True  # tqdm progress bars
    sync_bn: Flag = False  # BatchNorm over the global batch in multi-GPU (torchrun) runs; CUDA only; one process warns


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "config") -> Config:
        """Build a config from nested plain values, every field type- and range-checked.

        Args:
            d: ``{section: {field: value}}``; missing sections and fields keep their defaults.
            source: what ``d`` came from (a file, an override), named in error messages.

        Raises:
            ValueError: an unknown section or field, a section that is not a mapping, or a value
                of the wrong type or out of range; one line naming the field, value and expectation.
        """
        if not isinstance(d, dict):
            raise ValueError(f"{source}: holds {type(d).__name__}; expected a mapping of sections {SECTIONS}")
        unknown = sorted(set(d) - set(SECTIONS))
        if unknown:
            raise ValueError(f"{source}: unknown config section(s) {unknown}; expected some of {SECTIONS}")
        for name in SECTIONS:
            values = d.get(name)
            if values is None:
                continue
            if not isinstance(values, dict):
                raise ValueError(
                    f"{source}: section '{name}' holds {type(values).__name__} ({values!r:.40}); expected a mapping "
                    "of field: value"
                )
            fields = [f.name for f in dataclasses.fields(_SECTION_TYPES[name])]
            unknown = sorted(set(values) - set(fields))
            if unknown:
                raise ValueError(f"{source}: unknown config field(s) in section '{name}': {unknown}")
        try:
            return _ADAPTER.validate_python({k: v for k, v in d.items() if v is not None})
        except ValidationError as err:
            problem = err.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            message = problem["msg"][0].lower() + problem["msg"][1:]
            more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
            raise ValueError(f"{source}: {where}={problem['input']!r} is invalid: {message}{more}") from None

    def validated(self) -> Config:
        """This config checked as if read from a file (a config built in code skips the checks)."""
        return Config.from_dict(self.to_dict(), source="config")


SECTIONS = ("data", "model", "loss", "train")
_SECTION_TYPES = {"data": DataConfig, "model": ModelConfig, "loss": LossConfig, "train": TrainConfig}
_ADAPTER = TypeAdapter(Config)


class ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with the plain scalars of YAML 1.2's core schema.

    PyYAML implements YAML 1.1, which reads ``1e-3`` and ``5E-4`` as strings and ``yes``, ``no``,
    ``on`` and ``off`` as booleans. Here a plain scalar is null (``null``, ``~``, empty), a
    boolean (``true``/``false``), an integer (``-12``), a float (``1e-3``, ``.5``, ``5E-4``,
    ``1.``, ``.inf``, ``.nan``) or else a string.
    """

    yaml_implicit_resolvers: dict = {}  # replaces SafeLoader's YAML 1.1 resolvers, not added to them


for _tag, _pattern, _first in [
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("bool", r"true|True|TRUE|false|False|FALSE", list("tTfF")),
    ("int", r"[-+]?(?:0|[1-9][0-9]*)", list("-+0123456789")),
    ("float", r"[-+]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|\.(?:inf|Inf|INF))|\.(?:nan|NaN|NAN)",
     list("-+.0123456789")),
]:
    ConfigLoader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(f"^(?:{_pattern})$"), _first)


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> Config:
    """Read a YAML config (or start from defaults) and apply ``section.field=value`` overrides."""
    d: dict[str, Any] = {}
    if path is not None:
        path = find_config(path)  # a packaged config by name when no such file is here
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        with open(path) as fh:
            try:
                d = yaml.load(fh, Loader=ConfigLoader) or {}
            except yaml.YAMLError as err:
                mark = getattr(err, "problem_mark", None)
                at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
                problem = getattr(err, "problem", None) or type(err).__name__
                raise ValueError(f"{path}: not valid YAML ({problem}{at}); expected a mapping of sections") from None
    config = Config.from_dict(d, source=str(path) if path is not None else "config")
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
        try:
            d[section][name] = yaml.load(raw, Loader=ConfigLoader)
        except yaml.YAMLError:
            raise ValueError(f"override '{item}': the value is not valid YAML; expected e.g. {key}=3") from None
        Config.from_dict(d, source="override")  # the override that is wrong, not a later one
    return Config.from_dict(d)


def save_config(config: Config, path: str | Path) -> None:
    """Write the resolved config as YAML (atomically: a failed write keeps the previous file)."""
    d = config.to_dict()
    for section in d.values():
        for k, v in section.items():
            if isinstance(v, tuple):
                section[k] = list(v)
    with atomic_write(path, "w") as fh:
        yaml.safe_dump(d, fh, sort_keys=False)
