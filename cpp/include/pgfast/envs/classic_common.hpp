// Helpers for reproducing Gymnasium's classic-control arithmetic exactly.
#ifndef PGFAST_ENVS_CLASSIC_COMMON_HPP_
#define PGFAST_ENVS_CLASSIC_COMMON_HPP_

#include <math.h>  // ::pow: CMake passes -fno-builtin-pow so the call reaches libm

#include <cmath>

namespace pgfast::classic {

inline constexpr double kPi = 3.141592653589793;  // math.pi / np.pi

// Python's and NumPy's x**2 on float64 call libm pow(), which differs from
// x*x in the last bit for about 1 input in 1000; Gymnasium uses both forms.
inline double py_pow(double x, double y) { return ::pow(x, y); }
inline float py_powf(float x, float y) { return ::powf(x, y); }

// Python's float modulo (result takes the sign of the divisor), as used by
// Pendulum's angle_normalize.
inline double py_mod(double a, double b) {
  double mod = std::fmod(a, b);
  if (mod != 0.0) {
    if ((b < 0) != (mod < 0)) mod += b;
  } else {
    mod = std::copysign(0.0, b);
  }
  return mod;
}

// np.clip / min(max(x, lo), hi) for non-NaN x.
inline double clip(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

// True when x is exactly a float32 value (MountainCarContinuous keeps its
// state as float32 after the first step).
inline bool is_float32(double x) { return static_cast<double>(static_cast<float>(x)) == x; }

}  // namespace pgfast::classic

#endif  // PGFAST_ENVS_CLASSIC_COMMON_HPP_
