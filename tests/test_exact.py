"""pgfast.exact, the exact policy-gradient oracle, against independent
references: finite differences of the objective, exhaustive enumeration of
trajectories, value iteration on Gymnasium's own FrozenLake table, the
Riccati solution of the LQR, and Monte Carlo on pgfast's environments (which
pins the conventions for rewards, termination and the time limit to the
ones the engine implements)."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import pgfast as pg
from pgfast import exact

# Monte Carlo checks accept an estimate within Z standard errors of its
# expectation: for a normal estimate |z| > 5 has probability 6e-7, so with
# fixed seeds a correct oracle passes, while a convention error (an extra or a
# missing reward, a wrong discount) moves the mean by many standard errors.
Z = 5.0


# ------------------------------------------------------------------ policies
# The library's LinearSoftmax / LinearGaussian wherever a library feature map
# fits. The oracle only reads policy.theta, policy.log_std and
# policy.features, so duck-typed stand-ins add what no library map produces:
# an arbitrary dense feature matrix, an arbitrary affine basis, and feature
# matrices of the wrong shape.


class TableFeatures:
    """Feature map of a tabular MDP: row ``s`` of a fixed ``(S, F)`` matrix."""

    def __init__(self, phi: np.ndarray) -> None:
        self.phi = np.asarray(phi, dtype=np.float64)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return self.phi[np.asarray(obs)]


class SoftmaxStandIn:
    def __init__(self, phi: np.ndarray, theta: np.ndarray) -> None:
        self.features = TableFeatures(phi)
        self.theta = np.array(theta, dtype=np.float64)


class GaussianStandIn:
    def __init__(self, theta: np.ndarray, log_std: np.ndarray, features) -> None:
        self.features = features
        self.theta = np.array(theta, dtype=np.float64)
        self.log_std = np.array(log_std, dtype=np.float64)


FEATURE_KINDS = ["onehot", "poly", "dense"]


def softmax_policy(kind: str, n_states: int, n_actions: int, seed: int):
    """A linear softmax policy with random theta over

    * ``onehot``: ``pg.features.OneHot`` (tabular, F = S);
    * ``poly``: ``pg.features.Polynomial(1, 2)``, phi(s) = [1, s, s^2]
      (dense, F = 3 < S; theta scaled so that the logits stay O(1));
    * ``dense``: a random Gaussian (S, 3) matrix (stand-in policy).
    """
    rng = np.random.default_rng(seed + 7)
    if kind == "onehot":
        theta = rng.normal(size=(n_states, n_actions))
        return pg.LinearSoftmax(pg.features.OneHot(n_states), n_actions, theta=theta)
    if kind == "poly":
        theta = np.array([[1.0], [0.3], [0.05]]) * rng.normal(size=(3, n_actions))
        return pg.LinearSoftmax(pg.features.Polynomial(1, degree=2), n_actions, theta=theta)
    phi = np.random.default_rng(seed + 1000).normal(size=(n_states, 3))
    return SoftmaxStandIn(phi, rng.normal(size=(3, n_actions)))


def features_of(policy, n_states: int) -> np.ndarray:
    return np.asarray(policy.features(np.arange(n_states)), dtype=np.float64)


# ----------------------------------------------------------------- helpers


def random_mdp(
    seed: int,
    n_states: int = 7,
    n_actions: int = 3,
    n_terminal: int = 2,
    max_episode_steps: int | None = None,
    reward_shift: float = 0.0,
) -> pg.TabularMDP:
    """Dense Dirichlet transition rows (so every state reaches every state,
    terminal ones included), the last ``n_terminal`` states absorbing and
    terminal, rewards R[s, a, s'] ~ N(reward_shift, 1), initial mass on the
    non-terminal states."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(n_states), size=(n_states, n_actions))
    terminal = np.zeros(n_states, dtype=bool)
    terminal[n_states - n_terminal :] = True
    for t in np.flatnonzero(terminal):
        P[t] = 0.0
        P[t, :, t] = 1.0
    R = reward_shift + rng.normal(size=(n_states, n_actions, n_states))
    initial = np.zeros(n_states)
    initial[: n_states - n_terminal] = rng.dirichlet(np.ones(n_states - n_terminal))
    return pg.TabularMDP(P, R, initial, terminal, max_episode_steps, name="random")


def softmax_table(phi: np.ndarray, theta: np.ndarray) -> np.ndarray:
    logits = phi @ theta
    logits = logits - logits.max(axis=1, keepdims=True)
    pi = np.exp(logits)
    return pi / pi.sum(axis=1, keepdims=True)


def score(phi: np.ndarray, pi: np.ndarray, s: int, a: int) -> np.ndarray:
    """vec(grad_theta log pi(a|s)) = vec(outer(phi(s), e_a - pi(.|s))), row-major."""
    e = np.zeros(pi.shape[1])
    e[a] = 1.0
    return np.outer(phi[s], e - pi[s]).ravel()


def central_difference(f, x: np.ndarray, h: float) -> np.ndarray:
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        g[i] = (f(up) - f(down)) / (2 * h)
    return g


def max_rel_error(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


def enumerate_trajectories(mdp: pg.TabularMDP, pi: np.ndarray, horizon: int):
    """Every trajectory of positive probability, stopped on entering a
    terminal state or after ``horizon`` steps: ``(probability, [(s, a, r), ...])``."""
    out = []

    def walk(s, t, prob, steps):
        if mdp.terminal[s] or t == horizon:
            out.append((prob, steps))
            return
        for a in range(mdp.n_actions):
            for s2 in np.flatnonzero(mdp.P[s, a] > 0):
                walk(
                    int(s2),
                    t + 1,
                    prob * pi[s, a] * mdp.P[s, a, s2],
                    [*steps, (s, a, mdp.R[s, a, s2])],
                )

    for s0 in np.flatnonzero(mdp.initial > 0):
        walk(int(s0), 0, mdp.initial[s0], [])
    return out


# ------------------------------------------------- tabular: finite differences

# (gamma, number of terminal states): discounted without termination,
# discounted with termination, undiscounted episodic (dense rows make the
# terminal states reachable from everywhere, so episodes end surely).
GAMMA_CASES = [(0.9, 0), (0.9, 2), (1.0, 2)]


@pytest.mark.parametrize(("gamma", "n_terminal"), GAMMA_CASES)
@pytest.mark.parametrize("max_steps", [None, 7])
@pytest.mark.parametrize("kind", FEATURE_KINDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_matches_finite_differences(gamma, n_terminal, max_steps, kind, seed):
    mdp = random_mdp(seed, n_terminal=n_terminal, max_episode_steps=max_steps)
    policy = softmax_policy(kind, mdp.n_states, mdp.n_actions, seed)
    theta = policy.theta.copy()

    g = exact.gradient(mdp, policy, gamma)
    fd = central_difference(lambda th: exact.objective(mdp, policy, gamma, theta=th), theta, h=1e-5)
    # Central differences with h = 1e-5: truncation h^2 |J'''| / 6 ~ 1e-10 and
    # round-off eps |J| / h ~ 1e-10 for |J| ~ 10, against gradients of size
    # ~0.1-1. 1e-6 leaves a wide margin; a wrong visitation measure, a
    # missing gamma^t or a wrong sign gives errors of order 1.
    assert max_rel_error(g, fd) < 1e-6
    assert g.shape == theta.shape
    assert g.dtype == np.float64
    np.testing.assert_array_equal(policy.theta, theta)  # theta= leaves the policy alone


def test_horizon_keyword_overrides_the_time_limit():
    limited = random_mdp(3, max_episode_steps=5)
    unlimited = random_mdp(3)
    policy = softmax_policy("onehot", 7, 3, 0)
    # Same arithmetic on the same tables: exactly equal.
    assert exact.objective(limited, policy, 0.9) == exact.objective(
        unlimited, policy, 0.9, horizon=5
    )
    assert exact.objective(limited, policy, 0.9, horizon=math.inf) == exact.objective(
        unlimited, policy, 0.9
    )
    assert exact.objective(limited, policy, 0.9) != exact.objective(unlimited, policy, 0.9)


@pytest.mark.parametrize(("gamma", "horizon"), [(0.9, 600), (1.0, 3000)])
def test_long_horizon_converges_to_the_infinite_horizon(gamma, horizon):
    """The backward-induction and linear-solve paths agree in the limit: the
    tail after H steps is at most gamma^H Rmax/(1-gamma) (0.9^600 ~ 1e-27) or,
    undiscounted, bounded by P(alive at H) <= (1 - min termination
    probability per step)^H, itself < 1e-30 for these dense rows."""
    mdp = random_mdp(4, n_terminal=2 if gamma == 1.0 else 0)
    policy = softmax_policy("poly", mdp.n_states, mdp.n_actions, 4)
    inf_j = exact.objective(mdp, policy, gamma, horizon=math.inf)
    fin_j = exact.objective(mdp, policy, gamma, horizon=horizon)
    # Both are sums of O(1) terms evaluated by different algorithms
    # (a linear solve, H backward steps): agreement to ~1e-12 relative.
    assert fin_j == pytest.approx(inf_j, rel=1e-11, abs=1e-12)
    np.testing.assert_allclose(
        exact.gradient(mdp, policy, gamma, horizon=horizon),
        exact.gradient(mdp, policy, gamma, horizon=math.inf),
        rtol=1e-10,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        exact.fisher(mdp, policy, gamma, horizon=horizon),
        exact.fisher(mdp, policy, gamma, horizon=math.inf),
        rtol=1e-10,
        atol=1e-12,
    )


# -------------------------------------------------- tabular: enumeration


@pytest.mark.parametrize("gamma", [1.0, 0.8])
@pytest.mark.parametrize("kind", FEATURE_KINDS)
def test_objective_gradient_and_fisher_match_trajectory_enumeration(gamma, kind):
    """Sum over every trajectory of the time-limited episode:
    J = sum p(tau) R(tau), grad J = sum p(tau) R(tau) grad log p(tau) (the
    likelihood-ratio identity, exact here) and the Fisher matrix
    E[sum_t gamma^t g_t g_t^T]; with gamma = 1 also the trajectory Fisher
    information E[grad log p grad log p^T]."""
    horizon = 4
    mdp = random_mdp(11, n_states=4, n_actions=2, n_terminal=1, max_episode_steps=horizon)
    policy = softmax_policy(kind, mdp.n_states, mdp.n_actions, 11)
    phi, theta = features_of(policy, mdp.n_states), policy.theta
    pi = softmax_table(phi, theta)

    paths = enumerate_trajectories(mdp, pi, horizon)
    assert math.isclose(sum(p for p, _ in paths), 1.0, rel_tol=1e-13)
    size = theta.size
    J = scale = 0.0
    grad = np.zeros(size)
    fisher_steps = np.zeros((size, size))
    fisher_paths = np.zeros((size, size))
    for p, steps in paths:
        ret = sum(gamma**t * r for t, (_, _, r) in enumerate(steps))
        scores = [score(phi, pi, s, a) for s, a, _ in steps]
        total = np.sum(scores, axis=0)
        J += p * ret
        scale += p * abs(ret)
        grad += p * ret * total
        fisher_paths += p * np.outer(total, total)
        for t, g in enumerate(scores):
            fisher_steps += p * gamma**t * np.outer(g, g)

    # Both sides sum a few thousand products of O(1) numbers: the round-off
    # is a few ulps of sum p |R| (resp. of the largest entry), so 1e-12
    # relative is machine precision with a margin.
    assert abs(exact.objective(mdp, policy, gamma) - J) <= 1e-12 * scale
    np.testing.assert_allclose(
        exact.gradient(mdp, policy, gamma).ravel(),
        grad,
        rtol=0,
        atol=1e-12 * scale * np.abs(grad).max() + 1e-15,
    )
    F = exact.fisher(mdp, policy, gamma)
    np.testing.assert_allclose(F, fisher_steps, rtol=0, atol=1e-12 * np.abs(F).max())
    if gamma == 1.0:
        np.testing.assert_allclose(F, fisher_paths, rtol=0, atol=1e-12 * np.abs(F).max())


# ------------------------------------------------------- FrozenLake reference


def uniform_value_iteration(gym_id: str, gamma: float, sweeps: int | None) -> float:
    """Value of the uniform random policy from Gymnasium's own transition
    list P[s][a] = [(p, s', r, terminated), ...]: ``sweeps`` Bellman backups
    from V = 0 (the value with that many steps left), or until convergence."""
    env = gym.make(gym_id, disable_env_checker=True).unwrapped
    n = env.observation_space.n
    V = [0.0] * n
    k = 0
    while True:
        new = []
        for s in range(n):
            total = 0.0
            for a in range(env.action_space.n):
                for p, s2, r, terminated in env.P[s][a]:
                    total += p * (r + (0.0 if terminated else gamma * V[s2]))
            new.append(total / env.action_space.n)
        k += 1
        change = max(abs(x - y) for x, y in zip(new, V, strict=True))
        V = new
        if (sweeps is not None and k == sweeps) or (sweeps is None and change < 1e-15):
            break
        assert k < 100_000
    return float(np.dot(env.initial_state_distrib, V))


@pytest.mark.parametrize(
    ("gamma", "horizon", "sweeps"),
    [(1.0, None, 100), (0.95, None, 100), (0.95, math.inf, None), (1.0, math.inf, None)],
)
def test_frozen_lake_uniform_policy_matches_value_iteration(gamma, horizon, sweeps):
    mdp = pg.TabularMDP.frozen_lake()  # time limit 100, as Gymnasium's
    assert mdp.max_episode_steps == 100
    policy = pg.LinearSoftmax(pg.features.OneHot(16), n_actions=4)  # theta = 0: uniform
    expected = uniform_value_iteration("FrozenLake-v1", gamma, sweeps)
    # Values lie in [0, 1]; both sides are ~1e3 floating-point operations
    # away from the exact value (the converged iteration stops when the
    # change is below 1e-15, geometrically fast), hence 1e-12.
    assert exact.objective(mdp, policy, gamma, horizon=horizon) == pytest.approx(
        expected, abs=1e-12
    )


# --------------------------------------------------------- Fisher, natural


@pytest.mark.parametrize("kind", FEATURE_KINDS)
@pytest.mark.parametrize(("gamma", "max_steps"), [(0.9, None), (1.0, 5)])
def test_fisher_is_symmetric_psd_with_the_softmax_null_space(kind, gamma, max_steps):
    mdp = random_mdp(21, max_episode_steps=max_steps)
    policy = softmax_policy(kind, mdp.n_states, mdp.n_actions, 21)
    phi = features_of(policy, mdp.n_states)
    F = exact.fisher(mdp, policy, gamma)
    n = phi.shape[1] * 3
    assert F.shape == (n, n)
    np.testing.assert_array_equal(F, F.T)
    eig = np.linalg.eigvalsh(F)
    # Eigenvalues of a PSD matrix computed in floating point: >= -n eps |F|.
    assert eig.min() >= -1e-13 * eig.max()
    # Adding u to every action's logits (direction u (x) 1_A) changes nothing.
    u = np.random.default_rng(23).normal(size=phi.shape[1])
    np.testing.assert_allclose(
        F @ np.outer(u, np.ones(3)).ravel(), 0.0, atol=1e-13 * np.abs(F).max() * np.abs(u).max()
    )
    Fn = exact.fisher(mdp, policy, gamma, normalize=True)
    visits = exact.evaluate_policy(mdp, policy, gamma).visitation.sum()
    np.testing.assert_allclose(Fn * visits, F, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("gamma", [1.0, 0.7])
def test_fisher_is_the_hessian_of_the_kl_divergence(gamma):
    """sum_t gamma^t E[KL(pi_theta(.|s_t) || pi_theta'(.|s_t))] equals, up to
    a constant, the cross-entropy -sum_{s,a} N(s, a) log pi_theta'(a|s) with
    N the discounted expected visit counts, taken here from trajectory
    enumeration. Its Hessian in theta' at theta' = theta is the Fisher
    matrix."""
    horizon = 4
    mdp = random_mdp(31, n_states=4, n_actions=2, n_terminal=1, max_episode_steps=horizon)
    policy = softmax_policy("dense", mdp.n_states, mdp.n_actions, 31)
    phi, theta = features_of(policy, mdp.n_states), policy.theta
    pi = softmax_table(phi, theta)
    counts = np.zeros((mdp.n_states, 2))
    for p, steps in enumerate_trajectories(mdp, pi, horizon):
        for t, (s, a, _) in enumerate(steps):
            counts[s, a] += p * gamma**t

    def cross_entropy(x: np.ndarray) -> float:
        return float(-np.sum(counts * np.log(softmax_table(phi, x.reshape(theta.shape)))))

    x0, h, n = theta.ravel(), 2e-4, theta.size
    hessian = np.zeros((n, n))
    for i in range(n):
        for j in range(n):

            def at(di, dj, i=i, j=j):
                x = x0.copy()
                x[i] += di * h
                x[j] += dj * h
                return cross_entropy(x)

            hessian[i, j] = (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * h * h)
    F = exact.fisher(mdp, policy, gamma)
    # Second differences with h = 2e-4: truncation h^2 |f''''| / 6 ~ 1e-8 and
    # round-off eps |f| / h^2 ~ 3e-8 for |f| ~ 5, against entries ~0.1-1.
    assert max_rel_error(F, hessian) < 1e-5


def test_natural_gradient_is_the_centred_advantage_for_one_hot_features():
    """Kakade (2002): with phi = I the natural gradient in a visited state is
    A(s, .) up to a per-state constant; the minimum-norm solution is
    A(s, a) - mean_b A(s, b). A is computed here by an independent solve."""
    gamma = 0.9
    mdp = random_mdp(41)
    S, nA = mdp.n_states, mdp.n_actions
    policy = softmax_policy("onehot", S, nA, 41)
    pi = softmax_table(np.eye(S), policy.theta)
    live = ~mdp.terminal
    r = np.einsum("sat,sat->sa", mdp.P, mdp.R)
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)[np.ix_(live, live)]
    V = np.zeros(S)
    V[live] = np.linalg.solve(np.eye(live.sum()) - gamma * P_pi, (pi * r).sum(1)[live])
    Q = r + gamma * mdp.P @ V
    adv = Q - V[:, None]
    expected = np.where(live[:, None], adv - adv.mean(axis=1, keepdims=True), 0.0)

    x = exact.natural_gradient(mdp, policy, gamma)
    # A pseudo-inverse of a Fisher matrix with condition number ~1e3 on its range:
    # errors ~1e-13 relative; 1e-9 leaves room.
    np.testing.assert_allclose(x, expected, rtol=0, atol=1e-9 * np.abs(expected).max())


@pytest.mark.parametrize("damping", [0.0, 1e-3, 0.5])
@pytest.mark.parametrize("max_steps", [None, 6])
def test_natural_gradient_solves_the_fisher_system(damping, max_steps):
    mdp = random_mdp(51, max_episode_steps=max_steps)
    policy = softmax_policy("dense", mdp.n_states, mdp.n_actions, 51)
    g = exact.gradient(mdp, policy, 0.95).ravel()
    F = exact.fisher(mdp, policy, 0.95)
    x = exact.natural_gradient(mdp, policy, 0.95, damping).ravel()
    residual = (F + damping * np.eye(F.shape[0])) @ x - g
    # A backward-stable solve: residual ~ eps * |F| |x|.
    assert np.abs(residual).max() <= 1e-11 * (np.abs(F).max() * np.abs(x).max() + np.abs(g).max())
    if damping == 0.0:
        # Minimum norm: no component along the null directions u (x) 1_A.
        np.testing.assert_allclose(x.reshape(3, 3).sum(axis=1), 0.0, atol=1e-10 * np.abs(x).max())


# ---------------------------------------------- tabular: engine conventions


@pytest.mark.parametrize(
    ("gamma", "max_steps", "n_terminal"), [(1.0, 4, 2), (0.9, 3, 0), (1.0, None, 3)]
)
def test_objective_matches_monte_carlo_on_the_engine(gamma, max_steps, n_terminal):
    """Episodes run by pgfast's C++ env with actions drawn in numpy: the mean
    return must be J. Rewards are shifted to mean 1 so that one reward too
    many or too few moves J by ~0.5, i.e. by ~100 standard errors."""
    mdp = random_mdp(
        61,
        n_states=5,
        n_actions=2,
        n_terminal=n_terminal,
        max_episode_steps=max_steps,
        reward_shift=1.0,
    )
    policy = softmax_policy("poly", mdp.n_states, mdp.n_actions, 61)
    pi = softmax_table(features_of(policy, mdp.n_states), policy.theta)
    n_envs = 40_000
    env = pg.make(mdp, num_envs=n_envs, seed=63)
    rng = np.random.default_rng(64)
    obs, _ = env.reset(seed=63)
    returns = np.zeros(n_envs)
    done = np.zeros(n_envs, dtype=bool)
    t = 0
    while not done.all():
        u = rng.random(n_envs)
        actions = (u[:, None] > np.cumsum(pi[obs], axis=1)[:, :-1]).sum(axis=1).astype(np.int64)
        obs, reward, terminated, truncated, _ = env.step(actions)
        returns += np.where(done, 0.0, gamma**t * reward)
        done |= terminated | truncated
        t += 1
        assert t < 10_000
    expected = exact.objective(mdp, policy, gamma)
    assert abs(returns.mean() - expected) < Z * returns.std(ddof=1) / math.sqrt(n_envs)


# ------------------------------------------------------------------ LQR


def random_system(seed: int, n: int, m: int, radius: float = 0.9):
    """(A, B, Q, R) with A of spectral radius ``radius`` and Q, R > 0."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    A *= radius / np.max(np.abs(np.linalg.eigvals(A)))
    B = rng.normal(size=(n, m))
    M = rng.normal(size=(n, n))
    N = rng.normal(size=(m, m))
    return A, B, M @ M.T + 0.5 * np.eye(n), N @ N.T + 0.5 * np.eye(m)


def lqr_env(
    seed: int,
    n: int,
    m: int,
    noise_std: float,
    steps: int,
    init_std: float = 0.7,
    num_envs: int = 1,
):
    A, B, Q, R = random_system(seed, n, m)
    return pg.make(
        "LQR",
        num_envs=num_envs,
        seed=seed,
        A=A,
        B=B,
        Q=Q,
        R=R,
        init_std=init_std,
        noise_std=noise_std,
        max_episode_steps=steps,
    )


def gaussian_policy(seed: int, env) -> pg.LinearGaussian:
    """pg.LinearGaussian over Identity features phi(x) = [x, 1] with a random
    gain L (shrunk until rho(A + B L) < 0.95, so that every horizon,
    including the infinite one, has a finite cost), bias c and log_std."""
    n, m = env.B.shape
    rng = np.random.default_rng(seed)
    L = 0.3 * rng.normal(size=(m, n))
    while np.max(np.abs(np.linalg.eigvals(env.A + env.B @ L))) >= 0.95:
        L /= 2
    theta = np.vstack([L.T, 0.5 * rng.normal(size=(1, m))])
    return pg.LinearGaussian(
        pg.features.Identity(n), m, theta=theta, log_std=-1.0 + 0.3 * rng.normal(size=m)
    )


@pytest.mark.parametrize(("n", "m"), [(1, 1), (2, 1), (3, 2)])
@pytest.mark.parametrize(
    ("gamma", "noise_std", "horizon"),
    [(1.0, 0.0, None), (0.95, 0.3, None), (0.9, 0.3, math.inf), (0.8, 0.0, 3)],
)
def test_lqr_gradient_matches_finite_differences(n, m, gamma, noise_std, horizon):
    env = lqr_env(70 + n + m, n, m, noise_std, steps=15)
    policy = gaussian_policy(80 + n, env)
    g_theta, g_log_std = exact.lqr_gradient(env, policy, gamma, horizon=horizon)
    fd_theta = central_difference(
        lambda th: exact.lqr_objective(env, policy, gamma, horizon=horizon, theta=th),
        policy.theta,
        h=1e-5,
    )
    fd_log_std = central_difference(
        lambda ls: exact.lqr_objective(env, policy, gamma, horizon=horizon, log_std=ls),
        policy.log_std,
        h=1e-5,
    )
    # h = 1e-5: round-off eps |J| / h ~ 1e-8 for |J| up to ~500 and
    # truncation h^2 |J'''| / 6 ~ 1e-9, against gradients of size ~1-100
    # (observed: < 3e-8 relative). A missing term (tr(R Sigma), the noise,
    # a gamma) or an extra step gives errors of order 1e-2 or more.
    assert max_rel_error(g_theta, fd_theta) < 1e-6
    assert max_rel_error(g_log_std, fd_log_std) < 1e-6
    assert g_theta.shape == policy.theta.shape
    assert g_log_std.shape == policy.log_std.shape


@pytest.mark.parametrize(("gamma", "noise_std"), [(0.9, 0.0), (0.9, 0.4), (1.0, 0.0)])
def test_lqr_objective_of_the_riccati_gain_is_the_optimal_cost(gamma, noise_std):
    n, m = 3, 2
    env = lqr_env(90, n, m, noise_std, steps=100)
    K = env.optimal_gain(gamma)
    policy = pg.LinearGaussian(
        pg.features.Identity(n), m, theta=np.vstack([-K.T, np.zeros((1, m))])
    )
    optimal = -env.optimal_cost(gamma)
    # sigma -> 0: log_std = -inf is sigma = 0 exactly; log_std = -20 adds
    # O(sigma^2) = O(1e-17) to the cost. The Riccati matrix is solved in C++
    # to ~1e-12 relative, hence rtol 1e-9.
    for log_std in (np.full(m, -np.inf), np.full(m, -20.0)):
        if gamma == 1.0 and np.isfinite(log_std).all():
            continue  # undiscounted: any sigma > 0 costs tr(R Sigma) forever
        J = exact.lqr_objective(env, policy, gamma, horizon=math.inf, log_std=log_std)
        assert J == pytest.approx(optimal, rel=1e-9)
    # The Riccati gain is optimal for every x0, so the gradient in theta
    # vanishes there (to the accuracy of K), unlike at a perturbed gain.
    g0, _ = exact.lqr_gradient(env, policy, gamma, horizon=math.inf, log_std=np.full(m, -np.inf))
    perturbed = policy.theta.copy()
    perturbed[:n] += 0.01  # the gain only: with gamma = 1 a bias costs forever
    g1, _ = exact.lqr_gradient(
        env, policy, gamma, horizon=math.inf, log_std=np.full(m, -np.inf), theta=perturbed
    )
    assert np.abs(g0).max() < 1e-7 * np.abs(g1).max()
    if gamma < 1:
        # 0.9^400 ~ 5e-19: the finite horizon agrees with the infinite one.
        J_400 = exact.lqr_objective(env, policy, gamma, horizon=400, log_std=np.full(m, -20.0))
        assert J_400 == pytest.approx(optimal, rel=1e-9)


@pytest.mark.parametrize(("gamma", "noise_std"), [(1.0, 0.0), (0.9, 0.5)])
def test_lqr_objective_matches_monte_carlo_on_the_engine(gamma, noise_std):
    """Episodes of pgfast's LQR env (x0 ~ N(0, init_std^2 I), reward on the
    current x and u, truncated after max_episode_steps) with Gaussian
    actions drawn in numpy: the mean return must be lqr_objective. One step
    more or less changes J by a whole stage cost, tens of standard errors."""
    n, m, steps, n_envs = 2, 1, 6, 40_000
    env = lqr_env(100, n, m, noise_std, steps, num_envs=n_envs)
    policy = gaussian_policy(101, env)
    L, c = policy.theta[:n].T, policy.theta[n]
    sigma = np.exp(policy.log_std)
    rng = np.random.default_rng(102)
    x, _ = env.reset(seed=103)
    returns = np.zeros(n_envs)
    for t in range(steps):
        u = x @ L.T + c + sigma * rng.normal(size=(n_envs, m))
        x, reward, terminated, truncated, _ = env.step(u)
        returns += gamma**t * reward
        assert not terminated.any()
        assert truncated.all() == (t == steps - 1)
    expected = exact.lqr_objective(env, policy, gamma)
    assert abs(returns.mean() - expected) < Z * returns.std(ddof=1) / math.sqrt(n_envs)


def test_lqr_accepts_any_affine_features_and_refuses_others():
    n, m = 2, 1
    env = lqr_env(110, n, m, 0.2, steps=10)
    policy = gaussian_policy(111, env)
    # phi'(x) = [2 x_1 - 1, x_0 + 3, 1] spans the same affine functions.
    # With [x, 1] = G phi'(x), theta' = G^T theta gives the same mean action,
    # hence the same J, and by the chain rule (theta = G^-T theta')
    # dJ/dtheta' = G^-1 dJ/dtheta.

    def features(x):
        x = np.asarray(x, dtype=np.float64)
        return np.column_stack([2 * x[:, 1] - 1, x[:, 0] + 3, np.ones(len(x))])

    G = np.array([[0.0, 1.0, -3.0], [0.5, 0.0, 0.5], [0.0, 0.0, 1.0]])
    other = GaussianStandIn(G.T @ policy.theta, policy.log_std, features)  # stand-in
    assert exact.lqr_objective(env, other, 0.95) == pytest.approx(
        exact.lqr_objective(env, policy, 0.95), rel=1e-12
    )
    g, _ = exact.lqr_gradient(env, policy, 0.95)
    g_other, _ = exact.lqr_gradient(env, other, 0.95)
    np.testing.assert_allclose(g_other, np.linalg.solve(G, g), rtol=1e-10, atol=1e-12)

    # Polynomial(n, 1) is [1, x]: the bias row moves to the top.
    poly = pg.LinearGaussian(
        pg.features.Polynomial(n, degree=1),
        m,
        log_std=policy.log_std,
        theta=np.roll(policy.theta, 1, axis=0),
    )
    assert exact.lqr_objective(env, poly, 0.95) == pytest.approx(
        exact.lqr_objective(env, policy, 0.95), rel=1e-12
    )
    np.testing.assert_allclose(
        exact.lqr_gradient(env, poly, 0.95)[0], np.roll(g, 1, axis=0), rtol=1e-10, atol=1e-12
    )

    for features in (
        pg.features.Polynomial(n, degree=2),
        pg.features.Fourier(order=1, low=[-5.0] * n, high=[5.0] * n),
    ):
        curved = pg.LinearGaussian(features, m)
        with pytest.raises(ValueError, match="affine"):
            exact.lqr_objective(env, curved, 0.9)


def test_lqr_errors():
    env = lqr_env(120, 2, 1, 0.3, steps=10)
    policy = gaussian_policy(121, env)
    with pytest.raises(ValueError, match="gamma = 1"):
        exact.lqr_objective(env, policy, 1.0, horizon=math.inf)
    unstable = pg.LinearGaussian(
        pg.features.Identity(2), 1, theta=np.vstack([np.full((2, 1), 50.0), [[0.0]]])
    )
    with pytest.raises(ValueError, match="unstable"):
        exact.lqr_objective(env, unstable, 0.9, horizon=math.inf)
    with pytest.raises(ValueError, match="theta"):
        exact.lqr_gradient(env, policy, 0.9, theta=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="log_std"):
        exact.lqr_objective(env, policy, 0.9, log_std=[np.nan])


# ---------------------------------------------------------------- errors


def test_tabular_errors():
    no_terminal = random_mdp(130, n_terminal=0)
    policy = pg.LinearSoftmax(pg.features.OneHot(7), 3)
    with pytest.raises(ValueError, match="no terminal state"):
        exact.objective(no_terminal, policy, 1.0)
    # Fine with discounting, with a horizon, or with a time limit.
    exact.objective(no_terminal, policy, 1.0, horizon=10)
    exact.gradient(no_terminal, policy, 0.99)

    # A reachable non-terminal absorbing state 0: episodes may never end.
    P = np.array(random_mdp(131).P)
    P[0] = 0.0
    P[0, :, 0] = 1.0
    base = random_mdp(131)
    trap = pg.TabularMDP(P, base.R, base.initial, base.terminal)
    with pytest.raises(ValueError, match="state 0 is reachable"):
        exact.gradient(trap, policy, 1.0)
    # ... but the same trap unreachable from the start is harmless.
    P2 = np.array(base.P)
    P2[:, :, 0] = 0.0
    P2[:, :, 1] += np.array(base.P)[:, :, 0]
    P2[0] = 0.0
    P2[0, :, 0] = 1.0
    initial = np.array(base.initial)
    initial[1] += initial[0]
    initial[0] = 0.0
    unreachable = pg.TabularMDP(P2, base.R, initial, base.terminal)
    ev = exact.evaluate_policy(unreachable, policy, 1.0)
    assert np.isnan(ev.V[0])
    assert np.isnan(ev.Q[0]).all()
    assert ev.d[0] == 0
    assert np.isfinite(ev.objective)
    assert np.isfinite(exact.gradient(unreachable, policy, 1.0)).all()

    with pytest.raises(ValueError, match="gamma"):
        exact.objective(base, policy, 1.5)
    with pytest.raises(ValueError, match="horizon"):
        exact.objective(base, policy, 0.9, horizon=0)
    with pytest.raises(TypeError, match="horizon"):
        exact.objective(base, policy, 0.9, horizon=2.5)
    with pytest.raises(ValueError, match="theta"):
        exact.objective(base, policy, 0.9, theta=np.zeros((7, 2)))
    with pytest.raises(ValueError, match="features"):
        exact.objective(base, SoftmaxStandIn(np.eye(7)[:, :5], np.zeros((7, 3))), 0.9)
    with pytest.raises(ValueError, match="damping"):
        exact.natural_gradient(base, policy, 0.9, -1.0)


def test_evaluation_shapes():
    mdp = random_mdp(140, max_episode_steps=5)
    policy = pg.LinearSoftmax(pg.features.OneHot(7), 3)
    ev = exact.evaluate_policy(mdp, policy, 0.9)
    assert ev.horizon == 5
    assert ev.V.shape == (6, 7)
    assert ev.Q.shape == (5, 7, 3)
    assert ev.d.shape == (5, 7)
    np.testing.assert_array_equal(ev.V[5], 0.0)
    np.testing.assert_allclose(ev.d.sum(axis=1)[0], 1.0, rtol=1e-14)
    ev = exact.evaluate_policy(mdp, policy, 0.9, horizon=math.inf)
    assert ev.horizon is None
    assert ev.V.shape == (7,)
    assert ev.Q.shape == (7, 3)
    assert ev.d.shape == (7,)
    assert ev.objective == pytest.approx(float(mdp.initial @ ev.V), rel=1e-15)


@pytest.mark.parametrize("kind", ["onehot", "poly"])
def test_oracle_agrees_with_the_library_policy(kind):
    """The oracle's softmax is the library's (computed in C++), and the
    policy gradient theorem assembled from the library's own scores
    grad_log_prob(s, a) gives the oracle's gradient."""
    mdp = random_mdp(150, max_episode_steps=6)
    S, nA = mdp.n_states, mdp.n_actions
    policy = softmax_policy(kind, S, nA, 150)
    ev = exact.evaluate_policy(mdp, policy, 0.9, horizon=math.inf)
    # Two log-sum-exp implementations of O(1) logits: a few ulps apart.
    np.testing.assert_allclose(ev.pi, policy.probs(np.arange(S)), rtol=1e-13)
    obs, actions = np.repeat(np.arange(S), nA), np.tile(np.arange(nA), S)
    scores = policy.grad_log_prob(obs, actions).reshape(S, nA, *policy.theta.shape)
    g = np.einsum("s,sa,sa,safb->fb", ev.d, ev.pi, ev.Q, scores)
    expected = exact.gradient(mdp, policy, 0.9, horizon=math.inf)
    # Q rather than the advantage: the baseline V(s) cancels only up to
    # round-off of size eps |d| |Q|, hence the absolute floor.
    np.testing.assert_allclose(
        g, expected, rtol=1e-10, atol=1e-12 * ev.d.sum() * np.abs(ev.Q).max()
    )
