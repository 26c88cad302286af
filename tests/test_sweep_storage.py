"""Where a sweep's trials live and which count (experiments/sweep_storage.py): passwords masked, one
storage a study folder, the counted outcomes, a dead worker's slot retried. Whole sweeps over the
storage (resume, refusals, a cut journal): tests/test_sweep.py."""
from __future__ import annotations

import time

import optuna
import pytest
from optuna.trial import TrialState

from convlstm_lib.config import get_profile
from convlstm_lib.experiments import sweep_space, sweep_storage


def test_a_database_password_never_leaves_its_url():
    url = "postgresql+psycopg2://convlstm:s3cr:et@db:5432/c"
    assert sweep_storage.redact(url) == "postgresql+psycopg2://convlstm:***@db:5432/c"
    journal = "runs/quick/convlstm-quick/sweep.journal"
    assert sweep_storage.redact(journal) == journal


def test_a_study_folder_belongs_to_the_storage_that_first_wrote_it(tmp_path):
    cfg = get_profile("smoke")
    mine = str(tmp_path / "a.journal")
    folder = sweep_storage.bind_study_folder(cfg, mine, tmp_path, record=True)
    assert sweep_storage.bind_study_folder(cfg, mine, tmp_path) == folder  # the same storage: fine
    with pytest.raises(sweep_storage.SweepError, match="another --study name"):
        sweep_storage.bind_study_folder(cfg, str(tmp_path / "b.journal"), tmp_path)
    other = get_profile("smoke", study="other")  # another study name: its own folder
    assert sweep_storage.bind_study_folder(other, str(tmp_path / "b.journal"), tmp_path) != folder


@pytest.mark.parametrize(("state", "status", "counted"), [
    (TrialState.COMPLETE, "complete", True), (TrialState.COMPLETE, "collapsed", True),
    (TrialState.PRUNED, "pruned", True), (TrialState.FAIL, "diverged", True),
    (TrialState.FAIL, "failed", True), (TrialState.FAIL, "killed", False),
    (TrialState.FAIL, "surplus", False), (TrialState.RUNNING, "running", False),
])
def test_finished_results_count_and_lost_runs_do_not(state, status, counted):
    trial = optuna.trial.create_trial(state=state, value=1.0 if state == TrialState.COMPLETE else None,
                                      user_attrs={"status": status})
    assert sweep_storage.is_counted(trial) is counted


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study.optimize")
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # fail_stale_trials, public
def test_a_database_heartbeat_that_fails_a_trial_retries_its_slot(tmp_path, monkeypatch):
    """Workers on other machines are failed by Optuna's heartbeat, which queues the same retry."""
    monkeypatch.setattr(sweep_storage, "HEARTBEAT_INTERVAL_S", 1)
    monkeypatch.setattr(sweep_storage, "GRACE_PERIOD_S", 1)
    cfg = get_profile("smoke")
    storage = sweep_storage.open_storage(f"sqlite:///{tmp_path / 'sweep.db'}")
    study = sweep_storage.open_study(cfg, storage)
    lost = study.ask()  # its worker, on another machine, stopped beating
    storage.record_heartbeat(lost._trial_id)
    time.sleep(2.5)
    assert optuna.storages.fail_stale_trials(study) is None
    retry = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    assert [t.user_attrs for t in retry] == [{sweep_space.SLOT: 0, sweep_space.RETRY_OF: lost.number}]
    assert sweep_space.trial_slots(study.get_trials(deepcopy=False)) == {0: 0, 1: 0}
