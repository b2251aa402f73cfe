"""Studying policy-gradient estimators: bias, variance and cost against the true gradient.

:func:`estimators` draws ``repeats`` independent gradient estimates of ``episodes``
episodes each, for every named estimator (any :class:`pgfast.Reinforce` settings), at
one fixed policy, and compares them with the true gradient: :mod:`pgfast.exact`'s
where it applies (a tabular MDP, an LQR), else a reference estimate from many more
episodes, with its own uncertainty. Every estimate is one call into the engine (no
Python per episode); its threads (``num_threads``) or Ray workers (``workers``) share
the episodes, and the numbers do not depend on either.

The statistics, each with a standard error so that "biased" is a statistical
statement:

- ``bias``: ``|mean estimate - true gradient|``, and ``bias_p``, the p-value of
  Hotelling's T^2 test of "the mean estimate is the true gradient" (exact reference:
  T^2 = R d^T S^-1 d with S the estimates' covariance, an F(p, R - p) after scaling;
  estimated reference: the two covariances added, chi^2(p)). Coordinates whose
  estimates never vary are tested exactly: any difference there is a bias.
  ``biased`` is ``bias_p < alpha``.
- ``variance``: the trace of the estimates' covariance (the expected squared distance
  of one estimate from their mean).
- ``mse``: the mean squared distance of an estimate from the true gradient
  (variance plus squared bias).
- ``cosine``: the mean cosine between an estimate and the true gradient.
- ``seconds``: wall time per estimate; ``efficiency``: the lowest ``variance x
  seconds`` among the estimators over this one's (1 for the most efficient).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pgfast import exact
from pgfast._validation import check_int, check_real
from pgfast.algorithms import Reinforce
from pgfast.envs import VectorEnv, make
from pgfast.mdp import TabularMDP

__all__ = ["CATALOG", "StudyReport", "estimators"]

#: Named estimators for ``pgfast study --estimators``: Reinforce settings.
CATALOG: dict[str, dict[str, Any]] = {
    "reinforce": {"returns": "total", "baseline": "none"},
    "reinforce-mean": {"returns": "total", "baseline": "mean"},
    "reinforce-optimal": {"returns": "total", "baseline": "optimal"},
    "reward-to-go": {"returns": "reward_to_go", "baseline": "none"},
    "gpomdp": {"returns": "discounted_reward_to_go", "baseline": "none"},
    "gpomdp-mean": {"returns": "discounted_reward_to_go", "baseline": "mean"},
    "gpomdp-time": {"returns": "discounted_reward_to_go", "baseline": "time"},
    "gpomdp-value": {"returns": "discounted_reward_to_go", "baseline": "value"},
}

COLUMNS = (
    "estimator",
    "bias",
    "bias_se",
    "bias_p",
    "biased",
    "variance",
    "variance_se",
    "mse",
    "mse_se",
    "cosine",
    "cosine_se",
    "seconds",
    "efficiency",
)


@dataclass
class StudyReport:
    """What :func:`estimators` measured. ``table`` maps each column of
    :data:`COLUMNS` to one value per estimator; ``samples`` holds each estimator's
    estimates (repeats x parameters), ``truth`` the true (or reference) gradient."""

    table: dict[str, list[Any]]
    samples: dict[str, np.ndarray]
    truth: np.ndarray
    truth_se: np.ndarray | None
    reference: str
    settings: dict[str, Any] = field(default_factory=dict)

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.table).set_index("estimator")

    def __repr__(self) -> str:
        rows = [f"{'estimator':>18} {'bias':>10} {'p':>8} {'variance':>11} {'mse':>11} {'cos':>6}"]
        for i, name in enumerate(self.table["estimator"]):
            t = {k: v[i] for k, v in self.table.items()}
            rows.append(
                f"{name:>18} {t['bias']:10.4g} {t['bias_p']:8.2g} {t['variance']:11.4g} "
                f"{t['mse']:11.4g} {t['cosine']:6.3f}" + ("  biased" if t["biased"] else "")
            )
        return f"StudyReport(reference: {self.reference})\n" + "\n".join(rows)

    def plot(self, path: str | Path) -> None:
        """Bias and variance side by side, with error bars of two standard errors
        (matplotlib)."""
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt

        names = self.table["estimator"]
        x = np.arange(len(names))
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=100)
        try:
            colors = ["C3" if b else "C0" for b in self.table["biased"]]
            left.bar(
                x,
                self.table["bias"],
                yerr=2 * np.array(self.table["bias_se"]),
                color=colors,
                capsize=3,
            )
            left.set_title("bias |E[g_hat] - grad J| (red: biased)")
            right.bar(
                x,
                self.table["variance"],
                yerr=2 * np.array(self.table["variance_se"]),
                color="C1",
                capsize=3,
            )
            right.set_title("variance (trace of the covariance)")
            right.set_yscale("log")
            for ax in (left, right):
                ax.set_xticks(x, names, rotation=30, ha="right")
                ax.grid(alpha=0.3, axis="y")
            fig.suptitle(
                f"{self.settings.get('env', '')}: {self.settings.get('episodes')} "
                f"episodes per estimate, {self.settings.get('repeats')} estimates; "
                f"reference {self.reference}",
                fontsize="small",
            )
            fig.tight_layout()
            fig.savefig(path)
        finally:
            plt.close(fig)


def estimators(
    env: Any,
    policy: Any,
    estimators: Mapping[str, Mapping[str, Any]],
    *,
    episodes: int = 100,
    repeats: int = 200,
    gamma: float = 0.99,
    seed: int = 0,
    alpha: float = 1e-3,
    reference_repeats: int | None = None,
    num_envs: int = 16,
    num_threads: int = 1,
    workers: Any = None,
) -> StudyReport:
    """Compare gradient estimators at ``policy`` (its parameters are not changed).

    Args:
        env: a :class:`pgfast.TabularMDP`, an env id, or a pgfast env (rebuilt from
            its recipe with ``num_envs`` envs and ``seed``).
        estimators: name -> :class:`pgfast.Reinforce` settings (``returns``,
            ``baseline``, ...); see :data:`CATALOG`.
        episodes: episodes per estimate; repeats: estimates per estimator.
        alpha: the test level of ``biased``.
        reference_repeats: without an exact gradient, the reference averages this
            many estimates (default ``10 * repeats``) of an unbiased estimator
            (discounted reward-to-go with the time baseline).

    Example:
        >>> import numpy as np, pgfast as pg
        >>> P = np.zeros((2, 2, 2)); P[0, 0, 1] = P[0, 1, 0] = 1.0; P[1, :, 1] = 1.0
        >>> mdp = pg.TabularMDP(P, R=[[1.0, 0.0], [0.0, 0.0]], initial=[1.0, 0.0],
        ...                     terminal=np.array([False, True]), max_episode_steps=20)
        >>> report = pg.study.estimators(mdp, pg.LinearSoftmax(pg.features.OneHot(2), 2),
        ...     {"gpomdp": {"returns": "discounted_reward_to_go"}}, episodes=20, repeats=50,
        ...     gamma=0.9)
        >>> bool(report.table["biased"][0])
        False
    """
    episodes = check_int(episodes, "episodes", minimum=2)
    repeats = check_int(repeats, "repeats", minimum=3)
    gamma = check_real(gamma, "gamma")
    if not estimators:
        raise ValueError("give at least one estimator")
    vec = _vector_env(env, num_envs, seed)
    truth, truth_cov, reference = _truth(
        env,
        vec,
        policy,
        gamma,
        episodes,
        reference_repeats or 10 * repeats,
        seed,
        num_threads,
        workers,
    )
    samples, seconds = {}, {}
    for k, (name, settings) in enumerate(estimators.items()):
        samples[name], seconds[name] = _draw(
            vec,
            policy,
            dict(settings),
            gamma,
            episodes,
            repeats,
            seed + 1 + k,
            num_threads,
            workers,
        )
    table = summarize(samples, seconds, truth, truth_cov, alpha)
    settings = {
        "env": getattr(vec, "id", str(env)),
        "episodes": episodes,
        "repeats": repeats,
        "gamma": gamma,
        "seed": seed,
        "alpha": alpha,
    }
    truth_se = None if truth_cov is None else np.sqrt(np.diag(truth_cov))
    return StudyReport(table, samples, truth, truth_se, reference, settings)


def _vector_env(env: Any, num_envs: int, seed: int) -> VectorEnv:
    if isinstance(env, (TabularMDP, str)):
        return make(env, num_envs=num_envs, seed=seed)
    if isinstance(env, VectorEnv):
        return env
    raise TypeError(
        f"env must be a TabularMDP, an env id or a pgfast env, got {type(env).__name__}"
    )


def _flat(policy: Any, grads: Any) -> np.ndarray:
    if isinstance(grads, tuple):
        return np.concatenate([np.ravel(g) for g in grads])
    return np.ravel(grads)


def _truth(
    env: Any,
    vec: VectorEnv,
    policy: Any,
    gamma: float,
    episodes: int,
    reference_repeats: int,
    seed: int,
    num_threads: int,
    workers: Any,
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """The exact gradient (and no covariance), or a reference estimate and its covariance."""
    mdp = env if isinstance(env, TabularMDP) else getattr(vec, "mdp", None)
    if mdp is not None and hasattr(policy, "n_actions"):
        g = exact.gradient(mdp, policy, gamma, horizon=vec.max_episode_steps)
        return np.ravel(g), None, "exact (policy gradient theorem)"
    if vec.id == "LQR":
        g = _flat(policy, exact.lqr_gradient(vec, policy, gamma, horizon=vec.max_episode_steps))
        if not getattr(policy, "learn_std", False):
            g = g[: policy.theta.size]
        return g, None, "exact (LQR recursion)"
    settings = {"returns": "discounted_reward_to_go", "baseline": "time"}
    draws, _ = _draw(
        vec,
        policy,
        settings,
        gamma,
        episodes,
        reference_repeats,
        seed + 10_000,
        num_threads,
        workers,
    )
    cov = np.cov(draws, rowvar=False).reshape(draws.shape[1], draws.shape[1]) / len(draws)
    return (
        draws.mean(axis=0),
        cov,
        (
            f"estimated: {reference_repeats} x {episodes} episodes of discounted reward-to-go "
            "with the time baseline"
        ),
    )


def _draw(
    vec: VectorEnv,
    policy: Any,
    settings: dict[str, Any],
    gamma: float,
    episodes: int,
    repeats: int,
    seed: int,
    num_threads: int,
    workers: Any,
) -> tuple[np.ndarray, float]:
    """``repeats`` independent estimates (each its own batch of the engine's streams)
    and the wall seconds per estimate."""
    settings = {"bootstrap_truncated": False, **settings}
    algo = Reinforce(
        vec,
        policy,
        gamma=gamma,
        episodes_per_update=episodes,
        seed=seed,
        num_threads=num_threads,
        workers=workers,
        **settings,
    )
    out = []
    start = time.perf_counter()
    for _ in range(repeats):
        out.append(_flat(policy, algo.gradient(episodes)))
    return np.array(out), (time.perf_counter() - start) / repeats


def summarize(
    samples: Mapping[str, np.ndarray],
    seconds: Mapping[str, float],
    truth: np.ndarray,
    truth_cov: np.ndarray | None,
    alpha: float,
) -> dict[str, list[Any]]:
    """The table of :class:`StudyReport` from the estimates (repeats x parameters)."""
    table: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    cost = {}
    for name, G in samples.items():
        R = len(G)
        mean = G.mean(axis=0)
        d = mean - truth
        dev2 = ((G - mean) ** 2).sum(axis=1)
        err2 = ((G - truth) ** 2).sum(axis=1)
        norms = np.linalg.norm(G, axis=1) * np.linalg.norm(truth)
        cos = np.divide(G @ truth, norms, out=np.zeros(R), where=norms > 0)
        variance = dev2.sum() / (R - 1)
        # The bias's standard error: that of |mean| along d (delta method).
        cov = np.cov(G, rowvar=False).reshape(G.shape[1], G.shape[1])
        if truth_cov is not None:
            cov_d = cov / R + truth_cov
        else:
            cov_d = cov / R
        unit = d / np.linalg.norm(d) if np.linalg.norm(d) > 0 else d
        bias_se = float(np.sqrt(max(unit @ cov_d @ unit, 0.0)))
        p = _hotelling_p(d, cov, R, truth_cov)
        table["estimator"].append(name)
        table["bias"].append(float(np.linalg.norm(d)))
        table["bias_se"].append(bias_se)
        table["bias_p"].append(p)
        table["biased"].append(bool(p < alpha))
        table["variance"].append(float(variance))
        table["variance_se"].append(float(dev2.std(ddof=1) / math.sqrt(R) * R / (R - 1)))
        table["mse"].append(float(err2.mean()))
        table["mse_se"].append(float(err2.std(ddof=1) / math.sqrt(R)))
        table["cosine"].append(float(cos.mean()))
        table["cosine_se"].append(float(cos.std(ddof=1) / math.sqrt(R)))
        table["seconds"].append(float(seconds[name]))
        cost[name] = variance * seconds[name]
    best = min(cost.values())
    table["efficiency"] = [best / cost[n] if cost[n] > 0 else math.nan for n in samples]
    return table


def _hotelling_p(d: np.ndarray, cov: np.ndarray, R: int, truth_cov: np.ndarray | None) -> float:
    """p-value of "mean estimate = truth". Coordinates where neither side varies are
    compared exactly (any difference is a bias: p = 0); the others by Hotelling's
    T^2 (exact truth: F(p, R - p)) or, with an estimated truth, T^2 with both
    covariances ~ chi^2(p)."""
    total = cov / R + (truth_cov if truth_cov is not None else 0.0)
    scale = np.sqrt(np.diag(total))
    fixed = scale <= 1e-12 * max(float(scale.max(initial=0.0)), 1e-300)
    if np.any(np.abs(d[fixed]) > 1e-9 * (1.0 + np.abs(d).max())):
        return 0.0
    keep = ~fixed
    k = int(keep.sum())
    if k == 0:
        return 1.0
    dk, ck = d[keep], total[np.ix_(keep, keep)]
    # Solve in the correlation scale; the pseudo-inverse covers exact collinearity
    # (scores sum to zero over a softmax's actions), with its rank as the dof.
    s = np.sqrt(np.diag(ck))
    corr = ck / np.outer(s, s)
    w, V = np.linalg.eigh(corr)
    good = w > 1e-10 * w.max()
    rank = int(good.sum())
    z = V[:, good].T @ (dk / s)
    t2 = float((z**2 / w[good]).sum())
    if truth_cov is None and R - rank >= 1:
        f = (R - rank) / (rank * (R - 1)) * t2
        return f_sf(f, rank, R - rank)
    return chi2_sf(t2, rank)


# ---- distributions (no SciPy at run time) -------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def f_sf(x: float, d1: float, d2: float) -> float:
    """P(F > x) for F ~ F(d1, d2)."""
    if x <= 0.0:
        return 1.0
    return betainc(d2 / 2.0, d1 / 2.0, d2 / (d2 + d1 * x))


def chi2_sf(x: float, k: float) -> float:
    """P(X > x) for X ~ chi^2(k): the regularized upper incomplete gamma Q(k/2, x/2)."""
    if x <= 0.0:
        return 1.0
    a, y = k / 2.0, x / 2.0
    if y < a + 1.0:  # series for P, then 1 - P
        term = total = 1.0 / a
        n = a
        for _ in range(10_000):
            n += 1.0
            term *= y / n
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return max(0.0, 1.0 - total * math.exp(-y + a * math.log(y) - math.lgamma(a)))
    tiny = 1e-300  # continued fraction for Q (Lentz)
    b = y + 1.0 - a
    c, d = 1.0 / tiny, 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = b + an / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return math.exp(-y + a * math.log(y) - math.lgamma(a)) * h
