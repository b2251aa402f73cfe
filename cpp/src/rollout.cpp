#include "pgfast/rollout.hpp"

namespace pgfast {

EvaluationResult evaluate(Collector& collector, const PolicyParams& params, std::int64_t episodes,
                          bool deterministic, std::int64_t first) {
  require(episodes >= 1, "episodes must be >= 1, got ", episodes);
  BatchSpec spec;
  spec.first = first;
  spec.count = episodes;
  spec.deterministic = deterministic;
  collector.run(params, spec);
  EvaluationResult result;
  for (std::int64_t j = 0; j < collector.episodes(); ++j) {
    result.returns.push_back(collector.record(j).undiscounted);
    result.lengths.push_back(collector.record(j).length);
  }
  collector.env().require_reset_all();
  return result;
}

RolloutData rollout(Collector& collector, const PolicyParams& params, std::int64_t episodes,
                    std::int64_t steps, bool deterministic, std::int64_t first) {
  const std::int64_t n_envs = collector.env().num_envs();
  const std::int64_t quota = episodes > 0 ? 0 : (steps + n_envs - 1) / n_envs;
  BatchSpec spec;
  spec.first = first;
  spec.count = episodes > 0 ? episodes : 0;
  spec.steps_quota = quota;
  spec.deterministic = deterministic;
  spec.record_obs = true;
  collector.run(params, spec);
  const StepLayout& L = collector.layout();
  RolloutData out;
  out.rows = collector.rows();
  const auto rows = static_cast<std::size_t>(out.rows);
  out.obs.reserve(rows * static_cast<std::size_t>(L.obs));
  out.rewards.reserve(rows);
  out.log_probs.reserve(rows);
  collector.policy().visit([&](const auto& policy) {
    for (std::int64_t j = 0; j < collector.episodes(); ++j) {
      const EnvBuffer& b = collector.buffer(j);
      const EpisodeRecord& e = collector.record(j);
      for (std::int64_t t = e.start; t < e.start + e.length; ++t) {
        const auto k = static_cast<std::size_t>(t);
        out.obs.insert(out.obs.end(), b.obs_rows.begin() + t * L.obs,
                       b.obs_rows.begin() + (t + 1) * L.obs);
        out.rewards.push_back(b.reward[k]);
        const bool last = t == e.start + e.length - 1;
        out.terminated.push_back(last && e.terminated);
        out.truncated.push_back(last && e.truncated);
        out.episode.push_back(first + j);
        const double* a_c = b.act_c.data() + t * L.action;
        if (L.action > 0) {
          out.actions_c.insert(out.actions_c.end(), a_c, a_c + L.action);
        } else {
          out.actions_i.push_back(b.act_i[k]);
        }
        out.log_probs.push_back(policy.log_prob(params, b.out.data() + t * L.out, b.act_i[k], a_c));
      }
    }
  });
  collector.env().require_reset_all();
  return out;
}

}  // namespace pgfast
