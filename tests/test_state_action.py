"""The softmax over state-action features, pi(a|s) ~ exp(phi(s, a)^T theta):
scores against finite differences, pg.exact against finite differences of
its own objective and against the definition of the Fisher matrix, the
sampled gradient against pg.exact, and StateAction(phi, I) against
LinearSoftmax(phi) bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import pgfast as pg
from pgfast import exact


def random_mdp(rng, S=5, A=3, terminal_states=1, max_episode_steps=None):
    P = rng.random((S, A, S)) ** 3
    P /= P.sum(axis=2, keepdims=True)
    R = rng.normal(size=(S, A))
    terminal = np.zeros(S, dtype=bool)
    terminal[S - terminal_states :] = True
    initial = np.where(terminal, 0.0, 1.0)
    initial /= initial.sum()
    return pg.TabularMDP(P, R, initial, terminal=terminal, max_episode_steps=max_episode_steps)


def table_policy(rng, S=5, A=3, d=4):
    table = rng.normal(size=(S, A, d))
    return pg.LinearSoftmax(
        pg.features.StateActionTable(table), A, theta=rng.normal(scale=0.5, size=d)
    )


def factored_policy(rng, S=5, A=3, k=2):
    psi = rng.normal(size=(A, k))
    sa = pg.features.StateAction(pg.features.OneHot(S), action_features=psi)
    return pg.LinearSoftmax(sa, A, theta=rng.normal(scale=0.5, size=S * k))


POLICIES = {"table": table_policy, "factored": factored_policy}


def test_state_action_maps_have_the_documented_shapes():
    psi = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    sa = pg.features.StateAction(pg.features.Identity(2), action_features=psi)
    assert (sa.n_features, sa.n_actions, sa.obs_dim) == (6, 3, 2)
    x = sa(np.array([[2.0, 3.0]]))
    # phi(s) = [2, 3, 1]; feature f * k + j is phi_f(s) psi[a, j].
    np.testing.assert_array_equal(x[0, 2], [1.0, 1.0, 1.5, 1.5, 0.5, 0.5])
    policy = pg.LinearSoftmax(sa, 3)
    assert policy.theta.shape == (6,)
    assert policy.state_action


@pytest.mark.parametrize("kind", sorted(POLICIES))
def test_grad_log_prob_matches_central_differences(kind):
    rng = np.random.default_rng(1)
    policy = POLICIES[kind](rng)
    obs = np.array([0, 1, 2, 3, 4, 2])
    actions = np.array([0, 1, 2, 2, 1, 0])
    g = policy.grad_log_prob(obs, actions)
    assert g.shape == (6, policy.theta.size)
    theta = policy.theta.copy()
    fd = np.zeros_like(g)
    eps = 1e-6
    for k in range(theta.size):
        for sign in (1, -1):
            policy.theta = theta + sign * eps * np.eye(theta.size)[k]
            fd[:, k] += sign * policy.log_prob(obs, actions) / (2 * eps)
    policy.theta = theta
    # Central differences of a smooth function: error O(eps^2) plus rounding
    # O(1e-16 / eps) = 1e-10.
    np.testing.assert_allclose(g, fd, atol=1e-8)


@pytest.mark.parametrize("kind", sorted(POLICIES))
def test_scores_are_observed_minus_expected_features(kind):
    rng = np.random.default_rng(2)
    policy = POLICIES[kind](rng)
    obs = np.arange(5)
    X = policy.features(obs)  # (N, A, d)
    pi = policy.probs(obs)
    for a in range(policy.n_actions):
        expected = X[:, a] - np.einsum("na,nad->nd", pi, X)
        np.testing.assert_allclose(
            policy.grad_log_prob(obs, np.full(5, a)), expected, rtol=1e-12, atol=1e-14
        )


@pytest.mark.parametrize("kind", sorted(POLICIES))
@pytest.mark.parametrize("horizon", [None, 6])
def test_exact_gradient_matches_differences_of_the_exact_objective(kind, horizon):
    rng = np.random.default_rng(3)
    mdp = random_mdp(rng)
    policy = POLICIES[kind](rng)
    g = exact.gradient(mdp, policy, 0.9, horizon=horizon)
    assert g.shape == policy.theta.shape
    eps = 1e-6
    fd = np.array(
        [
            (
                exact.objective(mdp, policy, 0.9, horizon=horizon, theta=policy.theta + eps * e)
                - exact.objective(mdp, policy, 0.9, horizon=horizon, theta=policy.theta - eps * e)
            )
            / (2 * eps)
            for e in np.eye(policy.theta.size)
        ]
    )
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind", sorted(POLICIES))
def test_exact_fisher_is_the_visitation_weighted_score_covariance(kind):
    rng = np.random.default_rng(4)
    mdp = random_mdp(rng)
    policy = POLICIES[kind](rng)
    ev = exact.evaluate_policy(mdp, policy, 0.9)
    S, A = ev.pi.shape
    M = np.zeros((policy.theta.size, policy.theta.size))
    for s in range(S):
        for a in range(A):
            g = policy.grad_log_prob(np.array([s]), np.array([a]))[0]
            M += ev.visitation[s] * ev.pi[s, a] * np.outer(g, g)
    np.testing.assert_allclose(exact.fisher(mdp, policy, 0.9), M, rtol=1e-10, atol=1e-12)
    # The natural gradient solves F x = grad J.
    x = exact.natural_gradient(mdp, policy, 0.9, damping=1e-3)
    np.testing.assert_allclose(
        (M + 1e-3 * np.eye(M.shape[0])) @ x, exact.gradient(mdp, policy, 0.9), rtol=1e-8, atol=1e-10
    )


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(POLICIES))
@pytest.mark.parametrize(
    ("returns", "baseline"),
    [("discounted_reward_to_go", "time"), ("total", "optimal"), ("gae", "none")],
)
def test_sampled_gradient_matches_the_exact_gradient(kind, returns, baseline):
    """Within 4 standard errors per coordinate: an unbiased estimator that is
    right passes with probability > 0.9999 per coordinate. GAE(lambda = 1)
    is G_t - V(s_t), unbiased for gamma = 1 (without the gamma^t factor it
    would be biased for gamma < 1) with V fitted on the previous batch and
    nothing bootstrapped past the time limit. Coordinates no episode can
    reach (a terminal state's parameters) must be exactly 0 with 0 error."""
    rng = np.random.default_rng(5)
    mdp = random_mdp(rng, max_episode_steps=8)
    policy = POLICIES[kind](rng)
    gamma = 1.0 if returns == "gae" else 0.9
    env = pg.make(mdp, num_envs=8, seed=1)
    algo = pg.Reinforce(
        env,
        policy,
        gamma=gamma,
        returns=returns,
        baseline=baseline,
        gae_lambda=1.0,
        bootstrap_truncated=False,
        seed=2,
    )
    if returns == "gae":
        algo.gradient(2_000)  # fits the value the next estimate uses
    g, se = algo.gradient(40_000, return_stderr=True)
    truth = exact.gradient(mdp, policy, gamma)
    unreached = se == 0
    np.testing.assert_allclose(g[unreached], 0.0, atol=1e-300)
    np.testing.assert_allclose(truth[unreached], 0.0, atol=1e-12)
    z = np.abs(g - truth)[~unreached] / se[~unreached]
    assert (z < 4).all(), f"z-scores {z}, estimate {g}, exact {truth}"


def test_state_action_with_identity_action_features_is_linear_softmax_bit_for_bit():
    """phi(s) (x) e_a is the state-feature softmax: the same probabilities,
    the same sampled actions and the same updates, to the bit."""
    phi = pg.features.Identity(4)
    plain = pg.LinearSoftmax(phi, 2)
    sa = pg.LinearSoftmax(pg.features.StateAction(phi, np.eye(2)), 2)
    obs = np.random.default_rng(6).normal(size=(50, 4))
    np.testing.assert_array_equal(plain.probs(obs), sa.probs(obs))
    np.testing.assert_array_equal(plain.act(obs, rng=3), sa.act(obs, rng=3))
    for optimizer, fisher in [("adam", "sampled"), ("natural", "exact")]:
        runs = []
        for policy in (
            pg.LinearSoftmax(phi, 2),
            pg.LinearSoftmax(pg.features.StateAction(phi, np.eye(2)), 2),
        ):
            env = pg.make("CartPole-v1", num_envs=4, seed=7)
            algo = pg.Reinforce(
                env,
                policy,
                episodes_per_update=8,
                optimizer=optimizer,
                fisher=fisher,
                baseline="time",
                seed=8,
            )
            history = algo.train(15)
            runs.append((policy.theta.ravel().copy(), history["return_mean"]))
        np.testing.assert_array_equal(runs[0][0], runs[1][0])
        np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_large_action_sets_cost_parameters_per_action_feature():
    """100 actions described by 3 features each: 3 F parameters, not 100 F."""
    rng = np.random.default_rng(9)
    S, A = 6, 100
    psi = rng.normal(size=(A, 3))
    policy = pg.LinearSoftmax(pg.features.StateAction(pg.features.OneHot(S), psi), A)
    assert policy.theta.shape == (S * 3,)
    P = rng.random((S, A, S))
    P /= P.sum(axis=2, keepdims=True)
    mdp = pg.TabularMDP(P, rng.normal(size=(S, A)), np.ones(S) / S, max_episode_steps=5)
    algo = pg.Reinforce(
        pg.make(mdp, num_envs=4, seed=0),
        policy,
        lr=0.1,
        gamma=0.9,
        episodes_per_update=32,
        baseline="time",
        seed=0,
    )
    before = exact.objective(mdp, policy, 0.9)
    algo.train(60)
    assert exact.objective(mdp, policy, 0.9) > before


def test_saving_and_loading_a_state_action_policy(tmp_path):
    rng = np.random.default_rng(10)
    for policy in (table_policy(rng), factored_policy(rng)):
        policy.save(tmp_path / "p.npz")
        loaded = pg.load_policy(tmp_path / "p.npz")
        np.testing.assert_array_equal(loaded.theta, policy.theta)
        obs = np.arange(5)
        np.testing.assert_array_equal(loaded.probs(obs), policy.probs(obs))


def test_mismatched_state_action_inputs_are_refused():
    rng = np.random.default_rng(11)
    table = rng.normal(size=(5, 3, 4))
    with pytest.raises(ValueError, match="describe 3 actions, but n_actions is 2"):
        pg.LinearSoftmax(pg.features.StateActionTable(table), 2)
    with pytest.raises(ValueError, match="table must be finite"):
        pg.features.StateActionTable(np.full((2, 2, 2), np.nan))
    policy = pg.LinearSoftmax(pg.features.StateActionTable(table), 3)
    with pytest.raises(ValueError, match=r"state index in \[0, 5\)"):
        policy.probs(np.array([5]))
    four = pg.LinearSoftmax(pg.features.StateActionTable(rng.normal(size=(5, 4, 4))), 4)
    lake = pg.make("FrozenLake-v1", num_envs=2, seed=0)
    with pytest.raises(ValueError, match="has 5 states but FrozenLake-v1 has 16"):
        pg.Reinforce(lake, four)
    two = pg.LinearSoftmax(pg.features.StateActionTable(rng.normal(size=(5, 2, 4))), 2)
    cartpole = pg.make("CartPole-v1", num_envs=2, seed=0)
    with pytest.raises(ValueError, match="reads observations of length 1 but CartPole-v1"):
        pg.Reinforce(cartpole, two)
