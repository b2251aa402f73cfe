// Running a policy without learning: evaluation and per-step rollouts for
// pipelines. Both need only a Collector.
#ifndef PGFAST_ROLLOUT_HPP_
#define PGFAST_ROLLOUT_HPP_

#include <cstdint>
#include <vector>

#include "pgfast/collector.hpp"

namespace pgfast {

struct EvaluationResult {
  std::vector<double> returns;  // undiscounted sum of rewards per episode
  std::vector<std::int64_t> lengths;
};

// Per-step arrays of a batch of episodes, episode after episode.
struct RolloutData {
  std::int64_t rows = 0;
  std::vector<double> obs;              // rows x obs_size (float64 view)
  std::vector<std::int64_t> actions_i;  // discrete: rows
  std::vector<double> actions_c;        // Gaussian: rows x action_dim, unclipped samples
  std::vector<double> rewards, log_probs;
  std::vector<std::uint8_t> terminated, truncated;  // set on each episode's last step
  std::vector<std::int64_t> episode;                // index of the episode in the batch
};

// Both run episodes [first, first + episodes) of the collector's batch 0
// (so a seed gives the same episodes every call, and a worker can run a
// share of them), leave every env to start a new episode on its next step()
// and throw Interrupted when the collector's should_stop asked to stop.
EvaluationResult evaluate(Collector& collector, const PolicyParams& params, std::int64_t episodes,
                          bool deterministic, std::int64_t first = 0);
// `episodes` episodes, or (episodes == 0, first == 0) at least `steps`
// steps in all; RolloutData::episode counts from first.
RolloutData rollout(Collector& collector, const PolicyParams& params, std::int64_t episodes,
                    std::int64_t steps, bool deterministic, std::int64_t first = 0);

}  // namespace pgfast

#endif  // PGFAST_ROLLOUT_HPP_
