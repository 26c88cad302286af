import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from convlstm_lib import paths  # noqa: E402
from convlstm_lib.report import figures


def test_save_figure_writes_png_and_svg_under_the_profiles_runs(project_dirs):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    written = figures.save_figure(fig, "fig3_sequences", "smoke")
    plt.close(fig)
    assert [p.name for p in written] == ["fig3_sequences.png", "fig3_sequences.svg"]
    assert all(p.parent == paths.figures_dir("smoke") == project_dirs / "runs" / "smoke" / "figures"
               for p in written)
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in written[1].read_text()[:2000]


def test_show_sequences_tiles_rows_with_gaps_one_scale_and_red_test_frames():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 100, (16, 36, 36)), rng.uniform(-20, 250, (16, 36, 36))
    fig = figures.show_sequences([("N6 #0", a), ("N3 #0", b)], "two sequences")
    ax = fig.axes[0]
    image = ax.get_images()[0]
    mosaic = image.get_array()
    gap = figures.SEQUENCE_GAP
    assert mosaic.shape == (2 * 36 + gap, 16 * 36 + 15 * gap)
    np.testing.assert_array_equal(mosaic[36 + gap : 2 * 36 + gap, 3 * (36 + gap) : 3 * (36 + gap) + 36], b[3])
    assert mosaic.mask[36:36 + gap].all()  # white (masked) gap between the rows
    assert image.get_clim() == (pytest.approx(b.min()), pytest.approx(b.max()))  # one scale for both rows
    assert [t.get_text() for t in ax.get_yticklabels()] == ["N6 #0", "N3 #0"]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[3] == "4\ntest" and labels[15] == "16\ntest" and labels[0] == "1"
    red = [p for p in ax.patches if p.get_edgecolor()[:3] == matplotlib.colors.to_rgb("tab:red")]
    assert len(red) == 4  # frames 4 and 16 of each row
    assert ax.get_title() == "two sequences"
    plt.close(fig)


def test_show_sequences_rejects_rows_of_other_shapes():
    with pytest.raises(ValueError, match="'b' has shape"):
        figures.show_sequences([("a", np.zeros((16, 36, 36))), ("b", np.zeros((16, 30, 36)))], "x")
    with pytest.raises(ValueError, match="rows"):
        figures.show_sequences([], "x")
