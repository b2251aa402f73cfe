// Space descriptions exported to Python, which builds gymnasium.spaces from them.
#ifndef PGFAST_SPACES_HPP_
#define PGFAST_SPACES_HPP_

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace pgfast {

enum class Dtype { kFloat32, kFloat64, kInt64 };

inline const char* dtype_name(Dtype d) {
  switch (d) {
    case Dtype::kFloat32:
      return "float32";
    case Dtype::kFloat64:
      return "float64";
    case Dtype::kInt64:
      return "int64";
  }
  return "?";
}

struct SpaceSpec {
  bool discrete = false;
  std::int64_t n = 0;               // Discrete: number of values
  std::vector<std::int64_t> shape;  // Box: shape (1-D here)
  std::vector<double> low, high;    // Box: bounds, already rounded to dtype
  Dtype dtype = Dtype::kFloat64;

  static SpaceSpec make_discrete(std::int64_t n) {
    SpaceSpec s;
    s.discrete = true;
    s.n = n;
    s.dtype = Dtype::kInt64;
    return s;
  }
  static SpaceSpec make_box(std::vector<double> low, std::vector<double> high, Dtype dtype) {
    SpaceSpec s;
    s.shape = {static_cast<std::int64_t>(low.size())};
    if (dtype == Dtype::kFloat32) {
      // Gymnasium builds its bounds as float32 arrays; round ours the same way.
      for (auto& v : low) v = static_cast<float>(v);
      for (auto& v : high) v = static_cast<float>(v);
    }
    s.low = std::move(low);
    s.high = std::move(high);
    s.dtype = dtype;
    return s;
  }
  // Elements per env in a batch buffer: 1 for Discrete.
  std::int64_t flat_size() const { return discrete ? 1 : shape.at(0); }
};

inline constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace pgfast

#endif  // PGFAST_SPACES_HPP_
