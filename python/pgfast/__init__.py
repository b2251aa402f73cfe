"""pgfast: likelihood-ratio policy gradients with a C++ engine.

>>> import pgfast as pg
>>> env = pg.make("CartPole-v1", num_envs=16, seed=0)
>>> obs, info = env.reset(seed=0)
>>> obs.shape
(16, 4)
"""

from __future__ import annotations

from pgfast import distributed, exact, features, registry, study
from pgfast._core import __version__
from pgfast.algorithms import History, Reinforce, Rollout, evaluate, rollout
from pgfast.envs import (
    GymnasiumEnv,
    GymnasiumVectorEnv,
    LQREnv,
    SingleEnv,
    VectorEnv,
    list_envs,
    make,
)
from pgfast.io import load_policy
from pgfast.mdp import TabularMDP
from pgfast.native import NativeEnv, UserCodeError
from pgfast.policies import LinearGaussian, LinearSoftmax

__all__ = [
    "GymnasiumEnv",
    "GymnasiumVectorEnv",
    "History",
    "LQREnv",
    "LinearGaussian",
    "LinearSoftmax",
    "NativeEnv",
    "Reinforce",
    "Rollout",
    "SingleEnv",
    "TabularMDP",
    "UserCodeError",
    "VectorEnv",
    "__version__",
    "distributed",
    "evaluate",
    "exact",
    "features",
    "list_envs",
    "load_policy",
    "make",
    "registry",
    "rollout",
    "study",
]
