"""Callbacks: hooks, StopOnZeroGradient, LogProgress (History: test_history.py)."""

import logging
import subprocess
import sys

import numpy as np
import pytest

from optim import (
    Callback,
    FixedStep,
    History,
    LogProgress,
    Optimizer,
    Status,
    Stop,
    StopOnZeroGradient,
)
from optim.problems import Sphere


def run(callbacks, *, rate=0.25, max_steps=3, x0=(1.0, 0.0), **kwargs):
    return Optimizer(
        Sphere(),
        step_rule=FixedStep(rate),
        callbacks=callbacks,
        max_steps=max_steps,
        **kwargs,
    ).run(list(x0))


class TestHooks:
    def test_order_of_hooks(self):
        """on_start once, on_step for steps 0..k, on_end once with the result."""
        events = []

        class Recorder(Callback):
            def on_start(self, context, x0):
                events.append(("start", tuple(x0)))

            def on_step(self, info):
                events.append(("step", info.step))

            def on_end(self, result):
                events.append(("end", result.steps))

        run([Recorder()], max_steps=2)

        assert events == [
            ("start", (1.0, 0.0)),
            ("step", 0),
            ("step", 1),
            ("step", 2),
            ("end", 2),
        ]

    def test_stop_record_sets_status_and_message(self):
        """A callback returning Stop ends the run with that status and message."""
        result = run([lambda info: Stop(Status.CONVERGED, "good enough")])

        assert result.status is Status.CONVERGED
        assert result.message == "good enough"
        assert result.steps == 0

    def test_first_stop_wins(self):
        """When several callbacks stop on one step, the first one's reason is kept."""
        result = run(
            [lambda info: Stop(Status.CONVERGED, "first"), lambda info: True],
        )

        assert result.message == "first"

    def test_single_callback_need_not_be_a_list(self):
        """callbacks= accepts one callback on its own."""
        history = History()

        run(history, max_steps=1)

        assert len(history) == 2


class TestStopOnZeroGradient:
    @pytest.mark.parametrize(
        ("norm", "gradient_size"),
        [(2.0, np.sqrt(2.0)), (1.0, 2.0), (np.inf, 1.0)],
    )
    def test_norms(self, norm, gradient_size):
        """The tolerance is compared with the chosen norm of the gradient (1, 1)."""
        just_above = StopOnZeroGradient(gradient_size * 0.999, norm=norm)
        just_below = StopOnZeroGradient(gradient_size * 1.001, norm=norm)

        kept = run([just_above], max_steps=0, x0=(0.5, 0.5))
        stopped = run([just_below], max_steps=0, x0=(0.5, 0.5))

        assert kept.status is Status.MAX_STEPS
        assert stopped.status is Status.CONVERGED

    def test_invalid_arguments(self):
        """Negative tolerances and unknown norms name the argument."""
        with pytest.raises(ValueError, match="tol"):
            StopOnZeroGradient(-1.0)
        with pytest.raises(ValueError, match="norm"):
            StopOnZeroGradient(1e-6, norm=3)

    def test_message(self):
        """The message states the gradient norm, the tolerance and the step."""
        result = run([StopOnZeroGradient(1e-3)], max_steps=100, rate=0.25)

        assert result.status is Status.CONVERGED
        assert result.message.startswith("gradient norm ")
        assert f"at step {result.steps}" in result.message


class TestLogProgress:
    def test_records(self, caplog):
        """Start, every k-th step and the end are logged at INFO on 'optim'."""
        caplog.set_level(logging.INFO, logger="optim")

        run([LogProgress(every=2)], max_steps=4)

        messages = [r.getMessage() for r in caplog.records if r.name == "optim"]
        assert messages[0].startswith("start: descent from x0 of shape (2,)")
        assert [m.split(":")[0] for m in messages[1:-1]] == [
            "step 0",
            "step 2",
            "step 4",
        ]
        assert messages[1] == "step 0: value=1 gradient_norm=2"
        assert messages[-1].startswith("end: max_steps after 4 steps")
        assert all(r.levelno == logging.INFO for r in caplog.records)

    def test_custom_logger_and_level(self, caplog):
        """A given logger and level are used."""
        logger = logging.getLogger("my.app")
        caplog.set_level(logging.DEBUG, logger="my.app")

        run([LogProgress(logger=logger, level=logging.DEBUG)], max_steps=0)

        assert {r.name for r in caplog.records} == {"my.app"}
        assert {r.levelno for r in caplog.records} == {logging.DEBUG}

    def test_every_must_be_positive(self):
        """every=0 names the argument."""
        with pytest.raises(ValueError, match="every"):
            LogProgress(every=0)

    def test_library_prints_nothing(self, capsys):
        """A full run with logging and a divergence writes nothing to stdout/stderr."""
        run([LogProgress(), History(), StopOnZeroGradient()], max_steps=20)
        run([LogProgress()], rate=1e150, max_steps=20, max_growth=None)

        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == ""

    def test_no_logging_configuration(self):
        """Importing and running optim adds no handlers to the root logger."""
        code = (
            "import logging, optim\n"
            "from optim.problems import Sphere\n"
            "optim.Optimizer(Sphere(), step_rule=optim.FixedStep(0.1),"
            " callbacks=[optim.LogProgress()], max_steps=3).run([1.0])\n"
            "print(len(logging.getLogger().handlers))\n"
        )

        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )

        assert out.stdout.strip() == "0"
        assert out.stderr == ""


@pytest.mark.parametrize("norm", [1.0, 2.0, np.inf])
@pytest.mark.parametrize("x0", [(3.0, -4.0), (-2.0,), (0.5, -0.25, 0.125)])
def test_stop_on_zero_gradient_measures_numpy_s_norm(norm, x0):
    """The stop fires exactly where numpy.linalg.norm of the gradient reaches tol."""
    gradient = 2.0 * np.asarray(x0)  # the sphere's, at x0
    size = float(np.linalg.norm(gradient, ord=norm))
    at = Optimizer(
        Sphere(),
        step_rule=FixedStep(0.1),
        callbacks=[StopOnZeroGradient(size, norm=norm)],
    ).run(x0)
    assert at.status.name == "CONVERGED"
    assert at.steps == 0
    below = np.nextafter(size, 0.0)
    above = Optimizer(
        Sphere(),
        step_rule=FixedStep(0.1),
        callbacks=[StopOnZeroGradient(below, norm=norm)],
        max_steps=0,
    ).run(x0)
    assert above.status.name != "CONVERGED"
