"""Bad input never destroys data: every failure is one line on stderr, exit 2, and leaves every
file that was there before byte for byte as it was (and no new file, half-written or not).

One table (`CASES`): each row builds a command line against a workspace (a generated smoke
dataset and its processed cache, a checkpoint, course CSVs, sweep journals, train runs) copied
fresh into a temporary folder; the command runs in this process through `cli.main` or
`run_all.main`, and the workspace is compared before and after. The data paths (data/,
data/generated, data/processed, runs) point into the workspace for every case. A second table
(`PROCESS_CASES`, slow) runs the faults that need a real process: files the process may not
read or write (chmod, run without root's override when the tests run as root) and a full disk
(a file-size limit on the process).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import optuna
import pytest
import torch

import run_all
from convlstm_lib import cli, paths
from convlstm_lib.config import get_profile
from convlstm_lib.data import course_io
from convlstm_lib.data.generator import write_dataset
from convlstm_lib.data.preprocessing import Scaler
from convlstm_lib.experiments import sweep_storage
from convlstm_lib.models.build import build_model
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.training.checkpoints import save_checkpoint, stamp_run
from convlstm_lib.training.settings import TrainConfig

CFG = ModelConfig(layers=1, kernels=2)
TINY_NOTEBOOK = """# %% tags=["parameters"]
profile = "quick"

# %%
print(profile)
"""


def _redirect(mp: pytest.MonkeyPatch, root: Path) -> None:
    mp.setattr(paths, "DATA_DIR", root / "data")
    mp.setattr(paths, "GENERATED_DIR", root / "data" / "generated")
    mp.setattr(paths, "PROCESSED_DIR", root / "data" / "processed")
    mp.setattr(paths, "RUNS_DIR", root / "runs")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """The workspace every case starts from (built once, copied per case)."""
    from convlstm_lib.data.datasets import prepare_datasets

    root = tmp_path_factory.mktemp("workspace")
    smoke = get_profile("smoke")
    with pytest.MonkeyPatch.context() as mp:
        _redirect(mp, root)
        write_dataset(root / "data" / "generated" / "smoke", seed=0, n6=24, n3=8, progress=False)
        fingerprint = prepare_datasets(smoke, progress=False).info["fingerprint"]  # cached for every case
    save_checkpoint(root / "model.pt", build_model(CFG, seed=0), CFG, TrainConfig(), Scaler(-20.0, 270.0),
                    {"n6_test_mse": 0.01}, "complete")
    train = course_io.read_course_csv(root / "data" / "generated" / "smoke" / "train_data_n6.csv")
    course_io.write_course_csv(root / "train_data_n6.csv", train[:2])
    np.save(root / "pairs.npy", train[:2, :2])
    optuna.logging.set_verbosity(optuna.logging.ERROR)

    def journal(name: str) -> optuna.storages.BaseStorage:
        return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(root / name)))

    study = optuna.create_study(study_name="convlstm-smoke", storage=journal("good.journal"))
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=2)
    # a study of 4 trials, as the smoke profile made it
    counted = optuna.create_study(study_name="counted", storage=journal("counted.journal"))
    settings = sweep_storage._study_settings(get_profile("smoke", study="counted"))
    counted.set_user_attr("settings", {**settings, "data": fingerprint})
    # study "bound"'s folder, belonging to a journal elsewhere
    bound = root / "runs" / "smoke" / "bound"
    bound.mkdir(parents=True)
    (bound / paths.STUDY_STORAGE).write_text(json.dumps({"storage": "/elsewhere/sweep.journal"}))
    # train runs: one whole, one whose later run diverged and left the earlier model beside it
    for name, run_id, later in (("earlier_run", "aaa", "aaa"), ("diverged_run", "aaa", "bbb")):
        (root / name).mkdir()
        shutil.copy(root / "model.pt", root / name / paths.TRAIN_MODEL)
        stamp_run(root / name / paths.TRAIN_MODEL, run_id)
        status = "complete" if later == run_id else "diverged"
        (root / name / paths.TRAIN_METRICS).write_text(json.dumps({"run_id": later, "status": status}))
    (root / "nbs").mkdir()
    (root / "nbs" / "01_tiny.py").write_text(TINY_NOTEBOOK)
    (root / "a_file").write_text("a file, not a folder\n")
    return root


def _snapshot(*roots: Path) -> dict[str, str]:
    """Every file under `roots` by path, with its SHA-256 (folders are not compared: a refused run
    may leave an empty folder it made, never a file)."""
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for root in roots for p in sorted(root.rglob("*")) if p.is_file() or p.is_symlink()
    }


# Builders of bad files inside the workspace `w`; each returns the path it made.
def _csv_with(w: Path, name: str, value: str, row: int = 1, source: Path | None = None) -> Path:
    lines = (source or w / "train_data_n6.csv").read_text().splitlines()
    cells = lines[row - 1].split(",")
    cells[5] = value
    lines[row - 1] = ",".join(cells)
    path = w / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _filled_csv(w: Path, value: float) -> Path:
    path = w / f"train_filled_{value:g}.csv"
    course_io.write_course_csv(path, np.full((1, 14, 36, 36), value))
    return path


def _delimited_csv(w: Path, delimiter: str) -> Path:
    path = w / "train_delimited.csv"
    path.write_text((w / "train_data_n6.csv").read_text().replace(",", delimiter))
    return path


def _course_files_in_data(w: Path, bad: tuple[int, int, str] | None = None) -> Path:
    """The four course CSVs in data/, as a user puts them there; `bad` = (row, column, text) in
    train_data_n6.csv."""
    for name in paths.COURSE_FILES.values():
        shutil.copy(w / "data" / "generated" / "smoke" / name, w / "data" / name)
    if bad is not None:
        row, col, text = bad
        target = w / "data" / paths.COURSE_FILES["train_n6"]
        lines = target.read_text().splitlines()
        cells = lines[row - 1].split(",")
        cells[col - 1] = text
        lines[row - 1] = ",".join(cells)
        target.write_text("\n".join(lines) + "\n")
    return w / "data"


def _npy(w: Path, array: np.ndarray, name: str = "bad.npy") -> Path:
    np.save(w / name, array)
    return w / name


def _npz_as_npy(w: Path) -> Path:
    np.savez(w / "pairs_archive.npz", a=np.zeros((1, 2, 36, 36)))
    return (w / "pairs_archive.npz").rename(w / "archive.npy")


def _bytes(w: Path, name: str, data: bytes) -> Path:
    (w / name).write_bytes(data)
    return w / name


def _fifo(w: Path) -> Path:
    os.mkfifo(w / "train_fifo.csv")
    return w / "train_fifo.csv"


def _journal(w: Path, tail: bytes, keep: float = 1.0) -> Path:
    data = (w / "good.journal").read_bytes()
    return _bytes(w, "bad.journal", data[: int(len(data) * keep)] + tail)


def _edited_checkpoint(w: Path, edit: Callable[[dict], None]) -> Path:
    payload = torch.load(w / "model.pt", weights_only=True)
    edit(payload)
    torch.save(payload, w / "edited.pt")
    return w / "edited.pt"


def _edited(path: tuple[str, ...], value) -> Callable[[Path], Path]:
    """A builder of the workspace's checkpoint with payload[path...] set to `value`."""

    def edit(payload: dict) -> None:
        target = payload
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return lambda w: _edited_checkpoint(w, edit)


def _truncated_checkpoint(w: Path) -> Path:
    data = (w / "model.pt").read_bytes()
    return _bytes(w, "cut.pt", data[: len(data) // 2])


def _huge_weights(payload: dict) -> None:  # every weight 1e38: finite, but the predictions overflow
    payload["state_dict"] = {
        k: torch.full_like(v, 1e38) if v.is_floating_point() else v for k, v in payload["state_dict"].items()
    }


def _nan_weights(payload: dict) -> None:
    name = next(iter(payload["state_dict"]))
    payload["state_dict"][name] = torch.full_like(payload["state_dict"][name], float("nan"))


def _path(p: str | Callable[[Path], Path], w: Path) -> Path:
    return w / p if isinstance(p, str) else p(w)


def _predict(
    ckpt: str | Callable[[Path], Path], inp: str | Callable[[Path], Path], out: str | Callable[[Path], Path]
):
    return lambda w: ["predict", "--checkpoint", str(_path(ckpt, w)), "--input", str(_path(inp, w)),
                      "--out", str(_path(out, w))]


def _train(*extra: str, out: str = "trained", before: Callable[[Path], object] | None = None,
           profile: str = "smoke"):
    def argv(w: Path) -> list[str]:
        if before is not None:
            before(w)
        return ["train", "--profile", profile, "--layers", "1", "--kernels", "2", "--epochs", "1", "--quiet",
                "--out", str(w / out), *extra]

    return argv


def _sweep(storage: Callable[[Path], Path] | None, *extra: str):
    def argv(w: Path) -> list[str]:
        where = [] if storage is None else ["--storage", str(storage(w))]
        return ["sweep", "--profile", "smoke", "--no-progress", *where, *extra]

    return argv


def _sweep_with_runs_a_file(w: Path) -> list[str]:
    shutil.rmtree(w / "runs")
    (w / "runs").write_text("a file where the runs folder goes\n")
    return _sweep(lambda w: w / "s.journal")(w)


def _generate(*extra: str, out: str = "data/generated/smoke", before: Callable[[Path], object] | None = None):
    def argv(w: Path) -> list[str]:
        if before is not None:
            before(w)
        return ["generate", "--profile", "smoke", "--quiet", "--out", str(w / out), *extra]

    return argv


def _own_files(w: Path) -> None:
    (w / "mine").mkdir()
    (w / "mine" / "notes.txt").write_text("my notes\n")


def _edit_generated(w: Path) -> None:  # the user replaced a generated CSV with one of their own
    target = w / "data" / "generated" / "smoke" / paths.COURSE_FILES["train_n3"]
    target.write_text(target.read_text().replace("\n", "\n", 1) + target.read_text().splitlines()[0] + "\n")


def _run_all(*extra: str, out: str | Callable[[Path], Path] = "out"):
    def argv(w: Path) -> list[str]:
        folder = out if isinstance(out, str) and out.startswith(("/", "~")) else _path(out, w)
        return ["--output-dir", str(folder), "--notebooks-dir", str(w / "nbs"), "--quiet", "--no-pdf", *extra]

    return argv


def _users_report_folder(w: Path) -> Path:
    folder = w / "my_project"
    (folder / "notebooks").mkdir(parents=True)
    (folder / "notebooks" / "analysis.ipynb").write_text("{}")
    (folder / "figures").mkdir()
    (folder / "figures" / "plot.png").write_bytes(b"\x89PNG mine")
    (folder / "results.json").write_text("{}")
    return folder


def _folder_with_sources(w: Path) -> Path:
    folder = w / "clone"
    (folder / "notebooks").mkdir(parents=True)
    (folder / "notebooks" / "01_data.py").write_text(TINY_NOTEBOOK)
    return folder


def _notebook_reading_course_data(w: Path) -> Path:
    """A notebook that loads the raw data, as notebook 01 does, from the workspace's data/."""
    _course_files_in_data(w, bad=(3, 7, "1e308"))
    (w / "nbs" / "01_tiny.py").write_text(f"""# %% tags=["parameters"]
profile = "quick"

# %%
from pathlib import Path
from convlstm_lib import paths
from convlstm_lib.config import get_profile
from convlstm_lib.data import sources
paths.DATA_DIR = Path({str(w / "data")!r})
sources.load_raw(get_profile(profile), progress=False)
""")
    return w / "out"


@dataclass(frozen=True)
class Case:
    id: str
    argv: Callable[[Path], list[str]]
    message: str  # a piece of the one line on stderr
    entry: str = "cli"  # "cli": python -m convlstm_lib; "run_all": run_all.py
    env: dict[str, str] = field(default_factory=dict)


CASES = [
    # Data that existed must survive the failure.
    Case("generate --n3 501 over a dataset", _generate("--n3", "501"),
         "--n3: 501 sequences need 501 distinct images of digit 3"),
    Case("train --seed -1 (kept the manifest)", _train("--seed", "-1"), "--seed: must be"),
    Case("predict --out = --input (csv)", _predict("model.pt", "train_data_n6.csv", "train_data_n6.csv"),
         "is the input"),
    Case("predict --out = --input (npy)", _predict("model.pt", "pairs.npy", "pairs.npy"), "is the input"),
    Case("predict --out = --input (other spelling)",
         _predict("model.pt", "pairs.npy", lambda w: w / "data" / ".." / "pairs.npy"), "is the input"),
    # The user's own files are never replaced: generate's targets must be its own.
    Case("generate --out data (the course CSVs' folder)",
         _generate(out="data", before=_course_files_in_data), "is the folder of the course CSVs"),
    Case("generate --out a folder of the user's", _generate(out="mine", before=_own_files),
         "holds files generate did not write"),
    Case("generate over a generated CSV the user replaced", _generate(before=_edit_generated),
         "is not the file generate wrote there"),
    # run_all's output folder: only a new, empty or earlier report folder.
    Case("run_all into a folder of the user's", _run_all(out=_users_report_folder),
         "is not empty and holds no earlier report", entry="run_all"),
    Case("run_all --output-dir . (the checkout)", _run_all(out=str(paths.ROOT)), "is the checkout's root",
         entry="run_all"),
    Case("run_all --only 01 --output-dir .", _run_all("--only", "01", out=str(paths.ROOT)),
         "is the checkout's root", entry="run_all"),
    Case("run_all --output-dir /", _run_all(out="/"), "is the file system's root", entry="run_all"),
    Case("run_all --output-dir ~", _run_all(out=str(Path.home())), "is your home folder", entry="run_all"),
    Case("run_all into a folder holding notebook sources", _run_all(out=_folder_with_sources),
         "holds notebook sources", entry="run_all"),
    Case("run_all into the runs folder", _run_all(out=lambda w: w / "runs" / "smoke" / "report"),
         "lies in the runs folder", entry="run_all"),
    Case("run_all with MPLBACKEND=nonexistent", _run_all(), "MPLBACKEND='nonexistent' is not a matplotlib",
         entry="run_all", env={"MPLBACKEND": "nonexistent"}),
    Case("run_all on course data holding 1e308", _run_all(out=_notebook_reading_course_data),
         "notebook 01_tiny.py: CourseDataError: ", entry="run_all"),
    Case("run_all --seed -1", _run_all("--seed", "-1"), "--seed: must be", entry="run_all"),
    # A study's files are its own; a resumed study is the study it was.
    Case("sweep: a study of that name in another storage",
         _sweep(lambda w: w / "good.journal", "--study", "bound"),
         "give this one another --study name"),
    Case("sweep --n-trials other than the study's",
         _sweep(lambda w: w / "counted.journal", "--study", "counted", "--n-trials", "40"),
         "n_trials: 4 -> 40"),
    Case("sweep --study ../escape", _sweep(None, "--study", "../escape"), "study name '../escape'"),
    # Values the course format cannot hold, refused where they are read.
    Case("train on course data holding 1e308",
         _train(before=lambda w: _course_files_in_data(w, (2, 6, "1e308"))),
         "train_data_n6.csv: row 2, column 6: value 1e+308 is far outside the course data's range"),
    Case("inspect a CSV holding -1000", lambda w: ["inspect", str(_filled_csv(w, -1000))],
         "row 1, column 1: value -1000 is far outside"),
    Case("predict a CSV holding 1e300",
         _predict("model.pt", lambda w: _csv_with(w, "train_big.csv", "1e300", 2), "o.csv"),
         "row 2, column 6: value 1e+300 is far outside"),
    # A train run is one run: model.pt and metrics.json together.
    Case("train --out over an earlier run", _train(out="earlier_run"), "holds an earlier run"),
    Case("predict with the model of an earlier run beside a diverged one's metrics",
         _predict("diverged_run/model.pt", "pairs.npy", "o.npy"), "status diverged, no model"),
    Case("train --task extrapolate-99", _train("--task", "extrapolate-99"), "would be mostly padding"),
    Case("train --task interpolate-9", _train("--task", "interpolate-9"), "would be mostly padding"),
    # Unwritable outputs: refused before any work.
    Case("predict --out in a file", _predict("model.pt", "pairs.npy", "a_file/out.npy"), "a_file is a file"),
    Case("predict --out a folder", _predict("model.pt", "pairs.npy", "data"), "is a folder"),
    Case("predict csv -> .npy", _predict("model.pt", "train_data_n6.csv", "out.npy"), "must end in .csv"),
    Case("predict npy -> .csv", _predict("model.pt", "pairs.npy", "out.csv"), "must end in .npy"),
    Case("generate --out a file", _generate(out="a_file"), "a_file: is a file, not a folder"),
    Case("generate --out in a file", _generate(out="a_file/x"), "a_file is a file"),
    Case("train --out a file", _train(out="a_file"), "is a file, not a folder"),
    Case("sweep --storage in a file", _sweep(lambda w: w / "a_file" / "s.journal"), "a_file is a file"),
    # Seeds.
    Case("generate --seed 2**64", _generate("--seed", str(2**64)), "--seed: must be"),
    Case("generate --seed -1", _generate("--seed", "-1"), "--seed: must be"),
    Case("sweep --seed -1", _sweep(None, "--seed", "-1"), "--seed: must be"),
    # Damaged sweep journals that cannot be recovered: refused, left as they were.
    Case("journal of random bytes",
         _sweep(lambda w: _bytes(w, "r.journal", np.random.default_rng(0).bytes(3000))),
         "not an Optuna journal"),
    Case("journal of one garbage line", _sweep(lambda w: _bytes(w, "g.journal", b"hello world\n")),
         "line 1 is not a journal record"),
    Case("journal with an unknown record",
         _sweep(lambda w: _journal(w, b'{"op_code": 99, "worker_id": "x"}\n')), "cannot replay"),
    Case("journal with a JSON list", _sweep(lambda w: _journal(w, b"[1, 2]\n")),
         "is not an Optuna journal record"),
    Case("journal written on after a cut",
         _sweep(lambda w: _journal(w, b'{"op_code":5,"worker_id":"x"}\n', 0.5)), "is not a journal record"),
    Case("journal a FIFO", _sweep(_fifo), "not a regular file"),
    Case("sweep with runs/ a file", _sweep_with_runs_a_file, "runs is a file"),
    Case("sweep --storage a folder", _sweep(lambda w: w / "data"), "is a folder"),
    # Course CSVs and arrays: name the file and the row, say what is wrong.
    Case("predict --input a folder", _predict("model.pt", "data", "o.csv"), "is a folder, not a CSV"),
    Case("predict --input missing", _predict("model.pt", "none.csv", "o.csv"), "file not found"),
    Case("inspect a folder", lambda w: ["inspect", str(w / "data")], "is a folder, not a CSV"),
    Case("inspect /dev/null", lambda w: ["inspect", "/dev/null"], "/dev/null: is a device, not a regular"),
    Case("inspect a FIFO", lambda w: ["inspect", str(_fifo(w))], "is a FIFO (named pipe), not a regular"),
    Case("inspect -", lambda w: ["inspect", "-"], "(standard input) is not read"),
    Case("predict --checkpoint /dev/null", _predict(lambda w: Path("/dev/null"), "pairs.npy", "o.npy"),
         "is a device"),
    Case("predict --input -", _predict("model.pt", lambda w: Path("-"), "o.npy"), "(standard input) is not"),
    Case("a semicolon-separated CSV", lambda w: ["inspect", str(_delimited_csv(w, ";"))],
         "row 1 has 1 values, expected 1296 (one 36x36 image); its values are separated by semicolons"),
    Case("a tab-separated CSV", lambda w: ["inspect", str(_delimited_csv(w, "\t"))], "separated by tabs"),
    Case("1_000 in a CSV", lambda w: ["inspect", str(_csv_with(w, "train_u.csv", "1_000", row=3))],
         "row 3, column 6: '1_000' is not a number"),
    Case("predict a CSV far outside the model's range",
         _predict("model.pt", lambda w: _filled_csv(w, -315), "o.csv"),
         "far outside the range the model was trained on"),
    Case("predict a .npy of 1e300",
         _predict("model.pt", lambda w: _npy(w, np.full((2, 2, 36, 36), 1e300)), "o.npy"),
         "pair 0 holds values"),
    Case("predict a random .npy",
         _predict("model.pt", lambda w: _bytes(w, "r.npy", b"\x80\x04random"), "o.npy"),
         "not a NumPy .npy file"),
    Case("predict an .npz renamed .npy", _predict("model.pt", _npz_as_npy, "o.npy"), "zip archive"),
    # Devices: checked before any data are prepared or any trial is created.
    Case("train --device nosuch", _train("--device", "nosuch"), "not a torch device"),
    Case("train --device cuda (CPU torch)", _train("--device", "cuda"), "--device cuda: "),
    Case("train --device cuda:7", _train("--device", "cuda:7"), "--device cuda:7: "),
    Case("sweep --device nosuch", _sweep(None, "--device", "nosuch"), "not a torch device"),
    Case("sweep --device cuda (CPU torch)", _sweep(None, "--device", "cuda"), "--device cuda: "),
    # Worker counts and budgets: checked before the study or any data are touched.
    Case("sweep --workers 0", _sweep(None, "--workers", "0"), "--workers: must be a whole number >= 1"),
    Case("sweep --workers more than the memory holds", _sweep(None, "--workers", "1000000"),
         "--workers 1000000: this CPU"),
    Case("sweep --budget-minutes 0", _sweep(None, "--budget-minutes", "0"),
         "--budget-minutes: must be a positive number of minutes, got '0'"),
    Case("run_all --budget-minutes -5", _run_all("--budget-minutes", "-5"),
         "--budget-minutes: must be a positive number of minutes, got '-5'", entry="run_all"),
    Case("run_all --budget-minutes five", _run_all("--budget-minutes", "five"),
         "--budget-minutes: must be a positive number of minutes, got 'five'", entry="run_all"),
    Case("generate with MPLBACKEND=nonexistent", _generate(), "MPLBACKEND='nonexistent'",
         env={"MPLBACKEND": "nonexistent"}),
    # Checkpoints: damaged or hand-edited, each field checked.
    Case("predict --checkpoint a folder", _predict("data", "pairs.npy", "o.npy"), "is a folder"),
    Case("predict --checkpoint truncated", _predict(_truncated_checkpoint, "pairs.npy", "o.npy"),
         "truncated or damaged"),
    Case("predict --checkpoint random bytes",
         _predict(lambda w: _bytes(w, "r.pt", b"\x80\x02random bytes"), "pairs.npy", "o.npy"),
         "not a torch checkpoint"),
    Case("checkpoint scaler lo = hi", _predict(_edited(("scaler", "hi"), -20.0), "pairs.npy", "o.npy"),
         "lo < hi"),
    Case("checkpoint scaler NaN", _predict(_edited(("scaler", "lo"), float("nan")), "pairs.npy", "o.npy"),
         "lo < hi"),
    Case("checkpoint scaler a string", _predict(_edited(("scaler", "lo"), "zero"), "pairs.npy", "o.npy"),
         "lo < hi"),
    Case("checkpoint metrics a list", _predict(_edited(("metrics",), [0.1, 0.2]), "pairs.npy", "o.npy"),
         "metrics must map names to numbers"),
    Case("checkpoint trial record a string", _predict(_edited(("trial",), "trial 3"), "pairs.npy", "o.npy"),
         "trial must be {study: text, number: integer, seed: integer}"),
    Case("checkpoint NaN weights",
         _predict(lambda w: _edited_checkpoint(w, _nan_weights), "pairs.npy", "o.npy"),
         "holds NaN or infinite values"),
    Case("checkpoint weights of another model", _predict(_edited(("model_config", "kernels"), 3), "pairs.npy",
                                                         "o.npy"), "the model config needs"),
    Case("predictions not finite",
         _predict(lambda w: _edited_checkpoint(w, _huge_weights), "pairs.npy", "o.npy"),
         "predictions are not finite"),
    Case("checkpoint unknown status", _predict(_edited(("status",), "great"), "pairs.npy", "o.npy"),
         "status 'great'"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_loses_nothing(base, tmp_path, monkeypatch, capsys, case):
    w = tmp_path / "w"
    shutil.copytree(base, w)
    _redirect(monkeypatch, w)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    argv = case.argv(w)  # builds the bad files first: they are part of "before"
    before = _snapshot(w, paths.NOTEBOOKS_DIR)
    capsys.readouterr()
    code = cli.main(argv) if case.entry == "cli" else run_all.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    prefix = "error: " if case.entry == "cli" else "run_all: error: "
    assert err.startswith(prefix) and err.count("\n") == 1, err
    assert case.message in err, err
    for word in ("weights_only", "unsafe", "allow_pickle", "Traceback"):
        assert word not in err
    assert _snapshot(w, paths.NOTEBOOKS_DIR) == before


# ---------------------------------------------------------------------------------------------
# Faults of the environment, in real processes


def _unprivileged() -> list[str]:
    """A command prefix that runs a process without root's permission override (as root), else []."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a chmod cannot deny root")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def _denied(relative: str, mode: int) -> Callable[[Path], Path]:
    def make(w: Path) -> Path:
        os.chmod(w / relative, mode)
        return w / relative

    return make


def _disk_full_at(size: int) -> Callable[[], None]:
    """In the child: no file may grow past `size` bytes, as if the disk filled up there."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails (EFBIG) rather than killing it

    return limit


@dataclass(frozen=True)
class ProcessCase:
    id: str
    argv: Callable[[Path], list[str]]
    message: str
    denied: Callable[[Path], Path] | None = None  # made unreadable/unwritable before the run
    full_disk: int = 0  # bytes a file may grow to (0: no limit)


PROCESS_CASES = [
    ProcessCase("inspect an unreadable CSV", lambda w: ["inspect", str(w / "train_data_n6.csv")],
                "train_data_n6.csv: cannot be read (Permission denied)",
                denied=_denied("train_data_n6.csv", 0)),
    ProcessCase("predict with an unreadable checkpoint", _predict("model.pt", "pairs.npy", "o.npy"),
                "model.pt: cannot be read (Permission denied)", denied=_denied("model.pt", 0)),
    ProcessCase("sweep on an unreadable journal", _sweep(lambda w: w / "good.journal"),
                "good.journal: cannot be read and written (permission denied)",
                denied=_denied("good.journal", 0)),
    ProcessCase("train when data must be made and data/ is read-only", _train(out="t", profile="quick"),
                "the generated data's folder", denied=_denied("data/generated", 0o555)),
    ProcessCase("generate on a full disk", _generate(out="fresh"), "cannot be written (File too large)",
                full_disk=64 * 1024),  # the CSVs are larger
    ProcessCase("train on a full disk", _train(out="t"), "model.pt: cannot be written (File too large)",
                full_disk=16 * 1024),  # the checkpoint is larger, metrics.json smaller
]


@pytest.mark.slow  # real processes: each imports the library (and torch) afresh
@pytest.mark.parametrize("case", PROCESS_CASES, ids=[c.id for c in PROCESS_CASES])
def test_environment_faults_are_one_line_exit_2_and_lose_nothing(base, tmp_path, cli_command, case):
    w = tmp_path / "w"
    shutil.copytree(base, w)
    argv = case.argv(w)
    prefix = _unprivileged() if case.denied is not None else []
    before = _snapshot(w)
    denied = case.denied(w) if case.denied is not None else None
    limit = _disk_full_at(case.full_disk) if case.full_disk else None
    try:
        proc = subprocess.run([*prefix, *cli_command(w, *argv)], capture_output=True, text=True,
                              cwd=paths.ROOT, timeout=300, preexec_fn=limit)
    finally:
        if denied is not None:
            os.chmod(denied, 0o755 if denied.is_dir() else 0o644)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr[-3000:]
    assert case.message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert _snapshot(w) == before


@pytest.mark.slow  # a fresh interpreter imports torch: about 10 s here
def test_the_one_line_is_all_a_real_process_prints(base, tmp_path):
    """The table runs in-process; this checks one case end to end (no warnings, no traceback)."""
    w = tmp_path / "w"
    shutil.copytree(base, w)
    argv = _predict("model.pt", lambda w: _filled_csv(w, -315), "o.csv")(w)
    before = _snapshot(w)
    proc = subprocess.run([sys.executable, "-m", "convlstm_lib", *argv], capture_output=True, text=True,
                          cwd=paths.ROOT, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "far outside" in proc.stderr
    assert _snapshot(w) == before
