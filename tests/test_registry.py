"""The env registry: make, list_envs and the spaces and parameters it describes agree."""

from __future__ import annotations

import doctest
import importlib

import gymnasium as gym
import numpy as np
import pytest

import pgfast as pg
from pgfast import registry
from pgfast.registry import REGISTRY, REQUIRED

IDS = list(REGISTRY)


def test_list_envs_is_the_registry():
    assert pg.list_envs() == IDS
    assert registry.ids() == IDS
    assert set(IDS) >= {"CartPole-v1", "FrozenLake-v1", "Bandit", "LQR"}


@pytest.mark.parametrize("env_id", IDS)
def test_builds_with_defaults_and_gives_the_described_spaces(env_id):
    spec = REGISTRY[env_id]
    assert spec.id == env_id
    assert spec.description
    assert set(spec.example) == {p.name for p in spec.params if p.default is REQUIRED}
    env = pg.make(env_id, num_envs=2, seed=0, **spec.example)
    observation_space, action_space = spec.spaces(**spec.example)
    assert env.single_observation_space == observation_space
    assert env.single_action_space == action_space
    assert env.observation_space == gym.vector.utils.batch_space(observation_space, 2)
    obs, _ = env.reset(seed=0)
    assert obs.shape == env.observation_space.shape
    env.step(env.action_space.sample())
    env.close()


@pytest.mark.parametrize("env_id", [i for i in IDS if i in pg._core.classic_env_ids()])
def test_classic_spaces_and_constants_are_gymnasiums(env_id):
    spec = REGISTRY[env_id]
    gym_env = gym.make(env_id)
    assert spec.spaces() == (gym_env.observation_space, gym_env.action_space)
    env = pg.make(env_id, seed=0)
    assert spec.param_names == env.param_names
    for p in spec.params:
        assert env.get_param(p.name)[0] == p.default


@pytest.mark.parametrize("env_id", IDS)
def test_every_registered_parameter_is_accepted(env_id):
    spec = REGISTRY[env_id]
    for p in spec.params:
        value = spec.example[p.name] if p.default is REQUIRED else p.default
        params = {**spec.example, p.name: value}
        env = pg.make(env_id, num_envs=2, seed=0, **params)
        assert (env.single_observation_space, env.single_action_space) == spec.spaces(**params)
        env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_unknown_parameter_is_refused_with_the_registered_list(env_id):
    spec = REGISTRY[env_id]
    accepts = ", ".join(spec.param_names) if spec.params else "none"
    message = f"unexpected parameter(s) ['not_a_param'] for {env_id}; it accepts: {accepts}"
    with pytest.raises(TypeError) as info:
        pg.make(env_id, seed=0, not_a_param=1, **spec.example)
    assert str(info.value) == message


@pytest.mark.parametrize("env_id", [i for i in IDS if REGISTRY[i].example])
def test_missing_required_parameter_is_named(env_id):
    spec = REGISTRY[env_id]
    for name in spec.example:
        params = {k: v for k, v in spec.example.items() if k != name}
        with pytest.raises(TypeError, match=f"^{env_id} needs the parameter '{name}'$"):
            pg.make(env_id, seed=0, **params)


def test_classic_defaults_leave_the_env_as_made_without_them():
    spec = REGISTRY["CartPole-v1"]
    plain = pg.make("CartPole-v1", num_envs=3, seed=4)
    explicit = pg.make(
        "CartPole-v1", num_envs=3, seed=4, **{p.name: p.default for p in spec.params}
    )
    for _ in range(20):
        np.testing.assert_array_equal(plain.reset()[0], explicit.reset()[0])


def test_unknown_id_lists_the_registry_and_register_refuses_a_taken_id():
    with pytest.raises(ValueError, match="known ids: " + ", ".join(IDS)):
        registry.lookup("Foo-v0")
    with pytest.raises(ValueError, match="'Bandit' is already registered"):
        registry.register(REGISTRY["Bandit"])


def test_make_docstring_lists_the_registered_parameters():
    for spec in REGISTRY.values():
        for p in spec.params:
            assert f"``{p.name}" in pg.make.__doc__
        if spec.params:
            assert f"``{spec.id}``:" in pg.make.__doc__


def test_moved_names_import_from_pgfast_envs():
    from pgfast.envs import GymnasiumEnv, LQREnv, SingleEnv, VectorEnv, as_vector_env, make

    for name, obj in [
        ("GymnasiumEnv", GymnasiumEnv),
        ("LQREnv", LQREnv),
        ("SingleEnv", SingleEnv),
        ("VectorEnv", VectorEnv),
        ("make", make),
    ]:
        assert getattr(pg, name) is obj
    assert isinstance(as_vector_env("CartPole-v1"), VectorEnv)


@pytest.mark.parametrize("name", ["pgfast.registry", "pgfast.vector_env", "pgfast.gym_adapters"])
def test_docstring_examples_of_the_new_modules(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
