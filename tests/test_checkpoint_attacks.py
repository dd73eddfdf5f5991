"""Forged checkpoint files: zip members that share bytes, non-finite rule states."""

import io
import json
import math
import struct
import tracemalloc
import zlib

import attrs
import numpy as np
import pytest

from optim import (
    LBFGS,
    Adam,
    Checkpoint,
    CheckpointError,
    Optimizer,
    StepRule,
    load_checkpoint,
)
from optim.problems import Rosenbrock, Sphere

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_DATE = 0x21  # 1980-01-01


def _npy(array):
    stream = io.BytesIO()
    np.lib.format.write_array(stream, array, allow_pickle=False)
    return stream.getvalue()


def _npy_header(size):
    """The `.npy` header of a uint8 vector of `size` bytes (its data follows)."""
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        stream, {"descr": "|u1", "fortran_order": False, "shape": (size,)}
    )
    return stream.getvalue()


def _local(name, payload):
    """A stored member's local header (its data follows)."""
    encoded = name.encode()
    size, crc = len(payload), zlib.crc32(payload)
    fixed = _LOCAL.pack(
        b"PK\x03\x04", 20, 0, 0, 0, 0, _DATE, crc, size, size, len(encoded), 0
    )
    return fixed + encoded


def _archive(blob, entries, comment=b""):
    """`blob`, then a central directory of `(name, offset, payload)` entries."""
    central = b""
    for name, offset, payload in entries:
        encoded = name.encode()
        size, crc = len(payload), zlib.crc32(payload)
        central += _CENTRAL.pack(
            b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, _DATE, crc, size, size,
            len(encoded), 0, 0, 0, 0, 0, offset,
        ) + encoded  # fmt: skip
    count = len(entries)
    end = _END.pack(
        b"PK\x05\x06", 0, 0, count, count, len(central), len(blob), len(comment)
    )
    return blob + central + end + comment


def _nested(count):
    """`count` valid `.npy` members, each one's data holding all the later ones.

    Member k is a uint8 vector whose bytes are member k+1's local header and
    data: the file grows linearly, the declared sizes quadratically.
    """
    tail, parts = b"", []
    for k in reversed(range(count)):
        name = f"state.{k}.npy"
        prefix = _npy_header(len(tail))
        payload = prefix + tail
        header = _local(name, payload)
        parts.append((name, payload, len(header) + len(prefix)))
        tail = header + payload
    entries, offset = [], 0
    for name, payload, skip in reversed(parts):
        entries.append((name, offset, payload))
        offset += skip
    return tail, entries


def _offsets_are_headers(blob, entries):
    """Every entry's offset holds the local header of that very member."""
    for name, offset, _ in entries:
        fields = _LOCAL.unpack_from(blob, offset)
        start = offset + _LOCAL.size
        assert blob[start : start + fields[10]] == name.encode()


def _refused_cheaply(path, optimizer, says):
    """Load `path`: a CheckpointError saying `says`, with little memory used."""
    size = path.stat().st_size
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=says):
            load_checkpoint(path, optimizer)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * size + 2**20


class TestMembersSharingBytes:
    """Members whose byte ranges overlap are refused before any member is read."""

    optimizer = Optimizer(Sphere(), step_rule=Adam(0.1), max_steps=2)

    def test_nested_members_are_refused_before_allocating(self, tmp_path):
        """1,500 members nested in 0.3 MiB declare 185 MiB: refused, little read."""
        blob, entries = _nested(1500)
        _offsets_are_headers(blob, entries)
        path = tmp_path / "nested.npz"
        path.write_bytes(_archive(blob, entries))
        declared = sum(len(payload) for _, _, payload in entries)
        assert path.stat().st_size < 0.4 * 2**20
        assert declared > 150 * 2**20

        _refused_cheaply(path, self.optimizer, r"declare \d+ bytes in all")

    def test_the_nested_archive_is_otherwise_valid(self, tmp_path):
        """The forged archive is a valid zip of valid `.npy` members."""
        import zipfile

        blob, entries = _nested(5)
        with zipfile.ZipFile(io.BytesIO(_archive(blob, entries))) as archive:
            first = np.load(io.BytesIO(archive.read("state.0.npy")))
            last = np.load(io.BytesIO(archive.read("state.4.npy")))

        assert first.dtype == np.uint8
        assert first.size > 4 * len(_npy_header(0))
        assert last.size == 0

    def test_one_member_referenced_by_many_entries(self, tmp_path):
        """1,000 central entries pointing at one member's bytes: refused."""
        payload = _npy(np.zeros(100))
        blob = _local("meta.npy", payload) + payload
        entries = [(f"state.{k}.npy", 0, payload) for k in range(1000)]
        path = tmp_path / "reused.npz"
        path.write_bytes(_archive(blob, entries))

        _refused_cheaply(path, self.optimizer, "bytes in all.*members overlap")

    def test_two_entries_on_the_same_bytes_within_the_file_size(self, tmp_path):
        """Declared sizes within the file (a long comment), bytes shared: refused."""
        payload = _npy(np.zeros(100))
        blob = _local("meta.npy", payload) + payload
        entries = [("meta.npy", 0, payload), ("state.0.npy", 0, payload)]
        path = tmp_path / "twice.npz"
        path.write_bytes(_archive(blob, entries, comment=bytes(8000)))
        assert 2 * len(payload) < path.stat().st_size

        with pytest.raises(CheckpointError, match=r"'meta' and 'state\.0' overlap"):
            load_checkpoint(path, self.optimizer)

    def test_a_header_inside_another_members_data(self, tmp_path):
        """A member whose local header lies in another's data: refused."""
        inner = _npy(np.zeros(4))
        outer = _npy_header(len(_local("state.0.npy", inner)) + len(inner))
        outer += _local("state.0.npy", inner) + inner
        blob = _local("meta.npy", outer) + outer
        offset = len(_local("meta.npy", outer)) + len(_npy_header(0))
        entries = [("meta.npy", 0, outer), ("state.0.npy", offset, inner)]
        _offsets_are_headers(blob, entries)
        path = tmp_path / "inside.npz"
        path.write_bytes(_archive(blob, entries, comment=bytes(4000)))

        with pytest.raises(CheckpointError, match=r"'meta' and 'state\.0' overlap"):
            load_checkpoint(path, self.optimizer)

    @pytest.mark.parametrize(
        ("offset", "says"),
        [(10**6, "starts outside the file"), (3, "no local header at offset 3")],
    )
    def test_an_entry_pointing_nowhere(self, tmp_path, offset, says):
        payload = _npy(np.zeros(2))
        blob = _local("meta.npy", payload) + payload
        path = tmp_path / "nowhere.npz"
        path.write_bytes(_archive(blob, [("meta.npy", offset, payload)]))

        with pytest.raises(CheckpointError, match=says):
            load_checkpoint(path, self.optimizer)

    def test_a_real_checkpoint_still_loads(self, tmp_path):
        path = tmp_path / "run.npz"
        result = Optimizer(
            Sphere(), step_rule=Adam(0.1), max_steps=2, callbacks=[Checkpoint(path)]
        ).run([1.0, 2.0])

        assert load_checkpoint(path, self.optimizer) == result.run_state


def _rewrite(path, change):
    """Apply `change(rule_state_json, arrays)` to a checkpoint file."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(str(arrays.pop("meta")))
    change(meta["state"]["rule_state"], arrays)
    with open(path, "wb") as stream:
        np.savez(stream, meta=np.array(json.dumps(meta)), **arrays)


def _poison_array(*keys, index=None, value=np.nan):
    """Set one entry of the array at `rule_state.fields[keys...]` to `value`."""

    def change(node, arrays):
        for key in keys:
            node = node["items"][key] if isinstance(key, int) else node["fields"][key]
        array = arrays[node["key"]].copy()
        array.reshape(-1)[0 if index is None else index] = value
        arrays[node["key"]] = array

    return change


def _poison_plain(*keys, value=np.nan):
    def change(node, arrays):
        for key in keys[:-1]:
            node = node["items"][key] if isinstance(key, int) else node["fields"][key]
        last = keys[-1]
        target = node["items"] if isinstance(last, int) else node["fields"]
        target[last] = {"kind": "plain", "value": value}

    return change


NON_FINITE = [
    pytest.param(
        Adam(0.1),
        _poison_array("direction_state", "first_moment"),
        r"rule_state\.direction_state\.first_moment is not finite",
        id="adam-nan-moment",
    ),
    pytest.param(
        Adam(0.1),
        _poison_array("direction_state", "second_moment", index=1, value=np.inf),
        r"rule_state\.direction_state\.second_moment is not finite",
        id="adam-inf-moment",
    ),
    pytest.param(
        LBFGS(),
        _poison_array("direction_state", "steps", index=-1),
        r"rule_state\.direction_state\.steps is not finite",
        id="lbfgs-history-array",
    ),
    pytest.param(
        LBFGS(),
        _poison_array("previous_gradient", value=-np.inf),
        r"rule_state\.previous_gradient is not finite",
        id="lbfgs-previous-gradient",
    ),
    pytest.param(
        LBFGS(),
        _poison_array("direction_state", "inverse", index=-1),
        r"rule_state\.direction_state\.inverse is not finite",
        id="lbfgs-history-number",
    ),
    pytest.param(
        LBFGS(),
        _poison_plain("previous_step", value=np.inf),
        r"rule_state\.previous_step is not finite",
        id="lbfgs-number",
    ),
]


class TestNonFiniteRuleState:
    """A NaN or infinity anywhere in the rule's state is refused, naming the field."""

    @pytest.mark.parametrize(("rule", "change", "says"), NON_FINITE)
    def test_refused_naming_the_field(self, tmp_path, rule, change, says):
        path = tmp_path / "run.npz"
        optimizer = Optimizer(Rosenbrock(), step_rule=rule, max_steps=3)
        Optimizer(
            Rosenbrock(), step_rule=rule, max_steps=3, callbacks=[Checkpoint(path)]
        ).run([-1.2, 1.0])
        assert load_checkpoint(path, optimizer).step == 3
        _rewrite(path, change)

        with pytest.raises(CheckpointError, match=says):
            load_checkpoint(path, optimizer)

    def test_a_rule_that_starts_from_infinity_still_loads(self, tmp_path):
        """Non-finite entries where the rule's own initial state has them are kept."""
        path = tmp_path / "run.npz"
        rule = BestSoFar()
        Optimizer(
            Sphere(), step_rule=rule, max_steps=2, callbacks=[Checkpoint(path)]
        ).run([3.0, -1.0])
        optimizer = Optimizer(Sphere(), step_rule=rule, max_steps=2)

        state = load_checkpoint(path, optimizer).rule_state

        assert state.best == 1.5**2 + 0.5**2
        np.testing.assert_array_equal(state.lowest, [1.5, np.inf])
        np.testing.assert_array_equal(state.total, [4.5, -1.5])

        _rewrite(path, _poison_array("total", index=1))
        with pytest.raises(CheckpointError, match=r"rule_state\.total is not finite"):
            load_checkpoint(path, optimizer)


@attrs.frozen
class BestSoFarState:
    best: float
    lowest: np.ndarray = attrs.field(eq=False)
    total: np.ndarray = attrs.field(eq=False)


@attrs.frozen
class BestSoFar(StepRule[BestSoFarState]):
    """Halve x; keep the best value and lowest positive entries (from inf), and the
    sum of the points (from 0)."""

    def init(self, x0):
        return BestSoFarState(math.inf, np.full_like(x0, np.inf), np.zeros_like(x0))

    def update(self, gradient, state, *, x, value, evaluator):
        positive = np.where(x > 0, x, np.inf)
        lowest = np.where(positive < state.lowest, positive, state.lowest)
        best = min(state.best, value)
        return -0.25 * gradient, BestSoFarState(best, lowest, state.total + x)
