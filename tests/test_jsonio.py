"""jsonio: the one JSON rule (strict JSON: non-finite -> null), written atomically."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from convlstm_lib import jsonio


def test_non_finite_numbers_become_null_and_numpy_becomes_plain():
    payload = {"nan": math.nan, "inf": -math.inf, "f32": np.float32(0.5), "i64": np.int64(3),
               "arr": np.array([1.0, np.nan]), "tup": (1, 2), 7: Path("runs/quick"), "ok": 1e-3}
    assert jsonio.jsonable(payload) == {"nan": None, "inf": None, "f32": 0.5, "i64": 3, "arr": [1.0, None],
                                        "tup": [1, 2], "7": "runs/quick", "ok": 1e-3}
    assert isinstance(jsonio.jsonable(np.int64(3)), int)


def test_write_json_is_strict_and_leaves_no_temp_file(tmp_path):
    target = jsonio.write_json(tmp_path / "sub" / "r.json", {"mse": np.float64("nan"), "n": [np.inf]})
    text = target.read_text()
    assert "NaN" not in text and "Infinity" not in text and text.endswith("\n")
    assert json.loads(text) == {"mse": None, "n": [None]}
    assert [p.name for p in target.parent.iterdir()] == ["r.json"]


def test_unserialisable_objects_fail_before_anything_is_written(tmp_path):
    with pytest.raises(TypeError):
        jsonio.write_json(tmp_path / "r.json", {"x": object()})
    assert not (tmp_path / "r.json").exists() and list(tmp_path.iterdir()) == []
