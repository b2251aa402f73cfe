#include "pgfast/reinforce.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "pgfast/check.hpp"
#include "pgfast/thread_pool.hpp"
#include "pgfast/types.hpp"

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
  if (limit > 0 && limit <= 100'000) estimator_.reserve(limit, optimizer_->needs_fisher());
  for (auto* v : {&grad_, &step_, &before_, &updated_})
    v->assign(static_cast<std::size_t>(P_), 0.0);
  if (optimizer_->needs_fisher()) fisher_.assign(static_cast<std::size_t>(P_ * P_), 0.0);
  scratch_.assign(static_cast<std::size_t>(std::max<std::int64_t>(policy_->scratch_size(), 1)),
                  0.0);
  old_log_std_.assign(static_cast<std::size_t>(std::max<std::int64_t>(D_, 1)), 0.0);
  // The diagnostic sample has fewer than 2 kDiagnosticStates rows: sized
  // now unless they are huge (then as batches arrive).
  const StepLayout& L = collector_.layout();
  if (L.phi + L.out <= 8192) {
    summary_.sample_phi.reserve(static_cast<std::size_t>(2 * kDiagnosticStates * L.phi));
    summary_.sample_out.reserve(static_cast<std::size_t>(2 * kDiagnosticStates * L.out));
  }
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

// rollout -> estimate -> step, as a distributed update runs it with one shard.
IterationStats Reinforce::step(double* theta, double* log_std) {
  BatchSpec spec;
  spec.index = take_batch();
  if (cfg_.steps_per_update > 0) {
    spec.steps_quota = (cfg_.steps_per_update + env_.num_envs() - 1) / env_.num_envs();
  } else {
    spec.count = cfg_.episodes_per_update;
  }
  begin_shard(theta, log_std, spec, 0, parts(EstimateKind::kUpdate));
  const std::vector<double>& sum = run_rounds();
  summary_.clear();
  shard_summary(summary_);
  return finish_update(theta, log_std, sum, summary_);
}

const std::vector<Round>& Reinforce::shard_begin(const double* theta, const double* log_std,
                                                 const double* value_weights, bool value_fitted,
                                                 std::uint64_t batch, std::int64_t first,
                                                 std::int64_t count, std::int64_t batch_episodes,
                                                 EstimateKind kind) {
  require(count >= 1 && first >= 0 && batch_episodes >= first + count,
          "a shard collects episodes [first, first + count) of its batch; got first ", first,
          ", count ", count, " of ", batch_episodes);
  if (value_weights) estimator_.set_value(value_weights, estimator_.value_width(), value_fitted);
  BatchSpec spec;
  spec.index = batch;
  spec.first = first;
  spec.count = count;
  begin_shard(theta, log_std, spec, batch_episodes, parts(kind));
  return estimator_.rounds();
}

void Reinforce::begin_shard(const double* theta, const double* log_std, const BatchSpec& spec,
                            std::int64_t batch_episodes, const FinalParts& parts) {
  shard_theta_.assign(theta, theta + n_theta_);
  if (log_std) shard_log_std_.assign(log_std, log_std + D_);
  const PolicyParams params{shard_theta_.data(), log_std ? shard_log_std_.data() : nullptr};
  shard_parts_ = parts;
  collector_.run(params, spec);
  shard_batch_episodes_ = batch_episodes > 0 ? batch_episodes : collector_.episodes();
  estimator_.begin(collector_, shard_batch_episodes_);
}

const TreeNodes& Reinforce::shard_round(Round r) {
  const PolicyParams params{shard_theta_.data(),
                            shard_log_std_.empty() ? nullptr : shard_log_std_.data()};
  estimator_.local(r, collector_, params, shard_parts_, shard_nodes_);
  return shard_nodes_;
}

void Reinforce::shard_receive(Round r, const std::vector<double>& sum) {
  estimator_.receive(r, collector_, sum);
}

const std::vector<double>& Reinforce::run_rounds() {
  for (const Round r : estimator_.rounds()) {
    const TreeNodes& nodes = shard_round(r);
    estimator_.tree().root(&nodes, 1, sum_);
    if (r != Round::kFinal) shard_receive(r, sum_);
  }
  return sum_;
}

void Reinforce::shard_summary(BatchSummary& out) const {
  const Collector& c = collector_;
  const StepLayout& L = c.layout();
  const std::int64_t M = shard_batch_episodes_;
  // Every stride-th episode of the batch, `per` evenly spaced steps of each.
  const std::int64_t stride = std::max<std::int64_t>(1, M / kDiagnosticStates);
  const std::int64_t sampled = (M + stride - 1) / stride;
  const std::int64_t per = std::max<std::int64_t>(1, kDiagnosticStates / sampled);
  for (std::int64_t j = 0; j < c.episodes(); ++j) {
    const EpisodeRecord& e = c.record(j);
    out.returns.push_back(e.undiscounted);
    out.lengths.push_back(e.length);
    if ((c.first_episode() + j) % stride != 0) continue;
    const EnvBuffer& b = c.buffer(j);
    const std::int64_t n = std::min(per, e.length);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t row = e.start + (2 * i + 1) * e.length / (2 * n);
      out.sample_phi.insert(out.sample_phi.end(), b.phi.begin() + row * L.phi,
                            b.phi.begin() + (row + 1) * L.phi);
      out.sample_out.insert(out.sample_out.end(), b.out.begin() + row * L.out,
                            b.out.begin() + (row + 1) * L.out);
    }
  }
}

FinalParts Reinforce::parts(EstimateKind kind) const {
  FinalParts parts;
  const bool value = estimator_.value_width() > 0;
  switch (kind) {
    case EstimateKind::kUpdate:
      parts.fisher = optimizer_->needs_fisher();
      parts.value = value;
      break;
    case EstimateKind::kGradient:
      parts.squares = true;
      parts.value = value;
      break;
    case EstimateKind::kFisher:
      parts.gradient = false;
      parts.fisher = true;
      break;
  }
  return parts;
}

IterationStats Reinforce::finish_update(double* theta, double* log_std,
                                        const std::vector<double>& sum,
                                        const BatchSummary& summary) {
  const FinalParts parts = this->parts(EstimateKind::kUpdate);
  const FinalLayout at = estimator_.final_layout(parts);
  require(static_cast<std::int64_t>(sum.size()) == at.size, "an update's sum has ", at.size,
          " entries, got ", sum.size());
  const auto m = static_cast<std::int64_t>(summary.returns.size());
  require(m >= 1, "an update needs at least one episode");
  const PolicyParams params{theta, log_std};
  const double inv_m = 1.0 / static_cast<double>(m);
  for (std::int64_t k = 0; k < P_; ++k)
    grad_[static_cast<std::size_t>(k)] = sum[static_cast<std::size_t>(at.gradient + k)] * inv_m;
  IterationStats stats;
  batch_stats(summary, stats);
  stats.grad_norm = scaled_norm(grad_);
  require_finite_gradient();
  if (parts.fisher) fisher_from(sum.data() + at.fisher, m, fisher_.data());
  try {
    optimizer_->direction(grad_.data(), fisher_.empty() ? nullptr : fisher_.data(), step_.data());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(concat("iteration ", completed_ + 1, ": ", e.what()));
  }
  flatten(theta, log_std, before_);
  if (learn_std_) std::copy(log_std, log_std + D_, old_log_std_.begin());
  apply(theta, log_std);
  const PolicyParams old{before_.data(), learn_std_ ? old_log_std_.data() : log_std};
  sample_entropy_kl(summary, old, params, &stats.entropy, &stats.kl);
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
  if (parts.value) estimator_.fit_value(sum.data() + at.value_matrix, sum.data() + at.value_rhs);
  env_.require_reset_all();
  return stats;
}

void Reinforce::fisher_from(const double* lower, std::int64_t m, double* out) const {
  ConstMatMap sum(lower, P_, P_);
  MatMap F(out, P_, P_);
  F.triangularView<Eigen::Lower>() = sum;
  F.triangularView<Eigen::StrictlyUpper>() = F.transpose();
  F /= static_cast<double>(m);
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
    BatchSpec spec;
    spec.index = take_batch();
    spec.count = episodes;
    begin_shard(theta, log_std, spec, episodes, parts(EstimateKind::kGradient));
    GradientEstimate est = finish_gradient(run_rounds(), episodes);
    env_.require_reset_all();
    return est;
  });
}

GradientEstimate Reinforce::finish_gradient(const std::vector<double>& sum, std::int64_t episodes) {
  const FinalParts parts = this->parts(EstimateKind::kGradient);
  const FinalLayout at = estimator_.final_layout(parts);
  require(static_cast<std::int64_t>(sum.size()) == at.size, "an estimate's sum has ", at.size,
          " entries, got ", sum.size());
  GradientEstimate est;
  est.mean.assign(static_cast<std::size_t>(P_), 0.0);
  est.stderr_.assign(static_cast<std::size_t>(P_), 0.0);
  const double inv_m = 1.0 / static_cast<double>(episodes);
  for (std::int64_t k = 0; k < P_; ++k) {
    const double g = sum[static_cast<std::size_t>(at.gradient + k)] * inv_m;
    const double sq = sum[static_cast<std::size_t>(at.squares + k)];
    const double var = episodes > 1 ? (sq - static_cast<double>(episodes) * g * g) /
                                          static_cast<double>(episodes - 1)
                                    : 0.0;
    est.mean[static_cast<std::size_t>(k)] = g;
    est.stderr_[static_cast<std::size_t>(k)] = std::sqrt(std::max(var, 0.0) * inv_m);
  }
  est.episodes = episodes;
  // As after an update, the value baseline of the next call is fitted on
  // this batch.
  if (parts.value) estimator_.fit_value(sum.data() + at.value_matrix, sum.data() + at.value_rhs);
  return est;
}

std::vector<double> Reinforce::fisher(const double* theta, const double* log_std,
                                      std::int64_t episodes) {
  return translate_interrupt([&] {
    require(episodes >= 1, "episodes must be >= 1, got ", episodes);
    require(P_ <= kMaxDense, "the Fisher matrix of ", P_,
            " parameters is too large to form (at most ", kMaxDense, ")");
    BatchSpec spec;
    spec.index = take_batch();
    spec.count = episodes;
    begin_shard(theta, log_std, spec, episodes, parts(EstimateKind::kFisher));
    std::vector<double> out = finish_fisher(run_rounds(), episodes);
    env_.require_reset_all();
    return out;
  });
}

std::vector<double> Reinforce::finish_fisher(const std::vector<double>& sum,
                                             std::int64_t episodes) const {
  require(static_cast<std::int64_t>(sum.size()) == P_ * P_, "a Fisher sum has ", P_ * P_,
          " entries, got ", sum.size());
  std::vector<double> out(static_cast<std::size_t>(P_ * P_));
  fisher_from(sum.data(), episodes, out.data());
  return out;
}

// ---- statistics ----------------------------------------------------------------

void Reinforce::batch_stats(const BatchSummary& summary, IterationStats& s) const {
  const auto m = static_cast<std::int64_t>(summary.returns.size());
  const double* R = summary.returns.data();
  s.episodes = static_cast<double>(m);
  double sum = 0.0, len = 0.0;
  s.return_min = std::numeric_limits<double>::infinity();
  s.return_max = -std::numeric_limits<double>::infinity();
  for (std::int64_t j = 0; j < m; ++j) {
    sum += R[j];
    s.return_min = std::min(s.return_min, R[j]);
    s.return_max = std::max(s.return_max, R[j]);
    len += static_cast<double>(summary.lengths[static_cast<std::size_t>(j)]);
  }
  s.env_steps = len;
  s.return_mean = sum / static_cast<double>(m);
  s.return_std = spread(s.return_mean, m, [&](std::int64_t j) { return R[j]; });
  s.length_mean = len / static_cast<double>(m);
}

void Reinforce::sample_entropy_kl(const BatchSummary& summary, const PolicyParams& old,
                                  const PolicyParams& next, double* entropy, double* kl) {
  const StepLayout& L = collector_.layout();
  const std::int64_t n = static_cast<std::int64_t>(summary.sample_out.size()) / L.out;
  double h = 0.0, k = 0.0;
  policy_->visit([&](const auto& policy) {
    for (std::int64_t i = 0; i < n; ++i) {
      const double* phi = summary.sample_phi.data() + i * L.phi;
      const double* out = summary.sample_out.data() + i * L.out;
      h += policy.entropy(old, out);
      k += policy.kl(old, next, phi, out, scratch_.data());
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
