"""`python -m convlstm_lib COMMAND ...`: one entry point, one module per command.

Each command's module defines `add_arguments(parser)` and `run(args) -> int`; only the
chosen command's module is imported, so `inspect` starts without importing torch.
A `ConvLSTMError` (bad file, bad row, bad parameter), a setting of the environment the run
cannot start with (`check_environment`), and a file the system will not let it read or write
(`OSError` of `atomic.USER_ERRNOS`: permissions, a full disk) each become one line on stderr
and exit 2; Ctrl-C exits 130.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from convlstm_lib.atomic import USER_ERRNOS
from convlstm_lib.errors import ConvLSTMError


class EnvironmentSettingError(ConvLSTMError):
    """An environment variable holds a value the run cannot start with (e.g. MPLBACKEND)."""


def check_environment() -> None:
    """Refuse an MPLBACKEND matplotlib does not know before anything imports matplotlib (which
    would raise at import, deep inside torch's or a notebook's imports)."""
    name = os.environ.get("MPLBACKEND")
    if not name:
        return
    try:
        from matplotlib import rcsetup  # importing matplotlib validates MPLBACKEND the first time

        rcsetup.validate_backend(name)
    except ValueError:
        raise EnvironmentSettingError(
            f"MPLBACKEND={name!r} is not a matplotlib backend; unset it, or set e.g. MPLBACKEND=Agg"
        ) from None


def bad_input_line(exc: BaseException) -> str | None:
    """The one line for an error the user fixes, which every entry point reports with exit status 2:
    a ConvLSTMError (bad input), or an OSError of `atomic.USER_ERRNOS` (a full disk, a file it may
    not read) naming the file. None for anything else: a bug, left to its traceback."""
    if isinstance(exc, ConvLSTMError):
        return str(exc)
    if not isinstance(exc, OSError) or exc.errno not in USER_ERRNOS:
        return None
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or type(exc).__name__}"

COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("convlstm_lib.data.generator", "generate the N6/N3 sequences as course CSVs + ground truth"),
    "inspect": ("convlstm_lib.data.course_io",
                "summarise a course CSV (rows, sequences, frames, min/max/mean)"),
    "train": ("convlstm_lib.training.train_cli",
              "train one model (any kind) on one of the four training sets"),
    "predict": ("convlstm_lib.training.predict", "predict frames 4 and 16 (CSV) or next frames (.npy)"),
    "sweep": ("convlstm_lib.experiments.sweep", "run or resume the profile's hyper-parameter sweep (Optuna)"),
    "lab": ("convlstm_lib.report.notebook", "open the notebooks in JupyterLab, their kernels on one profile"),
}


def _usage() -> str:
    lines = ["usage: python -m convlstm_lib COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<10} {doc}" for name, (_, doc) in COMMANDS.items()]
    lines += ["", "python -m convlstm_lib COMMAND --help for a command's options"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"error: unknown command {command!r}; choose one of {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module_name, doc = COMMANDS[command]
    try:
        check_environment()
    except ConvLSTMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"python -m convlstm_lib {command}", description=doc)
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    try:
        return int(module.run(args) or 0)
    except (ConvLSTMError, OSError) as exc:
        line = bad_input_line(exc)
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
