"""The `optim` command line."""

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from optim.callbacks import StopOnZeroGradient
from optim.gradients import CentralDifference
from optim.optimizer import Optimizer
from optim.problems import Sphere
from optim.result import Result
from optim.step_rules import FixedStep
from optim.textbook import TEXTBOOK_STEP

DEMO_RUNS: tuple[tuple[float, tuple[float, float]], ...] = (
    (0.1, (3.0, 2.0)),
    (1.0, (3.0, 2.0)),
    (1e-6, (3.0, 2.0)),
    (10.0, (-3.0, 4.0)),
)
"""The textbook's runs: (learning rate, start) on the sphere."""


def demo_results(
    max_steps: int = 100, tol: float = 1e-8
) -> list[tuple[float, tuple[float, float], Result]]:
    """Run the textbook example and return `(rate, start, result)` per run.

    The sphere $x_0^2 + x_1^2$ with [`FixedStep`][optim.step_rules.FixedStep],
    the textbook's central differences (`h = 1e-4`) and
    [`StopOnZeroGradient`][optim.callbacks.StopOnZeroGradient].

    Args:
        max_steps: Most steps per run (the textbook's `step_num`).
        tol: Gradient-norm tolerance for convergence.

    Returns:
        One `(learning_rate, start, result)` triple per textbook run.

    Examples:
        >>> [result.status.name for _, _, result in demo_results()]
        ['CONVERGED', 'MAX_STEPS', 'MAX_STEPS', 'DIVERGED']
    """
    runs = []
    for rate, start in DEMO_RUNS:
        optimizer = Optimizer(
            Sphere(),
            step_rule=FixedStep(learning_rate=rate),
            estimator=CentralDifference(step=TEXTBOOK_STEP),
            callbacks=[StopOnZeroGradient(tol)],
            max_steps=max_steps,
        )
        runs.append((rate, start, optimizer.run(np.array(start))))
    return runs


def format_demo(runs: Sequence[tuple[float, tuple[float, float], Result]]) -> str:
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
        f"{'rate':<7} {'start':<9} {'status':<10} {'steps':>6}  "
        f"{'final point':<30} {'value':>10}"
    ]
    for rate, start, result in runs:
        point = ", ".join(f"{v:.6g}" for v in result.x)
        lines.append(
            f"{rate:<7g} {f'({start[0]:g}, {start[1]:g})':<9} "
            f"{result.status.value:<10} {result.steps:>6}  {f'({point})':<30} "
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
    print(format_demo(demo_results(max_steps=args.max_steps)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
