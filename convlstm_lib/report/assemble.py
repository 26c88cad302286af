"""Assemble a report folder from an executed run: figures, artifacts, results.json, report.html/.pdf.

`assemble(...)` writes into a staging folder (run_all publishes it whole when everything
succeeded): `figures/` and the files of `runs/<profile>/artifacts/` copied; every
`runs/<profile>/results/*.json` merged with the stamp into `results.json`; the executed
notebooks rendered, in run order, between the summary page and the closing section beside the
paper (`render`, `summary`); the PDF printed from that HTML.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from convlstm_lib import paths
from convlstm_lib.config import ProfileConfig
from convlstm_lib.errors import ConvLSTMError
from convlstm_lib.report import results as schema
from convlstm_lib.report.render import render_html, write_html, write_pdf
from convlstm_lib.report.summary import beside_the_paper_html, format_duration, summary_html
from convlstm_lib.training.devices import describe_device

TITLE = "Convolutional LSTM for image-sequence modelling: reproduction report"


class ReportError(ConvLSTMError):
    """A run's outputs cannot be assembled into a report (bad result file, reserved name)."""


@dataclass(frozen=True)
class ReportStamp:
    """What a reader needs to trust a report: which code, which profile and seed, when, how long, where."""

    commit: str
    profile: str
    seed: int
    date: str
    runtime_s: float
    device: str

    def rows(self) -> list[tuple[str, str]]:
        return [("commit", self.commit), ("profile", self.profile), ("seed", str(self.seed)),
                ("date", self.date), ("wall time", format_duration(self.runtime_s)), ("device", self.device)]


def git_commit(root: Path = paths.ROOT, ignore: Path | None = None) -> str:
    """`git rev-parse HEAD` of `root`, plus '-dirty' when files changed (untracked too); else 'unknown'.

    `ignore` (the report's own output folder, when inside `root`) does not make the tree dirty:
    a previous report about to be replaced is output, not source.
    """
    exclude = []
    if ignore is not None and ignore.resolve().is_relative_to(root.resolve()):
        exclude = ["--", ".", f":(exclude){ignore.resolve().relative_to(root.resolve()).as_posix()}"]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", *exclude],
            capture_output=True, text=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if status.strip() else "")


@dataclass
class Timings:
    """Seconds spent rendering the HTML and printing the PDF (0 when skipped)."""

    html_s: float = 0.0
    pdf_s: float = 0.0


def assemble(
    cfg: ProfileConfig, runs_dir: Path, staging: Path, output_dir: Path, notebooks: Sequence[str], *,
    commit: str, date: str, start: float, pdf: bool = True,
) -> Timings:
    """Into `staging`: figures/, the artifacts, results.json, report.html (+ report.pdf).

    `notebooks`: the executed notebooks' names, in run order (staging/notebooks/<name>.ipynb).
    `output_dir` is where the report will be published (for the checkpoint path in results.json);
    `start` the run's `time.perf_counter()` at its start (for the wall time).
    """
    missing = [n for n in notebooks if not (staging / "notebooks" / f"{n}.ipynb").is_file()]
    if missing:
        raise ReportError(f"{staging / 'notebooks'}: no executed notebook for {', '.join(missing)}")
    figures = runs_dir / paths.FIGURES
    if figures.is_dir():
        shutil.copytree(figures, staging / "figures")
    checkpoint: Path | None = None
    artifacts = runs_dir / paths.ARTIFACTS
    if artifacts.is_dir():
        for file in sorted(p for p in artifacts.iterdir() if p.is_file()):
            shutil.copy2(file, staging / file.name)
            if file.name == paths.BEST_MODEL:
                checkpoint = Path(output_dir).resolve() / file.name
    merged = schema.merge(runs_dir / paths.RESULTS)
    if "best" in merged and checkpoint is None:
        print(f"report: warning: results have 'best' but {artifacts / paths.BEST_MODEL} is missing",
              file=sys.stderr)
    device = describe_device()
    results = schema.build(cfg, merged, commit=commit, date=date, runtime_s=time.perf_counter() - start,
                           device=device, checkpoint=checkpoint)
    schema.write_results(staging, results)
    for problem in schema.problems(results):  # such a section is left out of the summary
        print(f"report: warning: results.json: {problem}", file=sys.stderr)

    timings = Timings()
    t0 = time.perf_counter()
    stamp = ReportStamp(commit=commit, profile=cfg.profile, seed=cfg.seed, date=date,
                        runtime_s=time.perf_counter() - start, device=device)
    executed = [staging / "notebooks" / f"{name}.ipynb" for name in notebooks]
    html_text = render_html(executed, title=TITLE, stamp=stamp.rows(),
                            front=summary_html(results, runtime_s=stamp.runtime_s),
                            back=beside_the_paper_html(results))
    html_path = write_html(html_text, staging / "report.html")
    timings.html_s = time.perf_counter() - t0
    if pdf:
        t0 = time.perf_counter()
        if write_pdf(html_path, staging / "report.pdf") is not None:
            timings.pdf_s = time.perf_counter() - t0
    return timings
