"""The selection protocol: its record, and that corrupting the raw test frames (before any window is
cut) changes the test numbers and no choice (the sweep's best trials, Table 1, the seed row, the final
recipe, the task study's picks and the course CSVs' predictors) on the smoke profile's data."""
from __future__ import annotations

from dataclasses import asdict, replace

import numpy as np
import pytest

from convlstm_lib import paths
from convlstm_lib.config import get_profile
from convlstm_lib.data.course_io import TEST_FRAMES
from convlstm_lib.experiments import protocol


def test_the_record_says_validation_and_describes_the_split():
    class Split:
        validation = {"sequences": 40, "windows": 400, "rule": "held out"}

    assert protocol.record(Split()) == {"selection": "validation", "validation": Split.validation}
    text = protocol.sentence(Split.validation)
    assert "400 windows of 40 N6 sequences" in text and text.count(".") == 1


def _corrupt_test_frames(raw, seed=1):
    """`raw` with the frames the test windows predict (N6 frames 4 and 16, every N3 frame) shuffled
    across sequences and noised, before any window is cut. No training or validation window, no
    outlier flag and no scaler reads those frames, so only the test targets may change."""
    rng = np.random.default_rng(seed)

    def scramble(a):
        out = a[rng.permutation(len(a))]
        return (out + rng.normal(0, 0.2 * np.std(a), out.shape)).astype(a.dtype)

    n6, n3 = raw.n6.copy(), raw.n3.copy()
    for t in TEST_FRAMES:
        n6[:, t] = scramble(raw.n6[:, t])
    for t in range(n3.shape[1]):
        n3[:, t] = scramble(raw.n3[:, t])
    return replace(raw, n6=n6, n3=n3)


def _run(cfg, full, raw, runs_dir):
    """Every choice a run makes on these data, through the library's own selection paths, and the
    test numbers it reports beside them."""
    from convlstm_lib.data.datasets import subsample
    from convlstm_lib.experiments import final, task_study
    from convlstm_lib.experiments import table1 as results
    from convlstm_lib.experiments.sweep import run_sweep
    from convlstm_lib.experiments.sweep_record import best_per_model, trials_frame

    study = run_sweep(cfg, progress=False, runs_dir=runs_dir, device="cpu",
                      data=subsample(full, cfg.max_train_windows, cfg.seed))
    trials = trials_frame(study)
    seed_row = results.best_trial(trials, model=results.PAPER_MODEL)
    by_kind = best_per_model(trials)
    tasks = task_study.run_study(cfg, full, raw, paths.from_repo(seed_row["checkpoint"]), device="cpu")
    frame16, frame4 = task_study.course_checkpoints(tasks)
    choices = {
        "statuses": trials["status"].tolist(),
        "best": int(results.best_trial(trials)["number"]),
        "per_set": results.best_per_training_set(trials)["number"].tolist(),
        "table1": results.table1(trials)["trial"].tolist(),
        "per_kind": {k: v and v["number"] for k, v in by_kind.items()},
        "seed_row": int(seed_row["number"]),
        "final_recipe": [(asdict(m), asdict(t)) for m, t in final.final_jobs(cfg, device="cpu")],
        "frame4": tasks["frame4"]["course_csv"],
        "frame16": tasks["frame16"]["course_csv"],
        "course_predictors": (frame16.name, frame4 and frame4.name),
    }
    test_rule = {  # what choosing on the test frames would have picked
        "best": int(results.best_trial(trials, metric="n6_test_mse")["number"]),
        "per_set": results.best_per_training_set(trials, metric="n6_test_mse")["number"].tolist(),
        "frame4": min(("extrapolate", "interpolate"), key=lambda k: tasks["frame4"][k]["n6_test_mse"]),
        "frame16": min((k for k, v in tasks["frame16"].items() if isinstance(v, dict) and "n6_test_mse" in v),
                       key=lambda k: tasks["frame16"][k]["n6_test_mse"]),
    }
    numbers = {
        "trials_n6": trials["n6_test_mse"].tolist(), "trials_n3": trials["n3_mse"].tolist(),
        "trials_val": trials["val_mse"].tolist(),
        "frame4_n6": tasks["frame4"]["interpolate"]["n6_test_mse"],
        "frame16_n6": tasks["frame16"]["paper"]["n6_test_mse"],
    }
    return choices, test_rule, numbers


@pytest.mark.slow
def test_corrupted_test_frames_change_the_test_numbers_and_no_choice(project_dirs):
    from convlstm_lib.data.datasets import ProcessingConfig, build_datasets, prepare_datasets
    from convlstm_lib.data.sources import load_raw

    # the smoke profile, 8 trials so that every training set and every model kind has two to choose from
    cfg = get_profile("smoke", n_trials=8, workers=1)
    full = prepare_datasets(replace(cfg, max_train_windows=0), progress=False)
    raw = load_raw(cfg, progress=False)
    choices, test_rule, numbers = _run(cfg, full, raw, project_dirs / "runs" / "clean")
    bad_raw = _corrupt_test_frames(raw)
    bad_ds = build_datasets(bad_raw, ProcessingConfig(seed=cfg.seed, val_share=cfg.val_share), progress=False)
    assert not np.array_equal(bad_ds.n6_test.targets, full.n6_test.targets)
    bad_choices, bad_test_rule, bad_numbers = _run(cfg, bad_ds, bad_raw, project_dirs / "runs" / "corrupted")

    assert bad_choices == choices
    assert bad_numbers["trials_val"] == numbers["trials_val"]  # the same models, trained the same way
    for key in ("trials_n6", "trials_n3", "frame4_n6", "frame16_n6"):
        assert bad_numbers[key] != numbers[key], key
    # the corruption has teeth: choosing on the test frames would have changed a pick
    assert bad_test_rule != test_rule
