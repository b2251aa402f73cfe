// Eigen aliases used across the engine: row-major to match NumPy's C order,
// so that arrays cross the boundary without copies.
#ifndef PGFAST_TYPES_HPP_
#define PGFAST_TYPES_HPP_

#include <Eigen/Core>
#include <cstdint>

namespace pgfast {

using Index = Eigen::Index;
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;
using MatMap = Eigen::Map<RowMatrix>;
using ConstMatMap = Eigen::Map<const RowMatrix>;
using VecMap = Eigen::Map<Vector>;
using ConstVecMap = Eigen::Map<const Vector>;

}  // namespace pgfast

#endif  // PGFAST_TYPES_HPP_
