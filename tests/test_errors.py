"""User-fixable errors (convlstm_lib/errors.py): every one the library raises is a ConvLSTMError,
which the CLI and run_all print as one line; `one_line` gives that line."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import convlstm_lib
from convlstm_lib.errors import CheckpointError, ConvLSTMError, CourseDataError, DeviceError, one_line

# Exceptions the library defines that are not bad input: a sweep trial's recorded failure (caught
# inside the sweep), a notebook that failed otherwise (exit 1), a SIGTERM (exit 143).
NOT_USER_ERRORS = {"convlstm_lib.experiments.sweep._RecordedFailure",
                   "convlstm_lib.report.pipeline.NotebookFailed", "convlstm_lib.report.pipeline.Terminated"}


def _library_exceptions() -> dict[str, type]:
    found = {}
    for info in pkgutil.walk_packages(convlstm_lib.__path__, "convlstm_lib."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == info.name:
                found[f"{info.name}.{name}"] = value
    return found


def test_every_exception_the_library_defines_for_bad_input_is_a_convlstm_error():
    exceptions = _library_exceptions()
    assert NOT_USER_ERRORS <= set(exceptions), "a listed exception is gone: update NOT_USER_ERRORS"
    stray = sorted(name for name, cls in exceptions.items()
                   if name not in NOT_USER_ERRORS and not issubclass(cls, ConvLSTMError))
    assert not stray, f"exceptions that the CLI would print as a traceback: {stray}"


def test_errors_about_values_are_value_errors_too():
    # callers that validate with `except ValueError` catch the library's value errors
    assert issubclass(CourseDataError, ValueError) and issubclass(DeviceError, ValueError)
    assert not issubclass(CheckpointError, ValueError)


@pytest.mark.parametrize(("exc", "line"), [
    (CheckpointError("runs/a.pt: truncated\n  detail"), "runs/a.pt: truncated"),
    (ValueError("  padded\nsecond"), "padded"),
    (KeyError(), "KeyError"),
    (RuntimeError("\n\n"), "RuntimeError"),
])
def test_one_line_is_the_first_line_of_the_message_or_the_type(exc, line):
    assert one_line(exc) == line
