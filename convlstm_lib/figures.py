"""Saving figures: every notebook figure lands as PNG and SVG under runs/<profile>/figures/.

`run_all.py` copies that folder next to the rendered report (report/figures/).
"""
from __future__ import annotations

from pathlib import Path

from . import paths
from .atomic import atomic_path


def save_figure(fig, name: str, profile: str, dpi: int = 120) -> list[Path]:
    """Write `fig` as `<name>.png` and `<name>.svg`; return both paths."""
    out = []
    for ext in ("png", "svg"):
        target = paths.figures_dir(profile) / f"{name}.{ext}"
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=ext, dpi=dpi, bbox_inches="tight")
        out.append(target)
    return out
