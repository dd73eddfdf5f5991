"""Checkpoints: save the complete state of a run, and continue it later."""

from __future__ import annotations

import importlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from optim import _validators
from optim._types import Array, override
from optim.callbacks import Callback
from optim.errors import CheckpointError as CheckpointError  # re-exported
from optim.result import Result, StepInfo
from optim.run import RunState

if TYPE_CHECKING:
    from optim.run import Configuration, RunContext

FORMAT_VERSION = 2
"""Version of the checkpoint file layout (2: a `RunState`, field by field)."""


def fingerprint(optimizer: Configuration) -> dict[str, str]:
    """Describe the parts of a configuration that a resumed run must share.

    The step rule, the estimator (`repr`, which lists their hyperparameters), the
    mode, and the objective's type.

    Args:
        optimizer: The optimizer.

    Returns:
        A JSON-ready mapping.

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> fingerprint(Optimizer(Sphere(), step_rule=FixedStep(0.1)))["step_rule"]
        'FixedStep(learning_rate=0.1)'
    """
    objective = optimizer.objective
    return {
        "objective": f"{type(objective).__module__}.{type(objective).__qualname__}",
        "step_rule": repr(optimizer.step_rule),
        "estimator": _describe(optimizer.gradient_estimator),
        "mode": optimizer.mode.value,
    }


def _describe(estimator: Any) -> str:
    """`repr` restricted to the fields that take part in `==`.

    Options such as an executor or a random generator print differently in every
    process but do not change what is computed.
    """
    if not attrs.has(type(estimator)):
        return repr(estimator)
    shown = ", ".join(
        f"{field.name}={getattr(estimator, field.name)!r}"
        for field in attrs.fields(type(estimator))
        if field.eq
    )
    return f"{type(estimator).__name__}({shown})"


def save_checkpoint(
    path: str | os.PathLike[str],
    state: RunState | StepInfo,
    optimizer: Configuration,
) -> None:
    """Write the state of a run at `state.step` to `path`, atomically.

    The file is an `.npz` archive: arrays as arrays and everything else as JSON, so
    no code is pickled. It is written to a temporary file in the same folder and
    renamed over `path`, so a crash while saving never leaves a broken checkpoint
    behind: the previous one stays readable.

    Args:
        path: Where to write.
        state: The run's [`RunState`][optim.run.RunState] (a
            [`StepInfo`][optim.result.StepInfo] stands for its `run_state`); every
            field is saved.
        optimizer: The optimizer running; its configuration is recorded so that
            [`Optimizer.resume`][optim.optimizer.Optimizer.resume] can refuse an
            incompatible one.

    Raises:
        TypeError: If the step rule's state holds something other than numbers,
            strings, arrays, tuples, lists, dicts, `None`, attrs instances and
            numpy random generators.

    Examples:
        >>> import tempfile, pathlib
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.25), max_steps=1)
        >>> *_, last = optimizer.iterate([8.0])
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.npz"
        >>> save_checkpoint(path, last, optimizer)
        >>> load_checkpoint(path, optimizer).x
        array([4.])
    """
    if isinstance(state, StepInfo):
        state = state.run_state
    arrays: dict[str, Array] = {}
    meta = {
        "format": FORMAT_VERSION,
        "configuration": fingerprint(optimizer),
        "state": {
            field.name: _encode(getattr(state, field.name), arrays)
            for field in attrs.fields(RunState)
        },
    }
    arrays["meta"] = np.array(json.dumps(meta))
    target = Path(path)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, allow_pickle=False, **arrays)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_checkpoint(
    path: str | os.PathLike[str],
    optimizer: Configuration,
) -> RunState:
    """Read a checkpoint written by `save_checkpoint`.

    Args:
        path: The checkpoint file.
        optimizer: The optimizer that will continue the run; its configuration must
            match the one recorded in the file.

    Returns:
        The saved state, ready for
        [`Optimizer.resume_from`][optim.optimizer.Optimizer.resume_from].

    Raises:
        CheckpointError: If the file is not a readable checkpoint, or was written by
            a different configuration (the message names what differs).

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> load_checkpoint("missing.npz", Optimizer(Sphere(), step_rule=FixedStep(1)))
        Traceback (most recent call last):
        ...
        optim.errors.CheckpointError: cannot read checkpoint 'missing.npz': ...
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError) as error:
        raise CheckpointError(
            f"cannot read checkpoint {str(path)!r}: {error}"
        ) from None
    if meta.get("format") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has format {meta.get('format')!r}; this "
            f"version of optim reads format {FORMAT_VERSION}"
        )
    expected = fingerprint(optimizer)
    for key, saved in meta["configuration"].items():
        if expected.get(key) != saved:
            raise CheckpointError(
                f"checkpoint {str(path)!r} was written with {key} {saved}, but this "
                f"optimizer has {expected.get(key)}; resume with the same "
                "configuration"
            )
    fields = {name: _decode(spec, arrays) for name, spec in meta["state"].items()}
    return RunState(**fields)


def _encode(value: Any, arrays: dict[str, Array]) -> Any:
    """Describe `value` as JSON, moving its arrays into `arrays`."""
    if value is None or isinstance(value, bool | str):
        return {"kind": "plain", "value": value}
    if isinstance(value, int | float) and not isinstance(value, np.generic):
        return {"kind": "plain", "value": value}
    if isinstance(value, np.ndarray | np.generic):
        key = f"state.{len(arrays)}"
        arrays[key] = np.asarray(value)
        return {"kind": "array", "key": key, "scalar": isinstance(value, np.generic)}
    if isinstance(value, tuple | list):
        return {
            "kind": type(value).__name__,
            "items": [_encode(item, arrays) for item in value],
        }
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {
            "kind": "dict",
            "items": {k: _encode(v, arrays) for k, v in value.items()},
        }
    if isinstance(value, np.random.Generator):
        return {
            "kind": "generator",
            "bit_generator": type(value.bit_generator).__name__,
            "state": value.bit_generator.state,
        }
    if attrs.has(type(value)):
        cls = type(value)
        return {
            "kind": "attrs",
            "class": f"{cls.__module__}:{cls.__qualname__}",
            "fields": {
                field.alias: _encode(getattr(value, field.name), arrays)
                for field in attrs.fields(cls)
                if field.init
            },
        }
    raise TypeError(
        f"cannot checkpoint a step-rule state holding {type(value).__name__}; use "
        "numbers, strings, arrays, tuples, lists, dicts, None and attrs classes"
    )


def _decode(spec: Any, arrays: dict[str, Array]) -> Any:
    kind = spec["kind"]
    if kind == "plain":
        return spec["value"]
    if kind == "array":
        array = arrays[spec["key"]]
        return array[()] if spec["scalar"] else array
    if kind in ("tuple", "list"):
        items = [_decode(item, arrays) for item in spec["items"]]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        return {key: _decode(item, arrays) for key, item in spec["items"].items()}
    if kind == "generator":
        bit_generator = getattr(np.random, spec["bit_generator"])()
        bit_generator.state = spec["state"]
        return np.random.Generator(bit_generator)
    if kind == "attrs":
        module, _, qualname = spec["class"].partition(":")
        target: Any = importlib.import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part)
        if not attrs.has(target):
            raise CheckpointError(f"{spec['class']} is not an attrs class")
        fields = {key: _decode(item, arrays) for key, item in spec["fields"].items()}
        return target(**fields)
    raise CheckpointError(f"unknown entry {kind!r} in checkpoint")


@attrs.define
class Checkpoint(Callback):
    """Save the run's complete state every `every` steps and when it ends.

    Continue it with [`Optimizer.resume`][optim.optimizer.Optimizer.resume]; the
    continued run takes exactly the steps the uninterrupted run would have taken.
    Files are written atomically (see
    [`save_checkpoint`][optim.checkpoint.save_checkpoint]). At the end of a run, also
    an interrupted or failed one, the last complete step is saved.

    Examples:
        >>> import tempfile, pathlib
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.npz"
        >>> first = Optimizer(
        ...     Sphere(),
        ...     step_rule=FixedStep(0.25),
        ...     callbacks=[Checkpoint(path)],
        ...     max_steps=2,
        ... ).run([8.0])
        >>> Optimizer(Sphere(), step_rule=FixedStep(0.25), max_steps=4).resume(path).x
        array([0.5])
    """

    path: str | os.PathLike[str]
    """The checkpoint file (overwritten each time)."""

    every: int = attrs.field(default=100, validator=_validators.positive_count)
    """Save at every `every`-th step (and at the end of the run)."""

    _optimizer: RunContext | None = attrs.field(default=None, init=False, repr=False)
    _saved_step: int | None = attrs.field(default=None, init=False, repr=False)

    @override
    def on_start(self, context: RunContext, x0: Array) -> None:
        self._optimizer = context
        self._saved_step = None

    @override
    def on_step(self, info: StepInfo) -> None:
        if info.step % self.every == 0:
            self._save(info)

    @override
    def on_end(self, result: Result) -> None:
        last = result.run_state
        if last is not None and self._saved_step != last.step:
            self._save(last)

    def _save(self, state: RunState | StepInfo) -> None:
        assert self._optimizer is not None, "on_start was not called"
        save_checkpoint(self.path, state, self._optimizer)
        self._saved_step = state.step
