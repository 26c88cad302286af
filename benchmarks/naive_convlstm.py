"""A straightforward implementation of the paper's Equation 2: the yardstick for model.py.

Written the way Equation 2 reads, with none of model.py's shortcuts: the state starts at
zero and every step of every layer runs ONE convolution over concat([X_t, H_{t-1}]) for all
four gates (in the paper's order i, f, c, o), peepholes included even where C is zero, the
layer's gate inputs sliced out of that one tensor, default (NCHW) memory layout.

`NaiveConvLSTM.from_model(model)` builds one with exactly the parameters of a
`convlstm_lib.model.ConvLSTM`, so both must give the same numbers (benchmarks/train_step.py
and tests/test_model.py check that).

Shapes: input (B, T, C_in, H, W) -> predicted frame (B, 1, H, W).
"""

from __future__ import annotations

import torch
from torch import nn

from convlstm_lib.model import ConvLSTM, ModelConfig

# model.py keeps its gate blocks in the order i, c, o, f; the paper's order is i, f, c, o.
_PAPER_FROM_MODEL = (0, 3, 1, 2)


class NaiveCell(nn.Module):
    """Equation 2 with one convolution W * concat([X_t, H_{t-1}]) + b per step."""

    def __init__(self, in_channels: int, hidden: int, kernel_size: int, height: int, width: int):
        super().__init__()
        self.hidden = hidden
        self.conv = nn.Conv2d(in_channels + hidden, 4 * hidden, kernel_size, padding=kernel_size // 2)
        self.w_ci = nn.Parameter(torch.zeros(hidden, height, width))
        self.w_cf = nn.Parameter(torch.zeros(hidden, height, width))
        self.w_co = nn.Parameter(torch.zeros(hidden, height, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C_in, H, W) -> hidden sequence (B, T, C, H, W)."""
        b, t, _, hgt, wid = x.shape
        h = x.new_zeros(b, self.hidden, hgt, wid)
        c = x.new_zeros(b, self.hidden, hgt, wid)
        outputs = []
        for step in range(t):
            z = self.conv(torch.cat([x[:, step], h], dim=1))
            zi, zf, zc, zo = torch.split(z, self.hidden, dim=1)
            i = torch.sigmoid(zi + self.w_ci * c)
            f = torch.sigmoid(zf + self.w_cf * c)
            c = f * c + i * torch.tanh(zc)
            o = torch.sigmoid(zo + self.w_co * c)
            h = o * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs, dim=1)


class NaiveConvLSTM(nn.Module):
    """Same architecture as model.ConvLSTM: cells, BatchNorm2d between layers, activation, head."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        k = config.kernels
        self.cells = nn.ModuleList(
            NaiveCell(
                config.in_channels if layer == 0 else k, k, config.kernel_size, config.height, config.width
            )
            for layer in range(config.layers)
        )
        self.norms = nn.ModuleList(nn.BatchNorm2d(k) for _ in range(config.layers - 1))
        self.head = nn.Conv2d(k, 1, config.kernel_size, padding=config.kernel_size // 2)
        self.activation = torch.relu if config.activation == "relu" else torch.tanh

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C_in, H, W) -> (B, 1, H, W)."""
        for layer, cell in enumerate(self.cells):
            x = cell(x)
            if layer < len(self.norms):
                b, t = x.shape[:2]
                x = self.norms[layer](x.reshape(b * t, *x.shape[2:])).reshape(x.shape)
        return self.head(self.activation(x[:, -1]))

    @classmethod
    def from_model(cls, model: ConvLSTM) -> NaiveConvLSTM:
        """A naive model holding exactly `model`'s parameters and batch-norm statistics."""
        naive = cls(model.config)
        k = model.config.kernels
        with torch.no_grad():
            for mine, theirs in zip(naive.cells, model.cells, strict=True):
                w = torch.cat([theirs.conv_x.weight, theirs.conv_h.weight], dim=1)  # (4C, C_in + C, k, k)
                blocks_w, blocks_b = w.split(k, dim=0), theirs.conv_x.bias.split(k)
                mine.conv.weight.copy_(torch.cat([blocks_w[j] for j in _PAPER_FROM_MODEL]))
                mine.conv.bias.copy_(torch.cat([blocks_b[j] for j in _PAPER_FROM_MODEL]))
                for name in ("w_ci", "w_cf", "w_co"):
                    getattr(mine, name).copy_(getattr(theirs, name))
            naive.norms.load_state_dict(model.norms.state_dict())
            naive.head.weight.copy_(model.head.weight)
            naive.head.bias.copy_(model.head.bias)
        # NCHW, as a straightforward implementation has it (copy_ kept model's channels_last).
        for p in naive.parameters():
            p.data = p.data.contiguous()
        return naive.train(model.training)

    def gradients_as_model(self, model: ConvLSTM) -> dict[str, torch.Tensor]:
        """This model's parameter gradients, renamed and reordered to `model`'s parameters."""
        k = model.config.kernels
        out: dict[str, torch.Tensor] = {}
        inverse = [_PAPER_FROM_MODEL.index(j) for j in range(4)]  # model block j <- paper block
        for idx, (mine, theirs) in enumerate(zip(self.cells, model.cells, strict=True)):
            gw = mine.conv.weight.grad.split(k, dim=0)
            gw = torch.cat([gw[inverse[j]] for j in range(4)])
            gb = mine.conv.bias.grad.split(k)
            cin = theirs.conv_x.in_channels
            out[f"cells.{idx}.conv_x.weight"] = gw[:, :cin]
            out[f"cells.{idx}.conv_h.weight"] = gw[:, cin:]
            out[f"cells.{idx}.conv_x.bias"] = torch.cat([gb[inverse[j]] for j in range(4)])
            for name in ("w_ci", "w_cf", "w_co"):
                out[f"cells.{idx}.{name}"] = getattr(mine, name).grad
        for name, p in self.norms.named_parameters():
            out[f"norms.{name}"] = p.grad
        out["head.weight"], out["head.bias"] = self.head.weight.grad, self.head.bias.grad
        return out


def _check(config: ModelConfig | None = None) -> float:
    """Max |difference| of outputs between model.ConvLSTM and this, same weights (train mode)."""
    torch.manual_seed(0)
    model = ConvLSTM(config or ModelConfig(layers=2, kernels=8))
    naive = NaiveConvLSTM.from_model(model)
    x = torch.rand(4, 2, 1, model.config.height, model.config.width)
    return float((model(x) - naive(x)).abs().max())


if __name__ == "__main__":
    print(f"max |fast - naive| = {_check():.3e}")
