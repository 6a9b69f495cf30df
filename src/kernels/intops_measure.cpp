// The integer operations' errors against double precision (intops_measure.hpp).
#include "gqalut/intops_measure.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace gqalut {
namespace {

double sd_of_row(size_t row) { return 0.5 + 0.5 * double(row % 4); }

template <typename T>
T quantize(double v, int frac) {
  const double q = std::round(std::ldexp(v, frac));  // half away from zero
  const double lo = double(std::numeric_limits<T>::min()), hi = double(std::numeric_limits<T>::max());
  return static_cast<T>(std::clamp(q, lo, hi));
}

// out: the operation's output code; ref: the exact result in output steps, clamped to the code range.
struct Accum {
  OpErrorStats s;
  double sum = 0, floor_sum = 0;
  void add(double out, double ref) {
    const double err = std::abs(out - ref), floor_err = std::abs(std::round(ref) - ref);
    s.max_err_lsb = std::max(s.max_err_lsb, err);
    s.floor_max_err_lsb = std::max(s.floor_max_err_lsb, floor_err);
    sum += err;
    floor_sum += floor_err;
    ++s.points;
  }
  OpErrorStats done() {
    s.mean_err_lsb = s.points ? sum / double(s.points) : 0.0;
    s.floor_mean_err_lsb = s.points ? floor_sum / double(s.points) : 0.0;
    return s;
  }
};

}  // namespace

Rows normal_logit_rows(size_t n, size_t rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Rows out(rows, std::vector<double>(n));
  for (size_t r = 0; r < rows; ++r) {
    std::normal_distribution<double> d(0.0, sd_of_row(r));
    for (double& v : out[r]) v = d(rng);
  }
  return out;
}

Rows peaked_logit_rows(size_t n, size_t rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> gap(6.0, 8.0);
  Rows out = normal_logit_rows(n, rows, seed ^ 0x9e3779b97f4a7c15ull);
  for (auto& row : out) {
    const double top = *std::max_element(row.begin(), row.end());
    const size_t at = std::uniform_int_distribution<size_t>(0, n - 1)(rng);
    row[at] = top + gap(rng);
    const double excess = row[at] - 7.9375;  // the largest int8 logit at 2^-4
    if (excess > 0)
      for (double& v : row) v -= excess;
  }
  return out;
}

Rows layernorm_rows(size_t n, size_t rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Rows out(rows, std::vector<double>(n));
  for (size_t r = 0; r < rows; ++r) {
    std::normal_distribution<double> d(0.3, sd_of_row(r));
    for (size_t i = 0; i < n; ++i) out[r][i] = i % 97 == 5 ? 6.0 : d(rng);
  }
  return out;
}

OpErrorStats measure_softmax(const SoftmaxRowOp& op, const Rows& rows, bool int32_logits) {
  Accum acc;
  const double hi = (1 << 8) - 1;  // uint8 probabilities
  for (const auto& row : rows) {
    const size_t n = row.size();
    if (n == 0) continue;
    acc.s.n = n;
    ++acc.s.rows;
    std::vector<double> x(n);
    std::vector<uint8_t> out(n);
    if (int32_logits) {
      std::vector<int32_t> q(n);
      for (size_t i = 0; i < n; ++i) x[i] = std::ldexp(double(q[i] = quantize<int32_t>(row[i], op.in_frac)), -op.in_frac);
      op.s32(q.data(), out.data(), n);
    } else {
      std::vector<int8_t> q(n);
      for (size_t i = 0; i < n; ++i) x[i] = std::ldexp(double(q[i] = quantize<int8_t>(row[i], op.in_frac)), -op.in_frac);
      op.s8(q.data(), out.data(), n);
    }
    const double m = *std::max_element(x.begin(), x.end());
    double s = 0;
    for (double& v : x) s += v = std::exp(v - m);
    for (size_t i = 0; i < n; ++i) {
      const double ref = std::min(std::ldexp(x[i] / s, op.out_frac), hi);
      acc.add(double(out[i]), ref);
    }
  }
  return acc.done();
}

OpErrorStats measure_softmax(const SoftmaxPlan& sm, const Rows& rows, bool int32_logits, Isa isa) {
  const SoftmaxDatapath& plan = sm.datapath();
  SoftmaxRowOp op;
  op.in_frac = plan.in_frac;
  op.out_frac = plan.out_frac;
  op.s8 = [&](const int8_t* q, uint8_t* out, size_t n) { softmax_row(sm, q, out, n, isa); };
  op.s32 = [&](const int32_t* q, uint8_t* out, size_t n) { softmax_row(sm, q, out, n, isa); };
  return measure_softmax(op, rows, int32_logits);
}

OpErrorStats measure_layernorm(const LayerNormRowOp& plan, const Rows& rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(1.0, 0.2), b(0.0, 0.2);
  Accum acc;
  const double lo = -128, hi = 127;
  for (const auto& row : rows) {
    const size_t n = row.size();
    if (n == 0) continue;
    acc.s.n = n;
    ++acc.s.rows;
    std::vector<int8_t> q(n), gamma(n), out(n);
    std::vector<int32_t> beta(n);
    std::vector<double> x(n), gd(n), bd(n);
    for (size_t i = 0; i < n; ++i) {
      q[i] = quantize<int8_t>(row[i], plan.in_frac);
      gamma[i] = quantize<int8_t>(g(rng), plan.gamma_frac);
      beta[i] = quantize<int32_t>(b(rng), plan.out_frac);
      x[i] = std::ldexp(q[i], -plan.in_frac);
      gd[i] = std::ldexp(gamma[i], -plan.gamma_frac);
      bd[i] = std::ldexp(double(beta[i]), -plan.out_frac);
    }
    plan.row(q.data(), gamma.data(), beta.data(), out.data(), n);
    double mean = 0, var = 0;
    for (double v : x) mean += v;
    mean /= double(n);
    for (double v : x) var += (v - mean) * (v - mean);
    var /= double(n);
    const double inv = 1.0 / std::sqrt(var + plan.eps);
    for (size_t i = 0; i < n; ++i) {
      const double y = std::ldexp(gd[i] * (x[i] - mean) * inv + bd[i], plan.out_frac);
      acc.add(double(out[i]), std::clamp(y, lo, hi));
    }
  }
  return acc.done();
}

OpErrorStats measure_layernorm(const LayerNormPlan& ln, const Rows& rows, uint64_t seed, Isa isa) {
  const LayerNormDatapath& p = ln.datapath();
  LayerNormRowOp op;
  op.in_frac = p.in_frac;
  op.out_frac = p.out_frac;
  op.gamma_frac = p.gamma_frac;
  op.eps = p.eps;
  op.row = [&](const int8_t* x, const int8_t* g, const int32_t* b, int8_t* out, size_t n) {
    layernorm_row(ln, x, g, b, out, n, isa);
  };
  return measure_layernorm(op, rows, seed);
}

OpErrorStats measure_activation(const Int8Op& op, const Function& fn) {
  Accum acc;
  std::vector<int8_t> in, out;
  for (int q = -128; q < 128; ++q) {
    const double x = std::ldexp(q, -op.in_frac);
    if (x >= fn.lo && x <= fn.hi) in.push_back(static_cast<int8_t>(q));
  }
  out.resize(in.size());
  op.run(in.data(), out.data(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const double y = std::clamp(std::ldexp(fn(std::ldexp(in[i], -op.in_frac)), op.out_frac), -128.0, 127.0);
    acc.add(double(out[i]), y);
  }
  acc.s.rows = 1;
  acc.s.n = in.size();
  return acc.done();
}

OpErrorStats measure_activation(const Int8Op& op, const Function& fn, const Rows& rows) {
  Accum acc;
  for (const auto& row : rows) {
    if (row.empty()) continue;
    acc.s.n = row.size();
    ++acc.s.rows;
    std::vector<int8_t> q(row.size()), out(row.size());
    for (size_t i = 0; i < row.size(); ++i) q[i] = quantize<int8_t>(row[i], op.in_frac);
    op.run(q.data(), out.data(), q.size());
    for (size_t i = 0; i < row.size(); ++i) {
      const double y = std::clamp(std::ldexp(fn(std::ldexp(q[i], -op.in_frac)), op.out_frac), -128.0, 127.0);
      acc.add(double(out[i]), y);
    }
  }
  return acc.done();
}

namespace {
Int8Op int8_op(const ActivationPlan& plan, int in_frac, Isa isa) {
  Int8Op op;
  op.in_frac = in_frac;
  op.out_frac = plan.out_frac();
  op.run = [&plan, isa](const int8_t* in, int8_t* out, size_t n) { activation(plan, in, out, n, isa); };
  return op;
}
}  // namespace

OpErrorStats measure_activation(const ActivationPlan& plan, const Function& fn, int in_frac, Isa isa) {
  return measure_activation(int8_op(plan, in_frac, isa), fn);
}

OpErrorStats measure_activation(const ActivationPlan& plan, const Function& fn, int in_frac, const Rows& rows,
                                Isa isa) {
  return measure_activation(int8_op(plan, in_frac, isa), fn, rows);
}

}  // namespace gqalut
