import numpy as np
import pytest

from convlstm_lib.data.course_io import (
    TEST_FRAMES,
    assemble_sequences,
    read_course_csv,
    read_course_pair,
    read_course_rows,
    split_sequences,
    write_course_csv,
)
from convlstm_lib.errors import CourseDataError


def _sequences(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(-25, 273, size=(n, 16, 36, 36)).astype(np.float64)


def _csv_rows(n_rows, seed=0):
    rng = np.random.default_rng(seed)
    return [",".join(str(v) for v in rng.integers(0, 255, 1296)) for _ in range(n_rows)]


def test_round_trip_split_and_assemble(tmp_path):
    seq = _sequences(5)
    train, test = split_sequences(seq)
    assert train.shape == (5, 14, 36, 36) and test.shape == (5, 2, 36, 36)
    np.testing.assert_array_equal(test[:, 0], seq[:, 3])
    np.testing.assert_array_equal(test[:, 1], seq[:, 15])
    write_course_csv(tmp_path / "train_data_n6.csv", train)
    write_course_csv(tmp_path / "test_data_n6.csv", test)
    text = (tmp_path / "test_data_n6.csv").read_text()
    assert len(text.splitlines()) == 10 and "." not in text  # integers, one image a row
    back = read_course_pair(tmp_path / "train_data_n6.csv", tmp_path / "test_data_n6.csv")
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back, seq)
    np.testing.assert_array_equal(assemble_sequences(train, test), seq)
    assert TEST_FRAMES == (3, 15)


def test_frames_per_sequence_from_the_name(tmp_path):
    seq = _sequences(3)
    write_course_csv(tmp_path / "train_x.csv", seq[:, :14])
    write_course_csv(tmp_path / "test_x.csv", seq[:, :2])
    assert read_course_csv(tmp_path / "train_x.csv").shape == (3, 14, 36, 36)
    assert read_course_csv(tmp_path / "test_x.csv").shape == (3, 2, 36, 36)
    assert read_course_csv(tmp_path / "test_x.csv", frames_per_sequence=1).shape == (6, 1, 36, 36)
    (tmp_path / "frames.csv").write_text((tmp_path / "test_x.csv").read_text())
    with pytest.raises(CourseDataError, match="frames.csv: cannot tell frames per sequence"):
        read_course_csv(tmp_path / "frames.csv")
    with pytest.raises(CourseDataError, match="gone.csv: file not found"):  # not a complaint about the name
        read_course_csv(tmp_path / "gone.csv")


def test_non_integer_values_are_written_exactly_enough(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 36, 36)).astype(np.float32)
    write_course_csv(tmp_path / "p.csv", x)
    back = read_course_rows(tmp_path / "p.csv").reshape(2, 36, 36).astype(np.float32)
    np.testing.assert_array_equal(back, x)


def test_decimals_round_floats_and_are_checked(tmp_path):
    x = np.full((1, 36, 36), 12.3456, np.float32)
    write_course_csv(tmp_path / "p.csv", x, decimals=2)
    assert (tmp_path / "p.csv").read_text().split(",")[0] == "12.35"
    with pytest.raises(ValueError, match="decimals"):
        write_course_csv(tmp_path / "q.csv", x, decimals=-1)


def _bad_file(tmp_path, case):
    """A test_*.csv (2 frames a sequence) with one fault; returns (path, expected message part)."""
    path = tmp_path / "test_data_n6.csv"
    rows = _csv_rows(4)
    if case == "missing":
        return tmp_path / "test_data_n3.csv", "test_data_n3.csv: file not found"
    if case == "empty":
        path.write_text("\n")
        return path, "file is empty"
    if case == "short row":
        rows[2] = rows[2].rsplit(",", 1)[0]
        expect = "row 3 has 1295 values, expected 1296"
    elif case == "long row":
        rows[1] += ",7"
        expect = "row 2 has 1297 values, expected 1296"
    elif case == "blank row":
        rows[1] = ""
        expect = "row 2 has 0 values"
    elif case == "text":
        cells = rows[3].split(",")
        cells[9] = "abc"
        rows[3] = ",".join(cells)
        expect = "row 4, column 10: 'abc' is not a number"
    elif case in ("nan", "inf", "empty cell"):
        cells = rows[2].split(",")
        cells[4] = {"nan": "NaN", "inf": "inf", "empty cell": ""}[case]
        rows[2] = ",".join(cells)
        expect = "row 3, column 5: value is " + ("infinite" if case == "inf" else "NaN or empty")
    elif case == "partial sequence":
        rows = rows[:3]
        expect = "3 rows are not a whole number of sequences of 2 frames (row 3 starts"
    elif case in ("1e308", "-1000"):  # finite, but no pixel of the 0-255 scale: the scaler would break
        cells = rows[1].split(",")
        cells[7] = case
        rows[1] = ",".join(cells)
        expect = f"row 2, column 8: value {float(case):g} is far outside the course data's range (-25 to 272"
    elif case == "semicolons":
        rows = [r.replace(",", ";") for r in rows]
        expect = "row 1 has 1 values, expected 1296 (one 36x36 image); its values are separated by semicolons"
    path.write_text("\n".join(rows) + "\n")
    return path, expect


BAD_CASES = ["missing", "empty", "short row", "long row", "blank row", "text", "nan", "inf", "empty cell",
             "partial sequence", "1e308", "-1000", "semicolons"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_files_raise_one_line_naming_file_and_row(tmp_path, case):
    path, expect = _bad_file(tmp_path, case)
    with pytest.raises(CourseDataError) as info:
        read_course_csv(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    assert expect in message


@pytest.mark.parametrize("case", BAD_CASES)
def test_cli_inspect_bad_file_exits_2_with_one_line(tmp_path, case, run_cli):
    path, expect = _bad_file(tmp_path, case)
    result = run_cli("inspect", path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expect in lines[0]


def test_values_at_the_edge_of_the_course_range_are_read(tmp_path):
    seq = np.zeros((1, 2, 36, 36))
    seq[0, 0, 0, :2] = (-322, 569)  # one range width below and above the course's -25..272: still read
    write_course_csv(tmp_path / "test_edge.csv", seq)
    np.testing.assert_array_equal(read_course_csv(tmp_path / "test_edge.csv"), seq)


def test_cli_inspect_summarises(tmp_path, run_cli):
    seq = np.zeros((3, 2, 36, 36))
    seq[0, 0, 0, 0], seq[2, 1, 5, 5] = -7, 300
    write_course_csv(tmp_path / "test_data_n3.csv", seq)
    result = run_cli("inspect", tmp_path / "test_data_n3.csv")
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "rows 6" in out and "sequences 3" in out and "frames per sequence 2" in out
    assert f"-7 / 300 / {293 / seq.size:.3f}" in out
    result = run_cli("inspect", tmp_path / "test_data_n3.csv", "--frames", "3")
    assert result.returncode == 0 and "sequences 2" in " ".join(result.stdout.split())
