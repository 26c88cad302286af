import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from convlstm_lib import figures, paths  # noqa: E402


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
