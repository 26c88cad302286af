"""Other ways to run the model's dominant convolution, timed against the direct one.

The fast ConvLSTM spends ~70 % of a training step in convolutions that oneDNN already runs
near this CPU's peak (benchmarks/train_step.py, column "conv share"). Going faster than the
direct fp32 convolution needs either fewer multiplies (Winograd) or cheaper ones (bfloat16 on
the AMX units). This script measures both for the largest convolution of the paper's best
configuration, layers 2-4 at t >= 2: concat([X_t, H_{t-1}]) with 142 channels -> 4 x 71 gates,
batch 32, 36 x 36, 3 x 3, "same" padding; and reports each one's error against a float64
reference, to set against the 1e-4 agreement that train_step.py requires.

    direct fp32        F.conv2d, channels_last (what the model runs)
    winograd F(4,3)    F(4x4, 3x3) Winograd in fp32: 36 batched matrix products instead of 9
                       taps per output, i.e. 4x fewer multiplies; input, filter and output
                       transforms as matrix products (Lavin & Gray 2016)
    fpmath bf16        fp32 tensors, oneDNN allowed to compute in bfloat16 internally
                       (torch.backends.mkldnn.conv.fp32_precision = "bf16")
    bf16 tensors       the convolution on bfloat16 tensors (AMX tiles where the CPU has them)

    .venv/bin/python benchmarks/conv_alternatives.py [--repeats 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

# Winograd F(4x4, 3x3) with interpolation points 0, +-1, +-2, infinity:
#   Y = A^T [ (G g G^T) . (B^T d B) ] A   for a 6x6 input tile d and a 3x3 filter g.
_BT = torch.tensor(
    [
        [4, 0, -5, 0, 1, 0],
        [0, -4, -4, 1, 1, 0],
        [0, 4, -4, -1, 1, 0],
        [0, -2, -1, 2, 1, 0],
        [0, 2, -1, -2, 1, 0],
        [0, 4, 0, -5, 0, 1],
    ],
    dtype=torch.float64,
)
_G = torch.tensor(
    [
        [1 / 4, 0, 0],
        [-1 / 6, -1 / 6, -1 / 6],
        [-1 / 6, 1 / 6, -1 / 6],
        [1 / 24, 1 / 12, 1 / 6],
        [1 / 24, -1 / 12, 1 / 6],
        [0, 0, 1],
    ],
    dtype=torch.float64,
)
_AT = torch.tensor(
    [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
    dtype=torch.float64,
)
# The 2-D transforms as one matrix each, acting on a tile flattened row by row.
_INPUT_T = torch.kron(_BT, _BT).float()  # (36, 36)
_FILTER_T = torch.kron(_G, _G).float()  # (36, 9)
_OUTPUT_T = torch.kron(_AT, _AT).float()  # (16, 36)


def winograd_conv3x3(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """F.conv2d(x, w, b, padding=1) for 3x3 filters by Winograd F(4x4, 3x3), in x's dtype.

    x (B, C, H, W) with H and W multiples of 4, w (K, C, 3, 3) -> (B, K, H, W), channels_last.
    """
    bsz, cin, hgt, wid = x.shape
    cout = w.shape[0]
    if w.shape[1:] != (cin, 3, 3) or hgt % 4 or wid % 4:
        raise ValueError(
            "winograd_conv3x3: needs 3x3 filters over x's channels and H, W multiples of 4, "
            f"got x {tuple(x.shape)}, w {tuple(w.shape)}"
        )
    th, tw = hgt // 4, wid // 4
    padded = F.pad(x, (1, 1, 1, 1)).permute(0, 2, 3, 1).contiguous()  # (B, H+2, W+2, C)
    s_b, s_h, s_w, _ = padded.stride()
    # Overlapping 6x6 input tiles every 4 pixels, as (36 tile positions, B * th * tw * C).
    tiles = padded.as_strided((6, 6, bsz, th, tw, cin), (s_h, s_w, s_b, 4 * s_h, 4 * s_w, 1))
    tiles = tiles.reshape(36, -1)
    n_tiles = bsz * th * tw
    v = (_INPUT_T.to(x.dtype) @ tiles).view(36, n_tiles, cin)
    u = (_FILTER_T.to(x.dtype) @ w.reshape(cout * cin, 9).t()).view(36, cout, cin).transpose(1, 2)
    m = torch.bmm(v, u)  # (36, tiles, K): one matrix product per tile position
    y = (_OUTPUT_T.to(x.dtype) @ m.view(36, -1)).view(4, 4, bsz, th, tw, cout)
    out = y.permute(2, 3, 0, 4, 1, 5).reshape(bsz, hgt, wid, cout)  # a copy: safe to add in place
    if b is not None:
        out.add_(b)
    return out.permute(0, 3, 1, 2)


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(repeats: int = 7, batch: int = 32, cin: int = 142, cout: int = 284, size: int = 36) -> list[dict]:
    torch.manual_seed(0)
    x = torch.randn(batch, cin, size, size).contiguous(memory_format=torch.channels_last)
    w = (torch.randn(cout, cin, 3, 3) / (9 * cin) ** 0.5).contiguous(memory_format=torch.channels_last)
    b = torch.randn(cout)
    reference = F.conv2d(x.double(), w.double(), b.double(), padding=1)
    flops = 2.0 * batch * size * size * cout * cin * 9
    xb, wb, bb = x.bfloat16(), w.bfloat16(), b.bfloat16()

    def fpmath_bf16():
        previous = torch.backends.mkldnn.conv.fp32_precision
        torch.backends.mkldnn.conv.fp32_precision = "bf16"
        try:
            return F.conv2d(x, w, b, padding=1)
        finally:
            torch.backends.mkldnn.conv.fp32_precision = previous

    candidates = {
        "direct fp32": lambda: F.conv2d(x, w, b, padding=1),
        "winograd F(4,3) fp32": lambda: winograd_conv3x3(x, w, b),
        "fpmath bf16": fpmath_bf16,
        "bf16 tensors": lambda: F.conv2d(xb, wb, bb, padding=1),
    }
    rows = []
    for name, fn in candidates.items():
        seconds = _median_seconds(fn, repeats)
        error = float((fn().double() - reference).abs().max())
        rows.append(
            {"name": name, "ms": seconds * 1e3, "gflops": flops / seconds / 1e9, "max_abs_error": error}
        )
    direct_ms = rows[0]["ms"]
    for row in rows:
        row["speedup"] = direct_ms / row["ms"]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per candidate (median reported)")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of the table")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats: must be >= 1, got {args.repeats}")
    rows = measure(args.repeats)
    if args.json:
        print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}))
        return 0
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; 3x3 convolution 142 -> 284 "
        f"channels, batch 32, 36x36; error = max |y - float64 reference| (|y| up to ~7)"
    )
    print(f"{'candidate':<22} {'ms':>8} {'GFLOP/s':>9} {'vs direct':>10} {'max error':>10}")
    for r in rows:
        print(
            f"{r['name']:<22} {r['ms']:>8.1f} {r['gflops']:>9.0f} {r['speedup']:>9.2f}x "
            f"{r['max_abs_error']:>10.1e}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
