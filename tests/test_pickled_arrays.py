"""Arrays that crossed a process boundary are accepted everywhere.

An array that went through pickle (multiprocessing, Ray, joblib) has a
float64 dtype that is equal to, but not the same object as, numpy's own.
The bindings once compared dtypes by identity and refused such arrays with
"theta must have dtype float64, got float64". Each array argument of the
public API is passed here as a pickled copy and must give the same result
as the original.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import pgfast as pg


def shipped(a):
    """The array as it arrives from another process."""
    return pickle.loads(pickle.dumps(np.asarray(a)))


def flat(x):
    """One array from an array or a tuple of arrays (a Gaussian's gradient)."""
    return np.concatenate([np.ravel(v) for v in x]) if isinstance(x, tuple) else np.ravel(x)


def test_a_pickled_array_has_an_equal_but_distinct_dtype():
    """The premise: otherwise these tests would test nothing."""
    a = shipped(np.zeros(2))
    assert a.dtype == np.float64


LOW, HIGH = [-2.4, -3.0, -0.21, -3.5], [2.4, 3.0, 0.21, 3.5]


@pytest.mark.parametrize(
    "make",
    [
        lambda f: pg.features.Fourier(2, f(LOW), f(HIGH)),
        lambda f: pg.features.RBF(3, f(LOW), f(HIGH), width=0.5),
        lambda f: pg.features.TileCoding(2, 3, f(LOW), f(HIGH)),
    ],
)
def test_feature_bounds(make):
    obs = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_array_equal(make(shipped)(shipped(obs)), make(np.asarray)(obs))


def test_table_features_and_state_action_maps():
    rng = np.random.default_rng(1)
    matrix, table, psi = (
        rng.normal(size=(4, 3)),
        rng.normal(size=(4, 2, 3)),
        rng.normal(size=(2, 3)),
    )
    s = np.array([0, 3, 1])
    np.testing.assert_array_equal(pg.features.Table(shipped(matrix))(shipped(s)), matrix[s])
    np.testing.assert_array_equal(
        pg.features.StateActionTable(shipped(table))(shipped(s)), table[s]
    )
    sa = pg.features.StateAction(pg.features.Identity(2), shipped(psi))
    np.testing.assert_array_equal(
        sa(shipped(np.ones((1, 2))))[0, 1], np.kron([1.0, 1.0, 1.0], psi[1])
    )


def softmax(f):
    return pg.LinearSoftmax(pg.features.Identity(4), 2, theta=f(np.full((5, 2), 0.1)))


def gaussian(f):
    return pg.LinearGaussian(
        pg.features.Identity(3), 1, log_std=f(np.zeros(1)), theta=f(np.full((4, 1), -0.1))
    )


def test_policy_methods():
    rng = np.random.default_rng(2)
    obs4, obs3 = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    a_i, a_c = np.array([0, 1, 1, 0, 1, 0]), rng.normal(size=(6, 1))
    for build, obs, actions in ((softmax, obs4, a_i), (gaussian, obs3, a_c)):
        mine, theirs = build(np.asarray), build(shipped)
        for method in ("log_prob", "grad_log_prob"):
            np.testing.assert_array_equal(
                flat(getattr(theirs, method)(shipped(obs), shipped(actions))),
                flat(getattr(mine, method)(obs, actions)),
            )
        np.testing.assert_array_equal(theirs.act(shipped(obs), rng=0), mine.act(obs, rng=0))


@pytest.mark.parametrize(("build", "env_id"), [(softmax, "CartPole-v1"), (gaussian, "Pendulum-v1")])
def test_training_evaluation_rollouts_and_estimates(build, env_id):
    results = []
    for f in (np.asarray, shipped):
        policy = build(f)
        env = pg.make(env_id, num_envs=4, seed=0, max_episode_steps=50)
        algo = pg.Reinforce(env, policy, episodes_per_update=8, seed=0)
        algo.train(3)
        g = algo.gradient(8)
        fisher = algo.fisher(8)
        returns = pg.evaluate(env, policy, episodes=4, seed=0)
        batch = pg.rollout(env, policy, episodes=4, seed=0)
        results.append((np.ravel(policy.theta).copy(), flat(g), fisher, returns, batch.rewards))
    for mine, theirs in zip(*results, strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_tabular_mdp_lqr_and_env_methods():
    P = np.zeros((2, 2, 2))
    P[0, :, 1] = P[1, :, 1] = 1.0
    R, initial, terminal = np.ones((2, 2)), np.array([1.0, 0.0]), np.array([False, True])
    mdp = pg.TabularMDP(shipped(P), shipped(R), shipped(initial), terminal=shipped(terminal))
    env = pg.make(mdp, num_envs=2, seed=0)
    env.reset(seed=0)
    _, reward, terminated, _, _ = env.step(shipped(np.array([0, 1])))
    np.testing.assert_array_equal(reward, [1.0, 1.0])
    assert terminated.all()
    eye = np.eye(2)
    lqr = pg.make(
        "LQR",
        A=shipped(eye),
        B=shipped(eye),
        Q=shipped(eye),
        R=shipped(eye),
        num_envs=2,
        seed=0,
        max_episode_steps=5,
    )
    lqr.reset(seed=0)
    lqr.set_state(shipped(np.ones((2, 2))))
    np.testing.assert_array_equal(lqr.get_state(), np.ones((2, 2)))
    obs, *_ = lqr.step(shipped(np.zeros((2, 2))))
    assert obs.shape == (2, 2)
