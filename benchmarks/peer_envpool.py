"""EnvPool's env.step throughput from Python, for benchmarks/run.py.

EnvPool cannot share a venv with pgfast's dev install, so run.py runs this
script with the interpreter that has it (``--envpool-python``) and reads one
JSON object from stdout. The timing is pgfast's own (``_steps_per_second`` in
python/pgfast/_bench.py, loaded from the file given by ``--timing-module``
without importing pgfast), so EnvPool is timed exactly like every other peer:
pre-drawn random actions, one warm-up call, median/min/max over repeats.

    python benchmarks/peer_envpool.py --timing-module python/pgfast/_bench.py \
        --envs CartPole-v1 Pendulum-v1 --sizes 1 16 256 4096 --threads 1

EnvPool runs in sync mode (batch_size = num_envs) with the gymnasium API.
Without EnvPool the object says ``"available": false`` and why; exit status 0.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
import warnings


def load_timing(path: str):
    """pgfast/_bench.py as a module, without importing the pgfast package."""
    spec = importlib.util.spec_from_file_location("pgfast_bench_timing", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timing-module", required=True, help="path of pgfast/_bench.py")
    parser.add_argument("--envs", nargs="+", default=["CartPole-v1", "Pendulum-v1"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 256, 4096])
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[1],
        help="EnvPool num_threads values to time at every size",
    )
    parser.add_argument(
        "--extra", nargs="*", default=[], help="extra env:num_envs:num_threads triples to time"
    )
    parser.add_argument("--budget", type=float, default=0.3, help="seconds per repeat")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    try:
        import envpool
        import numpy as np
    except ImportError as exc:
        print(
            json.dumps(
                {"available": False, "reason": f"envpool not importable by {sys.executable}: {exc}"}
            )
        )
        return
    timing = load_timing(args.timing_module)
    warnings.filterwarnings("ignore")  # gymnasium's Box precision warnings on make

    configs = [(e, n, t) for e in args.envs for n in args.sizes for t in args.threads]
    for triple in args.extra:
        env_id, n, t = triple.split(":")
        configs.append((env_id, int(n), int(t)))
    results = []
    for env_id, n, threads in configs:
        t0 = time.perf_counter()
        try:
            env = envpool.make(
                env_id, env_type="gymnasium", num_envs=n, batch_size=n, num_threads=threads, seed=0
            )
        except Exception as exc:  # an env EnvPool lacks: report it, go on
            results.append(
                {
                    "env": env_id,
                    "num_envs": n,
                    "num_threads": threads,
                    "error": f"{type(exc).__name__}: {exc}",
                }
            )
            continue
        make_seconds = time.perf_counter() - t0
        env.reset()
        rng = np.random.default_rng(0)
        space = env.action_space
        if hasattr(space, "n"):
            actions = [rng.integers(0, space.n, size=n).astype(np.int32) for _ in range(64)]
        else:
            actions = [
                rng.uniform(space.low, space.high, size=(n, *space.shape)).astype(np.float32)
                for _ in range(64)
            ]
        rate = timing._steps_per_second(timing._stepper(env, actions), n, args.budget, args.repeats)
        env.close()
        results.append(
            {
                "env": env_id,
                "num_envs": n,
                "num_threads": threads,
                "median": rate.median,
                "min": rate.low,
                "max": rate.high,
                "make_seconds": make_seconds,
            }
        )
    print(
        json.dumps(
            {
                "available": True,
                "envpool": envpool.__version__,
                "numpy": np.__version__,
                "python": sys.version.split()[0],
                "executable": sys.executable,
                "budget": args.budget,
                "repeats": args.repeats,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
