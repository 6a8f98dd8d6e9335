"""Configs are type- and range-checked when read, from YAML and overrides alike, with one clear line."""

from __future__ import annotations

import dataclasses

import pytest

from fienet.config import Config, apply_overrides, load_config, save_config


@pytest.mark.parametrize("override, message", [
    ("train.epochs=-1", r"train\.epochs=-1 is invalid: input should be greater than 0"),
    ("model.pfam=maybe", r"model\.pfam='maybe' is invalid: input should be a valid boolean"),
    ("data.height=-5", r"data\.height=-5 is invalid: input should be greater than 0"),
    ("train.epochs=abc", r"train\.epochs='abc' is invalid: input should be a valid integer"),
    ("data.p=2.5", r"data\.p=2\.5 is invalid: .*fractional part"),
    ("train.optimizer=rmsprop", r"train\.optimizer='rmsprop' is invalid: input should be 'sgd' or 'adam'"),
    ("data.random_erasing=1.5", r"data\.random_erasing=1\.5 is invalid: input should be less than or equal to 1"),
    ("model.mpim_dilations=[]", r"model\.mpim_dilations=\[\] is invalid"),
    ("train.milestones=[0]", r"train\.milestones\.0=0 is invalid"),
    ("data.regdb_trial=11", r"data\.regdb_trial=11 is invalid"),
    ("train.seed=-1", r"train\.seed=-1 is invalid"),
    ("train.lr=[1", r"override 'train\.lr=\[1': the value is not valid YAML"),
])
def test_bad_overrides_name_field_value_and_expectation(override: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        apply_overrides(Config(), [override])
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text", ["1e-3", "1E-3", "0.001", "1.0e-3", ".001", "1e-03"])
def test_numbers_in_every_usual_notation(tmp_path, text: str) -> None:
    assert apply_overrides(Config(), [f"train.lr={text}"]).train.lr == pytest.approx(1e-3)
    path = tmp_path / "c.yaml"
    path.write_text(f"train:\n  lr: {text}\n  weight_decay: 5e-4\n")
    cfg = load_config(path)
    assert cfg.train.lr == pytest.approx(1e-3) and cfg.train.weight_decay == pytest.approx(5e-4)


@pytest.mark.parametrize("text, message", [
    ("train: [1, 2]\n", r"bad\.yaml: section 'train' holds list"),
    ("- a\n- b\n", r"bad\.yaml: holds list; expected a mapping of sections"),
    ("train:\n  lr: [oops\n", r"bad\.yaml: not valid YAML \(.* at line \d+, column \d+\)"),
    ("trian:\n  lr: 0.1\n", r"bad\.yaml: unknown config section\(s\) \['trian'\]"),
    ("train:\n  lr: -0.1\n", r"bad\.yaml: train\.lr=-0\.1 is invalid: input should be greater than 0"),
    ("model:\n  pfam: maybe\n", r"bad\.yaml: model\.pfam='maybe' is invalid"),
])
def test_bad_yaml_files_are_named(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        load_config(path)
    assert "\n" not in str(info.value)


def test_round_trip_keeps_types(tmp_path) -> None:
    cfg = apply_overrides(Config(), ["train.milestones=[3, 7]", "model.weights=null", "train.channels_last=true"])
    save_config(cfg, tmp_path / "c.yaml")
    back = load_config(tmp_path / "c.yaml")
    assert back == cfg and isinstance(back.train.milestones, tuple) and back.model.weights is None


def test_a_config_built_in_code_is_checked_by_validated() -> None:
    cfg = Config()
    assert cfg.validated() == cfg
    broken = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=0))
    with pytest.raises(ValueError, match=r"config: train\.epochs=0 is invalid"):
        broken.validated()


def test_every_shipped_config_is_valid() -> None:
    from pathlib import Path
    for path in sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml")):
        load_config(path)
