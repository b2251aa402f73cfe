// Linear Gaussian policy, actions of dimension D, theta (F, D) row-major and
// log standard deviation omega (D,):
//   mu = theta^T phi(s),  a ~ N(mu, diag(exp(2 omega)))
//   grad_theta log pi = phi(s) ((a - mu) / sigma^2)^T
//   grad_omega log pi = (a - mu)^2 / sigma^2 - 1
// The score uses the sample a itself; the engine clips a copy to the action
// bounds before the env sees it.
#ifndef PGFAST_POLICIES_LINEAR_GAUSSIAN_HPP_
#define PGFAST_POLICIES_LINEAR_GAUSSIAN_HPP_

#include <cmath>
#include <cstdint>

#include "pgfast/rng.hpp"

namespace pgfast::gaussian {

inline constexpr double kHalfLog2Pi = 0.91893853320467274178;  // log(2 pi) / 2

inline void mean(const double* theta, const double* phi, std::int64_t F, std::int64_t D,
                 double* mu) {
  if (D == 1) {  // the common case, with the accumulator in a register
    double acc = 0.0;
    for (std::int64_t f = 0; f < F; ++f) acc += phi[f] * theta[f];
    mu[0] = acc;
    return;
  }
  for (std::int64_t d = 0; d < D; ++d) mu[d] = 0.0;
  for (std::int64_t f = 0; f < F; ++f) {
    const double x = phi[f];
    if (x == 0.0) continue;
    const double* row = theta + f * D;
    for (std::int64_t d = 0; d < D; ++d) mu[d] += x * row[d];
  }
}

inline double log_prob(const double* a, const double* mu, const double* log_std,
                       std::int64_t D) {
  double lp = 0.0;
  for (std::int64_t d = 0; d < D; ++d) {
    const double z = (a[d] - mu[d]) * std::exp(-log_std[d]);
    lp += -0.5 * z * z - log_std[d] - kHalfLog2Pi;
  }
  return lp;
}

inline double entropy(const double* log_std, std::int64_t D) {
  double h = 0.0;
  for (std::int64_t d = 0; d < D; ++d) h += log_std[d] + kHalfLog2Pi + 0.5;
  return h;
}

// KL(N(mu_p, s_p) || N(mu_q, s_q)) for diagonal Gaussians.
inline double kl(const double* mu_p, const double* log_std_p, const double* mu_q,
                 const double* log_std_q, std::int64_t D) {
  double k = 0.0;
  for (std::int64_t d = 0; d < D; ++d) {
    const double var_ratio = std::exp(2.0 * (log_std_p[d] - log_std_q[d]));
    const double z = (mu_p[d] - mu_q[d]) * std::exp(-log_std_q[d]);
    k += 0.5 * (var_ratio + z * z - 1.0) - (log_std_p[d] - log_std_q[d]);
  }
  return k;
}

}  // namespace pgfast::gaussian

#endif  // PGFAST_POLICIES_LINEAR_GAUSSIAN_HPP_
