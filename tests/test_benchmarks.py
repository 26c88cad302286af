"""The benchmarks' own contracts: agreement checks that can fail, the keys they report."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from convlstm_lib.models.build import build_model
from convlstm_lib.models.settings import ModelConfig


def test_speed_benchmark_checks_agreement_and_reports_the_contract_keys():
    from benchmarks import train_step

    result = train_step.benchmark(ModelConfig(layers=2, kernels=3), batch=2, repeats=1, warmup=0)
    for key in ("speedup", "samples_per_s", "naive_samples_per_s", "config"):
        assert key in result
    assert result["max_output_diff"] < 1e-4 and result["max_grad_rel_diff"] < 1e-4
    assert result["speedup"] == pytest.approx(result["samples_per_s"] / result["naive_samples_per_s"])
    assert result["config"]["batch_size"] == 2 and result["config"]["kernels"] == 3
    assert result["conv_s"] > 0
    assert result["speedup_bound"] == pytest.approx(result["naive_step_s"] / result["conv_s"])


def test_convolution_seconds_counts_only_convolutions():
    """The bound's denominator: a network without convolutions spends no time in them."""
    from benchmarks import train_step

    x, y = torch.rand(4, 2, 1, 36, 36), torch.rand(4, 1, 36, 36)
    no_conv = torch.nn.Sequential(torch.nn.Flatten(0, 1), torch.nn.Tanh(), torch.nn.Unflatten(0, (4, 2)))
    scale = torch.nn.Parameter(torch.ones(1))

    def net(inp):
        return no_conv(inp)[:, -1] * scale

    assert train_step.convolution_seconds(net, torch.optim.SGD([scale], 0.1), x, y, steps=1) == 0
    model = build_model(ModelConfig(layers=2, kernels=6))
    assert train_step.convolution_seconds(model, torch.optim.SGD(model.parameters(), 0.1), x, y, steps=1) > 0


def test_winograd_alternative_in_the_benchmarks_is_a_correct_convolution():
    """benchmarks/conv_alternatives.py times a Winograd F(4x4, 3x3) convolution: it must be one."""
    from benchmarks.conv_alternatives import winograd_conv3x3

    torch.manual_seed(0)
    x, w, b = torch.randn(2, 5, 8, 12), torch.randn(7, 5, 3, 3), torch.randn(7)
    torch.testing.assert_close(winograd_conv3x3(x, w, b), F.conv2d(x, w, b, padding=1), atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="multiples of 4"):
        winograd_conv3x3(torch.randn(1, 5, 6, 8), w)


def test_the_peer_design_is_a_convlstm_without_peepholes():
    """benchmarks/peers.py's ndrplz-style cell equals the library's ConvLSTM with zero peepholes."""
    from benchmarks.peers import PeerModel

    torch.manual_seed(0)
    config = ModelConfig(layers=2, kernels=3)
    ours, peer = build_model(config, fused=False), PeerModel(config)
    k = config.kernels
    with torch.no_grad():
        for mine, theirs in zip(ours.cells, peer.cells, strict=True):
            for name in ("w_ci", "w_cf", "w_co"):
                getattr(mine, name).zero_()
            w = torch.cat((mine.conv_x.weight, mine.conv_h.weight), dim=1).split(k)  # blocks i, c, o, f
            b = mine.conv_x.bias.split(k)
            order = (0, 3, 2, 1)  # the peer's blocks i, f, o, g
            theirs.conv.weight.copy_(torch.cat([w[j] for j in order]))
            theirs.conv.bias.copy_(torch.cat([b[j] for j in order]))
        peer.norms.load_state_dict(ours.norms.state_dict())
        peer.head.load_state_dict(ours.head.state_dict())
    x = torch.rand(2, 3, 1, 36, 36)
    torch.testing.assert_close(peer(x), ours(x), atol=1e-5, rtol=1e-4)


def test_peer_benchmark_reports_the_ratio_of_its_own_timings():
    from benchmarks import peers

    result = peers.benchmark(ModelConfig(layers=1, kernels=3), batch=2, repeats=1, warmup=0)
    assert result["ratio"] == pytest.approx(result["library_samples_per_s"] / result["peer_samples_per_s"])
    assert result["library_params"] > result["peer_params"]  # the peepholes


def test_bf16_qualifies_only_when_native_faster_and_as_accurate(monkeypatch):
    from benchmarks import precision as bench

    cpu = torch.device("cpu")
    good = {"step_speedup": 2.0, "bf16_qualifies": True}
    monkeypatch.setattr(bench, "native_bf16", lambda device: True)
    assert bench.qualifies(cpu, {"quick": good, "paper": {"step_speedup": 3.0}})
    assert not bench.qualifies(cpu, {"quick": {**good, "bf16_qualifies": False}})
    assert not bench.qualifies(cpu, {"quick": good, "paper": {"step_speedup": 0.5}})
    assert not bench.qualifies(cpu, {"paper": {"step_speedup": 3.0}})  # no trained comparison: no verdict
    monkeypatch.setattr(bench, "native_bf16", lambda device: False)
    assert not bench.qualifies(cpu, {"quick": good})


def test_corruption_benchmark_times_every_noise_kind_and_refuses_a_bad_count(capsys):
    import numpy as np

    from benchmarks import corruption as bench
    from convlstm_lib.data.corruption import NOISE_KINDS

    seconds = bench.seconds_per_level(np.zeros((4, 2, 8, 8), np.float32), levels=3, repeats=2)
    assert set(seconds) == set(NOISE_KINDS) and all(0 < s < 10 for s in seconds.values())
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--levels", "1"])
    assert exit_info.value.code == 2 and "--levels: must be >= 2" in capsys.readouterr().err


# --- benchmarks/gpu_throughput.py: the GPU levers, their CPU-runnable parts ------------------


def test_gpu_levers_are_ratios_of_their_own_timings_and_bf16_needs_a_native_device():
    from benchmarks import gpu_throughput
    from convlstm_lib.training.precision import native_bf16

    cpu = torch.device("cpu")
    seen = []
    out = gpu_throughput.measure(cpu, ["tiny"], ["resident", "sync", "bf16"], steps=2, rounds=1,
                                 workers=[1], seconds=1.0, memory_configs=["largest"],
                                 on_result=lambda r: seen.append(r))
    tiny = out["tiny"]
    for lever in ("resident", "sync"):
        r = tiny[lever]
        assert r["ratio"] == pytest.approx(r["baseline_step_s"] / r["lever_step_s"]) and r["lever_step_s"] > 0
    if not native_bf16(cpu):
        assert tiny["bf16"] == {"skipped": "no native bf16 on this device"}
    assert "memory" not in tiny and "largest" not in out  # peak memory is measured on CUDA only
    assert len(seen) == 3 and seen[-1] is out  # the results so far, after each measurement


def test_the_resident_lever_moves_only_where_the_windows_live():
    """Both sides of the resident lever train on the same windows in the same order: the same weights."""
    from benchmarks.gpu_throughput import CONFIGS, Trainer

    config, batch = CONFIGS["tiny"]
    weights = []
    for resident in (True, False):
        trainer = Trainer(config, batch, torch.device("cpu"))
        trainer.run(3, resident=resident, sync_each=not resident)
        weights.append([p.detach().clone() for p in trainer.model.parameters()])
    for a, b in zip(*weights, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_interleaved_rounds_alternate_the_order():
    from benchmarks.gpu_throughput import interleaved

    order = []
    runs = {"a": lambda: order.append("a") or 1.0, "b": lambda: order.append("b") or 3.0}
    med = interleaved(runs, rounds=3)
    assert order == ["a", "b", "b", "a", "a", "b"] and med == {"a": 1.0, "b": 3.0}


@pytest.mark.slow  # spawns worker processes (each imports torch)
def test_the_concurrency_lever_adds_up_the_processes_at_once():
    from benchmarks.gpu_throughput import CONFIGS, concurrency

    config, batch = CONFIGS["tiny"]
    out = concurrency(config, batch, torch.device("cpu"), [1, 2], seconds=0.5)
    assert set(out) == {"1", "2"} and out["1"]["ratio_to_one"] == 1.0
    assert len(out["2"]["per_process"]) == 2
    assert out["2"]["steps_per_s"] == pytest.approx(sum(out["2"]["per_process"]))
    assert out["2"]["ratio_to_one"] == pytest.approx(out["2"]["steps_per_s"] / out["1"]["steps_per_s"])


# --- benchmarks/paper_gpu.py: the prepared GPU run -------------------------------------------


def _study_files(cfg, rows: list[dict], wall_s: float, workers: int) -> None:
    import pandas as pd

    from convlstm_lib.experiments.sweep_record import TRIAL_COLUMNS, summarise
    from convlstm_lib.experiments.sweep_storage import study_folder
    from convlstm_lib.jsonio import write_json

    frame = pd.DataFrame([{c: row.get(c) for c in TRIAL_COLUMNS} for row in rows], columns=TRIAL_COLUMNS)
    folder = study_folder(cfg)
    folder.mkdir(parents=True)
    frame.to_csv(folder / "trials.csv", index=False)
    summary = {"config": {**cfg.to_dict(), "workers": workers}, "wall_s_this_run": wall_s,
               "n_trials": cfg.n_trials, "sweep_budget_s": cfg.sweep_budget_s, **summarise(frame)}
    summary["stopped_by_budget"] = summary["counted"] < cfg.n_trials
    write_json(folder / "sweep.json", summary)


def test_paper_gpu_projects_the_whole_search_from_the_trials_that_ran(project_dirs):
    from benchmarks import paper_gpu
    from convlstm_lib.config import get_profile

    cfg = get_profile("paper", budget_minutes=5)
    rows = [{"number": k, "state": "COMPLETE", "status": "complete", "runtime_s": s,
             "val_mse": 2e-3 * (k + 1), "n6_test_mse": 1e-3 * (k + 1)}
            for k, s in enumerate((40.0, 60.0, 100.0))]
    rows.append({"number": 3, "state": "FAIL", "status": "failed", "runtime_s": 0.1})  # SparseAdam: counted
    _study_files(cfg, rows, wall_s=300.0, workers=3)
    result = paper_gpu.summarise(cfg, "NVIDIA H100 80GB HBM3", "fp32", "abc123")
    assert (result["trials_complete"], result["trials_counted"], result["n_trials"]) == (3, 4, 200)
    assert result["median_trial_s"] == 60.0 and result["workers"] == 3 and result["epochs"] == 20
    assert result["trials_per_gpu_hour"] == pytest.approx(4 / (300 / 3600))  # 48 a GPU-hour
    assert result["projected_gpu_hours"] == pytest.approx(200 / 48)
    assert result["stopped_by_budget"] and result["budget_minutes"] == 5
    assert result["best_n6_test_mse"] == 1e-3 and result["best_val_mse"] == 2e-3  # the best by validation
    line = paper_gpu.readme_line(result)
    assert line.startswith("NVIDIA H100 80GB HBM3: 4 of 200 trials in 5.0 min of sweep on 3 worker(s), fp32")
    assert "48 trials a GPU-hour, the whole 200 x 20 projected at 4.17 GPU-hours" in line


def test_paper_gpu_refuses_an_earlier_study_and_a_bad_budget_in_one_line(project_dirs, capsys):
    from benchmarks import paper_gpu
    from convlstm_lib.config import get_profile

    assert paper_gpu.main(["--out", str(project_dirs / "o"), "--profile", "smoke", "--device", "cpu",
                           "--budget-minutes", "0"]) == 2
    assert capsys.readouterr().err == ("paper_gpu: error: --budget-minutes: must be a positive number of "
                                       "minutes, got '0'\n")
    _study_files(get_profile("smoke"), [], wall_s=1.0, workers=1)
    assert paper_gpu.main(["--out", str(project_dirs / "o"), "--profile", "smoke", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("paper_gpu: error: ") and "holds an earlier study" in err and err.count("\n") == 1
    assert not (project_dirs / "o").exists()  # nothing written


@pytest.mark.slow  # the smoke pipeline, about two minutes of one core
def test_paper_gpu_runs_the_pipeline_with_a_budget_and_writes_its_json(tmp_path):
    """The prepared GPU command, on the CPU with the smoke profile, in a copy of the checkout (its own
    data/ and runs/): the budget cuts the sweep to 1 of 4 trials, the report still completes and says
    so on its first page, and the JSON holds every field the README line needs; then --compare-cpu
    retrains the trial that ran."""
    import json
    import os
    import subprocess
    import sys
    import tarfile

    from convlstm_lib import paths

    copy = tmp_path / "checkout"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=paths.ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    for name in listed:
        if not name.startswith("report/") and (paths.ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            (copy / name).write_bytes((paths.ROOT / name).read_bytes())
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(copy)}
    cmd = [sys.executable, str(copy / "benchmarks" / "paper_gpu.py"), "--profile", "smoke", "--device", "cpu",
           "--budget-minutes", "0.02", "--levers-minutes", "0", "--out", str(out), "--commit", "0123abc"]
    done = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((out / "paper_gpu.json").read_text())
    for key in ("device", "trials_complete", "epochs", "median_trial_s", "workers", "precision",
                "trials_per_gpu_hour", "projected_gpu_hours", "commit"):
        assert result[key] is not None, key
    assert result["trials_counted"] == 1 and result["n_trials"] == 4 and result["stopped_by_budget"]
    assert result["report_complete"] and result["commit"] == "0123abc" and result["precision"] == "fp32"
    assert result["projected_gpu_hours"] == pytest.approx(4 / result["trials_per_gpu_hour"])
    assert "README: cpu (" in done.stdout and "1 of 4 trials" in done.stdout
    assert "1 of 4 trials" in (out / "report.html").read_text()  # the report's first page says so
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["paper_gpu.json", "report.html", "results.json", "trials.csv", "sweep.json", "notebooks.tar.gz",
         "run_all.log"])
    with tarfile.open(out / "notebooks.tar.gz") as archive:
        assert "notebooks/03_sweep.ipynb" in archive.getnames()
    assert (copy / "runs" / "smoke" / "convlstm-smoke" / "sweep.json").is_file()  # the copy's own runs/
    # --compare-cpu retrains a trial of the table from its own parameters and seed as the sweep did:
    # here, on the same CPU, to the same final error (a wrong learning rate, seed, schedule or data
    # would be far off)
    cmd = [sys.executable, str(copy / "benchmarks" / "paper_gpu.py"), "--profile", "smoke", "--out", str(out),
           "--compare-cpu", str(out / "trials.csv")]
    done = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (compared,) = json.loads((out / "cpu_comparison.json").read_text())["trials"]
    assert compared["n6_test_mse_there"] == result["best_n6_test_mse"]
    assert abs(compared["rel_diff"]) < 1e-4, compared


def test_the_gpu_wheels_cover_every_dependency_a_pytorch_image_lacks():
    """benchmarks/gpu_requirements.txt pins every dependency of pyproject.toml but PyTorch, the
    scientific stack a PyTorch GPU image holds, and JupyterLab (run_all.py does not need it), each at
    a version pyproject.toml allows: a new dependency must be sorted into one or the other."""
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    from convlstm_lib import paths

    declared = {canonicalize_name(r.name): r for r in map(Requirement, tomllib.loads(
        (paths.ROOT / "pyproject.toml").read_text())["project"]["dependencies"])}
    lines = (paths.ROOT / "benchmarks" / "gpu_requirements.txt").read_text().splitlines()
    pinned = {canonicalize_name(r.name): r for r in map(Requirement, (ln for ln in lines
                                                                       if ln and not ln.startswith("#")))}
    image = {"numpy", "scipy", "pandas", "matplotlib", "seaborn", "scikit-learn", "opencv-python-headless",
             "torch", "torchmetrics", "tqdm"}
    assert set(pinned) == set(declared) - image - {"jupyterlab"}
    for name, req in pinned.items():
        (spec,) = req.specifier
        assert spec.operator == "==" and declared[name].specifier.contains(spec.version), req


def test_protocol_rows_are_ratios_to_copy_last_on_the_same_windows():
    from benchmarks import protocol

    copy_last = {"val_mse": 4e-3, "n6_test_mse": 4e-3}
    row = protocol._row("m", {"val_mse": 2e-3, "n6_test_mse": 1e-3, "n3_mse": 5.0}, copy_last)
    assert row["val_mse_x_copy_last"] == pytest.approx(0.5)
    assert row["n6_test_mse_x_copy_last"] == pytest.approx(0.25)
    assert "n3_mse" not in row and protocol._row("m", {"val_mse": 1.0})["n6_test_mse"] is None


def test_protocol_parts_that_need_the_sweeps_best_refuse_to_run_without_it(project_dirs, capsys):
    from benchmarks import protocol

    for part in ("task", "cost"):
        with pytest.raises(SystemExit) as stop:
            protocol.main(["--part", part])
        assert stop.value.code == 2 and "run --part headline first" in capsys.readouterr().err
