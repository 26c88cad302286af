"""How a notebook meets its user: the profile its kernel runs, errors as one line, what to run first.

Every numbered notebook calls `start(profile, after=...)` in the cell after its parameters cell:

* **the profile**: PROFILE_ENV, when set and not empty, names the profile a kernel runs,
  whatever the parameters cell says. `make lab PROFILE=smoke` sets it for every kernel that
  JupyterLab starts; run_all.py's kernels set it empty, so there the value papermill injects
  decides and the two can never disagree. The parameters cell stays papermill's (literals only).
* **errors**: a `ConvLSTMError` raised by any later cell prints as one line instead of a
  traceback (IPython's `set_custom_exc`); the cell still fails, so Run All stops there and
  papermill still sees the failure.
* **prerequisites**: before anything is read or written, the files that earlier notebooks write
  and this one reads are looked for; when one is missing, `NotRunYet` names the notebooks to run
  first (and the command that runs them all).

`python -m convlstm_lib lab` (`make lab`) starts JupyterLab on the repository with that profile,
on a free port, reading the project's Jupyter config (LAB_CONFIG_DIR: jupytext opens the `.py`
sources as notebooks; saving a numbered notebook writes no outputs, `strip_before_save`);
docs/LAB.md describes it.
"""
from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from convlstm_lib import paths
from convlstm_lib.config import PROFILES_NAMES, get_profile
from convlstm_lib.data.datasets import INFO_NAME, NPZ_NAME
from convlstm_lib.errors import ConvLSTMError

PROFILE_ENV = "CONVLSTM_PROFILE"
# The project's Jupyter config, read by the JupyterLab that `lab_command` starts (JUPYTER_CONFIG_PATH).
LAB_CONFIG_DIR = paths.ROOT / "jupyter"
# The paired notebooks a save leaves without outputs (a path relative to the server's root).
SAVED_CLEAN = f"{paths.NOTEBOOKS_DIR.name}/[0-9][0-9]_*.ipynb"
# Notebook metadata a kernel or a widget adds, which differs from machine to machine.
SESSION_METADATA = ("language_info", "widgets")
LAB_HOST = "localhost"
DEFAULT_PORT = 8888
PORT_TRIES = 50

# What each notebook writes that a later one reads, by notebook number, in run order.
WRITES: dict[str, Callable[[str], list[Path]]] = {
    "02": lambda profile: [paths.processed_dir(profile) / n for n in (NPZ_NAME, INFO_NAME)],
    "03": lambda profile: [paths.study_dir(profile, get_profile(profile).study_name) / n
                           for n in (paths.TRIALS_CSV, paths.TRIAL_HISTORY)],
    "04": lambda profile: [paths.artifacts_dir(profile) / paths.BEST_MODEL],
}


class NotebookSetupError(ConvLSTMError):
    """PROFILE_ENV names no profile, or a notebook asks for an unknown earlier notebook."""


class NotRunYet(ConvLSTMError):
    """A notebook was started before the notebooks whose output it reads."""


class LabPortError(ConvLSTMError):
    """No free port to start JupyterLab on."""


def resolve_profile(parameter: str, environ: Mapping[str, str] = os.environ) -> str:
    """The profile this kernel runs: PROFILE_ENV's when set and not empty, else the parameters cell's."""
    chosen = environ.get(PROFILE_ENV, "").strip()
    if not chosen:
        return parameter
    if chosen not in PROFILES_NAMES:
        raise NotebookSetupError(
            f"{PROFILE_ENV}={chosen!r} is no profile; choose one of {', '.join(PROFILES_NAMES)} "
            f"(e.g. `make lab PROFILE=smoke`)"
        )
    return chosen


def pipeline_command(profile: str) -> str:
    """The make command that runs every notebook of `profile` in order (README, Makefile)."""
    if profile == "smoke":
        return "make smoke"
    return "make report" if profile == "quick" else f"make report PROFILE={profile}"


def missing_outputs(profile: str, after: str) -> list[tuple[str, Path]]:
    """(notebook, first missing file) for each notebook in WRITES up to `after` whose output is missing."""
    if after not in WRITES:
        raise NotebookSetupError(f"after={after!r}: no notebook writes files for later ones; "
                                 f"choose one of {', '.join(WRITES)}")
    missing = []
    for number, outputs in WRITES.items():
        if number > after:
            break
        absent = [p for p in outputs(profile) if not p.is_file()]
        if absent:
            missing.append((number, absent[0]))
    return missing


def check_prerequisites(profile: str, after: str) -> None:
    """Raise NotRunYet (one line: which notebooks to run first, and a command) when an output is missing."""
    missing = missing_outputs(profile, after)
    if not missing:
        return
    numbers = [number for number, _ in missing]
    named = numbers[0] if len(numbers) == 1 else f"{', '.join(numbers[:-1])} and {numbers[-1]}"
    order = "" if len(numbers) == 1 else ", in that order,"
    several = len(numbers) > 1
    raise NotRunYet(
        f"run notebook{'s' if several else ''} {named} first{order} with profile {profile!r}: this notebook "
        f"reads what {'they write' if several else 'it writes'} ({paths.repo_relative(missing[0][1])} is "
        f"missing); `{pipeline_command(profile)}` runs every notebook"
    )


def _one_line(shell, etype, value, tb, tb_offset=None) -> list[str]:
    """IPython's custom-exception hook: the error as one line. The hook shows what it returns itself;
    `_showtraceback` is where a kernel sends it as the cell's error output (the frontend's hook)."""
    line = [f"{etype.__name__}: {value}"]
    shell._showtraceback(etype, value, line)
    return line


def one_line_errors(shell=None) -> bool:
    """Show every ConvLSTMError raised in this IPython kernel as one line; False outside IPython."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None:
        return False
    shell.set_custom_exc((ConvLSTMError,), _one_line)
    return True


def start(profile: str, after: str | None = None, environ: Mapping[str, str] = os.environ) -> str:
    """A notebook's first step: one-line errors, the profile to run (returned), the prerequisites checked.

    `after`: the last notebook whose output this one reads (every notebook in WRITES up to it is
    checked); None for a notebook that needs nothing before it.
    """
    one_line_errors()
    chosen = resolve_profile(profile, environ)
    if chosen != profile:
        print(f"Profile {chosen!r} ({PROFILE_ENV}, e.g. from `make lab PROFILE={chosen}`); "
              f"the parameters cell says {profile!r}.")
    if after is not None:
        check_prerequisites(chosen, after)
    return chosen


# --------------------------------------------------------------------------- JupyterLab


def strip_before_save(model: dict[str, Any], path: str, contents_manager: Any = None, **kwargs: Any) -> None:
    """Jupyter's pre-save hook (LAB_CONFIG_DIR/jupyter_server_config.json): a numbered notebook's
    .ipynb is saved as the repository keeps it, without outputs, execution counts or SESSION_METADATA
    (the executed notebooks are the report's). Other files are saved as they are."""
    if model.get("type") != "notebook" or not PurePosixPath(path).match(SAVED_CLEAN):
        return
    content = model["content"]
    for key in SESSION_METADATA:
        content.get("metadata", {}).pop(key, None)
    for cell in content.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None


def port_is_free(port: int, host: str = LAB_HOST) -> bool:
    """Whether nothing listens on `port` of `host` (a bind succeeds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((socket.gethostbyname(host), port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def free_port(first: int = DEFAULT_PORT, tries: int = PORT_TRIES, host: str = LAB_HOST) -> int:
    """`first`, or the next port after it that is free; LabPortError naming the range when none is."""
    if not 1 <= first <= 65535:
        raise LabPortError(f"--port: {first} is no TCP port (1-65535)")
    for port in range(first, min(first + tries, 65536)):
        if port_is_free(port, host):
            return port
    raise LabPortError(f"--port: ports {first}-{min(first + tries, 65536) - 1} on {host} are all taken; "
                       "choose another (make lab PORT=...)")


def lab_command(profile: str, port: int, extra: Sequence[str] = (),
                environ: Mapping[str, str] = os.environ) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) of JupyterLab on the repository, its kernels running `profile`.

    JUPYTER_CONFIG_PATH gains LAB_CONFIG_DIR (the user's own config still comes first);
    MPLBACKEND is dropped, so that kernels draw figures inline whatever the shell set.
    `extra`: more `jupyter lab` arguments (e.g. --no-browser).
    """
    if profile not in PROFILES_NAMES:
        raise NotebookSetupError(f"--profile: {profile!r} is no profile; "
                                 f"choose one of {', '.join(PROFILES_NAMES)}")
    env = {k: v for k, v in environ.items() if k != "MPLBACKEND"}
    env[PROFILE_ENV] = profile
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        p for p in (str(LAB_CONFIG_DIR), environ.get("JUPYTER_CONFIG_PATH", "")) if p
    )
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={paths.ROOT}",
            f"--ServerApp.ip={LAB_HOST}", f"--port={port}",
            f"--LabApp.default_url=/lab/tree/{paths.NOTEBOOKS_DIR.name}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # as in containers and CI; Jupyter refuses root unasked
        argv.append("--allow-root")
    argv += extra
    return argv, env


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=PROFILES_NAMES, default="quick",
                        help="the profile the notebooks' kernels run (default quick)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on; the next free one when taken (default {DEFAULT_PORT})")
    parser.add_argument("jupyter_args", nargs=argparse.REMAINDER,
                        help="after --, passed on to `jupyter lab` (e.g. -- --no-browser)")


def run(args: argparse.Namespace) -> int:
    """Replace this process with JupyterLab (lab_command); it prints the URL with its token."""
    port = free_port(args.port)
    if port != args.port:
        print(f"port {args.port} is taken: JupyterLab starts on port {port}", flush=True)
    extra = args.jupyter_args[1:] if args.jupyter_args[:1] == ["--"] else args.jupyter_args
    argv, env = lab_command(args.profile, port, extra)
    print(f"JupyterLab on {paths.ROOT}, notebooks running profile {args.profile!r} ({PROFILE_ENV}); "
          "its address with the token follows. Ctrl-C stops it.", flush=True)
    os.execve(argv[0], argv, env)
    return 0  # not reached: execve replaces the process
