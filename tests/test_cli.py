"""The optim command, through its real entry point."""

import json
import logging
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import optim.cli
from optim.cli import main
from optim.demo import DEMO_RUNS, demo_results, format_demo


def cli(argv, capsys):
    """Run `optim ARGV`; return (exit status, stdout, stderr)."""
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def one_line_error(status, err):
    assert status == 2
    assert err.count("\n") == 1, err
    assert "error:" in err
    assert "Traceback" not in err


class TestDemo:
    def test_table(self, capsys):
        """optim demo prints one row per textbook run with its outcome."""
        status, out, _ = cli(["demo"], capsys)

        rows = [line.split() for line in out.splitlines() if line[:1].isdigit()]
        assert status == 0
        assert [row[0] for row in rows] == ["0.1", "1", "1e-06", "10"]
        assert [row[3] for row in rows] == [
            "converged",
            "oscillating",
            "stalled",
            "diverged",
        ]
        assert "likely too large" in out
        assert "too small" in out

    def test_results_match_the_textbook(self):
        """The demo's tiny-rate run ends at (2.99940006, 1.99960004)."""
        run = demo_results()[2]

        assert run.learning_rate == 1e-6
        assert run.history.x[0].tolist() == [3.0, 2.0]
        assert run.result.x.round(8).tolist() == [2.99940006, 1.99960004]

    def test_max_steps_and_plot(self, tmp_path, capsys):
        """--max-steps limits every run; --plot writes the figure."""
        path = tmp_path / "demo.png"

        status, out, err = cli(
            ["demo", "--max-steps", "5", "--plot", str(path)], capsys
        )

        assert status == 0
        assert "at most 5 steps" in out
        assert path.stat().st_size > 10_000
        assert f"wrote {path}" in err

    def test_plot_to_bad_path(self, tmp_path, capsys):
        """An unwritable --plot path is a one-line error with exit status 2."""
        status, _, err = cli(
            ["demo", "--plot", str(tmp_path / "missing" / "demo.png")], capsys
        )

        one_line_error(status, err)
        assert "cannot write --plot" in err


def test_problems_table(capsys):
    """optim problems lists every problem with dimension, minimum and start."""
    status, out, _ = cli(["problems"], capsys)

    lines = out.splitlines()
    assert status == 0
    assert lines[0].split() == ["name", "dimension", "minimum", "start"]
    rosenbrock = next(line for line in lines if line.startswith("rosenbrock"))
    assert rosenbrock.split() == ["rosenbrock", "2", "0", "(-1.2,", "1)"]
    assert len(lines) == 9


class TestRun:
    def test_lbfgs_json(self, capsys):
        """--json prints the result; json.loads gives the result's fields."""
        status, out, _ = cli(["run", "rosenbrock", "--rule", "lbfgs", "--json"], capsys)

        data = json.loads(out)
        assert status == 0
        assert data["status"] == "converged"
        assert data["outcome"] == "converged"
        np.testing.assert_allclose(data["x"], [1.0, 1.0], atol=1e-6)
        assert data["gradient_norm"] <= 1e-6  # the default --tol
        assert data["steps"] > 10
        assert data["evaluations"] == data["gradient_evaluations"]
        assert set(data) >= {"best_x", "best_value", "mode", "message", "success"}

    def test_text_output_and_start(self, capsys):
        """A fixed-step run from --x0 prints the outcome, point and counters."""
        status, out, _ = cli(
            [
                "run",
                "sphere",
                "--x0",
                "3,2",
                "--learning-rate",
                "0.1",
                "--tol",
                "1e-8",
            ],
            capsys,
        )

        assert status == 0
        assert out.startswith("converged: gradient norm")
        assert "steps = 92," in out

    def test_negative_start(self, capsys):
        """--x0=-1.2,1 (with '=') takes a start that begins with a minus sign."""
        status, out, _ = cli(
            ["run", "rosenbrock", "--x0=-1.2,1", "--rule", "lbfgs", "--json"], capsys
        )

        same_start = cli(["run", "rosenbrock", "--rule", "lbfgs", "--json"], capsys)[1]

        assert status == 0
        assert json.loads(out)["steps"] == json.loads(same_start)["steps"]

    def test_rule_params_dimension_and_max_steps(self, capsys):
        """--rule, --param, --dimension and --max-steps reach the optimizer."""
        status, out, _ = cli(
            [
                "run",
                "quadratic",
                "--dimension",
                "4",
                "--rule",
                "momentum",
                "--learning-rate",
                "0.01",
                "--param",
                "beta=0.5",
                "--max-steps",
                "3",
                "--json",
            ],
            capsys,
        )

        data = json.loads(out)
        assert status == 3  # not converged: max_steps
        assert len(data["x"]) == 4
        assert data["steps"] == 3
        assert data["status"] == "max_steps"

    @pytest.mark.parametrize(
        ("estimator", "evaluations"),
        [("central", 5), ("forward", 3), ("analytic", 1)],
    )
    def test_estimator_and_step(self, estimator, evaluations, capsys):
        """--estimator (and --step) choose how the gradient is obtained."""
        argv = ["run", "booth", "--rule", "fixed", "--learning-rate", "0.05"]
        argv += ["--estimator", estimator, "--max-steps", "0", "--json"]
        if estimator != "analytic":
            argv += ["--step", "1e-4"]

        status, out, _ = cli(argv, capsys)

        assert status == 3  # max_steps 0: not converged
        assert json.loads(out)["evaluations"] == evaluations

    def test_ascent(self, tmp_path, capsys, monkeypatch):
        """--ascent maximizes a user's function named MODULE:NAME."""
        (tmp_path / "cli_hill.py").write_text(
            "def hill(x):\n    return -((x[0] - 1) ** 2) - (x[1] + 2) ** 2\n"
        )
        monkeypatch.chdir(tmp_path)

        status, out, _ = cli(
            [
                "run",
                "cli_hill:hill",
                "--x0",
                "0,0",
                "--ascent",
                "--learning-rate",
                "0.1",
                "--json",
            ],
            capsys,
        )

        data = json.loads(out)
        assert status == 0
        assert data["mode"] == "ascent"
        np.testing.assert_allclose(data["x"], [1.0, -2.0], atol=1e-6)

    def test_objective_subclass_by_name(self, tmp_path, capsys, monkeypatch):
        """MODULE:NAME may name an Objective subclass."""
        (tmp_path / "cli_bowl.py").write_text(
            textwrap.dedent(
                """
                import numpy as np
                import optim

                class Bowl(optim.Objective):
                    def value(self, x):
                        return float(np.sum((x - 2.0) ** 2))

                    def gradient(self, x):
                        return 2 * (x - 2.0)
                """
            )
        )
        monkeypatch.chdir(tmp_path)

        status, out, _ = cli(
            ["run", "cli_bowl:Bowl", "--x0", "0,0,0", "--rule", "lbfgs", "--json"],
            capsys,
        )

        assert status == 0
        np.testing.assert_allclose(json.loads(out)["x"], [2.0, 2.0, 2.0])

    def test_history_plot_log_and_progress(self, tmp_path, capsys):
        """--history, --plot, --log-every and --progress all produce their output."""
        history = tmp_path / "history.csv"
        plot = tmp_path / "run.png"

        status, out, err = cli(
            [
                "run",
                "rosenbrock",
                "--rule",
                "lbfgs",
                "--history",
                str(history),
                "--plot",
                str(plot),
                "--log-every",
                "10",
                "--progress",
            ],
            capsys,
        )

        assert status == 0
        frame = pd.read_csv(history)
        assert list(frame.columns[:2]) == ["step", "value"]
        assert frame["step"].iloc[-1] == int(out.split("steps = ")[1].split(",")[0])
        assert plot.stat().st_size > 10_000
        assert "step 0: value=24.2" in err
        assert "step 10:" in err
        # Standard error is not a terminal here: --progress logs lines instead.
        assert err.count("step 0: value=24.2") == 2
        assert f"wrote {history}" in err
        assert f"wrote {plot}" in err

    def test_progress_bar_on_a_terminal(self, capsys, monkeypatch):
        """On a terminal, --progress draws tqdm's bar."""
        monkeypatch.setattr(sys.stderr, "isatty", lambda: True)

        status, _, err = cli(["run", "rosenbrock", "--progress"], capsys)

        assert status == 0
        assert "it/s" in err or "step/s" in err

    def test_history_json(self, tmp_path, capsys):
        """--history FILE.json writes JSON columns."""
        path = tmp_path / "h.json"

        status, _, _ = cli(
            ["run", "booth", "--rule", "lbfgs", "--history", str(path)], capsys
        )

        assert status == 0
        assert json.loads(path.read_text())["step"][0] == 0


class TestSweep:
    def test_the_textbook_lesson(self, tmp_path, capsys):
        """The note's lesson in one command: oscillating, converged, stalled."""
        path = tmp_path / "sweep.png"

        status, out, _ = cli(
            [
                "sweep",
                "sphere",
                "--x0",
                "3,2",
                "--rates",
                "1",
                "0.1",
                "1e-6",
                "--plot",
                str(path),
            ],
            capsys,
        )

        rows = [line.split() for line in out.splitlines()[1:4]]
        assert status == 0
        assert [row[:2] for row in rows] == [
            ["1", "oscillating"],
            ["0.1", "converged"],
            ["1e-06", "stalled"],
        ]
        assert path.stat().st_size > 10_000

    def test_acceptance_command_verbatim(self, tmp_path, capsys, monkeypatch):
        """`optim sweep sphere --rates 1 0.1 1e-6 --plot sweep.png`, as written."""
        monkeypatch.chdir(tmp_path)

        status, out, _ = cli(
            ["sweep", "sphere", "--rates", "1", "0.1", "1e-6", "--plot", "sweep.png"],
            capsys,
        )

        outcomes = [line.split()[1] for line in out.splitlines()[1:4]]
        assert status == 0
        assert outcomes == ["oscillating", "converged", "stalled"]
        assert (tmp_path / "sweep.png").stat().st_size > 10_000

    def test_sweep_other_rule_and_options(self, capsys):
        """Sweeps take --rule, --param, --max-steps, --tol and --estimator."""
        status, out, _ = cli(
            [
                "sweep",
                "rosenbrock",
                "--rule",
                "momentum",
                "--param",
                "beta=0.9",
                "--rates",
                "1e-3",
                "1.0",
                "--max-steps",
                "50",
                "--tol",
                "1e-6",
                "--estimator",
                "central",
            ],
            capsys,
        )

        rows = [line.split() for line in out.splitlines()[1:3]]
        assert status == 0
        assert rows[0][0] == "0.001"
        assert rows[0][1] != "diverged"
        assert int(rows[0][2]) == 50
        assert rows[1][1] == "diverged"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["run", "nosuch"], "unknown problem 'nosuch'"),
        (["run", "rosenbrock", "--x0", "a,b"], "--x0 must be numbers"),
        (["run", "rosenbrock", "--x0", "1,2,3"], "has dimension 2"),
        (["run", "no_such_module:f", "--x0", "1"], "cannot import module"),
        (["run", "os:no_such_name", "--x0", "1"], "has no attribute"),
        (["run", "os:getcwd"], "give --x0"),
        (["run", "sphere", "--rule", "fixed"], "needs --learning-rate"),
        (["run", "sphere", "--learning-rate", "-1"], "learning_rate"),
        (["run", "sphere", "--rule", "nope"], "invalid choice"),
        (["run", "sphere", "--rule", "lbfgs", "--param", "gamma=1"], "'gamma'"),
        (["run", "sphere", "--rule", "lbfgs", "--param", "oops"], "NAME=VALUE"),
        (["run", "sphere", "--rule", "lbfgs", "--max-steps", "-1"], "--max-steps"),
        (["run", "sphere", "--rule", "lbfgs", "--history", "h.txt"], "--history"),
        (["run", "sphere", "--rule", "lbfgs", "--step", "1e-4"], "--step"),
        (["run", "sphere", "--bogus"], "unrecognized arguments"),
        (["sweep", "sphere"], "--rates"),
        (["sweep", "sphere", "--rates", "0.1", "-1"], "--rates must be positive"),
        (
            [
                "sweep",
                "quadratic",
                "--dimension",
                "3",
                "--rates",
                "0.1",
                "--plot",
                "x.png",
            ],
            "2-D",
        ),
        (["demo", "--max-steps", "-1"], "--max-steps"),
        (["demo", "--max-steps", "x"], "invalid int"),
        ([], "required"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, fragment, capsys, tmp_path):
    """Bad input: one line on stderr naming the problem, exit status 2."""
    status, _, err = cli(argv, capsys)

    one_line_error(status, err)
    assert fragment in err


def test_objective_failing_at_start_shows_its_traceback(tmp_path, capsys, monkeypatch):
    """An objective that raises at x0 is the objective's error: traceback, exit 1."""
    (tmp_path / "cli_pair.py").write_text("def f(x):\n    return x[0] * x[1]\n")
    monkeypatch.chdir(tmp_path)

    status, _, err = cli(
        ["run", "cli_pair:f", "--x0", "1", "--learning-rate", "0.1"], capsys
    )

    assert status == 1
    assert "Traceback" in err
    assert "cli_pair.py" in err
    assert "IndexError" in err


def test_help_everywhere(capsys):
    """--help works for the command and every subcommand."""
    for argv in (
        ["--help"],
        *([c, "--help"] for c in ("demo", "problems", "run", "sweep")),
    ):
        status, out, _ = cli(argv, capsys)
        assert status == 0
        assert "usage: optim" in out


def test_console_entry_points():
    """python -m optim and the installed `optim` script both run."""
    module = subprocess.run(
        [sys.executable, "-m", "optim", "problems"],
        capture_output=True,
        text=True,
        check=False,
    )
    script = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from optim.cli import main; sys.exit(main())",
            "demo",
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert module.returncode == 0
    assert "rosenbrock" in module.stdout
    assert script.returncode == 0
    assert "converged" in script.stdout
    assert module.stderr == script.stderr == ""


def test_plot_of_a_higher_dimensional_run(tmp_path, capsys):
    """--plot on a 4-D problem draws the value and gradient-norm curves."""
    path = tmp_path / "curves.png"

    status, _, _ = cli(
        [
            "run",
            "quadratic",
            "--dimension",
            "4",
            "--rule",
            "lbfgs",
            "--plot",
            str(path),
        ],
        capsys,
    )

    assert status == 0
    assert path.stat().st_size > 10_000


class TestNoGlobalState:
    """The command changes no global state: sys.path, loggers, sys.modules."""

    @pytest.fixture
    def snapshot(self):
        logger, root = logging.getLogger("optim"), logging.getLogger()

        def take():
            return (
                list(sys.path),
                logger.level,
                list(logger.handlers),
                logger.propagate,
                root.level,
                list(root.handlers),
                set(logging.root.manager.loggerDict),
            )

        return take

    def test_module_from_the_current_folder(self, tmp_path, capsys, monkeypatch):
        """MODULE:NAME from the current folder leaves sys.path and sys.modules."""
        (tmp_path / "cli_local_bowl.py").write_text(
            "def bowl(x):\n    return float((x[0] - 3) ** 2)\n"
        )
        monkeypatch.chdir(tmp_path)
        path_before, modules_before = list(sys.path), set(sys.modules)

        status, out, _ = cli(
            ["run", "cli_local_bowl:bowl", "--x0", "0", "--learning-rate", "0.25"],
            capsys,
        )

        assert status == 0
        assert out.startswith("converged")
        assert sys.path == path_before
        assert str(tmp_path) not in sys.path
        assert "cli_local_bowl" not in sys.modules
        assert set(sys.modules) - modules_before <= {"optim.plot", "optim.progress"}

    def test_current_folder_comes_first(self, tmp_path, capsys, monkeypatch):
        """A file in the current folder wins over an importable module's name."""
        (tmp_path / "json.py").write_text("def f(x):\n    return float(x[0] ** 2)\n")
        monkeypatch.chdir(tmp_path)

        status, _, _ = cli(
            ["run", "json:f", "--x0", "1", "--learning-rate", "0.1"], capsys
        )

        assert status == 0
        assert sys.modules["json"] is json

    def test_importable_module_still_found(self, capsys):
        """MODULE:NAME of an installed module imports it normally."""
        status, out, _ = cli(
            ["run", "optim.problems:Sphere", "--x0", "1,2", "--rule", "lbfgs"],
            capsys,
        )

        assert status == 0
        assert out.startswith("converged")

    def test_log_every_leaves_the_optim_logger_alone(self, snapshot, capsys):
        """--log-every logs to stderr without touching shared loggers."""
        before = snapshot()

        status, _, err = cli(
            ["run", "sphere", "--learning-rate", "0.1", "--log-every", "5"], capsys
        )

        assert status == 0
        assert "step 5: value=" in err
        assert snapshot() == before

    def test_log_every_does_not_reach_the_optim_logger(self, caplog, capsys):
        """Records of --log-every go to the CLI's own logger, not to 'optim'."""
        with caplog.at_level(logging.DEBUG, logger="optim"):
            status, _, _ = cli(
                ["run", "sphere", "--learning-rate", "0.1", "--log-every", "1"],
                capsys,
            )

        assert status == 0
        assert caplog.records == []

    @pytest.mark.parametrize(
        "argv",
        [
            ["demo", "--max-steps", "3"],
            ["problems"],
            ["run", "booth", "--rule", "lbfgs", "--log-every", "1", "--json"],
            ["run", "sphere", "--log-every", "0", "--learning-rate", "1"],
            ["run", "nosuch"],
            ["sweep", "sphere", "--rates", "0.1", "1"],
        ],
    )
    def test_every_command(self, argv, snapshot, capsys):
        """No command, successful or not, changes sys.path or the loggers."""
        before = snapshot()

        status, _, _ = cli(argv, capsys)

        assert status in (0, 2)
        assert snapshot() == before

    def test_plots_are_closed(self, tmp_path, capsys):
        """--plot leaves no figure open in pyplot."""
        import matplotlib.pyplot as plt

        status, _, _ = cli(
            ["run", "rosenbrock", "--rule", "lbfgs", "--plot", str(tmp_path / "r.png")],
            capsys,
        )

        assert status == 0
        assert plt.get_fignums() == []


def test_demo_lives_in_the_library():
    """The demo's runs and table come from optim.demo; the CLI only prints them."""
    runs = demo_results(max_steps=5)

    table = format_demo(runs)

    assert [run.learning_rate for run in runs] == [rate for rate, _ in DEMO_RUNS]
    assert table.splitlines()[0].split()[:3] == ["rate", "start", "outcome"]
    assert not hasattr(optim.cli, "DEMO_RUNS")
    assert not hasattr(optim.cli, "_plot_run")


def _strict_json(text):
    """json.loads that refuses NaN and Infinity, as a strict parser does."""

    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


class TestExitCodes:
    """`optim run` exits 0 only when the run converged or was stopped on purpose."""

    @pytest.mark.parametrize(
        ("argv", "status", "code"),
        [
            (["sphere", "--learning-rate", "0.1"], "converged", 0),
            (["sphere", "--learning-rate", "1.0", "--max-steps", "5"], "max_steps", 3),
            (["sphere", "--learning-rate", "10"], "diverged", 4),
        ],
    )
    def test_code_per_status(self, argv, status, code, capsys):
        """The documented code for converged, not converged and diverged runs."""
        exit_code, out, _ = cli(["run", *argv, "--json"], capsys)

        assert _strict_json(out)["status"] == status
        assert exit_code == code == optim.cli.EXIT_CODES[optim.Status(status)]

    def test_failed_and_interrupted(self, tmp_path, capsys, monkeypatch):
        """A run that raises exits 1 (result, then traceback); Ctrl-C exits 130."""
        (tmp_path / "cli_faulty.py").write_text(
            textwrap.dedent(
                """
                calls = []

                def crashes(x):
                    calls.append(1)
                    if len(calls) > 3:
                        raise RuntimeError("solver crashed")
                    return float(x[0] ** 2)

                def interrupted(x):
                    calls.append(1)
                    if len(calls) > 3:
                        raise KeyboardInterrupt
                    return float(x[0] ** 2)
                """
            )
        )
        monkeypatch.chdir(tmp_path)
        base = ["run", "--x0", "1", "--learning-rate", "0.1", "--json"]

        failed, failed_out, failed_err = cli(
            [*base[:1], "cli_faulty:crashes", *base[1:]], capsys
        )
        interrupted, out, _ = cli(
            [*base[:1], "cli_faulty:interrupted", *base[1:]], capsys
        )

        assert failed == 1
        assert _strict_json(failed_out)["status"] == "failed"
        assert "Traceback" in failed_err
        assert "RuntimeError: solver crashed" in failed_err
        assert interrupted == 130
        assert _strict_json(out)["status"] == "interrupted"

    def test_codes_cover_every_status(self):
        """Every status has a code; only converged and stopped runs exit 0."""
        codes = optim.cli.EXIT_CODES

        assert set(codes) == set(optim.Status)
        assert {s for s, c in codes.items() if c == 0} == {
            optim.Status.CONVERGED,
            optim.Status.STOPPED,
        }
        assert 2 not in codes.values()  # 2 is for bad input


class TestSeed:
    def test_seed_repeats_a_random_run(self, capsys):
        """--seed S makes an SPSA run repeat exactly; another seed differs."""
        argv = ["run", "rosenbrock", "--rule", "adam", "--estimator", "spsa"]
        argv += ["--max-steps", "30", "--json"]

        first = _strict_json(cli([*argv, "--seed", "4"], capsys)[1])
        again = _strict_json(cli([*argv, "--seed", "4"], capsys)[1])
        other = _strict_json(cli([*argv, "--seed", "5"], capsys)[1])

        assert first["x"] == again["x"]
        assert first["x"] != other["x"]

    @pytest.mark.parametrize("estimator", [None, "central"])
    def test_seed_needs_a_random_estimator(self, estimator, capsys):
        """--seed with a deterministic estimator is bad input, exit 2."""
        argv = ["run", "sphere", "--learning-rate", "0.1", "--seed", "1"]
        if estimator:
            argv += ["--estimator", estimator]

        status, _, err = cli(argv, capsys)

        assert status == 2
        assert "--seed" in err


def test_spsa_never_claims_false_convergence(capsys):
    """Over 20 seeds, L-BFGS with SPSA never reports CONVERGED far from a minimum."""
    rosenbrock = optim.problems.Rosenbrock()
    tol = 1e-6  # the default --tol
    for seed in range(20):
        argv = ["run", "rosenbrock", "--rule", "lbfgs", "--estimator", "spsa"]
        status, out, _ = cli([*argv, "--seed", str(seed), "--json"], capsys)
        data = _strict_json(out)

        true_norm = float(np.linalg.norm(rosenbrock.gradient(np.array(data["x"]))))
        if data["status"] == "converged":
            assert status == 0
            assert true_norm <= 100 * tol, (seed, data["x"], true_norm)
        else:
            assert status != 0


@pytest.mark.parametrize("ulps", [0, 1, 3, 5, 10])
def test_forward_differences_end_at_their_floor(ulps, capsys):
    """Forward differences at tol 1e-8 end honestly, from starts a few ulps apart.

    The estimator cannot resolve a gradient of 1e-8 on Rosenbrock: the run ends
    CONVERGED with a message that says tol is below its floor (and the true
    gradient is within that floor), or NOISE_FLOOR; never MAX_STEPS. The start is
    perturbed by a few ulps, which stands in for other BLAS kernels and CPUs.
    """
    rosenbrock = optim.problems.Rosenbrock()
    x0 = np.array([-1.2, 1.0])
    for _ in range(ulps):
        x0 = np.nextafter(x0, [np.inf, -np.inf])
    argv = ["run", "rosenbrock", "--rule", "lbfgs", "--estimator", "forward", "--json"]
    argv += ["--tol", "1e-8", f"--x0={float(x0[0])!r},{float(x0[1])!r}"]

    status, out, _ = cli(argv, capsys)
    data = _strict_json(out)

    true_norm = float(np.linalg.norm(rosenbrock.gradient(np.array(data["x"]))))
    assert status == optim.cli.EXIT_CODES[optim.Status(data["status"])]
    assert data["status"] in ("noise_floor", "converged")
    assert data["evaluations"] < 1000  # scipy's 2-point L-BFGS-B needs about 130
    if data["status"] == "converged" and true_norm > 1e-8:
        floor = float(data["message"].split("below the floor ")[1].split(" ")[0])
        assert true_norm <= floor
    if data["status"] == "noise_floor":
        assert "CentralDifference" in data["message"]


class TestManyRuns:
    def test_multistart_table_and_best(self, capsys):
        """optim multistart runs seeded starts and prints the best one last."""
        argv = ["multistart", "himmelblau", "--rule", "lbfgs", "--starts", "3"]
        argv += ["--spread", "2", "--start-seed", "1"]

        status, out, _ = cli(argv, capsys)

        lines = out.strip().splitlines()
        assert status == 0
        assert len(lines) == 5  # header, three starts, best
        assert lines[-1].startswith("best: start ")
        assert "converged" in lines[-1]

    def test_workers_give_the_same_table(self, capsys):
        """--workers 2 prints exactly what the sequential command prints."""
        argv = ["sweep", "sphere", "--x0", "3,2", "--rates", "1", "0.1", "1e-6"]

        sequential = cli(argv, capsys)
        parallel = cli([*argv, "--workers", "2"], capsys)
        multi = ["multistart", "rosenbrock", "--rule", "lbfgs", "--starts", "3"]

        assert parallel == sequential
        assert cli([*multi, "--workers", "2"], capsys) == cli(multi, capsys)

    @pytest.mark.parametrize(
        "argv",
        [
            ["sweep", "sphere", "--rates", "0.1", "--workers", "0"],
            ["multistart", "sphere", "--learning-rate", "0.1", "--starts", "0"],
        ],
    )
    def test_bad_counts_are_usage_errors(self, argv, capsys):
        """--workers 0 or --starts 0 is bad input: one line, exit 2."""
        status, _, err = cli(argv, capsys)

        assert status == 2
        assert len(err.strip().splitlines()) == 1
