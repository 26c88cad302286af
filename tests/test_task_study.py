"""Task study: frame4/frame16 entries hold the promised keys, the retrained checkpoints record their
task, the course choice is the lowest validation MSE (on the validation frames every candidate can
predict), and the neighbour mean is the mean of frames 3 and 5."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from test_datasets import SETTINGS, make_raw  # tests/ is on sys.path (pytest prepend import mode)

from convlstm_lib import paths
from convlstm_lib.config import get_profile
from convlstm_lib.data import datasets as D
from convlstm_lib.data.tasks import INTERPOLATE, Task, task_data
from convlstm_lib.experiments.task_study import (
    SCORE_KEYS,
    context_verdict,
    cost_table,
    course_checkpoints,
    course_summary,
    examples,
    frame4_study,
    frame16_study,
    retrain,
    study_train_configs,
    summary_table,
)
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.training import metrics
from convlstm_lib.training.checkpoints import load_checkpoint
from convlstm_lib.training.evaluation import predict_frames
from convlstm_lib.training.loop import train_model
from convlstm_lib.training.settings import TrainConfig

MODEL = ModelConfig(layers=1, kernels=2)
TRAIN = TrainConfig(dataset="base", lr=3e-3, batch_size=16, epochs=1, seed=0, device="cpu")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    raw = make_raw(n6=8, n3=3)
    ds = D.build_datasets(raw, SETTINGS, progress=False)
    out = tmp_path_factory.mktemp("study")
    train_model(MODEL, TRAIN, ds, progress=False, checkpoint_path=out / "best.pt")
    return raw, ds, load_checkpoint(out / "best.pt"), out


def test_frame4_study_scores_every_way_and_picks_the_lowest(setup):
    raw, ds, best, out = setup
    payload = frame4_study(ds, raw, best, TRAIN, out)
    for name in ("extrapolate", "interpolate", "neighbour_mean", "copy_last"):
        assert set(SCORE_KEYS) <= set(payload[name]), name
    ck = load_checkpoint(out / "interpolate-2.pt")
    assert ck.model_config.in_channels == 4  # the window's frames as channels (task_models)
    assert ck.train_config.task == "interpolate-2" and payload["interpolate"]["epochs"] == 1
    held = len(ds.val_sequences)  # one of the 8 sequences validates
    assert payload["interpolate"]["train_windows"] == 10 * (8 - held)
    assert payload["interpolate"]["s_per_epoch"] > 0
    # every way is scored on the same validation windows: frames 3 and 7-13 (1-based) of the held-out ones
    assert payload["validation"] == {"windows": 8 * held, "frames": [3, *range(7, 14)]}
    val = {k: payload[k]["val_mse"] for k in ("extrapolate", "interpolate")}
    assert payload["course_csv"] == (
        "interpolate-2" if val["interpolate"] < val["extrapolate"] else "extrapolate-2"
    )
    mse = {k: payload[k]["n6_test_mse"] for k in ("extrapolate", "interpolate")}
    assert payload["ratios"]["interpolate_to_neighbour_mean"] == pytest.approx(
        mse["interpolate"] / payload["neighbour_mean"]["n6_test_mse"]
    )
    common = ds.val.subset(np.isin(ds.val.frame, [2, *range(6, 13)]))  # the paper's windows there
    expected = metrics.mse(predict_frames(best.model, common.inputs), common.targets)
    assert payload["extrapolate"]["val_mse"] == pytest.approx(expected, rel=1e-5)
    assert payload["copy_last"]["val_mse"] == pytest.approx(metrics.mse(common.inputs[:, 1], common.targets),
                                                            rel=1e-5)
    # the neighbour mean is (frame 3 + frame 5) / 2 against frame 4 (1-based), on the scaled range
    s6 = ds.scaler.transform(raw.n6)
    expected = metrics.mse(0.5 * (s6[:, 2] + s6[:, 4]), s6[:, 3])
    assert payload["neighbour_mean"]["n6_test_mse"] == pytest.approx(expected, rel=1e-5)
    assert payload["copy_last"]["n6_test_mse"] == pytest.approx(metrics.mse(s6[:, 2], s6[:, 3]), rel=1e-5)


def test_frame16_study_has_one_entry_per_context_and_the_papers_is_the_sweeps_model(setup):
    raw, ds, best, out = setup
    payload = frame16_study(ds, raw, best, TRAIN, (4, 11), out, refiner=3)
    assert {"paper", "extrapolate-2", "extrapolate-4", "extrapolate-11"} <= set(payload)
    assert payload["paper_protocol"] == "paper"
    assert paths.from_repo(payload["paper"]["checkpoint"]) == (out / "best.pt").resolve()
    paper16 = ds.n6_test.subset(ds.n6_test.frame == 15)  # the paper's own windows of frame 16
    expected = metrics.mse(predict_frames(best.model, paper16.inputs), paper16.targets)
    assert payload["paper"]["n6_test_mse"] == pytest.approx(expected, rel=1e-5)
    for context in (2, 4, 11):  # every context refined the same way on the same frozen model
        ck = load_checkpoint(out / f"extrapolate-{context}.pt")
        assert ck.train_config.task == f"extrapolate-{context}" and ck.model_config.refiner == 3
        assert ck.model_config.frames == context and payload[f"extrapolate-{context}"]["refiner"] == 3
    assert payload["validation"]["frames"] == [3, *range(7, 16)]  # every context's validation frames
    scored = {k: v["val_mse"] for k, v in payload.items() if isinstance(v, dict) and "val_mse" in v}
    assert set(scored) == {"paper", "extrapolate-2", "extrapolate-4", "extrapolate-11"}
    assert payload["course_csv"] == min(scored, key=scored.get)
    assert payload["course_checkpoint"] == payload[payload["course_csv"]]["checkpoint"]


def test_the_course_never_takes_a_model_that_diverged(setup):
    raw, ds, best, out = setup
    exploding = replace(TRAIN, lr=1e6)  # every refiner diverges and writes no checkpoint
    payload = frame16_study(ds, raw, best, exploding, (4,), out / "diverged", refiner=3)
    assert {payload[k]["status"] for k in ("extrapolate-2", "extrapolate-4")} == {"diverged"}
    assert payload["course_csv"] == "paper" and payload["course_checkpoint"] == payload["paper"]["checkpoint"]


def test_study_budget_comes_from_the_profile():
    cfg = get_profile("smoke", context_epochs=3, context_max_train_windows=50)
    interp, context = study_train_configs(cfg, replace(TRAIN, epochs=2), device="cpu")
    assert (interp.epochs, interp.max_train_windows, interp.lr) == (2, cfg.max_train_windows, TRAIN.lr)
    assert (context.epochs, context.max_train_windows, context.dataset) == (3, 50, TRAIN.dataset)
    assert (context.optimizer, context.lr) == ("Adam", 1e-3)  # the refiner's own recipe
    _, context = study_train_configs(get_profile("smoke"), TRAIN)
    assert (context.epochs, context.max_train_windows) == (1, get_profile("smoke").max_train_windows)
    interp, context = study_train_configs(
        get_profile("smoke", interp_epochs=5, interp_max_train_windows=70), replace(TRAIN, epochs=2)
    )
    assert (interp.epochs, context.epochs) == (5, 1)  # the interpolator's own budget only
    smoke_windows = get_profile("smoke").max_train_windows
    assert (interp.max_train_windows, context.max_train_windows) == (70, smoke_windows)


def test_refined_contexts_keep_the_best_model_frozen(setup):
    raw, ds, best, out = setup
    data = task_data(ds, raw, Task("extrapolate", 4), targets=[15])
    run = retrain(replace(MODEL, refiner=3), replace(TRAIN, lr=1e-2), data, out / "tuned.pt",
                  initial_state=best.model.state_dict())
    tuned = load_checkpoint(out / "tuned.pt").model
    base = tuned.base.state_dict()
    for key, value in best.model.state_dict().items():  # weights and batch-norm statistics
        assert torch.equal(base[key], value), key
    assert tuned.correction[-1].weight.abs().sum() > 0  # the correction did train
    assert run.task.name == "extrapolate-4"


def test_a_retrained_task_model_is_scored_after_its_last_epoch_only(setup, monkeypatch):
    from convlstm_lib.training import loop as training

    raw, ds, _, out = setup
    data = task_data(ds, raw, INTERPOLATE, targets=[3])
    scored = []
    real = training.evaluate_model
    monkeypatch.setattr(training, "evaluate_model", lambda *a, **k: scored.append(1) or real(*a, **k))
    run = retrain(MODEL, replace(TRAIN, epochs=3), data, out / "interp3.pt")
    assert len(scored) == 1 and run.epochs == 3 and np.isfinite(run.metrics["n6_test_mse"])


def test_table_and_examples_show_every_way_and_mark_the_course_choice(setup):
    raw, ds, best, out = setup
    study = {
        "frame4": frame4_study(ds, raw, best, TRAIN, out),
        "frame16": frame16_study(ds, raw, best, TRAIN, (4,), out),
    }
    table = summary_table(study)
    assert table["frame"].tolist() == [4, 4, 4, 4, 16, 16, 16]
    assert table.loc[table["frame"] == 4, "in course CSV"].sum() == 1
    assert table.loc[table["frame"] == 16, "in course CSV"].sum() == 1
    paper_rows = table[table["prediction"].str.contains("paper's protocol")]
    assert paper_rows["vs paper's protocol"].tolist() == [1.0, 1.0]
    assert table.loc[table["frame"] == 16, "prediction"].str.contains("refined").sum() == 2
    shown = examples(study, ds, raw, sequences=(0, 2))
    assert set(shown["frame4"]) == {"truth", "extrapolate-2", "interpolate-2", "neighbour mean"}
    assert set(shown["frame16"]) == {"truth", "paper", "extrapolate-2", "extrapolate-4"}
    s6 = ds.scaler.transform(raw.n6)
    assert np.allclose(shown["frame4"]["truth"], s6[[0, 2], 3], atol=1e-6)
    assert np.allclose(shown["frame16"]["truth"], s6[[0, 2], 15], atol=1e-6)
    assert shown["frame16"]["extrapolate-4"].shape == (2, 36, 36)
    costs = cost_table(study)
    assert costs["task"].tolist() == ["interpolate-2", "extrapolate-2", "extrapolate-4"]
    assert (costs["s per epoch"] > 0).all()
    frame16_model, frame4_model = course_checkpoints(study)
    assert frame16_model == paths.from_repo(study["frame16"][study["frame16"]["course_csv"]]["checkpoint"])
    assert frame16_model.is_file() and (frame4_model is None or frame4_model.is_file())
    assert (frame4_model is None) == (study["frame4"]["course_csv"] == "extrapolate-2")
    verdict = context_verdict(study)
    four, two = (study["frame16"][k]["n6_test_mse"] for k in ("extrapolate-4", "extrapolate-2"))
    ratio = four / two
    assert f"4 frames {four:.2e} ({ratio:.2f} x)" in verdict
    assert ("no worse than two frames" in verdict) == (ratio <= 1)
    text = course_summary(study)
    assert f"frame 4 by {study['frame4']['course_csv']}" in text and "frame 16 by" in text


