"""The package's layering: light imports, and nothing below reaching into heavier code."""

from __future__ import annotations

import os
import subprocess
import sys


def _modules_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``statement``."""
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


def test_model_does_not_import_the_data_generator() -> None:
    loaded = _modules_after("import fienet.model")
    assert "fienet.modalities" in loaded
    assert "fienet.data.synthetic" not in loaded
    assert not any(m.startswith("fienet.data") for m in loaded)


def test_data_package_import_is_light() -> None:
    loaded = _modules_after("import fienet.data.records")
    heavy = {"fienet.data.synthetic", "fienet.data.sysu", "fienet.data.regdb", "fienet.data.llcm", "pandas", "yaml"}
    assert not heavy & loaded


def test_data_package_names_resolve_on_use() -> None:
    import fienet.data as data
    from fienet.data.sysu import SYSUMM01

    assert data.SYSUMM01 is SYSUMM01
    assert set(data.__all__) <= set(dir(data))


def test_evaluating_does_not_import_training_code() -> None:
    loaded = _modules_after("import fienet.report")
    assert not {"fienet.engine", "fienet.losses", "fienet.optim"} & loaded


def test_importing_the_demo_keeps_the_users_matplotlib_backend() -> None:
    code = "import matplotlib, fienet.demo; print(matplotlib.get_backend())"
    env = {**os.environ, "MPLBACKEND": "svg"}
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env).stdout
    assert out.split()[-1].lower() == "svg"  # no matplotlib.use() at import time


def test_the_command_line_imports_without_the_notebook_extra() -> None:
    # The [notebooks] extra's packages made unimportable, as in a plain `pip install .`
    # (scikit-learn is not among them: grad-cam, a core dependency, requires it anyway).
    block = (
        "import sys, importlib.abc\n"
        "class Absent(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'jupyterlab', 'ipywidgets', 'notebook', 'jupyter_server'}:\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Absent())\n"
    )
    code = block + "import fienet.cli, fienet.ablation, fienet.demo, fienet.report, fienet.plots, fienet.explain"
    subprocess.run([sys.executable, "-c", code], check=True)
    loaded = _modules_after("import fienet.plots")
    assert "sklearn" not in loaded  # only the t-SNE figure imports it, when drawn


# What each part of the package may import of fienet besides the ground floor (docs/architecture.md, "Layers").
GROUND = {"modalities", "protocols", "arrays", "files", "progress", "distributed", "configs"}
MAY_IMPORT = {
    **{name: set() for name in GROUND},
    "config": {"configs"},
    **{name: {"config"} for name in ("runtime", "optim", "variants")},
    "data": GROUND | {"config"},
    "model": {"modalities", "config"},
    "losses": {"model", "config"},
    **{name: {"model", "runtime", "config", "checkpoint"} for name in ("checkpoint", "run_folder")},
    "evaluation": GROUND | {"data", "runtime", "config"},
    "engine": GROUND | {"config", "runtime", "optim", "variants", "data", "model", "losses", "checkpoint",
                        "run_folder", "evaluation"},
    "explain": GROUND | {"data", "model", "evaluation", "config", "runtime"},
    "plots": GROUND | {"data", "model", "evaluation", "config"},
}


def _part(module: str) -> str:
    """``fienet.data.sysu`` -> ``data``; ``fienet.engine`` -> ``engine``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "fienet"


def test_no_layer_imports_one_above_it() -> None:
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "fienet"
    wrong = []
    for path in sorted(package.rglob("*.py")):
        here = _part(".".join(("fienet", *path.relative_to(package).with_suffix("").parts)))
        if here not in MAY_IMPORT:
            continue  # entry points import anything
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "fienet":
                targets = [f"{node.module}.{a.name}" if node.module == "fienet" else node.module for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.split(".")[0] == "fienet"]
            else:
                continue
            for target in targets:
                there = _part(target)
                allowed = MAY_IMPORT[here] | (GROUND if here not in GROUND else set())  # the ground floor is for all
                if there != here and there not in allowed:
                    wrong.append(f"{path.relative_to(package.parent)}:{node.lineno} imports {target}")
    assert not wrong, "\n".join(wrong)
