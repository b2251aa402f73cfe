"""Engine behaviour beyond the estimator's value: batching, safety, errors."""

from __future__ import annotations

import numpy as np
import pytest

import pgfast as pg


def cartpole_policy():
    return pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)


def test_steps_per_update_collects_whole_episodes_up_to_each_envs_quota():
    env = pg.make("CartPole-v1", num_envs=8, seed=0)
    algo = pg.Reinforce(env, cartpole_policy(), steps_per_update=4000, seed=0)
    history = algo.train(5)
    # Each of the 8 envs runs whole episodes until it has ceil(4000 / 8) = 500
    # steps, so an update has >= 4000 steps and >= 8 episodes; an env stops
    # with less than one extra episode (<= 500 steps) over its quota.
    assert (history["env_steps"] >= 4000).all()
    assert (history["env_steps"] < 4000 + 8 * 500).all()
    assert (history["episodes"] >= 8).all()


@pytest.mark.parametrize(
    "mode",
    [
        {"episodes_per_update": 12},
        {"steps_per_update": 3000},
        {"update": "online", "episodes_per_update": 6},
    ],
)
def test_parameters_do_not_depend_on_num_threads(mode):
    thetas = []
    for threads in (1, 2, 4):
        env = pg.make("Acrobot-v1", num_envs=8, seed=1)
        policy = pg.LinearSoftmax(pg.features.Identity(6), n_actions=3)
        pg.Reinforce(env, policy, seed=2, num_threads=threads, **mode).train(5)
        thetas.append(policy.theta.copy())
    for theta in thetas[1:]:
        np.testing.assert_array_equal(theta, thetas[0])


def test_a_diverging_run_stops_naming_the_iteration_and_keeps_the_parameters():
    # x' = 100 x overflows to inf within the episode: the gradient is not finite.
    env = pg.make(
        "LQR",
        A=[[100.0]],
        B=[[1.0]],
        Q=[[1.0]],
        R=[[1.0]],
        num_envs=2,
        seed=0,
        max_episode_steps=400,
    )
    policy = pg.LinearGaussian(pg.features.Identity(1), action_dim=1)
    before = policy.theta.copy(), policy.log_std.copy()
    algo = pg.Reinforce(env, policy, episodes_per_update=4, seed=0)
    with pytest.raises(RuntimeError, match=r"iteration 1: the gradient is not finite"):
        algo.train(3)
    np.testing.assert_array_equal(policy.theta, before[0])
    np.testing.assert_array_equal(policy.log_std, before[1])


def test_policy_and_env_must_fit_together():
    cartpole = pg.make("CartPole-v1", seed=0)
    with pytest.raises(ValueError, match="LinearSoftmax needs a Discrete action space"):
        pg.Reinforce(
            pg.make("Pendulum-v1", seed=0), pg.LinearSoftmax(pg.features.Identity(3), n_actions=2)
        )
    with pytest.raises(ValueError, match="LinearGaussian needs a Box action space"):
        pg.Reinforce(cartpole, pg.LinearGaussian(pg.features.Identity(4), action_dim=1))
    with pytest.raises(ValueError, match="the policy has 3 actions but CartPole-v1 has 2"):
        pg.Reinforce(cartpole, pg.LinearSoftmax(pg.features.Identity(4), n_actions=3))
    with pytest.raises(ValueError, match="observations of length 4"):
        pg.Reinforce(cartpole, pg.LinearSoftmax(pg.features.Identity(3), n_actions=2))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": 0.0}, "lr must be > 0"),
        ({"lr": float("nan")}, "lr must be finite"),
        ({"gamma": 1.5}, r"gamma must be in \[0, 1\]"),
        ({"episodes_per_update": 0}, "episodes_per_update must be >= 1"),
        ({"returns": "nope"}, "returns must be one of"),
        ({"baseline": "nope"}, "baseline must be one of"),
        ({"optimizer": "rmsprop"}, "optimizer must be one of"),
        ({"returns": "reward_to_go", "baseline": "optimal"}, "defined for returns='total'"),
        ({"update": "online", "optimizer": "natural"}, "supports the sgd and adam optimizers"),
        ({"max_kl": -1.0}, "max_kl must be > 0"),
    ],
)
def test_bad_settings_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pg.Reinforce(pg.make("CartPole-v1", seed=0), cartpole_policy(), **kwargs)


def test_history_records_every_statistic_per_iteration():
    env = pg.make("CartPole-v1", num_envs=4, seed=0)
    history = pg.Reinforce(env, cartpole_policy(), episodes_per_update=8, seed=0).train(6)
    assert history.iterations == 6
    for key in (
        "return_mean",
        "return_std",
        "return_min",
        "return_max",
        "length_mean",
        "env_steps",
        "grad_norm",
        "entropy",
        "kl",
        "wall_time",
    ):
        assert history[key].shape == (6,), key
    np.testing.assert_array_equal(history["iteration"], np.arange(1, 7))
    assert (history["return_min"] <= history["return_mean"]).all()
    assert (history["return_mean"] <= history["return_max"]).all()
    assert history["entropy"][0] == pytest.approx(np.log(2))  # theta = 0: uniform
    assert (history["kl"][1:] > 0).all()
    assert (np.diff(history["wall_time"]) > 0).all()
    # CartPole pays 1 per step: the mean return is the mean length.
    np.testing.assert_allclose(history["return_mean"], history["length_mean"])


def test_closed_env_refuses_training():
    env = pg.make("CartPole-v1", seed=0)
    algo = pg.Reinforce(env, cartpole_policy(), seed=0)
    env.close()
    with pytest.raises(ValueError, match="closed"):
        algo.train(1)


def test_history_to_pandas():
    env = pg.make("CartPole-v1", num_envs=4, seed=0)
    frame = pg.Reinforce(env, cartpole_policy(), seed=0).train(3).to_pandas()
    assert list(frame.index) == [0, 1, 2]
    assert "return_mean" in frame.columns
