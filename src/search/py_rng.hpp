// gqalut: the two random streams the official GQA-LUT trainer consumes,
// replayed so the faithful GA can rerun the official run bit for bit
// (GaSettings::engine == "numpy-deap"; docs/ga.md).
//
// Both streams are the 32-bit Mersenne Twister MT19937 (Matsumoto and
// Nishimura's reference generator). What differs is the seeding and the way
// the words become numbers:
//   PyRandom     CPython's `random` module after random.seed(seed): the key
//                [seed] goes through init_by_array; random() takes 53 bits of
//                two words; _randbelow(n) draws getrandbits(bit_length(n))
//                until the value is below n (choice, randint use it).
//   NumpyLegacy  numpy's RandomState after np.random.seed(seed): an integer
//                seed goes through init_genrand; random_sample()/uniform()
//                take the same 53 bits; normal() is the legacy polar method
//                that keeps the second value of each pair for the next call.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace gqalut::detail {

class Mt19937 {
 public:
  static constexpr int kN = 624;

  // The reference init_genrand.
  void seed_genrand(uint32_t s) {
    mt_[0] = s;
    for (int i = 1; i < kN; ++i)
      mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + uint32_t(i);
    idx_ = kN;
  }

  // The reference init_by_array, for a key of one word.
  void seed_by_array(uint32_t key) {
    seed_genrand(19650218u);
    int i = 1;
    for (int k = kN; k > 0; --k) {  // key length 1: j stays 0
      mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525u)) + key;
      if (++i >= kN) {
        mt_[0] = mt_[kN - 1];
        i = 1;
      }
    }
    for (int k = kN - 1; k > 0; --k) {
      mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941u)) - uint32_t(i);
      if (++i >= kN) {
        mt_[0] = mt_[kN - 1];
        i = 1;
      }
    }
    mt_[0] = 0x80000000u;
    idx_ = kN;
  }

  uint32_t next_u32() {
    if (idx_ >= kN) twist();
    uint32_t y = mt_[idx_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
  }

  // 53 random bits in [0, 1): (a >> 5) 2^26 + (b >> 6), over 2^53.
  double next_double() {
    uint32_t a = next_u32() >> 5, b = next_u32() >> 6;
    return (double(a) * 67108864.0 + double(b)) * 0x1.0p-53;
  }

 private:
  void twist() {
    for (int i = 0; i < kN; ++i) {
      uint32_t y = (mt_[i] & 0x80000000u) | (mt_[(i + 1) % kN] & 0x7fffffffu);
      mt_[i] = mt_[(i + 397) % kN] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
    }
    idx_ = 0;
  }

  std::array<uint32_t, kN> mt_{};
  int idx_ = kN;
};

// CPython's `random` (the draws DEAP makes).
class PyRandom {
 public:
  explicit PyRandom(uint32_t seed) { mt_.seed_by_array(seed); }
  double random() { return mt_.next_double(); }
  // getrandbits(k) for 1 <= k <= 32.
  uint32_t getrandbits(int k) { return mt_.next_u32() >> (32 - k); }
  // _randbelow(n), n >= 1 (n < 2^32).
  int64_t randbelow(int64_t n) {
    int k = 0;
    while ((int64_t(1) << k) <= n) ++k;  // n.bit_length()
    uint32_t r = getrandbits(k);
    while (int64_t(r) >= n) r = getrandbits(k);
    return int64_t(r);
  }
  int64_t randint(int64_t a, int64_t b) { return a + randbelow(b - a + 1); }
  int choice_index(int n) { return int(randbelow(n)); }

 private:
  Mt19937 mt_;
};

// numpy's legacy RandomState (the draws the trainer itself makes).
class NumpyLegacy {
 public:
  explicit NumpyLegacy(uint32_t seed) { mt_.seed_genrand(seed); }
  double random_sample() { return mt_.next_double(); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * mt_.next_double(); }
  double gauss() {
    if (has_gauss_) {
      has_gauss_ = false;
      return gauss_;
    }
    double x1, x2, r2;
    do {
      x1 = 2.0 * mt_.next_double() - 1.0;
      x2 = 2.0 * mt_.next_double() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    double f = std::sqrt(-2.0 * std::log(r2) / r2);
    gauss_ = f * x1;
    has_gauss_ = true;
    return f * x2;
  }
  double normal(double mu, double sigma) { return mu + sigma * gauss(); }

 private:
  Mt19937 mt_;
  double gauss_ = 0;
  bool has_gauss_ = false;
};

// numpy's sum of a contiguous double array (np.add.reduce, hence np.mean):
// pairwise summation, 8 accumulators for blocks of up to 128 values, halves
// rounded down to a multiple of 8 above that.
inline double numpy_pairwise_sum(const double* a, std::size_t n) {
  if (n < 8) {
    double res = 0.;
    for (std::size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    std::size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return numpy_pairwise_sum(a, n2) + numpy_pairwise_sum(a + n2, n - n2);
}

}  // namespace gqalut::detail
