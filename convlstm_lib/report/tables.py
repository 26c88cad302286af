"""Tables as a reader sees them: one helper, `for_reader`, used by every table the notebooks show.

    display(tables.for_reader(frame, labels={"n6_test_mse": "N6 MSE"}, note="..."))

What it does to a pandas DataFrame (the data are not changed, only how they print):

* no index column (a meaningful index is turned into the first column);
* human column names: `labels` first, then `COLUMN_LABELS` (the project's metric and parameter
  names), then snake_case turned into words (`batch_size` -> `batch size`);
* integers as integers (also float columns that hold only whole numbers, e.g. counts read back
  from a CSV as `6000.0`), other numbers to 3 significant figures, values under 1e-2 or over
  1e5 in scientific notation (`3.69e-06`);
* missing values (NA, NaN, None) shown as `MISSING` ("-"), with a note under the table saying
  what a dash means (`missing_note`, default `MISSING_NOTE`).

Returns a `ReaderTable`, which Jupyter (and so the report) shows as one HTML block: caption,
table, note; the cells of number columns carry the class `NUMBER_CLASS`, which the report keeps
on one line. Tables wider than `WIDE_COLUMNS` columns are marked `wide` (the report prints
them on a landscape page).
"""
from __future__ import annotations

import html
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

MISSING = "-"
MISSING_NOTE = "A dash (-) marks a value that does not exist for that row."
SIGNIFICANT = 3
WIDE_COLUMNS = 9  # tables with more columns are printed on a landscape page
NUMBER_CLASS = "num"  # the class of a number column's cells (the report's style keeps them on one line)

# The project's column names as a reader should read them (metric keys, sweep parameters).
COLUMN_LABELS: dict[str, str] = {
    "number": "trial", "trial": "trial", "dataset": "training set", "training_set": "training set",
    "lr": "learning rate", "batch_size": "batch size", "epochs_run": "epochs",
    "runtime_s": "run time (s)", "seconds_per_epoch": "seconds per epoch",
    "n6_test_mse": "N6 MSE", "n6_test_psnr": "N6 PSNR (dB)", "n6_test_ssim": "N6 SSIM",
    "n6_test_clean_mse": "N6 clean MSE", "n3_mse": "N3 MSE", "n3_psnr": "N3 PSNR (dB)",
    "n3_ssim": "N3 SSIM", "n3_clean_mse": "N3 clean MSE",
    "n6_test_paper_loss": "N6 paper loss", "n3_paper_loss": "N3 paper loss",
}


def human_label(name: object) -> str:
    """`COLUMN_LABELS[name]`, else snake_case as words: `time_saved_s` -> `time saved s`."""
    text = str(name)
    return COLUMN_LABELS.get(text, text.replace("_", " "))


def format_number(value: object) -> str:
    """One cell: integers as integers, reals to 3 significant figures, missing as `MISSING`.

    `6000.0` -> `6000`; `0.0012893` -> `1.29e-03`; `31.18` -> `31.2`; `0.8474` -> `0.847`;
    `nan`/`None`/`pd.NA` -> `-`; strings and booleans as they are.
    """
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    x = float(value)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    if abs(x) < 1e-2 or abs(x) >= 1e5:
        return f"{x:.{SIGNIFICANT - 1}e}"
    return f"{x:#.{SIGNIFICANT}g}".rstrip(".") if abs(x) < 10 ** SIGNIFICANT else f"{x:.0f}"


def _whole(series: pd.Series) -> bool:
    """A float column whose every present value is a whole number (a count stored as float)."""
    present = series.dropna()
    if not len(present) or not pd.api.types.is_float_dtype(series):
        return False
    return bool(((present % 1) == 0).all()) and bool((present.abs() < 2 ** 53).all())


def for_reader(
    frame: pd.DataFrame,
    labels: Mapping[str, str] | None = None,
    *,
    caption: str | None = None,
    note: str | None = None,
    missing_note: str = MISSING_NOTE,
    index: bool | str = "auto",
) -> ReaderTable:
    """`frame` formatted for a reader (module docstring). Columns keep their order.

    `index`: True keeps the index as a first column (named by its name, or `labels[""]`),
    False drops it, "auto" keeps it only when it is named or not integers (row numbers, even
    reordered by a sort, are dropped).
    `note` is printed under the table; `missing_note` is added when any cell is missing.
    """
    frame = pd.DataFrame(frame)
    # "auto": an index means something when it is named or not a row number (e.g. after sorting)
    meaningful = frame.index.name is not None or not pd.api.types.is_integer_dtype(frame.index)
    keep_index = meaningful if index == "auto" else bool(index)
    if keep_index:
        name = frame.index.name if frame.index.name is not None else (labels or {}).get("", "")
        frame = frame.reset_index(names=[name or " "])
    else:
        frame = frame.reset_index(drop=True)
    for col in frame.columns:
        if _whole(frame[col]):
            frame[col] = frame[col].astype("Int64")
    names = {**{c: human_label(c) for c in frame.columns}, **dict(labels or {})}
    frame = frame.rename(columns={c: names.get(c, human_label(c)) for c in frame.columns})
    notes = [note] if note else []
    if frame.isna().to_numpy().any():
        notes.append(missing_note)
    return ReaderTable(frame=frame, caption=caption, note=" ".join(notes))


@dataclass(frozen=True)
class ReaderTable:
    """A formatted table: `frame` (reader's column names, data untouched), its caption and note.

    Displays in Jupyter (and so in the report) as `<figure class="table">`: the caption above,
    the table, the note below, one block that page breaks do not split from its caption.
    """

    frame: pd.DataFrame
    caption: str | None = None
    note: str = ""

    def to_html(self) -> str:
        styler = self.frame.style.format(format_number).hide(axis="index")
        numeric = [c for c in self.frame.columns if _is_number_column(self.frame[c])]
        if numeric:
            # a number printed over two lines ("1.08e-" / "03") misreads: its cells never wrap
            classes = pd.DataFrame("", index=self.frame.index, columns=self.frame.columns)
            classes[numeric] = NUMBER_CLASS
            styler = styler.set_td_classes(classes)
        table = styler.to_html()
        head = f"<figcaption>{_escape(self.caption)}</figcaption>" if self.caption else ""
        foot = f'<p class="table-note">{_escape(self.note)}</p>' if self.note else ""
        wide = " wide" if len(self.frame.columns) > WIDE_COLUMNS else ""
        return f'<figure class="table{wide}">{head}{table}{foot}</figure>'

    def _repr_html_(self) -> str:
        return self.to_html()

    def cells(self) -> list[list[str]]:
        """Every body cell as printed (row-major), for checks."""
        return [[format_number(v) for v in row] for row in self.frame.itertuples(index=False)]


def _is_number_column(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _escape(text: str | None) -> str:
    return html.escape(text or "", quote=False)
