#!/usr/bin/env python
"""Run every notebook in order with papermill, then render the report.

    python run_all.py [--profile smoke|quick|paper] [--seed S] [--output-dir report/]
                      [--only NN] [--no-pdf] [--quiet]

1. Finds `notebooks/[0-9][0-9]_*.py` (jupytext percent sources: the source of truth), in
   name order; notebooks added later are picked up without touching this file.
2. Reads each notebook's `parameters`-tagged cell: every key must be a field of
   `config.ProfileConfig` and every value a literal, else nothing runs (exit 2, naming the
   notebook and key). Each notebook gets the chosen profile's values for exactly those keys.
3. Executes each notebook with papermill in a `python3` kernel of this interpreter, figures
   rendered inline (Agg-based `matplotlib_inline`), tqdm quietened. A failing cell stops the
   run (exit 1) with one paragraph naming the notebook and the cell; the partly executed
   notebook is kept in a temporary folder the message names.
4. After every notebook succeeded, `convlstm_lib.report.assemble` builds the report folder:
   figures, artifacts, `results.json` (every `runs/<profile>/results/*.json` with the run's
   stamp), `report.html` and `report.pdf`.

Everything is built in a temporary folder beside the output folder and moved into place only
when the whole run succeeded (`report.html` last), so a failed run never leaves a half-written
report. `--only NN` executes just that notebook (repeatable) and replaces only its executed
notebook in `<output-dir>/notebooks/`; results and report are left as they were.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jupytext
import nbformat

from convlstm_lib import paths
from convlstm_lib.atomic import check_output_dir
from convlstm_lib.config import PROFILES_NAMES, ProfileConfig, check_seed, field_names, get_profile
from convlstm_lib.errors import ConvLSTMError
from convlstm_lib.progress import PROGRESS_ENV, TEXT
from convlstm_lib.report.assemble import assemble, git_commit
from convlstm_lib.report.notebook import PROFILE_ENV
from convlstm_lib.report.summary import format_duration

NOTEBOOK_GLOB = "[0-9][0-9]_*.py"
KERNEL_NAME = "python3"
# Environment the kernels inherit. MPLBACKEND: ipykernel installs its inline backend only when
# MPLBACKEND is unset, and plain "Agg" would drop every figure from the executed notebooks; the
# inline backend renders with Agg (headless) and embeds PNGs. TQDM_MININTERVAL: bars that pass
# `disable=` themselves still redraw at most every 30 s. The warnings filter hides tqdm.auto's
# "IProgress not found" where ipywidgets is missing; PYDEVD_* quiets the kernel's debugger.
KERNEL_ENV = {
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "TQDM_MININTERVAL": "30",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    PROFILE_ENV: "", PROGRESS_ENV: TEXT,  # papermill's injected profile decides; text bars, no widgets
}
KERNEL_WARNING_FILTERS = ("ignore:IProgress not found",)


class NotebookError(ConvLSTMError):
    """A notebook cannot be run as written (no or bad `parameters` cell, unknown key, unknown --only)."""


class NotebookFailed(ConvLSTMError):
    """A notebook raised during execution; the message names the notebook and the failing cell."""


@dataclass(frozen=True)
class NotebookSpec:
    """One notebook source: its path, the notebook read from it, and its parameters cell's literals."""

    path: Path
    notebook: nbformat.NotebookNode
    parameters: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def number(self) -> str:
        return self.path.name[:2]


@dataclass(frozen=True)
class RunOptions:
    """What one `run_all` invocation does. `runs_dir` None = `paths.runs_dir(profile)`."""

    profile: str = "quick"
    seed: int | None = None
    output_dir: Path = paths.REPORT_DIR
    only: tuple[str, ...] = ()
    pdf: bool = True
    notebooks_dir: Path = paths.NOTEBOOKS_DIR
    runs_dir: Path | None = None
    quiet: bool = False


@dataclass
class RunSummary:
    """What a run produced: executed notebook names, the published files, timings in seconds."""

    executed: list[str] = field(default_factory=list)
    published: list[Path] = field(default_factory=list)
    notebook_s: dict[str, float] = field(default_factory=dict)
    html_s: float = 0.0
    pdf_s: float = 0.0
    runtime_s: float = 0.0


# --------------------------------------------------------------------------- notebooks


def discover_notebooks(notebooks_dir: Path) -> list[Path]:
    """`NN_name.py` sources in `notebooks_dir`, sorted by name (so by number)."""
    return sorted(p for p in Path(notebooks_dir).glob(NOTEBOOK_GLOB) if p.is_file())


def read_parameters(nb: nbformat.NotebookNode, where: str) -> dict[str, Any]:
    """The literals assigned in the notebook's one `parameters`-tagged cell, by name.

    Every statement must be `name = <literal>` with `name` a `ProfileConfig` field.
    Raises NotebookError naming `where` (the notebook) and the offending cell line or key.
    """
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise NotebookError(
            f"{where}: expected exactly one code cell tagged 'parameters', found {len(cells)}"
        )
    source = cells[0].source
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise NotebookError(f"{where}: parameters cell line {exc.lineno}: {exc.msg}") from None
    known = field_names()
    values: dict[str, Any] = {}
    for stmt in tree.body:
        simple = isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
        if not (simple and isinstance(stmt.targets[0], ast.Name)):
            raise NotebookError(
                f"{where}: parameters cell line {stmt.lineno}: only `name = literal` assignments are allowed"
            )
        key = stmt.targets[0].id
        if key not in known:
            raise NotebookError(
                f"{where}: parameters cell key {key!r} is not a ProfileConfig field "
                "(see convlstm_lib/config.py)"
            )
        try:
            values[key] = ast.literal_eval(stmt.value)
        except ValueError:
            raise NotebookError(
                f"{where}: parameters cell key {key!r} (line {stmt.lineno}) is not a literal"
            ) from None
    return values


def load_notebook(path: Path) -> NotebookSpec:
    """Read a jupytext percent source into a notebook (in memory) and validate its parameters cell."""
    nb = jupytext.read(path)
    return NotebookSpec(path=Path(path), notebook=nb, parameters=read_parameters(nb, where=Path(path).name))


def notebook_parameters(spec: NotebookSpec, cfg: ProfileConfig) -> dict[str, Any]:
    """The profile's values for exactly the keys of the notebook's parameters cell (tuples as lists)."""
    values = cfg.to_dict()
    return {k: list(values[k]) if isinstance(values[k], tuple) else values[k] for k in spec.parameters}


def select(specs: Sequence[NotebookSpec], only: Sequence[str]) -> list[NotebookSpec]:
    """The notebooks `--only` names (by number `03` or stem `03_sweep`), in run order; all when empty."""
    if not only:
        return list(specs)
    available = ", ".join(s.name for s in specs) or "none"
    chosen: list[NotebookSpec] = []
    for key in only:
        match = [s for s in specs if key in (s.number, s.name, s.path.name)]
        if not match:
            raise NotebookError(f"--only {key}: no such notebook; found {available}")
        chosen += [s for s in match if s not in chosen]
    return sorted(chosen, key=lambda s: s.path.name)


def _cell_summary(source: str, limit: int = 120) -> str:
    """The first line of code (not blank, not a comment) of `source`, shortened to `limit`."""
    lines = [ln.strip() for ln in source.splitlines() if ln.strip()]
    line = next((ln for ln in lines if not ln.startswith("#")), lines[0] if lines else "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def failure_message(spec: NotebookSpec, exc: Exception, executed_nb: Path | None) -> str:
    """One paragraph: the notebook, the cell (1-based, as in the .py source), the error, the kept notebook."""
    from papermill.exceptions import PapermillExecutionError

    where = f"notebook {spec.path.name} failed"
    if isinstance(exc, PapermillExecutionError):
        # papermill counts the cells of the executed notebook, which has an injected-parameters
        # cell (the saved copy also has two error-marker cells, inserted after counting).
        injected = 0
        if executed_nb is not None and executed_nb.is_file():
            cells = nbformat.read(executed_nb, as_version=4).cells
            cells = [c for c in cells if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
            before = cells[: exc.cell_index]
            injected = sum("injected-parameters" in c.metadata.get("tags", []) for c in before)
        cell_no = exc.cell_index - injected + 1
        total = len(spec.notebook.cells)
        where += (
            f" in cell {cell_no} of {total} (execution count {exc.exec_count}, "
            f"starting `{_cell_summary(exc.source)}`): {exc.ename}: {_cell_summary(str(exc.evalue), 300)}"
        )
    else:
        where += f": {type(exc).__name__}: {_cell_summary(str(exc), 300)}"
    if executed_nb is not None and executed_nb.is_file():
        where += f". The notebook as executed up to the failure is in {executed_nb}"
    return where + "."


@contextlib.contextmanager
def kernel_environment() -> Iterator[None]:
    """Set KERNEL_ENV (and the warnings filter) for kernels started inside; restore afterwards."""
    saved = {k: os.environ.get(k) for k in (*KERNEL_ENV, "PYTHONWARNINGS")}
    os.environ.update(KERNEL_ENV)
    filters = [f for f in (os.environ.get("PYTHONWARNINGS") or "").split(",") if f]
    os.environ["PYTHONWARNINGS"] = ",".join([*filters, *KERNEL_WARNING_FILTERS])
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _ipc_kernel_manager() -> type:
    """A kernel manager talking to its kernel over local IPC sockets instead of TCP ports.

    On a shared machine nothing listens on the network, and ipykernel does not warn about
    unencrypted TCP on every start.
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum

    class IpcKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    return IpcKernelManager


def execute(spec: NotebookSpec, parameters: dict[str, Any], output: Path, *, progress: bool) -> None:
    """Execute `spec` with papermill (kernel python3, cwd = the notebook's folder) into `output`.

    Raises NotebookFailed (message from `failure_message`) when a cell raises or the kernel dies;
    the partly executed notebook is then copied to a fresh temporary folder the message names.
    """
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.from_dict(spec.notebook)  # a copy: papermill edits what it is given
    nb.metadata["convlstm"] = {"source": spec.path.name}
    engine: dict[str, Any] = {"kernel_manager_class": _ipc_kernel_manager()} if os.name == "posix" else {}
    try:
        papermill.execute_notebook(
            nb,
            str(output),
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            language="python",
            cwd=str(spec.path.parent),
            progress_bar=progress,
            **engine,
        )
    except Exception as exc:
        kept = None
        if output.is_file():
            kept = Path(tempfile.mkdtemp(prefix="convlstm-failed-")) / output.name
            shutil.copy2(output, kept)
        raise NotebookFailed(failure_message(spec, exc, kept)) from exc


# --------------------------------------------------------------------------- publishing


def _clear(folder: Path) -> None:
    if folder.is_dir():
        shutil.rmtree(folder)


def publish(
    staging: Path, output_dir: Path, *, replace_dirs: Sequence[str] = (), last: str = "report.html"
) -> list[Path]:
    """Move everything in `staging` into `output_dir`; return the published paths.

    Folders named in `replace_dirs` replace the old folder whole (stale files go); other folders'
    files are moved one by one. Each move is a rename on the same file system, and `last` moves
    last, so a report.html is never newer than the files it describes.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    trash = staging / ".trash"
    published: list[Path] = []
    entries = sorted(p for p in staging.iterdir() if p != trash)
    entries.sort(key=lambda p: p.name == last)
    for entry in entries:
        target = output_dir / entry.name
        if entry.is_dir() and entry.name in replace_dirs:
            if target.exists():
                trash.mkdir(exist_ok=True)
                os.replace(target, trash / entry.name)
            os.replace(entry, target)
            published.append(target)
        elif entry.is_dir():
            for file in sorted(p for p in entry.rglob("*") if p.is_file()):
                dest = target / file.relative_to(entry)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(file, dest)
                published.append(dest)
        else:
            os.replace(entry, target)
            published.append(target)
    return published


# --------------------------------------------------------------------------- the run


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, flush=True)


def run(options: RunOptions) -> RunSummary:
    """Execute the notebooks and publish the report (see the module docstring). Raises ConvLSTMError."""
    start = time.perf_counter()
    cfg = get_profile(options.profile, **({} if options.seed is None else {"seed": options.seed}))
    runs_dir = Path(options.runs_dir) if options.runs_dir is not None else paths.runs_dir(cfg.profile)
    output_dir = Path(options.output_dir).resolve()
    # Before anything is deleted or written: the report goes into output_dir, built beside it.
    check_output_dir(output_dir, "--output-dir")
    check_output_dir(output_dir.parent, "--output-dir")
    found = discover_notebooks(options.notebooks_dir)
    if not found:
        raise NotebookError(f"{options.notebooks_dir}: no notebooks matching {NOTEBOOK_GLOB}")
    specs = select([load_notebook(p) for p in found], options.only)  # validates every parameters cell
    full_run = not options.only
    commit = git_commit(ignore=output_dir)
    date = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    summary = RunSummary()

    if full_run:  # results and figures of an earlier run must not leak into this report
        for sub in (paths.FIGURES, paths.RESULTS):
            _clear(runs_dir / sub)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.partial-", dir=output_dir.parent))
    try:
        with kernel_environment():
            for i, spec in enumerate(specs, 1):
                _say(options.quiet, f"[{i}/{len(specs)}] {spec.name} ...")
                t0 = time.perf_counter()
                execute(spec, notebook_parameters(spec, cfg), staging / "notebooks" / f"{spec.name}.ipynb",
                        progress=not options.quiet and sys.stderr.isatty())
                summary.notebook_s[spec.name] = time.perf_counter() - t0
                summary.executed.append(spec.name)
                _say(options.quiet, f"[{i}/{len(specs)}] {spec.name} done in "
                     f"{format_duration(summary.notebook_s[spec.name])} "
                     f"(total {format_duration(time.perf_counter() - start)})")

        if full_run:
            now_found = discover_notebooks(options.notebooks_dir)
            missed = [p.stem for p in now_found if p.stem not in summary.executed]
            if missed:
                raise NotebookError(
                    f"notebooks found but not executed (added during the run?): {', '.join(missed)}"
                )
            timings = assemble(cfg, runs_dir, staging, output_dir, summary.executed, commit=commit, date=date,
                               start=start, pdf=options.pdf)
            summary.html_s, summary.pdf_s = timings.html_s, timings.pdf_s
            pdf_note = f", PDF {summary.pdf_s:.1f} s" if options.pdf else ""
            _say(options.quiet, f"report: HTML {summary.html_s:.1f} s{pdf_note}")
        replace = ("figures", "notebooks") if full_run else ()
        summary.published = publish(staging, output_dir, replace_dirs=replace)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    summary.runtime_s = time.perf_counter() - start
    return summary


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="run_all.py", description="Run notebooks/NN_*.py in order with papermill and render the report."
    )
    parser.add_argument("--profile", choices=PROFILES_NAMES, default="quick", help="profile (default quick)")
    parser.add_argument("--seed", type=int, default=None, help="override the profile's seed")
    parser.add_argument("--output-dir", type=Path, default=paths.REPORT_DIR, help="default report/")
    parser.add_argument("--only", action="append", default=[], metavar="NN",
                        help="execute only notebook NN (repeatable); results and report are left alone")
    parser.add_argument("--no-pdf", dest="pdf", action="store_false", help="write report.html only")
    parser.add_argument("--notebooks-dir", type=Path, default=paths.NOTEBOOKS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, *, runs_dir: Path | None = None) -> int:
    """CLI entry point. Exit 0 on success, 1 when a notebook failed, 2 on bad input, 130 on Ctrl-C."""
    args = parse_args(argv)
    try:
        if args.seed is not None:
            check_seed(args.seed, "--seed")
        get_profile(args.profile, **({} if args.seed is None else {"seed": args.seed}))
    except ValueError as exc:
        print(f"run_all: error: {exc}", file=sys.stderr)
        return 2
    options = RunOptions(
        profile=args.profile, seed=args.seed, output_dir=args.output_dir, only=tuple(args.only),
        pdf=args.pdf, notebooks_dir=args.notebooks_dir, runs_dir=runs_dir, quiet=args.quiet,
    )
    try:
        summary = run(options)
    except NotebookFailed as exc:
        print(f"run_all: {exc}", file=sys.stderr)
        return 1
    except ConvLSTMError as exc:
        print(f"run_all: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("run_all: interrupted; nothing was published", file=sys.stderr)
        return 130
    _say(args.quiet, f"run_all: {len(summary.executed)} notebook(s) in {format_duration(summary.runtime_s)}; "
         f"wrote {Path(args.output_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
