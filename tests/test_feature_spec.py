"""pg.features.from_spec: the feature-spec mini-language that `pgfast train
--features` takes, shared by the library and the command line."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pgfast as pg
from pgfast.features import RBF, Fourier, Identity, OneHot, Polynomial, TileCoding

BOX = gym.spaces.Box(np.array([-1.0, 0.0, -5.0]), np.array([1.0, 2.0, 5.0]), dtype=np.float64)
LOW, HIGH = [-1.0, 0.0, -5.0], [1.0, 2.0, 5.0]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("identity", Identity(3)),
        ("poly:0", Polynomial(3, 0)),
        ("poly:2", Polynomial(3, 2)),
        ("fourier:0", Fourier(0, LOW, HIGH)),
        ("fourier:3", Fourier(3, LOW, HIGH)),
        ("rbf:1", RBF(1, LOW, HIGH)),
        ("rbf:5", RBF(5, LOW, HIGH)),
        ("tiles:1x1", TileCoding(1, 1, LOW, HIGH)),
        ("tiles:8x4", TileCoding(8, 4, LOW, HIGH)),
        (" tiles:8x4 ", TileCoding(8, 4, LOW, HIGH)),
    ],
)
def test_every_spec_builds_the_map_it_names(spec, expected):
    # Bounds from a bounded observation space ...
    built = pg.features.from_spec(spec, BOX)
    assert type(built) is type(expected)
    assert built.config() == expected.config()
    assert built.n_features == expected.n_features
    # ... or given, with the length of the observation instead of its space.
    given = pg.features.from_spec(spec, 3, low=LOW, high=HIGH)
    assert given.config() == expected.config()


def test_onehot_takes_a_discrete_space_or_its_size():
    assert pg.features.from_spec("onehot", gym.spaces.Discrete(16)).config() == OneHot(16).config()
    assert pg.features.from_spec("onehot", 5) == OneHot(5)
    assert pg.features.from_spec("onehot", 5).n_features == 5


def test_bounded_maps_need_no_space_when_bounds_are_given():
    phi = pg.features.from_spec("fourier:2", low=[0.0, 0.0], high=[1.0, 2.0])
    assert phi == Fourier(2, [0.0, 0.0], [1.0, 2.0])
    assert phi.n_features == 9


def test_a_single_bound_is_repeated_over_the_dimensions():
    phi = pg.features.from_spec("tiles:2x3", 4, low=[-1.0], high=[1.0])
    assert phi == TileCoding(2, 3, [-1.0] * 4, [1.0] * 4)
    assert pg.features.from_spec("rbf:3", 2, low=-1.0, high=1.0) == RBF(3, [-1.0] * 2, [1.0] * 2)


def test_given_bounds_win_over_the_space_and_unbounded_maps_ignore_them():
    phi = pg.features.from_spec("fourier:1", BOX, low=[0.0] * 3, high=[9.0] * 3)
    assert phi.config()["low"] == [0.0] * 3
    assert phi.config()["high"] == [9.0] * 3
    # A preset's bounds can be passed whatever the spec.
    assert pg.features.from_spec("identity", BOX, low=[0.0] * 3, high=[9.0] * 3) == Identity(3)


def test_rbf_takes_its_width_as_an_option():
    assert pg.features.from_spec("rbf:4", BOX, width=0.2) == RBF(4, LOW, HIGH, width=0.2)
    with pytest.raises(TypeError, match="fourier features take no option width"):
        pg.features.from_spec("fourier:2", BOX, width=0.2)


def test_the_cli_grammar_examples():
    cartpole = pg.make("CartPole-v1", seed=0).single_observation_space
    phi = pg.features.from_spec(
        "fourier:3", cartpole, low=[-2.4, -3, -0.21, -3.5], high=[2.4, 3, 0.21, 3.5]
    )
    assert phi.n_features == 4**4
    pendulum = pg.make("Pendulum-v1", seed=0).single_observation_space
    phi = pg.features.from_spec("fourier:2", pendulum)
    assert phi.config()["low"] == [-1.0, -1.0, -8.0]
    assert phi.config()["high"] == [1.0, 1.0, 8.0]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "identity:1",
        "onehot:2",
        "poly",
        "poly:-1",
        "poly:x",
        "rbf:0",
        "tiles:8",
        "tiles:8x",
        "tiles:x4",
        "tiles:0x4",
        "fourier:1.5",
        "FOURIER:3",
        "wavelet:3",
        "fourier:10001",
    ],
)
def test_malformed_specs_raise_a_clear_value_error(bad):
    with pytest.raises(ValueError, match="malformed feature spec") as info:
        pg.features.from_spec(bad, BOX)
    assert repr(bad) in str(info.value)


def test_malformed_spec_messages_say_what_is_expected():
    with pytest.raises(ValueError, match=r"expected e\.g\. tiles:8x4"):
        pg.features.from_spec("tiles:8", BOX)
    with pytest.raises(ValueError, match="identity, onehot, poly:DEGREE"):
        pg.features.from_spec("wavelet:3", BOX)
    with pytest.raises(ValueError, match=r"numbers must be in \[1, 10000\]"):
        pg.features.from_spec("rbf:0", BOX)
    with pytest.raises(TypeError, match="feature spec must be a string"):
        pg.features.from_spec(3, BOX)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "space", "kwargs", "message"),
    [
        ("fourier:3", gym.spaces.Discrete(4), {}, "need a Box observation space, got Discrete(4)"),
        ("onehot", BOX, {}, "onehot features need a Discrete observation space"),
        ("onehot", None, {}, "need the observation space or its size"),
        ("identity", None, {}, "need the observation space or its length"),
        ("identity", gym.spaces.Box(-1, 1, (2, 2)), {}, "only 1-D Box observations"),
        ("rbf:5", gym.spaces.Box(-np.inf, np.inf, (4,)), {}, "unbounded; pass low and high"),
        ("rbf:5", None, {}, "need low and high"),
        ("rbf:5", BOX, {"low": LOW}, "low and high must be given together"),
        ("rbf:5", BOX, {"low": [0.0, 0.0], "high": [1.0, 1.0]}, "need 3 values"),
        (
            "rbf:5",
            BOX,
            {"low": [0.0, 1.0, 0.0], "high": [1.0, 1.0, 1.0]},
            "dimension 1: 1.0 >= 1.0",
        ),
        ("fourier:3", 20, {"low": 0.0, "high": 1.0}, "choose a smaller spec"),
        ("tiles:100x100", None, {"low": [0.0] * 3, "high": [1.0] * 3}, "choose a smaller spec"),
    ],
)
def test_specs_that_do_not_fit_raise_value_error(spec, space, kwargs, message):
    with pytest.raises(ValueError) as info:  # noqa: PT011 (message checked below)
        pg.features.from_spec(spec, space, **kwargs)
    assert message in str(info.value)


def test_the_cli_builds_its_features_with_from_spec(monkeypatch):
    from pgfast.cli import build
    from pgfast.presets import preset_for

    calls = []
    real = pg.features.from_spec

    def spy(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(pg.features, "from_spec", spy)
    env = pg.make("CartPole-v1", seed=0)
    settings = {**preset_for("CartPole-v1"), "features": "tiles:2x2"}
    policy, _, spec, info = build.build_policy(env, settings)
    assert calls == ["tiles:2x2"]
    assert spec == "tiles:2x2"
    assert policy.features == TileCoding(2, 2, settings["low"], settings["high"])
    assert info["bounds_from"] == "preset"
