"""Bad input never destroys data: every CLI failure is one line on stderr, exit 2, and leaves
every file that was there before byte for byte as it was (nothing new half-written either).

One table (`CASES`): each row builds a command line against a workspace (a generated smoke
dataset, a checkpoint, course CSVs, a sweep journal) copied fresh into a temporary folder;
the command runs through `cli.main`, and the workspace is compared before and after. The data
paths (data/generated, data/processed, runs) point into the workspace for every case.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
import pytest
import torch

from convlstm_lib import cli, paths
from convlstm_lib.data import course_io
from convlstm_lib.data.generator import write_dataset
from convlstm_lib.data.preprocessing import Scaler
from convlstm_lib.models.build import build_model
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.training.checkpoints import save_checkpoint
from convlstm_lib.training.settings import TrainConfig

CFG = ModelConfig(layers=1, kernels=2)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """The workspace every case starts from (built once, copied per case)."""
    root = tmp_path_factory.mktemp("workspace")
    write_dataset(root / "data" / "generated" / "smoke", seed=0, n6=24, n3=8, progress=False)
    save_checkpoint(
        root / "model.pt",
        build_model(CFG, seed=0),
        CFG,
        TrainConfig(),
        Scaler(-20.0, 270.0),
        {"n6_test_mse": 0.01},
        "complete",
    )
    train = course_io.read_course_csv(root / "data" / "generated" / "smoke" / "train_data_n6.csv")
    course_io.write_course_csv(root / "train_data_n6.csv", train[:2])
    np.save(root / "pairs.npy", train[:2, :2])
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(root / "good.journal"))
    )
    study = optuna.create_study(study_name="convlstm-smoke", storage=storage)
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=2)
    (root / "a_file").write_text("a file, not a folder\n")
    return root


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


# Builders of bad files inside the workspace `w`; each returns the path it made.
def _csv_with(w: Path, name: str, value: str, row: int = 1) -> Path:
    lines = (w / "train_data_n6.csv").read_text().splitlines()
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


def _npy(w: Path, array: np.ndarray, name: str = "bad.npy") -> Path:
    np.save(w / name, array)
    return w / name


def _npz_as_npy(w: Path) -> Path:
    np.savez(w / "pairs_archive.npz", a=np.zeros((1, 2, 36, 36)))
    return (w / "pairs_archive.npz").rename(w / "archive.npy")


def _bytes(w: Path, name: str, data: bytes) -> Path:
    (w / name).write_bytes(data)
    return w / name


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


def _predict(
    ckpt: str | Callable[[Path], Path], inp: Callable[[Path], Path], out: str | Callable[[Path], Path]
):
    def argv(w: Path) -> list[str]:
        c = w / ckpt if isinstance(ckpt, str) else ckpt(w)
        o = w / out if isinstance(out, str) else out(w)
        return ["predict", "--checkpoint", str(c), "--input", str(inp(w)), "--out", str(o)]

    return argv


def _train(*extra: str, out: str = "trained"):
    return lambda w: [
        "train",
        "--profile",
        "smoke",
        "--layers",
        "1",
        "--kernels",
        "2",
        "--epochs",
        "1",
        "--quiet",
        "--out",
        str(w / out),
        *extra,
    ]


def _sweep(storage: Callable[[Path], Path] | None, *extra: str):
    def argv(w: Path) -> list[str]:
        where = [] if storage is None else ["--storage", str(storage(w))]
        return ["sweep", "--profile", "smoke", "--no-progress", *where, *extra]

    return argv


def _sweep_with_runs_a_file(w: Path) -> list[str]:
    (w / "runs").write_text("a file where the runs folder goes\n")
    return _sweep(lambda w: w / "s.journal")(w)


def _generate(*extra: str, out: str = "data/generated/smoke"):
    return lambda w: ["generate", "--profile", "smoke", "--quiet", "--out", str(w / out), *extra]


def _pairs(w: Path) -> Path:
    return w / "pairs.npy"


def _train_csv(w: Path) -> Path:
    return w / "train_data_n6.csv"


@dataclass(frozen=True)
class Case:
    id: str
    argv: Callable[[Path], list[str]]
    message: str  # a piece of the one line on stderr


CASES = [
    # Data that existed must survive the failure.
    Case(
        "generate --n3 501 over a dataset",
        _generate("--n3", "501"),
        "--n3: 501 sequences need 501 distinct images of digit 3",
    ),
    Case("train --seed -1 (kept the manifest)", _train("--seed", "-1"), "--seed: must be"),
    Case(
        "predict --out = --input (csv)", _predict("model.pt", _train_csv, "train_data_n6.csv"), "is the input"
    ),
    Case("predict --out = --input (npy)", _predict("model.pt", _pairs, "pairs.npy"), "is the input"),
    Case(
        "predict --out = --input (other spelling)",
        _predict("model.pt", _pairs, lambda w: w / "data" / ".." / "pairs.npy"),
        "is the input",
    ),
    # Unwritable outputs: refused before any work.
    Case("predict --out in a file", _predict("model.pt", _pairs, "a_file/out.npy"), "a_file is a file"),
    Case("predict --out a folder", _predict("model.pt", _pairs, "data"), "is a folder"),
    Case("predict csv -> .npy", _predict("model.pt", _train_csv, "out.npy"), "must end in .csv"),
    Case("predict npy -> .csv", _predict("model.pt", _pairs, "out.csv"), "must end in .npy"),
    Case("generate --out a file", _generate(out="a_file"), "a_file: is a file, not a folder"),
    Case("generate --out in a file", _generate(out="a_file/x"), "a_file is a file"),
    Case("train --out a file", _train(out="a_file"), "is a file, not a folder"),
    Case("sweep --storage in a file", _sweep(lambda w: w / "a_file" / "s.journal"), "a_file is a file"),
    # Seeds.
    Case("generate --seed 2**64", _generate("--seed", str(2**64)), "--seed: must be"),
    Case("generate --seed -1", _generate("--seed", "-1"), "--seed: must be"),
    Case("sweep --seed -1", _sweep(None, "--seed", "-1"), "--seed: must be"),
    # Damaged sweep journals that cannot be recovered: refused, left as they were.
    Case(
        "journal of random bytes",
        _sweep(lambda w: _bytes(w, "r.journal", np.random.default_rng(0).bytes(3000))),
        "not an Optuna journal",
    ),
    Case(
        "journal of one garbage line",
        _sweep(lambda w: _bytes(w, "g.journal", b"hello world\n")),
        "line 1 is not a journal record",
    ),
    Case(
        "journal with an unknown record",
        _sweep(lambda w: _journal(w, b'{"op_code": 99, "worker_id": "x"}\n')),
        "cannot replay",
    ),
    Case(
        "journal with a JSON list",
        _sweep(lambda w: _journal(w, b"[1, 2]\n")),
        "is not an Optuna journal record",
    ),
    Case(
        "journal written on after a cut",
        _sweep(lambda w: _journal(w, b'{"op_code":5,"worker_id":"x"}\n', 0.5)),
        "is not a journal record",
    ),
    Case("sweep with runs/ a file", _sweep_with_runs_a_file, "runs is a file"),
    Case("sweep --storage a folder", _sweep(lambda w: w / "data"), "is a folder"),
    # Course CSVs and arrays: name the file and the row, say what is wrong.
    Case(
        "predict --input a folder",
        _predict("model.pt", lambda w: w / "data", "o.csv"),
        "is a folder, not a CSV",
    ),
    Case(
        "predict --input missing", _predict("model.pt", lambda w: w / "none.csv", "o.csv"), "file not found"
    ),
    Case("inspect a folder", lambda w: ["inspect", str(w / "data")], "is a folder, not a CSV"),
    Case(
        "1_000 in a CSV",
        lambda w: ["inspect", str(_csv_with(w, "train_u.csv", "1_000", row=3))],
        "row 3, column 6: '1_000' is not a number",
    ),
    Case(
        "predict a CSV holding 1e300",
        _predict("model.pt", lambda w: _csv_with(w, "train_big.csv", "1e300", 2), "o.csv"),
        "row 2 holds values",
    ),
    Case(
        "predict a CSV of all -1000",
        _predict("model.pt", lambda w: _filled_csv(w, -1000), "o.csv"),
        "far outside the range the model was trained on",
    ),
    Case(
        "predict a .npy of 1e300",
        _predict("model.pt", lambda w: _npy(w, np.full((2, 2, 36, 36), 1e300)), "o.npy"),
        "pair 0 holds values",
    ),
    Case(
        "predict a random .npy",
        _predict("model.pt", lambda w: _bytes(w, "r.npy", b"\x80\x04random"), "o.npy"),
        "not a NumPy .npy file",
    ),
    Case("predict an .npz renamed .npy", _predict("model.pt", _npz_as_npy, "o.npy"), "zip archive"),
    # Devices: checked before any data are prepared or any trial is created.
    Case("train --device nosuch", _train("--device", "nosuch"), "not a torch device"),
    Case("train --device cuda (CPU torch)", _train("--device", "cuda"), "--device cuda: "),
    Case("train --device cuda:7", _train("--device", "cuda:7"), "--device cuda:7: "),
    Case("sweep --device nosuch", _sweep(None, "--device", "nosuch"), "not a torch device"),
    Case("sweep --device cuda (CPU torch)", _sweep(None, "--device", "cuda"), "--device cuda: "),
    # Checkpoints: damaged or hand-edited, each field checked.
    Case("predict --checkpoint a folder", _predict("data", _pairs, "o.npy"), "is a folder"),
    Case(
        "predict --checkpoint truncated",
        _predict(_truncated_checkpoint, _pairs, "o.npy"),
        "truncated or damaged",
    ),
    Case(
        "predict --checkpoint random bytes",
        _predict(lambda w: _bytes(w, "r.pt", b"\x80\x02random bytes"), _pairs, "o.npy"),
        "not a torch checkpoint",
    ),
    Case("checkpoint scaler lo = hi", _predict(_edited(("scaler", "hi"), -20.0), _pairs, "o.npy"), "lo < hi"),
    Case(
        "checkpoint scaler NaN", _predict(_edited(("scaler", "lo"), float("nan")), _pairs, "o.npy"), "lo < hi"
    ),
    Case(
        "checkpoint scaler a string", _predict(_edited(("scaler", "lo"), "zero"), _pairs, "o.npy"), "lo < hi"
    ),
    Case(
        "checkpoint metrics a list",
        _predict(_edited(("metrics",), [0.1, 0.2]), _pairs, "o.npy"),
        "metrics must map names to numbers",
    ),
    Case(
        "checkpoint NaN weights",
        _predict(lambda w: _edited_checkpoint(w, _nan_weights), _pairs, "o.npy"),
        "holds NaN or infinite values",
    ),
    Case(
        "checkpoint weights of another model",
        _predict(_edited(("model_config", "kernels"), 3), _pairs, "o.npy"),
        "the model config needs",
    ),
    Case(
        "predictions not finite",
        _predict(lambda w: _edited_checkpoint(w, _huge_weights), _pairs, "o.npy"),
        "predictions are not finite",
    ),
    Case(
        "checkpoint unknown status",
        _predict(_edited(("status",), "great"), _pairs, "o.npy"),
        "status 'great'",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_loses_nothing(base, tmp_path, monkeypatch, capsys, case):
    w = tmp_path / "w"
    shutil.copytree(base, w)
    monkeypatch.setattr(paths, "DATA_DIR", w / "data")
    monkeypatch.setattr(paths, "GENERATED_DIR", w / "data" / "generated")
    monkeypatch.setattr(paths, "PROCESSED_DIR", w / "data" / "processed")
    monkeypatch.setattr(paths, "RUNS_DIR", w / "runs")
    argv = case.argv(w)  # builds the bad files first: they are part of "before"
    before = _snapshot(w)
    capsys.readouterr()
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert case.message in err, err
    for word in ("weights_only", "unsafe", "allow_pickle", "Traceback"):
        assert word not in err
    assert _snapshot(w) == before


@pytest.mark.slow  # a fresh interpreter imports torch: about 10 s here
def test_the_one_line_is_all_a_real_process_prints(base, tmp_path):
    """The table runs in-process; this checks one case end to end (no warnings, no traceback)."""
    w = tmp_path / "w"
    shutil.copytree(base, w)
    argv = _predict("model.pt", lambda w: _filled_csv(w, 1e300), "o.csv")(w)
    before = _snapshot(w)
    proc = subprocess.run(
        [sys.executable, "-m", "convlstm_lib", *argv],
        capture_output=True,
        text=True,
        cwd=paths.ROOT,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "far outside" in proc.stderr
    assert _snapshot(w) == before


def test_inspect_warns_in_one_line_about_values_far_outside_the_course_range(base, tmp_path, capsys):
    w = tmp_path
    for value in (-1000.0, 1e300):
        assert cli.main(["inspect", str(_filled_csv(w, value))]) == 0
        out, err = capsys.readouterr()
        assert err.startswith("warning: ") and err.count("\n") == 1 and "far outside the course data" in err
        assert f"{value:g}" in out
    assert cli.main(["inspect", str(base / "train_data_n6.csv")]) == 0
    assert capsys.readouterr().err == ""
