"""The peers beside pgfast: EnvPool (run by another interpreter) and the table of who ran."""

from __future__ import annotations

import pathlib

import machine  # noqa: F401  (first: one BLAS thread, set before NumPy loads)

# isort: split

import numpy as np
from common import STEP_ENVS, run_json

HERE = pathlib.Path(__file__).resolve().parent


def envpool_report(python: str, cfg: dict, threads_extra: list[str]) -> dict:
    """Run peer_envpool.py under ``python``; {"available": False, "reason"} if it cannot."""
    from pgfast import _bench

    args = [
        python,
        str(HERE / "peer_envpool.py"),
        "--timing-module",
        _bench.__file__,
        "--envs",
        *STEP_ENVS,
        "--sizes",
        *map(str, cfg["step_sizes"]),
        "--threads",
        "1",
        "--budget",
        str(cfg["step_budget_s"]),
        "--repeats",
        str(cfg["step_repeats"]),
    ]
    if threads_extra:
        args += ["--extra", *threads_extra]
    data, error = run_json(args)
    if data is None:
        return {"available": False, "reason": f"{python} peer_envpool.py failed: {error}"}
    return data


def envpool_rate(data: dict, env_id: str, n: int, threads: int) -> dict | str:
    if not data.get("available"):
        return "missing"
    for r in data["results"]:
        if r["env"] == env_id and r["num_envs"] == n and r["num_threads"] == threads:
            return r.get("error") or {k: r[k] for k in ("median", "min", "max")}
    return "not run"


def peer_table(res: dict, envpool: dict, jax_python: str, envpool_python: str) -> list[dict]:
    import gymnasium as gym

    secs = res["sections"]
    st, tr = secs.get("stepping"), secs.get("training")
    rows = [{"name": "pgfast", "status": "ok", "detail": f"pgfast {res['packages']['pgfast']}"}]
    gv = f"gymnasium {gym.__version__}"
    if isinstance(st, dict):
        pend = {
            str(r["gymnasium_vector"])
            for r in st["tables"]["Pendulum-v1"]
            if isinstance(r["gymnasium_vector"], str)
        }
        rows.append(
            {
                "name": "Gymnasium vector-entry-point env",
                "status": "ok (CartPole-v1)" + ("; missing (Pendulum-v1)" if pend else ""),
                "detail": gv + ("; " + "; ".join(pend) if pend else ""),
            }
        )
        rows.append({"name": "Gymnasium SyncVectorEnv", "status": "ok", "detail": gv})
    if envpool.get("available"):
        rows.append(
            {
                "name": "EnvPool",
                "status": "ok",
                "detail": f"envpool {envpool['envpool']} under {envpool['executable']}",
            }
        )
    else:
        rows.append(
            {
                "name": "EnvPool",
                "status": "missing",
                "detail": f"{envpool.get('reason')}; EnvPool has Linux x86_64 wheels for "
                "CPython 3.11 to 3.13 (pip install envpool, here or in another "
                "venv passed as --envpool-python)",
            }
        )
    if isinstance(tr, dict):
        rows.append(
            {
                "name": "NumPy + Gymnasium reference",
                "status": "ok",
                "detail": f"numpy {np.__version__}, {gv}",
            }
        )
        jax = tr["peers"]["jax"]
        rows.append(
            {
                "name": "JAX + gymnax",
                "status": "ok" if isinstance(jax, dict) else "missing",
                "detail": (
                    ", ".join(f"{k} {v}" for k, v in jax["versions"].items())
                    + f" under {jax_python}"
                )
                if isinstance(jax, dict)
                else f"{jax}; pass --jax-python with an interpreter that has jax, gymnax and six",
            }
        )
        ceil = tr["peers"]["ceiling"]
        rows.append(
            {
                "name": "C++ ceiling",
                "status": "ok" if isinstance(ceil, dict) else "missing",
                "detail": "benchmarks/limit/reinforce_cartpole.cpp, g++ -O3"
                if isinstance(ceil, dict)
                else ceil,
            }
        )
    return rows
