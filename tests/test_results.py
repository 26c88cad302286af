"""The results schema (convlstm_lib/report/results.py): every key typed, one writer, one reader."""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest

from convlstm_lib import paths
from convlstm_lib.config import get_profile
from convlstm_lib.errors import ConvLSTMError
from convlstm_lib.report import results
from convlstm_lib.report.results import ResultsError

EXAMPLE = Path(__file__).with_name("results_example.json")  # a quick run's results.json, trimmed


def example() -> dict:
    return json.loads(EXAMPLE.read_text())


def test_the_committed_report_validates_against_the_schema_section_by_section():
    committed = json.loads((paths.REPORT_DIR / results.RESULTS_FILE).read_text())
    assert results.problems(committed) == []
    assert set(results.SECTIONS) <= set(committed), "the quick report runs every notebook"
    loaded = results.load(paths.REPORT_DIR / results.RESULTS_FILE)
    assert loaded.config == get_profile(loaded.profile, seed=loaded.seed)


def test_the_example_the_report_tests_read_is_valid_and_typed():
    parsed = results.load(EXAMPLE)
    assert parsed.best.parameters.layers == 2 and parsed.best.noise_floor["N6 test"].measured > 0
    assert parsed.counts.complete == parsed.counts.total == 16
    assert parsed.frame16.entries["extrapolate-4"].refiner == 16  # the task names, gathered
    assert parsed.robustness.config.kinds == ("gaussian", "poisson", "salt_and_pepper")
    assert parsed.final.model_config.frames_as_channels and parsed.final.train_config.seed is None


def test_the_protocol_section_records_the_selection_and_the_split():
    from convlstm_lib.experiments import protocol

    class Split:
        validation = {"sequences": 40, "windows": 400, "rule": "held out"}

    typed = results.parse_section("protocol", protocol.record(Split()))
    assert typed.selection == "validation" and typed.validation.windows == 400
    assert results.load(EXAMPLE).protocol.validation.sequences == 40
    refused = r"protocol\.selection: \"test\", expected one of \['validation'\]"
    with pytest.raises(ResultsError, match=refused):
        results.parse_section("protocol", {**protocol.record(Split()), "selection": "test"})


def test_every_reported_model_carries_its_validation_mse_beside_its_test_metrics():
    bad = example()
    for entry in (bad["best"], bad["final"], bad["final"]["runs"][0], bad["models"]["simvp"],
                  bad["frame4"]["interpolate"], bad["frame4"]["neighbour_mean"], bad["frame16"]["paper"],
                  bad["table1"][2]):
        del entry["val_mse"]
    bad["final"]["runs"][1]["val_mse"] = None  # a run whose validation MSE was not finite: null, present
    assert sorted(results.problems(bad)) == sorted([
        "best.val_mse: missing", "final.val_mse: missing", "final.runs[0].val_mse: missing",
        "models.simvp.val_mse: missing", "frame4.interpolate.val_mse: missing",
        "frame4.neighbour_mean.val_mse: missing", "frame16.paper.val_mse: missing",
        "table1[2].val_mse: missing",
    ])


def test_the_papers_rule_section_reads_as_table1_writes_it():
    from convlstm_lib.experiments import table1

    rule = results.load(EXAMPLE).paper_rule
    assert rule.selection == "validation" and set(rule.per_training_set) <= set(table1.TRAINING_SET_LABELS)
    assert rule.any_kind.paper_rule_trial != rule.any_kind.trial and not rule.any_kind.same_pick


def test_problems_name_every_departure_by_its_path():
    bad = example()
    bad["best"]["parameters"]["layers"] = "2"
    del bad["sweep"]["counted"]
    bad["sweep"]["budget_s"] = 600.0
    bad["table1"][1]["trial"] = 1.5
    bad["data"]["source"] = "downloaded"
    bad["frame16"]["extrapolate-4"]["n6_test_mse"] = "low"
    bad["extra"] = {}
    del bad["commit"]
    assert sorted(results.problems(bad)) == sorted([
        'best.parameters.layers: "2", expected int',
        "sweep.counted: missing",
        "sweep.budget_s: not in the schema (SweepSection)",
        "table1[1].trial: 1.5, expected int",
        "data.source: \"downloaded\", expected one of ['generated', 'course']",
        'frame16.extrapolate-4.n6_test_mse: "low", expected float',
        "extra: not a section of the schema",
        "commit: missing",
    ])


def test_a_stored_configuration_is_the_librarys_own_every_field_and_its_own_checks():
    bad = example()
    del bad["config"]["n6"]
    bad["final"]["model_config"]["layers"] = 9
    found = results.problems(bad)
    assert "config.n6: missing" in found
    assert any(p.startswith("final.model_config: layers: must be in 1..7") for p in found)


def test_parse_keeps_what_fits_and_leaves_out_what_does_not():
    partial = {"profile": "smoke", "seed": 0, "best": {"n6_test_mse": 0.5}, "counts": example()["counts"]}
    parsed = results.parse(partial)
    assert parsed.best is None and parsed.counts.total == 16 and parsed.frame4 is None
    assert "best.trial: missing" in results.problems(partial)
    assert results.parse(parsed) is parsed


def test_write_section_checks_the_payload_and_writes_strict_json(project_dirs):
    seeds = example()["seeds"]
    seeds["spread"] = np.float32(math.nan)
    seeds["n6_test_mse"] = np.array(seeds["n6_test_mse"])
    target = results.write_section("seeds", seeds, "smoke")
    assert target == project_dirs / "runs" / "smoke" / "results" / "seeds.json"
    stored = json.loads(target.read_text())
    assert stored["spread"] is None and stored["n6_test_mse"] == example()["seeds"]["n6_test_mse"]
    typed = results.read_section("seeds", "smoke")
    assert typed.spread is None and typed.ensemble.runs == 3

    with pytest.raises(ResultsError, match=r"seeds\.trial: \"0\", expected int$"):
        results.write_section("seeds", {**seeds, "trial": "0"}, "smoke")
    with pytest.raises(ResultsError, match="'tables': not in the schema"):
        results.write_section("tables", {}, "smoke")
    with pytest.raises(ResultsError, match=r"final\.val_mse: missing \(and \d+ more\)"):
        results.write_section("final", {"wall_s": 1.0}, "smoke")
    assert not (target.parent / "final.json").exists() and not (target.parent / "tables.json").exists()
    assert issubclass(ResultsError, ConvLSTMError)


def test_read_section_is_none_when_absent_and_names_a_bad_file(project_dirs):
    assert results.read_section("final", "smoke") is None
    broken = paths.results_dir("smoke") / "final.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    with pytest.raises(ResultsError, match=r"final\.json: not valid JSON"):
        results.read_section("final", "smoke")
    broken.write_text('{"wall_s": 1}')
    with pytest.raises(ResultsError, match=r"final\.json: results section final\.val_mse: missing"):
        results.read_section("final", "smoke")


def test_merge_gathers_every_section_file_by_stem(tmp_path):
    (tmp_path / "b.json").write_text('{"x": 1}')
    (tmp_path / "a.json").write_text("[1, 2]")
    (tmp_path / "skip.txt").write_text("not json results")
    assert results.merge(tmp_path) == {"a": [1, 2], "b": {"x": 1}}
    assert results.merge(tmp_path / "missing") == {}
    (tmp_path / "c.json").write_text("{broken")
    with pytest.raises(ResultsError, match=r"c\.json: not valid JSON"):
        results.merge(tmp_path)
    (tmp_path / "c.json").unlink()
    (tmp_path / "seed.json").write_text("1")
    with pytest.raises(ResultsError, match="'seed' is reserved"):
        results.merge(tmp_path)


def test_build_sets_the_stamp_and_the_published_checkpoint(tmp_path):
    cfg = get_profile("smoke")
    merged = {"best": {"mse": math.inf, "hist": (1.0, math.nan)}, "counts": {"n": 3}}
    stamp = dict(commit="abc", date="d", device="cpu", checkpoint=paths.ROOT / "report" / "best_model.pt")
    built = results.build(cfg, merged, runtime_s=1.234, **stamp)
    assert built["best"] == {"mse": None, "hist": [1.0, None], "checkpoint": "report/best_model.pt"}
    assert built["runtime_s"] == 1.23 and built["counts"] == {"n": 3}
    assert tuple(built)[: len(results.STAMP)] == results.STAMP
    assert "best" not in results.build(cfg, {}, runtime_s=1, **stamp)
    outside = results.build(cfg, {"best": {}}, runtime_s=1, **{**stamp, "checkpoint": tmp_path / "m.pt"})
    assert outside["best"]["checkpoint"] == "m.pt"  # no machine path
    written = results.write_results(tmp_path, built)
    assert written.name == results.RESULTS_FILE and json.loads(written.read_text()) == built


def test_load_refuses_a_file_that_departs_and_names_it(tmp_path):
    bad = copy.deepcopy(example())
    bad["models"]["convgru"]["params"] = -0.5
    path = tmp_path / "results.json"
    path.write_text(json.dumps(bad))
    departure = r"results\.json: 1 departure\(s\).*models\.convgru\.params: -0\.5, expected int"
    with pytest.raises(ResultsError, match=departure):
        results.load(path)
    with pytest.raises(ResultsError, match="no such file"):
        results.load(tmp_path / "none.json")
