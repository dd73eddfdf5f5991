"""The rough edges a new user met on the command line, one row each (issue 15)."""

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import optim
from optim.cli import EXIT_CODES, main

ROOT = Path(__file__).resolve().parents[1]


def cli(argv, capsys):
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    (tmp_path / "edges.py").write_text(
        textwrap.dedent(
            """
            calls = []

            def breaks_at_start(x):
                raise ZeroDivisionError("user's bug")

            def breaks_later(x):
                calls.append(1)
                if len(calls) > 5:
                    raise RuntimeError("solver crashed")
                return float(x[0] ** 2)
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


ROWS = [
    # (name, argv, exit status, text on stdout or stderr, traceback expected)
    ("no flags: default rule", ["run", "rosenbrock"], 0, "converged", False),
    ("rate alone: fixed", ["run", "sphere", "--learning-rate", "0.1"], 0, "", False),
    ("--version", ["--version"], 0, "optim ", False),
    (
        "rate for a rule without one",
        ["run", "sphere", "--rule", "lbfgs", "--learning-rate", "0.1"],
        2,
        "takes no learning rate; drop --learning-rate",
        False,
    ),
    (
        "unknown --param names what --param sets",
        ["run", "sphere", "--rule", "lbfgs", "--param", "gamma=1"],
        2,
        "--param sets memory, search",
        False,
    ),
    (
        "no Python-only hint",
        ["run", "rosenbrock", "--dimension", "3"],
        2,
        "dimension must be even",
        False,
    ),
    ("bad --plot suffix", ["run", "sphere", "--plot", "out.txt"], 2, "--plot", False),
    (
        "--plot into a missing folder",
        ["run", "sphere", "--plot", "nowhere/out.png"],
        2,
        "no folder 'nowhere'",
        False,
    ),
    ("--plot is a folder", ["run", "sphere", "--plot", "."], 2, "--plot", False),
    (
        "--history into a missing folder",
        ["run", "sphere", "--history", "nowhere/h.csv"],
        2,
        "cannot write --history",
        False,
    ),
    (
        "sweep --plot checked first",
        ["sweep", "sphere", "--rates", "0.1", "--plot", "nowhere/s.png"],
        2,
        "cannot write --plot",
        False,
    ),
    ("bad --x0 text", ["run", "sphere", "--x0", "a,b"], 2, "--x0 must be", False),
    (
        "objective raises at the start",
        ["run", "edges:breaks_at_start", "--x0", "1"],
        1,
        "ZeroDivisionError: user's bug",
        True,
    ),
    (
        "objective raises mid-run",
        ["run", "edges:breaks_later", "--x0", "1", "--learning-rate", "0.1"],
        1,
        "RuntimeError: solver crashed",
        True,
    ),
]


@pytest.mark.parametrize(
    ("argv", "status", "text", "traceback"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_rough_edge(argv, status, text, traceback, in_tmp, capsys):
    """Each row: the exit status, a message, one line or a traceback."""
    code, out, err = cli(argv, capsys)

    assert code == status, err
    assert text in out + err
    if status == 2:
        assert err.count("\n") == 1, err
    assert ("Traceback" in err) is traceback
    assert not list(in_tmp.glob("*.png"))  # nothing written on a refusal


def test_failed_run_keeps_its_result_and_files(in_tmp, capsys):
    """A run that raises mid-run prints its result and writes --history first."""
    code, out, err = cli(
        [
            "run",
            "edges:breaks_later",
            "--x0",
            "1",
            "--learning-rate",
            "0.1",
            "--history",
            "h.csv",
        ],
        capsys,
    )

    assert code == EXIT_CODES[optim.Status.FAILED] == 1
    assert out.startswith("failed:")
    assert (in_tmp / "h.csv").exists()
    assert "wrote h.csv" in err
    assert err.index("wrote h.csv") < err.index("Traceback")


def test_every_written_file_is_announced(in_tmp, capsys):
    """--history and --plot each print `wrote FILE` on stderr; --json stays JSON."""
    pytest.importorskip("matplotlib")
    code, out, err = cli(
        ["run", "sphere", "--history", "h.json", "--plot", "p.svg", "--json"], capsys
    )

    assert code == 0
    assert out.startswith("{")
    assert "wrote h.json" in err
    assert "wrote p.svg" in err


def test_progress_without_a_terminal_logs_lines(in_tmp, capsys):
    """--progress on a pipe: periodic log lines, no bar."""
    code, _, err = cli(
        ["run", "sphere", "--learning-rate", "0.01", "--progress", "--max-steps", "50"],
        capsys,
    )

    assert code == 3
    assert "step 0:" in err
    assert "step 5:" in err
    assert "it/s" not in err


def test_missing_extra_is_one_line_before_any_work(in_tmp, monkeypatch, capsys):
    """Without matplotlib, --plot names the extra and the command; nothing runs."""
    real = importlib.util.find_spec

    def no_matplotlib(name, *args, **kwargs):
        return None if name == "matplotlib" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", no_matplotlib)

    code, out, err = cli(["run", "rosenbrock", "--plot", "r.png"], capsys)

    assert code == 2
    assert out == ""
    assert err == (
        "optim run: error: --plot needs the optional extra 'plot': "
        'pip install "optim-gradient[plot]"\n'
    )


def test_help_suggests_only_real_options():
    """Every --option that a help text or error names exists on the parser."""
    helps = subprocess.run(
        [sys.executable, "-m", "optim", "run", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    options = {word.strip(",.;()[]") for word in helps.split() if word[:2] == "--"}

    assert options <= {
        *(f"--{name}" for name in ("help", "dimension", "x0", "rule", "param")),
        *(f"--{name}" for name in ("estimator", "step", "seed", "ascent")),
        *(f"--{name}" for name in ("max-steps", "tol", "learning-rate", "log-every")),
        *(f"--{name}" for name in ("progress", "plot", "history", "json")),
        "--bounds",
        "--x0=-1,2",
        "--bounds=-1,1",
    }
