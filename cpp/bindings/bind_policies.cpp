// Feature maps and policies. A Policy wraps the engine's PolicyModel: its
// batch methods (log_prob, grad_log_prob, act, ...) call the same members
// the engine's collector and estimator call, one row at a time.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "numpy.hpp"
#include "pgfast/features.hpp"
#include "pgfast/policies/policy_model.hpp"
#include "pgfast/rng.hpp"

namespace pgfast::bind {

namespace {

using FeaturesPtr = std::shared_ptr<FeatureMap>;
using PolicyPtr = std::shared_ptr<PolicyModel>;

// Observations as a checked (N, obs_dim) float64 array.
py::array_t<double> obs_batch(std::int64_t obs_dim, const py::handle& obs,
                              const std::function<void(const double*, std::int64_t)>& check) {
  auto o = float64_array(obs, "obs");
  const auto d = static_cast<py::ssize_t>(obs_dim);
  if (o.ndim() == 1 && d == 1) o = o.reshape(std::vector<py::ssize_t>{o.shape(0), 1});
  if (o.ndim() != 2 || o.shape(1) != d)
    throw py::value_error(concat("obs must have shape (N, ", d, ")", d == 1 ? " or (N,)" : "",
                                 ", got ", shape_str(o)));
  for (py::ssize_t i = 0; i < o.shape(0); ++i) check(o.data() + i * d, i);
  return o;
}

py::array_t<double> features_of(const FeatureMap& f, const py::handle& obs) {
  auto o =
      obs_batch(f.obs_dim(), obs, [&](const double* row, std::int64_t i) { f.check_obs(row, i); });
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

// The checked inputs of every batch method: observations, theta and log_std.
struct Batch {
  py::array_t<double> obs, theta, log_std;
  py::ssize_t n = 0;
  PolicyParams params() const {
    return {theta.data(), log_std.size() > 0 ? log_std.data() : nullptr};
  }
};

Batch batch_of(const PolicyModel& p, const py::handle& theta, const py::handle& log_std,
               const py::handle& obs, bool need_log_std = true) {
  Batch b;
  b.obs =
      obs_batch(p.obs_dim(), obs, [&](const double* row, std::int64_t i) { p.check_obs(row, i); });
  b.n = b.obs.shape(0);
  b.theta = float64_array(theta, "theta");
  if (b.theta.size() != p.n_theta())
    throw py::value_error(
        concat("theta must have ", p.n_theta(), " values, got ", shape_str(b.theta)));
  require_finite(b.theta, "theta");
  if (p.kind() == PolicyKind::kGaussian && need_log_std) {
    const std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(p.action_dim())};
    b.log_std = float64_array(log_std, "log_std", &shape);
    require_finite(b.log_std, "log_std");
  } else {
    b.log_std = py::array_t<double>(0);
  }
  return b;
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

py::array_t<double> continuous_actions(const py::handle& actions, py::ssize_t n, std::int64_t D) {
  const std::vector<py::ssize_t> shape{n, static_cast<py::ssize_t>(D)};
  auto a = float64_array(actions, "actions", &shape);
  require_finite(a, "actions");
  return a;
}

// One row at a time through the policy's own members: rows_per_step x
// row_width features, then the output (pi or mu).
template <class Fn>
void for_each_row(const PolicyModel& model, const Batch& b, Fn&& fn) {
  model.visit([&](const auto& policy) {
    std::vector<double> row(static_cast<std::size_t>(policy.rows_per_step() * policy.row_width()));
    std::vector<double> out(static_cast<std::size_t>(policy.out_width()));
    std::vector<double> scratch(static_cast<std::size_t>(policy.scratch_size() + 1));
    std::vector<double> action(static_cast<std::size_t>(policy.action_dim() + 1));
    const auto d = model.obs_dim();
    for (py::ssize_t i = 0; i < b.n; ++i) {
      policy.phi(b.obs.data() + i * d, row.data());
      fn(policy, i, row.data(), out.data(), action.data(), scratch.data());
    }
  });
}

// log pi(.|s) of a softmax policy, (N, n_actions), by log-sum-exp of the
// logits (exact where probabilities underflow).
py::array_t<double> log_probs(const PolicyModel& model, const py::handle& theta,
                              const py::handle& obs) {
  if (!model.discrete()) throw py::type_error("log_probs is defined for softmax policies");
  const Batch b = batch_of(model, theta, py::none(), obs);
  const auto A = static_cast<py::ssize_t>(model.n_actions());
  py::array_t<double> result(std::vector<py::ssize_t>{b.n, A});
  double* dst = result.mutable_data();
  for_each_row(model, b,
               [&](const auto& policy, py::ssize_t i, const double* row, double* /*out*/,
                   double* /*action*/, double* scratch) {
                 using P = std::decay_t<decltype(policy)>;
                 if constexpr (P::kDiscrete) {
                   double* z = dst + i * A;
                   policy.logits(b.params(), row, z, scratch);
                   softmax::log_normalize(z, A);
                 }
               });
  return result;
}

// (N, D) actions of a Gaussian policy: samples, or the mean when sampler is
// null (act() returns mu then).
py::array_t<double> gaussian_actions(const PolicyModel& model, const Batch& b, Rng* sampler) {
  const auto D = static_cast<py::ssize_t>(model.action_dim());
  py::array_t<double> result(std::vector<py::ssize_t>{b.n, D});
  double* dst = result.mutable_data();
  for_each_row(model, b,
               [&](const auto& policy, py::ssize_t i, const double* row, double* out,
                   double* action, double* scratch) {
                 policy.act(b.params(), row, out, action, sampler, scratch);
                 for (py::ssize_t d = 0; d < D; ++d) dst[i * D + d] = action[d];
               });
  return result;
}

py::array_t<double> mean(const PolicyModel& model, const py::handle& theta, const py::handle& obs) {
  if (model.discrete()) throw py::type_error("mean is defined for Gaussian policies");
  return gaussian_actions(model, batch_of(model, theta, py::none(), obs, /*need_log_std=*/false),
                          nullptr);
}

// log pi(a|s), (N,).
py::array_t<double> log_prob(const PolicyModel& model, const py::handle& theta,
                             const py::handle& log_std, const py::handle& obs,
                             const py::handle& actions) {
  const Batch b = batch_of(model, theta, log_std, obs);
  py::array_t<double> result(b.n);
  double* dst = result.mutable_data();
  if (model.discrete()) {
    const auto lp = log_probs(model, theta, obs);
    const auto a = discrete_actions(actions, b.n, model.n_actions());
    const auto A = static_cast<py::ssize_t>(model.n_actions());
    for (py::ssize_t i = 0; i < b.n; ++i)
      dst[i] = lp.data()[i * A + a[static_cast<std::size_t>(i)]];
    return result;
  }
  const auto D = model.action_dim();
  const auto a = continuous_actions(actions, b.n, D);
  for_each_row(model, b,
               [&](const auto& policy, py::ssize_t i, const double* row, double* out,
                   double* action, double* scratch) {
                 policy.act(b.params(), row, out, action, nullptr, scratch);
                 dst[i] = policy.log_prob(b.params(), out, 0, a.data() + i * D);
               });
  return result;
}

// grad log pi(a|s) as flat rows (N, n_theta [+ action_dim for a Gaussian]).
py::array_t<double> grad_log_prob(const PolicyModel& model, const py::handle& theta,
                                  const py::handle& log_std, const py::handle& obs,
                                  const py::handle& actions) {
  const Batch b = batch_of(model, theta, log_std, obs);
  const std::int64_t width = model.n_theta() + model.action_dim();
  std::vector<std::int64_t> a_i;
  py::array_t<double> a_c;
  if (model.discrete()) {
    a_i = discrete_actions(actions, b.n, model.n_actions());
  } else {
    a_c = continuous_actions(actions, b.n, model.action_dim());
  }
  py::array_t<double> result(std::vector<py::ssize_t>{b.n, static_cast<py::ssize_t>(width)});
  double* dst = result.mutable_data();
  std::vector<double> score(static_cast<std::size_t>(width));
  for_each_row(model, b,
               [&](const auto& policy, py::ssize_t i, const double* row, double* out,
                   double* action, double* scratch) {
                 policy.act(b.params(), row, out, action, nullptr, scratch);
                 const std::int64_t a = a_i.empty() ? 0 : a_i[static_cast<std::size_t>(i)];
                 const double* c = a_c.size() > 0 ? a_c.data() + i * model.action_dim() : nullptr;
                 policy.score(b.params(), row, out, a, c, dst + i * width, scratch);
               });
  return result;
}

// Sampled (or most probable / mean) actions: (N,) int64 or (N, D) float64.
py::array act(const PolicyModel& model, const py::handle& theta, const py::handle& log_std,
              const py::handle& obs, bool deterministic, std::uint64_t seed) {
  const Batch b = batch_of(model, theta, log_std, obs);
  Rng rng(seed, 0);
  Rng* sampler = deterministic ? nullptr : &rng;
  if (model.discrete()) {
    py::array_t<std::int64_t> result(b.n);
    std::int64_t* dst = result.mutable_data();
    for_each_row(model, b,
                 [&](const auto& policy, py::ssize_t i, const double* row, double* out,
                     double* action, double* scratch) {
                   dst[i] = policy.act(b.params(), row, out, action, sampler, scratch);
                 });
    return std::move(result);
  }
  return gaussian_actions(model, b, sampler);
}

std::vector<double> matrix_values(const py::handle& obj, const char* name, int ndim,
                                  std::vector<std::int64_t>& shape) {
  auto a = float64_array(obj, name);
  if (a.ndim() != ndim)
    throw py::value_error(
        concat(name, " must have ", ndim, " dimensions, got shape ", shape_str(a)));
  shape.clear();
  for (py::ssize_t d = 0; d < a.ndim(); ++d) shape.push_back(a.shape(d));
  require_finite(a, name);
  return to_vector(a);
}

}  // namespace

void bind_policies(py::module_& m) {
  py::class_<FeatureMap, FeaturesPtr>(m, "Features",
                                      "A feature map phi(obs) (see pgfast.features).")
      .def_property_readonly("kind", &FeatureMap::kind)
      .def_property_readonly("obs_dim", &FeatureMap::obs_dim)
      .def_property_readonly("n_features", &FeatureMap::n_features)
      .def("__call__", &features_of, py::arg("obs"),
           "phi of a batch of observations (N, obs_dim) -> (N, n_features).");

  m.def("identity_features", &make_identity, py::arg("dim"));
  m.def("one_hot_features", &make_one_hot, py::arg("n"));
  m.def(
      "table_features",
      [](const py::handle& matrix) {
        std::vector<std::int64_t> shape;
        auto values = matrix_values(matrix, "matrix", 2, shape);
        return make_table(std::move(values), shape[0], shape[1]);
      },
      py::arg("matrix"));
  m.def("polynomial_features", &make_polynomial, py::arg("dim"), py::arg("degree"));
  m.def("fourier_features", &make_fourier, py::arg("order"), py::arg("low"), py::arg("high"));
  m.def("rbf_features", &make_rbf, py::arg("centers_per_dim"), py::arg("low"), py::arg("high"),
        py::arg("width"));
  m.def("tile_coding_features", &make_tile_coding, py::arg("tilings"), py::arg("tiles_per_dim"),
        py::arg("low"), py::arg("high"));

  py::class_<PolicyModel, PolicyPtr>(
      m, "Policy",
      "A policy's distribution (see pgfast.LinearSoftmax, pgfast.LinearGaussian); the engine "
      "calls the same code.")
      .def_property_readonly("kind",
                             [](const PolicyModel& p) {
                               switch (p.kind()) {
                                 case PolicyKind::kSoftmax:
                                   return "softmax";
                                 case PolicyKind::kStateActionSoftmax:
                                   return "state_action_softmax";
                                 case PolicyKind::kGaussian:
                                   return "gaussian";
                               }
                               return "unknown";
                             })
      .def_property_readonly("n_params", &PolicyModel::n_params)
      .def_property_readonly("n_theta", &PolicyModel::n_theta)
      .def_property_readonly("obs_dim", &PolicyModel::obs_dim)
      .def_property_readonly("n_actions", &PolicyModel::n_actions)
      .def_property_readonly("action_dim", &PolicyModel::action_dim)
      .def_property_readonly("learn_std", &PolicyModel::learn_std)
      .def("log_probs", &log_probs, py::arg("theta"), py::arg("obs"),
           "log pi(.|s) of a softmax policy, (N, n_actions), by log-sum-exp.")
      .def("mean", &mean, py::arg("theta"), py::arg("obs"), "mu of a Gaussian policy, (N, D).")
      .def("log_prob", &log_prob, py::arg("theta"), py::arg("log_std"), py::arg("obs"),
           py::arg("actions"), "log pi(a|s), (N,).")
      .def("grad_log_prob", &grad_log_prob, py::arg("theta"), py::arg("log_std"), py::arg("obs"),
           py::arg("actions"),
           "grad log pi(a|s) as flat rows (N, n_theta), then (Gaussian) action_dim log_std "
           "entries.")
      .def("act", &act, py::arg("theta"), py::arg("log_std"), py::arg("obs"),
           py::arg("deterministic"), py::arg("seed"));

  m.def(
      "softmax_policy",
      [](FeaturesPtr features, std::int64_t n_actions, const py::handle& action_features) {
        if (!features) throw py::type_error("features must not be None");
        std::vector<double> psi;
        std::int64_t k = 0;
        if (!action_features.is_none()) {
          std::vector<std::int64_t> shape;
          psi = matrix_values(action_features, "action_features", 2, shape);
          if (shape[0] != n_actions)
            throw py::value_error(concat("action_features must have one row per action (",
                                         n_actions, "), got ", shape[0]));
          k = shape[1];
        }
        return std::make_shared<PolicyModel>(
            LinearSoftmax(std::move(features), n_actions, std::move(psi), k));
      },
      py::arg("features"), py::arg("n_actions"), py::arg("action_features") = py::none());
  m.def(
      "state_action_table_policy",
      [](const py::handle& table) {
        std::vector<std::int64_t> shape;
        auto values = matrix_values(table, "table", 3, shape);
        return std::make_shared<PolicyModel>(
            StateActionSoftmax(std::move(values), shape[0], shape[1], shape[2]));
      },
      py::arg("table"));
  m.def(
      "gaussian_policy",
      [](FeaturesPtr features, std::int64_t action_dim, bool learn_std) {
        if (!features) throw py::type_error("features must not be None");
        return std::make_shared<PolicyModel>(LinearGaussian(std::move(features), action_dim),
                                             learn_std);
      },
      py::arg("features"), py::arg("action_dim"), py::arg("learn_std"));
}

}  // namespace pgfast::bind
