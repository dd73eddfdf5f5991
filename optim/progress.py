"""A progress bar for long runs (needs the `progress` extra)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from optim import _validators
from optim._types import Array, override
from optim.callbacks import Callback
from optim.errors import MissingExtraError
from optim.result import Result, StepInfo

if TYPE_CHECKING:
    from optim.run import RunContext


@attrs.define
class ProgressBar(Callback):
    """Show a tqdm progress bar with the step, value and gradient norm.

    The bar counts steps up to the optimizer's `max_steps` and writes to standard
    error, like every tqdm bar; it is the one callback that writes to the terminal,
    and only when you add it.

    Examples:
        >>> import io
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> stream = io.StringIO()
        >>> _ = Optimizer(
        ...     Sphere(),
        ...     step_rule=FixedStep(0.1),
        ...     callbacks=[ProgressBar(file=stream)],
        ...     max_steps=10,
        ... ).run([3.0, 2.0])
        >>> "10/10" in stream.getvalue()
        True
    """

    every: int = attrs.field(default=1, validator=_validators.positive_count)
    """Refresh the value and gradient norm every `every` steps."""

    file: Any = attrs.field(default=None, kw_only=True)
    """Where the bar is written (default: standard error)."""

    _bar: Any = attrs.field(default=None, init=False, repr=False)
    _shown: int = attrs.field(default=0, init=False, repr=False)

    @override
    def on_start(self, context: RunContext, x0: Array) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover - depends on environment
            raise MissingExtraError("progress", "ProgressBar") from None
        self._bar = tqdm(total=context.max_steps, file=self.file, unit="step")
        self._shown = 0

    @override
    def on_step(self, info: StepInfo) -> None:
        if self._bar is None:
            return
        self._bar.update(info.step - self._shown)
        self._shown = info.step
        if info.step % self.every == 0:
            self._bar.set_postfix(
                value=f"{info.value:.6g}", gradient_norm=f"{info.gradient_norm:.3g}"
            )

    @override
    def on_end(self, result: Result) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
