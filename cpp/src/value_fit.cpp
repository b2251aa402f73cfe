#include "pgfast/value_fit.hpp"

#include <algorithm>

#include "pgfast/check.hpp"

namespace pgfast {

ValueFunction::ValueFunction(std::int64_t width, double ridge)
    : width_(width),
      ridge_(ridge),
      A_(width, width),
      rhs_(width),
      w_(Vector::Zero(width)),
      solution_(width),
      ldlt_(width) {}

void ValueFunction::accumulate(const double* X, const double* y, std::int64_t steps, double* xtx,
                               double* xty) const {
  const std::int64_t W = width_;
  ConstMatMap rows(X, steps, W);
  MatMap A(xtx, W, W);
  VecMap rhs(xty, W);
  A.selfadjointView<Eigen::Lower>().rankUpdate(rows.transpose());
  rhs.noalias() += rows.transpose() * ConstVecMap(y, steps);
}

void ValueFunction::fit(const double* xtx, const double* xty) {
  A_ = ConstMatMap(xtx, width_, width_);
  A_.triangularView<Eigen::StrictlyUpper>() = A_.transpose();
  rhs_ = ConstVecMap(xty, width_);
  const double scale = std::max(1.0, A_.diagonal().mean());
  A_.diagonal().array() += ridge_ * scale;
  ldlt_.compute(A_);
  solution_ = ldlt_.solve(rhs_);
  if (!solution_.allFinite()) return;  // keep the previous value function
  w_ = solution_;
  fitted_ = true;
}

void ValueFunction::set(const double* w, std::int64_t n, bool fitted) {
  require(n == width_, "the value function has ", width_, " weights, got ", n);
  w_ = ConstVecMap(w, n);
  fitted_ = fitted;
}

}  // namespace pgfast
