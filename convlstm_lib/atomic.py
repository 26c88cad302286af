"""Atomic file writes: write to a temporary file beside the target, then rename.

An interrupted run never leaves a half-written file under the final name; `atomic_paths`
extends this to a set of files (none replaced until all are written). `check_output_dir` /
`check_output_file` refuse an unwritable output before any work starts. A write that fails
for want of space or permission (`OSError`: a full disk, a quota, a read-only file system) is
raised as `OutputPathError` naming the target, never the hidden temporary file.
`input_problem` says, for an input path, why it cannot be read as a file.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from convlstm_lib.errors import OutputPathError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto `target` on success.

    The temporary file keeps the target's suffix (numpy and torch look at it) unless
    `suffix` says otherwise. On any exception the temporary file is removed.
    """
    target = Path(target)
    with _temp_beside(target, suffix) as tmp_path, _named(target, tmp_path):
        yield tmp_path
        os.replace(tmp_path, target)


@contextlib.contextmanager
def atomic_paths(targets: Sequence[str | os.PathLike]) -> Iterator[list[Path]]:
    """Temporary paths for several targets, renamed onto them only when the whole block succeeds.

    Nothing under a target name changes until every temporary file is written; they are then
    renamed in the order given (put a manifest last). On any exception every temporary file is
    removed and the targets are left as they were.
    """
    with contextlib.ExitStack() as stack:
        tmps = [stack.enter_context(_temp_beside(Path(t))) for t in targets]
        with _named(Path(targets[0]).parent, *tmps):
            yield tmps
            for tmp, target in zip(tmps, targets, strict=True):
                os.replace(tmp, Path(target))


# OSErrors a user fixes, not bugs: space, quota, file size limit, permissions, a read-only file system.
USER_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EACCES, errno.EPERM, errno.EROFS})


@contextlib.contextmanager
def _named(target: Path, *tmps: Path) -> Iterator[None]:
    """Raise a failed write inside the block (an `OSError` of `USER_ERRNOS` about one of `tmps`
    or about no file) as OutputPathError naming `target`."""
    try:
        yield
    except OSError as exc:
        mine = exc.filename is None or Path(exc.filename) in tmps or Path(exc.filename) == target
        if exc.errno not in USER_ERRNOS or not mine:
            raise
        raise OutputPathError(f"{target}: cannot be written ({exc.strerror}); nothing was changed") from None


@contextlib.contextmanager
def _temp_beside(target: Path, suffix: str | None = None) -> Iterator[Path]:
    """A temporary path beside `target` (its suffix unless `suffix` says otherwise, normal
    permissions: mkstemp makes 0600), removed if still there when the block ends."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        ending = suffix if suffix is not None else target.suffix
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=ending)
    except (FileExistsError, NotADirectoryError):
        raise OutputPathError(f"{target}: cannot be written: a file stands where a folder goes") from None
    except OSError as exc:
        if exc.errno not in USER_ERRNOS:
            raise
        raise OutputPathError(f"{target}: cannot be written ({exc.strerror})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())
    try:
        yield tmp_path
    finally:
        tmp_path.unlink(missing_ok=True)


def write_text(target: str | os.PathLike, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text)


def write_bytes(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def _unwritable(folder: Path) -> str | None:
    """Why files cannot be created in `folder` (created if missing), or None if they can.

    The nearest part of `folder` that exists must be a folder in which a file can really be
    created (tried with a temporary file, removed at once: permissions, read-only file systems
    and ACLs all count); nothing else is created.
    """
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        return f"{existing} is a file, not a folder"
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".write-test-")
    except OSError as exc:
        return f"cannot create files in {existing} ({exc.strerror or type(exc).__name__})"
    os.close(fd)
    os.unlink(probe)
    return None


def input_problem(path: str | os.PathLike) -> str | None:
    """Why `path` cannot be read as an input file ("file not found", "is a folder", ...), or None.

    Checked without opening anything that could block: a FIFO, a device such as /dev/null or
    "-" (standard input, which no command reads) are named as such, not as missing files.
    """
    path = Path(path)
    if str(path) == "-":
        return "'-' (standard input) is not read; give a file path"
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    if stat.S_ISDIR(mode):
        return "is a folder"
    if not stat.S_ISREG(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device" if (
            stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) else "a socket" if stat.S_ISSOCK(mode) else "not a file"
        return f"is {kind}, not a regular file"
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    return None


def check_output_dir(folder: str | os.PathLike, name: str) -> Path:
    """Refuse, before any work starts, a folder this run could not write into.

    `folder` may not exist yet (it is created when the results are written). Raises
    `OutputPathError` naming `name` (the CLI option) and the reason; returns `folder` as a Path.
    """
    folder = Path(folder)
    problem = _unwritable(folder)
    if problem is not None:
        raise OutputPathError(f"{name} {folder}: {problem.removeprefix(f'{folder} ')}")
    return folder


def check_output_file(target: str | os.PathLike, name: str, suffixes: tuple[str, ...] = ()) -> Path:
    """Refuse, before any work starts, an output file path this run could not write.

    The path must not be a folder, its suffix must be one of `suffixes` (when given: the file
    format follows the suffix), and its folder must be writable (`check_output_dir`).
    """
    target = Path(target)
    if target.is_dir():
        raise OutputPathError(f"{name} {target}: is a folder; give a file name")
    if suffixes and target.suffix.lower() not in suffixes:
        raise OutputPathError(
            f"{name} {target}: the file name must end in {' or '.join(suffixes)} (it selects the format)"
        )
    problem = _unwritable(target.parent)
    if problem is not None:
        raise OutputPathError(f"{name} {target}: cannot be written: {problem}")
    return target
