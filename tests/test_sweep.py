"""Learning-rate sweeps, history export and the progress bar."""

import io
import json

import numpy as np
import pandas as pd

from optim import (
    FixedStep,
    History,
    Optimizer,
    ProgressBar,
    format_sweep,
    sweep_learning_rates,
)
from optim.problems import Sphere


def test_sweep_outcomes_are_the_textbook_lesson():
    """Rates 1, 0.1 and 1e-6 oscillate, converge and stall."""
    runs = sweep_learning_rates(Sphere(), [3.0, 2.0], [1.0, 0.1, 1e-6])

    assert [run.result.outcome for run in runs] == [
        "oscillating",
        "converged",
        "stalled",
    ]
    # Rate 1 never improves on its start: the progress stop ends it after 20 steps.
    assert [len(run.history) for run in runs] == [21, 93, 101]
    assert runs[0].result.status.name == "NO_PROGRESS"
    table = format_sweep(runs)
    assert table.splitlines()[2].split()[:3] == ["0.1", "converged", "92"]


def test_sweep_of_a_diverging_rate():
    """A rate above 1 on the sphere diverges."""
    (run,) = sweep_learning_rates(Sphere(), [-3.0, 4.0], [10.0])

    assert run.result.outcome == "diverged"


def history_of(steps=2):
    history = History()
    Optimizer(
        Sphere(), step_rule=FixedStep(0.25), callbacks=[history], max_steps=steps
    ).run([1.0, -2.0])
    return history


def test_as_dict_is_a_dataframe():
    """as_dict() gives equal-length columns that pandas takes directly."""
    frame = pd.DataFrame(history_of().as_dict())

    assert list(frame.columns) == [
        "step",
        "value",
        "gradient_norm",
        "step_size",
        "x[0]",
        "x[1]",
    ]
    np.testing.assert_array_equal(frame["x[1]"], [-2.0, -1.0, -0.5])
    np.testing.assert_array_equal(frame["value"], [5.0, 1.25, 0.3125])


def test_write_csv_and_json_round_trip(tmp_path):
    """CSV and JSON files hold every column at full precision."""
    history = history_of(steps=3)
    history.write(tmp_path / "h.csv")
    history.write(tmp_path / "h.json")

    from_csv = pd.read_csv(tmp_path / "h.csv")
    from_json = json.loads((tmp_path / "h.json").read_text())

    for key, column in history.as_dict().items():
        np.testing.assert_array_equal(from_csv[key], column)
        np.testing.assert_array_equal(from_json[key], column)


def test_write_refuses_other_formats(tmp_path):
    """Only .csv and .json are written."""
    try:
        history_of().write(tmp_path / "h.xlsx")
    except ValueError as error:
        message = str(error)
    else:
        message = ""
    assert "path must end in .csv or .json" in message


def test_progress_bar_counts_steps():
    """The bar reaches max_steps and shows the value and gradient norm."""
    stream = io.StringIO()

    Optimizer(
        Sphere(),
        step_rule=FixedStep(0.1),
        callbacks=[ProgressBar(file=stream)],
        max_steps=25,
    ).run([3.0, 2.0])

    output = stream.getvalue()
    assert "25/25" in output
    assert "gradient_norm=" in output
    assert "value=" in output
