"""train CLI: model.pt and strict-JSON metrics.json, one cut of the training set, one-line errors."""
from __future__ import annotations

import json
import subprocess

import pytest

from convlstm_lib import paths
from convlstm_lib.training.checkpoints import load_checkpoint


@pytest.mark.slow
def test_train_cli_writes_model_and_metrics(tmp_path, cli_command):
    out = tmp_path / "run"
    proc = subprocess.run(
        cli_command(  # a real process; the smoke data are generated under tmp_path, not in data/
            tmp_path,
            "train",
            "--profile",
            "smoke",
            "--dataset",
            "processed",
            "--layers",
            "1",
            "--kernels",
            "4",
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--lr",
            "0.01",
            "--optimizer",
            "Adam",
            "--seed",
            "0",
            "--max-train-windows",
            "150",
            "--lr-schedule",
            "linear",
            "--frames-as-channels",
            "--drop-jump-targets",
            "--out",
            str(out),
            "--quiet",
        ),
        cwd=paths.ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]  # 1: the run collapsed (a valid outcome)
    def no_bare_constants(name):
        raise AssertionError(f"metrics.json holds a bare {name}: not strict JSON")

    summary = json.loads((out / "metrics.json").read_text(), parse_constant=no_bare_constants)
    assert summary["status"] in ("complete", "collapsed")
    # the smoke profile cuts to 64 windows; --max-train-windows 150 must train on 150 (one cut, not two)
    assert summary["train_windows"] == 150 and summary["train_config"]["max_train_windows"] == 150
    assert summary["train_config"]["lr_schedule"] == "linear"
    assert "n6_test_mse" in summary["metrics"] and "n6_test_mse" in proc.stdout
    assert summary["train_config"]["drop_jump_targets"] and summary["model_config"]["frames_as_channels"]
    checkpoint = load_checkpoint(out / "model.pt")
    assert checkpoint.model_config.kernels == 4 and checkpoint.model_config.frames_as_channels


def test_train_cli_bad_parameter_is_one_line_exit_2(tmp_path, project_dirs, run_cli):
    proc = run_cli("train", "--layers", "9", "--out", tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "layers" in proc.stderr and "Traceback" not in proc.stderr


def test_train_cli_unknown_model_and_emulated_bf16_are_one_line_exit_2(tmp_path, project_dirs, run_cli):
    import torch

    from convlstm_lib.training.precision import native_bf16

    cases = [(["--model", "tau"], "model"), (["--lr-schedule", "cosine"], "lr_schedule"),
             (["--model", "simvp", "--frames-as-channels"], "frames_as_channels"),
             (["--task", "interpolate-2", "--drop-jump-targets"], "drop_jump_targets")]
    if not native_bf16(torch.device("cpu")):
        cases.append((["--precision", "bf16"], "precision bf16"))
    for extra, word in cases:
        proc = run_cli("train", *extra, "--out", tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().count("\n") == 0 and word in proc.stderr and "Traceback" not in proc.stderr


def test_a_run_folder_is_replaced_whole_or_not_at_all(tmp_path, project_dirs, run_cli):
    """An earlier run is refused without --overwrite; with it, a run that diverges leaves no model
    of the earlier run beside its metrics (predict would take it for this run's)."""
    out = tmp_path / "run"
    tiny = ("--profile", "smoke", "--layers", "1", "--kernels", "2", "--epochs", "1", "--quiet", "--out", out)
    first = run_cli("train", *tiny)
    assert first.returncode in (0, 1), first.stderr  # 1: collapsed, a valid outcome
    ran = json.loads((out / "metrics.json").read_text())
    assert load_checkpoint(out / "model.pt").run_id == ran["run_id"]
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = run_cli("train", *tiny)
    assert again.returncode == 2 and "holds an earlier run (model.pt, metrics.json)" in again.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    diverging = ("--optimizer", "SGD", "--lr", "1e30", "--activation", "tanh")
    replaced = run_cli("train", *tiny, *diverging, "--overwrite")
    assert replaced.returncode == 1 and "(no model: diverged)" in replaced.stdout
    assert json.loads((out / "metrics.json").read_text())["status"] == "diverged"
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json"]


def test_train_cli_refuses_an_unknown_task_in_one_line(tmp_path, capsys):
    from convlstm_lib import cli

    assert cli.main(["train", "--task", "sideways-2", "--profile", "smoke", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--task" in err and "sideways" in err
    assert not any(tmp_path.iterdir())
