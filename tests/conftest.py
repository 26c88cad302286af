"""Shared fixtures, and the layout of tests/.

One file per library module: `convlstm_lib/<package>/X.py` is tested in `tests/test_X.py`; where two
modules share a name the package comes first (`test_models_settings.py`, `test_training_settings.py`).
`tests/test_layout.py` checks that every module has its file (`expected_test_file`) and that every
other file is one of the few that test across modules (`ACROSS_MODULES` there).
"""
import os

import pytest

# Tests run on 2 shared cores: keep torch from oversubscribing them. One thread, also for every process
# a test starts (CLI, sweep workers, the smoke run's kernels): the models are tiny, and two OpenMP
# threads fighting over loaded cores cost several times the CPU (benchmarks/README.md, "The tests").
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tests train tiny models: one torch thread each, as above; the previous setting is restored
    afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _blob_windows(n: int, seed: int = 0, clean: bool = True, side: int = 36, noise: float = 0.0,
                  inputs: int = 2):
    """n windows of a Gaussian blob moving at a constant random velocity: `inputs` frames -> the next.

    Targets are the next frame plus Gaussian noise of std `noise` (clipped to [0, 1]);
    clean_targets the noise-free frame (None when `clean` is False). Frames on the [0, 1] scale.
    """
    import numpy as np

    from convlstm_lib.data.preprocessing import WindowSet

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side]
    frames = np.empty((n, inputs + 1, side, side), np.float32)
    for k in range(n):
        p = rng.uniform(side * 0.3, side * 0.7, 2)
        v = rng.uniform(-side / 12, side / 12, 2)
        for t in range(inputs + 1):
            cy, cx = p + t * v
            frames[k, t] = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (side / 12) ** 2))
    truth = frames[:, -1].copy()
    target = truth
    if noise:
        target = np.clip(truth + rng.normal(0, noise, truth.shape), 0, 1).astype(np.float32)
    return WindowSet(frames[:, :-1].copy(), target, truth.copy() if clean else None, np.arange(n),
                     np.full(n, inputs + 1))


@pytest.fixture(scope="session")
def blob_windows():
    """Factory of synthetic windows: blob_windows(n, seed=0, clean=True, side=36, noise=0.0)."""
    return _blob_windows


@pytest.fixture(scope="session")
def blob_data():
    """Factory of a stand-in for `datasets.Datasets` built from blob windows (all four training sets
    the same): blob_data(n_train=16, n_test=4, clean=True, jump_targets=()). Training window k is
    sequence k with target frame 3; its outlier report flags the transition into the target of the
    windows listed in `jump_targets`, and no other. Its validation windows are other blobs."""
    from types import SimpleNamespace

    import numpy as np

    from convlstm_lib.data.preprocessing import OutlierReport, Scaler

    def make(n_train: int = 16, n_test: int = 4, clean: bool = True, jump_targets=()):
        train = _blob_windows(n_train, 0, clean)
        flagged = np.zeros((n_train, 15), bool)
        flagged[list(jump_targets), train.frame[0] - 1] = True
        m = flagged.size
        outliers = OutlierReport(flagged, np.zeros((m, 1)), np.zeros(m), 1.0, np.ones(1))
        return SimpleNamespace(
            train={k: train for k in ("base", "cleaned", "denoised", "processed")},
            val=_blob_windows(n_test, 3, clean),
            n6_test=_blob_windows(n_test, 1, clean),
            n3=_blob_windows(n_test + 2, 2, clean),
            scaler=Scaler(-3.0, 260.0),
            outliers=outliers,
        )

    return make


@pytest.fixture(scope="session")
def generated_n6_400():
    """N6 from the calibrated default generator at the course's size (400 sequences, seed 0), generated
    once per session (several seconds) for every test module that measures that population. Its arrays
    are read-only, so no test can change what the others see."""
    import numpy as np

    from convlstm_lib.data.generator import generate_set

    s = generate_set(6, 400, seed=0)
    for value in vars(s).values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return s


# `python -m convlstm_lib` in a fresh process whose data and runs folders lie under argv[1], as
# project_dirs redirects them in this one.
_REDIRECTED_CLI = """
import sys
from pathlib import Path
from convlstm_lib import paths
root = Path(sys.argv[1])
paths.DATA_DIR, paths.GENERATED_DIR = root / "data", root / "data" / "generated"
paths.PROCESSED_DIR, paths.RUNS_DIR = root / "data" / "processed", root / "runs"
from convlstm_lib.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.fixture(scope="session")
def cli_command():
    """cli_command(root, *args) -> the argv of a real `python -m convlstm_lib ARGS` process whose
    data/ and runs/ folders are under `root` (so no test reads or writes the repository's own)."""
    import sys

    def command(root, *args) -> list[str]:
        return [sys.executable, "-c", _REDIRECTED_CLI, str(root), *map(str, args)]

    return command


@pytest.fixture
def project_dirs(tmp_path, monkeypatch):
    """Redirect every data and runs folder of `paths` under tmp_path; returns tmp_path."""
    from convlstm_lib import paths

    monkeypatch.setattr(paths, "DATA_DIR", tmp_path / "data")
    monkeypatch.setattr(paths, "GENERATED_DIR", tmp_path / "data" / "generated")
    monkeypatch.setattr(paths, "PROCESSED_DIR", tmp_path / "data" / "processed")
    monkeypatch.setattr(paths, "RUNS_DIR", tmp_path / "runs")
    return tmp_path


@pytest.fixture
def run_cli(capfd):
    """`python -m convlstm_lib ARGV` run in this process: run_cli(*argv) -> (returncode, stdout, stderr).

    A fresh interpreter spends seconds importing torch for every call, so the tables of CLI cases
    run here; each command's real process is still checked end to end (test_cli.py, and the slow
    tests of test_bad_input.py and test_train_cli.py). To see what a real process would print,
    output is captured at the file descriptors (C-level writes and logging handlers included),
    an argparse exit is an exit status, and a warning a real process would show (Python's default
    filters) is raised as an error instead of being swallowed by pytest.
    """
    import warnings
    from types import SimpleNamespace

    from convlstm_lib import cli

    def run(*argv):
        capfd.readouterr()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for hidden in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                warnings.filterwarnings("ignore", category=hidden)
            try:
                code = cli.main([str(a) for a in argv])
            except SystemExit as exc:  # argparse: usage errors and --help
                code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
        out, err = capfd.readouterr()
        return SimpleNamespace(returncode=code, stdout=out, stderr=err)

    return run


# ---------------------------------------------------------------------------------------------
# The smoke pipeline (`run_all.py --profile smoke`, ~2 minutes of one core) is the slowest thing
# the suite does and is a separate process anyway: when a collected test needs it (the
# `smoke_report` fixture of test_notebooks.py), it starts as soon as collection ends and runs on
# the second core beside the other tests; the fixture then only waits for it. It writes the
# repository's data/*/smoke and runs/smoke, which no other test reads or writes (checked: the
# suite without test_notebooks.py leaves data/ and runs/ untouched), and its report into a
# temporary folder.

SMOKE_RUN = pytest.StashKey()


class SmokeRun:
    """`run_all.py --profile smoke --output-dir DIR` in a background process."""

    def __init__(self):
        import subprocess
        import sys
        import tempfile
        from pathlib import Path

        from convlstm_lib import paths

        self.folder = Path(tempfile.mkdtemp(prefix="convlstm-smoke-"))
        self.report = self.folder / "report"
        self._log = open(self.folder / "run_all.log", "w+")  # noqa: SIM115 (closed in finish)
        self.proc = subprocess.Popen(
            [sys.executable, str(paths.ROOT / "run_all.py"), "--profile", "smoke",
             "--output-dir", str(self.report)],
            cwd=paths.ROOT, stdout=self._log, stderr=subprocess.STDOUT, text=True,
        )

    def wait(self, timeout: float = 900) -> tuple[int, str]:
        """(exit status, the last 6,000 characters it printed), once it has finished."""
        code = self.proc.wait(timeout=timeout)
        self._log.seek(0)
        return code, self._log.read()[-6000:]

    def finish(self) -> None:
        import shutil

        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.hookimpl(trylast=True)  # after -m / -k have deselected what will not run
def pytest_collection_modifyitems(session, config, items):
    if any("smoke_run" in getattr(item, "fixturenames", ()) for item in items):
        config.stash[SMOKE_RUN] = SmokeRun()


@pytest.fixture(scope="session")
def smoke_run(request) -> SmokeRun:
    """The background smoke pipeline, started when collection ended (see above)."""
    return request.config.stash[SMOKE_RUN]


def pytest_unconfigure(config):
    run = config.stash.get(SMOKE_RUN, None)
    if run is not None:
        run.finish()
