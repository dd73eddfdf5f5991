"""The textbook's demonstration: the sphere at four learning rates.

What `optim demo` runs and prints, as library functions: run it with
[`demo_results`][optim.demo.demo_results], tabulate it with
[`format_demo`][optim.demo.format_demo], or draw it with
[`plot_sweep`][optim.plot.plot_sweep].
"""

from __future__ import annotations

from collections.abc import Sequence

from optim.gradients import CentralDifference
from optim.problems import Sphere
from optim.sweep import SweepRun, sweep_learning_rates
from optim.textbook import TEXTBOOK_STEP

__all__ = ["DEMO_RUNS", "demo_results", "format_demo"]

DEMO_RUNS: tuple[tuple[float, tuple[float, float]], ...] = (
    (0.1, (3.0, 2.0)),
    (1.0, (3.0, 2.0)),
    (1e-6, (3.0, 2.0)),
    (10.0, (-3.0, 4.0)),
)
"""The textbook's runs: (learning rate, start) on the sphere."""


def demo_results(max_steps: int = 100, tol: float = 1e-8) -> list[SweepRun]:
    """Run the textbook example and return one run per textbook learning rate.

    The sphere $x_0^2 + x_1^2$ with [`FixedStep`][optim.step_rules.FixedStep],
    the textbook's central differences (`h = 1e-4`) and
    [`StopOnZeroGradient`][optim.callbacks.StopOnZeroGradient], from the starts in
    [`DEMO_RUNS`][optim.demo.DEMO_RUNS].

    Args:
        max_steps: Most steps per run (the textbook's `step_num`).
        tol: Gradient-norm tolerance for convergence.

    Returns:
        One [`SweepRun`][optim.sweep.SweepRun] per textbook run, with its path.

    Examples:
        >>> [run.result.outcome for run in demo_results()]
        ['converged', 'oscillating', 'stalled', 'diverged']
    """
    runs = []
    for rate, start in DEMO_RUNS:
        (run,) = sweep_learning_rates(
            Sphere(),
            start,
            [rate],
            estimator=CentralDifference(step=TEXTBOOK_STEP),
            max_steps=max_steps,
            tol=tol,
        )
        runs.append(run)
    return runs


def format_demo(runs: Sequence[SweepRun]) -> str:
    """Format the demo's runs as a table with each run's message below it.

    Args:
        runs: What [`demo_results`][optim.demo.demo_results] returns.

    Returns:
        The table, ready to print.

    Examples:
        >>> print(format_demo(demo_results()).splitlines()[1])
        0.1     (3, 2)    converged      92  (3.6425e-09, 2.42834e-09)       1.916e-17
    """
    lines = [
        f"{'rate':<7} {'start':<9} {'outcome':<11} {'steps':>5}  "
        f"{'final point':<30} {'value':>10}"
    ]
    for run in runs:
        result = run.result
        x0 = run.history.x[0]
        point = ", ".join(f"{v:.6g}" for v in result.x)
        lines.append(
            f"{run.learning_rate:<7g} {f'({x0[0]:g}, {x0[1]:g})':<9} "
            f"{result.outcome:<11} {result.steps:>5}  {f'({point})':<30} "
            f"{result.value:>10.4g}"
        )
        lines.append(f"        {result.message}")
    return "\n".join(lines)
