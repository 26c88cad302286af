import subprocess
import sys

import pytest

from convlstm_lib import cli
from convlstm_lib.errors import ConvLSTMError


def test_every_command_module_has_the_dispatch_interface():
    import importlib

    for name, (module_name, _) in cli.COMMANDS.items():
        module = importlib.import_module(module_name)
        assert callable(getattr(module, "add_arguments", None)), name
        assert callable(getattr(module, "run", None)), name


def test_unknown_command_is_one_line_and_exit_2(capsys):
    assert cli.main(["frobnicate"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "frobnicate" in err[0] and "generate" in err[0]


def test_no_command_prints_usage_and_fails_but_help_succeeds(capsys):
    assert cli.main([]) == 2
    assert cli.main(["--help"]) == 0
    assert "commands:" in capsys.readouterr().out


def test_a_user_error_becomes_one_line_and_exit_2(monkeypatch, capsys):
    import types

    fake = types.SimpleNamespace(add_arguments=lambda p: None,
                                 run=lambda a: (_ for _ in ()).throw(ConvLSTMError("data/x.csv: row 3: bad")))
    monkeypatch.setitem(cli.COMMANDS, "fake", ("fake_module", "doc"))
    monkeypatch.setattr(cli.importlib, "import_module", lambda name: fake)
    assert cli.main(["fake"]) == 2
    assert capsys.readouterr().err == "error: data/x.csv: row 3: bad\n"


@pytest.mark.parametrize("argv", [["inspect", "/nonexistent/train_data_n6.csv"]])
def test_the_module_entry_point_exits_2_without_a_traceback(argv):
    proc = subprocess.run([sys.executable, "-m", "convlstm_lib", *argv], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "/nonexistent/train_data_n6.csv" in proc.stderr


def test_an_unknown_mplbackend_is_one_line_before_matplotlib_is_imported(monkeypatch, capsys):
    monkeypatch.setenv("MPLBACKEND", "nonexistent")
    assert cli.main(["inspect", "x.csv"]) == 2
    assert capsys.readouterr().err == (
        "error: MPLBACKEND='nonexistent' is not a matplotlib backend; unset it, or set e.g. MPLBACKEND=Agg\n")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # run_all's kernels' one
    cli.check_environment()


def test_a_file_the_system_refuses_is_one_line_and_exit_2_and_other_oserrors_stay_bugs(monkeypatch, capsys):
    import types

    def command(error):
        return types.SimpleNamespace(add_arguments=lambda p: None, run=lambda a: (_ for _ in ()).throw(error))

    monkeypatch.setitem(cli.COMMANDS, "fake", ("fake_module", "doc"))
    denied = PermissionError(13, "Permission denied", "data/x.npz")
    monkeypatch.setattr(cli.importlib, "import_module", lambda name: command(denied))
    assert cli.main(["fake"]) == 2
    assert capsys.readouterr().err == "error: data/x.npz: Permission denied\n"
    reset = ConnectionResetError(104, "reset")
    monkeypatch.setattr(cli.importlib, "import_module", lambda name: command(reset))
    with pytest.raises(ConnectionResetError):
        cli.main(["fake"])


def test_the_one_line_of_bad_input_is_the_same_rule_for_every_entry_point():
    import errno

    full = OSError(errno.ENOSPC, "No space left on device", "runs/quick/model.pt")
    assert cli.bad_input_line(full) == "runs/quick/model.pt: No space left on device"
    assert cli.bad_input_line(ConvLSTMError("--seed: must be >= 0")) == "--seed: must be >= 0"
    assert cli.bad_input_line(OSError(errno.EBADF, "Bad file descriptor")) is None  # a bug, not the user's
    assert cli.bad_input_line(ValueError("x")) is None
