"""The two ways to install fienet (pip via pyproject.toml, conda via environment.yml) agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PYPI = {"pytorch": "torch"}  # conda-forge names that differ from PyPI's
NOT_DEPENDENCIES = {"python", "pip"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower()


def _pyproject_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return {_name(r) for r in reqs} - {project["name"]}  # an extra may include another: fienet[notebooks]


def _environment_names() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names: set[str] = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            names |= {_name(r) for r in dep.get("pip", [])}
        else:
            names.add(CONDA_TO_PYPI.get(_name(dep), _name(dep)))
    return names - NOT_DEPENDENCIES


def test_environment_yml_declares_the_pyproject_dependencies() -> None:
    pip_names, conda_names = _pyproject_names(), _environment_names()
    assert pip_names == conda_names, (
        f"only in pyproject.toml: {sorted(pip_names - conda_names)}; "
        f"only in environment.yml: {sorted(conda_names - pip_names)}"
    )


def test_name_parsing() -> None:
    assert _name("torch>=2.2") == "torch"
    assert _name("grad-cam>=1.5") == "grad-cam"
    assert _name("pyyaml") == "pyyaml"
