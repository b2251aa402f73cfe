"""Per-environment training presets for ``pgfast train ENV_ID``.

Each preset holds the settings that ``pgfast train`` uses for that env when
no option overrides them; any option given on the command line wins. Keys
(all optional; missing ones come from :data:`DEFAULTS`):

``features``
    a feature spec: ``identity``, ``onehot``, ``poly:D``, ``fourier:K``,
    ``rbf:K`` or ``tiles:TxK`` (``T`` tilings of ``K`` tiles per dimension).
``low``, ``high``
    the box the bounded feature maps (Fourier, RBF, tiles) rescale to
    ``[0, 1]``; used by any bounded spec given for this env.
``policy``, ``log_std``, ``learn_std``
    ``softmax`` or ``gaussian`` (default: from the action space) and the
    Gaussian policy's initial log standard deviation and whether it is learned.
``iterations``, ``episodes_per_update``, ``lr``, ``optimizer``, ``returns``,
``baseline``, ``gamma``, ``gae_lambda``, ``normalize_advantages``, ``max_kl``,
``fisher``
    the :class:`pgfast.Reinforce` settings.
``target_return``
    stop early once a batch's mean return reaches it (``None``: never).
``num_envs``
    environments stepped in the vector env.
``max_episode_steps``
    the time limit during training (``None``: the env's own). Evaluation
    always uses the env's own limit.
``env_params``
    parameters :func:`pgfast.make` needs for this id (the synthetic envs).

Measured results
----------------

``pgfast train ENV_ID`` with no options, one thread, on the 2-core
development machine (shared with other jobs: times vary by up to 2x).
*Evaluation* is what the command prints: the mean undiscounted return of the
greedy policy (most probable action, or the Gaussian's mean) over 100
episodes after training, for seed 0 and the range over seeds 0-4. *Time* is
the wall time of training alone (seed 0), *steps* the env steps it took.
Training is deterministic for a seed, so the returns are reproducible
exactly; only the times vary.

========================  ==========  ================  =======  ======  =========================
env                       evaluation  seeds 0-4         time     steps   for reference
========================  ==========  ================  =======  ======  =========================
CartPole-v1               500.00      500 .. 500        0.07 s   0.99 M  maximum 500; "solved" 475
Acrobot-v1                -85.92      -91.2 .. -81.7    0.27 s   0.37 M  Gymnasium threshold -100
MountainCar-v0 (1)        -100.77     -103.2 .. -96.9   1.0 s    2.4 M   Gymnasium threshold -110
MountainCarContinuous-v0  94.42       94.1 .. 94.4      0.05 s   0.35 M  Gymnasium threshold 90
Pendulum-v1               -145.53     -180.3 .. -145.5  1.2 s    1.9 M   untrained about -1200
FrozenLake-v1 (2)         0.69        0.64 .. 0.73      0.17 s   1.4 M   optimum 0.744
FrozenLake8x8-v1 (2)      0.88        0.81 .. 0.91      1.1 s    6.7 M   optimum 0.913
CliffWalking-v1 (3)       -13         -13 .. -13        1.9 s    0.31 M  optimum -13
Taxi-v4 (7)               8.36        5.90 .. 8.36      1.7 s    1.2 M   optimum 7.93
Bandit (4)                1.46        1.33 .. 1.55      <0.01 s  4800    best arm's mean 1.5
ContinuousBandit (5)      -0.01       -0.02 .. 0.00     <0.01 s  6400    optimum 0
LQR (6)                   -5.03       -5.36 .. -4.76    0.11 s   1.9 M   optimum -4.68
========================  ==========  ================  =======  ======  =========================

(1) Trained with 2000-step episodes (``max_episode_steps``): within the
    real 200-step limit a random policy never reaches the flag, so REINFORCE
    gets no signal at all. The evaluation uses the real 200-step limit.
(2) The return is the success probability; 100 episodes estimate it to
    about +-0.045. Computed exactly (``pg.exact``), the greedy policies of
    seeds 0-4 succeed with probability 0.730 (4x4, optimum 0.744 for 100
    steps) and 0.858-0.889 (8x8, optimum 0.913 for 200 steps).
(3) The natural gradient with the exact Fisher matrix and a trust region
    (``max_kl`` 0.05) finds the optimal path along the cliff for every seed.
    Plain REINFORCE (Adam or SGD) mostly settles on the safe path along the
    top row (-17): the stochastic policy it optimises pays for slips into the
    cliff, and the softmax policy gradient crosses the plateau between the two
    only very slowly (Agarwal et al. 2021); tests/test_learning.py shows both.
(4) 10 arms with unit-variance rewards, means :data:`BANDIT_MEANS`; the
    evaluation averages single noisy pulls. Every seed puts probability
    >= 0.989 on the best arm (mean 1.5).
(5) ``a* = 1``, reward ``-(a - a*)^2`` plus N(0, 0.1^2) noise.
(6) :data:`LQR_EXAMPLE`, 100 steps from ``x0 ~ N(0, I)``; the 100 episodes
    estimate the cost to about +-0.5. Computed exactly, the greedy gains of
    seeds 0-4 cost 4.72-4.81, 0.9-2.8% above the Riccati optimum 4.679.
(7) Run from Gymnasium's P tables (backend ``native-table``). Moves are
    deterministic, so a greedy policy that keeps one bad action in a state
    loops there until the 200-step limit; 100 episodes can miss such a state
    (each of the 300 start states has probability 1/300). Computed exactly,
    the greedy policies of seeds 0-4 return 6.48-7.89 (optimum 7.93, by value
    iteration over the 200 steps); 3000 iterations did not remove the loops.

"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["DEFAULTS", "PRESETS", "preset_for"]

#: Settings used when neither the preset nor the command line gives one.
#: ``None`` for ``policy``/``features``/``baseline`` means: chosen from the
#: spaces (softmax for Discrete actions, Gaussian for Box; one-hot features
#: for Discrete observations, identity for Box) and the returns (``none``
#: with GAE, else ``mean``).
DEFAULTS: dict[str, Any] = {
    "policy": None,
    "features": None,
    "low": None,
    "high": None,
    "log_std": 0.0,
    "learn_std": True,
    "iterations": 200,
    "episodes_per_update": 32,
    "lr": 0.05,
    "optimizer": "adam",
    "returns": "reward_to_go",
    "baseline": None,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "normalize_advantages": False,
    "max_kl": None,
    "fisher": "sampled",
    "target_return": None,
    "num_envs": 16,
    "max_episode_steps": None,
    "env_params": {},
}

# The example problems the CLI gives the synthetic envs, which need parameters.
#: Sutton & Barto's 10-armed testbed style: unit-variance arms, arm 2 best.
BANDIT_MEANS = [0.2, -0.8, 1.5, 0.4, 1.1, -0.3, 0.9, -1.2, 0.0, 0.6]
#: A double integrator with position and velocity (a 2-D LQR), force as the control.
LQR_EXAMPLE = {
    "A": [[0.9, 0.3], [0.0, 0.9]],
    "B": [[0.0], [1.0]],
    "Q": [[1.0, 0.0], [0.0, 1.0]],
    "R": [[0.1]],
}

#: env id -> settings that train it to a good result with no options.
PRESETS: dict[str, dict[str, Any]] = {
    # Linear softmax on [x, x_dot, angle, angle_dot, 1]. The bounds serve
    # --features fourier/rbf/tiles (the velocities are unbounded).
    "CartPole-v1": {
        "features": "identity",
        "low": [-2.4, -3.0, -0.21, -3.5],
        "high": [2.4, 3.0, 0.21, 3.5],
        "iterations": 200,
        "episodes_per_update": 16,
        "lr": 0.02,
        "gamma": 0.99,
        "optimizer": "adam",
        "returns": "reward_to_go",
        "baseline": "mean",
    },
    # The per-time-step baseline makes the update exactly zero while every
    # episode is truncated at -500; with the batch-mean baseline Adam turns
    # that noise into a random walk that made 2 seeds in 8 deterministic
    # (and stuck at -500) before the first success.
    "Acrobot-v1": {
        "features": "identity",
        "iterations": 200,
        "episodes_per_update": 16,
        "lr": 0.05,
        "gamma": 0.99,
        "baseline": "time",
    },
    # Sparse reward: within 200 steps a random policy never reaches the flag,
    # so training episodes get 2000 steps (a random walk then succeeds in ~1%
    # of them) and the per-time-step baseline keeps the update at exactly
    # zero until one does. The evaluation uses the real 200-step limit.
    "MountainCar-v0": {
        "features": "tiles:8x4",
        "max_episode_steps": 2000,
        "iterations": 300,
        "episodes_per_update": 64,
        "lr": 0.1,
        "gamma": 1.0,
        "returns": "reward_to_go",
        "baseline": "time",
    },
    # Gaussian on a 3rd-order Fourier basis (the observation space is
    # bounded). With the batch-mean baseline 2 seeds in 6 settled in the
    # do-nothing optimum (return 0); with the per-time-step one, 0 in 12.
    "MountainCarContinuous-v0": {
        "features": "fourier:3",
        "log_std": 0.0,
        "learn_std": True,
        "iterations": 200,
        "episodes_per_update": 16,
        "lr": 0.05,
        "gamma": 0.99,
        "baseline": "time",
    },
    "Pendulum-v1": {
        "features": "fourier:3",
        "log_std": 0.0,
        "learn_std": True,
        "iterations": 300,
        "episodes_per_update": 32,
        "lr": 0.05,
        "gamma": 0.95,
        "returns": "gae",
        "gae_lambda": 0.95,
    },
    # Tabular softmax (one-hot features); the return is the success probability.
    "FrozenLake-v1": {
        "features": "onehot",
        "iterations": 600,
        "episodes_per_update": 64,
        "lr": 0.05,
        "gamma": 1.0,
        "baseline": "time",
    },
    "FrozenLake8x8-v1": {
        "features": "onehot",
        "iterations": 600,
        "episodes_per_update": 128,
        "lr": 0.05,
        "gamma": 1.0,
        "baseline": "time",
    },
    # The natural gradient with the exact Fisher and a trust region: the vanilla
    # gradient stays on the safe path (-17) on most seeds, on a plateau it leaves
    # only very slowly (Agarwal et al. 2021); this finds the optimal one (-13).
    "CliffWalking-v1": {
        "features": "onehot",
        "num_envs": 16,
        "iterations": 400,
        "episodes_per_update": 32,
        "optimizer": "natural",
        "fisher": "exact",
        "max_kl": 0.05,
        "gamma": 1.0,
        "baseline": "time",
    },
    # Deterministic moves: a greedy policy that still prefers a wall or a bad pickup in
    # one state loops there until the time limit (-200), so training runs until the
    # stochastic policy has left every such habit (lr 0.2 or 1000 iterations leave some).
    "Taxi-v4": {
        "features": "onehot",
        "iterations": 2000,
        "episodes_per_update": 32,
        "lr": 0.1,
        "gamma": 1.0,
        "baseline": "time",
    },
    "Bandit": {
        "env_params": {"means": BANDIT_MEANS, "stds": 1.0},
        "features": "onehot",
        "iterations": 150,
        "episodes_per_update": 32,
        "lr": 0.1,
        "gamma": 1.0,
    },
    "ContinuousBandit": {
        "env_params": {"a_star": [1.0], "noise_std": 0.1},
        "features": "onehot",
        "log_std": 0.0,
        "iterations": 200,
        "episodes_per_update": 32,
        "lr": 0.05,
        "gamma": 1.0,
    },
    # Fixed exploration std 0.5: a learned std collapses and slows learning.
    "LQR": {
        "env_params": LQR_EXAMPLE,
        "features": "identity",
        "log_std": -0.6931471805599453,
        "learn_std": False,
        "iterations": 300,
        "episodes_per_update": 64,
        "lr": 0.05,
        "gamma": 1.0,
        "baseline": "time",
    },
}


def preset_for(env_id: str) -> dict[str, Any]:
    """A copy of :data:`DEFAULTS` updated with ``env_id``'s preset (if any)."""
    settings = copy.deepcopy(DEFAULTS)
    settings.update(copy.deepcopy(PRESETS.get(env_id, {})))
    return settings
