// The linear state value V(s) = w^T x(s) over the rows the collector stores
// (the policy's features), fitted by ridge least squares to the batch's
// reward-to-go. Its workspace is sized once, so a fit allocates nothing.
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

  // Fits w on every step of the batch, targets[row] (batch-wide rows, see
  // Collector::offset). Keeps the previous fit if the solve is not finite.
  void fit(const Collector& batch, const double* targets);

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
