#include "pgfast/reinforce.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "pgfast/check.hpp"
#include "pgfast/thread_pool.hpp"

namespace pgfast {

namespace {

// Bound on a Gaussian policy's log std (sigma from 2e-9 to 5e8).
constexpr double kMaxLogStd = 20.0;
// States the entropy and KL diagnostics are averaged over: an evenly spaced
// sample, as the full pass would cost as much as the rollout's policy.
constexpr std::int64_t kDiagnosticStates = 256;

// Standard deviation of m values around their mean, scaled so that huge
// finite values do not overflow their squares.
template <class Value>
double spread(double mean, std::int64_t m, Value value) {
  double scale = 0.0;
  for (std::int64_t j = 0; j < m; ++j) scale = std::max(scale, std::fabs(value(j) - mean));
  if (scale == 0.0 || !std::isfinite(scale)) return scale;
  double sq = 0.0;
  for (std::int64_t j = 0; j < m; ++j) {
    const double d = (value(j) - mean) / scale;
    sq += d * d;
  }
  return scale * std::sqrt(sq / static_cast<double>(m));
}

}  // namespace

// Euclidean norm, scaled so that huge finite entries do not overflow.
double scaled_norm(const std::vector<double>& g) {
  double scale = 0.0;
  for (double v : g) scale = std::max(scale, std::fabs(v));
  if (scale == 0.0 || !std::isfinite(scale)) return scale;
  double s = 0.0;
  for (double v : g) s += (v / scale) * (v / scale);
  return scale * std::sqrt(s);
}

void ReinforceConfig::validate() const {
  require(std::isfinite(lr) && lr > 0, "lr must be > 0, got ", lr);
  require(std::isfinite(gamma) && gamma >= 0 && gamma <= 1, "gamma must be in [0, 1], got ", gamma);
  require(episodes_per_update >= 1, "episodes_per_update must be >= 1, got ", episodes_per_update);
  require(steps_per_update >= 0, "steps_per_update must be >= 0 (0: use episodes_per_update), got ",
          steps_per_update);
  require(!(online && steps_per_update > 0), "update='online' counts episodes, not steps");
  require(std::isfinite(gae_lambda) && gae_lambda >= 0 && gae_lambda <= 1,
          "gae_lambda must be in [0, 1], got ", gae_lambda);
  require(std::isfinite(adam_beta1) && adam_beta1 >= 0 && adam_beta1 < 1,
          "adam_beta1 must be in [0, 1), got ", adam_beta1);
  require(std::isfinite(adam_beta2) && adam_beta2 >= 0 && adam_beta2 < 1,
          "adam_beta2 must be in [0, 1), got ", adam_beta2);
  require(std::isfinite(adam_eps) && adam_eps > 0, "adam_eps must be > 0, got ", adam_eps);
  require(std::isfinite(damping) && damping >= 0, "damping must be >= 0, got ", damping);
  require(std::isfinite(max_kl) && max_kl >= 0, "max_kl must be >= 0, got ", max_kl);
  require(std::isfinite(value_ridge) && value_ridge > 0, "value_ridge must be > 0, got ",
          value_ridge);
  require(num_threads >= 1 && num_threads <= ThreadPool::kMaxThreads, "num_threads must be in [1, ",
          ThreadPool::kMaxThreads, "], got ", num_threads);
  require(!(baseline == Baseline::kOptimal && returns != Returns::kTotal),
          "baseline='optimal' (b_k = E[g_k^2 R] / E[g_k^2]) is defined for returns='total'");
  require(!(returns == Returns::kGae && baseline != Baseline::kNone),
          "returns='gae' has its own value baseline; use baseline='none'");
  require(!(online && optimizer == OptimizerKind::kNatural),
          "update='online' supports the sgd and adam optimizers");
  require(!(online && baseline != Baseline::kNone && baseline != Baseline::kMean),
          "update='online' supports baseline 'none' or 'mean' (a running mean of past returns)");
  require(!(online && returns == Returns::kGae), "update='online' does not support returns='gae'");
}

EstimatorConfig ReinforceConfig::estimator() const {
  EstimatorConfig e;
  e.gamma = gamma;
  e.returns = returns;
  e.baseline = online ? Baseline::kNone : baseline;
  e.gae_lambda = gae_lambda;
  e.normalize_advantages = normalize_advantages;
  e.fisher = fisher;
  e.value_ridge = value_ridge;
  e.bootstrap_truncated = bootstrap_truncated;
  return e;
}

OptimizerConfig ReinforceConfig::optimizer_config() const {
  OptimizerConfig o;
  o.kind = optimizer;
  o.lr = lr;
  o.adam_beta1 = adam_beta1;
  o.adam_beta2 = adam_beta2;
  o.adam_eps = adam_eps;
  o.damping = damping;
  o.max_kl = max_kl;
  return o;
}

namespace {
const ReinforceConfig& validated(const ReinforceConfig& c) {
  c.validate();
  return c;
}
}  // namespace

Reinforce::Reinforce(VecEnvBase& env, std::shared_ptr<const PolicyModel> policy,
                     ReinforceConfig config)
    : env_(env),
      policy_(policy),
      cfg_(validated(config)),
      collector_(env, policy, config.seed, config.num_threads),
      estimator_(policy, config.estimator()) {
  P_ = policy_->n_params();
  n_theta_ = policy_->n_theta();
  D_ = policy_->action_dim();
  learn_std_ = policy_->learn_std();
  require(cfg_.optimizer != OptimizerKind::kNatural || P_ <= kMaxDense,
          "optimizer='natural' solves with a dense ", P_, " x ", P_,
          " Fisher matrix; it supports at most ", kMaxDense, " parameters");
  optimizer_ = make_optimizer(cfg_.optimizer_config(), P_);
  // Workspaces for the longest episode the time limit allows (bounded: a
  // limit of millions of steps is sized as episodes arrive instead).
  const std::int64_t limit = env_.max_episode_steps();
  if (limit > 0 && limit <= 100'000) estimator_.reserve(limit);
  for (auto* v : {&grad_, &step_, &before_, &updated_})
    v->assign(static_cast<std::size_t>(P_), 0.0);
  if (optimizer_->needs_fisher()) fisher_.assign(static_cast<std::size_t>(P_ * P_), 0.0);
  scratch_.assign(static_cast<std::size_t>(std::max<std::int64_t>(policy_->scratch_size(), 1)),
                  0.0);
  old_log_std_.assign(static_cast<std::size_t>(std::max<std::int64_t>(D_, 1)), 0.0);
}

Reinforce::~Reinforce() = default;

void Reinforce::set_should_stop(std::function<bool()> fn) {
  should_stop_ = fn;
  collector_.set_should_stop(std::move(fn));
}

namespace {
// The collector signals Ctrl-C with Interrupted; callers see InterruptedError.
template <class Fn>
auto translate_interrupt(Fn&& fn) {
  try {
    return fn();
  } catch (const Interrupted&) {
    throw InterruptedError();
  }
}
}  // namespace

IterationStats Reinforce::iterate(double* theta, double* log_std) {
  return translate_interrupt(
      [&] { return cfg_.online ? step_online(theta, log_std) : step(theta, log_std); });
}

// rollout -> estimate -> step.
IterationStats Reinforce::step(double* theta, double* log_std) {
  const PolicyParams params{theta, log_std};
  const std::int64_t quota = cfg_.steps_per_update > 0
                                 ? (cfg_.steps_per_update + env_.num_envs() - 1) / env_.num_envs()
                                 : 0;
  collector_.run(params, cfg_.episodes_per_update, quota, false);
  estimator_.advantages(collector_);
  estimator_.gradient(collector_, params, grad_.data(), nullptr);
  IterationStats stats;
  batch_stats(stats);
  stats.grad_norm = scaled_norm(grad_);
  require_finite_gradient();
  if (optimizer_->needs_fisher()) estimator_.fisher(collector_, params, fisher_.data());
  try {
    optimizer_->direction(grad_.data(), fisher_.empty() ? nullptr : fisher_.data(), step_.data());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(concat("iteration ", completed_ + 1, ": ", e.what()));
  }
  flatten(theta, log_std, before_);
  if (learn_std_) std::copy(log_std, log_std + D_, old_log_std_.begin());
  apply(theta, log_std);
  const PolicyParams old{before_.data(), learn_std_ ? old_log_std_.data() : log_std};
  sample_entropy_kl(old, params, &stats.entropy, &stats.kl);
  if (!std::isfinite(stats.kl)) {
    // Finite parameters, but a policy infinitely far from the last one
    // (probabilities or densities that underflow): the run has diverged.
    unflatten(before_, theta, log_std);
    optimizer_->undo();
    throw std::runtime_error(concat("iteration ", completed_ + 1,
                                    ": the update moved the policy by an infinite KL "
                                    "divergence; the parameters were left at their last "
                                    "values (lower the step size)"));
  }
  stats.fisher_condition = optimizer_->condition();
  ++completed_;
  estimator_.fit_value(collector_);
  env_.require_reset_all();
  return stats;
}

void Reinforce::apply(double* theta, double* log_std) {
  flatten(theta, log_std, updated_);
  for (std::int64_t k = 0; k < P_; ++k)
    updated_[static_cast<std::size_t>(k)] += step_[static_cast<std::size_t>(k)];
  // A learned log std stays in [-kMaxLogStd, kMaxLogStd]: beyond, sigma^2
  // or 1 / sigma^2 leave the float64 range and scores become inf or NaN.
  if (learn_std_)
    for (std::int64_t d = 0; d < D_; ++d) {
      double& v = updated_[static_cast<std::size_t>(n_theta_ + d)];
      if (std::isfinite(v)) v = std::min(std::max(v, -kMaxLogStd), kMaxLogStd);
    }
  bool finite = true;
  for (double v : updated_) finite = finite && std::isfinite(v);
  // Last chance to be interrupted: after this the update is applied whole.
  const bool stop = should_stop_ && should_stop_();
  if (!finite || stop) {
    optimizer_->undo();
    if (stop) throw Interrupted{};
    throw std::runtime_error(concat("iteration ", completed_ + 1,
                                    ": the update made the parameters non-finite; they were "
                                    "left at their last finite values"));
  }
  unflatten(updated_, theta, log_std);
}

GradientEstimate Reinforce::gradient(const double* theta, const double* log_std,
                                     std::int64_t episodes) {
  return translate_interrupt([&] {
    require(episodes >= 2, "episodes must be >= 2 (standard errors need two), got ", episodes);
    const PolicyParams params{theta, log_std};
    collector_.run(params, episodes, 0, false);
    estimator_.advantages(collector_);
    GradientEstimate est;
    est.mean.assign(static_cast<std::size_t>(P_), 0.0);
    est.stderr_.assign(static_cast<std::size_t>(P_), 0.0);
    estimator_.gradient(collector_, params, est.mean.data(), est.stderr_.data());
    est.episodes = episodes;
    // As after an update, the value baseline of the next call is fitted on
    // this batch.
    estimator_.fit_value(collector_);
    env_.require_reset_all();
    return est;
  });
}

std::vector<double> Reinforce::fisher(const double* theta, const double* log_std,
                                      std::int64_t episodes) {
  return translate_interrupt([&] {
    require(episodes >= 1, "episodes must be >= 1, got ", episodes);
    require(P_ <= kMaxDense, "the Fisher matrix of ", P_,
            " parameters is too large to form (at "
            "most ",
            kMaxDense, ")");
    const PolicyParams params{theta, log_std};
    collector_.run(params, episodes, 0, false);
    std::vector<double> out(static_cast<std::size_t>(P_ * P_));
    estimator_.fisher(collector_, params, out.data());
    env_.require_reset_all();
    return out;
  });
}

// ---- statistics ----------------------------------------------------------------

void Reinforce::batch_stats(IterationStats& s) const {
  const Collector& c = collector_;
  const std::int64_t m = c.episodes();
  s.episodes = static_cast<double>(m);
  double sum = 0.0, len = 0.0;
  s.return_min = std::numeric_limits<double>::infinity();
  s.return_max = -std::numeric_limits<double>::infinity();
  for (std::int64_t j = 0; j < m; ++j) {
    const EpisodeRecord& e = c.record(j);
    sum += e.undiscounted;
    s.return_min = std::min(s.return_min, e.undiscounted);
    s.return_max = std::max(s.return_max, e.undiscounted);
    len += static_cast<double>(e.length);
  }
  s.env_steps = static_cast<double>(c.rows());
  s.return_mean = sum / static_cast<double>(m);
  s.return_std = spread(s.return_mean, m, [&](std::int64_t j) { return c.record(j).undiscounted; });
  s.length_mean = len / static_cast<double>(m);
}

void Reinforce::sample_entropy_kl(const PolicyParams& old, const PolicyParams& next,
                                  double* entropy, double* kl) {
  const Collector& c = collector_;
  const StepLayout& L = c.layout();
  const std::int64_t stride = std::max<std::int64_t>(1, c.rows() / kDiagnosticStates);
  double h = 0.0, k = 0.0;
  std::int64_t n = 0, row = 0;
  policy_->visit([&](const auto& policy) {
    for (std::int64_t j = 0; j < c.episodes(); ++j) {
      const EnvBuffer& b = c.buffer(j);
      const EpisodeRecord& e = c.record(j);
      // Rows row, row + stride, ... of the batch that fall in this episode.
      std::int64_t t = (stride - row % stride) % stride;
      for (; t < e.length; t += stride, ++n) {
        const double* phi = b.phi.data() + (e.start + t) * L.phi;
        const double* out = b.out.data() + (e.start + t) * L.out;
        h += policy.entropy(old, out);
        k += policy.kl(old, next, phi, out, scratch_.data());
      }
      row += e.length;
    }
  });
  *entropy = n > 0 ? h / static_cast<double>(n) : 0.0;
  // Each term is >= 0; rounding can leave a tiny negative sum.
  *kl = n > 0 ? std::max(k / static_cast<double>(n), 0.0) : 0.0;
}

// ---- helpers -------------------------------------------------------------------

void Reinforce::require_finite_gradient() const {
  for (double v : grad_)
    if (!std::isfinite(v))
      throw std::runtime_error(concat("iteration ", completed_ + 1,
                                      ": the gradient is not finite; the parameters were left "
                                      "at their last finite values"));
}

void Reinforce::flatten(const double* theta, const double* log_std,
                        std::vector<double>& out) const {
  out.resize(static_cast<std::size_t>(P_));
  std::copy(theta, theta + n_theta_, out.begin());
  if (learn_std_) std::copy(log_std, log_std + D_, out.begin() + n_theta_);
}

void Reinforce::unflatten(const std::vector<double>& p, double* theta, double* log_std) const {
  std::copy(p.begin(), p.begin() + n_theta_, theta);
  if (learn_std_) std::copy(p.begin() + n_theta_, p.begin() + P_, log_std);
}

}  // namespace pgfast
