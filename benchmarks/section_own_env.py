"""Section 6: your own env. CartPole trained through each door pgfast has for an env it
does not ship (README, "Bring your own environment"), against the built-in CartPole; a
Fourier map written in Python (``pg.features.Custom``) against the built-in one; and
what numba's compilation costs a fresh process.

Every door trains with the same algorithm (common.ALGO) on the linear softmax over
Identity(4), except where a row says otherwise; the rate is env steps (the steps of the
recorded episodes) over the wall time of ``train()``, the env built before the clock.
"""

from __future__ import annotations

import importlib.util
import pathlib
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import machine  # noqa: F401  (first: one BLAS thread, set before NumPy loads)

# isort: split

import numpy as np
import reference_numpy
from bench_train import train_run
from common import ALGO, ratio, run_json, say, spread
from custom_fourier import fourier_direct, fourier_product_tree
from section_training import summarise_runs

HERE = pathlib.Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "examples" / "native_cartpole.py"
ORDER = 3
CHECK_OBSERVATIONS = 4000
CHECK_TOLERANCE = 1e-12
NO_NUMBA = 'missing: numba is not installed (pip install "pgfast-rl[numba]")'
# The fast doors against the built-in env; the slow ones against the callback door.
VS_BUILTIN = ("native", "vector_256", "vector_16", "callback")
VS_CALLBACK = ("builtin", "native", "vector_256", "vector_16")


@dataclass
class Door:
    """One row: the env for a seed, the feature map, updates, and the batch."""

    make_env: Callable[[int], Any]
    phi: Any
    iterations: int
    num_envs: int = 16
    episodes: int = 16


def load_example(path: pathlib.Path = EXAMPLE) -> ModuleType:
    """examples/native_cartpole.py as a module (examples/ is not a package); importing
    it compiles its NativeEnv ``CARTPOLE``."""
    spec = importlib.util.spec_from_file_location("native_cartpole", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered as an import would: numba's cache, loading a function, imports its
    # module by name (unregistered, the warm load fails: "No module named '<dynamic>'").
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def example_copy(directory: pathlib.Path, cache: bool) -> pathlib.Path:
    """A copy of the example in ``directory``, with ``cache=True`` added to its
    ``CARTPOLE = pg.NativeEnv(...)`` call when ``cache``: numba keeps its cache in
    ``__pycache__`` beside the file, so a fresh directory is a cold cache, and
    examples/ itself is left alone."""
    text = EXAMPLE.read_text()
    if cache:
        head, call, tail = text.partition("CARTPOLE = pg.NativeEnv(")
        close = tail.find("\n)\n")
        if not call or close < 0:
            raise ValueError(f"{EXAMPLE.name} no longer has 'CARTPOLE = pg.NativeEnv(...\\n)'")
        text = head + call + tail[:close].rstrip().rstrip(",") + ",\n    cache=True," + tail[close:]
    directory.mkdir(parents=True)
    path = directory / EXAMPLE.name
    path.write_text(text)
    shutil.copystat(EXAMPLE, path)
    return path


def compile_child(path: pathlib.Path, cache: bool) -> dict:
    data, error = run_json([sys.executable, str(HERE / "own_env_compile.py"), str(path)], 300)
    if data is None:
        raise RuntimeError(f"own_env_compile.py {path.name} failed: {error}")
    if data["cache"] != cache:
        raise RuntimeError(f"{path}: CARTPOLE.cache is {data['cache']}, expected {cache}")
    return data


def compile_times(repeats: int) -> dict:
    """Seconds a fresh process takes to import pgfast and numba and build the example's
    NativeEnv: without numba's cache, with it the first time (cold) and the second
    (warm, same file), each in its own subprocess, ``repeats`` times."""
    cases: dict[str, list[dict]] = {"no_cache": [], "cache_cold": [], "cache_warm": []}
    cache_files = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="pgfast-own-env-") as tmp:
            plain = example_copy(pathlib.Path(tmp) / "plain", cache=False)
            cached = example_copy(pathlib.Path(tmp) / "cached", cache=True)
            cases["no_cache"].append(compile_child(plain, False))
            cases["cache_cold"].append(compile_child(cached, True))
            # What the cold run left for the warm one (numba's .nbc: compiled code).
            cache_files.append(len(list((cached.parent / "__pycache__").glob("*.nbc"))))
            cases["cache_warm"].append(compile_child(cached, True))
    keys = ("total_s", "import_pgfast_s", "import_numba_s", "build_s")
    out: dict[str, Any] = {
        case: {**{k: spread([r[k] for r in runs]) for k in keys}, "runs": runs}
        for case, runs in cases.items()
    }
    out["numba_cache_files"] = cache_files
    return out


def fourier_check(maps: dict[str, Any], builtin: Any) -> dict[str, float]:
    """The largest |Custom - built-in| of each map over random observations in the
    box widened by a quarter of its width on each side (so clipping is covered)."""
    low, high = np.array(reference_numpy.CARTPOLE_LOW), np.array(reference_numpy.CARTPOLE_HIGH)
    width = high - low
    obs = np.random.default_rng(0).uniform(
        low - width / 4, high + width / 4, size=(CHECK_OBSERVATIONS, len(low))
    )
    expected = builtin(obs)
    return {key: float(np.max(np.abs(phi(obs) - expected))) for key, phi in maps.items()}


def make_doors(cfg: dict, numba: bool) -> tuple[dict[str, Door | str], dict[str, float]]:
    """Every row (or why it is missing) and the Fourier maps' differences."""
    import gymnasium as gym

    import pgfast as pg

    fast, slow = cfg["own_env_iterations"], cfg["own_env_slow_iterations"]
    identity = pg.features.Identity(4)

    def vector(n: int) -> Callable[[int], Any]:
        return lambda s: pg.GymnasiumVectorEnv(
            gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="vector_entry_point"),
            seed=s,
        )

    def builtin(s: int) -> Any:
        return pg.make("CartPole-v1", num_envs=16, seed=s)

    doors: dict[str, Door | str] = {"builtin": Door(builtin, identity, fast)}
    if numba:
        cartpole = load_example().CARTPOLE
        doors["native"] = Door(lambda s: pg.make(cartpole, num_envs=16, seed=s), identity, fast)
    else:
        doors["native"] = NO_NUMBA
    # One episode per env per update: every env's episode is recorded, none wasted
    # (with 16 episodes, 240 of the 256 envs would step unrecorded).
    doors["vector_256"] = Door(vector(256), identity, slow, num_envs=256, episodes=256)
    doors["vector_16"] = Door(vector(16), identity, slow)
    doors["callback"] = Door(
        lambda s: pg.GymnasiumEnv(gym.make("CartPole-v1"), seed=s), identity, slow, num_envs=1
    )

    its = cfg["own_env_fourier_iterations"]
    low, high = reference_numpy.CARTPOLE_LOW, reference_numpy.CARTPOLE_HIGH
    fourier = pg.features.Fourier(ORDER, low, high)
    doors["fourier_builtin"] = Door(builtin, fourier, its)
    if not numba:
        doors["fourier_tree"] = doors["fourier_direct"] = NO_NUMBA
        return doors, {}
    custom = {}
    for key, write in (("fourier_tree", fourier_product_tree), ("fourier_direct", fourier_direct)):
        fn, n = write(ORDER, low, high)
        custom[key] = pg.features.Custom(fn, n_features=n, obs_dim=4)
    diffs = fourier_check(custom, fourier)
    for key, phi in custom.items():
        ok = diffs[key] <= CHECK_TOLERANCE
        doors[key] = (
            Door(builtin, phi, its)
            if ok
            else f"failed: differs from the built-in map by {diffs[key]:.3g} (> {CHECK_TOLERANCE:g})"
        )
    return doors, diffs


def run(cfg: dict) -> dict:
    seeds = cfg["own_env_seeds"]
    numba = importlib.util.find_spec("numba") is not None
    say("  building the doors (numba compiles the NativeEnv and the Custom maps)")
    doors, diffs = make_doors(cfg, numba)
    measured = {k: d for k, d in doors.items() if isinstance(d, Door)}

    def train(door: Door, seed: int, iterations: int) -> dict:
        env = door.make_env(seed)
        try:
            return train_run(env, door.phi, seed, iterations, episodes_per_update=door.episodes)
        finally:
            env.close()

    # Warm-ups, then the doors interleaved seed by seed, so that a machine whose speed
    # drifts slows every door alike.
    for door in measured.values():
        train(door, 0, 2)
    runs: dict[str, list[dict]] = {k: [] for k in measured}
    for seed in seeds:
        say(f"  seed {seed}: {', '.join(measured)}")
        for key, door in measured.items():
            runs[key].append(train(door, seed, door.iterations))
    results: dict[str, Any] = {}
    for key, door in doors.items():
        if isinstance(door, str):
            results[key] = door
            continue
        results[key] = {
            **summarise_runs(runs[key], door.episodes),
            "num_envs": door.num_envs,
            "episodes_per_update": door.episodes,
            "iterations": door.iterations,
        }

    def rate(key: str) -> dict | None:
        r = results[key]
        return r["steps_per_second"] if isinstance(r, dict) else None

    ratios: dict[str, float | None] = {}
    for key in VS_BUILTIN:
        ratios[f"{key}_vs_builtin"] = ratio(rate(key), rate("builtin"))
    for key in VS_CALLBACK:
        ratios[f"{key}_vs_callback"] = ratio(rate(key), rate("callback"))
    for key in ("fourier_tree", "fourier_direct"):
        ratios[f"{key}_vs_builtin"] = ratio(rate(key), rate("fourier_builtin"))

    say(f"  compile time, fresh subprocesses x {cfg['own_env_compile_repeats']}")
    compile_ = compile_times(cfg["own_env_compile_repeats"]) if numba else NO_NUMBA
    return {
        "settings": {
            "env": "CartPole-v1",
            **ALGO,
            "features": "identity ([s, 1], 5) unless fourier_*",
            "theta0": "zeros",
            "seeds": seeds,
            "iterations": cfg["own_env_iterations"],
            "slow_iterations": cfg["own_env_slow_iterations"],
            "fourier": {
                "order": ORDER,
                "n_features": (ORDER + 1) ** 4,
                "low": reference_numpy.CARTPOLE_LOW,
                "high": reference_numpy.CARTPOLE_HIGH,
                "iterations": cfg["own_env_fourier_iterations"],
            },
            "native_env": "examples/native_cartpole.py's CARTPOLE",
            "compile_repeats": cfg["own_env_compile_repeats"],
        },
        "doors": results,
        "ratios": ratios,
        "fourier_check": {
            "observations": CHECK_OBSERVATIONS,
            "tolerance": CHECK_TOLERANCE,
            "max_abs_diff": diffs,
        },
        "compile": compile_,
    }
