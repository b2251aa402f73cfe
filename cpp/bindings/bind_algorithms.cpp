// The training engine: Reinforce (iterate, gradient, evaluate) and the
// return estimators, exposed for the Python twins in the tests. Each call
// releases the GIL and polls for Ctrl-C between rounds of episodes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "numpy.hpp"
#include "pgfast/reinforce.hpp"
#include "pgfast/returns.hpp"
#include "py_env.hpp"

namespace pgfast::bind {

namespace {

template <class T>
T parse_choice(const std::string& value, const char* name,
               std::initializer_list<std::pair<const char*, T>> choices) {
  std::string known;
  for (const auto& [label, v] : choices) {
    if (value == label) return v;
    known += (known.empty() ? "'" : ", '") + std::string(label) + "'";
  }
  throw py::value_error(concat(name, " must be one of ", known, "; got '", value, "'"));
}

// A parameter array the engine updates in place: float64, C-contiguous,
// writeable, of the exact shape (a converted copy would silently not update).
double* inplace_params(const py::handle& obj, std::vector<py::ssize_t> shape, const char* name) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(concat(name, " must be a numpy.ndarray"));
  auto a = py::reinterpret_borrow<py::array>(obj);
  if (!a.dtype().is(py::dtype::of<double>()))
    throw py::type_error(concat(name, " must have dtype float64, got ", std::string(py::str(a.dtype()))));
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(concat(name, " must be C-contiguous"));
  if (!a.writeable()) throw py::value_error(concat(name, " must be writeable"));
  require_shape(a, shape, name);
  auto t = py::reinterpret_borrow<py::array_t<double>>(a);
  require_finite(t, name);
  return t.mutable_data();
}

class PyReinforce {
 public:
  PyReinforce(py::object env, std::shared_ptr<FeatureMap> features, const std::string& policy,
              std::int64_t n_out, bool learn_std, ReinforceConfig config)
      : env_obj_(std::move(env)), env_(env_obj_.cast<PyVecEnv&>()), features_(features) {
    PyVecEnv::Guard guard(env_);
    const PolicyKind kind = parse_choice<PolicyKind>(
        policy, "policy", {{"softmax", PolicyKind::kSoftmax}, {"gaussian", PolicyKind::kGaussian}});
    engine_ = std::make_unique<Reinforce>(guard.env(), std::move(features), kind, n_out, learn_std,
                                          config);
    kind_ = kind;
    n_out_ = n_out;
    learn_std_ = learn_std;
    engine_->set_should_stop([] {
      py::gil_scoped_acquire gil;
      return PyErr_CheckSignals() != 0;
    });
  }

  py::dict iterate(const py::handle& theta, const py::handle& log_std) {
    const IterationStats st = call(theta, log_std, [&](double* t, double* s) {
      return engine_->iterate(t, s);
    });
    py::dict d;
    d["return_mean"] = st.return_mean;
    d["return_std"] = st.return_std;
    d["return_min"] = st.return_min;
    d["return_max"] = st.return_max;
    d["length_mean"] = st.length_mean;
    d["episodes"] = st.episodes;
    d["env_steps"] = st.env_steps;
    d["grad_norm"] = st.grad_norm;
    d["entropy"] = st.entropy;
    d["kl"] = st.kl;
    d["fisher_condition"] = st.fisher_condition;
    return d;
  }

  py::tuple gradient(const py::handle& theta, const py::handle& log_std, std::int64_t episodes) {
    const GradientEstimate est = call(theta, log_std, [&](double* t, double* s) {
      return engine_->gradient(t, s, episodes);
    });
    return py::make_tuple(vec(est.mean), vec(est.stderr_));
  }

  py::tuple evaluate(const py::handle& theta, const py::handle& log_std, std::int64_t episodes,
                     bool deterministic) {
    const EvaluationResult r = call(theta, log_std, [&](double* t, double* s) {
      return engine_->evaluate(t, s, episodes, deterministic);
    });
    py::array_t<std::int64_t> lengths(static_cast<py::ssize_t>(r.lengths.size()), r.lengths.data());
    return py::make_tuple(vec(r.returns), lengths);
  }

  py::dict rollout(const py::handle& theta, const py::handle& log_std, std::int64_t episodes,
                   std::int64_t steps, bool deterministic) {
    const RolloutData r = call(theta, log_std, [&](double* t, double* s) {
      return engine_->rollout(t, s, episodes, steps, deterministic);
    });
    const auto rows = static_cast<py::ssize_t>(r.rows);
    const auto n_obs = rows > 0 ? static_cast<py::ssize_t>(r.obs.size()) / rows : 0;
    py::dict d;
    d["observations"] = py::array_t<double>(std::vector<py::ssize_t>{rows, n_obs}, r.obs.data());
    if (kind_ == PolicyKind::kSoftmax) {
      d["actions"] = py::array_t<std::int64_t>(rows, r.actions_i.data());
    } else {
      d["actions"] = py::array_t<double>(
          std::vector<py::ssize_t>{rows, static_cast<py::ssize_t>(n_out_)}, r.actions_c.data());
    }
    d["rewards"] = py::array_t<double>(rows, r.rewards.data());
    py::array_t<bool> term(rows), trunc(rows);
    for (py::ssize_t k = 0; k < rows; ++k) {
      term.mutable_data()[k] = r.terminated[static_cast<std::size_t>(k)] != 0;
      trunc.mutable_data()[k] = r.truncated[static_cast<std::size_t>(k)] != 0;
    }
    d["terminated"] = term;
    d["truncated"] = trunc;
    d["log_probs"] = py::array_t<double>(rows, r.log_probs.data());
    d["episode_ids"] = py::array_t<std::int64_t>(rows, r.episode.data());
    return d;
  }

  py::array_t<double> fisher(const py::handle& theta, const py::handle& log_std,
                             std::int64_t episodes) {
    const std::vector<double> f = call(theta, log_std, [&](double* t, double* s) {
      return engine_->fisher(t, s, episodes);
    });
    const auto P = static_cast<py::ssize_t>(engine_->n_params());
    return py::array_t<double>(std::vector<py::ssize_t>{P, P}, f.data());
  }

  std::int64_t n_params() const { return engine_->n_params(); }
  std::int64_t completed() const { return engine_->completed(); }

 private:
  // Every engine call: the env held for this call only, the parameter
  // arrays checked, the GIL released, and Ctrl-C (the Python error the
  // engine's poll left set) re-raised as KeyboardInterrupt.
  template <class Fn>
  auto call(const py::handle& theta, const py::handle& log_std, Fn&& fn)
      -> decltype(fn(static_cast<double*>(nullptr), static_cast<double*>(nullptr))) {
    PyVecEnv::Guard guard(env_);
    double* t = theta_ptr(theta);
    double* s = log_std_ptr(log_std);
    try {
      py::gil_scoped_release nogil;
      return fn(t, s);
    } catch (const InterruptedError&) {
      throw py::error_already_set();
    }
  }

  static py::array_t<double> vec(const std::vector<double>& v) {
    return py::array_t<double>(static_cast<py::ssize_t>(v.size()), v.data());
  }
  double* theta_ptr(const py::handle& theta) {
    return inplace_params(theta, {static_cast<py::ssize_t>(features_->n_features()),
                                  static_cast<py::ssize_t>(n_out_)},
                          "theta");
  }
  double* log_std_ptr(const py::handle& log_std) {
    if (kind_ == PolicyKind::kSoftmax) {
      if (!log_std.is_none()) throw py::value_error("log_std must be None for a softmax policy");
      return nullptr;
    }
    return inplace_params(log_std, {static_cast<py::ssize_t>(n_out_)}, "log_std");
  }

  py::object env_obj_;  // keeps the env alive; closing it makes calls raise
  PyVecEnv& env_;
  std::shared_ptr<FeatureMap> features_;
  std::unique_ptr<Reinforce> engine_;
  PolicyKind kind_ = PolicyKind::kSoftmax;
  std::int64_t n_out_ = 0;
  bool learn_std_ = false;
};

}  // namespace

void bind_algorithms(py::module_& m) {
  py::class_<PyReinforce>(m, "Reinforce", "The policy-gradient engine (see pgfast.Reinforce).")
      .def(py::init([](py::object env, std::shared_ptr<FeatureMap> features,
                       const std::string& policy, std::int64_t n_out, bool learn_std, double lr,
                       double gamma, std::int64_t episodes_per_update,
                       std::int64_t steps_per_update, const std::string& returns,
                       const std::string& baseline, double gae_lambda, bool normalize_advantages,
                       const std::string& optimizer, double adam_beta1, double adam_beta2,
                       double adam_eps, const std::string& fisher, double damping, double max_kl,
                       double value_ridge, bool bootstrap_truncated, const std::string& update,
                       std::uint64_t seed, int num_threads) {
             if (!py::isinstance<PyVecEnv>(env))
               throw py::type_error("env must be a pgfast._core.VecEnv");
             if (!features) throw py::type_error("features must not be None");
             ReinforceConfig c;
             c.lr = lr;
             c.gamma = gamma;
             c.episodes_per_update = episodes_per_update;
             c.steps_per_update = steps_per_update;
             c.returns = parse_choice<Returns>(returns, "returns",
                                               {{"total", Returns::kTotal},
                                                {"reward_to_go", Returns::kRewardToGo},
                                                {"discounted_reward_to_go", Returns::kDiscountedRewardToGo},
                                                {"gae", Returns::kGae}});
             c.baseline = parse_choice<Baseline>(baseline, "baseline",
                                                 {{"none", Baseline::kNone},
                                                  {"mean", Baseline::kMean},
                                                  {"time", Baseline::kTime},
                                                  {"value", Baseline::kValue},
                                                  {"optimal", Baseline::kOptimal}});
             c.gae_lambda = gae_lambda;
             c.normalize_advantages = normalize_advantages;
             c.optimizer = parse_choice<OptimizerKind>(optimizer, "optimizer",
                                                       {{"sgd", OptimizerKind::kSgd},
                                                        {"adam", OptimizerKind::kAdam},
                                                        {"natural", OptimizerKind::kNatural}});
             c.adam_beta1 = adam_beta1;
             c.adam_beta2 = adam_beta2;
             c.adam_eps = adam_eps;
             c.fisher = parse_choice<FisherKind>(fisher, "fisher",
                                                 {{"sampled", FisherKind::kSampled},
                                                  {"exact", FisherKind::kExact}});
             c.damping = damping;
             c.max_kl = max_kl;
             c.value_ridge = value_ridge;
             c.bootstrap_truncated = bootstrap_truncated;
             c.online = parse_choice<bool>(update, "update", {{"batch", false}, {"online", true}});
             c.seed = seed;
             c.num_threads = num_threads;
             return std::make_unique<PyReinforce>(std::move(env), std::move(features), policy,
                                                  n_out, learn_std, c);
           }),
           py::arg("env"), py::arg("features"), py::arg("policy"), py::arg("n_out"),
           py::arg("learn_std"), py::arg("lr"), py::arg("gamma"), py::arg("episodes_per_update"),
           py::arg("steps_per_update"),
           py::arg("returns"), py::arg("baseline"), py::arg("gae_lambda"),
           py::arg("normalize_advantages"), py::arg("optimizer"), py::arg("adam_beta1"),
           py::arg("adam_beta2"), py::arg("adam_eps"), py::arg("fisher"), py::arg("damping"),
           py::arg("max_kl"), py::arg("value_ridge"), py::arg("bootstrap_truncated"),
           py::arg("update"), py::arg("seed"),
           py::arg("num_threads"))
      .def_property_readonly("n_params", &PyReinforce::n_params)
      .def_property_readonly("completed", &PyReinforce::completed,
                             "Updates applied so far; an interrupted iterate() applies none.")
      .def("iterate", &PyReinforce::iterate, py::arg("theta"), py::arg("log_std"),
           "One update of theta (and log_std) in place; returns the iteration's statistics.")
      .def("gradient", &PyReinforce::gradient, py::arg("theta"), py::arg("log_std"),
           py::arg("episodes"), "(mean, stderr) of the gradient estimate, flat; no update.")
      .def("rollout", &PyReinforce::rollout, py::arg("theta"), py::arg("log_std"),
           py::arg("episodes"), py::arg("steps"), py::arg("deterministic"),
           "Per-step arrays of a batch of episodes (no update).")
      .def("fisher", &PyReinforce::fisher, py::arg("theta"), py::arg("log_std"),
           py::arg("episodes"), "The Fisher matrix (n_params, n_params) of the natural step.")
      .def("evaluate", &PyReinforce::evaluate, py::arg("theta"), py::arg("log_std"),
           py::arg("episodes"), py::arg("deterministic"), "(returns, lengths) per episode.");

  m.def(
      "reward_to_go",
      [](const py::handle& rewards, double gamma, double bootstrap) {
        auto r = float64_array(rewards, "rewards");
        if (r.ndim() != 1) throw py::value_error("rewards must be 1-D");
        py::array_t<double> out(r.shape(0));
        pgfast::reward_to_go(r.data(), r.shape(0), gamma, bootstrap, out.mutable_data());
        return out;
      },
      py::arg("rewards"), py::arg("gamma"), py::arg("bootstrap") = 0.0);
  m.def(
      "discounted_return",
      [](const py::handle& rewards, double gamma, double bootstrap) {
        auto r = float64_array(rewards, "rewards");
        if (r.ndim() != 1) throw py::value_error("rewards must be 1-D");
        return pgfast::discounted_return(r.data(), r.shape(0), gamma, bootstrap);
      },
      py::arg("rewards"), py::arg("gamma"), py::arg("bootstrap") = 0.0);
  m.def(
      "gae",
      [](const py::handle& rewards, const py::handle& values, double gamma, double lam,
         double bootstrap) {
        auto r = float64_array(rewards, "rewards");
        auto v = float64_array(values, "values");
        if (r.ndim() != 1) throw py::value_error("rewards must be 1-D");
        require_shape(v, {r.shape(0)}, "values");
        py::array_t<double> out(r.shape(0));
        pgfast::gae(r.data(), v.data(), r.shape(0), gamma, lam, bootstrap, out.mutable_data());
        return out;
      },
      py::arg("rewards"), py::arg("values"), py::arg("gamma"), py::arg("lam"),
      py::arg("bootstrap") = 0.0);
}

}  // namespace pgfast::bind
