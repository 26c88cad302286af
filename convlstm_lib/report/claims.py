"""The paper's claims (its §4 Results and §5 Conclusion), each decided from results.json.

`CLAIMS` quotes the paper word for word (a test checks every quote against the paper's text);
`judge(results)` returns one `Verdict` per claim: this reproduction's number that decides it and
one of `VERDICTS`: `agrees`; `partly agrees`, for a claim about many points that holds at most
of them (a share of at least `PARTLY_SHARE` but below `THROUGHOUT_SHARE`); `disagrees`; or
`not tested`, when results.json lacks what decides it (e.g. a profile too small to reach the
paper's model size, or a comparison no notebook ran). `results` is read through
`report.results` (`Results`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from convlstm_lib.experiments.table1 import TRAINING_SET_LABELS
from convlstm_lib.report.results import Results, parse
from convlstm_lib.report.tables import format_number

AGREES, PARTLY, DISAGREES, NOT_TESTED = "agrees", "partly agrees", "disagrees", "not tested"
VERDICTS = (AGREES, PARTLY, DISAGREES, NOT_TESTED)
# "Robust" as the paper reads its Figure 8a: the loss stays within this factor of the clean loss.
ROBUST_FACTOR = 2.0
PAPER_ROBUST_BELOW = 0.2
# A claim over many points ("throughout each of the types of noise"): it agrees when it holds at
# this share of them or more, partly agrees at PARTLY_SHARE or more (most of them), else disagrees.
THROUGHOUT_SHARE = 0.9
PARTLY_SHARE = 0.5


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
    decide: Callable[[Results], Verdict]


def _n(value: float) -> str:
    return format_number(value)


def share_verdict(share: float) -> str:
    """The verdict on a claim that holds at `share` of its points (module docstring)."""
    if share >= THROUGHOUT_SHARE:
        return AGREES
    return PARTLY if share >= PARTLY_SHARE else DISAGREES


def _best_set(results: Results) -> Verdict:
    best = results.best
    if best is None:
        return Verdict(NOT_TESTED, "no complete trial")
    return Verdict(AGREES if best.training_set == "denoised" else DISAGREES,
                   f"our best trial (chosen on validation) was trained on the {set_label(best.training_set)} "
                   f"set (N6 MSE {_n(best.n6_test_mse)})")


def _by_set(results: Results, stat: str, lowest: str, what: str) -> Verdict:
    sets = results.loss_by_set or {}
    usable = {k: getattr(v, stat) for k, v in sets.items() if getattr(v, stat) is not None and v.count >= 2}
    if len(usable) < 2:
        return Verdict(NOT_TESTED,
                       f"fewer than two training sets with two or more complete trials for a {what}")
    winner = min(usable, key=usable.get)
    values = ", ".join(f"{set_label(k)} {_n(v)}" for k, v in usable.items())
    return Verdict(AGREES if winner == lowest else DISAGREES,
                   f"lowest {what}: {set_label(winner)} ({values}; N6 MSE)")


def _model_size(results: Results) -> Verdict:
    if results.config is None or results.best is None:
        return Verdict(NOT_TESTED, "no best trial")
    layers_max, kernels_max = results.config.layers_max, results.config.kernels_max
    best = results.best.parameters
    size = f"our best (chosen on validation): {best.layers} layer(s) x {best.kernels} kernels"
    if layers_max < 4 or kernels_max < 71:
        limit = f"this profile draws at most {layers_max} layers x {kernels_max} kernels"
        return Verdict(NOT_TESTED, f"{size}; {limit}")
    return Verdict(AGREES if best.layers == 4 else DISAGREES, size)


def _robust_below(results: Results) -> Verdict:
    tol = results.robustness.tolerance_2x if results.robustness else {}
    if "gaussian" not in tol or "poisson" not in tol:
        return Verdict(NOT_TESTED, "no robustness curves")
    gaussian, poisson = tol["gaussian"].get("n6"), tol["poisson"].get("n6")
    if gaussian is None or poisson is None:
        return Verdict(NOT_TESTED, "no N6 tolerance for Gaussian or Poisson noise")
    ours = (f"N6 loss within {ROBUST_FACTOR:g}x the clean loss up to intensity "
            f"{_n(gaussian)} (Gaussian) and {_n(poisson)} (Poisson)")
    ok = min(gaussian, poisson) >= PAPER_ROBUST_BELOW - 1e-9
    return Verdict(AGREES if ok else DISAGREES, ours)


def _salt_and_pepper_worst(results: Results) -> Verdict:
    noise = results.robustness.noise if results.robustness else {}
    if "salt_and_pepper" not in noise:
        return Verdict(NOT_TESTED, "no robustness curves")
    at_max = {kind: curve.n6[-1] for kind, curve in noise.items() if curve.n6}
    worst = max(at_max, key=at_max.get)
    values = ", ".join(f"{k.replace('_', ' ')} {_n(v)}" for k, v in at_max.items())
    return Verdict(AGREES if worst == "salt_and_pepper" else DISAGREES,
                   f"N6 MSE at intensity {_n(noise[worst].intensities[-1])}: {values}")


def _n3_worse(results: Results) -> Verdict:
    noise = results.robustness.noise if results.robustness else {}
    pairs = [(a, b) for curve in noise.values() for a, b in zip(curve.n3, curve.n6, strict=True)
             if a is not None and b is not None]
    if not pairs:
        return Verdict(NOT_TESTED, "no robustness curves")
    share = sum(a > b for a, b in pairs) / len(pairs)
    return Verdict(share_verdict(share),
                   f"N3 loss above N6 at {share:.0%} of the {len(pairs)} (noise, intensity) points "
                   "(both scored on their frame-4 and frame-16 windows)")


def _half_removed(results: Results) -> Verdict:
    if results.robustness is None or "n6" not in results.robustness.clean_mse:
        return Verdict(NOT_TESTED, "no missing-region curve")
    region, clean = results.robustness.missing_region, results.robustness.clean_mse["n6"]
    past_half = [m for f, m in zip(region.fraction_removed, region.n6, strict=True)
                 if f >= 0.5 and m is not None]
    if not past_half:
        return Verdict(NOT_TESTED, "no region of half the image or more was measured")
    lowest = min(past_half)
    return Verdict(AGREES if lowest < clean else DISAGREES,
                   f"lowest N6 MSE with half the image or more removed {_n(lowest)}, clean {_n(clean)}")


def _other_models(family: str, label: str) -> Callable[[Results], Verdict]:
    def decide(results: Results) -> Verdict:
        models = results.models or {}
        ours, other = models.get("convlstm"), models.get(family)
        if not ours or not other:
            return Verdict(NOT_TESTED, f"not trained in this run: {label}")
        cheaper = other.seconds_per_epoch < ours.seconds_per_epoch
        better = other.n6_test_mse <= ours.n6_test_mse
        text = (f"best trials by validation, {label}: N6 MSE {_n(other.n6_test_mse)}, "
                f"{_n(other.seconds_per_epoch)} s per epoch; "
                f"ConvLSTM: {_n(ours.n6_test_mse)}, {_n(ours.seconds_per_epoch)} s per epoch")
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


def judge(results: Results | Mapping[str, Any]) -> list[tuple[Claim, Verdict]]:
    """Every claim beside this reproduction's verdict on it, in the paper's order."""
    typed = parse(results)
    return [(claim, claim.decide(typed)) for claim in CLAIMS]
