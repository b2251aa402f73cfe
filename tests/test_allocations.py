"""An update allocates nothing once its buffers have grown.

The extension replaces operator new with a counting version
(cpp/src/alloc_counter.cpp; absent from sanitizer builds, which keep their
own allocator). After a few warm-up updates have grown every buffer to the
batch's size, further updates of the same size must not allocate at all:
not per step (the collector's loop), not per episode, not per update
(Psi, baselines, the value fit, the gradient blocks, the Fisher matrix,
Adam and the natural step).
"""

from __future__ import annotations

import numpy as np
import pytest

import pgfast as pg
from pgfast import _core

pytestmark = pytest.mark.skipif(
    _core.allocation_count() < 0, reason="this build has no allocation counter (sanitizers)"
)


def cartpole(threads=1):
    return pg.make("CartPole-v1", num_envs=8, seed=0, num_threads=threads, max_episode_steps=60)


def pendulum():
    return pg.make("Pendulum-v1", num_envs=8, seed=0, max_episode_steps=40)


def frozen_lake():
    return pg.make("FrozenLake-v1", num_envs=8, seed=0)


CASES = {
    "adam mean": (cartpole, lambda: pg.LinearSoftmax(pg.features.Identity(4), 2), {}),
    "sgd time": (
        cartpole,
        lambda: pg.LinearSoftmax(pg.features.Identity(4), 2),
        {"optimizer": "sgd", "baseline": "time"},
    ),
    "value baseline": (
        cartpole,
        lambda: pg.LinearSoftmax(pg.features.Identity(4), 2),
        {"baseline": "value", "returns": "discounted_reward_to_go"},
    ),
    "gae normalised": (
        cartpole,
        lambda: pg.LinearSoftmax(pg.features.Identity(4), 2),
        {"returns": "gae", "normalize_advantages": True},
    ),
    "optimal baseline": (
        cartpole,
        lambda: pg.LinearSoftmax(pg.features.Identity(4), 2),
        {"returns": "total", "baseline": "optimal"},
    ),
    "natural sampled": (
        cartpole,
        lambda: pg.LinearSoftmax(pg.features.Identity(4), 2),
        {"optimizer": "natural", "max_kl": 0.01},
    ),
    "natural exact": (
        cartpole,
        lambda: pg.LinearSoftmax(pg.features.Identity(4), 2),
        {"optimizer": "natural", "fisher": "exact"},
    ),
    "two threads": (
        lambda: cartpole(2),
        lambda: pg.LinearSoftmax(pg.features.Identity(4), 2),
        {"episodes_per_update": 40},
    ),
    "fourier": (
        cartpole,
        lambda: pg.LinearSoftmax(
            pg.features.Fourier(2, [-2.4, -3, -0.21, -3.5], [2.4, 3, 0.21, 3.5]), 2
        ),
        {},
    ),
    "gaussian": (
        pendulum,
        lambda: pg.LinearGaussian(pg.features.Identity(3), 1),
        {"baseline": "value"},
    ),
    "gaussian natural": (
        pendulum,
        lambda: pg.LinearGaussian(pg.features.Identity(3), 1),
        {"optimizer": "natural", "max_kl": 0.01},
    ),
    "state-action factored": (
        cartpole,
        lambda: pg.LinearSoftmax(
            pg.features.StateAction(pg.features.Identity(4), np.array([[1.0, 0.5], [0.0, 1.0]])), 2
        ),
        {},
    ),
    "state-action table": (
        frozen_lake,
        lambda: pg.LinearSoftmax(
            pg.features.StateActionTable(np.random.default_rng(0).normal(size=(16, 4, 3))), 4
        ),
        {"optimizer": "natural", "fisher": "exact", "baseline": "time"},
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_update_allocates_nothing_once_its_buffers_have_grown(name):
    make_env, make_policy, settings = CASES[name]
    policy = make_policy()
    # Fixed-size batches of short episodes: after warm-up the largest batch
    # the run will see has been seen (a longer one would legitimately grow).
    settings = {"episodes_per_update": 16, "lr": 1e-3, "seed": 0, **settings}
    algo = pg.Reinforce(make_env(), policy, **settings)
    log_std = getattr(policy, "log_std", None)
    # A large batch first grows every buffer beyond what a batch of 16
    # episodes of at most 60 steps needs (the per-episode workspaces are
    # sized to the time limit when the engine is built).
    algo._engine.gradient(policy.theta, log_std, 300)
    for _ in range(5):
        algo._engine.iterate(policy.theta, log_std)
    before = _core.allocation_count()
    for _ in range(10):
        algo._engine.iterate(policy.theta, log_std)
    after = _core.allocation_count()
    assert after - before == 0, f"{after - before} allocations in 10 updates"


def test_the_counter_counts():
    """A call that must allocate (a fresh engine) moves the counter, so the
    zero above is a measurement, not a counter that never moves."""
    before = _core.allocation_count()
    pg.Reinforce(cartpole(), pg.LinearSoftmax(pg.features.Identity(4), 2), seed=0)
    assert _core.allocation_count() > before
