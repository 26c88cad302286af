"""The figures the report holds its models to, each a ratio to a predictor that learns nothing.

One place for them: the notebooks draw and state them from here, and docs/REPORT.md lists them
(a test holds that list to these values). Each is measured on the N6 test windows.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """At most `ratio` x the MSE of `reference`, for `what` (on the `profile` profile)."""

    what: str
    ratio: float
    reference: str
    profile: str

    def __str__(self) -> str:
        return f"at most {self.ratio:.2f} x {self.reference}"

    def met(self, mse: float, reference_mse: float) -> bool:
        return mse <= self.ratio * reference_mse


# the best trial of the paper's model in the sweep (notebook 04)
BEST_TRIAL = Target("the sweep's best ConvLSTM", 0.6, "copy-last", "quick")
# the best model of any kind, final model included (notebook 06)
BEST_MODEL = Target("the best model of any kind", 0.40, "copy-last", "quick")
# frame 4 predicted from both sides (notebook 04)
INTERPOLATION = Target("frame 4 by interpolation", 0.8, "the mean of frames 3 and 5", "quick")
TARGETS: tuple[Target, ...] = (BEST_TRIAL, BEST_MODEL, INTERPOLATION)
