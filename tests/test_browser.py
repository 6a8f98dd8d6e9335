"""The notebooks in JupyterLab, as a user meets them: Run All in headless Chromium, smoke mode.

JupyterLab is started with `make lab` (so the target itself is checked: the project's environment,
--allow-root when root, the URL it prints) on a free loopback port, with FIENET_SMOKE=1 in its
environment. Each notebook is opened in Debian's Chromium driven by playwright (no browser
download: playwright only talks to /usr/bin/chromium), run with Run All, and checked:

- every code cell ran, no error output, nothing on stderr (JupyterLab's pink box);
- every figure is rendered as an image (an <img> that loaded) and carries alt text;
- no "Error displaying widget";
- notebook 03's query browser renders, and moving its slider changes the ranked list;
- the notebook files on disk are unchanged (autosave is off in the test's settings).

It skips, saying why, where Chromium, playwright or make is missing (`apt-get install chromium`;
`pip install -e '.[dev]'`). How to run it alone: notebooks/README.md.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
START_TIMEOUT = 180  # s for JupyterLab to print its URL and for a notebook page to get its kernel
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colour codes in a kernel's traceback
RUN_TIMEOUT = 900  # s for one notebook's Run All, as nbmake's --nbmake-timeout
# The test's own JupyterLab settings: no autosave (the tracked files stay as they are), no news
# fetched from the internet, every cell rendered (not only those in view) so that every figure
# is in the page.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def _skip_reason() -> str | None:
    if os.environ.get("FIENET_BROWSER") == "0":
        return "FIENET_BROWSER=0"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found: install Debian's browser with `apt-get install chromium`"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: `pip install -e '.[dev]'` (never `playwright install`)"
    if shutil.which("make") is None:
        return "make not found: the test starts JupyterLab with `make lab`"
    return None


pytestmark = [pytest.mark.browser, pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server started by `make lab`, its output kept for error messages."""

    def __init__(self, workdir: Path):
        settings = workdir / "settings"
        for name, values in LAB_SETTINGS.items():
            path = settings / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        self.port, self.token = _free_port(), secrets.token_hex(16)
        lab_args = [
            "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}", "--LabApp.expose_app_in_browser=True",
            f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={workdir / 'workspaces'}",
        ]  # fmt: skip
        # -o: never (re)install from inside a test; PY: the interpreter running the tests.
        command = ["make", "--no-print-directory", "-o", ".venv/.installed", "lab",
                   f"PY={sys.executable}", f"LAB_ARGS={' '.join(lab_args)}"]  # fmt: skip
        env = {**os.environ, "FIENET_SMOKE": "1", "JUPYTER_RUNTIME_DIR": str(workdir / "runtime")}
        self.proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)  # fmt: skip
        self.lines: list[str] = []
        self.url_seen = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.url_seen.wait(START_TIMEOUT):
            self.stop()
            raise AssertionError("make lab printed no URL in time:\n" + self.log())

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if re.search(rf"http://(127\.0\.0\.1|localhost):{self.port}/lab", line):
                self.url_seen.set()

    def log(self, last: int = 40) -> str:
        return "".join(self.lines[-last:])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # make, JupyterLab and its kernels: our own group
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    server = Lab(tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh --user-data-dir
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True,
            viewport={"width": 1280, "height": 900},
        )  # fmt: skip
        yield context
        context.close()


# Every code cell's outputs as the notebook model holds them.
OUTPUTS_JS = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
  const result = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    const outputs = [];
    for (let j = 0; j < cell.outputs.length; j++) outputs.push(cell.outputs.get(j).toJSON());
    result.push({index: i, count: cell.executionCount, outputs});
  }
  return result;
}"""
# Every image in the notebook's outputs (widgets' outputs included).
IMAGES_JS = """() => Array.from(
  window.jupyterapp.shell.currentWidget.content.node.querySelectorAll('.jp-OutputArea-output img')
).map(img => ({loaded: img.complete && img.naturalWidth > 0, alt: img.getAttribute('alt') || '',
              cell: Array.from(img.closest('.jp-Notebook').querySelectorAll(':scope > .jp-Cell'))
                         .indexOf(img.closest('.jp-Notebook > .jp-Cell'))}))"""
KERNEL_READY_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  return !!(w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel
            && w.sessionContext.session.kernel.status === 'idle');
}"""

# Run All has begun: the kernel is busy or a code cell has an execution count.
STARTED_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  if (!kernel) return false;
  if (kernel.status === 'busy') return true;
  const cells = w.content.model.cells;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type === 'code' && cell.executionCount !== null) return true;
  }
  return false;
}"""
RUN_ALL_TRIES = 5
RUN_START_TIMEOUT = 20  # s for the first cell to start after Run All
RUN_DONE_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  const cells = w.content.model.cells;
  let allRun = true;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    for (let j = 0; j < cell.outputs.length; j++) {
      if (cell.outputs.get(j).type === 'error') return true;
    }
    if (cell.executionCount === null) allRun = false;
  }
  return allRun;
}"""

def _text(output: dict) -> str:
    value = output.get("text", "")
    return "".join(value) if isinstance(value, list) else value


def _check_outputs(name: str, cells: list[dict]) -> int:
    """Assert the notebook ran cleanly; returns how many outputs hold a figure."""
    not_run = [c["index"] for c in cells if c["count"] is None]
    errors = [f"cell {c['index']}: {o['ename']}: {o['evalue']}\n" + ANSI.sub("", "\n".join(o.get("traceback", [])))
              for c in cells for o in c["outputs"] if o["output_type"] == "error"]  # fmt: skip
    assert not errors, f"{name}: error output\n" + "\n".join(errors)
    assert not not_run, f"{name}: cells {not_run} did not run"
    stderr = [f"cell {c['index']}: {_text(o)[:300]}" for c in cells for o in c["outputs"]
              if o["output_type"] == "stream" and o.get("name") == "stderr"]  # fmt: skip
    assert not stderr, f"{name}: text on stderr (shown in a pink box, read as a warning)\n" + "\n".join(stderr)
    figures = 0
    for c in cells:
        for o in c["outputs"]:
            data = o.get("data", {})
            plain = _text({"text": data.get("text/plain", "")})
            assert not (set(data) == {"text/plain"} and plain.startswith("<Figure size")), \
                f"{name}: cell {c['index']} shows a figure as text: {plain}"
            figures += "image/png" in data
    return figures


def _open_and_run(page: Any, lab: Lab, name: str) -> list[dict]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(lab.url(f"lab/tree/{name}"))
    page.wait_for_function(KERNEL_READY_JS, timeout=START_TIMEOUT * 1000)
    page.set_default_timeout(RUN_TIMEOUT * 1000)
    # Run All on a page that has not finished loading the notebook runs nothing: ask again until
    # the first code cell has started (a request sent twice is harmless: nothing ran the first time).
    for _ in range(RUN_ALL_TRIES):
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        try:
            page.wait_for_function(STARTED_JS, timeout=RUN_START_TIMEOUT * 1000, polling=250)
            break
        except PlaywrightTimeout:
            continue
    else:
        raise AssertionError(f"{name}: Run All started no cell in {RUN_ALL_TRIES} tries:\n" + lab.log())
    # An idle kernel alone is no sign of the end: right after Run All it may not have received
    # the first cell yet. Done means idle with every code cell run, or an error that stopped it.
    page.wait_for_function(RUN_DONE_JS, timeout=RUN_TIMEOUT * 1000, polling=500)
    return page.evaluate(OUTPUTS_JS)


def _check_query_browser(page: Any, name: str) -> None:
    """The slider of the query browser renders, and a step of it redraws the ranked list."""
    slider = page.locator(".jp-OutputArea-output .widget-slider").first
    slider.wait_for(state="visible", timeout=60_000)
    ranked = page.locator(".jp-OutputArea-output .widget-output img").first
    ranked.wait_for(state="visible", timeout=60_000)
    before = ranked.get_attribute("src")
    readout = page.locator(".jp-OutputArea-output .widget-slider .widget-readout").first
    assert readout.inner_text().strip() == "0", f"{name}: the query browser does not start at query 0"
    page.locator(".jp-OutputArea-output .widget-slider .noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        """(before) => {
          const img = document.querySelector('.jp-OutputArea-output .widget-output img');
          return img && img.complete && img.naturalWidth > 0 && img.getAttribute('src') !== before;
        }""",
        arg=before, timeout=120_000,
    )  # fmt: skip
    assert readout.inner_text().strip() == "1"
    assert ranked.get_attribute("alt"), f"{name}: the query browser's ranked list has no alt text"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_in_jupyterlab(path: Path, lab: Lab, browser: Any) -> None:
    on_disk = path.read_bytes()
    page = browser.new_page()
    try:
        start = time.perf_counter()
        cells = _open_and_run(page, lab, path.name)
        figures = _check_outputs(path.name, cells)
        images = page.evaluate(IMAGES_JS)
        assert figures > 0, f"{path.name}: no figure"
        assert len(images) >= figures, f"{path.name}: {figures} figures in the outputs, {len(images)} images in the page"
        broken = [i["cell"] for i in images if not i["loaded"]]
        assert not broken, f"{path.name}: images that did not load, in cells {broken}"
        no_alt = [i["cell"] for i in images if not i["alt"].strip()]
        assert not no_alt, f"{path.name}: images without alt text, in cells {no_alt}"
        assert page.get_by_text("Error displaying widget").count() == 0, f"{path.name}: a widget failed to render"
        if path.name.startswith("03_"):
            _check_query_browser(page, path.name)
        print(f"{path.name}: Run All in {time.perf_counter() - start:.0f} s, {len(images)} images")
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    except Exception as error:
        error.args = (*error.args, "JupyterLab's last output:\n" + lab.log())
        raise
    finally:
        page.close()
    assert path.read_bytes() == on_disk, f"{path.name}: the browser check changed the file on disk"
