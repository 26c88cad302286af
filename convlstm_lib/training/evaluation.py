"""Scoring a trained model: predictions in eval mode, the metrics of a run, the collapse test.

Metric keys (`metrics.METRIC_KEYS`, the one definition), all on the [0, 1] scale:
    val_mse (the validation windows: what every choice reads)
    n6_test_mse n6_test_psnr n6_test_ssim n6_test_clean_mse n6_test_paper_loss
    n3_mse n3_psnr n3_ssim n3_clean_mse n3_paper_loss
(`*_clean_mse` only when the data have clean targets, i.e. generated data). mse/psnr/ssim
reductions are those of `metrics`; `*_paper_loss` is the paper's Table 1 number with the run's
training batch size (`metrics.paper_loss`). The collapse test reads the validation predictions.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from convlstm_lib.training import metrics


def as_model_input(inputs) -> torch.Tensor:
    """(N, T, H, W) or (N, T, C, H, W), numpy or torch -> float32 tensor (N, T, C, H, W)."""
    x = torch.as_tensor(np.asarray(inputs) if not isinstance(inputs, torch.Tensor) else inputs)
    x = x.to(torch.float32)
    if x.ndim == 4:
        x = x.unsqueeze(2)
    if x.ndim != 5:
        raise ValueError(f"inputs: expected shape (N, T, H, W) or (N, T, C, H, W), got {tuple(x.shape)}")
    return x


@torch.no_grad()
def predict_frames(model: nn.Module, inputs, batch_size: int = 256) -> np.ndarray:
    """Predict the next frame of every window, in eval mode.

    inputs: (N, T, H, W) or (N, T, C, H, W) array or tensor, [0, 1] scale; a tensor already on
    the model's device stays there. Returns float32 (N, H, W). The inputs go to the model's
    device in one copy and the predictions come back in one (none per batch). The model's
    train/eval mode is restored afterwards.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
    device = next(model.parameters()).device
    x = as_model_input(inputs).to(device)
    was_training = model.training
    model.eval()
    try:
        # .float(): under autocast a model returns bf16 / fp16, which NumPy cannot hold
        out = [model(x[i : i + batch_size]).squeeze(1).float() for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    if not out:
        return np.zeros((0, *x.shape[-2:]), dtype=np.float32)
    return torch.cat(out).cpu().numpy()


def score_predictions(
    pred: np.ndarray, windows, prefix: str, batch_size: int | None = None
) -> dict[str, float]:
    """Metrics of predictions (N, H, W) against a WindowSet's targets, keys prefixed.

    `{prefix}_mse/_psnr/_ssim` against the recorded targets, `{prefix}_clean_mse` against the
    clean targets when there are any, `{prefix}_paper_loss` when `batch_size` is given.
    """
    out = {f"{prefix}_{k}": v for k, v in metrics.evaluate(pred, windows.targets).items()}
    if windows.clean_targets is not None:
        out[f"{prefix}_clean_mse"] = metrics.mse(pred, windows.clean_targets)
    if batch_size is not None:
        out[f"{prefix}_paper_loss"] = metrics.paper_loss(pred, windows.targets, batch_size)
    return out


def metric_keys(data) -> list[str]:
    """The metric keys a run on `data` reports (clean_* only when the test sets have clean targets)."""
    return list(metrics.metric_keys(clean=data.n6_test.clean_targets is not None))


def score_validation(pred: np.ndarray, windows) -> dict[str, float]:
    """{`metrics.VAL_MSE`: per-pixel MSE} of predictions (N, H, W) of validation windows."""
    return {metrics.VAL_MSE: metrics.mse(pred, windows.targets)}


def evaluate_model(
    model: nn.Module, data, batch_size: int, eval_batch_size: int = 256,
    inputs: dict[str, torch.Tensor] | None = None,
) -> dict[str, float] | None:
    """The metrics of `model` on the validation windows (`data.val`), N6 test and N3 (module
    docstring); None if a validation prediction is not finite (the run diverged: a decision, so
    it reads validation only); a test set with a non-finite prediction scores NaN.
    `batch_size` is the run's training batch size, used for the paper's loss. `inputs` may hold
    the sets' inputs already on the model's device, by prefix (`device_inputs`), so that a run
    scored every epoch copies them there once."""
    inputs = inputs or {}
    val = predict_frames(model, inputs.get("val", data.val.inputs), eval_batch_size)
    if not np.isfinite(val).all():
        return None
    out = score_validation(val, data.val)
    for prefix, ws in (("n6_test", data.n6_test), ("n3", data.n3)):
        pred = predict_frames(model, inputs.get(prefix, ws.inputs), eval_batch_size)
        if np.isfinite(pred).all():
            out.update(score_predictions(pred, ws, prefix, batch_size))
        else:
            keys = metrics.metric_keys(clean=ws.clean_targets is not None)
            out.update({k: float("nan") for k in keys if k.startswith(f"{prefix}_")})
    return out


def device_inputs(data, device: torch.device) -> dict[str, torch.Tensor]:
    """The validation, N6 test and N3 inputs of `data` as model input on `device`, by prefix
    (`evaluate_model`)."""
    return {"val": as_model_input(data.val.inputs).to(device),
            "n6_test": as_model_input(data.n6_test.inputs).to(device),
            "n3": as_model_input(data.n3.inputs).to(device)}


def is_collapsed(pred: np.ndarray, threshold: float) -> bool:
    """True when predictions (N, H, W) are blank: mean over images of per-image pixel std < threshold."""
    return float(np.asarray(pred, dtype=np.float64).reshape(len(pred), -1).std(axis=1).mean()) < threshold

