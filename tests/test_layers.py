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
