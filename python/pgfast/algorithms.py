"""The policy-gradient learner :class:`Reinforce` and :func:`evaluate`.

Every per-step operation runs in C++ with the GIL released; Python calls the
engine once per update. Ctrl-C interrupts within a few milliseconds and leaves
the parameters at the last completed update.
"""

from __future__ import annotations

import secrets
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, TypeAlias, get_args, overload

import gymnasium as gym
import numpy as np

from pgfast import _core
from pgfast._progress import Progress
from pgfast._validation import check_int, check_real, check_seed
from pgfast.distributed import RayWorkers, check_picklable, new_key
from pgfast.envs import VectorEnv, as_vector_env, describe_backend
from pgfast.native import NativeEnv
from pgfast.policies import LinearGaussian, LinearSoftmax

__all__ = ["History", "Reinforce", "evaluate"]

Policy = LinearSoftmax | LinearGaussian

#: Bound on episode and step counts: far beyond any run, and within int64.
MAX_COUNT = 2**40

#: The string choices, as types (so that a typo is a type error) and as values.
ReturnsName = Literal["total", "reward_to_go", "discounted_reward_to_go", "gae"]
BaselineName = Literal["none", "mean", "time", "value", "optimal"]
OptimizerName = Literal["sgd", "adam", "natural"]
FisherName = Literal["sampled", "exact"]
UpdateName = Literal["batch", "online"]
_RETURNS: tuple[str, ...] = get_args(ReturnsName)
_BASELINES: tuple[str, ...] = get_args(BaselineName)
_OPTIMIZERS: tuple[str, ...] = get_args(OptimizerName)
#: What Reinforce and evaluate accept as an env: a pgfast env, an id, a NativeEnv,
#: a Gymnasium env or vector env (see :func:`pgfast.envs.as_vector_env`).
EnvLike: TypeAlias = VectorEnv | str | NativeEnv | gym.Env | gym.vector.VectorEnv

#: Per-iteration statistics recorded by :meth:`Reinforce.train`.
HISTORY_KEYS = ("iteration", *_core.ITERATION_STATS, "wall_time")


class _Arrays(Mapping[str, np.ndarray]):
    """A read-only mapping of names to NumPy arrays."""

    _data: dict[str, np.ndarray]

    def __getitem__(self, key: str) -> np.ndarray:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class History(_Arrays):
    """Training statistics, one entry per iteration, as NumPy arrays.

    Keys: ``iteration``, ``return_mean/std/min/max`` (undiscounted episode
    returns of the batch), ``length_mean``, ``episodes``, ``env_steps`` (of
    the iteration), ``grad_norm``, ``entropy`` (mean over a sample of the
    batch's states), ``kl`` (mean KL(old || new) over the same sample; NaN with
    ``update="online"``, which updates after every episode), ``fisher_condition``
    (natural gradient only, else NaN) and ``wall_time`` (seconds since ``train``
    began). A statistic that does not apply is NaN, never 0.
    """

    def __init__(self, rows: list[dict[str, float]]) -> None:
        self._data = {k: np.array([r[k] for r in rows]) for k in HISTORY_KEYS}

    @property
    def iterations(self) -> int:
        return int(self._data["iteration"].size)

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` with one row per iteration (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("History.to_pandas needs pandas: pip install pandas") from None
        return pd.DataFrame(self._data)

    def __repr__(self) -> str:
        n = self.iterations
        last = f", last return_mean={self._data['return_mean'][-1]:.4g}" if n else ""
        return f"History({n} iterations{last})"


def _check_policy(policy: Any) -> None:
    if not isinstance(policy, LinearSoftmax | LinearGaussian):
        raise TypeError(
            f"policy must be a LinearSoftmax or LinearGaussian, got {type(policy).__name__}"
        )


def _choice(value: Any, name: str, allowed: tuple[str, ...]) -> Any:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


class Reinforce:
    """Likelihood-ratio policy gradient (Williams 1992) with variance reduction
    and natural-gradient updates.

    Each update samples ``episodes_per_update`` episodes and ascends

        g = (1/m) sum_i sum_t grad log pi(a_t|s_t) (Psi_t - b_t)

    Args:
        env: a :class:`pgfast.VectorEnv`; env ``i`` runs episodes ``i, i + N, ...``
            of each batch, episode ``j`` drawing from streams keyed by ``(seed,
            batch, j)``, so results depend on neither ``num_threads`` nor ``num_envs``.
        policy: :class:`LinearSoftmax` (Discrete actions) or :class:`LinearGaussian` (Box).
        lr: step size (of the natural step too, unless ``max_kl`` is set).
        gamma: discount in ``[0, 1]``.
        episodes_per_update: episodes per gradient estimate ``m``.
        steps_per_update: instead, collect at least this many steps: each of
            the ``N`` envs runs whole episodes until it has ``ceil(steps / N)``
            steps. (``m`` then varies; dividing by a random ``m`` makes the
            estimate slightly biased, by O(1/m).)
        returns: ``"total"`` (``Psi_t = R(tau) = sum_k gamma^k r_k``, the plain
            likelihood-ratio estimator); ``"reward_to_go"`` (``G_t = sum_{k>=t}
            gamma^(k-t) r_k``, the common convention, biased for ``gamma < 1``);
            ``"discounted_reward_to_go"`` (``gamma^t G_t``, unbiased for
            ``grad J``); ``"gae"`` (GAE(``gae_lambda``) with the linear value).
        baseline: ``"none"``; ``"mean"`` (mean Psi over the steps of the *other*
            episodes of the batch); ``"time"`` (per-time-step mean over the other
            episodes); ``"value"`` (linear ``V(s) = w^T phi(s)`` fitted by ridge
            least squares on the *previous* batch); ``"optimal"`` (per-parameter
            ``b_k = E[g_k^2 R] / E[g_k^2]`` over the other episodes; with
            ``returns="total"``). Each is computed without the episode it is
            applied to, so every baseline keeps the estimator unbiased.
            Default: ``"mean"``, or ``"none"`` with GAE. With sparse rewards
            (every episode of a batch scoring the same, as early in
            MountainCar or Acrobot) prefer ``"time"``: the update is then
            exactly zero, while with ``"mean"`` it is zero-mean noise that
            Adam normalises into a random walk.
        gae_lambda: GAE's lambda.
        normalize_advantages: standardise ``Psi - b`` over the batch (biased; often faster).
        optimizer: ``"sgd"`` (``theta += lr g``), ``"adam"``, or ``"natural"``
            (``theta += lr F^-1 g`` with the Fisher matrix of the batch).
        fisher: ``"sampled"`` (mean of ``sum_t gamma^t s_t s_t^T``) or ``"exact"``
            (the same with the expectation over the softmax's actions taken exactly).
        damping: added to the Fisher diagonal before the solve.
        max_kl: if set, the natural step is ``sqrt(2 max_kl / g^T F^-1 g)`` (a trust
            region). ``F`` sums over an episode's steps, so ``max_kl`` bounds the
            KL divergence of whole-episode action distributions; the ``kl`` of
            the history is a per-state average, smaller by about the episode length.
        update: ``"batch"``, or ``"online"`` for Williams' form: an update after
            every episode (baseline ``"none"`` or ``"mean"``, a running mean of past returns).

    Truncated episodes bootstrap from ``V`` when a value is fitted (``"value"``,
    ``"gae"``) and ``bootstrap_truncated`` is True (the default: a time limit
    is usually not part of the task); terminated ones never do. With
    ``bootstrap_truncated=False`` the estimate targets the time-limited
    objective itself, which ``pg.exact`` computes.

    Args (continued):
        seed: seed of the policy's sampling streams (random if None); also the env's
            when ``env`` is not already a pgfast env (an id, a NativeEnv, a Gymnasium
            env), so that such a run is reproducible too.
        num_threads: rollout threads (default: the env's).
        workers: a :class:`pgfast.distributed.RayWorkers`: each batch's episodes are
            shared among its Ray actors, which rebuild the env and policy from their
            recipes; theta after any number of updates is bitwise identical to
            ``workers=None`` (episodes are seeded by their index in the batch, and
            every sum over the batch follows one fixed tree). Needs
            ``update="batch"`` and ``episodes_per_update``.

    Example:
        >>> import pgfast as pg
        >>> env = pg.make("CartPole-v1", num_envs=16, seed=0)
        >>> policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
        >>> algo = pg.Reinforce(env, policy, lr=0.05, gamma=0.99, episodes_per_update=16, seed=0)
        >>> history = algo.train(iterations=300, target_return=475)
        >>> bool(history["return_mean"][-1] >= 475)
        True
    """

    def __init__(
        self,
        env: EnvLike,
        policy: Policy,
        lr: float = 0.05,
        gamma: float = 0.99,
        episodes_per_update: int = 32,
        *,
        steps_per_update: int | None = None,
        returns: ReturnsName = "reward_to_go",
        baseline: BaselineName | None = None,
        gae_lambda: float = 0.95,
        normalize_advantages: bool = False,
        optimizer: OptimizerName = "adam",
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        fisher: FisherName = "sampled",
        damping: float = 1e-4,
        max_kl: float | None = None,
        value_ridge: float = 1e-6,
        bootstrap_truncated: bool = True,
        update: UpdateName = "batch",
        seed: int | None = None,
        num_threads: int | None = None,
        workers: RayWorkers | None = None,
    ) -> None:
        env = as_vector_env(env, seed=seed)
        _check_policy(policy)
        returns = _choice(returns, "returns", _RETURNS)
        if baseline is None:
            baseline = "none" if returns == "gae" else "mean"
        baseline = _choice(baseline, "baseline", _BASELINES)
        optimizer = _choice(optimizer, "optimizer", _OPTIMIZERS)
        fisher = _choice(fisher, "fisher", ("sampled", "exact"))
        update = _choice(update, "update", ("batch", "online"))
        lr = check_real(lr, "lr")
        if lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        gamma = check_real(gamma, "gamma")
        if not 0 <= gamma <= 1:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        episodes_per_update = check_int(
            episodes_per_update, "episodes_per_update", minimum=1, maximum=MAX_COUNT
        )
        steps = (
            0
            if steps_per_update is None
            else check_int(steps_per_update, "steps_per_update", minimum=1, maximum=MAX_COUNT)
        )
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair, got {betas!r}")
        beta1, beta2 = (check_real(b, "betas") for b in betas)
        if max_kl is not None:
            max_kl = check_real(max_kl, "max_kl")
            if max_kl <= 0:
                raise ValueError(f"max_kl must be > 0, got {max_kl}")
        self.seed = secrets.randbits(64) if seed is None else check_seed(seed)
        threads = (
            env.num_threads
            if num_threads is None
            else check_int(num_threads, "num_threads", minimum=1, maximum=256)
        )
        self.env = env
        self.policy = policy
        self.settings: dict[str, Any] = {
            "lr": lr,
            "gamma": gamma,
            "episodes_per_update": episodes_per_update,
            "steps_per_update": steps_per_update,
            "returns": returns,
            "baseline": baseline,
            "gae_lambda": gae_lambda,
            "normalize_advantages": bool(normalize_advantages),
            "optimizer": optimizer,
            "betas": (beta1, beta2),
            "eps": eps,
            "fisher": fisher,
            "damping": damping,
            "max_kl": max_kl,
            "value_ridge": value_ridge,
            "bootstrap_truncated": bool(bootstrap_truncated),
            "update": update,
            "seed": self.seed,
            "num_threads": threads,
        }
        config = _core.ReinforceConfig()
        config.lr = lr
        config.gamma = gamma
        config.episodes_per_update = episodes_per_update
        config.steps_per_update = steps
        config.returns = returns
        config.baseline = baseline
        config.gae_lambda = check_real(gae_lambda, "gae_lambda")
        config.normalize_advantages = bool(normalize_advantages)
        config.optimizer = optimizer
        config.adam_beta1, config.adam_beta2 = beta1, beta2
        config.adam_eps = check_real(eps, "eps")
        config.fisher = fisher
        config.damping = check_real(damping, "damping")
        config.max_kl = max_kl or 0.0
        config.value_ridge = check_real(value_ridge, "value_ridge")
        config.bootstrap_truncated = bool(bootstrap_truncated)
        config.update = update
        config.seed = self.seed
        config.num_threads = threads
        self._engine = _core.Reinforce(env._core, policy._model, config)
        self.iterations_done = 0
        #: The :class:`pgfast.distributed.RayWorkers` sharing each batch (or None).
        self.workers = workers
        if workers is not None:
            if not isinstance(workers, RayWorkers):
                raise TypeError(
                    f"workers must be a pgfast.distributed.RayWorkers, got {type(workers).__name__}"
                )
            if update != "batch":
                raise ValueError("workers share batches; update='online' runs in one process")
            if steps_per_update is not None:
                raise ValueError(
                    "workers share a batch by episodes (steps_per_update depends on how many "
                    "envs run them); use episodes_per_update"
                )
            check_picklable(env, policy)
            self._distributed_key = new_key()
            # The workers' engines for this object go when it goes.
            weakref.finalize(self, workers._forget, self._distributed_key)

    def _worker_settings(self) -> dict[str, Any]:
        """What a worker builds its engine with: these settings, its own threads."""
        return {k: v for k, v in self.settings.items() if k != "num_threads"}

    def _log_std(self) -> np.ndarray | None:
        return self.policy.log_std if isinstance(self.policy, LinearGaussian) else None

    def step(self) -> dict[str, float]:
        """One update of the policy's parameters; returns the iteration's statistics.

        An update is applied whole or not at all: Ctrl-C during the C++ call
        abandons it. If the KeyboardInterrupt only surfaces after the engine
        returned, the update stands and ``iterations_done`` counts it.
        """
        with self.policy._in_use(training=True):
            try:
                if self.workers is None:
                    stats = self._engine.iterate(self.policy.theta, self._log_std())
                else:
                    m = self.settings["episodes_per_update"]
                    total, summary = self.workers._estimate(self, "update", m)
                    stats = self._engine.finish_update(
                        self.policy.theta, self._log_std(), total, summary
                    )
            finally:
                self.iterations_done = self._engine.completed
        return stats

    def train(
        self,
        iterations: int,
        progress: bool = False,
        callback: Callable[[dict[str, float]], bool | None] | None = None,
        target_return: float | None = None,
    ) -> History:
        """Run ``iterations`` updates; returns their :class:`History`.

        Args:
            progress: show a progress bar on stderr (the one ``pgfast train`` shows),
                after a first line saying which door the env took
                (:func:`pgfast.envs.describe_backend`).
            callback: called with each iteration's statistics; returning True stops.
            target_return: stop once an iteration's mean episode return reaches it.
        """
        iterations = check_int(iterations, "iterations", minimum=0)
        rows: list[dict[str, float]] = []
        start = time.perf_counter()
        display = Progress(iterations) if progress else None
        if display is not None:
            print(f"env {describe_backend(self.env)}", file=display.stream)
        try:
            for k in range(iterations):
                stats = self.step()
                stats["iteration"] = self.iterations_done
                stats["wall_time"] = time.perf_counter() - start
                rows.append(stats)
                done = target_return is not None and stats["return_mean"] >= target_return
                if callback is not None and callback(dict(stats)):
                    done = True
                if display is not None:
                    display.update(stats, final=done or k == iterations - 1)
                if done:
                    break
        finally:
            if display is not None:
                display.close()
        return History(rows)

    def gradient(self, episodes: int, return_stderr: bool = False) -> Any:
        """Estimate the policy gradient from ``episodes`` episodes, without updating.

        Returns an array shaped like ``policy.theta`` (for a Gaussian policy that
        learns its std: a tuple ``(grad_theta, grad_log_std)``). With
        ``return_stderr=True``, returns ``(gradient, standard_error)`` of the same
        structure, the standard errors from the per-episode contributions.
        With ``baseline="value"`` (or GAE) the value is fitted on this call's
        episodes for the next call, as after an update.
        """
        episodes = check_int(episodes, "episodes", minimum=2, maximum=MAX_COUNT)
        with self.policy._in_use(training=False):
            if self.workers is None:
                mean, stderr = self._engine.gradient(self.policy.theta, self._log_std(), episodes)
            else:
                total, _ = self.workers._estimate(self, "gradient", episodes)
                mean, stderr = self._engine.finish_gradient(total, episodes)
        shaped = (self._unflatten(mean), self._unflatten(stderr))
        return shaped if return_stderr else shaped[0]

    def fisher(self, episodes: int) -> np.ndarray:
        """The Fisher matrix the natural step uses (``fisher="sampled"`` or
        ``"exact"``), estimated from ``episodes`` episodes without updating:
        ``(1/m) sum_i sum_t gamma^t s_t s_t^T`` over the flat parameters
        (``theta.ravel()``, then ``log_std`` if learned)."""
        episodes = check_int(episodes, "episodes", minimum=1, maximum=MAX_COUNT)
        with self.policy._in_use(training=False):
            if self.workers is None:
                return self._engine.fisher(self.policy.theta, self._log_std(), episodes)
            total, _ = self.workers._estimate(self, "fisher", episodes)
            return self._engine.finish_fisher(total, episodes)

    def _unflatten(self, flat: np.ndarray) -> Any:
        theta = flat[: self.policy.theta.size].reshape(self.policy.theta.shape)
        if isinstance(self.policy, LinearGaussian) and self.policy.learn_std:
            return theta, flat[self.policy.theta.size :]
        return theta

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"Reinforce({self.env.id}, {self.policy!r}, lr={s['lr']}, gamma={s['gamma']}, "
            f"episodes_per_update={s['episodes_per_update']}, returns={s['returns']!r}, "
            f"baseline={s['baseline']!r}, optimizer={s['optimizer']!r})"
        )


@overload
def evaluate(
    env: EnvLike,
    policy: Policy,
    episodes: int = ...,
    deterministic: bool = ...,
    seed: int | None = ...,
    return_lengths: Literal[False] = ...,
    workers: RayWorkers | None = ...,
) -> np.ndarray: ...
@overload
def evaluate(
    env: EnvLike,
    policy: Policy,
    episodes: int = ...,
    deterministic: bool = ...,
    seed: int | None = ...,
    *,
    return_lengths: Literal[True],
    workers: RayWorkers | None = ...,
) -> tuple[np.ndarray, np.ndarray]: ...
def evaluate(
    env: EnvLike,
    policy: Policy,
    episodes: int = 100,
    deterministic: bool = True,
    seed: int | None = None,
    return_lengths: bool = False,
    workers: RayWorkers | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Run ``episodes`` episodes of ``policy`` in ``env`` (in C++); returns each
    episode's undiscounted return, shape ``(episodes,)`` (and lengths if asked).

    ``deterministic=True`` takes the most probable action (the mean for a
    Gaussian policy). Episode ``j`` draws its initial state, env noise and
    actions from streams keyed by ``(seed, j)``, so the same seed gives the same
    returns on every call, for any ``num_envs``, threads or ``workers`` (Ray
    actors sharing the episodes).

    >>> import pgfast as pg
    >>> env = pg.make("CartPole-v1", num_envs=4, seed=0)
    >>> policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    >>> pg.evaluate(env, policy, episodes=3).shape
    (3,)
    """
    env = as_vector_env(env)
    _check_policy(policy)
    episodes = check_int(episodes, "episodes", minimum=1, maximum=MAX_COUNT)
    seed = secrets.randbits(64) if seed is None else check_seed(seed)
    log_std = policy.log_std if isinstance(policy, LinearGaussian) else None
    if workers is not None:
        check_picklable(env, policy)
        parts = workers._episodes("evaluate", env, policy, episodes, bool(deterministic), seed)
        returns = np.concatenate([p[0] for p in parts])
        lengths = np.concatenate([p[1] for p in parts])
        return (returns, lengths) if return_lengths else returns
    with policy._in_use(training=False):
        returns, lengths = _core.evaluate(
            env._core,
            policy._model,
            policy.theta,
            log_std,
            episodes,
            bool(deterministic),
            seed,
            env.num_threads,
        )
    return (returns, lengths) if return_lengths else returns


class Rollout(_Arrays):
    """Per-step arrays of whole episodes, episode after episode (see :func:`rollout`)."""

    def __init__(self, data: dict[str, np.ndarray]) -> None:
        self._data = data

    def __getattr__(self, key: str) -> np.ndarray:
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(key) from None

    @property
    def steps(self) -> int:
        return int(self._data["rewards"].size)

    @property
    def episodes(self) -> int:
        ids = self._data["episode_ids"]
        return int(ids[-1] + 1) if ids.size else 0

    def __repr__(self) -> str:
        return f"Rollout({self.episodes} episodes, {self.steps} steps)"


def rollout(
    env: EnvLike,
    policy: Policy,
    *,
    episodes: int | None = None,
    steps: int | None = None,
    deterministic: bool = False,
    seed: int | None = None,
    workers: RayWorkers | None = None,
) -> Rollout:
    """Run the policy in C++ and return the batch as NumPy arrays, with no
    per-step Python (for pipelines that train their own models on the data).

    Give ``episodes`` (env ``i`` runs episodes ``i, i + N, ...``, episode ``j``
    seeded by ``(seed, j)``; ``workers`` may share them) or ``steps`` (each of the
    ``N`` envs runs whole episodes until it has ``ceil(steps / N)``).
    Keys, one row per step, episode after episode:

    - ``observations`` ``(T, obs_dim)`` in the observation dtype (``(T,)`` int64
      for Discrete observations), the observation the action was chosen at;
    - ``actions`` ``(T,)`` int64 or ``(T, action_dim)`` float64 (the Gaussian
      sample itself; the env received it clipped to its bounds);
    - ``rewards``, ``log_probs`` (``log pi(a|s)`` of the actions) ``(T,)`` float64;
    - ``terminated``, ``truncated`` ``(T,)`` bool, True on an episode's last step;
    - ``episode_ids`` ``(T,)`` int64.

    To train another model by autodiff on these arrays, the policy gradient is
    the gradient of the surrogate loss ``L = -mean(log pi(a|s) * Psi)`` with
    ``Psi`` the (baselined) returns computed from ``rewards`` (e.g. reward-to-go
    within each episode): its gradient is ``-g`` of :class:`Reinforce`, up to the
    normalisation (``mean`` over steps instead of the sum over steps divided by
    the number of episodes).

    >>> import pgfast as pg
    >>> env = pg.make("CartPole-v1", num_envs=4, seed=0)
    >>> policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    >>> batch = pg.rollout(env, policy, episodes=8, seed=0)
    >>> batch.observations.shape[1], batch.episodes, bool(batch.terminated[-1] or batch.truncated[-1])
    (4, 8, True)
    """
    env = as_vector_env(env)
    _check_policy(policy)
    if (episodes is None) == (steps is None):
        raise ValueError("give exactly one of episodes or steps")
    n_episodes = (
        0 if episodes is None else check_int(episodes, "episodes", minimum=1, maximum=MAX_COUNT)
    )
    n_steps = 0 if steps is None else check_int(steps, "steps", minimum=1, maximum=MAX_COUNT)
    seed = secrets.randbits(64) if seed is None else check_seed(seed)
    log_std = policy.log_std if isinstance(policy, LinearGaussian) else None
    if workers is not None:
        if episodes is None:
            raise ValueError("workers share a rollout by episodes; give episodes, not steps")
        check_picklable(env, policy)
        parts = workers._episodes("rollout", env, policy, n_episodes, bool(deterministic), seed)
        data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    else:
        with policy._in_use(training=False):
            data = _core.rollout(
                env._core,
                policy._model,
                policy.theta,
                log_std,
                n_episodes,
                n_steps,
                bool(deterministic),
                seed,
                env.num_threads,
            )
    space = env.single_observation_space
    obs = data["observations"]
    if hasattr(space, "n"):
        data["observations"] = obs[:, 0].astype(np.int64)
    else:
        data["observations"] = obs.astype(space.dtype)
    return Rollout(data)
