// Update rules on the flat parameter vector. All are gradient *ascent*:
// the objective J is maximised. The natural-gradient step lives with the
// Fisher accumulation in reinforce.cpp.
#ifndef PGFAST_OPTIMIZERS_HPP_
#define PGFAST_OPTIMIZERS_HPP_

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace pgfast {

// Adam (Kingma & Ba 2015) with bias correction:
//   m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2
//   step = lr * m_hat / (sqrt(v_hat) + eps)
class AdamState {
 public:
  AdamState() = default;
  explicit AdamState(std::int64_t n)
      : m_(static_cast<std::size_t>(n), 0.0), v_(static_cast<std::size_t>(n), 0.0) {}

  void direction(const std::vector<double>& g, double lr, double beta1, double beta2, double eps,
                 std::vector<double>& step) {
    prev_m_ = m_;
    prev_v_ = v_;
    ++t_;
    const double c1 = 1.0 - std::pow(beta1, static_cast<double>(t_));
    const double c2 = 1.0 - std::pow(beta2, static_cast<double>(t_));
    for (std::size_t k = 0; k < g.size(); ++k) {
      m_[k] = beta1 * m_[k] + (1.0 - beta1) * g[k];
      v_[k] = beta2 * v_[k] + (1.0 - beta2) * g[k] * g[k];
      if (!std::isfinite(v_[k])) {
        // g^2 overflowed: Adam would silently take a zero step.
        undo();
        throw std::runtime_error(
            "the gradient is too large for Adam (its square overflows); scale the rewards");
      }
      step[k] = lr * (m_[k] / c1) / (std::sqrt(v_[k] / c2) + eps);
    }
  }

  // Forgets the last direction() call (its update was rejected).
  void undo() {
    m_ = prev_m_;
    v_ = prev_v_;
    --t_;
  }

 private:
  std::vector<double> m_, v_, prev_m_, prev_v_;
  std::int64_t t_ = 0;
};

}  // namespace pgfast

#endif  // PGFAST_OPTIMIZERS_HPP_
