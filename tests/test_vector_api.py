"""pgfast envs honour Gymnasium 1.x's VectorEnv contract."""

from __future__ import annotations

import threading

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import pgfast as pg


def test_is_a_gymnasium_vector_env_with_next_step_autoreset():
    env = pg.make("CartPole-v1", num_envs=4, seed=0)
    assert isinstance(env, gym.vector.VectorEnv)
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert env.num_envs == 4
    assert env.action_space == gym.vector.utils.batch_space(env.single_action_space, 4)
    assert env.observation_space.contains(env.reset(seed=0)[0])
    assert "CartPole-v1" in repr(env)


@pytest.mark.parametrize(
    ("env_id", "obs_shape", "obs_dtype"),
    [
        ("CartPole-v1", (5, 4), np.float32),
        ("Pendulum-v1", (5, 3), np.float32),
        ("FrozenLake-v1", (5,), np.int64),
        ("CliffWalking-v1", (5,), np.int64),
    ],
)
def test_batched_arrays_have_gymnasium_shapes_and_dtypes(env_id, obs_shape, obs_dtype):
    env = pg.make(env_id, num_envs=5, seed=0)
    obs, info = env.reset(seed=0)
    assert info == {}
    assert obs.shape == obs_shape
    assert obs.dtype == obs_dtype
    env.action_space.seed(0)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert obs.shape == obs_shape
    assert obs.dtype == obs_dtype
    assert reward.shape == (5,)
    assert reward.dtype == np.float64
    assert terminated.dtype == truncated.dtype == np.bool_
    assert env.observation_space.contains(obs)


def test_next_step_autoreset_ignores_the_action_and_returns_the_new_episode():
    env = pg.make("CartPole-v1", num_envs=2, seed=0)
    env.reset(seed=0)
    env.set_state(np.array([[2.39, 5.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]))
    obs, reward, terminated, truncated, _ = env.step(np.array([1, 1]))
    assert terminated.tolist() == [True, False]
    assert env.elapsed_steps().tolist() == [1, 1]
    obs, reward, terminated, truncated, _ = env.step(np.array([1, 1]))
    assert reward.tolist() == [0.0, 1.0]
    assert terminated.tolist() == [False, False]
    assert truncated.tolist() == [False, False]
    assert np.all(np.abs(obs[0]) < 0.05)  # CartPole's initial-state range
    assert env.elapsed_steps().tolist() == [0, 2]


def test_truncation_at_the_time_limit_then_autoreset():
    env = pg.make("Pendulum-v1", num_envs=3, seed=0, max_episode_steps=5)
    env.reset(seed=0)
    for t in range(5):
        _, _, terminated, truncated, _ = env.step(np.zeros((3, 1)))
        assert not terminated.any()
        assert truncated.all() == (t == 4)
    _, reward, _, truncated, _ = env.step(np.zeros((3, 1)))
    assert reward.tolist() == [0.0, 0.0, 0.0]
    assert not truncated.any()


def test_reset_mask_resets_only_the_selected_envs():
    env = pg.make("CartPole-v1", num_envs=3, seed=0)
    env.reset(seed=0)
    for _ in range(5):
        env.step(np.array([1, 1, 1]))
    before = env.get_state()
    obs, _ = env.reset(options={"reset_mask": np.array([True, False, True])})
    after = env.get_state()
    np.testing.assert_array_equal(after[1], before[1])
    assert not np.array_equal(after[0], before[0])
    assert not np.array_equal(after[2], before[2])
    np.testing.assert_array_equal(obs, after.astype(np.float32))
    assert env.elapsed_steps().tolist() == [0, 5, 0]


def test_get_state_set_state_round_trip_and_cancel_pending_reset():
    env = pg.make("Acrobot-v1", num_envs=2, seed=0)
    env.reset(seed=0)
    saved = env.get_state()
    assert saved.shape == (2, 4)
    assert saved.dtype == np.float64
    first = env.step(np.array([0, 2]))
    env.set_state(saved)
    second = env.step(np.array([0, 2]))
    for x, y in zip(first[:4], second[:4], strict=False):
        np.testing.assert_array_equal(x, y)
    tabular = pg.make("FrozenLake-v1", num_envs=1, seed=0)
    tabular.reset(seed=0)
    tabular.set_state(np.array([[14.0]]))
    while not tabular.step(np.array([2]))[2][0]:  # until the episode ends
        tabular.set_state(np.array([[14.0]]))
    tabular.set_state(np.array([[14.0]]))  # cancels the pending autoreset
    obs, reward, *_ = tabular.step(np.array([2]))
    assert reward[0] in (0.0, 1.0)
    assert obs[0] in (10, 13, 14, 15)


def test_close_is_idempotent_and_closed_envs_refuse_work():
    env = pg.make("CartPole-v1", num_envs=2, seed=0)
    env.close()
    env.close()
    assert env.closed
    with pytest.raises(ValueError, match="closed"):
        env.step(np.array([0, 1]))


def test_gymnasium_vector_wrappers_accept_pgfast_envs():
    env = gym.wrappers.vector.RecordEpisodeStatistics(pg.make("CartPole-v1", num_envs=4, seed=0))
    env.reset(seed=0)
    returns = np.zeros(4)
    finished = []
    rng = np.random.default_rng(0)
    for _ in range(200):
        _, reward, terminated, truncated, info = env.step(rng.integers(0, 2, size=4))
        returns += reward
        for i in np.flatnonzero(terminated | truncated):
            finished.append(returns[i])
            assert info["episode"]["r"][i] == returns[i]
            returns[i] = 0.0
    assert len(finished) > 10


def test_separate_envs_step_concurrently_from_python_threads():
    """The GIL is released while stepping; results equal a sequential run."""

    def run(out, index):
        env = pg.make("Acrobot-v1", num_envs=256, seed=index)
        env.reset(seed=index)
        total = 0.0
        for _ in range(200):
            total += float(env.step(np.ones(256, dtype=np.int64))[1].sum())
        out[index] = (total, env.get_state())

    sequential, concurrent = {}, {}
    for i in range(2):
        run(sequential, i)
    threads = [threading.Thread(target=run, args=(concurrent, i)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(2):
        assert sequential[i][0] == concurrent[i][0]
        np.testing.assert_array_equal(sequential[i][1], concurrent[i][1])


def test_list_envs_covers_every_family():
    ids = pg.list_envs()
    for env_id in (
        "CartPole-v1",
        "MountainCar-v0",
        "MountainCarContinuous-v0",
        "Pendulum-v1",
        "Acrobot-v1",
        "FrozenLake-v1",
        "CliffWalking-v1",
        "Bandit",
        "ContinuousBandit",
        "LQR",
    ):
        assert env_id in ids


def test_step_before_reset_raises_as_gymnasium_does():
    env = pg.make("CartPole-v1", num_envs=2, seed=0)
    with pytest.raises(gym.error.ResetNeeded, match=r"before calling env\.reset"):
        env.step(np.array([0, 1]))
    env.reset(seed=0)
    env.step(np.array([0, 1]))
    other = pg.make("CartPole-v1", num_envs=2, seed=0)
    other.set_state(env.get_state())  # a state set by hand counts as a start
    other.step(np.array([1, 1]))
