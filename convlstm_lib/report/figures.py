"""Figures the notebooks share, and saving them: every notebook figure lands as PNG and SVG
under runs/<profile>/figures/.

`run_all.py` copies that folder next to the rendered report (report/figures/).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from convlstm_lib import paths
from convlstm_lib.atomic import atomic_path
from convlstm_lib.data.course_io import TEST_FRAMES

SEQUENCE_GAP = 6  # px of white between the frames of `show_sequences`


def save_figure(fig, name: str, profile: str, dpi: int = 120) -> list[Path]:
    """Write `fig` as `<name>.png` and `<name>.svg`; return both paths."""
    out = []
    for ext in ("png", "svg"):
        target = paths.figures_dir(profile) / f"{name}.{ext}"
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=ext, dpi=dpi, bbox_inches="tight")
        out.append(target)
    return out


def pyplot():
    """matplotlib.pyplot, imported when a figure is drawn (not when the report modules load)."""
    import matplotlib.pyplot as plt

    return plt


def done(fig, name: str, profile: str):
    """`fig` saved as `name` (`save_figure`) and closed, so that a notebook cell ending with it shows
    it once (as its result, not again as an open figure); returns `fig`."""
    import matplotlib.pyplot as plt

    save_figure(fig, name, profile)
    plt.close(fig)
    return fig


def show_sequences(rows: Sequence[tuple[str, np.ndarray]], title: str, test_frames=TEST_FRAMES):
    """One row per (label, sequence (T, H, W)), tiled into one image with white gaps between frames,
    one grey scale for all (the rows' joint min..max); the test frames (0-based `test_frames`) are
    framed in red and their numbers (1-based, on top) read "test". Returns the matplotlib Figure."""
    import matplotlib.pyplot as plt

    if not rows:
        raise ValueError("rows: need at least one (label, sequence)")
    shape = np.shape(rows[0][1])
    for label, seq in rows:
        if np.ndim(seq) != 3 or np.shape(seq) != shape:
            raise ValueError(f"rows: {label!r} has shape {np.shape(seq)}, expected (T, H, W) = {shape}")
    lo = min(float(np.min(seq)) for _, seq in rows)
    hi = max(float(np.max(seq)) for _, seq in rows)
    n_frames, h, w = shape
    gap = SEQUENCE_GAP
    mosaic = np.full((len(rows) * (h + gap) - gap, n_frames * (w + gap) - gap), np.nan)
    for r, (_, seq) in enumerate(rows):
        for t in range(n_frames):
            mosaic[r * (h + gap) : r * (h + gap) + h, t * (w + gap) : t * (w + gap) + w] = seq[t]
    fig, ax = plt.subplots(figsize=(1.0 * n_frames, 1.05 * len(rows) + 0.7))
    cmap = plt.get_cmap("gray").with_extremes(bad="white")
    ax.imshow(np.ma.masked_invalid(mosaic), cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
    shown_tests = [t for t in test_frames if t < n_frames]
    for r in range(len(rows)):
        for t in shown_tests:
            ax.add_patch(plt.Rectangle((t * (w + gap) - 1.5, r * (h + gap) - 1.5), w + 2, h + 2,
                                       fill=False, edgecolor="tab:red", linewidth=2))
    ax.set_xticks([t * (w + gap) + (w - 1) / 2 for t in range(n_frames)])
    labels = [f"{t + 1}" + ("\ntest" if t in shown_tests else "") for t in range(n_frames)]
    ax.set_xticklabels(labels, fontsize=8)
    ticks = ax.xaxis.get_major_ticks()
    for t in shown_tests:  # labels sit on top (label2) after tick_top() below; colour both
        ticks[t].label1.set_color("tab:red")
        ticks[t].label2.set_color("tab:red")
    ax.set_yticks([r * (h + gap) + (h - 1) / 2 for r in range(len(rows))])
    ax.set_yticklabels([label for label, _ in rows], fontsize=8)
    ax.set_xlim(-3, mosaic.shape[1] + 2)  # room for the red frames at the edges
    ax.set_ylim(mosaic.shape[0] + 2, -3)
    ax.tick_params(length=0)
    ax.xaxis.tick_top()
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title, pad=28)
    fig.tight_layout()
    return fig
