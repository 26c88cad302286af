"""tables.for_reader: what a reader sees of a DataFrame (numbers, names, missing values, index)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from convlstm_lib.report.tables import MISSING, MISSING_NOTE, WIDE_COLUMNS, for_reader, format_number


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (6000.0, "6000"),
        (6000, "6000"),
        (np.int64(12), "12"),
        (0.0012893, "1.29e-03"),
        (3.69e-6, "3.69e-06"),
        (31.18, "31.2"),
        (0.8474, "0.847"),
        (0.5, "0.500"),
        (0.05, "0.0500"),
        (123456.0, "1.23e+05"),
        (0.0, "0"),
        (math.nan, MISSING),
        (None, MISSING),
        (pd.NA, MISSING),
        (math.inf, "inf"),
        ("tanh", "tanh"),
        (True, "True"),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


def test_counts_stored_as_floats_print_as_integers_and_nan_as_a_dash_with_a_note():
    frame = pd.DataFrame(
        {
            "number": [3.0, 1.0],
            "batch_size": [41.0, np.nan],
            "n6_test_mse": [1.289e-3, np.nan],
            "dataset": ["denoised", "base"],
        }
    )
    table = for_reader(frame, caption="Trials")
    assert list(table.frame.columns) == ["trial", "batch size", "N6 MSE", "training set"]
    assert table.cells() == [["3", "41", "1.29e-03", "denoised"], ["1", MISSING, MISSING, "base"]]
    html = table.to_html()
    assert "<figcaption>Trials</figcaption>" in html and MISSING_NOTE in html
    assert "nan" not in html.lower() and "&lt;NA&gt;" not in html and "41.0" not in html
    assert "<th" in html and html.count('class="row_heading') == 0  # no index column


def test_index_is_kept_only_when_it_means_something():
    by_set = pd.DataFrame({"count": [2, 3]}, index=pd.Index(["base", "cleaned"], name="dataset"))
    assert list(for_reader(by_set).frame.columns) == ["training set", "count"]
    plain = pd.DataFrame({"a": [1, 2]})
    assert list(for_reader(plain).frame.columns) == ["a"]
    assert list(for_reader(by_set, index=False).frame.columns) == ["count"]
    assert list(for_reader(by_set.rename_axis(None), {"": "set"}).frame.columns) == ["set", "count"]


def test_labels_win_and_no_note_when_nothing_is_missing():
    table = for_reader(pd.DataFrame({"n3_mse": [0.5]}), {"n3_mse": "N3 error"})
    assert list(table.frame.columns) == ["N3 error"] and table.note == ""
    assert "table-note" not in table.to_html()


def test_wide_tables_are_marked_for_a_landscape_page():
    narrow = pd.DataFrame([[1] * WIDE_COLUMNS], columns=[f"c{i}" for i in range(WIDE_COLUMNS)])
    wide = pd.DataFrame([[1] * (WIDE_COLUMNS + 1)], columns=[f"c{i}" for i in range(WIDE_COLUMNS + 1)])
    assert 'class="table"' in for_reader(narrow).to_html()
    assert 'class="table wide"' in for_reader(wide).to_html()


def test_number_cells_are_marked_to_stay_on_one_line_and_the_report_style_keeps_them_so():
    import re

    from convlstm_lib.report.render import CSS
    from convlstm_lib.report.tables import NUMBER_CLASS

    frame = pd.DataFrame({"prediction": ["extrapolation from frames 2, 3"], "n6_test_mse": [1.08e-3],
                          "epochs": [3], "in course CSV": [True]})
    html_text = for_reader(frame).to_html()
    cells = re.findall(r'<td [^>]*class="([^"]*)"[^>]*>([^<]*)</td>', html_text)
    marked = {text for classes, text in cells if NUMBER_CLASS in classes.split()}
    assert marked == {"1.08e-03", "3"}  # not the words, not the boolean
    assert re.search(rf"td\.{NUMBER_CLASS}\s*\{{\s*white-space:\s*nowrap", CSS)
