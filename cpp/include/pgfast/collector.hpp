// Runs episodes of a policy into preallocated per-env buffers.
//
// collect_episode<Env, Policy> is the per-step loop: templated on the env
// stepper and the policy type, so that it has no virtual call and no branch
// on the policy kind per step. VecEnv<Model> instantiates it per model
// (vec_env.hpp); the Collector class drives a batch of episodes across the
// envs and threads.
//
// Determinism: env i runs episodes i, i + N, ... of a batch with its own
// env and policy streams, so the batch does not depend on num_threads.
#ifndef PGFAST_COLLECTOR_HPP_
#define PGFAST_COLLECTOR_HPP_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "pgfast/check.hpp"
#include "pgfast/envs/env.hpp"
#include "pgfast/policies/policy_model.hpp"
#include "pgfast/rng.hpp"

namespace pgfast {

class ThreadPool;

// Episodes longer than this without a time limit are almost surely a policy
// that never ends one; better an error than filling the memory.
inline constexpr std::int64_t kMaxEpisodeSteps = 10'000'000;

struct EpisodeRecord {
  std::int64_t start = 0;  // first row in its env's buffer
  std::int64_t length = 0;
  bool terminated = false;
  bool truncated = false;
  double undiscounted = 0.0;
};

// Widths of what one step stores.
struct StepLayout {
  std::int64_t phi = 0;      // rows_per_step * row_width
  std::int64_t out = 0;      // pi or mu
  std::int64_t action = 0;   // continuous action values (0 for discrete)
  std::int64_t obs = 0;      // observation length (recorded on request)
  std::int64_t scratch = 0;  // the policy's scratch
};

// Everything one env writes during a batch: rows of steps, grown
// geometrically and then reused, so that the steady state allocates nothing.
struct EnvBuffer {
  std::int64_t rows = 0, cap = 0;
  std::vector<double> phi, out, act_c, reward, obs_rows;
  std::vector<std::int64_t> act_i;
  std::vector<double> final_phi;  // per episode: the features after its last step
  std::vector<EpisodeRecord> episodes;
  std::vector<double> obs, clipped, scratch;  // one step's
  // The first exception of this env's episodes, rethrown on the calling
  // thread as is (a Python env's KeyboardInterrupt stays one).
  std::exception_ptr error;

  void prepare(const StepLayout& layout);
  void clear() {
    rows = 0;
    episodes.clear();
    final_phi.clear();
    error = nullptr;
  }
  // Doubles the capacity. `cap` changes only once every vector has its new
  // size, so a failed allocation leaves a consistent buffer.
  void grow(const StepLayout& layout, bool record_obs);
};

// What a collection call shares across envs.
struct EpisodeJob {
  const PolicyModel* policy = nullptr;
  PolicyParams params;
  StepLayout layout;
  bool deterministic = false;
  bool record_obs = false;
  std::int64_t max_steps = 0;   // time limit, 0 for none
  const double* low = nullptr;  // Box action bounds, for clipping
  const double* high = nullptr;
  const char* env_id = "";
};

// One episode of env `env` (reset(obs), step(action, continuous, obs)) into b.
template <class Env, class Policy>
void collect_episode(Env& env, const Policy& policy, const EpisodeJob& job, EnvBuffer& b,
                     Rng& rng) {
  const StepLayout& L = job.layout;
  double* obs = b.obs.data();
  double* scratch = b.scratch.data();
  // The stream's state in a local for the episode: in registers rather than
  // stored and reloaded around every step's other stores.
  Rng local = rng;
  Rng* sampler = job.deterministic ? nullptr : &local;
  env.reset(obs);
  EpisodeRecord rec;
  rec.start = b.rows;
  for (std::int64_t steps = 1;; ++steps) {
    if (b.rows == b.cap) b.grow(L, job.record_obs);
    const std::int64_t row = b.rows;
    if (job.record_obs) std::copy(obs, obs + L.obs, b.obs_rows.data() + row * L.obs);
    double* phi = b.phi.data() + row * L.phi;
    policy.phi(obs, phi);
    double* out = b.out.data() + row * L.out;
    StepResult res;
    if constexpr (Policy::kDiscrete) {
      const std::int64_t a = policy.act(job.params, phi, out, nullptr, sampler, scratch);
      b.act_i[static_cast<std::size_t>(row)] = a;
      res = env.step(a, nullptr, obs);
    } else {
      double* a = b.act_c.data() + row * L.action;
      policy.act(job.params, phi, out, a, sampler, scratch);
      double* clipped = b.clipped.data();
      for (std::int64_t d = 0; d < L.action; ++d)
        clipped[d] = a[d] < job.low[d] ? job.low[d] : (a[d] > job.high[d] ? job.high[d] : a[d]);
      res = env.step(0, clipped, obs);
    }
    b.reward[static_cast<std::size_t>(row)] = res.reward;
    rec.undiscounted += res.reward;
    ++b.rows;
    const bool truncated = res.truncated || (job.max_steps > 0 && steps >= job.max_steps);
    if (res.terminated || truncated) {
      rec.length = steps;
      rec.terminated = res.terminated;
      rec.truncated = truncated;
      const std::size_t at = b.final_phi.size();
      b.final_phi.resize(at + static_cast<std::size_t>(L.phi));
      policy.phi(obs, b.final_phi.data() + at);
      b.episodes.push_back(rec);
      rng = local;
      return;
    }
    if (steps >= kMaxEpisodeSteps)
      throw std::runtime_error(concat("an episode of ", job.env_id, " ran ", steps,
                                      " steps without ending; give the env a time limit "
                                      "(pg.make(..., max_episode_steps=...))"));
  }
}

// Dispatches on the policy type once per episode; the env must have
// matching actions (checked by the Collector).
template <class Env>
void collect_episode(Env& env, const EpisodeJob& job, EnvBuffer& b, Rng& rng) {
  job.policy->visit([&](const auto& policy) {
    using P = std::decay_t<decltype(policy)>;
    if constexpr (P::kDiscrete == Env::kDiscreteAction) {
      collect_episode(env, policy, job, b, rng);
    } else {
      throw std::logic_error("the policy's actions do not match the env's");
    }
  });
}

// Raised by the Collector when should_stop asked to stop (Ctrl-C): nothing
// was updated by the interrupted call.
struct Interrupted {};

// A batch of episodes from every env of a VecEnvBase.
class Collector {
 public:
  // Polled (from the calling thread, at most every 20 ms) while episodes
  // run; returning true stops the call with Interrupted.
  using StopFn = std::function<bool()>;

  Collector(VecEnvBase& env, std::shared_ptr<const PolicyModel> policy, std::uint64_t seed,
            int num_threads);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  const PolicyModel& policy() const { return *policy_; }
  VecEnvBase& env() { return env_; }
  const StepLayout& layout() const { return layout_; }
  void set_should_stop(StopFn fn) { should_stop_ = std::move(fn); }

  // Episode mode (steps_quota == 0): `episodes` episodes, env i running
  // episodes i, i + N, ... Step mode: every env runs whole episodes until it
  // has at least steps_quota steps. Afterwards the batch holds the episodes
  // in order (see episode()).
  void run(const PolicyParams& params, std::int64_t episodes, std::int64_t steps_quota,
           bool deterministic, bool record_obs = false);
  // One episode of env i alone (the online update).
  void run_one(const PolicyParams& params, std::int64_t i);

  std::int64_t episodes() const { return static_cast<std::int64_t>(order_.size()); }
  std::int64_t rows() const { return total_rows_; }
  // Episode j of the batch: j-th in round-robin order over the envs.
  const EnvBuffer& buffer(std::int64_t j) const {
    return bufs_[static_cast<std::size_t>(order_[static_cast<std::size_t>(j)].first)];
  }
  const EpisodeRecord& record(std::int64_t j) const {
    const auto& [env, k] = order_[static_cast<std::size_t>(j)];
    return bufs_[static_cast<std::size_t>(env)].episodes[static_cast<std::size_t>(k)];
  }
  const double* final_phi(std::int64_t j) const {
    return buffer(j).final_phi.data() + order_[static_cast<std::size_t>(j)].second * layout_.phi;
  }
  // Row of episode j's first step in batch-wide arrays (episodes in order).
  std::int64_t offset(std::int64_t j) const { return offsets_[static_cast<std::size_t>(j)]; }

  ThreadPool* pool() { return pool_.get(); }
  int num_threads() const { return num_threads_; }

 private:
  void check_compatible() const;
  EpisodeJob make_job(const PolicyParams& params, bool deterministic, bool record_obs) const;
  void gather();
  void poll_stop(std::chrono::steady_clock::time_point& last);

  VecEnvBase& env_;
  std::shared_ptr<const PolicyModel> policy_;
  std::string env_id_;  // for messages; kept so that a batch allocates nothing
  StepLayout layout_;
  std::vector<double> low_, high_;
  std::vector<EnvBuffer> bufs_;
  std::vector<Rng> rngs_;
  std::unique_ptr<ThreadPool> pool_;
  int num_threads_ = 1;
  StopFn should_stop_;
  std::atomic<bool> stop_{false};
  std::int64_t used_envs_ = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> order_;  // (env, k-th episode of env)
  std::vector<std::int64_t> offsets_;
  std::int64_t total_rows_ = 0;
};

}  // namespace pgfast

#endif  // PGFAST_COLLECTOR_HPP_
