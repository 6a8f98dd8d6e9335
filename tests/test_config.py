"""Configs are type- and range-checked when read, from YAML and overrides alike, with one clear line."""

from __future__ import annotations

import dataclasses
import re

import pytest

from fienet.config import Config, apply_overrides, load_config, save_config


@pytest.mark.parametrize("override, message", [
    ("train.epochs=-1", r"train\.epochs=-1 is invalid: input should be greater than 0"),
    ("model.pfam=maybe", r"model\.pfam='maybe' is invalid: input should be true or false"),
    ("data.height=-5", r"data\.height=-5 is invalid: input should be greater than or equal to 4"),
    ("train.epochs=abc", r"train\.epochs='abc' is invalid: input should be an integer"),
    ("data.p=2.5", r"data\.p=2\.5 is invalid: .*fractional part"),
    ("train.optimizer=rmsprop", r"train\.optimizer='rmsprop' is invalid: input should be 'sgd' or 'adam'"),
    ("data.random_erasing=1.5", r"data\.random_erasing=1\.5 is invalid: input should be less than or equal to 1"),
    ("model.mpim_dilations=[]", r"model\.mpim_dilations=\[\] is invalid"),
    ("train.milestones=[0]", r"train\.milestones\.0=0 is invalid"),
    ("data.regdb_trial=11", r"data\.regdb_trial=11 is invalid"),
    ("train.seed=-1", r"train\.seed=-1 is invalid"),
    ("train.lr=[1", r"override 'train\.lr=\[1': the value is not valid YAML"),
    ("data.workers=100000", r"data\.workers=100000 is invalid: input should be less than or equal to 64"),
    ("data.height=1", r"data\.height=1 is invalid: input should be greater than or equal to 4"),
    ("train.device=banana", r"train\.device='banana' is invalid: string should match pattern"),
])
def test_bad_overrides_name_field_value_and_expectation(override: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        apply_overrides(Config(), [override])
    assert "\n" not in str(info.value)


def _both_ways(tmp_path, section: str, name: str, text: str) -> list:
    """The value of ``section.name`` read from an override and from a YAML file (or the errors)."""
    path = tmp_path / "c.yaml"
    path.write_text(f"{section}:\n  {name}: {text}\n")
    out = []
    for read in (lambda: apply_overrides(Config(), [f"{section}.{name}={text}"]), lambda: load_config(path)):
        try:
            out.append(getattr(getattr(read(), section), name))
        except ValueError as err:
            out.append(err)
    return out


@pytest.mark.parametrize("text", ["1e-3", "1E-3", "0.001", "1.0e-3", ".001", "1e-03", "+1e-3", "0.1e-2"])
def test_floats_in_every_usual_notation(tmp_path, text: str) -> None:
    assert _both_ways(tmp_path, "train", "lr", text) == [pytest.approx(1e-3)] * 2
    assert _both_ways(tmp_path, "train", "weight_decay", "5E-4") == [pytest.approx(5e-4)] * 2
    assert _both_ways(tmp_path, "data", "random_erasing", ".5") == [0.5] * 2
    assert _both_ways(tmp_path, "train", "gamma", "1") == [1.0] * 2


@pytest.mark.parametrize("text, value", [("3", 3), ("3.0", 3), ("1e3", 1000), ("3.", 3), ("+3", 3), ("30e-1", 3)])
def test_integers_in_every_integral_notation(tmp_path, text: str, value: int) -> None:
    got = _both_ways(tmp_path, "train", "epochs", text)
    assert got == [value] * 2 and all(type(v) is int for v in got)


@pytest.mark.parametrize("section, name, text, message", [
    ("train", "epochs", "3.5", r"train\.epochs=3\.5 is invalid: .*integer.*fractional part"),
    ("train", "epochs", "true", r"train\.epochs=True is invalid: input should be an integer"),
    ("train", "epochs", "'3'", r"train\.epochs='3' is invalid: input should be an integer"),
    ("model", "last_stride", "true", r"model\.last_stride=True is invalid: input should be 1 or 2"),
    ("train", "milestones", "[5, false]", r"train\.milestones\.1=False is invalid: input should be an integer"),
    ("train", "lr", "false", r"train\.lr=False is invalid: input should be a number"),
    ("train", "lr", "'0.1'", r"train\.lr='0\.1' is invalid: input should be a number"),
    ("loss", "id_weight", ".inf", r"loss\.id_weight=inf is invalid: input should be a finite number"),
    ("loss", "id_weight", ".nan", r"loss\.id_weight=nan is invalid: input should be a finite number"),
    ("model", "pfam", "1", r"model\.pfam=1 is invalid: input should be true or false"),
    ("model", "pfam", "yes", r"model\.pfam='yes' is invalid: input should be true or false"),
    ("model", "pfam", "off", r"model\.pfam='off' is invalid: input should be true or false"),
    ("model", "pfam", "'true'", r"model\.pfam='true' is invalid: input should be true or false"),
    ("train", "channels_last", "0", r"train\.channels_last=0 is invalid: input should be true or false"),
])
def test_values_of_another_type_are_refused_from_yaml_and_overrides(tmp_path, section, name, text, message) -> None:
    for err in _both_ways(tmp_path, section, name, text):
        assert isinstance(err, ValueError), err
        assert re.search(message, str(err)) and "\n" not in str(err), str(err)


@pytest.mark.parametrize("text, value", [("true", True), ("False", False), ("TRUE", True)])
def test_flags_are_true_or_false(tmp_path, text: str, value: bool) -> None:
    assert _both_ways(tmp_path, "model", "pfam", text) == [value] * 2


def test_yes_no_on_off_are_plain_strings_where_a_string_is_expected(tmp_path) -> None:
    # YAML 1.1 would read these as booleans and refuse them for a string field
    assert _both_ways(tmp_path, "data", "root", "no") == ["no"] * 2
    assert _both_ways(tmp_path, "model", "weights", "off") == ["off"] * 2


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
    as_bool = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=True))
    with pytest.raises(ValueError, match=r"config: train\.epochs=True is invalid: input should be an integer"):
        as_bool.validated()
    as_text = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, lr="1e-3"))
    with pytest.raises(ValueError, match=r"config: train\.lr='1e-3' is invalid: input should be a number"):
        as_text.validated()


def test_every_shipped_config_is_valid() -> None:
    from pathlib import Path
    for path in sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml")):
        load_config(path)
