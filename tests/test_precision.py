"""Precision choice: fp32, bf16 only with native support, auto only where the benchmark said so."""

from __future__ import annotations

import json

import pytest
import torch

from convlstm_lib.training import precision


def test_fp32_needs_no_autocast():
    assert precision.resolve_precision("fp32", torch.device("cpu")) == torch.float32
    with precision.autocast(torch.device("cpu"), torch.float32):
        assert not torch.is_autocast_enabled("cpu")
    with precision.autocast(torch.device("cpu"), torch.bfloat16):
        assert torch.is_autocast_enabled("cpu")


def test_unknown_precision_is_refused_naming_it():
    with pytest.raises(precision.PrecisionError, match="fp16x"):
        precision.resolve_precision("fp16x", torch.device("cpu"))


@pytest.mark.parametrize("native", [True, False])
def test_auto_picks_bf16_only_with_native_support_and_a_qualifying_verdict(monkeypatch, native):
    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "native_bf16", lambda device: native)
    key = precision.device_key(cpu)
    assert precision.resolve_precision("auto", cpu, verdicts={}) == torch.float32
    assert precision.resolve_precision("auto", cpu, verdicts={key: False}) == torch.float32
    assert precision.resolve_precision("auto", cpu, verdicts={"cpu:another": True}) == torch.float32
    want = torch.bfloat16 if native else torch.float32
    assert precision.resolve_precision("auto", cpu, verdicts={key: True}) == want
    if native:
        assert precision.resolve_precision("bf16", cpu) == torch.bfloat16
    else:
        with pytest.raises(precision.PrecisionError, match="emulated"):
            precision.resolve_precision("bf16", cpu)


def test_auto_reads_the_committed_table_and_nothing_a_run_or_benchmark_writes(monkeypatch, tmp_path):
    from convlstm_lib import paths

    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "native_bf16", lambda device: True)
    key = precision.device_key(cpu)
    # whatever lies in the runs folder (a benchmark's verdict file of the old layout included) ...
    monkeypatch.setattr(paths, "RUNS_DIR", tmp_path)
    (tmp_path / "precision.json").write_text(json.dumps({key: {"bf16_qualifies": True}}))
    # ... `auto` follows the committed table alone
    monkeypatch.setattr(precision, "BF16_VERDICTS", {})
    assert precision.resolve_precision("auto", cpu) == torch.float32
    monkeypatch.setattr(precision, "BF16_VERDICTS", {key: True})
    assert precision.resolve_precision("auto", cpu) == torch.bfloat16
    assert all(isinstance(k, str) and isinstance(v, bool) for k, v in precision.BF16_VERDICTS.items())
