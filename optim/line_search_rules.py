r"""Rules that choose their own step length: line-search descent, L-BFGS, CG, BB.

[`LineSearchRule`][optim.line_search_rules.LineSearchRule] combines a
[`Direction`][optim.directions.Direction] (where to go) with a
[`Search`][optim.line_search.Search] (how far), optimistix-style.
[`LBFGS`][optim.line_search_rules.LBFGS],
[`ConjugateGradient`][optim.line_search_rules.ConjugateGradient] and
[`BarzilaiBorwein`][optim.line_search_rules.BarzilaiBorwein] are presets: functions
that return a `LineSearchRule` configured with the customary direction and search,
so that `LBFGS() == LineSearchRule(LBFGSDirection(), StrongWolfe())`.

When a search finds no acceptable step, the rule restarts from the steepest-descent
direction and searches again; if that fails too (typically at the limit of
floating-point precision, or because the gradient is inaccurate), it keeps the best
trial point that lowered the function, and with a deterministic estimator stays
put at the next point (searching again from so close would fail again). Otherwise,
with a deterministic estimator, it stays put (a zero step) and stops searching at
that point, so the run ends without wasting evaluations. A random estimator's
estimate may just have been unlucky: the rule then draws a fresh one at the same
point (up to three in a step, through the evaluator's `value_and_gradient`; an
evaluator with a random stream has an `rng` that is not `None`) and restarts from
steepest descent along it, with its memory cleared, backtracking (whose test
needs values only) instead of a strong Wolfe search (whose curvature test would
compare noisy slopes). A gradient that changed at a stalled point (a fresh
estimate, a new minibatch) likewise restarts the search. A step too short to move
`x` counts as a failure.

In a box ([`Bounds`][optim.projections.Bounds]), directions other than L-BFGS's
see only the variables free to move (a variable at a bound that the gradient
pushes out of the box is held, and the direction restarts when that set changes),
and a strong Wolfe search searches the straight part of the projected path, up to
the first bound, keeping a step cut short there for its decrease; along a path
that leaves the box at once it backtracks (Armijo along the projection arc).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from optim import backend
from optim._arrays import displacement, ratio
from optim._types import Array, override
from optim.constrained import box_direction, max_step, spectral_search
from optim.directions import (
    BarzilaiBorweinDirection,
    BarzilaiBorweinDirectionState,
    Direction,
    LBFGSDirection,
    LBFGSDirectionState,
    PolakRibiere,
    SteepestDescent,
)
from optim.evaluation import TrialEvaluator, constraint_of
from optim.line_search import (
    AcceptStep,
    Backtracking,
    Search,
    SearchResult,
    StrongWolfe,
    quadratic_first_step,
)
from optim.projections import Bounds, Projection
from optim.step_rules import StepRule

__all__ = [
    "LBFGS",
    "BarzilaiBorwein",
    "ConjugateGradient",
    "LineSearchRule",
    "LineSearchRuleState",
]

_logger = logging.getLogger("optim")

_array_eq = attrs.cmp_using(eq=backend.array_equal)


def _dot(a: Array, b: Array) -> float:
    return backend.vdot(a, b)


@attrs.frozen(kw_only=True)
class LineSearchRuleState:
    """State of [`LineSearchRule`][optim.line_search_rules.LineSearchRule].

    Examples:
        >>> import numpy as np
        >>> state = LBFGS().init(np.zeros(2))
        >>> state.direction_state.count, state.stalled
        (0, False)
    """

    direction_state: Any
    """The direction's own state (for example the L-BFGS pairs)."""

    previous_x: Array | None = attrs.field(default=None, eq=_array_eq)
    """The point of the previous update, `None` at the start."""

    previous_gradient: Array | None = attrs.field(default=None, eq=_array_eq)
    """The gradient at `previous_x`."""

    previous_step: float = 0.0
    r"""The step length $\alpha$ accepted at the previous update."""

    previous_slope: float = 0.0
    r"""The directional derivative $g^\top p$ at the previous update."""

    previous_value: float | None = None
    """The minimized function's value at `previous_x`."""

    previous_delta: Array | None = attrs.field(default=None, eq=_array_eq)
    """The displacement the previous search returned (kept with `scipy_like`
    only)."""

    stalled: bool = False
    """Whether the last search failed completely (the rule then stays put until
    the gradient at that point changes)."""

    exhausted: bool = False
    """Whether the last step is the best trial point of searches that all failed,
    from steepest descent too. With a deterministic estimator the rule then stays
    put at the next point (its searches would fail again at the limit of what the
    gradient resolves), so the run ends after one such step instead of repeating
    it."""

    recent_values: tuple[float, ...] = ()
    """The last values of the minimized function (the spectral projected
    gradient's non-monotone search compares with their maximum)."""


def _is_direction(
    instance: object, attribute: attrs.Attribute[Any], value: Any
) -> None:
    if not isinstance(value, Direction):
        raise TypeError(f"{attribute.name} must be a Direction, got {value!r}")


def _is_search(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, Search):
        raise TypeError(f"{attribute.name} must be a Search, got {value!r}")


_LBFGSB_MAX_STEP = 1e10
"""The longest first step of scipy's L-BFGS-B without bounds (`big` in lnsrlb)."""


def _rounded_norm(vector: Array) -> float:
    """The 2-norm of `vector`, correctly rounded (as BLAS `dnrm2` nearly always is).

    `sqrt(v.v)` can be an ulp off, and the first trial point with it: scipy's
    L-BFGS-B first step is `d / ||d||`, so the two paths would part at once.
    """
    return math.hypot(*_host_flat(vector).tolist())


def _moves(evaluator: object, x: Array, value: float, result: SearchResult) -> bool:
    """Whether a search's step changes `x`.

    With a deterministic estimator a lower value than at `x` says so (the same
    point has the same value) without a pass over the point.
    """
    if (
        result.value is not None
        and result.value < value
        and getattr(evaluator, "rng", None) is None
    ):
        return True
    return not backend.array_equal(x + result.delta, x)


def _first_trial(
    scipy_like: bool,
    scaled: bool,
    value: float,
    gradient: Array,
    direction: Array,
    slope: float,
    state: LineSearchRuleState,
    *,
    lbfgsb_first: bool = False,
) -> float:
    """The first step length to try (Nocedal & Wright §3.5, "initial step")."""
    if lbfgsb_first:
        # scipy's L-BFGS-B (lnsrlb): the run's first search along d = -g starts
        # at min(1/||d||, 1e10), ||d|| as BLAS dnrm2 rounds it (later ones at 1,
        # as for any scaled direction below).
        return min(ratio(1.0, _rounded_norm(gradient), 1.0), _LBFGSB_MAX_STEP)
    if scipy_like:
        previous = state.previous_value
        if previous is None:  # scipy's BFGS and CG: a first displacement of ~1
            previous = value + float(np.linalg.norm(gradient)) / 2.0
        return quadratic_first_step(value, previous, slope)
    if scaled:
        return 1.0
    if state.previous_step > 0.0 and state.previous_slope < 0.0:
        if state.previous_value is not None and state.previous_value > value:
            # Nocedal & Wright eq. 3.61 (scaled by 1.01): the step that the
            # quadratic through f(x), its slope and the last decrease minimizes.
            return ratio(1.01 * 2.0 * (value - state.previous_value), slope, 0.0)
        # Nocedal & Wright eq. 3.60: same first-order change as last time.
        return ratio(state.previous_step * state.previous_slope, slope, 0.0)
    return ratio(1.0, backend.norm(direction), 1.0)


@attrs.frozen
class LineSearchRule(StepRule[LineSearchRuleState]):
    r"""Any direction with any line search: $x \leftarrow x + \alpha_k p_k$.

    The direction $p_k$ comes from `direction`, the step length $\alpha_k$ from
    `search`, started at $\alpha_0 = 1$ for scaled (quasi-Newton, spectral)
    directions and otherwise at $\alpha_{k-1} \, g_{k-1}^\top p_{k-1} / g_k^\top p_k$
    (Nocedal & Wright eq. 3.60; $1/\|p_0\|$ at the first step). A direction that
    is not a descent direction is replaced by $-g$. For search failures, see
    [`optim.line_search_rules`][optim.line_search_rules].

    The rule evaluates trial points, so a
    [`Chain`][optim.transforms.Chain] refuses transforms before it (see
    [`evaluates_trial_points`][optim.step_rules.StepRule.evaluates_trial_points]).

    Examples:
        Steepest descent with Armijo backtracking on Booth's function:

        >>> import numpy as np
        >>> from optim import Optimizer, StopOnZeroGradient
        >>> from optim.directions import SteepestDescent
        >>> from optim.line_search import Backtracking
        >>> from optim.problems import Booth
        >>> rule = LineSearchRule(SteepestDescent(), Backtracking())
        >>> result = Optimizer(
        ...     Booth(), step_rule=rule, callbacks=[StopOnZeroGradient(1e-8)]
        ... ).run(Booth().start)
        >>> result.status.name, np.round(result.x, 6)
        ('CONVERGED', array([1., 3.]))
    """

    direction: Direction[Any] = attrs.field(
        factory=SteepestDescent, validator=_is_direction
    )
    """Where to go."""

    search: Search = attrs.field(factory=Backtracking, validator=_is_search)
    """How far to go."""

    scipy_like: bool = attrs.field(default=False, kw_only=True)
    """Whether to reproduce the step arithmetic of scipy's BFGS, CG and L-BFGS-B.
    For BFGS and CG each search's first trial is
    [`quadratic_first_step`][optim.line_search.quadratic_first_step] of the last
    two values (from $f_0 + \\|g_0\\| / 2$ at the start) instead of the rule
    above. With an [`LBFGSDirection`][optim.directions.LBFGSDirection] (L-BFGS-B,
    `lnsrlb` in scipy's `lbfgsb.c`) the first search goes along $-g_0$ itself,
    not shortened, from $\\min(1/\\|g_0\\|, 10^{10})$ with the norm correctly
    rounded (as BLAS `dnrm2` rounds it), and later ones from 1: the same points as
    the unit step along the shortened direction, up to rounding, but the search
    then interpolates in scipy's units and its trial points are scipy's. In both
    cases the direction learns from the displacement $\\alpha p$ the search
    returned rather than from the difference of the two points (they differ by
    the rounding of $x + \\alpha p$). The scipy face sets it."""

    @property
    @override
    def evaluates_trial_points(self) -> bool:
        return True

    @override
    def init(self, x0: Array) -> LineSearchRuleState:
        return LineSearchRuleState(direction_state=self.direction.init(x0))

    def _path_search(
        self,
        constraint: Projection | None,
        x: Array,
        direction: Array,
        *,
        fresh: bool,
    ) -> Search:
        """The search for this step: the rule's, or one that can succeed here.

        In a box, a strong Wolfe search along the projected path could not
        succeed once the path bends at a bound (the slope changes where the
        path bends, not where the function turns), so it searches only the
        straight part of the path, up to the first bound (a step cut short
        there is kept for its decrease, as L-BFGS-B's search does), or, when
        the direction leaves the box at once, backtracks along the path with
        its `c1` (Bertsekas's Armijo rule along the projection arc). On a
        restart with a random estimator's fresh estimate (`fresh`) it also
        backtracks: its curvature test would compare noisy slopes, and
        backtracking needs values only.
        """
        search = self.search
        if (constraint is None and not fresh) or not isinstance(search, StrongWolfe):
            return search
        if fresh:
            return Backtracking(search.c1)
        if not isinstance(constraint, Bounds):
            return search
        lower, upper = (np.ravel(bound) for bound in constraint.broadcast(x))
        limit = max_step(x.reshape(-1), direction.reshape(-1), lower, upper)
        if limit > 0.0:
            return attrs.evolve(search, max_step=min(limit, search.max_step))
        return Backtracking(search.c1)

    def _search(
        self,
        search: Search,
        evaluator: TrialEvaluator,
        x: Array,
        value: float,
        gradient: Array,
        direction: Array,
        initial_step: float,
    ) -> SearchResult:
        return search.search(
            evaluator,
            x=x,
            value=value,
            gradient=gradient,
            direction=direction,
            initial_step=initial_step,
        )

    @override
    def update(
        self,
        gradient: Array,
        state: LineSearchRuleState,
        *,
        x: Array,
        value: float,
        evaluator: TrialEvaluator,
    ) -> tuple[Array, LineSearchRuleState]:
        constraint = constraint_of(evaluator)
        if constraint is None:
            stationary = not backend.any_true(gradient)
        else:
            stationary = not backend.any_true(
                constraint.projected_gradient(x, gradient)
            )
        previous_x, previous_gradient = state.previous_x, state.previous_gradient
        again = repeated = False
        if state.stalled:
            again, repeated = _stalled_here(state, x, gradient)
        if state.exhausted and getattr(evaluator, "rng", None) is None:
            # The last step took what failed searches found: with a deterministic
            # estimator, searching again from so close would fail again.
            _logger.debug("the searches failed at the last step; staying put")
            return backend.zeros(x), state
        if stationary or repeated:
            # Stalled at this very point with the same gradient (a deterministic
            # estimator: every search would fail again), or at a stationary
            # point: stay put.
            return backend.zeros(x), state
        direction_state = state.direction_state
        if again:
            # Stalled here, but the gradient is new (a random estimator's fresh
            # estimate, or a new minibatch): restart from steepest descent along
            # it, with the memory cleared.
            _logger.debug("a fresh gradient after a failed search; restarting")
            direction_state = self.direction.init(x)
        elif previous_x is not None and previous_gradient is not None:
            step = state.previous_delta  # scipy_like: scipy's s = alpha p
            step = x - previous_x if step is None else step
            direction_state = self.direction.observe(
                direction_state,
                step=step,
                gradient_change=gradient - previous_gradient,
            )
        if constraint is not None and isinstance(
            self.direction, BarzilaiBorweinDirection
        ):
            return _spectral(
                self.direction,
                constraint,
                direction_state,
                state,
                x=x,
                value=value,
                gradient=gradient,
                evaluator=evaluator,
            )
        if (
            constraint is not None
            and isinstance(constraint, Bounds)
            and isinstance(self.direction, LBFGSDirection)
        ):
            return self._box(
                constraint,
                direction_state,
                x,
                value,
                gradient,
                evaluator,
                first=state.previous_x is None,
                fresh=again,
            )
        return self._descend(
            constraint,
            direction_state,
            state,
            x=x,
            value=value,
            gradient=gradient,
            evaluator=evaluator,
            again=again,
        )

    def _descend(
        self,
        constraint: Projection | None,
        direction_state: Any,
        state: LineSearchRuleState,
        *,
        x: Array,
        value: float,
        gradient: Array,
        evaluator: TrialEvaluator,
        again: bool,
    ) -> tuple[Array, LineSearchRuleState]:
        """One step along the direction (of the free variables, in a box)."""
        held = None if constraint is None else _held(constraint, x, gradient)
        free = gradient if held is None else _free(held, gradient)
        # In a box the direction sees only the variables free to move, and
        # restarts whenever that set changes.
        if held is not None and state.previous_x is not None:
            assert state.previous_gradient is not None
            before = _held(constraint, state.previous_x, state.previous_gradient)
            if before is not None and not np.array_equal(before, held):
                direction_state = self.direction.init(x)
        lbfgsb = self.scipy_like and isinstance(self.direction, LBFGSDirection)
        first = lbfgsb and state.previous_x is None
        if first:
            direction = -free  # L-BFGS-B's first d = z - x = -g, not shortened
        else:
            direction, direction_state = self.direction.direction(free, direction_state)
        if held is not None:
            direction = np.where(held, 0.0, direction).astype(direction.dtype)
        slope = _dot(gradient, direction)
        scaled = self.direction.scaled
        steepest = False  # whether the direction is -free (asked only on failure)
        if again or not slope < 0.0:
            direction_state = self.direction.init(x)
            direction, slope, steepest = -free, -_dot(free, free), True
            scaled = False
        initial = _first_trial(
            self.scipy_like and not lbfgsb,
            scaled,
            value,
            free,
            direction,
            slope,
            state,
            lbfgsb_first=first and not steepest,
        )
        if not (math.isfinite(initial) and initial > 0.0) and not (
            self.scipy_like and initial == 0.0  # scipy: no change, no search
        ):
            initial = ratio(1.0, math.sqrt(max(-slope, 0.0)), 1.0)
        search = self.search
        if constraint is not None or again:
            search = self._path_search(constraint, x, direction, fresh=again)
        result = self._search(search, evaluator, x, value, gradient, direction, initial)
        failed = not (result.success or _to_bound(search, self.search, result, value))
        if failed:
            result, gradient, slope, failed = self._retry(
                constraint,
                x=x,
                value=value,
                gradient=gradient,
                evaluator=evaluator,
                steepest=steepest or isinstance(self.direction, SteepestDescent),
                again=again,
            ) or (result, gradient, slope, failed)
            direction_state = self.direction.init(x)
        stalled = not result.success and not (
            result.value is not None and result.value < value and result.step > 0.0
        )
        if not stalled and not _moves(evaluator, x, value, result):
            # A step too short to move x fails too: a random estimator's next
            # estimate may point somewhere useful (a deterministic one stays put).
            stalled = True
        if stalled:
            _logger.debug("line search failed from steepest descent; staying put")
        new_state = LineSearchRuleState(
            direction_state=direction_state,
            previous_x=x,
            previous_gradient=gradient,
            previous_step=0.0 if stalled else result.step,
            previous_slope=slope,
            previous_value=value,
            stalled=stalled,
            exhausted=failed and not stalled,
            previous_delta=result.delta if self.scipy_like and not stalled else None,
        )
        return (backend.zeros(x) if stalled else result.delta), new_state

    def _retry(
        self,
        constraint: Projection | None,
        *,
        x: Array,
        value: float,
        gradient: Array,
        evaluator: TrialEvaluator,
        steepest: bool,
        again: bool,
    ) -> tuple[SearchResult, Array, float, bool] | None:
        """Search again after a failure: from steepest descent, then fresh estimates.

        Returns:
            The last search's result, the gradient it used, its slope and whether
                it failed too, or `None` if nothing was searched.
        """
        redraws = _REDRAWS if getattr(evaluator, "rng", None) is not None else 0
        found = None
        while found is None or not (
            found[0].success or _to_bound(found[3], self.search, found[0], value)
        ):
            if steepest and not redraws:
                break
            if steepest:
                # A random estimator: draw a fresh estimate here and restart
                # from steepest descent along it (a run never freezes on one
                # unlucky estimate).
                redraws, again = redraws - 1, True
                _logger.debug("line search failed; drawing a fresh estimate")
                gradient = evaluator.value_and_gradient(x)[1]
            else:
                _logger.debug("line search failed; restarting with steepest descent")
            steepest = True
            free = _free(_held(constraint, x, gradient), gradient)
            direction, slope = -free, -_dot(free, free)
            if not slope < 0.0:
                continue
            initial = ratio(1.0, math.sqrt(-slope), 1.0)
            search = self._path_search(constraint, x, direction, fresh=again)
            result = self._search(
                search, evaluator, x, value, gradient, direction, initial
            )
            found = (result, gradient, slope, search)
        if found is None:
            return None
        result, gradient, slope, search = found
        failed = not (result.success or _to_bound(search, self.search, result, value))
        return result, gradient, slope, failed

    def _box(
        self,
        box: Bounds,
        direction_state: LBFGSDirectionState,
        x: Array,
        value: float,
        gradient: Array,
        evaluator: TrialEvaluator,
        *,
        first: bool,
        fresh: bool = False,
    ) -> tuple[Array, LineSearchRuleState]:
        r"""One L-BFGS-B step: Cauchy point, subspace step, search within the box.

        As in L-BFGS-B, the first step of a run is at most the unit step to
        $P(x - g)$ (shortened to $1 / \|d\|$ unless every variable has both
        bounds); later searches start from the unit step and may extrapolate
        as far as the box allows. On a restart along a random estimator's fresh
        estimate (`fresh`), and along the further fresh estimates drawn when
        every search failed, it backtracks instead.
        """
        lower, upper = (np.ravel(bound) for bound in box.broadcast(x))
        # L-BFGS-B's direction (breakpoints, Cauchy point, subspace step) is
        # computed in numpy: another library's x, gradient and pairs cross to
        # the host once per attempt, the direction comes back once.
        on_host = backend.namespace_of(x) is np
        flat_x, flat_g = _host_flat(x), _host_flat(gradient)
        result, slope = None, 0.0
        redraws = _REDRAWS if getattr(evaluator, "rng", None) is not None else 0
        # The second attempt drops the pairs (a restart); the later ones, with a
        # random estimator only, restart along fresh estimates.
        for attempt in range(2 + redraws):
            if attempt == 1:
                if not getattr(direction_state, "count", 0):
                    continue  # no pairs to drop: the search would repeat itself
                _logger.debug("box-constrained search failed; dropping the pairs")
                direction_state = self.direction.init(x)
            elif attempt > 1:
                _logger.debug("box-constrained search failed; a fresh estimate")
                direction_state, fresh = self.direction.init(x), True
                gradient = evaluator.value_and_gradient(x)[1]
                flat_g = _host_flat(gradient)
            pairs = direction_state if on_host else _host_pairs(direction_state)
            flat_d = box_direction(flat_x, flat_g, lower, upper, pairs)
            slope = float(flat_g @ flat_d)
            if not slope < 0.0:
                continue
            limit = max_step(flat_x, flat_d, lower, upper)
            boxed = bool(np.isfinite(lower).all() and np.isfinite(upper).all())
            if first:
                limit = min(limit, 1.0)
            initial = 1.0
            if first and not boxed:
                initial = min(ratio(1.0, float(np.linalg.norm(flat_d)), 1.0), limit)
            search = self.search
            if isinstance(search, StrongWolfe) and fresh:
                search = Backtracking(search.c1)  # values only: no noisy slopes
            elif isinstance(search, StrongWolfe):
                search = attrs.evolve(
                    search, max_step=max(min(limit, search.max_step), initial)
                )
            result = search.search(
                evaluator,
                x=x,
                value=value,
                gradient=gradient,
                direction=(
                    flat_d.reshape(x.shape)
                    if on_host
                    else backend.from_host(flat_d.reshape(tuple(x.shape)), like=x)
                ),
                initial_step=initial,
            )
            if result.value is not None and result.value < value and result.step > 0:
                break
            result = None
        return self._finish(result, direction_state, x, value, gradient, slope)

    def _finish(
        self,
        result: SearchResult | None,
        direction_state: Any,
        x: Array,
        value: float,
        gradient: Array,
        slope: float,
    ) -> tuple[Array, LineSearchRuleState]:
        """The step a constrained search found (a zero step, stalled, if none)."""
        stalled = result is None
        new_state = LineSearchRuleState(
            direction_state=direction_state,
            previous_x=x,
            previous_gradient=gradient,
            previous_step=0.0 if result is None else result.step,
            previous_slope=slope,
            previous_value=value,
            stalled=stalled,
        )
        return (backend.zeros(x) if result is None else result.delta), new_state


def _host_flat(array: Array) -> Array:
    """`array` as a flat numpy vector (a view of a numpy array; a host copy else)."""
    flat: Array = backend.to_host(array).reshape(-1)
    return flat


def _host_pairs(state: LBFGSDirectionState) -> LBFGSDirectionState:
    """An L-BFGS state with host copies of another library's pairs."""
    return attrs.evolve(
        state,
        steps=backend.to_host(state.steps),
        gradient_changes=backend.to_host(state.gradient_changes),
        inverse=backend.to_host(state.inverse),
    )


def _stalled_here(
    state: LineSearchRuleState, x: Array, gradient: Array
) -> tuple[bool, bool]:
    """Whether the last search failed at this very point, and with this gradient."""
    again = (
        state.stalled
        and state.previous_x is not None
        and state.previous_gradient is not None
        and backend.array_equal(x, state.previous_x)
    )
    repeated = (
        again
        and state.previous_gradient is not None
        and backend.array_equal(gradient, state.previous_gradient)
    )
    return again, repeated


def _to_bound(
    search: Search, configured: Search, result: SearchResult, value: float
) -> bool:
    """Whether a search cut short at a bound lowered the function (keep its step)."""
    return (
        search is not configured
        and isinstance(search, StrongWolfe)
        and result.value is not None
        and result.value < value
        and result.step >= search.max_step
    )


def _held(
    constraint: Projection | None, x: Array, gradient: Array
) -> npt.NDArray[np.bool_] | None:
    """Where `x` is at a bound of a box that `-gradient` points out of.

    A boolean array shaped like `x`; `None` without a box.
    """
    if not isinstance(constraint, Bounds):
        return None
    lower, upper = constraint.broadcast(x)
    held: npt.NDArray[np.bool_] = ((x <= lower) & (gradient > 0.0)) | (
        (x >= upper) & (gradient < 0.0)
    )
    return held


def _free(held: npt.NDArray[np.bool_] | None, gradient: Array) -> Array:
    """The gradient of the variables free to move.

    A new array, or `gradient` itself when nothing can be held (no box).
    """
    if held is None:
        return gradient
    free: Array = np.where(held, 0.0, gradient).astype(gradient.dtype, copy=False)
    return free


_REDRAWS = 3
"""How many fresh estimates a rule fed a random estimator draws in one step
after its searches failed."""


def _spectral(
    direction: BarzilaiBorweinDirection,
    constraint: Projection,
    direction_state: BarzilaiBorweinDirectionState,
    state: LineSearchRuleState,
    *,
    x: Array,
    value: float,
    gradient: Array,
    evaluator: TrialEvaluator,
) -> tuple[Array, LineSearchRuleState]:
    """One step of the spectral projected gradient method (SPG2)."""
    length = direction_state.step_length
    if length is None:
        length = direction.initial_step
        if length is None:  # Birgin et al.: 1 / |P(x - g) - x|_inf
            size = float(np.max(np.abs(constraint.projected_gradient(x, gradient))))
            length = ratio(1.0, size, 1.0)
        length = min(max(length, direction.min_step), direction.max_step)
        direction_state = BarzilaiBorweinDirectionState(length)
    step = constraint.project(x - length * gradient) - x
    slope = _dot(gradient, step)
    recent = (*state.recent_values, value)[-_SPECTRAL_MEMORY:]
    found = None
    if slope < 0.0:
        found = spectral_search(
            evaluator,
            constraint,
            x=x,
            value=value,
            direction=step,
            slope=slope,
            reference=max(recent),
        )
    stalled = found is None
    new_state = LineSearchRuleState(
        direction_state=direction_state,
        previous_x=x,
        previous_gradient=gradient,
        previous_step=0.0 if found is None else found[0],
        previous_slope=slope,
        previous_value=value,
        stalled=stalled,
        recent_values=recent,
    )
    delta = backend.zeros(x) if found is None else displacement(x, found[0], step)
    return delta, new_state


_SPECTRAL_MEMORY = 10
"""How many recent values the non-monotone search of SPG compares with."""


def LBFGS(
    memory: int = 10,
    *,
    search: Search = StrongWolfe(),  # noqa: B008  # frozen
) -> LineSearchRule:
    r"""Limited-memory BFGS with a strong Wolfe line search.

    $p_k = -H_k g_k$ by the two-loop recursion over the last `memory` pairs
    ([`LBFGSDirection`][optim.directions.LBFGSDirection]); the step length comes
    from `search` (default [`StrongWolfe`][optim.line_search.StrongWolfe] with
    $c_1 = 10^{-4}$, $c_2 = 0.9$), trying $\alpha = 1$ first. Nocedal & Wright,
    Algorithm 7.5.

    Args:
        memory: Number of $(s, y)$ pairs kept, at least 1.
        search: The line search.

    Returns:
        `LineSearchRule(LBFGSDirection(memory), search)`.

    Raises:
        ValueError: If `memory` is below 1.
        TypeError: If `memory` is not an integer or `search` not a search.

    References:
        Liu & Nocedal, "On the limited memory BFGS method for large scale
        optimization", Math. Prog. 45, 1989.
        Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006, §7.2.

    Examples:
        >>> import numpy as np
        >>> from optim import Optimizer, StopOnZeroGradient
        >>> from optim.directions import LBFGSDirection
        >>> from optim.problems import Rosenbrock
        >>> LBFGS() == LineSearchRule(LBFGSDirection(), StrongWolfe())
        True
        >>> result = Optimizer(
        ...     Rosenbrock(), step_rule=LBFGS(), callbacks=[StopOnZeroGradient(1e-8)]
        ... ).run([-1.2, 1.0])
        >>> result.status.name, np.round(result.x, 8), result.gradient_norm < 1e-8
        ('CONVERGED', array([1., 1.]), True)
    """
    return LineSearchRule(LBFGSDirection(memory), search)


def ConjugateGradient(
    restart: int | None = None,
    *,
    search: Search = StrongWolfe(c2=0.1),  # noqa: B008  # frozen
) -> LineSearchRule:
    r"""Nonlinear conjugate gradients, Polak-Ribière+ with restarts.

    Directions from [`PolakRibiere`][optim.directions.PolakRibiere] (restarting
    every `restart` steps, by default every $n$), step lengths from `search`
    (default strong Wolfe with $c_2 = 0.1$, as Nocedal & Wright recommend for CG),
    first trial step by their eq. 3.60.

    Args:
        restart: Restart period; `None` restarts every $n$ directions.
        search: The line search.

    Returns:
        `LineSearchRule(PolakRibiere(restart), search)`.

    Raises:
        ValueError: If `restart` is below 1.

    References:
        Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006, §5.2.

    Examples:
        >>> import numpy as np
        >>> from optim import Optimizer, StopOnZeroGradient
        >>> from optim.problems import Quadratic
        >>> ConjugateGradient(5).direction
        PolakRibiere(restart=5)
        >>> problem = Quadratic(dimension=10, condition_number=100.0)
        >>> result = Optimizer(
        ...     problem,
        ...     step_rule=ConjugateGradient(),
        ...     callbacks=[StopOnZeroGradient(1e-8)],
        ... ).run(problem.start)
        >>> result.status.name
        'CONVERGED'
    """
    return LineSearchRule(PolakRibiere(restart), search)


def BarzilaiBorwein(
    variant: str = "long",
    *,
    initial_step: float | None = None,
    min_step: float = 1e-10,
    max_step: float = 1e10,
    search: Search = AcceptStep(),  # noqa: B008  # frozen
) -> LineSearchRule:
    r"""Barzilai-Borwein (spectral) gradient steps: $x \leftarrow x - \alpha_k g_k$.

    The step length $\alpha_k$ is part of the direction,
    [`BarzilaiBorweinDirection`][optim.directions.BarzilaiBorweinDirection]: with
    $s = x_k - x_{k-1}$ and $y = g_k - g_{k-1}$, the "long" step is
    $\alpha_k = s^\top s / s^\top y$ (BB1) and the "short" one
    $\alpha_k = s^\top y / y^\top y$ (BB2); the first step is `initial_step`, or
    $1/\|g_0\|$. When $s^\top y \le 0$ (negative curvature) the previous length is
    kept; lengths are clipped to `[min_step, max_step]`. The direction
    $-\alpha_k g_k$ is scaled, so the search tries the BB step ($\alpha = 1$)
    first.

    By default the step is taken as is (`search=AcceptStep()`): the classic,
    nonmonotone method, which converges on strictly convex quadratics but may not
    elsewhere. Pass `search=Backtracking()` to require sufficient decrease from
    the BB step (a monotone globalization).

    Args:
        variant: `"long"` (BB1) or `"short"` (BB2).
        initial_step: The first step length; `None` uses $1 / \|g_0\|$.
        min_step: Smallest step length.
        max_step: Largest step length.
        search: What to do with the BB step: accept it, or backtrack from it.

    Returns:
        `LineSearchRule(BarzilaiBorweinDirection(variant, ...), search)`.

    Raises:
        ValueError: For an unknown variant or invalid step bounds.

    References:
        Barzilai & Borwein, "Two-point step size gradient methods", IMA J. Numer.
        Anal. 8, 1988.
        Raydan, "On the Barzilai and Borwein choice of steplength for the gradient
        method", IMA J. Numer. Anal. 13, 1993.

    Examples:
        >>> import numpy as np
        >>> from optim import Optimizer, StopOnZeroGradient
        >>> from optim.problems import Quadratic
        >>> BarzilaiBorwein("short").direction.variant
        'short'
        >>> problem = Quadratic(dimension=10, condition_number=100.0)
        >>> result = Optimizer(
        ...     problem,
        ...     step_rule=BarzilaiBorwein(),
        ...     callbacks=[StopOnZeroGradient(1e-8)],
        ... ).run(problem.start)
        >>> result.status.name
        'CONVERGED'
    """
    direction = BarzilaiBorweinDirection(
        variant, initial_step=initial_step, min_step=min_step, max_step=max_step
    )
    return LineSearchRule(direction, search)
