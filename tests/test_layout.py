"""The library's house rules: imports run one way along the data flow, and the top stays small."""
import ast
from pathlib import Path

import convlstm_lib

PACKAGE = Path(convlstm_lib.__file__).resolve().parent
# The stages in the order data flows; a module may import its own stage and the ones before it.
# The basics at the package's top (config, paths, errors, ...) are stage 0.
STAGES = ("data", "models", "training", "experiments", "report")


def _stage(module: str) -> int:
    """0 for a module at the package's top, else 1 + the index of its subpackage in STAGES."""
    parts = module.split(".")
    return STAGES.index(parts[1]) + 1 if len(parts) > 2 else 0


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import of the library in `path`, lazy ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}:{node.lineno}: relative import; the library imports absolutely")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("convlstm_lib"):
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.append((node.lineno, name if (PACKAGE.parent / name.replace(".", "/")).with_suffix(
                    ".py").is_file() or (PACKAGE.parent / name.replace(".", "/")).is_dir() else node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("convlstm_lib")]
    return found


def _module(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def test_every_import_runs_from_a_later_stage_to_an_earlier_one():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = _module(path)
        for line, target in _imports(path):
            if target.count(".") >= 1 and _stage(target) > _stage(here):
                wrong.append(f"{here}:{line} imports {target} (stage {STAGES[_stage(target) - 1]})")
    assert not wrong, "imports against the data flow:\n" + "\n".join(wrong)


def test_the_stage_rule_catches_an_import_from_a_later_stage():
    # the rule the test above applies, on a made-up module of each direction
    assert _stage("convlstm_lib.report.tables") > _stage("convlstm_lib.training.loop")
    assert _stage("convlstm_lib.config") == 0 < _stage("convlstm_lib.data.tasks")


def test_the_top_holds_only_the_shared_basics_and_every_module_has_its_stage():
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__"))
    assert len(top) <= 8, top
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert packages == sorted(STAGES)
