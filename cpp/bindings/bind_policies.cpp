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
  auto a = int64_array(actions, "actions");
  require_shape(a, {n}, "actions");
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
        auto o = obs_batch(f, obs);
        const std::int64_t F = f.n_features();
        auto t = float64_array(theta, "theta");
        if (t.ndim() != 2 || t.shape(0) != F)
          throw py::value_error(concat("theta must have shape (", F, ", n_actions), got ", shape_str(t)));
        require_finite(t, "theta");
        const std::int64_t A = t.shape(1);
        auto phi = features_of(f, o);
        const auto n = o.shape(0);
        py::array_t<double> out(std::vector<py::ssize_t>{n, static_cast<py::ssize_t>(A)});
        for (py::ssize_t i = 0; i < n; ++i) {
          double* row = out.mutable_data() + i * A;
          softmax::logits(t.data(), phi.data() + i * F, F, A, row);
          softmax::log_softmax(row, A);
        }
        return out;
      },
      py::arg("features"), py::arg("theta"), py::arg("obs"),
      "log pi(.|s) for a batch: (N, n_actions), by log-sum-exp.");
  m.def(
      "softmax_grad_log_prob",
      [](const FeatureMap& f, const py::handle& theta, const py::handle& obs,
         const py::handle& actions) {
        auto o = obs_batch(f, obs);
        const std::int64_t F = f.n_features();
        auto t = float64_array(theta, "theta");
        if (t.ndim() != 2 || t.shape(0) != F)
          throw py::value_error(concat("theta must have shape (", F, ", n_actions), got ", shape_str(t)));
        require_finite(t, "theta");
        const std::int64_t A = t.shape(1);
        const auto n = o.shape(0);
        auto a = discrete_actions(actions, n, A);
        auto phi = features_of(f, o);
        py::array_t<double> out(std::vector<py::ssize_t>{n, static_cast<py::ssize_t>(F),
                                                         static_cast<py::ssize_t>(A)});
        std::vector<double> p(static_cast<std::size_t>(A));
        for (py::ssize_t i = 0; i < n; ++i) {
          const double* ph = phi.data() + i * F;
          softmax::probs(t.data(), ph, F, A, p.data());
          double* g = out.mutable_data() + i * F * A;
          for (std::int64_t k = 0; k < F; ++k)
            for (std::int64_t b = 0; b < A; ++b)
              g[k * A + b] = ph[k] * ((b == a[static_cast<std::size_t>(i)] ? 1.0 : 0.0) - p[static_cast<std::size_t>(b)]);
        }
        return out;
      },
      py::arg("features"), py::arg("theta"), py::arg("obs"), py::arg("actions"),
      "grad_theta log pi(a|s) = phi (e_a - pi)^T for a batch: (N, F, A).");
  m.def(
      "softmax_act",
      [](const FeatureMap& f, const py::handle& theta, const py::handle& obs, bool deterministic,
         std::uint64_t seed) {
        auto o = obs_batch(f, obs);
        const std::int64_t F = f.n_features();
        auto t = float64_array(theta, "theta");
        if (t.ndim() != 2 || t.shape(0) != F)
          throw py::value_error(concat("theta must have shape (", F, ", n_actions), got ", shape_str(t)));
        require_finite(t, "theta");
        const std::int64_t A = t.shape(1);
        const auto n = o.shape(0);
        auto phi = features_of(f, o);
        py::array_t<std::int64_t> out(n);
        std::vector<double> p(static_cast<std::size_t>(A));
        Rng rng(seed, 0);
        for (py::ssize_t i = 0; i < n; ++i) {
          softmax::probs(t.data(), phi.data() + i * F, F, A, p.data());
          out.mutable_data()[i] = deterministic ? softmax::argmax(p.data(), A)
                                                : softmax::sample(p.data(), A, rng);
        }
        return out;
      },
      py::arg("features"), py::arg("theta"), py::arg("obs"), py::arg("deterministic"),
      py::arg("seed"));

  // ---- linear Gaussian ----------------------------------------------------
  m.def(
      "gaussian_mean",
      [](const FeatureMap& f, const py::handle& theta, const py::handle& obs) {
        auto o = obs_batch(f, obs);
        const std::int64_t F = f.n_features();
        auto t = float64_array(theta, "theta");
        if (t.ndim() != 2 || t.shape(0) != F)
          throw py::value_error(concat("theta must have shape (", F, ", action_dim), got ", shape_str(t)));
        require_finite(t, "theta");
        const std::int64_t D = t.shape(1);
        auto phi = features_of(f, o);
        const auto n = o.shape(0);
        py::array_t<double> out(std::vector<py::ssize_t>{n, static_cast<py::ssize_t>(D)});
        for (py::ssize_t i = 0; i < n; ++i)
          gaussian::mean(t.data(), phi.data() + i * F, F, D, out.mutable_data() + i * D);
        return out;
      },
      py::arg("features"), py::arg("theta"), py::arg("obs"));
  m.def(
      "gaussian_log_prob",
      [](const FeatureMap& f, const py::handle& theta, const py::handle& log_std,
         const py::handle& obs, const py::handle& actions) {
        auto o = obs_batch(f, obs);
        const std::int64_t F = f.n_features();
        auto t = float64_array(theta, "theta");
        if (t.ndim() != 2 || t.shape(0) != F)
          throw py::value_error(concat("theta must have shape (", F, ", action_dim), got ", shape_str(t)));
        require_finite(t, "theta");
        const std::int64_t D = t.shape(1);
        auto ls = log_std_vector(log_std, D);
        const auto n = o.shape(0);
        auto a = float64_array(actions, "actions");
        require_shape(a, {n, static_cast<py::ssize_t>(D)}, "actions");
        require_finite(a, "actions");
        auto phi = features_of(f, o);
        py::array_t<double> out(n);
        std::vector<double> mu(static_cast<std::size_t>(D));
        for (py::ssize_t i = 0; i < n; ++i) {
          gaussian::mean(t.data(), phi.data() + i * F, F, D, mu.data());
          out.mutable_data()[i] = gaussian::log_prob(a.data() + i * D, mu.data(), ls.data(), D);
        }
        return out;
      },
      py::arg("features"), py::arg("theta"), py::arg("log_std"), py::arg("obs"),
      py::arg("actions"));
  m.def(
      "gaussian_grad_log_prob",
      [](const FeatureMap& f, const py::handle& theta, const py::handle& log_std,
         const py::handle& obs, const py::handle& actions) {
        auto o = obs_batch(f, obs);
        const std::int64_t F = f.n_features();
        auto t = float64_array(theta, "theta");
        if (t.ndim() != 2 || t.shape(0) != F)
          throw py::value_error(concat("theta must have shape (", F, ", action_dim), got ", shape_str(t)));
        require_finite(t, "theta");
        const std::int64_t D = t.shape(1);
        auto ls = log_std_vector(log_std, D);
        const auto n = o.shape(0);
        auto a = float64_array(actions, "actions");
        require_shape(a, {n, static_cast<py::ssize_t>(D)}, "actions");
        require_finite(a, "actions");
        auto phi = features_of(f, o);
        py::array_t<double> g_theta(std::vector<py::ssize_t>{n, static_cast<py::ssize_t>(F),
                                                             static_cast<py::ssize_t>(D)});
        py::array_t<double> g_std(std::vector<py::ssize_t>{n, static_cast<py::ssize_t>(D)});
        std::vector<double> mu(static_cast<std::size_t>(D));
        for (py::ssize_t i = 0; i < n; ++i) {
          const double* ph = phi.data() + i * F;
          gaussian::mean(t.data(), ph, F, D, mu.data());
          for (std::int64_t d = 0; d < D; ++d) {
            const double inv_var = std::exp(-2.0 * ls[static_cast<std::size_t>(d)]);
            const double diff = a.data()[i * D + d] - mu[static_cast<std::size_t>(d)];
            for (std::int64_t k = 0; k < F; ++k)
              g_theta.mutable_data()[(i * F + k) * D + d] = ph[k] * diff * inv_var;
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
        auto o = obs_batch(f, obs);
        const std::int64_t F = f.n_features();
        auto t = float64_array(theta, "theta");
        if (t.ndim() != 2 || t.shape(0) != F)
          throw py::value_error(concat("theta must have shape (", F, ", action_dim), got ", shape_str(t)));
        require_finite(t, "theta");
        const std::int64_t D = t.shape(1);
        auto ls = log_std_vector(log_std, D);
        const auto n = o.shape(0);
        auto phi = features_of(f, o);
        py::array_t<double> out(std::vector<py::ssize_t>{n, static_cast<py::ssize_t>(D)});
        Rng rng(seed, 0);
        for (py::ssize_t i = 0; i < n; ++i) {
          double* a = out.mutable_data() + i * D;
          gaussian::mean(t.data(), phi.data() + i * F, F, D, a);
          if (!deterministic)
            for (std::int64_t d = 0; d < D; ++d)
              a[d] += std::exp(ls[static_cast<std::size_t>(d)]) * rng.normal();
        }
        return out;
      },
      py::arg("features"), py::arg("theta"), py::arg("log_std"), py::arg("obs"),
      py::arg("deterministic"), py::arg("seed"));
}

}  // namespace pgfast::bind
