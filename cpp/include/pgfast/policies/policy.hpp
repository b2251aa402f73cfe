// What every policy type shares: the parameters of one call and its kind.
//
// A policy type (LinearSoftmax, StateActionSoftmax, LinearGaussian) owns
// everything about its distribution in one place and offers the same
// members, so that the collector and the estimator are written once:
//
//   kDiscrete, kKind
//   rows_per_step(), row_width()   per-step feature rows the collector stores
//   columns()                      the score weights' width: grad = Phi^T W
//   out_width(), action_dim()      per-step policy output (pi or mu), action
//   n_theta(), n_params(learn_std)
//   phi(obs, row)                  the step's feature rows
//   act(p, row, out, action, rng, scratch) -> discrete action
//   log_prob, score_weights, score, entropy, kl, scratch_size()
#ifndef PGFAST_POLICIES_POLICY_HPP_
#define PGFAST_POLICIES_POLICY_HPP_

#include <cstdint>

// For the few small functions of the per-step loop that GCC's heuristics
// leave out of line although they are called once per step.
#define PGFAST_ALWAYS_INLINE inline __attribute__((always_inline))

namespace pgfast {

enum class PolicyKind { kSoftmax, kStateActionSoftmax, kGaussian };

// The parameters a call reads: theta (n_theta values, row-major) and, for
// a Gaussian policy, log_std (action_dim values).
struct PolicyParams {
  const double* theta = nullptr;
  const double* log_std = nullptr;
};

}  // namespace pgfast

#endif  // PGFAST_POLICIES_POLICY_HPP_
