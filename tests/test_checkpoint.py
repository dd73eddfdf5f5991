"""Checkpoints that can be trusted: data-only loading, damaged files, failed saves,
a process-independent fingerprint and exact resume after Ctrl-C."""

import errno
import io
import json
import logging
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zipfile

import attrs
import numpy as np
import pytest

import optim.checkpoint
from optim import (
    SPSA,
    Adam,
    Checkpoint,
    CheckpointError,
    FixedStep,
    Momentum,
    Objective,
    OptimizationError,
    Optimizer,
    Status,
    StepRule,
    load_checkpoint,
    save_checkpoint,
)
from optim.fingerprint import describe, difference, fingerprint
from optim.problems import Quadratic, Sphere


def _read(path):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return json.loads(str(arrays.pop("meta"))), arrays


def _write(path, meta, arrays):
    with open(path, "wb") as stream:
        np.savez(stream, meta=np.array(json.dumps(meta)), **arrays)


def _npy(array):
    stream = io.BytesIO()
    np.lib.format.write_array(stream, array)
    return stream.getvalue()


def _saved(tmp_path, optimizer, x0, name="run.npz"):
    path = tmp_path / name
    result = attrs.evolve(optimizer, callbacks=[Checkpoint(path)]).run(x0)
    return path, result


@attrs.frozen
class GeneratorState:
    rng: np.random.Generator = attrs.field(eq=False)


@attrs.frozen
class RandomRule(StepRule[GeneratorState]):
    """A rule whose state holds a generator: random descent along the gradient."""

    def init(self, x0):
        return GeneratorState(np.random.default_rng(0))

    def update(self, gradient, state, *, x, value, evaluator):
        rng = np.random.Generator(type(state.rng.bit_generator)())
        rng.bit_generator.state = state.rng.bit_generator.state
        return -0.1 * rng.random() * gradient, GeneratorState(rng)


class TestDataOnlyLoading:
    """Acceptance 1: nothing named in a file is imported, resolved or called."""

    @pytest.fixture
    def marker(self, tmp_path, monkeypatch):
        package = tmp_path / "modules"
        package.mkdir()
        marker = tmp_path / "imported"
        (package / "evil_module.py").write_text(
            f"open({str(marker)!r}, 'w').close()\n"
            "import attrs\n"
            "@attrs.frozen\n"
            "class Thing:\n"
            "    velocity: object = None\n"
        )
        monkeypatch.syspath_prepend(str(package))
        return marker

    def test_module_named_in_file_is_not_imported(self, tmp_path, marker):
        optimizer = Optimizer(Sphere(), step_rule=Momentum(0.1), max_steps=3)
        path, _ = _saved(tmp_path, optimizer, [1.0, 2.0])
        meta, arrays = _read(path)
        meta["state"]["rule_state"]["fields"]["direction_state"]["class"] = (
            "evil_module:Thing"
        )
        _write(path, meta, arrays)

        with pytest.raises(CheckpointError, match="MomentumState"):
            load_checkpoint(path, optimizer)
        assert not marker.exists()

    @pytest.mark.parametrize("name", ["MT19937", "default_rng", "evil_module"])
    def test_numpy_random_name_is_not_resolved(self, tmp_path, marker, name):
        optimizer = Optimizer(Sphere(), step_rule=RandomRule(), max_steps=2)
        path, _ = _saved(tmp_path, optimizer, [1.0, 2.0])
        meta, arrays = _read(path)
        meta["state"]["rule_state"]["fields"]["rng"]["bit_generator"] = name
        _write(path, meta, arrays)

        with pytest.raises(CheckpointError, match="PCG64"):
            load_checkpoint(path, optimizer)
        assert not marker.exists()

    def test_random_state_names_are_only_compared(self, tmp_path, marker):
        optimizer = Optimizer(
            Sphere(), step_rule=FixedStep(0.1), estimator=SPSA(rng=1), max_steps=2
        )
        path, _ = _saved(tmp_path, optimizer, [1.0, 2.0])
        meta, arrays = _read(path)
        meta["state"]["random_state"]["items"]["bit_generator"]["value"] = "MT19937"
        _write(path, meta, arrays)

        with pytest.raises(CheckpointError, match="random_state"):
            load_checkpoint(path, optimizer)

    def test_attrs_class_outside_the_configuration_is_refused(self, tmp_path, marker):
        optimizer = Optimizer(Sphere(), step_rule=Momentum(0.1), max_steps=3)
        path, _ = _saved(tmp_path, optimizer, [1.0, 2.0])
        meta, arrays = _read(path)
        state = meta["state"]["rule_state"]["fields"]["direction_state"]
        state["class"] = "optim.run:RunContext"
        _write(path, meta, arrays)

        with pytest.raises(CheckpointError, match="should be a MomentumState"):
            load_checkpoint(path, optimizer)

    def test_round_trip_of_generator_state(self, tmp_path):
        optimizer = Optimizer(Sphere(), step_rule=RandomRule(), max_steps=4)
        path, result = _saved(tmp_path, optimizer, [1.0, 2.0])

        loaded = load_checkpoint(path, optimizer)

        assert loaded == result.run_state
        saved_rng, loaded_rng = result.run_state.rule_state.rng, loaded.rule_state.rng
        assert loaded_rng.bit_generator.state == saved_rng.bit_generator.state


def _tamper(tmp_path, change, optimizer=None):
    optimizer = optimizer or Optimizer(Sphere(), step_rule=Adam(0.1), max_steps=3)
    path, _ = _saved(tmp_path, optimizer, [1.0, 2.0])
    meta, arrays = _read(path)
    change(meta, arrays)
    _write(path, meta, arrays)
    return path, optimizer


def _set(key, value):
    def change(meta, arrays):
        meta["state"][key] = value

    return change


def _array(name, value):
    def change(meta, arrays):
        arrays[meta["state"][name]["key"]] = value

    return change


TAMPERED = [
    pytest.param(_set("step", {"kind": "plain", "value": float("inf")}), "step"),
    pytest.param(_set("step", {"kind": "plain", "value": -1}), "step"),
    pytest.param(_set("step", {"kind": "plain", "value": True}), "step"),
    pytest.param(_set("evaluations", {"kind": "plain", "value": "3"}), "evaluations"),
    pytest.param(_set("value", {"kind": "plain", "value": float("nan")}), "value"),
    pytest.param(_set("value", {"kind": "plain", "value": [1]}), "value"),
    pytest.param(_set("step", {"kind": "plain"}), "step"),
    pytest.param(_set("step", 3), "step"),
    pytest.param(_array("x", np.array([1.0 + 2j, 0.0])), "complex"),
    pytest.param(_array("x", np.array([1.0, 2.0, 3.0])), "shape"),
    pytest.param(_array("x", np.array([1, 2])), "int64"),
    pytest.param(_array("x", np.array([np.inf, 2.0])), "finite"),
    pytest.param(_array("best_x", np.array([1.0])), "best_x"),
    pytest.param(lambda meta, arrays: meta.update(configuration={}), "missing"),
    pytest.param(lambda meta, arrays: meta.update(extra=1), "unexpected keys"),
    pytest.param(lambda meta, arrays: meta["state"].pop("x"), "missing keys"),
    pytest.param(lambda meta, arrays: meta.update(format=2), "format 2"),
    pytest.param(lambda meta, arrays: meta.update(format="3"), "format"),
    pytest.param(lambda meta, arrays: arrays.update(extra=np.zeros(2)), "unexpected"),
    pytest.param(
        lambda meta, arrays: meta.update(configuration=[1] * 3), "not a JSON object"
    ),
    pytest.param(
        lambda meta, arrays: meta["state"].update(x=meta["state"]["gradient"]),
        "reused",
    ),
    pytest.param(
        lambda meta, arrays: meta["state"]["rule_state"]["fields"].update(step=-1.5),
        "rule_state",
    ),
    pytest.param(
        lambda meta, arrays: meta["state"]["rule_state"]["fields"]["direction_state"][
            "fields"
        ].update(t={"kind": "plain", "value": 1.5}),
        "rule_state.direction_state.t",
    ),
]


class TestMalformedFiles:
    """Acceptance 2: every malformed file is a CheckpointError saying what is wrong."""

    @pytest.mark.parametrize(("change", "says"), TAMPERED)
    def test_tampered_file(self, tmp_path, change, says):
        path, optimizer = _tamper(tmp_path, change)

        with pytest.raises(CheckpointError, match=says):
            load_checkpoint(path, optimizer)

    def test_plain_npy_and_other_containers(self, tmp_path):
        optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.1))
        np.save(tmp_path / "plain.npy", np.zeros(3))
        (tmp_path / "text.npz").write_text("{}")
        (tmp_path / "folder.npz").mkdir()
        for name in ("plain.npy", "text.npz", "folder.npz"):
            with pytest.raises(CheckpointError, match="cannot read checkpoint"):
                load_checkpoint(tmp_path / name, optimizer)

    def test_compressed_or_oversized(self, tmp_path):
        optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.1), max_steps=1)
        path, _ = _saved(tmp_path, optimizer, [1.0])
        meta, _ = _read(path)
        np.savez_compressed(tmp_path / "z.npz", meta=np.array(json.dumps(meta)))

        with pytest.raises(CheckpointError, match="compressed"):
            load_checkpoint(tmp_path / "z.npz", optimizer)
        with pytest.raises(CheckpointError, match="max_bytes"):
            load_checkpoint(path, optimizer, max_bytes=100)

    def test_over_deep_and_lying_header(self, tmp_path):
        optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.1), max_steps=1)
        path, _ = _saved(tmp_path, optimizer, [1.0])
        meta, arrays = _read(path)
        meta["state"]["step"] = json.loads("[" * 100 + "]" * 100)
        _write(tmp_path / "deep.npz", meta, arrays)
        with pytest.raises(CheckpointError, match="deeper"):
            load_checkpoint(tmp_path / "deep.npz", optimizer)

        # An array header claiming 10**12 elements is refused before allocation.
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
        )
        with zipfile.ZipFile(tmp_path / "forged.npz", "w") as archive:
            archive.writestr("meta.npy", _npy(np.array(json.dumps(meta))))
            archive.writestr("state.0.npy", header.getvalue() + bytes(16))
        tracemalloc.start()
        try:
            with pytest.raises(CheckpointError, match="do not match its size"):
                load_checkpoint(tmp_path / "forged.npz", optimizer)
            assert tracemalloc.get_traced_memory()[1] < 2**20
        finally:
            tracemalloc.stop()

    def test_fuzz_truncation_and_bit_flips(self, tmp_path):
        """Acceptance 2: cut at every byte, 500 seeded bit flips."""
        optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.1), max_steps=3)
        path, result = _saved(tmp_path, optimizer, [1.0, 2.0])
        original = path.read_bytes()
        rng = random.Random(11)
        variants = [original[:cut] for cut in range(len(original))]
        for _ in range(500):
            damaged = bytearray(original)
            bit = rng.randrange(len(original) * 8)
            damaged[bit // 8] ^= 1 << (bit % 8)
            variants.append(bytes(damaged))
        target = tmp_path / "fuzz.npz"
        outcomes = {"loaded": 0, "refused": 0}
        tracemalloc.start()
        try:
            for data in variants:
                target.write_bytes(data)
                try:
                    loaded = load_checkpoint(target, optimizer)
                except CheckpointError:
                    outcomes["refused"] += 1
                else:
                    assert loaded == result.run_state
                    outcomes["loaded"] += 1
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

        assert outcomes["refused"] >= len(original)
        assert peak < 20 * len(original) + 2**20


def _replace_fails(source, target):
    raise OSError(errno.ENOSPC, "No space left on device")


class TestFailedSaves:
    """Acceptance 3: a failed save never loses the run."""

    @pytest.fixture(params=["missing-folder", "replace-raises", "read-only"])
    def broken(self, request, tmp_path, monkeypatch):
        if request.param == "missing-folder":
            return tmp_path / "missing" / "run.npz"
        if request.param == "replace-raises":
            monkeypatch.setattr(optim.checkpoint.os, "replace", _replace_fails)
            return tmp_path / "run.npz"
        if os.geteuid() == 0:
            pytest.skip("root writes to read-only folders")
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o500)
        return folder / "run.npz"

    def optimizer(self, callback):
        return Optimizer(
            Sphere(), step_rule=FixedStep(0.25), callbacks=[callback], max_steps=5
        )

    def test_result_is_returned_with_the_failure(self, broken, caplog):
        straight = Optimizer(Sphere(), step_rule=FixedStep(0.25), max_steps=5)
        checkpoint = Checkpoint(broken, every=2)

        with caplog.at_level(logging.WARNING, logger="optim.checkpoint"):
            result = self.optimizer(checkpoint).run([8.0])

        assert result == attrs.evolve(straight.run([8.0]), message=result.message)
        assert result.status is Status.MAX_STEPS
        assert "checkpoint: 4 of 4 saves" in result.message
        assert "does not hold the final state" in result.message
        assert len(checkpoint.failures) == 4
        assert "checkpoint save" in caplog.text
        assert not os.path.exists(broken)

    def test_fatal_option_raises_with_the_result(self, broken):
        with pytest.raises(OptimizationError) as caught:
            self.optimizer(Checkpoint(broken, every=2, fatal=True)).run([8.0])

        assert caught.value.step == 0
        assert caught.value.result.x.tolist() == [8.0]
        assert "checkpoint" in caught.value.result.message

    def test_fatal_final_save(self, tmp_path, monkeypatch):
        """Periodic saves succeed, the final one fails: the error holds the end."""
        real, calls = os.replace, []

        def replace(source, target):
            calls.append(target)
            if len(calls) > 1:
                _replace_fails(source, target)
            real(source, target)

        monkeypatch.setattr(optim.checkpoint.os, "replace", replace)
        path = tmp_path / "run.npz"
        with pytest.raises(OptimizationError, match="1 of 2 saves") as caught:
            self.optimizer(Checkpoint(path, every=100, fatal=True)).run([8.0])

        assert caught.value.result.x.tolist() == [0.25]
        assert caught.value.result.status is Status.MAX_STEPS
        assert load_checkpoint(path, self.optimizer(Checkpoint(path))).step == 0

    def test_finished_run_survives(self, tmp_path, monkeypatch):
        """A run that finished keeps its status when the final save fails."""
        monkeypatch.setattr(optim.checkpoint.os, "replace", _replace_fails)
        result = Optimizer(
            Sphere(),
            step_rule=FixedStep(0.5),
            callbacks=[Checkpoint(tmp_path / "run.npz")],
        ).run([1.0])

        assert result.x.tolist() == [0.0]
        assert "No space left" in result.message

    @pytest.mark.parametrize("path", ["/dev/null", "/dev/full", "."])
    def test_not_a_regular_file_is_refused_up_front(self, path):
        if not os.path.exists(path):
            pytest.skip(f"{path} does not exist here")
        with pytest.raises(ValueError, match="not a regular file"):
            Checkpoint(path)
        with pytest.raises(FileExistsError):
            save_checkpoint(
                path,
                Optimizer(Sphere(), step_rule=FixedStep(0.1)).run([1.0]).run_state,
                Optimizer(Sphere(), step_rule=FixedStep(0.1)),
            )

    def test_archive_has_only_our_members(self, tmp_path):
        """No stray `allow_pickle` array, whatever numpy's savez does."""
        optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.1), max_steps=1)
        path, _ = _saved(tmp_path, optimizer, [1.0])
        meta, arrays = _read(path)

        assert "allow_pickle" not in arrays
        assert meta["format"] == optim.checkpoint.FORMAT_VERSION


class Spring(Objective):
    def __init__(self, stiffness):
        self.stiffness = stiffness

    def value(self, x):
        return float(0.5 * self.stiffness * np.sum(x**2))

    def fingerprint(self):
        return {"stiffness": self.stiffness}


class TestFingerprint:
    """Acceptance 4 (in process): what the fingerprint covers."""

    def test_objective_parameter_is_refused_naming_the_field(self, tmp_path):
        optimizer = Optimizer(
            Quadratic(condition_number=10.0), step_rule=FixedStep(0.05), max_steps=3
        )
        path, _ = _saved(tmp_path, optimizer, [1.0, 1.0])
        other = attrs.evolve(optimizer, objective=Quadratic(condition_number=20.0))

        with pytest.raises(CheckpointError, match=r"objective\.condition_number"):
            other.resume(path)

    def test_function_objective_by_qualified_name(self):
        def first(x):
            return float(x[0] ** 2)

        def second(x):
            return float(x[0] ** 2)

        a = fingerprint(Optimizer(first, step_rule=FixedStep(0.1)))
        b = fingerprint(Optimizer(second, step_rule=FixedStep(0.1)))

        found = difference(a, b)
        assert found is not None
        assert found.path == "objective.fun.function"
        assert "0x" not in json.dumps(a)

    def test_objective_fingerprint_hook(self):
        a = fingerprint(Optimizer(Spring(1.0), step_rule=FixedStep(0.1)))
        b = fingerprint(Optimizer(Spring(2.0), step_rule=FixedStep(0.1)))

        assert difference(a, b).path == "objective.stiffness"

    def test_plain_objects_without_addresses(self):
        class Halving:
            def __init__(self):
                self.base = 0.5

        described = json.dumps(describe(Halving()))

        assert "0x" not in described
        assert '"base": 0.5' in described

    def test_deep_nesting_is_refused(self):
        nested = []
        nested.append(nested)
        with pytest.raises(ValueError, match="deeper"):
            describe(nested)


SCHEDULE_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from optim import Checkpoint, CheckpointError, Momentum, Optimizer
    from optim.problems import Quadratic
    from optim.schedules import Schedule

    class Halving(Schedule):
        def __call__(self, step):
            return 0.5**step

    def optimizer(max_steps, callbacks=(), condition_number=10.0):
        return Optimizer(
            Quadratic(condition_number=condition_number),
            step_rule=Momentum(learning_rate=Halving(), beta=0.5),
            callbacks=callbacks,
            max_steps=max_steps,
        )

    mode, path = sys.argv[1], sys.argv[2]
    if mode == "first":
        optimizer(4, [Checkpoint(path)]).run(np.ones(2))
        sys.exit(0)
    if mode == "straight":
        result = optimizer(12).run(np.ones(2))
    else:
        try:
            optimizer(12, condition_number=20.0).resume(path)
        except CheckpointError as error:
            print(error)
        result = optimizer(12).resume(path)
    print(result.x.tobytes().hex(), repr(result.value), result.evaluations)
    """
)


def _python(*args):
    return subprocess.run(
        [sys.executable, "-c", *args], capture_output=True, text=True, timeout=300
    )


def test_custom_schedule_resumes_in_a_new_process(tmp_path):
    """Acceptance 4: the docs' `Halving` schedule, checkpointed and resumed."""
    path = str(tmp_path / "run.npz")
    first = _python(SCHEDULE_SCRIPT, "first", path)
    assert first.returncode == 0, first.stderr

    resumed = _python(SCHEDULE_SCRIPT, "resume", path)
    straight = _python(SCHEDULE_SCRIPT, "straight", path)

    assert resumed.returncode == 0, resumed.stderr
    refusal, resumed_line = resumed.stdout.strip().splitlines()
    assert "objective.condition_number is 10.0" in refusal
    assert resumed_line == straight.stdout.strip()


# `signal.default_int_handler`: see `SIGINT_SCRIPT` in test_reliability.py (a
# background job of a non-interactive shell starts with SIGINT ignored).
INTERRUPT_SCRIPT = textwrap.dedent(
    """
    import signal, sys, time
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import numpy as np
    from optim import SPSA, Adam, Checkpoint, Optimizer

    def cost(x):
        time.sleep(0.002)  # a run of 150 steps lasts seconds, not milliseconds
        return float(np.sum((x - 1.0) ** 2) + 0.1 * np.sum(np.cos(3 * x)))

    def optimizer(callbacks=()):
        return Optimizer(
            cost,
            step_rule=Adam(0.05),
            estimator=SPSA(samples=3, rng=5),
            callbacks=callbacks,
            max_steps=150,
            max_growth=None,
        )

    def ready(info):
        if info.step == 1:  # wait for the test's go, so a loaded machine that starts
            print("ready", flush=True)  # the processes slowly still interrupts them
            sys.stdin.readline()

    mode, path = sys.argv[1], sys.argv[2]
    if mode == "run":
        result = optimizer([ready, Checkpoint(path, every=1)]).run(np.zeros(3))
    elif mode == "resume":
        result = optimizer().resume(path)
    else:
        result = optimizer().run(np.zeros(3))
    print(result.status.name, result.steps, result.x.tobytes().hex(),
          repr(result.value), result.evaluations, flush=True)
    """
)


def test_sigint_at_random_points_leaves_an_exact_checkpoint(tmp_path):
    """Acceptance 5: 10 interrupts at random moments of an SPSA run."""
    rng = random.Random(2024)
    paths = [str(tmp_path / f"run{i}.npz") for i in range(10)]
    command = [sys.executable, "-c", INTERRUPT_SCRIPT]
    processes: list[subprocess.Popen[str]] = []

    def start(*args, **pipes):
        process = subprocess.Popen([*command, *args], text=True, **pipes)
        processes.append(process)
        return process

    try:
        straight = start("straight", "-", stdout=subprocess.PIPE)
        runs = [
            start(
                "run",
                path,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for path in paths
        ]
        for process in runs:
            assert process.stdout.readline().strip() == "ready"
        for process in runs:
            process.stdin.write("go\n")
            process.stdin.flush()
        for process in rng.sample(runs, len(runs)):
            time.sleep(rng.uniform(0.0, 0.1))
            process.send_signal(signal.SIGINT)
        outputs = [process.communicate(timeout=300)[0] for process in runs]
        resumes = [start("resume", path, stdout=subprocess.PIPE) for path in paths]
        expected = straight.communicate(timeout=300)[0].split()[1:]
        resumed = [process.communicate(timeout=300)[0].split() for process in resumes]
    finally:
        for process in processes:  # a failed check leaves no process running
            process.kill()
            process.communicate()

    interrupted = 0
    for output, path, again in zip(outputs, paths, resumed, strict=True):
        assert again[1:] == expected
        if output.startswith("INTERRUPTED"):
            interrupted += 1
            steps = int(output.split()[1])
            saved = _read(path)[0]["state"]["step"]["value"]
            assert saved == steps
    assert interrupted >= 5
