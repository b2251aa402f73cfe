// A finite MDP given by tables, stepped by sampling its transition rows.
//
// P[s, a, s'] transition probabilities, R[s, a, s'] rewards (an R[s, a] table
// is broadcast over s'), an initial distribution and a terminal mask over
// states: an episode terminates on entering a terminal state. The observation
// is the state index (int64), as in Gymnasium's toy-text environments.
#ifndef PGFAST_ENVS_TABULAR_MDP_HPP_
#define PGFAST_ENVS_TABULAR_MDP_HPP_

#include <cstdint>
#include <string>
#include <vector>

#include "pgfast/envs/env.hpp"
#include "pgfast/rng.hpp"

namespace pgfast {

struct TabularMdp {
  std::int64_t n_states = 0;
  std::int64_t n_actions = 0;
  std::vector<double> P;               // n_states * n_actions * n_states
  std::vector<double> R;               // n_states * n_actions * n_states
  std::vector<double> initial;         // n_states
  std::vector<bool> terminal;          // n_states
  std::int64_t max_episode_steps = 0;  // 0: no limit
  std::string id = "TabularMDP";

  // Throws std::invalid_argument naming the first inconsistency.
  void validate() const;
};

struct NoParams {};

class TabularMdpModel {
 public:
  using Params = NoParams;
  using Obs = std::int64_t;
  static constexpr bool kDiscreteAction = true;
  static constexpr std::int64_t kParallelGrain = 4096;

  explicit TabularMdpModel(TabularMdp mdp);

  const TabularMdp& mdp() const { return mdp_; }
  std::string id() const { return mdp_.id; }
  std::int64_t state_dim() const { return 1; }
  std::int64_t scratch_dim() const { return 0; }
  std::int64_t max_episode_steps() const { return mdp_.max_episode_steps; }
  SpaceSpec observation_space() const { return SpaceSpec::make_discrete(mdp_.n_states); }
  SpaceSpec action_space() const { return SpaceSpec::make_discrete(mdp_.n_actions); }
  static const std::vector<ParamField<Params>>& param_fields() {
    static const std::vector<ParamField<Params>> none;
    return none;
  }

  void reset(const Params&, Rng& rng, double* s) const {
    s[0] = static_cast<double>(initial_states_[static_cast<std::size_t>(
        rng.categorical_cdf(initial_cdf_.data(), static_cast<std::int64_t>(initial_cdf_.size())))]);
  }

  StepResult step(const Params&, double* s, std::int64_t a, Rng& rng, double*) const {
    const auto row = static_cast<std::size_t>(static_cast<std::int64_t>(s[0]) * mdp_.n_actions + a);
    const std::int64_t begin = row_begin_[row];
    const std::int64_t k =
        begin + rng.categorical_cdf(cdf_.data() + begin, row_begin_[row + 1] - begin);
    const std::int64_t next = next_state_[static_cast<std::size_t>(k)];
    s[0] = static_cast<double>(next);
    return {reward_[static_cast<std::size_t>(k)], mdp_.terminal[static_cast<std::size_t>(next)]};
  }

  void observe(const Params&, const double* s, std::int64_t* obs) const {
    obs[0] = static_cast<std::int64_t>(s[0]);
  }
  void check_state(const double* s, std::int64_t row) const;

 private:
  TabularMdp mdp_;
  // Sparse outcomes of each (s, a) row: next states, cumulative
  // probabilities and rewards in [row_begin_[row], row_begin_[row + 1]).
  std::vector<std::int64_t> row_begin_;
  std::vector<std::int64_t> next_state_;
  std::vector<double> cdf_;
  std::vector<double> reward_;
  std::vector<std::int64_t> initial_states_;
  std::vector<double> initial_cdf_;
};

}  // namespace pgfast

#endif  // PGFAST_ENVS_TABULAR_MDP_HPP_
