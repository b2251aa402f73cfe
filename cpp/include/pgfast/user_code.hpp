// Calls into code a user brought, compiled by numba into C callbacks (a
// NativeEnv's reset/step/observe, a Custom feature map).
//
// A numba cfunc cannot throw into C++. pgfast's generated wrapper catches
// whatever the user's function raises and returns a status instead
// (kUserOk or kUserRaised); the engine also checks what came back (a finite
// reward, a finite state and output). Either failure becomes a
// UserCodeError carrying the call's inputs, so that Python can name the
// function and the env, and reproduce the call in plain Python to show the
// user's own exception and line.
#ifndef PGFAST_USER_CODE_HPP_
#define PGFAST_USER_CODE_HPP_

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace pgfast {

inline constexpr std::int32_t kUserOk = 0;
inline constexpr std::int32_t kUserRaised = 1;

// Whether every x[k] (and `extra`) is finite, with one branch: a value is NaN
// or infinite exactly when its exponent bits are all ones, and or-ing integer
// tests vectorises (a floating-point reduction would not, without
// -ffast-math). The engine checks what user code returns on every step.
template <class T>
inline bool all_finite(const T* x, std::int64_t n, T extra) {
  static_assert(std::is_floating_point_v<T>);
  using Bits = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
  const Bits exponent =
      sizeof(T) == 8 ? static_cast<Bits>(0x7FF0000000000000ULL) : static_cast<Bits>(0x7F800000U);
  const auto non_finite = [exponent](T v) {
    Bits b;
    std::memcpy(&b, &v, sizeof b);
    return static_cast<Bits>((b & exponent) == exponent);
  };
  Bits bad = non_finite(extra);
  for (std::int64_t k = 0; k < n; ++k) bad |= non_finite(x[k]);
  return bad == 0;
}

// The first k with x[k] not finite (the slow path, after all_finite failed); n - 1
// if there is none.
template <class T>
inline std::int64_t first_non_finite(const T* x, std::int64_t n) {
  std::int64_t k = 0;
  while (k + 1 < n && std::isfinite(x[k])) ++k;
  return k;
}

class UserCodeError : public std::runtime_error {
 public:
  enum class Kind {
    kRaised,           // the function raised (status kUserRaised)
    kNonFiniteReward,  // step returned a NaN or infinite reward
    kNonFiniteState,   // the function left state[index] NaN or infinite
    kBadOutput,        // observe or a feature map wrote out[index] NaN or infinite, or a
                       // Discrete observation outside its space
    kBadStatus,        // a status the wrapper never returns: a corrupted call
  };

  UserCodeError(std::uint64_t token, std::string function, Kind kind, std::int64_t index,
                double value)
      : std::runtime_error(function + " failed"),
        token(token),
        function(std::move(function)),
        kind(kind),
        index(index),
        value(value) {}

  std::uint64_t token;   // which user object (NativeEnv or Custom map) the function belongs to
  std::string function;  // "reset", "step", "observe" or "features"
  Kind kind;
  std::int64_t index;           // the offending element for the non-finite kinds, else -1
  double value;                 // its value (or the status for kBadStatus)
  std::int64_t env_index = -1;  // set by whoever knows it (the collector, VecEnv)
  // The call's inputs, as they were before the call.
  std::vector<double> state, action, uniforms, obs;
};

}  // namespace pgfast

#endif  // PGFAST_USER_CODE_HPP_
