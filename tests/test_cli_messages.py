"""Bad input on the command line: exit status 2 and one line that says what to do."""

import json
import subprocess
import sys
import textwrap

import pytest

from optim.cli import main
from optim.registry import PROBLEMS


def cli(argv, capsys):
    """Run `optim ARGV`; return (exit status, stdout, stderr)."""
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status, out, err):
    assert status == 2, err
    assert out == ""
    assert err.count("\n") == 1, err
    assert "error:" in err
    assert "Traceback" not in err


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """A current folder with `funcs.py`: complex-safe and real-only functions."""
    (tmp_path / "funcs.py").write_text(
        textwrap.dedent(
            """
            import numpy as np

            def smooth(x):
                return np.exp(x[0]) * (x[0] - 1) ** 2 + (x[1] + 2) ** 2

            def with_abs(x):
                return abs(x[0] - 1) + abs(x[1] + 2)

            def with_float(x):
                return float(x[0] - 1) ** 2 + float(x[1] + 2) ** 2
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


class TestComplexStep:
    @pytest.mark.parametrize("problem", sorted(PROBLEMS))
    def test_built_in_problems_are_refused(self, problem, capsys):
        """No built-in problem takes complex points: exit 2 naming the reason."""
        status, out, err = cli(["run", problem, "--estimator", "complex"], capsys)

        assert_one_line_error(status, out, err)
        assert f"--estimator complex: {problem} evaluates in real arithmetic" in err
        assert "use --estimator central or richardson" in err

    @pytest.mark.parametrize("command", ["sweep", "multistart"])
    def test_refused_by_every_command(self, command, capsys):
        """sweep and multistart refuse it the same way, before any run."""
        argv = [command, "sphere", "--estimator", "complex"]
        argv += ["--rates", "0.1"] if command == "sweep" else ["--starts", "2"]

        status, out, err = cli(argv, capsys)

        assert_one_line_error(status, out, err)
        assert "real arithmetic" in err

    def test_a_complex_safe_function_runs(self, in_tmp, capsys):
        """A function built from analytic operations gets complex-step gradients."""
        status, out, err = cli(
            ["run", "funcs:smooth", "--x0", "0.5,0", "--estimator", "complex"],
            capsys,
        )

        assert status == 0, err
        assert out.startswith("converged")

    @pytest.mark.parametrize("name", ["with_abs", "with_float"])
    def test_a_real_only_function_is_refused(self, name, in_tmp, capsys):
        """abs() or float() drop the imaginary part: exit 2, no traceback."""
        status, out, err = cli(
            ["run", f"funcs:{name}", "--x0", "0.5,0", "--estimator", "complex"],
            capsys,
        )

        assert_one_line_error(status, out, err)
        assert f"funcs:{name} evaluates in real arithmetic" in err

    def test_ctrl_c_while_checking_exits_130(self, in_tmp, capsys):
        """An interrupt during the check is an interrupt: exit 130, no traceback."""
        (in_tmp / "stuck.py").write_text("def f(x):\n    raise KeyboardInterrupt\n")

        status, out, err = cli(
            ["run", "stuck:f", "--x0", "1", "--estimator", "complex"], capsys
        )

        assert status == 130
        assert out == ""
        assert err == "optim run: interrupted\n"


class TestLearningRateTwice:
    @pytest.mark.parametrize("command", ["run", "multistart"])
    def test_learning_rate_and_param(self, command, capsys):
        """--learning-rate with --param learning_rate=...: one line, exit 2."""
        argv = [command, "sphere", "--learning-rate", "0.2"]
        argv += ["--param", "learning_rate=0.1"]

        status, out, err = cli(argv, capsys)

        assert_one_line_error(status, out, err)
        assert "--learning-rate and --param learning_rate=... both set" in err

    def test_param_learning_rate_in_a_sweep(self, capsys):
        """A sweep sets the rate of each run: --param learning_rate conflicts."""
        status, out, err = cli(
            ["sweep", "sphere", "--rates", "0.1", "--param", "learning_rate=0.2"],
            capsys,
        )

        assert_one_line_error(status, out, err)
        assert "conflicts with --rates" in err

    def test_param_learning_rate_alone_still_works(self, capsys):
        """--param learning_rate=... without --learning-rate sets the rate."""
        status, out, _ = cli(
            ["run", "sphere", "--rule", "fixed", "--param", "learning_rate=0.1"],
            capsys,
        )

        assert status == 0
        assert out.startswith("converged")


class TestStart:
    @pytest.mark.parametrize("command", ["run", "sweep", "multistart"])
    def test_start_where_the_objective_overflows(self, command, capsys):
        """--x0=1e308,1e308: the sphere is inf there; exit 2 naming --x0."""
        argv = [command, "sphere", "--x0=1e308,1e308"]
        argv += ["--rates", "0.1"] if command == "sweep" else []

        status, out, err = cli(argv, capsys)

        assert_one_line_error(status, out, err)
        assert "--x0=1e308,1e308: the objective's value there is inf" in err

    def test_a_start_projected_into_the_box_is_checked_there(self, capsys):
        """With --bounds the run starts from the projected point, where f is 2."""
        status, out, err = cli(
            ["run", "sphere", "--x0=1e308,1e308", "--bounds=-1,1", "--json"], capsys
        )

        assert status == 0, err
        assert '"status": "converged"' in out

    def test_a_users_objective_is_not_evaluated_before_its_run(self, in_tmp, capsys):
        """Every call of a user's function is one the run counts."""
        (in_tmp / "counted.py").write_text(
            "def f(x):\n"
            "    with open('calls.txt', 'a') as calls:\n"
            "        calls.write('.')\n"
            "    return float(x @ x)\n"
        )

        argv = ["run", "counted:f", "--x0", "1,2", "--learning-rate", "0.1"]

        status, out, _ = cli([*argv, "--max-steps", "3", "--json"], capsys)

        assert status == 3
        assert json.loads(out)["evaluations"] == len((in_tmp / "calls.txt").read_text())

    @pytest.mark.parametrize(
        ("argv", "write"),
        [
            (["run", "sphere", "--x0", "-1,2"], "write --x0=-1,2"),
            (["run", "sphere", "--bounds", "-1,1"], "write --bounds=-1,1"),
            (["run", "sphere", "--tol", "-1e-3"], "write --tol=-1e-3"),
            (["sweep", "sphere", "--rates", "0.1", "--x0", "-3,2"], "--x0=-3,2"),
        ],
    )
    def test_a_value_with_a_minus_sign_says_how_to_write_it(self, argv, write, capsys):
        """argparse's `expected one argument` comes with the spelling that works."""
        status, out, err = cli(argv, capsys)

        assert_one_line_error(status, out, err)
        assert "expected one argument" in err
        assert write in err

    def test_the_installed_command_says_it_too(self):
        """The same message from `python -m optim`, as a shell user meets it."""
        done = subprocess.run(
            [sys.executable, "-m", "optim", "run", "sphere", "--x0", "-1,2"],
            capture_output=True,
            text=True,
            check=False,
        )

        assert done.returncode == 2
        assert done.stdout == ""
        assert done.stderr == (
            "optim run: error: argument --x0: expected one argument; a value that "
            "starts with a minus sign must be attached with '=': write --x0=-1,2 "
            "(see optim run --help)\n"
        )

    def test_a_missing_value_gets_no_such_hint(self, capsys):
        """`--x0` at the end has no value at all: no advice about minus signs."""
        status, out, err = cli(["run", "sphere", "--x0"], capsys)

        assert_one_line_error(status, out, err)
        assert "minus sign" not in err
