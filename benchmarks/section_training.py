"""Sections 2 and 3: fused training throughput and time to solve CartPole-v1, against the
NumPy + Gymnasium reference, JAX + gymnax and the C++ ceiling."""

from __future__ import annotations

import statistics
from typing import Any

import machine  # noqa: F401  (first: one BLAS thread, set before NumPy loads)

# isort: split

import bench_train
import reference_numpy
from common import ALGO, ratio, say, spread

TARGET_RETURN = bench_train.TARGET


def summarise_runs(runs: list[dict], episodes: int = 16) -> dict:
    rate = spread([r["steps_per_second"] for r in runs])
    lengths = [
        r["total_env_steps"] / (r["iterations_run"] * episodes)
        for r in runs
        if r.get("iterations_run")
    ]
    return {
        "steps_per_second": rate,
        "mean_episode_length": statistics.mean(lengths) if lengths else None,
        "solved": sum(r.get("solved_iteration") is not None for r in runs),
        "runs": len(runs),
        "solved_time": spread([r.get("solved_time") for r in runs]),
        "solved_env_steps": spread([r.get("solved_env_steps") for r in runs]),
        "solved_iteration": spread([r.get("solved_iteration") for r in runs]),
        "per_seed": runs,
    }


def run(cfg: dict, jax_python: str) -> dict:
    seeds, its = cfg["train_seeds"], cfg["train_iterations"]
    f_seeds, f_its = cfg["fourier_seeds"], cfg["fourier_iterations"]
    peers: dict[str, Any] = {}
    binary, reason = bench_train.build_ceiling()

    # Warm-ups, then the peers interleaved seed by seed, so that a machine whose
    # speed drifts (shared, virtualised) slows every peer alike.
    bench_train.pgfast_run(0, 5, False)
    bench_train.pgfast_run(0, 5, False, state_action=True)
    bench_train.numpy_run(0, 2, False)
    if binary is not None:
        bench_train.ceiling_run(binary, 0, 5, False)
    runs: dict[str, list] = {
        "pgfast": [],
        "pgfast_state_action": [],
        "numpy": [],
        "ceiling": [],
        "jax": [],
    }
    jax_reports = []
    for seed in seeds:
        say(
            f"  seed {seed}: pgfast (LinearSoftmax, state-action softmax), NumPy + Gymnasium, "
            "C++ ceiling, JAX + gymnax"
        )
        runs["pgfast"].append(bench_train.pgfast_run(seed, its, False))
        runs["pgfast_state_action"].append(
            bench_train.pgfast_run(seed, its, False, state_action=True)
        )
        runs["numpy"].append(bench_train.numpy_run(seed, its, False))
        if binary is not None:
            runs["ceiling"].append(bench_train.ceiling_run(binary, seed, its, False))
        jax = bench_train.jax_report(jax_python, [seed], its, False)
        jax_reports.append(jax)
        if jax.get("available", True) and "runs" in jax:
            runs["jax"] += jax["runs"]
    peers["pgfast"] = summarise_runs(runs["pgfast"])
    peers["pgfast_state_action"] = summarise_runs(runs["pgfast_state_action"])
    peers["numpy"] = summarise_runs(runs["numpy"])
    peers["ceiling"] = (
        summarise_runs(runs["ceiling"]) if binary is not None else f"missing: {reason}"
    )
    if runs["jax"]:
        jax = next(j for j in jax_reports if "runs" in j)
        peers["jax"] = summarise_runs(runs["jax"])
        peers["jax"]["compile_time"] = spread([r["compile_time"] for r in runs["jax"]])
        peers["jax"]["versions"] = {k: jax.get(k) for k in ("jax", "gymnax", "device")}
        peers["jax"]["settings"] = jax.get("settings")
    else:
        peers["jax"] = f"missing: {jax_reports[0].get('reason')} (interpreter {jax_python})"

    say("  pgfast, NumPy and the C++ ceiling with Fourier order 3 (256 features)")
    bench_train.pgfast_run(0, 1, False, features="fourier:3")  # warm-ups
    if binary is not None:
        bench_train.ceiling_run(binary, 0, 1, False, features="fourier:3")
    f_runs: dict[str, list] = {"pgfast": [], "numpy": [], "ceiling": []}
    for seed in f_seeds:
        f_runs["pgfast"].append(bench_train.pgfast_run(seed, f_its, False, "fourier:3"))
        f_runs["numpy"].append(bench_train.numpy_run(seed, f_its, False, "fourier:3"))
        if binary is not None:
            f_runs["ceiling"].append(
                bench_train.ceiling_run(binary, seed, f_its, False, "fourier:3")
            )
    peers["pgfast_fourier"] = summarise_runs(f_runs["pgfast"])
    peers["numpy_fourier"] = summarise_runs(f_runs["numpy"])
    peers["ceiling_fourier"] = (
        summarise_runs(f_runs["ceiling"]) if binary is not None else f"missing: {reason}"
    )

    ours = peers["pgfast"]["steps_per_second"]
    ours_f = peers["pgfast_fourier"]["steps_per_second"]
    ratios = {}
    for key in ("numpy", "jax", "ceiling"):
        if isinstance(peers[key], dict):
            ratios[key] = ratio(ours, peers[key]["steps_per_second"])
    ratios["state_action"] = ratio(ours, peers["pgfast_state_action"]["steps_per_second"])
    ratios["numpy_fourier"] = ratio(ours_f, peers["numpy_fourier"]["steps_per_second"])
    if isinstance(peers["ceiling_fourier"], dict):
        ratios["ceiling_fourier"] = ratio(ours_f, peers["ceiling_fourier"]["steps_per_second"])
    ratios["pgfast_identity_over_fourier"] = ratio(ours, ours_f)
    solve_ratios = {}
    t_ours = peers["pgfast"]["solved_time"]
    for key in ("numpy", "jax", "ceiling"):
        theirs = peers[key]["solved_time"] if isinstance(peers[key], dict) else None
        if t_ours and theirs:
            solve_ratios[key] = theirs["median"] / t_ours["median"]
    return {
        "settings": {
            "env": "CartPole-v1",
            **ALGO,
            "features": "identity ([s, 1], 5)",
            "state_action": "pgfast_state_action: pg.LinearSoftmax("
            "pg.features.StateAction(pg.features.Identity(4), "
            "action_features=np.eye(2)), 2), same seeds and iterations",
            "theta0": "zeros",
            "seeds": seeds,
            "iterations": its,
            "fourier": {
                "order": 3,
                "n_features": 256,
                "low": reference_numpy.CARTPOLE_LOW,
                "high": reference_numpy.CARTPOLE_HIGH,
                "seeds": f_seeds,
                "iterations": f_its,
            },
            "target_return": TARGET_RETURN,
            "stop_at_target": False,
            "jax_rollout": "while",
            "jax_python": jax_python,
            "note": "one run per seed gives both the steady throughput (all "
            "iterations) and the time to solve (the first iteration whose batch "
            "mean return reaches the target; the run goes on after it)",
        },
        "peers": peers,
        "ratios": ratios,
        "solve_ratios": solve_ratios,
    }
