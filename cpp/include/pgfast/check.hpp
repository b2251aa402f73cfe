// Argument checks that become Python ValueError/TypeError through pybind11.
#ifndef PGFAST_CHECK_HPP_
#define PGFAST_CHECK_HPP_

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace pgfast {

// Builds a message from any streamable pieces: require(n > 0, "num_envs must be >= 1, got ", n).
template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream out;
  out.precision(17);
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

// std::invalid_argument arrives in Python as ValueError.
template <class... Parts>
void require(bool condition, Parts&&... parts) {
  if (!condition) throw std::invalid_argument(concat(std::forward<Parts>(parts)...));
}

}  // namespace pgfast

#endif  // PGFAST_CHECK_HPP_
