"""Section 4: scaling with threads, num_envs and episode length."""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import machine  # noqa: F401  (first: one BLAS thread, set before NumPy loads)

# isort: split

import numpy as np
from common import ALGO, STEP_ENVS, say, spread, timing_dict
from machine import affinity, cpu_seconds, wait_for_free_cores
from peers import envpool_rate


def solved_theta() -> np.ndarray:
    """A CartPole policy that balances (pgfast, seed 0): the fixed starting point of the
    scaling runs, so every row steps ~500-step episodes whatever its batch size."""
    import pgfast as pg

    env = pg.make("CartPole-v1", num_envs=16, seed=0)
    policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    pg.Reinforce(env, policy, seed=0, **ALGO).train(300)
    return policy.theta.copy()


def pgfast_training_rates(
    theta: np.ndarray, configs: list[dict], *, target_steps: int, repeats: int
) -> list[dict]:
    """Training env steps/s of pgfast from ``theta`` for each config (keys ``num_envs``,
    ``episodes``, ``num_threads``, optional ``max_episode_steps``): one warm-up update each,
    then ``repeats`` rounds in which every config runs one timed ``train()`` call, in turn,
    of enough updates for about ``target_steps`` steps. Interleaving makes a drifting machine
    slow every config alike."""
    import pgfast as pg

    algos, envs, iterations = [], [], []
    for c in configs:
        env = pg.make(
            "CartPole-v1",
            num_envs=c["num_envs"],
            seed=0,
            num_threads=c["num_threads"],
            max_episode_steps=c.get("max_episode_steps"),
        )
        policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
        policy.theta[...] = theta
        algo = pg.Reinforce(
            env,
            policy,
            seed=0,
            num_threads=c["num_threads"],
            **{**ALGO, "episodes_per_update": c["episodes"]},
        )
        warm = algo.train(1)
        iterations.append(max(1, round(target_steps / max(int(warm["env_steps"][0]), 1))))
        algos.append(algo)
        envs.append(env)
    rates: list[list[float]] = [[] for _ in configs]
    lengths: list[list[float]] = [[] for _ in configs]
    cpu: list[list[float]] = [[] for _ in configs]
    steps = [0 for _ in configs]
    for _ in range(repeats):
        for k, algo in enumerate(algos):
            cpu0 = cpu_seconds()
            start = time.perf_counter()
            h = algo.train(iterations[k])
            elapsed = time.perf_counter() - start
            cpu[k].append((cpu_seconds() - cpu0) / elapsed)
            rates[k].append(h["env_steps"].sum() / elapsed)
            lengths[k].extend(h["length_mean"].tolist())
            steps[k] += int(h["env_steps"].sum())
    for env in envs:
        env.close()
    return [
        {
            **(spread(rates[k]) or {}),
            "mean_episode_length": statistics.mean(lengths[k]),
            "cpu_per_wall": statistics.median(cpu[k]),
            "iterations_per_repeat": iterations[k],
            "env_steps_timed": steps[k],
            "ns_per_step": 1e9 / statistics.median(rates[k]),
        }
        for k in range(len(configs))
    ]


def stepping_rate(env_id: str, num_envs: int, num_threads: int, cfg: dict) -> dict:
    import pgfast as pg
    from pgfast._bench import _stepper, _steps_per_second

    rng = np.random.default_rng(0)
    if env_id == "CartPole-v1":
        actions = [rng.integers(0, 2, size=num_envs, dtype=np.int64) for _ in range(64)]
    else:
        actions = [rng.uniform(-2, 2, size=(num_envs, 1)).astype(np.float32) for _ in range(64)]
    env = pg.make(env_id, num_envs=num_envs, seed=0, num_threads=num_threads)
    env.reset(seed=0)
    cpu0, start = cpu_seconds(), time.perf_counter()
    t = _steps_per_second(
        _stepper(env, actions), num_envs, cfg["step_budget_s"], cfg["step_repeats"]
    )
    cpu_per_wall = (cpu_seconds() - cpu0) / (time.perf_counter() - start)
    env.close()
    return {**(timing_dict(t) or {}), "cpu_per_wall": cpu_per_wall}


def run(cfg: dict, pin: set[int] | None, envpool: dict) -> dict:
    out: dict[str, Any] = {}
    theta = solved_theta()
    out["theta0"] = theta.tolist()
    target, repeats = cfg["scaling_steps"], cfg["scaling_repeats"]

    # Threads: every CPU allowed; the work is identical for 1 and 2 threads (the
    # random streams are per env, so the episodes are bit-for-bit the same).
    threads_rows = []
    with affinity(None):
        for episodes in cfg["thread_batches"]:
            say(f"  training, {episodes} episodes per update, 1 and 2 threads")
            seen = wait_for_free_cores(cfg["thread_wait_s"])
            one, two = pgfast_training_rates(
                theta,
                [{"num_envs": episodes, "episodes": episodes, "num_threads": t} for t in (1, 2)],
                target_steps=target,
                repeats=repeats,
            )
            speedup = two["median"] / one["median"]
            threads_rows.append(
                {
                    "workload": "training",
                    "env": "CartPole-v1",
                    "episodes_per_update": episodes,
                    "num_envs": episodes,
                    "threads_1": one,
                    "threads_2": two,
                    "speedup": speedup,
                    "efficiency": speedup / 2,
                    **seen,
                }
            )
        n = cfg["thread_step_envs"]
        for env_id in STEP_ENVS:
            say(f"  env.step, {env_id}, {n} envs, 1 and 2 threads")
            seen = wait_for_free_cores(cfg["thread_wait_s"])
            one = stepping_rate(env_id, n, 1, cfg)
            two = stepping_rate(env_id, n, 2, cfg)
            speedup = two["median"] / one["median"]
            row = {
                "workload": "env.step",
                "env": env_id,
                "num_envs": n,
                "threads_1": one,
                "threads_2": two,
                "speedup": speedup,
                "efficiency": speedup / 2,
                **seen,
            }
            ep1, ep2 = envpool_rate(envpool, env_id, n, 1), envpool_rate(envpool, env_id, n, 2)
            if isinstance(ep1, dict) and isinstance(ep2, dict):
                row["envpool"] = {
                    "threads_1": ep1,
                    "threads_2": ep2,
                    "speedup": ep2["median"] / ep1["median"],
                    "ratio_threads_2": two["median"] / ep2["median"],
                }
            threads_rows.append(row)
    out["threads"] = threads_rows
    out["threads_settings"] = {
        "pinned": False,
        "cpus": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }

    with affinity(pin):
        say(f"  training, num_envs {cfg['sweep_sizes']}")
        sizes = cfg["sweep_sizes"]
        rates = pgfast_training_rates(
            theta,
            [{"num_envs": n, "episodes": max(n, 16), "num_threads": 1} for n in sizes],
            target_steps=target,
            repeats=repeats,
        )
        out["num_envs"] = [
            {"num_envs": n, "episodes_per_update": max(n, 16), **r}
            for n, r in zip(sizes, rates, strict=True)
        ]
        say(f"  training, episodes of at most {cfg['horizons']} steps")
        rates = pgfast_training_rates(
            theta,
            [
                {
                    "num_envs": 16,
                    "episodes": 16,
                    "num_threads": 1,
                    "max_episode_steps": None if h == 500 else h,
                }
                for h in cfg["horizons"]
            ],
            target_steps=target,
            repeats=repeats,
        )
        horizons = [
            {"max_episode_steps": h, **r} for h, r in zip(cfg["horizons"], rates, strict=True)
        ]
        out["horizon"] = horizons
    out["settings"] = {
        "theta0": "a policy trained by pgfast (seed 0, 300 updates)",
        "target_steps_per_repeat": target,
        "repeats": repeats,
        "warm_up": "one update",
        **ALGO,
        "episodes_per_update": "num_envs (threads), max(num_envs, 16) (sweep), 16 (horizon)",
    }
    return out
