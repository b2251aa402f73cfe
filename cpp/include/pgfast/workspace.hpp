// Grow-only workspaces: a smaller batch keeps the capacity, so the steady
// state of a training run allocates nothing (tests/test_allocations.py).
#ifndef PGFAST_WORKSPACE_HPP_
#define PGFAST_WORKSPACE_HPP_

#include <cstdint>
#include <vector>

namespace pgfast {

// v.data() with at least n elements; resize grows geometrically.
template <class T>
T* ensure(std::vector<T>& v, std::int64_t n) {
  if (static_cast<std::int64_t>(v.size()) < n) v.resize(static_cast<std::size_t>(n));
  return v.data();
}

}  // namespace pgfast

#endif  // PGFAST_WORKSPACE_HPP_
