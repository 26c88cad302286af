"""The progress bar every stage draws: a widget in JupyterLab, text in a terminal.

`tqdm.auto` draws an ipywidgets bar inside a Jupyter kernel and a text bar anywhere else. A
kernel whose environment sets PROGRESS_ENV to "text" draws text bars too: run_all.py's kernels
do, because an executed notebook keeps a widget's output without its state, and the report
shows text bars' stderr nowhere. Any other value (or none) leaves the choice to `tqdm.auto`.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

PROGRESS_ENV = "CONVLSTM_PROGRESS"
TEXT = "text"


def bar_class(environ: Mapping[str, str] = os.environ) -> type:
    """The tqdm class for this process: text bars when PROGRESS_ENV says "text", else `tqdm.auto`'s."""
    if environ.get(PROGRESS_ENV, "").strip().lower() == TEXT:
        from tqdm.std import tqdm as text_bar

        return text_bar
    from tqdm.auto import tqdm as auto_bar

    return auto_bar


tqdm = bar_class()
