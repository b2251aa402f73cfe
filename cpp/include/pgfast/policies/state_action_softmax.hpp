// The seed's softmax over general state-action features of a finite state
// space, phi(s, a) = table[s, a, :] (S x A x d), with one theta of length d:
//   pi(a|s) = exp(phi(s,a)^T theta) / sum_b exp(phi(s,b)^T theta)
//   grad log pi(a|s) = phi(s,a) - sum_b pi(b|s) phi(s,b)
// (observed features minus expected features).
//
// The collector stores a step's A rows phi(s, .) (A x d), and the score
// weights are one column of A entries per step, w_t (e_{a_t} - pi_t), so
// the gradient of an episode is again Phi^T W with Phi (T*A x d).
// Factored maps phi(s) (x) psi_a are cheaper as a LinearSoftmax with action
// features (linear_softmax.hpp).
#ifndef PGFAST_POLICIES_STATE_ACTION_SOFTMAX_HPP_
#define PGFAST_POLICIES_STATE_ACTION_SOFTMAX_HPP_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "pgfast/policies/linear_softmax.hpp"
#include "pgfast/policies/policy.hpp"
#include "pgfast/rng.hpp"

namespace pgfast {

class StateActionSoftmax {
 public:
  static constexpr bool kDiscrete = true;
  static constexpr PolicyKind kKind = PolicyKind::kStateActionSoftmax;

  // table: (n_states x n_actions x d) row-major, finite.
  StateActionSoftmax(std::vector<double> table, std::int64_t n_states, std::int64_t n_actions,
                     std::int64_t d);

  const std::vector<double>& table() const { return *table_; }
  std::int64_t n_states() const { return S_; }
  std::int64_t obs_dim() const { return 1; }
  std::int64_t n_actions() const { return A_; }
  std::int64_t action_dim() const { return 0; }
  std::int64_t rows_per_step() const { return A_; }
  std::int64_t row_width() const { return d_; }
  std::int64_t columns() const { return 1; }
  std::int64_t out_width() const { return A_; }
  std::int64_t n_theta() const { return d_; }
  std::int64_t n_params(bool /*learn_std*/) const { return d_; }

  // Observations are state indices (checked by check_obs at the boundary;
  // the engine's own envs produce valid ones).
  void phi(const double* obs, double* rows) const {
    const double* src = table_->data() + static_cast<std::int64_t>(obs[0]) * A_ * d_;
    std::copy(src, src + A_ * d_, rows);
  }
  void check_obs(const double* obs, std::int64_t row) const;

  void logits(const PolicyParams& p, const double* rows, double* z,
              double* /*scratch*/ = nullptr) const {
    for (std::int64_t a = 0; a < A_; ++a) {
      const double* x = rows + a * d_;
      double s = 0.0;
      for (std::int64_t j = 0; j < d_; ++j) s += x[j] * p.theta[j];
      z[a] = s;
    }
  }

  PGFAST_ALWAYS_INLINE std::int64_t act(const PolicyParams& p, const double* rows, double* out,
                                        double* /*action*/, Rng* rng, double* /*scratch*/) const {
    if (A_ <= softmax::kLocalActions) {
      double z[softmax::kLocalActions];
      logits(p, rows, z);
      return softmax::finish(z, A_, out, rng);
    }
    logits(p, rows, out);
    softmax::normalize(out, A_);
    return rng ? softmax::sample(out, A_, *rng) : softmax::argmax(out, A_);
  }

  double log_prob(const PolicyParams& /*p*/, const double* out, std::int64_t a,
                  const double* /*action*/) const {
    return std::log(out[a]);
  }

  // W (T*A x 1): W[t*A + b] = weight_t ([b == a_t] - pi_t(b)).
  void score_weights(const PolicyParams& /*p*/, const double* out, const std::int64_t* actions,
                     const double* /*cont*/, const double* weight, std::int64_t T, double* W,
                     double* /*extra*/) const {
    for (std::int64_t t = 0; t < T; ++t) {
      const double* pi = out + t * A_;
      double* w = W + t * A_;
      for (std::int64_t b = 0; b < A_; ++b) w[b] = -weight[t] * pi[b];
      w[actions[t]] += weight[t];
    }
  }

  void score(const PolicyParams& /*p*/, const double* rows, const double* out, std::int64_t a,
             const double* /*cont*/, double* s, double* /*scratch*/) const {
    for (std::int64_t j = 0; j < d_; ++j) s[j] = rows[a * d_ + j];
    for (std::int64_t b = 0; b < A_; ++b)
      for (std::int64_t j = 0; j < d_; ++j) s[j] -= out[b] * rows[b * d_ + j];
  }

  double entropy(const PolicyParams& /*p*/, const double* out) const {
    return softmax::entropy(out, A_);
  }

  double kl(const PolicyParams& /*old*/, const PolicyParams& next, const double* rows,
            const double* out_old, double* scratch) const {
    logits(next, rows, scratch);
    softmax::log_normalize(scratch, A_);
    return softmax::kl(out_old, scratch, A_);
  }

  std::int64_t scratch_size() const { return A_ + d_; }

 private:
  // Shared: copies of the policy (one per engine) need not copy the table.
  std::shared_ptr<const std::vector<double>> table_;
  std::int64_t S_ = 0, A_ = 0, d_ = 0;
};

}  // namespace pgfast

#endif  // PGFAST_POLICIES_STATE_ACTION_SOFTMAX_HPP_
