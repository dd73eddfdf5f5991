"""The `optim` command line."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import attrs
import numpy as np

from optim.callbacks import CallbackLike, History, LogProgress, StopOnZeroGradient
from optim.errors import OptimizationError
from optim.gradients import (
    SPSA,
    AnalyticGradient,
    BackwardDifference,
    CentralDifference,
    ComplexStep,
    ForwardDifference,
    GradientEstimator,
    Richardson,
)
from optim.objective import FunctionObjective, Objective
from optim.optimizer import Optimizer
from optim.problems import PROBLEMS, Problem, Sphere, get_problem
from optim.quasi_newton import LBFGS, BarzilaiBorwein, ConjugateGradient
from optim.step_rules import (
    AdaGrad,
    Adam,
    AdamW,
    FixedStep,
    Momentum,
    Nesterov,
    RMSProp,
    StepRule,
)
from optim.sweep import SweepRun, format_sweep, sweep_learning_rates
from optim.textbook import TEXTBOOK_STEP

RULES: dict[str, type[StepRule[Any]]] = {
    "fixed": FixedStep,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSProp,
    "adam": Adam,
    "adamw": AdamW,
    "lbfgs": LBFGS,
    "cg": ConjugateGradient,
    "bb": BarzilaiBorwein,
}
"""Step rules by their command-line name (`--rule`)."""

ESTIMATORS: dict[str, type[GradientEstimator]] = {
    "analytic": AnalyticGradient,
    "central": CentralDifference,
    "forward": ForwardDifference,
    "backward": BackwardDifference,
    "richardson": Richardson,
    "complex": ComplexStep,
    "spsa": SPSA,
}
"""Gradient estimators by their command-line name (`--estimator`)."""

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


class UsageError(Exception):
    """Bad command-line input: reported in one line, with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_problem_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "problem",
        help=(
            "a problem name (see `optim problems`) or MODULE:NAME for your own "
            "function or Objective subclass"
        ),
    )
    command.add_argument(
        "--dimension", type=int, help="number of variables, for problems that scale"
    )
    command.add_argument(
        "--x0",
        help="start point, numbers separated by commas (default: the problem's); "
        "write --x0=-1,2 when it starts with a minus sign",
    )
    command.add_argument(
        "--rule",
        choices=sorted(RULES),
        default="fixed",
        help="step rule (default: fixed, the textbook's gradient method)",
    )
    command.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="another hyperparameter of the rule, e.g. --param beta=0.5 (repeatable)",
    )
    command.add_argument(
        "--estimator",
        choices=sorted(ESTIMATORS),
        help="gradient estimator (default: analytic if the objective has a "
        "gradient, else central)",
    )
    command.add_argument(
        "--step", type=float, help="absolute finite-difference step (default: auto)"
    )
    command.add_argument("--ascent", action="store_true", help="maximize instead")
    command.add_argument(
        "--max-steps", type=int, default=1000, help="most steps (default: 1000)"
    )
    command.add_argument(
        "--tol",
        type=float,
        default=1e-8,
        help="stop when the gradient norm is at most TOL (default: 1e-8)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="optim", description="Pluggable gradient-method optimizers.")
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )
    demo = commands.add_parser(
        "demo",
        help="run the textbook example: the sphere at four learning rates",
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

    commands.add_parser(
        "problems",
        help="list the built-in problems",
        description="The problem library: name, dimension, minimum and start.",
    )

    run = commands.add_parser(
        "run",
        help="optimize a problem",
        description="Optimize a built-in problem or your own objective.",
    )
    _add_problem_options(run)
    run.add_argument(
        "--learning-rate",
        type=float,
        help="learning rate, for rules that take one (required for fixed, "
        "momentum, nesterov, adagrad, rmsprop)",
    )
    run.add_argument(
        "--log-every",
        type=int,
        metavar="K",
        help="log progress to standard error every K steps",
    )
    run.add_argument("--progress", action="store_true", help="show a progress bar")
    run.add_argument(
        "--plot", metavar="FILE", help="draw the path (2-D) and value curves to FILE"
    )
    run.add_argument(
        "--history",
        metavar="FILE",
        help="write every step to FILE (.csv or .json)",
    )
    run.add_argument(
        "--json", action="store_true", help="print the result as JSON on stdout"
    )

    sweep = commands.add_parser(
        "sweep",
        help="the same problem at several learning rates",
        description=(
            "Run the same problem and rule at each learning rate and tabulate the "
            "outcome: converged, oscillating, stalled or diverged."
        ),
    )
    _add_problem_options(sweep)
    sweep.add_argument(
        "--rates",
        type=float,
        nargs="+",
        required=True,
        metavar="RATE",
        help="learning rates to try",
    )
    sweep.add_argument(
        "--plot", metavar="FILE", help="draw every path and value curve to FILE"
    )
    sweep.set_defaults(max_steps=100)
    return parser


def _parse_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _rule_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in args.param:
        name, sep, text = item.partition("=")
        if not sep or not name.isidentifier():
            raise UsageError(f"--param must look like NAME=VALUE, got {item!r}")
        options[name] = _parse_value(text)
    return options


def make_rule(
    name: str, learning_rate: float | None = None, **options: Any
) -> StepRule[Any]:
    """Build the step rule called `name` (a key of `RULES`).

    Args:
        name: The rule's command-line name.
        learning_rate: Its learning rate, if it takes one.
        **options: Other hyperparameters.

    Returns:
        The rule.

    Raises:
        UsageError: For an unknown name, a hyperparameter the rule does not have,
            a missing learning rate, or an invalid value (the message names it).

    Examples:
        >>> make_rule("momentum", 0.1, beta=0.5)
        Momentum(learning_rate=0.1, beta=0.5)
    """
    if name not in RULES:
        raise UsageError(f"unknown rule {name!r}; choose from {', '.join(RULES)}")
    cls = RULES[name]
    fields = {
        field.alias: field
        for field in attrs.fields(cls)  # type: ignore[arg-type]  # attrs subclasses
        if field.init
    }
    if learning_rate is not None:
        options["learning_rate"] = learning_rate
    for key in options:
        if key not in fields:
            raise UsageError(
                f"rule {name!r} has no hyperparameter {key!r}; it takes "
                f"{', '.join(fields) or 'none'}"
            )
    needs_rate = "learning_rate" in fields and (
        fields["learning_rate"].default is attrs.NOTHING
    )
    if needs_rate and "learning_rate" not in options:
        raise UsageError(f"rule {name!r} needs --learning-rate")
    try:
        return cls(**options)
    except (TypeError, ValueError) as error:
        raise UsageError(f"rule {name!r}: {error}") from None


def load_objective(spec: str, dimension: int | None = None) -> Objective:
    """Return the objective a command line names.

    Args:
        spec: A problem name from [`PROBLEMS`][optim.problems.PROBLEMS], or
            `MODULE:NAME` naming a function, an `Objective` instance or an
            `Objective` subclass (instantiated without arguments) in an importable
            module (the current folder is searched first).
        dimension: Number of variables, for problems that scale.

    Returns:
        The objective.

    Raises:
        UsageError: If the problem, module or name does not exist.

    Examples:
        >>> load_objective("rosenbrock").start
        array([-1.2,  1. ])
        >>> load_objective("nonsense")
        Traceback (most recent call last):
        ...
        optim.cli.UsageError: unknown problem 'nonsense'; choose one of beale, ...
    """
    if ":" not in spec:
        try:
            return get_problem(spec, dimension)
        except (KeyError, TypeError, ValueError) as error:
            raise UsageError(str(error).strip("'\"")) from None
    module_name, _, name = spec.partition(":")
    if dimension is not None:
        raise UsageError("--dimension applies to built-in problems only")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise UsageError(f"cannot import module {module_name!r}: {error}") from None
    target: Any = module
    for part in name.split("."):
        if not hasattr(target, part):
            raise UsageError(f"module {module_name!r} has no attribute {name!r}")
        target = getattr(target, part)
    if isinstance(target, Objective):
        return target
    if isinstance(target, type) and issubclass(target, Objective):
        try:
            return target()
        except TypeError as error:
            raise UsageError(f"cannot create {spec}: {error}") from None
    if callable(target):
        return FunctionObjective(target)
    raise UsageError(f"{spec} is neither a function nor an Objective")


def _start(args: argparse.Namespace, objective: Objective) -> np.ndarray:
    if args.x0 is None:
        if isinstance(objective, Problem):
            return objective.start
        raise UsageError(f"{args.problem} has no standard start: give --x0")
    try:
        x0 = np.array([float(v) for v in args.x0.replace(",", " ").split()])
    except ValueError:
        raise UsageError(
            f"--x0 must be numbers separated by commas, got {args.x0!r}"
        ) from None
    if x0.size == 0 or not np.isfinite(x0).all():
        raise UsageError(f"--x0 must be finite numbers, got {args.x0!r}")
    if isinstance(objective, Problem) and x0.size != objective.dimension:
        raise UsageError(
            f"--x0 has {x0.size} coordinates but {args.problem} has dimension "
            f"{objective.dimension}"
        )
    return x0


def _estimator(
    args: argparse.Namespace, objective: Objective
) -> GradientEstimator | None:
    if args.estimator is None:
        if args.step is not None:
            raise UsageError("--step needs a finite-difference --estimator")
        return None
    if args.estimator == "analytic":
        if not objective.has_gradient:
            raise UsageError(f"{args.problem} has no analytic gradient")
        return AnalyticGradient()
    options = {} if args.step is None else {"step": args.step}
    try:
        return ESTIMATORS[args.estimator](**options)
    except (TypeError, ValueError) as error:
        raise UsageError(f"--estimator {args.estimator}: {error}") from None


def _check_budget(args: argparse.Namespace) -> None:
    if args.max_steps < 0:
        raise UsageError(f"--max-steps must be >= 0, got {args.max_steps}")
    if not (math.isfinite(args.tol) and args.tol >= 0):
        raise UsageError(f"--tol must be >= 0, got {args.tol}")


def _run(args: argparse.Namespace) -> int:
    _check_budget(args)
    objective = load_objective(args.problem, args.dimension)
    x0 = _start(args, objective)
    rule = make_rule(args.rule, args.learning_rate, **_rule_options(args))
    estimator = _estimator(args, objective)
    history = History()
    callbacks: list[CallbackLike] = [StopOnZeroGradient(args.tol), history]
    handler = None
    if args.log_every is not None:
        if args.log_every < 1:
            raise UsageError(f"--log-every must be >= 1, got {args.log_every}")
        handler = logging.StreamHandler(sys.stderr)
        logging.getLogger("optim").addHandler(handler)
        logging.getLogger("optim").setLevel(logging.INFO)
        callbacks.append(LogProgress(every=args.log_every))
    if args.progress:
        from optim.progress import ProgressBar

        callbacks.append(ProgressBar())
    for path, suffixes in ((args.history, (".csv", ".json")),):
        if path is not None and not path.lower().endswith(suffixes):
            raise UsageError(f"--history must end in .csv or .json, got {path!r}")
    try:
        optimizer = Optimizer(
            objective,
            step_rule=rule,
            estimator=estimator,
            mode="ascent" if args.ascent else "descent",
            callbacks=callbacks,
            max_steps=args.max_steps,
        )
        result = optimizer.run(x0)
    except OptimizationError as error:
        print(f"optim run: failed: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # raised at x0, before any step: bad input
        raise UsageError(f"{type(error).__name__}: {error}") from None
    finally:
        if handler is not None:
            logging.getLogger("optim").removeHandler(handler)
    if args.history:
        _write(lambda: history.write(args.history), "--history", args.history)
    if args.plot:
        _write(lambda: _plot_run(objective, history, args.plot), "--plot", args.plot)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(f"{result.outcome}: {result.message}")
        print(f"x = {np.array2string(result.x, precision=10)}")
        print(f"value = {result.value:.12g}")
        print(
            f"steps = {result.steps}, evaluations = {result.evaluations}, "
            f"gradient evaluations = {result.gradient_evaluations}"
        )
    return 0


def _write(action: Callable[[], object], option: str, path: str) -> None:
    try:
        action()
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot write {option} {path}: {error}") from None


def _plot_run(objective: Objective, history: History, path: str) -> None:
    from optim.plot import plot_contour, plot_curves

    if history.x.reshape(len(history), -1).shape[1] != 2:
        plot_curves(history).savefig(path)
        return
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    plot_contour(objective, history, ax=left)
    right.plot(history.steps, history.values)
    values = history.values
    right.set_yscale("log" if np.all(values[np.isfinite(values)] > 0) else "symlog")
    right.set_xlabel("step")
    right.set_ylabel("objective value")
    figure.tight_layout()
    figure.savefig(path)


def _sweep(args: argparse.Namespace) -> int:
    _check_budget(args)
    objective = load_objective(args.problem, args.dimension)
    x0 = _start(args, objective)
    options = _rule_options(args)
    make_rule(args.rule, args.rates[0], **dict(options))  # refuse bad input early
    if any(not (math.isfinite(rate) and rate > 0) for rate in args.rates):
        raise UsageError(f"--rates must be positive, got {args.rates}")
    runs = sweep_learning_rates(
        objective,
        x0,
        args.rates,
        rule=lambda rate: make_rule(args.rule, rate, **dict(options)),
        estimator=_estimator(args, objective),
        max_steps=args.max_steps,
        tol=args.tol,
        mode="ascent" if args.ascent else "descent",
    )
    print(format_sweep(runs))
    if args.plot:
        from optim.plot import plot_sweep

        if x0.size != 2:
            raise UsageError("--plot draws 2-D problems only")
        _write(
            lambda: plot_sweep(objective, runs).savefig(args.plot), "--plot", args.plot
        )
        print(f"\nwrote {args.plot}")
    return 0


def _problems() -> int:
    print(f"{'name':<16} {'dimension':>9} {'minimum':>12}  start")
    for name in PROBLEMS:
        problem = get_problem(name)
        minimum = "unknown" if problem.minimum is None else f"{problem.minimum:.6g}"
        start = ", ".join(f"{v:g}" for v in problem.start)
        print(f"{name:<16} {problem.dimension:>9} {minimum:>12}  ({start})")
    return 0


def _demo(args: argparse.Namespace) -> int:
    if args.max_steps < 0:
        raise UsageError(f"--max-steps must be >= 0, got {args.max_steps}")
    print(
        "Gradient descent on the sphere f(x) = x0^2 + x1^2, central differences "
        f"(h = 1e-4), at most {args.max_steps} steps\n"
    )
    runs = demo_results(max_steps=args.max_steps)
    print(format_demo(runs))
    if args.plot:
        from optim.plot import plot_sweep

        _write(
            lambda: plot_sweep(Sphere(), runs).savefig(args.plot), "--plot", args.plot
        )
        print(f"\nwrote {args.plot}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `optim` command with `argv` (default: `sys.argv[1:]`).

    Args:
        argv: Command-line arguments, without the program name.

    Returns:
        The exit status: `0` on success, `1` if the run failed, `2` for bad input
        (reported in one line on standard error).

    Examples:
        >>> main(["demo", "--max-steps", "5"])
        Gradient descent on the sphere ...
        10      (-3, 4)   diverged        3  ...
        0
    """
    parser = _parser()
    args = parser.parse_args(argv)
    commands: dict[str, Callable[[], int]] = {
        "demo": lambda: _demo(args),
        "problems": _problems,
        "run": lambda: _run(args),
        "sweep": lambda: _sweep(args),
    }
    try:
        return commands[args.command]()
    except UsageError as error:
        print(f"optim {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
