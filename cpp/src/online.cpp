// Williams' (1992) online REINFORCE: an update after every episode, with
// the same collector, estimator and optimizer as a batch of one.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "pgfast/check.hpp"
#include "pgfast/reinforce.hpp"

namespace pgfast {

IterationStats Reinforce::step_online(double* theta, double* log_std) {
  const std::int64_t m = cfg_.episodes_per_update;
  std::vector<double> before;
  flatten(theta, log_std, before);
  const double mean_before = running_mean_;
  const std::int64_t seen_before = episodes_seen_;
  optimizer_->save();
  IterationStats stats;
  stats.return_min = std::numeric_limits<double>::infinity();
  stats.return_max = -std::numeric_limits<double>::infinity();
  double entropy_sum = 0.0, grad_sq = 0.0, sum_sq = 0.0;
  auto last_poll = std::chrono::steady_clock::now();
  for (std::int64_t j = 0; j < m; ++j) {
    // An interrupted (or failed) iteration is undone whole: its updates are
    // applied together or not at all.
    try {
      const auto now = std::chrono::steady_clock::now();
      if (should_stop_ && now - last_poll > std::chrono::milliseconds(20)) {
        last_poll = now;
        if (should_stop_()) throw Interrupted{};
      }
      online_episode(j, theta, log_std, stats, entropy_sum, grad_sq);
    } catch (...) {
      unflatten(before, theta, log_std);
      optimizer_->restore();
      running_mean_ = mean_before;
      episodes_seen_ = seen_before;
      throw;
    }
    const double r = collector_.record(0).undiscounted;
    sum_sq += r * r;
  }
  stats.episodes = static_cast<double>(m);
  stats.return_mean /= static_cast<double>(m);
  stats.return_std = std::sqrt(
      std::max(sum_sq / static_cast<double>(m) - stats.return_mean * stats.return_mean, 0.0));
  stats.length_mean = stats.env_steps / static_cast<double>(m);
  stats.entropy = entropy_sum / stats.env_steps;
  stats.grad_norm = std::sqrt(grad_sq / static_cast<double>(m));
  // Many updates within the iteration: no one old policy to measure a KL from.
  stats.kl = std::numeric_limits<double>::quiet_NaN();
  stats.fisher_condition = std::numeric_limits<double>::quiet_NaN();
  ++completed_;
  env_.require_reset_all();
  return stats;
}

// One episode of Williams' online form and its update: the same collector,
// estimator and optimizer as a batch of one, with a running-mean baseline
// of the earlier episodes (independent of this one, so unbiased).
void Reinforce::online_episode(std::int64_t j, double* theta, double* log_std,
                               IterationStats& stats, double& entropy_sum, double& grad_sq) {
  const PolicyParams params{theta, log_std};
  collector_.run_one(params, take_batch(), j % env_.num_envs());
  const double baseline = cfg_.baseline == Baseline::kMean ? running_mean_ : 0.0;
  // A batch of one episode: its gradient is the final round's sum.
  const std::vector<double>& sum = estimator_.estimate(collector_, params, FinalParts{}, &baseline);
  std::copy(sum.begin(), sum.begin() + P_, grad_.begin());
  require_finite_gradient();
  try {
    optimizer_->direction(grad_.data(), nullptr, step_.data());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(concat("iteration ", completed_ + 1, ", episode ", j, ": ", e.what()));
  }
  flatten(theta, log_std, updated_);
  for (std::int64_t k = 0; k < P_; ++k)
    updated_[static_cast<std::size_t>(k)] += step_[static_cast<std::size_t>(k)];
  for (double v : updated_)
    if (!std::isfinite(v))
      throw std::runtime_error(concat("iteration ", completed_ + 1, ", episode ", j,
                                      ": the update made the parameters non-finite; they "
                                      "were reset to their values before this iteration"));
  const EpisodeRecord& e = collector_.record(0);
  // Entropy of the policy that acted, over the episode's states.
  const EnvBuffer& b = collector_.buffer(0);
  policy_->visit([&](const auto& policy) {
    for (std::int64_t t = 0; t < e.length; ++t)
      entropy_sum += policy.entropy(params, b.out.data() + (e.start + t) * collector_.layout().out);
  });
  unflatten(updated_, theta, log_std);
  double psi_mean = 0.0;
  for (std::int64_t t = 0; t < e.length; ++t)
    psi_mean += estimator_.psi()[static_cast<std::size_t>(t)];
  psi_mean /= static_cast<double>(e.length);
  ++episodes_seen_;
  running_mean_ += (psi_mean - running_mean_) / static_cast<double>(episodes_seen_);
  stats.return_mean += e.undiscounted;
  stats.return_min = std::min(stats.return_min, e.undiscounted);
  stats.return_max = std::max(stats.return_max, e.undiscounted);
  stats.env_steps += static_cast<double>(e.length);
  const double gn = scaled_norm(grad_);
  grad_sq += gn * gn;
}

}  // namespace pgfast
