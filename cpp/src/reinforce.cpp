// The training engine: rollouts, returns and baselines, gradient and Fisher
// accumulation, and the updates. The only translation unit that compiles
// Eigen's dense solvers for the estimator.
#include "pgfast/reinforce.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "pgfast/check.hpp"
#include "pgfast/optimizers.hpp"
#include "pgfast/policies/linear_gaussian.hpp"
#include "pgfast/policies/linear_softmax.hpp"
#include "pgfast/returns.hpp"
#include "pgfast/rng.hpp"
#include "pgfast/thread_pool.hpp"
#include "pgfast/types.hpp"

namespace pgfast {

void ReinforceConfig::validate() const {
  require(std::isfinite(lr) && lr > 0, "lr must be > 0, got ", lr);
  require(std::isfinite(gamma) && gamma >= 0 && gamma <= 1, "gamma must be in [0, 1], got ",
          gamma);
  require(episodes_per_update >= 1, "episodes_per_update must be >= 1, got ",
          episodes_per_update);
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
  require(num_threads >= 1 && num_threads <= ThreadPool::kMaxThreads,
          "num_threads must be in [1, ", ThreadPool::kMaxThreads, "], got ", num_threads);
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

namespace {

// Episodes longer than this without a time limit are almost surely a policy
// that never ends one; better an error than filling the memory.
constexpr std::int64_t kMaxEpisodeSteps = 10'000'000;
// Largest dense solve the engine sets up: the Fisher matrix (parameters) or
// the value fit's normal equations (features); 4096^2 doubles are 128 MiB.
constexpr std::int64_t kMaxDense = 4096;
// Bound on a Gaussian policy's log std (sigma from 2e-9 to 5e8).
constexpr double kMaxLogStd = 20.0;
// Env random streams use (seed, i); the policy's use (seed ^ key, i).
constexpr std::uint64_t kPolicyStreamKey = 0x5DEECE66DA3B9F1BULL;

struct Interrupted {};

struct EpisodeRecord {
  std::int64_t start = 0;
  std::int64_t length = 0;
  bool terminated = false;
  bool truncated = false;
  double undiscounted = 0.0;
};

// Everything one env writes during a rollout: rows of steps, one per step,
// grown geometrically and then reused, so the steady state allocates nothing.
struct EnvBuffer {
  std::int64_t rows = 0, cap = 0;
  std::vector<double> phi, out, act_c, reward, psi, base, target;
  std::vector<std::int64_t> act_i;
  std::vector<double> final_phi;  // per episode
  std::vector<EpisodeRecord> episodes;
  std::vector<double> obs, action;
  std::vector<double> obs_rows;  // rows x obs_size, only when recording (rollout())
  double entropy_sum = 0.0;  // softmax: sum over this rollout's steps
  // The first exception of this env's rollout, rethrown on the calling
  // thread as is (a Python env's KeyboardInterrupt stays one).
  std::exception_ptr error;

  // Doubles the capacity (the first call sizes it so that one env's rows of
  // features take at most ~32 MiB). `cap` changes only once every vector has
  // its new size, so a failed allocation leaves a consistent buffer.
  void grow(std::int64_t F, std::int64_t K, std::int64_t D) {
    const std::int64_t first = std::max<std::int64_t>(16, std::min<std::int64_t>(1024, (std::int64_t{1} << 22) / F));
    const std::int64_t next = cap == 0 ? first : 2 * cap;
    const auto c = static_cast<std::size_t>(next);
    phi.resize(c * static_cast<std::size_t>(F));
    out.resize(c * static_cast<std::size_t>(K));
    act_c.resize(c * static_cast<std::size_t>(D));
    act_i.resize(c);
    reward.resize(c);
    psi.resize(c);
    base.resize(c);
    target.resize(c);
    cap = next;
  }
};

inline double dot(const double* a, const double* b, std::int64_t n) {
  double s = 0.0;
  for (std::int64_t k = 0; k < n; ++k) s += a[k] * b[k];
  return s;
}

}  // namespace

class ReinforceEngine {
 public:
  ReinforceEngine(VecEnvBase& env, std::shared_ptr<const FeatureMap> features, PolicyKind kind,
                  std::int64_t n_out, bool learn_std, ReinforceConfig config)
      : env_(env), features_(std::move(features)), kind_(kind), cfg_(config) {
    cfg_.validate();
    require(features_ != nullptr, "features must not be None");
    F_ = features_->n_features();
    const SpaceSpec aspace = env_.action_space();
    require(features_->obs_dim() == env_.obs_size(), "the features read observations of length ",
            features_->obs_dim(), " but ", env_.id(), " has observations of length ",
            env_.obs_size());
    if (kind_ == PolicyKind::kSoftmax) {
      require(aspace.discrete, "LinearSoftmax needs a Discrete action space; ", env_.id(),
              " has a Box action space (use LinearGaussian)");
      require(n_out == aspace.n, "the policy has ", n_out, " actions but ", env_.id(), " has ",
              aspace.n);
      K_ = n_out;
      D_ = 0;
      learn_std_ = false;
    } else {
      require(!aspace.discrete, "LinearGaussian needs a Box action space; ", env_.id(),
              " has a Discrete one (use LinearSoftmax)");
      require(n_out == aspace.shape.at(0), "the policy has action_dim ", n_out, " but ",
              env_.id(), " has actions of length ", aspace.shape.at(0));
      require(cfg_.fisher == FisherKind::kSampled,
              "fisher='exact' is the action-marginalised Fisher of the linear softmax; "
              "use fisher='sampled' for LinearGaussian");
      K_ = n_out;
      D_ = n_out;
      learn_std_ = learn_std;
      low_ = aspace.low;
      high_ = aspace.high;
    }
    P_ = F_ * K_ + (learn_std_ ? D_ : 0);
    require(cfg_.optimizer != OptimizerKind::kNatural || P_ <= kMaxDense,
            "optimizer='natural' solves with a dense ", P_, " x ", P_,
            " Fisher matrix; it supports at most ", kMaxDense, " parameters");
    require(!(cfg_.baseline == Baseline::kValue || cfg_.returns == Returns::kGae) || F_ <= kMaxDense,
            "the value baseline is a dense ", F_, " x ", F_, " least-squares fit; it supports at "
            "most ", kMaxDense, " features");
    max_steps_ = env_.max_episode_steps();
    const std::int64_t n_envs = env_.num_envs();
    bufs_.resize(static_cast<std::size_t>(n_envs));
    for (auto& b : bufs_) {
      b.obs.resize(static_cast<std::size_t>(env_.obs_size()));
      b.action.resize(static_cast<std::size_t>(std::max<std::int64_t>(D_, 1)));
    }
    rngs_.resize(static_cast<std::size_t>(n_envs));
    for (std::int64_t i = 0; i < n_envs; ++i)
      rngs_[static_cast<std::size_t>(i)].reseed(cfg_.seed ^ kPolicyStreamKey,
                                                static_cast<std::uint64_t>(i));
    if (cfg_.num_threads > 1) pool_ = std::make_unique<ThreadPool>(cfg_.num_threads);
    value_w_.assign(static_cast<std::size_t>(F_), 0.0);
    adam_ = AdamState(P_);
  }

  const ReinforceConfig& config() const { return cfg_; }
  std::int64_t n_params() const { return P_; }
  std::int64_t completed() const { return completed_; }
  void set_should_stop(std::function<bool()> fn) { should_stop_ = std::move(fn); }

  IterationStats iterate(double* theta, double* log_std) {
    current_log_std_ = log_std;
    ++iteration_;
    const auto wall_start = std::chrono::steady_clock::now();
    (void)wall_start;
    if (cfg_.online) return iterate_online(theta, log_std);
    const std::int64_t m = cfg_.episodes_per_update;
    const std::int64_t quota =
        cfg_.steps_per_update > 0
            ? (cfg_.steps_per_update + env_.num_envs() - 1) / env_.num_envs()
            : 0;
    rollout(theta, log_std, m, false, quota);
    gather_order();
    compute_psi_and_baseline();
    std::vector<double>& g = grad_;
    accumulate_gradient(nullptr);
    IterationStats stats = batch_stats();
    stats.grad_norm = norm(g);
    require_finite_gradient(g);

    std::vector<double> params = flatten(theta, log_std);
    std::vector<double> step(static_cast<std::size_t>(P_), 0.0);
    if (cfg_.optimizer == OptimizerKind::kNatural) {
      accumulate_fisher();
      stats.fisher_condition = natural_direction(g, step);
    } else if (cfg_.optimizer == OptimizerKind::kAdam) {
      adam_direction(g, step);
    } else {
      for (std::int64_t k = 0; k < P_; ++k) step[static_cast<std::size_t>(k)] = cfg_.lr * g[static_cast<std::size_t>(k)];
    }
    std::vector<double> updated = params;
    for (std::int64_t k = 0; k < P_; ++k) updated[static_cast<std::size_t>(k)] += step[static_cast<std::size_t>(k)];
    clamp_log_std(updated);
    bool finite = true;
    for (double v : updated) finite = finite && std::isfinite(v);
    // Last chance to be interrupted: after this the update is applied whole.
    const bool stop = should_stop_ && should_stop_();
    if (!finite || stop) {
      if (cfg_.optimizer == OptimizerKind::kAdam) adam_.undo();
      if (stop) throw Interrupted{};
      throw std::runtime_error(concat("iteration ", completed_ + 1,
                                      ": the update made the parameters non-finite; they were "
                                      "left at their last finite values"));
    }
    unflatten(updated, theta, log_std);
    stats.kl = mean_kl(params, theta, log_std);
    if (!std::isfinite(stats.kl)) {
      // Finite parameters, but a policy infinitely far from the last one
      // (probabilities or densities that underflow): the run has diverged.
      unflatten(params, theta, log_std);
      if (cfg_.optimizer == OptimizerKind::kAdam) adam_.undo();
      throw std::runtime_error(concat("iteration ", completed_ + 1,
                                      ": the update moved the policy by an infinite KL "
                                      "divergence; the parameters were left at their last "
                                      "values (lower the step size)"));
    }
    ++completed_;
    if (uses_value()) fit_value();
    env_.require_reset_all();
    return stats;
  }

  GradientEstimate gradient(const double* theta, const double* log_std, std::int64_t m) {
    current_log_std_ = log_std;
    require(m >= 2, "episodes must be >= 2 (standard errors need two), got ", m);
    rollout(theta, log_std, m, false);
    gather_order();
    compute_psi_and_baseline();
    GradientEstimate est;
    est.stderr_.assign(static_cast<std::size_t>(P_), 0.0);
    accumulate_gradient(&est.stderr_);
    est.mean = grad_;
    est.episodes = m;
    // As after an update, the value baseline of the next call is fitted on
    // this batch.
    if (uses_value()) fit_value();
    env_.require_reset_all();
    return est;
  }

  RolloutData collect(const double* theta, const double* log_std, std::int64_t episodes,
                      std::int64_t steps, bool deterministic) {
    current_log_std_ = log_std;
    require(episodes > 0 || steps > 0, "give episodes or steps (> 0)");
    const std::int64_t quota = steps > 0 ? (steps + env_.num_envs() - 1) / env_.num_envs() : 0;
    record_obs_ = true;
    try {
      rollout(theta, log_std, episodes, deterministic, quota);
    } catch (...) {
      record_obs_ = false;
      throw;
    }
    record_obs_ = false;
    gather_order();
    RolloutData out;
    const std::int64_t n_obs = env_.obs_size();
    std::int64_t rows = 0;
    for (std::size_t j = 0; j < order_.size(); ++j) rows += rec_of(j).length;
    out.rows = rows;
    out.obs.reserve(static_cast<std::size_t>(rows * n_obs));
    for (std::size_t j = 0; j < order_.size(); ++j) {
      const EnvBuffer& b = buf_of(j);
      const EpisodeRecord& e = rec_of(j);
      for (std::int64_t t = e.start; t < e.start + e.length; ++t) {
        const auto k = static_cast<std::size_t>(t);
        out.obs.insert(out.obs.end(), b.obs_rows.begin() + t * n_obs,
                       b.obs_rows.begin() + (t + 1) * n_obs);
        out.rewards.push_back(b.reward[k]);
        const bool last = t == e.start + e.length - 1;
        out.terminated.push_back(last && e.terminated);
        out.truncated.push_back(last && e.truncated);
        out.episode.push_back(static_cast<std::int64_t>(j));
        if (kind_ == PolicyKind::kSoftmax) {
          const std::int64_t a = b.act_i[k];
          out.actions_i.push_back(a);
          const double p = b.out[k * static_cast<std::size_t>(K_) + static_cast<std::size_t>(a)];
          out.log_probs.push_back(std::log(p));
        } else {
          const double* a = b.act_c.data() + t * D_;
          out.actions_c.insert(out.actions_c.end(), a, a + D_);
          out.log_probs.push_back(gaussian::log_prob(a, b.out.data() + t * K_, log_std, D_));
        }
      }
    }
    env_.require_reset_all();
    return out;
  }

  std::vector<double> fisher(const double* theta, const double* log_std, std::int64_t m) {
    current_log_std_ = log_std;
    require(m >= 1, "episodes must be >= 1, got ", m);
    require(P_ <= kMaxDense, "the Fisher matrix of ", P_, " parameters is too large to form (at "
            "most ", kMaxDense, ")");
    rollout(theta, log_std, m, false);
    gather_order();
    accumulate_fisher();
    env_.require_reset_all();
    return std::vector<double>(fisher_.data(), fisher_.data() + fisher_.size());
  }

  EvaluationResult evaluate(const double* theta, const double* log_std, std::int64_t m,
                            bool deterministic) {
    current_log_std_ = log_std;
    require(m >= 1, "episodes must be >= 1, got ", m);
    rollout(theta, log_std, m, deterministic);
    gather_order();
    EvaluationResult result;
    for (const auto& [env, k] : order_) {
      const EpisodeRecord& e = bufs_[static_cast<std::size_t>(env)].episodes[static_cast<std::size_t>(k)];
      result.returns.push_back(e.undiscounted);
      result.lengths.push_back(e.length);
    }
    env_.require_reset_all();
    return result;
  }

 private:
  // ---- rollouts ----------------------------------------------------------

  // Episode mode (steps_quota == 0): m episodes, env i running episodes
  // i, i + N, ... Step mode: every env runs whole episodes until it has at
  // least steps_quota steps. Either way each env's episodes depend only on
  // its own streams, and rounds of one episode per env let Ctrl-C be polled.
  void rollout(const double* theta, const double* log_std, std::int64_t m, bool deterministic,
               std::int64_t steps_quota = 0) {
    const std::int64_t n_envs =
        steps_quota > 0 ? env_.num_envs() : std::min<std::int64_t>(env_.num_envs(), m);
    used_envs_ = n_envs;
    for (std::int64_t i = 0; i < n_envs; ++i) {
      auto& b = bufs_[static_cast<std::size_t>(i)];
      b.rows = 0;
      b.episodes.clear();
      b.final_phi.clear();
      b.error = nullptr;
      b.entropy_sum = 0.0;
    }
    auto wants_more = [&](std::int64_t i, std::int64_t round) {
      const auto& b = bufs_[static_cast<std::size_t>(i)];
      return steps_quota > 0 ? b.rows < steps_quota : round * n_envs + i < m;
    };
    auto last_poll = std::chrono::steady_clock::now();
    for (std::int64_t r = 0;; ++r) {
      std::int64_t active = 0;  // envs [0, active) may run this round
      for (std::int64_t i = 0; i < n_envs; ++i)
        if (wants_more(i, r)) active = i + 1;
      if (active == 0) break;
      auto work = [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
          auto& b = bufs_[static_cast<std::size_t>(i)];
          if (b.error || !wants_more(i, r)) continue;
          try {
            run_episode(i, b, theta, log_std, deterministic);
          } catch (...) {
            b.error = std::current_exception();
          }
        }
      };
      if (pool_ && active >= 2) {
        pool_->parallel_for(active, static_cast<int>(std::min<std::int64_t>(active, cfg_.num_threads)), work);
      } else {
        work(0, active);
      }
      for (std::int64_t i = 0; i < active; ++i) {
        const auto& b = bufs_[static_cast<std::size_t>(i)];
        if (b.error) std::rethrow_exception(b.error);
      }
      poll_stop(last_poll);
    }
  }

  // Calls should_stop_ at most every 20 ms; throws Interrupted when it asks.
  void poll_stop(std::chrono::steady_clock::time_point& last_poll) {
    if (!should_stop_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_poll > std::chrono::milliseconds(20)) {
      last_poll = now;
      if (should_stop_()) throw Interrupted{};
    }
  }

  void run_episode(std::int64_t i, EnvBuffer& b, const double* theta, const double* log_std,
                   bool deterministic) {
    Rng& rng = rngs_[static_cast<std::size_t>(i)];
    double* obs = b.obs.data();
    env_.env_reset(i, obs);
    EpisodeRecord rec;
    rec.start = b.rows;
    for (std::int64_t t = 0;; ++t) {
      if (b.rows == b.cap) b.grow(F_, K_, std::max<std::int64_t>(D_, 1));
      const std::int64_t row = b.rows;
      if (record_obs_) {
        const auto n = static_cast<std::size_t>(env_.obs_size());
        if (b.obs_rows.size() < static_cast<std::size_t>(b.cap) * n)
          b.obs_rows.resize(static_cast<std::size_t>(b.cap) * n);
        std::copy(obs, obs + n, b.obs_rows.data() + static_cast<std::size_t>(row) * n);
      }
      double* phi = b.phi.data() + row * F_;
      features_->compute(obs, phi);
      double* out = b.out.data() + row * K_;
      StepResult res;
      if (kind_ == PolicyKind::kSoftmax) {
        b.entropy_sum += softmax::probs(theta, phi, F_, K_, out);
        const std::int64_t a = deterministic ? softmax::argmax(out, K_) : softmax::sample(out, K_, rng);
        b.act_i[static_cast<std::size_t>(row)] = a;
        res = env_.env_step(i, a, nullptr, obs);
      } else {
        gaussian::mean(theta, phi, F_, D_, out);
        double* a = b.act_c.data() + row * D_;
        double* clipped = b.action.data();
        for (std::int64_t d = 0; d < D_; ++d) {
          a[d] = deterministic ? out[d] : out[d] + std::exp(log_std[d]) * rng.normal();
          const double lo = low_[static_cast<std::size_t>(d)], hi = high_[static_cast<std::size_t>(d)];
          clipped[d] = a[d] < lo ? lo : (a[d] > hi ? hi : a[d]);
        }
        res = env_.env_step(i, 0, clipped, obs);
      }
      b.reward[static_cast<std::size_t>(row)] = res.reward;
      rec.undiscounted += res.reward;
      ++b.rows;
      const std::int64_t steps = t + 1;
      const bool truncated = res.truncated || (max_steps_ > 0 && steps >= max_steps_);
      if (res.terminated || truncated) {
        rec.length = steps;
        rec.terminated = res.terminated;
        rec.truncated = truncated;
        const std::size_t at = b.final_phi.size();
        b.final_phi.resize(at + static_cast<std::size_t>(F_));
        features_->compute(obs, b.final_phi.data() + at);
        b.episodes.push_back(rec);
        return;
      }
      if (steps >= kMaxEpisodeSteps)
        throw std::runtime_error(concat("an episode of ", env_.id(), " ran ", steps,
                                        " steps without ending; give the env a time limit "
                                        "(pg.make(..., max_episode_steps=...))"));
    }
  }

  // order_[j] = (env, k): the batch's episodes round by round, env by env
  // (in episode mode, episode j is the k-th episode of env j % N).
  void gather_order() {
    order_.clear();
    std::size_t most = 0;
    for (std::int64_t i = 0; i < used_envs_; ++i)
      most = std::max(most, bufs_[static_cast<std::size_t>(i)].episodes.size());
    for (std::size_t k = 0; k < most; ++k)
      for (std::int64_t i = 0; i < used_envs_; ++i)
        if (k < bufs_[static_cast<std::size_t>(i)].episodes.size())
          order_.emplace_back(i, static_cast<std::int64_t>(k));
  }

  EnvBuffer& buf_of(std::size_t j) { return bufs_[static_cast<std::size_t>(order_[j].first)]; }
  const EpisodeRecord& rec_of(std::size_t j) {
    return buf_of(j).episodes[static_cast<std::size_t>(order_[j].second)];
  }
  const double* final_phi_of(std::size_t j) {
    return buf_of(j).final_phi.data() + order_[j].second * F_;
  }

  // ---- returns and baselines --------------------------------------------

  bool uses_value() const {
    return cfg_.baseline == Baseline::kValue || cfg_.returns == Returns::kGae;
  }
  double value(const double* phi) const { return dot(value_w_.data(), phi, F_); }

  void compute_psi_and_baseline() {
    const double gamma = cfg_.gamma;
    const bool bootstrap_ok = uses_value() && has_value_ && cfg_.bootstrap_truncated;
    std::int64_t longest = 0;
    for (std::size_t j = 0; j < order_.size(); ++j) {
      EnvBuffer& b = buf_of(j);
      const EpisodeRecord& e = rec_of(j);
      longest = std::max(longest, e.length);
      const double* r = b.reward.data() + e.start;
      double* psi = b.psi.data() + e.start;
      double* base = b.base.data() + e.start;
      double* target = b.target.data() + e.start;
      const double bootstrap = (bootstrap_ok && e.truncated) ? value(final_phi_of(j)) : 0.0;
      // Value targets: the state value's reward-to-go, bootstrapped on truncation.
      reward_to_go(r, e.length, gamma, bootstrap, target);
      switch (cfg_.returns) {
        case Returns::kTotal: {
          const double R = discounted_return(r, e.length, gamma, bootstrap);
          for (std::int64_t t = 0; t < e.length; ++t) psi[t] = R;
          break;
        }
        case Returns::kRewardToGo:
          std::copy(target, target + e.length, psi);
          break;
        case Returns::kDiscountedRewardToGo: {
          double discount = 1.0;
          for (std::int64_t t = 0; t < e.length; ++t, discount *= gamma) psi[t] = discount * target[t];
          break;
        }
        case Returns::kGae: {
          for (std::int64_t t = 0; t < e.length; ++t)
            base[t] = has_value_ ? value(b.phi.data() + (e.start + t) * F_) : 0.0;
          gae(r, base, e.length, gamma, cfg_.gae_lambda, bootstrap, psi);
          break;
        }
      }
      std::fill(base, base + e.length, 0.0);
    }

    switch (cfg_.baseline) {
      case Baseline::kNone:
      case Baseline::kOptimal:  // applied per parameter in accumulate_gradient
        break;
      case Baseline::kMean: {
        // Leave-one-out: episode j's baseline is the mean Psi over the steps
        // of the other episodes, independent of its own actions (unbiased).
        double total = 0.0;
        std::int64_t rows = 0;
        std::vector<double> sums(order_.size(), 0.0);
        for (std::size_t j = 0; j < order_.size(); ++j) {
          const EpisodeRecord& e = rec_of(j);
          const double* psi = buf_of(j).psi.data() + e.start;
          for (std::int64_t t = 0; t < e.length; ++t) sums[j] += psi[t];
          total += sums[j];
          rows += e.length;
        }
        for (std::size_t j = 0; j < order_.size(); ++j) {
          const EpisodeRecord& e = rec_of(j);
          const std::int64_t others = rows - e.length;
          const double b = others > 0 ? (total - sums[j]) / static_cast<double>(others) : 0.0;
          std::fill(buf_of(j).base.data() + e.start, buf_of(j).base.data() + e.start + e.length, b);
        }
        break;
      }
      case Baseline::kTime: {
        // Leave-one-out mean of Psi_t over the other episodes that reach t.
        time_sum_.assign(static_cast<std::size_t>(longest), 0.0);
        time_count_.assign(static_cast<std::size_t>(longest), 0.0);
        for (std::size_t j = 0; j < order_.size(); ++j) {
          const EpisodeRecord& e = rec_of(j);
          const double* psi = buf_of(j).psi.data() + e.start;
          for (std::int64_t t = 0; t < e.length; ++t) {
            time_sum_[static_cast<std::size_t>(t)] += psi[t];
            time_count_[static_cast<std::size_t>(t)] += 1.0;
          }
        }
        for (std::size_t j = 0; j < order_.size(); ++j) {
          const EpisodeRecord& e = rec_of(j);
          const double* psi = buf_of(j).psi.data() + e.start;
          double* base = buf_of(j).base.data() + e.start;
          for (std::int64_t t = 0; t < e.length; ++t) {
            const double n = time_count_[static_cast<std::size_t>(t)] - 1.0;
            base[t] = n > 0 ? (time_sum_[static_cast<std::size_t>(t)] - psi[t]) / n : 0.0;
          }
        }
        break;
      }
      case Baseline::kValue: {
        // V was fitted on the previous batch, so it does not depend on this
        // batch's actions and the estimate stays unbiased.
        if (!has_value_) break;
        const bool discounted = cfg_.returns != Returns::kRewardToGo;
        for (std::size_t j = 0; j < order_.size(); ++j) {
          const EpisodeRecord& e = rec_of(j);
          EnvBuffer& b = buf_of(j);
          double discount = 1.0;
          for (std::int64_t t = 0; t < e.length; ++t) {
            b.base[static_cast<std::size_t>(e.start + t)] =
                (discounted ? discount : 1.0) * value(b.phi.data() + (e.start + t) * F_);
            discount *= cfg_.gamma;
          }
        }
        break;
      }
    }

    if (cfg_.normalize_advantages) {
      double sum = 0.0, sq = 0.0;
      std::int64_t n = 0;
      for (std::size_t j = 0; j < order_.size(); ++j) {
        const EpisodeRecord& e = rec_of(j);
        EnvBuffer& b = buf_of(j);
        for (std::int64_t t = e.start; t < e.start + e.length; ++t) {
          const double adv = b.psi[static_cast<std::size_t>(t)] - b.base[static_cast<std::size_t>(t)];
          sum += adv;
          sq += adv * adv;
          ++n;
        }
      }
      const double mean = sum / static_cast<double>(n);
      const double var = std::max(sq / static_cast<double>(n) - mean * mean, 0.0);
      const double inv_std = 1.0 / (std::sqrt(var) + 1e-8);
      for (std::size_t j = 0; j < order_.size(); ++j) {
        const EpisodeRecord& e = rec_of(j);
        EnvBuffer& b = buf_of(j);
        for (std::int64_t t = e.start; t < e.start + e.length; ++t) {
          auto k = static_cast<std::size_t>(t);
          b.psi[k] = (b.psi[k] - b.base[k] - mean) * inv_std;
          b.base[k] = 0.0;
        }
      }
    }
  }

  // ---- gradient -----------------------------------------------------------

  // Score weights of one episode: rows W_t such that the episode's gradient
  // is Phi^T W (theta part) plus, for a learned std, sum_t w_t (z_t^2 - 1).
  // `weight` multiplies row t (the advantage, or 1 for the score sum).
  void score_weights(const EnvBuffer& b, const EpisodeRecord& e, const double* weight,
                     const double* log_std, RowMatrix& W, double* std_grad) const {
    W.resize(e.length, K_);
    if (kind_ == PolicyKind::kSoftmax) {
      for (std::int64_t t = 0; t < e.length; ++t) {
        const double* p = b.out.data() + (e.start + t) * K_;
        const std::int64_t a = b.act_i[static_cast<std::size_t>(e.start + t)];
        for (std::int64_t k = 0; k < K_; ++k) W(t, k) = -weight[t] * p[k];
        W(t, a) += weight[t];
      }
    } else {
      for (std::int64_t d = 0; d < D_; ++d) std_grad[d] = 0.0;
      for (std::int64_t t = 0; t < e.length; ++t) {
        const double* mu = b.out.data() + (e.start + t) * K_;
        const double* a = b.act_c.data() + (e.start + t) * D_;
        for (std::int64_t d = 0; d < D_; ++d) {
          const double inv_var = std::exp(-2.0 * log_std[d]);
          const double diff = a[d] - mu[d];
          W(t, d) = weight[t] * diff * inv_var;
          std_grad[d] += weight[t] * (diff * diff * inv_var - 1.0);
        }
      }
    }
  }

  // grad_ = (1/m) sum_j g_j in episode order; optionally the standard error
  // of each coordinate from the per-episode contributions g_j.
  void accumulate_gradient(std::vector<double>* stderr_out) {
    const std::size_t m = order_.size();
    const auto P = static_cast<std::size_t>(P_);
    grad_.assign(P, 0.0);
    std::vector<double> sq(stderr_out ? P : 0, 0.0);
    std::vector<double> gj(P), std_grad(static_cast<std::size_t>(std::max<std::int64_t>(D_, 1)));
    const double* log_std = current_log_std_;
    RowMatrix Gj;

    if (cfg_.baseline == Baseline::kOptimal) {
      // Per-episode score sums s_j and returns R_j; b_k from the other
      // episodes: b_k = sum_{i!=j} s_ik^2 R_i / sum_{i!=j} s_ik^2.
      score_sums_.resize(static_cast<Index>(m), static_cast<Index>(P));
      std::vector<double> R(m);
      for (std::size_t j = 0; j < m; ++j) {
        const EnvBuffer& b = buf_of(j);
        const EpisodeRecord& e = rec_of(j);
        ones_.assign(static_cast<std::size_t>(e.length), 1.0);
        episode_gradient(b, e, ones_.data(), log_std, gj.data(), std_grad.data(), W_);
        for (std::size_t k = 0; k < P; ++k) score_sums_(static_cast<Index>(j), static_cast<Index>(k)) = gj[k];
        R[j] = b.psi[static_cast<std::size_t>(e.start)];
      }
      std::vector<double> s2r(P, 0.0), s2(P, 0.0);
      for (std::size_t j = 0; j < m; ++j)
        for (std::size_t k = 0; k < P; ++k) {
          const double s = score_sums_(static_cast<Index>(j), static_cast<Index>(k));
          s2r[k] += s * s * R[j];
          s2[k] += s * s;
        }
      for (std::size_t j = 0; j < m; ++j) {
        for (std::size_t k = 0; k < P; ++k) {
          const double s = score_sums_(static_cast<Index>(j), static_cast<Index>(k));
          const double den = s2[k] - s * s;
          const double b = den > 0 ? (s2r[k] - s * s * R[j]) / den : 0.0;
          gj[k] = s * (R[j] - b);
        }
        add_contribution(gj, sq, stderr_out != nullptr);
      }
    } else {
      // Each episode's contribution into its own row, in parallel; then the
      // rows are summed in episode order, so the bits do not depend on
      // num_threads.
      contrib_.resize(m * P);
      std::exception_ptr failure;
      std::mutex failure_mutex;
      auto work = [&](std::int64_t begin, std::int64_t end) {
        try {
          RowMatrix W;
          std::vector<double> adv, sg(static_cast<std::size_t>(std::max<std::int64_t>(D_, 1)));
          for (std::int64_t j = begin; j < end; ++j) {
            const auto jj = static_cast<std::size_t>(j);
            const EnvBuffer& b = buf_of(jj);
            const EpisodeRecord& e = rec_of(jj);
            adv.resize(static_cast<std::size_t>(e.length));
            for (std::int64_t t = 0; t < e.length; ++t)
              adv[static_cast<std::size_t>(t)] = b.psi[static_cast<std::size_t>(e.start + t)] -
                                                 b.base[static_cast<std::size_t>(e.start + t)];
            episode_gradient(b, e, adv.data(), log_std, contrib_.data() + jj * P, sg.data(), W);
          }
        } catch (...) {
          std::lock_guard<std::mutex> lock(failure_mutex);
          if (!failure) failure = std::current_exception();
        }
      };
      const auto episodes = static_cast<std::int64_t>(m);
      if (pool_ && episodes >= 2) {
        pool_->parallel_for(episodes, cfg_.num_threads, work);
      } else {
        work(0, episodes);
      }
      if (failure) std::rethrow_exception(failure);
      for (std::size_t j = 0; j < m; ++j) {
        std::copy(contrib_.begin() + static_cast<std::ptrdiff_t>(j * P),
                  contrib_.begin() + static_cast<std::ptrdiff_t>((j + 1) * P), gj.begin());
        add_contribution(gj, sq, stderr_out != nullptr);
      }
    }
    const double inv_m = 1.0 / static_cast<double>(m);
    for (std::size_t k = 0; k < P; ++k) grad_[k] *= inv_m;
    if (stderr_out) {
      for (std::size_t k = 0; k < P; ++k) {
        const double var = (sq[k] - static_cast<double>(m) * grad_[k] * grad_[k]) /
                           static_cast<double>(m - 1);
        (*stderr_out)[k] = std::sqrt(std::max(var, 0.0) * inv_m);
      }
    }
  }

  void add_contribution(const std::vector<double>& gj, std::vector<double>& sq, bool with_sq) {
    for (std::size_t k = 0; k < gj.size(); ++k) {
      grad_[k] += gj[k];
      if (with_sq) sq[k] += gj[k] * gj[k];
    }
  }

  // out = flat gradient of one episode with per-step weights; W is scratch.
  void episode_gradient(const EnvBuffer& b, const EpisodeRecord& e, const double* weight,
                        const double* log_std, double* out, double* std_grad,
                        RowMatrix& W) const {
    score_weights(b, e, weight, log_std, W, std_grad);
    ConstMatMap Phi(b.phi.data() + e.start * F_, e.length, F_);
    MatMap G(out, F_, K_);
    G.noalias() = Phi.transpose() * W;
    if (learn_std_)
      for (std::int64_t d = 0; d < D_; ++d) out[F_ * K_ + d] = std_grad[d];
  }

  // ---- natural gradient ---------------------------------------------------

  // fisher_ = (1/m) sum_j sum_t gamma^t s_t s_t^T (sampled), or the
  // expectation over the policy's actions at the same states (exact, softmax).
  void accumulate_fisher() {
    const std::size_t m = order_.size();
    fisher_.setZero(P_, P_);
    for (std::size_t j = 0; j < m; ++j) {
      const EnvBuffer& b = buf_of(j);
      const EpisodeRecord& e = rec_of(j);
      ConstMatMap Phi(b.phi.data() + e.start * F_, e.length, F_);
      if (cfg_.fisher == FisherKind::kExact) {
        // sum_t w_t (phi phi^T) kron (diag pi - pi pi^T), block (a, c) at a time.
        scaled_.resize(e.length, F_);
        for (std::int64_t a = 0; a < K_; ++a) {
          for (std::int64_t c = 0; c < K_; ++c) {
            double discount = 1.0;
            for (std::int64_t t = 0; t < e.length; ++t, discount *= cfg_.gamma) {
              const double* p = b.out.data() + (e.start + t) * K_;
              const double cov = (a == c ? p[a] : 0.0) - p[a] * p[c];
              scaled_.row(t) = (discount * cov) * Phi.row(t);
            }
            block_.noalias() = Phi.transpose() * scaled_;
            for (std::int64_t f = 0; f < F_; ++f)
              for (std::int64_t h = 0; h < F_; ++h) fisher_(f * K_ + a, h * K_ + c) += block_(f, h);
          }
        }
      } else {
        // Rows of per-step scores, scaled by sqrt(gamma^t).
        ones_.assign(static_cast<std::size_t>(e.length), 1.0);
        std::vector<double> dummy(static_cast<std::size_t>(std::max<std::int64_t>(D_, 1)));
        score_weights(b, e, ones_.data(), current_log_std_, W_, dummy.data());
        scores_.resize(e.length, P_);
        double discount = 1.0;
        for (std::int64_t t = 0; t < e.length; ++t, discount *= cfg_.gamma) {
          const double root = std::sqrt(discount);
          const double* phi = b.phi.data() + (e.start + t) * F_;
          for (std::int64_t f = 0; f < F_; ++f)
            for (std::int64_t k = 0; k < K_; ++k) scores_(t, f * K_ + k) = root * phi[f] * W_(t, k);
          if (learn_std_) {
            const double* mu = b.out.data() + (e.start + t) * K_;
            const double* a = b.act_c.data() + (e.start + t) * D_;
            for (std::int64_t d = 0; d < D_; ++d) {
              const double z2 = (a[d] - mu[d]) * (a[d] - mu[d]) * std::exp(-2.0 * current_log_std_[d]);
              scores_(t, F_ * K_ + d) = root * (z2 - 1.0);
            }
          }
        }
        fisher_.selfadjointView<Eigen::Lower>().rankUpdate(scores_.transpose());
      }
    }
    if (cfg_.fisher != FisherKind::kExact)
      fisher_.triangularView<Eigen::StrictlyUpper>() = fisher_.transpose();
    fisher_ /= static_cast<double>(m);
  }

  // step = alpha (F + damping I)^-1 g; returns the condition number estimate.
  double natural_direction(const std::vector<double>& g, std::vector<double>& step) {
    RowMatrix A = fisher_;
    A.diagonal().array() += cfg_.damping;
    Eigen::LDLT<RowMatrix> ldlt(A);
    require(ldlt.info() == Eigen::Success, "the damped Fisher matrix could not be factorised");
    const ConstVecMap gv(g.data(), P_);
    Vector x = ldlt.solve(gv);
    const double gx = gv.dot(x);
    double alpha = cfg_.lr;
    if (cfg_.max_kl > 0 && gx > 0) alpha = std::sqrt(2.0 * cfg_.max_kl / gx);
    for (std::int64_t k = 0; k < P_; ++k) step[static_cast<std::size_t>(k)] = alpha * x(k);
    const double rcond = ldlt.rcond();
    return rcond > 0 ? 1.0 / rcond : std::numeric_limits<double>::infinity();
  }

  // ---- value fit ------------------------------------------------------------

  // Ridge least squares V(s) = w^T phi(s) on this batch's (phi_t, G_t).
  void fit_value() {
    RowMatrix A = RowMatrix::Zero(F_, F_);
    Vector rhs = Vector::Zero(F_);
    for (std::size_t j = 0; j < order_.size(); ++j) {
      const EnvBuffer& b = buf_of(j);
      const EpisodeRecord& e = rec_of(j);
      ConstMatMap Phi(b.phi.data() + e.start * F_, e.length, F_);
      ConstVecMap G(b.target.data() + e.start, e.length);
      A.selfadjointView<Eigen::Lower>().rankUpdate(Phi.transpose());
      rhs.noalias() += Phi.transpose() * G;
    }
    A.triangularView<Eigen::StrictlyUpper>() = A.transpose();
    const double scale = std::max(1.0, A.diagonal().mean());
    A.diagonal().array() += cfg_.value_ridge * scale;
    Vector w = A.ldlt().solve(rhs);
    if (!w.allFinite()) return;  // keep the previous value function
    for (std::int64_t f = 0; f < F_; ++f) value_w_[static_cast<std::size_t>(f)] = w(f);
    has_value_ = true;
  }

  // ---- statistics -----------------------------------------------------------

  IterationStats batch_stats() const {
    IterationStats s;
    const std::size_t m = order_.size();
    s.episodes = static_cast<std::int64_t>(m);
    double sum = 0.0, len = 0.0, ent = 0.0;
    s.return_min = std::numeric_limits<double>::infinity();
    s.return_max = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < m; ++j) {
      const EnvBuffer& b = bufs_[static_cast<std::size_t>(order_[j].first)];
      const EpisodeRecord& e = b.episodes[static_cast<std::size_t>(order_[j].second)];
      sum += e.undiscounted;
      s.return_min = std::min(s.return_min, e.undiscounted);
      s.return_max = std::max(s.return_max, e.undiscounted);
      len += static_cast<double>(e.length);
      s.env_steps += e.length;
    }
    // Summed per env, then over envs in index order: independent of threads.
    for (std::int64_t i = 0; i < used_envs_; ++i) ent += bufs_[static_cast<std::size_t>(i)].entropy_sum;
    s.return_mean = sum / static_cast<double>(m);
    s.return_std = spread(s.return_mean, m, [&](std::size_t j) {
      return bufs_[static_cast<std::size_t>(order_[j].first)]
          .episodes[static_cast<std::size_t>(order_[j].second)]
          .undiscounted;
    });
    s.length_mean = len / static_cast<double>(m);
    s.entropy = kind_ == PolicyKind::kSoftmax ? ent / static_cast<double>(s.env_steps)
                                              : gaussian::entropy(current_log_std_, D_);
    return s;
  }

  // Mean of KL(old policy || new policy) over the batch's states, on an
  // evenly spaced sample of at most kKlStates of them (the statistic is a
  // diagnostic; the full pass would cost as much as the rollout's policy).
  double mean_kl(const std::vector<double>& old_params, const double* theta,
                 const double* log_std) {
    constexpr std::int64_t kKlStates = 1024;
    std::int64_t rows = 0;
    for (std::size_t j = 0; j < order_.size(); ++j) rows += rec_of(j).length;
    const std::int64_t stride = std::max<std::int64_t>(1, rows / kKlStates);
    std::int64_t counter = 0;
    double total = 0.0;
    std::int64_t n = 0;
    std::vector<double> q(static_cast<std::size_t>(K_));
    const double* old_log_std = learn_std_ ? old_params.data() + F_ * K_ : log_std;
    for (std::size_t j = 0; j < order_.size(); ++j) {
      const EnvBuffer& b = buf_of(j);
      const EpisodeRecord& e = rec_of(j);
      for (std::int64_t t = e.start; t < e.start + e.length; ++t) {
        if (counter++ % stride != 0) continue;
        ++n;
        const double* phi = b.phi.data() + t * F_;
        const double* p_old = b.out.data() + t * K_;
        if (kind_ == PolicyKind::kSoftmax) {
          softmax::logits(theta, phi, F_, K_, q.data());
          softmax::log_softmax(q.data(), K_);
          for (std::int64_t k = 0; k < K_; ++k)
            if (p_old[k] > 0) total += p_old[k] * (std::log(p_old[k]) - q[static_cast<std::size_t>(k)]);
        } else {
          gaussian::mean(theta, phi, F_, D_, q.data());
          total += gaussian::kl(p_old, old_log_std, q.data(), log_std, D_);
        }
      }
    }
    // Each term is >= 0; rounding can leave a tiny negative sum.
    return n > 0 ? std::max(total / static_cast<double>(n), 0.0) : 0.0;
  }

  // ---- online (Williams 1992) ---------------------------------------------

  IterationStats iterate_online(double* theta, double* log_std) {
    const std::int64_t m = cfg_.episodes_per_update;
    const std::int64_t n_envs = env_.num_envs();
    std::vector<double> returns, lengths;
    std::vector<double> before = flatten(theta, log_std);
    const AdamState adam_before = adam_;
    const double mean_before = running_mean_;
    const std::int64_t seen_before = episodes_seen_;
    IterationStats stats;
    double ent = 0.0, grad_sq = 0.0;
    auto last_poll = std::chrono::steady_clock::now();
    for (std::int64_t j = 0; j < m; ++j) {
      // An interrupted (or failed) iteration is undone whole: its updates
      // are applied together or not at all.
      try {
        poll_stop(last_poll);
        online_episode(j, theta, log_std, stats, returns, lengths, ent, grad_sq);
      } catch (...) {
        unflatten(before, theta, log_std);
        adam_ = adam_before;
        running_mean_ = mean_before;
        episodes_seen_ = seen_before;
        throw;
      }
    }
    stats.episodes = m;
    double sum = 0;
    stats.return_min = *std::min_element(returns.begin(), returns.end());
    stats.return_max = *std::max_element(returns.begin(), returns.end());
    for (double r : returns) sum += r;
    stats.return_mean = sum / static_cast<double>(m);
    stats.return_std = spread(stats.return_mean, returns.size(),
                              [&](std::size_t j) { return returns[j]; });
    double len = 0;
    for (double l : lengths) len += l;
    stats.length_mean = len / static_cast<double>(m);
    stats.entropy = ent / static_cast<double>(stats.env_steps);
    stats.grad_norm = std::sqrt(grad_sq / static_cast<double>(m));
    stats.kl = 0.0;
    ++completed_;
    env_.require_reset_all();
    return stats;
  }

  // One episode of Williams' online form and its update.
  void online_episode(std::int64_t j, double* theta, double* log_std, IterationStats& stats,
                      std::vector<double>& returns, std::vector<double>& lengths, double& ent,
                      double& grad_sq) {
    const std::int64_t n_envs = env_.num_envs();
    const std::int64_t m = cfg_.episodes_per_update;
    const std::int64_t i = j % n_envs;
    EnvBuffer& b = bufs_[static_cast<std::size_t>(i)];
    b.rows = 0;
    b.episodes.clear();
    b.final_phi.clear();
    b.entropy_sum = 0.0;
    current_log_std_ = log_std;
    run_episode(i, b, theta, log_std, false);
    order_.assign(1, {i, 0});
    // batch_stats sums the entropy of envs [0, used_envs_): only env i ran.
    for (std::int64_t k = 0; k < n_envs; ++k)
      if (k != i) bufs_[static_cast<std::size_t>(k)].entropy_sum = 0.0;
    used_envs_ = std::min<std::int64_t>(n_envs, m);
    const EpisodeRecord& e = b.episodes[0];
    // Baseline: running mean of the previous episodes' Psi (independent of
    // this episode, so unbiased).
    const double saved_baseline = cfg_.baseline == Baseline::kMean ? running_mean_ : 0.0;
    Baseline kept = cfg_.baseline;
    cfg_.baseline = Baseline::kNone;
    compute_psi_and_baseline();
    cfg_.baseline = kept;
    double psi_mean = 0.0;
    for (std::int64_t t = e.start; t < e.start + e.length; ++t) {
      psi_mean += b.psi[static_cast<std::size_t>(t)];
      b.base[static_cast<std::size_t>(t)] = saved_baseline;
    }
    psi_mean /= static_cast<double>(e.length);
    accumulate_gradient(nullptr);
    require_finite_gradient(grad_);
    std::vector<double> params = flatten(theta, log_std), step(static_cast<std::size_t>(P_));
    if (cfg_.optimizer == OptimizerKind::kAdam) {
      adam_direction(grad_, step);
    } else {
      for (std::int64_t k = 0; k < P_; ++k) step[static_cast<std::size_t>(k)] = cfg_.lr * grad_[static_cast<std::size_t>(k)];
    }
    for (std::int64_t k = 0; k < P_; ++k) params[static_cast<std::size_t>(k)] += step[static_cast<std::size_t>(k)];
    for (double v : params)
      if (!std::isfinite(v)) {
        throw std::runtime_error(concat("iteration ", completed_ + 1, ", episode ", j,
                                        ": the update made the parameters non-finite; they "
                                        "were reset to their values before this iteration"));
      }
    unflatten(params, theta, log_std);
    ++episodes_seen_;
    running_mean_ += (psi_mean - running_mean_) / static_cast<double>(episodes_seen_);
    returns.push_back(e.undiscounted);
    lengths.push_back(static_cast<double>(e.length));
    stats.env_steps += e.length;
    grad_sq += norm(grad_) * norm(grad_);
    IterationStats one = batch_stats();
    ent += one.entropy * static_cast<double>(e.length);
  }

  // ---- helpers ------------------------------------------------------------

  // Standard deviation of m values around their mean, scaled so that huge
  // finite values do not overflow their squares.
  template <class Value>
  static double spread(double mean, std::size_t m, Value value) {
    double scale = 0.0;
    for (std::size_t j = 0; j < m; ++j) scale = std::max(scale, std::fabs(value(j) - mean));
    if (scale == 0.0 || !std::isfinite(scale)) return scale;
    double sq = 0.0;
    for (std::size_t j = 0; j < m; ++j) {
      const double d = (value(j) - mean) / scale;
      sq += d * d;
    }
    return scale * std::sqrt(sq / static_cast<double>(m));
  }

  void require_finite_gradient(const std::vector<double>& g) const {
    for (double v : g)
      if (!std::isfinite(v))
        throw std::runtime_error(concat("iteration ", completed_ + 1,
                                        ": the gradient is not finite; the parameters were left "
                                        "at their last finite values"));
  }

  void adam_direction(const std::vector<double>& g, std::vector<double>& step) {
    try {
      adam_.direction(g, cfg_.lr, cfg_.adam_beta1, cfg_.adam_beta2, cfg_.adam_eps, step);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(concat("iteration ", completed_ + 1, ": ", e.what()));
    }
  }

  // Keeps a learned log std in [-kMaxLogStd, kMaxLogStd]: beyond, sigma^2
  // or 1 / sigma^2 leave the float64 range and scores become inf or NaN.
  void clamp_log_std(std::vector<double>& params) const {
    if (!learn_std_) return;
    for (std::int64_t d = 0; d < D_; ++d) {
      double& v = params[static_cast<std::size_t>(F_ * K_ + d)];
      if (std::isfinite(v)) v = std::min(std::max(v, -kMaxLogStd), kMaxLogStd);
    }
  }

  // Euclidean norm, scaled so that huge finite entries do not overflow.
  static double norm(const std::vector<double>& g) {
    double scale = 0.0;
    for (double v : g) scale = std::max(scale, std::fabs(v));
    if (scale == 0.0 || !std::isfinite(scale)) return scale;
    double s = 0.0;
    for (double v : g) s += (v / scale) * (v / scale);
    return scale * std::sqrt(s);
  }

  std::vector<double> flatten(const double* theta, const double* log_std) const {
    std::vector<double> p(theta, theta + F_ * K_);
    if (learn_std_) p.insert(p.end(), log_std, log_std + D_);
    return p;
  }

  void unflatten(const std::vector<double>& p, double* theta, double* log_std) const {
    std::copy(p.begin(), p.begin() + F_ * K_, theta);
    if (learn_std_) std::copy(p.begin() + F_ * K_, p.end(), log_std);
  }

  // The log_std of the call in progress, for the passes that do not take it.
  const double* current_log_std_ = nullptr;

  VecEnvBase& env_;
  std::shared_ptr<const FeatureMap> features_;
  PolicyKind kind_;
  ReinforceConfig cfg_;
  std::int64_t F_ = 0, K_ = 0, D_ = 0, P_ = 0;
  bool learn_std_ = false;
  std::vector<double> low_, high_;
  std::int64_t max_steps_ = 0;
  std::vector<EnvBuffer> bufs_;
  std::vector<Rng> rngs_;
  std::unique_ptr<ThreadPool> pool_;
  std::function<bool()> should_stop_;
  std::vector<std::pair<std::int64_t, std::int64_t>> order_;
  std::int64_t used_envs_ = 0;  // envs [0, used_envs_) took part in the last rollout
  bool record_obs_ = false;
  std::vector<double> grad_, adv_, ones_, time_sum_, time_count_, contrib_;
  RowMatrix W_, fisher_, scaled_, block_, scores_, score_sums_;
  std::vector<double> value_w_;
  bool has_value_ = false;
  AdamState adam_;
  std::int64_t iteration_ = 0;  // iterate() calls, for messages
  std::int64_t completed_ = 0;  // updates applied
  double running_mean_ = 0.0;
  std::int64_t episodes_seen_ = 0;
};

Reinforce::Reinforce(VecEnvBase& env, std::shared_ptr<const FeatureMap> features, PolicyKind kind,
                     std::int64_t n_out, bool learn_std, ReinforceConfig config)
    : engine_(std::make_unique<ReinforceEngine>(env, std::move(features), kind, n_out, learn_std,
                                                config)) {}
Reinforce::~Reinforce() = default;
const ReinforceConfig& Reinforce::config() const { return engine_->config(); }
std::int64_t Reinforce::completed() const { return engine_->completed(); }
std::int64_t Reinforce::n_params() const { return engine_->n_params(); }
void Reinforce::set_should_stop(std::function<bool()> fn) { engine_->set_should_stop(std::move(fn)); }

namespace {
// The engine signals Ctrl-C with its private Interrupted; callers see the
// public InterruptedError.
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
  return translate_interrupt([&] { return engine_->iterate(theta, log_std); });
}

GradientEstimate Reinforce::gradient(const double* theta, const double* log_std,
                                     std::int64_t episodes) {
  return translate_interrupt([&] { return engine_->gradient(theta, log_std, episodes); });
}

RolloutData Reinforce::rollout(const double* theta, const double* log_std, std::int64_t episodes,
                               std::int64_t steps, bool deterministic) {
  return translate_interrupt(
      [&] { return engine_->collect(theta, log_std, episodes, steps, deterministic); });
}

std::vector<double> Reinforce::fisher(const double* theta, const double* log_std,
                                     std::int64_t episodes) {
  return translate_interrupt([&] { return engine_->fisher(theta, log_std, episodes); });
}

EvaluationResult Reinforce::evaluate(const double* theta, const double* log_std,
                                     std::int64_t episodes, bool deterministic) {
  return translate_interrupt(
      [&] { return engine_->evaluate(theta, log_std, episodes, deterministic); });
}

}  // namespace pgfast
