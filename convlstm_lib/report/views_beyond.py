"""What notebooks 05 and 06 show: the robustness curves (Figure 8), the model kinds at the same
budget, the final model and what no model can remove.

Figure functions draw, save and return their figure closed (`figures.done`); table functions
return a `tables.ReaderTable`.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from convlstm_lib.config import MODELS
from convlstm_lib.data import corruption
from convlstm_lib.data.course_io import TEST_FRAMES
from convlstm_lib.experiments import floors, robustness, sweep_record
from convlstm_lib.experiments import table1 as t1
from convlstm_lib.report import tables, targets
from convlstm_lib.report.figures import done, pyplot
from convlstm_lib.report.results import best_kind
from convlstm_lib.training import metrics
from convlstm_lib.training.checkpoints import load_checkpoint
from convlstm_lib.training.evaluation import predict_frames

# The test sets the robustness study scores: N3 on its windows whose target is frame 4 or 16,
# like N6 test (the same frames in both sets, at a fraction of the cost of every N3 window).
ROBUSTNESS_SETS = {"n6": "N6 test", "n3": "N3"}
ROBUSTNESS_BATCH = 256
TOLERANCE_FACTOR = 2.0  # a corruption is tolerated while the loss stays within this x the clean loss


# ---------------------------------------------------------------------------------------------
# Notebook 05: robustness


def robustness_inputs(cfg, ds) -> tuple[dict[str, Any], robustness.RobustnessConfig]:
    """The test sets (`ROBUSTNESS_SETS`) and the levels, region sizes and seed of the profile."""
    test_sets = {"n6": ds.n6_test, "n3": ds.n3_test}
    config = robustness.RobustnessConfig(
        levels=tuple(robustness.intensity_levels(cfg.noise_levels).tolist()),
        sizes=tuple(int(s) for s in robustness.region_sizes(cfg.region_step,
                                                             side=ds.n6_test.inputs.shape[-1])),
        seed=cfg.seed,
        batch_size=ROBUSTNESS_BATCH,
    )
    return test_sets, config


def clean_losses(result: robustness.RobustnessResult) -> dict[str, float]:
    """Each test set's loss at intensity 0, where the inputs are untouched: the clean loss."""
    return {name: float(df.loc[df["intensity"] == 0, "mse"].iloc[0]) for name, df in result.noise.items()}


NOISE_COLOURS = {"gaussian": "tab:blue", "poisson": "tab:green", "salt_and_pepper": "tab:red"}
SET_STYLES = {"n6": "-", "n3": "--"}


def figure8a(result: robustness.RobustnessResult, profile: str):
    """Figure 8a: loss against noise intensity, one standard error shaded."""
    plt = pyplot()
    noise = result.noise_table()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for (kind, name), rows in noise.groupby(["kind", "test_set"], sort=False):
        rows = rows.sort_values("intensity")
        ax.plot(rows["intensity"], rows["mse"], SET_STYLES[name], color=NOISE_COLOURS[kind], marker=".",
                label=f"{corruption.KIND_LABELS[kind]}, {ROBUSTNESS_SETS[name]}")
        ax.fill_between(rows["intensity"], rows["mse"] - rows["sem"], rows["mse"] + rows["sem"],
                        color=NOISE_COLOURS[kind], alpha=0.15, linewidth=0)
    ax.set_yscale("log")
    ax.set_xlabel("noise intensity a")
    ax.set_ylabel("per-pixel MSE ([0, 1] scale)")
    ax.set_title("Figure 8a: best model under input noise")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return done(fig, "fig8a_noise_robustness", profile)


def figure8b(result: robustness.RobustnessResult, side: int, profile: str):
    """Figure 8b: loss against the side of the missing square (and the fraction it removes)."""
    plt = pyplot()
    region = result.region_table()
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for name, rows in region.groupby("test_set", sort=False):
        ax.plot(rows["size"], rows["mse"], SET_STYLES[name], color="black", marker=".",
                label=ROBUSTNESS_SETS[name])
        ax.fill_between(rows["size"], rows["mse"] - rows["sem"], rows["mse"] + rows["sem"], color="grey",
                        alpha=0.2, linewidth=0)
    top = ax.secondary_xaxis("top", functions=(lambda s: (s / side) ** 2, lambda f: side * f ** 0.5))
    top.set_xlabel("fraction of the image removed")
    ax.set_xlabel("side of the missing square s (pixels)")
    ax.set_ylabel("per-pixel MSE ([0, 1] scale)")
    ax.set_title("Figure 8b: best model with a missing region in its inputs")
    ax.legend()
    fig.tight_layout()
    return done(fig, "fig8b_missing_region", profile)


def tolerances(result: robustness.RobustnessResult) -> dict[str, dict[str, float]]:
    """Per corruption and test set: the largest intensity (region side) before the loss first
    exceeds `TOLERANCE_FACTOR` x its clean value (`robustness.tolerance_table`)."""
    return robustness.tolerance_table(result.noise_table(), result.region_table(), factor=TOLERANCE_FACTOR)


def tolerance_table(tolerated: dict[str, dict[str, float]]) -> tables.ReaderTable:
    frame = pd.DataFrame(tolerated).T.rename(
        index={**corruption.KIND_LABELS, "missing_region": "missing region (side, px)"},
        columns=ROBUSTNESS_SETS)
    return tables.for_reader(frame, {"": "corruption"}, index=True,
                             caption=f"Largest intensity (or region side) with the loss within "
                                     f"{TOLERANCE_FACTOR:g} x the clean loss")


# ---------------------------------------------------------------------------------------------
# Notebook 06: the model kinds, the final model, the floors


def completed_with_ratio(trials: pd.DataFrame, copy_last: float) -> pd.DataFrame:
    done_ = t1.completed(trials).copy()
    done_["ratio_to_copy_last"] = done_["n6_test_mse"] / copy_last
    return done_


def cost_error_table(trials: pd.DataFrame, copy_last: float) -> tables.ReaderTable:
    """Every complete trial, best (by validation MSE) first: its kind, size, cost and N6 test error."""
    columns = ["number", "model", "layers", "kernels", "batch_size", "n_params", "seconds_per_epoch",
               metrics.VAL_MSE, "n6_test_mse", "ratio_to_copy_last", "n6_test_psnr", "n6_test_ssim", "n3_mse"]
    shown = completed_with_ratio(trials, copy_last)[columns].sort_values([metrics.SELECTION_KEY, "number"])
    return tables.for_reader(shown, {"ratio_to_copy_last": "x copy-last", metrics.VAL_MSE: "val MSE"},
                             caption="Every complete trial, best by validation first: cost and N6 test error")


def cost_error_figure(trials: pd.DataFrame, copy_last: float, profile: str):
    """Every trial's N6 test MSE, PSNR and SSIM against its seconds per epoch and its size."""
    import seaborn as sns

    plt = pyplot()
    done_ = completed_with_ratio(trials, copy_last)
    palette = dict(zip(MODELS, sns.color_palette("colorblind", len(MODELS)), strict=True))
    fig, axes = plt.subplots(3, 2, figsize=(10, 10), sharex="col")
    for row, (metric, label) in enumerate((("n6_test_mse", "N6 test MSE (per pixel)"),
                                           ("n6_test_psnr", "N6 test PSNR (dB)"),
                                           ("n6_test_ssim", "N6 test SSIM"))):
        for col, (x, xlabel) in enumerate((("seconds_per_epoch", "seconds per epoch (this machine)"),
                                           ("n_params", "parameters"))):
            ax = axes[row, col]
            kinds = [m for m in MODELS if m in set(done_["model"])]
            sns.scatterplot(data=done_, x=x, y=metric, hue="model", hue_order=kinds, palette=palette, ax=ax,
                            s=50, legend=(row == 0 and col == 1))
            ax.set_xscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(label)
            if metric == "n6_test_mse":
                ax.axhline(copy_last, ls="--", c="grey", lw=1, label="copy last frame")
                ax.set_yscale("log")
    fig.suptitle("Every trial of the sweep: test error against training time and size, by model")
    fig.tight_layout()
    return done(fig, "models_cost_vs_error", profile)


def best_per_model_table(models: dict[str, dict[str, Any] | None]) -> tables.ReaderTable:
    """The models section (`results.models_section`), one row per kind."""
    rows = [{"model": kind, **(entry or {})} for kind, entry in models.items()]
    return tables.for_reader(pd.DataFrame(rows).set_index("model"),
                             {"ratio_to_copy_last": "x copy-last", metrics.VAL_MSE: "val MSE"},
                             index=True, caption="The best trial of each model kind (by validation MSE)",
                             missing_note="A dash: no trial of this kind completed.")


def final_runs_table(record: dict[str, Any], copy_last: float) -> tables.ReaderTable:
    runs = pd.DataFrame(record["runs"]).assign(ratio_to_copy_last=lambda t: t["n6_test_mse"] / copy_last)
    return tables.for_reader(runs, {"ratio_to_copy_last": "x copy-last", "runtime_s": "seconds"},
                             caption="The final model's runs, each alone")


def final_figure(compared: dict[str, float], runs: int, copy_last: float, profile: str):
    """Each model of `compared` (name -> N6 test MSE; copy-last first, the final model's `runs` runs
    and their average last) as a ratio to copy-last, against the target for the best model."""
    plt = pyplot()
    target = targets.BEST_MODEL
    fig, ax = plt.subplots(figsize=(8, 3.4))
    names, values = list(compared), [v / copy_last for v in compared.values()]
    colours = ["grey", *["tab:orange"] * (len(names) - runs - 2), *["#6baed6"] * runs, "#08519c"]
    ax.barh(names[::-1], values[::-1], color=colours[::-1])
    ax.axvline(target.ratio, color="tab:red", ls="--", lw=1, label=f"target: {target}")
    for y, v in enumerate(values[::-1]):
        ax.text(v + 0.01, y, f"{v:.3f}", va="center", fontsize=8)
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("N6 test MSE / copy-last")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("The final model beside the sweep's best (N6 test)", fontsize=10)
    fig.tight_layout()
    return done(fig, "final_model", profile)


FLOOR_LEVELS = {"copy_last": "copy-last", "perfect": "perfect", "jumps": "+ jumps", "carry_on": "carry on"}


def floor_table(raw, ds, cfg, best_trial: int, final_model=None) -> pd.DataFrame:
    """The references of `floors.floor_table` (N6 test, per test frame and all windows) with the
    errors of the best trial (`best trial`, from its checkpoint) and of the final model (`final
    model`, when given) on the same windows."""
    table = floors.floor_table(raw.n6, raw.truth_n6, ds.scaler.hi - ds.scaler.lo)
    test = ds.n6_test
    checkpoint = load_checkpoint(sweep_record.trial_checkpoint(cfg, best_trial))
    models = {"best trial": checkpoint.model}
    if final_model is not None:
        models["final model"] = final_model
    for name, model in models.items():
        error = metrics.mse_per_image(predict_frames(model, test.inputs), test.targets)
        table[name] = [*(error[test.frame == frame].mean() for frame in TEST_FRAMES), error.mean()]
    return table


def _floor_labels(table: pd.DataFrame, best_kind: str) -> dict[str, str]:
    models = {"best trial": f"best trial ({best_kind})", "final model": "final model"}
    return {**FLOOR_LEVELS, **{k: v for k, v in models.items() if k in table.columns}}


def floor_cells(table: pd.DataFrame, best_kind: str) -> pd.DataFrame:
    """`floor_table` as read: one row per reference, 'MSE (ratio x)' per set of windows."""
    labels = _floor_labels(table, best_kind)
    shown = table[list(labels)].rename(columns=labels)
    ratios = shown.div(shown["copy-last"], axis=0)
    cells = shown.map(lambda v: f"{v:.2e}") + ratios.map(lambda r: f" ({r:.2f} x)")
    return cells.T.rename_axis(index="per-pixel MSE (x copy-last)", columns=None)


def floor_figure(table: pd.DataFrame, best_kind: str, profile: str):
    """The references and the models as ratios to copy-last, against the target for the best model."""
    plt = pyplot()
    target = targets.BEST_MODEL
    labels = _floor_labels(table, best_kind)
    ratios = table[list(labels)].rename(columns=labels).div(table["copy_last"], axis=0)
    fig, ax = plt.subplots(figsize=(8, 3.8))
    colours = ["grey", "#c6dbef", "#6baed6", "#2171b5", "tab:orange", "#08519c"][:len(labels)]
    ratios.plot.bar(ax=ax, rot=0, color=colours, width=0.8)
    ax.axhline(target.ratio, color="tab:red", ls="--", lw=1, label=f"target: {target} (all windows)")
    ax.set_ylabel("MSE / copy-last")
    ax.set_xlabel("")
    ax.set_ylim(0, 1.35)  # room for the legend above the copy-last bars
    ax.legend(fontsize=8, ncol=3, loc="upper center")
    ax.set_title("What no model can remove, beside the models (N6 test)", fontsize=10)
    fig.tight_layout()
    return done(fig, "models_floor", profile)


def final_comparison(copy_last: float, models: dict[str, dict[str, Any] | None], seeds,
                     final: dict[str, Any]) -> dict[str, float]:
    """N6 test MSE of copy-last, the sweep's best by validation, Table 1's best row averaged over its seeds
    (`seeds`: the seeds section, if notebook 04 ran), each final run and the final model."""
    compared = {"copy-last": copy_last}
    kind = best_kind(models)
    if kind is not None:
        compared[f"sweep's best by validation ({kind})"] = models[kind]["n6_test_mse"]
    if seeds is not None and seeds.ensemble is not None:
        compared[f"Table 1's best row, {seeds.ensemble.runs} seeds averaged"] = seeds.ensemble.n6_test_mse
    compared.update({f"final run {k}": run["n6_test_mse"] for k, run in enumerate(final["runs"])})
    compared[f"final model ({final['members']} runs averaged)"] = final.get("n6_test_mse")
    return compared
