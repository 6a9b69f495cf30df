// gqalut: a small seeded random source for the stochastic searches.
//
// The engine is std::mt19937_64, whose output sequence the C++ standard fixes;
// every draw below is written out here (not taken from <random>'s
// distributions, whose algorithms differ between standard libraries), so a
// seed gives the same bytes everywhere.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace gqalut::detail {

class Rng {
 public:
  static constexpr const char* kEngineName = "std::mt19937_64";

  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t next_u64() { return engine_(); }

  // Uniform in [0, 1): the top 53 bits of one engine output.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  // Uniform in [lo, hi) (numpy.random.uniform's lo + (hi - lo) u).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Uniform integer in [lo, hi], both included (Python's random.randint),
  // by rejection so that every value is exactly equally likely.
  int64_t randint(int64_t lo, int64_t hi) {
    uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    if (span == 0) return static_cast<int64_t>(engine_());  // the full 64-bit range
    uint64_t limit = UINT64_MAX - UINT64_MAX % span;         // accept [0, limit)
    uint64_t v;
    do v = engine_();
    while (v >= limit);
    return lo + static_cast<int64_t>(v % span);
  }

  // Index in [0, count).
  int below(int count) { return static_cast<int>(randint(0, count - 1)); }

  // Standard normal by the Marsaglia polar method (pairs; the second value of
  // a pair is kept for the next call).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double m = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * m;
    has_spare_ = true;
    return u * m;
  }
  double normal(double mean, double sigma) { return mean + sigma * normal(); }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0;
  bool has_spare_ = false;
};

// SplitMix64 finaliser: derives independent seeds from (seed, stream).
inline uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace gqalut::detail
