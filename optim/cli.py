"""The `optim` command line."""

import argparse
import sys
from collections.abc import Sequence

from optim.gradients import CentralDifference
from optim.problems import Sphere
from optim.sweep import SweepRun, sweep_learning_rates
from optim.textbook import TEXTBOOK_STEP

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
    `DEMO_RUNS`.

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
        runs: What [`demo_results`][optim.cli.demo_results] returns.

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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optim", description="Pluggable gradient-method optimizers."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="run the textbook example: the sphere at three learning rates",
        description=(
            "Gradient descent on the sphere x0^2 + x1^2 with the textbook's central "
            "differences (h = 1e-4): learning rates 0.1, 1.0 and 1e-6 from (3, 2), "
            "and 10 from (-3, 4)."
        ),
    )
    demo.add_argument(
        "--max-steps", type=int, default=100, help="steps per run (default: 100)"
    )
    demo.add_argument(
        "--plot",
        metavar="FILE",
        help="also draw the paths and value curves to FILE (png, svg, pdf)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `optim` command with `argv` (default: `sys.argv[1:]`).

    Args:
        argv: Command-line arguments, without the program name.

    Returns:
        The exit status: `0` on success, `2` for bad input.

    Examples:
        >>> main(["demo", "--max-steps", "5"])
        Gradient descent on the sphere ...
        10      (-3, 4)   diverged        3  ...
        0
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.max_steps < 0:
        parser.error(f"--max-steps must be >= 0, got {args.max_steps}")
    print(
        "Gradient descent on the sphere f(x) = x0^2 + x1^2, central differences "
        f"(h = 1e-4), at most {args.max_steps} steps\n"
    )
    runs = demo_results(max_steps=args.max_steps)
    print(format_demo(runs))
    if args.plot:
        from optim.plot import plot_sweep

        try:
            plot_sweep(Sphere(), runs).savefig(args.plot)
        except (OSError, ValueError) as error:
            parser.exit(
                2, f"optim demo: error: cannot write --plot {args.plot}: {error}\n"
            )
        print(f"\nwrote {args.plot}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
