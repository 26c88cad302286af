"""Where a sweep's trials live, and which of them count: storage, study, dead workers.

Storage: ``runs/<profile>/<study>/sweep.journal`` (Optuna JournalStorage on a file: safe for
several processes on one machine) unless cfg.storage names another journal file or a database
URL (``postgresql://user:pw@host/db``: workers on many machines, see docs/SWEEP.md). A study's
folder belongs to one storage (`bind_study_folder`), so two studies never share files.

Trial outcomes (user attribute ``status``; the Optuna state in brackets):

* ``complete``  trained every epoch (COMPLETE; value = the final validation MSE);
* ``collapsed`` trained, but predicts blank images (COMPLETE; excluded from results later);
* ``pruned``    stopped early by the MedianPruner (PRUNED);
* ``diverged``  the loss exploded: NaN/inf, or above `loop.DIVERGED_MSE` (FAIL: no value);
* ``failed``    `loop.TrainingFailed`, e.g. SparseAdam on dense gradients (FAIL, ``reason``);
* ``killed``    its worker process died (FAIL, set when a later worker finds it stale);
* ``surplus``   asked for by a worker when the total was already claimed, or for a slot
                another trial already holds (FAIL, never trained).

A trial *counts* toward ``--n-trials`` when it is COMPLETE or PRUNED, or FAIL with status
diverged/failed: those are results, and are never re-run. The total counts slots
(`sweep_space`): a killed trial does not count, and the worker that marks it killed enqueues a
retry of its slot, which the next trial any worker asks for runs with the same parameters and
seed. Killed trials are detected by the worker's host name and pid stored on the trial
(journal and database storage alike; databases additionally get Optuna's heartbeat, which also
covers workers on other machines, and retries its trials the same way).
"""
from __future__ import annotations

import inspect
import json
import os
import re
import socket
import sys
import tempfile
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import optuna
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock
from optuna.trial import FrozenTrial, TrialState

from convlstm_lib import paths
from convlstm_lib.atomic import check_output_file, write_bytes
from convlstm_lib.config import ProfileConfig
from convlstm_lib.errors import ConvLSTMError
from convlstm_lib.experiments.sweep_space import RETRY_OF, SLOT, TrialSeededSampler, trial_slots
from convlstm_lib.jsonio import write_json
from convlstm_lib.statuses import COUNTED_FAIL_STATUSES

# Configuration fields that define a study: resuming with different values would mix trials.
STUDY_FIELDS = (
    "seed", "n_trials", "n6", "n3", "max_train_windows", "epochs", "layers_min", "layers_max", "kernels_min",
    "kernels_max", "lr_min", "lr_max", "batch_size_min", "batch_size_max", "lr_schedule", "optimizers",
    "activations", "training_sets", "models",
)
HEARTBEAT_INTERVAL_S = 30  # database storages: a trial without heartbeat for GRACE_PERIOD_S is failed
GRACE_PERIOD_S = 120
UNCLAIMED_STALE_S = 120  # a RUNNING trial that never got its worker's pid (died right after ask)


class SweepError(ConvLSTMError):
    """The sweep cannot run: bad storage, a study created with other settings, no results yet."""


def study_folder(cfg: ProfileConfig, runs_dir: Path | None = None) -> Path:
    """runs/<profile>/<study>/ (`runs_dir` replaces runs/<profile>/): every file of cfg's study."""
    return paths.study_dir(cfg.profile, cfg.study_name, runs_dir)


def journal_path(cfg: ProfileConfig, runs_dir: Path | None = None) -> Path:
    return study_folder(cfg, runs_dir) / paths.SWEEP_JOURNAL


def storage_spec(cfg: ProfileConfig, runs_dir: Path | None = None) -> str:
    """cfg.storage, or the default journal file runs/<profile>/<study>/sweep.journal."""
    return cfg.storage or str(journal_path(cfg, runs_dir))


def _storage_identity(spec: str) -> str:
    """What identifies a storage: a database URL without its password, or the journal's real path."""
    return redact(spec) if "://" in spec else str(Path(spec).resolve())


def bind_study_folder(
    cfg: ProfileConfig, spec: str, runs_dir: Path | None = None, record: bool = False
) -> Path:
    """The study's folder, checked to belong to storage `spec` (its storage.json); with `record`,
    a folder without one is recorded as that storage's.

    A study of the same name in another storage would overwrite this one's trials.csv and
    checkpoints: refused, naming both storages. Returns the folder.
    """
    folder = study_folder(cfg, runs_dir)
    marker = folder / paths.STUDY_STORAGE
    mine = _storage_identity(spec)
    if marker.is_file():
        try:
            recorded = json.loads(marker.read_text()).get("storage")
        except (OSError, ValueError, AttributeError):
            raise SweepError(f"{marker}: unreadable; it says which storage {folder} belongs to") from None
        if recorded != mine:
            raise SweepError(
                f"study {cfg.study_name!r}: {folder} holds the files of the study of that name in "
                f"{recorded}, not in {mine}; give this one another --study name"
            )
    elif record:
        write_json(marker, {"study": cfg.study_name, "storage": mine})
    return folder


def redact(spec: str) -> str:
    """`spec` with any password of a database URL replaced by ***."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", spec)


def open_storage(spec: str) -> optuna.storages.BaseStorage:
    """A database URL (contains '://') -> RDBStorage with heartbeat (its stale trials' slots are
    retried, `retry_slot`); anything else -> journal file."""
    if "://" in spec:
        # the stale-trial callback's name since Optuna 4.9 (the older one is deprecated there)
        params = inspect.signature(optuna.storages.RDBStorage).parameters
        callback = "heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in params else (
            "failed_trial_callback")
        try:
            with warnings.catch_warnings():  # Optuna 5 calls the heartbeat "experimental"; we rely on it
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    spec, heartbeat_interval=HEARTBEAT_INTERVAL_S, grace_period=GRACE_PERIOD_S,
                    **{callback: retry_slot},
                )
        except Exception as exc:  # sqlalchemy raises many kinds; the user needs one line
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise SweepError(f"storage {redact(spec)}: cannot open the database: {first}") from None
    path = Path(spec)
    if path.is_dir():
        raise SweepError(f"storage {spec}: is a folder; give a journal file path or a database URL")
    check_output_file(path, "storage")
    if path.exists() and not path.is_file():
        raise SweepError(f"storage {spec}: not a regular file; give a journal file path or a database URL")
    if path.is_file() and not os.access(path, os.R_OK | os.W_OK):
        raise SweepError(f"storage {spec}: cannot be read and written (permission denied)")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        check_journal(path)
    except OSError as exc:
        raise SweepError(f"storage {spec}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def check_journal(path: Path) -> Path | None:
    """Make sure a journal file can be resumed without losing or damaging a record.

    Run under the journal's own lock (the one every Optuna write takes), so a record being
    written by a live worker is never mistaken for damage. A last line without its newline is
    what a crash or a full disk leaves: the original is copied beside the journal
    (``<name>.damaged-<time>``), the journal is cut back to its complete records, one line says
    so on stderr, and the copy's path is returned. Anything else that is not a readable journal
    (bytes that are not JSON lines, a line that is not a record, records Optuna cannot replay)
    raises SweepError and leaves the file byte for byte as it was. Returns None if nothing was
    set aside.
    """
    if not path.is_file() or path.stat().st_size == 0:
        return None
    lock = JournalFileSymlinkLock(str(path))
    lock.acquire()
    try:
        data = path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        cut = data[len(complete):]
        leave = "the file was left as it is (move it aside or give another --storage to start afresh)"
        if cut and not cut.startswith(b'{"'):
            raise SweepError(f"{path}: not an Optuna journal (its last line is not a record); {leave}")
        records = _journal_records(path, complete, leave)
        if not cut:
            return None
        backup = path.with_name(f"{path.name}.damaged-{datetime.now():%Y%m%dT%H%M%S}")
        while backup.exists():
            backup = backup.with_name(backup.name + "+")
        write_bytes(backup, data)
        os.truncate(path, len(complete))
    finally:
        lock.release()
    print(f"warning: {path}: its last record was cut off ({len(cut)} bytes: a crash or a full disk while "
          f"writing); the original is kept as {backup.name} and the sweep resumes from the {records} "
          "complete records", file=sys.stderr)
    return backup


def _journal_records(path: Path, complete: bytes, leave: str) -> int:
    """The number of records in `complete` (whole lines of a journal); SweepError if unreadable."""
    lines = complete.split(b"\n")[:-1]
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except ValueError:  # UnicodeDecodeError included
            raise SweepError(
                f"{path}: line {number} is not a journal record (not JSON text); {leave}"
            ) from None
        if not (isinstance(record, dict) and isinstance(record.get("op_code"), int)):
            raise SweepError(f"{path}: line {number} is not an Optuna journal record (no op_code); {leave}")
    with tempfile.TemporaryDirectory() as tmp:  # let Optuna replay a copy: the file stays untouched
        copy = Path(tmp) / path.name
        copy.write_bytes(complete)
        try:
            optuna.storages.JournalStorage(JournalFileBackend(str(copy))).get_all_studies()
        except Exception as exc:  # replay raises what the bad record provokes (KeyError, AssertionError...)
            raise SweepError(
                f"{path}: Optuna cannot replay its records (an unknown record, or one naming a study or "
                f"trial that does not exist: {type(exc).__name__}); {leave}"
            ) from None
    return len(lines)


def _study_settings(cfg: ProfileConfig) -> dict[str, Any]:
    return json.loads(json.dumps({name: getattr(cfg, name) for name in STUDY_FIELDS}))


def open_study(
    cfg: ProfileConfig, storage: optuna.storages.BaseStorage, worker: int = 0, data: str | None = None
) -> optuna.Study:
    """Create or load cfg.study_name; refuse to mix trials of a study created with other settings.

    `data` is the training data's fingerprint (`datasets.fingerprint`): stored with the settings,
    so that trials trained on other data (say, before the generator changed) are never resumed
    or reported as if they were this data's."""
    pruner: optuna.pruners.BasePruner = optuna.pruners.NopPruner()
    if cfg.prune:
        pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    sampler = TrialSeededSampler(cfg.seed, worker)
    try:  # loading writes nothing: a study refused below leaves its storage as it was
        study = optuna.load_study(study_name=cfg.study_name, storage=storage, sampler=sampler, pruner=pruner)
    except KeyError:
        study = optuna.create_study(
            study_name=cfg.study_name, storage=storage, direction="minimize", load_if_exists=True,
            sampler=sampler, pruner=pruner,
        )
    wanted = _study_settings(cfg) | ({} if data is None else {"data": data})
    stored = study.user_attrs.get("settings")
    if stored is None:
        study.set_user_attr("settings", wanted)
    elif any(stored.get(k) != v for k, v in wanted.items()):
        diff = [f"{k}: {stored.get(k)!r} -> {wanted[k]!r}" for k in wanted if stored.get(k) != wanted[k]]
        raise SweepError(
            f"study {cfg.study_name!r} was created with other settings ({'; '.join(diff)}); "
            "use another --study name or --storage, or start over by removing the old trials ("
            f"{redact(cfg.storage) if cfg.storage else paths.repo_relative(journal_path(cfg))})"
        )
    return study


def is_counted(trial: FrozenTrial) -> bool:
    """Whether `trial` is a finished result that counts toward the sweep's total."""
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    return trial.state == TrialState.FAIL and trial.user_attrs.get("status") in COUNTED_FAIL_STATUSES


def held_slots(trials: list[FrozenTrial]) -> tuple[set[int], set[int], int]:
    """(slots with a counted trial, slots with a running trial, waiting trials) of a study's trials."""
    slots = trial_slots(trials)
    done = {slots[t.number] for t in trials if is_counted(t)}
    running = {slots[t.number] for t in trials if t.state == TrialState.RUNNING}
    waiting = sum(t.state == TrialState.WAITING for t in trials)
    return done, running, waiting


def count_finished(study: optuna.Study) -> int:
    """The number of slots (trials of the sweep) with a counted result."""
    return len(held_slots(study.get_trials(deepcopy=False))[0])


def retry_slot(study: optuna.Study, trial: FrozenTrial) -> None:
    """Enqueue a retry of `trial`'s slot (its worker died): the next trial asked for runs it.

    Called by the one worker that moved the trial to FAIL (`fail_dead_trials`, or Optuna's
    heartbeat on a database), so each lost run is retried once.
    """
    slot = trial_slots(study.get_trials(deepcopy=False))[trial.number]
    study.enqueue_trial({}, user_attrs={SLOT: slot, RETRY_OF: trial.number})


def requeue_lost_slots(study: optuna.Study, total: int) -> list[int]:
    """Enqueue a retry for every slot below `total` whose trials all failed without counting and
    none of which is running or queued (e.g. a trial stopped by a bug, which nothing retried).
    Returns the slots enqueued. Two workers doing this at once may queue a slot twice: the
    objective then runs it once and records the other as surplus."""
    trials = study.get_trials(deepcopy=False)
    slots = trial_slots(trials)
    held = {slots[t.number] for t in trials
            if is_counted(t) or t.state in (TrialState.RUNNING, TrialState.WAITING)}
    lost = sorted({s for s in slots.values() if s < total} - held)
    for slot in lost:
        last = max(t.number for t in trials if slots[t.number] == slot)
        study.enqueue_trial({}, user_attrs={SLOT: slot, RETRY_OF: last})
    return lost


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_dead_trials(study: optuna.Study, storage: optuna.storages.BaseStorage) -> list[int]:
    """Mark FAIL (status 'killed') every RUNNING trial whose worker on this host is gone, and
    enqueue a retry of its slot (`retry_slot`).

    A trial stores its worker's host and pid when it starts; a RUNNING trial that never got
    them and started more than UNCLAIMED_STALE_S ago is also failed. Trials of workers on other
    hosts are left to the database heartbeat. `storage` is the one `study` was opened on (its
    public methods record the reason and set the state: of two workers finding the same dead
    trial, only the one whose state change lands retries it). Returns the numbers failed.
    """
    host, failed = socket.gethostname(), []
    study_id = storage.get_study_id_from_name(study.study_name)
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid, t_host = t.user_attrs.get("pid"), t.user_attrs.get("host")
        if pid is None:
            started = t.datetime_start or datetime.now()
            dead = datetime.now() - started > timedelta(seconds=UNCLAIMED_STALE_S)
        else:
            dead = t_host == host and not _pid_alive(int(pid))
        if not dead:
            continue
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        try:
            storage.set_trial_user_attr(trial_id, "status", "killed")
            storage.set_trial_user_attr(trial_id, "reason", f"worker {t_host}:{pid} died during the trial")
            storage.set_trial_state_values(trial_id, TrialState.FAIL)
        except (optuna.exceptions.UpdateFinishedTrialError, RuntimeError):
            continue  # another worker got there first
        retry_slot(study, t)
        failed.append(t.number)
    return failed
