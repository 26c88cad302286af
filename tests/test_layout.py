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
        if not path.is_file():
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
    (tmp_path / "figure.svg").write_text("<svg>\n<!-- " + lines[0] + " -->\n</svg>")
    names = [f"f{k}.md" for k in range(len(lines))] + ["figure.svg", "gone.md"]
    assert outside_citations(tmp_path, names) == ["f0.md:2", "f1.md:2", "f2.md:2", "figure.svg:2"]


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


def expected_test_file(module: Path) -> str:
    """The test file of library module `module` (tests/conftest.py): test_X.py, or
    test_<package>_X.py where two modules are called X."""
    names = [p.stem for p in PACKAGE.rglob("*.py")]
    if names.count(module.stem) > 1:
        return f"test_{module.parent.name}_{module.stem}.py"
    return f"test_{module.stem}.py"



def test_every_module_has_its_test_file_and_it_tests_something():
    tests = PACKAGE.parent / "tests"
    modules = [p for p in PACKAGE.rglob("*.py") if p.stem not in ("__init__", "__main__")]
    missing, empty = [], []
    for module in modules:
        path = tests / expected_test_file(module)
        if not path.is_file():
            missing.append(f"{_module(module)} -> tests/{path.name}")
        elif "\ndef test_" not in path.read_text(encoding="utf-8"):
            empty.append(path.name)
    assert not missing, "modules without their test file:\n" + "\n".join(missing)
    assert not empty, f"test files without a test: {empty}"


# Test files that test across modules rather than one module.
ACROSS_MODULES = {
    "test_bad_input.py": "every one-line refusal of bad input, and that nothing a user owns is lost",
    "test_benchmarks.py": "the benchmark scripts",
    "test_lab.py": "the notebooks in JupyterLab, in a real browser",
    "test_layout.py": "the house rules",
    "test_makefile.py": "the Makefile's set-up",
    "test_notebooks.py": "the notebooks, and the smoke report read as a reader would",
    "test_run_all.py": "run_all.py's exit statuses",
}


def test_every_test_file_is_a_modules_or_tests_across_modules():
    modules = [p for p in PACKAGE.rglob("*.py") if p.stem not in ("__init__", "__main__")]
    known = {expected_test_file(m) for m in modules} | set(ACROSS_MODULES)
    stray = sorted(p.name for p in (PACKAGE.parent / "tests").glob("test_*.py") if p.name not in known)
    assert not stray, f"test files of no module (name them after the module they test): {stray}"
    assert all((PACKAGE.parent / "tests" / name).is_file() for name in ACROSS_MODULES)


def test_a_shared_module_name_takes_its_package():
    assert expected_test_file(PACKAGE / "models" / "settings.py") == "test_models_settings.py"
    assert expected_test_file(PACKAGE / "training" / "settings.py") == "test_training_settings.py"
    assert expected_test_file(PACKAGE / "data" / "tasks.py") == "test_tasks.py"


BENCHMARKS_README = PACKAGE.parent / "benchmarks" / "README.md"
# `benchmarks/README.md, "Section"`, `benchmarks/README.md ("Section" and "Other")`: how code and docs
# point at the measurements behind a choice.
POINTER = re.compile(r'benchmarks/README\.md,? \(?((?:"[^"]+"(?:,| and| or)? ?)+)')


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def readme_pointers(text: str) -> list[str]:
    """The section names `text` points at in benchmarks/README.md (comment markers and line breaks
    read through)."""
    flat = " ".join(line.strip().lstrip("#").strip() for line in text.splitlines())
    return [name for group in POINTER.findall(flat) for name in re.findall(r'"([^"]+)"', group)]


def test_every_pointer_into_the_benchmarks_readme_names_one_of_its_sections():
    headings = [line.lstrip("#").strip().lower() for line in BENCHMARKS_README.read_text().splitlines()
                if line.startswith("#")]
    wrong = []
    for name in _repository_files():
        if name.endswith((".py", ".md")) and name != "tests/test_layout.py":
            for section in readme_pointers((PACKAGE.parent / name).read_text(encoding="utf-8")):
                if not any(section.lower() in heading for heading in headings):
                    wrong.append(f'{name}: "{section}"')
    assert not wrong, "pointers to no section of benchmarks/README.md:\n" + "\n".join(wrong)


def test_pointers_are_read_across_lines_and_comments():
    text = '# measured (benchmarks/README.md, "The motion\n# head" and "SimVP\'s translator"); x = "y"'
    assert readme_pointers(text) == ["The motion head", "SimVP's translator"]


def test_the_benchmarks_readmes_contents_lead_to_its_sections():
    text = BENCHMARKS_README.read_text(encoding="utf-8")
    anchors = {_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}
    linked = re.findall(r"\]\(#([^)]+)\)", text)
    missing = set(linked) - anchors
    assert linked and not missing, f"contents entries without a section: {missing}"


def test_the_architecture_page_lists_every_package_and_module_and_names_the_rule():
    page = (PACKAGE.parent / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert "tests/test_layout.py" in page
    for stage in STAGES:
        assert f"| `{stage}/` |" in page, f"the packages' table lacks {stage}/"
    modules = sorted(p.stem for p in PACKAGE.rglob("*.py") if p.stem not in ("__init__", "__main__"))
    unlisted = [m for m in modules if f"`{m}`" not in page]
    assert not unlisted, f"docs/ARCHITECTURE.md does not list: {unlisted}"
