"""optim on a GPU: Adam on least squares, against torch.optim.Adam and the host.

Issue "The same optimizer on any array library", acceptance 3: Adam on the
12,000 x 12,000 least-squares problem $f(x) = |Ax - b|^2 / 2$ in float32, with an
objective written in the array's own operators (value and analytic gradient
$A^T(Ax - b)$ from one residual: two matrix-vector products per step, as in
torch's loop), run by optim from CUDA tensors. Targets: per step at most 2x
`torch.optim.Adam` on the same CUDA tensors, and at least 10x faster than optim
on numpy on the host, for the same problem.

Run it on a machine with an NVIDIA GPU (not part of the test suite):

    python benchmarks/gpu.py                        # 12,000 x 12,000, CUDA
    python benchmarks/gpu.py --size 500 --device cpu  # a check of the script

It prints the machine (GPU, driver, torch, CUDA and CuPy versions), then the
per-step times of optim and of `torch.optim.Adam` on the device, timed in
interleaved rounds (each round runs both, alternating which goes first, with
`torch.cuda.synchronize()` before the clock stops; the ratio is the median of
the per-round ratios), then optim on numpy on the host (fewer steps, BLAS with
all its threads), and the ratios. Both device loops read the value and the
gradient's norm as Python numbers every step (optim's stop tests do; the torch
loop does the same, as `benchmarks/per_step.py` does). After timing, it checks
that optim and `torch.optim.Adam` reach the same point after the same steps. If
CuPy is installed and has a device, optim from CuPy arrays is timed against the
same torch loop.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

import numpy as np

from benchmarks.timing import interleaved_ratio
from optim import Adam, Objective, Optimizer

LEARNING_RATE = 1e-2


class LeastSquares(Objective):
    """`|Ax - b|^2 / 2` and `A^T (Ax - b)` from one residual, in `A`'s library."""

    def __init__(self, a: Any, b: Any) -> None:
        self.a, self.b = a, b

    def value_and_gradient(self, x: Any) -> tuple[float, Any]:
        residual = self.a @ x - self.b
        return 0.5 * float(residual @ residual), residual @ self.a


def _problem(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`A` (scaled to unit column norms on average), `b` and `x0 = 0`, float32."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n), dtype=np.float32) / np.float32(math.sqrt(n))
    b = rng.standard_normal(n, dtype=np.float32)
    return a, b, np.zeros(n, dtype=np.float32)


def _optim_run(objective: Objective, x0: Any, steps: int, synchronize: Any) -> Any:
    def run() -> Any:
        result = Optimizer(
            objective, step_rule=Adam(LEARNING_RATE), max_steps=steps
        ).run(x0)
        synchronize()
        return result.x

    return run


def _torch_run(torch: Any, a: Any, b: Any, x0: Any, steps: int) -> Any:
    """torch.optim.Adam: value, gradient and its norm as numbers, `step()`."""

    def run() -> Any:
        x = x0.clone()
        optimizer = torch.optim.Adam([x], lr=LEARNING_RATE)
        with torch.no_grad():
            for i in range(steps + 1):
                residual = a @ x - b
                value = 0.5 * (residual @ residual).item()
                x.grad = residual @ a
                norm = torch.linalg.vector_norm(x.grad).item()
                if i == steps or norm <= 0.0 or not math.isfinite(value):
                    break
                optimizer.step()
        if x.is_cuda:
            torch.cuda.synchronize(x.device)
        return x

    return run


def _machine(torch: Any, device: str, cupy: Any) -> str:
    lines = [
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"torch {torch.__version__} (CUDA {torch.version.cuda}), "
        f"cupy {cupy.__version__ if cupy else 'not installed'}, "
        f"{os.cpu_count()} CPU cores, {platform.processor() or platform.machine()}"
    ]
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(device))
        memory = torch.cuda.get_device_properties(torch.device(device)).total_memory
        try:
            driver = subprocess.run(
                ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                check=True,
                timeout=30,
            ).stdout.split("\n")[0]
        except (OSError, subprocess.SubprocessError):
            driver = "unknown (no nvidia-smi)"
        lines.append(f"GPU {name}, {memory / 2**30:.0f} GiB, driver {driver}")
    else:
        lines.append("device: the CPU (a check of the script, not a GPU figure)")
    return "\n".join(lines)


def _cupy_with_device() -> Any:
    try:
        import cupy
    except ImportError:
        return None
    try:
        return cupy if cupy.cuda.runtime.getDeviceCount() else None
    except Exception:  # no driver or runtime: cupy raises its own kinds
        return None


def _host_per_step(a: np.ndarray, b: np.ndarray, x0: np.ndarray, steps: int) -> float:
    """optim on numpy on the host: median seconds per step over three runs."""
    run = _optim_run(LeastSquares(a, b), x0, steps, lambda: None)
    run()  # warm up
    times = []
    for _ in range(3):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def _same_point(ours: Any, theirs: Any) -> float:
    """The largest difference of two points, relative to the larger's largest entry."""
    ours, theirs = _host(ours), _host(theirs)
    scale = max(float(np.max(np.abs(theirs))), float(np.max(np.abs(ours))), 1e-30)
    return float(np.max(np.abs(ours - theirs))) / scale


def _host(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    if hasattr(x, "get"):
        return x.get()
    return np.asarray(x)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=12_000, help="n of the n x n A")
    parser.add_argument("--steps", type=int, default=200, help="steps per round")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds")
    parser.add_argument("--host-steps", type=int, default=20, help="numpy steps")
    parser.add_argument("--device", default="cuda", help="torch device (cuda, cpu)")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("benchmarks/gpu.py needs torch: pip install torch", file=sys.stderr)
        return 2
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(
            "benchmarks/gpu.py: no CUDA device here (torch.cuda.is_available() is "
            "False); run it on a machine with an NVIDIA GPU, or check the script "
            "on the CPU with --size 500 --device cpu",
            file=sys.stderr,
        )
        return 2
    device = torch.device(args.device)
    cupy = _cupy_with_device() if device.type == "cuda" else None
    print(_machine(torch, args.device, cupy))
    n, steps = args.size, args.steps
    print(
        f"problem: least squares {n} x {n}, float32, Adam(lr={LEARNING_RATE}); "
        f"{steps} steps per round, {args.rounds} rounds"
    )
    a_host, b_host, x0_host = _problem(n)
    a, b, x0 = (torch.from_numpy(v).to(device) for v in (a_host, b_host, x0_host))

    def synchronize() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    ours = _optim_run(LeastSquares(a, b), x0, steps, synchronize)
    theirs = _torch_run(torch, a, b, x0, steps)
    measured = interleaved_ratio(ours, theirs, rounds=args.rounds)
    optim_step = measured.candidate_seconds / steps
    torch_step = measured.baseline_seconds / steps
    print(f"optim, torch tensors on {device}:  {optim_step * 1e3:8.3f} ms per step")
    print(f"torch.optim.Adam on {device}:      {torch_step * 1e3:8.3f} ms per step")
    print(f"optim / torch.optim.Adam: {measured} (target: at most 2x)")
    print(
        f"same point after {steps} steps: largest difference "
        f"{_same_point(ours(), theirs()):.2e} relative"
    )

    host_step = _host_per_step(a_host, b_host, x0_host, args.host_steps)
    print(
        f"optim, numpy on the host ({args.host_steps} steps): "
        f"{host_step * 1e3:8.3f} ms per step"
    )
    print(
        f"optim on numpy / optim on {device}: {host_step / optim_step:.1f}x "
        "(target: at least 10x on a GPU)"
    )

    if cupy is not None:
        a_cp, b_cp, x0_cp = (cupy.asarray(v) for v in (a_host, b_host, x0_host))
        on_cupy = _optim_run(
            LeastSquares(a_cp, b_cp),
            x0_cp,
            steps,
            lambda: cupy.cuda.Device().synchronize(),
        )
        versus = interleaved_ratio(on_cupy, theirs, rounds=args.rounds)
        cupy_step = versus.candidate_seconds / steps
        print(f"optim, CuPy arrays:               {cupy_step * 1e3:8.3f} ms per step")
        print(f"optim on CuPy / torch.optim.Adam: {versus}")
        print(f"optim on numpy / optim on CuPy: {host_step / cupy_step:.1f}x")
        print(
            f"same point (CuPy, torch) after {steps} steps: largest difference "
            f"{_same_point(on_cupy(), theirs()):.2e} relative"
        )
    elif device.type == "cuda":
        print("CuPy: not installed or no device; its variant was not run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
