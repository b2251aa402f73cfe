// Linear softmax policy over a feature map, theta of shape (F, A), row-major:
//   pi(a|s) = exp(phi(s)^T theta_a) / sum_b exp(phi(s)^T theta_b)
//   grad_theta log pi(a|s) = phi(s) (e_a - pi(.|s))^T
// The score is the observed feature vector minus the expected one. All
// functions work on one state and allocate nothing.
#ifndef PGFAST_POLICIES_LINEAR_SOFTMAX_HPP_
#define PGFAST_POLICIES_LINEAR_SOFTMAX_HPP_

#include <cmath>
#include <cstdint>

#include "pgfast/rng.hpp"

namespace pgfast::softmax {

namespace detail {
// Fixed action counts keep the accumulators in registers; through memory
// they form a store-to-load chain that doubled the cost of a CartPole step.
template <int kA>
inline void logits_fixed(const double* theta, const double* phi, std::int64_t F, double* out) {
  double acc[kA] = {};
  for (std::int64_t f = 0; f < F; ++f) {
    const double x = phi[f];
    if (x == 0.0) continue;  // one-hot and tile features are mostly zero
    const double* row = theta + f * kA;
    for (int a = 0; a < kA; ++a) acc[a] += x * row[a];
  }
  for (int a = 0; a < kA; ++a) out[a] = acc[a];
}
}  // namespace detail

// logits[a] = phi^T theta[:, a].
inline void logits(const double* theta, const double* phi, std::int64_t F, std::int64_t A,
                   double* out) {
  switch (A) {
    case 2: return detail::logits_fixed<2>(theta, phi, F, out);
    case 3: return detail::logits_fixed<3>(theta, phi, F, out);
    case 4: return detail::logits_fixed<4>(theta, phi, F, out);
    default: break;
  }
  for (std::int64_t a = 0; a < A; ++a) out[a] = 0.0;
  for (std::int64_t f = 0; f < F; ++f) {
    const double x = phi[f];
    if (x == 0.0) continue;  // one-hot and tile features are mostly zero
    const double* row = theta + f * A;
    for (std::int64_t a = 0; a < A; ++a) out[a] += x * row[a];
  }
}

// In place: logits -> log pi, by log-sum-exp (finite for any finite logits).
// Returns log-sum-exp.
inline double log_softmax(double* z, std::int64_t A) {
  double m = z[0];
  for (std::int64_t a = 1; a < A; ++a) m = z[a] > m ? z[a] : m;
  double sum = 0.0;
  for (std::int64_t a = 0; a < A; ++a) sum += std::exp(z[a] - m);
  const double lse = m + std::log(sum);
  for (std::int64_t a = 0; a < A; ++a) z[a] -= lse;
  return lse;
}

// out[a] = pi(a|s); returns the entropy -sum_a pi log pi. One exp per
// action and a single log, as the engine calls it on every step:
// H = log S - sum_a pi_a (z_a - m), S = sum_a exp(z_a - m), m = max z.
inline double probs(const double* theta, const double* phi, std::int64_t F, std::int64_t A,
                    double* out) {
  logits(theta, phi, F, A, out);
  double m = out[0];
  for (std::int64_t a = 1; a < A; ++a) m = out[a] > m ? out[a] : m;
  double sum = 0.0;
  for (std::int64_t a = 0; a < A; ++a) {
    out[a] -= m;  // z_a - m <= 0
    sum += std::exp(out[a]);
  }
  const double inv = 1.0 / sum;
  double mean_shifted = 0.0;
  for (std::int64_t a = 0; a < A; ++a) {
    const double shifted = out[a];
    out[a] = std::exp(shifted) * inv;
    mean_shifted += out[a] * shifted;
  }
  return std::log(sum) - mean_shifted;
}

// Inverse-CDF sampling from probabilities that sum to 1 up to rounding.
inline std::int64_t sample(const double* p, std::int64_t A, Rng& rng) {
  const double u = rng.uniform();
  double cumulative = 0.0;
  for (std::int64_t a = 0; a + 1 < A; ++a) {
    cumulative += p[a];
    if (u < cumulative) return a;
  }
  return A - 1;
}

inline std::int64_t argmax(const double* p, std::int64_t A) {
  std::int64_t best = 0;
  for (std::int64_t a = 1; a < A; ++a) best = p[a] > p[best] ? a : best;
  return best;
}

// -sum_a pi log pi, computed from log-probabilities (no 0 * -inf).
inline double entropy_from_log_probs(const double* log_p, std::int64_t A) {
  double h = 0.0;
  for (std::int64_t a = 0; a < A; ++a) h -= std::exp(log_p[a]) * log_p[a];
  return h;
}

// KL(p || q) from log-probabilities.
inline double kl_from_log_probs(const double* log_p, const double* log_q, std::int64_t A) {
  double kl = 0.0;
  for (std::int64_t a = 0; a < A; ++a) kl += std::exp(log_p[a]) * (log_p[a] - log_q[a]);
  return kl;
}

}  // namespace pgfast::softmax

#endif  // PGFAST_POLICIES_LINEAR_SOFTMAX_HPP_
