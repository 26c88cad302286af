"""The notebooks as users open them: JupyterLab in a real browser (slow).

`python -m convlstm_lib lab` (what `make lab` runs) starts JupyterLab on a free port, with every
Jupyter folder (config, data, runtime, settings, workspaces, IPython's) under a temporary folder,
autosave and news off and a token the test knows; Playwright drives the system's Chromium through
it. After the smoke pipeline has run (conftest's background run), every numbered notebook's
`.ipynb` is opened, Run All is chosen from the menu, and every cell must run without an error,
showing as many figures as the same notebook shows in the smoke report; one `.py` source is opened
the same way through jupytext's viewer (the default for Python files in this project's config), and
saved: the pair it writes must equal what the repository holds (no outputs, no session metadata).
The notebooks run on the smoke profile because the server's environment names it (PROFILE_ENV),
and they rewrite runs/smoke like the smoke run did. Nothing tracked may change.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from convlstm_lib import paths
from convlstm_lib.progress import PROGRESS_ENV
from convlstm_lib.report.notebook import LAB_HOST, PROFILE_ENV

NOTEBOOKS = sorted(p.stem for p in paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
THROUGH_JUPYTEXT = "02_preprocessing_pca"  # also opened as its .py source
SERVER_START_S = 90
NOTEBOOK_S = 300
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
KERNEL_STATUS = '.jp-StatusBar-TextItem[title^="Change kernel"]'  # the status bar's "Python 3 | Idle"
DIRTY_TAB = ".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-dirty"  # a document with unsaved changes


@pytest.fixture(scope="module")
def smoke_report(smoke_run) -> Path:
    """The report of the background smoke run (conftest.SmokeRun), once it has finished."""
    code, printed = smoke_run.wait()
    assert code == 0, f"run_all failed:\n{printed}"
    return smoke_run.report


def _figures(executed: Path) -> int:
    nb = nbformat.read(executed, as_version=4)
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.slow
def test_the_reports_notebooks_hold_no_widget_output(smoke_report):
    """run_all's kernels draw text bars (PROGRESS_ENV), so no widget without its state reaches the report."""
    executed = sorted((smoke_report / "notebooks").glob("*.ipynb"))
    assert executed
    widgets = [p.name for p in executed if WIDGET_MIME in p.read_text()]
    assert not widgets, f"widget outputs in {widgets}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((socket.gethostbyname(LAB_HOST), 0))
        return s.getsockname()[1]


def _home_state() -> list[tuple[str, float]]:
    """Every file (and its time) under the home directory's Jupyter and IPython folders."""
    home = Path.home()
    roots = [home / ".jupyter", home / ".local" / "share" / "jupyter", home / ".ipython"]
    return sorted((str(p), p.stat().st_mtime) for root in roots if root.is_dir() for p in root.rglob("*"))


def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--", "notebooks"], cwd=paths.ROOT,
                          capture_output=True, text=True, check=True).stdout


def _user_settings(folder: Path) -> None:
    """Autosave off (nothing written back) and no news fetched, as a user could set them."""
    for plugin, values in {
        "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        target = folder / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server started as `make lab PROFILE=smoke` does: yields (base URL, token, log path)."""
    root = tmp_path_factory.mktemp("lab")
    env = dict(os.environ)
    for name, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                      ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                      ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"), ("IPYTHONDIR", "ipython")):
        (root / sub).mkdir()
        env[name] = str(root / sub)
    env.pop(PROGRESS_ENV, None)
    _user_settings(root / "settings")
    token, port = secrets.token_hex(16), _free_port()
    base = f"http://{LAB_HOST}:{port}"
    log = root / "lab.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "convlstm_lib", "lab", "--profile", "smoke", "--port", str(port),
             "--", "--no-browser", f"--IdentityProvider.token={token}"],
            cwd=paths.ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            assert proc.poll() is None, f"JupyterLab exited ({proc.returncode}):\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"JupyterLab did not answer in {SERVER_START_S} s"
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                break
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        yield base, token, log
    finally:  # the server's own process group only (it shuts its kernels down on SIGTERM)
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _shut_down_kernels(base: str, token: str) -> None:
    sessions = json.load(urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=30))
    for session in sessions:
        url = f"{base}/api/sessions/{session['id']}?token={token}"
        urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=60)


def _run_all(page, url: str, save: bool = False) -> dict:
    """Open `url`, wait for the kernel (the status bar's, not the toolbar's early "Idle"), Run All from
    the menu, wait until the kernel is idle with no cell queued; what the page then shows. `save`:
    then save it (Ctrl-S) and wait until the tab is no longer marked unsaved."""
    page.goto(url)
    kernel = page.locator(KERNEL_STATUS)
    kernel.filter(has_text="Idle").wait_for(timeout=SERVER_START_S * 1000)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt")
    clicked, deadline = time.monotonic(), time.monotonic() + NOTEBOOK_S
    while True:
        texts = prompts.all_text_contents()  # text_content: cells scrolled out of view are not rendered
        settled = time.monotonic() - clicked > 2 and "Idle" in kernel.inner_text()
        if settled and not any("*" in t for t in texts):
            break
        assert time.monotonic() < deadline, f"cells still running after {NOTEBOOK_S} s: {texts}"
        time.sleep(1)
    outputs = page.locator(".jp-OutputArea-output").all_text_contents()
    if save:
        page.keyboard.press("Control+s")
        page.locator(DIRTY_TAB).wait_for(state="detached", timeout=60_000)
    return {
        "prompts": texts,
        "tracebacks": [o[:300] for o in outputs if "Traceback" in o],
        "smoke": any(PROFILE_ENV in o and "'smoke'" in o for o in outputs),  # notebook.start's line
        "images": page.locator(".jp-OutputArea-output img").count(),
    }


@pytest.fixture(scope="module")
def chromium() -> str:
    """The system's Chromium (never a browser Playwright downloads); skips, saying why, without one."""
    pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]' (playwright)")
    from convlstm_lib.report import render

    found = render.find_chromium()
    if found is None:
        pytest.skip("no Chromium on PATH (apt-get install chromium)")
    return found


@pytest.mark.slow
def test_every_notebook_runs_in_jupyterlab_in_a_browser(chromium, smoke_report, lab, tmp_path):
    from playwright.sync_api import sync_playwright

    base, token, log = lab
    status_before, home_before = _git_status(), _home_state()
    opened = [f"notebooks/{name}.ipynb" for name in NOTEBOOKS] + [f"notebooks/{THROUGH_JUPYTEXT}.py"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            for path in opened:
                name = Path(path).stem
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                try:
                    shown = _run_all(page, f"{base}/lab/tree/{path}?reset&token={token}",
                                     save=path.endswith(".py"))
                    assert not shown["tracebacks"], f"{path}: {shown['tracebacks']}"
                    assert shown["smoke"], f"{path}: the kernel did not say it runs the smoke profile"
                    unrun = [i + 1 for i, t in enumerate(shown["prompts"]) if not re.search(r"\[\d+\]", t)]
                    assert shown["prompts"] and not unrun, f"{path}: code cells {unrun} did not run"
                    expected = _figures(smoke_report / "notebooks" / f"{name}.ipynb")
                    assert expected > 0 and shown["images"] == expected, (
                        f"{path}: {shown['images']} figures shown; the smoke report has {expected}")
                except Exception as exc:
                    shot = tmp_path / f"{Path(path).name}.png"
                    page.screenshot(path=str(shot), full_page=True)
                    raise AssertionError(f"{exc}\nscreenshot: {shot}\nserver log: {log}") from exc
                finally:
                    page.close()
                    _shut_down_kernels(base, token)
        finally:
            browser.close()
    assert _git_status() == status_before, (  # the saved one too: no outputs, no session metadata
        "running (and saving) the notebooks in JupyterLab changed tracked files: git diff notebooks/")
    assert _home_state() == home_before, "JupyterLab wrote under the home directory"
