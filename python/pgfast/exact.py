r"""Exact policy gradients: the oracle the sampled estimates are tested against.

Everything here is plain NumPy, written independently of the C++ engine:
values, visitation measures, gradients and Fisher matrices come from linear
solves (tabular MDPs) and from mean/covariance recursions (LQR).

Conventions (the same as the environments'):

* The return of an episode is ``sum_t gamma^t r_t`` with ``t`` counted from
  0, ``r_t`` the reward paid on the transition ``s_t -a_t-> s_{t+1}``.
* Entering a terminal state ends the episode: terminal states are absorbing,
  worth 0, and never acted in.
* A time limit ``H`` truncates the episode after ``H`` steps, i.e. after at
  most ``H`` rewards ``r_0 .. r_{H-1}``. Truncation is part of the objective:
  nothing is bootstrapped past it.

``horizon`` (every function takes it as a keyword):

* ``None`` (default): the environment's time limit
  (``mdp.max_episode_steps``, ``env.max_episode_steps``); when that is
  ``None`` too, the infinite-horizon formulas.
* an int ``H >= 1``: the finite-horizon objective over ``H`` steps, computed
  by backward induction with time-dependent ``V_t``, ``Q_t`` (``H - t``
  steps left) and forward state distributions ``d_t(s) = P(s_t = s)``.
* ``math.inf`` (``float("inf")``): the infinite-horizon formulas, ignoring
  any time limit. With ``gamma = 1`` this needs every episode to terminate
  with probability 1 (tabular; a ``ValueError`` says when not) or a cost
  that stays finite (LQR).

``gamma`` is in ``[0, 1]``.

Policies: tabular functions take a :class:`pgfast.LinearSoftmax` and LQR
functions a :class:`pgfast.LinearGaussian`, read through their attributes
only, so any object with the same attributes works too. Tabular:
``policy.theta`` of shape ``(F, A)`` and ``policy.features``, called once on
``np.arange(S)`` (observations of a tabular MDP are state indices) and
returning the ``(S, F)`` feature matrix ``phi``; any feature map will do.
Over state-action features (``pg.features.StateAction``,
``StateActionTable``) ``theta`` has shape ``(d,)`` and the features return
``(S, A, d)``; gradients, Fisher matrices and natural gradients are then
over that ``theta``.
LQR: ``policy.theta`` ``(F, D)``, ``policy.log_std`` ``(D,)`` and
``policy.features`` mapping states ``(N, n)`` to ``(N, F)``, which must be
affine in the state (``pg.features.Identity(n)``, ``phi(x) = [x, 1]``, or
``Polynomial(n, degree=1)``; anything else raises ``ValueError``). Every
function accepts ``theta=`` (and ``log_std=`` for LQR) to evaluate at other
parameters without touching the policy, which is what finite differences
need; ``log_std=-np.inf`` (``sigma = 0``) is accepted there.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from pgfast._validation import check_int, check_real

__all__ = [
    "PolicyEvaluation",
    "evaluate_policy",
    "fisher",
    "gradient",
    "lqr_gradient",
    "lqr_objective",
    "natural_gradient",
    "objective",
]


# ----------------------------------------------------------------- arguments


def _check_gamma(gamma: Any) -> float:
    gamma = check_real(gamma, "gamma")
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    return gamma


def _resolve_horizon(horizon: Any, default: int | None) -> int | None:
    """``None`` -> ``default``; ``inf`` -> ``None`` (infinite); else an int >= 1."""
    if horizon is None:
        return default
    if isinstance(horizon, float) and math.isinf(horizon) and horizon > 0:
        return None
    return check_int(horizon, "horizon", minimum=1)


def _float_matrix(value: Any, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return arr


# ------------------------------------------------------------------ tabular


@dataclass(frozen=True)
class PolicyEvaluation:
    """Exact values and visitation of a linear softmax policy on a tabular MDP.

    Attributes:
        pi: ``pi[s, a]``, shape ``(S, A)``.
        V: infinite horizon ``(S,)``; finite horizon ``(H + 1, S)`` with
            ``V[t]`` the value with ``H - t`` steps left (``V[H] = 0``).
            0 on terminal states; ``nan`` (gamma = 1, infinite horizon only)
            on states from which the episode need not terminate, which the
            initial distribution cannot reach (``Q`` too).
        Q: ``(S, A)`` or ``(H, S, A)``, ``Q[t, s, a] = r(s, a) + gamma
            sum_{s' non-terminal} P[s, a, s'] V[t + 1, s']``; 0 on terminal
            states.
        d: infinite horizon: the discounted visitation measure
            ``d = initial^T (I - gamma P_pi)^-1`` over non-terminal states
            (not normalised; it sums to the expected discounted episode
            length). Finite horizon ``(H, S)``: ``d[t, s] = P(s_t = s)``,
            the probability of being in non-terminal ``s`` at step ``t``.
        visitation: ``(S,)``, the measure the gradient and the Fisher matrix
            average over: ``d`` (infinite horizon) or
            ``sum_t gamma^t d[t]`` (finite horizon).
        objective: ``J = sum_s initial(s) V_0(s)``.
        gamma: the discount.
        horizon: ``H``, or ``None`` for the infinite-horizon formulas.
    """

    pi: np.ndarray
    V: np.ndarray
    Q: np.ndarray
    d: np.ndarray
    visitation: np.ndarray
    objective: float
    gamma: float
    horizon: int | None

    def weighted_advantages(self) -> np.ndarray:
        """``W[s, a] = sum_t gamma^t d_t(s) pi(a|s) (Q_t(s, a) - V_t(s))``, shape ``(S, A)``.

        The tabular policy gradient is ``phi^T W``.
        """
        if self.horizon is None:
            live = self.visitation > 0
            W = np.zeros_like(self.pi)
            adv = self.Q[live] - self.V[live, None]
            W[live] = self.d[live, None] * self.pi[live] * adv
            return W
        H = self.horizon
        discounts = self.gamma ** np.arange(H, dtype=np.float64)
        adv = self.Q - self.V[:H, :, None]  # (H, S, A)
        return np.einsum("t,ts,sa,tsa->sa", discounts, self.d, self.pi, adv)


def _tables(mdp: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if hasattr(mdp, "riccati"):
        raise TypeError("this is an LQR env: use pg.exact.lqr_objective / lqr_gradient")
    if hasattr(mdp, "mdp") and mdp.mdp is not None:
        mdp = mdp.mdp  # a tabular pgfast env: its tables
    if not all(hasattr(mdp, name) for name in ("P", "R", "initial")):
        raise TypeError(f"expected a pg.TabularMDP (or a tabular env), got {type(mdp).__name__}")
    P = _float_matrix(mdp.P, "mdp.P")
    if P.ndim != 3 or P.shape[2] != P.shape[0]:
        raise ValueError(f"mdp.P must have shape (S, A, S), got {P.shape}")
    S = P.shape[0]
    R = _float_matrix(mdp.R, "mdp.R")
    if R.shape == P.shape[:2]:
        r = R
    elif R.shape == P.shape:
        r = np.einsum("sat,sat->sa", P, R)
    else:
        raise ValueError(f"mdp.R must have shape {P.shape[:2]} or {P.shape}, got {R.shape}")
    initial = _float_matrix(mdp.initial, "mdp.initial", (S,))
    terminal = getattr(mdp, "terminal", None)
    terminal = np.zeros(S, dtype=bool) if terminal is None else np.asarray(terminal, dtype=bool)
    if terminal.shape != (S,):
        raise ValueError(f"mdp.terminal must have shape ({S},), got {terminal.shape}")
    if (initial[terminal] > 0).any():
        raise ValueError("the initial distribution puts mass on a terminal state")
    return P, r, initial, terminal


def _softmax_policy(
    policy: Any, n_states: int, n_actions: int, theta: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(phi, theta, pi (S, A))`` of a linear softmax policy.

    Over state features ``phi`` is ``(S, F)`` and ``theta`` ``(F, A)``; over
    state-action features (``theta`` of shape ``(d,)``) ``phi`` is
    ``(S, A, d)``, ``phi[s, a] = phi(s, a)``, and the logits are
    ``phi[s, a] . theta``.
    """
    theta = _float_matrix(policy.theta if theta is None else theta, "theta")
    if theta.ndim == 1:
        phi = _float_matrix(policy.features(np.arange(n_states)), "policy.features(states)")
        if phi.shape != (n_states, n_actions, theta.shape[0]):
            raise ValueError(
                f"state-action features of np.arange({n_states}) must have shape "
                f"({n_states}, n_actions={n_actions}, d={theta.shape[0]}), got {phi.shape}"
            )
        logits = phi @ theta
    else:
        if theta.ndim != 2 or theta.shape[1] != n_actions:
            raise ValueError(
                f"theta must have shape (n_features, n_actions={n_actions}) or, over "
                f"state-action features, (d,); got {theta.shape}"
            )
        phi = _float_matrix(policy.features(np.arange(n_states)), "policy.features(states)")
        if phi.shape != (n_states, theta.shape[0]):
            raise ValueError(
                f"policy.features(np.arange({n_states})) must have shape "
                f"({n_states}, n_features={theta.shape[0]}), got {phi.shape}"
            )
        logits = phi @ theta
    if not np.isfinite(theta).all():
        raise ValueError("theta must be finite")
    if not np.isfinite(phi).all():
        raise ValueError("the features must be finite")
    logits = logits - logits.max(axis=1, keepdims=True)  # log-sum-exp: exp() <= 1
    pi = np.exp(logits)
    pi /= pi.sum(axis=1, keepdims=True)
    return phi, theta, pi


def _policy_gradient(phi: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``sum_{s,a} W[s, a] grad log pi(a|s)``-weighted features: ``phi^T W``
    over state features, ``sum_{s,a} W[s, a] phi(s, a)`` over state-action
    features (``sum_a W[s, a] = 0`` removes the expected features)."""
    if phi.ndim == 3:
        return np.einsum("sa,sad->d", W, phi)
    return phi.T @ W


def _bfs(adjacency: np.ndarray, start: np.ndarray, through: np.ndarray) -> np.ndarray:
    """States reachable from ``start`` along ``adjacency[u, v]``, leaving only
    states in ``through`` (the start states count as reached)."""
    seen = start.copy()
    queue = deque(int(s) for s in np.flatnonzero(start))
    while queue:
        u = queue.popleft()
        if not through[u]:
            continue
        for v in np.flatnonzero(adjacency[u] & ~seen):
            seen[v] = True
            queue.append(int(v))
    return seen


def _surely_terminating(P: np.ndarray, initial: np.ndarray, terminal: np.ndarray) -> np.ndarray:
    """Non-terminal states from which an episode of a full-support policy
    terminates with probability 1; raises if the initial distribution can
    reach any other state.

    A softmax policy gives every action positive probability, so the chain
    moves along ``any_a P[s, a, s'] > 0``. A state terminates surely iff no
    state reachable from it is cut off from every terminal state.
    """
    edges = P.sum(axis=1) > 0
    edges[terminal] = False
    live = ~terminal
    can_terminate = _bfs(edges.T, terminal.copy(), np.ones_like(terminal))
    stuck = live & ~can_terminate  # no terminal state reachable from here
    doomed = _bfs(edges.T, stuck, live)  # can reach a stuck state
    reachable = _bfs(edges, initial > 0, live)
    if (reachable & stuck).any():
        s = int(np.flatnonzero(reachable & stuck)[0])
        detail = (
            "the MDP has no terminal state"
            if not terminal.any()
            else f"state {s} is reachable from the initial distribution but no terminal "
            "state is reachable from it"
        )
        raise ValueError(
            "with gamma = 1 and no time limit the return is finite only if every episode "
            f"terminates with probability 1, but {detail}. Use gamma < 1 or a finite horizon "
            "(horizon=H or mdp.max_episode_steps)"
        )
    return live & ~doomed


def _evaluate(
    mdp: Any, policy: Any, gamma: float, horizon: Any, theta: Any
) -> tuple[PolicyEvaluation, np.ndarray]:
    gamma = _check_gamma(gamma)
    P, r, initial, terminal = _tables(mdp)
    S, A = r.shape
    H = _resolve_horizon(horizon, getattr(mdp, "max_episode_steps", None))
    phi, _, pi = _softmax_policy(policy, S, A, theta)
    live = ~terminal
    # Transitions into terminal states leave the process: the successor is worth 0.
    P_live = P * live[None, None, :]
    P_pi = np.einsum("sa,sat->st", pi, P_live)
    P_pi[terminal] = 0.0

    if H is None:
        if gamma < 1.0:
            solve = live
        else:
            solve = _surely_terminating(P, initial, terminal)
        idx = np.flatnonzero(solve)
        M = np.eye(idx.size) - gamma * P_pi[np.ix_(idx, idx)]
        r_pi = np.einsum("sa,sa->s", pi, r)
        try:
            v = np.linalg.solve(M, r_pi[idx])
            dv = np.linalg.solve(M.T, initial[idx])
        except np.linalg.LinAlgError:  # only if pi underflows to exact zeros
            raise ValueError(
                "I - gamma P_pi is singular: under this (numerically deterministic) policy "
                "some episodes never terminate; use gamma < 1 or a finite horizon"
            ) from None
        V = np.full(S, np.nan)
        V[terminal] = 0.0
        V[idx] = v
        d = np.zeros(S)
        d[idx] = dv
        Q = np.full((S, A), np.nan)
        Q[terminal] = 0.0
        # Successors of a solved state are solved or terminal (see _surely_terminating).
        Q[idx] = r[idx] + gamma * P_live[np.ix_(idx, np.arange(A), idx)] @ v
        visitation = d
        J = float(initial[idx] @ v)
    else:
        V = np.zeros((H + 1, S))
        Q = np.zeros((H, S, A))
        for t in range(H - 1, -1, -1):
            Q[t] = r + gamma * (P_live @ V[t + 1])
            Q[t, terminal] = 0.0
            V[t] = np.einsum("sa,sa->s", pi, Q[t])
        d = np.zeros((H, S))
        d[0] = initial
        for t in range(1, H):
            d[t] = d[t - 1] @ P_pi
        visitation = (gamma ** np.arange(H, dtype=np.float64)) @ d
        J = float(initial @ V[0])
    result = PolicyEvaluation(
        pi=pi, V=V, Q=Q, d=d, visitation=visitation, objective=J, gamma=gamma, horizon=H
    )
    return result, phi


def evaluate_policy(
    mdp: Any, policy: Any, gamma: float, *, horizon: Any = None, theta: Any = None
) -> PolicyEvaluation:
    r"""Exact ``pi``, ``V``, ``Q`` and state visitation of a linear softmax policy.

    Infinite horizon (``horizon=inf``, or no time limit): with ``P_pi`` the
    state-to-state matrix restricted to non-terminal states (transitions into
    terminal states drop out, their value is 0),
    ``V = (I - gamma P_pi)^-1 r_pi``, ``Q = r + gamma P V`` and
    ``d = initial^T (I - gamma P_pi)^-1``. With ``gamma = 1`` the solve is
    restricted to the states from which termination is certain, and a
    ``ValueError`` is raised if the initial distribution can reach any other.

    Finite horizon ``H``: ``V_H = 0``, ``Q_t = r + gamma P V_{t+1}``,
    ``V_t = sum_a pi Q_t`` for ``t = H-1 .. 0``; ``d_0 = initial``,
    ``d_{t+1} = d_t P_pi``.

    Returns:
        a :class:`PolicyEvaluation`.

    Example:
        One decision state: action 0 pays 1 and ends the episode, action 1
        pays 0 and stays; the uniform policy (theta = 0) with gamma = 1/2 has
        ``V = 1/2 + 1/4 V``, so ``V = 2/3``.

        >>> import numpy as np, pgfast as pg
        >>> from pgfast import exact
        >>> P = np.zeros((2, 2, 2)); P[0, 0, 1] = P[0, 1, 0] = 1.0; P[1, :, 1] = 1.0
        >>> mdp = pg.TabularMDP(P, R=[[1.0, 0.0], [0.0, 0.0]], initial=[1.0, 0.0],
        ...                     terminal=np.array([False, True]))
        >>> policy = pg.LinearSoftmax(pg.features.OneHot(2), n_actions=2)  # theta = 0
        >>> ev = exact.evaluate_policy(mdp, policy, 0.5)
        >>> ev.V, ev.Q[0], ev.d
        (array([0.66666667, 0.        ]), array([1.        , 0.33333333]),
         array([1.33333333, 0.        ]))
    """
    return _evaluate(mdp, policy, gamma, horizon, theta)[0]


def objective(
    mdp: Any, policy: Any, gamma: float, *, horizon: Any = None, theta: Any = None
) -> float:
    r"""``J(theta) = E[sum_t gamma^t r_t]`` from the initial distribution, exactly.

    ``J = sum_s initial(s) V_0(s)`` (see :func:`evaluate_policy`); over
    ``H`` steps when a horizon applies (``horizon=None`` uses
    ``mdp.max_episode_steps``; ``horizon=math.inf`` forces the
    infinite-horizon value).

    Example:
        The MDP of :func:`evaluate_policy`: ``2/3`` without a limit; one step
        earns ``1/2``; two steps ``1/2 + 1/2 * 1/2 * 1/2``.

        >>> import numpy as np, pgfast as pg
        >>> from pgfast import exact
        >>> P = np.zeros((2, 2, 2)); P[0, 0, 1] = P[0, 1, 0] = 1.0; P[1, :, 1] = 1.0
        >>> mdp = pg.TabularMDP(P, R=[[1.0, 0.0], [0.0, 0.0]], initial=[1.0, 0.0],
        ...                     terminal=np.array([False, True]))
        >>> policy = pg.LinearSoftmax(pg.features.OneHot(2), n_actions=2)  # theta = 0
        >>> [round(exact.objective(mdp, policy, 0.5, horizon=h), 6) for h in (1, 2, None)]
        [0.5, 0.625, 0.666667]
    """
    return _evaluate(mdp, policy, gamma, horizon, theta)[0].objective


def gradient(
    mdp: Any, policy: Any, gamma: float, *, horizon: Any = None, theta: Any = None
) -> np.ndarray:
    r"""``grad_theta J``, shape ``(F, A)``, by the policy gradient theorem.

    Infinite horizon::

        grad J = sum_s d(s) sum_a pi(a|s) grad log pi(a|s) Q(s, a)

    with ``d`` the unnormalised discounted visitation measure
    (``d = initial^T (I - gamma P_pi)^-1``). Finite horizon ``H``::

        grad J = sum_{t<H} gamma^t sum_s P(s_t = s) sum_a pi(a|s) grad log pi(a|s) Q_t(s, a)

    with ``Q_t`` the value with ``H - t`` steps left. For the linear softmax
    ``grad log pi(a|s) = outer(phi(s), e_a - pi(.|s))``, so the sum over
    actions is ``outer(phi(s), pi(.|s) * (Q(s, .) - V(s)))`` and
    ``grad J = phi^T W`` with ``W`` from
    :meth:`PolicyEvaluation.weighted_advantages`.

    Example:
        The MDP of :func:`evaluate_policy` (``d(0) = 4/3``, ``Q(0, .) =
        (1, 1/3)``, ``V(0) = 2/3``): the row of state 0 is
        ``4/3 * 1/2 * (1/3, -1/3) = (2/9, -2/9)``.

        >>> import numpy as np, pgfast as pg
        >>> from pgfast import exact
        >>> P = np.zeros((2, 2, 2)); P[0, 0, 1] = P[0, 1, 0] = 1.0; P[1, :, 1] = 1.0
        >>> mdp = pg.TabularMDP(P, R=[[1.0, 0.0], [0.0, 0.0]], initial=[1.0, 0.0],
        ...                     terminal=np.array([False, True]))
        >>> policy = pg.LinearSoftmax(pg.features.OneHot(2), n_actions=2)  # theta = 0
        >>> exact.gradient(mdp, policy, 0.5)
        array([[ 0.22222222, -0.22222222],
               [ 0.        ,  0.        ]])
    """
    ev, phi = _evaluate(mdp, policy, gamma, horizon, theta)
    return _policy_gradient(phi, ev.weighted_advantages())


def fisher(
    mdp: Any,
    policy: Any,
    gamma: float,
    *,
    horizon: Any = None,
    normalize: bool = False,
    theta: Any = None,
) -> np.ndarray:
    r"""The Fisher matrix ``sum_s w(s) sum_a pi(a|s) g g^T``, shape ``(F*A, F*A)``.

    ``g = vec(grad log pi(a|s))``, flattened row-major like
    ``theta.ravel()`` (index ``f * A + a``), and ``w`` the measure of the
    gradient (``PolicyEvaluation.visitation``: ``d`` for the infinite
    horizon, ``sum_t gamma^t d_t`` for a finite one). Per state the sum over
    actions is ``kron(phi phi^T, diag(pi) - pi pi^T)``.

    Unnormalised, this is ``E[sum_t gamma^t g_t g_t^T]`` over episodes, i.e.
    what a batch estimate summing over the steps of each episode and
    averaging over episodes converges to; with ``gamma = 1`` it is also the
    Fisher information of the trajectory distribution,
    ``E[grad log p(tau) grad log p(tau)^T]`` (the cross terms vanish).
    ``normalize=True`` divides by ``sum_s w(s)``, making ``w`` a probability
    distribution over states (an average over steps).

    The matrix is singular: adding the same amount to every action's logit
    (directions ``u (x) 1_A``) leaves the policy unchanged.

    Example:
        >>> import numpy as np, pgfast as pg
        >>> from pgfast import exact
        >>> P = np.zeros((2, 2, 2)); P[0, 0, 1] = P[0, 1, 0] = 1.0; P[1, :, 1] = 1.0
        >>> mdp = pg.TabularMDP(P, R=[[1.0, 0.0], [0.0, 0.0]], initial=[1.0, 0.0],
        ...                     terminal=np.array([False, True]))
        >>> policy = pg.LinearSoftmax(pg.features.OneHot(2), n_actions=2)  # theta = 0
        >>> exact.fisher(mdp, policy, 0.5)  # d(0) = 4/3 times [[1/4, -1/4], [-1/4, 1/4]]
        array([[ 0.33333333, -0.33333333,  0.        ,  0.        ],
               [-0.33333333,  0.33333333,  0.        ,  0.        ],
               [ 0.        ,  0.        ,  0.        ,  0.        ],
               [ 0.        ,  0.        ,  0.        ,  0.        ]])
    """
    ev, phi = _evaluate(mdp, policy, gamma, horizon, theta)
    return _fisher(ev, phi, normalize)


def _fisher(ev: PolicyEvaluation, phi: np.ndarray, normalize: bool) -> np.ndarray:
    w = ev.visitation
    if normalize:
        total = w.sum()
        if total <= 0:
            raise ValueError("the visitation measure is zero; cannot normalise")
        w = w / total
    pi = ev.pi
    if phi.ndim == 3:
        # sum_s w(s) (X_s^T diag(pi_s) X_s - xbar_s xbar_s^T), X_s = phi(s, .).
        xbar = np.einsum("sa,sad->sd", pi, phi)
        M = np.einsum("s,sa,sad,sae->de", w, pi, phi, phi) - np.einsum("s,sd,se->de", w, xbar, xbar)
        return 0.5 * (M + M.T)
    F, A = phi.shape[1], pi.shape[1]
    C = np.einsum("sa,ab->sab", pi, np.eye(A)) - np.einsum("sa,sb->sab", pi, pi)
    # M[f, a, g, b] = sum_s w(s) phi[s, f] phi[s, g] C[s, a, b], as one matrix product over s.
    U = phi[:, :, None, None] * (w[:, None, None] * C)[:, None, :, :]  # (S, F, A, A)
    M = np.tensordot(U, phi, axes=([0], [0])).transpose(0, 1, 3, 2).reshape(F * A, F * A)
    return 0.5 * (M + M.T)  # exact symmetry despite summation order


def natural_gradient(
    mdp: Any,
    policy: Any,
    gamma: float,
    damping: float = 0.0,
    *,
    horizon: Any = None,
    normalize: bool = False,
    theta: Any = None,
) -> np.ndarray:
    r"""The natural gradient ``(F + damping I)^-1 vec(grad J)``, reshaped to ``(F, A)``.

    ``F`` is :func:`fisher` (same ``horizon`` and ``normalize``), ``grad J``
    is :func:`gradient`. With ``damping > 0`` the system is positive definite
    and solved directly. With ``damping = 0`` the softmax Fisher matrix is
    singular (the all-actions-equal directions), and the minimum-norm
    solution ``F^+ vec(grad J)`` is returned (pseudo-inverse from
    ``numpy.linalg.eigh``, eigenvalues below ``F*A * eps * lambda_max``
    treated as zero). The
    gradient lies in the range of ``F``, so this solves ``F x = grad J``
    exactly; every other solution differs by a direction that leaves the
    policy unchanged.

    For one-hot features (``phi = I``) and the infinite horizon the result
    is, in every visited state, the advantage centred over actions,
    ``A(s, a) - mean_b A(s, b)`` (Kakade, 2002), and 0 elsewhere.

    Example:
        The MDP of :func:`evaluate_policy`: ``A(0, .) = (1/3, -1/3)``.

        >>> import numpy as np, pgfast as pg
        >>> from pgfast import exact
        >>> P = np.zeros((2, 2, 2)); P[0, 0, 1] = P[0, 1, 0] = 1.0; P[1, :, 1] = 1.0
        >>> mdp = pg.TabularMDP(P, R=[[1.0, 0.0], [0.0, 0.0]], initial=[1.0, 0.0],
        ...                     terminal=np.array([False, True]))
        >>> policy = pg.LinearSoftmax(pg.features.OneHot(2), n_actions=2)  # theta = 0
        >>> np.round(exact.natural_gradient(mdp, policy, 0.5), 6) + 0.0
        array([[ 0.333333, -0.333333],
               [ 0.      ,  0.      ]])
    """
    damping = check_real(damping, "damping", minimum=0.0)
    ev, phi = _evaluate(mdp, policy, gamma, horizon, theta)
    g = _policy_gradient(phi, ev.weighted_advantages())
    M = _fisher(ev, phi, normalize)
    if damping > 0:
        x = np.linalg.solve(M + damping * np.eye(M.shape[0]), g.ravel())
    else:
        # Pseudo-inverse from the eigendecomposition of the symmetric PSD matrix.
        w, V = np.linalg.eigh(M)
        keep = w > max(float(w.max()), 0.0) * M.shape[0] * np.finfo(np.float64).eps
        x = V[:, keep] @ ((V[:, keep].T @ g.ravel()) / w[keep])
    return x.reshape(g.shape)


# ---------------------------------------------------------------------- LQR


def _affine_features(features: Any, n: int, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """``(M (F, n), b (F,))`` with ``features(x) = x M^T + b``, found by probing;
    ``ValueError`` if the map is not affine."""
    probe = np.vstack([np.zeros((1, n)), np.eye(n)])
    Phi = _float_matrix(features(probe), "policy.features(states)")
    if Phi.shape != (n + 1, n_features):
        raise ValueError(
            f"policy.features on states of shape ({n + 1}, {n}) must return shape "
            f"({n + 1}, n_features={n_features}), got {Phi.shape}"
        )
    b = Phi[0]
    M = (Phi[1:] - b).T
    rng = np.random.default_rng(20240531)
    x = rng.normal(size=(4, n)) * np.array([0.5, 1.0, 3.0, 10.0])[:, None]
    expected = x @ M.T + b
    got = _float_matrix(features(x), "policy.features(states)")
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-9, atol=1e-9):
        raise ValueError(
            "the exact LQR gradient needs features affine in the state, phi(x) = M x + b "
            "(e.g. Identity features with a bias, phi(x) = [x, 1]); "
            f"{type(features).__name__} is not affine"
        )
    return M, b


@dataclass(frozen=True)
class _LQR:
    A: np.ndarray
    B: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    init_var: float
    noise_var: float
    M: np.ndarray  # features phi(x) = M x + b
    b: np.ndarray
    L: np.ndarray  # mean action L x + c
    c: np.ndarray
    sig2: np.ndarray  # action variances
    gamma: float
    horizon: int | None


def _lqr_setup(env: Any, policy: Any, gamma: Any, horizon: Any, theta: Any, log_std: Any) -> _LQR:
    gamma = _check_gamma(gamma)
    A = _float_matrix(env.A, "env.A")
    n = A.shape[0]
    B = _float_matrix(env.B, "env.B")
    if A.shape != (n, n) or B.ndim != 2 or B.shape[0] != n:
        raise ValueError(f"env.A must be (n, n) and env.B (n, m), got {A.shape} and {B.shape}")
    m = B.shape[1]
    Q = _float_matrix(env.Q, "env.Q", (n, n))
    R = _float_matrix(env.R, "env.R", (m, m))
    theta = _float_matrix(policy.theta if theta is None else theta, "theta")
    if theta.ndim != 2 or theta.shape[1] != m:
        raise ValueError(f"theta must have shape (n_features, action_dim={m}), got {theta.shape}")
    if not np.isfinite(theta).all():
        raise ValueError("theta must be finite")
    explicit = log_std is not None
    log_std = _float_matrix(policy.log_std if log_std is None else log_std, "log_std")
    log_std = np.broadcast_to(log_std, (m,)).copy() if log_std.ndim == 0 else log_std
    if log_std.shape != (m,):
        raise ValueError(f"log_std must have shape ({m},), got {log_std.shape}")
    if (
        np.isnan(log_std).any()
        or (log_std == np.inf).any()
        or (not explicit and not np.isfinite(log_std).all())
    ):
        raise ValueError("log_std must be finite (or -inf, for sigma = 0, when passed explicitly)")
    M, b = _affine_features(policy.features, n, theta.shape[0])
    H = _resolve_horizon(horizon, getattr(env, "max_episode_steps", None))
    init_std = check_real(env.init_std, "env.init_std", minimum=0.0)
    noise_std = check_real(env.noise_std, "env.noise_std", minimum=0.0)
    return _LQR(
        A=A,
        B=B,
        Q=Q,
        R=R,
        init_var=init_std**2,
        noise_var=noise_std**2,
        M=M,
        b=b,
        L=theta.T @ M,
        c=theta.T @ b,
        sig2=np.exp(2.0 * log_std),
        gamma=gamma,
        horizon=H,
    )


def _dlyap(a: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``X = a X a^T + q`` (``rho(a) < 1``), by a Kronecker solve (n is small)."""
    n = a.shape[0]
    x = np.linalg.solve(np.eye(n * n) - np.kron(a, a), q.ravel()).reshape(n, n)
    return 0.5 * (x + x.T)


def _lqr_solve(s: _LQR, want_gradient: bool) -> tuple[float, np.ndarray, np.ndarray]:
    """``(J, dJ/dtheta, dJ/dlog_std)``; the gradient is zeros unless wanted."""
    A, B, Q, R, L, c, g = s.A, s.B, s.Q, s.R, s.L, s.c, s.gamma
    n, m = B.shape
    Acl = A + B @ L
    Bc = B @ c
    Sig = np.diag(s.sig2)
    W = B @ Sig @ B.T + s.noise_var * np.eye(n)  # per-step covariance injected
    QL = Q + L.T @ R @ L
    X0 = s.init_var * np.eye(n)
    dRdiag = np.diag(R)

    if s.horizon is not None:
        T = s.horizon
        means, covs = np.zeros((T, n)), np.zeros((T, n, n))
        mean, cov = np.zeros(n), X0.copy()
        cost = 0.0
        for t in range(T):
            means[t], covs[t] = mean, cov
            u_mean = L @ mean + c
            cost += g**t * (
                np.trace(QL @ cov) + mean @ Q @ mean + u_mean @ R @ u_mean + s.sig2 @ dRdiag
            )
            mean = Acl @ mean + Bc
            cov = Acl @ cov @ Acl.T + W
            cov = 0.5 * (cov + cov.T)
        GL, Gc, Gs = np.zeros((m, n)), np.zeros(m), np.zeros(m)
        if want_gradient:
            P, p = np.zeros((n, n)), np.zeros(n)  # cost-to-go x'P x + 2 p'x + const, t+1
            for t in range(T - 1, -1, -1):
                E = R @ L + g * B.T @ P @ Acl
                e = R @ c + g * B.T @ (P @ Bc + p)
                X = covs[t] + np.outer(means[t], means[t])
                GL += g**t * 2.0 * (E @ X + np.outer(e, means[t]))
                Gc += g**t * 2.0 * (E @ means[t] + e)
                Gs += g**t * (dRdiag + g * np.diag(B.T @ P @ B))
                p = L.T @ R @ c + g * Acl.T @ (P @ Bc + p)
                P = QL + g * Acl.T @ P @ Acl
                P = 0.5 * (P + P.T)
    else:
        rho = float(np.max(np.abs(np.linalg.eigvals(Acl)))) if n else 0.0
        if math.sqrt(g) * rho >= 1.0:
            raise ValueError(
                "the infinite-horizon cost is infinite: the closed loop x' = (A + B L) x is "
                f"unstable under discounting (sqrt(gamma) * spectral radius = "
                f"{math.sqrt(g) * rho:.6g} >= 1)"
            )
        if g == 1.0 and (s.noise_var > 0 or (s.sig2 > 0).any() or (c != 0).any()):
            raise ValueError(
                "with gamma = 1 the infinite-horizon cost is finite only without noise "
                "(noise_std = 0), with a deterministic policy (log_std=-inf) and no bias in "
                "the mean action; pass gamma < 1 or a finite horizon"
            )
        P = _dlyap(math.sqrt(g) * Acl.T, QL)
        p = np.linalg.solve(np.eye(n) - g * Acl.T, L.T @ R @ c + g * Acl.T @ P @ Bc)
        if g < 1.0:
            const = (
                c @ R @ c + s.sig2 @ dRdiag + g * (np.trace(P @ W) + Bc @ P @ Bc + 2.0 * p @ Bc)
            ) / (1.0 - g)
        else:
            const = 0.0
        cost = float(np.trace(P @ X0) + const)
        GL, Gc, Gs = np.zeros((m, n)), np.zeros(m), np.zeros(m)
        if want_gradient:
            E = R @ L + g * B.T @ P @ Acl
            if g < 1.0:
                steps = 1.0 / (1.0 - g)  # sum_t gamma^t
                e = R @ c + g * B.T @ (P @ Bc + p)
                mean_sum = np.linalg.solve(np.eye(n) - g * Acl, g * steps * Bc)
                cross = np.outer(Acl @ mean_sum, Bc)
                X_sum = _dlyap(
                    math.sqrt(g) * Acl, X0 + g * (cross + cross.T + steps * (np.outer(Bc, Bc) + W))
                )
                GL = 2.0 * (E @ X_sum + np.outer(e, mean_sum))
                Gc = 2.0 * (E @ mean_sum + steps * e)
                Gs = steps * (dRdiag + g * np.diag(B.T @ P @ B))
            else:  # c = 0, sigma = 0: the mean stays 0 and d/dlog_std = 2 sigma^2 (...) = 0
                GL = 2.0 * E @ _dlyap(Acl, X0)
    J = -float(cost)
    if not math.isfinite(J) or not (np.isfinite(GL).all() and np.isfinite(Gc).all()):
        raise ValueError("the LQR cost overflowed: the closed loop diverges over the horizon")
    grad_theta = -(s.M @ GL.T + np.outer(s.b, Gc))
    grad_log_std = -2.0 * s.sig2 * Gs
    return J, grad_theta, grad_log_std


def lqr_objective(
    env: Any,
    policy: Any,
    gamma: float,
    *,
    horizon: Any = None,
    theta: Any = None,
    log_std: Any = None,
) -> float:
    r"""Expected discounted return of a linear Gaussian policy on an LQR, exactly.

    With affine features ``phi(x) = M x + b`` the policy is
    ``u = L x + c + sigma * eps`` (``L = theta^T M``, ``c = theta^T b``,
    ``sigma = exp(log_std)``), so ``x_t`` stays Gaussian: its mean and
    covariance follow ``m_{t+1} = (A + BL) m_t + B c``,
    ``S_{t+1} = (A + BL) S_t (A + BL)^T + B Sigma B^T + noise_std^2 I`` from
    ``m_0 = 0``, ``S_0 = init_std^2 I``, and::

        J = -sum_{t<H} gamma^t ( tr((Q + L^T R L) S_t) + m_t^T Q m_t
                                 + (L m_t + c)^T R (L m_t + c) + tr(R Sigma) )

    over ``H = env.max_episode_steps`` steps (``horizon=`` overrides). With
    ``horizon=math.inf`` the sum is infinite and comes from the Lyapunov
    equation ``P = Q + L^T R L + gamma (A + BL)^T P (A + BL)`` (the
    cost-to-go is ``x^T P x + 2 p^T x + const``); it needs
    ``sqrt(gamma) rho(A + BL) < 1`` and, for ``gamma = 1``, no noise and a
    deterministic, unbiased policy (pass ``log_std=-np.inf``).

    Example:
        One step of ``x' = x + u``, ``Q = R = 1``: ``J = -(1 + L^2 + c^2 + sigma^2)``.

        >>> import numpy as np, pgfast as pg
        >>> from pgfast import exact
        >>> one = np.eye(1)
        >>> env = pg.make("LQR", A=one, B=one, Q=one, R=one, max_episode_steps=1)
        >>> policy = pg.LinearGaussian(pg.features.Identity(1), action_dim=1,  # [x, 1]
        ...                            log_std=np.log(0.1), theta=[[-0.5], [0.0]])
        >>> round(exact.lqr_objective(env, policy, 1.0), 12)
        -1.26
    """
    s = _lqr_setup(env, policy, gamma, horizon, theta, log_std)
    return _lqr_solve(s, want_gradient=False)[0]


def lqr_gradient(
    env: Any,
    policy: Any,
    gamma: float,
    *,
    horizon: Any = None,
    theta: Any = None,
    log_std: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""``(grad_theta J (F, D), grad_log_std J (D,))`` of :func:`lqr_objective`.

    Exact differentiation of the mean/covariance recursion, organised
    backwards with the cost-to-go ``x^T P_t x + 2 p_t^T x + const``
    (``P_H = 0``, ``p_H = 0``,
    ``P_t = Q + L^T R L + gamma A_cl^T P_{t+1} A_cl``,
    ``p_t = L^T R c + gamma A_cl^T (P_{t+1} B c + p_{t+1})``,
    ``A_cl = A + BL``). With ``E_t = R L + gamma B^T P_{t+1} A_cl`` and
    ``e_t = R c + gamma B^T (P_{t+1} B c + p_{t+1})``, the cost
    ``C = -J`` has::

        dC/dL     = 2 sum_t gamma^t (E_t E[x_t x_t^T] + e_t m_t^T)
        dC/dc     = 2 sum_t gamma^t (E_t m_t + e_t)
        dC/dsigma_d^2 = sum_t gamma^t (R + gamma B^T P_{t+1} B)_dd

    then ``grad_theta J = -(M dC/dL^T + b dC/dc^T)`` and
    ``grad_log_std J = -2 sigma^2 dC/dsigma^2``. The infinite horizon uses
    the stationary ``P``, ``p`` and the discounted sums of ``m_t`` and
    ``E[x_t x_t^T]`` (a linear solve and a Lyapunov equation).

    Example:
        One step, as in :func:`lqr_objective`: ``dJ/dL = -2L``,
        ``dJ/dc = -2c``, ``dJ/dlog_std = -2 sigma^2``.

        >>> import numpy as np, pgfast as pg
        >>> from pgfast import exact
        >>> one = np.eye(1)
        >>> env = pg.make("LQR", A=one, B=one, Q=one, R=one, max_episode_steps=1)
        >>> policy = pg.LinearGaussian(pg.features.Identity(1), action_dim=1,  # [x, 1]
        ...                            log_std=np.log(0.1), theta=[[-0.5], [0.0]])
        >>> g_theta, g_log_std = exact.lqr_gradient(env, policy, 1.0)
        >>> np.round(g_theta, 12) + 0.0, np.round(g_log_std, 12)
        (array([[1.],
               [0.]]), array([-0.02]))
    """
    s = _lqr_setup(env, policy, gamma, horizon, theta, log_std)
    _, grad_theta, grad_log_std = _lqr_solve(s, want_gradient=True)
    return grad_theta, grad_log_std
