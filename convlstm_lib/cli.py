"""`python -m convlstm_lib COMMAND ...`: one entry point, one module per command.

Each command's module defines `add_arguments(parser)` and `run(args) -> int`; only the
chosen command's module is imported, so `inspect` starts without importing torch.
A `ConvLSTMError` (bad file, bad row, bad parameter) becomes one line on stderr and exit 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from convlstm_lib.errors import ConvLSTMError

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
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"python -m convlstm_lib {command}", description=doc)
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    try:
        return int(module.run(args) or 0)
    except ConvLSTMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
