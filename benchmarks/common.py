"""What the benchmark sections share: the suite's settings and small helpers."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from typing import Any

STEP_ENVS = ("CartPole-v1", "Pendulum-v1")
SECTIONS = ("stepping", "training", "scaling", "memory", "own_env", "distributed")
# The algorithm of every training figure (bench_train.py and sections 2 to 6).
ALGO: dict[str, Any] = {
    "lr": 0.05,
    "gamma": 0.99,
    "episodes_per_update": 16,
    "returns": "reward_to_go",
    "baseline": "mean",
    "optimizer": "adam",
}

QUICK = {
    "step_sizes": [1, 16, 256, 4096],
    "step_budget_s": 0.03,
    "step_repeats": 3,
    "train_seeds": [0],
    "train_iterations": 100,
    "fourier_seeds": [0],
    "fourier_iterations": 6,
    "thread_batches": [64],
    "thread_step_envs": 4096,
    "sweep_sizes": [1, 16, 256, 4096],
    "horizons": [20, 500],
    "scaling_steps": 60_000,
    "scaling_repeats": 3,
    "thread_wait_s": 0,
    "memory_iterations": 1000,
    "memory_marks": [1, 10, 100, 500, 1000],
    "own_env_seeds": [0],
    "own_env_iterations": 100,
    "own_env_slow_iterations": 5,
    "own_env_fourier_iterations": 6,
    "own_env_compile_repeats": 1,
    "distributed_quick": True,
    "distributed_batches": [256, 4096],
    "distributed_repeats": 2,
    "distributed_run_iterations": 20,
}
FULL = {
    "step_sizes": [1, 16, 256, 4096],
    "step_budget_s": 0.3,
    "step_repeats": 7,
    "train_seeds": [0, 1, 2, 3, 4],
    "train_iterations": 150,
    "fourier_seeds": [0, 1, 2],
    "fourier_iterations": 25,
    "thread_batches": [64, 256, 1024],
    "thread_step_envs": 4096,
    "sweep_sizes": [1, 4, 16, 64, 256, 1024, 4096],
    "horizons": [20, 100, 500],
    "scaling_steps": 400_000,
    "scaling_repeats": 7,
    "thread_wait_s": 30,
    "memory_iterations": 1000,
    "memory_marks": [1, 10, 100, 200, 500, 1000],
    "own_env_seeds": [0, 1, 2],
    "own_env_iterations": 150,
    # The Gymnasium doors run Python per step or per batch step: fewer updates.
    "own_env_slow_iterations": 50,
    "own_env_fourier_iterations": 25,
    "own_env_compile_repeats": 3,
    "distributed_quick": False,
    "distributed_batches": [64, 1024, 16384, 100_000],
    "distributed_repeats": 5,
    "distributed_run_iterations": 400,
}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def spread(values: list[Any]) -> dict[str, Any] | None:
    """Median, min and max (and the values) of a list; None if empty."""
    values = [float(v) for v in values if v is not None]
    if not values:
        return None
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
        "values": values,
    }


def timing_dict(t: Any) -> dict[str, Any] | None:
    """pgfast._bench.Timing -> the JSON shape of :func:`spread`."""
    if t is None:
        return None
    return {"median": t.median, "min": t.low, "max": t.high}


def ratio(ours: dict | None, theirs: dict | None) -> float | None:
    """pgfast's median rate over the peer's (> 1: pgfast is faster)."""
    if not ours or not theirs or not theirs.get("median"):
        return None
    return ours["median"] / theirs["median"]


def run_json(args: list[str], timeout: float = 600) -> tuple[dict | None, str | None]:
    """Run a command that prints one JSON object: (object, None) or (None, why not)."""
    try:
        result = subprocess.run(args, capture_output=True, text=True, check=False, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        return None, f"exit {result.returncode}: {lines[-1] if lines else '?'}"
    try:
        return json.loads(result.stdout.strip().splitlines()[-1]), None
    except (ValueError, IndexError):
        return None, f"no JSON in the output: {result.stdout[-200:]!r}"
