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
    yes, no = {key: {"bf16_qualifies": True}}, {key: {"bf16_qualifies": False}}
    assert precision.resolve_precision("auto", cpu, verdicts={}) == torch.float32
    assert precision.resolve_precision("auto", cpu, verdicts=no) == torch.float32
    want = torch.bfloat16 if native else torch.float32
    assert precision.resolve_precision("auto", cpu, verdicts=yes) == want
    if native:
        assert precision.resolve_precision("bf16", cpu) == torch.bfloat16
    else:
        with pytest.raises(precision.PrecisionError, match="emulated"):
            precision.resolve_precision("bf16", cpu)


def test_verdicts_are_read_from_the_benchmarks_file(tmp_path):
    path = tmp_path / "precision.json"
    assert precision.read_verdicts(path) == {}
    path.write_text("not json")
    assert precision.read_verdicts(path) == {}
    path.write_text(json.dumps({"cpu:X": {"bf16_qualifies": True}}))
    assert precision.read_verdicts(path) == {"cpu:X": {"bf16_qualifies": True}}
