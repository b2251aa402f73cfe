"""Stubs for pgfast's compiled engine. Private: use the pgfast package.

Arrays cross as NumPy arrays; shapes are given in the docstrings. Every
function validates its arguments and raises ValueError/TypeError.
"""

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__version__: str

_BoxSpec = tuple[
    Literal["box"], tuple[int, ...], npt.NDArray[np.float64], npt.NDArray[np.float64], str
]
_DiscreteSpec = tuple[Literal["discrete"], int]
_SpaceSpec = _BoxSpec | _DiscreteSpec
_MdpTables = tuple[
    npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]
]

class VecEnv:
    """A batch of environments stepped in C++ (see pgfast.make)."""

    @property
    def id(self) -> str: ...
    @property
    def num_envs(self) -> int: ...
    @property
    def state_dim(self) -> int: ...
    @property
    def num_threads(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    @property
    def max_episode_steps(self) -> int:
        """0 means no time limit."""
    @max_episode_steps.setter
    def max_episode_steps(self, steps: int) -> None: ...
    @property
    def observation_space(self) -> _SpaceSpec: ...
    @property
    def action_space(self) -> _SpaceSpec: ...
    def seed(self, seed: int) -> None:
        """Env i draws from stream (seed, i) from now on."""
    def seed_each(self, seeds: npt.NDArray[np.uint64], has_seed: npt.NDArray[np.bool_]) -> None:
        """Env i draws from stream (seeds[i], 0) where has_seed[i]."""
    def reset(self, mask: npt.NDArray[np.bool_] | None = None) -> npt.NDArray[np.generic]:
        """Reset all envs (or those where mask); observations (num_envs, obs_dim) or (num_envs,)."""
    def step(
        self, actions: npt.ArrayLike
    ) -> tuple[
        npt.NDArray[np.generic],
        npt.NDArray[np.float64],
        npt.NDArray[np.bool_],
        npt.NDArray[np.bool_],
    ]:
        """actions: int (num_envs,) or float (num_envs, action_dim).

        Returns (obs, reward, terminated, truncated); next-step autoreset.
        """
    def observation(self) -> npt.NDArray[np.generic]: ...
    def get_state(self) -> npt.NDArray[np.float64]:
        """(num_envs, state_dim) float64."""
    def set_state(self, states: npt.ArrayLike) -> None:
        """states: (num_envs, state_dim); validated before anything changes."""
    def elapsed_steps(self) -> npt.NDArray[np.int64]: ...
    def param_names(self) -> list[str]: ...
    def get_param(self, name: str) -> npt.NDArray[np.float64]: ...
    def set_param(self, name: str, values: npt.ArrayLike) -> None:
        """values: (num_envs,)."""
    def close(self) -> None: ...

def classic_env_ids() -> list[str]: ...
def make_classic(id: str, num_envs: int, seed: int, num_threads: int) -> VecEnv: ...
def make_tabular(
    P: npt.ArrayLike,
    R: npt.ArrayLike,
    initial: npt.ArrayLike,
    terminal: npt.ArrayLike,
    max_episode_steps: int,
    id: str,
    num_envs: int,
    seed: int,
    num_threads: int,
) -> VecEnv:
    """P and R of shape (S, A, S), initial (S,), terminal (S,) bool."""

def make_bandit(
    means: npt.ArrayLike, stds: npt.ArrayLike, num_envs: int, seed: int, num_threads: int
) -> VecEnv: ...
def make_continuous_bandit(
    a_star: npt.ArrayLike,
    noise_std: float,
    low: npt.ArrayLike,
    high: npt.ArrayLike,
    num_envs: int,
    seed: int,
    num_threads: int,
) -> VecEnv: ...
def make_lqr(
    A: npt.ArrayLike,
    B: npt.ArrayLike,
    Q: npt.ArrayLike,
    R: npt.ArrayLike,
    init_std: float,
    noise_std: float,
    max_episode_steps: int,
    num_envs: int,
    seed: int,
    num_threads: int,
) -> VecEnv:
    """A (n, n), B (n, m), Q (n, n), R (m, m)."""

def lqr_riccati(
    A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, R: npt.ArrayLike, gamma: float = 1.0
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], int]:
    """(P (n, n), K (m, n), iterations) of the discounted DARE; u = -K x."""

def frozen_lake_tables(map_name: str, is_slippery: bool, max_episode_steps: int) -> _MdpTables: ...
def cliff_walking_tables(max_episode_steps: int) -> _MdpTables: ...

# ---- features and policies (bind_policies.cpp) -------------------------------

class Features:
    """A feature map phi(obs) (see pgfast.features)."""

    @property
    def kind(self) -> str: ...
    @property
    def obs_dim(self) -> int: ...
    @property
    def n_features(self) -> int: ...
    def __call__(self, obs: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """(N, obs_dim) (or (N,) when obs_dim == 1) -> (N, n_features)."""

def identity_features(dim: int) -> Features: ...
def one_hot_features(n: int) -> Features: ...
def table_features(matrix: npt.ArrayLike) -> Features:
    """phi(s) = matrix[s] for a discrete observation s; matrix (S, F)."""

def custom_features(fn: object, obs_dim: int, n_features: int, token: int) -> Features:
    """phi computed by a numba cfunc fn(obs, out) built by pgfast.native."""

def polynomial_features(dim: int, degree: int) -> Features: ...
def fourier_features(order: int, low: list[float], high: list[float]) -> Features: ...
def rbf_features(
    centers_per_dim: int, low: list[float], high: list[float], width: float
) -> Features: ...
def tile_coding_features(
    tilings: int, tiles_per_dim: int, low: list[float], high: list[float]
) -> Features: ...

class Policy:
    """A policy's distribution; the engine calls the same code. theta is passed
    flat or shaped (n_theta values); log_std (action_dim,) for a Gaussian, else None."""

    @property
    def kind(self) -> Literal["softmax", "state_action_softmax", "gaussian"]: ...
    @property
    def n_params(self) -> int: ...
    @property
    def n_theta(self) -> int: ...
    @property
    def obs_dim(self) -> int: ...
    @property
    def n_actions(self) -> int: ...
    @property
    def action_dim(self) -> int: ...
    @property
    def learn_std(self) -> bool: ...
    def log_probs(self, theta: npt.ArrayLike, obs: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """log pi(.|s) of a softmax policy: (N, n_actions)."""
    def mean(self, theta: npt.ArrayLike, obs: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """mu of a Gaussian policy: (N, action_dim)."""
    def log_prob(
        self,
        theta: npt.ArrayLike,
        log_std: npt.ArrayLike | None,
        obs: npt.ArrayLike,
        actions: npt.ArrayLike,
    ) -> npt.NDArray[np.float64]:
        """log pi(a|s): (N,)."""
    def grad_log_prob(
        self,
        theta: npt.ArrayLike,
        log_std: npt.ArrayLike | None,
        obs: npt.ArrayLike,
        actions: npt.ArrayLike,
    ) -> npt.NDArray[np.float64]:
        """Flat scores (N, n_theta), then (Gaussian) action_dim log_std entries."""
    def act(
        self,
        theta: npt.ArrayLike,
        log_std: npt.ArrayLike | None,
        obs: npt.ArrayLike,
        deterministic: bool,
        seed: int,
    ) -> npt.NDArray[np.generic]:
        """(N,) int64 actions (softmax) or (N, action_dim) float64 (Gaussian)."""

def softmax_policy(
    features: Features, n_actions: int, action_features: npt.ArrayLike | None = None
) -> Policy:
    """Softmax over state features; with action features psi (A, k), over phi(s) (x) psi_a."""

def state_action_table_policy(table: npt.ArrayLike) -> Policy:
    """Softmax over phi(s, a) = table[s, a], table (S, A, d)."""

def gaussian_policy(features: Features, action_dim: int, learn_std: bool) -> Policy: ...

# ---- the engine (bind_algorithms.cpp) -----------------------------------------

ITERATION_STATS: tuple[str, ...]

class ReinforceConfig:
    """The engine's settings, by name (see pgfast.Reinforce)."""

    lr: float
    gamma: float
    episodes_per_update: int
    steps_per_update: int
    returns: str
    baseline: str
    gae_lambda: float
    normalize_advantages: bool
    optimizer: str
    adam_beta1: float
    adam_beta2: float
    adam_eps: float
    fisher: str
    damping: float
    max_kl: float
    value_ridge: float
    bootstrap_truncated: bool
    update: str
    seed: int
    num_threads: int
    def __init__(self) -> None: ...
    def validate(self) -> None:
        """Raise ValueError naming the first invalid field."""

class Reinforce:
    """The policy-gradient engine (see pgfast.Reinforce). theta (and log_std) must be
    float64, C-contiguous, writeable arrays: iterate() updates them in place."""

    def __init__(self, env: VecEnv, policy: Policy, config: ReinforceConfig) -> None: ...
    @property
    def n_params(self) -> int: ...
    @property
    def completed(self) -> int:
        """Updates applied so far; an interrupted iterate() applies none."""
    def iterate(
        self, theta: npt.NDArray[np.float64], log_std: npt.NDArray[np.float64] | None
    ) -> dict[str, float]: ...
    def gradient(
        self, theta: npt.NDArray[np.float64], log_std: npt.NDArray[np.float64] | None, episodes: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(mean, stderr), flat: theta row-major, then log_std if learned."""
    def fisher(
        self, theta: npt.NDArray[np.float64], log_std: npt.NDArray[np.float64] | None, episodes: int
    ) -> npt.NDArray[np.float64]:
        """(n_params, n_params)."""
    def last_batch(self) -> dict[str, Any]:
        """The last batch's per-step arrays as the estimator saw them."""
    # The distributed protocol (pgfast.distributed; reinforce.hpp).
    def shard_begin(
        self,
        theta: npt.NDArray[np.float64],
        log_std: npt.NDArray[np.float64] | None,
        value_weights: npt.ArrayLike | None,
        value_fitted: bool,
        batch: int,
        first: int,
        count: int,
        batch_episodes: int,
        kind: str,
    ) -> list[str]:
        """Collects episodes [first, first + count) of a batch and starts its estimate
        ('update', 'gradient' or 'fisher'); returns the rounds to run."""
    def shard_round(self, round: str) -> list[tuple[int, int, npt.NDArray[np.float64]]]:
        """This shard's tree nodes of a round: [(level, index, sum)]."""
    def shard_receive(self, round: str, sum: npt.ArrayLike) -> None:
        """The batch-wide sum of a round (all but 'final')."""
    def shard_summary(self) -> dict[str, npt.NDArray[Any]]:
        """This shard's episode returns and lengths and its diagnostic sample."""
    def take_batch(self) -> int:
        """The number of the next batch."""
    def finish_update(
        self,
        theta: npt.NDArray[np.float64],
        log_std: npt.NDArray[np.float64] | None,
        sum: npt.ArrayLike,
        summary: dict[str, npt.NDArray[Any]],
    ) -> dict[str, float]:
        """Applies an update from the final round's sum and the batch summary."""
    def finish_gradient(
        self, sum: npt.ArrayLike, episodes: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
    def finish_fisher(self, sum: npt.ArrayLike, episodes: int) -> npt.NDArray[np.float64]: ...
    def value_weights(self) -> tuple[npt.NDArray[np.float64], bool]:
        """(weights, fitted) of the value."""
    def request_stop(self) -> None:
        """Stops a running call (from another thread) as Ctrl-C would."""

def tree_root(
    n_blocks: int, nodes: list[tuple[int, int, npt.NDArray[np.float64]]]
) -> npt.NDArray[np.float64]:
    """The sum over a batch's n_blocks blocks from tree nodes that partition them."""

BLOCK_EPISODES: int

def batch_env_seed(seed: int, batch: int) -> int:
    """Episode j of batch b of a collector seeded `seed` runs its env on stream
    (batch_env_seed(seed, b), j)."""

def evaluate(
    env: VecEnv,
    policy: Policy,
    theta: npt.NDArray[np.float64],
    log_std: npt.NDArray[np.float64] | None,
    episodes: int,
    deterministic: bool,
    seed: int,
    num_threads: int,
    first: int = 0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]: ...
def rollout(
    env: VecEnv,
    policy: Policy,
    theta: npt.NDArray[np.float64],
    log_std: npt.NDArray[np.float64] | None,
    episodes: int,
    steps: int,
    deterministic: bool,
    seed: int,
    num_threads: int,
    first: int = 0,
) -> dict[str, npt.NDArray[np.generic]]: ...
def allocation_count() -> int:
    """Allocations through operator new in pgfast's code (-1 without the counter)."""

def reward_to_go(
    rewards: npt.ArrayLike, gamma: float, bootstrap: float = 0.0
) -> npt.NDArray[np.float64]: ...
def discounted_return(rewards: npt.ArrayLike, gamma: float, bootstrap: float = 0.0) -> float: ...
def gae(
    rewards: npt.ArrayLike, values: npt.ArrayLike, gamma: float, lam: float, bootstrap: float = 0.0
) -> npt.NDArray[np.float64]: ...

# ---- Python-stepped envs (callback_env.cpp) -------------------------------------

def make_callback_env(
    reset: object,
    step: object,
    num_envs: int,
    observation_space: tuple,
    action_space: tuple,
    id: str,
) -> VecEnv:
    """reset(i) -> obs and step(i, action) -> (obs, reward, terminated, truncated), in Python."""

def make_lockstep_env(
    reset_all: object,
    step_all: object,
    num_envs: int,
    observation_space: tuple,
    action_space: tuple,
    id: str,
    resets_in_step: bool,
) -> VecEnv:
    """reset_all() -> obs and step_all(actions) -> (obs, reward, terminated, truncated,
    final_obs), in Python, for all envs at once."""

def make_native_env(
    id: str,
    state_dim: int,
    observation_space: tuple,
    action_space: tuple,
    max_episode_steps: int,
    reset_uniforms: int,
    step_uniforms: int,
    reset: object,
    step: object,
    observe: object,
    step_observe: object,
    token: int,
    num_envs: int,
    seed: int,
    num_threads: int,
) -> VecEnv:
    """Envs stepped by numba cfuncs built by pgfast.native."""
