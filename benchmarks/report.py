"""Run every measure of docs/performance.md once and print it as Markdown tables.

Usage, from the repository root:

    PYTHONPATH=. python benchmarks/report.py            # both issues
    PYTHONPATH=. python benchmarks/report.py --part per-step
    PYTHONPATH=. python benchmarks/report.py --part stopping --details
    PYTHONPATH=. python benchmarks/report.py --part scipy-methods --details

The tables have one row per measure, `| measure | target | measured |`, in the
order of the tables in docs/performance.md, so the measured column can be pasted
into a "before" or "after" column there. The per-step rows against torch and optax
run only where those are installed. Unlike the pytest benchmarks (which CI runs),
this script runs nothing twice: it takes a few minutes on a 2-core machine, longer
while other jobs run on it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.util
import os
import platform
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

import optim
from benchmarks import per_step, scipy_methods, stopping


def _rounds(n: int) -> int:
    return 7 if n >= 100_000 else 15


def _line(measure: str, target: str, measured: str) -> str:
    return f"| {measure} | {target} | {measured} |"


def _header(title: str) -> list[str]:
    return [
        "",
        f"### {title}",
        "",
        "| measure | target | measured |",
        "| --- | --- | --- |",
    ]


def _size(n: int) -> str:
    return {10_000: "10⁴", 100_000: "10⁵", 1_000_000: "10⁶"}.get(n, f"{n:,}")


def _target(value: float | None) -> str:
    return "—" if value is None else f"≤ {value:g}x"


def _flush(lines: list[str]) -> None:
    print("\n".join(lines), flush=True)
    lines.clear()


def per_step_tables() -> None:
    """The tables of issue "Per-step cost at the limit"."""
    lines = _header("Per-step cost at the limit")
    for row in per_step.ROWS:
        if row.needs and importlib.util.find_spec(row.needs) is None:
            lines.append(_line(row.name, "—", f"skipped ({row.needs} not installed)"))
            continue
        for n in per_step.SIZES:
            ratio = per_step.per_step_ratio(row, n, rounds=_rounds(n))
            lines.append(
                _line(
                    f"{row.name}, n = {_size(n)}",
                    _target(row.targets.get(n)),
                    str(ratio),
                )
            )
        _flush(lines)
    vectors, other = per_step.peak_vectors()
    lines.append(
        _line(
            f"peak traced memory, FixedStep run, n = {_size(per_step.MEMORY_SIZE)}",
            "≤ 4 n-vectors",
            f"{vectors:.2f} n-vectors and {other / 1e3:.0f} kB",
        )
    )
    targets = {2: 1.5, 100: 1.5, 10_000: 0.8}
    for n in per_step.LBFGS_SIZES:
        row = per_step.lbfgs_row(n)
        target = targets.get(n)
        lines.append(
            _line(
                "L-BFGS whole solve ÷ scipy L-BFGS-B, extended Rosenbrock, "
                f"n = {_size(n)}",
                f"{_target(target)}, evaluations ≤ scipy's"
                if target
                else "evaluations ≤ scipy's",
                f"{row.ratio}; evaluations {row.evaluations} (f) / "
                f"{row.gradient_evaluations} (g) vs scipy {row.scipy_evaluations} "
                f"(f+g); {row.status}; default `LBFGS()`: "
                f"{row.default_evaluations} evaluations",
            )
        )
    _flush(lines)


def stopping_tables(details: bool) -> None:
    """The tables of issue "Stopping that is honest and useful"."""
    lines = _header("Stopping that is honest and useful")
    cli = stopping.cli_measure()
    lines += [
        _line(
            "1. `optim run rosenbrock --rule lbfgs --estimator forward --tol 1e-8`, "
            "10 starts 1-10 ulps away: statuses",
            "never MAX_STEPS",
            cli.statuses,
        ),
        _line(
            '1. the same: evaluations ÷ scipy L-BFGS-B (`jac="2-point"`, '
            "`gtol=1e-8`), worst (median)",
            "≤ 3x",
            f"{cli.max_ratio:.1f}x ({cli.median_ratio:.1f}x); optim "
            f"{' '.join(str(r.evaluations) for r in cli.rows)}, scipy "
            f"{' '.join(str(r.scipy_evaluations) for r in cli.rows)}",
        ),
    ]
    _flush(lines)
    pairs = {jac: stopping.minimize_measure(jac) for jac in ("2-point", "3-point")}
    for jac, pair in pairs.items():
        count = len(pair.rows)
        perturbed = stopping.minimize_ulp_measure(jac)
        lines += [
            _line(
                f'2. `minimize(f, x0, method="L-BFGS-B", jac="{jac}")`, {count} MGH '
                "problems (n ≤ 10): median evaluations ÷ scipy's",
                "≤ 1.3x",
                f"{pair.median_ratio:.2f}x",
            ),
            _line(
                f"2. the same ({jac}): final values worse than scipy's by > 1e-8 "
                "relative",
                "0",
                f"{pair.worse} ({', '.join(r.problem for r in pair.rows if r.worse)})"
                if pair.worse
                else "0",
            ),
            _line(
                f"2. the same ({jac}): runs reporting success, optim / scipy",
                "—",
                f"{pair.successes} / {pair.scipy_successes} of {count} "
                f"(optim: {pair.statuses})",
            ),
            _line(
                f"2. the same ({jac}) from the starts 1 to {stopping.ULP_STARTS} ulps "
                f"above each ({len(perturbed.rows)} runs): worse than scipy's by "
                "> 1e-8 (problem (ulps))",
                "—",
                perturbed.worse_runs,
            ),
            _line(
                f"2. the same ({jac}): runs ending with scipy's evaluation count, "
                "standard start; ulp starts",
                "—",
                f"{pair.same_evaluations} of {count}; "
                f"{perturbed.same_evaluations} of {len(perturbed.rows)} "
                f"(median ratio {perturbed.median_ratio:.2f}x)",
            ),
        ]
    _flush(lines)
    honest = stopping.honest_measure()
    lines += [
        _line(
            f"3. MGH problems, {{LBFGS, CG}}, tol ∈ {{1e-6, 1e-10}}, exact gradients "
            f"({len(honest.rows)} runs): within 1e-8 of the best known value but "
            "`success=False`",
            "0",
            str(honest.failed_at_best),
        ),
        _line(
            "3. the same: `success=True` with a value worse than scipy "
            "L-BFGS-B's by > 1e-6 relative",
            "0",
            str(honest.succeeded_worse),
        ),
        _line("3. the same: statuses", "—", honest.statuses),
    ]
    _flush(lines)
    for case in stopping.SPSA_CASES:
        for norm in (2.0, np.inf):
            spsa = stopping.spsa_measure(case, norm)
            name = "2-norm" if norm == 2.0 else "inf-norm"
            lines.append(
                _line(
                    f"4. SPSA + FixedStep, 2-D quadratic, 20 seeds, {case}, {name} "
                    "test: CONVERGED with true gradient norm > 2 tol",
                    "0",
                    f"{spsa.false_converged} of {spsa.converged} CONVERGED "
                    f"({spsa.statuses})",
                )
            )
    _flush(lines)
    for rule in stopping.HONEST_RULES:
        stall = stopping.stall_measure(rule)
        lines.append(
            _line(
                f"5. SPSA + {rule}, Rosenbrock, 300 steps, 10 seeds: longest run of "
                "steps evaluating without moving x",
                "≤ 10",
                f"{stall.worst} (per seed: {' '.join(map(str, stall.longest))}; "
                f"{stall.statuses})",
            )
        )
    bounds = stopping.bounds_measure()
    lines.append(
        _line(
            "6. CG, Rosenbrock with x1 ≤ 0.5: evaluations ÷ unbounded CG's",
            "≤ 3x",
            f"{bounds.ratio:.1f}x ({bounds.evaluations} vs "
            f"{bounds.unbounded_evaluations}; {bounds.status})",
        )
    )
    _flush(lines)
    if details:
        _details(cli, pairs, honest)


def _details(cli, pairs, honest) -> None:
    print("\n#### 1. per start\n")
    print("| ulps | status | evaluations | scipy evaluations |")
    print("| ---: | --- | ---: | ---: |")
    for row in cli.rows:
        print(
            f"| {row.ulps} | {row.status} | {row.evaluations} "
            f"| {row.scipy_evaluations} |"
        )
    for jac, pair in pairs.items():
        print(f'\n#### 2. per problem, jac="{jac}"\n')
        print("| problem | status | f | evaluations | scipy f | scipy evaluations |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        for row in pair.rows:
            print(
                f"| {row.problem} | {row.status} | {row.value:.10g} "
                f"| {row.evaluations} | {row.scipy_value:.10g} "
                f"| {row.scipy_evaluations} |"
            )
    print("\n#### 3. runs counted\n")
    print("| problem | rule | tol | status | f | best known | scipy f | counted as |")
    print("| --- | --- | ---: | --- | ---: | ---: | ---: | --- |")
    for row in honest.rows:
        if row.failed_at_best or row.succeeded_worse:
            why = "failed at best" if row.failed_at_best else "succeeded worse"
            print(
                f"| {row.problem} | {row.rule} | {row.tol:g} | {row.status} "
                f"| {row.value:.12g} | {row.best:.12g} | {row.scipy_value:.12g} "
                f"| {why} |"
            )


def _times(value: float) -> str:
    return "—" if value != value else f"{value:.2f}x"  # NaN: no ratio to take


def scipy_methods_table(details: bool) -> None:
    """The table of issue "A true scipy drop-in" (acceptance 2)."""
    count = len(stopping.small_mgh())
    print(
        "\n### A true scipy drop-in: evaluations\n\n"
        f"{count} MGH problems (n ≤ 10). Targets: optim reaches scipy's value in at "
        "least as many runs as scipy reaches optim's, and median evaluation ratio "
        "≤ 1.1x.\n\n"
        "| method | jac | median nfev ratio | median njev ratio "
        "| median evaluation ratio | optim reaches scipy's / scipy reaches optim's "
        "| worst ratio (problem) | met |\n"
        "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |",
        flush=True,
    )
    measures = []
    for method in scipy_methods.METHODS:
        for jac in scipy_methods.JACS:
            m = scipy_methods.measure(method, jac)
            measures.append(m)
            name = scipy_methods.jac_name(jac)
            if m.refused:
                optim_too = "optim too" if m.optim_refuses else "optim runs it"
                print(
                    f"| {method} | {name} | — | — | — | — "
                    f'| scipy refuses: "{m.refused}" ({optim_too}) | — |',
                    flush=True,
                )
                continue
            worst = m.worst
            print(
                f"| {method} | {name} | {_times(m.median_nfev_ratio)} "
                f"| {_times(m.median_njev_ratio)} | {_times(m.median_ratio)} "
                f"| {m.reaches} / {m.scipy_reaches} "
                f"| {worst.ratio:.2f}x ({worst.problem}) "
                f"| {'met' if m.met else 'not met'} |",
                flush=True,
            )
    if details:
        print(
            "\n#### per run\n\n| method | jac | problem | f | scipy f "
            "| nfev / njev / nhev | scipy nfev / njev / nhev | ratio |\n"
            "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"
        )
        for m in measures:
            for row in m.rows:
                ratio = "—" if row.ratio is None else f"{row.ratio:.2f}"
                print(
                    f"| {row.method} | {scipy_methods.jac_name(row.jac)} "
                    f"| {row.problem} | {row.value:.10g} | {row.scipy_value:.10g} "
                    f"| {' / '.join(map(str, row.counts))} "
                    f"| {' / '.join(map(str, row.scipy_counts))} | {ratio} |"
                )


def _commit() -> str:
    """The checked-out commit of the `optim` being measured, if it is a git tree."""
    root = Path(optim.__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return f"at {root}"
    return out.stdout.strip()


def _versions() -> str:
    names = ("numpy", "scipy", "torch", "optax", "jax")
    found = [f"optim {_commit()}"]
    for name in names:
        with contextlib.suppress(PackageNotFoundError):
            found.append(f"{name} {version(name)}")
    return ", ".join(found)


def main(argv: list[str] | None = None) -> int:
    """Print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--part",
        choices=("all", "per-step", "stopping", "scipy-methods"),
        default="all",
    )
    parser.add_argument(
        "--details",
        action="store_true",
        help="also print the stopping and scipy-methods runs per start/problem",
    )
    args = parser.parse_args(argv)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"<!-- {datetime.date.today()}, Python {platform.python_version()}, "
        f"{_versions()}; {os.cpu_count()} CPUs, load average {load} -->"
    )
    start = time.perf_counter()
    if args.part in ("all", "per-step"):
        per_step_tables()
    if args.part in ("all", "stopping"):
        stopping_tables(args.details)
    if args.part in ("all", "scipy-methods"):
        scipy_methods_table(args.details)
    print(f"\n<!-- {time.perf_counter() - start:.0f} s -->")
    return 0


if __name__ == "__main__":
    sys.exit(main())
