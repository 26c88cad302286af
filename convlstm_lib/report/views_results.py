"""What notebooks 03 and 04 show of the sweep and its results: the trials, Figures 6 and 7, Table 1
beside the paper's, the best row's seeds, the course files and the frame-4 / frame-16 study.

Figure functions draw, save and return their figure closed (`figures.done`); table functions
return a `tables.ReaderTable`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from convlstm_lib import paths
from convlstm_lib.data import course_io
from convlstm_lib.data.course_io import TEST_FRAMES
from convlstm_lib.experiments import floors, paper, sweep_space, task_study
from convlstm_lib.experiments import table1 as t1
from convlstm_lib.models.build import build_model, count_parameters
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.models.stack import train_step_flops
from convlstm_lib.report import tables
from convlstm_lib.report.figures import done, pyplot
from convlstm_lib.report.text import Prose, prose, share
from convlstm_lib.statuses import COMPLETE, complete_trials
from convlstm_lib.training import metrics
from convlstm_lib.training.evaluation import predict_frames


def _set_label(name: str) -> str:
    return t1.TRAINING_SET_LABELS.get(name, name.replace("_", "-"))


# ---------------------------------------------------------------------------------------------
# Notebook 03: the sweep


def model_sizes(cfg) -> tables.ReaderTable:
    """Parameters and training FLOPs of the smallest and largest model the profile draws, and of
    the paper's best (Table 1, denoised)."""
    best = paper.PAPER_BEST
    sizes = {
        "smallest in this profile": ModelConfig(layers=cfg.layers_min, kernels=cfg.kernels_min),
        "largest in this profile": ModelConfig(layers=cfg.layers_max, kernels=cfg.kernels_max),
        f"paper's best (Table 1, {best.training_set})": ModelConfig(layers=best.layers, kernels=best.kernels,
                                                                    activation=best.activation),
    }
    rows = [{"model": name, "layers": m.layers, "kernels": m.kernels,
             "parameters": count_parameters(build_model(m)),
             "GFLOP per training window": train_step_flops(m) / 1e9} for name, m in sizes.items()]
    return tables.for_reader(pd.DataFrame(rows), caption="Model sizes")


def trials_table(trials: pd.DataFrame) -> tables.ReaderTable:
    """Every trial, best (lowest validation MSE) first: parameters, final metrics, status and run time."""
    shown = ["number", "status", *sweep_space.PARAM_NAMES, metrics.VAL_MSE, "n6_test_mse", "n6_test_ssim",
             "n3_mse", "n6_test_clean_mse", "epochs_run", "runtime_s"]
    table = trials[shown].sort_values([metrics.SELECTION_KEY, "number"], na_position="last", kind="mergesort")
    return tables.for_reader(table, {metrics.VAL_MSE: "val MSE"},
                             caption="The trials, best by validation MSE first",
                             missing_note="A dash: the trial has no such number (it did not complete, or "
                             "the data have no noise-free frames).")


def sweep_trials_figure(trials: pd.DataFrame, cfg):
    """Each trial's final N6 test MSE by training set, and the trials by status."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, (ax_mse, ax_status) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [2.2, 1]})
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colours = {name: palette[i % len(palette)] for i, name in enumerate(cfg.training_sets)}
    scored = trials.dropna(subset=["n6_test_mse"])
    for name, group in scored.groupby("dataset"):
        normal = complete_trials(group, "n6_test_mse")
        odd = group[group["status"] != COMPLETE]
        ax_mse.scatter(normal["number"], normal["n6_test_mse"], color=colours.get(name), label=name, s=36)
        ax_mse.scatter(odd["number"], odd["n6_test_mse"], color=colours.get(name), marker="x", s=36)
    ax_mse.set_yscale("log")
    ax_mse.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_mse.set_xlabel("trial")
    ax_mse.set_ylabel("N6 test MSE (per pixel, [0, 1])")
    ax_mse.set_title("Final N6 test MSE per trial (x: collapsed or pruned)")
    ax_mse.legend(title="training set", fontsize=8)
    counts = trials["status"].value_counts()
    ax_status.bar(counts.index.astype(str), counts.values, color="0.5")
    ax_status.set_title("Trials by status")
    ax_status.set_ylabel("trials")
    fig.tight_layout()
    return done(fig, "sweep_trials", cfg.profile)


def by_set_table(trials: pd.DataFrame) -> tables.ReaderTable:
    """Complete trials per training set (every model kind): count, the best trial by validation MSE
    with its N6 test MSE, and the median N6 test MSE."""
    complete = complete_trials(trials, "n6_test_mse")
    by_set = complete.groupby("dataset")["n6_test_mse"].agg(["count", "median"])
    best = t1.best_per_training_set(trials).set_index("dataset")
    by_set["best trial"] = best["number"].reindex(by_set.index)
    by_set["its N6 MSE"] = best["n6_test_mse"].reindex(by_set.index)
    labels = {"count": "complete trials", "median": "median N6 MSE", "best trial": "best trial (by val MSE)"}
    shown = by_set[["count", "best trial", "its N6 MSE", "median"]]
    return tables.for_reader(shown, labels, caption="N6 test MSE per training set (every model kind)",
                             index=True,
                             missing_note="A dash: no complete trial with a finite validation MSE.")


# ---------------------------------------------------------------------------------------------
# Notebook 04: Table 1, the baselines, Figures 6 and 7


def status_by_set(trials: pd.DataFrame) -> tables.ReaderTable:
    by_set = t1.status_counts_by_set(trials)
    by_set.index = [_set_label(i) for i in by_set.index]
    return tables.for_reader(by_set, {"": "training set"}, caption="Trials by training set and status",
                             index=True)


def not_counted(trials: pd.DataFrame) -> tables.ReaderTable | Prose:
    """The trials that did not count, with their reason (nothing when every trial counted)."""
    reasons = trials.loc[trials["status"] != COMPLETE, ["number", "dataset", "status", "reason"]]
    if not len(reasons):
        return prose("Every trial completed.")
    return tables.for_reader(reasons, caption="Why these trials did not count")


def figure6(trials: pd.DataFrame, cfg):
    """Figure 6: every complete trial's N6 test and N3 loss, per training set."""
    import seaborn as sns

    plt = pyplot()
    dist = t1.loss_distribution(trials)
    dist["training set"] = dist["training_set"].map(t1.TRAINING_SET_LABELS)
    order = [t1.TRAINING_SET_LABELS[s] for s in cfg.training_sets if s in set(dist["training_set"])]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    sns.boxplot(data=dist, x="training set", y="mse", hue="test_set", order=order, ax=ax, fliersize=0,
                boxprops={"alpha": 0.45})
    sns.stripplot(data=dist, x="training set", y="mse", hue="test_set", order=order, ax=ax, dodge=True,
                  size=4, legend=False, palette="dark")
    ax.set_yscale("log")
    ax.set_ylabel("per-pixel MSE ([0, 1] scale)")
    ax.set_xlabel("")
    ax.legend(title="test set")
    ax.set_title("Figure 6: N6 test and N3 loss of every complete trial, per training set")
    fig.tight_layout()
    return done(fig, "fig6_loss_distribution", cfg.profile)


LEARNING_CURVES = ((metrics.VAL_MSE, "validation (chooses)"), ("n6_test_mse", "N6 test"), ("n3_mse", "N3"))


def learning_curves(trials: pd.DataFrame, curves: dict[int, pd.DataFrame], best_number: int, cfg):
    """Every trial's validation, N6 test and N3 MSE after each epoch, the best trial in black."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(LEARNING_CURVES), figsize=(14, 4), sharey=True)
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    set_colours = dict(zip(cfg.training_sets, palette, strict=False))
    by_number = trials.set_index("number")
    for ax, (key, title) in zip(axes, LEARNING_CURVES, strict=True):
        seen = set()
        for number, curve in sorted(curves.items()):
            if number == best_number or key not in curve:
                continue
            name = by_number.loc[number, "dataset"]
            label = t1.TRAINING_SET_LABELS[name] if name not in seen else None
            seen.add(name)
            ax.plot(curve["epoch"], curve[key], color=set_colours.get(name), alpha=0.55, marker=".",
                    label=label)
        if best_number in curves:
            ax.plot(curves[best_number]["epoch"], curves[best_number][key], color="black", linewidth=2.5,
                    marker="o", label=f"best (trial {best_number})")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(f"{title}: MSE after each epoch")
    axes[0].set_ylabel("per-pixel MSE ([0, 1] scale)")
    axes[-1].legend(fontsize=8, title="training set")
    fig.tight_layout()
    return done(fig, "learning_curves", cfg.profile)


def noise_floors(ds) -> dict[str, dict[str, float | None]]:
    """The noise floor (`table1.noise_floor`) of the N6 test windows and of N3."""
    return {name: t1.noise_floor(ws) for name, ws in (("N6 test", ds.n6_test), ("N3", ds.n3))}


def noise_floor_table(floor: dict[str, dict[str, float | None]]) -> tables.ReaderTable:
    return tables.for_reader(pd.DataFrame(floor).T, {
        "": "test set", "measured": "measured floor (target vs clean)", "corner_sigma": "corner σ",
        "corner_sigma2": "σ²",
    }, caption="The noise floor (per-pixel MSE, [0, 1] scale)", index=True)


TABLE1_SHOWN = ["training_set", "trial", "batch_size", "activation", "layers", "kernels", "lr", "optimizer",
                metrics.VAL_MSE, "n6_test_mse", "n6_test_psnr", "n6_test_ssim", "n6_test_clean_mse",
                "n3_mse", "n3_psnr", "n3_ssim", "n3_clean_mse"]


def table1_view(table: pd.DataFrame, baseline_scores: dict[str, dict[str, float]]) -> tables.ReaderTable:
    """Table 1 per pixel, the baselines as extra rows."""
    shown = pd.concat([table, t1.baseline_rows(baseline_scores)], ignore_index=True)
    shown["training_set"] = shown["training_set"].map(_set_label)
    return tables.for_reader(
        shown[TABLE1_SHOWN], t1.TABLE1_LABELS, caption="Table 1 (this reproduction, per pixel)",
        missing_note="A dash: a baseline has no trial, parameters or validation MSE, or the data have no "
                     "noise-free frames.")


PAPER_RULE_LABELS = {
    "training_set": "Picked among", "trial": "Trial", metrics.VAL_MSE: "Val MSE", "n6_test_mse": "N6 MSE",
    "paper_rule_trial": "Paper's rule: trial", "paper_rule_val_mse": "its val MSE",
    "paper_rule_n6_test_mse": "its N6 MSE", "optimism": "Optimism",
}
PAPER_RULE_ROWS = {t1.OVERALL: "ConvLSTM, every set", t1.ANY_KIND: "every model kind and set"}


def paper_rule_view(record: dict[str, Any]) -> tables.ReaderTable:
    """Table 1's picks beside the paper's rule (`table1.paper_rule_table`): optimism as a percentage."""
    rule = t1.paper_rule_table(record)
    shown = rule.assign(
        training_set=rule["training_set"].map(lambda k: PAPER_RULE_ROWS.get(k, f"ConvLSTM, {_set_label(k)}")),
        optimism=rule["optimism"].map(lambda v: share(v, digits=1)))
    return tables.for_reader(shown[list(PAPER_RULE_LABELS)], PAPER_RULE_LABELS,
                             caption="Each pick (lowest validation MSE) beside the paper's rule "
                                     "(lowest N6 test MSE)")


def seed_table(spread: dict[str, Any]) -> tables.ReaderTable:
    frame = pd.DataFrame({"seed": spread["seeds"], metrics.VAL_MSE: spread[metrics.VAL_MSE],
                          "n6_test_mse": spread["n6_test_mse"], "n3_mse": spread["n3_mse"]})
    return tables.for_reader(frame, {metrics.VAL_MSE: "val MSE"},
                             caption=f"Trial {spread['trial']}'s configuration, {len(spread['seeds'])} "
                                     "seeds (the first is the sweep's)")


COMPARISON_LABELS = {
    "training_set": "Training set", "batch_size": "our batch", "n6_test_mse": "our N6 MSE",
    "n3_mse": "our N3 MSE",
    "n6_test_paper_loss": "our N6 paper loss", "n3_paper_loss": "our N3 paper loss",
    "paper_batch_size": "paper batch", "paper_n6_loss": "paper N6 loss", "paper_n3_loss": "paper N3 loss",
    "paper_n6_mse": "paper N6 MSE (exact)", "paper_n3_mse": "paper N3 MSE (exact)",
    "paper_n6_mse_full_batches": "paper N6 MSE (x B)", "n6_ratio": "N6 ours/paper",
    "n3_ratio": "N3 ours/paper",
}


def comparison_table(comparison: pd.DataFrame) -> tables.ReaderTable:
    """Our best row of each training set beside the paper's (`table1.compare_with_paper`)."""
    shown = comparison.assign(training_set=comparison["training_set"].map(t1.TRAINING_SET_LABELS))
    return tables.for_reader(shown, COMPARISON_LABELS,
                             caption="Our best row of each training set beside the paper's",
                             missing_note="A dash: no complete trial on that training set.")


def paper_table() -> tables.ReaderTable:
    """The paper's Table 1: its parameters, its loss convention."""
    cols = ["training_set", "batch_size", "activation", "layers", "kernels", "lr", "optimizer",
            "n6_loss", "n3_loss"]
    rows = paper.paper_table1()[cols]
    rows = rows.assign(training_set=rows["training_set"].map(t1.TRAINING_SET_LABELS))
    return tables.for_reader(rows, {"n6_loss": "N6 loss", "n3_loss": "N3 loss"},
                             caption="The paper's Table 1 (its parameters, its loss convention)")


def predictions(model, ds) -> dict[str, np.ndarray]:
    """`model`'s predictions of the N6 test windows and of every N3 window."""
    return {"N6 test": predict_frames(model, ds.n6_test.inputs), "N3": predict_frames(model, ds.n3.inputs)}


def _windows(ds) -> dict[str, Any]:
    return {"N6 test": ds.n6_test, "N3": ds.n3}


def reevaluation_table(best: pd.Series, pred: dict[str, np.ndarray], ds) -> tables.ReaderTable:
    """The best trial's stored metrics beside those of its checkpoint evaluated again."""
    again = {name: metrics.mse(pred[name], _windows(ds)[name].targets) for name in pred}
    frame = pd.DataFrame({
        "stored (trials.csv)": [best["n6_test_mse"], best["n3_mse"]],
        "re-evaluated from best_model.pt": [again["N6 test"], again["N3"]],
    }, index=pd.Index(["N6 test MSE", "N3 MSE"], name=" "))
    return tables.for_reader(frame, caption="The best model, stored and re-evaluated")


def figure7a(pred: dict[str, np.ndarray], ds, seed: int, profile: str, n_show: int = 6):
    """Figure 7a: targets and predictions of a few seeded random windows of each test set."""
    plt = pyplot()
    rng = np.random.default_rng(seed)
    windows = _windows(ds)
    fig, axes = plt.subplots(4, n_show, figsize=(1.6 * n_show, 7), squeeze=False)
    for block, name in enumerate(pred):
        ws = windows[name]
        pick = np.sort(rng.choice(len(ws), size=min(n_show, len(ws)), replace=False))
        per_image = metrics.mse_per_image(pred[name][pick], ws.targets[pick])
        for j, i in enumerate(pick):
            top, bottom = axes[2 * block, j], axes[2 * block + 1, j]
            top.imshow(ws.targets[i], cmap="gray", vmin=0, vmax=1)
            bottom.imshow(np.clip(pred[name][i], 0, 1), cmap="gray", vmin=0, vmax=1)
            top.set_title(f"seq {ws.seq[i]}, frame {ws.frame[i] + 1}", fontsize=7)
            bottom.set_title(f"MSE {per_image[j]:.2e}", fontsize=7)
        axes[2 * block, 0].set_ylabel(f"{name}\ntarget", fontsize=8)
        axes[2 * block + 1, 0].set_ylabel(f"{name}\npredicted", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Figure 7a: targets and predictions, N6 test (top) and N3 (bottom)")
    fig.tight_layout()
    return done(fig, "fig7a_predictions", profile)


def figure7b(pred: dict[str, np.ndarray], ds, raw, profile: str):
    """Figure 7b: one sequence of each test set as recorded and with its test frames predicted."""
    plt = pyplot()
    windows = _windows(ds)
    fig, axes = plt.subplots(4, raw.n6.shape[1], figsize=(16, 4.6), squeeze=False)
    for block, (name, sequences) in enumerate((("N6 test", raw.n6), ("N3", raw.n3))):
        ws = windows[name]
        seq = int(ws.seq[0])
        rows = np.flatnonzero((ws.seq == seq) & np.isin(ws.frame, TEST_FRAMES))
        recorded = ds.scaler.transform(sequences[seq])
        frames, predicted = t1.sequence_in_context(recorded, {int(ws.frame[i]): pred[name][i] for i in rows})
        for t in range(frames.shape[0]):
            for r, images in enumerate((recorded, frames)):
                ax = axes[2 * block + r, t]
                ax.imshow(np.clip(images[t], 0, 1), cmap="gray", vmin=0, vmax=1)
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 1 and predicted[t]:
                    ax.set_title(f"^ {t + 1}", fontsize=9, color="crimson")
                elif r == 0:
                    ax.set_title(str(t + 1), fontsize=7)
        axes[2 * block, 0].set_ylabel(f"{name}\nrecorded", fontsize=8)
        axes[2 * block + 1, 0].set_ylabel(f"{name}\npredicted ^", fontsize=8)
    fig.suptitle("Figure 7b: sequences with the predicted frames (^) in place")
    fig.tight_layout()
    return done(fig, "fig7b_predictions_in_context", profile)


def course_checks(written: dict[str, Any], raw, ds) -> tables.ReaderTable:
    """Each course-format prediction file read back, with its MSE against the course's test CSV."""
    checks = []
    for name, target in written.items():
        ours = course_io.read_course_csv(target, frames_per_sequence=len(TEST_FRAMES))
        truth = course_io.read_course_csv(raw.directory / paths.COURSE_FILES[f"test_{name}"])
        frames = {"ours": ours.reshape(-1, *ours.shape[-2:]), "truth": truth.reshape(-1, *truth.shape[-2:])}
        checks.append({"file": target.name, "sequences": len(ours),
                       "MSE vs the test CSV ([0, 1] scale)": metrics.mse(ds.scaler.transform(frames["ours"]),
                                                                         ds.scaler.transform(frames["truth"]))})
    return tables.for_reader(pd.DataFrame(checks), caption="The course-format predictions")


# ---------------------------------------------------------------------------------------------
# Notebook 04: frame 4 from both sides, frame 16 from a longer past


def study_tables(study: dict[str, Any]) -> tuple[tables.ReaderTable, tables.ReaderTable]:
    """Every way of predicting frames 4 and 16, and what the retrained models cost."""
    labels = {"vs paper's protocol": "x the paper's protocol"}
    ways = tables.for_reader(task_study.summary_table(study), labels,
                             caption="Frames 4 and 16, every way of predicting them (MSE per pixel, [0, 1])")
    costs = tables.for_reader(task_study.cost_table(study), {"s per epoch": "seconds per epoch",
                                                              "runtime s": "run time (s)"},
                              caption="What the retrained models cost (this machine)")
    return ways, costs


def frame4_floors(raw, scaler) -> dict[str, float] | None:
    """How low frame 4 can go (generated data only; None for course data), per-pixel MSE:
    `jumps` (windows with a jump next to frame 4), `floor` (any interpolator's floor: the
    target's noise, and the neighbour mean where a jump hides frame 4), `noise` (the target's
    noise alone), `neighbour_excess` (the neighbour mean above that noise on the other windows),
    `carry_on` (the extrapolation's floor, `floors.reference_errors`), `windows`."""
    if raw.truth_n6 is None:
        return None
    scale = scaler.hi - scaler.lo
    f4 = floors.interpolation_errors(raw.n6, raw.truth_n6, TEST_FRAMES[0], scale)
    ordinary = ~f4["jump"]
    carry_on = floors.reference_errors(raw.n6, raw.truth_n6, TEST_FRAMES[0], scale)["carry_on"].mean()
    return {
        "windows": int(raw.n6.shape[0]), "jumps": int(f4["jump"].sum()), "floor": float(f4["jumps"].mean()),
        "noise": float(f4["perfect"].mean()),
        "neighbour_excess": float((f4["neighbour_mean"][ordinary] - f4["perfect"][ordinary]).mean()),
        "ordinary": int(ordinary.sum()), "carry_on": float(carry_on),
    }


def task_examples(study: dict[str, Any], ds, raw, profile: str):
    """Frame 4 each way and frame 16 per context, beside the truth, for three N6 test sequences."""
    plt = pyplot()
    shown = task_study.examples(study, ds, raw, sequences=(0, 1, 2))
    panels = [("frame4", k) for k in shown["frame4"]] + [("frame16", k) for k in shown["frame16"]]
    fig, axes = plt.subplots(3, len(panels), figsize=(1.45 * len(panels), 4.6))
    for col, (frame, name) in enumerate(panels):
        for row in range(3):
            axes[row, col].imshow(shown[frame][name][row], cmap="gray", vmin=0, vmax=1)
            axes[row, col].set_xticks([])
            axes[row, col].set_yticks([])
        axes[0, col].set_title(f"{frame[5:]}: {name}", fontsize=7)
    fig.suptitle("Frame 4 each way and frame 16 per context, beside the truth (N6 test)", fontsize=9)
    fig.tight_layout()
    return done(fig, "tasks_frame4_frame16", profile)
