"""Beyond one machine: Ray workers that hold shares of a batch, and many runs as Ray tasks.

Ray is an optional extra (``pip install "pgfast-rl[ray]"``); this module imports it
only when a :class:`RayWorkers` is created or :func:`run_many` is given workers.

How a distributed update stays bitwise identical to one process
----------------------------------------------------------------
- Every episode's randomness is keyed by ``(seed, batch, episode index)``
  (``Collector`` in C++), so a worker that runs episodes ``[a, b)`` of a batch
  produces exactly the episodes one process would have produced there.
- A batch's ``m`` episodes are cut into blocks of ``pgfast._core.BLOCK_EPISODES``;
  every worker holds whole blocks. Every sum over the batch is a sum per block
  (in episode order) and then over the blocks along one fixed pairwise tree;
  a worker sends the tree's largest nodes inside its blocks, and the driver
  combines them (``_core.tree_root``). One process runs the same code with
  one shard, so the split never changes the bits.
- What travels, per update: ``theta`` (and ``log_std``, the value weights)
  out; per round, ``O(log(blocks))`` node vectors back per worker. The
  baselines that need the whole batch take one extra round each, of small
  sums: ``"mean"`` its total Psi and step count, ``"time"`` its per-step sums
  and counts, ``"optimal"`` its per-parameter ``sum s^2 R`` and ``sum s^2``;
  ``normalize_advantages`` two rounds (the mean, then the spread). The value
  baseline's normal equations come back with the gradient and the driver
  solves them, so every worker receives the same weights next update. The
  driver also gets every episode's return and length (the statistics) and a
  fixed sample of states (the entropy and KL diagnostics).

Example (not run by the doctests: it starts Ray)::

    import pgfast as pg
    workers = pg.distributed.RayWorkers(num_workers=2)
    env = pg.make("CartPole-v1", num_envs=16, seed=0)
    algo = pg.Reinforce(env, pg.LinearSoftmax(pg.features.Identity(4), 2),
                        episodes_per_update=4096, seed=0, workers=workers)
    algo.train(20)      # the same theta as workers=None, bit for bit
"""

from __future__ import annotations

import os
import pickle
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pgfast import _core
from pgfast._validation import check_int

if TYPE_CHECKING:
    from pgfast.algorithms import History, Reinforce

__all__ = ["RayWorkers", "RunResult", "WorkerError", "run_many"]

BLOCK = int(_core.BLOCK_EPISODES)


def _require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ImportError('pgfast.distributed needs Ray: pip install "pgfast-rl[ray]"') from None
    return ray


class WorkerError(RuntimeError):
    """A worker died or raised during a call. Nothing was updated: the
    parameters and the optimizer's state are as before the call, and the next
    call starts a new actor in place of a dead one.

    Attributes:
        worker: the worker's index in its :class:`RayWorkers`.
        episodes: the ``(first, last + 1)`` episodes of the batch it held.
    """

    def __init__(
        self, worker: int, episodes: tuple[int, int], what: str, run: int | None = None
    ) -> None:
        self.worker = worker
        self.episodes = episodes
        if run is not None:
            held = f"run {run} of run_many"
        elif episodes[1] > episodes[0]:
            held = f"episodes {episodes[0]}..{episodes[1] - 1} of the batch"
        else:
            held = "building its engine from the env's and policy's recipes"
        super().__init__(f"worker {worker} ({held}) {what}; nothing was updated")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_worker_error, (self.worker, self.episodes, str(self)))


def _worker_error(worker: int, episodes: tuple[int, int], message: str) -> WorkerError:
    e = WorkerError.__new__(WorkerError)
    e.worker, e.episodes = worker, episodes
    RuntimeError.__init__(e, message)
    return e


class _Worker:
    """What runs inside a Ray actor: one pgfast engine per Reinforce that uses it,
    built from the env's and policy's recipes (never from C++ memory)."""

    def __init__(self, num_threads: int) -> None:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        self.num_threads = num_threads
        self.engines: dict[str, Any] = {}

    def setup(self, key: str, env: Any, policy: Any, settings: dict[str, Any]) -> None:
        from pgfast.algorithms import Reinforce

        self.engines[key] = Reinforce(env, policy, **{**settings, "num_threads": self.num_threads})

    def forget(self, key: str) -> None:
        self.engines.pop(key, None)

    def begin(
        self,
        key: str,
        theta: np.ndarray,
        log_std: np.ndarray | None,
        value: tuple[np.ndarray, bool],
        batch: int,
        first: int,
        count: int,
        batch_episodes: int,
        kind: str,
    ) -> tuple[list[str], list[Any], dict[str, Any] | None]:
        engine = self.engines[key]._engine
        # Ray hands arrays over read-only (zero copy); the engine reads theta in place.
        theta = np.array(theta, dtype=np.float64)
        log_std = None if log_std is None else np.array(log_std, dtype=np.float64)
        rounds = engine.shard_begin(
            theta, log_std, value[0], value[1], batch, first, count, batch_episodes, kind
        )
        return rounds, *self._round(engine, rounds[0])

    def next(
        self, key: str, done: str, total: np.ndarray, following: str
    ) -> tuple[list[Any], dict[str, Any] | None]:
        engine = self.engines[key]._engine
        engine.shard_receive(done, total)
        return self._round(engine, following)

    @staticmethod
    def _round(engine: Any, name: str) -> tuple[list[Any], dict[str, Any] | None]:
        nodes = engine.shard_round(name)
        return nodes, engine.shard_summary() if name == "final" else None

    def train(self, config: dict[str, Any]) -> tuple[list[dict[str, float]], np.ndarray, Any]:
        return _run_one(config)

    def stop(self, key: str) -> None:
        if key in self.engines:
            self.engines[key]._engine.request_stop()

    def episodes(
        self,
        method: str,
        env: Any,
        policy: Any,
        first: int,
        count: int,
        deterministic: bool,
        seed: int,
    ) -> Any:
        """Episodes [first, first + count) of batch 0: ``_core.evaluate``'s
        (returns, lengths) or ``_core.rollout``'s arrays."""
        log_std = getattr(policy, "log_std", None) if hasattr(policy, "learn_std") else None
        head = (env._core, policy._model, policy.theta, log_std, count)
        tail = (deterministic, seed, self.num_threads, first)
        if method == "evaluate":
            return _core.evaluate(*head, *tail)
        return _core.rollout(*head, 0, *tail)


def shares(episodes: int, workers: int) -> list[tuple[int, int]]:
    """Episodes ``[first, first + count)`` per worker: contiguous runs of whole
    blocks, as even as blocks allow (workers past the last block get none).

    >>> shares(100, 3)
    [(0, 32), (32, 32), (64, 36)]
    """
    blocks = -(-episodes // BLOCK)
    out = []
    for k in range(workers):
        b0, b1 = blocks * k // workers, blocks * (k + 1) // workers
        first, last = b0 * BLOCK, min(episodes, b1 * BLOCK)
        if last > first:
            out.append((first, last - first))
    return out


class RayWorkers:
    """Long-lived Ray actors, each holding its own pgfast engines, that share the
    episodes of every batch (``pg.Reinforce(..., workers=)``, :func:`evaluate`,
    :func:`rollout`) or run whole training runs (:func:`run_many`).

    Args:
        num_workers: actors to start.
        address: a Ray cluster to join (``"auto"``, ``"ray://host:10001"``); by
            default an already initialised Ray, or a local one started here.
        num_threads: rollout threads in each worker; results do not depend on it.
        num_cpus: CPUs Ray reserves per actor (default ``num_threads``); 0 lets
            more actors than cores share a machine (tests).

    ``shutdown()`` (or ``with RayWorkers(...) as workers:``) stops the actors;
    Ray itself is left running.
    """

    def __init__(
        self,
        num_workers: int = 2,
        *,
        address: str | None = None,
        num_threads: int = 1,
        num_cpus: float | None = None,
    ) -> None:
        ray = _require_ray()
        self.num_workers = check_int(num_workers, "num_workers", minimum=1, maximum=4096)
        self.num_threads = check_int(num_threads, "num_threads", minimum=1, maximum=256)
        self.num_cpus = float(self.num_threads if num_cpus is None else num_cpus)
        if self.num_cpus < 0:
            raise ValueError(f"num_cpus must be >= 0, got {num_cpus}")
        if not ray.is_initialized():
            if address is None:
                ray.init(include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
        # An actor Ray cannot place waits forever: refuse a pool the cluster cannot hold.
        have = ray.cluster_resources().get("CPU", 0.0)
        need = self.num_workers * self.num_cpus
        if need > have:
            raise ValueError(
                f"{self.num_workers} workers x {self.num_cpus:g} CPUs need {need:g} CPUs; the "
                f"Ray cluster has {have:g} (fewer workers, or num_cpus=0 to let them share)"
            )
        self._ray = ray
        self._actor_class = ray.remote(_Worker)
        self._actors: list[Any] = [None] * self.num_workers
        self._holds: list[set[str]] = [set() for _ in range(self.num_workers)]
        for k in range(self.num_workers):
            self._start(k)

    def _start(self, k: int) -> None:
        try:
            self._actors[k] = self._actor_class.options(
                num_cpus=self.num_cpus, max_concurrency=2
            ).remote(self.num_threads)
        except Exception as e:
            raise WorkerError(k, (0, 0), f"could not be restarted: {e}") from e
        self._holds[k] = set()

    @property
    def actors(self) -> list[Any]:
        """The Ray actor handles, by worker index (``ray.kill`` one to test faults)."""
        return list(self._actors)

    def shutdown(self) -> None:
        """Stop every actor (Ray keeps running)."""
        for actor in self._actors:
            if actor is not None:
                self._ray.kill(actor)
        self._actors = [None] * self.num_workers

    def __enter__(self) -> RayWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"RayWorkers(num_workers={self.num_workers}, num_threads={self.num_threads})"

    # ---- calls -----------------------------------------------------------------

    def _gather(
        self,
        calls: Sequence[tuple[int, tuple[int, int], Any]],
        on_interrupt: Callable[[], None],
        run: int | None = None,
    ) -> list[Any]:
        """ray.get of one call per worker, polled so that Ctrl-C is seen within
        0.1 s; a failure names its worker and nothing after it is used."""
        ray = self._ray
        refs = [ref for _, _, ref in calls]
        try:
            pending = list(refs)
            while pending:
                _, pending = ray.wait(pending, num_returns=len(pending), timeout=0.1)
        except KeyboardInterrupt:
            on_interrupt()
            raise
        results = []
        for worker, episodes, ref in calls:
            try:
                results.append(ray.get(ref))
            except ray.exceptions.RayActorError as e:
                self._actors[worker] = None  # restarted on the next call
                raise WorkerError(worker, episodes, f"died ({type(e).__name__})", run) from e
            except ray.exceptions.RayTaskError as e:
                cause = e.as_instanceof_cause()
                raise WorkerError(worker, episodes, f"raised {cause!r}", run) from cause
        return results

    def _ensure(self, key: str, env: Any, policy: Any, settings: dict[str, Any]) -> None:
        """Every actor alive and holding the engine `key` (sent once per actor)."""
        _send_user_code_by_value(self._ray, env, policy)
        setups = []
        for k in range(self.num_workers):
            if self._actors[k] is None:
                self._start(k)
            if key not in self._holds[k]:
                ref = self._actors[k].setup.remote(key, env, policy, settings)
                setups.append((k, (0, 0), ref))
        self._gather(setups, lambda: None)
        for k, _, _ in setups:
            self._holds[k].add(key)

    def _forget(self, key: str) -> None:
        """Drop the engines of a Reinforce that no longer exists (its finalizer)."""
        for k, actor in enumerate(self._actors):
            if actor is not None and key in self._holds[k]:
                self._holds[k].discard(key)
                try:
                    actor.forget.remote(key)
                except Exception:  # Ray may be shut down by now: nothing left to free
                    pass

    def _estimate(
        self, algo: Reinforce, kind: str, episodes: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One estimate of `kind` ('update', 'gradient', 'fisher') over `episodes`
        episodes shared by the workers: the final round's batch-wide sum and
        the batch summary."""
        key = algo._distributed_key
        self._ensure(key, algo.env, algo.policy, algo._worker_settings())
        engine = algo._engine
        batch = engine.take_batch()
        value = engine.value_weights()
        log_std = algo._log_std()
        plan = shares(episodes, self.num_workers)
        blocks = -(-episodes // BLOCK)

        def stop() -> None:
            for k in range(len(plan)):
                if self._actors[k] is not None:
                    self._actors[k].stop.remote(key)

        calls = [
            (
                k,
                (first, first + count),
                self._actors[k].begin.remote(
                    key, algo.policy.theta, log_std, value, batch, first, count, episodes, kind
                ),
            )
            for k, (first, count) in enumerate(plan)
        ]
        results = self._gather(calls, stop)
        rounds = results[0][0]
        nodes = [node for r in results for node in r[1]]
        summaries = [r[2] for r in results]
        for i, name in enumerate(rounds):
            total = _core.tree_root(blocks, nodes)
            if name == "final":
                break
            calls = [
                (
                    k,
                    (first, first + count),
                    self._actors[k].next.remote(key, name, total, rounds[i + 1]),
                )
                for k, (first, count) in enumerate(plan)
            ]
            results = self._gather(calls, stop)
            nodes = [node for r in results for node in r[0]]
            summaries = [r[1] for r in results]
        summary = {
            name: np.concatenate([s[name] for s in summaries])
            for name in ("returns", "lengths", "sample_phi", "sample_out")
        }
        return total, summary

    def _train_all(self, configs: list[dict[str, Any]]) -> list[Any]:
        """run_many's runs, each a task on the next free actor, results in order."""
        ray = self._ray
        for c in configs:
            _send_user_code_by_value(ray, c["env"], c["policy"])
        queue = list(enumerate(configs))
        running: dict[Any, tuple[int, int]] = {}  # ref -> (worker, run)
        done: dict[int, Any] = {}
        try:
            while queue or running:
                busy = {k for k, _ in running.values()}
                for k in range(self.num_workers):
                    if queue and k not in busy:
                        if self._actors[k] is None:
                            self._start(k)
                        i, config = queue.pop(0)
                        running[self._actors[k].train.remote(config)] = (k, i)
                ready, _ = ray.wait(list(running), num_returns=1, timeout=0.1)
                for ref in ready:
                    k, i = running.pop(ref)
                    done[i] = self._gather([(k, (0, 0), ref)], lambda: None, run=i)[0]
        except KeyboardInterrupt:
            for ref in running:
                ray.cancel(ref, force=True)
            raise
        return [done[i] for i in range(len(configs))]

    def _episodes(
        self,
        method: str,
        env: Any,
        policy: Any,
        episodes: int,
        deterministic: bool,
        seed: int,
    ) -> list[Any]:
        """evaluate / rollout: episodes [first, first + count) of batch 0 per worker."""
        _send_user_code_by_value(self._ray, env, policy)
        plan = shares(episodes, self.num_workers)
        for k in range(len(plan)):
            if self._actors[k] is None:
                self._start(k)
        calls = [
            (
                k,
                (first, first + count),
                self._actors[k].episodes.remote(
                    method, env, policy, first, count, deterministic, seed
                ),
            )
            for k, (first, count) in enumerate(plan)
        ]
        return self._gather(calls, lambda: None)


def _send_user_code_by_value(ray: Any, *objects: Any) -> None:
    """A NativeEnv or Custom map that ``pgfast train FILE.py:NAME`` loaded lives in
    a module no worker can import: its functions travel by value instead."""
    for obj in objects:
        native = getattr(obj, "native", None) or (obj if hasattr(obj, "observe") else None)
        features = getattr(obj, "features", None)
        functions = [getattr(native, f, None) for f in ("reset", "step", "observe")]
        functions.append(getattr(features, "fn", None))
        for fn in functions:
            name = getattr(getattr(fn, "py_func", fn), "__module__", None) or ""
            if name.startswith("_pgfast_user_env_") and name in sys.modules:
                ray.cloudpickle.register_pickle_by_value(sys.modules[name])


def check_picklable(env: Any, policy: Any) -> None:
    """Refuse, when workers are given, what cannot travel as a recipe."""
    for what, obj in (("env", env), ("policy", policy)):
        try:
            pickle.dumps(obj)
        except Exception as e:
            raise TypeError(f"workers need an {what} that pickles as a recipe: {e}") from e


# ---- many independent runs ------------------------------------------------------


@dataclass
class RunResult:
    """One training run of :func:`run_many`: its config, History and final parameters."""

    config: dict[str, Any]
    history: History
    theta: np.ndarray
    log_std: np.ndarray | None


def _run_one(config: Mapping[str, Any]) -> tuple[list[dict[str, float]], np.ndarray, Any]:
    from pgfast.algorithms import Reinforce

    settings = dict(config)
    env, policy = settings.pop("env"), settings.pop("policy")
    iterations = settings.pop("iterations")
    target = settings.pop("target_return", None)
    algo = Reinforce(env, policy, **settings)
    history = algo.train(iterations, target_return=target)
    rows = [{k: history[k][i] for k in history} for i in range(history.iterations)]
    return (
        rows,
        policy.theta,
        getattr(policy, "log_std", None) if hasattr(policy, "learn_std") else None,
    )


def run_many(
    configs: Iterable[Mapping[str, Any]], workers: RayWorkers | None = None
) -> list[RunResult]:
    """Independent training runs (seeds x settings x envs), as Ray tasks.

    Each config is a mapping with ``env`` (an id or a pgfast env), ``policy``,
    ``iterations``, optionally ``target_return``, and any :class:`pgfast.Reinforce`
    setting (``seed``, ``lr``, ...). Each run is a Ray task on the next free actor
    of ``workers`` (so at most ``num_workers`` at once, on the CPUs they hold);
    each returns exactly what running it in this process would (``workers=None``
    does that, one after another). The policies in ``configs`` are not changed.

    >>> import pgfast as pg
    >>> configs = [dict(env="CartPole-v1", policy=pg.LinearSoftmax(pg.features.Identity(4), 2),
    ...                 iterations=2, seed=s, episodes_per_update=8) for s in (0, 1)]
    >>> [r.history.iterations for r in run_many(configs)]
    [2, 2]
    """
    from pgfast.algorithms import History

    runs = [dict(c) for c in configs]
    for i, c in enumerate(runs):
        missing = {"env", "policy", "iterations"} - set(c)
        if missing:
            raise ValueError(f"config {i} misses {sorted(missing)}")
        check_int(c["iterations"], f"config {i}: iterations", minimum=0)
    if workers is None:
        # Each run on its own copy, as a Ray task gets one.
        outputs = [_run_one(pickle.loads(pickle.dumps(c))) for c in runs]
    else:
        outputs = workers._train_all(runs)
    return [
        RunResult(config=c, history=History(rows), theta=theta, log_std=log_std)
        for c, (rows, theta, log_std) in zip(runs, outputs, strict=True)
    ]


def new_key() -> str:
    """A key naming one Reinforce's engines in the workers."""
    return uuid.uuid4().hex
