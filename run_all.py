#!/usr/bin/env python
"""Run every notebook in order with papermill, then render the report.

    python run_all.py [--profile smoke|quick|paper] [--seed S] [--budget-minutes M]
                      [--output-dir report/] [--only NN] [--no-pdf] [--quiet]

--budget-minutes M limits the sweep (notebook 03) to M minutes of wall-clock time: trials that
would end after it are not started, the rest of the pipeline runs as usual, and the report's
first page says how many of the profile's trials ran ("n of 200 trials").

The pipeline (discovery, parameters, execution, publishing, the output folder's marker, the
per-profile lock) is `convlstm_lib.report.pipeline`; this file parses the arguments, calls it and
maps its outcome to an exit status: 0 done, 2 bad input (one line on stderr; nothing run, or a
notebook stopped on bad data), 1 a notebook failed otherwise (a bug: one paragraph naming the
notebook and cell), 130 Ctrl-C, 143 SIGTERM. A failed or interrupted run publishes nothing.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from convlstm_lib import paths
from convlstm_lib.cli import bad_input_line, check_environment
from convlstm_lib.config import PROFILES_NAMES, check_budget_minutes, check_seed, get_profile
from convlstm_lib.errors import ConvLSTMError
from convlstm_lib.report import pipeline


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="run_all.py", description="Run notebooks/NN_*.py in order with papermill and render the report."
    )
    parser.add_argument("--profile", choices=PROFILES_NAMES, default="quick", help="profile (default quick)")
    parser.add_argument("--seed", type=int, default=None, help="override the profile's seed")
    parser.add_argument("--budget-minutes", default=None, metavar="M",
                        help="wall-clock budget of the sweep in minutes: trials that would end after it "
                             "are not started (default: the profile's)")
    parser.add_argument("--output-dir", type=Path, default=paths.REPORT_DIR,
                        help="default report/; must be new, empty or an earlier report")
    parser.add_argument("--only", action="append", default=[], metavar="NN",
                        help="execute only notebook NN (repeatable); results and report are left alone")
    parser.add_argument("--no-pdf", dest="pdf", action="store_false", help="write report.html only")
    parser.add_argument("--notebooks-dir", type=Path, default=paths.NOTEBOOKS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, *, runs_dir: Path | None = None) -> int:
    """CLI entry point: the exit status of the module docstring."""
    args = parse_args(argv)
    try:
        check_environment()
        if args.seed is not None:
            check_seed(args.seed, "--seed")
        budget = 0.0 if args.budget_minutes is None else check_budget_minutes(args.budget_minutes)
        options = pipeline.RunOptions(
            profile=args.profile, seed=args.seed, budget_minutes=budget, output_dir=args.output_dir,
            only=tuple(args.only), pdf=args.pdf, notebooks_dir=args.notebooks_dir, runs_dir=runs_dir,
            quiet=args.quiet,
        )
        get_profile(args.profile, **pipeline.profile_overrides(options))
    except (ConvLSTMError, ValueError) as exc:  # ValueError: a --seed or --budget-minutes out of range
        print(f"run_all: error: {exc}", file=sys.stderr)
        return 2
    try:
        summary = pipeline.run(options)
    except pipeline.NotebookFailed as exc:
        print(f"run_all: {exc}", file=sys.stderr)
        return 1
    except (ConvLSTMError, OSError) as exc:
        line = bad_input_line(exc)
        if line is None:
            raise
        print(f"run_all: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("run_all: interrupted; nothing was published", file=sys.stderr)
        return 130
    except pipeline.Terminated:
        print("run_all: terminated (SIGTERM); nothing was published", file=sys.stderr)
        return 143
    if not args.quiet:
        from convlstm_lib.report.summary import format_duration

        print(f"run_all: {len(summary.executed)} notebook(s) in {format_duration(summary.runtime_s)}; "
              f"wrote {Path(args.output_dir)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
