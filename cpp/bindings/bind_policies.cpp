// Feature maps and the batch forms of the policies' functions (log_prob,
// grad_log_prob, act, ...), for inspection and tests from Python. Training
// never goes through here: it runs in the engine.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "numpy.hpp"
#include "pgfast/features.hpp"
#include "pgfast/policies/linear_gaussian.hpp"
#include "pgfast/policies/linear_softmax.hpp"
#include "pgfast/rng.hpp"

namespace pgfast::bind {

namespace {

using FeaturesPtr = std::shared_ptr<FeatureMap>;

// Observations as a checked (N, obs_dim) float64 array.
py::array_t<double> obs_batch(const FeatureMap& f, const py::handle& obs) {
  auto o = float64_array(obs, "obs");
  const auto d = static_cast<py::ssize_t>(f.obs_dim());
  if (o.ndim() == 1 && d == 1) o = o.reshape(std::vector<py::ssize_t>{o.shape(0), 1});
  if (o.ndim() != 2 || o.shape(1) != d)
    throw py::value_error(concat("obs must have shape (N, ", d, ")", d == 1 ? " or (N,)" : "",
                                 ", got ", shape_str(o)));
  for (py::ssize_t i = 0; i < o.shape(0); ++i) f.check_obs(o.data() + i * d, i);
  return o;
}

py::array_t<double> features_of(const FeatureMap& f, const py::array_t<double>& o) {
  const auto n = o.shape(0);
  const auto F = static_cast<py::ssize_t>(f.n_features());
  py::array_t<double> out(std::vector<py::ssize_t>{n, F});
  double* dst = out.mutable_data();
  const double* src = o.data();
  {
    py::gil_scoped_release nogil;
    for (py::ssize_t i = 0; i < n; ++i) f.compute(src + i * f.obs_dim(), dst + i * F);
  }
  return out;
}

std::vector<std::int64_t> discrete_actions(const py::handle& actions, py::ssize_t n,
                                           std::int64_t A) {
  const std::vector<py::ssize_t> shape{n};
  auto a = int64_array(actions, "actions", &shape);
  std::vector<std::int64_t> out(a.data(), a.data() + n);
  for (py::ssize_t i = 0; i < n; ++i)
    if (out[static_cast<std::size_t>(i)] < 0 || out[static_cast<std::size_t>(i)] >= A)
      throw py::value_error(concat("actions[", i, "] must be in [0, ", A, "), got ",
                                   out[static_cast<std::size_t>(i)]));
  return out;
}

std::vector<double> log_std_vector(const py::handle& log_std, std::int64_t D) {
  auto s = float64_array(log_std, "log_std");
  require_shape(s, {static_cast<py::ssize_t>(D)}, "log_std");
  require_finite(s, "log_std");
  return to_vector(s);
}

// The checked inputs of every batch function: the features phi (n, F) of
// the observations and the parameters theta (F, K).
struct LinearBatch {
  py::ssize_t n;
  std::int64_t F, K;
  py::array_t<double> phi, theta;
  const double* phi_row(py::ssize_t i) const { return phi.data() + i * F; }
};

LinearBatch linear_batch(const FeatureMap& f, const py::handle& theta, const py::handle& obs,
                         const char* columns) {
  auto o = obs_batch(f, obs);
  const std::int64_t F = f.n_features();
  auto t = float64_array(theta, "theta");
  if (t.ndim() != 2 || t.shape(0) != F || t.shape(1) < 1)
    throw py::value_error(concat("theta must have shape (", F, ", ", columns, "), got ", shape_str(t)));
  require_finite(t, "theta");
  return {o.shape(0), F, static_cast<std::int64_t>(t.shape(1)), features_of(f, o), t};
}

py::array_t<double> gaussian_means(const LinearBatch& b) {
  py::array_t<double> mu(std::vector<py::ssize_t>{b.n, static_cast<py::ssize_t>(b.K)});
  for (py::ssize_t i = 0; i < b.n; ++i)
    gaussian::mean(b.theta.data(), b.phi_row(i), b.F, b.K, mu.mutable_data() + i * b.K);
  return mu;
}

py::array_t<double> continuous_actions(const py::handle& actions, const LinearBatch& b) {
  const std::vector<py::ssize_t> shape{b.n, static_cast<py::ssize_t>(b.K)};
  auto a = float64_array(actions, "actions", &shape);
  require_finite(a, "actions");
  return a;
}

}  // namespace

void bind_policies(py::module_& m) {
  py::class_<FeatureMap, FeaturesPtr>(m, "Features", "A feature map phi(obs) (see pgfast.features).")
      .def_property_readonly("kind", &FeatureMap::kind)
      .def_property_readonly("obs_dim", &FeatureMap::obs_dim)
      .def_property_readonly("n_features", &FeatureMap::n_features)
      .def(
          "__call__",
          [](const FeatureMap& f, const py::handle& obs) { return features_of(f, obs_batch(f, obs)); },
          py::arg("obs"), "phi of a batch of observations (N, obs_dim) -> (N, n_features).");

  m.def("identity_features", &make_identity, py::arg("dim"));
  m.def("one_hot_features", &make_one_hot, py::arg("n"));
  m.def("polynomial_features", &make_polynomial, py::arg("dim"), py::arg("degree"));
  m.def("fourier_features", &make_fourier, py::arg("order"), py::arg("low"), py::arg("high"));
  m.def("rbf_features", &make_rbf, py::arg("centers_per_dim"), py::arg("low"), py::arg("high"),
        py::arg("width"));
  m.def("tile_coding_features", &make_tile_coding, py::arg("tilings"), py::arg("tiles_per_dim"),
        py::arg("low"), py::arg("high"));

  // ---- linear softmax -----------------------------------------------------
  m.def(
      "softmax_log_probs",
      [](const FeatureMap& f, const py::handle& theta, const py::handle& obs) {
        const LinearBatch b = linear_batch(f, theta, obs, "n_actions");
        py::array_t<double> out(std::vector<py::ssize_t>{b.n, static_cast<py::ssize_t>(b.K)});
        for (py::ssize_t i = 0; i < b.n; ++i) {
          double* row = out.mutable_data() + i * b.K;
          softmax::logits(b.theta.data(), b.phi_row(i), b.F, b.K, row);
          softmax::log_softmax(row, b.K);
        }
        return out;
      },
      py::arg("features"), py::arg("theta"), py::arg("obs"),
      "log pi(.|s) for a batch: (N, n_actions), by log-sum-exp.");
  m.def(
      "softmax_grad_log_prob",
      [](const FeatureMap& f, const py::handle& theta, const py::handle& obs,
         const py::handle& actions) {
        const LinearBatch b = linear_batch(f, theta, obs, "n_actions");
        const auto a = discrete_actions(actions, b.n, b.K);
        py::array_t<double> out(std::vector<py::ssize_t>{b.n, static_cast<py::ssize_t>(b.F),
                                                         static_cast<py::ssize_t>(b.K)});
        std::vector<double> p(static_cast<std::size_t>(b.K));
        for (py::ssize_t i = 0; i < b.n; ++i) {
          const double* phi = b.phi_row(i);
          softmax::probs(b.theta.data(), phi, b.F, b.K, p.data());
          p[static_cast<std::size_t>(a[static_cast<std::size_t>(i)])] -= 1.0;  // now pi - e_a
          double* g = out.mutable_data() + i * b.F * b.K;
          for (std::int64_t k = 0; k < b.F; ++k)
            for (std::int64_t c = 0; c < b.K; ++c) g[k * b.K + c] = -phi[k] * p[static_cast<std::size_t>(c)];
        }
        return out;
      },
      py::arg("features"), py::arg("theta"), py::arg("obs"), py::arg("actions"),
      "grad_theta log pi(a|s) = phi (e_a - pi)^T for a batch: (N, F, A).");
  m.def(
      "softmax_act",
      [](const FeatureMap& f, const py::handle& theta, const py::handle& obs, bool deterministic,
         std::uint64_t seed) {
        const LinearBatch b = linear_batch(f, theta, obs, "n_actions");
        py::array_t<std::int64_t> out(b.n);
        std::vector<double> p(static_cast<std::size_t>(b.K));
        Rng rng(seed, 0);
        for (py::ssize_t i = 0; i < b.n; ++i) {
          softmax::probs(b.theta.data(), b.phi_row(i), b.F, b.K, p.data());
          out.mutable_data()[i] = deterministic ? softmax::argmax(p.data(), b.K)
                                                : softmax::sample(p.data(), b.K, rng);
        }
        return out;
      },
      py::arg("features"), py::arg("theta"), py::arg("obs"), py::arg("deterministic"),
      py::arg("seed"));

  // ---- linear Gaussian ----------------------------------------------------
  m.def(
      "gaussian_mean",
      [](const FeatureMap& f, const py::handle& theta, const py::handle& obs) {
        const LinearBatch b = linear_batch(f, theta, obs, "action_dim");
        return gaussian_means(b);
      },
      py::arg("features"), py::arg("theta"), py::arg("obs"));
  m.def(
      "gaussian_log_prob",
      [](const FeatureMap& f, const py::handle& theta, const py::handle& log_std,
         const py::handle& obs, const py::handle& actions) {
        const LinearBatch b = linear_batch(f, theta, obs, "action_dim");
        const auto ls = log_std_vector(log_std, b.K);
        const auto a = continuous_actions(actions, b);
        const auto mu = gaussian_means(b);
        py::array_t<double> out(b.n);
        for (py::ssize_t i = 0; i < b.n; ++i)
          out.mutable_data()[i] =
              gaussian::log_prob(a.data() + i * b.K, mu.data() + i * b.K, ls.data(), b.K);
        return out;
      },
      py::arg("features"), py::arg("theta"), py::arg("log_std"), py::arg("obs"),
      py::arg("actions"));
  m.def(
      "gaussian_grad_log_prob",
      [](const FeatureMap& f, const py::handle& theta, const py::handle& log_std,
         const py::handle& obs, const py::handle& actions) {
        const LinearBatch b = linear_batch(f, theta, obs, "action_dim");
        const auto ls = log_std_vector(log_std, b.K);
        const auto a = continuous_actions(actions, b);
        const auto mu = gaussian_means(b);
        const auto D = b.K;
        py::array_t<double> g_theta(std::vector<py::ssize_t>{b.n, static_cast<py::ssize_t>(b.F),
                                                             static_cast<py::ssize_t>(D)});
        py::array_t<double> g_std(std::vector<py::ssize_t>{b.n, static_cast<py::ssize_t>(D)});
        for (py::ssize_t i = 0; i < b.n; ++i) {
          const double* phi = b.phi_row(i);
          for (std::int64_t d = 0; d < D; ++d) {
            const double inv_var = std::exp(-2.0 * ls[static_cast<std::size_t>(d)]);
            const double diff = a.data()[i * D + d] - mu.data()[i * D + d];
            for (std::int64_t k = 0; k < b.F; ++k)
              g_theta.mutable_data()[(i * b.F + k) * D + d] = phi[k] * diff * inv_var;
            g_std.mutable_data()[i * D + d] = diff * diff * inv_var - 1.0;
          }
        }
        return py::make_tuple(g_theta, g_std);
      },
      py::arg("features"), py::arg("theta"), py::arg("log_std"), py::arg("obs"),
      py::arg("actions"), "(grad_theta (N, F, D), grad_log_std (N, D)).");
  m.def(
      "gaussian_act",
      [](const FeatureMap& f, const py::handle& theta, const py::handle& log_std,
         const py::handle& obs, bool deterministic, std::uint64_t seed) {
        const LinearBatch b = linear_batch(f, theta, obs, "action_dim");
        const auto ls = log_std_vector(log_std, b.K);
        py::array_t<double> out = gaussian_means(b);
        Rng rng(seed, 0);
        if (!deterministic)
          for (py::ssize_t i = 0; i < b.n; ++i)
            for (std::int64_t d = 0; d < b.K; ++d)
              out.mutable_data()[i * b.K + d] += std::exp(ls[static_cast<std::size_t>(d)]) * rng.normal();
        return out;
      },
      py::arg("features"), py::arg("theta"), py::arg("log_std"), py::arg("obs"),
      py::arg("deterministic"), py::arg("seed"));
}

}  // namespace pgfast::bind
