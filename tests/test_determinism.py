"""Reproducibility: env i's randomness depends on (seed, i) alone."""

from __future__ import annotations

import numpy as np
import pytest

import pgfast as pg


def rollout(env: pg.VectorEnv, steps: int, seed: int) -> list[np.ndarray]:
    """Observations, rewards and flags of `steps` steps under seeded random actions."""
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    out = [obs]
    space = env.single_action_space
    for _ in range(steps):
        if hasattr(space, "n"):
            actions = rng.integers(0, space.n, size=env.num_envs)
        else:
            actions = rng.uniform(space.low, space.high, size=(env.num_envs, *space.shape))
        obs, reward, terminated, truncated, _ = env.step(actions)
        out += [obs, reward, terminated, truncated]
    out.append(env.get_state())
    return out


def assert_identical(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=False):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


ALL_IDS = [
    "CartPole-v1",
    "MountainCar-v0",
    "MountainCarContinuous-v0",
    "Pendulum-v1",
    "Acrobot-v1",
    "FrozenLake-v1",
    "CliffWalking-v1",
]


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_same_seed_same_arrays_and_different_seed_differs(env_id):
    first = rollout(pg.make(env_id, num_envs=8, seed=5), 300, seed=5)
    again = rollout(pg.make(env_id, num_envs=8, seed=99), 300, seed=5)  # reset(seed=5) decides
    assert_identical(first, again)
    other = rollout(pg.make(env_id, num_envs=8, seed=5), 300, seed=6)
    assert any(not np.array_equal(x, y) for x, y in zip(first, other, strict=False))


@pytest.mark.parametrize(
    ("env_id", "num_envs"),
    [("Acrobot-v1", 1024), ("CartPole-v1", 16384), ("FrozenLake-v1", 16384), ("Pendulum-v1", 4096)],
)
def test_num_threads_does_not_change_results(env_id, num_envs):
    # Batches this large are split across threads (see kParallelGrain).
    reference = rollout(pg.make(env_id, num_envs=num_envs, seed=3, num_threads=1), 60, seed=3)
    for threads in (2, 4):
        env = pg.make(env_id, num_envs=num_envs, seed=3, num_threads=threads)
        assert env.num_threads == threads
        assert_identical(reference, rollout(env, 60, seed=3))


@pytest.mark.parametrize("env_id", ["CartPole-v1", "FrozenLake-v1", "Pendulum-v1"])
def test_env_i_behaves_the_same_whatever_num_envs(env_id):
    small = pg.make(env_id, num_envs=3, seed=11)
    large = pg.make(env_id, num_envs=7, seed=11)
    obs_s, _ = small.reset(seed=11)
    obs_l, _ = large.reset(seed=11)
    np.testing.assert_array_equal(obs_s, obs_l[:3])
    rng = np.random.default_rng(0)
    space = small.single_action_space
    for _ in range(400):
        if hasattr(space, "n"):
            actions = rng.integers(0, space.n, size=7)
        else:
            actions = rng.uniform(-2, 2, size=(7, 1))
        out_s = small.step(actions[:3])
        out_l = large.step(actions)
        for x, y in zip(out_s[:4], out_l[:4], strict=False):
            np.testing.assert_array_equal(x, y[:3])


def test_seed_list_gives_each_env_the_stream_of_a_lone_env():
    lone = [pg.make("FrozenLake-v1", num_envs=1, seed=s) for s in (4, 8, 15)]
    batch = pg.make("FrozenLake-v1", num_envs=3, seed=0)
    batch.reset(seed=[4, 8, 15])
    for i, env in enumerate(lone):
        env.reset(seed=[(4, 8, 15)[i]])
    for _ in range(200):
        out = batch.step(np.array([1, 2, 1]))
        for i, env in enumerate(lone):
            single = env.step(np.array([(1, 2, 1)[i]]))
            for x, y in zip(out[:4], single[:4], strict=False):
                assert x[i] == y[0]


def test_reset_without_seed_continues_the_streams():
    env = pg.make("CartPole-v1", num_envs=4, seed=0)
    first, _ = env.reset(seed=0)
    second, _ = env.reset()
    assert not np.array_equal(first, second)
    again, _ = env.reset(seed=0)
    np.testing.assert_array_equal(first, again)
