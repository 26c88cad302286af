"""results.json, typed: every key it may hold, and the one writer and reader of the results files.

A pipeline run's notebooks each hand on one *section*: `write_section(name, payload, profile)`
checks the payload against the section's type below and writes runs/<profile>/results/<name>.json;
`read_section` reads one back for a later notebook. `merge` gathers a run's section files and
`build` sets them under the run's stamp (`STAMP`): that mapping is results.json
(`write_results`). The report reads it through `parse`, which gives `Results`.

The schema is the dataclasses below. A field without a default must be present, a field with one
may be absent, and no other key is allowed; JSON null stands for a number that is not finite.
`Scores` holds the metric keys of `metrics.METRIC_KEYS`. The configurations (`ProfileConfig`,
`GeneratorConfig`, `ModelConfig`, `TrainConfig`, `RobustnessConfig`) are the library's own
dataclasses: their fields are the keys, their own checks the types. `problems(results)` lists
every departure, key by key; `load(path)` refuses a results.json with any.
"""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import pandas as pd

from convlstm_lib import paths
from convlstm_lib.config import ProfileConfig
from convlstm_lib.data.generator import GeneratorConfig
from convlstm_lib.errors import ConvLSTMError
from convlstm_lib.experiments import protocol, sweep_record
from convlstm_lib.experiments.robustness import RobustnessConfig
from convlstm_lib.experiments.table1 import best_record
from convlstm_lib.jsonio import jsonable, write_json
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.statuses import TRIAL_STATUSES
from convlstm_lib.training.metrics import METRIC_KEYS, VAL_MSE
from convlstm_lib.training.settings import TrainConfig

RESULTS_FILE = "results.json"
STAMP = ("profile", "seed", "commit", "date", "runtime_s", "device", "config")
Number = float | None  # a JSON number, null where it was not finite


class ResultsError(ConvLSTMError):
    """A results file or section departs from the schema, or is not JSON."""


# ---------------------------------------------------------------------------------------------
# The schema

Scores = dataclasses.make_dataclass(
    "Scores", [(key, Number, field(default=None)) for key in METRIC_KEYS], frozen=True, kw_only=True
)
Scores.__doc__ = "A model's metrics (`metrics.METRIC_KEYS`, on the [0, 1] scale); each may be absent."
Scores.__module__ = __name__


@dataclass(frozen=True, kw_only=True)
class Chosen(Scores):
    """A reported model's metrics with its validation MSE required: what it was chosen by (null
    where not finite), beside its test metrics, which only report."""

    val_mse: Number = field()  # field(): no default, not Scores' inherited None


@dataclass(frozen=True, kw_only=True)
class ValidationSplit:
    """The validation windows every choice reads (`datasets.Datasets.validation`)."""

    sequences: int
    windows: int
    rule: str


@dataclass(frozen=True, kw_only=True)
class Protocol:
    """protocol (notebook 02): how every model was chosen (`protocol.record`)."""

    selection: Literal[protocol.SELECTION]
    validation: ValidationSplit


@dataclass(frozen=True, kw_only=True)
class CalibrationRow:
    """One figure of the calibration table (`calibration.compare`): generated beside real."""

    quantity: str
    description: str
    table: str
    real: float
    generated: Number
    ratio: Number
    tolerance: str
    within: bool


@dataclass(frozen=True, kw_only=True)
class DataSection:
    """data (notebook 01): the source, the sizes, the calibration table and the outlier counts."""

    source: Literal["generated", "course"]
    n6_sequences: int
    n3_sequences: int
    calibration: list[CalibrationRow]
    calibration_passed: int
    calibration_quantities: int
    outliers: dict[str, dict[str, int | Number]]  # set -> counts, recall and precision
    generator_config: GeneratorConfig | None = None  # generated data only


@dataclass(frozen=True, kw_only=True)
class SweepSection:
    """sweep (notebook 03): the sweep summary's counts and budget (`sweep_record.write_summary`)."""

    counted: int
    n_trials: int
    sweep_budget_s: float
    stopped_by_budget: bool
    wall_s_this_run: float


Counts = dataclasses.make_dataclass("Counts", [(s, int) for s in (*TRIAL_STATUSES, "total")], frozen=True)
Counts.__doc__ = "counts (notebook 04): trials per status (`statuses.TRIAL_STATUSES`) and in all."
Counts.__module__ = __name__


@dataclass(frozen=True, kw_only=True)
class Parameters:
    """A trial's sampled hyper-parameters (`table1.PARAMETER_COLUMNS`)."""

    batch_size: int
    activation: str
    layers: int
    kernels: int
    lr: float
    optimizer: str


@dataclass(frozen=True, kw_only=True)
class NoiseFloor:
    """The part of a test MSE no model can predict (`table1.noise_floor`)."""

    measured: Number  # null on course data (no clean frames)
    corner_sigma: float
    corner_sigma2: float


@dataclass(frozen=True, kw_only=True)
class BestTrial(Chosen):
    """best (notebook 04): Table 1's best trial (`table1.best_record`) and its noise floor."""

    trial: int
    training_set: str
    parameters: Parameters
    runtime_s: Number
    copy_last_n6_test_mse: float
    ratio_to_copy_last: float
    checkpoint: str
    noise_floor: dict[str, NoiseFloor]  # "N6 test", "N3"


@dataclass(frozen=True, kw_only=True)
class Table1Row(Chosen):
    """One row of table1 (notebook 04): the best trial of a training set (`table1.table1`)."""

    training_set: str
    trial: int
    batch_size: int
    activation: str
    layers: int
    kernels: int
    lr: float
    optimizer: str


@dataclass(frozen=True, kw_only=True)
class PaperRuleRow:
    """One pick beside the paper rule's (`table1.paper_rule`): this protocol's trial, the trial the
    lowest N6 test MSE would have picked, both their MSEs, and the optimism that rule buys."""

    trial: int
    val_mse: float
    n6_test_mse: float
    paper_rule_trial: int
    paper_rule_val_mse: float
    paper_rule_n6_test_mse: float
    same_pick: bool
    optimism: float


@dataclass(frozen=True, kw_only=True)
class PaperRule:
    """paper_rule (notebook 04, `table1.paper_rule_record`): each ConvLSTM pick (overall, per
    training set) and the pick over every model kind, beside what choosing on test would pick."""

    selection: Literal[protocol.SELECTION]
    overall: PaperRuleRow | None
    per_training_set: dict[str, PaperRuleRow]
    any_kind: PaperRuleRow | None


@dataclass(frozen=True, kw_only=True)
class PaperComparisonRow:
    """One row of paper_comparison (notebook 04): ours beside the paper's (`table1.compare_with_paper`)."""

    training_set: str
    batch_size: Number
    n6_test_mse: Number
    n3_mse: Number
    n6_test_paper_loss: Number
    n3_paper_loss: Number
    paper_batch_size: int
    paper_n6_loss: float
    paper_n3_loss: float
    paper_n6_mse: float
    paper_n3_mse: float
    paper_n6_mse_full_batches: float
    n6_ratio: Number
    n3_ratio: Number


@dataclass(frozen=True, kw_only=True)
class SetLoss:
    """loss_by_set (notebook 04), per training set: its complete trials' N6 test MSE."""

    count: int
    min: float
    median: float
    variance: Number  # null with fewer than two trials


@dataclass(frozen=True, kw_only=True)
class Ensemble(Scores):
    """Runs averaged into one prediction (`seeds.SeedEnsemble`), scored on N6 test."""

    runs: int


@dataclass(frozen=True, kw_only=True)
class SeedRuns:
    """seeds (notebook 04): Table 1's best row re-trained with other seeds (`seeds.retrain_with_seeds`)."""

    trial: int
    seeds: list[int]
    n6_test_mse: list[Number]
    n3_mse: list[Number]
    extra_runs_s: float
    val_mse: list[Number]  # each run's validation MSE (`metrics.VAL_MSE`)
    mean: Number
    spread: Number
    ensemble: Ensemble | None = None


@dataclass(frozen=True, kw_only=True)
class TaskEntry(Chosen):
    """One way of predicting a frame in the task study: a model, scored on that frame."""

    task: str
    checkpoint: str | None
    status: str | None = None  # retrained models only, from here down
    runtime_s: Number = None
    epochs: int | None = None
    s_per_epoch: Number = None
    train_windows: int | None = None
    refiner: int | None = None  # frame-16 refiners only


@dataclass(frozen=True, kw_only=True)
class Frame4Ratios:
    """Frame 4: the interpolator's N6 test MSE over each other way's."""

    interpolate_to_extrapolate: Number
    interpolate_to_neighbour_mean: Number
    interpolate_to_copy_last: Number


@dataclass(frozen=True, kw_only=True)
class TaskValidation:
    """The validation windows a task study's candidates are scored on: how many, and their target
    frames (1-based; the frames every candidate can predict, `tasks.shared_targets`)."""

    windows: int
    frames: list[int]


@dataclass(frozen=True, kw_only=True)
class Frame4:
    """frame4 (notebook 04): frame 4 every way (`task_study.frame4_study`)."""

    frame: int
    validation: TaskValidation
    extrapolate: TaskEntry
    interpolate: TaskEntry
    neighbour_mean: Chosen
    copy_last: Chosen
    ratios: Frame4Ratios
    course_csv: str
    course_checkpoint: str | None


@dataclass(frozen=True, kw_only=True)
class Frame16:
    """frame16 (notebook 04): frame 16 per context (`task_study.frame16_study`). Its other keys are
    entries by name (the paper's protocol, then one task name per context), gathered in `entries`."""

    FLATTENED: ClassVar[str] = "entries"

    frame: int
    paper_protocol: str
    course_csv: str
    course_checkpoint: str | None
    validation: TaskValidation
    entries: dict[str, TaskEntry] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ModelBest:
    """models (notebook 06), per model kind: its best trial of the sweep (by validation MSE)."""

    trial: int
    val_mse: float
    n6_test_mse: float
    n3_mse: Number
    params: int
    seconds_per_epoch: float
    ratio_to_copy_last: float
    trials: int


@dataclass(frozen=True, kw_only=True)
class Curves:
    """Per-level loss on N6 test and N3: the mean, its standard error, and against clean frames."""

    n6: list[Number]
    n6_sem: list[Number]
    n6_clean_mse: list[Number]
    n3: list[Number]
    n3_sem: list[Number]
    n3_clean_mse: list[Number]


@dataclass(frozen=True, kw_only=True)
class NoiseCurve(Curves):
    """One noise kind's curves (Figure 8a)."""

    intensities: list[float]


@dataclass(frozen=True, kw_only=True)
class RegionCurve(Curves):
    """The missing-region curves (Figure 8b)."""

    sizes: list[int]
    fraction_removed: list[float]


@dataclass(frozen=True, kw_only=True)
class Robustness:
    """robustness (notebook 05): the curves (`RobustnessResult.record`) and what they decide."""

    config: RobustnessConfig
    windows: dict[str, int]
    runtime_s: float
    noise: dict[str, NoiseCurve]
    missing_region: RegionCurve
    clean_mse: dict[str, float]
    tolerance_2x: dict[str, dict[str, Number]]  # corruption -> test set -> intensity (region: side)
    test_sets: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class FinalRun:
    """One run of the final model (`multirun.describe`)."""

    seed: int
    status: str
    runtime_s: float
    val_mse: Number
    n6_test_mse: Number
    n3_mse: Number


@dataclass(frozen=True, kw_only=True)
class Final(Chosen):
    """final (notebook 06): the final model (`final.train_final`); the scores are its runs averaged."""

    model_config: ModelConfig
    train_config: TrainConfig
    set_windows: int
    train_windows: int
    params: int
    runs: list[FinalRun]
    wall_s: float
    members: int


@dataclass(frozen=True, kw_only=True)
class Results:
    """results.json: the stamp (`STAMP`, set by `build`), then one field per section file."""

    profile: str | None = None
    seed: int | None = None
    commit: str | None = None
    date: str | None = None
    runtime_s: float | None = None
    device: str | None = None
    config: ProfileConfig | None = None
    protocol: Protocol | None = None
    data: DataSection | None = None
    sweep: SweepSection | None = None
    counts: Counts | None = None
    best: BestTrial | None = None
    table1: list[Table1Row] | None = None
    paper_rule: PaperRule | None = None
    paper_comparison: list[PaperComparisonRow] | None = None
    baselines: dict[str, Scores] | None = None
    loss_by_set: dict[str, SetLoss] | None = None
    seeds: SeedRuns | None = None
    frame4: Frame4 | None = None
    frame16: Frame16 | None = None
    models: dict[str, ModelBest | None] | None = None
    robustness: Robustness | None = None
    final: Final | None = None


_HINTS = typing.get_type_hints(Results)
SECTIONS: dict[str, Any] = {name: _HINTS[name] for name in _HINTS if name not in STAMP}


# ---------------------------------------------------------------------------------------------
# Checking a value against a type


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _name(tp: Any) -> str:
    if isinstance(tp, type):
        return "null" if tp is type(None) else tp.__name__
    return str(tp).replace("typing.", "").replace(f"{__name__}.", "")


def _args(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _own(cls: type) -> bool:
    """A dataclass of this schema (typed field by field) rather than a library configuration."""
    return cls.__module__ == __name__


def _convert(tp: Any, value: Any, where: str, problems: list[str]) -> Any:
    """`value` as type `tp` (dataclasses built, lists made tuples where `tp` says so); every
    departure appended to `problems` as 'where: what is wrong'."""
    if tp is Any:
        return value
    if _is_union(tp):
        options = _args(tp)
        if value is None:
            if type(None) in options:
                return None
            problems.append(f"{where}: null, expected {_name(tp)}")
            return None
        rest = [t for t in options if t is not type(None)]
        if len(rest) == 1:
            return _convert(rest[0], value, where, problems)
        for option in rest:
            trial: list[str] = []
            out = _convert(option, value, where, trial)
            if not trial:
                return out
        problems.append(f"{where}: {_show(value)}, expected {_name(tp)}")
        return value
    origin = typing.get_origin(tp)
    if origin is Literal:
        if value not in _args(tp):
            problems.append(f"{where}: {_show(value)}, expected one of {list(_args(tp))}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            problems.append(f"{where}: {_show(value)}, expected a list")
            return value
        item = _args(tp)[0]
        out = [_convert(item, v, f"{where}[{i}]", problems) for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, Mapping):
            problems.append(f"{where}: {_show(value)}, expected a mapping")
            return value
        item = _args(tp)[1]
        return {str(k): _convert(item, v, f"{where}.{k}", problems) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return _convert_dataclass(tp, value, where, problems)
    if tp is type(None):
        if value is not None:
            problems.append(f"{where}: {_show(value)}, expected null")
        return value
    ok = {
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        bool: isinstance(value, bool),
        str: isinstance(value, str),
    }.get(tp)
    if ok is None:
        raise TypeError(f"results schema: type {tp!r} at {where} is not supported")
    if not ok:
        problems.append(f"{where}: {_show(value)}, expected {_name(tp)}")
    return value


def _convert_dataclass(cls: type, value: Any, where: str, problems: list[str]) -> Any:
    if not isinstance(value, Mapping):
        problems.append(f"{where}: {_show(value)}, expected a mapping ({cls.__name__})")
        return None
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    flattened = getattr(cls, "FLATTENED", None)
    known = {k: v for k, v in value.items() if k in fields and k != flattened}
    extra = {k: v for k, v in value.items() if k not in known}
    before = len(problems)
    if flattened:
        item = _args(hints[flattened])[1]
        known[flattened] = {k: _convert(item, v, f"{where}.{k}", problems) for k, v in extra.items()}
    else:
        problems.extend(f"{where}.{k}: not in the schema ({cls.__name__})" for k in extra)
    for name, f in fields.items():  # a library configuration is stored whole: every field
        defaulted = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        required = not _own(cls) or not defaulted
        if name not in known and required:
            problems.append(f"{where}.{name}: missing")
    if _own(cls):
        kwargs = {k: v if k == flattened else _convert(hints[k], v, f"{where}.{k}", problems)
                  for k, v in known.items()}
    else:  # a library configuration: lists back to the tuples it holds; its own checks run
        kwargs = {k: tuple(v) if isinstance(v, list) and typing.get_origin(hints[k]) is tuple else v
                  for k, v in known.items()}
    if len(problems) > before:
        return None
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        problems.append(f"{where}: {exc}")
        return None


# ---------------------------------------------------------------------------------------------
# Sections: write, read, check


def _section_type(name: str) -> Any:
    if name not in SECTIONS:
        raise ResultsError(f"results section {name!r}: not in the schema; expected one of {sorted(SECTIONS)}")
    return SECTIONS[name]


def parse_section(name: str, payload: Any) -> Any:
    """`payload` (a section as plain JSON) as its schema type. ResultsError naming the first problem."""
    problems: list[str] = []
    out = _convert(_section_type(name), jsonable(payload), name, problems)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ResultsError(f"results section {problems[0]}{more}")
    return out


def _plain(payload: Any) -> Any:
    """`payload` as plain JSON: a DataFrame as its rows, NaN as null (`jsonio.jsonable`)."""
    if isinstance(payload, pd.DataFrame):
        payload = payload.to_dict(orient="records")
    return jsonable(payload)


def write_section(name: str, payload: Any, profile: str) -> Path:
    """Check `payload` against section `name` and write runs/<profile>/results/<name>.json
    atomically (strict JSON: NaN -> null; a DataFrame as its rows); its path. Nothing is written
    when it does not fit."""
    data = _plain(payload)
    parse_section(name, data)
    return write_json(paths.results_dir(profile) / f"{name}.json", data)


def write_sections(profile: str, **sections: Any) -> list[Path]:
    """`write_section` for every keyword (section name = payload), all checked before any is written."""
    for name, payload in sections.items():
        parse_section(name, _plain(payload))
    return [write_section(name, payload, profile) for name, payload in sections.items()]


def data_section(raw, table, outliers: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The data section (notebook 01): `raw` (`sources.load_raw`), the calibration `table`
    (`calibration.compare`) and the outlier counts per set (`views_data.outlier_counts`)."""
    payload: dict[str, Any] = {
        "source": raw.source,
        "n6_sequences": int(raw.n6.shape[0]),
        "n3_sequences": int(raw.n3.shape[0]),
        # pandas' JSON writer: NaN (the median rotation's ratio) -> null, numpy types -> plain ones
        "calibration": json.loads(table.to_json(orient="records")),
        "calibration_passed": int(table["within"].sum()),
        "calibration_quantities": len(table),
        "outliers": {name: dict(row) for name, row in outliers.items()},
    }
    if raw.has_truth:
        payload["generator_config"] = dataclasses.asdict(GeneratorConfig.from_json(raw.truth_n6["config"]))
    return payload


def best_section(best: pd.Series, copy_last_n6_mse: float, checkpoint: Path,
                 noise_floor: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The best section (notebook 04): Table 1's best trial (`table1.best_record`), the checkpoint
    it was copied to (relative to the repository) and the noise floor of both test sets."""
    return {**best_record(best, copy_last_n6_mse=copy_last_n6_mse),
            "checkpoint": paths.repo_relative(checkpoint), "noise_floor": dict(noise_floor)}


def robustness_section(record: Mapping[str, Any], clean: Mapping[str, float],
                       tolerated: Mapping[str, Mapping[str, float]],
                       labels: Mapping[str, str]) -> dict[str, Any]:
    """The robustness section (notebook 05): the curves (`RobustnessResult.record`), each test set's
    clean loss, the tolerance of every corruption at twice the clean loss, and what each test set
    (named by `labels`) holds."""
    held = {name: f"{label}: windows whose target is frame 4 or 16" for name, label in labels.items()}
    return {**record, "clean_mse": dict(clean), "tolerance_2x": {k: dict(v) for k, v in tolerated.items()},
            "test_sets": held}


def models_section(best: Mapping[str, Mapping[str, Any] | None], kinds: Sequence[str],
                   copy_last_n6_mse: float) -> dict[str, Any]:
    """The models section (notebook 06): per model kind of `kinds`, its best trial by validation MSE
    (`sweep_record.best_per_model`), its test MSEs and its ratio to copy-last on N6 test; None for a
    kind without one."""
    return {
        kind: None if best.get(kind) is None else {
            "trial": best[kind]["number"], "val_mse": best[kind]["val_mse"],
            "n6_test_mse": best[kind]["n6_test_mse"],
            "n3_mse": best[kind]["n3_mse"], "params": best[kind]["n_params"],
            "seconds_per_epoch": best[kind]["seconds_per_epoch"],
            "ratio_to_copy_last": best[kind]["n6_test_mse"] / copy_last_n6_mse,
            "trials": best[kind]["trials"],
        }
        for kind in kinds
    }


def best_kind(models: Mapping[str, Any]) -> str | None:
    """The model kind of the models section (typed or as written) whose best trial has the lowest
    validation MSE (ties to the first kind): the best of all kinds. None when no kind has one."""
    def val(entry: Any) -> float | None:
        return entry.get(VAL_MSE) if isinstance(entry, Mapping) else getattr(entry, VAL_MSE, None)

    scored = {kind: val(entry) for kind, entry in models.items() if entry and val(entry) is not None}
    return min(scored, key=scored.get) if scored else None


def sweep_section(cfg) -> dict[str, Any]:
    """The sweep section: the fields of `SweepSection` from the sweep's own summary (the study's
    sweep.json, `sweep_record.write_summary`), so both say the same in the same words."""
    summary = sweep_record.load_summary(cfg)
    if not summary:
        raise ResultsError(
            f"study {cfg.study_name!r} has no sweep.json yet; run the sweep first (notebook 03)"
        )
    return {f.name: summary.get(f.name) for f in dataclasses.fields(SweepSection)}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: not valid JSON ({exc})") from None


def read_section(name: str, profile: str) -> Any | None:
    """Section `name` as `write_section` wrote it for `profile`, typed; None when it is absent
    (its notebook did not run). ResultsError naming the file when it is not JSON or not the schema."""
    path = paths.results_dir(profile) / f"{name}.json"
    if not path.is_file():
        return None
    try:
        return parse_section(name, _read_json(path))
    except ResultsError as exc:
        raise ResultsError(f"{path}: {exc}") from None


def merge(results_dir: Path) -> dict[str, Any]:
    """Every `*.json` in `results_dir`, keyed by file stem (sorted), as JSON. ResultsError naming
    the file when one is not JSON or takes a name of the stamp."""
    merged: dict[str, Any] = {}
    for path in sorted(Path(results_dir).glob("*.json")):
        if path.stem in STAMP:
            raise ResultsError(f"{path}: the name {path.stem!r} is reserved for results.json's stamp")
        merged[path.stem] = _read_json(path)
    return merged


def _repo_relative(path: Path, root: Path = paths.ROOT) -> str:
    """`path` relative to the repository root when inside it, else its name (no machine paths)."""
    path = path.resolve()
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


def build(
    cfg: ProfileConfig, merged: Mapping[str, Any], *, commit: str, date: str, runtime_s: float, device: str,
    checkpoint: Path | None,
) -> dict[str, Any]:
    """results.json's content: the stamp, then every section by name. `checkpoint` (the
    published best_model.pt) becomes best.checkpoint when there is a best trial."""
    results: dict[str, Any] = {
        "profile": cfg.profile, "seed": cfg.seed, "commit": commit, "date": date,
        "runtime_s": round(runtime_s, 2), "device": device, "config": cfg.to_dict(),
    }
    results.update(merged)
    if checkpoint is not None and isinstance(results.get("best"), dict):
        results["best"] = {**results["best"], "checkpoint": _repo_relative(checkpoint)}
    return jsonable(results)


def write_results(folder: Path, results: Mapping[str, Any]) -> Path:
    """`results` (from `build`) as <folder>/results.json, atomically."""
    return write_json(Path(folder) / RESULTS_FILE, results)


def _parse(results: Mapping[str, Any]) -> tuple[Results, list[str]]:
    problems: list[str] = []
    hints = _HINTS
    kwargs: dict[str, Any] = {}
    for key, value in results.items():
        if key not in hints:
            problems.append(f"{key}: not a section of the schema")
            continue
        found: list[str] = []
        converted = _convert(hints[key], value, key, found)
        problems.extend(found)
        if not found:
            kwargs[key] = converted
    problems.extend(f"{key}: missing" for key in STAMP if key not in results)
    return Results(**kwargs), problems


def problems(results: Mapping[str, Any]) -> list[str]:
    """Every way `results` (results.json's content) departs from the schema, one line each."""
    return _parse(results)[1]


def parse(results: Mapping[str, Any] | Results) -> Results:
    """The sections of `results` that fit the schema, typed; a section that does not fit (or is
    absent) is None, so a partial run still reads. `problems` says what was left out."""
    return results if isinstance(results, Results) else _parse(results)[0]


def load(path: str | Path) -> Results:
    """A results.json file, typed. ResultsError naming the file and every problem when it departs
    from the schema."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"{path}: no such file")
    parsed, found = _parse(_read_json(path))
    if found:
        raise ResultsError(f"{path}: {len(found)} departure(s) from the schema: " + "; ".join(found))
    return parsed
