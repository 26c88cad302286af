"""paper: the paper's Table 1 and its loss convention converted back to per-pixel MSE."""
from __future__ import annotations

import numpy as np
import pytest

from convlstm_lib.experiments import paper
from convlstm_lib.training import metrics


def test_paper_conversion_full_batches_matches_the_spec():
    denoised = next(r for r in paper.PAPER_TABLE1 if r.training_set == "denoised")
    assert denoised.batch_size == 254
    assert denoised.n6_mse_full_batches == pytest.approx(9.37e-4, rel=1e-3)
    # Exact conversion on 800 windows at 254: ceil(800/254) = 4 batches -> 3.69e-6 * 800 / 4.
    assert denoised.n6_mse == pytest.approx(3.69e-6 * 200)
    assert denoised.n3_mse == pytest.approx(4.32e-6 * 1400 / 6)


def test_paper_loss_to_per_pixel_inverts_metrics_paper_loss():
    rng = np.random.default_rng(0)
    pred, target = rng.random((50, 6, 6)), rng.random((50, 6, 6))
    # Equal per-image errors make every batch mean the same, so the inversion is exact.
    target = pred + 0.1
    loss = metrics.paper_loss(pred, target, batch_size=16)
    assert paper.paper_loss_to_per_pixel(loss, 16, 50) == pytest.approx(metrics.mse(pred, target))
    with pytest.raises(ValueError, match="batch_size"):
        paper.paper_loss_to_per_pixel(1.0, 0, 10)


def test_paper_table1_has_the_four_rows_of_the_paper():
    table = paper.paper_table1()
    assert list(table["training_set"]) == ["base", "denoised", "cleaned", "processed"]
    assert list(table["batch_size"]) == [224, 254, 214, 216]
    assert list(table["optimizer"]) == ["RAdam", "Adamax", "Adamax", "Adam"]
    assert table.loc[0, "n6_loss"] == 4.69e-6 and table.loc[3, "n3_loss"] == 5.57e-6
    assert np.allclose(table["n6_mse_full_batches"], table["n6_loss"] * table["batch_size"])
    assert paper.PAPER_BEST.kernels == 71
