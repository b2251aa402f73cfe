"""Gymnasium interop both ways, and rollouts for pipelines."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import pgfast as pg
from pgfast import _core

# Gymnasium's checker warns about unbounded Box spaces and asymmetric action
# bounds; its own CartPole and Pendulum draw the same warnings.
CHECKER_WARNINGS = [
    "ignore:.*Box observation space (minimum|maximum) value is:UserWarning",
    "ignore:.*For Box action spaces, we recommend using a symmetric:UserWarning",
]


@pytest.mark.parametrize(
    "env_id",
    [
        "CartPole-v1",
        "MountainCar-v0",
        "MountainCarContinuous-v0",
        "Pendulum-v1",
        "Acrobot-v1",
        "FrozenLake-v1",
        "CliffWalking-v1",
    ],
)
@pytest.mark.filterwarnings(*CHECKER_WARNINGS)
def test_single_env_view_passes_gymnasiums_checker(env_id):
    check_env(pg.SingleEnv(pg.make(env_id, seed=0)), skip_render_check=True)


def test_single_env_view_refuses_to_step_a_finished_episode():
    env = pg.SingleEnv(pg.make("CartPole-v1", seed=0))
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)
    env.reset(seed=0)
    env.env.set_state(np.array([[2.39, 5.0, 0.0, 0.0]]))
    assert env.step(1)[2] is True
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(1)
    with pytest.raises(ValueError, match="num_envs == 1"):
        pg.SingleEnv(pg.make("CartPole-v1", num_envs=2, seed=0))


def test_learning_on_a_gymnasium_env_instance():
    """The documented slow path: Gymnasium steps in Python, the estimator in C++."""
    env = gym.make("CartPole-v1")
    policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    history = pg.Reinforce(env, policy, episodes_per_update=16, seed=0).train(
        150, target_return=475
    )
    assert history["return_mean"][-1] >= 475
    assert pg.evaluate(env, policy, episodes=10).mean() >= 475


def test_a_gymnasium_env_runs_through_gymnasium():
    # Taxi-v4 as an id runs from its tables (tests/test_toy_text_door.py); as a
    # GymnasiumEnv or a gymnasium.Env object it is stepped by Gymnasium in Python.
    policy = pg.LinearSoftmax(pg.features.OneHot(500), n_actions=6)
    env = pg.GymnasiumEnv("Taxi-v4", seed=0)
    assert env.id == "Taxi-v4"
    assert env.backend == "gymnasium-callback"
    assert env.max_episode_steps == 200
    history = pg.Reinforce(env, policy, episodes_per_update=4, seed=0).train(2)
    assert (history["length_mean"] <= 200).all()
    batch = pg.rollout(gym.make("Taxi-v4"), policy, episodes=2, seed=0)
    assert batch.observations.dtype == np.int64
    assert batch.episodes == 2


def test_gymnasium_env_steps_like_the_wrapped_env():
    ours = pg.GymnasiumEnv(gym.make("CartPole-v1"))
    theirs = gym.make("CartPole-v1")
    obs, _ = ours.reset(seed=3)
    np.testing.assert_array_equal(obs[0], theirs.reset(seed=3)[0])
    for _ in range(30):
        out = ours.step(np.array([1]))
        ref = theirs.step(1)
        np.testing.assert_array_equal(out[0][0], ref[0])
        assert (out[1][0], out[2][0], out[3][0]) == ref[1:4]
        if ref[2] or ref[3]:
            break


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1", "FrozenLake-v1"])
def test_rollout_arrays_replay_step_by_step_in_the_same_env(env_id):
    env = pg.make(env_id, num_envs=1, seed=7)
    if env_id == "Pendulum-v1":
        policy = pg.LinearGaussian(pg.features.Identity(3), 1, log_std=0.5)
    elif env_id == "FrozenLake-v1":
        policy = pg.LinearSoftmax(pg.features.OneHot(16), 4)
    else:
        policy = pg.LinearSoftmax(pg.features.Identity(4), 2)
    batch = pg.rollout(env, policy, episodes=3, seed=1)
    # Episode j of the rollout ran its env on stream (batch_env_seed(1, 0), j):
    # env j of a vector env seeded with that draws the same initial state and
    # noise. Replaying the recorded actions (clipped by the env, as in the
    # rollout) there must give the same observations, rewards and flags.
    replay = pg.make(env_id, num_envs=3, seed=_core.batch_env_seed(1, 0))
    idle = replay.action_space.sample()
    for j in range(3):
        obs, _ = replay.reset(seed=_core.batch_env_seed(1, 0))
        for t in np.flatnonzero(batch.episode_ids == j):
            np.testing.assert_array_equal(batch.observations[t], obs[j])
            actions = idle.copy()
            actions[j] = batch.actions[t]
            obs, reward, terminated, truncated, _ = replay.step(actions)
            assert reward[j] == batch.rewards[t]
            assert (terminated[j], truncated[j]) == (batch.terminated[t], batch.truncated[t])
    assert batch.episodes == 3
    log_probs = policy.log_prob(batch.observations, batch.actions)
    np.testing.assert_allclose(batch.log_probs, log_probs, rtol=1e-12, atol=1e-12)


def test_rollout_by_steps_and_bad_arguments():
    env = pg.make("CartPole-v1", num_envs=4, seed=0)
    policy = pg.LinearSoftmax(pg.features.Identity(4), 2)
    batch = pg.rollout(env, policy, steps=1000, seed=0)
    assert batch.steps >= 1000
    assert batch.terminated[-1] | batch.truncated[-1]
    assert np.all(np.diff(batch.episode_ids) >= 0)
    with pytest.raises(ValueError, match="exactly one of episodes or steps"):
        pg.rollout(env, policy)
    with pytest.raises(ValueError, match="exactly one of episodes or steps"):
        pg.rollout(env, policy, episodes=2, steps=10)


def test_surrogate_loss_gradient_on_rollout_arrays_is_the_engines_gradient():
    """-grad of L = -sum(log pi * Psi) / m over a rollout equals Reinforce.gradient
    on the same episodes (same env and policy seeds)."""

    def setup():
        env = pg.make("CartPole-v1", num_envs=4, seed=11)
        policy = pg.LinearSoftmax(
            pg.features.Identity(4), 2, theta=np.random.default_rng(0).normal(size=(5, 2)) * 0.1
        )
        return env, policy

    env, policy = setup()
    batch = pg.rollout(env, policy, episodes=12, seed=5)
    gamma = 0.99
    psi = np.empty(batch.steps)
    for e in range(batch.episodes):
        idx = np.flatnonzero(batch.episode_ids == e)
        g = 0.0
        for t in idx[::-1]:
            g = batch.rewards[t] + gamma * g
            psi[t] = g
    # grad of sum_t log pi(a_t|s_t) Psi_t: the per-step scores weighted by Psi.
    scores = policy.grad_log_prob(batch.observations, batch.actions)
    surrogate_grad = np.einsum("t,tfa->fa", psi, scores) / batch.episodes

    env, policy = setup()
    algo = pg.Reinforce(env, policy, gamma=gamma, returns="reward_to_go", baseline="none", seed=5)
    np.testing.assert_allclose(algo.gradient(12), surrogate_grad, rtol=1e-9, atol=1e-9)
