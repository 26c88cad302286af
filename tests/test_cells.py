"""The reference cells (models/cells.py): each step is its equation computed by hand."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from test_stack import small_model  # tests/ is on sys.path (pytest prepend import mode)

from convlstm_lib.models import cells
from convlstm_lib.models.build import count_parameters


def test_reference_convlstm_cell_is_equation_2_by_hand():
    """One step from a given state, computed from the equation with plain tensor ops."""
    torch.manual_seed(0)
    cell = cells.ConvLSTMCell(2, 3, 3, 5, 5)
    x, h, c = torch.randn(1, 2, 5, 5), torch.randn(1, 3, 5, 5), torch.randn(1, 3, 5, 5)
    z = F.conv2d(x, cell.conv_x.weight, cell.conv_x.bias, padding=1)
    z = z + F.conv2d(h, cell.conv_h.weight, padding=1)
    zi, zc, zo, zf = z[:, 0:3], z[:, 3:6], z[:, 6:9], z[:, 9:12]
    i, f = torch.sigmoid(zi + cell.w_ci * c), torch.sigmoid(zf + cell.w_cf * c)
    c_new = f * c + i * torch.tanh(zc)
    h_new = torch.sigmoid(zo + cell.w_co * c_new) * torch.tanh(c_new)
    got_h, (_, got_c) = cell.step(x, (h, c))
    torch.testing.assert_close(got_h, h_new)
    torch.testing.assert_close(got_c, c_new)


def test_convgru_cell_is_its_equation_by_hand():
    torch.manual_seed(0)
    cell = cells.ConvGRUCell(2, 3, 3, 5, 5)
    x, h = torch.randn(1, 2, 5, 5), torch.randn(1, 3, 5, 5)
    gx = F.conv2d(x, cell.conv_x.weight, cell.conv_x.bias, padding=1)
    w = cell.conv_h.weight
    z = torch.sigmoid(gx[:, 0:3] + F.conv2d(h, w[0:3], padding=1))
    r = torch.sigmoid(gx[:, 3:6] + F.conv2d(h, w[3:6], padding=1))
    n = torch.tanh(gx[:, 6:9] + F.conv2d(r * h, w[6:9], padding=1))
    got, _ = cell.step(x, h)
    torch.testing.assert_close(got, (1 - z) * h + z * n)
    # t = 1 from H_0 = 0: the shortcut equals the full step on a zero state
    torch.testing.assert_close(cell.step(x, None)[0], cell.step(x, torch.zeros_like(h))[0])


def test_convrnn_cell_is_its_equation_by_hand():
    torch.manual_seed(0)
    cell = cells.ConvRNNCell(2, 3, 3, 5, 5)
    x, h = torch.randn(1, 2, 5, 5), torch.randn(1, 3, 5, 5)
    want = torch.tanh(F.conv2d(x, cell.conv_x.weight, cell.conv_x.bias, padding=1)
                      + F.conv2d(h, cell.conv_h.weight, padding=1))
    torch.testing.assert_close(cell.step(x, h)[0], want)
    torch.testing.assert_close(cell.step(x, None)[0], cell.step(x, torch.zeros_like(h))[0])


def test_cheaper_cells_have_fewer_parameters():
    kinds = ("convlstm", "convgru", "convrnn")
    sizes = {k: count_parameters(small_model(model=k, layers=2, kernels=8)) for k in kinds}
    assert sizes["convrnn"] < sizes["convgru"] < sizes["convlstm"]
