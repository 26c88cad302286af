"""Tasks: which frames each task reads, the no-leak rule (no test frame in any training window,
none among any test window's inputs), edge padding of long extrapolation contexts, and a
task's four training sets built from the paper's datasets."""

import numpy as np
import pytest
from test_datasets import SETTINGS, make_raw  # tests/ is on sys.path (pytest prepend import mode)

from convlstm_lib.data import datasets as D
from convlstm_lib.data.course_io import TEST_FRAMES
from convlstm_lib.data.preprocessing import denoise, make_windows, window_frames
from convlstm_lib.data.tasks import (
    INTERPOLATE,
    PAPER_TASK,
    Task,
    neighbour_mean,
    scored_windows,
    shared_targets,
    task_data,
    task_frames,
    task_windows,
)

TASKS = [PAPER_TASK, INTERPOLATE, Task("extrapolate", 4), Task("extrapolate", 11), Task("interpolate", 1)]


def _labelled(n: int = 3, t: int = 16) -> np.ndarray:
    """Sequences whose every pixel holds 100 * sequence + frame, so a window tells what it read."""
    return (100 * np.arange(n)[:, None] + np.arange(t)[None, :])[:, :, None, None] * np.ones((1, 1, 4, 4))


def _frames_read(ws) -> np.ndarray:
    return np.rint(ws.inputs[:, :, 0, 0]).astype(int) % 100


@pytest.mark.parametrize("test_frames", [(3, 15), (3, 9, 15), (5,)])
@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_no_test_frame_in_any_training_window_or_test_input(task, test_frames):
    seqs = _labelled()
    train, test = task_windows(task, seqs, test_frames)
    assert len(train) > 0
    read_train = _frames_read(train)
    assert not np.isin(read_train, test_frames).any()
    assert not np.isin(train.frame, test_frames).any()
    assert not np.isin(_frames_read(test), test_frames).any()
    assert set(test.frame.tolist()) <= set(test_frames)
    # the windows hold the frames the plan names, of their own sequence
    assert np.array_equal(np.rint(train.targets[:, 0, 0]).astype(int), 100 * train.seq + train.frame)
    assert (np.rint(train.inputs[:, :, 0, 0]).astype(int) // 100 == train.seq[:, None]).all()


def test_paper_task_gives_the_papers_windows():
    seqs = _labelled()
    (train_t, _), (test_t, _) = task_frames(PAPER_TASK, 16)
    assert np.array_equal(train_t, window_frames(16)[0])
    assert test_t.tolist() == list(TEST_FRAMES)
    mine, paper = task_windows(PAPER_TASK, seqs), make_windows(seqs)
    for a, b in zip(mine, paper, strict=True):
        assert np.array_equal(a.inputs, b.inputs) and np.array_equal(a.frame, b.frame)


def test_interpolation_reads_both_sides_past_then_future_backwards():
    (train_t, train_i), (test_t, test_i) = task_frames(INTERPOLATE, 16)
    # t-2..t+2 inside frames 4..14, and the windows near frame 4 that step over it (0-based 3)
    assert train_t.tolist() == [2, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert train_i[:4].tolist() == [[0, 1, 5, 4], [1, 2, 6, 5], [2, 4, 7, 6], [4, 5, 8, 7]]
    assert test_t.tolist() == [3] and test_i.tolist() == [[1, 2, 5, 4]]  # frame 4 from 2, 3, 5, 6


def test_interpolation_steps_over_one_removed_frame_per_side_at_most():
    """Two removed frames side by side (0-based 3 and 4): no window steps over both."""
    (train_t, train_i), _ = task_frames(INTERPOLATE, 16, (3, 4))
    assert train_t.tolist() == [7, 8, 9, 10, 11, 12, 13]  # 2, 5 and 6 would skip both
    (train_t, train_i), _ = task_frames(INTERPOLATE, 16, (3, 5))  # one removed on each side of 4
    assert train_i[train_t.tolist().index(4)].tolist() == [1, 2, 7, 6]


def test_long_extrapolation_context_is_edge_padded_and_reads_every_available_frame():
    (_, train_i), (test_t, test_i) = task_frames(Task("extrapolate", 11), 16)
    assert test_t.tolist() == list(TEST_FRAMES)
    assert test_i[1].tolist() == list(range(4, 15))  # frame 16 sees frames 5..15 (1-based)
    assert test_i[0].tolist() == [0] * 9 + [1, 2]
    assert train_i[0].tolist() == [0] * 10 + [1]  # target 2: frames 0, 1, padded with frame 0


def test_a_task_that_cannot_reach_a_frame_has_no_window_for_it():
    seqs = _labelled(2, 5)
    train, test = task_windows(Task("interpolate", 2), seqs, (3,))
    assert len(test) == 0 and len(train) == 0  # 5 frames: frame 3 has one frame after it, none avoids it
    assert test.inputs.shape == (0, 4, 4, 4)


@pytest.mark.parametrize(
    "kind, context, message",
    [
        ("forecast", 2, "kind"),
        ("extrapolate", 1, "context"),
        ("interpolate", 0, "context"),
        ("interpolate", 2.5, "integer"),
    ],
)
def test_bad_task_is_refused_naming_the_field(kind, context, message):
    with pytest.raises(ValueError, match=message):
        Task(kind, context)


def test_task_names_round_trip():
    for task in TASKS:
        assert Task.parse(task.name) == task
    with pytest.raises(ValueError, match="KIND-CONTEXT"):
        Task.parse("interpolate")
    assert INTERPOLATE.frames_in == 4 and Task("extrapolate", 11).frames_in == 11


@pytest.fixture(scope="module")
def raw_and_ds():
    raw = make_raw()
    return raw, D.build_datasets(raw, SETTINGS, progress=False)


def test_task_data_reuses_the_papers_sets_and_scores_only_the_asked_frames(raw_and_ds):
    raw, ds = raw_and_ds
    data = task_data(ds, raw, INTERPOLATE)
    assert data.targets == (3,)
    assert set(data.n6_test.frame.tolist()) == {3} and set(data.n3.frame.tolist()) == {3}
    assert len(data.n6_test) == raw.n6.shape[0] and len(data.n3) == raw.n3.shape[0]
    flagged = np.flatnonzero(ds.outliers.flagged_sequences)
    assert len(flagged) > 0
    assert not np.isin(data.train["cleaned"].seq, flagged).any()
    # 0-based 2, 4..12 of every sequence but the validation ones, whose windows validate
    held = ds.val_sequences
    assert len(held) and not np.isin(data.train["base"].seq, held).any()
    assert len(data.train["base"]) == 10 * (raw.n6.shape[0] - len(held))
    assert set(data.val.seq.tolist()) == set(held.tolist()) and len(data.val) == 10 * len(held)
    assert sorted(set(data.val.frame.tolist())) == [2, *range(4, 13)]
    np.testing.assert_array_equal(data.val.targets, ds.scaler.transform(raw.n6[data.val.seq, data.val.frame]))
    # denoised targets are the paper's denoised frames (same sequence and frame), inputs untouched
    den, paper = data.train["denoised"], ds.train["denoised"]
    for i in (0, len(den) - 1):
        j = np.flatnonzero((paper.seq == den.seq[i]) & (paper.frame == den.frame[i]))[0]
        assert np.array_equal(den.targets[i], paper.targets[j])
    # ... and the targets the paper never predicts (next to the removed frame) are denoised alike
    k = int(np.flatnonzero(den.frame == 4)[0])
    assert not np.isin(4, paper.frame)
    h = ds.info["processing"]["denoise_h"]
    assert np.array_equal(den.targets[k], denoise(data.train["base"].targets[k : k + 1], h=h)[0])
    assert not np.array_equal(den.targets[k], data.train["base"].targets[k])
    assert np.array_equal(den.inputs, data.train["base"].inputs)
    # the test targets are the scaled raw frames and their clean versions
    expected = ds.scaler.transform(raw.n6[:, 3])
    assert np.allclose(data.n6_test.targets, expected, atol=1e-6)
    assert data.n6_test.clean_targets is not None


def test_shared_targets_are_the_frames_every_task_trains_on_and_restrict_validation(raw_and_ds):
    assert shared_targets([PAPER_TASK, INTERPOLATE], 16).tolist() == [2, *range(6, 13)]
    assert shared_targets([PAPER_TASK, Task("extrapolate", 11)], 16).tolist() == [2, *range(6, 15)]
    raw, ds = raw_and_ds
    common = shared_targets([PAPER_TASK, INTERPOLATE], 16)
    for task in (PAPER_TASK, INTERPOLATE):
        data = task_data(ds, raw, task, targets=[3], val_targets=common)
        assert sorted(set(data.val.frame.tolist())) == common.tolist()
        assert data.info["val_targets"] == common.tolist()
    with pytest.raises(ValueError, match="val_targets: task interpolate-2 has no validation window"):
        task_data(ds, raw, INTERPOLATE, val_targets=[14])


def test_scored_windows_are_task_datas_without_the_training_sets(raw_and_ds):
    raw, ds = raw_and_ds
    for task, targets in ((INTERPOLATE, [3]), (Task("extrapolate", 4), [15])):
        data = task_data(ds, raw, task, targets=targets)
        n6_test, n3 = scored_windows(ds, raw, task, targets=targets)
        for mine, theirs in ((n6_test, data.n6_test), (n3, data.n3)):
            assert np.array_equal(mine.inputs, theirs.inputs) and np.array_equal(mine.frame, theirs.frame)
            assert np.array_equal(mine.targets, theirs.targets) and np.array_equal(mine.seq, theirs.seq)
    with pytest.raises(ValueError, match="cannot predict frame"):
        scored_windows(ds, raw, INTERPOLATE, targets=[15])


def test_task_data_refuses_a_frame_the_task_cannot_predict(raw_and_ds):
    raw, ds = raw_and_ds
    with pytest.raises(ValueError, match="cannot predict frame"):
        task_data(ds, raw, INTERPOLATE, targets=[15])
    frame16 = task_data(ds, raw, Task("extrapolate", 4), targets=[15])
    assert frame16.n6_test.inputs.shape[1:] == (4, 36, 36) and set(frame16.n6_test.frame.tolist()) == {15}


def test_neighbour_mean_needs_interpolation_windows(raw_and_ds):
    raw, ds = raw_and_ds
    with pytest.raises(ValueError, match="even number"):
        neighbour_mean(task_data(ds, raw, Task("extrapolate", 3)).n6_test)
    assert np.isfinite(neighbour_mean(task_data(ds, raw, INTERPOLATE).n6_test)).all()
