"""The library's house rules: imports run one way along the data flow, and the top stays small."""
import ast
import re
import subprocess
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


# Documents outside the repository, spelled apart so that this file does not cite them: the team's
# brief by name, and the folder beside the clone that holds it.
OUTSIDE = re.compile(rb"\b" + b"SP" + rb"EC\b|\.\./" + b"shared|/work/" + b"shared")
# The committed report is rendered from the notebooks and the report package, which are checked
# here; the smoke report's rendering is checked in tests/test_notebooks.py.
RENDERED = ("report/report.html", "report/report.pdf", "report/notebooks/", "report/figures/")


def _repository_files() -> list[str]:
    """Every file git tracks or would track (untracked, not ignored), relative to the root."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=PACKAGE.parent,
                            capture_output=True, check=True).stdout
    return [name for name in listed.decode().split("\0") if name]


def outside_citations(root: Path, names: list[str]) -> list[str]:
    """'file:line' of every mention of a document outside the repository among `names`."""
    found = []
    for name in names:
        path = root / name
        if name.startswith(RENDERED) or not path.is_file():
            continue
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{name}:{number}")
    return found


def test_no_file_cites_a_document_outside_the_repository():
    found = outside_citations(PACKAGE.parent, _repository_files())
    assert not found, "cite what the repository holds (docs/DATA.md, docs/REPORT.md):\n" + "\n".join(found)


def test_the_citation_check_finds_each_outside_name(tmp_path):
    lines = ["fitted to " + "SP" + "EC §1", "see ../" + "shared/paper", "cat /work/" + "shared/x",
             "SPECIAL WorkerSpec"]
    for k, line in enumerate(lines):
        (tmp_path / f"f{k}.md").write_text(f"fine\n{line}\n")
    (tmp_path / "report" / "figures").mkdir(parents=True)
    (tmp_path / "report" / "figures" / "a.svg").write_text(lines[0])
    names = [f"f{k}.md" for k in range(len(lines))] + ["report/figures/a.svg"]
    assert outside_citations(tmp_path, names) == ["f0.md:2", "f1.md:2", "f2.md:2"]


README = PACKAGE.parent / "README.md"


def test_the_readme_is_a_newcomers_page_whose_commands_exist():
    from convlstm_lib.cli import COMMANDS

    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200, "README.md: at most 200 lines; details go to docs/"
    makefile = (PACKAGE.parent / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z-]+):", makefile, flags=re.M))
    named = set(re.findall(r"`make ([a-z-]+)", text)) | set(re.findall(r"^make ([a-z-]+)", text, flags=re.M))
    assert named and named <= targets, f"README names make targets the Makefile lacks: {named - targets}"
    commands = set(re.findall(r"python -m convlstm_lib ([a-z]+)", text))
    unknown = commands - set(COMMANDS)
    assert commands and not unknown, f"README names commands the CLI lacks: {unknown}"
    linked = re.findall(r"\]\(([^)#]+)\)", text)
    assert [p for p in linked if not (PACKAGE.parent / p).exists()] == [], "README links a missing file"
