// Random streams owned by the project, so that a seed means the same numbers
// on every platform and standard library (std::*_distribution output is
// implementation-defined).
#ifndef PGFAST_RNG_HPP_
#define PGFAST_RNG_HPP_

#include <cmath>
#include <cstdint>

namespace pgfast {

// SplitMix64 finaliser: a bijective 64-bit mix, used to turn (seed, stream)
// into well-spread generator states.
inline std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// xoshiro256++ (Blackman & Vigna). One instance per environment index: the
// stream of env i depends on (seed, i) only, never on num_envs or threads.
class Rng {
 public:
  Rng() : Rng(0, 0) {}
  Rng(std::uint64_t seed, std::uint64_t stream) { reseed(seed, stream); }

  void reseed(std::uint64_t seed, std::uint64_t stream) {
    std::uint64_t x = seed;
    const std::uint64_t key = splitmix64(x);
    x = key ^ (stream * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL);
    for (auto& word : s_) word = splitmix64(x);
    has_spare_normal_ = false;
  }

  // Called once per step in the collector: always inlined (GCC otherwise
  // leaves uniform() out of line there).
  __attribute__((always_inline)) std::uint64_t next_u64() {
    const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform on [0, 1) with 53 random bits.
  __attribute__((always_inline)) double uniform() {
    return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
  }

  // Uniform on [low, high), computed as numpy's Generator.uniform does.
  double uniform(double low, double high) { return low + (high - low) * uniform(); }

  // Standard normal by the Marsaglia polar method; the second variate of
  // each accepted pair is kept for the next call.
  double normal() {
    if (has_spare_normal_) {
      has_spare_normal_ = false;
      return spare_normal_;
    }
    double u, v, s;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double scale = std::sqrt(-2.0 * std::log(s) / s);
    spare_normal_ = v * scale;
    has_spare_normal_ = true;
    return u * scale;
  }

  // Index drawn from a cumulative distribution cdf[0..n-1] (last entry ~1).
  // Rounding in the last entry is absorbed by returning n-1.
  std::int64_t categorical_cdf(const double* cdf, std::int64_t n) {
    const double u = uniform();
    for (std::int64_t k = 0; k + 1 < n; ++k) {
      if (u < cdf[k]) return k;
    }
    return n - 1;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::uint64_t s_[4];
  double spare_normal_ = 0.0;
  bool has_spare_normal_ = false;
};

// The seed of one batch's episode streams, per purpose (key): episode j of
// batch `batch` draws from stream (batch_seed(seed, batch, key), j), so an
// episode's randomness depends on (seed, batch, j) alone, never on the env,
// thread or process that runs it.
inline std::uint64_t batch_seed(std::uint64_t seed, std::uint64_t batch, std::uint64_t key) {
  std::uint64_t x = seed ^ key;
  x = splitmix64(x) ^ (batch * 0xD6E8FEB86659FD93ULL);
  return splitmix64(x);
}

}  // namespace pgfast

#endif  // PGFAST_RNG_HPP_
