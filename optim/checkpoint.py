"""Checkpoints: save the complete state of a run, and continue it later.

The file format is described, with what is checked and what is trusted, in the
documentation page "Checkpoint format". In short: an uncompressed `.npz` archive
of plain arrays plus one JSON document, read by a data-only loader that never
imports, resolves or calls anything named in the file.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import math
import os
import stat
import struct
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import attrs
import numpy as np

from optim import _validators, backend
from optim._arrays import RUN_DTYPES
from optim._types import Array, override
from optim.callbacks import Callback
from optim.errors import CheckpointError as CheckpointError  # re-exported
from optim.errors import OptimizationError
from optim.fingerprint import difference
from optim.fingerprint import fingerprint as fingerprint  # re-exported
from optim.result import Result, Status, StepInfo
from optim.run import RunState
from optim.tree import StructuredObjective, flatten, is_structured

if TYPE_CHECKING:
    from optim.run import Configuration, RunContext

__all__ = [
    "FORMAT_VERSION",
    "MAX_BYTES",
    "Checkpoint",
    "CheckpointError",
    "fingerprint",
    "load_checkpoint",
    "save_checkpoint",
]

FORMAT_VERSION = 4
"""Version of the checkpoint file layout (3: data-only, a `RunState` field by field)."""

MAX_BYTES = 2**31
"""The largest checkpoint file `load_checkpoint` reads by default (2 GiB)."""

_MAX_JSON_CHARS = 2**24
_MAX_JSON_DEPTH = 64
_MAX_MEMBERS = 100_000
_MAX_INT = 2**63 - 1
_ARRAY_KINDS = "biufcU"

_logger = logging.getLogger(__name__)


# --- saving -----------------------------------------------------------------


def save_checkpoint(
    path: str | os.PathLike[str],
    state: RunState | StepInfo,
    optimizer: Configuration,
) -> None:
    """Write the state of a run at `state.step` to `path`, atomically.

    The file is an uncompressed `.npz` archive: arrays as arrays and everything
    else as one JSON document, so no code is pickled. It is written to a temporary
    file in the same folder, flushed to disk and renamed over `path`, so a crash
    while saving never leaves a broken checkpoint behind: the previous one stays
    readable.

    Args:
        path: Where to write; an existing `path` must be a regular file.
        state: The run's [`RunState`][optim.run.RunState] (a
            [`StepInfo`][optim.result.StepInfo] stands for its `run_state`); every
            field is saved.
        optimizer: The optimizer running; its configuration's
            [`fingerprint`][optim.fingerprint.fingerprint] is recorded so that
            [`Optimizer.resume`][optim.optimizer.Optimizer.resume] can refuse an
            incompatible one.

    Raises:
        TypeError: If the step rule's state holds something other than numbers,
            strings, arrays, tuples, lists, dicts, `None`, attrs instances and
            numpy random generators.
        OSError: If the file cannot be written (the previous file, if any, is left
            as it was); `FileExistsError` if `path` exists and is not a regular
            file.

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
        "state": _encode_run_state(state, arrays),
    }
    arrays["meta"] = np.array(json.dumps(meta, allow_nan=True))
    _check_target(path)
    _write_atomically(Path(path), arrays)


def _encode_run_state(state: RunState, arrays: dict[str, Array]) -> dict[str, Any]:
    encoded: dict[str, Any] = {}
    for field in attrs.fields(RunState):
        value = getattr(state, field.name)
        if field.name in _FLOATS or (
            field.name == "gradient_error" and value is not None
        ):
            value = float(value)
        elif field.name in _COUNTERS:
            value = int(value)
        encoded[field.name] = _encode(value, arrays)
    return encoded


def _check_target(path: str | os.PathLike[str]) -> None:
    """Refuse a path that exists and is not a regular file (a device, a folder)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise FileExistsError(
            f"checkpoint path {os.fspath(path)!r} exists and is not a regular file"
        )


def _write_atomically(target: Path, arrays: dict[str, Array]) -> None:
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            with zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as archive:
                for name, array in arrays.items():
                    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _encode(value: Any, arrays: dict[str, Array]) -> Any:
    """Describe `value` as JSON, moving its arrays into `arrays`."""
    if value is None or isinstance(value, bool | str):
        return {"kind": "plain", "value": value}
    if isinstance(value, int | float) and not isinstance(value, np.generic):
        return {"kind": "plain", "value": value}
    if backend.is_foreign(value):  # another library's array: a host copy
        value = backend.to_host(value)
    if isinstance(value, np.ndarray | np.generic):
        if np.asarray(value).dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"cannot checkpoint an array of dtype {value.dtype}")
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
            "state": _encode(value.bit_generator.state, arrays),
        }
    if attrs.has(type(value)):
        return {
            "kind": "attrs",
            "class": _class_name(type(value)),
            "fields": {
                field.alias: _encode(getattr(value, field.name), arrays)
                for field in attrs.fields(type(value))
                if field.init
            },
        }
    raise TypeError(
        f"cannot checkpoint a step-rule state holding {type(value).__name__}; use "
        "numbers, strings, arrays, tuples, lists, dicts, None and attrs classes"
    )


def _class_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


# --- loading: bytes to arrays and JSON ----------------------------------------


def load_checkpoint(
    path: str | os.PathLike[str],
    optimizer: Configuration,
    *,
    like: Any = None,
    max_bytes: int = MAX_BYTES,
) -> RunState:
    """Read a checkpoint written by `save_checkpoint`, trusting nothing in it.

    Loading is data-only: no module is imported, no class looked up and nothing
    called by a name read from the file. The state is rebuilt from the types the
    configured optimizer expects (the step rule's
    [`init`][optim.step_rules.StepRule.init] state, the estimator's
    [`random_stream`][optim.gradients.GradientEstimator.random_stream]), and the
    file is checked against them; names in the file are only compared.

    Args:
        path: The checkpoint file (a regular file of at most `max_bytes` bytes).
        optimizer: The optimizer that will continue the run; its configuration
            must match the one recorded in the file.
        like: The run's `x0`, or an array of its library on its device (a CUDA
            tensor, a JAX array): the file holds host copies, and the state's
            arrays are moved there (see
            [`RunState.moved_to`][optim.run.RunState.moved_to]); without it
            they stay numpy's. For a run started from a structure of arrays (a
            dict of arrays, say), that structure or one of the same layout: the
            file holds the flat vector of a run that saw its objective through
            that layout.
        max_bytes: The largest file accepted; nothing larger is read, and no
            array larger than the file is allocated.

    Returns:
        The saved state, ready for
            [`Optimizer.resume_from`][optim.optimizer.Optimizer.resume_from].

    Raises:
        CheckpointError: If the file is unreadable, malformed, tampered with, of
            another format version, or written by a different configuration (the
            message says what is wrong, naming the field).

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> load_checkpoint("missing.npz", Optimizer(Sphere(), step_rule=FixedStep(1)))
        Traceback (most recent call last):
        ...
        optim.errors.CheckpointError: cannot read checkpoint 'missing.npz': ...
    """
    name = os.fspath(path)
    optimizer = _with_layout(optimizer, like)
    try:
        arrays = _read_arrays(_read_file(name, max_bytes))
        meta = _read_meta(arrays)
        _check_configuration(meta, optimizer)
        state = _decode_run_state(meta["state"], arrays, optimizer)
    except CheckpointError as error:
        raise CheckpointError(f"cannot read checkpoint {name!r}: {error}") from None
    return state.moved_to(like, optimizer.step_rule)


def _with_layout(optimizer: Configuration, like: Any) -> Configuration:
    """The configuration seeing its objective through the layout of `like`."""
    if like is None or not is_structured(like):
        return optimizer
    if isinstance(optimizer.objective, StructuredObjective):
        return optimizer
    objective = StructuredObjective(optimizer.objective, flatten(like)[1])
    evolved: Configuration = attrs.evolve(cast(Any, optimizer), objective=objective)
    return evolved


def _read_file(path: str, max_bytes: int) -> bytes:
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise CheckpointError(error.strerror or str(error)) from None
    try:
        size = os.fstat(handle).st_size
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise CheckpointError("not a regular file")
        if size > max_bytes:
            raise CheckpointError(f"{size} bytes, more than max_bytes={max_bytes}")
        with os.fdopen(handle, "rb", closefd=False) as stream:
            data = stream.read(size + 1)  # a file still growing is refused below
    except OSError as error:
        raise CheckpointError(error.strerror or str(error)) from None
    finally:
        os.close(handle)
    if len(data) > size:
        raise CheckpointError("it changed while being read")
    return data


def _read_arrays(data: bytes) -> dict[str, Array]:
    """The archive's arrays; the layout is checked against the file before any read.

    Every member's bytes (its local header and its data) must lie inside the
    file, apart from every other member's, and the members' declared sizes must
    add up to at most the file's size (members are stored uncompressed), so
    loading never allocates more than the file holds, however the central
    directory is forged.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > _MAX_MEMBERS:
                raise CheckpointError(f"{len(members)} archive members")
            seen: set[str] = set()
            names = [_member_name(info, len(data), seen) for info in members]
            _check_layout(members, names, data)
            return {
                name: _parse_npy(archive.read(info), name)
                for name, info in zip(names, members, strict=True)
            }
    except CheckpointError:
        raise
    except Exception as error:  # zipfile raises many kinds on a damaged archive
        raise CheckpointError(
            f"not a checkpoint archive ({type(error).__name__}: {error})"
        ) from None


def _member_name(info: zipfile.ZipInfo, limit: int, seen: set[str]) -> str:
    if not info.filename.endswith(".npy"):
        raise CheckpointError(f"unexpected archive member {info.filename[:80]!r}")
    name = info.filename[: -len(".npy")]
    if name in seen:
        raise CheckpointError(f"archive member {name[:80]!r} appears twice")
    seen.add(name)
    if info.compress_type != zipfile.ZIP_STORED:
        raise CheckpointError(f"archive member {name[:80]!r} is compressed")
    if info.file_size > limit or info.compress_size != info.file_size:
        raise CheckpointError(f"archive member {name[:80]!r} has an impossible size")
    return name


_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
"""A zip local file header: signature, versions, flags, method, time, date, CRC,
sizes, then the lengths of the name and of the extra field."""


def _check_layout(
    members: list[zipfile.ZipInfo], names: list[str], data: bytes
) -> None:
    """Refuse members whose sizes add up past the file, or whose bytes overlap.

    A forged central directory can point many entries at the same bytes (or at
    headers nested inside another member's data), so that a small file declares
    members far larger in total than itself.
    """
    total = sum(info.file_size for info in members)
    if total > len(data):
        raise CheckpointError(
            f"its {len(members)} archive members declare {total} bytes in all, "
            f"more than the file's {len(data)}: members overlap or forge their sizes"
        )
    spans = []
    for info, name in zip(members, names, strict=True):
        start = info.header_offset
        if not 0 <= start <= len(data) - _LOCAL_HEADER.size:
            raise CheckpointError(
                f"archive member {name[:80]!r} starts outside the file"
            )
        header = _LOCAL_HEADER.unpack_from(data, start)
        if header[0] != b"PK\x03\x04":
            raise CheckpointError(
                f"archive member {name[:80]!r} has no local header at offset {start}"
            )
        end = start + _LOCAL_HEADER.size + header[10] + header[11] + info.compress_size
        if end > len(data):
            raise CheckpointError(
                f"archive member {name[:80]!r} extends past the end of the file"
            )
        spans.append((start, end, name))
    spans.sort()
    for (_, end, first), (start, _, second) in itertools.pairwise(spans):
        if start < end:
            raise CheckpointError(
                f"archive members {first[:80]!r} and {second[:80]!r} overlap (at "
                f"bytes {start} to {end}): every member must have bytes of its own"
            )


def _parse_npy(raw: bytes, name: str) -> Array:
    """One `.npy` member, without pickles, sized from the bytes actually there."""
    stream = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, TypeError, SyntaxError, OverflowError) as error:
        raise CheckpointError(f"array {name[:80]!r}: bad header ({error})") from None
    if dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.shape != ():
        raise CheckpointError(f"array {name[:80]!r} has unsupported dtype {dtype}")
    count = math.prod(shape)
    if count * dtype.itemsize != len(raw) - stream.tell():
        raise CheckpointError(
            f"array {name[:80]!r}: its shape {shape} and dtype {dtype} do not match "
            "its size"
        )
    flat = np.frombuffer(raw, dtype=dtype, count=count, offset=stream.tell())
    return flat.reshape(shape, order="F" if fortran else "C").copy()


def _read_meta(arrays: dict[str, Array]) -> dict[str, Any]:
    document = arrays.pop("meta", None)
    if document is None or document.dtype.kind != "U" or document.shape != ():
        raise CheckpointError("no JSON document 'meta'")
    text = str(document[()])
    if len(text) > _MAX_JSON_CHARS:
        raise CheckpointError(f"its JSON is larger than {_MAX_JSON_CHARS} characters")
    _check_depth(text)
    try:
        meta = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise CheckpointError(f"its JSON is malformed ({error})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("format"), int):
        raise CheckpointError("its JSON has no format version")
    if meta["format"] != FORMAT_VERSION:
        raise CheckpointError(
            f"it has format {meta['format']!r}; this version of optim reads format "
            f"{FORMAT_VERSION} only (format 3 lacks the progress-stop fields; format 2 "
            "and older named classes to import, "
            "which is not safe: rerun, or continue with the optim version that "
            "wrote it)"
        )
    _expect_keys(meta, {"format", "configuration", "state"}, "the JSON document")
    return meta


def _check_depth(text: str) -> None:
    """Refuse JSON nested deeper than `_MAX_JSON_DEPTH`, before parsing it."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    quote, backslash = ord('"'), ord("\\")
    escaped = np.zeros(codes.size, dtype=bool)
    # A quote is escaped when an odd run of backslashes precedes it.
    run = 0
    for index in np.flatnonzero(codes == backslash):
        run = run + 1 if index and codes[index - 1] == backslash else 1
        if index + 1 < codes.size and run % 2 == 1:
            escaped[index + 1] = True
    quotes = (codes == quote) & ~escaped
    inside = (np.cumsum(quotes) - quotes) % 2 == 1
    opening = np.isin(codes, [ord("["), ord("{")]) & ~inside & ~quotes
    closing = np.isin(codes, [ord("]"), ord("}")]) & ~inside & ~quotes
    depth = np.cumsum(opening.astype(np.int64) - closing.astype(np.int64))
    if depth.size and int(depth.max()) > _MAX_JSON_DEPTH:
        raise CheckpointError(f"its JSON nests deeper than {_MAX_JSON_DEPTH} levels")


def _check_configuration(meta: dict[str, Any], optimizer: Configuration) -> None:
    saved = meta["configuration"]
    if not isinstance(saved, dict):
        raise CheckpointError("its configuration is not a JSON object")
    found = difference(saved, fingerprint(optimizer))
    if (
        found is not None
        and found.path == "objective.class"
        and "Structured" in (found.saved)
    ):
        raise CheckpointError(
            "it holds a run started from a structure of arrays (a dict of arrays, "
            "say): pass that structure as like= to load it"
        )
    if found is not None:
        raise CheckpointError(
            f"it was written with a different configuration: {found.path} is "
            f"{found.saved} in the checkpoint but {found.expected} in this "
            "optimizer; resume with the same configuration"
        )


def _expect_keys(node: Any, keys: set[str], where: str) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise CheckpointError(f"{where} is not a JSON object")
    if set(node) != keys:
        missing, extra = sorted(keys - set(node)), sorted(set(node) - keys)
        raise CheckpointError(
            f"{where} has missing keys {missing} or unexpected keys "
            f"{[key[:40] for key in extra[:5]]}"
        )
    return node


# --- loading: JSON and arrays to a RunState -----------------------------------

_COUNTERS = (
    "step",
    "evaluations",
    "gradient_evaluations",
    "best_step",
    "non_improving_steps",
    "progress_step",
    "progress_evaluations",
)
_FLOATS = (
    "value",
    "gradient_norm",
    "best_value",
    "start_value",
    "progress_value",
    "progress_gradient_norm",
)
_ARRAYS = ("x", "gradient", "best_x")


@attrs.define
class _Reader:
    """Decodes JSON nodes against templates, consuming the archive's arrays."""

    arrays: dict[str, Array]
    shape: tuple[int, ...] = ()
    used: set[str] = attrs.field(factory=set)
    dtype: np.dtype[Any] | None = None
    """The run's dtype (that of `x`, float64 or float32), once `x` is read."""

    def array(self, node: Any, where: str) -> tuple[Array, bool]:
        node = _expect_keys(node, {"kind", "key", "scalar"}, where)
        key, scalar = node["key"], node["scalar"]
        if node["kind"] != "array" or not isinstance(scalar, bool):
            raise CheckpointError(f"{where} is not an array entry")
        if not isinstance(key, str) or key not in self.arrays or key in self.used:
            raise CheckpointError(f"{where} refers to a missing or reused array")
        self.used.add(key)
        array = self.arrays[key]
        if scalar and array.shape != ():
            raise CheckpointError(f"{where} should be a scalar")
        return array, scalar

    def point(self, node: Any, where: str) -> Array:
        """A finite array of the run's dtype (the shape of `x`, once `x` is read).

        `x` itself may be float64 or float32 (a float32 run); every other point
        must have its dtype.
        """
        array, scalar = self.array(node, where)
        expected = RUN_DTYPES if self.dtype is None else (self.dtype,)
        if array.dtype not in expected:
            raise CheckpointError(
                f"{where} has dtype {array.dtype}, not "
                + " or ".join(str(dtype) for dtype in expected)
            )
        if (self.shape and array.shape != self.shape) or array.size == 0:
            raise CheckpointError(f"{where} has shape {array.shape}")
        if not np.isfinite(array).all():
            raise CheckpointError(f"{where} is not finite")
        # 0-d arithmetic gives numpy scalars: keep what was saved.
        return array[()] if scalar else array

    def plain(self, node: Any, where: str, *, limit: int = _MAX_INT) -> Any:
        node = _expect_keys(node, {"kind", "value"}, where)
        value = node["value"]
        if node["kind"] != "plain" or not (
            value is None or isinstance(value, bool | int | float | str)
        ):
            raise CheckpointError(f"{where} is not a plain value")
        if isinstance(value, int) and abs(value) > limit:
            raise CheckpointError(f"{where} is out of range")
        return value

    def leaf(self, node: Any, where: str) -> Any:
        """Where the template says nothing: plain data or an array shaped like x."""
        if isinstance(node, dict) and node.get("kind") == "array":
            array, scalar = self.array(node, where)
            if array.dtype != self.dtype or array.shape != self.shape:
                raise CheckpointError(
                    f"{where} should be a {self.dtype} array shaped like x, got "
                    f"{array.dtype} {array.shape}"
                )
            _check_finite(array, None, where)
            return array[()] if scalar else array
        value = self.plain(node, where)
        if isinstance(value, float) and not math.isfinite(value):
            raise CheckpointError(f"{where} is not finite, got {value!r}")
        return value

    def free(self, node: Any, where: str) -> Any:
        """Plain JSON-like data with numeric arrays (a random stream's state)."""
        kind = node.get("kind") if isinstance(node, dict) else None
        if kind == "array":
            array, scalar = self.array(node, where)
            if array.dtype.kind not in "biu":
                raise CheckpointError(f"{where} has dtype {array.dtype}")
            return array[()] if scalar else array
        if kind == "dict":
            items = _expect_keys(node, {"kind", "items"}, where)["items"]
            if not isinstance(items, dict):
                raise CheckpointError(f"{where} is not a dict entry")
            return {k: self.free(v, f"{where}.{k[:40]}") for k, v in items.items()}
        return self.plain(node, where, limit=2**256)


def _decode_run_state(
    node: Any, arrays: dict[str, Array], optimizer: Configuration
) -> RunState:
    names = {field.name for field in attrs.fields(RunState)}
    node = _expect_keys(node, names, "the state")
    reader = _Reader(arrays)
    x = reader.point(node["x"], "x")
    reader.shape, reader.dtype = np.shape(x), np.asarray(x).dtype
    fields: dict[str, Any] = {"x": x}
    for name in _ARRAYS[1:]:
        fields[name] = reader.point(node[name], name)
    for name in _COUNTERS:
        fields[name] = _counter(reader.plain(node[name], name), name)
    for name in _FLOATS:
        fields[name] = _finite(reader.plain(node[name], name), name)
    error = reader.plain(node["gradient_error"], "gradient_error")
    fields["gradient_error"] = None if error is None else _finite(error, "error")
    if fields["gradient_norm"] < 0 or (fields["gradient_error"] or 0.0) < 0:
        raise CheckpointError("a norm is negative")
    if not fields["best_step"] <= fields["step"] >= fields["non_improving_steps"]:
        raise CheckpointError("best_step or non_improving_steps exceeds step")
    if fields["progress_step"] > fields["step"]:
        raise CheckpointError("progress_step exceeds step")
    template = _template(optimizer, x)
    fields["rule_state"] = _decode(node["rule_state"], template, reader, "rule_state")
    fields["random_state"] = _random_state(node["random_state"], reader, optimizer)
    unused = set(arrays) - reader.used
    if unused:
        raise CheckpointError(f"unexpected arrays {sorted(unused)[:5]}")
    return RunState(**fields)


def _counter(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CheckpointError(f"{name} must be an integer >= 0, got {value!r}")
    return value


def _finite(value: Any, name: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise CheckpointError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise CheckpointError(f"{name} must be finite, got {value!r}")
    return float(value)


def _template(optimizer: Configuration, x: Array) -> Any:
    """The state the configured step rule starts from: the types the file must hold."""
    try:
        return optimizer.step_rule.init(np.array(x, dtype=np.asarray(x).dtype))
    except Exception as error:
        raise CheckpointError(
            f"the step rule {optimizer.step_rule!r} could not build a state for its "
            f"point: {error!r}"
        ) from None


def _random_state(
    node: Any, reader: _Reader, optimizer: Configuration
) -> dict[str, Any] | None:
    """The saved stream's state, checked by the configured estimator's generator."""
    saved = reader.free(node, "random_state")
    stream = optimizer.gradient_estimator.random_stream()
    if stream is None or saved is None:
        if stream is None and saved is None:
            return None
        raise CheckpointError(
            "random_state does not match the estimator: it is "
            f"{'absent' if saved is None else 'present'}, but the estimator "
            f"{optimizer.gradient_estimator!r} is "
            f"{'random' if stream is not None else 'deterministic'}"
        )
    return dict(_set_stream(stream, saved, "random_state").state)


def _set_stream(
    stream: np.random.Generator, saved: Any, where: str
) -> np.random.BitGenerator:
    bit_generator = stream.bit_generator
    expected = type(bit_generator).__name__
    if not isinstance(saved, dict) or saved.get("bit_generator") != expected:
        raise CheckpointError(f"{where} is not the state of a {expected} stream")
    try:
        bit_generator.state = saved
    except Exception as error:  # numpy raises several kinds on a bad state
        raise CheckpointError(
            f"{where} is not a valid {expected} state: {error}"
        ) from None
    if not _same(bit_generator.state, saved):
        raise CheckpointError(f"{where} holds entries a {expected} state does not")
    return bit_generator


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    return bool(a == b)


def _decode(node: Any, template: Any, reader: _Reader, where: str) -> Any:
    """Rebuild a value of the template's type from the file; names only compared."""
    if template is None:
        return reader.leaf(node, where)
    if isinstance(template, bool | int | float | str):
        return _plain_like(reader.plain(node, where), template, where)
    if isinstance(template, np.ndarray | np.generic):
        array, scalar = reader.array(node, where)
        expected = np.asarray(template)
        # 0-d arithmetic gives numpy scalars: a 0-d array and a scalar are alike.
        if array.dtype != expected.dtype or array.shape != expected.shape:
            raise CheckpointError(
                f"{where} has dtype {array.dtype} and shape {array.shape}, expected "
                f"{expected.dtype} and {expected.shape}"
            )
        _check_finite(array, expected, where)
        return array[()] if scalar else array
    if isinstance(template, tuple | list | dict):
        return _decode_container(node, template, reader, where)
    if isinstance(template, np.random.Generator):
        node = _expect_keys(node, {"kind", "bit_generator", "state"}, where)
        kind = type(template.bit_generator)
        if node["kind"] != "generator" or node["bit_generator"] != kind.__name__:
            raise CheckpointError(f"{where} should be a {kind.__name__} generator")
        fresh = np.random.Generator(kind())
        _set_stream(fresh, reader.free(node["state"], where), where)
        return fresh
    if attrs.has(type(template)):
        return _decode_attrs(node, template, reader, where)
    raise CheckpointError(f"{where}: the step rule's state type is not checkpointable")


def _plain_like(value: Any, template: Any, where: str) -> Any:
    if isinstance(template, bool | str):
        ok = type(value) is type(template)
    elif isinstance(template, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    if not ok:
        raise CheckpointError(
            f"{where} should be a {type(template).__name__}, got {value!r:.60}"
        )
    finite_start = isinstance(template, float) and math.isfinite(template)
    if finite_start and not math.isfinite(value):
        raise CheckpointError(f"{where} is not finite, got {value!r}")
    return value


def _check_finite(array: Array, template: Array | None, where: str) -> None:
    """Refuse NaN and infinity, except where the template (the rule's start) has them.

    A rule that starts from a non-finite sentinel (an infinite best value, say)
    may still hold it; everywhere else a saved state must be finite.
    """
    if array.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(array)
    if template is not None and template.dtype.kind in "fc":
        bad &= np.isfinite(template)
    if bad.any():
        raise CheckpointError(f"{where} is not finite")


def _decode_container(node: Any, template: Any, reader: _Reader, where: str) -> Any:
    kind = "dict" if isinstance(template, dict) else type(template).__name__
    node = _expect_keys(node, {"kind", "items"}, where)
    items = node["items"]
    if node["kind"] != kind or not isinstance(items, dict if kind == "dict" else list):
        raise CheckpointError(f"{where} should be a {kind}")
    if isinstance(template, dict) and isinstance(items, dict):
        if template and set(items) != set(template):
            raise CheckpointError(f"{where} has other keys than the rule's state")
        return {
            key: _decode(item, template.get(key), reader, f"{where}.{key[:40]}")
            for key, item in items.items()
        }
    if template and len(items) != len(template):
        raise CheckpointError(f"{where} has {len(items)} items, not {len(template)}")
    decoded = [
        _decode(item, template[i] if template else None, reader, f"{where}[{i}]")
        for i, item in enumerate(items)
    ]
    return tuple(decoded) if kind == "tuple" else decoded


def _decode_attrs(node: Any, template: Any, reader: _Reader, where: str) -> Any:
    cls = type(template)
    node = _expect_keys(node, {"kind", "class", "fields"}, where)
    if node["kind"] != "attrs" or node["class"] != _class_name(cls):
        raise CheckpointError(
            f"{where} should be a {cls.__qualname__}, the configured rule's state"
        )
    fields = {f.alias: f for f in attrs.fields(cls) if f.init}
    saved = _expect_keys(node["fields"], set(fields), f"{where} fields")
    values = {
        alias: _decode(
            saved[alias], getattr(template, f.name), reader, f"{where}.{alias}"
        )
        for alias, f in fields.items()
    }
    try:
        return cls(**values)
    except Exception as error:  # the state class's own validators
        raise CheckpointError(
            f"{where} is refused by {cls.__qualname__}: {error}"
        ) from None


# --- the callback -------------------------------------------------------------


def _regular_file_path(
    instance: object, attribute: attrs.Attribute[Any], value: Any
) -> None:
    if not isinstance(value, str | os.PathLike):
        raise TypeError(f"path must be a str or a path, got {type(value).__name__}")
    try:
        _check_target(value)
    except FileExistsError as error:
        raise ValueError(str(error)) from None


@attrs.define
class Checkpoint(Callback):
    """Save the run's complete state every `every` steps and when it ends.

    Continue it with [`Optimizer.resume`][optim.optimizer.Optimizer.resume]; the
    continued run takes exactly the steps the uninterrupted run would have taken.
    Files are written atomically (see
    [`save_checkpoint`][optim.checkpoint.save_checkpoint]). At the end of a run,
    also an interrupted or failed one, the last complete step is saved.

    A save that fails (a missing or read-only folder, a full disk) never loses the
    run: it is logged as a warning on the `optim.checkpoint` logger, listed in
    [`failures`][optim.checkpoint.Checkpoint.failures], and noted at the end of
    the result's `message`; the run goes on. With `fatal=True`, a failed save
    ends the run instead: it raises an
    [`OptimizationError`][optim.errors.OptimizationError] that holds the result.

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

        A save into a folder that does not exist is reported, not raised:

        >>> lost = Checkpoint(pathlib.Path(tempfile.mkdtemp()) / "no" / "run.npz")
        >>> result = Optimizer(
        ...     Sphere(), step_rule=FixedStep(0.25), callbacks=[lost], max_steps=2
        ... ).run([8.0])
        >>> result.x, len(lost.failures), "checkpoint" in result.message
        (array([2.]), 2, True)
    """

    path: str | os.PathLike[str] = attrs.field(validator=_regular_file_path)
    """The checkpoint file (overwritten each time); if it exists, it must be a
    regular file."""

    every: int = attrs.field(default=100, validator=_validators.positive_count)
    """Save at every `every`-th step (and at the end of the run)."""

    fatal: bool = attrs.field(
        default=False, kw_only=True, validator=attrs.validators.instance_of(bool)
    )
    """Whether a failed save ends the run with an
    [`OptimizationError`][optim.errors.OptimizationError] (holding the result)
    instead of being reported."""

    _optimizer: RunContext | None = attrs.field(default=None, init=False, repr=False)
    _saved_step: int | None = attrs.field(default=None, init=False, repr=False)
    _failures: list[str] = attrs.field(factory=list, init=False, repr=False)
    _saves: int = attrs.field(default=0, init=False, repr=False)

    @property
    def failures(self) -> tuple[str, ...]:
        """The failed saves of the current or last run, one message each."""
        return tuple(self._failures)

    @override
    def on_start(self, context: RunContext, x0: Array) -> None:
        self._optimizer = context
        self._saved_step = None
        self._failures = []
        self._saves = 0

    @override
    def on_step(self, info: StepInfo) -> None:
        if info.step % self.every == 0 and not self._save(info) and self.fatal:
            raise OSError(self._failures[-1])

    @override
    def on_end(self, result: Result) -> str | None:
        last = result.run_state
        if last is not None and self._saved_step != last.step:
            self._save(last)
        if not self._failures:
            return None
        note = (
            f"checkpoint: {len(self._failures)} of {self._saves} saves to "
            f"{os.fspath(self.path)!r} failed, the last with {self._failures[-1]}"
        )
        if last is not None and self._saved_step != last.step:
            note += "; the file does not hold the final state"
        if self.fatal and result.status is not Status.FAILED:
            failed = attrs.evolve(result, message=f"{result.message}; {note}")
            raise OptimizationError(note, step=result.steps, result=failed)
        return note

    def _save(self, state: RunState | StepInfo) -> bool:
        """Save `state`; on failure, log and record it and return False."""
        assert self._optimizer is not None, "on_start was not called"
        self._saves += 1
        try:
            save_checkpoint(self.path, state, self._optimizer)
        except Exception as error:  # a failed save must not lose the run
            message = f"{type(error).__name__}: {error} (step {state.step})"
            self._failures.append(message)
            _logger.warning("checkpoint save to %r failed: %s", self.path, message)
            return False
        self._saved_step = state.step
        return True
