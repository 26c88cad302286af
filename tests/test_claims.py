"""The paper's claims: every quote verbatim in the paper, every verdict decided by results.json's numbers."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from convlstm_lib import paths
from convlstm_lib.report import claims
from convlstm_lib.report.claims import AGREES, DISAGREES, NOT_TESTED, judge, loss_by_set

# CI keeps the paper in ../shared/ beside the clone; a worktree may sit one folder deeper.
PAPER_NAME = "shared/paper/convlstm-image-sequence-report.md"
PAPER = next(
    (p / PAPER_NAME for p in paths.ROOT.parents if (p / PAPER_NAME).is_file()), paths.ROOT.parent / PAPER_NAME
)


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.skipif(not PAPER.is_file(), reason=f"the paper is not at {PAPER} (../shared/ beside the clone)")
def test_every_quote_is_verbatim_in_the_paper_and_in_the_section_named():
    text = PAPER.read_text()
    sections = {"§4": ("## 4 Results", "## 5 Conclusion"), "§5": ("## 5 Conclusion", "## References")}
    for claim in claims.CLAIMS:
        start, end = sections[claim.section]
        body = _words(text[text.index(start) : text.index(end)])
        assert _words(claim.quote) in body, f"not verbatim in {claim.section}: {claim.quote!r}"


def results_like() -> dict:
    """The parts of results.json the claims read, shaped as the notebooks write them."""
    levels = [0.0, 0.1, 0.2, 0.3]
    return {
        "config": {"layers_max": 7, "kernels_max": 100},
        "best": {"training_set": "denoised", "n6_test_mse": 1e-3, "parameters": {"layers": 4, "kernels": 71}},
        "loss_by_set": {
            "base": {"count": 3, "median": 3e-3, "variance": 4e-7},
            "cleaned": {"count": 3, "median": 2e-3, "variance": 9e-7},
            "processed": {"count": 2, "median": 2.5e-3, "variance": 1e-8},
        },
        "robustness": {
            "tolerance_2x": {"gaussian": {"n6": 0.2}, "poisson": {"n6": 0.3}, "salt_and_pepper": {"n6": 0.0}},
            "noise": {
                "gaussian": {
                    "intensities": levels,
                    "n6": [1e-3, 1.2e-3, 1.8e-3, 5e-3],
                    "n3": [2e-3] * 3 + [6e-3],
                },
                "salt_and_pepper": {
                    "intensities": levels,
                    "n6": [1e-3, 9e-3, 2e-2, 9e-2],
                    "n3": [2e-3, 1e-2, 3e-2, 1e-1],
                },
            },
            "missing_region": {"fraction_removed": [0.0, 0.25, 0.5, 1.0], "n6": [1e-3, 5e-3, 8e-4, 6e-4]},
            "clean_mse": {"n6": 1e-3},
        },
    }


class verdicts(dict):  # noqa: N801  (reads as a function: verdicts(results)["Our best model"])
    """Verdicts keyed by quote; a key may be the quote's beginning."""

    def __init__(self, results: dict) -> None:
        super().__init__((claim.quote, verdict) for claim, verdict in judge(results))

    def __getitem__(self, start: str) -> claims.Verdict:
        (found,) = [v for quote, v in self.items() if quote.startswith(start)]
        return found


def test_a_run_like_the_papers_agrees_with_every_tested_claim():
    got = verdicts(results_like())
    assert [v.status for v in got.values()] == [AGREES] * 8 + [NOT_TESTED] * 2
    assert "denoised" in got["Interestingly, the best model s"].ours
    assert "0.200 (Gaussian) and 0.300 (Poisson)" in got["our model is robust to both poi"].ours


@pytest.mark.parametrize(
    ("change", "claim"),
    [
        (lambda r: r["best"].update(training_set="base"), "Interestingly, the best model s"),
        (lambda r: r["loss_by_set"]["base"].update(median=1e-3), "we found the dataset with outl"),
        (lambda r: r["loss_by_set"]["processed"].update(variance=1e-6), "The fully processed dataset ho"),
        (lambda r: r["best"]["parameters"].update(layers=2), "Our best model used 4 LSTM lay"),
        (
            lambda r: r["robustness"]["tolerance_2x"]["gaussian"].update(n6=0.05),
            "our model is robust to both poi",
        ),
        (
            lambda r: r["robustness"]["noise"]["gaussian"].update(n6=[1e-3, 1e-2, 1e-1, 1.0]),
            "Salt and pepper noise has a mo",
        ),
        (
            lambda r: r["robustness"]["noise"]["gaussian"].update(n3=[1e-4] * 4),
            "Throughout each of the types o",
        ),
        (
            lambda r: r["robustness"]["missing_region"].update(n6=[1e-3, 5e-3, 2e-3, 3e-3]),
            "as more approximately half of ",
        ),
    ],
)
def test_each_verdict_turns_when_its_number_does(change, claim):
    results = copy.deepcopy(results_like())
    change(results)
    assert verdicts(results)[claim].status == DISAGREES


def test_what_results_json_lacks_is_not_tested_never_guessed():
    assert {v.status for v in verdicts({}).values()} == {NOT_TESTED}
    small = copy.deepcopy(results_like())
    small["config"] = {"layers_max": 2, "kernels_max": 16}
    assert verdicts(small)["Our best model used 4 LSTM lay"].status == NOT_TESTED


def test_other_model_families_decide_the_future_work_claims_when_trained():
    results = results_like()
    results["models"] = {
        "convlstm": {"n6_test_mse": 1e-3, "seconds_per_epoch": 10.0},
        "convrnn": {"n6_test_mse": 1.1e-3, "seconds_per_epoch": 4.0},
        "simvp": {"n6_test_mse": 2e-3, "seconds_per_epoch": 20.0},
    }
    got = verdicts(results)
    assert got["other models such as RNNs could"].status == AGREES  # cheaper per epoch
    assert got["Future work in this field could"].status == DISAGREES  # neither cheaper nor better


def test_loss_by_set_counts_complete_trials_only():
    trials = pd.DataFrame(
        {
            "status": ["complete", "complete", "collapsed", "complete"],
            "dataset": ["base", "base", "base", "cleaned"],
            "n6_test_mse": [1e-3, 3e-3, 1e-9, 2e-3],
        }
    )
    out = loss_by_set(trials)
    assert out["base"] == {"count": 2, "min": 1e-3, "median": 2e-3, "variance": pytest.approx(2e-6)}
    assert out["cleaned"]["count"] == 1 and out["cleaned"]["variance"] is None
