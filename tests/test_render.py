"""Pictures: a pgfast env's frame is Gymnasium's frame of the same state, step after
step, and `pgfast evaluate --video` writes a GIF that reads back."""

from __future__ import annotations

import os
import pickle

import gymnasium as gym
import numpy as np
import pytest
from _subprocess import run_cli, run_isolated

import pgfast as pg
from pgfast.render import RENDERABLE

pytest.importorskip("pygame")
pytestmark = pytest.mark.render


@pytest.mark.parametrize("env_id", RENDERABLE)
def test_frames_equal_gymnasiums_along_a_trajectory(env_id):
    """Gymnasium's env gets pgfast's initial state (the streams differ, the dynamics
    do not), then both take the same actions: every frame is the same array."""
    env = pg.make(env_id, seed=3, render_mode="rgb_array")
    ref = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=3)
    ref.reset(seed=0)
    ref.unwrapped.state = env.get_state()[0].copy()
    frame = env.render()
    assert frame.dtype == np.uint8
    assert frame.ndim == 3
    assert frame.shape[2] == 3
    np.testing.assert_array_equal(frame, ref.render())
    rng = np.random.default_rng(0)
    space = env.single_action_space
    for _ in range(40):
        if isinstance(space, gym.spaces.Discrete):
            action = rng.integers(0, space.n)
        else:
            action = rng.uniform(space.low, space.high).astype(np.float32)
        _, _, terminated, truncated, _ = env.step(np.asarray([action]))
        ref.step(action)
        np.testing.assert_array_equal(env.render(), ref.render())
        if terminated[0] or truncated[0]:
            break
    assert env.metadata["render_modes"] == ["rgb_array", "human"]
    assert env.metadata["render_fps"] == ref.metadata["render_fps"]


def test_single_env_renders_and_metadata_lists_the_mode():
    env = pg.SingleEnv(pg.make("CartPole-v1", seed=0, render_mode="rgb_array"))
    env.reset(seed=0)
    assert env.render_mode == "rgb_array"
    assert env.render().shape == (400, 600, 3)
    assert pg.make("Acrobot-v1").metadata["render_modes"] == ["rgb_array", "human"]
    assert pg.make("Acrobot-v1").render() is None  # no render mode: nothing drawn
    clone = pickle.loads(pickle.dumps(pg.make("Pendulum-v1", seed=0, render_mode="rgb_array")))
    clone.reset(seed=0)
    assert clone.render().shape == (500, 500, 3)


def test_bad_render_requests_are_refused_clearly():
    with pytest.raises(ValueError, match="render_mode must be 'rgb_array' or 'human'"):
        pg.make("CartPole-v1", render_mode="ansi")
    if not os.environ.get("DISPLAY"):
        with pytest.raises(ValueError, match="no display"):
            pg.make("CartPole-v1", render_mode="human")
    with pytest.raises(ValueError, match="num_envs must be 1"):
        pg.make("CartPole-v1", num_envs=2, render_mode="rgb_array")
    with pytest.raises(ValueError, match="FrozenLake-v1 cannot be rendered"):
        pg.make("FrozenLake-v1", render_mode="rgb_array")


def test_without_pygame_the_message_says_what_to_install():
    out = run_isolated(
        """
        import sys
        sys.modules["pygame"] = None
        import pgfast as pg
        try:
            pg.make("CartPole-v1", render_mode="rgb_array")
        except ImportError as e:
            print(e)
        """
    )
    assert 'pip install "pgfast-rl[render]"' in out


def test_evaluate_writes_a_gif_of_one_episode(tmp_path):
    from PIL import Image

    run = tmp_path / "run"
    result = run_cli("train", "CartPole-v1", "--iterations", "3", "--eval-episodes", "0",
                     "--out", str(run), "-q", "--no-plot")  # fmt: skip
    assert result.returncode == 0, result.stderr
    gif = tmp_path / "episode.gif"
    result = run_cli("evaluate", str(run), "--episodes", "5", "--video", str(gif))
    assert result.returncode == 0, result.stderr
    frames = int(result.stdout.split(f"wrote {gif} (")[1].split()[0])
    with Image.open(gif) as image:
        assert 2 < image.n_frames <= frames  # Pillow may merge identical frames
        assert image.size == (600, 400)
    result = run_cli("evaluate", str(run), "--episodes", "5", "--video", str(tmp_path / "a.mp4"))
    assert result.returncode == 2
    assert "give a .gif path" in result.stderr
