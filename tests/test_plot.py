"""Plots, drawn headless with the Agg backend."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from optim import Bounds, FixedStep, History, Optimizer, sweep_learning_rates
from optim.demo import demo_results
from optim.plot import (
    plot_comparison,
    plot_contour,
    plot_curves,
    plot_run,
    plot_sweep,
)
from optim.problems import Himmelblau, Quadratic, Rosenbrock, Sphere


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

    paths = [line for line in ax.lines if line.get_label() in ("slow", "fast")]
    assert paths == ax.lines[:2]
    for line, history in zip(paths, histories, strict=True):
        np.testing.assert_array_equal(line.get_xdata(), history.x[:, 0])
        np.testing.assert_array_equal(line.get_ydata(), history.x[:, 1])
    assert len(ax.collections) >= 1  # the contour set
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "slow",
        "fast",
        "start",
        "end",
        "minimizer",
    ]
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
    path_ax, value_ax = figure.axes[:2]

    labels = ["rate 1: oscillating", "rate 0.1: converged", "rate 1e-06: stalled"]
    assert [line.get_label() for line in path_ax.lines[:3]] == labels
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


def by_label(ax, label):
    """The one line of `ax` with this label."""
    (line,) = [line for line in ax.lines if line.get_label() == label]
    return line


class TestFiguresReadRight:
    def test_circles_look_round(self):
        """The sphere's contours are drawn with equal scales on both axes."""
        ax = plot_contour(Sphere(), [recorded(0.1)])

        assert ax.get_aspect() == 1.0
        assert ax.get_adjustable() == "box"

    def test_a_long_thin_view_keeps_free_scales(self):
        """A view 100 times wider than tall is not squeezed into a sliver."""
        ax = plot_contour(Sphere(), bounds=((0.0, 100.0), (0.0, 1.0)))

        assert ax.get_aspect() == "auto"

    def test_start_end_and_minimizer_are_marked(self):
        """Each path's first and last point, and the known minimizer, are marked."""
        histories = [recorded(0.1), recorded(0.4, x0=(-3.0, 4.0))]

        ax = plot_contour(Sphere(), histories, labels=["a", "b"])

        for i, history in enumerate(histories):
            start, end = by_label(ax, f"_start {i}"), by_label(ax, f"_end {i}")
            np.testing.assert_array_equal(start.get_xydata(), history.x[:1])
            np.testing.assert_array_equal(end.get_xydata(), history.x[-1:])
            assert start.get_marker() == "o"
            assert end.get_marker() == "X"
            assert start.get_markeredgecolor() == ax.lines[i].get_color()
            assert end.get_markerfacecolor() == ax.lines[i].get_color()
        np.testing.assert_array_equal(by_label(ax, "minimizer").get_xydata(), [[0, 0]])
        paths = max(line.get_zorder() for line in ax.lines[:2])
        assert by_label(ax, "_end 1").get_zorder() > paths
        assert by_label(ax, "minimizer").get_zorder() > paths

    def test_every_minimizer_of_himmelblau(self):
        """A problem with four global minimizers gets four stars."""
        ax = plot_contour(Himmelblau(), bounds=((-5.0, 5.0), (-5.0, 5.0)))

        stars = by_label(ax, "minimizers")

        np.testing.assert_allclose(stars.get_xydata(), Himmelblau().minimizers)

    def test_only_minimizers_in_view_are_marked(self):
        """Himmelblau from (0, 0) shows the one minimizer it reaches, no legend
        entry for the three off the picture."""
        ax = plot_contour(Himmelblau(), bounds=((0.0, 4.0), (0.0, 4.0)))

        np.testing.assert_allclose(by_label(ax, "minimizer").get_xydata(), [[3, 2]])
        assert "minimizers" not in [line.get_label() for line in ax.lines]

    def test_contour_levels_have_a_colorbar(self):
        """The contour set has a colorbar labelled f(x)."""
        ax = plot_contour(Sphere(), [recorded(0.1)])

        (contours,) = ax.collections
        assert contours.colorbar is not None
        assert contours.colorbar.ax.get_ylabel() == "$f(x)$"
        assert contours.colorbar.ax in ax.figure.axes

    def test_sweep_draws_oscillating_paths_beneath_the_converged_one(self):
        """The demo's converged path is drawn over the one bouncing through it."""
        runs = demo_results()
        outcomes = [run.result.outcome for run in runs]

        figure = plot_sweep(Sphere(), runs)

        for ax in figure.axes[:2]:
            lines = dict(zip(outcomes, ax.lines, strict=False))
            converged, stalled = lines["converged"], lines["stalled"]
            for bouncing in (lines["oscillating"], lines["diverged"]):
                assert bouncing.get_zorder() < converged.get_zorder()
                assert bouncing.get_zorder() < stalled.get_zorder()
                assert bouncing.get_alpha() == 0.45
                assert bouncing.get_linewidth() < converged.get_linewidth()
            assert converged.get_alpha() is None
        contours = figure.axes[0].collections[0]
        assert contours.get_zorder() < figure.axes[0].lines[1].get_zorder()

    def test_one_legend_explains_paths_and_markers(self):
        """The sweep's legend below: every rate, then start, end and minimizer."""
        runs = sweep_learning_rates(Sphere(), [3.0, 2.0], [1.0, 0.1])

        figure = plot_sweep(Sphere(), runs)

        (legend,) = figure.legends
        assert [t.get_text() for t in legend.get_texts()] == [
            "rate 1: oscillating",
            "rate 0.1: converged",
            "start",
            "end",
            "minimizer",
        ]

    def test_bounded_run_is_measured_from_what_the_box_allows(self):
        """f* = 0 lies outside [1, 3]^2: the label does not claim it."""
        box = Bounds(1.0, 3.0)
        history = History()
        Optimizer(
            Sphere(), step_rule=FixedStep(0.1), callbacks=[history], constraint=box
        ).run([3.0, 2.5])

        figure = plot_run(Sphere(), history, constraint=box)
        path_ax, value_ax = figure.axes[:2]

        assert history.values[-1] == 2.0  # the constrained minimum, at (1, 1)
        assert value_ax.get_ylabel() == (
            "$f(x) -$ lowest value seen in the constraint ($2$)"
        )
        np.testing.assert_allclose(
            value_ax.lines[0].get_ydata()[:-1], history.values[:-1] - 2.0
        )
        assert "minimizer" not in [line.get_label() for line in path_ax.lines]

    def test_a_minimizer_outside_the_constraint_is_hollow(self):
        """The sphere's minimizer, outside [1, 3]^2, is marked as such."""
        ax = plot_contour(
            Sphere(), bounds=((-1.0, 3.0), (-1.0, 3.0)), constraint=Bounds(1.0, 3.0)
        )

        outside = by_label(ax, "minimizer outside the constraint")

        np.testing.assert_array_equal(outside.get_xydata(), [[0, 0]])
        assert outside.get_markerfacecolor() == "none"
        assert "minimizer" not in [line.get_label() for line in ax.lines]

    def test_a_box_around_the_minimizer_keeps_f_star(self):
        """When the minimizer is feasible, the global minimum is the box's too."""
        box = Bounds(-1.0, 3.0)
        history = History()
        Optimizer(
            Sphere(), step_rule=FixedStep(0.1), callbacks=[history], constraint=box
        ).run([3.0, 2.5])

        figure = plot_run(Sphere(), history, constraint=box)

        assert figure.axes[1].get_ylabel() == "$f(x) - f^*$  ($f^* = 0$)"
        assert [line.get_label() for line in figure.axes[0].lines].count(
            "minimizer"
        ) == 1

    @pytest.mark.parametrize("steps", [3, 5, 7])
    def test_step_axes_have_integer_ticks(self, steps):
        """A short run's step axis is labelled 0, 1, 2, ..., never 0.5."""
        history = recorded(0.1, steps=steps)

        for figure in (plot_run(Sphere(), history), plot_curves(history)):
            figure.canvas.draw()
            for ax in figure.axes[:2]:
                if ax.get_xlabel() != "step":
                    continue
                ticks = [t for t in ax.get_xticks() if 0 <= t <= steps]
                assert len(ticks) >= 3
                assert all(float(t).is_integer() for t in ticks), ticks

    def test_rendered_figures(self, tmp_path):
        """The three kinds of figure render to PNG (look at them: see docs)."""
        runs = demo_results()
        histories = [History(), History()]
        for rate, history in zip([1e-3, 2e-3], histories, strict=True):
            Optimizer(
                Rosenbrock(),
                step_rule=FixedStep(rate),
                callbacks=[history],
                max_steps=50,
            ).run([-1.2, 1.0])

        figures = {
            "demo.png": plot_sweep(Sphere(), runs),
            "rules.png": plot_comparison(Rosenbrock(), histories, ["a", "b"]),
            "run.png": plot_run(Sphere(), recorded(0.1)),
        }

        for name, figure in figures.items():
            figure.savefig(tmp_path / name, dpi=50)
            assert (tmp_path / name).stat().st_size > 5_000
