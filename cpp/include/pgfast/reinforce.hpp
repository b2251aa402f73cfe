// Likelihood-ratio policy gradient (Williams 1992, REINFORCE) and its
// variance-reduced and natural-gradient relatives, for linear softmax and
// linear Gaussian policies.
//
//   g_hat = (1/m) sum_i sum_t grad log pi(a_t^i | s_t^i) (Psi_t^i - b_t^i)
//
// One update: roll out m episodes in parallel (env i runs episodes i, i+N,
// ... of the batch with its own random streams), compute Psi and the
// baseline, accumulate the gradient as per-episode matrix products Phi^T W
// in episode order (so the result is bitwise the same for any num_threads),
// then apply SGD, Adam or a natural-gradient step.
#ifndef PGFAST_REINFORCE_HPP_
#define PGFAST_REINFORCE_HPP_

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pgfast/envs/env.hpp"
#include "pgfast/features.hpp"

namespace pgfast {

enum class PolicyKind { kSoftmax, kGaussian };
// total: Psi_t = R(tau) = sum_k gamma^k r_k. reward_to_go: Psi_t = G_t =
// sum_{k>=t} gamma^(k-t) r_k (the common convention; biased for gamma < 1).
// discounted_reward_to_go: Psi_t = gamma^t G_t (unbiased for grad J).
// gae: Psi_t = GAE(lambda) advantage with the fitted linear value.
enum class Returns { kTotal, kRewardToGo, kDiscountedRewardToGo, kGae };
enum class Baseline { kNone, kMean, kTime, kValue, kOptimal };
enum class OptimizerKind { kSgd, kAdam, kNatural };
enum class FisherKind { kSampled, kExact };

struct ReinforceConfig {
  double lr = 0.05;
  double gamma = 0.99;
  std::int64_t episodes_per_update = 32;
  // > 0: instead of episodes_per_update, each of the N envs runs whole
  // episodes until it has ceil(steps_per_update / N) steps.
  std::int64_t steps_per_update = 0;
  Returns returns = Returns::kRewardToGo;
  Baseline baseline = Baseline::kMean;
  double gae_lambda = 0.95;
  bool normalize_advantages = false;
  OptimizerKind optimizer = OptimizerKind::kAdam;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_eps = 1e-8;
  FisherKind fisher = FisherKind::kSampled;
  double damping = 1e-4;  // added to the Fisher diagonal, relative to its mean diagonal
  double max_kl = 0.0;    // > 0: natural step alpha = sqrt(2 max_kl / g'F^-1 g)
  double value_ridge = 1e-6;
  // With a fitted value, a truncated episode's returns continue with
  // gamma^(T-t) V(s_T) (the time limit is not part of the task). Off, the
  // estimate targets the time-limited objective exactly.
  bool bootstrap_truncated = true;
  bool online = false;  // Williams' form: one update per episode
  std::uint64_t seed = 0;
  int num_threads = 1;

  void validate() const;  // throws std::invalid_argument naming the field
};

struct IterationStats {
  double return_mean = 0, return_std = 0, return_min = 0, return_max = 0;
  double length_mean = 0;
  std::int64_t episodes = 0;
  std::int64_t env_steps = 0;
  double grad_norm = 0;
  double entropy = 0;
  double kl = 0;
  double fisher_condition = 0;  // natural gradient only, else 0
};

struct GradientEstimate {
  std::vector<double> mean;    // flat: theta row-major, then log_std (if learned)
  std::vector<double> stderr_;  // per coordinate, from per-episode contributions
  std::int64_t episodes = 0;
};

// Per-step arrays of a batch of episodes, episode after episode.
struct RolloutData {
  std::int64_t rows = 0;
  std::vector<double> obs;              // rows x obs_size (float64 view)
  std::vector<std::int64_t> actions_i;  // softmax: rows
  std::vector<double> actions_c;        // Gaussian: rows x action_dim, unclipped samples
  std::vector<double> rewards, log_probs;
  std::vector<std::uint8_t> terminated, truncated;  // set on each episode's last step
  std::vector<std::int64_t> episode;    // index of the episode in the batch
};

struct EvaluationResult {
  std::vector<double> returns;  // undiscounted sum of rewards per episode
  std::vector<std::int64_t> lengths;
};

class ReinforceEngine;

// Thrown when the should_stop callback asked to stop (Ctrl-C); nothing was
// updated by the interrupted call.
struct InterruptedError : std::exception {
  const char* what() const noexcept override { return "interrupted"; }
};

class Reinforce {
 public:
  // n_out: n_actions (softmax) or action_dim (Gaussian). The env must
  // outlive this object and not be used by anyone else during calls.
  Reinforce(VecEnvBase& env, std::shared_ptr<const FeatureMap> features, PolicyKind kind,
            std::int64_t n_out, bool learn_std, ReinforceConfig config);
  ~Reinforce();
  Reinforce(const Reinforce&) = delete;
  Reinforce& operator=(const Reinforce&) = delete;

  const ReinforceConfig& config() const;
  std::int64_t n_params() const;
  // Updates applied so far (an interrupted or rejected iterate() applies none).
  std::int64_t completed() const;
  // Polled between rounds of episodes (at most every 20 ms); returning true
  // interrupts the call with InterruptedError.
  void set_should_stop(std::function<bool()> fn);

  // One update of theta (F x n_out) and log_std (n_out, Gaussian) in place.
  // Throws std::runtime_error, leaving the parameters as they were, if the
  // gradient or the new parameters are not finite.
  IterationStats iterate(double* theta, double* log_std);
  GradientEstimate gradient(const double* theta, const double* log_std, std::int64_t episodes);
  // Episodes (episodes > 0) or at least `steps` steps (as steps_per_update)
  // of the policy, with the observations and log-probabilities.
  RolloutData rollout(const double* theta, const double* log_std, std::int64_t episodes,
                      std::int64_t steps, bool deterministic);
  // The Fisher matrix the natural step would use, (n_params x n_params)
  // row-major, estimated from `episodes` episodes; no update.
  std::vector<double> fisher(const double* theta, const double* log_std, std::int64_t episodes);
  EvaluationResult evaluate(const double* theta, const double* log_std, std::int64_t episodes,
                            bool deterministic);

 private:
  std::unique_ptr<ReinforceEngine> engine_;
};

}  // namespace pgfast

#endif  // PGFAST_REINFORCE_HPP_
