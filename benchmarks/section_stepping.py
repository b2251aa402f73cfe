"""Section 1: env stepping from Python, pgfast against Gymnasium and EnvPool."""

from __future__ import annotations

from typing import Any

import machine  # noqa: F401  (first: one BLAS thread, set before NumPy loads)

# isort: split

import numpy as np
from common import STEP_ENVS, ratio, say, timing_dict
from peers import envpool_rate


def measure_pendulum(num_envs: int, budget: float, repeats: int) -> dict[str, Any]:
    """Pendulum-v1 steps/s for pgfast, Gymnasium's vector-entry-point env (which
    Gymnasium may not register) and SyncVectorEnv, with pre-drawn random torques."""
    import gymnasium as gym

    import pgfast as pg
    from pgfast._bench import _stepper, _steps_per_second

    rng = np.random.default_rng(0)
    actions = [rng.uniform(-2.0, 2.0, size=(num_envs, 1)).astype(np.float32) for _ in range(64)]
    out: dict[str, Any] = {}
    env = pg.make("Pendulum-v1", num_envs=num_envs, seed=0)
    env.reset(seed=0)
    out["pgfast"] = timing_dict(
        _steps_per_second(_stepper(env, actions), num_envs, budget, repeats)
    )
    env.close()
    try:
        vec = gym.make_vec(
            "Pendulum-v1", num_envs=num_envs, vectorization_mode="vector_entry_point"
        )
    except Exception as exc:  # gymnasium.error.Error: no vector entry point
        out["gymnasium_vector"] = f"missing: {exc}"
    else:
        vec.reset(seed=0)
        out["gymnasium_vector"] = timing_dict(
            _steps_per_second(_stepper(vec, actions), num_envs, budget, repeats)
        )
        vec.close()
    sync = gym.make_vec("Pendulum-v1", num_envs=num_envs, vectorization_mode="sync")
    sync.reset(seed=0)
    out["sync"] = timing_dict(_steps_per_second(_stepper(sync, actions), num_envs, budget, repeats))
    sync.close()
    return out


def run(cfg: dict, envpool: dict) -> dict:
    from pgfast._bench import measure_cartpole

    budget, repeats = cfg["step_budget_s"], cfg["step_repeats"]
    tables: dict[str, list[dict]] = {}
    for env_id in STEP_ENVS:
        rows = []
        for n in cfg["step_sizes"]:
            say(f"  {env_id} num_envs={n}")
            row: dict[str, Any]
            if env_id == "CartPole-v1":
                r = measure_cartpole(n, budget, repeats, include_sync=True, num_threads=1)
                row = {
                    "pgfast": timing_dict(r["pgfast"]),
                    "gymnasium_vector": timing_dict(r["gymnasium vector"]),
                    "sync": timing_dict(r["SyncVectorEnv"]),
                }
            else:
                row = measure_pendulum(n, budget, repeats)
            row["envpool"] = envpool_rate(envpool, env_id, n, 1)
            for peer in ("gymnasium_vector", "sync", "envpool"):
                theirs = row[peer]
                row[f"ratio_{peer}"] = (
                    ratio(row["pgfast"], theirs) if isinstance(theirs, dict) else None
                )
            rows.append({"num_envs": n, **row})
        tables[env_id] = rows
    return {
        "settings": {
            "budget_s": budget,
            "repeats": repeats,
            "pgfast_num_threads": 1,
            "envpool_num_threads": 1,
            "actions": "64 pre-drawn random batches",
        },
        "tables": tables,
    }
