"""Plots of runs: contours with paths, value and gradient-norm curves, sweeps.

Needs matplotlib (`pip install "optim-gradient[plot]"`), imported only when a function
here is called. Every function returns the matplotlib figure (or axes) so you can
restyle it or save it with `savefig`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from optim._types import Array
from optim.errors import MissingExtraError
from optim.history import History
from optim.objective import Objective
from optim.projections import Bounds, Projection

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from optim.sweep import SweepRun

Path = History | Array
"""A run's path: a [`History`][optim.history.History] or an array of points
`(k, 2)`."""


_LINE_STYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "P")


def _style(i: int, steps: int) -> dict[str, Any]:
    """Line style of the `i`-th curve: its own color, dashes and marker shape.

    Markers are staggered along the curve (`markevery` offset by `i`), and
    earlier curves are drawn wider, so curves that coincide stay visible.
    """
    every = max(1, steps // 10)
    return {
        "color": f"C{i % 10}",
        "linestyle": _LINE_STYLES[i % len(_LINE_STYLES)],
        "marker": _MARKERS[i % len(_MARKERS)],
        "markersize": 5,
        "markevery": ((i * max(1, every // 3)) % every, every),
        "linewidth": max(1.0, 2.6 - 0.5 * i),
        "zorder": 3 + i,
    }


def _minimizers(objective: Objective) -> Array | None:
    """The objective's known global minimizers, shape `(k, n)`, or None."""
    points = getattr(objective, "minimizers", None)
    if points is None:
        points = getattr(objective, "minimizer", None)
    if points is None:
        return None
    points = np.asarray(points, dtype=float)
    return points.reshape(-1, points.shape[-1]) if points.ndim else None


def _feasible(points: Array, constraint: Projection | None) -> npt.NDArray[np.bool_]:
    """Which of `points` (rows) lie in the constraint's set."""
    if constraint is None:
        return np.ones(len(points), dtype=bool)
    return np.array([np.array_equal(constraint.project(p), p) for p in points])


def _known_minimum(
    objective: Objective, constraint: Projection | None = None
) -> float | None:
    """The minimum of the run's problem, when the objective knows it.

    A problem's global minimum is also the constrained one when a global
    minimizer lies in the constraint's set; otherwise the constrained minimum is
    not known (`None`).
    """
    minimum = getattr(objective, "minimum", None)
    if not isinstance(minimum, int | float):
        return None
    if constraint is not None:
        points = _minimizers(objective)
        if points is None or not _feasible(points, constraint).any():
            return None
    return float(minimum)


def _value_axis(
    series: Sequence[Array], minimum: float | None, *, constrained: bool = False
) -> tuple[list[Array], str]:
    """What to draw on a log axis, and its label.

    `f - f*` when the minimum is known; `f` when it stays positive; otherwise
    `f - (lowest value seen)`, which is also what a constrained run whose
    minimum is not known gets (its values level off at the constrained
    minimum, not at 0). Exact zeros are left out of the line (a log axis has no
    zero) and marked at the bottom of the axes by `_plot_values`.
    """
    finite = [v[np.isfinite(v)] for v in series]
    lowest = min((float(v.min()) for v in finite if v.size), default=0.0)
    if minimum is not None and lowest >= minimum:
        return [v - minimum for v in series], f"$f(x) - f^*$  ($f^* = {minimum:g}$)"
    if constrained and minimum is None:
        label = f"$f(x) -$ lowest value seen in the constraint (${lowest:.6g}$)"
        return [v - lowest for v in series], label
    if lowest > 0 or (lowest == 0 and minimum is None):
        return list(series), "objective value $f(x)$"
    return [v - lowest for v in series], f"$f(x) -$ lowest value seen (${lowest:.6g}$)"


def _plot_values(
    ax: Axes,
    steps: Sequence[Array],
    series: Sequence[Array],
    *,
    minimum: float | None,
    labels: Sequence[str | None],
    constrained: bool = False,
) -> None:
    """Draw value curves on a log axis (see `_value_axis`), zeros marked."""
    shifted, ylabel = _value_axis(series, minimum, constrained=constrained)
    for i, (x, y, label) in enumerate(zip(steps, shifted, labels, strict=True)):
        style = _style(i, len(x))
        line = np.where(y > 0, y, np.nan)
        ax.plot(x, line, label=label, **style)
        zeros = x[y == 0]
        if zeros.size:  # at the bottom edge: a log axis has no 0
            ax.plot(
                zeros[:1],
                [0.0],
                linestyle="none",
                marker="v",
                markersize=8,
                color=style["color"],
                transform=ax.get_xaxis_transform(),
                clip_on=False,
                label="_reaches 0",
            )
            ax.annotate(
                "0",
                (float(zeros[0]), 0.0),
                xycoords=ax.get_xaxis_transform(),
                xytext=(0, 6),
                textcoords="offset points",
                ha="center",
                color=style["color"],
            )
    if any(np.nanmax(np.where(y > 0, y, np.nan), initial=0) > 0 for y in shifted):
        ax.set_yscale("log")
    _step_axis(ax)
    ax.set_ylabel(ylabel)


def _step_axis(ax: Axes) -> None:
    """Label the x axis `step`, with integer ticks only."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    ax.set_xlabel("step")


def _legend_below(figure: Figure, *axes: Axes) -> None:
    """One legend for the figure, below the axes, where it covers no data.

    The entries of every axes, each label once (a run's path and its value
    curve share theirs).
    """
    entries: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    if entries:
        figure.legend(
            list(entries.values()),
            list(entries),
            loc="outside lower center",
            ncols=min(len(entries), 3),
        )


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise MissingExtraError("plot", "optim.plot") from None
    return plt


def _points(path: Path) -> Array:
    points = path.x if isinstance(path, History) else np.asarray(path, dtype=float)
    points = points.reshape(len(points), -1)
    if points.shape[1] != 2:
        raise ValueError(f"paths must be 2-D points, got shape {points.shape}")
    return points


def _bounds(paths: Sequence[Array]) -> tuple[tuple[float, float], tuple[float, float]]:
    finite = [p[np.isfinite(p).all(axis=1)] for p in paths]
    stacked = np.concatenate([p for p in finite if len(p)] or [np.zeros((1, 2))])
    low, high = stacked.min(axis=0), stacked.max(axis=0)
    centre, half = (low + high) / 2, np.maximum((high - low) / 2 * 1.2, 1.0)
    return (
        (float(centre[0] - half[0]), float(centre[0] + half[0])),
        (float(centre[1] - half[1]), float(centre[1] + half[1])),
    )


def plot_contour(
    objective: Objective,
    paths: Path | Sequence[Path] = (),
    *,
    labels: Sequence[str] | None = None,
    bounds: tuple[tuple[float, float], tuple[float, float]] | None = None,
    levels: int = 25,
    resolution: int = 200,
    ax: Axes | None = None,
    constraint: Projection | None = None,
) -> Axes:
    """Draw the contour lines of a 2-D objective with paths over them.

    The grid is evaluated in one call of
    [`Objective.values`][optim.objective.Objective.values]. Levels are spaced
    logarithmically above the grid's minimum, so that both the bowl and its rim
    show; a colorbar gives their values. Each path is a line with a marker at
    every iterate, a white circle at its start and a cross at its end; the
    global minimizers in view of a problem that knows them (such as
    [`Sphere`][optim.problems.Sphere]) are marked by a star. Both axes have the
    same scale, so that circles look round and a gradient step meets its
    contour at a right angle, unless the view is more than 4 times wider than
    tall or the reverse.

    Args:
        objective: A function of 2-D points.
        paths: Runs to draw: histories or arrays of points `(k, 2)`.
        labels: A legend label per path.
        bounds: `((x_min, x_max), (y_min, y_max))`; default: around the paths.
        levels: Number of contour levels.
        resolution: Grid points per axis.
        ax: Axes to draw on; default: a new figure.
        constraint: The run's constraint; a [`Bounds`][optim.projections.Bounds]
            is drawn as a dashed "feasible box" (infinite sides end beyond the
            view). A minimizer outside the constraint is drawn hollow.

    Returns:
        The axes, with one line per path first (markers at the iterates), then
            the start, end and minimizer markers (labelled `start`, `end` and
            `minimizer` in the legend).

    Examples:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from optim.problems import Sphere
        >>> ax = plot_contour(Sphere(), [[[3.0, 2.0], [2.4, 1.6], [1.92, 1.28]]])
        >>> ax.lines[0].get_xdata()
        array([3.  , 2.4 , 1.92])
        >>> ax.get_aspect(), [line.get_label() for line in ax.lines[1:]]
        (1.0, ['_start 0', '_end 0', 'start', 'end'])
    """
    plt = _pyplot()
    if isinstance(paths, History) or (
        isinstance(paths, np.ndarray) and paths.ndim == 2
    ):
        paths = [paths]
    points = [_points(path) for path in paths]
    if labels is not None and len(labels) != len(points):
        raise ValueError(f"labels must have one entry per path ({len(points)})")
    (x_min, x_max), (y_min, y_max) = bounds or _bounds(points)
    grid_x, grid_y = np.meshgrid(
        np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution)
    )
    stack = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)
    values = np.asarray(objective.values(stack), dtype=float).reshape(grid_x.shape)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5), layout="constrained")
    floor = float(np.nanmin(values))
    span = float(np.nanmax(values)) - floor
    contour_levels = floor + np.geomspace(max(span, 1e-12) * 1e-4, span or 1.0, levels)
    contours = ax.contour(
        grid_x, grid_y, values, levels=contour_levels, cmap="viridis", zorder=1
    )
    colorbar = ax.figure.colorbar(contours, ax=ax, shrink=0.9, format="%.3g")
    colorbar.set_label("$f(x)$")
    colorbar.ax.yaxis.set_label_position("left")  # by its contours, off the next panel
    for i, path in enumerate(points):
        label = labels[i] if labels is not None else None
        style = _style(i, len(path)) | {"markersize": 3, "markevery": 1}
        ax.plot(path[:, 0], path[:, 1], label=label, **style)
    _mark_ends(ax, points)
    _mark_minimizers(ax, objective, constraint, ((x_min, x_max), (y_min, y_max)))
    if isinstance(constraint, Bounds):
        _draw_box(ax, constraint, (x_min, x_max), (y_min, y_max))
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_min, y_max)
    width, height = x_max - x_min, y_max - y_min
    if height > 0 and width > 0 and 1 / 4 <= width / height <= 4:
        ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("$x_0$")
    ax.set_ylabel("$x_1$")
    if labels is not None:  # below the axes, off the contours
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=2)
    return ax


_START: dict[str, Any] = {"marker": "o", "markersize": 9, "markerfacecolor": "white"}
"""A path's start: a white circle ringed in the path's color."""
_END: dict[str, Any] = {"marker": "X", "markersize": 10, "markeredgecolor": "black"}
"""A path's end: a cross in the path's color, edged in black."""
_MARKER_ZORDER = 50
"""Above every path (paths use `3 + i`)."""


def _mark_ends(ax: Axes, points: Sequence[Array]) -> None:
    """Mark each path's start and end, and explain both once in the legend."""
    finite = [p[np.isfinite(p).all(axis=1)] for p in points]
    for i, path in enumerate(finite):
        if not len(path):
            continue
        color = f"C{i % 10}"
        ax.plot(
            *path[0],
            linestyle="none",
            markeredgecolor=color,
            markeredgewidth=2,
            zorder=_MARKER_ZORDER,
            label=f"_start {i}",
            **_START,
        )
        ax.plot(
            *path[-1],
            linestyle="none",
            markerfacecolor=color,
            zorder=_MARKER_ZORDER + 1,
            label=f"_end {i}",
            **_END,
        )
    if any(len(path) for path in finite):  # the legend's entries, in gray
        ax.plot(
            [], [], linestyle="none", markeredgecolor="0.3", label="start", **_START
        )
        ax.plot([], [], linestyle="none", markerfacecolor="0.6", label="end", **_END)


def _mark_minimizers(
    ax: Axes,
    objective: Objective,
    constraint: Projection | None,
    view: tuple[tuple[float, float], tuple[float, float]],
) -> None:
    """Star the objective's known 2-D minimizers in view; hollow: outside the set."""
    points = _minimizers(objective)
    if points is None or points.shape[1] != 2:
        return
    (x_min, x_max), (y_min, y_max) = view
    x, y = points[:, 0], points[:, 1]
    points = points[(x_min <= x) & (x <= x_max) & (y_min <= y) & (y <= y_max)]
    inside = _feasible(points, constraint)
    style: dict[str, Any] = {"linestyle": "none", "marker": "*", "markersize": 15}
    style["color"] = "black"
    if inside.any():
        label = "minimizer" if inside.sum() == 1 else "minimizers"
        ax.plot(
            points[inside, 0],
            points[inside, 1],
            markerfacecolor="gold",
            zorder=_MARKER_ZORDER - 1,  # beneath a run's end, which it may be
            label=label,
            **style,
        )
    if not inside.all():
        ax.plot(
            points[~inside, 0],
            points[~inside, 1],
            markerfacecolor="none",
            zorder=_MARKER_ZORDER - 1,
            label="minimizer outside the constraint",
            **style,
        )


def plot_curves(
    histories: History | Sequence[History],
    *,
    labels: Sequence[str] | None = None,
    minimum: float | None = None,
    title: str | None = None,
) -> Figure:
    """Plot the objective value and the gradient norm against the step.

    Both use a logarithmic axis, which turns linear convergence into a straight
    line and makes oscillation and divergence obvious. Values are drawn as
    `f - f*` when the `minimum` is known, as they are when they stay positive,
    and otherwise as their distance to the lowest value seen; a run that reaches
    exactly that level is marked by a triangle at the bottom of the axes (a log
    axis has no zero). Curves have their own color, dashes and markers, so
    curves that coincide stay visible; the legend is below the axes.

    Args:
        histories: One or more recorded runs.
        labels: A legend label per run.
        minimum: The objective's global minimum `f*`, if known.
        title: The figure's title, such as the problem and the rule.

    Returns:
        A figure with two axes: values (left) and gradient norms (right).

    Examples:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from optim import FixedStep, History, Optimizer
        >>> from optim.problems import Sphere
        >>> history = History()
        >>> _ = Optimizer(
        ...     Sphere(), step_rule=FixedStep(0.1), callbacks=[history], max_steps=20
        ... ).run([3.0, 2.0])
        >>> figure = plot_curves(history, minimum=0.0, title="sphere: FixedStep(0.1)")
        >>> [ax.get_yscale() for ax in figure.axes]
        ['log', 'log']
        >>> figure.axes[0].get_ylabel(), figure.get_suptitle()
        ('$f(x) - f^*$  ($f^* = 0$)', 'sphere: FixedStep(0.1)')
    """
    plt = _pyplot()
    if isinstance(histories, History):
        histories = [histories]
    if labels is not None and len(labels) != len(histories):
        raise ValueError(f"labels must have one entry per history ({len(histories)})")
    names = list(labels) if labels is not None else [None] * len(histories)
    figure: Figure
    figure, (value_ax, norm_ax) = plt.subplots(
        1, 2, figsize=(10, 4.5), layout="constrained"
    )
    steps = [history.steps for history in histories]
    _plot_values(
        value_ax,
        steps,
        [history.values for history in histories],
        minimum=minimum,
        labels=names,
    )
    for i, (history, label) in enumerate(zip(histories, names, strict=True)):
        style = _style(i, len(history.steps))
        norm_ax.plot(history.steps, history.gradient_norms, label=label, **style)
    norm_ax.set_yscale("log")
    _step_axis(norm_ax)
    norm_ax.set_ylabel("gradient norm")
    if labels is not None:
        _legend_below(figure, value_ax)
    if title:
        figure.suptitle(title)
    return figure


def _paths_and_values(
    objective: Objective,
    histories: Sequence[History],
    labels: Sequence[str] | None,
    *,
    bounds: tuple[tuple[float, float], tuple[float, float]] | None,
    title: str,
    constraint: Projection | None = None,
    faded: Sequence[bool] = (),
) -> Figure:
    """Paths over the contours (left), value curves (right), legend below.

    The runs marked `faded` (oscillating or diverging ones, in a sweep) are
    drawn thinner, half transparent and beneath the others, which stay visible
    where the paths share a segment.
    """
    plt = _pyplot()
    figure: Figure
    figure, (path_ax, value_ax) = plt.subplots(
        1,
        2,
        figsize=(12, 5.2),
        layout="constrained",
        gridspec_kw={"width_ratios": [1.25, 1]},
    )
    plot_contour(
        objective,
        histories,
        labels=labels,
        bounds=bounds,
        ax=path_ax,
        constraint=constraint,
    )
    if labels is not None:
        path_ax.get_legend().remove()  # one legend below both panels instead
    names = list(labels) if labels is not None else [None] * len(histories)
    _plot_values(
        value_ax,
        [history.steps for history in histories],
        [history.values for history in histories],
        minimum=_known_minimum(objective, constraint),
        labels=names,
        constrained=constraint is not None,
    )
    for i, fade in enumerate(faded):
        if fade:
            for line in (path_ax.lines[i], value_ax.lines[i]):
                line.set_alpha(0.45)
                line.set_linewidth(1.0)
                line.set_zorder(2)  # above the contours, beneath the other runs
    _legend_below(figure, value_ax, path_ax)
    figure.suptitle(title)
    return figure


def _default_title(objective: Objective) -> str:
    return type(objective).__name__


def plot_sweep(
    objective: Objective, runs: Sequence[SweepRun], *, title: str | None = None
) -> Figure:
    """Draw a learning-rate sweep: every path over the contours, and the values.

    Runs that oscillated or diverged are drawn thin, half transparent and
    beneath the others, so that a converged path along the same line (as on the
    sphere, where rate 1 bounces through the minimum) stays in view.

    Args:
        objective: The 2-D objective the sweep ran on.
        runs: What [`sweep_learning_rates`][optim.sweep.sweep_learning_rates]
            returns.
        title: The figure's title; default: the objective's class and the rates.

    Returns:
        A figure with the paths (left) and the value curves (right, as
            [`plot_curves`][optim.plot.plot_curves] draws them), labelled by rate
            and outcome in one legend below both.

    Examples:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from optim.problems import Sphere
        >>> from optim.sweep import sweep_learning_rates
        >>> runs = sweep_learning_rates(Sphere(), [3.0, 2.0], [1.0, 0.1, 1e-6])
        >>> figure = plot_sweep(Sphere(), runs)
        >>> for line in figure.axes[0].lines[:3]:
        ...     print(line.get_label(), line.get_alpha())
        rate 1: oscillating 0.45
        rate 0.1: converged None
        rate 1e-06: stalled None
        >>> figure.get_suptitle()
        'Sphere at learning rates 1, 0.1, 1e-06'
    """
    labels = [f"rate {run.learning_rate:g}: {run.result.outcome}" for run in runs]
    paths = [_points(run.history) for run in runs]
    # Frame the starts and the runs that stayed bounded; diverging paths leave it.
    framed = [p[:1] for p in paths] + [
        p
        for p, run in zip(paths, runs, strict=True)
        if run.result.outcome != "diverged"
    ]
    rates = ", ".join(f"{run.learning_rate:g}" for run in runs)
    return _paths_and_values(
        objective,
        [run.history for run in runs],
        labels,
        bounds=_bounds(framed),
        title=title or f"{_default_title(objective)} at learning rates {rates}",
        faded=[run.result.outcome in _FADED for run in runs],
    )


_FADED = ("oscillating", "diverged")
"""Sweep outcomes drawn faded, beneath the runs that went somewhere."""


def plot_comparison(
    objective: Objective,
    histories: Sequence[History],
    labels: Sequence[str],
    *,
    bounds: tuple[tuple[float, float], tuple[float, float]] | None = None,
    title: str | None = None,
) -> Figure:
    """Compare runs on one 2-D objective: paths over the contours, and values.

    Args:
        objective: The 2-D objective the runs optimized.
        histories: Their records.
        labels: A legend label per run, such as the rule and its outcome.
        bounds: `((x_min, x_max), (y_min, y_max))` of the contour plot;
            default: around the paths.
        title: The figure's title; default: the objective's class.

    Returns:
        A figure with the paths (left) and the value curves (right), in one
            legend below both.

    Examples:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from optim import FixedStep, History, LBFGS, Optimizer
        >>> from optim.problems import Booth
        >>> histories = [History(), History()]
        >>> for rule, history in zip([FixedStep(0.05), LBFGS()], histories):
        ...     _ = Optimizer(Booth(), step_rule=rule, callbacks=[history]).run([0, 0])
        >>> figure = plot_comparison(Booth(), histories, ["FixedStep(0.05)", "LBFGS()"])
        >>> figure.get_suptitle(), figure.axes[1].get_yscale()
        ('Booth', 'log')
    """
    if len(labels) != len(histories):
        raise ValueError(f"labels must have one entry per history ({len(histories)})")
    return _paths_and_values(
        objective,
        histories,
        labels,
        bounds=bounds,
        title=title or _default_title(objective),
    )


def plot_run(
    objective: Objective,
    history: History,
    *,
    title: str | None = None,
    constraint: Projection | None = None,
) -> Figure:
    """Draw one run: its path over the contours and its value curve, or its curves.

    What `optim run --plot` draws. For a 2-D run whose points were kept, the
    path over the contour lines with their colorbar (left, as
    [`plot_contour`][optim.plot.plot_contour] draws it) and the objective value
    against the step (right); otherwise the value and gradient-norm curves of
    [`plot_curves`][optim.plot.plot_curves]. Values are drawn as `f - f*` when
    the objective is a problem that knows its minimum, and a minimizer lies in
    the `constraint`; a constrained run whose minimum is not known has its
    values drawn above the lowest one it saw, where it levels off.

    Args:
        objective: The objective the run optimized.
        history: The run's record.
        title: The figure's title, such as the problem, the rule and its
            learning rate (`optim run` writes them); default: the objective's
            class.
        constraint: The run's constraint, drawn on the contour plot (see
            [`plot_contour`][optim.plot.plot_contour]).

    Returns:
        The figure.

    Examples:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from optim import FixedStep, History, Optimizer
        >>> from optim.problems import Sphere
        >>> history = History()
        >>> _ = Optimizer(
        ...     Sphere(), step_rule=FixedStep(0.1), callbacks=[history], max_steps=20
        ... ).run([3.0, 2.0])
        >>> figure = plot_run(Sphere(), history, title="sphere: FixedStep, rate 0.1")
        >>> path_ax, value_ax, colorbar = figure.axes
        >>> path_ax.get_ylabel(), value_ax.get_ylabel(), colorbar.get_ylabel()
        ('$x_1$', '$f(x) - f^*$  ($f^* = 0$)', '$f(x)$')
        >>> figure.get_suptitle()
        'sphere: FixedStep, rate 0.1'
    """
    title = title or _default_title(objective)
    points = history.x
    if len(points) == 0 or points.reshape(len(points), -1).shape[1] != 2:
        return plot_curves(history, minimum=_known_minimum(objective), title=title)
    return _paths_and_values(
        objective, [history], None, bounds=None, title=title, constraint=constraint
    )


def _draw_box(
    ax: Axes,
    box: Bounds,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
) -> None:
    """Draw a 2-D box, its infinite sides clipped to a margin beyond the view."""
    from matplotlib.patches import Rectangle

    lower, upper = box.broadcast(np.zeros(2))
    margin = [(high - low) or 1.0 for low, high in (x_range, y_range)]
    views = (x_range, y_range)
    low = [max(lower[i], views[i][0] - margin[i]) for i in range(2)]
    high = [min(upper[i], views[i][1] + margin[i]) for i in range(2)]
    ax.add_patch(
        Rectangle(
            (low[0], low[1]),
            high[0] - low[0],
            high[1] - low[1],
            fill=False,
            linestyle="--",
            edgecolor="black",
            label="feasible box",
        )
    )
