"""policy.save / pg.load_policy: exact round trips, clear errors, no pickle."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import pgfast as pg

LOW, HIGH = [-1.0, -1.0, -8.0], [1.0, 1.0, 8.0]
FEATURES = [
    pg.features.Identity(3),
    pg.features.Polynomial(3, degree=2),
    pg.features.Fourier(2, LOW, HIGH),
    pg.features.RBF(3, LOW, HIGH, width=0.3),
    pg.features.TileCoding(4, 3, LOW, HIGH),
]


def randomised(policy):
    rng = np.random.default_rng(0)
    policy.theta = rng.normal(size=policy.theta.shape)
    if isinstance(policy, pg.LinearGaussian):
        policy.log_std = rng.normal(size=policy.log_std.shape)
    return policy


@pytest.mark.parametrize("features", FEATURES, ids=lambda f: type(f).__name__)
@pytest.mark.parametrize("kind", ["softmax", "gaussian"])
def test_round_trip_is_exact(tmp_path, features, kind):
    policy = (
        pg.LinearSoftmax(features, n_actions=3)
        if kind == "softmax"
        else pg.LinearGaussian(features, action_dim=2, learn_std=False)
    )
    randomised(policy).save(tmp_path / "p.npz")
    loaded = pg.load_policy(tmp_path / "p.npz")
    assert type(loaded) is type(policy)
    assert loaded.features == features
    np.testing.assert_array_equal(loaded.theta, policy.theta)
    obs = np.random.default_rng(1).uniform(-1, 1, size=(5, 3))
    if kind == "gaussian":
        np.testing.assert_array_equal(loaded.log_std, policy.log_std)
        assert loaded.learn_std is False
        np.testing.assert_array_equal(loaded.mean(obs), policy.mean(obs))
    else:
        np.testing.assert_array_equal(loaded.log_probs(obs), policy.log_probs(obs))


def test_one_hot_policy_records_its_env_and_checks_it_on_load(tmp_path):
    env = pg.make("FrozenLake-v1", seed=0)
    policy = randomised(pg.LinearSoftmax(pg.features.OneHot(16), n_actions=4))
    policy.save(tmp_path / "lake", env=env)  # ".npz" is appended
    loaded = pg.load_policy(tmp_path / "lake.npz", env=env)
    assert loaded.metadata["env_id"] == "FrozenLake-v1"
    assert loaded.metadata["observation_space"] == {"type": "Discrete", "n": 16}
    with pytest.raises(
        ValueError,
        match="saved for 'FrozenLake-v1' with observation_space "
        "Discrete\\(16\\), but this env \\('CliffWalking-v1'\\)",
    ):
        pg.load_policy(tmp_path / "lake.npz", env=pg.make("CliffWalking-v1", seed=0))


def test_a_trained_policy_reloads_and_evaluates_the_same(tmp_path):
    env = pg.make("CartPole-v1", num_envs=8, seed=0)
    policy = pg.LinearSoftmax(pg.features.Identity(4), n_actions=2)
    pg.Reinforce(env, policy, episodes_per_update=16, seed=0).train(30)
    policy.save(tmp_path / "cartpole.npz", env=env)
    loaded = pg.load_policy(tmp_path / "cartpole.npz", env=env)
    a = pg.evaluate(pg.make("CartPole-v1", num_envs=4, seed=3), policy, episodes=20, seed=1)
    b = pg.evaluate(pg.make("CartPole-v1", num_envs=4, seed=3), loaded, episodes=20, seed=1)
    np.testing.assert_array_equal(a, b)


def write_npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def good_metadata(**override):
    meta = {
        "format": "pgfast.policy",
        "version": 1,
        "policy": "LinearSoftmax",
        "n_actions": 2,
        "features": {"kind": "identity", "dim": 4},
    }
    meta.update(override)
    return np.array(json.dumps(meta))


@pytest.mark.parametrize(
    ("make_file", "match"),
    [
        (lambda p: p.write_bytes(b"not a zip at all"), "not an .npz \\(zip\\) archive"),
        (lambda p: p.write_bytes(b""), "not an .npz \\(zip\\) archive"),
        (lambda p: write_npz(p, theta=np.zeros((5, 2))), "missing entries"),
        (
            lambda p: write_npz(p, theta=np.zeros((5, 2)), metadata=np.array("{not json")),
            "metadata is not valid JSON",
        ),
        (
            lambda p: write_npz(p, theta=np.zeros((5, 2)), metadata=good_metadata(format="other")),
            "does not describe a pgfast policy",
        ),
        (
            lambda p: write_npz(p, theta=np.zeros((5, 2)), metadata=good_metadata(version=99)),
            "format version 99",
        ),
        (
            lambda p: write_npz(p, theta=np.zeros((5, 3)), metadata=good_metadata()),
            "theta must have shape \\(5, 2\\)",
        ),
        (
            lambda p: write_npz(p, theta=np.full((5, 2), np.nan), metadata=good_metadata()),
            "theta must be finite",
        ),
        (
            lambda p: write_npz(
                p, theta=np.zeros((5, 2)), metadata=good_metadata(features={"kind": "evil"})
            ),
            "bad feature configuration",
        ),
        (
            lambda p: write_npz(p, theta=np.zeros((5, 2)), metadata=good_metadata(policy="Evil")),
            "unknown policy class 'Evil'",
        ),
        (
            lambda p: write_npz(
                p, theta=np.array([None, "x"], dtype=object), metadata=good_metadata()
            ),
            "pickle",
        ),
    ],
)
def test_bad_files_raise_value_errors_that_say_what_is_wrong(tmp_path, make_file, match):
    path = tmp_path / "bad.npz"
    make_file(path)
    with pytest.raises(ValueError, match=match):
        pg.load_policy(path)


def test_truncated_file_is_a_value_error(tmp_path):
    pg.LinearSoftmax(pg.features.Identity(4), 2).save(tmp_path / "p.npz")
    data = (tmp_path / "p.npz").read_bytes()
    for cut in (10, len(data) // 2, len(data) - 5):
        (tmp_path / "cut.npz").write_bytes(data[:cut])
        with pytest.raises(ValueError, match="not a valid pgfast policy file"):
            pg.load_policy(tmp_path / "cut.npz")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        pg.load_policy(tmp_path / "nope.npz")


def test_files_contain_no_pickled_objects(tmp_path):
    pg.LinearGaussian(pg.features.Identity(3), 1).save(tmp_path / "p.npz")
    with zipfile.ZipFile(tmp_path / "p.npz") as z:
        for name in z.namelist():
            with z.open(name) as f:
                version = np.lib.format.read_magic(f)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                dtype = read_header(f)[2]
                assert not dtype.hasobject, name
