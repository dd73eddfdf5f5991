"""Plots, drawn headless with the Agg backend."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from optim import FixedStep, History, Optimizer, sweep_learning_rates
from optim.plot import plot_contour, plot_curves, plot_run, plot_sweep
from optim.problems import Quadratic, Sphere


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def recorded(rate, steps=10, x0=(3.0, 2.0)):
    history = History()
    Optimizer(
        Sphere(), step_rule=FixedStep(rate), callbacks=[history], max_steps=steps
    ).run(list(x0))
    return history


def test_contour_draws_each_path_exactly(tmp_path):
    """One line per path with the iterates as data, over contour lines."""
    histories = [recorded(0.1), recorded(0.4)]

    ax = plot_contour(Sphere(), histories, labels=["slow", "fast"])

    assert len(ax.lines) == 2
    for line, history in zip(ax.lines, histories, strict=True):
        np.testing.assert_array_equal(line.get_xdata(), history.x[:, 0])
        np.testing.assert_array_equal(line.get_ydata(), history.x[:, 1])
    assert len(ax.collections) >= 1  # the contour set
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["slow", "fast"]
    x_low, x_high = ax.get_xlim()
    assert x_low < 0.0 < 3.0 < x_high
    ax.figure.savefig(tmp_path / "contour.png")
    assert (tmp_path / "contour.png").stat().st_size > 1000


def test_contour_rejects_bad_paths():
    """Paths must be 2-D and labels must match them."""
    with pytest.raises(ValueError, match="2-D points"):
        plot_contour(Sphere(), [np.zeros((3, 3))])
    with pytest.raises(ValueError, match="labels"):
        plot_contour(Sphere(), [recorded(0.1)], labels=["a", "b"])


def test_curves_are_log_scaled_values_and_norms(tmp_path):
    """Values and gradient norms per step, on log axes."""
    history = recorded(0.1)

    figure = plot_curves(history)
    value_ax, norm_ax = figure.axes

    np.testing.assert_array_equal(value_ax.lines[0].get_ydata(), history.values)
    np.testing.assert_array_equal(norm_ax.lines[0].get_ydata(), history.gradient_norms)
    assert value_ax.get_yscale() == norm_ax.get_yscale() == "log"
    figure.savefig(tmp_path / "curves.svg")
    assert "<svg" in (tmp_path / "curves.svg").read_text()


def test_negative_values_are_drawn_above_the_lowest_value():
    """Values below zero, minimum unknown: f minus the lowest value, on a log axis."""
    history = History()
    Optimizer(
        lambda x: float(x @ x) - 1.0,
        step_rule=FixedStep(0.25),
        callbacks=[history],
        max_steps=5,
    ).run([1.0])

    figure = plot_curves([history], labels=["shifted"])
    value_ax = figure.axes[0]

    assert value_ax.get_yscale() == "log"
    assert "lowest value seen" in value_ax.get_ylabel()
    drawn = value_ax.lines[0].get_ydata()
    np.testing.assert_allclose(drawn[:-1], history.values[:-1] - history.values[-1])
    assert np.isnan(drawn[-1])  # exactly the lowest: marked, not drawn


def test_known_minimum_gives_f_minus_f_star_and_marks_zero():
    """A run that reaches the minimum exactly keeps a log axis; 0 is marked."""
    history = History()
    Optimizer(Sphere(), step_rule=FixedStep(0.5), callbacks=[history]).run([3.0, 2.0])
    assert history.values[-1] == 0.0

    figure = plot_curves(history, minimum=0.0, title="sphere")
    value_ax = figure.axes[0]

    assert value_ax.get_yscale() == "log"
    assert value_ax.get_ylabel().startswith("$f(x) - f^*$")
    assert [t.get_text() for t in value_ax.texts] == ["0"]
    assert figure.get_suptitle() == "sphere"


def test_overlapping_curves_differ_in_style():
    """Each curve has its own color, dashes and marker, staggered along it."""
    histories = [recorded(1.0, 40), recorded(1e-6, 40)]  # both stay near f = 13

    figure = plot_curves(histories, labels=["oscillating", "stalled"])
    first, second = figure.axes[0].lines[:2]

    assert first.get_marker() != second.get_marker()
    assert first.get_linestyle() != second.get_linestyle()
    assert first.get_markevery() != second.get_markevery()
    assert first.get_linewidth() > second.get_linewidth()


def test_legends_sit_below_the_axes():
    """The sweep's legend belongs to the figure, outside both panels."""
    runs = sweep_learning_rates(Sphere(), [3.0, 2.0], [1.0, 0.1])

    figure = plot_sweep(Sphere(), runs, title="sphere: two rates")

    assert figure.axes[0].get_legend() is None
    assert figure.axes[1].get_legend() is None
    assert len(figure.legends) == 1
    assert figure.get_suptitle() == "sphere: two rates"


def test_sweep_figure(tmp_path):
    """The sweep figure shows every rate's path and value curve, labelled."""
    runs = sweep_learning_rates(Sphere(), [3.0, 2.0], [1.0, 0.1, 1e-6])

    figure = plot_sweep(Sphere(), runs)
    path_ax, value_ax = figure.axes

    labels = ["rate 1: oscillating", "rate 0.1: converged", "rate 1e-06: stalled"]
    assert [line.get_label() for line in path_ax.lines] == labels
    assert [line.get_label() for line in value_ax.lines] == labels
    np.testing.assert_array_equal(path_ax.lines[1].get_xdata(), runs[1].history.x[:, 0])
    figure.savefig(tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").exists()


def test_run_figure_of_a_2d_run(tmp_path):
    """plot_run draws the path over the contours and the value curve."""
    history = recorded(0.1)

    figure = plot_run(Sphere(), history)

    path_ax, value_ax = figure.axes[0], figure.axes[1]
    np.testing.assert_array_equal(path_ax.lines[0].get_xydata(), history.x)
    np.testing.assert_array_equal(value_ax.lines[0].get_ydata(), history.values)
    assert value_ax.get_yscale() == "log"
    figure.savefig(tmp_path / "run.png")


def test_run_figure_of_a_higher_dimensional_run():
    """plot_run falls back to the value and gradient-norm curves beyond 2-D."""
    history = History()
    Optimizer(
        Quadratic(dimension=4), step_rule=FixedStep(0.05), callbacks=[history]
    ).run(Quadratic(dimension=4).start)

    figure = plot_run(Quadratic(dimension=4), history)

    assert [ax.get_ylabel() for ax in figure.axes] == [
        "$f(x) - f^*$  ($f^* = 0$)",
        "gradient norm",
    ]
    assert figure.get_suptitle() == "Quadratic"


def test_run_figure_without_kept_points():
    """plot_run draws the curves when History kept no point."""
    history = History(keep_x_every=None)
    Optimizer(Sphere(), step_rule=FixedStep(0.1), callbacks=[history], max_steps=5).run(
        [3.0, 2.0]
    )

    figure = plot_run(Sphere(), history)

    assert figure.axes[1].get_ylabel() == "gradient norm"
