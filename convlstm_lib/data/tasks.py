"""Prediction tasks beyond the paper's windows: frame 4 by interpolation, frame 16 from a longer past.

The course removes frames 4 and 16 (0-based 3 and 15) from every sequence. The paper predicts
both from the two frames before them. A `Task` says which frames a model reads for a target t:

* ``Task("extrapolate", L)``  the L frames before t, oldest first (the paper: L = 2, t-2, t-1).
  When fewer than L frames are available before t (the sequence starts, or the frame before
  is a test frame the course removed), the missing ones are the earliest available frame
  repeated ("edge padding"; the digits barely move early in a sequence). At least two real
  frames are required. Frame 16 may so see every frame back to frame 5 (L = 11: frame 4 is
  missing); frame 4 sees frames 1-3 at most.
* ``Task("interpolate", L)``  the L nearest available frames before t and the L after: with
  L = 2 and nothing removed nearby the window (t-2, t-1, t+1, t+2) -> t, given to the model in
  the order t-2, t-1, t+2, t+1 (the past, then the future read backwards towards t), so a
  recurrent model's last step is the frame next to the target on either side. No padding: a
  side may step over one removed test frame (`MAX_SKIPPED`), no more. That adds the only
  training windows near frame 4: frame 3 from 1, 2, 5, 6; frame 5 from 2, 3, 6, 7; frame 6
  from 3, 5, 7, 8 (1-based). Their spacing is off the test window's by one frame, and the
  model is not told; it does not need to be: early in a sequence the digit barely moves, and
  what these windows teach is how an early, crisp frame sits between its neighbours, which the
  late windows (frames 7-13) cannot; they moved the interpolator most of anything tried
  (benchmarks/README.md, "The interpolator"). The test window of frame 4 is the plain
  (2, 3, 5, 6) either way.

"Available" means inside the sequence and not a test frame: no training window contains a
test frame anywhere (the rule of the paper's windows), and a test window reads only frames of
the course's train file. `task_windows` gives a task's (train, test) windows of a set of
sequences; `TaskData` carries them in the shape `loop.train_model` takes, the training
windows of the validation sequences (`datasets.Datasets.val_sequences`) set apart as its
validation windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from convlstm_lib.data.course_io import TEST_FRAMES
from convlstm_lib.data.preprocessing import (
    DEFAULT_H,
    Scaler,
    WindowSet,
    denoise,
    windows_from_index,
)

KINDS: tuple[str, ...] = ("extrapolate", "interpolate")
MIN_REAL_FRAMES = 2  # an extrapolation window holds at least this many real (unpadded) frames
MAX_SKIPPED = 1  # removed frames an interpolation window may step over on each side


@dataclass(frozen=True)
class Task:
    """Which frames a model reads to predict frame t (see the module docstring).

    kind:     'extrapolate' (frames before t) or 'interpolate' (frames on both sides of t)
    context:  extrapolate: frames before t (the paper: 2); interpolate: frames on each side
    """

    kind: str = "extrapolate"
    context: int = 2

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind: must be one of {KINDS}, got {self.kind!r}")
        if isinstance(self.context, bool) or not isinstance(self.context, (int, np.integer)):
            raise ValueError(f"context: must be an integer, got {self.context!r}")
        low = MIN_REAL_FRAMES if self.kind == "extrapolate" else 1
        if self.context < low:
            raise ValueError(f"context: must be >= {low} for {self.kind}, got {self.context}")
        object.__setattr__(self, "context", int(self.context))

    @property
    def name(self) -> str:
        """'extrapolate-2', 'interpolate-2', ...: the task's name in results and checkpoints."""
        return f"{self.kind}-{self.context}"

    @property
    def frames_in(self) -> int:
        """L of the windows: input frames per window."""
        return self.context * (2 if self.kind == "interpolate" else 1)

    @property
    def is_paper(self) -> bool:
        return self == PAPER_TASK

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def parse(cls, name: str) -> Task:
        """'interpolate-2' -> Task('interpolate', 2); ValueError naming the text otherwise."""
        kind, _, context = str(name).rpartition("-")
        if not kind or not context.isdigit():
            raise ValueError(f"task: expected KIND-CONTEXT such as 'interpolate-2', got {name!r}")
        return cls(kind, int(context))

    def input_frames(self, target: int, available: np.ndarray) -> np.ndarray | None:
        """The frame indices (L,) this task reads for `target`, in reading order, or None when
        the frames it needs are not available. `available` (T,) bool: frames that may be read.
        """
        available = np.asarray(available, dtype=bool)
        n = len(available)

        def ok(t: int) -> bool:
            return 0 <= t < n and bool(available[t])

        if self.kind == "interpolate":
            past, future = self._nearest(target, -1, available), self._nearest(target, 1, available)
            if past is None or future is None:
                return None
            return np.array(past[::-1] + future[::-1], dtype=np.int64)  # oldest first; farthest first
        real = []
        t = target - 1
        while len(real) < self.context and ok(t):
            real.append(t)
            t -= 1
        if len(real) < MIN_REAL_FRAMES:
            return None
        real = real[::-1]
        return np.array([real[0]] * (self.context - len(real)) + real, dtype=np.int64)

    def _nearest(self, target: int, step: int, available: np.ndarray) -> list[int] | None:
        """The `context` nearest available frames on one side of `target` (step -1: before, +1:
        after), nearest first, stepping over at most MAX_SKIPPED removed frames; None when the
        sequence ends first."""
        frames, skipped, t = [], 0, target + step
        while len(frames) < self.context:
            if not 0 <= t < len(available):
                return None
            if available[t]:
                frames.append(t)
            else:
                skipped += 1
                if skipped > MAX_SKIPPED:
                    return None
            t += step
        return frames


PAPER_TASK = Task("extrapolate", 2)
INTERPOLATE = Task("interpolate", 2)


def available_frames(n_frames: int, test_frames: Sequence[int] = TEST_FRAMES) -> np.ndarray:
    """(n_frames,) bool: True for the frames a window may read (every frame but the test frames)."""
    test = np.asarray(sorted(set(int(f) for f in test_frames)), dtype=np.int64)
    if test.size and (test.min() < 0 or test.max() >= n_frames):
        raise ValueError(f"test_frames: must lie in 0..{n_frames - 1}, got {test.tolist()}")
    available = np.ones(n_frames, dtype=bool)
    available[test] = False
    return available


def plan(task: Task, targets: Sequence[int], available: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The targets among `targets` the task can predict and their input frames: ((K,), (K, L))."""
    kept, index = [], []
    for t in targets:
        frames = task.input_frames(int(t), available)
        if frames is not None:
            kept.append(int(t))
            index.append(frames)
    return np.array(kept, dtype=np.int64), np.array(index, dtype=np.int64).reshape(len(kept), task.frames_in)


def task_frames(
    task: Task, n_frames: int, test_frames: Sequence[int] = TEST_FRAMES
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((train targets, their inputs), (test targets, their inputs)) for sequences of n_frames.

    Training targets: every frame that is not a test frame and whose inputs are all available;
    test targets: the test frames whose inputs are available. E.g. for the course's 16 frames and
    TEST_FRAMES: extrapolate-2 trains on 2, 6..14 and tests 3, 15; interpolate-2 trains on 2,
    4..12 and tests 3; extrapolate-4 trains on 2, 6..14 (padded where fewer than 4 frames precede)
    and tests 3, 15.
    """
    available = available_frames(n_frames, test_frames)
    train = plan(task, np.flatnonzero(available), available)
    test = plan(task, sorted(set(int(f) for f in test_frames)), available)
    return train, test


def task_windows(
    task: Task,
    sequences: np.ndarray,
    test_frames: Sequence[int] = TEST_FRAMES,
    clean: np.ndarray | None = None,
) -> tuple[WindowSet, WindowSet]:
    """The task's (train, test) windows of `sequences` (N, T, H, W) (see `task_frames`)."""
    (train_t, train_i), (test_t, test_i) = task_frames(task, np.shape(sequences)[1], test_frames)
    return (
        windows_from_index(sequences, train_t, train_i, clean),
        windows_from_index(sequences, test_t, test_i, clean),
    )


def shared_targets(
    tasks: Sequence[Task], n_frames: int, test_frames: Sequence[int] = TEST_FRAMES
) -> np.ndarray:
    """The training target frames every one of `tasks` has: where their validation windows ask the
    same frames, so that their validation MSEs compare (e.g. extrapolate-2 and interpolate-2 for
    the course's 16 frames and TEST_FRAMES: 2, 6..12)."""
    common = None
    for task in tasks:
        targets = task_frames(task, n_frames, test_frames)[0][0]
        common = targets if common is None else np.intersect1d(common, targets)
    if common is None or not common.size:
        raise ValueError(f"tasks: {[t.name for t in tasks]} share no training target frame")
    return common


def window_task(task: Task, windows: WindowSet) -> None:
    """ValueError when `windows` have another number of input frames than `task` reads."""
    if windows.inputs.shape[1] != task.frames_in:
        raise ValueError(
            f"windows: have {windows.inputs.shape[1]} input frames, task {task.name} reads {task.frames_in}"
        )


# ---------------------------------------------------------------------------------------------
# A task's data, in the shape loop.train_model takes


@dataclass
class TaskData:
    """A task's four training sets, its validation and its test windows, like `datasets.Datasets`.

    train[name] for name in base/cleaned/denoised/processed (the same sequences and denoised
    targets as the paper's sets); val: the task's training windows of the validation sequences
    (raw targets); n6_test and n3: the windows of the task whose target is one of `targets` (N3
    read like the course's test: its test frames are not inputs).
    """

    task: Task
    targets: tuple[int, ...]
    train: dict[str, WindowSet]
    val: WindowSet
    n6_test: WindowSet
    n3: WindowSet
    scaler: Scaler
    info: dict[str, Any] = field(default_factory=dict)


def _denoised_lookup(ds) -> dict[tuple[int, int], np.ndarray]:
    den = ds.train["denoised"]
    return {(int(s), int(f)): den.targets[i] for i, (s, f) in enumerate(zip(den.seq, den.frame, strict=True))}


def _scaled(ds, raw) -> tuple[tuple[int, ...], np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(test frames, N6, N3, clean N6, clean N3) of `raw` on ds's [0, 1] scale (clean: None for
    course data)."""
    test_frames = tuple(ds.info.get("processing", {}).get("test_frames", TEST_FRAMES))
    clean6 = None if raw.truth_n6 is None else ds.scaler.transform(raw.truth_n6["clean"])
    clean3 = None if raw.truth_n3 is None else ds.scaler.transform(raw.truth_n3["clean"])
    return test_frames, ds.scaler.transform(raw.n6), ds.scaler.transform(raw.n3), clean6, clean3


def _asked(task: Task, test: WindowSet, n3: WindowSet, targets) -> tuple[np.ndarray, WindowSet, WindowSet]:
    """The test frames asked for (default: every one the task can predict) and the windows of
    those; ValueError naming a frame the task cannot predict."""
    wanted = np.unique(test.frame) if targets is None else np.asarray(targets, dtype=np.int64)
    missing = sorted(set(wanted.tolist()) - set(np.unique(test.frame).tolist()))
    if missing:
        raise ValueError(f"targets: task {task.name} cannot predict frame(s) {missing} (0-based)")
    return wanted, test.subset(np.isin(test.frame, wanted)), n3.subset(np.isin(n3.frame, wanted))


def scored_windows(ds, raw, task: Task, targets: Sequence[int] | None = None) -> tuple[WindowSet, WindowSet]:
    """(N6 test, N3) windows of `task` for `targets`, exactly as `task_data` gives them, without
    building (and denoising) its training sets: for predictions and figures."""
    test_frames, s6, s3, clean6, clean3 = _scaled(ds, raw)
    _, test = task_windows(task, s6, test_frames, clean6)
    _, n3 = task_windows(task, s3, test_frames, clean3)
    return _asked(task, test, n3, targets)[1:]


def task_data(
    ds, raw, task: Task, targets: Sequence[int] | None = None, val_targets: Sequence[int] | None = None
) -> TaskData:
    """The data of `task` from the paper's `ds` (a `datasets.Datasets`, not subsampled) and the
    raw sequences it was built from (`sources.RawData`).

    The sequences are scaled with ds.scaler; the windows of ds's validation sequences are the
    validation windows (of the target frames `val_targets` only, when given: `shared_targets`),
    the others train; the 'cleaned' sets drop the sequences ds flagged; the denoised targets are
    ds's, and the few a task adds (the interpolation windows near frame 4: targets the paper's
    windows never predict) are denoised here the same way.
    `targets`: the test frames to score (default: every test frame the task can predict).
    """
    test_frames, s6, s3, clean6, clean3 = _scaled(ds, raw)
    windows, test = task_windows(task, s6, test_frames, clean6)
    in_val = np.isin(windows.seq, ds.val_sequences)
    train, val = windows.subset(~in_val), windows.subset(in_val)
    if val_targets is not None:
        val = val.subset(np.isin(val.frame, np.asarray(val_targets, dtype=np.int64)))
    if not len(val):
        raise ValueError(f"val_targets: task {task.name} has no validation window of frames {val_targets}")
    _, n3 = task_windows(task, s3, test_frames, clean3)
    wanted, test, n3 = _asked(task, test, n3, targets)
    lookup = _denoised_lookup(ds)
    paper_targets = task_frames(PAPER_TASK, s6.shape[1], test_frames)[0][0]
    new = ~np.isin(train.frame, paper_targets)  # targets the paper's windows never predict
    if new.any():  # (the interpolation windows near frame 4): denoised here, as ds's were
        h = float(ds.info.get("processing", {}).get("denoise_h", DEFAULT_H))
        for i, image in zip(np.flatnonzero(new), denoise(train.targets[new], h=h), strict=True):
            lookup[(int(train.seq[i]), int(train.frame[i]))] = image
    keys = zip(train.seq.tolist(), train.frame.tolist(), strict=True)
    gone = [key for key in keys if key not in lookup]
    if gone:
        raise ValueError(
            f"ds: has no denoised target for (sequence, frame) {gone[0]}: pass unsubsampled data"
        )
    denoised = np.stack([lookup[(int(s), int(f))] for s, f in zip(train.seq, train.frame, strict=True)])
    keep = ~ds.outliers.flagged_sequences[train.seq]
    den = train.with_targets(denoised.reshape(train.targets.shape))
    sets = {"base": train, "cleaned": train.subset(keep), "denoised": den, "processed": den.subset(keep)}
    info = {
        "task": task.to_dict(),
        "targets": [int(t) for t in wanted],
        "val_targets": sorted(int(t) for t in np.unique(val.frame)),
        "sizes": {
            **{k: len(v) for k, v in sets.items()}, "val": len(val), "n6_test": len(test), "n3": len(n3)
        },
    }
    return TaskData(task, tuple(int(t) for t in wanted), sets, val, test, n3, ds.scaler, info)


# ---------------------------------------------------------------------------------------------
# Predictors that learn nothing, for frame 4


def neighbour_mean(windows: WindowSet) -> np.ndarray:
    """Interpolation windows (N, 2L, H, W) in reading order -> the mean of frames t-1 and t+1."""
    length = windows.inputs.shape[1]
    if length % 2:
        raise ValueError(f"windows: interpolation windows have an even number of frames, got {length}")
    return (0.5 * (windows.inputs[:, length // 2 - 1] + windows.inputs[:, -1])).astype(np.float32)


def copy_previous(windows: WindowSet, task: Task) -> np.ndarray:
    """The frame just before the target (t-1) of every window of `task`: the copy-last baseline."""
    window_task(task, windows)
    return windows.inputs[:, task.context - 1].copy()
