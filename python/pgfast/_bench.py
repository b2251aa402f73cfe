"""Env-stepping throughput against Gymnasium, measured in one run on this machine.

Used by ``pgfast bench`` and ``benchmarks/bench_envs.py``. Every figure is a
median over repeats after a warm-up; only ratios measured in the same run are
meaningful on a shared machine.
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Timing:
    """Env steps per second: median, min and max over repeats."""

    median: float
    low: float
    high: float


def _steps_per_second(
    step: Callable[[int], None], num_envs: int, budget: float, repeats: int
) -> Timing:
    step(0)  # warm-up (first-call costs, caches)
    calls = 1
    start = time.perf_counter()
    while time.perf_counter() - start < budget / 10:
        step(calls)
        calls += 1
    per_call = (time.perf_counter() - start) / max(calls - 1, 1)
    n_calls = max(3, int(budget / max(per_call, 1e-9)))
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for k in range(n_calls):
            step(k)
        rates.append(n_calls * num_envs / (time.perf_counter() - t0))
    return Timing(statistics.median(rates), min(rates), max(rates))


def _stepper(env: Any, actions: list[np.ndarray]) -> Callable[[int], None]:
    n = len(actions)

    def step(k: int) -> None:
        env.step(actions[k % n])

    return step


def measure_cartpole(
    num_envs: int, budget: float, repeats: int, include_sync: bool, num_threads: int = 1
) -> dict[str, Timing | None]:
    """CartPole-v1 steps/s for pgfast, Gymnasium's vector-entry-point env and SyncVectorEnv,
    all driven from Python with the same pre-drawn random actions."""
    import gymnasium as gym

    import pgfast as pg

    rng = np.random.default_rng(0)
    actions = [rng.integers(0, 2, size=num_envs, dtype=np.int64) for _ in range(64)]
    results: dict[str, Timing | None] = {}

    env = pg.make("CartPole-v1", num_envs=num_envs, seed=0, num_threads=num_threads)
    env.reset(seed=0)
    results["pgfast"] = _steps_per_second(_stepper(env, actions), num_envs, budget, repeats)
    env.close()

    vec = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")
    vec.reset(seed=0)
    results["gymnasium vector"] = _steps_per_second(
        _stepper(vec, actions), num_envs, budget, repeats
    )
    vec.close()

    results["SyncVectorEnv"] = None
    if include_sync:
        sync = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="sync")
        sync.reset(seed=0)
        results["SyncVectorEnv"] = _steps_per_second(
            _stepper(sync, actions), num_envs, budget, repeats
        )
        sync.close()
    return results


def _fmt_rate(t: Timing | None) -> str:
    if t is None:
        return "not run"
    return f"{t.median / 1e6:.3f} ({t.low / 1e6:.3f}-{t.high / 1e6:.3f})"


def run_env_step_bench(
    quick: bool = True, sizes: tuple[int, ...] | None = None, num_threads: int = 1
) -> list[dict]:
    """Print (and return) the env.step throughput table for CartPole-v1."""
    import gymnasium as gym

    import pgfast as pg

    sizes = sizes or (1, 16, 256, 4096)
    budget, repeats = (0.15, 3) if quick else (0.5, 7)
    print(
        f"pgfast {pg.__version__}, gymnasium {gym.__version__}, numpy {np.__version__}, "
        f"Python {platform.python_version()} on {platform.machine()}"
    )
    print(
        f"CartPole-v1, env.step from Python with pre-drawn random actions; "
        f"pgfast num_threads={num_threads}; median of {repeats} runs of ~{budget}s "
        f"(min-max); M env steps/s"
    )
    header = ("num_envs", "pgfast", "gymnasium vector", "SyncVectorEnv", "vs vector", "vs sync")
    rows = []
    for n in sizes:
        r = measure_cartpole(n, budget, repeats, include_sync=n <= 4096, num_threads=num_threads)
        ours = r["pgfast"]
        assert ours is not None
        ratio_vec = ours.median / r["gymnasium vector"].median  # type: ignore[union-attr]
        ratio_sync = (ours.median / r["SyncVectorEnv"].median) if r["SyncVectorEnv"] else None
        rows.append(
            {
                "num_envs": n,
                **{k: (v.median if v else None) for k, v in r.items()},
                "ratio_vector": ratio_vec,
                "ratio_sync": ratio_sync,
            }
        )
        print_row = (
            str(n),
            _fmt_rate(ours),
            _fmt_rate(r["gymnasium vector"]),
            _fmt_rate(r["SyncVectorEnv"]),
            f"{ratio_vec:.1f}x",
            f"{ratio_sync:.1f}x" if ratio_sync else "-",
        )
        if n == sizes[0]:
            widths = [max(len(h), 22 if k in (1, 2, 3) else 9) for k, h in enumerate(header)]
            print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=False)))
        print("  ".join(c.rjust(w) for c, w in zip(print_row, widths, strict=False)))
    return rows
