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
