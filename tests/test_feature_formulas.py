"""Fourier, RBF and tile-coding features against slow, obvious NumPy versions
of their formulas (the C++ computes them by products over the dimensions,
and tile coding by integer bookkeeping, so nothing there reads like this)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import pgfast as pg

EPS = np.finfo(np.float64).eps

# Bounds of different widths and signs, so that a dimension mix-up shows.
LOW = np.array([-1.0, -2.5, 0.0, 10.0, -0.21, 3.0])
HIGH = np.array([1.0, 3.0, 0.5, 12.0, 0.21, 7.5])


def sample_obs(dim, rng, n=60, tiles=None):
    """Rows inside the box, exactly at its bounds, outside it (clipped), at
    +-inf, and (with `tiles`) on tile edges, mixed entry by entry."""
    low, high = LOW[:dim], HIGH[:dim]
    width = high - low
    columns = [
        rng.uniform(low, high, size=(n, dim)),
        np.broadcast_to(low, (n, dim)),
        np.broadcast_to(high, (n, dim)),
        low - rng.uniform(0.0, 3.0, size=(n, dim)) * width,
        high + rng.uniform(0.0, 3.0, size=(n, dim)) * width,
        np.where(rng.random((n, dim)) < 0.5, -np.inf, np.inf),
        low + width * rng.integers(0, 9, size=(n, dim)) / 8.0,
    ]
    if tiles is not None:
        tilings, per_dim = tiles
        edges = rng.integers(0, tilings * per_dim + 1, size=(n, dim)) / (tilings * per_dim)
        columns.append(low + width * edges)
    pick = rng.integers(0, len(columns), size=(n, dim))
    obs = np.choose(pick, columns)
    # Whole rows of each kind too, the corners of the box among them.
    return np.vstack([obs, low, high, low - width, high + width, (low + high) / 2])


def unit(obs, dim):
    """The documented rescaling: (obs - low) / (high - low), clipped to [0, 1]."""
    low, high = LOW[:dim], HIGH[:dim]
    return np.clip((obs - low) / (high - low), 0.0, 1.0)


# ---------------------------------------------------------------- Fourier


def fourier_coefficients(order, dim):
    """c_k for k = 0..(order+1)^dim - 1: the digits of k in base order + 1,
    the first dimension fastest."""
    n = (order + 1) ** dim
    return np.array(
        [[(k // (order + 1) ** j) % (order + 1) for j in range(dim)] for k in range(n)],
        dtype=np.float64,
    )


def ref_fourier(order, obs):
    dim = obs.shape[1]
    x = unit(obs, dim)
    c = fourier_coefficients(order, dim)
    out = np.empty((len(obs), len(c)))
    for i in range(len(obs)):
        for k in range(len(c)):
            out[i, k] = np.cos(np.pi * sum(c[k, j] * x[i, j] for j in range(dim)))
    return out


def fourier_tolerance(order, dim):
    """Per-feature bound on |C++ - ref_fourier|, K eps (1 + pi sum_j c_j) with
    K = 4.

    The direct formula rounds its argument pi c.x, of size up to pi sum_j c_j,
    so it is itself off by a few ulps of that argument (up to 1e-14 at order 5
    on 4 dimensions against a quad-precision evaluation); the C++ rotates
    e^{i pi x_j} up c_j times (about an ulp a step) and multiplies across
    dimensions; and the C++ rescales by multiplying by 1 / (high - low) where
    ref_fourier divides, an ulp apart in x, i.e. pi c_j ulps in the argument.
    All three grow with sum_j c_j. Measured over these observations: at most
    1.25 eps (1 + pi sum_j c_j), 8.4e-15 absolute up to order 5 on 4
    dimensions (the C++ against a quad-precision evaluation: 4.2e-15, the
    direct formula in double: 1.0e-14); c = 0 gives exactly 1."""
    c = fourier_coefficients(order, dim)
    return 4 * EPS * (1 + np.pi * c.sum(axis=1))


@pytest.mark.parametrize(
    ("order", "dim"),
    [
        (0, 1),
        (0, 3),
        (1, 1),
        (2, 1),
        (5, 1),
        (31, 1),
        (1, 2),
        (3, 2),
        (15, 2),
        (1, 3),
        (2, 3),
        (4, 3),
        (1, 4),
        (3, 4),
        (5, 4),
        (2, 6),
    ],
)
def test_fourier_matches_the_formula(order, dim):
    rng = np.random.default_rng(1000 * order + dim)
    obs = sample_obs(dim, rng)
    phi = pg.features.Fourier(order, LOW[:dim], HIGH[:dim])
    assert phi.n_features == (order + 1) ** dim
    got = phi(obs)
    assert got.shape == (len(obs), (order + 1) ** dim)
    assert got.dtype == np.float64
    ref = ref_fourier(order, obs)
    err = np.abs(got - ref)
    tol = fourier_tolerance(order, dim)
    worst = np.unravel_index(np.argmax(err / tol), err.shape)
    assert np.all(err <= tol), (
        f"feature {worst[1]} of row {worst[0]}: {got[worst]!r} vs {ref[worst]!r}"
    )
    np.testing.assert_array_equal(got[:, 0], 1.0)


def test_fourier_layout_by_hand():
    # The module docstring's example: c = (0, 0), (1, 0), (0, 1), (1, 1).
    phi = pg.features.Fourier(order=1, low=[0.0, 0.0], high=[1.0, 1.0])
    np.testing.assert_allclose(phi(np.array([[0.0, 1.0]])), [[1, 1, -1, -1]], atol=1e-15)
    # Order 2 on 2 dimensions at x = (1/2, 1/3): feature 1 + 3 * 2 = 7 is
    # c = (1, 2), cos(pi (1/2 + 2/3)).
    phi = pg.features.Fourier(order=2, low=[0.0, 0.0], high=[1.0, 3.0])
    row = phi(np.array([[0.5, 1.0]]))[0]
    assert row[7] == pytest.approx(np.cos(np.pi * (0.5 + 2 / 3)), abs=1e-14)
    assert row[5] == pytest.approx(np.cos(np.pi * (2 * 0.5 + 1 / 3)), abs=1e-14)


# -------------------------------------------------------------------- RBF


def rbf_centres(k):
    spacing = 1.0 / (k - 1) if k > 1 else 0.0
    offset = 0.0 if k > 1 else 0.5
    return offset + np.arange(k) * spacing


def ref_rbf(k, width, obs):
    """exp(-|x - c|^2 / (2 width^2)) for the centres c on the grid, first
    dimension fastest, then the bias 1; also returns the exponents."""
    dim = obs.shape[1]
    x = unit(obs, dim)
    grid = rbf_centres(k)
    out = np.empty((len(obs), k**dim + 1))
    exponent = np.empty((len(obs), k**dim))
    for i in range(len(obs)):
        for n in range(k**dim):
            c = [grid[(n // k**j) % k] for j in range(dim)]
            a = sum((x[i, j] - c[j]) ** 2 for j in range(dim)) / (2 * width**2)
            exponent[i, n] = a
            out[i, n] = np.exp(-a)
        out[i, k**dim] = 1.0
    return out, exponent


@pytest.mark.parametrize(
    ("k", "dim"), [(1, 1), (2, 1), (5, 1), (1, 3), (2, 2), (3, 2), (4, 3), (5, 4), (3, 6)]
)
@pytest.mark.parametrize("width_scale", [None, 0.2, 3.0])
def test_rbf_matches_the_formula(k, dim, width_scale):
    default = 1.0 / (k - 1) if k > 1 else 0.5
    width = None if width_scale is None else default * width_scale
    rng = np.random.default_rng(100 * k + dim)
    obs = sample_obs(dim, rng)
    phi = pg.features.RBF(k, LOW[:dim], HIGH[:dim], width=width)
    assert phi.n_features == k**dim + 1
    got = phi(obs)
    w = default if width is None else width
    ref, a = ref_rbf(k, w, obs)
    np.testing.assert_array_equal(got[:, -1], 1.0)
    # The C++ multiplies one exp per dimension where the formula takes the
    # exp of the sum; both round the exponent a, which shifts the value by
    # a relative a ulps, and the product adds an ulp per factor. The C++
    # also rescales by multiplying by 1 / (high - low), an ulp from the
    # division here, which moves a by |x - c| / w^2 ulps = sqrt(2 a) / w.
    # Measured: at most 1.2 eps (1 + a + sqrt(2 a) / w) relative, 2.2e-15
    # absolute (the values are <= 1); K = 4 leaves room. Values that
    # underflow (a > ~708) are compared absolutely: 1e-300.
    tol = 4 * EPS * (1 + a + np.sqrt(2 * a) / w) * ref[:, :-1] + 1e-300
    err = np.abs(got[:, :-1] - ref[:, :-1])
    worst = np.unravel_index(np.argmax(err / tol), err.shape)
    assert np.all(err <= tol), (
        f"centre {worst[1]} of row {worst[0]}: {got[worst]!r} vs {ref[worst]!r}"
    )


# ------------------------------------------------------------- TileCoding


def ref_tile_coding(tilings, tiles, obs):
    """Mirrors TileCoding::compute in cpp/src/features.cpp operation for
    operation (IEEE double arithmetic is the same in Python), so the result
    must match bit for bit: a tile edge is where rounding decides."""
    dim = obs.shape[1]
    low, high = LOW[:dim], HIGH[:dim]
    inv_width = 1.0 / (high - low)  # the C++ multiplies by the reciprocal
    per_tiling = (tiles + 1) ** dim
    out = np.zeros((len(obs), tilings * per_tiling))
    for i in range(len(obs)):
        for t in range(tilings):
            index, stride = 0, 1
            for j in range(dim):
                u = min(max(float((obs[i, j] - low[j]) * inv_width[j]), 0.0), 1.0)
                # Tiling t is offset by (2j + 1) t / tilings of a tile, mod 1.
                shift = float((2 * j + 1) * t % tilings) / float(tilings)
                v = u * float(tiles) + shift
                cell = int(v) if v < tiles else tiles  # v < tiles + 1 always
                index += cell * stride
                stride *= tiles + 1
            out[i, t * per_tiling + index] = 1.0
    return out


@pytest.mark.parametrize(
    ("tilings", "tiles", "dim"),
    [
        (1, 1, 1),
        (1, 4, 2),
        (2, 3, 1),
        (3, 5, 2),
        (4, 3, 4),
        (7, 2, 3),
        (8, 4, 2),
        (8, 8, 4),
        (16, 3, 2),
        (5, 1, 6),
    ],
)
def test_tile_coding_matches_the_implementation(tilings, tiles, dim):
    rng = np.random.default_rng(10 * tilings + tiles + 1000 * dim)
    obs = sample_obs(dim, rng, tiles=(tilings, tiles))
    phi = pg.features.TileCoding(tilings, tiles, LOW[:dim], HIGH[:dim])
    assert phi.n_features == tilings * (tiles + 1) ** dim
    got = phi(obs)
    np.testing.assert_array_equal(got, ref_tile_coding(tilings, tiles, obs))
    # One active feature per tiling, in that tiling's block.
    blocks = got.reshape(len(obs), tilings, -1)
    np.testing.assert_array_equal(blocks.sum(axis=2), 1.0)


def test_tile_coding_offsets_by_hand():
    # 2 tilings of 2 tiles on [0, 1]: tiling 1 is shifted by half a tile, so
    # x = 0.3 is in tile 0 of tiling 0 (0.6) and tile 1 of tiling 1 (1.1).
    phi = pg.features.TileCoding(2, 2, [0.0], [1.0])
    np.testing.assert_array_equal(phi(np.array([[0.3]])), [[1, 0, 0, 0, 1, 0]])
    np.testing.assert_array_equal(phi(np.array([[1.0]])), [[0, 0, 1, 0, 0, 1]])


# ------------------------------------------------- observation arrays in


def one_dim_cases():
    return [
        pg.features.Fourier(3, LOW[:1], HIGH[:1]),
        pg.features.RBF(4, LOW[:1], HIGH[:1]),
        pg.features.TileCoding(4, 3, LOW[:1], HIGH[:1]),
    ]


@pytest.mark.parametrize("phi", one_dim_cases())
def test_one_dimensional_maps_take_a_flat_batch(phi):
    obs = sample_obs(1, np.random.default_rng(5))
    np.testing.assert_array_equal(phi(obs[:, 0]), phi(obs))


def unpickled_copies(obs):
    """The same observations as they come back from pickle: copies (protocol
    4), views of the pickle's own bytes (protocol 5 in band), read-only
    out-of-band buffers, an out-of-band buffer at an odd offset (unaligned
    float64, as frames of a transport can be), Fortran order, and an array
    pickled big-endian (which NumPy may hand back native)."""
    copies = {
        "protocol_4": pickle.loads(pickle.dumps(obs, protocol=4)),
        "in_band": pickle.loads(pickle.dumps(obs, protocol=5)),
    }
    buffers = []
    data = pickle.dumps(obs, protocol=5, buffer_callback=buffers.append)
    raw = bytes(buffers[0].raw())
    copies["read_only"] = pickle.loads(data, buffers=[raw])
    assert not copies["read_only"].flags.writeable
    copies["unaligned"] = pickle.loads(data, buffers=[memoryview(b"x" + raw)[1:]])
    assert not copies["unaligned"].flags.aligned
    copies["fortran"] = pickle.loads(pickle.dumps(np.asfortranarray(obs)))
    assert not copies["fortran"].flags.c_contiguous
    copies["big_endian"] = pickle.loads(pickle.dumps(obs.astype(">f8")))
    for copy in copies.values():
        np.testing.assert_array_equal(copy, obs)
    return copies


@pytest.mark.parametrize("kind", ["fourier", "rbf", "tile_coding"])
def test_unpickled_observations(kind):
    dim = 3
    obs = sample_obs(dim, np.random.default_rng(9), n=20)
    phi = {
        "fourier": pg.features.Fourier(2, LOW[:dim], HIGH[:dim]),
        "rbf": pg.features.RBF(3, LOW[:dim], HIGH[:dim]),
        "tile_coding": pg.features.TileCoding(4, 3, LOW[:dim], HIGH[:dim]),
    }[kind]
    expected = phi(obs)  # checked against the formulas above
    for name, copy in unpickled_copies(obs).items():
        np.testing.assert_array_equal(phi(copy), expected, err_msg=name)
    # Non-native byte order without pickle, and rows of Python floats.
    np.testing.assert_array_equal(phi(obs.astype(">f8")), expected)
    rows = pickle.loads(pickle.dumps(obs.tolist()))
    np.testing.assert_array_equal(phi(rows), expected)
