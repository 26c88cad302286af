"""The one JSON rule of the project: strict JSON, written atomically.

Every results file, summary and manifest goes through `jsonable` (or `write_json`, which calls
it), so one rule holds everywhere:

* NaN and infinities become ``null`` (strict JSON has no such numbers; `allow_nan=False` proves
  none slipped through);
* numpy scalars and arrays become Python numbers and lists; tuples become lists;
* paths become strings; mapping keys become strings.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from convlstm_lib.atomic import write_text


def jsonable(obj: Any) -> Any:
    """A copy of `obj` made only of plain JSON types (see the module docstring)."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return obj.as_posix()
    return obj


def dumps(obj: Any, indent: int | None = 2) -> str:
    """`obj` as strict JSON text (after `jsonable`), with a trailing newline."""
    return json.dumps(jsonable(obj), indent=indent, allow_nan=False) + "\n"


def write_json(target: str | Path, obj: Any) -> Path:
    """Write `obj` to `target` as strict JSON, atomically; returns the path."""
    target = Path(target)
    write_text(target, dumps(obj))
    return target
