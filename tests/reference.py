"""Slow, obvious Python twins of the engine's arithmetic (ref_*), for the tests."""

from __future__ import annotations

import numpy as np


def ref_reward_to_go(rewards, gamma, bootstrap=0.0):
    """G_t = sum_{k>=t} gamma^(k-t) r_k + gamma^(T-t) bootstrap, term by term."""
    T = len(rewards)
    return np.array(
        [
            sum(gamma ** (k - t) * rewards[k] for k in range(t, T)) + gamma ** (T - t) * bootstrap
            for t in range(T)
        ]
    )


def ref_discounted_return(rewards, gamma, bootstrap=0.0):
    T = len(rewards)
    return sum(gamma**k * rewards[k] for k in range(T)) + gamma**T * bootstrap


def ref_gae(rewards, values, gamma, lam, bootstrap=0.0):
    """A_t = sum_l (gamma lam)^l delta_{t+l}, with V(s_T) = bootstrap."""
    T = len(rewards)
    v = [*list(values), bootstrap]
    delta = [rewards[t] + gamma * v[t + 1] - v[t] for t in range(T)]
    return np.array(
        [sum((gamma * lam) ** (k - t) * delta[k] for k in range(t, T)) for t in range(T)]
    )


def ref_softmax_log_prob(phi, theta, action):
    z = phi @ theta
    return z[action] - np.log(np.sum(np.exp(z)))


def ref_gaussian_log_prob(phi, theta, log_std, action):
    mu = phi @ theta
    sigma = np.exp(log_std)
    return float(
        np.sum(-0.5 * ((action - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi))
    )


# ---------------------------------------------------------------------------
# The whole batch gradient, from a batch's per-step arrays (Reinforce's
# ``_engine.last_batch()``): Psi, the baselines, normalisation, the scores of
# every policy type, the per-episode contributions, their mean and standard
# errors. Written from the formulas, step by step, with nothing shared with
# the engine but the sampled rollout (features, actions, rewards, flags).


def _episodes(batch):
    """The row indices of each episode, in batch order."""
    ids = np.asarray(batch["episode_ids"])
    m = len(batch["terminated"])
    return [np.flatnonzero(ids == j) for j in range(m)]


def ref_policy_kind(policy):
    """'gaussian', 'state_action_table', 'state_action' (phi(s) x psi_a) or 'softmax'."""
    if hasattr(policy, "log_std"):
        return "gaussian"
    kind = policy.features.config()["kind"]
    return kind if kind in ("state_action_table", "state_action") else "softmax"


def ref_policy_out(policy, x):
    """pi(.|s) (softmax kinds) or mu (Gaussian) at one stored feature row x,
    from the policy's current parameters."""
    kind = ref_policy_kind(policy)
    theta = np.asarray(policy.theta, dtype=float)
    if kind == "gaussian":
        return np.array(
            [sum(x[f] * theta[f, d] for f in range(len(x))) for d in range(theta.shape[1])]
        )
    if kind == "softmax":
        z = np.array(
            [sum(x[f] * theta[f, a] for f in range(len(x))) for a in range(theta.shape[1])]
        )
    elif kind == "state_action":
        psi = policy.features.action_features
        A, k = psi.shape
        Theta = theta.reshape(len(x), k)
        z = np.array(
            [
                sum(x[f] * Theta[f, c] * psi[a, c] for f in range(len(x)) for c in range(k))
                for a in range(A)
            ]
        )
    else:  # state_action_table: x holds the A rows table[s, a, :]
        A = policy.n_actions
        X = x.reshape(A, -1)
        z = np.array([sum(X[a, i] * theta[i] for i in range(X.shape[1])) for a in range(A)])
    e = np.exp(z - z.max())
    return e / e.sum()


def ref_score(policy, x, action, out):
    """grad log pi(a|s), flat (theta row-major, then log_std if learned), at
    one step with stored feature row x and policy output out (pi or mu)."""
    kind = ref_policy_kind(policy)
    if kind == "softmax":
        A = len(out)
        w = np.array([(1.0 if b == action else 0.0) - out[b] for b in range(A)])
        return np.array([x[f] * w[b] for f in range(len(x)) for b in range(A)])
    if kind == "state_action":
        psi = policy.features.action_features
        A, k = psi.shape
        w = np.array([psi[action, c] - sum(psi[b, c] * out[b] for b in range(A)) for c in range(k)])
        return np.array([x[f] * w[c] for f in range(len(x)) for c in range(k)])
    if kind == "state_action_table":
        A = len(out)
        X = x.reshape(A, -1)
        return np.array(
            [X[action, i] - sum(out[b] * X[b, i] for b in range(A)) for i in range(X.shape[1])]
        )
    # Gaussian: a (D,) the unclipped sample, out = mu.
    log_std = np.asarray(policy.log_std, dtype=float)
    var = np.exp(log_std) ** 2
    a = np.asarray(action, dtype=float)
    D = len(out)
    s = [x[f] * (a[d] - out[d]) / var[d] for f in range(len(x)) for d in range(D)]
    if policy.learn_std:
        s += [(a[d] - out[d]) ** 2 / var[d] - 1.0 for d in range(D)]
    return np.array(s)


def ref_psi(batch, settings, value_weights, value_fitted):
    """Psi of every step (batch order), before any baseline.

    A truncated episode continues with V(s_T) = w . x_T (x_T its
    final_features) when a value is used (baseline "value" or returns
    "gae"), fitted, and bootstrap_truncated; a terminated one never does
    (an episode that terminates on the time limit's last step is terminated:
    its final state is terminal, V of it is meaningless)."""
    gamma = settings["gamma"]
    returns = settings["returns"]
    uses_value = settings["baseline"] == "value" or returns == "gae"
    if value_fitted:
        w = np.asarray(value_weights, dtype=float)
        V = lambda x: float(np.dot(w, x))  # noqa: E731
    else:
        V = lambda x: 0.0  # noqa: E731
    r_all = np.asarray(batch["rewards"])
    psi = np.zeros(len(r_all))
    for j, rows in enumerate(_episodes(batch)):
        r = r_all[rows]
        T = len(r)
        bootstrap = 0.0
        if (
            uses_value
            and value_fitted
            and settings["bootstrap_truncated"]
            and batch["truncated"][j]
            and not batch["terminated"][j]
        ):
            bootstrap = V(batch["final_features"][j])
        G = ref_reward_to_go(r, gamma, bootstrap)
        if returns == "total":
            psi[rows] = ref_discounted_return(r, gamma, bootstrap)
        elif returns == "reward_to_go":
            psi[rows] = G
        elif returns == "discounted_reward_to_go":
            psi[rows] = [gamma**t * G[t] for t in range(T)]
        elif returns == "gae":
            v = [V(batch["features"][i]) for i in rows]
            psi[rows] = ref_gae(r, v, gamma, settings["gae_lambda"], bootstrap)
        else:
            raise ValueError(returns)
    return psi


def ref_baseline(batch, settings, psi, value_weights, value_fitted):
    """b_t of every step for baselines none/mean/time/value (0 for "optimal",
    which is per parameter); each leaves out the episode it is applied to."""
    episodes = _episodes(batch)
    kind = settings["baseline"]
    b = np.zeros(len(psi))
    if kind in ("none", "optimal"):
        return b
    if kind == "mean":
        for j, rows in enumerate(episodes):
            others = [i for k, other in enumerate(episodes) if k != j for i in other]
            b[rows] = sum(psi[i] for i in others) / len(others) if others else 0.0
        return b
    if kind == "time":
        for j, rows in enumerate(episodes):
            for t, i in enumerate(rows):
                vals = [
                    psi[other[t]] for k, other in enumerate(episodes) if k != j and len(other) > t
                ]
                b[i] = sum(vals) / len(vals) if vals else 0.0
        return b
    if kind == "value":
        if not value_fitted:
            return b
        w = np.asarray(value_weights, dtype=float)
        discounted = settings["returns"] != "reward_to_go"
        for rows in episodes:
            for t, i in enumerate(rows):
                v = float(np.dot(w, batch["features"][i]))
                b[i] = (settings["gamma"] ** t if discounted else 1.0) * v
        return b
    raise ValueError(kind)


def ref_batch_gradient(batch, settings, policy, value_weights, value_fitted):
    """The engine's gradient estimate recomputed from a batch's arrays.

    batch: ``algo._engine.last_batch()`` (features, actions, rewards,
    episode_ids, terminated, truncated, final_features); settings:
    ``algo.settings``; policy: the pgfast policy (its theta, log_std and
    feature description are read, nothing is called on the engine);
    value_weights, value_fitted: the linear value the call used (the one
    fitted by the previous call).

    pi_t / mu_t are recomputed from theta and the stored feature rows.
    Returns (g_flat, stderr_flat, psi, baseline, contributions), psi and
    baseline as the engine reports them (after normalisation: the normalised
    advantage and 0), contributions the per-episode g_j (m, P).
    """
    episodes = _episodes(batch)
    m = len(episodes)
    psi = ref_psi(batch, settings, value_weights, value_fitted)
    base = ref_baseline(batch, settings, psi, value_weights, value_fitted)
    if settings["normalize_advantages"]:
        adv = psi - base
        psi = (adv - adv.mean()) / (adv.std() + 1e-8)
        base = np.zeros(len(psi))
    adv = psi - base

    feats = np.asarray(batch["features"])
    actions = np.asarray(batch["actions"])
    scores = [
        [ref_score(policy, feats[i], actions[i], ref_policy_out(policy, feats[i])) for i in rows]
        for rows in episodes
    ]
    P = len(scores[0][0])

    contrib = np.zeros((m, P))
    if settings["baseline"] == "optimal":
        if settings["returns"] != "total":
            raise ValueError("the optimal baseline goes with returns='total'")
        s = np.array([np.sum(sc, axis=0) for sc in scores])  # score sums, (m, P)
        R = np.array([psi[rows[0]] for rows in episodes])  # one Psi per episode
        for j in range(m):
            for k in range(P):
                num = sum(s[i, k] ** 2 * R[i] for i in range(m) if i != j)
                den = sum(s[i, k] ** 2 for i in range(m) if i != j)
                b = num / den if den > 0 else 0.0
                contrib[j, k] = s[j, k] * (R[j] - b)
    else:
        for j, rows in enumerate(episodes):
            for t, i in enumerate(rows):
                contrib[j] += scores[j][t] * adv[i]

    g = contrib.sum(axis=0) / m
    var = ((contrib**2).sum(axis=0) - m * g**2) / (m - 1)
    stderr = np.sqrt(np.maximum(var, 0.0) / m)
    return g, stderr, psi, base, contrib
