"""A normal install works without the checkout: ``pip install .`` (not editable) into a fresh
virtual environment, then the command line run from an unrelated folder finds its configs.

Offline and quick: the new environment is created without pip and sees this interpreter's
site-packages through a ``.pth`` line, so torch and the other dependencies are used as they are
and nothing is downloaded (``--no-deps --no-index --no-build-isolation``). A ``.pth`` line adds
a folder to ``sys.path`` without running the ``.pth`` files inside it, so this interpreter's own
(editable) fienet stays invisible there, and pip never removes a package outside the environment
it installs into. The package is built from a copy of the sources, so the checkout gets no
build folders.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "fienet")  # what a build of the package reads


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh venv with fienet installed from a copy of the sources; returns its bin folder and env."""
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif (ROOT / name).is_file():
            shutil.copy2(ROOT / name, src / name)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONNOUSERSITE="1")
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env)
    Path(purelib.stdout.strip(), "shared_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation",
          str(src)], tmp, env)
    return bin_dir, env


def test_installed_package_is_the_copy_not_the_checkout(installed, tmp_path) -> None:
    bin_dir, env = installed
    out = _run([str(bin_dir / "python"), "-c", "import fienet, sys; print(fienet.__file__)"], tmp_path, env)
    assert Path(out.stdout.strip()).is_relative_to(bin_dir.parent)


def test_command_line_works_from_another_folder(installed, tmp_path) -> None:
    bin_dir, env = installed
    fienet = str(bin_dir / "fienet")
    _run([fienet, "synth", "--out", "data/tiny", "--preset", "tiny", "--workers", "1"], tmp_path, env)
    assert (tmp_path / "data/tiny/exp/test_id.txt").is_file()
    # No --config: the default configs/demo.yaml is the packaged one (there is no configs/ here).
    _run([fienet, "train", "data.root=data/tiny", "data.synth_preset=tiny", "data.height=32", "data.width=16",
          "data.p=2", "data.k=2", "data.val_ids=0", "data.workers=0", "train.epochs=1",
          "train.iters_per_epoch=1", "train.warmup_epochs=0", "train.milestones=[]", "train.eval_every=0",
          "train.progress=false", "train.device=cpu", "train.amp=fp32", "train.out_dir=run"], tmp_path, env)
    assert (tmp_path / "run" / "config.yaml").is_file() and list((tmp_path / "run").glob("*.pt"))
    help_text = _run([str(bin_dir / "python"), "-m", "fienet.ablation", "--help"], tmp_path, env).stdout
    assert "--gpu" in help_text and "sysu.yaml" in help_text
    # A packaged config by its bare name.
    cfg = _run([str(bin_dir / "python"), "-c", "from fienet.config import load_config; "
                "print(load_config('sysu').data.dataset)"], tmp_path, env)
    assert cfg.stdout.strip() == "sysu"


def test_configs_are_found_by_name_outside_a_checkout(tmp_path, monkeypatch) -> None:
    from fienet.config import load_config
    from fienet.configs import PACKAGED

    monkeypatch.chdir(tmp_path)  # no configs/ folder here
    assert load_config("configs/sysu.yaml").data.dataset == "sysu"
    assert load_config("regdb").data.dataset == "regdb"
    assert load_config("llcm.yaml").data.dataset == "llcm"
    assert sorted(p.stem for p in PACKAGED.glob("*.yaml")) == ["demo", "llcm", "regdb", "sysu"]
    with pytest.raises(FileNotFoundError, match="nowhere.yaml"):
        load_config("nowhere.yaml")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "sysu.yaml").write_text("data:\n  dataset: llcm\n")
    assert load_config("configs/sysu.yaml").data.dataset == "llcm"  # a file that is there comes first


def test_checkout_configs_folder_is_the_packaged_one() -> None:
    from fienet.configs import PACKAGED

    assert (ROOT / "configs").resolve() == PACKAGED
