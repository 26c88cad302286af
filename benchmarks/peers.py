"""Training-step speed beside a peer: the library's ConvLSTM vs ndrplz/ConvLSTM_pytorch's design.

ndrplz/ConvLSTM_pytorch (github.com/ndrplz/ConvLSTM_pytorch, `convlstm.py`) is the most
used PyTorch ConvLSTM. Its design, written out here (`PeerConvLSTMCell`), differs from the
paper's Equation 2 in two ways: no peepholes (the gates see X_t and H_{t-1} only), and one
convolution over concat([X_t, H_{t-1}]) per step for all four gates, from an explicit zero
state at t = 1; each layer stacks its hidden states with torch.stack and the next layer
indexes them back out; default (NCHW) layout. The benchmark wraps both cells in the same
stack (batch norm between layers, output activation, output convolution) so that only the
cells differ, times one training step (zero_grad, forward, MSE, backward, Adam) of each,
interleaved after warm-up, and prints the median samples/s and the ratio.

The peer computes less than Equation 2 (no peepholes), so a ratio near 1 means the fast
path pays for the peepholes and more.

    .venv/bin/python benchmarks/peers.py [--repeats 7] [--threads N] [--batch 32] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import check_at_least, interleaved_step_times  # noqa: E402
from convlstm_lib.models.build import build_model  # noqa: E402
from convlstm_lib.models.settings import ModelConfig  # noqa: E402


class PeerConvLSTMCell(nn.Module):
    """ndrplz/ConvLSTM_pytorch's cell: one convolution over concat([x, h]), gates i, f, o, g."""

    def __init__(self, in_channels: int, hidden: int, kernel_size: int):
        super().__init__()
        self.hidden = hidden
        self.conv = nn.Conv2d(in_channels + hidden, 4 * hidden, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cc_i, cc_f, cc_o, cc_g = torch.split(self.conv(torch.cat([x, h], dim=1)), self.hidden, dim=1)
        i, f, o, g = torch.sigmoid(cc_i), torch.sigmoid(cc_f), torch.sigmoid(cc_o), torch.tanh(cc_g)
        c = f * c + i * g
        return o * torch.tanh(c), c


class PeerModel(nn.Module):
    """The peer's cells in the library's stack: x (B, T, C_in, H, W) -> (B, 1, H, W)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        k = config.kernels
        self.cells = nn.ModuleList(
            PeerConvLSTMCell(config.in_channels if layer == 0 else k, k, config.kernel_size)
            for layer in range(config.layers)
        )
        self.norms = nn.ModuleList(nn.BatchNorm2d(k) for _ in range(config.layers - 1))
        self.activation = torch.relu if config.activation == "relu" else torch.tanh
        self.head = nn.Conv2d(k, 1, config.kernel_size, padding=config.kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer, cell in enumerate(self.cells):
            b, t, _, hgt, wid = x.shape
            h = x.new_zeros(b, cell.hidden, hgt, wid)
            c = x.new_zeros(b, cell.hidden, hgt, wid)
            outputs = []
            for step in range(t):
                h, c = cell(x[:, step], h, c)
                outputs.append(h)
            x = torch.stack(outputs, dim=1)
            if layer < len(self.norms):
                x = self.norms[layer](x.flatten(0, 1)).view(x.shape)
        return self.head(self.activation(x[:, -1]))


def benchmark(config: ModelConfig, batch: int, repeats: int, warmup: int = 2, seed: int = 0) -> dict:
    """Interleaved median step times of the library model and the peer, same input."""
    torch.manual_seed(seed)
    nets = {"library": build_model(config), "peer": PeerModel(config)}
    opts = {name: torch.optim.Adam(net.parameters(), 1e-3) for name, net in nets.items()}
    x = torch.rand(batch, 2, config.in_channels, config.height, config.width)
    y = torch.rand(batch, 1, config.height, config.width)
    times = interleaved_step_times(nets, opts, x, y, warmup, repeats)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "config": {**config.to_dict(), "batch_size": batch},
        "library_samples_per_s": batch / med["library"],
        "peer_samples_per_s": batch / med["peer"],
        "ratio": med["peer"] / med["library"],
        "library_params": sum(p.numel() for p in nets["library"].parameters()),
        "peer_params": sum(p.numel() for p in nets["peer"].parameters()),
        "repeats": repeats,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed steps per model (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--batch", type=int, default=32, help="batch size (default the paper's best, 32)")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of the table")
    args = parser.parse_args(argv)
    check_at_least(
        parser, ("repeats", args.repeats, 1), ("warmup", args.warmup, 0), ("threads", args.threads, 0),
        ("batch", args.batch, 1),
    )
    if args.threads:
        torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    result = benchmark(
        ModelConfig(layers=4, kernels=71, activation="relu"), args.batch, args.repeats, args.warmup
    )
    result["environment"] = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "load_avg_1min": [round(load, 2), round(os.getloadavg()[0], 2)],
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"paper's best ConvLSTM (4 x 71, relu, batch {args.batch}); torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, load {load:.2f}; median of {args.repeats} interleaved steps"
    )
    print(
        f"  library (Equation 2, peepholes, fused): {result['library_samples_per_s']:8.2f} samples/s, "
        f"{result['library_params']:,} parameters"
    )
    print(
        f"  ndrplz design (no peepholes):           {result['peer_samples_per_s']:8.2f} samples/s, "
        f"{result['peer_params']:,} parameters"
    )
    print(f"  library / peer speed: {result['ratio']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
