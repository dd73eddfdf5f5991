"""Plots of runs: contours with paths, value and gradient-norm curves, sweeps.

Needs matplotlib (`pip install "optim[plot]"`), imported only when a function here
is called. Every function returns the matplotlib figure (or axes) so you can
restyle it or save it with `savefig`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from optim._types import Array
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


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            'optim.plot needs matplotlib: pip install "optim[plot]"'
        ) from error
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
    show.

    Args:
        objective: A function of 2-D points.
        paths: Runs to draw: histories or arrays of points `(k, 2)`.
        labels: A legend label per path.
        bounds: `((x_min, x_max), (y_min, y_max))`; default: around the paths.
        levels: Number of contour levels.
        resolution: Grid points per axis.
        ax: Axes to draw on; default: a new figure.
        constraint: The run's constraint; a [`Bounds`][optim.projections.Bounds]
            box is drawn as a dashed rectangle labelled "feasible box" (an
            unbounded side runs to the edge of the plot).

    Returns:
        The axes, with one line per path (markers at the iterates).

    Examples:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from optim.problems import Sphere
        >>> ax = plot_contour(Sphere(), [[[3.0, 2.0], [2.4, 1.6], [1.92, 1.28]]])
        >>> ax.lines[0].get_xdata()
        array([3.  , 2.4 , 1.92])
        >>> from optim import Bounds
        >>> ax = plot_contour(Sphere(), [[[3.0, 2.0]]], constraint=Bounds(1.0, 4.0))
        >>> ax.patches[0].get_label(), [float(v) for v in ax.patches[0].get_xy()]
        ('feasible box', [1.0, 1.0])
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
        _, ax = plt.subplots(figsize=(6, 5))
    floor = float(np.nanmin(values))
    span = float(np.nanmax(values)) - floor
    contour_levels = floor + np.geomspace(max(span, 1e-12) * 1e-4, span or 1.0, levels)
    ax.contour(grid_x, grid_y, values, levels=contour_levels, cmap="viridis")
    for i, path in enumerate(points):
        label = labels[i] if labels is not None else None
        ax.plot(path[:, 0], path[:, 1], marker="o", markersize=3, label=label)
    if isinstance(constraint, Bounds):
        _draw_box(ax, constraint, (x_min, x_max), (y_min, y_max))
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_min, y_max)
    ax.set_xlabel("$x_0$")
    ax.set_ylabel("$x_1$")
    if labels is not None:
        ax.legend()
    return ax


def plot_curves(
    histories: History | Sequence[History],
    *,
    labels: Sequence[str] | None = None,
) -> Figure:
    """Plot the objective value and the gradient norm against the step.

    Both use a logarithmic axis (symmetric-log for values that reach zero or
    below), which turns linear convergence into a straight line and makes
    oscillation and divergence obvious.

    Args:
        histories: One or more recorded runs.
        labels: A legend label per run.

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
        >>> figure = plot_curves(history)
        >>> [ax.get_yscale() for ax in figure.axes]
        ['log', 'log']
    """
    plt = _pyplot()
    if isinstance(histories, History):
        histories = [histories]
    if labels is not None and len(labels) != len(histories):
        raise ValueError(f"labels must have one entry per history ({len(histories)})")
    figure: Figure
    figure, (value_ax, norm_ax) = plt.subplots(1, 2, figsize=(10, 4))
    positive = True
    for i, history in enumerate(histories):
        label = labels[i] if labels is not None else None
        values = history.values
        positive = positive and bool(np.all(values[np.isfinite(values)] > 0))
        value_ax.plot(history.steps, values, label=label)
        norm_ax.plot(history.steps, history.gradient_norms, label=label)
    value_ax.set_yscale("log" if positive else "symlog")
    norm_ax.set_yscale("log")
    value_ax.set_xlabel("step")
    value_ax.set_ylabel("objective value")
    norm_ax.set_xlabel("step")
    norm_ax.set_ylabel("gradient norm")
    if labels is not None:
        value_ax.legend()
    figure.tight_layout()
    return figure


def plot_sweep(objective: Objective, runs: Sequence[SweepRun]) -> Figure:
    """Draw a learning-rate sweep: every path over the contours, and the values.

    Args:
        objective: The 2-D objective the sweep ran on.
        runs: What [`sweep_learning_rates`][optim.sweep.sweep_learning_rates]
            returns.

    Returns:
        A figure with the paths (left) and the value curves (right), labelled by
        rate and outcome.

    Examples:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from optim.problems import Sphere
        >>> from optim.sweep import sweep_learning_rates
        >>> runs = sweep_learning_rates(Sphere(), [3.0, 2.0], [1.0, 0.1, 1e-6])
        >>> figure = plot_sweep(Sphere(), runs)
        >>> [line.get_label() for line in figure.axes[0].lines]
        ['rate 1: oscillating', 'rate 0.1: converged', 'rate 1e-06: stalled']
    """
    plt = _pyplot()
    figure: Figure
    figure, (path_ax, value_ax) = plt.subplots(1, 2, figsize=(11, 4.5))
    labels = [f"rate {run.learning_rate:g}: {run.result.outcome}" for run in runs]
    paths = [_points(run.history) for run in runs]
    # Frame the starts and the runs that stayed bounded; diverging paths leave it.
    framed = [p[:1] for p in paths] + [
        p
        for p, run in zip(paths, runs, strict=True)
        if run.result.outcome != "diverged"
    ]
    plot_contour(objective, paths, labels=labels, bounds=_bounds(framed), ax=path_ax)
    positive = True
    for i, (label, run) in enumerate(zip(labels, runs, strict=True)):
        values = run.history.values
        positive = positive and bool(np.all(values[np.isfinite(values)] > 0))
        style = _LINE_STYLES[i % len(_LINE_STYLES)]
        path_ax.lines[i].set_linestyle(style)
        value_ax.plot(run.history.steps, values, label=label, linestyle=style)
    path_ax.legend()  # again, with the line styles
    value_ax.set_yscale("log" if positive else "symlog")
    value_ax.set_xlabel("step")
    value_ax.set_ylabel("objective value")
    value_ax.legend()
    figure.tight_layout()
    return figure


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


def plot_run(
    objective: Objective,
    history: History,
    *,
    constraint: Projection | None = None,
) -> Figure:
    """Draw one run: its path over the contours and its value curve, or its curves.

    What `optim run --plot` draws. For a 2-D run whose points were kept, the
    path over the contour lines (left) and the objective value against the step
    (right); otherwise the value and gradient-norm curves of
    [`plot_curves`][optim.plot.plot_curves].

    Args:
        objective: The objective the run optimized.
        history: The run's record.
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
        >>> figure = plot_run(Sphere(), history)
        >>> [ax.get_ylabel() for ax in figure.axes]
        ['$x_1$', 'objective value']
    """
    points = history.x
    if len(points) == 0 or points.reshape(len(points), -1).shape[1] != 2:
        return plot_curves(history)
    plt = _pyplot()
    figure: Figure
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    plot_contour(objective, history, ax=left, constraint=constraint)
    values = history.values
    right.plot(history.steps, values)
    right.set_yscale("log" if np.all(values[np.isfinite(values)] > 0) else "symlog")
    right.set_xlabel("step")
    right.set_ylabel("objective value")
    figure.tight_layout()
    return figure
