"""Where the raw sequences come from: the user's course CSVs, or generated ones.

`load_raw(cfg)` uses the four course CSVs in data/ when *all* of them are there (no ground
truth then); otherwise it generates N6 and N3 into data/generated/<profile>/ once, and reuses
them afterwards as long as their manifest.json records the same seed, n6, n3, generator
configuration and format version (else it regenerates). A folder it cannot write, or one
holding files generate did not write, is refused with one line before anything is generated.

Arrays: n6 (N6, 16, 36, 36) and n3 (N3, 16, 36, 36) float64 on the raw 0-255 scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convlstm_lib import paths
from convlstm_lib.atomic import check_output_dir
from convlstm_lib.config import ProfileConfig
from convlstm_lib.data.course_io import read_course_pair
from convlstm_lib.data.generator import GeneratorConfig, manifest_for, read_manifest, write_dataset

COURSE = "course"
GENERATED = "generated"


@dataclass
class RawData:
    """The raw N6 and N3 sequences, where they came from, and (generated data only) the ground truth.

    truth_n6 / truth_n3: the ground-truth npz as a dict (frames, clean, rotation, dx, dy,
    intensity, outlier_transitions, mnist_indices as arrays; digit and seed as int; config
    as its JSON text), or None for course data.
    """

    n6: np.ndarray
    n3: np.ndarray
    source: str  # "course" or "generated"
    truth_n6: dict | None
    truth_n3: dict | None
    directory: Path | None = None  # the folder the CSVs were read from

    @property
    def has_truth(self) -> bool:
        return self.truth_n6 is not None


def load_truth(path: str | Path) -> dict:
    """A ground-truth npz as a dict; 0-d members become Python scalars / str."""
    with np.load(path, allow_pickle=False) as npz:
        return {k: (npz[k].item() if npz[k].ndim == 0 else npz[k]) for k in npz.files}


def _is_current(folder: Path, cfg: ProfileConfig, generator: GeneratorConfig) -> bool:
    """True when `folder` holds every generated file, made with cfg's seed/n6/n3 and `generator`."""
    manifest = read_manifest(folder)
    if manifest is None:
        return False
    wanted = manifest_for(cfg.seed, cfg.n6, cfg.n3, generator)
    if any(manifest.get(key) != value for key, value in wanted.items()):
        return False
    names = list(paths.COURSE_FILES.values()) + list(paths.GROUND_TRUTH_FILES.values())
    return all((folder / name).is_file() for name in names)


def generated_data(
    cfg: ProfileConfig,
    generator: GeneratorConfig | None = None,
    progress: bool = True,
    folder: Path | None = None,
) -> Path:
    """The folder of generated data for `cfg` (default data/generated/<profile>/), generating it if
    missing or made with other settings."""
    generator = generator if generator is not None else GeneratorConfig()
    folder = Path(folder) if folder is not None else paths.generated_dir(cfg.profile)
    if not _is_current(folder, cfg, generator):
        check_output_dir(folder, "the generated data's folder")
        write_dataset(folder, cfg.seed, cfg.n6, cfg.n3, generator, progress=progress)
    return folder


def load_raw(cfg: ProfileConfig, progress: bool = True, data_dir: Path | None = None) -> RawData:
    """The raw N6 and N3 sequences for `cfg` (see the module doc). `data_dir` defaults to data/."""
    course = paths.user_course_files(Path(data_dir) if data_dir is not None else paths.DATA_DIR)
    if course is not None:
        return RawData(
            n6=read_course_pair(course["train_n6"], course["test_n6"]),
            n3=read_course_pair(course["train_n3"], course["test_n3"]),
            source=COURSE,
            truth_n6=None,
            truth_n3=None,
            directory=course["train_n6"].parent,
        )
    folder = generated_data(cfg, progress=progress)
    files = {key: folder / name for key, name in paths.COURSE_FILES.items()}
    return RawData(
        n6=read_course_pair(files["train_n6"], files["test_n6"]),
        n3=read_course_pair(files["train_n3"], files["test_n3"]),
        source=GENERATED,
        truth_n6=load_truth(folder / paths.GROUND_TRUTH_FILES["n6"]),
        truth_n3=load_truth(folder / paths.GROUND_TRUTH_FILES["n3"]),
        directory=folder,
    )
