"""How low a model could go: reference predictions from the ground truth of generated data.

A score means little without the part of the error no model can remove. On generated data the
ground truth (`generator.GeneratedSet`: clean frames and every step's parameters) gives it, for
the test windows of the paper's protocol (frames t-2, t-1 -> frame t, t = 4 and 16). Three
references, each a prediction of the noisy target frame, scored like a model (per-pixel MSE on
the [0, 1] scale of the pre-processing, mean over windows):

* ``perfect``: the clean target frame itself. What is left is the target's own noise
  (sigma^2 per pixel): no input foretells it.
* ``jumps``: perfect, except on the windows whose last step is an injected outlier jump
  (`outlier_transitions`): there it predicts the clean previous frame, since frames t-2 and t-1
  say nothing about a jump still to come, and the jump's whole change stays in the error.
* ``carry_on``: the jumps reference, except on the ordinary windows, where it renders frame t
  from the clean frame t-1 with the generator's own step (`generator.render_step`): this step's
  drift and blur as drawn, the intensity at its mean, and the rotation of the step before,
  scaled by the rotation ramp (`generator.rotation_scale`; no rotation if that step jumped). It
  is a predictor that sees the clean frames and the last step's turn exactly and assumes the
  turn carries on, so what it leaves is the noise, the jumps and the part of each turn
  (the random step-to-step change of the rotation, and the intensity's) that no past frame shows.

For frame t by interpolation (frames t-2, t-1, t+1, t+2 -> t; `interpolation_errors`) the
references are ``perfect`` as above and ``jumps``: perfect, except on the windows with a jump at
t-1 -> t or t -> t+1, where it predicts the mean of the clean frames t-1 and t+1, since the four
frames cannot say on which side of frame t the jump happened.

A model reading two noisy frames also has to see through the noise of its inputs and to measure
the motion from them, so it cannot do better than ``carry_on``'s level on average; it may
beat ``carry_on`` on a few windows, whose turn reverses less than carried on.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from convlstm_lib.data.course_io import TEST_FRAMES
from convlstm_lib.data.generator import GeneratorConfig, frame_centres, render_step, rotation_scale
from convlstm_lib.training import metrics

REFERENCES: tuple[str, ...] = ("perfect", "jumps", "carry_on")


def _mse(pred: np.ndarray, target: np.ndarray, scale: float) -> np.ndarray:
    """Per-window MSE (N,) of raw-unit images (N, H, W) on the [0, 1] scale (raw / scale)."""
    return metrics.mse_per_image(pred / scale, target / scale)


def reference_errors(
    frames: np.ndarray, truth: dict[str, Any], target: int, scale: float
) -> dict[str, np.ndarray]:
    """Per-window errors (N,) at 0-based frame `target` (>= 2) of copy-last and of every reference
    in `REFERENCES` (module docstring), on raw / `scale` (the pre-processing's hi - lo).

    frames: the noisy sequences (N, T, H, W) on the raw scale; truth: their ground truth (clean,
    rotation, dx, dy, outlier_transitions, config as saved by the generator).
    """
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 4 or not 2 <= target < frames.shape[1]:
        raise ValueError(
            f"target: frame {target} needs sequences (N, T > {target}, H, W), got {frames.shape}"
        )
    if scale <= 0:
        raise ValueError(f"scale: must be > 0, got {scale}")
    cfg = GeneratorConfig.from_json(str(truth["config"]))
    clean = np.asarray(truth["clean"], dtype=np.float64)
    dx, dy = np.asarray(truth["dx"]), np.asarray(truth["dy"])
    rotation = np.asarray(truth["rotation"])
    jumped = np.asarray(truth["outlier_transitions"], dtype=bool)
    step = target - 1  # the transition frame t-1 -> t
    noisy = frames[:, target]
    jump = jumped[:, step]
    before = rotation_scale(step - 1, cfg)
    carried = np.where(jumped[:, step - 1] | (before == 0), 0.0,
                       rotation[:, step - 1] * rotation_scale(step, cfg) / (before or 1.0))
    centres = frame_centres(clean[:, 0], dx, dy)
    carry = render_step(clean[:, step], centres[:, step], carried, dx[:, step], dy[:, step],
                        np.full(len(frames), cfg.intensity_mean), step, cfg)
    previous = clean[:, step]
    perfect = _mse(clean[:, target], noisy, scale)
    with_jumps = np.where(jump, _mse(previous, noisy, scale), perfect)
    return {
        "copy_last": _mse(frames[:, step], noisy, scale),
        "perfect": perfect,
        "jumps": with_jumps,
        "carry_on": np.where(jump, with_jumps, _mse(carry, noisy, scale)),
    }


def floor_table(
    frames: np.ndarray, truth: dict[str, Any], scale: float, targets: tuple[int, ...] = TEST_FRAMES
) -> pd.DataFrame:
    """Mean per-pixel MSE of copy-last and of each reference, one row per test frame (1-based
    labels) and one for all test windows together ("N6 test" when `frames` are N6), with the
    number of windows whose last step jumps; plus each reference as a ratio to copy-last."""
    rows, every = [], []
    for target in targets:
        errors = reference_errors(frames, truth, target, scale)
        every.append(errors)
        jumps = int(np.asarray(truth["outlier_transitions"], bool)[:, target - 1].sum())
        means = {k: v.mean() for k, v in errors.items()}
        rows.append({"windows": f"frame {target + 1}", "jump windows": jumps, **means})
    pooled = {k: np.concatenate([e[k] for e in every]) for k in every[0]}
    rows.append({"windows": "all test windows", "jump windows": sum(r["jump windows"] for r in rows),
                 **{k: v.mean() for k, v in pooled.items()}})
    table = pd.DataFrame(rows).set_index("windows")
    for name in REFERENCES:
        table[f"{name}_ratio"] = table[name] / table["copy_last"]
    return table


def interpolation_errors(
    frames: np.ndarray, truth: dict[str, Any], target: int, scale: float
) -> dict[str, np.ndarray]:
    """Per-window errors (N,) at 0-based frame `target` (1 <= target < T - 1) read from both sides:
    the neighbour mean (of the noisy frames t-1 and t+1), ``perfect`` and ``jumps`` (module
    docstring), on raw / `scale`; plus ``jump`` (N,) bool, the windows with a jump next to it."""
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 4 or not 1 <= target < frames.shape[1] - 1:
        raise ValueError(
            f"target: frame {target} needs sequences (N, T > {target + 1}, H, W), got {frames.shape}"
        )
    if scale <= 0:
        raise ValueError(f"scale: must be > 0, got {scale}")
    clean = np.asarray(truth["clean"], dtype=np.float64)
    jumped = np.asarray(truth["outlier_transitions"], dtype=bool)
    jump = jumped[:, target - 1] | jumped[:, target]
    noisy = frames[:, target]
    perfect = _mse(clean[:, target], noisy, scale)
    clean_mean = 0.5 * (clean[:, target - 1] + clean[:, target + 1])
    return {
        "neighbour_mean": _mse(0.5 * (frames[:, target - 1] + frames[:, target + 1]), noisy, scale),
        "perfect": perfect,
        "jumps": np.where(jump, _mse(clean_mean, noisy, scale), perfect),
        "jump": jump,
    }
