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

The work lives beside this file, one module per job: ``machine.py`` (the machine,
pinning), ``section_stepping.py``, ``section_training.py``, ``section_scaling.py``,
``section_memory.py``, ``section_own_env.py`` (``custom_fourier.py`` and
``own_env_compile.py`` serve it), ``section_distributed.py`` (the sections),
``targets.py`` with ``targets.json`` (the
targets and their grading), ``report.py`` (the Markdown) and ``peers.py``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import pathlib
import sys
import time
import warnings
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# First, before anything imports NumPy: importing machine sets one BLAS thread.
import machine  # noqa: E402

# isort: split

import numpy as np  # noqa: E402
import report  # noqa: E402
import section_distributed  # noqa: E402
import section_memory  # noqa: E402
import section_own_env  # noqa: E402
import section_scaling  # noqa: E402
import section_stepping  # noqa: E402
import section_training  # noqa: E402
from common import ALGO, FULL, QUICK, SECTIONS, STEP_ENVS, say  # noqa: E402
from machine import affinity, load_average, machine_info, package_versions  # noqa: E402
from peers import envpool_report, peer_table  # noqa: E402
from targets import evaluate_targets  # noqa: E402

SCHEMA = 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:8]),
    )
    parser.add_argument(
        "--quick", action="store_true", help="short runs, one seed: a smoke test (under a minute)"
    )
    parser.add_argument(
        "--jax-python",
        default=sys.executable,
        help="interpreter with jax, gymnax and six (default: this one)",
    )
    parser.add_argument(
        "--envpool-python", default=None, help="interpreter with envpool (default: --jax-python)"
    )
    parser.add_argument(
        "--cpu",
        type=int,
        default=None,
        help="CPU that one-core figures are pinned to (default: the lowest "
        "this process may use; -1: no pinning)",
    )
    parser.add_argument(
        "--out-dir",
        default=str(HERE / "results"),
        help="where latest.md and latest.json go (default benchmarks/results)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SECTIONS,
        default=None,
        help="run only these sections (the others are reported as not run)",
    )
    parser.add_argument("--memory-child", choices=("step", "train"), help=argparse.SUPPRESS)
    parser.add_argument("--memory-iterations", type=int, default=1000, help=argparse.SUPPRESS)
    parser.add_argument(
        "--memory-marks", type=int, nargs="+", default=[100, 1000], help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.memory_child:
        section_memory.memory_child(args.memory_iterations, args.memory_marks, args.memory_child)
        return 0

    cfg = dict(QUICK if args.quick else FULL)
    envpool_python = args.envpool_python or args.jax_python
    args.cpu, pin = machine.resolve_pin(args.cpu, parser.error)
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
        "machine": machine_info(),
        "packages": package_versions(),
        "settings": {
            "quick": args.quick,
            "cpu": None if pin is None else args.cpu,
            "jax_python": args.jax_python,
            "envpool_python": envpool_python,
            "sections": sorted(only),
            "algorithm": ALGO,
            "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            **cfg,
        },
        "sections": {},
        "section_seconds": {},
        "load_average": {},
    }

    envpool: dict = {"available": False, "reason": "not run (--only)"}
    if only & {"stepping", "scaling"}:
        say("EnvPool (subprocess, unpinned)")
        n = cfg["thread_step_envs"]
        envpool = envpool_report(
            envpool_python, cfg, [f"{e}:{n}:2" for e in STEP_ENVS] if "scaling" in only else []
        )

    def run_section(name: str, fn: Any, *fargs: Any) -> None:
        if name not in only:
            res["sections"][name] = "not run (--only)"
            return
        say(f"[{name}]")
        t0 = time.perf_counter()
        res["load_average"][name] = {"before": load_average()}
        try:
            res["sections"][name] = fn(*fargs)
        except Exception as exc:  # report it and go on with the other sections
            import traceback

            traceback.print_exc()
            res["sections"][name] = f"failed: {type(exc).__name__}: {exc}"
        res["section_seconds"][name] = time.perf_counter() - t0
        res["load_average"][name]["after"] = load_average()

    with affinity(pin):
        run_section("stepping", section_stepping.run, cfg, envpool)
        run_section("training", section_training.run, cfg, args.jax_python)
    run_section("scaling", section_scaling.run, cfg, pin, envpool)
    with affinity(pin):
        run_section("memory", section_memory.run, cfg)
        run_section("own_env", section_own_env.run, cfg)
    # Ray's processes need both cores: not pinned.
    run_section("distributed", section_distributed.run, cfg)

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
    md = report.render(res)
    (out_dir / "latest.md").write_text(md)
    print(md)
    say(f"wrote {out_dir / 'latest.md'} and {out_dir / 'latest.json'} in {res['duration_s']:.0f} s")
    failed = [
        k for k, v in res["sections"].items() if isinstance(v, str) and v.startswith("failed")
    ]
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
