"""pg.study.estimators: its verdicts against the exact gradient, its numbers against a
slow NumPy recomputation from the same estimates, its distributions against SciPy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from _subprocess import run_cli

import pgfast as pg
from pgfast.study import CATALOG, betainc, chi2_sf, f_sf


def random_mdp(seed: int, n_states: int = 6, n_actions: int = 3) -> pg.TabularMDP:
    """Dense random rewards (so reward-to-go's bias is large) and a 10% chance per
    step of ending; a 30-step limit."""
    rng = np.random.default_rng(seed)
    n = n_states + 1
    P = np.zeros((n, n_actions, n))
    P[:n_states, :, :n_states] = rng.dirichlet(np.ones(n_states), size=(n_states, n_actions)) * 0.9
    P[:n_states, :, n_states] = 0.1
    P[n_states, :, n_states] = 1.0
    R = np.zeros((n, n_actions))
    R[:n_states] = rng.normal(1.0, 1.0, size=(n_states, n_actions))
    terminal = np.zeros(n, dtype=bool)
    terminal[n_states] = True
    initial = np.zeros(n)
    initial[0] = 1.0
    return pg.TabularMDP(P, R, initial, terminal, max_episode_steps=30)


def tabular_policy(n: int, n_actions: int, seed: int) -> pg.LinearSoftmax:
    policy = pg.LinearSoftmax(pg.features.OneHot(n), n_actions)
    policy.theta = np.random.default_rng(seed).normal(scale=0.7, size=policy.theta.shape)
    return policy


UNBIASED = ["reinforce", "reinforce-mean", "gpomdp", "gpomdp-time", "gpomdp-value"]


@pytest.mark.parametrize("seed", [0, 1])
def test_unbiased_estimators_pass_and_reward_to_go_is_caught(seed):
    """Every unbiased estimator's mean is consistent with pg.exact's gradient
    (Hotelling's T^2 on the estimates, p > 1e-3 at these fixed seeds), while
    reward-to-go with gamma = 0.8 (it drops the gamma^t of later steps) is rejected
    far beyond chance. Why a multivariate test: the coordinates are correlated
    (scores sum to zero over actions), so per-coordinate tests would neither
    control the error rate nor use the correlation."""
    mdp = random_mdp(seed)
    policy = tabular_policy(7, 3, seed)
    theta = policy.theta.copy()
    names = [*UNBIASED, "reward-to-go"]
    report = pg.study.estimators(
        mdp, policy, {n: CATALOG[n] for n in names}, episodes=50, repeats=300, gamma=0.8, seed=seed
    )
    np.testing.assert_array_equal(policy.theta, theta)  # studied, not trained
    assert report.reference.startswith("exact")
    verdict = dict(zip(report.table["estimator"], report.table["bias_p"], strict=True))
    for name in UNBIASED:
        assert verdict[name] > 1e-3, (name, verdict)
    assert verdict["reward-to-go"] < 1e-8, verdict
    assert report.table["biased"] == [False] * len(UNBIASED) + [True]


def test_a_time_baseline_lowers_the_variance_where_theory_says_it_must():
    """Rewards of 10 + noise on every step: without a baseline the score is
    multiplied by returns near 10 (T - t), with the time baseline by their
    deviations from the per-step mean; the variance falls many times over."""
    P = np.zeros((3, 2, 3))
    P[0, :, 1] = P[1, :, 2] = 1.0
    P[2, :, 2] = 1.0
    R = np.array([[10.0, 10.5], [10.0, 9.5], [0.0, 0.0]])
    mdp = pg.TabularMDP(P, R, [1.0, 0, 0], np.array([False, False, True]))
    policy = tabular_policy(3, 2, 0)
    report = pg.study.estimators(
        mdp,
        policy,
        {n: CATALOG[n] for n in ("gpomdp", "gpomdp-time")},
        episodes=20,
        repeats=400,
        gamma=1.0,
    )
    var = dict(zip(report.table["estimator"], report.table["variance"], strict=True))
    se = dict(zip(report.table["estimator"], report.table["variance_se"], strict=True))
    assert var["gpomdp-time"] + 3 * se["gpomdp-time"] < (var["gpomdp"] - 3 * se["gpomdp"]) / 10
    assert report.table["efficiency"][1] == 1.0


def test_the_table_is_what_numpy_computes_from_the_same_estimates():
    mdp = random_mdp(3)
    policy = tabular_policy(7, 3, 3)
    report = pg.study.estimators(
        mdp, policy, {"reinforce": CATALOG["reinforce"]}, episodes=20, repeats=100, gamma=0.9
    )
    G, g = report.samples["reinforce"], report.truth
    np.testing.assert_allclose(g, pg.exact.gradient(mdp, policy, 0.9).ravel(), rtol=1e-12)
    mean = G.mean(axis=0)
    row = {k: v[0] for k, v in report.table.items()}
    assert row["bias"] == pytest.approx(np.linalg.norm(mean - g), rel=1e-10)
    assert row["variance"] == pytest.approx(np.trace(np.cov(G.T)), rel=1e-10)
    assert row["mse"] == pytest.approx(np.mean([np.sum((x - g) ** 2) for x in G]), rel=1e-10)
    cosines = [x @ g / (np.linalg.norm(x) * np.linalg.norm(g)) for x in G]
    assert row["cosine"] == pytest.approx(np.mean(cosines), rel=1e-10)
    assert row["cosine_se"] == pytest.approx(np.std(cosines, ddof=1) / 10, rel=1e-10)
    # Hotelling's T^2 by the textbook formula on the coordinates that vary, the
    # covariance's null directions (scores summing to zero) removed by projecting.
    varying = G.std(axis=0) > 0
    d = (mean - g)[varying]
    S = np.cov(G[:, varying].T)
    w, V = np.linalg.eigh(S / np.sqrt(np.outer(np.diag(S), np.diag(S))))
    keep = w > 1e-10 * w.max()
    z = V[:, keep].T @ (d / np.sqrt(np.diag(S)))
    t2 = 100 * np.sum(z**2 / w[keep])
    p = int(keep.sum())
    expected = scipy.stats.f.sf((100 - p) / (p * 99) * t2, p, 100 - p)
    assert row["bias_p"] == pytest.approx(expected, rel=1e-8)


def test_distributions_match_scipy():
    for a, b, x in [(0.5, 0.5, 0.3), (3.0, 40.0, 0.05), (20.0, 2.5, 0.9), (1.0, 1.0, 0.5)]:
        assert betainc(a, b, x) == pytest.approx(scipy.special.betainc(a, b, x), rel=1e-10)
    for x, d1, d2 in [(0.5, 3, 10), (2.0, 7, 100), (10.0, 20, 280), (0.01, 1, 5)]:
        assert f_sf(x, d1, d2) == pytest.approx(scipy.stats.f.sf(x, d1, d2), rel=1e-9, abs=1e-300)
    for x, k in [(0.1, 1), (3.0, 2), (50.0, 30), (200.0, 60), (5.0, 40)]:
        assert chi2_sf(x, k) == pytest.approx(scipy.stats.chi2.sf(x, k), rel=1e-9, abs=1e-300)


def test_without_an_exact_gradient_the_reference_is_estimated():
    env = pg.make("CartPole-v1", num_envs=8, seed=0, max_episode_steps=30)
    policy = pg.LinearSoftmax(pg.features.Identity(4), 2)
    report = pg.study.estimators(
        env, policy, {"gpomdp": CATALOG["gpomdp"]}, episodes=20, repeats=50, gamma=0.95
    )
    assert report.reference.startswith("estimated")
    assert report.truth_se is not None
    assert np.all(report.truth_se > 0)
    assert report.table["bias_p"][0] > 1e-3


def test_bad_arguments():
    mdp = random_mdp(0)
    policy = tabular_policy(7, 3, 0)
    with pytest.raises(ValueError, match="at least one estimator"):
        pg.study.estimators(mdp, policy, {})
    with pytest.raises(ValueError, match="repeats"):
        pg.study.estimators(mdp, policy, {"a": {}}, repeats=2)
    with pytest.raises(ValueError, match="returns"):
        pg.study.estimators(mdp, policy, {"a": {"returns": "nonsense"}})
    with pytest.raises(TypeError, match="env must be"):
        pg.study.estimators(object(), policy, {"a": {}})


def test_the_cli_writes_the_table_and_the_figure(tmp_path):
    out = tmp_path / "study"
    result = run_cli("study", "FrozenLake-v1", "--estimators", "reinforce,gpomdp-time",
                     "--episodes", "20", "--repeats", "30", "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "exact (policy gradient theorem)" in result.stdout
    header = (out / "study.csv").read_text().splitlines()[0]
    assert header.startswith("estimator,bias,bias_se,bias_p,biased,variance")
    assert (out / "study.json").exists()
    result = run_cli("study", "FrozenLake-v1", "--estimators", "nope")
    assert result.returncode == 2
    assert "unknown estimator" in result.stderr


def test_on_frozen_lake_reward_to_go_is_caught_and_the_unbiased_ones_pass():
    """Gymnasium's FrozenLake (slippery, 100-step limit) at the uniform policy."""
    policy = pg.LinearSoftmax(pg.features.OneHot(16), 4)
    names = ["reinforce", "gpomdp", "gpomdp-time", "reward-to-go"]
    report = pg.study.estimators(
        "FrozenLake-v1", policy, {n: CATALOG[n] for n in names}, episodes=100, repeats=500,
        gamma=0.9,
    )  # fmt: skip
    p = dict(zip(report.table["estimator"], report.table["bias_p"], strict=True))
    assert min(p["reinforce"], p["gpomdp"], p["gpomdp-time"]) > 1e-3, p
    assert p["reward-to-go"] < 1e-8, p
