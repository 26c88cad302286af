"""What notebooks 01 and 02 show of the data: Figures 3-5, the calibration, the outliers, the windows.

Each figure function draws, saves (`figures.save_figure`, under the name the report's figures
folder keeps) and returns its figure, closed, so that a notebook cell shows it once by ending
with the call; each table function returns a `tables.ReaderTable` (or a styled table).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from convlstm_lib.data import calibration, corruption, preprocessing
from convlstm_lib.data.calibration import REAL, SPREAD_SEEDS
from convlstm_lib.data.course_io import TEST_FRAMES
from convlstm_lib.data.generator import GeneratorConfig, generate_set
from convlstm_lib.data.preprocessing import score_flags
from convlstm_lib.report import tables
from convlstm_lib.report.figures import done, pyplot, show_sequences
from convlstm_lib.report.text import Prose, prose, share

# ---------------------------------------------------------------------------------------------
# Notebook 01: the raw sequences


def raw_overview(raw) -> tables.ReaderTable:
    """Sizes and value range of N6 and N3 as loaded (raw 0-255 scale)."""
    test_frames = len(TEST_FRAMES)
    train_frames = raw.n6.shape[1] - test_frames
    overview = pd.DataFrame(
        {
            "sequences": [raw.n6.shape[0], raw.n3.shape[0]],
            "frames per sequence": [raw.n6.shape[1], raw.n3.shape[1]],
            "training images (CSV rows)": [raw.n6.shape[0] * train_frames, raw.n3.shape[0] * train_frames],
            "test images (CSV rows)": [raw.n6.shape[0] * test_frames, raw.n3.shape[0] * test_frames],
            "min": [raw.n6.min(), raw.n3.min()],
            "max": [raw.n6.max(), raw.n3.max()],
            "mean": [raw.n6.mean().round(2), raw.n3.mean().round(2)],
        },
        index=["N6", "N3"],
    )
    return tables.for_reader(overview, {"": "set"}, index=True, caption="The raw sequences")


def figure3(raw, profile: str):
    """Figure 3: two N6 and two N3 sequences, every frame, the test frames framed in red."""
    examples = [(f"N6 #{i}", raw.n6[i]) for i in range(min(2, len(raw.n6)))]
    examples += [(f"N3 #{i}", raw.n3[i]) for i in range(min(2, len(raw.n3)))]
    fig = show_sequences(
        examples, "Figure 3: example N6 and N3 sequences (frames 1-16; test frames 4 and 16 in red)"
    )
    return done(fig, "fig3_sequences", profile)


def clean_vs_noisy(raw, profile: str):
    """N6 sequence #0 clean, noisy and their difference, beside the histogram of every N6 pixel's
    noise and the generator's Gaussian. For course data (no clean frames), a note saying so."""
    if not raw.has_truth:
        return prose("Course data carry no noise-free frames: this comparison needs generated data.")
    plt = pyplot()
    clean, noisy = raw.truth_n6["clean"][0], raw.n6[0]
    shown = [0, 3, 7, 11, 15]
    fig, axes = plt.subplots(3, len(shown) + 1, figsize=(2.0 * (len(shown) + 1), 6.4),
                             gridspec_kw={"width_ratios": [1] * len(shown) + [1.4]})
    vmax = float(noisy.max())
    for c, t in enumerate(shown):
        for r, (img, kw) in enumerate(((clean[t], {"vmin": 0, "vmax": vmax}),
                                       (noisy[t], {"vmin": 0, "vmax": vmax}),
                                       (noisy[t] - clean[t], {"vmin": -15, "vmax": 15, "cmap": "RdBu_r"}))):
            axes[r, c].imshow(img, **({"cmap": "gray"} | kw))
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[0, c].set_title(f"frame {t + 1}" + (" (test)" if t in TEST_FRAMES else ""), fontsize=9)
    for r, label in enumerate(("clean", "noisy (as stored)", "noisy - clean")):
        axes[r, 0].set_ylabel(label)
    residual = (raw.n6 - raw.truth_n6["clean"]).ravel()
    sigma = GeneratorConfig.from_json(raw.truth_n6["config"]).noise_sigma
    grid = np.linspace(-25, 25, 201)
    hist_ax = axes[1, -1]
    hist_ax.hist(residual, bins=np.arange(-25.5, 26.5, 1.0), density=True, color="0.6", label="noisy - clean")
    gauss = np.exp(-0.5 * (grid / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    hist_ax.plot(grid, gauss, "tab:red", label=f"N(0, {sigma:g}²)")
    hist_ax.set_title(f"all N6 pixels: std {residual.std():.2f}", fontsize=9)
    hist_ax.legend(fontsize=7)
    for r in (0, 2):
        axes[r, -1].axis("off")
    fig.suptitle("Clean vs noisy: N6 sequence #0 (ground truth of the generator)")
    fig.tight_layout()
    return done(fig, "fig_clean_vs_noisy", profile)


def signal_at_test_frames(raw) -> tables.ReaderTable | Prose:
    """Per test frame: the clean digit's peak, the noise's std and the recorded range (raw scale)."""
    if not raw.has_truth:
        return prose()
    clean_all = raw.truth_n6["clean"]
    snr = pd.DataFrame({
        "frame": [t + 1 for t in TEST_FRAMES],
        "clean peak (median)": [float(np.median(clean_all[:, t].max(axis=(1, 2)))) for t in TEST_FRAMES],
        "noise std (all pixels)": [float((raw.n6[:, t] - clean_all[:, t]).std()) for t in TEST_FRAMES],
        "noisy minimum": [float(raw.n6[:, t].min()) for t in TEST_FRAMES],
        "noisy maximum": [float(raw.n6[:, t].max()) for t in TEST_FRAMES],
    }).set_index("frame")
    return tables.for_reader(snr, caption="Signal and noise of the test frames (raw scale)")


def calibration_table(table: pd.DataFrame, generated: bool):
    """`calibration.compare`'s table as read (`comparison_table`), the rows outside tolerance in red."""
    label = "N6 generated" if generated else "N6 course"
    shown = calibration.comparison_table(table, label)
    return shown.style.hide(axis="index").format(escape="html").map(
        lambda ok: "" if ok == "yes" else "color: red; font-weight: bold", subset=["within"]
    )


def copy_last_table(raw) -> tables.ReaderTable:
    """The copy-last error at each test frame, with and (on generated data) without the sequences
    whose own transition there is an injected outlier."""
    rows = []
    for name, seqs, truth in (("N6", raw.n6, raw.truth_n6), ("N3", raw.n3, raw.truth_n3)):
        for target in TEST_FRAMES:
            row = {"set": name, "frame": f"{target} -> {target + 1}",
                   f"copy-last MSE (raw / {calibration.COPY_LAST_SCALE:g})":
                       calibration.significant(calibration.copy_last_mse(seqs, target))}
            if truth is not None:
                jump = np.asarray(truth["outlier_transitions"], bool)[:, target - 1]
                row["sequences with an outlier there"] = int(jump.sum())
                row["without them"] = calibration.significant(calibration.copy_last_mse(seqs[~jump], target))
            rows.append(row)
    return tables.for_reader(pd.DataFrame(rows),
                             caption="Copy-last error at the test frames, with and without the outlier jumps")


def copy_last_spread(raw) -> pd.DataFrame | None:
    """N3 generated again with the next `SPREAD_SEEDS` seeds (same settings): per seed, the outlier
    jumps at the first test transition and the copy-last MSE there. None for course data."""
    if not raw.has_truth:
        return None
    first = int(raw.truth_n3["seed"])
    gen_cfg = GeneratorConfig.from_json(str(raw.truth_n3["config"]))
    rows = []
    for s in range(first, first + SPREAD_SEEDS):
        g3 = generate_set(3, raw.n3.shape[0], s, gen_cfg)
        rows.append((s, int(g3.outlier_transitions[:, TEST_FRAMES[0] - 1].sum()),
                     calibration.copy_last_mse(g3.frames, TEST_FRAMES[0])))
    return pd.DataFrame(rows, columns=["seed", "jumps at 3 -> 4", "copy-last MSE"])


def copy_last_spread_figure(spread: pd.DataFrame, profile: str):
    """`copy_last_spread` seed by seed against the real figure and its tolerance band."""
    plt = pyplot()
    figure = REAL["copy_last_mse_f4"]
    real_f4 = figure.real
    fig, ax = plt.subplots(figsize=(7, 3.2))
    colours = plt.cm.viridis(spread["jumps at 3 -> 4"] / max(spread["jumps at 3 -> 4"].max(), 1))
    ax.bar(spread["seed"].astype(str), spread["copy-last MSE"], color=colours)
    ax.axhline(real_f4, color="tab:red", label=f"real {real_f4:.1e}")
    ax.axhspan((1 - figure.tol) * real_f4, (1 + figure.tol) * real_f4, color="tab:red", alpha=0.12,
               label=f"within {figure.tolerance.lstrip('±')}")
    for i, n_jumps in enumerate(spread["jumps at 3 -> 4"]):
        ax.text(i, spread["copy-last MSE"].iloc[i], str(n_jumps), ha="center", va="bottom", fontsize=8)
    ax.set_xlabel("seed (the number on each bar: outlier jumps at frame 3 -> 4)")
    ax.set_ylabel("N3 copy-last MSE, 3 -> 4")
    ax.legend(fontsize=8)
    ax.set_title("N3 copy-last error at frame 3 -> 4, seed by seed", fontsize=10)
    fig.tight_layout()
    return done(fig, "fig_copy_last_seeds", profile)


def drift_figure(raw, profile: str):
    """Each N6 sequence's drift from frame 4 to 16, coloured by its group, against the real figures."""
    plt = pyplot()
    com = calibration.drift_centres(raw.n6)
    drift = com[:, TEST_FRAMES[1]] - com[:, TEST_FRAMES[0]]  # (N, 2) as (y, x)
    groups = calibration.drift_groups(drift)
    ref = {key: f.real for key, f in REAL.items()}
    fig, ax = plt.subplots(figsize=(6.4, 6.4))
    other = ~(groups["dominant_x"] | groups["dominant_y"] | groups["upward"])
    point_groups = {
        "dominant +x": ("tab:blue", groups["dominant_x"]),
        "dominant +y": ("tab:orange", groups["dominant_y"]),
        "upward": ("tab:green", groups["upward"]),
        "other": ("0.55", other),
    }
    for name, (colour, mask) in point_groups.items():
        ax.scatter(drift[mask, 1], drift[mask, 0], s=9, color=colour, alpha=0.7,
                   label=f"{name}: {mask.mean():.0%} (generated)")
    theta = np.linspace(0, 2 * np.pi, 361)
    lengths = ("drift_length_p10", "drift_length_p50", "drift_length_p90")
    for key in lengths:
        ax.plot(ref[key] * np.cos(theta), ref[key] * np.sin(theta), "--", color="tab:red", lw=1)
    ax.plot([], [], "--", color="tab:red", lw=1,
            label="real length 10/50/90 %: " + " / ".join(f"{ref[k]:g}" for k in lengths) + " px")
    real_marks = (("dominant +x", "dominant_x", "tab:blue"), ("dominant +y", "dominant_y", "tab:orange"),
                  ("upward", "upward", "tab:green"))
    for name, key, colour in real_marks:
        ax.plot(ref[f"{key}_dx"], ref[f"{key}_dy"], "X", ms=13, color=colour, markeredgecolor="black",
                label=f"real median, {name} ({ref[f'{key}_share']:.0%})")
    lim = 11.0
    grid = np.linspace(0, lim, 2)
    for line in ((grid, grid / 2), (grid / 2, grid)):  # one dominant axis: larger >= 2 x smaller
        ax.plot(*line, color="0.6", lw=0.8)
    ax.axhline(-2, color="0.6", lw=0.8, ls=":")
    ax.axvline(-2, color="0.6", lw=0.8, ls=":")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(lim, -lim)  # y down, as displayed
    ax.set_aspect("equal")
    ax.axhline(0, color="0.85", lw=0.6, zorder=0)
    ax.axvline(0, color="0.85", lw=0.6, zorder=0)
    ax.set_xlabel("dx, frame 4 -> 16 (px, right)")
    ax.set_ylabel("dy, frame 4 -> 16 (px, down)")
    ax.set_title(f"Drift of each N6 sequence ({raw.source}) against the real figures", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")  # the quadrant no real sequence drifts to
    fig.tight_layout()
    return done(fig, "fig_drift_vectors", profile)


def along_sequence_figure(raw, profile: str):
    """Digit mass, image maximum, blur and centre of mass frame by frame, the real figures in red."""
    plt = pyplot()
    ref = {key: f.real for key, f in REAL.items()}
    com = calibration.drift_centres(raw.n6)
    frames_axis = np.arange(1, raw.n6.shape[1] + 1)
    marks = [t + 1 for t in TEST_FRAMES]
    per_frame = {
        "digit mass (median)": (np.median(calibration.digit_mass(raw.n6), axis=0), ("mass_f4", "mass_f16")),
        "image maximum (median)": (np.median(raw.n6.max(axis=(2, 3)), axis=0), ("max_f4", "max_f16")),
        "Laplacian variance, blur 0.7 (median)": (np.median(calibration.laplacian_variance(raw.n6), axis=0),
                                                  ("laplacian_var_f4", "laplacian_var_f16")),
    }
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for ax, (label, (values, keys)) in zip(axes[:3], per_frame.items(), strict=True):
        ax.plot(frames_axis, values, "o-", ms=3, label="N6 " + raw.source)
        ax.plot(marks, [ref[keys[0]], ref[keys[1]]], "s", color="tab:red", label="real course data")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("frame")
        if "Laplacian" in label:
            ax.set_yscale("log")
    ax = axes[-1]
    ax.plot(frames_axis, np.nanmean(com[..., 1] - com[:, :1, 1], axis=0), "o-", ms=3, label="x (right)")
    ax.plot(frames_axis, np.nanmean(com[..., 0] - com[:, :1, 0], axis=0), "o-", ms=3, label="y (down)")
    ax.set_title("centre of mass (above median) shift since frame 1 (mean, px)", fontsize=10)
    ax.set_xlabel("frame")
    ax.legend(fontsize=8)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return done(fig, "fig_statistics_along_sequence", profile)


def rotation_figure(raw, profile: str):
    """The measured rotation per step against the real percentiles; on generated data, one
    sequence's true rotation and shift per step."""
    plt = pyplot()
    rot = calibration.rotation_steps(raw.n6)
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    axes[0].hist(rot.ravel(), bins=np.arange(-30, 30.5, 1.0), color="0.5")
    for q in ("rotation_p05_deg", "rotation_p95_deg"):
        axes[0].axvline(REAL[q].real, color="tab:red", ls="--")
    axes[0].set_xlabel("rotation per step (deg, counter-clockwise)")
    axes[0].set_title("measured rotation per step; red: real 5 % and 95 %", fontsize=10)
    if raw.has_truth:
        truth = raw.truth_n6
        steps = np.arange(1, truth["rotation"].shape[1] + 1)
        axes[1].plot(steps, truth["rotation"][0], "o-", ms=3, color="tab:blue", label="rotation (true)")
        axes[1].plot(steps, rot[0], "x", color="tab:blue", label="rotation (measured)")
        axes[1].set_ylabel("rotation per step (deg)", color="tab:blue")
        shift_ax = axes[1].twinx()
        shift_ax.plot(steps, truth["dx"][0], "o-", ms=3, color="tab:orange", label="dx (px, right)")
        shift_ax.plot(steps, truth["dy"][0], "o-", ms=3, color="tab:green", label="dy (px, down)")
        shift_ax.set_ylabel("shift per step (px)")
        axes[1].set_xlabel("step (frame k -> k+1)")
        axes[1].set_title("N6 sequence #0: ground-truth parameters per step", fontsize=10)
        handles = axes[1].get_legend_handles_labels()
        more = shift_ax.get_legend_handles_labels()
        axes[1].legend(handles[0] + more[0], handles[1] + more[1], fontsize=8, loc="best")
    else:
        axes[1].axis("off")
    fig.tight_layout()
    return done(fig, "fig_rotation_velocity", profile)


def outlier_counts(raw) -> dict[str, dict[str, Any]]:
    """Per set: transitions, those the robust 3-sigma rule flags (`calibration.outlier_steps`) and,
    on generated data, how they score against the injected ones (`preprocessing.score_flags`)."""
    rows = {}
    for name, seqs, truth in (("N6", raw.n6, raw.truth_n6), ("N3", raw.n3, raw.truth_n3)):
        flagged = calibration.outlier_steps(seqs)
        row: dict[str, Any] = {"transitions": flagged.size, "flagged (3-sigma rule)": int(flagged.sum())}
        if truth is not None:
            score = score_flags(flagged, truth["outlier_transitions"])
            row |= {
                "injected": score["injected"],
                "flagged and injected": score["true_positives"],
                "recall": score["recall"],
                "precision": score["precision"],
            }
        rows[name] = row
    return rows


def outlier_table(counts: dict[str, dict[str, Any]]) -> tables.ReaderTable:
    return tables.for_reader(pd.DataFrame(counts).T, {"": "set"}, index=True,
                             caption="Outlier transitions: injected and flagged")


def outlier_example(raw, profile: str):
    """The first injected outlier's sequence, titled with its jump. None without one."""
    if not raw.has_truth or not raw.truth_n6["outlier_transitions"].any():
        return None
    seq_id, step = np.argwhere(raw.truth_n6["outlier_transitions"])[0]
    fig = show_sequences(
        [(f"N6 #{seq_id}", raw.n6[seq_id])],
        f"An injected outlier: N6 #{seq_id}, transition {step + 1} -> {step + 2} "
        f"(rotation {raw.truth_n6['rotation'][seq_id, step]:+.0f} deg, "
        f"shift ({raw.truth_n6['dx'][seq_id, step]:+.1f}, {raw.truth_n6['dy'][seq_id, step]:+.1f}) px)",
    )
    return done(fig, "fig_outlier_example", profile)


# ---------------------------------------------------------------------------------------------
# Notebook 02: pre-processing


def outliers_pca_figure(ds, raw, profile: str):
    """Figure 4: the first two principal components of the examined consecutive-frame differences
    (those clear of the test frames), flagged and (on generated data) injected transitions marked."""
    plt = pyplot()
    rep = ds.outliers
    truth = None if raw.truth_n6 is None else np.asarray(raw.truth_n6["outlier_transitions"], bool)
    flag = rep.examined_flags.reshape(-1)
    fig, ax = plt.subplots(figsize=(7, 5.5))
    ax.scatter(rep.coords[~flag, 0], rep.coords[~flag, 1], s=4, c="0.6", alpha=0.5, label="transition")
    ax.scatter(rep.coords[flag, 0], rep.coords[flag, 1], s=22, facecolors="none", edgecolors="tab:red",
               label=f"flagged (D > {rep.threshold:.2f}, {rep.n_flagged})")
    if truth is not None:
        inj = truth[:, rep.examined].reshape(-1)
        ax.scatter(rep.coords[inj, 0], rep.coords[inj, 1], s=10, marker="x", c="tab:blue",
                   label=f"injected outlier ({int(inj.sum())})")
    evr = rep.explained_variance_ratio
    ax.set_xlabel(f"PC 1 ({100 * evr[0]:.1f} % of variance)")
    ax.set_ylabel(f"PC 2 ({100 * evr[1]:.1f} % of variance)")
    ax.set_title("Figure 4: PCA of consecutive-frame differences, N6 (transitions clear of the test frames)")
    ax.legend(loc="best", fontsize=8)
    return done(fig, "fig4_outliers_pca", profile)


def outliers_found_table(ds) -> tables.ReaderTable:
    """What the PCA detector examined and flagged, its settings and, on generated data, precision
    and recall over the examined transitions."""
    rep, out = ds.outliers, ds.info["outliers"]
    settings = rep.settings
    left_out = ", ".join(f"{t + 1} -> {t + 2}" for t in np.flatnonzero(~rep.examined))
    rows = {
        "transitions examined": out["transitions"],
        "transitions left out (they touch a test frame)": f"{out['transitions_left_out']} ({left_out})",
        "flagged transitions": out["flagged_transitions"],
        "flagged share": share(out["flagged_transitions"] / out["transitions"], digits=2),
        "expected for a Gaussian": share(settings["tail_probability"], digits=2),
        "sequences removed": f"{out['flagged_sequences']} of {out['sequences']}",
        "training windows removed": out["removed_windows"],
        "PCA components k": settings["n_components"],
        "Mahalanobis radius": f"{rep.threshold:.3f}",
    }
    if "precision" in out:
        rows.update({
            "injected outlier transitions (examined)": out["injected"],
            "precision": f"{out['precision']:.3f} ({out['true_positives']} of {out['flagged_transitions']})",
            "recall": f"{out['recall']:.3f} ({out['true_positives']} of {out['injected']})",
        })
    return tables.for_reader(pd.Series(rows, name="value").to_frame(), {"": "outliers"}, index=True,
                             caption="Outlier transitions found by PCA and the Mahalanobis distance")


def outliers_by_step_figure(ds, raw, profile: str):
    """Flagged (and injected) transitions per position along the sequence; the transitions left out
    (they touch a test frame) shaded."""
    plt = pyplot()
    rep = ds.outliers
    truth = None if raw.truth_n6 is None else np.asarray(raw.truth_n6["outlier_transitions"], bool)
    fig, ax = plt.subplots(figsize=(7, 2.8))
    steps = np.arange(rep.flagged.shape[1])
    for k, t in enumerate(np.flatnonzero(~rep.examined)):
        ax.axvspan(t - 0.5, t + 0.5, color="0.9", zorder=0, label="not examined (touches a test frame)"
                   if k == 0 else None)
    ax.bar(steps - 0.2, rep.flagged.sum(axis=0), width=0.4, label="flagged", color="tab:red")
    if truth is not None:
        ax.bar(steps + 0.2, truth.sum(axis=0), width=0.4, label="injected", color="tab:blue")
    ax.set_xlabel("transition t -> t+1 (0-based)")
    ax.set_ylabel("count")
    ax.set_xticks(steps)
    ax.legend(fontsize=8)
    return done(fig, "outliers_by_step", profile)


def denoising_examples(ds, profile: str):
    """Four training targets raw, denoised and (on generated data) clean, with their MSE to clean."""
    plt = pyplot()
    base, den = ds.train["base"], ds.train["denoised"]
    has_clean = base.clean_targets is not None
    picks = np.linspace(0, len(base) - 1, 4).astype(int)
    n_rows = 3 if has_clean else 2
    fig, axes = plt.subplots(n_rows, len(picks), figsize=(2.3 * len(picks), 2.3 * n_rows))
    for j, i in enumerate(picks):
        panels = [("raw target", base.targets[i]), ("denoised", den.targets[i])]
        if has_clean:
            panels.append(("clean", base.clean_targets[i]))
        for r, (label, img) in enumerate(panels):
            ax = axes[r, j]
            ax.imshow(img, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            title = f"{label}, seq {base.seq[i]} frame {base.frame[i]}" if r == 0 else label
            if has_clean and r < 2:
                title += f"\nMSE to clean {np.mean((img - base.clean_targets[i]) ** 2):.1e}"
            ax.set_title(title, fontsize=7)
    fig.suptitle(f"Non-local means, h = {ds.info['denoise']['h']}")
    fig.tight_layout()
    return done(fig, "denoising_examples", profile)


DENOISE_STRENGTHS = (2, 4, 6, 8, 10, 12, 15)  # h values the strength plot tries


def denoising_strength(ds, profile: str):
    """The training targets' error to the clean frames over a range of strengths h, on a sample of
    targets; None for course data."""
    base = ds.train["base"]
    if base.clean_targets is None:
        return None
    plt = pyplot()
    sample = base.subset(np.linspace(0, len(base) - 1, min(len(base), 600)).astype(int))
    errs = [np.mean((preprocessing.denoise(sample.targets, h=h) - sample.clean_targets) ** 2)
            for h in DENOISE_STRENGTHS]
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(DENOISE_STRENGTHS, errs, "o-", label="denoised")
    ax.axhline(np.mean((sample.targets - sample.clean_targets) ** 2), color="0.5", ls="--", label="raw")
    ax.axvline(ds.info["denoise"]["h"], color="tab:red", lw=1, label="h used")
    ax.set_xlabel("h")
    ax.set_ylabel("MSE to clean")
    ax.legend(fontsize=8)
    return done(fig, "denoising_strength", profile)


def window_sizes(ds) -> tables.ReaderTable:
    """Windows per training and test set, and how many of each training set a run uses."""
    sizes = pd.DataFrame({
        "windows": pd.Series(ds.info["sizes"]),
        "used for training": pd.Series({name: len(ws) for name, ws in ds.train.items()}, dtype="Int64"),
    })
    return tables.for_reader(sizes, {"": "set"}, index=True, caption="Windows per set",
                             missing_note="A dash: a validation or test set, not used for training.")


def figure5(ds, rows: int, seed: int, profile: str):
    """Figure 5: an N6 test input under every corruption, one row per intensity."""
    plt = pyplot()
    image = ds.n6_test.inputs[0, 1]
    grid, intensities, region_sizes = corruption.figure5_grid(image, rows=rows, seed=seed)
    n_rows = grid.shape[0]
    fig, axes = plt.subplots(n_rows, 4, figsize=(7, 1.75 * n_rows), squeeze=False)
    for r in range(n_rows):
        for k, kind in enumerate(corruption.KINDS):
            ax = axes[r, k]
            ax.imshow(grid[r, k], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(corruption.KIND_LABELS[kind], fontsize=9)
            if k == 0:
                ax.set_ylabel(f"a = {intensities[r]:.2f}", fontsize=8)
            if k == 3:
                ax.set_ylabel(f"s = {region_sizes[r]}", fontsize=8)
                ax.yaxis.set_label_position("right")
    fig.suptitle("Figure 5: corruptions of an N6 test input by intensity")
    fig.tight_layout()
    return done(fig, "fig5_corruptions", profile)
