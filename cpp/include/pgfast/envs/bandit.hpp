// One-step environments for testing estimators where the answer is known.
//
// Bandit: k arms; pulling arm a pays means[a] + stds[a] * N(0, 1).
// ContinuousBandit: an action a in R^d pays -||a - a_star||^2 + noise_std *
// N(0, 1), with a clipped to [low, high] first.
// Both observe a single state (Discrete(1), always 0) and terminate after
// every step, so each episode is one pull.
#ifndef PGFAST_ENVS_BANDIT_HPP_
#define PGFAST_ENVS_BANDIT_HPP_

#include <cstdint>
#include <string>
#include <vector>

#include "pgfast/envs/env.hpp"
#include "pgfast/envs/tabular_mdp.hpp"
#include "pgfast/rng.hpp"

namespace pgfast {

class BanditModel {
 public:
  using Params = NoParams;
  using Obs = std::int64_t;
  static constexpr bool kDiscreteAction = true;
  static constexpr std::int64_t kParallelGrain = 4096;

  BanditModel(std::vector<double> means, std::vector<double> stds);

  const std::vector<double>& means() const { return means_; }
  const std::vector<double>& stds() const { return stds_; }
  std::string id() const { return "Bandit"; }
  std::int64_t state_dim() const { return 1; }
  std::int64_t scratch_dim() const { return 0; }
  std::int64_t max_episode_steps() const { return 0; }
  SpaceSpec observation_space() const { return SpaceSpec::make_discrete(1); }
  SpaceSpec action_space() const {
    return SpaceSpec::make_discrete(static_cast<std::int64_t>(means_.size()));
  }
  static const std::vector<ParamField<Params>>& param_fields() {
    static const std::vector<ParamField<Params>> none;
    return none;
  }
  void reset(const Params&, Rng&, double* s) const { s[0] = 0.0; }
  StepResult step(const Params&, double*, std::int64_t a, Rng& rng, double*) const {
    const auto k = static_cast<std::size_t>(a);
    const double noise = stds_[k] > 0 ? stds_[k] * rng.normal() : 0.0;
    return {means_[k] + noise, true};
  }
  void observe(const Params&, const double*, std::int64_t* obs) const { obs[0] = 0; }
  void check_state(const double* s, std::int64_t row) const;

 private:
  std::vector<double> means_, stds_;
};

class ContinuousBanditModel {
 public:
  using Params = NoParams;
  using Obs = std::int64_t;
  static constexpr bool kDiscreteAction = false;
  static constexpr std::int64_t kParallelGrain = 4096;

  ContinuousBanditModel(std::vector<double> a_star, double noise_std, std::vector<double> low,
                        std::vector<double> high);

  const std::vector<double>& a_star() const { return a_star_; }
  double noise_std() const { return noise_std_; }
  std::string id() const { return "ContinuousBandit"; }
  std::int64_t state_dim() const { return 1; }
  std::int64_t scratch_dim() const { return 0; }
  std::int64_t max_episode_steps() const { return 0; }
  SpaceSpec observation_space() const { return SpaceSpec::make_discrete(1); }
  SpaceSpec action_space() const { return SpaceSpec::make_box(low_, high_, Dtype::kFloat64); }
  static const std::vector<ParamField<Params>>& param_fields() {
    static const std::vector<ParamField<Params>> none;
    return none;
  }
  void reset(const Params&, Rng&, double* s) const { s[0] = 0.0; }
  StepResult step(const Params&, double*, const double* a, Rng& rng, double*) const {
    double reward = 0.0;
    for (std::size_t k = 0; k < a_star_.size(); ++k) {
      const double ak = a[k] < low_[k] ? low_[k] : (a[k] > high_[k] ? high_[k] : a[k]);
      const double d = ak - a_star_[k];
      reward -= d * d;
    }
    if (noise_std_ > 0) reward += noise_std_ * rng.normal();
    return {reward, true};
  }
  void observe(const Params&, const double*, std::int64_t* obs) const { obs[0] = 0; }
  void check_state(const double* s, std::int64_t row) const;

 private:
  std::vector<double> a_star_;
  double noise_std_;
  std::vector<double> low_, high_;
};

}  // namespace pgfast

#endif  // PGFAST_ENVS_BANDIT_HPP_
