"""What notebooks 01 and 02 show (convlstm_lib/report/views_data.py), on the smoke profile's data."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from convlstm_lib import paths  # noqa: E402
from convlstm_lib.config import get_profile  # noqa: E402
from convlstm_lib.data import calibration, sources  # noqa: E402
from convlstm_lib.data.course_io import TEST_FRAMES  # noqa: E402
from convlstm_lib.report import results, views_data  # noqa: E402
from convlstm_lib.report.text import Prose  # noqa: E402


@pytest.fixture
def raw(project_dirs):
    return sources.load_raw(get_profile("smoke"), progress=False)


def test_a_figure_is_saved_under_its_report_name_and_returned_closed(raw):
    import matplotlib.pyplot as plt

    fig = views_data.figure3(raw, "smoke")
    assert not plt.fignum_exists(fig.number)  # shown once, as the cell's result
    saved = sorted(p.name for p in paths.figures_dir("smoke").iterdir())
    assert saved == ["fig3_sequences.png", "fig3_sequences.svg"]


def test_the_overview_counts_training_and_test_rows_per_set(raw):
    cells = dict(zip(views_data.raw_overview(raw).frame.columns, views_data.raw_overview(raw).cells()[0],
                     strict=True))
    n6 = raw.n6.shape[0]
    assert cells["sequences"] == str(n6)
    assert cells["training images (CSV rows)"] == str(n6 * (raw.n6.shape[1] - len(TEST_FRAMES)))
    assert cells["test images (CSV rows)"] == str(n6 * len(TEST_FRAMES))


def test_the_copy_last_table_leaves_out_the_jump_sequences(raw):
    frame = views_data.copy_last_table(raw).frame
    assert len(frame) == 2 * len(TEST_FRAMES)
    row = frame.iloc[0]
    jumps = np.asarray(raw.truth_n6["outlier_transitions"], bool)[:, TEST_FRAMES[0] - 1]
    assert row["sequences with an outlier there"] == jumps.sum()
    expected = calibration.significant(calibration.copy_last_mse(raw.n6[~jumps], TEST_FRAMES[0]))
    assert row["without them"] == expected


def test_course_data_get_a_sentence_where_ground_truth_is_needed(raw):
    course = sources.RawData(raw.n6, raw.n3, "course", None, None, raw.directory)
    assert isinstance(views_data.clean_vs_noisy(course, "smoke"), Prose)
    assert views_data.signal_at_test_frames(course) == "" and views_data.copy_last_spread(course) is None
    assert views_data.outlier_example(course, "smoke") is None
    assert "injected" not in views_data.outlier_counts(course)["N6"]


def test_the_data_section_fits_the_schema_and_scores_the_outlier_rule(raw):
    table = calibration.compare(calibration.measure(raw.n6, n3=raw.n3))
    counts = views_data.outlier_counts(raw)
    section = results.parse_section("data", results.data_section(raw, table, counts))
    assert section.calibration_quantities == len(calibration.REAL_FIGURES) == len(section.calibration)
    assert section.outliers["N6"]["transitions"] == raw.n6.shape[0] * (raw.n6.shape[1] - 1)
    assert section.generator_config is not None and section.source == "generated"


def test_the_outlier_table_names_the_transitions_left_out_and_scores_the_examined_ones(raw):
    from convlstm_lib.data.datasets import prepare_datasets

    ds = prepare_datasets(get_profile("smoke"), progress=False)
    cells = dict(views_data.outliers_found_table(ds).frame.itertuples(index=False))
    n6 = raw.n6.shape[0]
    assert cells["transitions left out (they touch a test frame)"] == f"{3 * n6} (3 -> 4, 4 -> 5, 15 -> 16)"
    assert cells["transitions examined"] == 12 * n6
    truth = np.asarray(raw.truth_n6["outlier_transitions"], bool)[:, ds.outliers.examined]
    assert cells["injected outlier transitions (examined)"] == truth.sum()
    fig = views_data.outliers_pca_figure(ds, raw, "smoke")
    assert len(fig.axes[0].collections[0].get_offsets()) == 12 * n6 - ds.outliers.n_flagged
