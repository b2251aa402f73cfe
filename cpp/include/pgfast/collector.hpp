// Runs episodes of a policy into preallocated per-env buffers.
//
// collect_episode<Env, Policy> is the per-step loop: templated on the env
// stepper and the policy type, so that it has no virtual call and no branch
// on the policy kind per step. VecEnv<Model> instantiates it per model
// (vec_env.hpp); the Collector class drives a batch of episodes across the
// envs and threads.
//
// Determinism: episode j of batch b draws its env randomness (initial state,
// noise) and its actions from streams keyed by (seed, b, j) alone, so a
// batch depends neither on num_threads nor on num_envs, and any range of its
// episodes can be collected by another process (pgfast.distributed) with
// the same bits. Python-driven envs, whose randomness pgfast does not own,
// keep one continuing stream per env instead.
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

// One episode of a policy written into b, one step at a time: the step's
// features, policy outputs, action and reward, then the episode's record.
// collect_episode drives one for a single env; the lockstep collector
// drives one per env of a batch stepped together (collector.cpp).
template <class Policy>
class EpisodeWriter {
 public:
  EpisodeWriter(const Policy& policy, const EpisodeJob& job, EnvBuffer& b)
      : policy_(policy), job_(job), b_(b) {}

  void begin() {
    rec_ = EpisodeRecord{};
    rec_.start = b_.rows;
    steps_ = 0;
  }

  // Records a step from obs and returns the discrete action, or writes the
  // continuous one (clipped to the action box) into b.clipped.
  PGFAST_ALWAYS_INLINE std::int64_t act(const double* obs, Rng* sampler) {
    const StepLayout& L = job_.layout;
    if (b_.rows == b_.cap) b_.grow(L, job_.record_obs);
    const std::int64_t row = b_.rows;
    if (job_.record_obs) std::copy(obs, obs + L.obs, b_.obs_rows.data() + row * L.obs);
    double* phi = b_.phi.data() + row * L.phi;
    policy_.phi(obs, phi);
    double* out = b_.out.data() + row * L.out;
    double* scratch = b_.scratch.data();
    if constexpr (Policy::kDiscrete) {
      const std::int64_t a = policy_.act(job_.params, phi, out, nullptr, sampler, scratch);
      b_.act_i[static_cast<std::size_t>(row)] = a;
      return a;
    } else {
      double* a = b_.act_c.data() + row * L.action;
      policy_.act(job_.params, phi, out, a, sampler, scratch);
      double* clipped = b_.clipped.data();
      for (std::int64_t d = 0; d < L.action; ++d)
        clipped[d] = a[d] < job_.low[d] ? job_.low[d] : (a[d] > job_.high[d] ? job_.high[d] : a[d]);
      return 0;
    }
  }

  // Records the step's outcome; obs is the observation after it. Returns
  // true when the episode ended (its record is then in b.episodes).
  PGFAST_ALWAYS_INLINE bool finish_step(const StepResult& res, const double* obs) {
    b_.reward[static_cast<std::size_t>(b_.rows)] = res.reward;
    rec_.undiscounted += res.reward;
    ++b_.rows;
    ++steps_;
    const bool truncated = res.truncated || (job_.max_steps > 0 && steps_ >= job_.max_steps);
    if (res.terminated || truncated) {
      rec_.length = steps_;
      rec_.terminated = res.terminated;
      rec_.truncated = truncated;
      const std::size_t at = b_.final_phi.size();
      b_.final_phi.resize(at + static_cast<std::size_t>(job_.layout.phi));
      policy_.phi(obs, b_.final_phi.data() + at);
      b_.episodes.push_back(rec_);
      return true;
    }
    if (steps_ >= kMaxEpisodeSteps)
      throw std::runtime_error(concat("an episode of ", job_.env_id, " ran ", steps_,
                                      " steps without ending; give the env a time limit "
                                      "(pg.make(..., max_episode_steps=...))"));
    return false;
  }

 private:
  const Policy& policy_;
  const EpisodeJob& job_;
  EnvBuffer& b_;
  EpisodeRecord rec_;
  std::int64_t steps_ = 0;
};

// One episode of env `env` (reset(obs), step(action, continuous, obs)) into b.
template <class Env, class Policy>
void collect_episode(Env& env, const Policy& policy, const EpisodeJob& job, EnvBuffer& b,
                     Rng& rng) {
  double* obs = b.obs.data();
  // The stream's state in a local for the episode: in registers rather than
  // stored and reloaded around every step's other stores.
  Rng local = rng;
  Rng* sampler = job.deterministic ? nullptr : &local;
  EpisodeWriter<Policy> writer(policy, job, b);
  env.reset(obs);
  writer.begin();
  for (;;) {
    const std::int64_t a = writer.act(obs, sampler);
    const StepResult res =
        Policy::kDiscrete ? env.step(a, nullptr, obs) : env.step(0, b.clipped.data(), obs);
    if (writer.finish_step(res, obs)) {
      rng = local;
      return;
    }
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

// Episode j of batch b runs its env on stream (batch_env_seed(seed, b), j)
// and draws its actions from stream (batch_policy_seed(seed, b), j).
inline std::uint64_t batch_env_seed(std::uint64_t seed, std::uint64_t batch) {
  return batch_seed(seed, batch, 0xA0761D6478BD642FULL);
}
inline std::uint64_t batch_policy_seed(std::uint64_t seed, std::uint64_t batch) {
  return batch_seed(seed, batch, 0x5DEECE66DA3B9F1BULL);
}

// Which episodes one Collector::run collects.
struct BatchSpec {
  // The batch's number: its episodes' random streams are keyed by it, so
  // every collection of a run needs its own (Reinforce counts them).
  std::uint64_t index = 0;
  // Episode mode: episodes [first, first + count) of the batch, env i
  // running episodes first + i, first + i + N, ...
  std::int64_t first = 0;
  std::int64_t count = 0;
  // Step mode (> 0, with count = 0 and first = 0): every env runs whole
  // episodes until it has at least steps_quota steps.
  std::int64_t steps_quota = 0;
  bool deterministic = false;
  bool record_obs = false;
};

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

  // Collects the episodes `spec` names; afterwards the collector holds them
  // in order (see record()).
  void run(const PolicyParams& params, const BatchSpec& spec);
  // Episode 0 of batch `batch` on env i alone (the online update).
  void run_one(const PolicyParams& params, std::uint64_t batch, std::int64_t i);

  std::int64_t episodes() const { return static_cast<std::int64_t>(order_.size()); }
  // The batch index of this collector's episode 0 (spec.first).
  std::int64_t first_episode() const { return first_; }
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
  void run_lockstep(LockstepEnv& env, const EpisodeJob& job, std::int64_t episodes,
                    std::int64_t steps_quota);
  template <class Policy>
  void lockstep_batch(LockstepEnv& env, const Policy& policy, const EpisodeJob& job,
                      std::int64_t episodes, std::int64_t steps_quota);
  EpisodeJob make_job(const PolicyParams& params, bool deterministic, bool record_obs) const;
  // Points env i and its policy stream at episode j of batch `batch`
  // (envs that cannot be reseeded keep their continuing streams).
  void seed_episode(std::uint64_t batch, std::int64_t i, std::int64_t j);
  void gather();
  void poll_stop(std::chrono::steady_clock::time_point& last);

  VecEnvBase& env_;
  std::shared_ptr<const PolicyModel> policy_;
  std::string env_id_;  // for messages; kept so that a batch allocates nothing
  StepLayout layout_;
  std::vector<double> low_, high_;
  std::vector<EnvBuffer> bufs_;
  std::vector<Rng> rngs_;
  std::uint64_t seed_ = 0;
  std::int64_t first_ = 0;
  std::unique_ptr<ThreadPool> pool_;
  int num_threads_ = 1;
  StopFn should_stop_;
  std::atomic<bool> stop_{false};
  std::int64_t used_envs_ = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> order_;  // (env, k-th episode of env)
  std::vector<std::int64_t> offsets_;
  std::int64_t total_rows_ = 0;
  // Lockstep envs' batch-wide buffers (sized on the first lockstep batch).
  struct LockstepBuffers {
    std::vector<double> obs, next, final_obs, reward, actions_c;
    std::vector<std::int64_t> actions_i;
    std::unique_ptr<bool[]> terminated, truncated;
  };
  LockstepBuffers lockstep_;
};

}  // namespace pgfast

#endif  // PGFAST_COLLECTOR_HPP_
