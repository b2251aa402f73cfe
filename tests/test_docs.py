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


def readme_blocks(*, ray: bool) -> list[str]:
    """The README's Python blocks, those that start Ray (pg.distributed) or the others."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    return [b for b in blocks if ("pg.distributed" in b) == ray]


def test_readme_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write files
    blocks = readme_blocks(ray=False)
    assert blocks
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})


@pytest.mark.ray
def test_readme_ray_example_runs(tmp_path):
    """In a child: it starts (and leaves) its own Ray."""
    (block,) = readme_blocks(ray=True)
    result = run_python(
        block + "\nprint('done', results[0].history.iterations)",
        timeout=600,
        cwd=str(tmp_path),
        extra_env={"RAY_AUTH_MODE": "disabled"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "done 20" in result.stdout
