"""Exceptions a user can act on. The CLI prints their message as one line and exits 2."""


class ConvLSTMError(Exception):
    """Base class: bad input a user can fix (a file, a row, a parameter)."""


class CourseDataError(ConvLSTMError, ValueError):
    """A course CSV (or an array in its place) is missing, empty or malformed."""


class CheckpointError(ConvLSTMError):
    """A checkpoint file is missing, truncated, or not one of ours."""


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when the message is empty)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class OutputPathError(ConvLSTMError):
    """An output path cannot be written (a file where a folder is needed, no permission, wrong suffix)."""


class DeviceError(ConvLSTMError, ValueError):
    """A --device this machine cannot run on (unknown name, no CUDA in this torch build, no such GPU)."""
