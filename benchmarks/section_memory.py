"""Section 5: memory over 1000 training updates, measured in a fresh subprocess.

The subprocess is ``run.py --memory-child MODE`` (hidden options), which calls
:func:`memory_child`.
"""

from __future__ import annotations

import json
import pathlib
import sys
import time
from typing import Any

import machine  # noqa: F401  (first: one BLAS thread, set before NumPy loads)

# isort: split

from common import ALGO, run_json, say

RUN = pathlib.Path(__file__).resolve().parent / "run.py"


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
        samples.append(
            {
                "iteration": it,
                "vm_rss_kib": _status_kib("VmRSS"),
                "vm_hwm_kib": _status_kib("VmHWM"),
                "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )

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
    print(
        json.dumps(
            {
                "mode": mode,
                "iterations": iterations,
                "samples": samples,
                "seconds": time.perf_counter() - start,
                "last_return_mean": float(returns[-1]),
            }
        )
    )


def run(cfg: dict) -> dict:
    out: dict[str, Any] = {
        "settings": {
            "env": "CartPole-v1",
            **ALGO,
            "theta0": "zeros",
            "iterations": cfg["memory_iterations"],
            "marks": cfg["memory_marks"],
            "process": "a fresh subprocess per mode",
        }
    }
    for mode in ("step", "train"):
        say(f"  {cfg['memory_iterations']} iterations, algo.{mode}()")
        data, error = run_json(
            [
                sys.executable,
                str(RUN),
                "--memory-child",
                mode,
                "--memory-iterations",
                str(cfg["memory_iterations"]),
                "--memory-marks",
                *map(str, cfg["memory_marks"]),
            ]
        )
        if data is None:
            out[mode] = f"failed: {error}"
            continue
        by_it = {s["iteration"]: s for s in data["samples"]}
        lo, hi = by_it.get(100), by_it.get(cfg["memory_iterations"])
        if lo and hi:
            data["growth_100_to_end_mib"] = {
                "vm_hwm": (hi["vm_hwm_kib"] - lo["vm_hwm_kib"]) / 1024,
                "vm_rss": (hi["vm_rss_kib"] - lo["vm_rss_kib"]) / 1024,
            }
        out[mode] = data
    return out
