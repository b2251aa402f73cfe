#include "pgfast/collector.hpp"

#include <algorithm>
#include <chrono>
#include <string>

#include "pgfast/thread_pool.hpp"
#include "pgfast/user_code.hpp"

namespace pgfast {

namespace {

// Continuing streams (Python-driven envs): env i's policy stream is
// (seed ^ key, i).
constexpr std::uint64_t kPolicyStreamKey = 0x5DEECE66DA3B9F1BULL;

// Any env through its virtual single-env interface: Python callback envs.
struct VirtualStepper {
  VecEnvBase& env;
  std::int64_t i;
  void reset(double* obs) { env.env_reset(i, obs); }
  StepResult step(std::int64_t action, const double* continuous, double* obs) {
    return env.env_step(i, action, continuous, obs);
  }
};

template <bool kDiscrete>
struct VirtualStepperOf : VirtualStepper {
  static constexpr bool kDiscreteAction = kDiscrete;
};

}  // namespace

void VecEnvBase::collect(std::int64_t i, const EpisodeJob& job, EnvBuffer& buffer, Rng& rng) {
  if (action_space().discrete) {
    VirtualStepperOf<true> stepper{{*this, i}};
    collect_episode(stepper, job, buffer, rng);
  } else {
    VirtualStepperOf<false> stepper{{*this, i}};
    collect_episode(stepper, job, buffer, rng);
  }
}

void EnvBuffer::prepare(const StepLayout& layout) {
  obs.resize(static_cast<std::size_t>(std::max<std::int64_t>(layout.obs, 1)));
  clipped.resize(static_cast<std::size_t>(std::max<std::int64_t>(layout.action, 1)));
  scratch.resize(static_cast<std::size_t>(std::max<std::int64_t>(layout.scratch, 1)));
}

void EnvBuffer::grow(const StepLayout& layout, bool record_obs) {
  // The first call sizes it so that one env's rows of features take at most
  // ~32 MiB.
  const std::int64_t width = std::max<std::int64_t>(layout.phi, 1);
  const std::int64_t first =
      std::max<std::int64_t>(16, std::min<std::int64_t>(1024, (std::int64_t{1} << 22) / width));
  const std::int64_t next = cap == 0 ? first : 2 * cap;
  const auto c = static_cast<std::size_t>(next);
  phi.resize(c * static_cast<std::size_t>(layout.phi));
  out.resize(c * static_cast<std::size_t>(layout.out));
  act_c.resize(c * static_cast<std::size_t>(layout.action));
  act_i.resize(c);
  reward.resize(c);
  if (record_obs || !obs_rows.empty()) obs_rows.resize(c * static_cast<std::size_t>(layout.obs));
  cap = next;
}

Collector::Collector(VecEnvBase& env, std::shared_ptr<const PolicyModel> policy, std::uint64_t seed,
                     int num_threads)
    : env_(env),
      policy_(std::move(policy)),
      env_id_(env.id()),
      seed_(seed),
      num_threads_(num_threads) {
  require(policy_ != nullptr, "policy must not be None");
  require(num_threads >= 1 && num_threads <= ThreadPool::kMaxThreads, "num_threads must be in [1, ",
          ThreadPool::kMaxThreads, "], got ", num_threads);
  check_compatible();
  const PolicyModel& p = *policy_;
  layout_.phi = p.rows_per_step() * p.row_width();
  layout_.out = p.out_width();
  layout_.action = p.action_dim();
  layout_.obs = env_.obs_size();
  layout_.scratch = p.scratch_size();
  const SpaceSpec aspace = env_.action_space();
  if (!aspace.discrete) {
    low_ = aspace.low;
    high_ = aspace.high;
  }
  const std::int64_t n = env_.num_envs();
  bufs_.resize(static_cast<std::size_t>(n));
  for (auto& b : bufs_) b.prepare(layout_);
  rngs_.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    rngs_[static_cast<std::size_t>(i)].reseed(seed ^ kPolicyStreamKey,
                                              static_cast<std::uint64_t>(i));
  if (num_threads > 1) pool_ = std::make_unique<ThreadPool>(num_threads);
}

Collector::~Collector() = default;

void Collector::check_compatible() const {
  const PolicyModel& p = *policy_;
  const SpaceSpec aspace = env_.action_space();
  const std::string id = env_.id();
  require(p.obs_dim() == env_.obs_size(), "the policy reads observations of length ", p.obs_dim(),
          " but ", id, " has observations of length ", env_.obs_size());
  if (p.discrete()) {
    require(aspace.discrete, "LinearSoftmax needs a Discrete action space; ", id,
            " has a Box action space (use LinearGaussian)");
    require(p.n_actions() == aspace.n, "the policy has ", p.n_actions(), " actions but ", id,
            " has ", aspace.n);
  } else {
    require(!aspace.discrete, "LinearGaussian needs a Box action space; ", id,
            " has a Discrete one (use LinearSoftmax)");
    require(p.action_dim() == aspace.shape.at(0), "the policy has action_dim ", p.action_dim(),
            " but ", id, " has actions of length ", aspace.shape.at(0));
  }
  if (p.kind() == PolicyKind::kStateActionSoftmax) {
    const SpaceSpec ospace = env_.observation_space();
    require(ospace.discrete, "a state-action table needs Discrete observations; ", id,
            " has Box observations");
    p.visit([&](const auto& q) {
      if constexpr (std::is_same_v<std::decay_t<decltype(q)>, StateActionSoftmax>)
        require(q.n_states() >= ospace.n, "the state-action table has ", q.n_states(),
                " states but ", id, " has ", ospace.n);
    });
  }
}

void Collector::poll_stop(std::chrono::steady_clock::time_point& last) {
  if (!should_stop_ || stop_.load(std::memory_order_relaxed)) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last < std::chrono::milliseconds(20)) return;
  last = now;
  if (should_stop_()) stop_.store(true, std::memory_order_relaxed);
}

void Collector::seed_episode(std::uint64_t batch, std::int64_t i, std::int64_t j) {
  if (!env_.seed_episode(i, batch_env_seed(seed_, batch), static_cast<std::uint64_t>(j))) return;
  rngs_[static_cast<std::size_t>(i)].reseed(batch_policy_seed(seed_, batch),
                                            static_cast<std::uint64_t>(j));
}

void Collector::run(const PolicyParams& params, const BatchSpec& spec) {
  const std::int64_t episodes = spec.count, steps_quota = spec.steps_quota;
  require(episodes > 0 || steps_quota > 0, "give episodes or steps (> 0)");
  require(spec.first >= 0 && (steps_quota == 0 || (spec.first == 0 && episodes == 0)),
          "a step quota collects a whole batch");
  // A failed call must not leave an earlier batch's order over cleared buffers.
  order_.clear();
  offsets_.clear();
  total_rows_ = 0;
  first_ = spec.first;
  if (LockstepEnv* lockstep = env_.lockstep()) {
    require(spec.first == 0, env_id_, " is stepped from Python: it collects whole batches only");
    run_lockstep(*lockstep, make_job(params, spec.deterministic, spec.record_obs), episodes,
                 steps_quota);
    return;
  }
  const std::int64_t n_envs =
      steps_quota > 0 ? env_.num_envs() : std::min<std::int64_t>(env_.num_envs(), episodes);
  used_envs_ = n_envs;
  const EpisodeJob job = make_job(params, spec.deterministic, spec.record_obs);
  for (std::int64_t i = 0; i < n_envs; ++i) bufs_[static_cast<std::size_t>(i)].clear();
  stop_.store(false);
  auto last_poll = std::chrono::steady_clock::now();
  auto poll = [&] { poll_stop(last_poll); };
  // Each env runs all of its episodes in one go (one wake-up of the pool per
  // batch); the calling thread, which runs chunk 0, polls for Ctrl-C.
  auto work = [&](std::int64_t begin, std::int64_t end) {
    const bool caller = begin == 0;
    for (std::int64_t i = begin; i < end; ++i) {
      EnvBuffer& b = bufs_[static_cast<std::size_t>(i)];
      Rng& rng = rngs_[static_cast<std::size_t>(i)];
      for (std::int64_t k = 0;; ++k) {
        const bool more = steps_quota > 0 ? b.rows < steps_quota : k * n_envs + i < episodes;
        if (!more || stop_.load(std::memory_order_relaxed)) break;
        try {
          seed_episode(spec.index, i, spec.first + k * n_envs + i);
          env_.collect(i, job, b, rng);
        } catch (UserCodeError& e) {
          if (e.env_index < 0) e.env_index = i;
          b.error = std::current_exception();
          break;
        } catch (...) {
          b.error = std::current_exception();
          break;
        }
        if (caller) poll();
      }
    }
  };
  if (pool_ && n_envs >= 2) {
    PollFn idle(poll);
    pool_->parallel_for(n_envs, num_threads_, work, &idle);
  } else {
    work(0, n_envs);
  }
  for (std::int64_t i = 0; i < n_envs; ++i) {
    const EnvBuffer& b = bufs_[static_cast<std::size_t>(i)];
    if (b.error) std::rethrow_exception(b.error);
  }
  if (stop_.load()) throw Interrupted{};
  gather();
}

EpisodeJob Collector::make_job(const PolicyParams& params, bool deterministic,
                               bool record_obs) const {
  EpisodeJob job;
  job.policy = policy_.get();
  job.params = params;
  job.layout = layout_;
  job.deterministic = deterministic;
  job.record_obs = record_obs;
  job.max_steps = env_.max_episode_steps();
  job.low = low_.data();
  job.high = high_.data();
  job.env_id = env_id_.c_str();
  return job;
}

void Collector::run_one(const PolicyParams& params, std::uint64_t batch, std::int64_t i) {
  require(env_.lockstep() == nullptr,
          "the online (per-episode) update needs envs that step one at a time; ", env_id_,
          " is a vector env stepped all together");
  const EpisodeJob job = make_job(params, false, false);
  EnvBuffer& b = bufs_[static_cast<std::size_t>(i)];
  b.clear();
  first_ = 0;
  try {
    seed_episode(batch, i, 0);
    env_.collect(i, job, b, rngs_[static_cast<std::size_t>(i)]);
  } catch (UserCodeError& e) {
    if (e.env_index < 0) e.env_index = i;
    throw;
  }
  order_.assign(1, {i, 0});
  offsets_.assign(1, 0);
  total_rows_ = b.episodes[0].length;
}

// A batch from envs stepped all together. Env i counts the same episodes as
// in run(): its first ceil((episodes - i) / N) episodes (or whole episodes
// until steps_quota rows), a number fixed before any episode starts, so the
// batch is not biased towards short episodes. Envs past their quota keep
// stepping (they cannot be paused) with a default action, unrecorded.
void Collector::run_lockstep(LockstepEnv& env, const EpisodeJob& job, std::int64_t episodes,
                             std::int64_t steps_quota) {
  const std::int64_t n = env_.num_envs();
  used_envs_ = steps_quota > 0 ? n : std::min<std::int64_t>(n, episodes);
  for (std::int64_t i = 0; i < n; ++i) bufs_[static_cast<std::size_t>(i)].clear();
  LockstepBuffers& L = lockstep_;
  const auto rows = static_cast<std::size_t>(n * layout_.obs);
  if (L.obs.size() != rows) {
    L.obs.assign(rows, 0.0);
    L.next.assign(rows, 0.0);
    L.final_obs.assign(rows, 0.0);
    L.reward.assign(static_cast<std::size_t>(n), 0.0);
    L.actions_i.assign(static_cast<std::size_t>(n), 0);
    L.actions_c.assign(static_cast<std::size_t>(n * std::max<std::int64_t>(layout_.action, 1)),
                       0.0);
    L.terminated = std::make_unique<bool[]>(static_cast<std::size_t>(n));
    L.truncated = std::make_unique<bool[]>(static_cast<std::size_t>(n));
  }
  job.policy->visit(
      [&](const auto& policy) { lockstep_batch(env, policy, job, episodes, steps_quota); });
  gather();
}

template <class Policy>
void Collector::lockstep_batch(LockstepEnv& env, const Policy& policy, const EpisodeJob& job,
                               std::int64_t episodes, std::int64_t steps_quota) {
  const std::int64_t n = env_.num_envs(), D = layout_.obs, A = layout_.action;
  LockstepBuffers& L = lockstep_;
  enum class Phase : std::uint8_t { kIdle, kCounting, kAwaitingReset };
  std::vector<Phase> phase(static_cast<std::size_t>(n), Phase::kIdle);
  std::vector<EpisodeWriter<Policy>> writers;
  writers.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    writers.emplace_back(policy, job, bufs_[static_cast<std::size_t>(i)]);
  const auto wants_more = [&](std::int64_t i) {
    if (i >= used_envs_) return false;
    const EnvBuffer& b = bufs_[static_cast<std::size_t>(i)];
    const auto k = static_cast<std::int64_t>(b.episodes.size());
    return steps_quota > 0 ? b.rows < steps_quota : k * used_envs_ + i < episodes;
  };
  const auto start = [&](std::int64_t i) {
    const auto k = static_cast<std::size_t>(i);
    phase[k] = wants_more(i) ? Phase::kCounting : Phase::kIdle;
    if (phase[k] == Phase::kCounting) writers[k].begin();
  };
  // A Box env past its quota still needs a valid action: 0 clipped to the box.
  std::vector<double> idle_action(static_cast<std::size_t>(std::max<std::int64_t>(A, 1)), 0.0);
  for (std::int64_t d = 0; d < A; ++d)
    idle_action[static_cast<std::size_t>(d)] = std::clamp(0.0, low_[d], high_[d]);

  env.reset_all(L.obs.data());
  for (std::int64_t i = 0; i < n; ++i) start(i);
  const bool resets_in_step = env.resets_in_step();
  for (;;) {
    bool any = false;
    for (std::int64_t i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(i);
      const bool counting = phase[k] == Phase::kCounting;
      // An env awaiting its next-step reset may still owe episodes.
      any = any || counting || (phase[k] == Phase::kAwaitingReset && wants_more(i));
      Rng* sampler = job.deterministic ? nullptr : &rngs_[k];
      if constexpr (Policy::kDiscrete) {
        L.actions_i[k] = counting ? writers[k].act(L.obs.data() + i * D, sampler) : 0;
      } else {
        const double* a = idle_action.data();
        if (counting) {
          writers[k].act(L.obs.data() + i * D, sampler);
          a = bufs_[k].clipped.data();
        }
        std::copy(a, a + A, L.actions_c.data() + i * A);
      }
    }
    // Ctrl-C arrives as KeyboardInterrupt from the Python step call.
    if (!any) break;
    env.step_all(Policy::kDiscrete ? static_cast<const void*>(L.actions_i.data())
                                   : static_cast<const void*>(L.actions_c.data()),
                 L.next.data(), L.reward.data(), L.terminated.get(), L.truncated.get(),
                 L.final_obs.data());
    for (std::int64_t i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(i);
      const double* next = L.next.data() + i * D;
      std::copy(next, next + D, L.obs.data() + i * D);
      if (phase[k] == Phase::kAwaitingReset) {  // this call only reset env i
        start(i);
        continue;
      }
      const bool done = L.terminated[k] || L.truncated[k];
      if (phase[k] == Phase::kCounting) {
        StepResult res{L.reward[k], L.terminated[k], L.truncated[k]};
        const double* last = done ? L.final_obs.data() + i * D : next;
        if (writers[k].finish_step(res, last)) phase[k] = Phase::kIdle;
      }
      if (done) {
        if (resets_in_step) {
          start(i);
        } else {
          phase[k] = Phase::kAwaitingReset;
        }
      }
    }
  }
}

// order_[j] = (env, k): the batch's episodes round by round, env by env (in
// episode mode, episode j is the k-th episode of env j % N).
void Collector::gather() {
  order_.clear();
  offsets_.clear();
  std::size_t most = 0;
  for (std::int64_t i = 0; i < used_envs_; ++i)
    most = std::max(most, bufs_[static_cast<std::size_t>(i)].episodes.size());
  total_rows_ = 0;
  for (std::size_t k = 0; k < most; ++k)
    for (std::int64_t i = 0; i < used_envs_; ++i) {
      const auto& eps = bufs_[static_cast<std::size_t>(i)].episodes;
      if (k < eps.size()) {
        order_.emplace_back(i, static_cast<std::int64_t>(k));
        offsets_.push_back(total_rows_);
        total_rows_ += eps[k].length;
      }
    }
}

}  // namespace pgfast
