"""Finite MDPs given as arrays: :class:`TabularMDP`."""

from __future__ import annotations

import operator
from collections import deque
from typing import Any

import numpy as np

from pgfast import _core
from pgfast._validation import as_float_array, check_finite, check_int

#: Row sums may be off by rounding (thirds, decimals), never by more.
SUM_TOLERANCE = 1e-9


class TabularMDP:
    """A finite Markov decision process, turned into a vector env by :func:`pgfast.make`.

    Args:
        P: transition probabilities ``P[s, a, s']``, shape ``(S, A, S)``; each
            ``P[s, a, :]`` sums to 1.
        R: rewards, either ``R[s, a]`` (shape ``(S, A)``) or ``R[s, a, s']``
            (shape ``(S, A, S)``), paid on the transition.
        initial: initial state distribution, shape ``(S,)``.
        terminal: boolean mask over states, shape ``(S,)``; entering a terminal
            state terminates the episode. ``None`` means no terminal states.
        max_episode_steps: time limit after which an episode is truncated
            (``None`` for none).
        name: the id the environment reports.

    The arrays are copied and made read-only. ``R`` is always stored as
    ``(S, A, S)``.

    Example:
        >>> import numpy as np, pgfast as pg
        >>> P = np.zeros((2, 1, 2)); P[0, 0, 1] = 1.0; P[1, 0, 1] = 1.0
        >>> mdp = pg.TabularMDP(P, R=[[1.0], [0.0]], initial=[1.0, 0.0],
        ...                     terminal=[False, True])
        >>> env = pg.make(mdp, num_envs=2, seed=0)
        >>> env.reset(seed=0)[0]
        array([0, 0])
        >>> env.step(np.array([0, 0]))[1:4]
        (array([1., 1.]), array([ True,  True]), array([False, False]))
    """

    def __init__(
        self,
        P: Any,
        R: Any,
        initial: Any,
        terminal: Any = None,
        max_episode_steps: int | None = None,
        *,
        name: str = "TabularMDP",
    ) -> None:
        P = as_float_array(P, "P", ndim=3)
        n_states, n_actions = P.shape[0], P.shape[1]
        if n_states < 1 or n_actions < 1 or P.shape[2] != n_states:
            raise ValueError(f"P must have shape (n_states, n_actions, n_states), got {P.shape}")
        check_finite(P, "P")
        if (P < 0).any() or (P > 1 + SUM_TOLERANCE).any():
            s, a, t = (int(i) for i in np.argwhere((P < 0) | (P > 1 + SUM_TOLERANCE))[0])
            raise ValueError(
                f"P[{s}, {a}, {t}] must be a probability in [0, 1], got {float(P[s, a, t])}"
            )
        sums = P.sum(axis=2)
        bad = np.abs(sums - 1.0) > SUM_TOLERANCE
        if bad.any():
            s, a = (int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"P[{s}, {a}, :] must sum to 1, sums to {float(sums[s, a])!r}")

        R = as_float_array(R, "R")
        if R.shape == (n_states, n_actions):
            R = np.repeat(R[:, :, None], n_states, axis=2)
        elif R.shape != (n_states, n_actions, n_states):
            raise ValueError(
                f"R must have shape (n_states, n_actions) = {(n_states, n_actions)} or "
                f"(n_states, n_actions, n_states) = {(n_states, n_actions, n_states)}, got {R.shape}"
            )
        check_finite(R, "R")

        initial = as_float_array(initial, "initial", ndim=1)
        if initial.shape != (n_states,):
            raise ValueError(f"initial must have shape ({n_states},), got {initial.shape}")
        check_finite(initial, "initial")
        if (initial < 0).any():
            raise ValueError(f"initial must be non-negative, got {float(initial[initial < 0][0])}")
        if abs(initial.sum() - 1.0) > SUM_TOLERANCE:
            raise ValueError(f"initial must sum to 1, sums to {float(initial.sum())!r}")

        if terminal is None:
            terminal = np.zeros(n_states, dtype=bool)
        else:
            terminal = np.asarray(terminal)
            if terminal.dtype != np.bool_:
                raise TypeError(f"terminal must be a boolean mask, got dtype {terminal.dtype}")
            if terminal.shape != (n_states,):
                raise ValueError(f"terminal must have shape ({n_states},), got {terminal.shape}")
            terminal = terminal.copy()
        starts_terminal = terminal & (initial > 0)
        if starts_terminal.any():
            s = int(np.argmax(starts_terminal))
            raise ValueError(
                f"initial puts probability {float(initial[s])} on terminal state {s}; "
                "episodes must start in a non-terminal state"
            )
        if max_episode_steps is not None:
            max_episode_steps = check_int(max_episode_steps, "max_episode_steps", minimum=1)
        if not isinstance(name, str):
            raise TypeError(f"name must be a string, got {type(name).__name__}")

        for arr in (P, R, initial, terminal):
            arr.flags.writeable = False
        self.P: np.ndarray = P
        self.R: np.ndarray = R
        self.initial: np.ndarray = initial
        self.terminal: np.ndarray = terminal
        self.max_episode_steps: int | None = max_episode_steps
        self.name: str = name

    @property
    def n_states(self) -> int:
        return int(self.P.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.P.shape[1])

    @property
    def expected_reward(self) -> np.ndarray:
        """``r(s, a) = sum_s' P[s, a, s'] R[s, a, s']``, shape ``(S, A)``."""
        return np.einsum("ijk,ijk->ij", self.P, self.R)

    def __repr__(self) -> str:
        return (
            f"TabularMDP(name={self.name!r}, n_states={self.n_states}, "
            f"n_actions={self.n_actions}, max_episode_steps={self.max_episode_steps})"
        )

    @classmethod
    def frozen_lake(
        cls, map_name: str = "4x4", is_slippery: bool = True, max_episode_steps: int | None = None
    ) -> TabularMDP:
        """Gymnasium's ``FrozenLake-v1`` (``"4x4"``) or ``FrozenLake8x8-v1`` (``"8x8"``).

        Built by pgfast outcome by outcome as Gymnasium builds it; the time
        limit defaults to Gymnasium's (100, or 200 for 8x8).
        """
        if map_name not in ("4x4", "8x8"):
            raise ValueError(f"map_name must be '4x4' or '8x8', got {map_name!r}")
        if max_episode_steps is None:
            max_episode_steps = 100 if map_name == "4x4" else 200
        steps = check_int(max_episode_steps, "max_episode_steps", minimum=1)
        P, R, initial, terminal = _core.frozen_lake_tables(map_name, bool(is_slippery), steps)
        name = "FrozenLake-v1" if map_name == "4x4" else "FrozenLake8x8-v1"
        return cls(P, R, initial, terminal, steps, name=name)

    @classmethod
    def cliff_walking(cls, max_episode_steps: int | None = 200) -> TabularMDP:
        """Gymnasium's ``CliffWalking-v1`` (4x12 grid, -1 per step, -100 and back
        to the start for stepping into the cliff).

        Gymnasium sets no time limit; pgfast truncates after 200 steps by
        default so that every episode ends (``None`` removes the limit).
        """
        steps = (
            0
            if max_episode_steps is None
            else check_int(max_episode_steps, "max_episode_steps", minimum=1)
        )
        P, R, initial, terminal = _core.cliff_walking_tables(steps)
        return cls(P, R, initial, terminal, max_episode_steps, name="CliffWalking-v1")

    @classmethod
    def from_gymnasium(cls, env: Any, max_episode_steps: int | None = None) -> TabularMDP:
        """Read the tables of a toy-text Gymnasium env (FrozenLake, CliffWalking, Taxi).

        Uses ``env.unwrapped.P`` (``P[s][a] = [(p, s', r, terminated), ...]``)
        and ``env.unwrapped.initial_state_distrib``. A state is terminal when
        some transition into it terminates. The conversion refuses MDPs that
        arrays cannot express on the states an episode can reach: a state
        entered both with and without termination, or two outcomes of one
        ``(s, a)`` reaching the same ``s'`` with different rewards.
        ``max_episode_steps`` defaults to the env's registered time limit.

        :func:`pgfast.make` does this itself for the toy-text ids it lists
        (``pg.make("Taxi-v4")``, see :data:`pgfast.registry.TOY_TEXT`).
        """
        unwrapped = getattr(env, "unwrapped", env)
        table = getattr(unwrapped, "P", None)
        initial = getattr(unwrapped, "initial_state_distrib", None)
        if not isinstance(table, dict) or initial is None:
            raise TypeError(
                "from_gymnasium needs a toy-text env exposing unwrapped.P and "
                f"unwrapped.initial_state_distrib, got {type(unwrapped).__name__}"
            )
        n_states = len(table)
        if n_states == 0 or set(table) != set(range(n_states)):
            raise ValueError(
                "from_gymnasium: unwrapped.P must map the states 0..S-1, got keys "
                f"{sorted(table, key=repr)[:5]}..."
            )
        first = table[0]
        n_actions = len(first) if isinstance(first, dict) else 0
        if n_actions == 0:
            raise ValueError("from_gymnasium: unwrapped.P[0] must map the actions 0..A-1")
        P = np.zeros((n_states, n_actions, n_states))
        R = np.zeros((n_states, n_actions, n_states))
        reward_seen = np.zeros((n_states, n_actions, n_states), dtype=bool)
        enters_terminating = np.zeros(n_states, dtype=bool)
        enters_continuing = np.zeros((n_states, n_states), dtype=bool)  # [s, s']
        conflicts: list[tuple[int, int, int]] = []
        for s in range(n_states):
            row = table[s]
            if not isinstance(row, dict) or set(row) != set(range(n_actions)):
                raise ValueError(
                    f"from_gymnasium: unwrapped.P[{s}] must map the actions 0..{n_actions - 1}"
                )
            for a in range(n_actions):
                for outcome in row[a]:
                    try:
                        p, s_next, r, terminated = outcome
                        p, r, s_next = float(p), float(r), operator.index(s_next)
                    except (TypeError, ValueError):
                        raise ValueError(
                            f"from_gymnasium: P[{s}][{a}] holds {outcome!r}, not "
                            "(probability, next state, reward, terminated)"
                        ) from None
                    if not 0 <= s_next < n_states:
                        raise ValueError(
                            f"from_gymnasium: P[{s}][{a}] leads to state {s_next}, "
                            f"outside 0..{n_states - 1}"
                        )
                    P[s, a, s_next] += p
                    if reward_seen[s, a, s_next] and R[s, a, s_next] != r and p > 0:
                        conflicts.append((s, a, s_next))
                    if p > 0:
                        R[s, a, s_next] = r
                        reward_seen[s, a, s_next] = True
                        if terminated:
                            enters_terminating[s_next] = True
                        else:
                            enters_continuing[s, s_next] = True
        terminal = enters_terminating
        initial = as_float_array(initial, "initial_state_distrib", ndim=1)
        if initial.shape != (n_states,):
            raise ValueError(
                f"from_gymnasium: initial_state_distrib must have shape ({n_states},),"
                f" got {initial.shape}"
            )
        reachable = _reachable(P, initial, terminal)
        for s, a, s_next in conflicts:
            if reachable[s]:
                raise ValueError(
                    f"outcomes of (s={s}, a={a}) reach state {s_next} with different rewards; "
                    "R[s, a, s'] cannot express this MDP"
                )
        mixed = enters_continuing[:, terminal] & reachable[:, None] & ~terminal[:, None]
        if mixed.any():
            s, k = (int(i) for i in np.argwhere(mixed)[0])
            s_next = int(np.flatnonzero(terminal)[k])
            raise ValueError(
                f"state {s_next} is entered from state {s} without termination but terminates "
                "on other transitions; a terminal mask over states cannot express this MDP"
            )
        if max_episode_steps is None:
            spec = getattr(env, "spec", None)
            max_episode_steps = getattr(spec, "max_episode_steps", None)
        spec = getattr(env, "spec", None)
        name = getattr(spec, "id", None) or type(unwrapped).__name__
        return cls(P, R, initial, terminal, max_episode_steps, name=name)


def _reachable(P: np.ndarray, initial: np.ndarray, terminal: np.ndarray) -> np.ndarray:
    """States an episode can visit: reachable from the start without passing a terminal state."""
    successors = P.sum(axis=1) > 0  # [s, s']
    seen = initial > 0
    queue = deque(int(s) for s in np.flatnonzero(seen))
    while queue:
        s = queue.popleft()
        if terminal[s]:
            continue
        for t in np.flatnonzero(successors[s] & ~seen):
            seen[t] = True
            queue.append(int(t))
    return seen
