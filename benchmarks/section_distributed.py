"""Section 7: beyond one process. Ray workers against pgfast's own threads on this
machine, and a projection to many machines from what was measured.

- Per-update time of CartPole updates at several batch sizes: 2 Ray workers of 1
  thread each against 1 process of 2 threads (the same theta, bit for bit; the
  section checks it), and 1 process of 1 thread (the serial cost).
- The per-update overhead of the Ray round trips, split into a fixed part and a
  part per worker by timing tiny batches with 1 and 2 workers.
- The bytes that travel per update (theta out, tree nodes back).
- run_many over 16 short training runs with 2 workers against running them one
  after another in this process.

One process is timed before Ray starts (its processes would share the two
cores). Ray's startup is not in the times. Nothing here asserts a time.
"""

from __future__ import annotations

import os
import pickle
import statistics
import time
from typing import Any

import machine  # noqa: F401  (first: one BLAS thread, set before NumPy loads)

# isort: split

import numpy as np
from common import say

NO_RAY = 'missing: Ray is not installed (pip install "pgfast-rl[ray]")'


def _policy() -> Any:
    """A fixed CartPole policy whose episodes last ~40 steps (so a batch's cost is
    known), trained by a few plain updates from theta = 0."""
    import pgfast as pg

    policy = pg.LinearSoftmax(pg.features.Identity(4), 2)
    pg.Reinforce(pg.make("CartPole-v1", seed=0), policy, episodes_per_update=16, seed=0).train(8)
    return policy


def _algo(policy: Any, m: int, threads: int, workers: Any) -> Any:
    import pgfast as pg

    # SGD with a tiny step: the policy (and so the episode length) stays put
    # over the repeats.
    return pg.Reinforce(
        pg.make("CartPole-v1", num_envs=16, seed=0),
        pickle.loads(pickle.dumps(policy)),
        lr=1e-6,
        optimizer="sgd",
        episodes_per_update=m,
        seed=0,
        num_threads=threads,
        workers=workers,
    )


def _update_seconds(algo: Any, repeats: int) -> list[float]:
    # Warm-up: sends the recipes; grows the buffers (and touches their pages),
    # which a first large batch of a fresh worker takes two updates to finish.
    algo.step()
    algo.step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        algo.step()
        times.append(time.perf_counter() - t0)
    return times


def _node_bytes(policy: Any, m: int, workers: int) -> tuple[int, int]:
    """Bytes of one update's messages: theta out per worker, nodes back in all
    (pickled, as Ray sends them), measured by running the protocol here."""
    from pgfast.distributed import shares

    algo = _algo(policy, m, 1, None)
    engine = algo._engine
    theta = algo.policy.theta
    back = 0
    for first, count in shares(m, workers):
        rounds = engine.shard_begin(theta, None, None, False, 0, first, count, m, "update")
        nodes = engine.shard_round(rounds[-1])
        back += len(pickle.dumps((nodes, engine.shard_summary())))
    return len(pickle.dumps(theta)), back


def run(cfg: dict[str, Any]) -> dict[str, Any] | str:
    try:
        import ray
    except ImportError:
        return NO_RAY
    import pgfast as pg

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    quick = cfg.get("distributed_quick", False)
    batches = cfg["distributed_batches"]
    repeats = cfg["distributed_repeats"]
    if ray.is_initialized():
        return "not run: Ray is already running in this process (the section starts its own)"
    policy = _policy()
    # One process first, before Ray's processes exist: the alternative to Ray is
    # this process alone.
    local: dict[int, dict[str, Any]] = {}
    for m in batches:
        say(f"  {m} episodes per update, one process")
        one, two = _algo(policy, m, 1, None), _algo(policy, m, 2, None)
        local[m] = {
            "1": statistics.median(_update_seconds(one, repeats)),
            "2": statistics.median(_update_seconds(two, repeats)),
            "theta": two.policy.theta.copy(),
            "env_steps": two.step()["env_steps"],
        }
    tiny_local = {k: statistics.median(_update_seconds(_algo(policy, 16 * k, 1, None), 3 * repeats))
                  for k in (1, 2)}  # fmt: skip
    theta_bytes, node_bytes = _node_bytes(policy, 100_000, 2)
    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray_start = time.perf_counter() - t0
    try:
        # 2 workers of 1 thread hold one core each, as 1 process of 2 threads does.
        pool = pg.distributed.RayWorkers(2)
        rows = []
        for m in batches:
            say(f"  {m} episodes per update, 2 Ray workers")
            shared = _algo(policy, m, 1, pool)
            t_ray = statistics.median(_update_seconds(shared, repeats))
            rows.append(
                {
                    "episodes": m,
                    "env_steps": local[m]["env_steps"],
                    "local_1_thread_s": local[m]["1"],
                    "local_2_threads_s": local[m]["2"],
                    "ray_2_workers_s": t_ray,
                    "ray_over_local": local[m]["2"] / t_ray,
                    "bitwise_equal": bool(np.array_equal(local[m]["theta"], shared.policy.theta)),
                }
            )
        run_many = _run_many(pool, 4 if quick else 16, cfg["distributed_run_iterations"])
        # The overhead: tiny batches (one block per worker), compute negligible;
        # 2 workers, then 1 (the two CPUs Ray has hold one pool at a time).
        overhead = {2: statistics.median(_update_seconds(_algo(policy, 32, 1, pool), 3 * repeats))}
        pool.shutdown()
        pool = pg.distributed.RayWorkers(1)
        overhead[1] = statistics.median(_update_seconds(_algo(policy, 16, 1, pool), 3 * repeats))
        pool.shutdown()
        overhead = {k: overhead[k] - tiny_local[k] for k in (1, 2)}
        b_per_worker = max(overhead[2] - overhead[1], 0.0)
        a_fixed = overhead[1] - b_per_worker
        serial = rows[-1]
        per_episode = serial["local_1_thread_s"] / serial["episodes"]
    finally:
        ray.shutdown()
    crossover = next((r["episodes"] for r in rows if r["ray_over_local"] >= 1.0), None)
    return {
        "settings": {
            "batches": batches,
            "repeats": repeats,
            "ray_start_s": ray_start,
            "policy": "Identity(4) softmax, trained 8 updates (episodes ~tens of steps)",
        },
        "rows": rows,
        "crossover_episodes": crossover,
        "overhead_s": overhead,
        "overhead_fixed_s": a_fixed,
        "overhead_per_worker_s": b_per_worker,
        "episode_s": per_episode,
        "bytes": {"theta": theta_bytes, "nodes_2_workers_1e5": node_bytes},
        "run_many": run_many,
        "projection": projection(per_episode, a_fixed, b_per_worker),
    }


def _run_many(pool: Any, runs: int, iterations: int) -> dict[str, Any]:
    import pgfast as pg

    def configs() -> list[dict[str, Any]]:
        return [
            {
                "env": "CartPole-v1",
                "policy": pg.LinearSoftmax(pg.features.Identity(4), 2),
                "iterations": iterations,
                "seed": s,
                "episodes_per_update": 16,
            }
            for s in range(runs)
        ]

    say(f"  run_many: {runs} runs of {iterations} updates")
    t0 = time.perf_counter()
    sequential = pg.distributed.run_many(configs())
    t_seq = time.perf_counter() - t0
    t0 = time.perf_counter()
    parallel = pg.distributed.run_many(configs(), workers=pool)
    t_par = time.perf_counter() - t0
    same = all(np.array_equal(a.theta, b.theta) for a, b in zip(sequential, parallel, strict=True))
    return {
        "runs": runs,
        "iterations": iterations,
        "sequential_s": t_seq,
        "ray_2_workers_s": t_par,
        "speedup": t_seq / t_par,
        "bitwise_equal": same,
    }


def projection(episode_s: float, fixed_s: float, per_worker_s: float) -> list[dict[str, Any]]:
    """Update time with W workers of one core for m episodes, from this run's
    figures: T(W) = episode_s m / W + fixed_s + per_worker_s W. The driver's share
    (per_worker_s W: sending theta, receiving and merging each worker's nodes)
    grows with W while the work per worker shrinks: scaling stays near linear
    while per_worker_s W << episode_s m / W, i.e. W << sqrt(episode_s m / per_worker_s)."""
    out = []
    b = max(per_worker_s, 1e-6)
    for m in (10_000, 100_000, 1_000_000):
        serial = episode_s * m
        for w in (8, 64, 512):
            t = serial / w + fixed_s + b * w
            out.append(
                {
                    "episodes": m,
                    "workers": w,
                    "update_s": t,
                    "speedup": serial / t,
                    "efficiency": serial / t / w,
                    "driver_share": (fixed_s + b * w) / t,
                }
            )
        out.append({"episodes": m, "best_workers": (serial / b) ** 0.5})
    return out
