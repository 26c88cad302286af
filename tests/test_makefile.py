"""The Makefile's set-up installs again exactly when its inputs change: pyproject.toml, TORCH, TORCH_INDEX.

Each case runs the real `make setup` against a stand-in virtual environment in a temporary folder
whose `python` only records the commands it is given, so no package is installed.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest

from convlstm_lib import paths

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


@pytest.fixture
def fake_venv(tmp_path):
    """setup(**variables) -> the commands `make setup` gave the stand-in venv's python, one string each."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    log = tmp_path / "calls.log"
    python = venv / "bin" / "python"
    python.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n')
    python.chmod(python.stat().st_mode | stat.S_IXUSR)

    def setup(**variables: str) -> list[str]:
        log.write_text("")
        args = [f"{k}={v}" for k, v in {"VENV": venv, "PYTHON": "false", **variables}.items()]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "TORCH"))}
        done = subprocess.run(["make", "--no-print-directory", "-C", str(paths.ROOT), "setup", *args],
                              capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        return log.read_text().splitlines()

    setup.venv = venv
    return setup


def _torch_installs(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("-m pip install") and "torch" in c.split()[-1]]


def test_a_fresh_setup_installs_torch_then_the_project_and_registers_the_kernel(fake_venv):
    calls = fake_venv(TORCH="torch==9.9")
    assert _torch_installs(calls) == ["-m pip install --quiet torch==9.9"]
    project = calls.index("-m pip install --quiet -e .[dev]")
    assert calls.index(_torch_installs(calls)[0]) < project
    kernel = [c for c in calls if c.startswith("-m ipykernel install")]
    assert kernel == ["-m ipykernel install --sys-prefix --name python3 --display-name Python 3"]
    assert (fake_venv.venv / ".torch").read_text().strip() == "torch==9.9"


def test_the_same_choice_again_installs_nothing(fake_venv):
    fake_venv(TORCH="torch==9.9")
    assert fake_venv(TORCH="torch==9.9") == []


def test_another_torch_index_reinstalls_torch_from_it(fake_venv):
    fake_venv(TORCH="torch==9.9")
    calls = fake_venv(TORCH="torch==9.9", TORCH_INDEX="https://example.org/whl/cu126")
    assert "-m pip uninstall --quiet --yes torch" in calls
    assert _torch_installs(calls) == [
        "-m pip install --quiet --index-url https://example.org/whl/cu126 torch==9.9"]
    assert "-m pip install --quiet -e .[dev]" in calls  # the project's set-up runs again on the new torch
    assert fake_venv(TORCH="torch==9.9", TORCH_INDEX="https://example.org/whl/cu126") == []
    # and back: the stamp holds the choice, not just a time
    assert _torch_installs(fake_venv(TORCH="torch==9.9")) == ["-m pip install --quiet torch==9.9"]


def test_another_torch_version_reinstalls_torch(fake_venv):
    fake_venv(TORCH="torch==9.9")
    calls = fake_venv(TORCH="torch==9.8")
    assert "-m pip uninstall --quiet --yes torch" in calls
    assert _torch_installs(calls) == ["-m pip install --quiet torch==9.8"]
