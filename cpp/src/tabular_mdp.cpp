#include "pgfast/envs/tabular_mdp.hpp"

#include <cmath>
#include <memory>
#include <utility>

#include "pgfast/check.hpp"
#include "pgfast/envs/bandit.hpp"
#include "pgfast/envs/registry.hpp"
#include "pgfast/envs/vec_env.hpp"

namespace pgfast {

namespace {
// Row sums of probabilities written as decimals (or 1/3 thirds) are off by a
// few ulps; anything further from 1 is a modelling error.
constexpr double kSumTolerance = 1e-9;
}  // namespace

void TabularMdp::validate() const {
  require(n_states >= 1, "the MDP needs at least one state, got n_states=", n_states);
  require(n_actions >= 1, "the MDP needs at least one action, got n_actions=", n_actions);
  const auto S = static_cast<std::size_t>(n_states), A = static_cast<std::size_t>(n_actions);
  require(P.size() == S * A * S, "P must have shape (n_states, n_actions, n_states)");
  require(R.size() == S * A * S, "R must have shape (n_states, n_actions[, n_states])");
  require(initial.size() == S, "initial must have shape (n_states,) = (", n_states, ",), got ",
          initial.size(), " entries");
  require(terminal.size() == S, "terminal must have shape (n_states,) = (", n_states, ",)");
  require(max_episode_steps >= 0, "max_episode_steps must be >= 0, got ", max_episode_steps);
  for (std::size_t s = 0; s < S; ++s) {
    for (std::size_t a = 0; a < A; ++a) {
      double sum = 0.0;
      for (std::size_t t = 0; t < S; ++t) {
        const std::size_t k = (s * A + a) * S + t;
        require(std::isfinite(P[k]) && P[k] >= 0.0, "P[", s, ", ", a, ", ", t,
                "] must be a probability in [0, 1], got ", P[k]);
        require(std::isfinite(R[k]), "R[", s, ", ", a, ", ", t, "] must be finite, got ", R[k]);
        sum += P[k];
      }
      require(std::fabs(sum - 1.0) <= kSumTolerance, "P[", s, ", ", a,
              ", :] must sum to 1, sums to ", sum);
    }
  }
  double total = 0.0;
  for (std::size_t s = 0; s < S; ++s) {
    require(std::isfinite(initial[s]) && initial[s] >= 0.0, "initial[", s,
            "] must be a probability in [0, 1], got ", initial[s]);
    require(!(terminal[s] && initial[s] > 0.0), "initial puts probability ", initial[s],
            " on terminal state ", s, "; episodes must start in a non-terminal state");
    total += initial[s];
  }
  require(std::fabs(total - 1.0) <= kSumTolerance, "initial must sum to 1, sums to ", total);
}

TabularMdpModel::TabularMdpModel(TabularMdp mdp) : mdp_(std::move(mdp)) {
  mdp_.validate();
  const auto S = static_cast<std::size_t>(mdp_.n_states),
             A = static_cast<std::size_t>(mdp_.n_actions);
  row_begin_.reserve(S * A + 1);
  row_begin_.push_back(0);
  for (std::size_t row = 0; row < S * A; ++row) {
    double cumulative = 0.0;
    for (std::size_t t = 0; t < S; ++t) {
      const double p = mdp_.P[row * S + t];
      if (p <= 0.0) continue;
      cumulative += p;
      next_state_.push_back(static_cast<std::int64_t>(t));
      cdf_.push_back(cumulative);
      reward_.push_back(mdp_.R[row * S + t]);
    }
    row_begin_.push_back(static_cast<std::int64_t>(next_state_.size()));
  }
  double cumulative = 0.0;
  for (std::size_t s = 0; s < S; ++s) {
    if (mdp_.initial[s] <= 0.0) continue;
    cumulative += mdp_.initial[s];
    initial_states_.push_back(static_cast<std::int64_t>(s));
    initial_cdf_.push_back(cumulative);
  }
}

void TabularMdpModel::check_state(const double* s, std::int64_t row) const {
  require(s[0] == std::floor(s[0]) && s[0] >= 0 && s[0] < static_cast<double>(mdp_.n_states),
          "states[", row, ", 0] must be a state index in [0, ", mdp_.n_states, "), got ", s[0]);
}

BanditModel::BanditModel(std::vector<double> means, std::vector<double> stds)
    : means_(std::move(means)), stds_(std::move(stds)) {
  require(!means_.empty(), "a bandit needs at least one arm (means is empty)");
  require(stds_.size() == means_.size(), "stds must have one entry per arm (", means_.size(),
          "), got ", stds_.size());
  for (std::size_t k = 0; k < means_.size(); ++k) {
    require(std::isfinite(means_[k]), "means[", k, "] must be finite, got ", means_[k]);
    require(std::isfinite(stds_[k]) && stds_[k] >= 0, "stds[", k, "] must be >= 0, got ", stds_[k]);
  }
}

void BanditModel::check_state(const double* s, std::int64_t row) const {
  require(s[0] == 0.0, "states[", row, ", 0] must be 0: a bandit has the single state 0, got ",
          s[0]);
}

ContinuousBanditModel::ContinuousBanditModel(std::vector<double> a_star, double noise_std,
                                             std::vector<double> low, std::vector<double> high)
    : a_star_(std::move(a_star)),
      noise_std_(noise_std),
      low_(std::move(low)),
      high_(std::move(high)) {
  require(!a_star_.empty(), "a_star must have at least one entry");
  require(std::isfinite(noise_std_) && noise_std_ >= 0, "noise_std must be >= 0, got ", noise_std_);
  require(low_.size() == a_star_.size() && high_.size() == a_star_.size(),
          "low and high must have the shape of a_star (", a_star_.size(), ",)");
  for (std::size_t k = 0; k < a_star_.size(); ++k) {
    require(std::isfinite(a_star_[k]), "a_star[", k, "] must be finite, got ", a_star_[k]);
    require(!std::isnan(low_[k]) && !std::isnan(high_[k]) && low_[k] < high_[k], "low[", k,
            "] must be < high[", k, "], got ", low_[k], " and ", high_[k]);
  }
}

void ContinuousBanditModel::check_state(const double* s, std::int64_t row) const {
  require(s[0] == 0.0, "states[", row, ", 0] must be 0: a bandit has the single state 0, got ",
          s[0]);
}

std::unique_ptr<VecEnvBase> make_tabular_env(TabularMdp mdp, std::int64_t num_envs,
                                             std::uint64_t seed, int num_threads) {
  return std::make_unique<VecEnv<TabularMdpModel>>(TabularMdpModel(std::move(mdp)), num_envs, seed,
                                                   num_threads);
}

std::unique_ptr<VecEnvBase> make_bandit_env(std::vector<double> means, std::vector<double> stds,
                                            std::int64_t num_envs, std::uint64_t seed,
                                            int num_threads) {
  return std::make_unique<VecEnv<BanditModel>>(BanditModel(std::move(means), std::move(stds)),
                                               num_envs, seed, num_threads);
}

std::unique_ptr<VecEnvBase> make_continuous_bandit_env(std::vector<double> a_star, double noise_std,
                                                       std::vector<double> low,
                                                       std::vector<double> high,
                                                       std::int64_t num_envs, std::uint64_t seed,
                                                       int num_threads) {
  return std::make_unique<VecEnv<ContinuousBanditModel>>(
      ContinuousBanditModel(std::move(a_star), noise_std, std::move(low), std::move(high)),
      num_envs, seed, num_threads);
}

}  // namespace pgfast
