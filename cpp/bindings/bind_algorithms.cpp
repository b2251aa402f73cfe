// The training engine (Reinforce: iterate, gradient, fisher), evaluation and
// rollouts (a Collector alone), and the return estimators for the Python
// twins in the tests. Each call releases the GIL and polls for Ctrl-C.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "numpy.hpp"
#include "pgfast/alloc_counter.hpp"
#include "pgfast/reinforce.hpp"
#include "pgfast/returns.hpp"
#include "pgfast/rollout.hpp"
#include "py_env.hpp"

namespace pgfast::bind {

namespace {

using PolicyPtr = std::shared_ptr<PolicyModel>;

// A string-valued choice of the config, parsed with a message naming it.
template <class T>
struct Choice {
  const char* name;
  std::initializer_list<std::pair<const char*, T>> values;

  T parse(const std::string& value) const {
    std::string known;
    for (const auto& [label, v] : values) {
      if (value == label) return v;
      known += (known.empty() ? "'" : ", '") + std::string(label) + "'";
    }
    throw py::value_error(concat(name, " must be one of ", known, "; got '", value, "'"));
  }
  std::string label(T v) const {
    for (const auto& [label, value] : values)
      if (value == v) return label;
    return "?";
  }
};

const Choice<Returns> kReturns{"returns",
                               {{"total", Returns::kTotal},
                                {"reward_to_go", Returns::kRewardToGo},
                                {"discounted_reward_to_go", Returns::kDiscountedRewardToGo},
                                {"gae", Returns::kGae}}};
const Choice<Baseline> kBaselines{"baseline",
                                  {{"none", Baseline::kNone},
                                   {"mean", Baseline::kMean},
                                   {"time", Baseline::kTime},
                                   {"value", Baseline::kValue},
                                   {"optimal", Baseline::kOptimal}}};
const Choice<OptimizerKind> kOptimizers{"optimizer",
                                        {{"sgd", OptimizerKind::kSgd},
                                         {"adam", OptimizerKind::kAdam},
                                         {"natural", OptimizerKind::kNatural}}};
const Choice<FisherKind> kFishers{
    "fisher", {{"sampled", FisherKind::kSampled}, {"exact", FisherKind::kExact}}};
const Choice<bool> kUpdates{"update", {{"batch", false}, {"online", true}}};
const Choice<EstimateKind> kEstimateKinds{"kind",
                                          {{"update", EstimateKind::kUpdate},
                                           {"gradient", EstimateKind::kGradient},
                                           {"fisher", EstimateKind::kFisher}}};
const Choice<Round> kRounds{"round",
                            {{"baseline", Round::kBaseline},
                             {"advantage_mean", Round::kAdvantageMean},
                             {"advantage_spread", Round::kAdvantageSpread},
                             {"optimal", Round::kOptimal},
                             {"final", Round::kFinal}}};

// A parameter array the engine updates in place: float64 (any equivalent
// dtype object, e.g. one that came through pickle), C-contiguous, writeable,
// with n values (a converted copy would silently not update).
double* inplace_params(const py::handle& obj, std::int64_t n, const char* name) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(concat(name, " must be a numpy.ndarray"));
  auto a = py::reinterpret_borrow<py::array>(obj);
  if (!py::isinstance<py::array_t<double>>(obj))
    throw py::type_error(
        concat(name, " must have dtype float64, got ", std::string(py::str(a.dtype()))));
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(concat(name, " must be C-contiguous"));
  if (!a.writeable()) throw py::value_error(concat(name, " must be writeable"));
  if (a.size() != n)
    throw py::value_error(concat(name, " must have ", n, " values, got shape ", shape_str(a)));
  auto t = py::reinterpret_borrow<py::array_t<double>>(a);
  require_finite(t, name);
  return t.mutable_data();
}

// The parameters of a call, checked against the policy.
struct Params {
  double* theta = nullptr;
  double* log_std = nullptr;
};

Params params_of(const PolicyModel& policy, const py::handle& theta, const py::handle& log_std) {
  Params p;
  p.theta = inplace_params(theta, policy.n_theta(), "theta");
  if (policy.kind() == PolicyKind::kGaussian) {
    p.log_std = inplace_params(log_std, policy.action_dim(), "log_std");
  } else if (!log_std.is_none()) {
    throw py::value_error("log_std must be None for a softmax policy");
  }
  return p;
}

PolicyPtr checked_policy(const py::handle& policy) {
  if (!py::isinstance<PolicyModel>(policy))
    throw py::type_error("policy must be a pgfast._core.Policy");
  return policy.cast<PolicyPtr>();
}

PyVecEnv& checked_env(const py::handle& env) {
  if (!py::isinstance<PyVecEnv>(env)) throw py::type_error("env must be a pgfast._core.VecEnv");
  return env.cast<PyVecEnv&>();
}

bool python_signal_pending() {
  py::gil_scoped_acquire gil;
  return PyErr_CheckSignals() != 0;
}

// Runs fn with the GIL released; Ctrl-C (the Python error the engine's
// poll left set) comes back as KeyboardInterrupt, and so does a stop asked
// for from another thread (request_stop: no Python error is set then).
template <class Fn>
auto without_gil(Fn&& fn) -> decltype(fn()) {
  try {
    py::gil_scoped_release nogil;
    try {
      return fn();
    } catch (const Interrupted&) {
      throw InterruptedError();
    }
  } catch (const InterruptedError&) {
    if (!PyErr_Occurred()) PyErr_SetNone(PyExc_KeyboardInterrupt);
    throw py::error_already_set();
  }
}

py::array_t<double> vec(const std::vector<double>& v) {
  return py::array_t<double>(static_cast<py::ssize_t>(v.size()), v.data());
}

std::vector<double> doubles(const py::handle& obj, const char* name) {
  auto a = float64_array(obj, name);
  if (a.ndim() != 1) throw py::value_error(std::string(name) + " must be 1-D");
  return std::vector<double>(a.data(), a.data() + a.size());
}

py::dict stats_dict(const IterationStats& st) {
  py::dict d;
  for (const auto& field : kIterationStats) {
    const double v = st.*(field.member);
    if (field.integral) {
      d[field.name] = static_cast<std::int64_t>(v);
    } else {
      d[field.name] = v;
    }
  }
  return d;
}

class PyReinforce {
 public:
  PyReinforce(py::object env, PolicyPtr policy, const ReinforceConfig& config)
      : env_obj_(std::move(env)), env_(checked_env(env_obj_)), policy_(std::move(policy)) {
    PyVecEnv::Guard guard(env_);
    engine_ = std::make_unique<Reinforce>(guard.env(), policy_, config);
    engine_->set_should_stop([this] { return stop_.load() || python_signal_pending(); });
  }

  py::dict iterate(const py::handle& theta, const py::handle& log_std) {
    return stats_dict(call(theta, log_std,
                           [&](const Params& p) { return engine_->iterate(p.theta, p.log_std); }));
  }

  py::tuple gradient(const py::handle& theta, const py::handle& log_std, std::int64_t episodes) {
    const GradientEstimate est = call(theta, log_std, [&](const Params& p) {
      return engine_->gradient(p.theta, p.log_std, episodes);
    });
    return py::make_tuple(vec(est.mean), vec(est.stderr_));
  }

  py::array_t<double> fisher(const py::handle& theta, const py::handle& log_std,
                             std::int64_t episodes) {
    const std::vector<double> f = call(theta, log_std, [&](const Params& p) {
      return engine_->fisher(p.theta, p.log_std, episodes);
    });
    const auto P = static_cast<py::ssize_t>(engine_->n_params());
    return py::array_t<double>(std::vector<py::ssize_t>{P, P}, f.data());
  }

  // The last batch as the estimator saw it, episodes in order: the slow
  // twins in the tests recompute the gradient from these arrays.
  py::dict last_batch() const {
    const Collector& c = engine_->collector();
    const Estimator& e = engine_->estimator();
    const StepLayout& L = c.layout();
    const auto rows = static_cast<py::ssize_t>(c.rows());
    py::array_t<double> phi(std::vector<py::ssize_t>{rows, static_cast<py::ssize_t>(L.phi)});
    py::array_t<double> out(std::vector<py::ssize_t>{rows, static_cast<py::ssize_t>(L.out)});
    py::array_t<double> rewards(rows), psi(rows), base(rows);
    py::array_t<std::int64_t> actions(rows), episode(rows);
    py::array_t<double> actions_c(
        std::vector<py::ssize_t>{rows, static_cast<py::ssize_t>(L.action)});
    const auto m = static_cast<py::ssize_t>(c.episodes());
    py::array_t<bool> terminated(m), truncated(m);
    py::array_t<double> final_phi(std::vector<py::ssize_t>{m, static_cast<py::ssize_t>(L.phi)});
    std::int64_t r = 0;
    for (std::int64_t j = 0; j < c.episodes(); ++j) {
      const EnvBuffer& b = c.buffer(j);
      const EpisodeRecord& rec = c.record(j);
      terminated.mutable_data()[j] = rec.terminated;
      truncated.mutable_data()[j] = rec.truncated;
      std::copy(c.final_phi(j), c.final_phi(j) + L.phi, final_phi.mutable_data() + j * L.phi);
      for (std::int64_t t = rec.start; t < rec.start + rec.length; ++t, ++r) {
        const auto k = static_cast<std::size_t>(t);
        std::copy(b.phi.begin() + t * L.phi, b.phi.begin() + (t + 1) * L.phi,
                  phi.mutable_data() + r * L.phi);
        std::copy(b.out.begin() + t * L.out, b.out.begin() + (t + 1) * L.out,
                  out.mutable_data() + r * L.out);
        std::copy(b.act_c.begin() + t * L.action, b.act_c.begin() + (t + 1) * L.action,
                  actions_c.mutable_data() + r * L.action);
        actions.mutable_data()[r] = L.action > 0 ? 0 : b.act_i[k];
        rewards.mutable_data()[r] = b.reward[k];
        episode.mutable_data()[r] = j;
        psi.mutable_data()[r] = e.psi()[static_cast<std::size_t>(r)];
        base.mutable_data()[r] = e.base()[static_cast<std::size_t>(r)];
      }
    }
    py::dict d;
    d["features"] = phi;
    d["policy_out"] = out;
    d["actions"] = L.action > 0 ? py::object(actions_c) : py::object(actions);
    d["rewards"] = rewards;
    d["episode_ids"] = episode;
    d["terminated"] = terminated;
    d["truncated"] = truncated;
    d["final_features"] = final_phi;
    d["psi"] = psi;
    d["baseline"] = base;
    const Vector& w = e.value().weights();
    d["value_weights"] = py::array_t<double>(w.size(), w.data());
    d["value_fitted"] = e.value().fitted();
    return d;
  }

  std::int64_t n_params() const { return engine_->n_params(); }
  std::int64_t completed() const { return engine_->completed(); }

  // ---- The distributed protocol (pgfast.distributed; reinforce.hpp).

  py::list shard_begin(const py::handle& theta, const py::handle& log_std,
                       const py::handle& value_weights, bool value_fitted, std::uint64_t batch,
                       std::int64_t first, std::int64_t count, std::int64_t batch_episodes,
                       const std::string& kind) {
    const EstimateKind k = kEstimateKinds.parse(kind);
    std::vector<double> weights;
    if (!value_weights.is_none()) {
      auto w = float64_array(value_weights, "value_weights");
      weights.assign(w.data(), w.data() + w.size());
    }
    stop_.store(false);
    const std::vector<Round> rounds = call(theta, log_std, [&](const Params& p) {
      return engine_->shard_begin(p.theta, p.log_std, weights.empty() ? nullptr : weights.data(),
                                  value_fitted, batch, first, count, batch_episodes, k);
    });
    py::list names;
    for (const Round r : rounds) names.append(kRounds.label(r));
    return names;
  }

  py::list shard_round(const std::string& round) {
    const Round r = kRounds.parse(round);
    PyVecEnv::Guard guard(env_);
    const TreeNodes& nodes =
        without_gil([&]() -> const TreeNodes& { return engine_->shard_round(r); });
    py::list out;
    for (std::size_t k = 0; k < nodes.size(); ++k)
      out.append(py::make_tuple(nodes[k].level, nodes[k].index, vec(nodes[k].value)));
    return out;
  }

  void shard_receive(const std::string& round, const py::handle& sum) {
    auto s = float64_array(sum, "sum");
    engine_->shard_receive(kRounds.parse(round),
                           std::vector<double>(s.data(), s.data() + s.size()));
  }

  py::dict shard_summary() const {
    BatchSummary summary;
    engine_->shard_summary(summary);
    py::dict d;
    d["returns"] = vec(summary.returns);
    d["lengths"] = py::array_t<std::int64_t>(static_cast<py::ssize_t>(summary.lengths.size()),
                                             summary.lengths.data());
    d["sample_phi"] = vec(summary.sample_phi);
    d["sample_out"] = vec(summary.sample_out);
    return d;
  }

  std::uint64_t take_batch() { return engine_->take_batch(); }

  py::dict finish_update(const py::handle& theta, const py::handle& log_std, const py::handle& sum,
                         const py::dict& summary) {
    const std::vector<double> s = doubles(sum, "sum");
    BatchSummary b;
    b.returns = doubles(summary["returns"], "returns");
    auto lengths = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(
        summary["lengths"]);
    if (!lengths) throw py::type_error("lengths must be an int64 array");
    b.lengths.assign(lengths.data(), lengths.data() + lengths.size());
    b.sample_phi = doubles(summary["sample_phi"], "sample_phi");
    b.sample_out = doubles(summary["sample_out"], "sample_out");
    if (b.lengths.size() != b.returns.size())
      throw py::value_error("a summary has one length per return");
    return stats_dict(call(theta, log_std, [&](const Params& p) {
      return engine_->finish_update(p.theta, p.log_std, s, b);
    }));
  }

  py::tuple finish_gradient(const py::handle& sum, std::int64_t episodes) {
    const GradientEstimate est = engine_->finish_gradient(doubles(sum, "sum"), episodes);
    return py::make_tuple(vec(est.mean), vec(est.stderr_));
  }

  py::array_t<double> finish_fisher(const py::handle& sum, std::int64_t episodes) const {
    const std::vector<double> f = engine_->finish_fisher(doubles(sum, "sum"), episodes);
    const auto P = static_cast<py::ssize_t>(engine_->n_params());
    return py::array_t<double>(std::vector<py::ssize_t>{P, P}, f.data());
  }

  py::tuple value_weights() const {
    const ValueFunction& v = engine_->estimator().value();
    const Vector& w = v.weights();
    return py::make_tuple(py::array_t<double>(w.size(), w.data()), v.fitted());
  }

  // Asks a running shard call (on another thread) to stop, as Ctrl-C would.
  void request_stop() { stop_.store(true); }

 private:
  // Every engine call: the env held for this call only, the parameter
  // arrays checked, the GIL released.
  template <class Fn>
  auto call(const py::handle& theta, const py::handle& log_std, Fn&& fn)
      -> decltype(fn(std::declval<const Params&>())) {
    PyVecEnv::Guard guard(env_);
    const Params p = params_of(*policy_, theta, log_std);
    return without_gil([&] { return fn(p); });
  }

  py::object env_obj_;  // keeps the env alive; closing it makes calls raise
  PyVecEnv& env_;
  PolicyPtr policy_;
  std::unique_ptr<Reinforce> engine_;
  std::atomic<bool> stop_{false};
};

// evaluate() and rollout(): a Collector with its own policy streams
// (seed), nothing else.
template <class Fn>
auto with_collector(const py::handle& env_obj, const py::handle& policy_obj,
                    const py::handle& theta, const py::handle& log_std, std::uint64_t seed,
                    int num_threads, Fn&& fn) {
  PyVecEnv& env = checked_env(env_obj);
  PolicyPtr policy = checked_policy(policy_obj);
  PyVecEnv::Guard guard(env);
  const Params p = params_of(*policy, theta, log_std);
  Collector collector(guard.env(), policy, seed, num_threads);
  collector.set_should_stop(&python_signal_pending);
  return without_gil([&] { return fn(collector, PolicyParams{p.theta, p.log_std}); });
}

}  // namespace

void bind_algorithms(py::module_& m) {
  py::class_<ReinforceConfig>(m, "ReinforceConfig",
                              "The engine's settings, by name (see pgfast.Reinforce).")
      .def(py::init<>())
      .def_readwrite("lr", &ReinforceConfig::lr)
      .def_readwrite("gamma", &ReinforceConfig::gamma)
      .def_readwrite("episodes_per_update", &ReinforceConfig::episodes_per_update)
      .def_readwrite("steps_per_update", &ReinforceConfig::steps_per_update)
      .def_property(
          "returns", [](const ReinforceConfig& c) { return kReturns.label(c.returns); },
          [](ReinforceConfig& c, const std::string& v) { c.returns = kReturns.parse(v); })
      .def_property(
          "baseline", [](const ReinforceConfig& c) { return kBaselines.label(c.baseline); },
          [](ReinforceConfig& c, const std::string& v) { c.baseline = kBaselines.parse(v); })
      .def_readwrite("gae_lambda", &ReinforceConfig::gae_lambda)
      .def_readwrite("normalize_advantages", &ReinforceConfig::normalize_advantages)
      .def_property(
          "optimizer", [](const ReinforceConfig& c) { return kOptimizers.label(c.optimizer); },
          [](ReinforceConfig& c, const std::string& v) { c.optimizer = kOptimizers.parse(v); })
      .def_readwrite("adam_beta1", &ReinforceConfig::adam_beta1)
      .def_readwrite("adam_beta2", &ReinforceConfig::adam_beta2)
      .def_readwrite("adam_eps", &ReinforceConfig::adam_eps)
      .def_property(
          "fisher", [](const ReinforceConfig& c) { return kFishers.label(c.fisher); },
          [](ReinforceConfig& c, const std::string& v) { c.fisher = kFishers.parse(v); })
      .def_readwrite("damping", &ReinforceConfig::damping)
      .def_readwrite("max_kl", &ReinforceConfig::max_kl)
      .def_readwrite("value_ridge", &ReinforceConfig::value_ridge)
      .def_readwrite("bootstrap_truncated", &ReinforceConfig::bootstrap_truncated)
      .def_property(
          "update", [](const ReinforceConfig& c) { return kUpdates.label(c.online); },
          [](ReinforceConfig& c, const std::string& v) { c.online = kUpdates.parse(v); })
      .def_readwrite("seed", &ReinforceConfig::seed)
      .def_readwrite("num_threads", &ReinforceConfig::num_threads)
      .def("validate", &ReinforceConfig::validate,
           "Raise ValueError naming the first invalid field.");

  py::tuple stat_names(kIterationStats.size());
  for (std::size_t k = 0; k < kIterationStats.size(); ++k) stat_names[k] = kIterationStats[k].name;
  m.attr("ITERATION_STATS") = stat_names;

  py::class_<PyReinforce>(m, "Reinforce", "The policy-gradient engine (see pgfast.Reinforce).")
      .def(py::init([](py::object env, const py::handle& policy, const ReinforceConfig& config) {
             checked_env(env);
             return std::make_unique<PyReinforce>(std::move(env), checked_policy(policy), config);
           }),
           py::arg("env"), py::arg("policy"), py::arg("config"))
      .def_property_readonly("n_params", &PyReinforce::n_params)
      .def_property_readonly("completed", &PyReinforce::completed,
                             "Updates applied so far; an interrupted iterate() applies none.")
      .def("iterate", &PyReinforce::iterate, py::arg("theta"), py::arg("log_std"),
           "One update of theta (and log_std) in place; returns the iteration's statistics.")
      .def("gradient", &PyReinforce::gradient, py::arg("theta"), py::arg("log_std"),
           py::arg("episodes"), "(mean, stderr) of the gradient estimate, flat; no update.")
      .def("fisher", &PyReinforce::fisher, py::arg("theta"), py::arg("log_std"),
           py::arg("episodes"), "The Fisher matrix (n_params, n_params) of the natural step.")
      .def("last_batch", &PyReinforce::last_batch,
           "The last batch's per-step arrays as the estimator saw them.")
      .def("shard_begin", &PyReinforce::shard_begin, py::arg("theta"), py::arg("log_std"),
           py::arg("value_weights"), py::arg("value_fitted"), py::arg("batch"), py::arg("first"),
           py::arg("count"), py::arg("batch_episodes"), py::arg("kind"),
           "Collects episodes [first, first + count) of a batch and starts its estimate "
           "('update', 'gradient' or 'fisher'); returns the rounds to run.")
      .def("shard_round", &PyReinforce::shard_round, py::arg("round"),
           "This shard's tree nodes of a round: [(level, index, sum)].")
      .def("shard_receive", &PyReinforce::shard_receive, py::arg("round"), py::arg("sum"),
           "The batch-wide sum of a round (all but 'final').")
      .def("shard_summary", &PyReinforce::shard_summary,
           "This shard's episode returns and lengths and its diagnostic sample.")
      .def("take_batch", &PyReinforce::take_batch, "The number of the next batch.")
      .def("finish_update", &PyReinforce::finish_update, py::arg("theta"), py::arg("log_std"),
           py::arg("sum"), py::arg("summary"),
           "Applies an update from the final round's sum and the batch summary.")
      .def("finish_gradient", &PyReinforce::finish_gradient, py::arg("sum"), py::arg("episodes"))
      .def("finish_fisher", &PyReinforce::finish_fisher, py::arg("sum"), py::arg("episodes"))
      .def("value_weights", &PyReinforce::value_weights, "(weights, fitted) of the value.")
      .def("request_stop", &PyReinforce::request_stop,
           "Stops a running call (from another thread) as Ctrl-C would.");

  m.def(
      "tree_root",
      [](std::int64_t n_blocks, const py::list& nodes) {
        TreeNodes parts;
        for (const py::handle& item : nodes) {
          auto t = item.cast<py::tuple>();
          if (t.size() != 3) throw py::value_error("a tree node is (level, index, sum)");
          parts.push(t[0].cast<int>(), t[1].cast<std::int64_t>()).value = doubles(t[2], "sum");
        }
        PairwiseTree tree(n_blocks);
        std::vector<double> out;
        tree.root(&parts, 1, out);
        return vec(out);
      },
      py::arg("n_blocks"), py::arg("nodes"),
      "The sum over a batch's n_blocks blocks from tree nodes that partition them.");
  m.attr("BLOCK_EPISODES") = kBlockEpisodes;
  m.def(
      "batch_env_seed",
      [](std::uint64_t seed, std::uint64_t batch) { return batch_env_seed(seed, batch); },
      py::arg("seed"), py::arg("batch"),
      "Episode j of batch b of a collector seeded `seed` runs its env on stream "
      "(batch_env_seed(seed, b), j).");

  m.def(
      "evaluate",
      [](const py::handle& env, const py::handle& policy, const py::handle& theta,
         const py::handle& log_std, std::int64_t episodes, bool deterministic, std::uint64_t seed,
         int num_threads, std::int64_t first) {
        const EvaluationResult r =
            with_collector(env, policy, theta, log_std, seed, num_threads,
                           [&](Collector& c, const PolicyParams& p) {
                             return evaluate(c, p, episodes, deterministic, first);
                           });
        py::array_t<std::int64_t> lengths(static_cast<py::ssize_t>(r.lengths.size()),
                                          r.lengths.data());
        return py::make_tuple(vec(r.returns), lengths);
      },
      py::arg("env"), py::arg("policy"), py::arg("theta"), py::arg("log_std"), py::arg("episodes"),
      py::arg("deterministic"), py::arg("seed"), py::arg("num_threads"), py::arg("first") = 0,
      "(returns, lengths) per episode of episodes [first, first + episodes) of batch 0.");
  m.def(
      "rollout",
      [](const py::handle& env, const py::handle& policy, const py::handle& theta,
         const py::handle& log_std, std::int64_t episodes, std::int64_t steps, bool deterministic,
         std::uint64_t seed, int num_threads, std::int64_t first) {
        if (episodes < 0 || steps < 0 || (episodes > 0) == (steps > 0))
          throw py::value_error("give exactly one of episodes or steps (> 0)");
        const RolloutData r =
            with_collector(env, policy, theta, log_std, seed, num_threads,
                           [&](Collector& c, const PolicyParams& p) {
                             return rollout(c, p, episodes, steps, deterministic, first);
                           });
        const auto rows = static_cast<py::ssize_t>(r.rows);
        const auto n_obs = rows > 0 ? static_cast<py::ssize_t>(r.obs.size()) / rows : 0;
        py::dict d;
        d["observations"] =
            py::array_t<double>(std::vector<py::ssize_t>{rows, n_obs}, r.obs.data());
        if (!r.actions_c.empty() || r.actions_i.empty()) {
          const auto D = rows > 0 ? static_cast<py::ssize_t>(r.actions_c.size()) / rows : 0;
          d["actions"] = py::array_t<double>(std::vector<py::ssize_t>{rows, D}, r.actions_c.data());
        }
        if (!r.actions_i.empty())
          d["actions"] = py::array_t<std::int64_t>(rows, r.actions_i.data());
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
      },
      py::arg("env"), py::arg("policy"), py::arg("theta"), py::arg("log_std"), py::arg("episodes"),
      py::arg("steps"), py::arg("deterministic"), py::arg("seed"), py::arg("num_threads"),
      py::arg("first") = 0,
      "Per-step arrays of episodes [first, first + episodes) of batch 0 (no update).");

  m.def("allocation_count", &allocation_count,
        "Heap allocations made through operator new in pgfast's code since the process "
        "started (-1 in builds without the counter, e.g. under sanitizers).");

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
