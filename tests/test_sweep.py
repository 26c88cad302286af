"""The sweep on real (tiny) training: the budget, outcomes, export, resume after SIGKILL, local
workers on one journal, and workers on a real PostgreSQL server (skipped if none can start). The
search space and its sampler: tests/test_sweep_space.py; the storage rules: test_sweep_storage.py.

Every test writes under a temporary root: paths.DATA_DIR/GENERATED_DIR/PROCESSED_DIR/RUNS_DIR
are redirected there (subprocesses get the same redirection: conftest's `cli_command`).
"""
from __future__ import annotations

import dataclasses
import glob
import math
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from convlstm_lib import paths
from convlstm_lib.config import get_profile
from convlstm_lib.data.datasets import prepare_datasets
from convlstm_lib.experiments import sweep, sweep_record, sweep_space, sweep_storage

SMOKE = dict(n6=24, n3=8, max_train_windows=64, epochs=1)  # the smoke profile's data; 1 epoch a trial


def _redirect(mp: pytest.MonkeyPatch, root: Path) -> None:
    mp.setattr(paths, "DATA_DIR", root / "data")
    mp.setattr(paths, "GENERATED_DIR", root / "data" / "generated")
    mp.setattr(paths, "PROCESSED_DIR", root / "data" / "processed")
    mp.setattr(paths, "RUNS_DIR", root / "runs")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A temporary root with the smoke data prepared once; paths redirected for the module."""
    root = tmp_path_factory.mktemp("sweep")
    with pytest.MonkeyPatch.context() as mp:
        _redirect(mp, root)
        cfg = get_profile("smoke", **SMOKE)
        data = prepare_datasets(cfg, progress=False)
        yield root, cfg, data


def _cfg(env, **overrides):
    return get_profile("smoke", **{**SMOKE, **overrides})


def _sweep(env, runs: str, **overrides):
    root, _, data = env
    cfg = _cfg(env, **overrides)
    study = sweep.run_sweep(cfg, progress=False, runs_dir=root / runs, device="cpu", data=data)
    return cfg, study, sweep_record.load_trials(cfg, runs_dir=root / runs)


# ---------------------------------------------------------------------------------------------
# The budget


def test_budget_estimates_a_trial_from_the_same_kind_first():
    cfg = get_profile("quick", models=("convlstm", "convrnn"))

    def done(number, model, runtime):
        return optuna.trial.create_trial(
            state=TrialState.COMPLETE, value=1.0, params={"model": model},
            distributions={"model": optuna.distributions.CategoricalDistribution(cfg.models)},
            user_attrs={"runtime_s": runtime},
        )

    trials = [done(0, "convlstm", 100.0), done(1, "convrnn", 10.0)]  # next: trial 2 -> convrnn
    assert sweep_space.model_for_trial(2, cfg.models) == "convrnn"
    assert sweep.estimated_trial_s(trials, "convrnn") == 10.0
    assert sweep.estimated_trial_s(trials, "simvp") == 55.0  # no trial of its kind: all kinds
    assert sweep.estimated_trial_s([], "convrnn") is None
    assert sweep.fits_budget(trials, cfg, deadline=1000.0 + 11, now=1000.0)
    assert not sweep.fits_budget(trials, cfg, deadline=1000.0 + 9, now=1000.0)
    assert sweep.fits_budget(trials, cfg, deadline=0.0)  # no budget
    assert sweep.fits_budget([], cfg, deadline=1000.0 + 1, now=1000.0)  # nothing to estimate from


def test_a_budget_too_small_for_the_next_trial_stops_the_sweep_and_says_so(env):
    root = env[0]
    cfg, _, trials = _sweep(env, "budget", sweep_budget_s=1e-3)
    assert len(trials) == 1 < cfg.n_trials  # the first trial always runs: nothing to estimate before it
    summary = sweep_record.load_summary(cfg, runs_dir=root / "budget")
    assert summary["stopped_by_budget"] is True and summary["counted"] == 1
    assert summary["n_trials"] == cfg.n_trials and summary["sweep_budget_s"] == 1e-3
    _, _, resumed = _sweep(env, "budget")  # the same command without the budget finishes it
    assert len(resumed) == cfg.n_trials


def test_same_seed_gives_the_same_sweep_and_trials_csv_has_its_columns(env):
    cfg, first, t1 = _sweep(env, "a")
    _, _, t2 = _sweep(env, "b")
    assert list(t1.columns) == list(sweep_record.TRIAL_COLUMNS)
    assert len(t1) == cfg.n_trials
    assert (t1["status"] == "complete").all() and (t1["state"] == "COMPLETE").all()
    cols = ["number", *sweep_space.PARAM_NAMES, "n6_test_mse", "n3_mse", "n6_test_ssim", "seed"]
    assert t1[cols].equals(t2[cols])
    for col in sweep.METRIC_KEYS:  # generated data: every metric is there, clean ones included
        assert t1[col].notna().all(), col
    assert t1["val_mse"].tolist() == [t.value for t in first.trials]  # the objective: validation
    for rel in t1["checkpoint"]:
        assert Path(rel).is_file() if Path(rel).is_absolute() else (paths.ROOT / rel).is_file()
        assert Path(rel).name.startswith("trial_") and Path(rel).parent.name == "trials"
    summary = sweep_record.summarise(t1)
    assert summary["counted"] == cfg.n_trials and summary["best"]["val_mse"] == t1["val_mse"].min()


def test_learning_curves_are_exported_per_trial_and_epoch(env):
    cfg, _, trials = _sweep(env, "curves", epochs=2)
    curves = sweep_record.load_history(cfg, runs_dir=env[0] / "curves")
    assert sorted(curves) == trials["number"].tolist()
    for number, curve in curves.items():
        assert curve["epoch"].tolist() == [1, 2]
        final = trials.set_index("number").loc[number]
        # the last epoch's numbers are the trial's final metrics
        assert curve["n6_test_mse"].iloc[-1] == pytest.approx(final["n6_test_mse"])
        assert curve["val_mse"].iloc[-1] == pytest.approx(final["val_mse"])
        assert curve["n3_mse"].iloc[-1] == pytest.approx(final["n3_mse"])
    (sweep_storage.study_folder(cfg, env[0] / "curves") / sweep_record.HISTORY_FILE).write_text("{broken")
    with pytest.raises(sweep_storage.SweepError, match="history.json: not valid JSON"):
        sweep_record.load_history(cfg, runs_dir=env[0] / "curves")


def test_resuming_a_finished_sweep_runs_nothing_and_another_total_is_refused(env):
    _, _, before = _sweep(env, "resume")
    _, _, again = _sweep(env, "resume")
    assert again.equals(before)
    # a report counting 6 trials of a study whose profile says 4 would be wrong: n_trials is a setting
    with pytest.raises(sweep_storage.SweepError, match=f"n_trials: {len(before)} -> {len(before) + 2}"):
        _sweep(env, "resume", n_trials=len(before) + 2)
    assert sweep_record.load_trials(_cfg(env), runs_dir=env[0] / "resume").equals(before)


def test_a_study_with_other_settings_is_refused(env):
    _sweep(env, "refuse")
    with pytest.raises(sweep_storage.SweepError, match="lr_max") as refused:
        _sweep(env, "refuse", lr_max=0.05)
    # the message says how to go on: another study, or start over (the journal it would remove)
    assert "--study" in str(refused.value) and "sweep.journal" in str(refused.value)
    with pytest.raises(sweep_storage.SweepError, match="lr_schedule"):
        _sweep(env, "refuse", lr_schedule="linear")


def test_trials_train_with_the_profiles_learning_rate_schedule(env):
    from convlstm_lib.training.checkpoints import load_checkpoint

    for schedule in ("constant", "linear"):
        _, _, trials = _sweep(env, f"schedule-{schedule}", n_trials=1, lr_schedule=schedule)
        checkpoint = load_checkpoint(paths.from_repo(trials["checkpoint"].iloc[0]))
        assert checkpoint.train_config.lr_schedule == schedule


def test_a_finished_study_on_other_data_is_refused_not_reported(env):
    """Trials trained on other data (the generator changed, the course files arrived) must not be
    resumed or exported as this data's: even a finished study is refused, naming the data."""
    root, cfg, data = env
    _sweep(env, "other-data")
    changed = dataclasses.replace(data, info={**data.info, "fingerprint": "0" * 64})
    with pytest.raises(sweep_storage.SweepError, match="data: ") as refused:
        sweep.run_sweep(cfg, progress=False, runs_dir=root / "other-data", device="cpu", data=changed)
    assert "0" * 64 in str(refused.value) and "sweep.journal" in str(refused.value)


# ---------------------------------------------------------------------------------------------
# Outcomes: failed, diverged, collapsed are recorded, counted, and the sweep goes on


SGD = dict(optimizers=("SGD",))


@pytest.mark.parametrize("case, overrides, status, state", [
    ("failed", dict(optimizers=("SparseAdam",)), "failed", "FAIL"),
    ("diverged", dict(SGD, activations=("tanh",), lr_min=1e30, lr_max=1e30), "diverged", "FAIL"),
    ("collapsed", dict(), "collapsed", "COMPLETE"),
])
def test_bad_trials_are_recorded_and_the_sweep_goes_on(env, monkeypatch, case, overrides, status, state):
    if case == "collapsed":  # real training; whether a tiny run collapses is luck: force the verdict
        from convlstm_lib.training import loop as training

        monkeypatch.setattr(training, "is_collapsed", lambda pred, threshold: True)
    cfg, study, trials = _sweep(env, f"outcome-{case}", n_trials=2, **overrides)
    assert len(trials) == 2 and (trials["status"] == status).all() and (trials["state"] == state).all()
    assert sweep_storage.count_finished(study) == 2
    if case == "failed":
        assert trials["reason"].str.contains("SparseAdam").all()
        assert (trials["checkpoint"] == "").all()
    if case == "diverged":
        assert trials["reason"].str.contains("loss").all() and trials["n6_test_mse"].isna().all()
    if case == "collapsed":
        assert trials["reason"].str.contains("blank").all() and (trials["checkpoint"] != "").all()
    _, _, again = _sweep(env, f"outcome-{case}", n_trials=2, **overrides)  # counted: never re-run
    assert len(again) == 2


def test_pruning_stops_bad_trials_and_reports_the_time_saved(env):
    cfg, study, trials = _sweep(env, "prune", n_trials=6, epochs=3, prune=True, lr_min=1e-5, lr_max=0.1,
                                activations=("relu",), optimizers=("SGD", "Adam"), seed=3,
                                models=("convlstm",))
    pruned = trials[trials["status"] == "pruned"]
    assert len(pruned) >= 1 and (pruned["state"] == "PRUNED").all()
    assert (pruned["epochs_run"] < 3).all() and (pruned["time_saved_s"] > 0).all()
    summary = sweep_record.summarise(trials)
    assert summary["counted"] == 6
    assert math.isclose(summary["time_saved_s"], pruned["time_saved_s"].sum())


def test_a_stale_running_trial_is_failed_and_its_slot_rerun_with_its_own_parameters(env):
    root, cfg, data = env
    _, _, clean = _sweep(env, "stale-clean")
    runs = root / "stale"
    storage = sweep_storage.open_storage(str(sweep_storage.journal_path(cfg, runs)))
    study = sweep_storage.open_study(cfg, storage, data=data.info["fingerprint"])
    orphan = study.ask()  # a trial whose worker died: a pid that cannot be alive
    orphan.set_user_attr("host", socket.gethostname())
    orphan.set_user_attr("pid", 2**22 + 12345)
    sweep.run_sweep(cfg, progress=False, runs_dir=runs, device="cpu", data=data)
    journal = optuna.load_study(study_name=cfg.study_name, storage=storage).get_trials(deepcopy=False)
    assert journal[0].state == TrialState.FAIL and journal[0].user_attrs["status"] == "killed"
    assert len(journal) == cfg.n_trials + 1  # the killed one and one retry of its slot
    trials = sweep_record.load_trials(cfg, runs_dir=runs)
    assert (trials["status"] == "complete").all()
    assert trials["attempts"].tolist() == [2] + [1] * (cfg.n_trials - 1)
    cols = ["number", *sweep_space.PARAM_NAMES, "seed", *sweep.METRIC_KEYS]
    assert trials[cols].equals(clean[cols])  # the table of the sweep that was never interrupted


def test_a_slot_lost_to_a_trial_that_failed_unrecorded_is_rerun_on_resume(env):
    """A trial that failed without a counted status (say, a bug stopped it) is retried on resume."""
    root, cfg, data = env
    runs = root / "lost"
    storage = sweep_storage.open_storage(str(sweep_storage.journal_path(cfg, runs)))
    study = sweep_storage.open_study(cfg, storage, data=data.info["fingerprint"])
    study.tell(study.ask(), state=TrialState.FAIL)
    sweep.run_sweep(cfg, progress=False, runs_dir=runs, device="cpu", data=data)
    trials = sweep_record.load_trials(cfg, runs_dir=runs)
    assert len(trials) == cfg.n_trials and (trials["status"] == "complete").all()
    assert trials.loc[0, "attempts"] == 2


def test_a_second_study_writes_only_under_its_own_folder(env):
    root, cfg, data = env
    runs = root / "two-studies"
    _, _, first = _sweep(env, "two-studies")
    folder = sweep_storage.study_folder(cfg, runs)
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    other = _cfg(env, study="other", storage=str(root / "other.journal"), seed=5)
    sweep.run_sweep(other, progress=False, runs_dir=runs, device="cpu", data=data)
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    theirs = sweep_record.load_trials(other, runs_dir=runs)
    assert all(Path(c).parent.parent.name == "other" for c in theirs["checkpoint"])
    assert sweep_record.load_trials(cfg, runs_dir=runs).equals(first)


def test_a_study_of_the_same_name_in_another_storage_is_refused(env):
    root, cfg, data = env
    runs = root / "same-name"
    _sweep(env, "same-name")
    elsewhere = _cfg(env, storage=str(root / "elsewhere.journal"))
    with pytest.raises(sweep_storage.SweepError, match="give this one another --study name"):
        sweep.run_sweep(elsewhere, progress=False, runs_dir=runs, device="cpu", data=data)
    assert not (root / "elsewhere.journal").exists()  # refused before the storage was touched


def test_a_trial_checkpoint_is_checked_against_the_trial_it_claims_to_be(env):
    from convlstm_lib.training.checkpoints import stamp_trial

    root, cfg, _ = env
    runs = root / "identity"
    _, _, trials = _sweep(env, "identity")
    path = sweep_record.trial_checkpoint(cfg, 1, runs_dir=runs)
    assert path == paths.from_repo(trials.loc[1, "checkpoint"])
    seed = int(trials.loc[1, "seed"])
    wrong = (("other", 1, seed), (cfg.study_name, 0, seed), (cfg.study_name, 1, seed + 1))
    for study, number, seed_ in wrong:
        stamp_trial(path, study, number, seed_)  # weights of another study, trial or seed in its place
        with pytest.raises(sweep_storage.SweepError, match="that trials.csv names"):
            sweep_record.trial_checkpoint(cfg, 1, runs_dir=runs)
    with pytest.raises(sweep_storage.SweepError, match="no trial 99"):
        sweep_record.trial_checkpoint(cfg, 99, runs_dir=runs)


def test_cli_bad_storage_is_one_line_error(env, capsys):
    from convlstm_lib.cli import main

    root, _, _ = env
    assert main(["sweep", "--profile", "smoke", "--storage", str(root), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: storage") and "\n" not in err
    assert main(["sweep", "--profile", "smoke", "--workers", "0", "--no-progress"]) == 2


def test_a_journal_cut_mid_record_is_set_aside_and_the_sweep_resumes_with_every_complete_record(
    env, capsys
):
    root, cfg, data = env
    runs = root / "cut"
    _, _, before = _sweep(env, "cut")
    journal = sweep_storage.journal_path(cfg, runs)
    original = journal.read_bytes()
    lines = original.splitlines(keepends=True)
    last_start = max(i for i, line in enumerate(lines) if b'"datetime_start"' in line)  # last trial
    damaged = b"".join(lines[:last_start]) + lines[last_start][:25]  # a crash while writing it
    journal.write_bytes(damaged)
    capsys.readouterr()
    study = sweep.run_sweep(cfg, progress=False, runs_dir=runs, device="cpu", data=data)
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"warning: {journal}: its last record was cut off") and "\n" not in err
    copies = list(journal.parent.glob("sweep.journal.damaged-*"))
    assert len(copies) == 1 and copies[0].read_bytes() == damaged and copies[0].name in err
    after = sweep_record.load_trials(cfg, runs_dir=runs)
    assert sweep_storage.count_finished(study) == cfg.n_trials and (after["status"] == "complete").all()
    cols = ["number", *sweep_space.PARAM_NAMES, "seed"]
    assert after[cols].equals(before[cols])  # the last trial re-run from scratch draws what it drew before
    assert sweep_storage.check_journal(journal) is None  # the repaired journal is whole


# ---------------------------------------------------------------------------------------------
# Processes: SIGKILL and resume, two workers on one journal, PostgreSQL

def _cli(cli_command, root: Path, *args: str) -> subprocess.Popen:
    """A real `sweep --profile smoke` process with its data and runs folders under root."""
    cmd = cli_command(root, "sweep", "--profile", "smoke", "--device", "cpu", "--no-progress", *args)
    return subprocess.Popen(cmd, cwd=paths.ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _trials(storage: str, study: str) -> list:
    storage = sweep_storage.open_storage(storage)
    return optuna.load_study(study_name=study, storage=storage).get_trials(deepcopy=False)


@pytest.mark.slow
def test_sigkill_mid_trial_then_resume_gives_the_table_of_an_uninterrupted_sweep(env, cli_command):
    root, _, data = env
    killed_cfg = _cfg(env, n_trials=8, study="killed")
    journal = str(sweep_storage.journal_path(killed_cfg, root / "runs" / "smoke"))
    proc = _cli(cli_command, root, "--n-trials", "8", "--study", "killed")
    killed_running = None
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if os.path.exists(journal):
                trials = _trials(journal, "killed") if os.path.getsize(journal) else []
                running = [t for t in trials if t.state == TrialState.RUNNING and "pid" in t.user_attrs]
                if sum(sweep_storage.is_counted(t) for t in trials) >= 2 and running:
                    proc.send_signal(signal.SIGKILL)
                    killed_running = running[0].number
                    break
            time.sleep(0.02)
    finally:
        proc.wait(timeout=30)
    assert killed_running is not None, f"the sweep never got to kill it mid-trial: {proc.stdout.read()}"
    counted = [t for t in _trials(journal, "killed") if sweep_storage.is_counted(t)]
    before = {t.number: (t.params, t.value) for t in counted}

    resumed = _cli(cli_command, root, "--n-trials", "8", "--study", "killed")
    out, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, out
    after = _trials(journal, "killed")
    counted = {t.number: (t.params, t.value) for t in after if sweep_storage.is_counted(t)}
    assert len(counted) == 8
    assert all(counted[n] == before[n] for n in before)  # nothing finished was lost or re-run
    killed = next(t for t in after if t.number == killed_running)
    assert killed.state == TrialState.FAIL and killed.user_attrs["status"] == "killed"
    assert not [t for t in after if t.state == TrialState.RUNNING]

    # the same seed uninterrupted: trial for trial the same parameters, seeds and metrics
    clean_cfg = _cfg(env, n_trials=8, study="clean")
    sweep.run_sweep(clean_cfg, progress=False, runs_dir=root / "runs" / "smoke", device="cpu", data=data)
    clean = sweep_record.load_trials(clean_cfg, runs_dir=root / "runs" / "smoke")
    table = sweep_record.load_trials(killed_cfg, runs_dir=root / "runs" / "smoke")
    cols = ["number", "status", *sweep_space.PARAM_NAMES, "seed", *sweep.METRIC_KEYS]
    assert table[cols].equals(clean[cols])
    assert table["attempts"].sum() == 9  # the killed trial's slot took two


@pytest.mark.slow
def test_two_local_workers_on_one_journal_reach_the_exact_total(env):
    root, _, data = env
    cfg = _cfg(env, n_trials=6, workers=2, study="two")
    runs = root / "two"
    study = sweep.run_sweep(cfg, progress=False, runs_dir=runs, device="cpu")
    trials = sweep_record.load_trials(cfg, runs_dir=runs)
    _assert_exact_total(study, trials, cfg.n_trials)
    # the same parameters as a one-worker sweep with the same seed, trial for trial
    single = _cfg(env, n_trials=6, study="one")
    sweep.run_sweep(single, progress=False, runs_dir=root / "one", device="cpu", data=data)
    one = sweep_record.load_trials(single, runs_dir=root / "one")
    ran = trials[trials["status"] == "complete"].set_index("number")[list(sweep_space.PARAM_NAMES)]
    assert ran.equals(one.set_index("number").loc[ran.index, list(sweep_space.PARAM_NAMES)])


def _assert_exact_total(study: optuna.Study, trials, total: int) -> None:
    counted = [t for t in study.get_trials(deepcopy=False) if sweep_storage.is_counted(t)]
    assert len(counted) == total, trials[["number", "state", "status"]].to_string()
    numbers = [t.number for t in counted]
    assert len(set(numbers)) == total
    assert len({(t.params["lr"], t.params["kernels"]) for t in counted}) == total  # no trial ran twice
    assert set(trials["status"]) <= {"complete", "surplus"}
    assert not [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.RUNNING]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres():
    """A throw-away PostgreSQL server on loopback (Debian's binaries); its URL. Skips if it cannot start."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.skip("PostgreSQL test skipped: no /usr/lib/postgresql/*/bin/initdb (apt install postgresql)")
    bindir = Path(bins[-1]).parent
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        pytest.skip("PostgreSQL test skipped: psycopg2 is not installed")
    as_user: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="convlstm-pg-"))
    if os.geteuid() == 0:
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(workdir)
            pytest.skip("PostgreSQL test skipped: running as root and no 'postgres' user to run the server")
        os.chown(workdir, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = workdir / "data"
    log = workdir / "server.log"

    def pg(*cmd: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=timeout)

    init = pg(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    if init.returncode != 0:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.skip(f"PostgreSQL test skipped: initdb failed: {(init.stderr or init.stdout).strip()[:200]}")
    opts = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = pg(str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(log), "-w", "-t", "60", "start")
    if start.returncode != 0:
        detail = log.read_text()[-300:] if log.exists() else start.stderr
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.skip(f"PostgreSQL test skipped: the server did not start: {detail.strip()}")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        pg(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.slow
def test_two_workers_on_postgresql_reach_the_exact_total(env, postgres):
    root, _, _ = env
    cfg = _cfg(env, n_trials=6, workers=2, storage=postgres, study="pg")
    runs = root / "pg"
    study = sweep.run_sweep(cfg, progress=False, runs_dir=runs, device="cpu")
    trials = sweep_record.load_trials(cfg, runs_dir=runs)
    _assert_exact_total(study, trials, cfg.n_trials)
    assert "postgresql" in sweep_record.load_summary(cfg, runs_dir=runs)["storage"]
    # a second run against the database resumes: nothing more to do
    again = sweep.run_sweep(cfg, progress=False, runs_dir=runs, device="cpu")
    assert len(again.trials) == len(study.trials)
