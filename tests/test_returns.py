"""Return and advantage estimators against their slow Python twins."""

from __future__ import annotations

import numpy as np
import pytest
from reference import ref_discounted_return, ref_gae, ref_reward_to_go

from pgfast import _core


@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.99, 1.0])
@pytest.mark.parametrize("bootstrap", [0.0, 3.7])
def test_reward_to_go_and_total_match_the_definition(gamma, bootstrap):
    rng = np.random.default_rng(0)
    for T in (1, 2, 7, 60):
        r = rng.normal(size=T)
        # The engine sums backwards (g = r_t + gamma g), the twin forwards
        # with powers; both are within a few ulps of the exact value.
        np.testing.assert_allclose(
            _core.reward_to_go(r, gamma, bootstrap),
            ref_reward_to_go(r, gamma, bootstrap),
            rtol=1e-12,
            atol=1e-12,
        )
        assert _core.discounted_return(r, gamma, bootstrap) == pytest.approx(
            ref_discounted_return(r, gamma, bootstrap), rel=1e-12, abs=1e-12
        )


@pytest.mark.parametrize(("gamma", "lam"), [(0.99, 0.95), (0.9, 0.0), (1.0, 1.0), (0.5, 0.7)])
def test_gae_matches_the_definition(gamma, lam):
    rng = np.random.default_rng(1)
    for T in (1, 5, 40):
        r, v = rng.normal(size=T), rng.normal(size=T)
        for bootstrap in (0.0, -2.5):
            np.testing.assert_allclose(
                _core.gae(r, v, gamma, lam, bootstrap),
                ref_gae(r, v, gamma, lam, bootstrap),
                rtol=1e-11,
                atol=1e-12,
            )


def test_gae_limits():
    """lambda = 1 gives G_t - V(s_t); lambda = 0 gives the one-step TD error."""
    rng = np.random.default_rng(2)
    r, v = rng.normal(size=20), rng.normal(size=20)
    np.testing.assert_allclose(
        _core.gae(r, v, 0.9, 1.0, 0.0), _core.reward_to_go(r, 0.9, 0.0) - v, atol=1e-12
    )
    td = r + 0.9 * np.append(v[1:], 0.0) - v
    np.testing.assert_allclose(_core.gae(r, v, 0.9, 0.0, 0.0), td, atol=1e-15)
