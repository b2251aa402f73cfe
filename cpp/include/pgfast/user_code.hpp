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

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace pgfast {

inline constexpr std::int32_t kUserOk = 0;
inline constexpr std::int32_t kUserRaised = 1;

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
