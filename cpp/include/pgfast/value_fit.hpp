// The linear state value V(s) = w^T x(s) over the rows the collector stores
// (the policy's features), fitted by ridge least squares to a batch's
// reward-to-go: the estimator sums the normal equations X^T X and X^T y over
// the batch's blocks (estimator.hpp), and fit() solves them. Its workspace
// is sized once, so a fit allocates nothing.
#ifndef PGFAST_VALUE_FIT_HPP_
#define PGFAST_VALUE_FIT_HPP_

#include <Eigen/Cholesky>
#include <cstdint>

#include "pgfast/types.hpp"

namespace pgfast {

class Collector;

class ValueFunction {
 public:
  // width: features per state; ridge: added to the normal equations'
  // diagonal, relative to max(1, their mean diagonal).
  ValueFunction(std::int64_t width, double ridge);

  bool fitted() const { return fitted_; }
  double operator()(const double* x) const {
    if (!fitted_) return 0.0;
    double s = 0.0;
    for (std::int64_t k = 0; k < width_; ++k) s += w_(k) * x[k];
    return s;
  }
  const Vector& weights() const { return w_; }

  // Adds one episode's rows X (steps x width) and targets y to the normal
  // equations: xtx (width x width, lower triangle) and xty (width).
  void accumulate(const double* X, const double* y, std::int64_t steps, double* xtx,
                  double* xty) const;
  // Solves (X^T X + ridge) w = X^T y from the batch's sums (xtx: lower
  // triangle). Keeps the previous fit if the solve is not finite.
  void fit(const double* xtx, const double* xty);
  // The weights a driver fitted (a shard of a distributed estimate).
  void set(const double* w, std::int64_t n, bool fitted);

 private:
  std::int64_t width_;
  double ridge_;
  bool fitted_ = false;
  RowMatrix A_;
  Vector rhs_, w_, solution_;
  Eigen::LDLT<RowMatrix> ldlt_;
};

}  // namespace pgfast

#endif  // PGFAST_VALUE_FIT_HPP_
