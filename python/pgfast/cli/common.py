"""What the command modules share: the error they report and how they name spaces."""

from __future__ import annotations

from typing import Any


class CLIError(Exception):
    """A bad option or input: reported as ``pgfast: error: ...``, exit status 2."""


def describe_space(space: Any) -> str:
    """``Discrete(2)`` or ``Box(4,) float32``."""
    shape = getattr(space, "shape", None)
    if hasattr(space, "n"):
        return f"Discrete({space.n})"
    return f"Box{shape} {space.dtype}"


def is_discrete(space: Any) -> bool:
    import gymnasium as gym

    return isinstance(space, gym.spaces.Discrete)
