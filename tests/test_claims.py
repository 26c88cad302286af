"""The paper's claims: every quote verbatim in the paper, every verdict decided by results.json's numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from convlstm_lib import paths
from convlstm_lib.report import claims
from convlstm_lib.report.claims import AGREES, DISAGREES, NOT_TESTED, PARTLY, judge

# CI keeps the paper in the team's shared folder beside the clone; a worktree may sit one folder deeper.
PAPER_NAME = "shared/paper/convlstm-image-sequence-report.md"
PAPER = next(
    (p / PAPER_NAME for p in paths.ROOT.parents if (p / PAPER_NAME).is_file()), paths.ROOT.parent / PAPER_NAME
)
EXAMPLE = Path(__file__).with_name("results_example.json")  # a quick run's results.json (test_results)


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.skipif(not PAPER.is_file(), reason=f"the paper is not at {PAPER}")
def test_every_quote_is_verbatim_in_the_paper_and_in_the_section_named():
    text = PAPER.read_text()
    sections = {"§4": ("## 4 Results", "## 5 Conclusion"), "§5": ("## 5 Conclusion", "## References")}
    for claim in claims.CLAIMS:
        start, end = sections[claim.section]
        body = _words(text[text.index(start) : text.index(end)])
        assert _words(claim.quote) in body, f"not verbatim in {claim.section}: {claim.quote!r}"


def like_the_paper() -> dict:
    """A quick run's results.json with the numbers changed to what the paper reports."""
    r = json.loads(EXAMPLE.read_text())
    r["config"].update(layers_max=7, kernels_max=100)
    r["best"].update(training_set="denoised")
    r["best"]["parameters"].update(layers=4, kernels=71)
    r["loss_by_set"]["cleaned"].update(median=5e-4)
    r["loss_by_set"]["processed"].update(variance=1e-9)
    rob = r["robustness"]
    rob["tolerance_2x"]["gaussian"]["n6"] = 0.25
    rob["tolerance_2x"]["poisson"]["n6"] = 0.2
    for curve in rob["noise"].values():
        curve["n3"] = [2 * v for v in curve["n6"]]
    rob["missing_region"]["n6"][-1] = rob["clean_mse"]["n6"] / 2
    r["models"]["simvp"].update(n6_test_mse=r["models"]["convlstm"]["n6_test_mse"] / 2)
    return r


class verdicts(dict):  # noqa: N801  (reads as a function: verdicts(results)["Our best model"])
    """Verdicts keyed by quote; a key may be the quote's beginning."""

    def __init__(self, results: dict) -> None:
        super().__init__((claim.quote, verdict) for claim, verdict in judge(results))

    def __getitem__(self, start: str) -> claims.Verdict:
        (found,) = [v for quote, v in self.items() if quote.startswith(start)]
        return found


def test_a_run_like_the_papers_agrees_with_every_claim():
    got = verdicts(like_the_paper())
    assert [v.status for v in got.values()] == [AGREES] * 10
    assert "denoised" in got["Interestingly, the best model s"].ours
    assert "0.250 (Gaussian) and 0.200 (Poisson)" in got["our model is robust to both poi"].ours


@pytest.mark.parametrize(
    ("change", "claim"),
    [
        (lambda r: r["best"].update(training_set="base"), "Interestingly, the best model s"),
        (lambda r: r["loss_by_set"]["base"].update(median=1e-4), "we found the dataset with outl"),
        (lambda r: r["loss_by_set"]["processed"].update(variance=1e-6), "The fully processed dataset ho"),
        (lambda r: r["best"]["parameters"].update(layers=2), "Our best model used 4 LSTM lay"),
        (lambda r: r["robustness"]["tolerance_2x"]["gaussian"].update(n6=0.05),
         "our model is robust to both poi"),
        (lambda r: r["robustness"]["noise"]["gaussian"]["n6"].__setitem__(-1, 1.0),
         "Salt and pepper noise has a mo"),
        (lambda r: r["robustness"]["noise"]["gaussian"].update(n3=[0.0] * 9, n6=[1.0] * 9)
         or r["robustness"]["noise"]["poisson"].update(n3=[0.0] * 9, n6=[1.0] * 9),
         "Throughout each of the types o"),
        (lambda r: r["robustness"]["missing_region"]["n6"].__setitem__(-1, 1.0),
         "as more approximately half of "),
        (lambda r: r["models"]["convrnn"].update(seconds_per_epoch=99.0, n6_test_mse=1.0),
         "other models such as RNNs could"),
        (lambda r: r["models"]["simvp"].update(seconds_per_epoch=99.0, n6_test_mse=1.0),
         "Future work in this field could"),
    ],
)
def test_each_verdict_turns_when_its_number_does(change, claim):
    results = like_the_paper()
    change(results)
    assert verdicts(results)[claim].status == DISAGREES


def test_a_claim_over_many_points_that_holds_at_most_of_them_partly_agrees():
    results = like_the_paper()  # N3 above N6 at every one of the 27 points
    assert claims.share_verdict(22 / 27) == PARTLY
    noise = results["robustness"]["noise"]
    noise["salt_and_pepper"]["n3"] = [v / 2 for v in noise["salt_and_pepper"]["n6"]]  # 18 of 27 left
    got = verdicts(results)["Throughout each of the types o"]
    assert got.status == PARTLY and "67% of the 27" in got.ours
    assert [claims.share_verdict(s) for s in (1.0, 0.9, 0.89, 0.5, 0.49)] == [AGREES, AGREES, PARTLY, PARTLY,
                                                                             DISAGREES]


def test_the_committed_kind_of_run_reads_partly_not_disagrees():
    got = verdicts(json.loads(EXAMPLE.read_text()))["Throughout each of the types o"]
    assert got.status == PARTLY and "81%" in got.ours


def test_what_results_json_lacks_is_not_tested_never_guessed():
    assert {v.status for v in verdicts({}).values()} == {NOT_TESTED}
    small = json.loads(EXAMPLE.read_text())  # the quick profile draws at most 2 layers x 16 kernels
    assert verdicts(small)["Our best model used 4 LSTM lay"].status == NOT_TESTED
    del small["models"]["simvp"]
    assert verdicts(small)["Future work in this field could"].status == NOT_TESTED
    for name in ("cleaned", "denoised", "processed"):
        small["loss_by_set"][name]["count"] = 1
    assert verdicts(small)["we found the dataset with outl"].status == NOT_TESTED
