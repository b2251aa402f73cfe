"""pg.features.Table: phi(s) = matrix[s] for discrete observations."""

from __future__ import annotations

import numpy as np
import pytest

import pgfast as pg
from pgfast import exact


def test_table_features_are_rows_of_the_matrix():
    matrix = np.arange(12.0).reshape(4, 3)
    phi = pg.features.Table(matrix)
    assert (phi.n_features, phi.obs_dim, phi.n_states) == (3, 1, 4)
    np.testing.assert_array_equal(phi(np.array([3, 0, 3])), matrix[[3, 0, 3]])


def test_aliased_states_share_one_policy_and_their_gradient():
    """States 0 and 1 share a row: the policy cannot tell them apart, and the
    exact gradient is the one of the merged parameters (one row of theta
    collects both states' contributions), which finite differences confirm."""
    rng = np.random.default_rng(0)
    S, A = 5, 2
    P = rng.random((S, A, S))
    P /= P.sum(axis=2, keepdims=True)
    mdp = pg.TabularMDP(P, rng.normal(size=(S, A)), np.ones(S) / S, max_episode_steps=6)
    matrix = np.eye(S)[[0, 0, 2, 3, 4]][:, [0, 2, 3, 4]]  # 5 states, 4 features
    policy = pg.LinearSoftmax(pg.features.Table(matrix), A, theta=rng.normal(size=(4, A)))
    np.testing.assert_array_equal(policy.probs(np.array([0])), policy.probs(np.array([1])))
    g = exact.gradient(mdp, policy, 0.9)
    eps = 1e-6
    fd = np.zeros_like(g)
    for k in range(g.size):
        e = np.zeros(g.size)
        e[k] = eps
        fd.flat[k] = (
            exact.objective(mdp, policy, 0.9, theta=policy.theta + e.reshape(g.shape))
            - exact.objective(mdp, policy, 0.9, theta=policy.theta - e.reshape(g.shape))
        ) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)
    env = pg.make(mdp, num_envs=4, seed=0)
    estimate, stderr = pg.Reinforce(
        env,
        policy,
        gamma=0.9,
        returns="discounted_reward_to_go",
        baseline="time",
        bootstrap_truncated=False,
        seed=1,
    ).gradient(30_000, return_stderr=True)
    assert (np.abs(estimate - g) < 4 * stderr).all()


def test_table_features_refuse_bad_input():
    with pytest.raises(ValueError, match="matrix must be finite"):
        pg.features.Table([[1.0, np.nan]])
    with pytest.raises(ValueError, match="matrix must be 2-D"):
        pg.features.Table(np.zeros(3))
    phi = pg.features.Table(np.eye(3))
    with pytest.raises(ValueError, match=r"integer in \[0, 3\) for Table features"):
        phi(np.array([3]))
    with pytest.raises(ValueError, match=r"integer in \[0, 3\) for Table features"):
        phi(np.array([0.5]))


def test_table_features_round_trip_through_a_policy_file(tmp_path):
    matrix = np.random.default_rng(2).normal(size=(16, 5))
    policy = pg.LinearSoftmax(
        pg.features.Table(matrix), 4, theta=np.random.default_rng(3).normal(size=(5, 4))
    )
    policy.save(tmp_path / "p.npz")
    loaded = pg.load_policy(tmp_path / "p.npz")
    np.testing.assert_array_equal(loaded.features.matrix, matrix)
    np.testing.assert_array_equal(loaded.probs(np.arange(16)), policy.probs(np.arange(16)))
