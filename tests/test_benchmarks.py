"""The benchmarks' own contracts: agreement checks that can fail, the keys they report."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from convlstm_lib.models.build import build_model
from convlstm_lib.models.settings import ModelConfig


def test_speed_benchmark_checks_agreement_and_reports_the_contract_keys():
    from benchmarks import train_step

    result = train_step.benchmark(ModelConfig(layers=2, kernels=3), batch=2, repeats=1, warmup=0)
    for key in ("speedup", "samples_per_s", "naive_samples_per_s", "config"):
        assert key in result
    assert result["max_output_diff"] < 1e-4 and result["max_grad_rel_diff"] < 1e-4
    assert result["speedup"] == pytest.approx(result["samples_per_s"] / result["naive_samples_per_s"])
    assert result["config"]["batch_size"] == 2 and result["config"]["kernels"] == 3
    assert result["conv_s"] > 0
    assert result["speedup_bound"] == pytest.approx(result["naive_step_s"] / result["conv_s"])


def test_convolution_seconds_counts_only_convolutions():
    """The bound's denominator: a network without convolutions spends no time in them."""
    from benchmarks import train_step

    x, y = torch.rand(4, 2, 1, 36, 36), torch.rand(4, 1, 36, 36)
    no_conv = torch.nn.Sequential(torch.nn.Flatten(0, 1), torch.nn.Tanh(), torch.nn.Unflatten(0, (4, 2)))
    scale = torch.nn.Parameter(torch.ones(1))

    def net(inp):
        return no_conv(inp)[:, -1] * scale

    assert train_step.convolution_seconds(net, torch.optim.SGD([scale], 0.1), x, y, steps=1) == 0
    model = build_model(ModelConfig(layers=2, kernels=6))
    assert train_step.convolution_seconds(model, torch.optim.SGD(model.parameters(), 0.1), x, y, steps=1) > 0


def test_winograd_alternative_in_the_benchmarks_is_a_correct_convolution():
    """benchmarks/conv_alternatives.py times a Winograd F(4x4, 3x3) convolution: it must be one."""
    from benchmarks.conv_alternatives import winograd_conv3x3

    torch.manual_seed(0)
    x, w, b = torch.randn(2, 5, 8, 12), torch.randn(7, 5, 3, 3), torch.randn(7)
    torch.testing.assert_close(winograd_conv3x3(x, w, b), F.conv2d(x, w, b, padding=1), atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="multiples of 4"):
        winograd_conv3x3(torch.randn(1, 5, 6, 8), w)


def test_the_peer_design_is_a_convlstm_without_peepholes():
    """benchmarks/peers.py's ndrplz-style cell equals the library's ConvLSTM with zero peepholes."""
    from benchmarks.peers import PeerModel

    torch.manual_seed(0)
    config = ModelConfig(layers=2, kernels=3)
    ours, peer = build_model(config, fused=False), PeerModel(config)
    k = config.kernels
    with torch.no_grad():
        for mine, theirs in zip(ours.cells, peer.cells, strict=True):
            for name in ("w_ci", "w_cf", "w_co"):
                getattr(mine, name).zero_()
            w = torch.cat((mine.conv_x.weight, mine.conv_h.weight), dim=1).split(k)  # blocks i, c, o, f
            b = mine.conv_x.bias.split(k)
            order = (0, 3, 2, 1)  # the peer's blocks i, f, o, g
            theirs.conv.weight.copy_(torch.cat([w[j] for j in order]))
            theirs.conv.bias.copy_(torch.cat([b[j] for j in order]))
        peer.norms.load_state_dict(ours.norms.state_dict())
        peer.head.load_state_dict(ours.head.state_dict())
    x = torch.rand(2, 3, 1, 36, 36)
    torch.testing.assert_close(peer(x), ours(x), atol=1e-5, rtol=1e-4)


def test_peer_benchmark_reports_the_ratio_of_its_own_timings():
    from benchmarks import peers

    result = peers.benchmark(ModelConfig(layers=1, kernels=3), batch=2, repeats=1, warmup=0)
    assert result["ratio"] == pytest.approx(result["library_samples_per_s"] / result["peer_samples_per_s"])
    assert result["library_params"] > result["peer_params"]  # the peepholes


def test_bf16_qualifies_only_when_native_faster_and_as_accurate(monkeypatch):
    from benchmarks import precision as bench

    cpu = torch.device("cpu")
    good = {"step_speedup": 2.0, "bf16_qualifies": True}
    monkeypatch.setattr(bench, "native_bf16", lambda device: True)
    assert bench.qualifies(cpu, {"quick": good, "paper": {"step_speedup": 3.0}})
    assert not bench.qualifies(cpu, {"quick": {**good, "bf16_qualifies": False}})
    assert not bench.qualifies(cpu, {"quick": good, "paper": {"step_speedup": 0.5}})
    assert not bench.qualifies(cpu, {"paper": {"step_speedup": 3.0}})  # no trained comparison: no verdict
    monkeypatch.setattr(bench, "native_bf16", lambda device: False)
    assert not bench.qualifies(cpu, {"quick": good})


def test_corruption_benchmark_times_every_noise_kind_and_refuses_a_bad_count(capsys):
    import numpy as np

    from benchmarks import corruption as bench
    from convlstm_lib.data.corruption import NOISE_KINDS

    seconds = bench.seconds_per_level(np.zeros((4, 2, 8, 8), np.float32), levels=3, repeats=2)
    assert set(seconds) == set(NOISE_KINDS) and all(0 < s < 10 for s in seconds.values())
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--levels", "1"])
    assert exit_info.value.code == 2 and "--levels: must be >= 2" in capsys.readouterr().err


def test_protocol_rows_are_ratios_to_copy_last_on_the_same_windows():
    from benchmarks import protocol

    copy_last = {"val_mse": 4e-3, "n6_test_mse": 4e-3}
    row = protocol._row("m", {"val_mse": 2e-3, "n6_test_mse": 1e-3, "n3_mse": 5.0}, copy_last)
    assert row["val_mse_x_copy_last"] == pytest.approx(0.5)
    assert row["n6_test_mse_x_copy_last"] == pytest.approx(0.25)
    assert "n3_mse" not in row and protocol._row("m", {"val_mse": 1.0})["n6_test_mse"] is None


def test_protocol_parts_that_need_the_sweeps_best_refuse_to_run_without_it(project_dirs, capsys):
    from benchmarks import protocol

    for part in ("task", "cost"):
        with pytest.raises(SystemExit) as stop:
            protocol.main(["--part", part])
        assert stop.value.code == 2 and "run --part headline first" in capsys.readouterr().err
