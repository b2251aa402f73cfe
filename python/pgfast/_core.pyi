"""Stubs for pgfast's compiled engine. Private: use the pgfast package.

Arrays cross as NumPy arrays; shapes are given in the docstrings. Every
function validates its arguments and raises ValueError/TypeError.
"""

from typing import Literal, Union

import numpy as np
import numpy.typing as npt

__version__: str

BoxSpec = tuple[Literal["box"], tuple[int, ...], npt.NDArray[np.float64], npt.NDArray[np.float64], str]
DiscreteSpec = tuple[Literal["discrete"], int]
SpaceSpec = Union[BoxSpec, DiscreteSpec]
MdpTables = tuple[
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
    def observation_space(self) -> SpaceSpec: ...
    @property
    def action_space(self) -> SpaceSpec: ...
    def seed(self, seed: int) -> None:
        """Env i draws from stream (seed, i) from now on."""
    def seed_each(self, seeds: npt.NDArray[np.uint64], has_seed: npt.NDArray[np.bool_]) -> None:
        """Env i draws from stream (seeds[i], 0) where has_seed[i]."""
    def reset(self, mask: npt.NDArray[np.bool_] | None = None) -> npt.NDArray[np.generic]:
        """Reset all envs (or those where mask); observations (num_envs, obs_dim) or (num_envs,)."""
    def step(
        self, actions: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.generic], npt.NDArray[np.float64], npt.NDArray[np.bool_],
               npt.NDArray[np.bool_]]:
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
    P: npt.ArrayLike, R: npt.ArrayLike, initial: npt.ArrayLike, terminal: npt.ArrayLike,
    max_episode_steps: int, id: str, num_envs: int, seed: int, num_threads: int,
) -> VecEnv:
    """P and R of shape (S, A, S), initial (S,), terminal (S,) bool."""
def make_bandit(
    means: npt.ArrayLike, stds: npt.ArrayLike, num_envs: int, seed: int, num_threads: int
) -> VecEnv: ...
def make_continuous_bandit(
    a_star: npt.ArrayLike, noise_std: float, low: npt.ArrayLike, high: npt.ArrayLike,
    num_envs: int, seed: int, num_threads: int,
) -> VecEnv: ...
def make_lqr(
    A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, R: npt.ArrayLike, init_std: float,
    noise_std: float, max_episode_steps: int, num_envs: int, seed: int, num_threads: int,
) -> VecEnv:
    """A (n, n), B (n, m), Q (n, n), R (m, m)."""
def lqr_riccati(
    A: npt.ArrayLike, B: npt.ArrayLike, Q: npt.ArrayLike, R: npt.ArrayLike, gamma: float = 1.0
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], int]:
    """(P (n, n), K (m, n), iterations) of the discounted DARE; u = -K x."""
def frozen_lake_tables(map_name: str, is_slippery: bool, max_episode_steps: int) -> MdpTables: ...
def cliff_walking_tables(max_episode_steps: int) -> MdpTables: ...
