"""Ctrl-C during a long C++ call returns control within a second and
leaves the parameters at the last completed update.

Each scenario runs in a child interpreter that prints "ready" and starts a
call far too long to finish (10**8 episodes; for training, a few small
updates first, then updates of 10**5 episodes, so the signal lands inside
an update's C++ rollout); the parent waits 0.5 s and sends SIGINT. The
child catches KeyboardInterrupt and reports, as JSON:

- when the signal arrived, from ``signal.set_wakeup_fd`` (written by the C
  signal handler the moment the signal is delivered, read by a helper
  thread), and when KeyboardInterrupt reached the caller; the latency is
  the difference. The parent also measures send-to-catch on the shared
  monotonic clock, which does not depend on the child's GIL;
- whether the parameters equal the copy taken after the last completed
  update (by the training callback), and, if not, whether they are those
  of the next update (the run is replayed: training is deterministic);
- whether the objects are usable afterwards (the env is not left marked
  busy).

A last test uses short updates (~0.4 ms, under the engine's 20 ms polling
interval), where Ctrl-C is seen as an update returns: that update must be
counted (``iterations_done``) or undone, never applied and uncounted.

The 1-second bound is a test of responsiveness, not of speed: the engine
polls for signals between rounds of episodes (every 20 ms at most).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from _subprocess import PRELUDE, describe_returncode

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")

CHILD = r"""
import json, signal, socket, threading, time
import numpy as np
import pgfast as pg

arrived = []
reader, writer = socket.socketpair()
writer.setblocking(False)
signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)

def watch():
    reader.recv(1)
    arrived.append(time.monotonic())

threading.Thread(target=watch, daemon=True).start()

snap = {"theta": None, "log_std": None, "completed": 0}
def take(policy):
    snap["theta"] = policy.theta.copy()
    if isinstance(policy, pg.LinearGaussian):
        snap["log_std"] = policy.log_std.copy()

def callback_for(policy):
    def callback(stats):
        take(policy)
        snap["completed"] += 1
    return callback

report = {"interrupted": False}
"""

RUN = r"""
if snap["theta"] is None:
    take(policy)
print("ready", flush=True)
start = time.monotonic()
try:
    long_call()
except KeyboardInterrupt:
    report["caught"] = time.monotonic()
    report["interrupted"] = True
except BaseException as exc:
    report["caught"] = time.monotonic()
    report["exception"] = f"{type(exc).__name__}: {exc}"
else:
    report["returned_after"] = time.monotonic() - start
time.sleep(0.05)  # let the watcher thread record the arrival
report["arrived"] = arrived[0] if arrived else None
if policy is not None:
    report["consistent"] = bool(np.array_equal(policy.theta, snap["theta"]) and (
        snap["log_std"] is None or np.array_equal(policy.log_std, snap["log_std"])))
    report["completed"] = snap["completed"]
    report["iterations_done"] = getattr(algo, "iterations_done", None)
    if not report["consistent"] and "build" in globals() and report["iterations_done"] is not None:
        # Replay (training is deterministic): is theta that of the next update,
        # which then ran to completion without being counted?
        _, twin, twin_algo = build()
        twin_algo.train(report["iterations_done"] + 1)
        report["theta_is_the_uncounted_next_update"] = bool(np.array_equal(policy.theta,
                                                                            twin.theta))
try:
    after()
    report["usable_after"] = True
except BaseException as exc:
    report["usable_after"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(report), flush=True)
"""

# A few updates with a small batch first (completed and counted), then a
# call whose first update alone takes far longer than 0.5 s: the signal
# lands in its rollout, which the engine polls every 20 ms.
WARM_UP = """
        warm_algo = pg.Reinforce(env, policy, episodes_per_update=8, seed=1, **settings)
        warm_algo.train(3)
        take(policy)
        algo = pg.Reinforce(env, policy, seed=0, **settings, **long_batch)
        long_call = lambda: algo.train(10**9, callback=callback_for(policy))
        def after():
            warm_algo.train(1)  # the env is not left marked busy
            algo.gradient(2)    # nor is the interrupted engine broken
"""

SCENARIOS = {
    "train": """
        env = pg.make("Acrobot-v1", num_envs=4, seed=0)
        policy = pg.LinearSoftmax(pg.features.Identity(6), 3)
        settings, long_batch = {}, {"episodes_per_update": 10**5}
    """
    + WARM_UP,
    "train with 2 threads, natural gradient": """
        env = pg.make("Acrobot-v1", num_envs=4, seed=0, num_threads=2)
        policy = pg.LinearSoftmax(pg.features.Identity(6), 3)
        settings, long_batch = {"optimizer": "natural"}, {"episodes_per_update": 10**5}
    """
    + WARM_UP,
    # A Gaussian policy by step count: a 64-dimensional LQR (slow steps, so
    # that 0.5 s of buffered steps stays near 100 MB).
    "train, Gaussian, steps_per_update": """
        rng = np.random.default_rng(0)
        n = 64
        env = pg.make("LQR", A=0.9 * np.eye(n), B=rng.normal(size=(n, 1)) / 8, Q=np.eye(n),
                      R=np.eye(1), num_envs=4, seed=0)
        policy = pg.LinearGaussian(pg.features.Identity(n), 1, log_std=-1.0)
        settings, long_batch = {"lr": 1e-3}, {"steps_per_update": 10**9}
    """
    + WARM_UP,
    # Williams' online form: an update after every episode, here 10**6
    # episodes in one iteration.
    "train, online updates": """
        env = pg.make("Acrobot-v1", num_envs=4, seed=0)
        policy = pg.LinearSoftmax(pg.features.Identity(6), 3)
        settings = {"update": "online", "optimizer": "sgd", "lr": 1e-4}
        long_batch = {"episodes_per_update": 10**6}
    """
    + WARM_UP,
    # A Gymnasium env stepped in Python: the signal arrives while Python
    # code (the env's step) runs inside the engine's rollout.
    "train on a Python-stepped Gymnasium env": """
        import gymnasium as gym
        env = pg.GymnasiumEnv(gym.make("CartPole-v1"), seed=0)
        policy = pg.LinearSoftmax(pg.features.Identity(4), 2)
        settings, long_batch = {}, {"episodes_per_update": 10**5}
    """
    + WARM_UP,
    "gradient": """
        env = pg.make("Acrobot-v1", num_envs=4, seed=0)
        policy = pg.LinearSoftmax(pg.features.Identity(6), 3)
        algo = pg.Reinforce(env, policy, seed=0)
        long_call = lambda: algo.gradient(10**8)
        after = lambda: algo.gradient(4)
    """,
    "fisher": """
        env = pg.make("Acrobot-v1", num_envs=4, seed=0)
        policy = pg.LinearSoftmax(pg.features.Identity(6), 3)
        algo = pg.Reinforce(env, policy, seed=0, optimizer="natural")
        long_call = lambda: algo.fisher(10**8)
        after = lambda: algo.fisher(4)
    """,
    "evaluate": """
        env = pg.make("Acrobot-v1", num_envs=4, seed=0)
        policy = pg.LinearSoftmax(pg.features.Identity(6), 3)
        algo = None
        long_call = lambda: pg.evaluate(env, policy, episodes=10**8, seed=0)
        after = lambda: pg.evaluate(env, policy, episodes=4, seed=0)
    """,
    # Rollouts keep every step (~180 bytes each): Acrobot's slow physics
    # keeps 0.5 s of it near 100 MB.
    "rollout": """
        env = pg.make("Acrobot-v1", num_envs=1, seed=0)
        policy = pg.LinearSoftmax(pg.features.Identity(6), 3)
        algo = None
        long_call = lambda: pg.rollout(env, policy, episodes=10**8, seed=0)
        after = lambda: pg.rollout(env, policy, episodes=2, seed=0)
    """,
}

# Updates of ~0.4 ms, far shorter than the engine's 20 ms polling interval:
# the signal is seen by Python when an update returns. Replaying the run
# (it is deterministic) tells whether theta is the next, uncounted update.
SHORT_UPDATES = """
        def build():
            env = pg.make("Acrobot-v1", num_envs=4, seed=0)
            policy = pg.LinearSoftmax(pg.features.Identity(6), 3)
            return env, policy, pg.Reinforce(env, policy, episodes_per_update=8, seed=0)
        env, policy, algo = build()
        long_call = lambda: algo.train(10**9, callback=callback_for(policy))
        after = lambda: algo.train(1)
"""


def run_and_interrupt(scenario: str, delay: float = 0.5, deadline: float = 5.0) -> dict:
    body = SHORT_UPDATES if scenario == "short updates" else SCENARIOS[scenario]
    code = PRELUDE + CHILD + textwrap.dedent(body) + RUN
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else ""
        if line.strip() != "ready":
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"the child did not start: {line!r}\n{out}\n{err[-3000:]}")
        time.sleep(delay)
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=deadline)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(
                f"{scenario}: still running {deadline} s after SIGINT (the bound is "
                f"1 s)\n{err[-3000:]}"
            )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, (
        f"{scenario}: child {describe_returncode(proc.returncode)}\n{out[-2000:]}\n{err[-3000:]}"
    )
    report = json.loads(out.strip().splitlines()[-1])
    report["sent"] = sent
    if "caught" in report:
        report["latency_from_send"] = report["caught"] - sent
        if report.get("arrived") is not None:
            report["latency_from_arrival"] = report["caught"] - report["arrived"]
    print(f"{scenario}: {report}")
    return report


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_ctrl_c_returns_within_a_second_with_the_last_completed_update(scenario):
    report = run_and_interrupt(scenario)
    assert "returned_after" not in report, f"the call finished before the signal: {report}"
    assert report["interrupted"], f"Ctrl-C did not raise KeyboardInterrupt: {report}"
    assert report["latency_from_send"] < 1.0, (
        f"KeyboardInterrupt reached the caller {report['latency_from_send']:.2f} s after "
        f"SIGINT was sent: {report}"
    )
    assert report["consistent"], (
        f"the parameters are not those of the last completed update: {report}"
    )
    if report.get("iterations_done") is not None:
        assert report["iterations_done"] == report["completed"] == 0, report
    assert report["usable_after"] is True, f"unusable after the interrupt: {report}"


def test_an_update_that_completes_as_ctrl_c_arrives_is_counted():
    """Short updates: Ctrl-C is seen in Python right after an update has
    changed theta in place. Either that update counts (iterations_done and
    the callback include it) or theta must be the previous one; theta one
    update ahead of iterations_done is the bug. The race is won by the
    library about 19 times in 20 when it is present, so three runs make a
    miss unlikely (~1e-4); a correct library passes every time."""
    for _ in range(3):
        report = run_and_interrupt("short updates")
        assert report["interrupted"], report
        assert report["latency_from_send"] < 1.0, report
        if report["iterations_done"] == report["completed"]:
            assert report["consistent"], (
                "theta is not that of the last counted update"
                + (
                    " but that of the next one, which completed in C++ and was left out of "
                    "iterations_done and the callback (the KeyboardInterrupt is raised as the "
                    "engine returns, before Reinforce.step counts it)"
                    if report.get("theta_is_the_uncounted_next_update")
                    else ""
                )
                + f": {report}"
            )
        else:  # the signal landed in Python between an update and its callback
            assert report["iterations_done"] == report["completed"] + 1, report
        assert report["usable_after"] is True, report
