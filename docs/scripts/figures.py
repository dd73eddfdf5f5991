"""Draw the documentation's figures with the library itself.

Run by the mkdocs hook (`docs/hooks.py`) before every build, and by hand to refresh
the README's copy: `python docs/scripts/figures.py docs/assets`.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from optim import History, Optimizer, Result, StopOnZeroGradient
from optim.demo import demo_results
from optim.plot import plot_comparison, plot_sweep
from optim.problems import Rosenbrock, Sphere
from optim.registry import make_rule
from optim.sweep import sweep_learning_rates

RULES_ON_ROSENBROCK = {
    "FixedStep(1e-3)": make_rule("fixed", 1e-3),
    "Momentum(1e-3, beta=0.9)": make_rule("momentum", 1e-3, beta=0.9),
    "Adam(0.02)": make_rule("adam", 0.02),
    "ConjugateGradient()": make_rule("cg"),
    "LBFGS()": make_rule("lbfgs"),
}
"""The rules compared on Rosenbrock in docs/step-rules.md."""


def compare_rules(max_steps: int = 3000) -> dict[str, tuple[History, Result]]:
    """Run each rule on Rosenbrock from (-1.2, 1); return its history and result."""
    runs = {}
    for name, rule in RULES_ON_ROSENBROCK.items():
        history = History()
        result = Optimizer(
            Rosenbrock(),
            step_rule=rule,
            callbacks=[StopOnZeroGradient(1e-8), history],
            max_steps=max_steps,
        ).run(Rosenbrock().start)
        runs[name] = (history, result)
    return runs


def draw(folder: Path) -> list[Path]:
    """Write every figure into `folder` and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []

    sweep = plot_sweep(
        Sphere(),
        sweep_learning_rates(Sphere(), [3.0, 2.0], [1.0, 0.1, 1e-6]),
        title="Sphere from (3, 2): FixedStep at learning rates 1, 0.1 and 1e-6",
    )
    sweep.savefig(folder / "sweep.png", dpi=90, metadata={"Software": None})
    written.append(folder / "sweep.png")

    demo = plot_sweep(
        Sphere(),
        demo_results(),
        title="optim demo: FixedStep on the sphere, central differences",
    )
    demo.savefig(folder / "demo.png", dpi=90, metadata={"Software": None})
    written.append(folder / "demo.png")

    runs = compare_rules()
    labels = [
        f"{name}: {result.outcome}, {result.steps} steps"
        for name, (_, result) in runs.items()
    ]
    figure = plot_comparison(
        Rosenbrock(),
        [history for history, _ in runs.values()],
        labels,
        bounds=((-2, 2), (-1, 3)),
        title="Rosenbrock from (-1.2, 1): five step rules, at most 3000 steps",
    )
    figure.axes[1].set_xscale("symlog", linthresh=10)
    figure.axes[1].set_xlim(left=0)
    figure.savefig(folder / "rules.png", dpi=90, metadata={"Software": None})
    written.append(folder / "rules.png")
    plt.close("all")
    return written


if __name__ == "__main__":
    for path in draw(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/figures")):
        print(path)
