"""LQR and bandits against independent references: numpy for the dynamics,
scipy for the Riccati equation, Monte Carlo for the optimal cost and the
reward distributions."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

import pgfast as pg

# Statistical checks accept an estimate within Z standard errors of its
# expectation. For a normal estimate |z| > 5 has probability 6e-7, so with
# fixed seeds a correct implementation passes (deterministically), while a
# bias of a few standard errors, e.g. a wrong mean or a wrong scale, fails.
Z = 5.0


def random_system(seed: int, n: int, m: int, radius: float | None = None):
    """A random (A, B, Q, R) with Q, R positive definite.

    Random (A, B) are controllable with probability 1, and Q > 0 makes
    (A, Q) observable, so the stabilising DARE solution exists. With
    ``radius`` the spectral radius of A is scaled to that value.
    """
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    if radius is not None:
        A *= radius / np.max(np.abs(np.linalg.eigvals(A)))
    B = rng.normal(size=(n, m))
    M = rng.normal(size=(n, n))
    Q = M @ M.T + 0.5 * np.eye(n)
    N = rng.normal(size=(m, m))
    R = N @ N.T + 0.5 * np.eye(m)
    return A, B, Q, R


def reference_riccati(A, B, Q, R, gamma):
    """scipy's DARE on the scaled system (sqrt(gamma) A, sqrt(gamma) B), and
    K = gamma (R + gamma B'PB)^-1 B'PA, the optimal gain of the discounted problem."""
    root = np.sqrt(gamma)
    P = scipy.linalg.solve_discrete_are(root * A, root * B, Q, R)
    K = gamma * np.linalg.solve(R + gamma * B.T @ P @ B, B.T @ P @ A)
    return P, K


def policy_cost_matrix(A, B, Q, R, K, gamma):
    """P_K with x'P_K x the discounted cost of u = -K x from x (no noise):
    P_K = Q + K'RK + gamma (A-BK)' P_K (A-BK), a Lyapunov equation."""
    closed = np.sqrt(gamma) * (A - B @ K)
    return scipy.linalg.solve_discrete_lyapunov(closed.T, Q + K.T @ R @ K)


# ---------------------------------------------------------------- LQR dynamics


@pytest.mark.parametrize(("n", "m"), [(1, 1), (3, 2), (4, 1)])
def test_step_reproduces_linear_dynamics_and_quadratic_reward(n, m):
    A, B, Q, R = random_system(10 + n, n, m)
    num_envs = 16
    env = pg.make("LQR", num_envs=num_envs, seed=0, A=A, B=B, Q=Q, R=R, noise_std=0.0)
    env.reset(seed=0)
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.normal(size=(num_envs, n))
        u = rng.normal(size=(num_envs, m))
        env.set_state(x)
        obs, reward, terminated, truncated, _ = env.step(u)
        x_next = x @ A.T + u @ B.T
        expected_reward = -(np.einsum("ij,jk,ik->i", x, Q, x) + np.einsum("ij,jk,ik->i", u, R, u))
        # Same formulas, different summation order (C++ loops vs numpy's
        # BLAS): with O(1) entries and n, m <= 4 the results differ by a few
        # ulps of the O(1)-O(10) terms, so rtol 1e-12 with an absolute floor of
        # 1e-12 for entries that cancel to near zero.
        np.testing.assert_allclose(obs, x_next, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(env.get_state(), x_next, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(reward, expected_reward, rtol=1e-12, atol=1e-12)
        assert obs.dtype == np.float64
        assert obs.shape == (num_envs, n)
        assert not terminated.any()
        assert not truncated.any()


def test_reward_is_charged_on_the_current_state_not_the_next():
    # x = 0 with u = 1: the current state costs nothing, the next one would.
    A, B, Q, R = np.eye(1), np.eye(1), np.eye(1), 2.0 * np.eye(1)
    env = pg.make("LQR", num_envs=1, seed=0, A=A, B=B, Q=Q, R=R)
    env.reset(seed=0)
    env.set_state(np.zeros((1, 1)))
    obs, reward, *_ = env.step(np.ones((1, 1)))
    assert obs[0, 0] == 1.0
    assert reward[0] == -2.0


def test_initial_state_and_process_noise_are_gaussian_with_the_given_std():
    n, num_envs, init_std, noise_std = 2, 40_000, 0.7, 0.3
    A, B, Q, R = random_system(3, n, 1, radius=0.9)
    env = pg.make(
        "LQR", num_envs=num_envs, seed=4, A=A, B=B, Q=Q, R=R, init_std=init_std, noise_std=noise_std
    )
    x0, _ = env.reset(seed=4)
    u = np.random.default_rng(5).normal(size=(num_envs, 1))
    x1, *_ = env.step(u)
    noise = x1 - (x0 @ A.T + u @ B.T)
    for sample, std in ((x0, init_std), (noise, noise_std)):
        # Mean: standard error std / sqrt(N). Sample std of a normal sample:
        # standard error std / sqrt(2 (N - 1)).
        np.testing.assert_allclose(sample.mean(axis=0), 0.0, atol=Z * std / np.sqrt(num_envs))
        np.testing.assert_allclose(
            sample.std(axis=0, ddof=1), std, atol=Z * std / np.sqrt(2 * (num_envs - 1))
        )
        # Components are independent: correlation ~ N(0, 1/N).
        assert abs(np.corrcoef(sample.T)[0, 1]) < Z / np.sqrt(num_envs)


def test_lqr_never_terminates_and_truncates_at_the_time_limit():
    A, B, Q, R = random_system(0, 2, 1, radius=0.5)
    env = pg.make("LQR", num_envs=3, seed=0, A=A, B=B, Q=Q, R=R, max_episode_steps=7)
    env.reset(seed=0)
    for t in range(7):
        _, _, terminated, truncated, _ = env.step(np.zeros((3, 1)))
        assert not terminated.any()
        assert truncated.all() == (t == 6)
        assert truncated.any() == (t == 6)
    assert pg.make("LQR", A=A, B=B, Q=Q, R=R).max_episode_steps == 100  # documented default


# --------------------------------------------------------------------- Riccati

SYSTEMS = [(1, 1, 0), (2, 1, 1), (2, 2, 2), (3, 1, 3), (3, 2, 4), (4, 1, 5), (4, 2, 6)]


@pytest.mark.parametrize("gamma", [1.0, 0.9])
@pytest.mark.parametrize(("n", "m", "seed"), SYSTEMS)
def test_riccati_and_gain_match_scipy(n, m, seed, gamma):
    # Unstable open loop (spectral radius 1.3): the gain has real work to do.
    A, B, Q, R = random_system(seed, n, m, radius=1.3)
    env = pg.make("LQR", A=A, B=B, Q=Q, R=R)
    P, K = env.riccati(gamma), env.optimal_gain(gamma)
    P_ref, K_ref = reference_riccati(A, B, Q, R, gamma)
    assert P.shape == (n, n)
    assert K.shape == (m, n)
    # Two different algorithms (pgfast: doubling; scipy: generalised Schur
    # vectors) each solve the DARE to a relative accuracy of about
    # cond * eps. For these well-conditioned systems (Q, R >= 0.5 I, cond P
    # < 20) they agree to <= 3e-14 relative to max|P|; 1e-11 leaves a
    # factor ~300 for other platforms' BLAS/LAPACK.
    np.testing.assert_allclose(P, P_ref, rtol=1e-11, atol=1e-11 * np.abs(P_ref).max())
    np.testing.assert_allclose(K, K_ref, rtol=1e-11, atol=1e-11 * np.abs(K_ref).max())
    np.testing.assert_allclose(P, P.T, rtol=0, atol=0)  # returned exactly symmetric
    # The residual of the discounted DARE itself, with no reference at all:
    # round-off of a few products of O(|P|) matrices, observed <= 2e-15
    # relative to max|P|; 1e-12 allows for a factor ~500.
    G = R + gamma * B.T @ P @ B
    correction = gamma**2 * A.T @ P @ B @ np.linalg.solve(G, B.T @ P @ A)
    residual = Q + gamma * A.T @ P @ A - correction - P
    assert np.abs(residual).max() <= 1e-12 * np.abs(P).max()
    # u = -Kx stabilises the discounted system.
    assert np.max(np.abs(np.linalg.eigvals(np.sqrt(gamma) * (A - B @ K)))) < 1.0


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_optimal_gain_beats_every_perturbed_gain(gamma):
    """Optimality checked without any Riccati solver: the exact policy cost
    tr P_K (from a Lyapunov equation) is smallest at K."""
    A, B, Q, R = random_system(7, 3, 2, radius=1.2)
    env = pg.make("LQR", A=A, B=B, Q=Q, R=R)
    K = env.optimal_gain(gamma)
    best = np.trace(policy_cost_matrix(A, B, Q, R, K, gamma))
    # The optimal P is the cost matrix of its own gain. Lyapunov solve vs
    # doubling on a well-conditioned problem: observed 3e-16 relative, 1e-11
    # allows a factor ~3e4.
    np.testing.assert_allclose(
        policy_cost_matrix(A, B, Q, R, K, gamma), env.riccati(gamma), rtol=1e-11
    )
    rng = np.random.default_rng(0)
    for _ in range(20):
        K_other = K + 1e-2 * rng.normal(size=K.shape)
        # A perturbation of size 1e-2 raises the cost by O(1e-4) relative,
        # far above round-off (1e-13 relative).
        assert np.trace(policy_cost_matrix(A, B, Q, R, K_other, gamma)) > best * (1 + 1e-9)


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_optimal_cost_without_noise_is_init_var_times_trace_p(gamma):
    A, B, Q, R = random_system(2, 3, 1, radius=1.1)
    env = pg.make("LQR", A=A, B=B, Q=Q, R=R, init_std=0.6)
    P_ref, _ = reference_riccati(A, B, Q, R, gamma)
    # E[x0' P x0] = init_std^2 tr P; P agrees with scipy to ~1e-14 (see
    # test_riccati_and_gain_match_scipy), so 1e-11 as there.
    np.testing.assert_allclose(env.optimal_cost(gamma), 0.36 * np.trace(P_ref), rtol=1e-11)


def test_optimal_cost_with_noise_matches_a_covariance_recursion():
    """The docstring formula init^2 tr P + gamma noise^2 tr P / (1 - gamma),
    against sum_t gamma^t E[x_t'(Q + K'RK) x_t] with the state covariance
    propagated step by step: S_{t+1} = A_cl S_t A_cl' + noise^2 I."""
    gamma, init_std, noise_std = 0.9, 0.8, 0.25
    A, B, Q, R = random_system(5, 3, 2, radius=1.2)
    env = pg.make("LQR", A=A, B=B, Q=Q, R=R, init_std=init_std, noise_std=noise_std)
    K = env.optimal_gain(gamma)
    closed, M = A - B @ K, Q + K.T @ R @ K
    S = init_std**2 * np.eye(3)
    total = 0.0
    for t in range(1000):  # gamma^1000 ~ 1e-46: the tail is negligible
        total += gamma**t * np.trace(M @ S)
        S = closed @ S @ closed.T + noise_std**2 * np.eye(3)
    # Sums of ~300 significant positive terms: observed agreement 2e-15,
    # 1e-11 allows a factor ~5e3.
    np.testing.assert_allclose(env.optimal_cost(gamma), total, rtol=1e-11)


def rollout_return(env: pg.LQREnv, K: np.ndarray, gamma: float, steps: int) -> np.ndarray:
    x, _ = env.reset(seed=0)
    returns = np.zeros(env.num_envs)
    for t in range(steps):
        x, reward, terminated, truncated, _ = env.step(-x @ K.T)
        returns += gamma**t * reward
        assert not terminated.any()
        assert truncated.all() == (t == steps - 1)
    return returns


def test_monte_carlo_return_of_the_optimal_gain_is_minus_the_optimal_cost():
    A, B, Q, R = random_system(11, 3, 1, radius=1.1)
    num_envs, steps = 4000, 400
    env = pg.make(
        "LQR", num_envs=num_envs, seed=0, A=A, B=B, Q=Q, R=R, init_std=1.0, max_episode_steps=steps
    )
    K = env.optimal_gain()
    rho = np.max(np.abs(np.linalg.eigvals(A - B @ K)))
    assert rho ** (2 * steps) < 1e-20  # the cost after the time limit is negligible
    x0 = env.reset(seed=0)[0]
    returns = rollout_return(env, K, 1.0, steps)
    # Without noise the return from x0 is exactly -x0' P x0 (up to the
    # negligible tail); round-off accumulated over 400 steps and in P:
    # observed 3e-15 relative, 1e-11 allows a factor ~3e3.
    P = env.riccati()
    np.testing.assert_allclose(returns, -np.einsum("ij,jk,ik->i", x0, P, x0), rtol=1e-11)
    # Over random x0 ~ N(0, I): mean -tr P, within Z standard errors.
    stderr = returns.std(ddof=1) / np.sqrt(num_envs)
    assert abs(returns.mean() + env.optimal_cost()) < Z * stderr


def test_monte_carlo_discounted_return_with_noise_is_minus_the_optimal_cost():
    gamma, num_envs, steps = 0.9, 4000, 400  # gamma^400 ~ 5e-19: no tail
    A, B, Q, R = random_system(12, 2, 1, radius=1.1)
    env = pg.make(
        "LQR",
        num_envs=num_envs,
        seed=1,
        A=A,
        B=B,
        Q=Q,
        R=R,
        init_std=0.5,
        noise_std=0.2,
        max_episode_steps=steps,
    )
    returns = rollout_return(env, env.optimal_gain(gamma), gamma, steps)
    stderr = returns.std(ddof=1) / np.sqrt(num_envs)
    assert abs(returns.mean() + env.optimal_cost(gamma)) < Z * stderr
    # The test can fail: the noise term is Z standard errors away from zero,
    # so dropping it (a plausible bug) would be detected.
    noise_free = env.init_std**2 * np.trace(env.riccati(gamma))
    assert abs(returns.mean() + noise_free) > Z * stderr


# --------------------------------------------------------------------- Bandits


def test_bandit_rewards_have_the_given_means_and_stds():
    means = np.array([0.0, 1.5, -2.0, 0.3, 5.0])
    stds = np.array([1.0, 0.5, 2.0, 3.0, 0.0])
    num_envs, k = 50_000, len(means)
    env = pg.make("Bandit", num_envs=num_envs, seed=0, means=means, stds=stds)
    obs, _ = env.reset(seed=0)
    assert obs.tolist() == [0] * num_envs
    actions = np.arange(num_envs) % k  # 10,000 pulls of each arm
    rewards = []
    for _ in range(2):
        obs, reward, terminated, truncated, _ = env.step(actions)
        assert terminated.all()
        assert not truncated.any()
        assert (obs == 0).all()
        rewards.append(reward)
        # Next-step autoreset: the following step only resets (reward 0).
        obs, reward, terminated, truncated, _ = env.step(actions)
        assert (reward == 0).all()
        assert not terminated.any()
        assert not truncated.any()
        assert (obs == 0).all()
    reward = np.concatenate(rewards)
    arm = np.concatenate([actions, actions])
    for a in range(k):
        r = reward[arm == a]
        count = r.size
        if stds[a] == 0:
            assert (r == means[a]).all()  # no noise at all
            continue
        # Mean: standard error std / sqrt(count). Sample std of a normal
        # sample: standard error std / sqrt(2 (count - 1)).
        assert abs(r.mean() - means[a]) < Z * stds[a] / np.sqrt(count)
        assert abs(r.std(ddof=1) - stds[a]) < Z * stds[a] / np.sqrt(2 * (count - 1))
        # Gaussian shape: the fraction within one std is 0.6827 (binomial
        # standard error sqrt(p (1 - p) / count)).
        inside = np.mean(np.abs(r - means[a]) < stds[a])
        assert abs(inside - 0.682689) < Z * np.sqrt(0.682689 * 0.317311 / count)


def test_bandit_spaces_and_default_std():
    env = pg.make("Bandit", num_envs=20_000, seed=3, means=[1.0, -1.0])
    assert env.single_action_space.n == 2
    assert env.single_observation_space.n == 1
    env.reset(seed=3)
    _, reward, terminated, *_ = env.step(np.ones(20_000, dtype=np.int64))
    assert terminated.all()
    # stds defaults to 1.0.
    assert abs(reward.mean() + 1.0) < Z / np.sqrt(20_000)
    assert abs(reward.std(ddof=1) - 1.0) < Z / np.sqrt(2 * 19_999)


def test_continuous_bandit_without_noise_pays_exactly_minus_squared_distance():
    a_star = np.array([0.5, -1.0, 0.0])
    low, high = np.array([-1.0, -1.0, -np.inf]), np.array([1.0, 0.5, np.inf])
    num_envs = 1000
    env = pg.make("ContinuousBandit", num_envs=num_envs, seed=0, a_star=a_star, low=low, high=high)
    assert env.single_action_space.shape == (3,)
    np.testing.assert_array_equal(env.single_action_space.low, low)
    np.testing.assert_array_equal(env.single_action_space.high, high)
    env.reset(seed=0)
    a = np.random.default_rng(0).uniform(-3, 3, size=(num_envs, 3))  # many outside the box
    obs, reward, terminated, truncated, _ = env.step(a)
    d = np.clip(a, low, high) - a_star
    expected = np.zeros(num_envs)
    for k in range(3):  # the engine's order of operations: exact equality holds
        expected -= d[:, k] * d[:, k]
    np.testing.assert_array_equal(reward, expected)
    assert terminated.all()
    assert not truncated.any()
    assert (obs == 0).all()


def test_continuous_bandit_noise_has_mean_zero_and_the_given_std():
    a_star, noise_std, num_envs = np.array([0.2, -0.3]), 0.7, 40_000
    env = pg.make("ContinuousBandit", num_envs=num_envs, seed=2, a_star=a_star, noise_std=noise_std)
    env.reset(seed=2)
    a = np.random.default_rng(1).normal(size=(num_envs, 2))
    _, reward, terminated, *_ = env.step(a)
    noise = reward + ((a - a_star) ** 2).sum(axis=1)
    assert terminated.all()
    assert abs(noise.mean()) < Z * noise_std / np.sqrt(num_envs)
    assert abs(noise.std(ddof=1) - noise_std) < Z * noise_std / np.sqrt(2 * (num_envs - 1))
    # Mean reward of a fixed action is -||a - a*||^2.
    env.reset(seed=5)
    fixed = np.tile([1.0, 1.0], (num_envs, 1))
    _, reward, *_ = env.step(fixed)
    expected = -((fixed[0] - a_star) ** 2).sum()
    assert abs(reward.mean() - expected) < Z * noise_std / np.sqrt(num_envs)
