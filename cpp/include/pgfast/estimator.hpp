// From a batch of episodes to the policy-gradient estimate
//
//   g_hat = (1/m) sum_j sum_t grad log pi(a_t^j | s_t^j) (Psi_t^j - b_t^j)
//
// Psi (returns.hpp), the baselines (baselines.hpp), the gradient with its
// standard errors, the Fisher matrix of the natural step and the value
// fit's normal equations.
//
// An estimate runs in rounds. Each round is a sum over the batch's blocks
// of kBlockEpisodes episodes, each block summed in episode order and the
// blocks along a fixed pairwise tree (reduction.hpp); the whole-batch
// quantities a round produces (a baseline's statistics, the advantages'
// mean and spread) are what the next round needs. A process holding some of
// the blocks (a thread's share, a Ray worker's) computes its part of every
// round, so the bits depend on neither the number of threads nor the number
// of processes: what travels between rounds is listed in Round.
#ifndef PGFAST_ESTIMATOR_HPP_
#define PGFAST_ESTIMATOR_HPP_

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "pgfast/policies/policy_model.hpp"
#include "pgfast/reduction.hpp"
#include "pgfast/types.hpp"
#include "pgfast/value_fit.hpp"

namespace pgfast {

class Collector;

// total: Psi_t = R(tau) = sum_k gamma^k r_k. reward_to_go: Psi_t = G_t =
// sum_{k>=t} gamma^(k-t) r_k (the common convention; biased for gamma < 1).
// discounted_reward_to_go: Psi_t = gamma^t G_t (unbiased for grad J).
// gae: Psi_t = GAE(lambda) advantage with the fitted linear value.
enum class Returns { kTotal, kRewardToGo, kDiscountedRewardToGo, kGae };
enum class Baseline { kNone, kMean, kTime, kValue, kOptimal };
enum class FisherKind { kSampled, kExact };

inline constexpr std::int64_t kBlockEpisodes = 16;
// Largest dense matrix the estimator forms: the Fisher matrix (parameters)
// or the value fit's normal equations (features); 4096^2 doubles = 128 MiB.
inline constexpr std::int64_t kMaxDense = 4096;

struct EstimatorConfig {
  double gamma = 0.99;
  Returns returns = Returns::kRewardToGo;
  Baseline baseline = Baseline::kMean;
  double gae_lambda = 0.95;
  bool normalize_advantages = false;
  FisherKind fisher = FisherKind::kSampled;
  double value_ridge = 1e-6;
  // With a fitted value, a truncated episode's returns continue with
  // gamma^(T-t) V(s_T) (the time limit is not part of the task). Off, the
  // estimate targets the time-limited objective exactly.
  bool bootstrap_truncated = true;

  bool uses_value() const { return baseline == Baseline::kValue || returns == Returns::kGae; }
};

// The rounds of an estimate, in the order they run; each sums one vector
// per block (B = the block's episodes, T = their steps):
//   kBaseline (mean):  [sum_B sum_t Psi, steps]        -> b_j, leave-one-out
//   kBaseline (time):  [sum_B Psi_t, count_t]_t         -> b_t, leave-one-out
//   kAdvantageMean:    [sum (Psi - b), steps]           -> the advantages' mean
//   kAdvantageSpread:  [sum (Psi - b - mean)^2]         -> their standard deviation
//   kOptimal:          [sum_B s_jk^2 R_j, sum_B s_jk^2] -> b_k, leave-one-out
//   kFinal:            the FinalParts asked for.
// A configuration runs the rounds it needs (none of the first four for
// baseline "none", "value" or GAE without normalisation) and then kFinal.
enum class Round { kBaseline, kAdvantageMean, kAdvantageSpread, kOptimal, kFinal };

// What the final round sums, laid out in this order in one vector.
struct FinalParts {
  bool gradient = true;  // sum_j g_j (n_params)
  bool squares = false;  // sum_j g_j^2 (n_params), for standard errors
  bool fisher = false;   // sum_j sum_t gamma^t s s^T (n_params^2, lower triangle)
  bool value = false;    // the value fit's X^T X (width^2, lower) and X^T y (width)
};

struct FinalLayout {
  std::int64_t gradient = -1, squares = -1, fisher = -1, value_matrix = -1, value_rhs = -1;
  std::int64_t size = 0;
};

class Estimator {
 public:
  Estimator(std::shared_ptr<const PolicyModel> policy, EstimatorConfig config);

  const EstimatorConfig& config() const { return cfg_; }
  std::int64_t n_params() const { return P_; }

  // ---- One estimate in this process: all the rounds over the whole batch.
  // Returns the final round's sum (see final_layout); with fixed_baseline,
  // b = *fixed_baseline everywhere instead of the configured baseline.
  const std::vector<double>& estimate(Collector& batch, const PolicyParams& p,
                                      const FinalParts& parts,
                                      const double* fixed_baseline = nullptr);

  // ---- The same rounds for a shard: the collector holds episodes
  // [first, first + count) of a batch of batch_episodes (first a multiple of
  // kBlockEpisodes; count too unless the shard ends the batch).
  void begin(Collector& shard, std::int64_t batch_episodes, const double* fixed_baseline = nullptr);
  // The rounds this estimate runs, in order (the last is kFinal).
  const std::vector<Round>& rounds() const { return rounds_; }
  // This shard's maximal tree nodes of round r (replacing out's).
  void local(Round r, Collector& shard, const PolicyParams& p, const FinalParts& parts,
             TreeNodes& out);
  // The batch-wide sum of round r (not kFinal), for the rounds after it.
  void receive(Round r, const Collector& shard, const std::vector<double>& sum);

  FinalLayout final_layout(const FinalParts& parts) const;
  std::int64_t blocks() const { return tree_.blocks(); }
  PairwiseTree& tree() { return tree_; }

  // The value function's weights: fitted by the driver from the final
  // round's normal equations, sent to the shards with the parameters.
  const ValueFunction& value() const { return value_; }
  std::int64_t value_width() const { return uses_value_ ? width_ : 0; }
  void fit_value(const double* xtx, const double* xty) { value_.fit(xtx, xty); }
  void set_value(const double* w, std::int64_t n, bool fitted) { value_.set(w, n, fitted); }
  // Sizes the per-episode workspaces for episodes of up to `steps` steps
  // (the env's time limit), so that a long episode late in a run does not
  // grow them; with fisher, the Fisher matrix's too.
  void reserve(std::int64_t steps, bool fisher);

  // This shard's per-step arrays after the last estimate (episodes in
  // order, see Collector::offset): Psi and the baseline.
  const std::vector<double>& psi() const { return psi_; }
  const std::vector<double>& base() const { return base_; }

 private:
  struct Workspace {
    std::vector<double> W, adv, gj, extra, scratch, score, rows, cov, block, discount;
    TreeNodes nodes;
  };
  bool optimal() const;
  void compute_psi(Collector& batch);
  void compute_psi(const Collector& batch, std::int64_t j0, std::int64_t j1);
  // Local episodes [j0, j1) of global block k.
  std::pair<std::int64_t, std::int64_t> block_episodes(const Collector& shard,
                                                       std::int64_t k) const;
  // Calls block(k, out, workspace) for every block of the shard, shared out
  // among the threads in contiguous runs, and merges their nodes into out.
  template <class Block>
  void for_blocks(Collector& shard, Block&& block, TreeNodes& out);
  void block_stats(Round r, const Collector& shard, const PolicyParams& p, std::int64_t k,
                   std::vector<double>& out, Workspace& ws);
  void block_final(const Collector& shard, const PolicyParams& p, const FinalParts& parts,
                   const FinalLayout& at, std::int64_t k, std::vector<double>& out, Workspace& ws);
  template <class Policy>
  void episode_gradient(const Policy& policy, const Collector& batch, std::int64_t j,
                        const PolicyParams& p, const double* weight, Workspace& ws) const;
  template <class Policy>
  void add_sampled_fisher(const Policy& policy, const Collector& batch, std::int64_t j,
                          const PolicyParams& p, MatMap& F, Workspace& ws) const;
  void add_exact_fisher(const LinearSoftmax& policy, const Collector& batch, std::int64_t j,
                        MatMap& F, Workspace& ws) const;
  void add_exact_fisher(const StateActionSoftmax& policy, const Collector& batch, std::int64_t j,
                        MatMap& F, Workspace& ws) const;

  std::shared_ptr<const PolicyModel> policy_;
  EstimatorConfig cfg_;
  std::int64_t P_ = 0, R_ = 0, C_ = 0, K_ = 0, D_ = 0, width_ = 0;
  bool uses_value_ = false;
  ValueFunction value_;
  PairwiseTree tree_;
  std::vector<Round> rounds_;
  std::int64_t batch_episodes_ = 0, reserved_steps_ = 0;
  bool fixed_baseline_ = false;
  // This shard's per-step arrays, grown and then reused.
  std::vector<double> psi_, base_, target_, ones_;
  // Per local episode: Psi summed over its steps (mean baseline); its score
  // sums s_j (optimal baseline, n_params each).
  std::vector<double> episode_sum_, score_sums_;
  // Batch-wide results of the rounds so far.
  double adv_mean_ = 0.0, adv_count_ = 0.0;
  std::vector<double> optimal_, sum_;
  // Per thread.
  std::vector<Workspace> ws_;
  std::vector<PairwiseTree> trees_;
  std::vector<TreeNodes> parts_;
  TreeNodes round_nodes_;
};

}  // namespace pgfast

#endif  // PGFAST_ESTIMATOR_HPP_
