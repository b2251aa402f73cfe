"""Pictures of pgfast's classic-control envs, drawn by Gymnasium's own renderer.

pgfast's envs equal Gymnasium's bit for bit, so the picture of a pgfast state is
Gymnasium's: a hidden Gymnasium env of the same id is given the pgfast env's exact
state (``unwrapped.state``; Pendulum's last torque too) and asked for its
``rgb_array`` frame. Gymnasium draws with pygame, an optional extra here:
``pip install "pgfast-rl[render]"``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

#: The ids whose frames Gymnasium draws from ``unwrapped.state``.
RENDERABLE = (
    "CartPole-v1",
    "Pendulum-v1",
    "Acrobot-v1",
    "MountainCar-v0",
    "MountainCarContinuous-v0",
)
RENDER_MODES = ["rgb_array", "human"]


def require_pygame() -> Any:
    # Gymnasium initialises pygame's display even for off-screen frames: without
    # a display, SDL's dummy driver.
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    try:
        import pygame
    except ImportError:
        raise ImportError(
            'drawing frames needs pygame (Gymnasium draws them): pip install "pgfast-rl[render]"'
        ) from None
    return pygame


class Renderer:
    """Frames of one env of ``env_id`` from its state (a row of ``get_state()``):
    returned (``"rgb_array"``) or shown in Gymnasium's window (``"human"``)."""

    def __init__(self, env_id: str, mode: str = "rgb_array") -> None:
        if env_id not in RENDERABLE:
            raise ValueError(
                f"{env_id} cannot be rendered; render_mode supports {', '.join(RENDERABLE)}"
            )
        if mode == "human" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise ValueError(
                "render_mode='human' opens a window, and this machine has no display "
                "($DISPLAY is not set); use 'rgb_array', or write a video with "
                "`pgfast evaluate RUN --video episode.gif`"
            )
        require_pygame()
        import gymnasium as gym

        self.mode = mode
        self._env = gym.make(env_id, render_mode=mode)
        self._env.reset(seed=0)  # builds what render() reads besides the state
        self.fps = int(self._env.metadata.get("render_fps", 30))

    def frame(self, state: np.ndarray, last_action: Any = None) -> np.ndarray | None:
        """The ``(H, W, 3)`` uint8 picture of ``state`` (``None``: shown in the window)."""
        env: Any = self._env.unwrapped
        env.state = np.array(state, dtype=np.float64)
        if hasattr(env, "last_u"):  # Pendulum draws the last torque as an arrow
            env.last_u = None if last_action is None else float(np.ravel(last_action)[0])
        frame = env.render()
        return None if frame is None else np.asarray(frame, dtype=np.uint8)

    def close(self) -> None:
        self._env.close()


def write_gif(path: str, frames: list[np.ndarray], fps: int) -> None:
    """An animated GIF of ``frames`` (Pillow)."""
    from PIL import Image

    images = [Image.fromarray(f) for f in frames]
    images[0].save(
        path, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0
    )
