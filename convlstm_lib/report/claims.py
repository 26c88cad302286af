"""The paper's claims (its §4 Results and §5 Conclusion), each decided from `results.json`.

`CLAIMS` quotes the paper word for word (a test checks every quote against the paper's text);
`judge(results)` returns one `Verdict` per claim: this reproduction's number that decides it and
`agrees`, `disagrees` or `not tested` (when results.json lacks what decides it, e.g. a profile
too small to reach the paper's model size, or a comparison no notebook ran).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from convlstm_lib.experiments.table1 import TRAINING_SET_LABELS
from convlstm_lib.report.tables import format_number

AGREES, DISAGREES, NOT_TESTED = "agrees", "disagrees", "not tested"
# "Robust" as the paper reads its Figure 8a: the loss stays within this factor of the clean loss.
ROBUST_FACTOR = 2.0
PAPER_ROBUST_BELOW = 0.2
# "Throughout each of the types of noise": N3 worse at (nearly) every level.
THROUGHOUT_SHARE = 0.9


def set_label(name: str) -> str:
    """A training set as a sentence names it: `cleaned` -> `removed outliers`."""
    return TRAINING_SET_LABELS.get(name, name).lower()


@dataclass(frozen=True)
class Verdict:
    """This reproduction's finding on one claim: what we measured and whether it agrees."""

    status: str
    ours: str


@dataclass(frozen=True)
class Claim:
    """A sentence of the paper (verbatim), its section, and how results.json decides it."""

    section: str
    quote: str
    decide: Callable[[Mapping[str, Any]], Verdict]


def _get(results: Mapping[str, Any], *keys: str) -> Any:
    node: Any = results
    for key in keys:
        if not isinstance(node, Mapping) or node.get(key) is None:
            return None
        node = node[key]
    return node


def _n(value: float) -> str:
    return format_number(value)


def _best_set(results: Mapping[str, Any]) -> Verdict:
    best = _get(results, "best", "training_set")
    if best is None:
        return Verdict(NOT_TESTED, "no complete trial")
    mse = _get(results, "best", "n6_test_mse")
    return Verdict(AGREES if best == "denoised" else DISAGREES,
                   f"our best trial was trained on the {set_label(best)} set (N6 MSE {_n(mse)})")


def _by_set(results: Mapping[str, Any], stat: str, lowest: str, what: str) -> Verdict:
    sets = _get(results, "loss_by_set") or {}
    usable = {k: v for k, v in sets.items() if v.get(stat) is not None and v.get("count", 0) >= 2}
    if len(usable) < 2:
        return Verdict(NOT_TESTED,
                       f"fewer than two training sets with two or more complete trials for a {what}")
    winner = min(usable, key=lambda k: usable[k][stat])
    values = ", ".join(f"{set_label(k)} {_n(v[stat])}" for k, v in usable.items())
    return Verdict(AGREES if winner == lowest else DISAGREES,
                   f"lowest {what}: {set_label(winner)} ({values}; N6 MSE)")


def _model_size(results: Mapping[str, Any]) -> Verdict:
    layers_max, kernels_max = _get(results, "config", "layers_max"), _get(results, "config", "kernels_max")
    best = _get(results, "best", "parameters") or {}
    if layers_max is None or not best:
        return Verdict(NOT_TESTED, "no best trial")
    size = f"our best: {best.get('layers')} layer(s) x {best.get('kernels')} kernels"
    if layers_max < 4 or kernels_max < 71:
        limit = f"this profile draws at most {layers_max} layers x {kernels_max} kernels"
        return Verdict(NOT_TESTED, f"{size}; {limit}")
    return Verdict(AGREES if best.get("layers") == 4 else DISAGREES, size)


def _tolerances(results: Mapping[str, Any]) -> dict[str, float] | None:
    tol = _get(results, "robustness", "tolerance_2x")
    if not tol:
        return None
    return {kind: tol[kind]["n6"] for kind in ("gaussian", "poisson", "salt_and_pepper") if kind in tol}


def _robust_below(results: Mapping[str, Any]) -> Verdict:
    tol = _tolerances(results)
    if not tol or "gaussian" not in tol or "poisson" not in tol:
        return Verdict(NOT_TESTED, "no robustness curves")
    ours = (f"N6 loss within {ROBUST_FACTOR:g}x the clean loss up to intensity "
            f"{_n(tol['gaussian'])} (Gaussian) and {_n(tol['poisson'])} (Poisson)")
    ok = min(tol["gaussian"], tol["poisson"]) >= PAPER_ROBUST_BELOW - 1e-9
    return Verdict(AGREES if ok else DISAGREES, ours)


def _salt_and_pepper_worst(results: Mapping[str, Any]) -> Verdict:
    noise = _get(results, "robustness", "noise")
    if not noise or "salt_and_pepper" not in noise:
        return Verdict(NOT_TESTED, "no robustness curves")
    at_max = {kind: curve["n6"][-1] for kind, curve in noise.items() if curve.get("n6")}
    worst = max(at_max, key=at_max.get)
    values = ", ".join(f"{k.replace('_', ' ')} {_n(v)}" for k, v in at_max.items())
    return Verdict(AGREES if worst == "salt_and_pepper" else DISAGREES,
                   f"N6 MSE at intensity {_n(noise[worst]['intensities'][-1])}: {values}")


def _n3_worse(results: Mapping[str, Any]) -> Verdict:
    noise = _get(results, "robustness", "noise")
    if not noise:
        return Verdict(NOT_TESTED, "no robustness curves")
    pairs = [(a, b) for curve in noise.values() for a, b in zip(curve["n3"], curve["n6"], strict=True)
             if a is not None and b is not None]
    share = sum(a > b for a, b in pairs) / len(pairs)
    return Verdict(AGREES if share >= THROUGHOUT_SHARE else DISAGREES,
                   f"N3 loss above N6 at {share:.0%} of the {len(pairs)} (noise, intensity) points "
                   "(both scored on their frame-4 and frame-16 windows)")


def _half_removed(results: Mapping[str, Any]) -> Verdict:
    region = _get(results, "robustness", "missing_region")
    clean = _get(results, "robustness", "clean_mse", "n6")
    if not region or clean is None:
        return Verdict(NOT_TESTED, "no missing-region curve")
    past_half = [m for f, m in zip(region["fraction_removed"], region["n6"], strict=True)
                 if f >= 0.5 and m is not None]
    if not past_half:
        return Verdict(NOT_TESTED, "no region of half the image or more was measured")
    lowest = min(past_half)
    return Verdict(AGREES if lowest < clean else DISAGREES,
                   f"lowest N6 MSE with half the image or more removed {_n(lowest)}, clean {_n(clean)}")


def _other_models(family: str, label: str) -> Callable[[Mapping[str, Any]], Verdict]:
    def decide(results: Mapping[str, Any]) -> Verdict:
        models = _get(results, "models") or {}
        ours, other = models.get("convlstm"), models.get(family)
        if not ours or not other:
            return Verdict(NOT_TESTED, f"not trained in this run: {label}")
        cheaper = other.get("seconds_per_epoch", float("inf")) < ours.get("seconds_per_epoch", 0)
        better = other.get("n6_test_mse", float("inf")) <= ours.get("n6_test_mse", 0)
        text = (f"{label}: N6 MSE {_n(other['n6_test_mse'])}, {_n(other['seconds_per_epoch'])} s per epoch; "
                f"ConvLSTM: {_n(ours['n6_test_mse'])}, {_n(ours['seconds_per_epoch'])} s per epoch")
        return Verdict(AGREES if cheaper or better else DISAGREES, text)

    return decide


CLAIMS: tuple[Claim, ...] = (
    Claim("§4", "Interestingly, the best model seen across all trials, was trained on the denoised dataset.",
          _best_set),
    Claim("§4", "we found the dataset with outliers removed achieved the lowest median test loss over all "
                "runs",
          lambda r: _by_set(r, "median", "cleaned", "median test loss")),
    Claim("§4", "The fully processed dataset however, had the lowest variance in test loss.",
          lambda r: _by_set(r, "variance", "processed", "variance of the test loss")),
    Claim("§4", "Our best model used 4 LSTM layers, with 71 kernels", _model_size),
    Claim("§4", "our model is robust to both poisson, and gaussian noise with an intensities of less than "
                "approximately 0.2", _robust_below),
    Claim("§4", "Salt and pepper noise has a more significantly impact on its performance.",
          _salt_and_pepper_worst),
    Claim("§4", "Throughout each of the types of noise, the models performance on the N3 dataset is worse "
                "than the N6 dataset.", _n3_worse),
    Claim("§4", "as more approximately half of the image is removed, the loss decreases below the loss "
                "achieved on the unaugmented dataset.", _half_removed),
    Claim("§5", "other models such as RNNs could be investigated to see if the computational complexity "
                "of the model could be reduced.", _other_models("convrnn", "a convolutional RNN")),
    Claim("§5", "Future work in this field could investigate how other models for spatial-temporal learning "
                "perform in comparison to our model, such as the models developed as part of the OpenSTL "
                "benchmark", _other_models("simvp", "a SimVP-style model (OpenSTL)")),
)


def judge(results: Mapping[str, Any]) -> list[tuple[Claim, Verdict]]:
    """Every claim beside this reproduction's verdict on it, in the paper's order."""
    return [(claim, claim.decide(results)) for claim in CLAIMS]


def loss_by_set(trials) -> dict[str, dict[str, float | int]]:
    """Per training set, over complete trials: count, min, median and variance of the N6 test MSE.

    `trials`: the sweep's trials table (columns `status`, `dataset`, `n6_test_mse`). Variance is
    the sample variance (None with fewer than two trials).
    """
    done = trials[trials["status"] == "complete"].dropna(subset=["n6_test_mse"])
    out: dict[str, dict[str, float | int]] = {}
    for name, group in done.groupby("dataset"):
        mse = group["n6_test_mse"].astype(float)
        out[str(name)] = {
            "count": int(len(mse)), "min": float(mse.min()), "median": float(mse.median()),
            "variance": float(mse.var()) if len(mse) >= 2 else None,
        }
    return out
