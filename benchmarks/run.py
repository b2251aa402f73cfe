"""pgfast against its peers, side by side: throughput, time-to-solve, scaling, memory.

    python benchmarks/run.py                      # the full suite (under 10 minutes)
    python benchmarks/run.py --quick              # a smoke run (under 1 minute)
    python benchmarks/run.py --jax-python /path/to/venv/bin/python   # JAX + gymnax, EnvPool
    python benchmarks/run.py --cpu 1              # pin one-core figures to CPU 1 (-1: none)
    python benchmarks/run.py --out-dir /tmp/bench # where latest.md and latest.json go

Writes ``latest.md`` (tables) and ``latest.json`` (every number, the machine,
package versions and every setting) to ``benchmarks/results/`` (or
``--out-dir``), and prints the tables. Each figure is the median over repeats
after a warm-up, with min and max; each comparison is a ratio to pgfast,
measured in this run on this machine. Every peer that is not installed is
reported as missing with the reason. Nothing here asserts a time.

Peers (the code that runs them lives beside this file and is reused here):
- Gymnasium's vector-entry-point env and SyncVectorEnv (``pgfast._bench``);
- EnvPool (``peer_envpool.py``) and JAX + gymnax (``reference_jax.py``), run by
  the interpreter that has them (``--envpool-python``, ``--jax-python``): they
  cannot share pgfast's venv;
- the NumPy + Gymnasium REINFORCE reference (``reference_numpy.py``);
- the C++ no-Python ceiling (``limit/``, built with g++ on first use).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from typing import Any

# One BLAS thread, set before NumPy loads OpenBLAS: every peer is measured on one
# pinned core, but OpenBLAS starts its worker threads at import (before the pinning)
# and they spin after each call, taking the core from whatever runs next (the C++
# ceiling, run right after the NumPy reference, measured at about half its speed).
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_train
import reference_numpy

SCHEMA = 1
TARGET_RETURN = bench_train.TARGET
STEP_ENVS = ("CartPole-v1", "Pendulum-v1")
SECTIONS = ("stepping", "training", "scaling", "memory")
# Episodes per update at which the 2-thread target is set (FULL["thread_batches"]).
THREAD_TARGET_BATCHES = (64, 256, 1024)
# Hyperparameters shared by every training figure (the algorithm of bench_train.py).
ALGO: dict[str, Any] = {"lr": 0.05, "gamma": 0.99, "episodes_per_update": 16,
                        "returns": "reward_to_go", "baseline": "mean", "optimizer": "adam"}

QUICK = {
    "step_sizes": [1, 16, 256, 4096], "step_budget_s": 0.03, "step_repeats": 3,
    "train_seeds": [0], "train_iterations": 100,
    "fourier_seeds": [0], "fourier_iterations": 6,
    "thread_batches": [64], "thread_step_envs": 4096,
    "sweep_sizes": [1, 16, 256, 4096], "horizons": [20, 500],
    "scaling_steps": 60_000, "scaling_repeats": 3, "thread_wait_s": 0,
    "memory_iterations": 1000, "memory_marks": [1, 10, 100, 500, 1000],
}
FULL = {
    "step_sizes": [1, 16, 256, 4096], "step_budget_s": 0.3, "step_repeats": 7,
    "train_seeds": [0, 1, 2, 3, 4], "train_iterations": 150,
    "fourier_seeds": [0, 1, 2], "fourier_iterations": 25,
    "thread_batches": [64, 256, 1024], "thread_step_envs": 4096,
    "sweep_sizes": [1, 4, 16, 64, 256, 1024, 4096], "horizons": [20, 100, 500],
    "scaling_steps": 400_000, "scaling_repeats": 7, "thread_wait_s": 30,
    "memory_iterations": 1000, "memory_marks": [1, 10, 100, 200, 500, 1000],
}


# ---------------------------------------------------------------- helpers


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def spread(values: list[Any]) -> dict[str, Any] | None:
    """Median, min and max (and the values) of a list; None if empty."""
    values = [float(v) for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values), "values": values}


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


def version_of(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


@contextlib.contextmanager
def affinity(cpus: set[int] | None) -> Iterator[None]:
    """Run the block (and the subprocesses and engine threads it starts) on ``cpus``.
    Linux applies the mask to the calling thread, which the others inherit."""
    if cpus is None or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run_json(args: list[str], timeout: float = 600) -> tuple[dict | None, str | None]:
    """Run a command that prints one JSON object: (object, None) or (None, why not)."""
    try:
        result = subprocess.run(args, capture_output=True, text=True, check=False,
                                timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        return None, f"exit {result.returncode}: {lines[-1] if lines else '?'}"
    try:
        return json.loads(result.stdout.strip().splitlines()[-1]), None
    except (ValueError, IndexError):
        return None, f"no JSON in the output: {result.stdout[-200:]!r}"


# ---------------------------------------------------------------- machine


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        cpuinfo = pathlib.Path("/proc/cpuinfo").read_text()
        models = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")]
        info["cpu_model"] = models[0] if models else platform.processor() or "?"
        flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines()
                      if line.startswith("flags")), [])
        info["cpu_simd"] = [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f") if f in flags]
        info["virtualised"] = "hypervisor" in flags
        mhz = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
               if line.startswith("cpu MHz")]
        info["cpu_mhz"] = float(mhz[0]) if mhz else None
    except OSError:
        info["cpu_model"] = platform.processor() or "?"
    info["logical_cpus"] = os.cpu_count()
    if hasattr(os, "sched_getaffinity"):
        info["cpus_available"] = sorted(os.sched_getaffinity(0))
    try:
        meminfo = pathlib.Path("/proc/meminfo").read_text()
        kib = int(next(line.split()[1] for line in meminfo.splitlines()
                       if line.startswith("MemTotal")))
        info["memory_gib"] = round(kib / 2**20, 2)
    except (OSError, StopIteration, ValueError):
        info["memory_gib"] = None
    os_name = platform.system()
    with contextlib.suppress(OSError):
        for line in pathlib.Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip().strip('"')
    info["os"] = os_name
    info["kernel"] = platform.release()
    info["platform"] = platform.platform()
    info["machine"] = platform.machine()
    info["python"] = f"{platform.python_implementation()} {platform.python_version()}"
    info["python_executable"] = sys.executable
    try:
        cxx = os.environ.get("CXX", "g++")
        out = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=False)
        info["cxx"] = out.stdout.splitlines()[0] if out.stdout else None
    except OSError:
        info["cxx"] = None
    repo = HERE.parent
    if (repo / ".git").exists():
        git = ["git", "-C", str(repo)]
        with contextlib.suppress(OSError):
            head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                                  check=False).stdout.strip()
            dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, check=False).stdout.strip()
            info["git_commit"] = head or None
            info["git_dirty"] = bool(dirty)
    info["load_average_at_start"] = load_average()
    return info


def package_versions() -> dict[str, str | None]:
    import pgfast

    ext = getattr(pgfast._core, "__file__", None)
    out = {"pgfast": pgfast.__version__, "pgfast_extension": ext,
           "pgfast_extension_built": datetime.datetime.fromtimestamp(
               os.path.getmtime(ext), datetime.timezone.utc).isoformat(timespec="seconds")
           if ext else None}
    for dist in ("numpy", "gymnasium", "scipy"):
        out[dist] = version_of(dist)
    return out


# ---------------------------------------------------------------- 1. env stepping


def envpool_report(python: str, cfg: dict, threads_extra: list[str]) -> dict:
    """Run peer_envpool.py under ``python``; {"available": False, "reason"} if it cannot."""
    from pgfast import _bench

    args = [python, str(HERE / "peer_envpool.py"), "--timing-module", _bench.__file__,
            "--envs", *STEP_ENVS, "--sizes", *map(str, cfg["step_sizes"]), "--threads", "1",
            "--budget", str(cfg["step_budget_s"]), "--repeats", str(cfg["step_repeats"])]
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
    out["pgfast"] = timing_dict(_steps_per_second(_stepper(env, actions), num_envs, budget,
                                                  repeats))
    env.close()
    try:
        vec = gym.make_vec("Pendulum-v1", num_envs=num_envs,
                           vectorization_mode="vector_entry_point")
    except Exception as exc:  # noqa: BLE001 - gymnasium.error.Error: no vector entry point
        out["gymnasium_vector"] = f"missing: {exc}"
    else:
        vec.reset(seed=0)
        out["gymnasium_vector"] = timing_dict(_steps_per_second(_stepper(vec, actions), num_envs,
                                                                budget, repeats))
        vec.close()
    sync = gym.make_vec("Pendulum-v1", num_envs=num_envs, vectorization_mode="sync")
    sync.reset(seed=0)
    out["sync"] = timing_dict(_steps_per_second(_stepper(sync, actions), num_envs, budget,
                                                repeats))
    sync.close()
    return out


def section_stepping(cfg: dict, envpool: dict) -> dict:
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
                row = {"pgfast": timing_dict(r["pgfast"]),
                       "gymnasium_vector": timing_dict(r["gymnasium vector"]),
                       "sync": timing_dict(r["SyncVectorEnv"])}
            else:
                row = measure_pendulum(n, budget, repeats)
            row["envpool"] = envpool_rate(envpool, env_id, n, 1)
            for peer in ("gymnasium_vector", "sync", "envpool"):
                theirs = row[peer]
                row[f"ratio_{peer}"] = ratio(row["pgfast"], theirs) if isinstance(theirs, dict) \
                    else None
            rows.append({"num_envs": n, **row})
        tables[env_id] = rows
    return {"settings": {"budget_s": budget, "repeats": repeats, "pgfast_num_threads": 1,
                         "envpool_num_threads": 1, "actions": "64 pre-drawn random batches"},
            "tables": tables}


# ---------------------------------------------------------------- 2, 3. training


def summarise_runs(runs: list[dict], episodes: int = 16) -> dict:
    rate = spread([r["steps_per_second"] for r in runs])
    lengths = [r["total_env_steps"] / (r["iterations_run"] * episodes) for r in runs
               if r.get("iterations_run")]
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


def section_training(cfg: dict, jax_python: str) -> dict:
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
    runs: dict[str, list] = {"pgfast": [], "pgfast_state_action": [], "numpy": [],
                             "ceiling": [], "jax": []}
    jax_reports = []
    for seed in seeds:
        say(f"  seed {seed}: pgfast (LinearSoftmax, state-action softmax), NumPy + Gymnasium, "
            "C++ ceiling, JAX + gymnax")
        runs["pgfast"].append(bench_train.pgfast_run(seed, its, False))
        runs["pgfast_state_action"].append(
            bench_train.pgfast_run(seed, its, False, state_action=True))
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
    peers["ceiling"] = summarise_runs(runs["ceiling"]) if binary is not None else \
        f"missing: {reason}"
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
            f_runs["ceiling"].append(bench_train.ceiling_run(binary, seed, f_its, False,
                                                             "fourier:3"))
    peers["pgfast_fourier"] = summarise_runs(f_runs["pgfast"])
    peers["numpy_fourier"] = summarise_runs(f_runs["numpy"])
    peers["ceiling_fourier"] = summarise_runs(f_runs["ceiling"]) if binary is not None else \
        f"missing: {reason}"

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
        "settings": {"env": "CartPole-v1", **ALGO, "features": "identity ([s, 1], 5)",
                     "state_action": "pgfast_state_action: pg.LinearSoftmax("
                                     "pg.features.StateAction(pg.features.Identity(4), "
                                     "action_features=np.eye(2)), 2), same seeds and iterations",
                     "theta0": "zeros", "seeds": seeds, "iterations": its,
                     "fourier": {"order": 3, "n_features": 256, "low": reference_numpy.CARTPOLE_LOW,
                                 "high": reference_numpy.CARTPOLE_HIGH, "seeds": f_seeds,
                                 "iterations": f_its},
                     "target_return": TARGET_RETURN, "stop_at_target": False,
                     "jax_rollout": "while", "jax_python": jax_python,
                     "note": "one run per seed gives both the steady throughput (all "
                             "iterations) and the time to solve (the first iteration whose batch "
                             "mean return reaches the target; the run goes on after it)"},
        "peers": peers, "ratios": ratios, "solve_ratios": solve_ratios,
    }


# ---------------------------------------------------------------- 4. scaling


def solved_theta() -> np.ndarray:
    """A CartPole policy that balances (pgfast, seed 0): the fixed starting point of the
    scaling runs, so every row steps ~500-step episodes whatever its batch size."""
    import pgfast as pg

    env = pg.make("CartPole-v1", num_envs=16, seed=0)
    policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    pg.Reinforce(env, policy, seed=0, **ALGO).train(300)
    return policy.theta.copy()


def pgfast_training_rates(theta: np.ndarray, configs: list[dict], *, target_steps: int,
                          repeats: int) -> list[dict]:
    """Training env steps/s of pgfast from ``theta`` for each config (keys ``num_envs``,
    ``episodes``, ``num_threads``, optional ``max_episode_steps``): one warm-up update each,
    then ``repeats`` rounds in which every config runs one timed ``train()`` call, in turn,
    of enough updates for about ``target_steps`` steps. Interleaving makes a drifting machine slow every config alike."""
    import pgfast as pg

    algos, envs, iterations = [], [], []
    for c in configs:
        env = pg.make("CartPole-v1", num_envs=c["num_envs"], seed=0,
                      num_threads=c["num_threads"], max_episode_steps=c.get("max_episode_steps"))
        policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
        policy.theta[...] = theta
        algo = pg.Reinforce(env, policy, seed=0, num_threads=c["num_threads"],
                            **{**ALGO, "episodes_per_update": c["episodes"]})
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
            cpu0 = _cpu_seconds()
            start = time.perf_counter()
            h = algo.train(iterations[k])
            elapsed = time.perf_counter() - start
            cpu[k].append((_cpu_seconds() - cpu0) / elapsed)
            rates[k].append(h["env_steps"].sum() / elapsed)
            lengths[k].extend(h["length_mean"].tolist())
            steps[k] += int(h["env_steps"].sum())
    for env in envs:
        env.close()
    return [{**(spread(rates[k]) or {}), "mean_episode_length": statistics.mean(lengths[k]),
             "cpu_per_wall": statistics.median(cpu[k]),
             "iterations_per_repeat": iterations[k], "env_steps_timed": steps[k],
             "ns_per_step": 1e9 / statistics.median(rates[k])} for k in range(len(configs))]


def busy_cpus(seconds: float = 0.5) -> float | None:
    """CPUs' worth of work done by *other* processes over ``seconds`` while this one
    sleeps (from /proc/stat), or None where /proc/stat is missing."""
    def sample() -> tuple[int, int]:
        fields = [int(x) for x in pathlib.Path("/proc/stat").read_text().split("\n", 1)[0]
                  .split()[1:9]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait
    try:
        t0, i0 = sample()
        time.sleep(seconds)
        t1, i1 = sample()
    except (OSError, ValueError):
        return None
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return (1.0 - (i1 - i0) / max(t1 - t0, 1)) * n


def wait_for_free_cores(max_wait: float, threshold: float = 0.25) -> dict:
    """Wait up to ``max_wait`` s for other processes to use less than ``threshold`` CPUs
    (the thread-scaling figures need the second core); returns what was seen."""
    start = time.perf_counter()
    load = busy_cpus()
    while load is not None and load > threshold and time.perf_counter() - start < max_wait:
        time.sleep(2.0)
        load = busy_cpus()
    return {"other_busy_cpus": load, "waited_s": time.perf_counter() - start}


def _cpu_seconds() -> float:
    """CPU time of this process, every thread (user + system), in fine resolution."""
    return time.process_time()


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
    cpu0, start = _cpu_seconds(), time.perf_counter()
    t = _steps_per_second(_stepper(env, actions), num_envs, cfg["step_budget_s"],
                          cfg["step_repeats"])
    cpu_per_wall = (_cpu_seconds() - cpu0) / (time.perf_counter() - start)
    env.close()
    return {**(timing_dict(t) or {}), "cpu_per_wall": cpu_per_wall}


def section_scaling(cfg: dict, pin: set[int] | None, envpool: dict) -> dict:
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
                theta, [{"num_envs": episodes, "episodes": episodes, "num_threads": t}
                        for t in (1, 2)], target_steps=target, repeats=repeats)
            speedup = two["median"] / one["median"]
            threads_rows.append({"workload": "training", "env": "CartPole-v1",
                                 "episodes_per_update": episodes, "num_envs": episodes,
                                 "threads_1": one, "threads_2": two, "speedup": speedup,
                                 "efficiency": speedup / 2, **seen})
        n = cfg["thread_step_envs"]
        for env_id in STEP_ENVS:
            say(f"  env.step, {env_id}, {n} envs, 1 and 2 threads")
            seen = wait_for_free_cores(cfg["thread_wait_s"])
            one = stepping_rate(env_id, n, 1, cfg)
            two = stepping_rate(env_id, n, 2, cfg)
            speedup = two["median"] / one["median"]
            row = {"workload": "env.step", "env": env_id, "num_envs": n, "threads_1": one,
                   "threads_2": two, "speedup": speedup, "efficiency": speedup / 2, **seen}
            ep1, ep2 = envpool_rate(envpool, env_id, n, 1), envpool_rate(envpool, env_id, n, 2)
            if isinstance(ep1, dict) and isinstance(ep2, dict):
                row["envpool"] = {"threads_1": ep1, "threads_2": ep2,
                                  "speedup": ep2["median"] / ep1["median"],
                                  "ratio_threads_2": two["median"] / ep2["median"]}
            threads_rows.append(row)
    out["threads"] = threads_rows
    out["threads_settings"] = {"pinned": False, "cpus": sorted(os.sched_getaffinity(0))
                               if hasattr(os, "sched_getaffinity") else None}

    with affinity(pin):
        say(f"  training, num_envs {cfg['sweep_sizes']}")
        sizes = cfg["sweep_sizes"]
        rates = pgfast_training_rates(
            theta, [{"num_envs": n, "episodes": max(n, 16), "num_threads": 1} for n in sizes],
            target_steps=target, repeats=repeats)
        out["num_envs"] = [{"num_envs": n, "episodes_per_update": max(n, 16), **r}
                           for n, r in zip(sizes, rates, strict=True)]
        say(f"  training, episodes of at most {cfg['horizons']} steps")
        rates = pgfast_training_rates(
            theta, [{"num_envs": 16, "episodes": 16, "num_threads": 1,
                     "max_episode_steps": None if h == 500 else h} for h in cfg["horizons"]],
            target_steps=target, repeats=repeats)
        horizons = [{"max_episode_steps": h, **r} for h, r in zip(cfg["horizons"], rates, strict=True)]
        out["horizon"] = horizons
    out["settings"] = {"theta0": "a policy trained by pgfast (seed 0, 300 updates)",
                       "target_steps_per_repeat": target, "repeats": repeats,
                       "warm_up": "one update", **ALGO,
                       "episodes_per_update": "num_envs (threads), max(num_envs, 16) (sweep), "
                                              "16 (horizon)"}
    return out


# ---------------------------------------------------------------- 5. memory


def _status_kib(field: str) -> int:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def memory_child(iterations: int, marks: list[int], mode: str) -> None:
    """Train CartPole (the training section's setup) for ``iterations`` updates and print
    VmRSS and VmHWM (peak RSS) at the given iterations as JSON. ``mode`` "step" calls
    ``algo.step()`` (the engine); "train" calls ``algo.train(iterations)`` once (which also
    keeps the per-iteration History)."""
    import resource

    import pgfast as pg

    env = pg.make("CartPole-v1", num_envs=16, seed=0)
    policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    algo = pg.Reinforce(env, policy, seed=0, **ALGO)
    samples = []

    def sample(it: int) -> None:
        samples.append({"iteration": it, "vm_rss_kib": _status_kib("VmRSS"),
                        "vm_hwm_kib": _status_kib("VmHWM"),
                        "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss})

    sample(0)
    start = time.perf_counter()
    returns = []
    if mode == "step":
        for it in range(1, iterations + 1):
            returns.append(algo.step()["return_mean"])
            if it in marks:
                sample(it)
    else:
        def callback(stats: dict) -> None:
            returns.append(stats["return_mean"])
            if len(returns) in marks:
                sample(len(returns))
        algo.train(iterations, callback=callback)
    print(json.dumps({"mode": mode, "iterations": iterations, "samples": samples,
                      "seconds": time.perf_counter() - start,
                      "last_return_mean": float(returns[-1])}))


def section_memory(cfg: dict) -> dict:
    out: dict[str, Any] = {"settings": {"env": "CartPole-v1", **ALGO, "theta0": "zeros",
                                        "iterations": cfg["memory_iterations"],
                                        "marks": cfg["memory_marks"],
                                        "process": "a fresh subprocess per mode"}}
    for mode in ("step", "train"):
        say(f"  {cfg['memory_iterations']} iterations, algo.{mode}()")
        data, error = run_json([sys.executable, __file__, "--memory-child", mode,
                                "--memory-iterations", str(cfg["memory_iterations"]),
                                "--memory-marks", *map(str, cfg["memory_marks"])])
        if data is None:
            out[mode] = f"failed: {error}"
            continue
        by_it = {s["iteration"]: s for s in data["samples"]}
        lo, hi = by_it.get(100), by_it.get(cfg["memory_iterations"])
        if lo and hi:
            data["growth_100_to_end_mib"] = {
                "vm_hwm": (hi["vm_hwm_kib"] - lo["vm_hwm_kib"]) / 1024,
                "vm_rss": (hi["vm_rss_kib"] - lo["vm_rss_kib"]) / 1024}
        out[mode] = data
    return out


# ---------------------------------------------------------------- targets


def evaluate_targets(res: dict) -> list[dict]:
    """Issue 5's targets against this run's numbers: met, missed or not measurable."""
    targets: list[dict] = []

    def add(name: str, value: float | None, ok: bool | None, shown: str, why: str = "") -> None:
        status = "not measurable" if ok is None else ("met" if ok else "missed")
        targets.append({"target": name, "value": value, "measured": shown, "status": status,
                        "note": why})

    tr = res["sections"].get("training")
    if isinstance(tr, dict):
        r = tr["ratios"]
        v = r.get("numpy")
        ceiling_vs_numpy = (r["numpy"] / r["ceiling"]) if r.get("numpy") and r.get("ceiling") \
            else None
        add("fused training >= 100x the NumPy + Gymnasium reference", v,
            None if v is None else v >= 100, f"{v:.1f}x" if v else "-",
            f"the C++ ceiling is {ceiling_vs_numpy:.0f}x the reference in this run"
            if ceiling_vs_numpy else "")
        v = r.get("jax")
        add("fused training ahead of JAX + gymnax on CPU (16 episodes per update)", v,
            None if v is None else v > 1, f"{v:.2f}x" if v else "-",
            "" if v else str(tr["peers"]["jax"]))
        v = r.get("ceiling")
        add("Identity training >= 90% of the C++ ceiling", v, None if v is None else v >= 0.9,
            f"{100 * v:.0f}%" if v else "-", "" if v else str(tr["peers"]["ceiling"]))
        v = r.get("numpy_fourier")
        ceiling_vs_numpy = (r["numpy_fourier"] / r["ceiling_fourier"]) \
            if v and r.get("ceiling_fourier") else None
        add("Fourier order-3 training >= 30x the NumPy + Gymnasium reference", v,
            None if v is None else v >= 30, f"{v:.1f}x" if v else "-",
            f"the C++ ceiling is {ceiling_vs_numpy:.0f}x the reference in this run"
            if ceiling_vs_numpy else "")
        v = r.get("ceiling_fourier")
        add("Fourier order-3 training >= 70% of its C++ ceiling", v,
            None if v is None else v >= 0.7, f"{100 * v:.0f}%" if v else "-",
            "" if v else str(tr["peers"]["ceiling_fourier"]))
        v = 1 / r["state_action"] if r.get("state_action") else None
        add("state-action softmax (psi = I) within 10% of LinearSoftmax's speed", v,
            None if v is None else v >= 0.9, f"{100 * v:.0f}% of its speed" if v else "-",
            "pg.features.StateAction(Identity(4), action_features=np.eye(2)) against "
            "Identity(4), same seeds and updates (section 2)")
        t = tr["peers"]["pgfast"]["solved_time"]
        add("time to solve CartPole < 20 ms median (from train())", t["median"] if t else None,
            None if not t else t["median"] < 0.02,
            f"{1e3 * t['median']:.1f} ms (median of {t['n']})" if t else "not solved")
    st = res["sections"].get("stepping")
    if isinstance(st, dict):
        rows = {r["num_envs"]: r for r in st["tables"]["CartPole-v1"]}
        for n, factor in ((16, 10), (4096, 2)):
            v = rows[n]["ratio_gymnasium_vector"] if n in rows else None
            add(f"env.step >= {factor}x Gymnasium's vectorised CartPole at {n} envs", v,
                None if v is None else v >= factor, f"{v:.1f}x" if v else "-")
        vals = [(env_id, r["num_envs"], r["ratio_envpool"])
                for env_id, table in st["tables"].items() for r in table]
        got = [v for *_, v in vals if v is not None]
        worst = min(vals, key=lambda x: x[2]) if got and len(got) == len(vals) else None
        add("env.step ahead of EnvPool at every num_envs", worst[2] if worst else None,
            None if worst is None else worst[2] > 1,
            f"lowest {worst[2]:.1f}x ({worst[0]}, {worst[1]} envs)" if worst else "-",
            "" if worst else "EnvPool " + str(rows[min(rows)]["envpool"]))
    sc = res["sections"].get("scaling")
    if isinstance(sc, dict):
        trows = [r for r in sc["threads"] if r["workload"] == "training"]
        slowest = min(trows, key=lambda r: r["speedup"]) if trows else None
        unmeasured = [n for n in THREAD_TARGET_BATCHES
                      if n not in {r["episodes_per_update"] for r in trows}]
        ok = None  # not measured, or met where measured but not run at every batch
        if slowest is not None and (slowest["speedup"] < 1.8 or not unmeasured):
            ok = slowest["speedup"] >= 1.8
        add("2 threads >= 1.8x 1 thread at 64, 256 and 1024 episodes",
            slowest["speedup"] if slowest else None, ok,
            ", ".join(f"{r['speedup']:.2f}x at {r['episodes_per_update']} episodes"
                      for r in trows),
            (f"not run at {', '.join(map(str, unmeasured))} episodes; " if unmeasured else "")
            + "CPU s per wall s with 2 threads: " + ", ".join(
                f"{r['threads_2']['cpu_per_wall']:.2f}" for r in trows)
            + "; other processes used " + ", ".join(
                "?" if r.get("other_busy_cpus") is None else f"{r['other_busy_cpus']:.2f}"
                for r in trows) + " CPUs just before (see section 4)")
    mem = res["sections"].get("memory")
    if isinstance(mem, dict) and isinstance(mem.get("step"), dict):
        g = mem["step"].get("growth_100_to_end_mib")
        add("peak RSS flat over 1000 iterations (growth < 1 MiB, iteration 100 to 1000)",
            g["vm_hwm"] if g else None, None if not g else g["vm_hwm"] < 1.0,
            f"{g['vm_hwm']:+.2f} MiB peak, {g['vm_rss']:+.2f} MiB current" if g else "-",
            "the issue asks for 'flat'; 1 MiB is this script's reading of it")
    return targets


# ---------------------------------------------------------------- markdown


def f3(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def fm(d: Any, scale: float = 1e-6) -> str:
    """'median (min-max)' of a spread dict scaled (M steps/s by default), or the reason."""
    if isinstance(d, str):
        return d.split(":")[0] if d.startswith(("missing", "failed")) else d
    if not d:
        return "-"
    return f"{f3(d['median'] * scale)} ({f3(d['min'] * scale)}-{f3(d['max'] * scale)})"


def fx(r: float | None) -> str:
    return "-" if r is None else f"{r:.3g}x"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def render(res: dict) -> str:
    m, s = res["machine"], res["settings"]
    L: list[str] = ["# pgfast benchmarks", ""]
    L.append(f"Generated by `{res['command']}` on {res['started']} in {res['duration_s']:.0f} s "
             f"({'quick' if s['quick'] else 'full'} suite). Regenerate with "
             "`python benchmarks/run.py --jax-python PATH` (PATH: an interpreter with jax, "
             "gymnax and envpool).")
    L.append("")
    L.append("Rates are M env steps/s, **median (min-max)** over repeats after a warm-up. "
             "**pgfast x** is pgfast's median over the peer's (for times: the peer's over "
             "pgfast's), so > 1x means pgfast is faster. Numbers from a shared machine are "
             "noisy; only ratios measured in the same run mean anything.")
    L.append("")
    L.append("## Machine")
    L.append("")
    pk = res["packages"]
    mrows = [["CPU", f"{m.get('cpu_model')} ({', '.join(m.get('cpu_simd', []))})"
                     + (", virtual machine" if m.get("virtualised") else "")],
             ["cores", f"{m.get('logical_cpus')} logical, available {m.get('cpus_available')}"],
             ["memory", f"{m.get('memory_gib')} GiB"], ["OS", f"{m.get('os')}, {m.get('kernel')}"],
             ["Python", m.get("python")],
             ["packages", ", ".join(f"{k} {v}" for k, v in pk.items()
                                    if v and not k.startswith("pgfast_extension"))],
             ["pgfast extension", (f"{pk.get('pgfast_extension')} (built "
                                   f"{pk.get('pgfast_extension_built')})")],
             ["peers", ", ".join(f"{k} {v}" for k, v in res["peer_versions"].items() if v)],
             ["C++ compiler (ceiling)", m.get("cxx")],
             ["git", f"{m.get('git_commit')}{' (dirty)' if m.get('git_dirty') else ''}"],
             ["one-core pinning", str(s["cpu"]) if s["cpu"] is not None else "none"],
             ["load average", (f"{m.get('load_average_at_start')} at start, "
                               f"{res.get('load_average_at_end')} at end")]]
    L += table(["", ""], mrows)

    L.append("## Peers")
    L.append("")
    L += table(["peer", "status", "detail"],
               [[p["name"], p["status"], p["detail"]] for p in res["peers"]])

    L.append("## Targets (issue 5)")
    L.append("")
    L += table(["target", "measured", "status", "note"],
               [[t["target"], t["measured"], f"**{t['status']}**", t["note"]]
                for t in res["targets"]])

    st = res["sections"].get("stepping")
    L.append("## 1. Env stepping from Python")
    L.append("")
    if isinstance(st, dict):
        ss = st["settings"]
        L.append(f"`env.step` with pre-drawn random actions, one thread each (pgfast "
                 f"num_threads=1, EnvPool sync mode num_threads=1); {ss['repeats']} repeats of "
                 f"~{ss['budget_s']} s. EnvPool runs unpinned (its worker thread and the "
                 "Python thread would otherwise share one core).")
        L.append("")
        for env_id, rows in st["tables"].items():
            L.append(f"### {env_id}")
            L.append("")
            out = []
            for r in rows:
                out.append([str(r["num_envs"]), fm(r["pgfast"]), fm(r["gymnasium_vector"]),
                            fm(r["sync"]), fm(r["envpool"]), fx(r["ratio_gymnasium_vector"]),
                            fx(r["ratio_sync"]), fx(r["ratio_envpool"])])
            L += table(["num_envs", "pgfast", "Gymnasium vector", "SyncVectorEnv", "EnvPool",
                        "pgfast x vector", "pgfast x sync", "pgfast x EnvPool"], out)
            missing = {str(r["gymnasium_vector"]) for r in rows if isinstance(r["gymnasium_vector"], str)}
            for reason in missing:
                L.append(f"Gymnasium vector: {reason}")
                L.append("")
    else:
        L += [str(st), ""]

    tr = res["sections"].get("training")
    L.append("## 2. Fused training throughput")
    L.append("")
    if isinstance(tr, dict):
        ts = tr["settings"]
        L.append(f"REINFORCE on CartPole-v1: linear softmax, 16 episodes per update, "
                 f"reward-to-go (gamma 0.99), mean baseline, Adam (lr 0.05), theta = 0; "
                 f"{ts['iterations']} updates per seed, seeds {ts['seeds']} (Fourier: "
                 f"{ts['fourier']['iterations']} updates, seeds {ts['fourier']['seeds']}). "
                 "Env steps/s of rollout + gradient + update over the whole run; each peer "
                 "on one pinned core, the peers interleaved seed by seed. JAX: float32, vmap over "
                 "16 envs, while_loop rollout, "
                 "compile time apart.")
        L.append("")
        P, R = tr["peers"], tr["ratios"]
        names = [("pgfast", "pgfast", "Identity (5)", None),
                 ("pgfast_state_action", "pgfast, state-action softmax, psi = eye(2)",
                  "Identity (5) x eye(2) (10)", "state_action"),
                 ("numpy", "NumPy + Gymnasium", "Identity (5)", "numpy"),
                 ("jax", "JAX + gymnax (jit)", "Identity (5)", "jax"),
                 ("ceiling", "C++ ceiling (no Python)", "Identity (5)", "ceiling"),
                 ("pgfast_fourier", "pgfast", "Fourier order 3 (256)", None),
                 ("numpy_fourier", "NumPy + Gymnasium", "Fourier order 3 (256)", "numpy_fourier"),
                 ("ceiling_fourier", "C++ ceiling (no Python)", "Fourier order 3 (256)",
                  "ceiling_fourier")]
        out = []
        for key, label, feats, rkey in names:
            p = P[key]
            if isinstance(p, str):
                out.append([label, feats, fm(p), "-", "-", "-"])
                continue
            comp = fm(p.get("compile_time"), 1.0) if key == "jax" else "-"
            out.append([label, feats, fm(p["steps_per_second"]),
                        fx(R.get(rkey)) if rkey else "1x",
                        f"{p['mean_episode_length']:.0f}" if p["mean_episode_length"] else "-",
                        comp])
        L += table(["implementation", "features", "M steps/s", "pgfast x",
                    "mean episode length", "compile s"], out)
        L.append(f"pgfast with 256 Fourier features is {fx(R.get('pgfast_identity_over_fourier'))}"
                 " slower per step than with 5 Identity features. **pgfast x** is the ratio to "
                 "pgfast with the same features (LinearSoftmax on Identity for the state-action "
                 "row, which learns over phi(s) x psi(a) with psi = eye(2): the same policy).")
        L.append("")
        for key in ("jax", "ceiling"):
            if isinstance(P[key], str):
                L += [f"{key}: {P[key]}", ""]

        L.append("## 3. Time to solve CartPole-v1")
        L.append("")
        L.append(f"Wall time and env steps until the batch mean return first reaches "
                 f"{TARGET_RETURN:g}, from `train()` being called (JAX: after compilation; "
                 "the compile column adds it), same runs and hyperparameters as section 2.")
        L.append("")
        out = []
        for key, label in (("pgfast", "pgfast"), ("numpy", "NumPy + Gymnasium"),
                           ("jax", "JAX + gymnax (jit)"), ("ceiling", "C++ ceiling (no Python)")):
            p = P[key]
            if isinstance(p, str):
                out.append([label, "-", p.split(":")[0], "-", "-", "-", "-"])
                continue
            t = p["solved_time"]
            with_compile = "-"
            if key == "jax" and t and p.get("compile_time"):
                with_compile = f3(t["median"] + p["compile_time"]["median"])
            out.append([label, f"{p['solved']}/{p['runs']}", fm(t, 1.0),
                        fm(p["solved_env_steps"], 1e-3), fm(p["solved_iteration"], 1.0),
                        fx(tr["solve_ratios"].get(key)) if key != "pgfast" else "1x",
                        with_compile])
        L += table(["implementation", "solved", "seconds", "k env steps", "updates",
                    "pgfast x", "seconds incl. compile"], out)
    else:
        L += [str(tr), "", "## 3. Time to solve CartPole-v1", "", str(tr), ""]

    sc = res["sections"].get("scaling")
    L.append("## 4. Scaling")
    L.append("")
    if isinstance(sc, dict):
        ss = sc["settings"]
        L.append("Training runs start from a policy that balances (trained by pgfast beforehand), "
                 "so every row steps episodes of ~500 steps whatever its batch; lr 0.05 Adam, "
                 f"one warm-up update, then {ss['repeats']} timed `train()` calls of about "
                 f"{ss['target_steps_per_repeat']:,} env steps each.")
        L.append("")
        L.append("### Threads (every CPU allowed; identical work for 1 and 2 threads)")
        L.append("")
        out = []
        for r in sc["threads"]:
            what = (f"training, {r['episodes_per_update']} episodes/update"
                    if r["workload"] == "training" else f"env.step {r['env']}, {r['num_envs']} envs")
            ep = r.get("envpool")
            out.append([what, fm(r["threads_1"]), fm(r["threads_2"]), f"{r['speedup']:.2f}x",
                        f"{100 * r['efficiency']:.0f}%",
                        f"{r['threads_1']['cpu_per_wall']:.2f} / {r['threads_2']['cpu_per_wall']:.2f}",
                        "-" if r.get("other_busy_cpus") is None else
                        f"{r['other_busy_cpus']:.2f} (waited {r['waited_s']:.1f} s)",
                        f"{ep['speedup']:.2f}x (pgfast {ep['ratio_threads_2']:.3g}x)" if ep
                        else "-"])
        L += table(["workload", "1 thread", "2 threads", "speed-up", "efficiency",
                    "CPU s per wall s (1 / 2 threads)", "other processes' CPUs before",
                    "EnvPool 2 vs 1 thread (pgfast x EnvPool at 2)"], out)
        L.append("CPU seconds per wall second (this process, every thread): 2.0 with 2 "
                 "threads would mean both ran all the time; the share below 2 is time when only "
                 "one ran, because the engine's work was serial then or because another process "
                 "held the other core (near 1.0: the speed-up was not measurable). "
                 "Before each row the suite waits (up to "
                 f"{res['settings']['thread_wait_s']} s) for other processes to use less "
                 "than a quarter of a CPU, and shows what they used.")
        L.append("")
        L.append("### num_envs (training, one thread, episodes per update = max(num_envs, 16))")
        L.append("")
        L += table(["num_envs", "M steps/s", "ns/step", "mean episode length", "updates timed"],
                   [[str(r["num_envs"]), fm(r), f"{r['ns_per_step']:.0f}",
                     f"{r['mean_episode_length']:.0f}", str(r["iterations_per_repeat"])]
                    for r in sc["num_envs"]])
        L.append("### Episode length (training, one thread, 16 envs, 16 episodes per update)")
        L.append("")
        L += table(["max_episode_steps", "M steps/s", "ns/step", "mean episode length"],
                   [[str(r["max_episode_steps"]), fm(r), f"{r['ns_per_step']:.0f}",
                     f"{r['mean_episode_length']:.0f}"] for r in sc["horizon"]])
    else:
        L += [str(sc), ""]

    mem = res["sections"].get("memory")
    L.append("## 5. Memory")
    L.append("")
    if isinstance(mem, dict):
        L.append(f"A fresh subprocess trains CartPole-v1 (section 2's setup) for "
                 f"{mem['settings']['iterations']} updates and reads VmRSS and VmHWM (peak RSS) "
                 "from /proc/self/status.")
        L.append("")
        out = []
        for mode, label in (("step", "algo.step() x N"), ("train", "algo.train(N)")):
            d = mem.get(mode)
            if not isinstance(d, dict):
                out.append([label, str(d), "-", "-", "-"])
                continue
            by_it = {x["iteration"]: x for x in d["samples"]}
            marks = ", ".join(f"{i}: {by_it[i]['vm_hwm_kib'] / 1024:.1f}"
                              for i in sorted(by_it))
            g = d.get("growth_100_to_end_mib") or {}
            out.append([label, marks, f"{g.get('vm_hwm', float('nan')):+.2f}",
                        f"{g.get('vm_rss', float('nan')):+.2f}", f"{d['last_return_mean']:.0f}"])
        L += table(["mode", "peak RSS MiB at iteration", "peak growth 100→end MiB",
                    "RSS growth 100→end MiB", "last return"], out)
        L.append("`algo.step()` is the engine alone. `algo.train(N)` also builds the History: "
                 "until it returns it holds one Python dict of statistics per iteration (about "
                 "1.5 KiB each by tracemalloc), then packs them into arrays; that growth is the "
                 "data the caller asked for, not a leak.")
        L.append("")
    else:
        L += [str(mem), ""]

    L.append("## Settings")
    L.append("")
    L += [f"- `{k}`: `{json.dumps(v)}`" for k, v in res["settings"].items()]
    L.append("")
    L.append("Every number, per seed and per repeat, is in `latest.json` beside this file.")
    L.append("")
    return "\n".join(L)


# ---------------------------------------------------------------- main


def peer_table(res: dict, envpool: dict, jax_python: str, envpool_python: str) -> list[dict]:
    import gymnasium as gym

    secs = res["sections"]
    st, tr = secs.get("stepping"), secs.get("training")
    rows = [{"name": "pgfast", "status": "ok", "detail": f"pgfast {res['packages']['pgfast']}"}]
    gv = f"gymnasium {gym.__version__}"
    if isinstance(st, dict):
        pend = {str(r["gymnasium_vector"]) for r in st["tables"]["Pendulum-v1"]
                if isinstance(r["gymnasium_vector"], str)}
        rows.append({"name": "Gymnasium vector-entry-point env", "status": "ok (CartPole-v1)"
                     + ("; missing (Pendulum-v1)" if pend else ""),
                     "detail": gv + ("; " + "; ".join(pend) if pend else "")})
        rows.append({"name": "Gymnasium SyncVectorEnv", "status": "ok", "detail": gv})
    if envpool.get("available"):
        rows.append({"name": "EnvPool", "status": "ok",
                     "detail": f"envpool {envpool['envpool']} under {envpool['executable']}"})
    else:
        rows.append({"name": "EnvPool", "status": "missing",
                     "detail": f"{envpool.get('reason')}; EnvPool has Linux x86_64 wheels for "
                               "CPython 3.11 to 3.13 (pip install envpool, here or in another "
                               "venv passed as --envpool-python)"})
    if isinstance(tr, dict):
        rows.append({"name": "NumPy + Gymnasium reference", "status": "ok",
                     "detail": f"numpy {np.__version__}, {gv}"})
        jax = tr["peers"]["jax"]
        rows.append({"name": "JAX + gymnax", "status": "ok" if isinstance(jax, dict) else "missing",
                     "detail": (", ".join(f"{k} {v}" for k, v in jax["versions"].items())
                                + f" under {jax_python}") if isinstance(jax, dict) else
                     f"{jax}; pass --jax-python with an interpreter that has jax, gymnax and six"})
        ceil = tr["peers"]["ceiling"]
        rows.append({"name": "C++ ceiling", "status": "ok" if isinstance(ceil, dict) else "missing",
                     "detail": "benchmarks/limit/reinforce_cartpole.cpp, g++ -O3"
                     if isinstance(ceil, dict) else ceil})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:8]))
    parser.add_argument("--quick", action="store_true",
                        help="short runs, one seed: a smoke test (under a minute)")
    parser.add_argument("--jax-python", default=sys.executable,
                        help="interpreter with jax, gymnax and six (default: this one)")
    parser.add_argument("--envpool-python", default=None,
                        help="interpreter with envpool (default: --jax-python)")
    parser.add_argument("--cpu", type=int, default=None,
                        help="CPU that one-core figures are pinned to (default: the lowest "
                             "this process may use; -1: no pinning)")
    parser.add_argument("--out-dir", default=str(HERE / "results"),
                        help="where latest.md and latest.json go (default benchmarks/results)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=None,
                        help="run only these sections (the others are reported as not run)")
    parser.add_argument("--memory-child", choices=("step", "train"), help=argparse.SUPPRESS)
    parser.add_argument("--memory-iterations", type=int, default=1000, help=argparse.SUPPRESS)
    parser.add_argument("--memory-marks", type=int, nargs="+", default=[100, 1000],
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_iterations, args.memory_marks, args.memory_child)
        return 0

    cfg = dict(QUICK if args.quick else FULL)
    envpool_python = args.envpool_python or args.jax_python
    pin: set[int] | None = None
    can_pin = hasattr(os, "sched_setaffinity")
    if args.cpu is None:
        args.cpu = min(os.sched_getaffinity(0)) if can_pin else -1
    if args.cpu >= 0:
        if not can_pin:
            parser.error("--cpu needs Linux (sched_setaffinity); pass --cpu -1")
        if args.cpu not in os.sched_getaffinity(0):
            parser.error(f"--cpu {args.cpu} is not one of this process's CPUs "
                         f"{sorted(os.sched_getaffinity(0))}")
        pin = {args.cpu}
    out_dir = pathlib.Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    warnings.filterwarnings("ignore", module="gymnasium")

    import pgfast  # noqa: F401  (fail early, before any timing, if it is not installed)

    wall = time.perf_counter()
    only = set(args.only or SECTIONS)
    res: dict[str, Any] = {
        "schema": SCHEMA,
        "command": " ".join(["python", "benchmarks/run.py", *sys.argv[1:]]),
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(), "packages": package_versions(),
        "settings": {"quick": args.quick, "cpu": None if pin is None else args.cpu,
                     "jax_python": args.jax_python, "envpool_python": envpool_python,
                     "sections": sorted(only), "algorithm": ALGO,
                     "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"), **cfg},
        "sections": {}, "section_seconds": {}, "load_average": {},
    }

    envpool: dict = {"available": False, "reason": "not run (--only)"}
    if only & {"stepping", "scaling"}:
        say("EnvPool (subprocess, unpinned)")
        n = cfg["thread_step_envs"]
        envpool = envpool_report(envpool_python, cfg,
                                 [f"{e}:{n}:2" for e in STEP_ENVS] if "scaling" in only else [])

    def run_section(name: str, fn: Any, *fargs: Any) -> None:
        if name not in only:
            res["sections"][name] = "not run (--only)"
            return
        say(f"[{name}]")
        t0 = time.perf_counter()
        res["load_average"][name] = {"before": load_average()}
        try:
            res["sections"][name] = fn(*fargs)
        except Exception as exc:  # noqa: BLE001 - report it and go on with the other sections
            import traceback
            traceback.print_exc()
            res["sections"][name] = f"failed: {type(exc).__name__}: {exc}"
        res["section_seconds"][name] = time.perf_counter() - t0
        res["load_average"][name]["after"] = load_average()

    with affinity(pin):
        run_section("stepping", section_stepping, cfg, envpool)
        run_section("training", section_training, cfg, args.jax_python)
    run_section("scaling", section_scaling, cfg, pin, envpool)
    with affinity(pin):
        run_section("memory", section_memory, cfg)

    res["envpool_raw"] = envpool
    tr = res["sections"].get("training")
    jax = tr["peers"]["jax"] if isinstance(tr, dict) else None
    res["peer_versions"] = {
        "jax": jax["versions"].get("jax") if isinstance(jax, dict) else None,
        "gymnax": jax["versions"].get("gymnax") if isinstance(jax, dict) else None,
        "envpool": envpool.get("envpool"),
    }
    res["peers"] = peer_table(res, envpool, args.jax_python, envpool_python)
    res["targets"] = evaluate_targets(res)
    res["duration_s"] = time.perf_counter() - wall
    res["load_average_at_end"] = load_average()

    (out_dir / "latest.json").write_text(json.dumps(res, indent=1, default=_json_default) + "\n")
    md = render(res)
    (out_dir / "latest.md").write_text(md)
    print(md)
    say(f"wrote {out_dir / 'latest.md'} and {out_dir / 'latest.json'} "
        f"in {res['duration_s']:.0f} s")
    failed = [k for k, v in res["sections"].items() if isinstance(v, str) and
              v.startswith("failed")]
    if failed:
        say(f"sections that failed: {', '.join(failed)}")
    return 1 if failed else 0


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    raise TypeError(type(x).__name__)


if __name__ == "__main__":
    sys.exit(main())
