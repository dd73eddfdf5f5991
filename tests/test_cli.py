"""The optim command."""

import subprocess
import sys

import pytest

from optim.cli import demo_results, main


def test_demo_table(capsys):
    """optim demo prints one row per textbook run with its status."""
    status = main(["demo"])

    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line[:1].isdigit()]
    assert status == 0
    assert [row[0] for row in rows] == ["0.1", "1", "1e-06", "10"]
    assert [row[3] for row in rows] == [
        "converged",
        "oscillating",
        "stalled",
        "diverged",
    ]
    assert "oscillate" in out
    assert "too small" in out
    assert "likely too large" in out


def test_demo_results_match_the_textbook():
    """The demo's tiny-rate run ends at (2.99940006, 1.99960004)."""
    runs = demo_results()

    run = runs[2]
    assert run.learning_rate == 1e-6
    assert run.history.x[0].tolist() == [3.0, 2.0]
    assert run.result.x.round(8).tolist() == [2.99940006, 1.99960004]


def test_module_entry_point():
    """python -m optim demo runs and exits 0."""
    out = subprocess.run(
        [sys.executable, "-m", "optim", "demo"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert out.returncode == 0
    assert "converged" in out.stdout
    assert out.stderr == ""


@pytest.mark.parametrize(
    "argv",
    [[], ["nonsense"], ["demo", "--max-steps", "-1"], ["demo", "--max-steps", "x"]],
)
def test_bad_input_exits_2(argv, capsys):
    """Bad input gives a usage error and exit status 2, no traceback."""
    with pytest.raises(SystemExit) as excinfo:
        main(argv)

    err = capsys.readouterr().err
    assert excinfo.value.code == 2
    assert "Traceback" not in err
    assert "error:" in err


def test_help(capsys):
    """--help works for the command and the subcommand."""
    for argv in (["--help"], ["demo", "--help"]):
        with pytest.raises(SystemExit) as excinfo:
            main(argv)
        assert excinfo.value.code == 0
    assert "textbook" in capsys.readouterr().out


def test_demo_plot(tmp_path, capsys):
    """--plot FILE writes the figure and says so."""
    path = tmp_path / "demo.png"

    assert main(["demo", "--plot", str(path)]) == 0

    assert path.stat().st_size > 10_000
    assert f"wrote {path}" in capsys.readouterr().out


def test_demo_plot_to_bad_path(tmp_path, capsys):
    """An unwritable --plot path is a one-line error with exit status 2."""
    with pytest.raises(SystemExit) as excinfo:
        main(["demo", "--plot", str(tmp_path / "missing" / "demo.png")])

    err = capsys.readouterr().err
    assert excinfo.value.code == 2
    assert err.count("\n") == 1
    assert "cannot write --plot" in err
