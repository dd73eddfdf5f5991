r"""The measurements of issue "Per-step cost at the limit", shared by bench and report.

Every row times a run of optim against a peer doing the same work, interleaved in
the same process (`benchmarks/timing.py`), and reports the median per-round ratio.
Only the public API is used (`Optimizer`, the rules, `History`, the problems), so
the rows keep working while the engine changes.

The runs: the sphere $f(x) = x \cdot x$ from `linspace(1, 2, n)`, the analytic
gradient and `StopOnZeroGradient(0)` (which never fires, so every run takes exactly
`steps(n)` steps), `max_growth=None` (no divergence test: the hand loops have
none). The hand loops are what a user writes in plain numpy: each step evaluates the
value and the gradient, computes the gradient norm (the stop test), and updates `x`
with ordinary (allocating) expressions. The torch and optax loops evaluate the same
value and analytic gradient in their own arrays (no autograd), compute the norm as a
stop test, and take the library's step; torch runs with one thread, optax as one
jitted step function per iteration.
"""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from benchmarks.timing import Ratio, interleaved_ratio
from optim import (
    LBFGS,
    Adam,
    AnalyticGradient,
    FixedStep,
    History,
    MoreThuente,
    Optimizer,
    StopOnZeroGradient,
)
from optim.problems import Rosenbrock, Sphere

SIZES = (2, 100, 10_000, 100_000)
"""Problem sizes of the per-step rows."""

LBFGS_SIZES = (2, 100, 1_000, 10_000)
"""Sizes of the extended Rosenbrock function for the L-BFGS whole-solve row."""

LEARNING_RATE = 1e-4
"""FixedStep's (and torch SGD's) learning rate."""

ADAM_LEARNING_RATE = 1e-3
"""Adam's learning rate (betas 0.9, 0.999, eps 1e-8: every library's default)."""

LBFGS_TOL = 1e-6
"""Gradient tolerance of the L-BFGS row: scipy's `gtol`, and optim's
`StopOnZeroGradient` in the same (infinity) norm."""

LBFGSB_SEARCH = MoreThuente(1e-3, 0.9, xtol=0.1)
"""L-BFGS-B's own line search and constants (`lnsrlb` in scipy's `lbfgsb.c`:
`dcsrch` with `ftol=1e-3`, `gtol=0.9`, `xtol=0.1`), which the L-BFGS row runs so
that both sides take the same iterates."""

MEMORY_SIZE = 1_000_000
"""Size of the run whose peak traced memory is measured."""


def steps(n: int) -> int:
    """Steps per timed run: enough that per-run setup is amortized (1000 at n <= 100,
    200 at n = 10^4, 40 at n = 10^5), about 10 ms a run."""
    return min(1000, max(40, 2_000_000 // n))


def start(n: int) -> np.ndarray:
    """The start point of every per-step row."""
    return np.linspace(1.0, 2.0, n)


Run = Callable[[], np.ndarray]
"""A timed run: returns its final point (compared across the two sides)."""


# -- optim ------------------------------------------------------------------------


def _optimizer(rule, n, *callbacks):
    return Optimizer(
        Sphere(),
        step_rule=rule,
        estimator=AnalyticGradient(),
        callbacks=[StopOnZeroGradient(0.0), *callbacks],
        max_steps=steps(n),
        max_growth=None,
    )


def optim_fixed_step(n: int) -> Run:
    """FixedStep + StopOnZeroGradient(0) + AnalyticGradient on the sphere."""
    optimizer, x0 = _optimizer(FixedStep(LEARNING_RATE), n), start(n)
    return lambda: optimizer.run(x0).x


def optim_fixed_step_history(n: int) -> Run:
    """The same run with `History()` attached (a copy of every point)."""
    history = History()
    optimizer, x0 = _optimizer(FixedStep(LEARNING_RATE), n, history), start(n)

    def run():
        x = optimizer.run(x0).x
        assert len(history) >= steps(n)  # x_0 ... x_steps, however recorded
        return x

    return run


def optim_fixed_step_copies(n: int) -> Run:
    """The same run with the least a callback can do to keep every point: copy
    `info.x` into the next row of a block made once (as `History` reuses its own).

    `History`'s cost over this is its own bookkeeping; the rest, the callback
    machinery and the copy's memory traffic, any recording of every point pays.
    """
    block = np.empty((steps(n) + 1, n))

    def keep(info):
        np.copyto(block[info.step], info.x)

    optimizer, x0 = _optimizer(FixedStep(LEARNING_RATE), n, keep), start(n)
    return lambda: optimizer.run(x0).x


def optim_adam(n: int) -> Run:
    """Adam + StopOnZeroGradient(0) + AnalyticGradient on the sphere."""
    optimizer, x0 = _optimizer(Adam(ADAM_LEARNING_RATE), n), start(n)
    return lambda: optimizer.run(x0).x


# -- hand loops -------------------------------------------------------------------


def hand_fixed_step(n: int) -> Run:
    """Value, gradient, norm, `x = x - lr * gradient`, in plain numpy."""
    objective, x0, count = Sphere(), start(n), steps(n)

    def run():
        x = x0.copy()
        for i in range(count + 1):  # optim evaluates x_0 ... x_count
            value = objective.value(x)
            gradient = objective.gradient(x)
            norm = math.sqrt(np.vdot(gradient, gradient))
            if i == count or norm <= 0.0 or not math.isfinite(value):
                break
            x = x - LEARNING_RATE * gradient
        return x

    return run


def hand_adam(n: int) -> Run:
    """Value, gradient, norm and the textbook Adam update, in plain numpy."""
    objective, x0, count = Sphere(), start(n), steps(n)
    beta1, beta2, eps = 0.9, 0.999, 1e-8

    def run():
        x = x0.copy()
        m = np.zeros_like(x)
        v = np.zeros_like(x)
        for i in range(count + 1):
            value = objective.value(x)
            gradient = objective.gradient(x)
            norm = math.sqrt(np.vdot(gradient, gradient))
            if i == count or norm <= 0.0 or not math.isfinite(value):
                break
            t = i + 1
            m = beta1 * m + (1.0 - beta1) * gradient
            v = beta2 * v + (1.0 - beta2) * gradient * gradient
            m_hat = m / (1.0 - beta1**t)
            v_hat = v / (1.0 - beta2**t)
            x = x - ADAM_LEARNING_RATE * m_hat / (np.sqrt(v_hat) + eps)
        return x

    return run


# -- torch and optax (optional peers) ---------------------------------------------


def _torch_loop(n: int, make_optimizer) -> Run:
    import torch

    x0, count = start(n), steps(n)

    def run():
        x = torch.tensor(x0, dtype=torch.float64)
        optimizer = make_optimizer([x])
        with torch.no_grad():
            for i in range(count + 1):
                value = torch.dot(x, x).item()
                x.grad = 2.0 * x
                norm = torch.linalg.vector_norm(x.grad).item()
                if i == count or norm <= 0.0 or not math.isfinite(value):
                    break
                optimizer.step()
        return x.numpy()

    return run


def torch_sgd(n: int) -> Run:
    """torch.optim.SGD(lr) on the sphere: value, gradient, norm, `step()`."""
    import torch

    return _torch_loop(n, lambda params: torch.optim.SGD(params, lr=LEARNING_RATE))


def torch_adam(n: int) -> Run:
    """torch.optim.Adam(lr) on the sphere: value, gradient, norm, `step()`."""
    import torch

    return _torch_loop(
        n, lambda params: torch.optim.Adam(params, lr=ADAM_LEARNING_RATE)
    )


def _optax_loop(n: int, make_transform) -> Run:
    import jax
    import jax.numpy as jnp
    import optax

    x64 = getattr(jax, "enable_x64", None)
    if x64 is None:  # pragma: no cover - jax < 0.5
        from jax.experimental import enable_x64 as x64
    x0, count = start(n), steps(n)
    transform = make_transform(optax)

    @jax.jit
    def step(x, state):
        value = jnp.dot(x, x)
        gradient = 2.0 * x
        norm = jnp.sqrt(jnp.dot(gradient, gradient))
        updates, state = transform.update(gradient, state, x)
        return optax.apply_updates(x, updates), state, value, norm

    def run():
        with x64(True):
            x = jnp.asarray(x0)
            state = transform.init(x)
            for i in range(count + 1):
                new_x, new_state, value, norm = step(x, state)
                if i == count or float(norm) <= 0.0 or not math.isfinite(value):
                    break
                x, state = new_x, new_state
            return np.asarray(x)

    return run


def optax_sgd(n: int) -> Run:
    """optax.sgd(lr), one jitted step (value, gradient, norm, update) per step."""
    return _optax_loop(n, lambda optax: optax.sgd(LEARNING_RATE))


def optax_adam(n: int) -> Run:
    """optax.adam(lr), one jitted step (value, gradient, norm, update) per step."""
    return _optax_loop(n, lambda optax: optax.adam(ADAM_LEARNING_RATE))


# -- the rows ---------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One row of the per-step table: a candidate, its peer, and the targets."""

    name: str
    candidate: Callable[[int], Run]
    baseline: Callable[[int], Run]
    targets: dict[int, float] = field(default_factory=dict)
    """Target ratio by size (sizes without a target are reported only)."""
    needs: str | None = None
    """A module the peer needs (`torch`, `optax`), or `None`."""


ROWS = (
    Row(
        "FixedStep ÷ hand loop",
        optim_fixed_step,
        hand_fixed_step,
        targets={2: 2.0, 100_000: 1.0},
    ),
    Row(
        "FixedStep + History ÷ FixedStep",
        optim_fixed_step_history,
        optim_fixed_step,
        targets={10_000: 1.3},
    ),
    Row("FixedStep + History ÷ hand loop", optim_fixed_step_history, hand_fixed_step),
    Row(
        "FixedStep + History ÷ FixedStep + a copy of each point",
        optim_fixed_step_history,
        optim_fixed_step_copies,
    ),
    Row("Adam ÷ hand Adam", optim_adam, hand_adam, targets={2: 1.6, 100_000: 1.0}),
    Row("FixedStep ÷ torch.optim.SGD", optim_fixed_step, torch_sgd, needs="torch"),
    Row("Adam ÷ torch.optim.Adam", optim_adam, torch_adam, needs="torch"),
    Row("FixedStep ÷ optax.sgd (jitted)", optim_fixed_step, optax_sgd, needs="optax"),
    Row("Adam ÷ optax.adam (jitted)", optim_adam, optax_adam, needs="optax"),
)
"""Every per-step row, in the order of the issue's table."""


def row(name: str) -> Row:
    """The row called `name`."""
    return next(r for r in ROWS if r.name == name)


def per_step_ratio(row: Row, n: int, *, rounds: int = 15) -> Ratio:
    """Time `row` at size `n`; both sides must end at the same point."""
    candidate, baseline = row.candidate(n), row.baseline(n)
    np.testing.assert_allclose(candidate(), baseline(), rtol=1e-9, atol=1e-12)
    return interleaved_ratio(candidate, baseline, number=1, rounds=rounds)


# -- memory -----------------------------------------------------------------------


def peak_bytes(n: int = MEMORY_SIZE, count: int = 5) -> int:
    """Peak traced memory (tracemalloc) of a `count`-step FixedStep run, in bytes.

    The start point exists before tracing starts; the peak counts everything the
    run allocates, its result included.
    """
    x0 = start(n)
    optimizer = Optimizer(
        Sphere(),
        step_rule=FixedStep(LEARNING_RATE),
        estimator=AnalyticGradient(),
        callbacks=[StopOnZeroGradient(0.0)],
        max_steps=count,
        max_growth=None,
    )
    tracemalloc.start()
    try:
        result = optimizer.run(x0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.steps == count
    return peak


def peak_vectors(n: int = MEMORY_SIZE, count: int = 5) -> tuple[float, int]:
    """How many n-vectors a FixedStep run's peak memory holds, and what else.

    The peak is measured at `n` and `2 n`: what grows with `n` is n-vectors (the
    difference, over the size of one), what does not (the run's own small
    objects, a few kB) is the rest, after a first small run has made what a
    process makes once. Returns `(n-vectors, other bytes)`.
    """
    peak_bytes(1_000, count)
    small, large = peak_bytes(n, count), peak_bytes(2 * n, count)
    size = start(n).nbytes  # of one n-vector
    vectors = (large - small) / size
    return vectors, round(small - vectors * size)


# -- L-BFGS whole solve -----------------------------------------------------------


@dataclass(frozen=True)
class LBFGSRow:
    """optim's LBFGS against scipy's L-BFGS-B on the extended Rosenbrock function."""

    n: int
    ratio: Ratio
    status: str
    evaluations: int
    """optim's value evaluations."""
    gradient_evaluations: int
    """optim's gradient evaluations."""
    scipy_evaluations: int
    """scipy's `nfev` (each a value and a gradient: `jac=True`)."""
    scipy_message: str
    default_evaluations: int
    """The value evaluations of the default `LBFGS()` (its strong Wolfe search)
    stopped by the same test (reported, not timed)."""


def _lbfgs_optimizer(n: int, rule) -> Optimizer:
    return Optimizer(
        Rosenbrock(n),
        step_rule=rule,
        callbacks=[StopOnZeroGradient(LBFGS_TOL, norm=np.inf)],
        max_steps=10_000,
    )


def lbfgs_solvers(n: int) -> tuple[Callable[[], object], Callable[[], object]]:
    """The two whole solves: optim's, then scipy's, like with like.

    optim: `LBFGS(search=LBFGSB_SEARCH)` (L-BFGS-B's line search and constants)
    with `StopOnZeroGradient(1e-6, norm=numpy.inf)`. scipy:
    `minimize(method="L-BFGS-B", jac=True)` with `gtol=1e-6` (a test of the
    gradient's infinity norm) and `ftol=0` (so that it too stops on the gradient,
    not on a relative decrease of f), on a function returning the same problem's
    value and gradient. The two take the same iterates at every size of
    `LBFGS_SIZES` (same evaluations, one iteration apart in their counts: scipy
    counts the start).
    """
    problem = Rosenbrock(n)
    x0 = problem.start
    optimizer = _lbfgs_optimizer(n, LBFGS(search=LBFGSB_SEARCH))

    def value_and_gradient(x):
        return problem.value(x), problem.gradient(x)

    options = {"gtol": LBFGS_TOL, "ftol": 0.0, "maxiter": 10_000, "maxfun": 100_000}

    def ours():
        return optimizer.run(x0)

    def scipy():
        return minimize(
            value_and_gradient, x0, method="L-BFGS-B", jac=True, options=options
        )

    return ours, scipy


def lbfgs_row(n: int, *, rounds: int | None = None) -> LBFGSRow:
    """Time the whole solves at size `n` and count their evaluations."""
    ours, scipy = lbfgs_solvers(n)
    result, reference = ours(), scipy()
    assert result.value < 1e-6, result
    assert reference.fun < 1e-6, reference
    default = _lbfgs_optimizer(n, LBFGS()).run(Rosenbrock(n).start)
    if rounds is None:
        rounds = 11 if n <= 1_000 else 7
    return LBFGSRow(
        n=n,
        ratio=interleaved_ratio(ours, scipy, number=1, rounds=rounds),
        status=result.status.name,
        evaluations=result.evaluations,
        gradient_evaluations=result.gradient_evaluations,
        scipy_evaluations=int(reference.nfev),
        scipy_message=str(reference.message),
        default_evaluations=default.evaluations,
    )
