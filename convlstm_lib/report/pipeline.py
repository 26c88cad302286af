"""The report pipeline `run_all.py` drives: find the notebooks, run them, publish the report.

1. Discovery: `notebooks/[0-9][0-9]_*.py` (jupytext percent sources: the source of truth), in
   name order; notebooks added later are picked up without touching any code.
2. Parameters: each notebook's `parameters`-tagged cell; every key must be a field of
   `config.ProfileConfig` and every value a literal, else nothing runs (`NotebookError`, naming
   the notebook and key). Each notebook gets the chosen profile's values for exactly those keys.
3. Execution: papermill, in a `python3` kernel of this interpreter, figures rendered inline
   (Agg-based `matplotlib_inline`), tqdm quietened. A cell that raises stops the run: a
   `ConvLSTMError` (bad input: a course CSV, a folder) as `NotebookInputError`, one line naming
   the notebook; anything else as `NotebookFailed`, one paragraph naming the notebook and cell,
   with the partly executed notebook kept in a temporary folder the message names.
4. Publishing: after every notebook succeeded, `report.assemble` builds the report (figures,
   artifacts, results.json, report.html, report.pdf) in a staging folder beside the output
   folder, and `publish` moves it in, report.html last; a failed run publishes nothing.

Nothing a user owns is touched (`check_report_folder`): the output folder must be new, empty, or
an earlier report, known by the marker `paths.REPORT_MARKER` the pipeline writes into every
folder it publishes, which lists the files it put there. A run replaces the files at the names
it publishes; a full run also removes the files an earlier run listed and this one did not make
(stale figures), and nothing else; `--only NN` replaces only its executed notebook.
The file system's root, the home folder, the checkout's root, a folder holding notebook sources
or lying in the runs folder are refused. One run at a time per runs/<profile>/ (`profile_lock`:
the lock file records pid, host and start; one left by a dead run is taken over, saying so).
SIGTERM is raised as `Terminated` (`sigterm_raises`), so the staging folder goes on every exit.
"""
from __future__ import annotations

import ast
import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jupytext
import nbformat

from convlstm_lib import paths
from convlstm_lib.atomic import check_output_dir, write_text
from convlstm_lib.config import ProfileConfig, field_names, get_profile
from convlstm_lib.errors import ConvLSTMError, OutputPathError
from convlstm_lib.progress import PROGRESS_ENV, TEXT
from convlstm_lib.report.notebook import PROFILE_ENV

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
MARKER_FORMAT = "convlstm-report"
LAST = "report.html"  # published last: never newer than the files it describes


class NotebookError(ConvLSTMError):
    """A notebook cannot be run as written (no or bad `parameters` cell, unknown key, unknown --only)."""


class NotebookInputError(ConvLSTMError):
    """A notebook stopped on bad input (a `ConvLSTMError` raised in a cell): one line, exit 2."""


class NotebookFailed(Exception):
    """A notebook raised something else (a bug, a dead kernel); the message names the notebook and cell."""


class RunsLocked(ConvLSTMError):
    """Another run_all.py is running the same profile (its runs/<profile>/ is locked)."""


class Terminated(BaseException):
    """SIGTERM arrived (`sigterm_raises`): unwinds like Ctrl-C, so every cleanup runs."""


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
    """What one run does. `runs_dir` None = `paths.runs_dir(profile)`. `budget_minutes` > 0: the
    sweep's wall-clock budget (`config.ProfileConfig.budget_minutes`); 0 = the profile's."""

    profile: str = "quick"
    seed: int | None = None
    budget_minutes: float = 0.0
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
    try:
        nb = jupytext.read(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookError(f"{Path(path).name}: cannot be read ({type(exc).__name__}: {exc})") from None
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


def user_error_names() -> frozenset[str]:
    """The class names of `ConvLSTMError` and every subclass the library defines (all its modules
    imported): a notebook cell raising one of them stopped on bad input, not on a bug."""
    import importlib
    import pkgutil

    import convlstm_lib

    for info in pkgutil.walk_packages(convlstm_lib.__path__, "convlstm_lib."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    names, todo = set(), [ConvLSTMError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo += cls.__subclasses__()
    return frozenset(names)


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


def _kernel_manager(log: Path) -> type:
    """A kernel manager whose kernel writes its own messages (not the notebook's output) to `log`
    instead of this terminal, and talks over local IPC sockets instead of TCP ports on POSIX.

    A kernel stopped with the run (Ctrl-C, SIGTERM) logs tracebacks of its closed sockets; on a
    shared machine nothing should listen on the network, and ipykernel does not warn about
    unencrypted TCP on every start.
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum

    class KernelManager(AsyncKernelManager):
        if os.name == "posix":
            transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            with open(log, "ab") as handle:  # the kernel holds its own copy of the descriptor
                await super()._async_launch_kernel(kernel_cmd, **{**kw, "stderr": handle})

    return KernelManager


def execute(spec: NotebookSpec, parameters: dict[str, Any], output: Path, *, progress: bool) -> None:
    """Execute `spec` with papermill (kernel python3, cwd = the notebook's folder) into `output`.

    A cell raising a `ConvLSTMError` raises NotebookInputError (one line: the notebook and the
    error). Anything else (a bug, a dead kernel) raises NotebookFailed (`failure_message`), the
    partly executed notebook copied to a fresh temporary folder the message names.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    output.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.from_dict(spec.notebook)  # a copy: papermill edits what it is given
    nb.metadata["convlstm"] = {"source": spec.path.name}
    fd, log_name = tempfile.mkstemp(prefix="convlstm-kernel-", suffix=".log")
    os.close(fd)
    log = Path(log_name)
    try:
        papermill.execute_notebook(
            nb,
            str(output),
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            language="python",
            cwd=str(spec.path.parent),
            progress_bar=progress,
            kernel_manager_class=_kernel_manager(log),
        )
    except Exception as exc:
        if isinstance(exc, PapermillExecutionError) and exc.ename in user_error_names():
            message = (str(exc.evalue).strip().splitlines() or [""])[0]
            raise NotebookInputError(f"notebook {spec.path.name}: {exc.ename}: {message}") from None
        kept = None
        if output.is_file():
            kept = Path(tempfile.mkdtemp(prefix="convlstm-failed-")) / output.name
            shutil.copy2(output, kept)
            if log.stat().st_size:  # a kernel that died may have said why
                shutil.copy2(log, kept.with_suffix(".kernel.log"))
        raise NotebookFailed(failure_message(spec, exc, kept)) from exc
    finally:
        log.unlink(missing_ok=True)


# --------------------------------------------------------------------------- the output folder


def read_marker(folder: Path) -> list[str] | None:
    """The files (relative, POSIX) an earlier run published into `folder`, from its marker; None
    when it has none. An unreadable marker raises OutputPathError."""
    marker = Path(folder) / paths.REPORT_MARKER
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text())
        files = data["files"] if data.get("format") == MARKER_FORMAT else None
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        files = None
    if not (isinstance(files, list) and all(isinstance(f, str) for f in files)):
        raise OutputPathError(f"{marker}: not a report marker this project wrote; the folder is left alone")
    return files


def write_marker(folder: Path, files: Sequence[str], profile: str) -> None:
    """Mark `folder` as a report folder holding `files` (relative to it) that the pipeline wrote."""
    payload = {"format": MARKER_FORMAT, "profile": profile, "files": sorted(set(files))}
    write_text(Path(folder) / paths.REPORT_MARKER, json.dumps(payload, indent=1) + "\n")


def check_report_folder(folder: Path, notebooks_dir: Path, runs_dir: Path) -> Path:
    """Refuse (OutputPathError, one line) an output folder this run must not write into.

    Allowed: a folder that does not exist yet, an empty one, or one carrying the marker of an
    earlier report. Refused: the file system's root, the home folder, the checkout's root or a
    folder above it, a folder holding notebook sources (NN_*.py, in it or in its notebooks/),
    one inside the runs folder (which a full run clears), any other folder that is not empty,
    and one that cannot be written. Returns the folder, resolved.
    """
    resolved = Path(folder).resolve()
    named = f"--output-dir {folder}"
    special = {Path.home().resolve(): "your home folder", paths.ROOT.resolve(): "the checkout's root",
               Path("/"): "the file system's root"}  # later names win where two coincide
    if resolved in special:
        raise OutputPathError(f"{named}: is {special[resolved]}; give a folder of its own (default report/)")
    if paths.ROOT.resolve().is_relative_to(resolved):
        raise OutputPathError(f"{named}: holds the checkout; give a folder of its own (default report/)")
    for runs in (Path(runs_dir), paths.RUNS_DIR):
        if resolved.is_relative_to(runs.resolve()):
            raise OutputPathError(f"{named}: lies in the runs folder {runs}, whose folders runs clear")
    sources = [resolved, resolved / "notebooks"]
    if resolved.is_relative_to(Path(notebooks_dir).resolve()) or any(
        any(d.glob(NOTEBOOK_GLOB)) for d in sources if d.is_dir()
    ):
        raise OutputPathError(f"{named}: holds notebook sources (NN_*.py); give a folder of its own")
    check_output_dir(resolved, "--output-dir")
    check_output_dir(resolved.parent, "--output-dir")  # the report is built beside it
    if resolved.is_dir() and any(resolved.iterdir()) and read_marker(resolved) is None:
        raise OutputPathError(
            f"{named}: is not empty and holds no earlier report ({paths.REPORT_MARKER} missing); "
            "give a new or empty folder"
        )
    return resolved


def _files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def publish(staging: Path, output_dir: Path, *, profile: str, full: bool) -> list[Path]:
    """Move every file in `staging` into `output_dir` (report.html last); return the published paths.

    The marker lists what the pipeline published there (written first, so a run interrupted while
    publishing still leaves a folder the next run recognises). A full run then removes the files
    the earlier report listed that this one did not make (stale figures, notebooks); anything else
    in the folder is never touched. Each move is a rename on the same file system.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    earlier = read_marker(output_dir) or []
    new = _files_under(staging)
    write_marker(output_dir, [*earlier, *new], profile)
    new.sort(key=lambda name: name == LAST)
    published: list[Path] = []
    for name in new:
        dest = output_dir / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / name, dest)
        published.append(dest)
    if full:
        for name in sorted(set(earlier) - set(new)):
            stale = output_dir / name
            if stale.is_file() and not stale.is_symlink():
                stale.unlink()
                with contextlib.suppress(OSError):  # its folder goes too once empty
                    stale.parent.rmdir()
        write_marker(output_dir, new, profile)
    return published


# --------------------------------------------------------------------------- one run at a time


def _holder(fd: int) -> dict[str, Any]:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode("utf-8", errors="replace")
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        data = {}
    return data if isinstance(data, dict) else {}


@contextlib.contextmanager
def profile_lock(runs_dir: Path, say=print) -> Iterator[Path]:
    """Hold runs_dir/RUN_LOCK for the block: one run_all.py per runs/<profile>/ at a time.

    The lock is an flock on the file, which the kernel releases when its process dies; the file
    records pid, host and start for the message a second run gives (RunsLocked). A file left by
    a run that died is taken over, saying so through `say`. Removed when the block ends.
    """
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    path = runs_dir / paths.RUN_LOCK
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held = _holder(fd)
            os.close(fd)
            raise RunsLocked(
                f"{runs_dir}: another run_all.py is running this profile (pid {held.get('pid', '?')} on "
                f"{held.get('host', '?')}, started {held.get('started', '?')}); wait for it to end"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed the file between our open and our lock: try again
    try:
        left = _holder(fd)
        if left:
            say(f"run_all: taking over {path}: the run_all.py that left it (pid {left.get('pid', '?')} on "
                f"{left.get('host', '?')}, started {left.get('started', '?')}) is no longer running")
        mine = {"pid": os.getpid(), "host": socket.gethostname(),
                "started": dt.datetime.now().astimezone().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(mine) + "\n").encode())
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """In the block, SIGTERM raises `Terminated` in the main thread (so `finally` blocks run)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --------------------------------------------------------------------------- the run


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, flush=True)


def check_data_folders(cfg: ProfileConfig, runs_dir: Path) -> None:
    """Before any notebook runs: the folders the notebooks will write must be writable, and the
    generated-data folder, when data must be generated, must be generate's own."""
    from convlstm_lib.data.generator import check_own_folder

    if paths.user_course_files() is None:
        check_output_dir(paths.generated_dir(cfg.profile), "the generated data's folder")
        check_own_folder(paths.generated_dir(cfg.profile))
    check_output_dir(paths.processed_dir(cfg.profile), "the processed data's folder")
    check_output_dir(runs_dir, "the runs folder")


def profile_overrides(options: RunOptions) -> dict[str, Any]:
    """The profile fields a run's options set (the seed, the budget), for `config.get_profile`."""
    return {**({} if options.seed is None else {"seed": options.seed}),
            **({"budget_minutes": options.budget_minutes} if options.budget_minutes else {})}


def run(options: RunOptions) -> RunSummary:
    """Execute the notebooks and publish the report (module docstring).

    Raises ConvLSTMError on bad input (nothing run or published), NotebookFailed when a notebook
    failed on something else, Terminated on SIGTERM.
    """
    from convlstm_lib.report.assemble import assemble, git_commit
    from convlstm_lib.report.summary import format_duration

    start = time.perf_counter()
    cfg = get_profile(options.profile, **profile_overrides(options))
    runs_dir = Path(options.runs_dir) if options.runs_dir is not None else paths.runs_dir(cfg.profile)
    output_dir = check_report_folder(Path(options.output_dir), options.notebooks_dir, runs_dir)
    found = discover_notebooks(options.notebooks_dir)
    if not found:
        raise NotebookError(f"{options.notebooks_dir}: no notebooks matching {NOTEBOOK_GLOB}")
    specs = select([load_notebook(p) for p in found], options.only)  # validates every parameters cell
    check_data_folders(cfg, runs_dir)
    full_run = not options.only
    commit = git_commit(ignore=output_dir)
    date = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    summary = RunSummary()

    with sigterm_raises(), profile_lock(runs_dir, say=lambda m: print(m, file=sys.stderr)):
        if full_run:  # results and figures of an earlier run must not leak into this report
            for sub in (paths.FIGURES, paths.RESULTS):
                if (runs_dir / sub).is_dir():
                    shutil.rmtree(runs_dir / sub)
        output_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.partial-", dir=output_dir.parent))
        try:
            with kernel_environment():
                for i, spec in enumerate(specs, 1):
                    _say(options.quiet, f"[{i}/{len(specs)}] {spec.name} ...")
                    t0 = time.perf_counter()
                    executed = staging / "notebooks" / f"{spec.name}.ipynb"
                    execute(spec, notebook_parameters(spec, cfg), executed,
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
                timings = assemble(cfg, runs_dir, staging, output_dir, summary.executed, commit=commit,
                                   date=date, start=start, pdf=options.pdf)
                summary.html_s, summary.pdf_s = timings.html_s, timings.pdf_s
                pdf_note = f", PDF {summary.pdf_s:.1f} s" if options.pdf else ""
                _say(options.quiet, f"report: HTML {summary.html_s:.1f} s{pdf_note}")
            summary.published = publish(staging, output_dir, profile=cfg.profile, full=full_run)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    summary.runtime_s = time.perf_counter() - start
    return summary
