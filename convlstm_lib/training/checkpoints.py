"""Checkpoints: one torch file per trained model, and loading it back ready to predict.

A checkpoint holds only plain dicts, lists, numbers, strings and tensors (loadable with
`torch.load(weights_only=True)`): the format marker, its version, the weights,
asdict(ModelConfig), asdict(TrainConfig), the scaler's raw lo/hi, the status and the final
metrics; a sweep trial's also the trial it is (`stamp_trial`: study, number, seed), and a
`train` run's its run id (`run_id`, also in the metrics.json written beside it). Written
atomically (serialised in memory first, so a full disk is an OSError the write names).
Loading checks every field before use (`load_checkpoint`); a missing, unreadable, truncated,
corrupt, foreign or hand-edited file raises `CheckpointError` naming the file and the field,
and never suggests loading the file in an unsafe way.
"""

from __future__ import annotations

import io
import math
import pickle
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch

from convlstm_lib.atomic import input_problem, write_bytes
from convlstm_lib.data.preprocessing import Scaler
from convlstm_lib.errors import CheckpointError, one_line
from convlstm_lib.models.build import build_model
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.statuses import RUN_STATUSES
from convlstm_lib.training.devices import resolve_device
from convlstm_lib.training.settings import TrainConfig

CHECKPOINT_FORMAT = "convlstm-checkpoint"
# Raised whenever the same saved weights would build a model that predicts something else (the
# motion head of `heads.RESIDUAL` and SimVP is version 3); a checkpoint of another version is refused.
CHECKPOINT_VERSION = 3


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (eval mode) and everything saved with it."""

    model: torch.nn.Module
    model_config: ModelConfig
    train_config: TrainConfig
    scaler_lo: float
    scaler_hi: float
    metrics: dict[str, float]
    status: str
    path: Path
    trial: dict[str, Any] | None = None  # a sweep trial's {study, number, seed}
    run_id: str | None = None  # a `train` run's id

    @property
    def scaler(self):
        """The `preprocessing.Scaler` the model's training data were scaled with."""
        return Scaler(self.scaler_lo, self.scaler_hi)


def save_checkpoint(
    path,
    model: torch.nn.Module,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    scaler,
    final_metrics: dict[str, float],
    status: str,
    run_id: str | None = None,
) -> Path:
    """Write the checkpoint atomically; returns its path. `scaler` has raw-scale .lo and .hi."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model_config": asdict(model_cfg),
        "train_config": asdict(train_cfg),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "scaler": {"lo": float(scaler.lo), "hi": float(scaler.hi)},
        "metrics": {k: float(v) for k, v in final_metrics.items()},
        "status": status,
        "torch_version": str(torch.__version__),
    }
    if run_id is not None:
        payload["run_id"] = str(run_id)
    return _write_payload(Path(path), payload)


def _write_payload(path: Path, payload: dict[str, Any]) -> Path:
    buffer = io.BytesIO()  # torch reports a failed file write as a RuntimeError: write the bytes ourselves
    torch.save(payload, buffer)
    write_bytes(path, buffer.getvalue())
    return path


TRIAL_KEYS = ("study", "number", "seed")


def _stamp(path, key: str, value: Any) -> Path:
    """Add `key: value` to the checkpoint at `path` (rewritten atomically)."""
    path = Path(path)
    payload = _read_payload(path)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a convlstm checkpoint (format marker missing)")
    payload[key] = value
    return _write_payload(path, payload)


def stamp_trial(path, study: str, number: int, seed: int) -> Path:
    """Record in the checkpoint at `path` that it is trial `number` of sweep study `study`,
    trained with `seed`; `sweep_record.trial_checkpoint` checks it."""
    return _stamp(path, "trial", {"study": str(study), "number": int(number), "seed": int(seed)})


def stamp_run(path, run_id: str) -> Path:
    """Record in the checkpoint at `path` the id of the `train` run that wrote it (`Checkpoint.run_id`)."""
    return _stamp(path, "run_id", str(run_id))


def _checked_trial(value: Any, path: Path) -> dict[str, Any] | None:
    if value is None:
        return None
    ok = isinstance(value, dict) and set(value) == set(TRIAL_KEYS) and isinstance(value["study"], str)
    ok = ok and all(isinstance(value[k], int) and not isinstance(value[k], bool) for k in ("number", "seed"))
    if not ok:
        raise CheckpointError(
            f"{path}: trial must be {{study: text, number: integer, seed: integer}}, got {value!r}"
        )
    return dict(value)


def trial_identity(path) -> dict[str, Any] | None:
    """The sweep trial a checkpoint says it is ({study, number, seed}), or None when it says none."""
    path = Path(path)
    payload = _read_payload(path)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a convlstm checkpoint (format marker missing)")
    return _checked_trial(payload.get("trial"), path)


def _dataclass_from(cls, values, path: Path, what: str):
    if not isinstance(values, dict):
        raise CheckpointError(f"{path}: {what} missing or not a mapping")
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise CheckpointError(f"{path}: {what} has unknown field(s) {sorted(unknown)}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: {what} invalid: {one_line(exc)}") from None


def _read_payload(path: Path) -> Any:
    """torch.load(weights_only=True) of `path`, any failure as one CheckpointError saying what it is.

    Never suggests loading the file any other way: a checkpoint that only an unrestricted
    (pickle) load could read is refused, because such a load can run arbitrary code.
    """
    problem = input_problem(path)
    if problem == "is a folder":
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    if problem == "file not found":
        raise CheckpointError(f"{path}: checkpoint file not found")
    if problem is not None:
        raise CheckpointError(f"{path}: {problem}")
    with open(path, "rb") as handle:
        head = handle.read(4)
    if not head:
        raise CheckpointError(f"{path}: is empty (0 bytes), not a checkpoint")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        if head == b"PK\x03\x04":
            raise CheckpointError(
                f"{path}: not a convlstm checkpoint: it holds Python objects other than tensors, numbers "
                "and strings, which are never loaded"
            ) from None
        raise CheckpointError(f"{path}: not a torch checkpoint file (damaged, or another format)") from None
    except Exception:  # torch raises many kinds (RuntimeError, OSError, EOFError...) for a cut file
        what = "truncated or damaged (an incomplete torch archive)" if head == b"PK\x03\x04" else (
            "not a torch checkpoint file (truncated, damaged, or another format)")
        raise CheckpointError(f"{path}: {what}; write it again with train or the sweep") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _checked_scaler(scaler: Any, path: Path) -> tuple[float, float]:
    if not (isinstance(scaler, dict) and {"lo", "hi"} <= set(scaler)):
        raise CheckpointError(f"{path}: scaler lo/hi missing")
    lo, hi = scaler["lo"], scaler["hi"]
    if not (_is_number(lo) and _is_number(hi) and math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise CheckpointError(f"{path}: scaler lo={lo!r}, hi={hi!r}: need finite numbers with lo < hi")
    return float(lo), float(hi)


def _checked_metrics(values: Any, path: Path) -> dict[str, float]:
    if not isinstance(values, dict):
        raise CheckpointError(f"{path}: metrics must map names to numbers, got a {type(values).__name__}")
    for key, value in values.items():
        if not (isinstance(key, str) and _is_number(value)):
            raise CheckpointError(f"{path}: metrics[{key!r}] is {value!r}, not a number")
    return {key: float(value) for key, value in values.items()}


def _checked_weights(state: Any, model: torch.nn.Module, path: Path) -> dict[str, torch.Tensor]:
    """The state dict, each weight checked against `model`'s by name, shape and finiteness."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: state_dict missing")
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = [f"{what} {names[:3]}" for what, names in (("missing", missing), ("unexpected", unexpected))
                 if names]
        raise CheckpointError(
            f"{path}: weights do not match a {model.config.model} model of this config ({'; '.join(parts)})"
        )
    for name, want in expected.items():
        got = state[name]
        if not isinstance(got, torch.Tensor):
            raise CheckpointError(f"{path}: weight {name} is a {type(got).__name__}, not a tensor")
        if got.shape != want.shape:
            raise CheckpointError(
                f"{path}: weight {name} has shape {tuple(got.shape)} in the file, the model config needs "
                f"{tuple(want.shape)}"
            )
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):
            raise CheckpointError(f"{path}: weight {name} holds NaN or infinite values")
    return state


def load_checkpoint(path, device: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint written by `save_checkpoint`: the model ready for eval on `device`.

    Every field is checked before use: the format marker and version, both configs, the scaler
    (finite numbers, lo < hi), the metrics (names to numbers), the status, and each weight
    (name, shape and finite values against the model the config builds). A missing, truncated,
    corrupt, foreign or hand-edited file raises CheckpointError naming the file and the field.
    """
    path = Path(path)
    payload = _read_payload(path)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a convlstm checkpoint (format marker missing)")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {payload.get('version')!r}, expected {CHECKPOINT_VERSION}"
        )
    model_cfg = _dataclass_from(ModelConfig, payload.get("model_config"), path, "model_config")
    train_cfg = _dataclass_from(TrainConfig, payload.get("train_config"), path, "train_config")
    lo, hi = _checked_scaler(payload.get("scaler"), path)
    metrics = _checked_metrics(payload.get("metrics", {}), path)
    status = payload.get("status", "")
    if status not in RUN_STATUSES:
        raise CheckpointError(f"{path}: status {status!r} is not one of {RUN_STATUSES}")
    trial = _checked_trial(payload.get("trial"), path)
    run_id = payload.get("run_id")
    if run_id is not None and not isinstance(run_id, str):
        raise CheckpointError(f"{path}: run_id must be text, got {run_id!r}")
    try:
        model = build_model(model_cfg, train_cfg.task, seed=0)
    except ValueError as exc:
        raise CheckpointError(
            f"{path}: model_config does not fit task {train_cfg.task} ({one_line(exc)})"
        ) from None
    model.load_state_dict(_checked_weights(payload.get("state_dict"), model, path))
    model.to(resolve_device(device) if isinstance(device, str) else device).eval()
    return Checkpoint(
        model=model,
        model_config=model_cfg,
        train_config=train_cfg,
        scaler_lo=lo,
        scaler_hi=hi,
        metrics=metrics,
        status=status,
        path=path,
        trial=trial,
        run_id=run_id,
    )
