// Returns and advantages of one episode, r[0..T) its rewards. `bootstrap`
// is the value of the state after the last step: 0 when the episode
// terminated (or when no value is fitted), V(s_T) when it was truncated.
#ifndef PGFAST_RETURNS_HPP_
#define PGFAST_RETURNS_HPP_

#include <cstdint>

namespace pgfast {

// R = sum_t gamma^t r_t + gamma^T bootstrap.
inline double discounted_return(const double* r, std::int64_t T, double gamma, double bootstrap) {
  double g = bootstrap;
  for (std::int64_t t = T - 1; t >= 0; --t) g = r[t] + gamma * g;
  return g;
}

// G_t = sum_{k>=t} gamma^(k-t) r_k + gamma^(T-t) bootstrap.
inline void reward_to_go(const double* r, std::int64_t T, double gamma, double bootstrap,
                         double* out) {
  double g = bootstrap;
  for (std::int64_t t = T - 1; t >= 0; --t) {
    g = r[t] + gamma * g;
    out[t] = g;
  }
}

// GAE(lambda) (Schulman et al. 2016): A_t = sum_l (gamma lambda)^l delta_{t+l},
// delta_t = r_t + gamma V(s_{t+1}) - V(s_t), with v[t] = V(s_t) and
// V(s_T) = bootstrap.
inline void gae(const double* r, const double* v, std::int64_t T, double gamma, double lambda,
                double bootstrap, double* out) {
  double next_value = bootstrap, advantage = 0.0;
  for (std::int64_t t = T - 1; t >= 0; --t) {
    const double delta = r[t] + gamma * next_value - v[t];
    advantage = delta + gamma * lambda * advantage;
    out[t] = advantage;
    next_value = v[t];
  }
}

}  // namespace pgfast

#endif  // PGFAST_RETURNS_HPP_
