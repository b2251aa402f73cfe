"""Linear policies: scores against finite differences, log-probabilities
against scipy.stats and direct formulas, for every feature map."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from reference import ref_gaussian_log_prob, ref_softmax_log_prob

import pgfast as pg

LOW4, HIGH4 = [-2.4, -3.0, -0.21, -3.5], [2.4, 3.0, 0.21, 3.5]


def feature_maps():
    return [
        (pg.features.Identity(4), "box"),
        (pg.features.Polynomial(4, degree=2), "box"),
        (pg.features.Fourier(order=2, low=LOW4, high=HIGH4), "box"),
        (pg.features.RBF(3, low=LOW4, high=HIGH4), "box"),
        (pg.features.TileCoding(4, 3, low=LOW4, high=HIGH4), "box"),
        (pg.features.OneHot(6), "discrete"),
    ]


def sample_obs(kind, rng, n=12):
    if kind == "discrete":
        return rng.integers(0, 6, size=n)
    return rng.uniform(np.array(LOW4) * 1.2, np.array(HIGH4) * 1.2, size=(n, 4))


def central_difference(f, x, h):
    """d f / d x for every entry of x, by central differences."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        up = f()
        x[idx] = old - h
        down = f()
        x[idx] = old
        grad[idx] = (up - down) / (2 * h)
    return grad


@pytest.mark.parametrize(("features", "kind"), feature_maps(), ids=lambda v: repr(v)[:20])
def test_softmax_score_matches_finite_differences(features, kind):
    rng = np.random.default_rng(0)
    policy = pg.LinearSoftmax(
        features, n_actions=3, theta=rng.normal(size=(features.n_features, 3))
    )
    obs = sample_obs(kind, rng)
    actions = rng.integers(0, 3, size=len(obs))
    analytic = policy.grad_log_prob(obs, actions)
    for i in range(len(obs)):
        theta = policy.theta.copy()

        def f(i=i, theta=theta):
            return float(
                pg.LinearSoftmax(features, 3, theta=theta).log_prob(
                    obs[i : i + 1], actions[i : i + 1]
                )[0]
            )

        numeric = central_difference(f, theta, 1e-5)
        # Central differences of a smooth function: error O(h^2) ~ 1e-10 plus
        # rounding ~ eps / h ~ 1e-11; 1e-6 relative leaves a wide margin.
        scale = max(1.0, np.abs(numeric).max())
        np.testing.assert_allclose(analytic[i], numeric, rtol=0, atol=1e-6 * scale)


@pytest.mark.parametrize(("features", "kind"), feature_maps(), ids=lambda v: repr(v)[:20])
def test_gaussian_scores_match_finite_differences(features, kind):
    rng = np.random.default_rng(1)
    D = 2
    policy = pg.LinearGaussian(
        features,
        action_dim=D,
        log_std=rng.normal(size=D) * 0.3,
        theta=rng.normal(size=(features.n_features, D)) * 0.3,
    )
    obs = sample_obs(kind, rng)
    actions = rng.normal(size=(len(obs), D))
    g_theta, g_std = policy.grad_log_prob(obs, actions)
    for i in range(len(obs)):
        theta, log_std = policy.theta.copy(), policy.log_std.copy()

        def f(i=i, theta=theta, log_std=log_std):
            p = pg.LinearGaussian(features, D, log_std=log_std, theta=theta)
            return float(p.log_prob(obs[i : i + 1], actions[i : i + 1])[0])

        num_theta = central_difference(f, theta, 1e-5)
        num_std = central_difference(f, log_std, 1e-5)
        scale = max(1.0, np.abs(num_theta).max(), np.abs(num_std).max())
        np.testing.assert_allclose(g_theta[i], num_theta, rtol=0, atol=1e-6 * scale)
        np.testing.assert_allclose(g_std[i], num_std, rtol=0, atol=1e-6 * scale)


def test_softmax_log_prob_matches_the_direct_formula_and_scipy():
    rng = np.random.default_rng(2)
    features = pg.features.Fourier(order=1, low=LOW4, high=HIGH4)
    theta = rng.normal(size=(features.n_features, 4))
    policy = pg.LinearSoftmax(features, 4, theta=theta)
    obs = rng.uniform(LOW4, HIGH4, size=(50, 4))
    actions = rng.integers(0, 4, size=50)
    phi = features(obs)
    direct = np.array([ref_softmax_log_prob(phi[i], theta, actions[i]) for i in range(50)])
    np.testing.assert_allclose(policy.log_prob(obs, actions), direct, rtol=1e-13, atol=1e-13)
    # scipy's softmax-based log-probabilities as a second, independent formula.
    np.testing.assert_allclose(
        policy.log_probs(obs),
        scipy.special.log_softmax(phi @ theta, axis=1),
        rtol=1e-13,
        atol=1e-13,
    )
    np.testing.assert_allclose(policy.probs(obs).sum(axis=1), 1.0, rtol=1e-15, atol=1e-15)


def test_gaussian_log_prob_matches_scipy_stats():
    rng = np.random.default_rng(3)
    features = pg.features.Identity(3)
    theta = rng.normal(size=(4, 2))
    log_std = np.array([-0.5, 0.3])
    policy = pg.LinearGaussian(features, 2, log_std=log_std, theta=theta)
    obs = rng.normal(size=(40, 3))
    actions = rng.normal(size=(40, 2))
    mu = features(obs) @ theta
    expected = scipy.stats.norm.logpdf(actions, loc=mu, scale=np.exp(log_std)).sum(axis=1)
    np.testing.assert_allclose(policy.log_prob(obs, actions), expected, rtol=1e-12)
    direct = [
        ref_gaussian_log_prob(features(obs[i : i + 1])[0], theta, log_std, actions[i])
        for i in range(40)
    ]
    np.testing.assert_allclose(policy.log_prob(obs, actions), direct, rtol=1e-12)
    assert policy.entropy() == pytest.approx(
        scipy.stats.norm(scale=np.exp(log_std)).entropy().sum(), rel=1e-12
    )


def test_extreme_logits_stay_finite():
    features = pg.features.Identity(1)
    policy = pg.LinearSoftmax(features, 3, theta=np.array([[1e3, -1e3, 0.0], [0.0, 0.0, 0.0]]))
    obs = np.array([[1.0], [-1.0], [0.5]])
    lp = policy.log_probs(obs)
    assert np.isfinite(lp).all()
    assert lp[0, 0] == 0.0
    assert lp[0, 1] == pytest.approx(-2000.0)
    assert np.isfinite(policy.grad_log_prob(obs, np.array([1, 0, 2]))).all()
    assert np.isfinite(policy.entropy(obs)).all()


def test_act_samples_the_policy_distribution():
    rng = np.random.default_rng(4)
    features = pg.features.OneHot(2)
    policy = pg.LinearSoftmax(features, 3, theta=np.log([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]))
    obs = np.repeat([0, 1], 20000)
    actions = policy.act(obs, rng=rng)
    for s, p in ((0, [0.2, 0.3, 0.5]), (1, [0.6, 0.3, 0.1])):
        counts = np.bincount(actions[obs == s], minlength=3)
        # Fixed seed; a correct sampler passes this with probability 1 - 1e-4.
        assert scipy.stats.chisquare(counts, np.array(p) * 20000).pvalue > 1e-4
    np.testing.assert_array_equal(policy.act(np.array([0, 1]), deterministic=True), [2, 0])


@pytest.mark.parametrize(
    ("features", "expected_n"),
    [
        (pg.features.Identity(4), 5),
        (pg.features.OneHot(7), 7),
        (pg.features.Polynomial(3, degree=2), 10),
        (pg.features.Fourier(3, LOW4, HIGH4), 256),
        (pg.features.RBF(4, [0, 0], [1, 1]), 17),
        (pg.features.TileCoding(8, 4, [0, 0], [1, 1]), 200),
    ],
)
def test_feature_counts(features, expected_n):
    assert features.n_features == expected_n


def test_features_clip_outside_the_bounds_and_tile_coding_is_binary():
    tiles = pg.features.TileCoding(4, 3, low=[0.0, 0.0], high=[1.0, 1.0])
    inside = tiles(np.array([[1.0, 1.0]]))  # the corner of the box
    outside = tiles(np.array([[7.0, 50.0]]))
    np.testing.assert_array_equal(inside, outside)
    assert set(np.unique(inside)) == {0.0, 1.0}
    assert inside.sum() == 4
    fourier = pg.features.Fourier(2, low=[-1.0], high=[1.0])
    np.testing.assert_array_equal(fourier(np.array([[-5.0]])), fourier(np.array([[-1.0]])))
    np.testing.assert_allclose(
        fourier(np.array([[0.0]]))[0], np.cos(np.pi * np.arange(3) * 0.5), atol=1e-15
    )
    poly = pg.features.Polynomial(2, degree=2)
    np.testing.assert_array_equal(poly(np.array([[2.0, 3.0]]))[0], [1, 2, 3, 4, 6, 9])


def test_act_takes_a_single_observation_as_singleenv_gives_it():
    softmax = pg.LinearSoftmax(pg.features.Identity(4), 2)
    softmax.theta = np.random.default_rng(0).normal(size=softmax.theta.shape)
    env = pg.SingleEnv(pg.make("CartPole-v1", seed=0))
    obs, _ = env.reset(seed=0)
    a = softmax.act(obs, rng=3)
    assert isinstance(a, int)
    assert a == softmax.act(obs[None], rng=3)[0]
    env.step(a)
    gauss = pg.LinearGaussian(pg.features.Identity(3), 1, log_std=-1.0)
    x = np.array([0.1, -0.2, 0.3])
    np.testing.assert_array_equal(gauss.act(x, rng=4), gauss.act(x[None], rng=4)[0])
    assert gauss.act(x, rng=4).shape == (1,)
    table = pg.LinearSoftmax(pg.features.OneHot(16), 4)
    assert table.act(np.int64(5), rng=1) == table.act(np.array([5]), rng=1)[0]
    with pytest.raises(ValueError, match="obs"):
        softmax.act(np.zeros(3))  # neither one observation nor a batch of them
