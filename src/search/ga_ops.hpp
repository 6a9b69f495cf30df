// gqalut: the genetic algorithm's operators, exposed for tests (internal header;
// not installed). SPEC section 5 describes what the faithful ones reproduce.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "rng.hpp"

namespace gqalut::detail {

// DEAP's cxTwoPoint: c1 = randint(1, size), c2 = randint(1, size - 1),
// c2 += 1 if c2 >= c1 else swap; the slices [c1, c2) are exchanged. Vectors of
// fewer than two genes are left alone (DEAP itself fails on them). R is any
// source with randint(lo, hi): our Rng, or the replayed Python `random`.
template <class T, class R>
void two_point_crossover(std::vector<T>& a, std::vector<T>& b, R& rng) {
  int64_t size = static_cast<int64_t>(std::min(a.size(), b.size()));
  if (size < 2) return;
  int64_t c1 = rng.randint(1, size);
  int64_t c2 = rng.randint(1, size - 1);
  if (c2 >= c1)
    ++c2;
  else
    std::swap(c1, c2);
  for (int64_t i = c1; i < c2; ++i) std::swap(a[size_t(i)], b[size_t(i)]);
}

// Python's round(v * 2^j) / 2^j (round half to even), exact for |v| < 2^40.
double round_to_bits(double v, int j);

// The faithful mutation of one individual (the official trainer's operator).
// With RM, per gene, for j = rm_lo + offset .. rm_hi a fresh uniform u:
// 0.05 j <= u < 0.05 (j + 1) rounds the gene to the grid 2^-(rm_lo + j), as
// the trainer does (2^-j with the default rm_lo = 0), then clips;
// otherwise u >= 0.9 adds N(0, sigma); the gene is clipped to [lo, hi] at the
// end. Without RM: per gene, u >= 0.9 adds N(0, sigma), then clips.
struct FaithfulMutation {
  bool rounding = true;
  int rm_lo = 0, rm_hi = 6, offset = 0;
  double sigma = 0.2;
  double lo = -4, hi = 4;
  void operator()(std::vector<double>& genes, Rng& rng) const;
};

// The one implementation of the faithful mutation, for any random source:
// uniform() in [0, 1) and normal(mean, sd), drawn in the trainer's order.
// FaithfulMutation (std::mt19937_64) and the numpy-deap replay both use it.
template <class Uniform, class Normal>
void faithful_mutate(std::vector<double>& genes, const FaithfulMutation& m, Uniform&& uniform, Normal&& normal) {
  for (double& g : genes) {
    if (m.rounding) {
      for (int j = m.rm_lo + m.offset; j <= m.rm_hi; ++j) {
        double u = uniform();
        if (u >= 0.05 * j && u < 0.05 * (j + 1)) {
          g = std::clamp(round_to_bits(g, m.rm_lo + j), m.lo, m.hi);
        } else if (u >= 0.9) {
          g += normal(0.0, m.sigma);
        }
      }
      g = std::clamp(g, m.lo, m.hi);
    } else if (uniform() >= 0.9) {
      g = std::clamp(g + normal(0.0, m.sigma), m.lo, m.hi);
    }
  }
}

// The official trainer's fitness: chords through [outer_lo, p..., outer_hi]
// with slopes/intercepts rounded half to even to 2^-frac_bits, the P-grid MSE
// on numpy.arange(lo, hi, 0.01) with the unrounded breakpoints.
class FaithfulFitness {
 public:
  FaithfulFitness(std::function<double(double)> f, double lo, double hi, double outer_lo,
                  double outer_hi, int slope_frac_bits, int intercept_frac_bits);
  // Chord coefficients (already rounded) of the segments of `points` (the
  // K + 1 chord ends, outer points included, in order).
  void chords(const std::vector<double>& points, std::vector<double>& slopes,
              std::vector<double>& intercepts) const;
  // MSE of the sorted inner breakpoints `genes`.
  double operator()(const std::vector<double>& genes) const;
  // The same MSE summed as numpy's np.mean does (pairwise summation), the
  // official trainer's value to the last bit.
  double numpy_mse(const std::vector<double>& genes) const;
  std::size_t grid_size() const { return x_.size(); }

 private:
  // Calls error(j, e) with the error e at every grid point x_j, in order.
  template <class Sink>
  void for_each_error(const std::vector<double>& genes, Sink&& error) const;

  std::function<double(double)> f_;
  double outer_lo_, outer_hi_;
  double k_scale_, b_scale_;
  std::vector<double> x_, y_;
  mutable std::vector<double> pts_, k_, b_, sq_;  // scratch (one fitness object per thread)
};

}  // namespace gqalut::detail
