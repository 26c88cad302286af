"""Checkpoints: one torch file per trained model, and loading it back ready to predict.

A checkpoint holds only plain dicts, lists, numbers, strings and tensors (loadable with
`torch.load(weights_only=True)`): the format marker, its version, the weights,
asdict(ModelConfig), asdict(TrainConfig), the scaler's raw lo/hi, the status and the final
metrics. Written atomically. A missing, truncated, corrupt or foreign file raises
`CheckpointError` naming the file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch

from .atomic import atomic_path
from .devices import resolve_device
from .errors import CheckpointError, one_line
from .model import ModelConfig, build_model
from .training import TrainConfig

CHECKPOINT_FORMAT = "convlstm-checkpoint"
CHECKPOINT_VERSION = 1


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

    @property
    def scaler(self):
        """The `preprocessing.Scaler` the model's training data were scaled with."""
        from .preprocessing import Scaler

        return Scaler(self.scaler_lo, self.scaler_hi)


def save_checkpoint(
    path,
    model: torch.nn.Module,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    scaler,
    final_metrics: dict[str, float],
    status: str,
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
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


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


def load_checkpoint(path, device: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint written by `save_checkpoint`: the model ready for eval on `device`.

    A missing, truncated, corrupt or foreign file raises CheckpointError naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged or foreign file
        raise CheckpointError(
            f"{path}: not a readable checkpoint ({type(exc).__name__}: {one_line(exc)})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a convlstm checkpoint (format marker missing)")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {payload.get('version')!r}, expected {CHECKPOINT_VERSION}"
        )
    model_cfg = _dataclass_from(ModelConfig, payload.get("model_config"), path, "model_config")
    train_cfg = _dataclass_from(TrainConfig, payload.get("train_config"), path, "train_config")
    state, scaler = payload.get("state_dict"), payload.get("scaler")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: state_dict missing")
    if not (isinstance(scaler, dict) and {"lo", "hi"} <= set(scaler)):
        raise CheckpointError(f"{path}: scaler lo/hi missing")
    model = build_model(model_cfg)
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError) as exc:
        raise CheckpointError(
            f"{path}: weights do not match a {model_cfg.model} model of this config ({one_line(exc)})"
        ) from None
    model.to(resolve_device(device) if isinstance(device, str) else device).eval()
    return Checkpoint(
        model=model,
        model_config=model_cfg,
        train_config=train_cfg,
        scaler_lo=float(scaler["lo"]),
        scaler_hi=float(scaler["hi"]),
        metrics=dict(payload.get("metrics", {})),
        status=str(payload.get("status", "")),
        path=path,
    )

