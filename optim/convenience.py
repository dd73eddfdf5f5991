"""One-call helpers: `minimize` and `maximize`.

`optim.minimize` is [`optim.scipy.minimize`][optim.scipy.minimize], the same
function: `scipy.optimize.minimize`'s parameters, options, warnings and
[`OptimizeResult`][optim.scipy.OptimizeResult], followed by optim's own
keyword-only extras (`gradient`, `step_rule`, `estimator`, `callbacks`,
`max_steps`). [`maximize`][optim.scipy.maximize] takes the same arguments and
climbs.

Examples:
    >>> import optim
    >>> optim.minimize.__module__, optim.maximize.__module__
    ('optim.scipy', 'optim.scipy')
"""

from __future__ import annotations

from collections.abc import Mapping

from optim.scipy import maximize, minimize

__all__ = ["METHODS", "maximize", "minimize"]

METHODS: Mapping[str, str] = {
    "bfgs": "dense BFGS with a strong Wolfe line search (BFGS); the default "
    "without bounds",
    "l-bfgs-b": "box-constrained L-BFGS with a strong Wolfe line search (LBFGS); "
    "the default with bounds",
    "cg": "nonlinear conjugate gradients, Polak-Ribiere+ (ConjugateGradient)",
    "newton-cg": "truncated Newton with a line search (NewtonCG)",
    "trust-ncg": "Newton-CG trust region with Steihaug CG (TrustNCG)",
    "gradient-descent": "the gradient method (FixedStep): needs "
    "options={'learning_rate': ...}",
    "gd": "the same as 'gradient-descent'",
}
"""The `method=` names `minimize` accepts (any case), and what each one runs."""
