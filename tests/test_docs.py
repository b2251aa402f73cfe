"""The examples in the docstrings and the README run."""

from __future__ import annotations

import doctest
import importlib
import pathlib
import re

import pytest

MODULES = [
    "pgfast",
    "pgfast.envs",
    "pgfast.mdp",
    "pgfast.features",
    "pgfast.policies",
    "pgfast.algorithms",
    "pgfast.exact",
    "pgfast.native",
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


def test_readme_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write files
    readme = pathlib.Path(__file__).resolve().parents[1] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, str(readme), "exec"), {})
