"""The examples in the docstrings and the README run."""

from __future__ import annotations

import doctest
import importlib
import pathlib
import re

import pytest
from _subprocess import run_python

MODULES = [
    "pgfast",
    "pgfast.envs",
    "pgfast.mdp",
    "pgfast.features",
    "pgfast.policies",
    "pgfast.algorithms",
    "pgfast.exact",
    "pgfast.native",
    "pgfast.distributed",
    "pgfast.study",
    "pgfast.gym_adapters",
    "pgfast.vector_env",
    "pgfast.registry",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0


README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def readme_blocks(kind: str) -> list[str]:
    """The README's Python blocks of one kind: "ray" (they start Ray), "render"
    (they draw with pygame) or "plain"."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)

    def kind_of(block: str) -> str:
        if "pg.distributed" in block:
            return "ray"
        return "render" if "render_mode" in block else "plain"

    return [b for b in blocks if kind_of(b) == kind]


def test_readme_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write files
    blocks = readme_blocks("plain")
    assert blocks
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})


@pytest.mark.render
def test_readme_render_example_runs():
    pytest.importorskip("pygame")
    (block,) = readme_blocks("render")
    scope: dict = {}
    exec(compile(block, str(README), "exec"), scope)
    assert scope["frame"].shape == (400, 600, 3)


@pytest.mark.ray
def test_readme_ray_example_runs(tmp_path):
    """In a child: it starts (and leaves) its own Ray."""
    (block,) = readme_blocks("ray")
    result = run_python(
        block + "\nprint('done', results[0].history.iterations)",
        timeout=600,
        cwd=str(tmp_path),
        extra_env={"RAY_AUTH_MODE": "disabled"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "done 20" in result.stdout
