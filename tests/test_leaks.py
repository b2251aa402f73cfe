"""Memory stays flat over long loops: make/step/close, training, save/load.

Each scenario runs in a fresh interpreter (its RSS is not the test
session's) and reads VmRSS from /proc/self/status after a warm-up (which
fills Python's and malloc's free lists, the engine's buffers and numpy's
caches) and again after the loop, with ``gc.collect()`` before each reading.
It also records the growth after each tenth of the loop, printed with a
failure, so that a steady climb is told apart from a one-off step.

The bounds: RSS moves in 4 KiB pages and malloc keeps freed memory, so a
clean loop still shows tens to a few hundred KiB of jitter (measured, see
each test). Each bound sits several times above what was measured and
several times below what a leak of a few hundred bytes per iteration would
add over the loop; the arithmetic is next to each bound.

Skipped under AddressSanitizer: its quarantine holds freed memory back by
design (RSS grows by up to 256 MiB on clean code); LeakSanitizer checks
leaks in that run instead.
"""

from __future__ import annotations

import json
import sys
import textwrap

import pytest
from _subprocess import run_isolated, under_asan

KiB = 1024
MiB = 1024 * KiB


pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status"),
    pytest.mark.skipif(
        under_asan(),
        reason="AddressSanitizer's quarantine inflates RSS; LeakSanitizer checks leaks in that run",
    ),
]

HARNESS = r"""
import gc, json, os, time
import numpy as np
import pgfast as pg

def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) * 1024

def open_fds():
    return len(os.listdir("/proc/self/fd"))

def measure(name, fn, *, warmup, n):
    for _ in range(warmup):
        fn()
    gc.collect()
    before, fds = rss(), open_fds()
    start = time.perf_counter()
    trace = []
    for _ in range(10):
        for _ in range(n // 10):
            fn()
        gc.collect()
        trace.append(rss() - before)
    print(json.dumps({"name": name, "n": n, "growth": trace[-1], "trace_kib":
                      [t // 1024 for t in trace], "fd_growth": open_fds() - fds,
                      "seconds": round(time.perf_counter() - start, 2)}), flush=True)
"""


def run_scenarios(code: str, timeout: float = 180) -> dict[str, dict]:
    out = run_isolated(HARNESS + textwrap.dedent(code), timeout=timeout)
    results = {}
    for line in out.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            results[row["name"]] = row
            print(
                f"{row['name']}: {row['n']} iterations, RSS growth {row['growth'] / KiB:.0f} "
                f"KiB (per tenth: {row['trace_kib']} KiB), fds {row['fd_growth']:+d}, "
                f"{row['seconds']} s"
            )
    return results


def check(row: dict, bound: int) -> None:
    assert row["fd_growth"] == 0, f"{row['name']} leaked file descriptors: {row}"
    assert row["growth"] < bound, (
        f"{row['name']}: RSS grew by {row['growth'] / KiB:.0f} KiB over {row['n']} iterations "
        f"(bound {bound / KiB:.0f} KiB; {row['growth'] / row['n']:.0f} bytes per iteration); "
        f"growth after each tenth of the loop, KiB: {row['trace_kib']}"
    )


def test_make_step_close_cycles_do_not_leak():
    results = run_scenarios("""
        ids = ["CartPole-v1", "Pendulum-v1", "Acrobot-v1", "MountainCar-v0",
               "MountainCarContinuous-v0", "FrozenLake-v1", "CliffWalking-v1", "Bandit",
               "ContinuousBandit", "LQR"]
        extra = {"Bandit": {"means": [0.0, 1.0]}, "ContinuousBandit": {"a_star": [0.5]},
                 "LQR": {"A": np.eye(2), "B": np.ones((2, 1)), "Q": np.eye(2), "R": np.eye(1)}}
        count = [0]
        def cycle():
            k = count[0] = count[0] + 1
            env_id = ids[k % len(ids)]
            env = pg.make(env_id, num_envs=4, seed=k, num_threads=1 + k % 2,
                          **extra.get(env_id, {}))
            env.reset(seed=k)
            env.action_space.seed(k)
            for _ in range(3):
                env.step(env.action_space.sample())
            env.set_state(env.get_state())
            env.close()
        measure("make/step/close", cycle, warmup=1000, n=10_000)

        env = pg.make("CartPole-v1", num_envs=4, seed=0)
        env.reset(seed=0)
        bad = [np.zeros(4), np.full(4, 7), np.zeros((4, 2), dtype=np.int64), None, "x"]
        def refused():
            for actions in bad:
                try:
                    env.step(actions)
                except (TypeError, ValueError):
                    pass
                else:
                    raise AssertionError("a bad action was accepted")
        measure("refused steps (5 errors each)", refused, warmup=1000, n=10_000)
    """)
    # Measured: 100-300 KiB for 10^4 cycles of make/step/close, 0-150 KiB for
    # 5 * 10^4 refused calls, all of it in the first tenth (allocator
    # settling). 1 MiB over 10^4 cycles is 105 bytes per cycle: a leaked env
    # (hundreds of bytes to KiB) or a leaked exception object (~500 bytes)
    # per cycle would add 3-50 MiB.
    check(results["make/step/close"], 1 * MiB)
    check(results["refused steps (5 errors each)"], 1 * MiB)


def test_training_iterations_do_not_leak():
    results = run_scenarios("""
        def trainer(env, policy, **kw):
            algo = pg.Reinforce(env, policy, seed=0, **kw)
            return lambda: algo.train(1)
        cart = pg.make("CartPole-v1", num_envs=4, seed=0, max_episode_steps=50)
        pend = pg.make("Pendulum-v1", num_envs=2, seed=0, max_episode_steps=30, num_threads=2)
        lake = pg.make("FrozenLake-v1", num_envs=4, seed=0)
        measure("softmax adam", trainer(cart, pg.LinearSoftmax(pg.features.Identity(4), 2),
                                        episodes_per_update=4), warmup=500, n=10_000)
        measure("gaussian natural", trainer(pend, pg.LinearGaussian(pg.features.Identity(3), 1),
                                            episodes_per_update=4, optimizer="natural",
                                            lr=0.01), warmup=500, n=10_000)
        measure("tabular gae", trainer(lake, pg.LinearSoftmax(pg.features.OneHot(16), 4),
                                       episodes_per_update=4, returns="gae"),
                warmup=500, n=10_000)
        measure("online sgd", trainer(cart, pg.LinearSoftmax(pg.features.Identity(4), 2),
                                      episodes_per_update=4, update="online", optimizer="sgd",
                                      lr=0.01), warmup=500, n=10_000)
        policy = pg.LinearSoftmax(pg.features.Identity(4), 2)
        algo = pg.Reinforce(cart, policy, seed=0, episodes_per_update=4)
        def data_calls():
            algo.gradient(4)
            pg.evaluate(cart, policy, episodes=4, seed=0)
            pg.rollout(cart, policy, episodes=4, seed=0)
        measure("gradient/evaluate/rollout", data_calls, warmup=500, n=10_000)
    """)
    # 10^4 iterations each (the issue asks for 10^3; these loops take well
    # under a second, and ten times more iterations makes a small leak ten
    # times easier to see). Measured: 0-80 KiB per configuration, all of it
    # in the first tenth of the loop (the engine reuses its buffers).
    # 512 KiB over 10^4 iterations is 52 bytes per iteration: a leaked
    # statistics dict (~1 KiB), numpy array (>= 112 bytes) or per-episode
    # buffer would add 1-10 MiB.
    for row in results.values():
        check(row, 512 * KiB)


def test_save_load_cycles_do_not_leak(tmp_path):
    results = run_scenarios(f"""
        import zipfile
        folder = {str(tmp_path)!r}
        path = os.path.join(folder, "p.npz")
        env = pg.make("Pendulum-v1", seed=0)
        policy = pg.LinearGaussian(pg.features.Fourier(2, [-1, -1, -8], [1, 1, 8]), 1,
                                   log_std=-0.5)
        policy.save(path, env=env)
        with open(path, "rb") as f:
            good = f.read()
        truncated = os.path.join(folder, "truncated.npz")
        with open(truncated, "wb") as f:
            f.write(good[: len(good) // 2])
        junk = os.path.join(folder, "junk.npz")
        with zipfile.ZipFile(junk, "w") as z:
            z.writestr("metadata.npy", b"not an array")
            z.writestr("theta.npy", b"\\x93NUMPY garbage")
        def cycle():
            policy.save(path, env=env)
            back = pg.load_policy(path, env=env)
            assert back.theta.shape == policy.theta.shape
            for bad in (truncated, junk):
                try:
                    pg.load_policy(bad)
                except ValueError:
                    pass
                else:
                    raise AssertionError("a corrupt file loaded")
        measure("save/load (+2 corrupt loads)", cycle, warmup=100, n=1000)
    """)
    # Measured: 12-40 KiB over 1000 cycles, all in the first tenth. 256 KiB
    # over 1000 cycles is 262 bytes per cycle: a leaked policy, feature map,
    # archive or exception with its traceback (KiBs each) would add several
    # MiB; a leaked file handle fails the fd check.
    check(results["save/load (+2 corrupt loads)"], 256 * KiB)
