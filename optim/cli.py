"""The `optim` command line."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import inspect
import itertools
import json
import logging
import math
import multiprocessing
import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from optim._arrays import checked_values
from optim.callbacks import CallbackLike, LogProgress, StopOnZeroGradient
from optim.demo import demo_results, format_demo
from optim.errors import (
    MissingExtraError,
    OptimizationError,
    UsageError,
    require_extra,
)
from optim.gradients import AnalyticGradient, GradientEstimator
from optim.history import History
from optim.multistart import multistart
from optim.objective import FunctionObjective, Objective
from optim.optimizer import Optimizer
from optim.problems import Problem, Sphere
from optim.projections import Bounds
from optim.registry import (
    ESTIMATORS,
    PROBLEMS,
    RULES,
    get_problem,
    hyperparameters,
    make_estimator,
    make_rule,
)
from optim.result import Result, Status
from optim.step_rules import StepRule
from optim.sweep import format_sweep, sweep_learning_rates

if TYPE_CHECKING:
    from types import ModuleType

    from matplotlib.figure import Figure


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage dump).

    An option whose value starts with a minus sign (`--x0 -1,2`) reads to
    argparse as two options; the error then says how to write it (`--x0=-1,2`).
    """

    _arguments: Sequence[str] = ()

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._arguments = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        message += _attach_hint(message, self._arguments)
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _attach_hint(message: str, arguments: Sequence[str]) -> str:
    """How to write the value argparse took for an option: `; write --x0=-1,2`."""
    missing = re.fullmatch(r"argument (--[\w-]+): expected one argument", message)
    if missing is None:
        return ""
    option = missing.group(1)
    for here, after in itertools.pairwise(arguments):
        if here == option and after.startswith("-"):
            return (
                f"; a value that starts with a minus sign must be attached with "
                f"'=': write {option}={after}"
            )
    return ""


EXIT_CODES: dict[Status, int] = {
    Status.CONVERGED: 0,
    Status.STOPPED: 0,
    Status.MAX_STEPS: 3,
    Status.MAX_EVALUATIONS: 3,
    Status.MAX_TIME: 3,
    Status.NOISE_FLOOR: 3,
    Status.PRECISION_LIMIT: 3,
    Status.NO_PROGRESS: 3,
    Status.RUNNING: 3,
    Status.DIVERGED: 4,
    Status.FAILED: 1,
    Status.INTERRUPTED: 130,
}
"""The exit code of `optim run` for each status: `0` only when the run converged
(or a stop test the user asked for ended it), `3` when it ran out of budget or
precision without converging, `4` when it diverged, `1` when it failed (an
exception raised by the objective, a plug-in or `optim` itself: its traceback is
shown, after the result so far), `130` when it was interrupted (Ctrl-C, as shells
report SIGINT). A mistake in the command line, or an option whose optional extra
is not installed, exits `2` with one line, before any work."""

DEFAULT_RULE = "lbfgs"
"""The rule of `optim run` and `optim multistart` without `--rule` or
`--learning-rate`: L-BFGS, which needs no learning rate. With `--learning-rate`
alone, the rule is `fixed` (the textbook's gradient method)."""

_FIGURE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".eps", ".ps", ".webp")


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
        help=f"step rule (default: {DEFAULT_RULE}, which needs no learning rate; "
        "fixed, the textbook's gradient method, when --learning-rate is given)",
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
        "gradient, else central); complex needs an objective that accepts complex "
        "points (no built-in problem does), which one evaluation checks first",
    )
    command.add_argument(
        "--step", type=float, help="absolute finite-difference step (default: auto)"
    )
    command.add_argument(
        "--seed",
        type=int,
        help="seed of a random estimator's stream (spsa), for runs that repeat",
    )
    command.add_argument("--ascent", action="store_true", help="maximize instead")
    command.add_argument(
        "--max-steps", type=int, default=1000, help="most steps (default: 1000)"
    )
    command.add_argument(
        "--tol",
        type=float,
        default=1e-6,
        help="stop when the gradient norm is at most TOL (default: 1e-6 for run, as "
        "minimize; 1e-8 for sweep, the textbook's table)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="optim", description="Pluggable gradient-method optimizers.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
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
    _add_run_command(commands)
    _add_sweep_command(commands)
    _add_multistart_command(commands)
    return parser


def _version() -> str:
    """The installed version of the `optim-gradient` distribution."""
    from optim import __version__

    return __version__


def _add_workers(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="run on N worker processes (default: 1, here); results are the same",
    )


def _add_multistart_command(commands: Any) -> None:
    multistart = commands.add_parser(
        "multistart",
        help="the same problem from several random starts",
        description=(
            "Run the same problem and rule from --starts random starts around the "
            "start (normal, with standard deviation --spread, seeded by "
            "--start-seed) and tabulate the outcomes; the best run is printed last."
        ),
    )
    _add_problem_options(multistart)
    multistart.add_argument(
        "--learning-rate", type=float, help="learning rate, for rules that take one"
    )
    multistart.add_argument(
        "--starts", type=int, default=8, help="number of starts (default: 8)"
    )
    multistart.add_argument(
        "--spread",
        type=float,
        default=1.0,
        help="standard deviation of the starts around the start (default: 1)",
    )
    multistart.add_argument(
        "--start-seed", type=int, default=0, help="seed of the starts (default: 0)"
    )
    _add_workers(multistart)


def _add_run_command(commands: Any) -> None:
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
    run.add_argument(
        "--bounds",
        metavar="LOW,HIGH",
        action="append",
        help="box constraint: one LOW,HIGH for every coordinate, or one per "
        "coordinate (repeat the option, in order); write --bounds=-1,1 when it "
        "starts with a minus sign, and -inf or inf for an open side",
    )
    run.add_argument(
        "--progress",
        action="store_true",
        help="show a progress bar (needs the progress extra); when standard error "
        "is not a terminal, log a line every tenth of --max-steps instead",
    )
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


def _add_sweep_command(commands: Any) -> None:
    sweep = commands.add_parser(
        "sweep",
        help="the same problem at several learning rates",
        description=(
            "Run the same problem and rule at each learning rate and tabulate the "
            "outcome: converged, oscillating, stalled or diverged."
        ),
    )
    _add_problem_options(sweep)
    sweep.set_defaults(rule="fixed")
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
    _add_workers(sweep)
    sweep.set_defaults(max_steps=100, tol=1e-8)


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
    """The `--param NAME=VALUE` options, refusing a second learning rate."""
    options: dict[str, Any] = {}
    for item in args.param:
        name, sep, text = item.partition("=")
        if not sep or not name.isidentifier():
            raise UsageError(f"--param must look like NAME=VALUE, got {item!r}")
        options[name] = _parse_value(text)
    if "learning_rate" in options:
        if args.command == "sweep":
            raise UsageError(
                "--param learning_rate=... conflicts with --rates: a sweep sets the "
                "learning rate of each run; drop --param learning_rate"
            )
        if args.learning_rate is not None:
            raise UsageError(
                "--learning-rate and --param learning_rate=... both set the "
                "learning rate; give one of them"
            )
    return options


def _rule_name(args: argparse.Namespace) -> str:
    """The `--rule`, or the default: fixed with a learning rate, else L-BFGS."""
    if args.rule is not None:
        return str(args.rule)
    return "fixed" if args.learning_rate is not None else DEFAULT_RULE


def _make_rule(
    name: str, learning_rate: float | None, params: Mapping[str, Any]
) -> StepRule[Any]:
    """The rule `name` at `learning_rate` with the `--param` options `params`.

    A `--param learning_rate=...` is the learning rate (`_rule_options` refuses
    it next to `--learning-rate` or `--rates`).
    """
    options = dict(params)
    option = "--learning-rate"
    if "learning_rate" in options:
        learning_rate, option = options.pop("learning_rate"), "--param learning_rate"
    takes = hyperparameters("rule", name)
    rate = takes.get("learning_rate")
    required = rate is not None and rate.default is inspect.Parameter.empty
    if learning_rate is None and required:
        raise UsageError(f"rule {name!r} needs --learning-rate")
    if learning_rate is not None and rate is None:
        with_rate = sorted(r for r in RULES if "learning_rate" in _takes(r))
        raise UsageError(
            f"rule {name!r} takes no learning rate; drop {option}, or choose "
            f"a --rule that takes one: {', '.join(with_rate)}"
        )
    for key in options:
        if key not in takes:
            others = [k for k in takes if k != "learning_rate"]
            raise UsageError(
                f"rule {name!r} has no hyperparameter {key!r}; --param sets "
                f"{', '.join(others) or 'nothing for this rule'}"
            )
    try:
        return make_rule(name, learning_rate, **options)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _takes(rule: str) -> Mapping[str, inspect.Parameter]:
    return hyperparameters("rule", rule)


def _import(module_name: str) -> ModuleType:
    """Import `module_name`, from a file in the current folder first.

    A `NAME.py` in the current folder is loaded from its path, so `sys.path`
    is never changed; it is in `sys.modules` only while it runs.
    """
    path = Path.cwd() / f"{module_name}.py"
    try:
        if not (module_name.isidentifier() and path.is_file()):
            return importlib.import_module(module_name)
        file_spec = importlib.util.spec_from_file_location(module_name, path)
        if file_spec is None or file_spec.loader is None:  # pragma: no cover
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(file_spec)
        previous = sys.modules.get(module_name)
        sys.modules[module_name] = module  # as an import would, while it runs
        try:
            file_spec.loader.exec_module(module)
        finally:
            if previous is None:
                del sys.modules[module_name]
            else:
                sys.modules[module_name] = previous
        return module
    except ImportError as error:
        raise UsageError(f"cannot import module {module_name!r}: {error}") from None


def load_objective(spec: str, dimension: int | None = None) -> Objective:
    """Return the objective a command line names.

    Args:
        spec: A problem name from [`PROBLEMS`][optim.registry.PROBLEMS], or
            `MODULE:NAME` naming a function, an `Objective` instance or an
            `Objective` subclass (instantiated without arguments) in an importable
            module. A file `MODULE.py` in the current folder comes first; it is
            loaded from its path, without changing `sys.path`.
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
        optim.errors.UsageError: unknown problem 'nonsense'; choose one of beale, ...
    """
    if ":" not in spec:
        try:
            return get_problem(spec, dimension)
        except (KeyError, TypeError, ValueError) as error:
            # Hints such as "(use chained=True ...)" name Python arguments that
            # the command line does not have.
            message = re.sub(r" \(use \w+=[^)]*\)", "", str(error).strip("'\""))
            raise UsageError(message) from None
    module_name, _, name = spec.partition(":")
    if dimension is not None:
        raise UsageError("--dimension applies to built-in problems only")
    module = _import(module_name)
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
    """The start: the problem's, or `--x0`.

    On a built-in problem (cheap, and without side effects), `--x0` is checked to
    be a point where the value is finite: the point the run starts from, `--x0`
    projected into the `--bounds` if any. A user's objective is not evaluated
    before its run.
    """
    if args.x0 is None:
        if isinstance(objective, Problem):
            return objective.start
        raise UsageError(f"{args.problem} has no standard start: give --x0")
    x0 = _parse_start(args, objective)
    if not isinstance(objective, Problem):
        return x0
    box = _box(getattr(args, "bounds", None), x0)
    point = x0 if box is None else box.project(x0)
    value = _probe(lambda: objective.value(point))
    if value is not None and not math.isfinite(value):
        raise UsageError(
            f"--x0={args.x0}: the objective's value there is {value}, not a finite "
            "number; start where it is finite"
        )
    return x0


def _probe(evaluate: Callable[[], float]) -> float | None:
    """One evaluation of the objective to check the input, warnings silenced.

    `None` when it raises: the run then raises it again and reports it.
    """
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return float(evaluate())
    except Exception:  # the objective's: the run will show it
        return None


def _parse_start(args: argparse.Namespace, objective: Objective) -> np.ndarray:
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
    args: argparse.Namespace, objective: Objective, x0: np.ndarray
) -> GradientEstimator | None:
    if args.estimator is None:
        if args.step is not None:
            raise UsageError("--step needs a finite-difference --estimator")
        if args.seed is not None:
            raise UsageError("--seed needs a random --estimator (spsa)")
        return None
    if args.estimator == "analytic":
        if not objective.has_gradient:
            raise UsageError(f"{args.problem} has no analytic gradient")
        return AnalyticGradient()
    if args.estimator == "complex":
        _check_complex_step(args, objective, x0)
    options: dict[str, Any] = {} if args.step is None else {"step": args.step}
    if args.seed is not None:
        if "rng" not in hyperparameters("estimator", args.estimator):
            raise UsageError(
                f"--seed applies to random estimators (spsa), not {args.estimator}"
            )
        options["rng"] = args.seed
    try:
        return make_estimator(args.estimator, **options)
    except ValueError as error:
        raise UsageError(f"--estimator {args.estimator}: {error}") from None


def _check_complex_step(
    args: argparse.Namespace, objective: Objective, x0: np.ndarray
) -> None:
    """Refuse `--estimator complex` for an objective that drops imaginary parts.

    One evaluation at `x0 + 1e-20j e_0`, a point as the estimator makes them,
    tells: an objective in real arithmetic (every built-in problem; a function
    using `abs` or `float(...)`) returns real values or refuses the point. An
    error of the objective's own is left for the run to report.
    """
    points = x0.astype(np.complex128).reshape(1, -1)
    points[0, 0] += 1e-20j
    points = points.reshape(1, *x0.shape)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            (values,) = objective.map_values([points])
        checked_values(values, points, name="objective values")
    except (TypeError, np.exceptions.ComplexWarning):
        raise UsageError(
            f"--estimator complex: {args.problem} evaluates in real arithmetic "
            "only (it drops the imaginary part of a complex point), so "
            "complex-step differentiation cannot work on it; use --estimator "
            "central or richardson"
        ) from None
    except Exception:  # the objective's own error: the run will show it
        return


def _check_budget(args: argparse.Namespace) -> None:
    if args.max_steps < 0:
        raise UsageError(f"--max-steps must be >= 0, got {args.max_steps}")
    if not (math.isfinite(args.tol) and args.tol >= 0):
        raise UsageError(f"--tol must be >= 0, got {args.tol}")


def _stderr_logger() -> logging.Logger:
    """A private logger to standard error, outside the logging registry.

    Built with `logging.Logger` rather than `logging.getLogger`, so the shared
    `optim` logger and the root logger keep their level and handlers.
    """
    logger = logging.Logger("optim.cli", level=logging.INFO)
    logger.addHandler(logging.StreamHandler(sys.stderr))
    return logger


def _check_path(option: str, path: str, suffixes: tuple[str, ...]) -> None:
    """Refuse an output path that cannot be written, before any work."""
    if not path.lower().endswith(suffixes):
        raise UsageError(f"{option} must end in {', '.join(suffixes)}, got {path!r}")
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise UsageError(f"cannot write {option} {path}: it is a folder")
    if not folder.is_dir():
        raise UsageError(f"cannot write {option} {path}: no folder {str(folder)!r}")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"cannot write {option} {path}: {folder} is read-only")


def _check_outputs(args: argparse.Namespace) -> None:
    """Check the output paths and the extras they need, before any work."""
    if getattr(args, "history", None) is not None:
        _check_path("--history", args.history, (".csv", ".json"))
    if getattr(args, "plot", None) is not None:
        _check_path("--plot", args.plot, _FIGURE_SUFFIXES)
        require_extra("plot", "matplotlib", "--plot")


def _progress(args: argparse.Namespace) -> CallbackLike:
    """A progress bar on a terminal; log lines every tenth of the run elsewhere."""
    if not sys.stderr.isatty():
        every = max(1, args.max_steps // 10)
        return LogProgress(every=every, logger=_stderr_logger())
    require_extra("progress", "tqdm", "--progress")
    from optim.progress import ProgressBar

    return ProgressBar()


def _announce(path: str) -> None:
    """Tell the user a file was written (on standard error: stdout may be JSON)."""
    print(f"wrote {path}", file=sys.stderr)


def _title(args: argparse.Namespace, rule: StepRule[Any]) -> str:
    """What a figure shows: problem, rule and its learning rate or settings."""
    rate = getattr(rule, "learning_rate", None)
    settings = [f"learning rate {rate:g}"] if isinstance(rate, float) else []
    settings += [f"{key}={value}" for key, value in _rule_options(args).items()]
    settings += ["maximized"] if args.ascent else []
    name = _rule_name(args)
    return f"{args.problem}: rule {name} ({', '.join(settings) or 'default settings'})"


def _print_result(args: argparse.Namespace, result: Result) -> None:
    if args.json:
        print(json.dumps(result.to_dict(), allow_nan=False))
        return
    print(f"{result.outcome}: {result.message}")
    print(f"x = {np.array2string(result.x, precision=10)}")
    print(f"value = {result.value:.12g}")
    print(
        f"steps = {result.steps}, evaluations = {result.evaluations}, "
        f"gradient evaluations = {result.gradient_evaluations}"
    )


def _box(options: list[str] | None, x0: np.ndarray) -> Bounds | None:
    """The `--bounds` options as a box: one pair for all, or one per coordinate."""
    if not options:
        return None
    pairs = []
    for text in options:
        parts = text.split(",")
        try:
            low, high = (float(part) for part in parts)
        except ValueError:
            raise UsageError(
                f"--bounds takes LOW,HIGH (two numbers), got {text!r}"
            ) from None
        pairs.append((low, high))
    if len(pairs) not in (1, x0.size):
        raise UsageError(
            f"--bounds was given {len(pairs)} times; give it once (for every "
            f"coordinate) or once per coordinate ({x0.size})"
        )
    lower, upper = np.array(pairs, dtype=float).T
    if len(pairs) > 1:
        lower, upper = lower.reshape(x0.shape), upper.reshape(x0.shape)
    else:
        lower, upper = lower[0], upper[0]
    try:
        return Bounds(lower, upper)
    except ValueError as error:
        raise UsageError(f"--bounds: {error}") from None


def _run(args: argparse.Namespace) -> int:
    _check_budget(args)
    _check_outputs(args)
    objective = load_objective(args.problem, args.dimension)
    x0 = _start(args, objective)
    rule = _make_rule(_rule_name(args), args.learning_rate, _rule_options(args))
    estimator = _estimator(args, objective, x0)
    history = History()
    callbacks: list[CallbackLike] = [StopOnZeroGradient(args.tol), history]
    if args.log_every is not None:
        if args.log_every < 1:
            raise UsageError(f"--log-every must be >= 1, got {args.log_every}")
        callbacks.append(LogProgress(every=args.log_every, logger=_stderr_logger()))
    if args.progress:
        callbacks.append(_progress(args))
    optimizer = Optimizer(
        objective,
        step_rule=rule,
        estimator=estimator,
        mode="ascent" if args.ascent else "descent",
        callbacks=callbacks,
        max_steps=args.max_steps,
        constraint=_box(args.bounds, x0),
    )
    failure: OptimizationError | None = None
    try:
        result = optimizer.run(x0)
    except OptimizationError as error:  # the result so far is kept, then shown
        failure, result = error, error.result
    _print_result(args, result)
    if args.history:
        _write(lambda: history.write(args.history), "--history", args.history)
    if args.plot and len(history):
        from optim.plot import plot_run

        title = _title(args, rule)
        box = optimizer.constraint
        _save_figure(
            lambda: plot_run(objective, history, title=title, constraint=box),
            args.plot,
        )
    if failure is not None:
        traceback.print_exception(failure, file=sys.stderr)
        return EXIT_CODES[Status.FAILED]
    return EXIT_CODES[result.status]


def _write(action: Callable[[], object], option: str, path: str) -> None:
    try:
        action()
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot write {option} {path}: {error}") from None
    _announce(path)


def _save_figure(draw: Callable[[], Figure], path: str) -> None:
    figure = draw()
    try:
        _write(lambda: figure.savefig(path), "--plot", path)
    finally:
        import matplotlib.pyplot as plt

        plt.close(figure)  # pyplot keeps every figure it made until closed


def _sweep(args: argparse.Namespace) -> int:
    _check_budget(args)
    _check_outputs(args)
    objective = load_objective(args.problem, args.dimension)
    x0 = _start(args, objective)
    options = _rule_options(args)
    _make_rule(args.rule, args.rates[0], options)  # refuse bad input early
    if any(not (math.isfinite(rate) and rate > 0) for rate in args.rates):
        raise UsageError(f"--rates must be positive, got {args.rates}")
    if args.plot and x0.size != 2:
        raise UsageError("--plot draws 2-D problems only")
    with _executor(args.workers) as executor:
        runs = sweep_learning_rates(
            objective,
            x0,
            args.rates,
            rule=_RuleAt(args.rule, options),
            estimator=_estimator(args, objective, x0),
            max_steps=args.max_steps,
            tol=args.tol,
            mode="ascent" if args.ascent else "descent",
            executor=executor,
        )
    print(format_sweep(runs))
    if args.plot:
        from optim.plot import plot_sweep

        title = f"{args.problem}: rule {args.rule} at {len(runs)} learning rates"
        title += ", maximized" if args.ascent else ""
        _save_figure(lambda: plot_sweep(objective, runs, title=title), args.plot)
    return 0


class _RuleAt:
    """`make_rule(name, rate, **options)` as a picklable function of the rate."""

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        self.name, self.options = name, options

    def __call__(self, rate: float) -> StepRule[Any]:
        return _make_rule(self.name, rate, self.options)


def _executor(workers: int) -> AbstractContextManager[Executor | None]:
    """A process pool of `workers` processes, or nothing for 1."""
    if workers < 1:
        raise UsageError(f"--workers must be >= 1, got {workers}")
    if workers == 1:
        return contextlib.nullcontext()
    # Not fork: a forked copy of a multithreaded process (BLAS, JAX) can deadlock.
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("forkserver")
    )


def _multistart(args: argparse.Namespace) -> int:
    _check_budget(args)
    if args.starts < 1 or not (math.isfinite(args.spread) and args.spread >= 0):
        raise UsageError(
            f"--starts must be >= 1 and --spread >= 0, got {args.starts} and "
            f"{args.spread}"
        )
    objective = load_objective(args.problem, args.dimension)
    center = _start(args, objective)
    noise = np.random.default_rng(args.start_seed).normal(
        size=(args.starts, *center.shape)
    )
    starts = list(center + args.spread * noise)
    optimizer = Optimizer(
        objective,
        step_rule=_make_rule(_rule_name(args), args.learning_rate, _rule_options(args)),
        estimator=_estimator(args, objective, center),
        mode="ascent" if args.ascent else "descent",
        callbacks=[StopOnZeroGradient(args.tol)],
        max_steps=args.max_steps,
    )
    try:
        with _executor(args.workers) as executor:
            results = multistart(optimizer, starts, executor=executor)
    except TypeError as error:  # cannot be sent to the workers
        raise UsageError(str(error)) from None
    print(f"{'start':<5} {'outcome':<16} {'steps':>6} {'value':>14}  x")
    for k, result in enumerate(results):
        print(
            f"{k:<5} {result.outcome:<16} {result.steps:>6} {result.value:>14.8g}  "
            f"{np.array2string(result.x, precision=6)}"
        )
    finite = [r for r in results if math.isfinite(r.value)]
    best = (min if not args.ascent else max)(finite or results, key=lambda r: r.value)
    print(f"best: start {results.index(best)}: {best.outcome}, value {best.value:.12g}")
    return EXIT_CODES[best.status]


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
    _check_outputs(args)
    print(
        "Gradient descent on the sphere f(x) = x0^2 + x1^2, central differences "
        f"(h = 1e-4), at most {args.max_steps} steps\n"
    )
    runs = demo_results(max_steps=args.max_steps)
    print(format_demo(runs))
    if args.plot:
        from optim.plot import plot_sweep

        title = "sphere: rule fixed at the textbook's four learning rates"
        _save_figure(lambda: plot_sweep(Sphere(), runs, title=title), args.plot)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `optim` command with `argv` (default: `sys.argv[1:]`).

    Args:
        argv: Command-line arguments, without the program name.

    Returns:
        The exit status: for `optim run`, the code of the run's status in
            [`EXIT_CODES`][optim.cli.EXIT_CODES] (`0` converged or stopped by a stop
            test, `3` not converged, `4` diverged, `130` interrupted); `2` for a
            mistake in the command line or a missing optional extra (one line on
            standard error, before any work); `1` for an exception raised by the
            objective, a plug-in or `optim` itself (its traceback on standard
            error); `0` for the other commands.

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
        "multistart": lambda: _multistart(args),
    }
    try:
        return commands[args.command]()
    except (UsageError, MissingExtraError) as error:
        print(f"optim {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before or after a run (a run reports its own)
        print(f"optim {args.command}: interrupted", file=sys.stderr)
        return EXIT_CODES[Status.INTERRUPTED]
    except Exception:  # the objective's or optim's own: the whole story
        traceback.print_exc()
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
