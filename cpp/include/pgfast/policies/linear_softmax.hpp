// Linear softmax policies. Everything about the distribution lives here:
// sampling, log-probabilities, the score, the exact Fisher rows, KL and
// entropy, used by the engine and by the Python bindings alike.
//
// Over state features phi(s) (F of them) and, optionally, action features
// psi (A x k), with Theta of shape (F, K), K = k (or A without psi):
//   logits z_a = phi(s)^T Theta psi_a        (psi = I: z_a = phi^T theta_a)
//   pi(a|s)   = exp(z_a) / sum_b exp(z_b)
//   grad_Theta log pi(a|s) = phi(s) (psi_a - sum_b pi_b psi_b)^T
// which is the seed's softmax over state-action features
// phi(s, a) = phi(s) (x) psi_a with one shared theta = vec(Theta): observed
// features minus expected features. Without psi it is the textbook
// LinearSoftmax, phi(s) (e_a - pi)^T.
//
// The engine's gradient of an episode is Phi^T W with Phi its rows of
// phi(s_t) (T x F) and W the score weights (T x K) built here.
#ifndef PGFAST_POLICIES_LINEAR_SOFTMAX_HPP_
#define PGFAST_POLICIES_LINEAR_SOFTMAX_HPP_

#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "pgfast/features.hpp"
#include "pgfast/policies/policy.hpp"
#include "pgfast/rng.hpp"

namespace pgfast {

namespace softmax {

namespace detail {
// Fixed action counts keep the accumulators in registers; through memory
// they form a store-to-load chain that doubled the cost of a CartPole step.
// Sparse maps (one-hot, tile coding, tables) skip their zeros; for dense
// ones a test per feature would only lengthen the chain of a step, so the
// two are separate loops.
template <int kA, bool kSparse>
PGFAST_ALWAYS_INLINE void logits_fixed(const double* theta, const double* phi, std::int64_t F,
                                       double* out) {
  double acc[kA] = {};
  for (std::int64_t f = 0; f < F; ++f) {
    const double x = phi[f];
    if (kSparse && x == 0.0) continue;
    const double* row = theta + f * kA;
    for (int a = 0; a < kA; ++a) acc[a] += x * row[a];
  }
  for (int a = 0; a < kA; ++a) out[a] = acc[a];
}

// Dense and long (Fourier, RBF): four partial sums per action, as one
// chain of F dependent additions would bound a step by their latency
// (~1 us for 256 features).
template <int kA>
PGFAST_ALWAYS_INLINE void logits_dense_long(const double* theta, const double* phi, std::int64_t F,
                                            double* out) {
  double acc[4][kA] = {};
  std::int64_t f = 0;
  for (; f + 4 <= F; f += 4) {
    const double* row = theta + f * kA;
    for (int a = 0; a < kA; ++a) {
      acc[0][a] += phi[f] * row[a];
      acc[1][a] += phi[f + 1] * row[kA + a];
      acc[2][a] += phi[f + 2] * row[2 * kA + a];
      acc[3][a] += phi[f + 3] * row[3 * kA + a];
    }
  }
  for (; f < F; ++f)
    for (int a = 0; a < kA; ++a) acc[0][a] += phi[f] * theta[f * kA + a];
  for (int a = 0; a < kA; ++a) out[a] = (acc[0][a] + acc[1][a]) + (acc[2][a] + acc[3][a]);
}

template <int kA>
PGFAST_ALWAYS_INLINE void logits_fixed(const double* theta, const double* phi, std::int64_t F,
                                       bool sparse, double* out) {
  if (sparse) {
    logits_fixed<kA, true>(theta, phi, F, out);
  } else if (F >= 16) {
    logits_dense_long<kA>(theta, phi, F, out);
  } else {
    logits_fixed<kA, false>(theta, phi, F, out);
  }
}
}  // namespace detail

// out[c] = phi^T theta[:, c] for theta (F, K) row-major.
PGFAST_ALWAYS_INLINE void linear(const double* theta, const double* phi, std::int64_t F,
                                 std::int64_t K, double* out, bool sparse = true) {
  switch (K) {
    case 1:
      return detail::logits_fixed<1>(theta, phi, F, sparse, out);
    case 2:
      return detail::logits_fixed<2>(theta, phi, F, sparse, out);
    case 3:
      return detail::logits_fixed<3>(theta, phi, F, sparse, out);
    case 4:
      return detail::logits_fixed<4>(theta, phi, F, sparse, out);
    default:
      break;
  }
  for (std::int64_t c = 0; c < K; ++c) out[c] = 0.0;
  for (std::int64_t f = 0; f < F; ++f) {
    const double x = phi[f];
    if (sparse && x == 0.0) continue;
    const double* row = theta + f * K;
    for (std::int64_t c = 0; c < K; ++c) out[c] += x * row[c];
  }
}

// In place: logits -> pi, one exp per action (one in all for two actions).
PGFAST_ALWAYS_INLINE void normalize(double* z, std::int64_t A) {
  if (A == 2) {
    // pi_1 = 1 / (1 + exp(z_0 - z_1)), the smaller probability as e * the larger.
    // Selects, not stores at a computed index: two 8-byte stores to a
    // computed place defeat store forwarding when z is read back.
    const double d = z[1] - z[0];
    const double e = std::exp(-std::fabs(d));
    const double big = 1.0 / (1.0 + e);
    const double small = e * big;
    const bool second = d >= 0;
    z[0] = second ? small : big;
    z[1] = second ? big : small;
    return;
  }
  double m = z[0];
  for (std::int64_t a = 1; a < A; ++a) m = z[a] > m ? z[a] : m;
  double sum = 0.0;
  for (std::int64_t a = 0; a < A; ++a) {
    z[a] = std::exp(z[a] - m);
    sum += z[a];
  }
  const double inv = 1.0 / sum;
  for (std::int64_t a = 0; a < A; ++a) z[a] *= inv;
}

// In place: logits -> log pi by log-sum-exp (finite for finite logits).
inline void log_normalize(double* z, std::int64_t A) {
  double m = z[0];
  for (std::int64_t a = 1; a < A; ++a) m = z[a] > m ? z[a] : m;
  double sum = 0.0;
  for (std::int64_t a = 0; a < A; ++a) sum += std::exp(z[a] - m);
  const double lse = m + std::log(sum);
  for (std::int64_t a = 0; a < A; ++a) z[a] -= lse;
}

// Inverse-CDF sampling from probabilities that sum to 1 up to rounding.
PGFAST_ALWAYS_INLINE std::int64_t sample(const double* p, std::int64_t A, Rng& rng) {
  const double u = rng.uniform();
  double cumulative = 0.0;
  for (std::int64_t a = 0; a + 1 < A; ++a) {
    cumulative += p[a];
    if (u < cumulative) return a;
  }
  return A - 1;
}

PGFAST_ALWAYS_INLINE std::int64_t argmax(const double* p, std::int64_t A) {
  std::int64_t best = 0;
  for (std::int64_t a = 1; a < A; ++a) best = p[a] > p[best] ? a : best;
  return best;
}

// Action counts up to this keep the step's probabilities in a local array.
inline constexpr std::int64_t kLocalActions = 8;

// Logits z (a local array of A <= kLocalActions) -> pi into out, and the
// sampled (rng) or most probable action, drawn from the local copy: the
// draw waits on the probabilities, and a round trip through `out` would
// lengthen every step.
PGFAST_ALWAYS_INLINE std::int64_t finish(double* z, std::int64_t A, double* out, Rng* rng) {
  if (A == 2) {  // the draw of sample() and argmax() for two actions, unrolled
    normalize(z, 2);
    const std::int64_t a = rng ? (rng->uniform() < z[0] ? 0 : 1) : (z[1] > z[0] ? 1 : 0);
    out[0] = z[0];
    out[1] = z[1];
    return a;
  }
  normalize(z, A);
  // The action first: the copy's (vectorised) reads of z are then off the
  // step's critical path.
  const std::int64_t a = rng ? sample(z, A, *rng) : argmax(z, A);
  for (std::int64_t b = 0; b < A; ++b) out[b] = z[b];
  return a;
}

// -sum_a pi log pi (0 log 0 = 0).
inline double entropy(const double* p, std::int64_t A) {
  double h = 0.0;
  for (std::int64_t a = 0; a < A; ++a)
    if (p[a] > 0) h -= p[a] * std::log(p[a]);
  return h;
}

// KL(p || q) with q given by its log-probabilities.
inline double kl(const double* p, const double* log_q, std::int64_t A) {
  double k = 0.0;
  for (std::int64_t a = 0; a < A; ++a)
    if (p[a] > 0) k += p[a] * (std::log(p[a]) - log_q[a]);
  return k;
}

}  // namespace softmax

class LinearSoftmax {
 public:
  static constexpr bool kDiscrete = true;
  static constexpr PolicyKind kKind = PolicyKind::kSoftmax;
  // Action features beyond this many columns belong in a state-action table.
  static constexpr std::int64_t kMaxColumns = 4096;

  // psi: empty (one parameter column per action) or (n_actions x k) row-major.
  LinearSoftmax(std::shared_ptr<const FeatureMap> features, std::int64_t n_actions,
                std::vector<double> psi = {}, std::int64_t k = 0);

  const FeatureMap& features() const { return *features_; }
  const std::shared_ptr<const FeatureMap>& features_ptr() const { return features_; }
  const std::vector<double>& action_features() const { return psi_; }
  std::int64_t obs_dim() const { return features_->obs_dim(); }
  std::int64_t n_actions() const { return A_; }
  std::int64_t action_dim() const { return 0; }
  // Layout of the per-step rows the collector stores: R rows of C values,
  // and the policy's output (pi) of out_width values.
  std::int64_t rows_per_step() const { return 1; }
  std::int64_t row_width() const { return F_; }
  std::int64_t columns() const { return K_; }
  std::int64_t out_width() const { return A_; }
  std::int64_t n_theta() const { return F_ * K_; }
  std::int64_t n_params(bool /*learn_std*/) const { return n_theta(); }

  // Identity features ([obs, 1], the commonest and cheapest map) are
  // written inline: a virtual call per step is a measurable share of a
  // CartPole step.
  PGFAST_ALWAYS_INLINE void phi(const double* obs, double* row) const {
    if (identity_dim_ >= 0) {
      for (std::int64_t k = 0; k < identity_dim_; ++k) row[k] = obs[k];
      row[identity_dim_] = 1.0;
      return;
    }
    features_->compute(obs, row);
  }

  // z (A) = logits; scratch holds K values (used with action features).
  PGFAST_ALWAYS_INLINE void logits(const PolicyParams& p, const double* row, double* z,
                                   double* scratch) const {
    if (psi_.empty()) {
      softmax::linear(p.theta, row, F_, A_, z, sparse_);
      return;
    }
    switch (K_) {  // u = Theta^T phi in registers for the common widths
      case 1:
        return factored_logits<1>(p, row, z, scratch);
      case 2:
        return factored_logits<2>(p, row, z, scratch);
      case 3:
        return factored_logits<3>(p, row, z, scratch);
      case 4:
        return factored_logits<4>(p, row, z, scratch);
      default:
        return factored_logits<0>(p, row, z, scratch);
    }
  }

  // z_a = psi_a . u with u = Theta^T phi (K values); kK > 0 a compile-time
  // K. The sum runs from 0 in the order of c, so that psi = I gives z = u
  // to the bit.
  template <int kK>
  PGFAST_ALWAYS_INLINE void factored_logits(const PolicyParams& p, const double* row, double* z,
                                            double* scratch) const {
    const std::int64_t K = kK > 0 ? kK : K_;
    double local[kK > 0 ? kK : 1];
    double* u = kK > 0 ? local : scratch;
    softmax::linear(p.theta, row, F_, K, u, sparse_);
    const double* psi = psi_.data();
    for (std::int64_t a = 0; a < A_; ++a) {
      const double* psi_a = psi + a * K;
      double s = 0.0;
      for (std::int64_t c = 0; c < K; ++c) s += psi_a[c] * u[c];
      z[a] = s;
    }
  }

  // pi(.|s) into out; returns the sampled action (the most probable when
  // rng is null).
  PGFAST_ALWAYS_INLINE std::int64_t act(const PolicyParams& p, const double* row, double* out,
                                        double* /*action*/, Rng* rng, double* scratch) const {
    if (A_ == 2 && psi_.empty()) {  // the commonest case, with constant sizes
      double z[2];
      softmax::linear(p.theta, row, F_, 2, z, sparse_);
      return softmax::finish(z, 2, out, rng);
    }
    if (A_ <= softmax::kLocalActions) {
      double z[softmax::kLocalActions];
      logits(p, row, z, scratch);
      return softmax::finish(z, A_, out, rng);
    }
    logits(p, row, out, scratch);
    softmax::normalize(out, A_);
    return rng ? softmax::sample(out, A_, *rng) : softmax::argmax(out, A_);
  }

  double log_prob(const PolicyParams& /*p*/, const double* out, std::int64_t a,
                  const double* /*action*/) const {
    return std::log(out[a]);
  }

  // W (T x K): W_t = weight_t (psi_{a_t} - psi^T pi_t). extra is unused.
  void score_weights(const PolicyParams& p, const double* out, const std::int64_t* actions,
                     const double* /*cont*/, const double* weight, std::int64_t T, double* W,
                     double* extra) const;

  // The whole score grad_theta log pi(a|s), n_theta values.
  void score(const PolicyParams& p, const double* row, const double* out, std::int64_t a,
             const double* cont, double* s, double* scratch) const;

  // C (K x K) = psi^T (diag pi - pi pi^T) psi: E_a[s s^T] = (phi phi^T) (x) C.
  void action_covariance(const double* pi, double* C) const;

  double entropy(const PolicyParams& /*p*/, const double* out) const {
    return softmax::entropy(out, A_);
  }

  // KL(pi_old || pi_next) at a state, pi_old stored in out_old.
  double kl(const PolicyParams& /*old*/, const PolicyParams& next, const double* row,
            const double* out_old, double* scratch) const {
    double* z = scratch;
    logits(next, row, z, scratch + A_);
    softmax::log_normalize(z, A_);
    return softmax::kl(out_old, z, A_);
  }

  // Scratch doubles the functions above need.
  std::int64_t scratch_size() const { return 2 * A_ + K_ + n_theta(); }

 private:
  template <int kK>
  void factored_weights(const double* out, const std::int64_t* actions, const double* weight,
                        std::int64_t T, double* W) const;

  std::shared_ptr<const FeatureMap> features_;
  std::int64_t F_ = 0, A_ = 0, K_ = 0;
  std::int64_t identity_dim_ = -1;  // >= 0: the features are Identity(identity_dim_)
  bool sparse_ = true;              // features that are mostly zeros
  std::vector<double> psi_;
};

}  // namespace pgfast

#endif  // PGFAST_POLICIES_LINEAR_SOFTMAX_HPP_
