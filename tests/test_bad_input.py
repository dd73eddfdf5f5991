"""Every row of the bad-input table in docs/reliability.md, checked."""

import math
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import array_api_strict as xps
import numpy as np
import pytest

import optim
from optim import (
    LBFGS,
    SPSA,
    Adam,
    AdamW,
    AnalyticGradient,
    Backtracking,
    CentralDifference,
    FixedStep,
    FunctionObjective,
    LogProgress,
    Momentum,
    Optimizer,
    Richardson,
    StopOnZeroGradient,
    StrongWolfe,
)
from optim.problems import Sphere

TABLE = Path(__file__).parents[1] / "docs" / "reliability.md"


def table_rows():
    text = TABLE.read_text()
    body = text.split("<!-- bad-input-table -->")[1].split("<!-- end-bad-input-table")[
        0
    ]
    rows = [line.split("|")[1:-1] for line in body.strip().splitlines()[2:]]
    return {
        cells[0].strip(): (
            re.findall(r"`(\w+)`", cells[2])[0],
            re.findall(r"`([^`]+)`", cells[3])[0],
        )
        for cells in rows
    }


def unpicklable_with_process_pool():
    calls = []

    def objective(x):
        calls.append(x)
        return float(x @ x)

    with ProcessPoolExecutor(max_workers=1) as pool:
        try:
            run(objective, [1.0, 2.0], estimator=CentralDifference(executor=pool))
        finally:
            assert calls == []  # refused before any evaluation


def run(objective, x0, **kwargs):
    return Optimizer(objective, step_rule=FixedStep(0.1), **kwargs).run(x0)


def configure(**kwargs):
    return lambda: Optimizer(Sphere(), **{"step_rule": FixedStep(0.1), **kwargs})


CASES = {
    "x0-empty": lambda: run(Sphere(), []),
    "x0-strings": lambda: run(Sphere(), ["a", "b"]),
    "x0-complex": lambda: run(Sphere(), [1 + 2j]),
    "x0-nan": lambda: run(Sphere(), [1.0, math.nan]),
    "x0-inf": lambda: run(Sphere(), [math.inf]),
    "x0-mixed-libraries": lambda: run(
        FunctionObjective(lambda params: 0.0), {"w": xps.zeros(2), "b": np.zeros(1)}
    ),
    "x0-shape": lambda: run(lambda x: x[0] * x[1], [1.0]),
    "value-array": lambda: run(lambda x: x, [1.0, 2.0]),
    "value-none": lambda: run(lambda x: None, [1.0]),
    "value-string": lambda: run(lambda x: "1.0", [1.0]),
    "value-nan": lambda: run(lambda x: math.nan, [1.0]),
    "value-list": lambda: run(lambda x: [1.0], [1.0]),
    "value-one-element": lambda: run(lambda x: np.array([1.0]), [1.0]),
    "gradient-shape": lambda: run(
        FunctionObjective(lambda x: 0.0, lambda x: np.zeros(3)), [1.0]
    ),
    "gradient-dtype": lambda: run(
        FunctionObjective(lambda x: 0.0, lambda x: np.array(["a"])), [1.0]
    ),
    "learning-rate-zero": lambda: FixedStep(0.0),
    "learning-rate-inf": lambda: FixedStep(math.inf),
    "learning-rate-string": lambda: FixedStep("0.1"),
    "step-negative": lambda: CentralDifference(step=-1e-4),
    "beta-one": lambda: Momentum(0.1, beta=1.0),
    "beta1-negative": lambda: Adam(beta1=-0.1),
    "beta2-one": lambda: Adam(beta2=1.0),
    "weight-decay-negative": lambda: AdamW(weight_decay=-1),
    "memory-zero": lambda: LBFGS(memory=0),
    "c1-out-of-range": lambda: Backtracking(c1=2.0),
    "c2-out-of-range": lambda: StrongWolfe(c2=1.5),
    "order-odd": lambda: Richardson(order=3),
    "samples-zero": lambda: SPSA(samples=0),
    "rng-generator": lambda: SPSA(rng=np.random.default_rng(0)),
    "amsgrad-string": lambda: Adam(amsgrad="no"),
    "centered-number": lambda: optim.RMSProp(0.1, centered=1),
    "vectorized-string": lambda: FunctionObjective(abs, vectorized="yes"),
    "batch-bytes-zero": lambda: CentralDifference(max_batch_bytes=0),
    "batch-size-zero": lambda: CentralDifference(batch_size=0),
    "executor-unpicklable": lambda: unpicklable_with_process_pool(),
    "tol-negative": lambda: StopOnZeroGradient(tol=-1.0),
    "norm-unknown": lambda: StopOnZeroGradient(norm=3),
    "every-zero": lambda: LogProgress(every=0),
    "mode-unknown": configure(mode="sideways"),
    "max-steps-negative": configure(max_steps=-1),
    "max-steps-float": configure(max_steps=2.5),
    "max-evaluations-negative": configure(max_evaluations=-1),
    "max-time-zero": configure(max_time=0),
    "max-growth-zero": configure(max_growth=0),
    "errors-unknown": configure(errors="ignore"),
    "step-rule-type": configure(step_rule=0.1),
    "estimator-type": configure(estimator="central"),
    "estimator-analytic": lambda: Optimizer(
        lambda x: 0.0, step_rule=FixedStep(0.1), estimator=AnalyticGradient()
    ),
    "callbacks-type": configure(callbacks=[3]),
    "objective-type": lambda: Optimizer(42, step_rule=FixedStep(0.1)),
    "chain-search": lambda: optim.chain(optim.ClipByNorm(1.0), LBFGS()),
}


def test_every_row_has_a_case():
    """The table and the cases below list the same rows."""
    assert set(table_rows()) == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_row(case):
    """The call raises the documented exception, naming the documented argument."""
    exception_name, argument = table_rows()[case]

    with pytest.raises((TypeError, ValueError, IndexError)) as caught:
        CASES[case]()

    error = caught.value
    text = " ".join([str(error), *getattr(error, "__notes__", [])])
    if exception_name in ("ValueError", "TypeError"):
        assert type(error).__name__ == exception_name
    else:
        assert type(error).__name__ == "IndexError"
    assert argument in text
