"""Fused training throughput and time-to-solve: pgfast vs its peers, in one run.

    python benchmarks/bench_train.py                 # 5 seeds, 300-iteration steady runs
    python benchmarks/bench_train.py --quick         # 3 seeds, shorter runs
    python benchmarks/bench_train.py --jax-python /path/to/venv/bin/python

Every implementation runs the same algorithm on CartPole-v1: a linear softmax
over [s, 1] (theta zeros), 16 complete episodes per update, reward-to-go with
gamma 0.99 minus a mean baseline, Adam (lr 0.05). Peers:

- NumPy + Gymnasium (benchmarks/reference_numpy.py), the straightforward
  vectorised Python implementation;
- JAX + gymnax (benchmarks/reference_jax.py), jitted, run by --jax-python
  (compile time reported separately; "missing" if jax is not importable);
- the C++ ceiling (benchmarks/limit/), a plain single-thread loop with no
  Python, built here with g++ -O3 if needed.

pgfast's mean baseline leaves each episode out of its own baseline (which
keeps the estimate unbiased); the peers subtract the plain batch mean. The
cost is the same. Everything is pinned to one CPU (--cpu) and measured in the
same run; the table prints ratios to pgfast. Never asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

# One BLAS thread, set before NumPy loads OpenBLAS: every peer is measured on one
# pinned core, but OpenBLAS starts its worker threads at import (before the pinning)
# and they spin after each call, taking the core from whatever runs next (the C++
# ceiling, run right after the NumPy reference, measured at about half its speed).
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import reference_numpy  # noqa: E402
from common import ALGO  # noqa: E402

TARGET = 475.0


def pgfast_features(features: str = "identity"):
    """pgfast's feature map for a spec of reference_numpy.feature_map: the same features."""
    import pgfast as pg

    if features == "identity":
        return pg.features.Identity(4)
    order = int(features.partition(":")[2])
    return pg.features.Fourier(order, reference_numpy.CARTPOLE_LOW, reference_numpy.CARTPOLE_HIGH)


def pgfast_run(
    seed: int, iterations: int, stop: bool, features: str = "identity", state_action: bool = False
) -> dict:
    """``state_action``: the linear softmax over the state-action features
    ``pg.features.StateAction(phi, action_features=np.eye(2))`` (10 for Identity)
    instead of over ``phi``: the same policy, computed another way."""
    import pgfast as pg

    env = pg.make("CartPole-v1", num_envs=16, seed=seed)
    phi = pgfast_features(features)
    if state_action:
        phi = pg.features.StateAction(phi, action_features=np.eye(2))
    return train_run(env, phi, seed, iterations, stop)


def train_run(
    env: Any, phi: Any, seed: int, iterations: int, stop: bool = False, **algo: Any
) -> dict:
    """Train ``env`` (any env pgfast's Reinforce takes: built-in, native or a Gymnasium
    door) with ALGO (``algo`` overrides it) on the linear softmax over ``phi`` (2
    actions); the clock runs around ``train()`` alone, the env is built before."""
    import pgfast as pg

    policy = pg.LinearSoftmax(phi, n_actions=2)
    learner = pg.Reinforce(env, policy, seed=seed, **{**ALGO, **algo})
    start = time.perf_counter()
    history = learner.train(iterations, target_return=TARGET if stop else None)
    total = time.perf_counter() - start
    returns = history["return_mean"]
    steps = np.cumsum(history["env_steps"])
    solved = np.flatnonzero(returns >= TARGET)
    first = int(solved[0]) if solved.size else None
    return {
        "steps_per_second": float(steps[-1] / total),
        "total_env_steps": int(steps[-1]),
        "total_time": total,
        "iterations_run": history.iterations,
        "solved_iteration": None if first is None else first + 1,
        "solved_time": None if first is None else float(history["wall_time"][first]),
        "solved_env_steps": None if first is None else int(steps[first]),
    }


def numpy_run(seed: int, iterations: int, stop: bool, features: str = "identity") -> dict:
    h = reference_numpy.train(
        iterations, seed=seed, target_return=TARGET, stop_at_target=stop, features=features
    )
    return {
        k: h[k]
        for k in (
            "steps_per_second",
            "total_env_steps",
            "total_time",
            "iterations_run",
            "solved_iteration",
            "solved_time",
            "solved_env_steps",
        )
    }


def build_ceiling() -> tuple[pathlib.Path | None, str | None]:
    """The C++ ceiling's binary, built with benchmarks/limit/build.sh if it is missing or
    older than its source: ``(path, None)``, or ``(None, why it could not be built)``."""
    binary = HERE / "limit" / "build" / "reinforce_cartpole"
    source = HERE / "limit" / "reinforce_cartpole.cpp"
    if not binary.exists() or binary.stat().st_mtime < source.stat().st_mtime:
        try:
            result = subprocess.run(
                ["bash", str(HERE / "limit" / "build.sh")],
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError as exc:
            return None, f"could not run benchmarks/limit/build.sh: {exc}"
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines()
            return None, f"build failed: {lines[-1] if lines else 'exit ' + str(result.returncode)}"
    return binary, None


def ceiling_binary() -> pathlib.Path | None:
    binary, reason = build_ceiling()
    if binary is None:
        print(f"could not build the C++ ceiling: {reason}", file=sys.stderr)
    return binary


# The C++ ceiling's --features for a spec of reference_numpy.feature_map.
CEILING_FEATURES = {"identity": "identity", "fourier:3": "fourier3"}


def ceiling_run(
    binary: pathlib.Path, seed: int, iterations: int, stop: bool, features: str = "identity"
) -> dict:
    if features not in CEILING_FEATURES:
        raise ValueError(
            f"the C++ ceiling has no {features!r} features (it has {', '.join(CEILING_FEATURES)})"
        )
    args = [
        str(binary),
        "--features",
        CEILING_FEATURES[features],
        "--seed",
        str(seed),
        "--iterations",
        str(iterations),
        "--json",
    ]
    if stop:
        args.append("--stop-at-target")
    out = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    return {
        "steps_per_second": out["steps_per_second"],
        "total_env_steps": out["env_steps"],
        "total_time": out["seconds"],
        "iterations_run": out["iterations"],
        "solved_iteration": out.get("solved_iteration"),
        "solved_time": out.get("solved_seconds"),
        "solved_env_steps": out.get("solved_env_steps"),
    }


def jax_report(python: str, seeds: list[int], iterations: int, stop: bool) -> dict:
    """Run benchmarks/reference_jax.py --json under ``python``: its JSON object, or
    ``{"available": False, "reason": ...}`` when jax is missing or the run failed."""
    args = [
        python,
        str(HERE / "reference_jax.py"),
        "--json",
        "--rollout",
        "while",
        "--iterations",
        str(iterations),
        "--seeds",
        *map(str, seeds),
    ]
    if not stop:
        args.append("--no-stop")
    try:
        result = subprocess.run(args, capture_output=True, text=True, check=False)
    except OSError as exc:
        return {"available": False, "reason": f"cannot run {python}: {exc}"}
    if result.returncode != 0:
        last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "?"
        return {"available": False, "reason": f"failed (exit {result.returncode}): {last}"}
    data = json.loads(result.stdout)
    if "runs" not in data:
        return {"available": False, "reason": data.get("reason", "jax not installed")}
    return data


def jax_runs(python: str, seeds: list[int], iterations: int, stop: bool) -> list[dict] | str:
    data = jax_report(python, seeds, iterations, stop)
    if not data.get("available", True) or "runs" not in data:
        return f"missing ({data.get('reason', 'jax not installed')})"
    return data["runs"]


def summarise(runs: list[dict], key: str) -> tuple[float, float, float] | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 seeds, 100-iteration steady runs")
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin every peer to (-1: none)")
    parser.add_argument(
        "--jax-python",
        default=sys.executable,
        help="interpreter that has jax and gymnax (default: this one)",
    )
    args = parser.parse_args()
    seeds = args.seeds or ([0, 1, 2] if args.quick else [0, 1, 2, 3, 4])
    steady_iterations = 100 if args.quick else 300
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})  # inherited by the subprocesses

    import gymnasium

    import pgfast

    peers: dict[str, dict[str, list[dict] | str]] = {}
    # Time to solve (stop at the target) and steady throughput (full-length
    # episodes, no early stop) are separate runs.
    peers["pgfast"] = {
        "solve": [pgfast_run(s, 300, True) for s in seeds],
        "steady": [pgfast_run(s, steady_iterations, False) for s in seeds],
    }
    peers["NumPy + Gymnasium"] = {
        "solve": [numpy_run(s, 300, True) for s in seeds],
        "steady": [numpy_run(s, steady_iterations, False) for s in seeds[:2]],
    }
    jax_solve = jax_runs(args.jax_python, seeds, 300, True)
    jax_steady = jax_runs(args.jax_python, seeds[:2], steady_iterations, False)
    peers["JAX + gymnax (jit, while)"] = {"solve": jax_solve, "steady": jax_steady}
    binary = ceiling_binary()
    if binary is None:
        peers["C++ ceiling (no Python)"] = {"solve": "not built", "steady": "not built"}
    else:
        peers["C++ ceiling (no Python)"] = {
            "solve": [ceiling_run(binary, s, 300, True) for s in seeds],
            "steady": [ceiling_run(binary, s, steady_iterations, False) for s in seeds],
        }

    print(
        f"pgfast {pgfast.__version__}, gymnasium {gymnasium.__version__}, numpy "
        f"{np.__version__}, Python {platform.python_version()}, {platform.machine()}, "
        f"pinned to CPU {args.cpu}"
        if args.cpu >= 0
        else "not pinned"
    )
    print(
        f"CartPole-v1, linear softmax on [s, 1], 16 episodes/update, reward-to-go, mean "
        f"baseline, Adam lr 0.05; seeds {seeds}; steady runs {steady_iterations} iterations"
    )
    ours = summarise(peers["pgfast"]["steady"], "steps_per_second")  # type: ignore[arg-type]
    assert ours is not None
    header = (
        "implementation",
        "M steps/s steady (min-max)",
        "pgfast / peer",
        "s to 475 (median, min-max)",
        "iterations to 475",
    )
    rows = []
    for name, result in peers.items():
        steady, solve = result["steady"], result["solve"]
        if isinstance(steady, str):
            rows.append((name, steady, "-", "-", "-"))
            continue
        rate = summarise(steady, "steps_per_second")
        t = summarise(solve, "solved_time") if not isinstance(solve, str) else None
        its = summarise(solve, "solved_iteration") if not isinstance(solve, str) else None
        rows.append(
            (
                name,
                f"{rate[0] / 1e6:.2f} ({rate[1] / 1e6:.2f}-{rate[2] / 1e6:.2f})" if rate else "-",
                f"{ours[0] / rate[0]:.2f}x" if rate else "-",
                f"{t[0]:.4f} ({t[1]:.4f}-{t[2]:.4f})" if t else "not solved",
                f"{its[0]:.0f} ({its[1]:.0f}-{its[2]:.0f})" if its else "-",
            )
        )
    widths = [max(len(str(r[k])) for r in [header, *rows]) for k in range(len(header))]
    for i, row in enumerate([header, *rows]):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
