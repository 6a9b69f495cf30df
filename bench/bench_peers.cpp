// gqalut's integer operations against peer libraries, in one run, with each
// row's accuracy printed beside its speed:
//   - element-wise int8 -> int8 (activation(): GELU, HSWISH, SiLU) against
//     XNNPACK's tanh_nc_qs8 / sigmoid_nc_qs8 (Debian libxnnpack-dev), LibTorch
//     FP32 at::gelu (one thread) and memcpy, at an L2-sized buffer (256 Ki
//     codes) and a DRAM-sized one (64 Mi codes);
//   - softmax rows of 197 / 768 / 3072 (softmax_row(), uint8 out at 2^-8)
//     against XNNPACK softmax_nc_qu8 and LibTorch FP32 at::softmax;
//   - LayerNorm rows (layernorm_row(), int8 out at 2^-4) against LibTorch FP32
//     at::layer_norm (XNNPACK has no LayerNorm operator).
// Every peer is optional (GQALUT_HAVE_XNNPACK / GQALUT_HAVE_TORCH); the
// program says which it was built without.
//
// Defaults: 5 repetitions, randomly interleaved, 0.1 s each; every time in the
// tables is the median of the repetitions (flags given on the command line
// override the defaults). Softmax and LayerNorm run 32 rows per iteration for
// every implementation (XNNPACK gets them as one batch), times are per row.
//
// Accuracy, in output steps (LSB) against double precision:
//   element-wise: every int8 code once, reference = clamp(f(x) * 2^m) to the
//     output code range (the best an int8 output can do is 0.5);
//   softmax: the 32 rows of logits N(0, sd 0.5..2) at 2^-4 ("N" columns) and
//     8 peaked rows (one logit 6-8 above N(0, 1) others, "peak" column);
//   LayerNorm: 32 rows N(0.3, sd 0.5..2) with an outlier channel of 6.0 every
//     97th channel, gamma N(1, 0.2), beta N(0, 0.2).
//   FP32 rows are measured in the output step of the integer row they stand
//   beside (their error is far below one step).
// Run: build-*/bench/bench_peers   (about a minute on the development VM;
//      --peers_smoke: a 4 Mi "DRAM" buffer, for the ctest smoke run)
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "bench_util.hpp"
#include "gqalut/intops.hpp"
#include "gqalut/intops_measure.hpp"
#include "gqalut/recipes.hpp"

#ifdef GQALUT_HAVE_XNNPACK
#include <xnnpack.h>
#endif
#ifdef GQALUT_HAVE_TORCH
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/gelu.h>
#include <ATen/ops/layer_norm.h>
#include <ATen/ops/softmax.h>
#endif

using namespace gqalut;
using gqalut::bench::Capture;
using gqalut::bench::official;

namespace {

constexpr int kActIn = 4, kActOut = 5;               // activations: int8 at 2^-4 -> int8 at 2^-5
constexpr int kSmIn = 4, kSmOut = 8;                 // softmax: int8 logits at 2^-4 -> uint8 at 2^-8
constexpr int kLnIn = 4, kLnOut = 4, kGammaFrac = 6; // LayerNorm
constexpr double kEps = 1e-5;
constexpr int kRowsPerIter = 32, kPeakRows = 8;
const size_t kRowLens[] = {197, 768, 3072};

double gelu(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double hswish(double x) { return x * std::clamp(x + 3, 0.0, 6.0) / 6; }
double silu(double x) { return x / (1 + std::exp(-x)); }
double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

int8_t sat8(long v) { return static_cast<int8_t>(std::clamp(v, -128L, 127L)); }

// Error statistics in output steps.
struct Err {
  double max = 0, sum = 0;
  size_t count = 0;
  void add(double e) {
    e = std::abs(e);
    max = std::max(max, e);
    sum += e;
    ++count;
  }
  double mean() const { return count ? sum / double(count) : 0; }
};

// One line of the results table: what it is, how much work one iteration does
// and its accuracy (filled before the run).
struct Row {
  std::string group, size, impl, bench;  // bench: the benchmark's name
  double elems = 0, rows = 0;            // per iteration
  bool have_err = false;
  Err err, peak;                          // peak: softmax peaked rows
  std::string note;
};
std::vector<Row> g_rows;

Row make_row(std::string group, std::string size, double elems, double rows) {
  Row r;
  r.group = std::move(group);
  r.size = std::move(size);
  r.elems = elems;
  r.rows = rows;
  return r;
}

template <typename F>
void add_row(Row row, F body) {
  const double elems = row.elems;
  benchmark::RegisterBenchmark(row.bench.c_str(), [=](benchmark::State& st) {
    body(st);
    st.SetItemsProcessed(int64_t(double(st.iterations()) * elems));
  })->UseRealTime();
  g_rows.push_back(std::move(row));
}

// ---- data -------------------------------------------------------------------
std::vector<int8_t> activation_codes(size_t n) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> d(0.0, 1.5);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = sat8(std::lround(std::ldexp(d(rng), kActIn)));
  return v;
}

std::vector<int8_t> all_codes() {
  std::vector<int8_t> q(256);
  for (int i = 0; i < 256; ++i) q[i] = static_cast<int8_t>(i - 128);
  return q;
}

struct RowData {
  size_t n = 0;
  std::vector<int8_t> logits;       // kRowsPerIter rows of n, then kPeakRows peaked rows
  std::vector<int8_t> x, gamma;     // LayerNorm input rows, gamma codes
  std::vector<int32_t> beta;
  std::vector<float> logits_f, x_f, gamma_f, beta_f;
};

int8_t quantize8(double v, int frac) { return sat8(std::lround(std::ldexp(v, frac))); }  // half away from zero

// The standard row sets of docs/intops.md (gqalut/intops_measure.hpp), quantized at 2^-4.
RowData make_rows(size_t n) {
  RowData d;
  d.n = n;
  std::mt19937_64 rng(7 + n);
  std::normal_distribution<double> g(1.0, 0.2), b(0.0, 0.2);
  for (size_t i = 0; i < n; ++i) {
    d.gamma.push_back(quantize8(g(rng), kGammaFrac));
    d.beta.push_back(static_cast<int32_t>(std::lround(std::ldexp(b(rng), kLnOut))));
  }
  for (const auto& row : normal_logit_rows(n, kRowsPerIter, 100 + n))
    for (double v : row) d.logits.push_back(quantize8(v, kSmIn));
  for (const auto& row : peaked_logit_rows(n, kPeakRows, 200 + n))
    for (double v : row) d.logits.push_back(quantize8(v, kSmIn));
  for (const auto& row : layernorm_rows(n, kRowsPerIter, 300 + n))
    for (double v : row) d.x.push_back(quantize8(v, kLnIn));
  for (int8_t q : d.logits) d.logits_f.push_back(std::ldexp(float(q), -kSmIn));
  for (int8_t q : d.x) d.x_f.push_back(std::ldexp(float(q), -kLnIn));
  for (int8_t q : d.gamma) d.gamma_f.push_back(std::ldexp(float(q), -kGammaFrac));
  for (int32_t q : d.beta) d.beta_f.push_back(std::ldexp(float(q), -kLnOut));
  return d;
}

// Double-precision references.
std::vector<double> softmax_ref(const int8_t* q, size_t n, int in_frac) {
  std::vector<double> p(n);
  double m = -1e300, s = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::ldexp(double(q[i]), -in_frac));
  for (size_t i = 0; i < n; ++i) s += p[i] = std::exp(std::ldexp(double(q[i]), -in_frac) - m);
  for (auto& v : p) v /= s;
  return p;
}

std::vector<double> layernorm_ref(const RowData& d, int r) {
  const size_t n = d.n;
  const float* x = d.x_f.data() + r * n;
  double mean = 0, var = 0;
  for (size_t i = 0; i < n; ++i) mean += x[i];
  mean /= double(n);
  for (size_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= double(n);
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) y[i] = d.gamma_f[i] * (x[i] - mean) / std::sqrt(var + kEps) + d.beta_f[i];
  return y;
}

// Softmax accuracy of any implementation that maps the n logits of a row to
// probabilities in output steps of 2^-8 (run(r, out) fills row r).
template <typename Run>
void softmax_errors(const RowData& d, Row& row, Run run) {
  const size_t n = d.n;
  std::vector<double> out(n);
  for (int r = 0; r < kRowsPerIter + kPeakRows; ++r) {
    const auto ref = softmax_ref(d.logits.data() + r * n, n, kSmIn);
    run(r, out.data());
    for (size_t i = 0; i < n; ++i)
      (r < kRowsPerIter ? row.err : row.peak).add(out[i] - std::min(ref[i] * 256, 255.0));
  }
  row.have_err = true;
}

#ifdef GQALUT_HAVE_XNNPACK
void xnn_check(xnn_status s, const char* what) {
  if (s != xnn_status_success) {
    std::fprintf(stderr, "bench_peers: XNNPACK %s failed (status %d)\n", what, int(s));
    std::exit(1);
  }
}

// The timed loop of an XNNPACK operator already set up (pointers and size fixed): one run per iteration.
void xnn_run_loop(benchmark::State& st, xnn_operator_t op) {
  for (auto _ : st) {
    xnn_run_operator(op, nullptr);
    benchmark::ClobberMemory();
  }
}
#endif

}  // namespace

int main(int argc, char** argv) {
  // Defaults first; the user's flags come later and win.
  std::vector<char*> args{argv[0]};
  static char d1[] = "--benchmark_repetitions=5", d2[] = "--benchmark_enable_random_interleaving=true",
              d3[] = "--benchmark_min_time=0.1";
  args.insert(args.end(), {d1, d2, d3});
  bool smoke = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--peers_smoke") smoke = true;  // ctest: a small DRAM buffer
    else args.push_back(argv[i]);
  }
  int nargs = int(args.size());
  benchmark::Initialize(&nargs, args.data());
  if (benchmark::ReportUnrecognizedArguments(nargs, args.data())) return 2;

  std::printf("bench_peers: XNNPACK %s; LibTorch FP32 %s\n",
#ifdef GQALUT_HAVE_XNNPACK
              "yes (Debian libxnnpack-dev)",
#else
              "NOT built in (libxnnpack-dev missing or GQALUT_WITH_XNNPACK=OFF)",
#endif
#ifdef GQALUT_HAVE_TORCH
              "yes (one thread)"
#else
              "NOT built in (GQALUT_WITH_TORCH=OFF)"
#endif
  );
#ifdef GQALUT_HAVE_XNNPACK
  xnn_check(xnn_initialize(nullptr), "xnn_initialize");
#endif
#ifdef GQALUT_HAVE_TORCH
  at::set_num_threads(1);
#endif

  // ---- element-wise int8 -> int8 ---------------------------------------------
  struct ActFn {
    const char* name;
    const char* file;
    double (*f)(double);
  };
  const ActFn acts[] = {{"gelu", "gelu_pwl_7.json", gelu},
                        {"hswish", "hswish_pwl_7.json", hswish},
                        {"silu", "silu_pwl_7.json", silu}};
  static std::vector<ActivationPlan> act_plans;
  for (const auto& a : acts) act_plans.push_back(prepare_activation(official(a.file), kActIn, kActOut));

  const size_t l2_n = 256 * 1024, dram_n = smoke ? size_t{4} << 20 : size_t{64} << 20;
  static std::vector<int8_t> in8 = activation_codes(dram_n), out8(dram_n);
  const auto codes = all_codes();
#ifdef GQALUT_HAVE_TORCH
  static std::vector<float> inf(dram_n), outf(dram_n);
  for (size_t i = 0; i < dram_n; ++i) inf[i] = std::ldexp(float(in8[i]), -kActIn);
#endif
#ifdef GQALUT_HAVE_XNNPACK
  // tanh_nc_qs8 needs output scale 1/128, zero point 0; sigmoid_nc_qs8 1/256, -128.
  static xnn_operator_t xnn_tanh = nullptr, xnn_sigmoid = nullptr;
  xnn_check(xnn_create_tanh_nc_qs8(1, 1, 1, 0, 1.0f / 16, 0, 1.0f / 128, -128, 127, 0, &xnn_tanh), "create tanh");
  xnn_check(xnn_create_sigmoid_nc_qs8(1, 1, 1, 0, 1.0f / 16, -128, 1.0f / 256, -128, 127, 0, &xnn_sigmoid),
            "create sigmoid");
#endif

  const struct {
    const char* label;
    size_t n;
  } act_sizes[] = {{"L2 256Ki", l2_n}, {smoke ? "DRAM 4Mi" : "DRAM 64Mi", dram_n}};
  for (const auto& sz : act_sizes) {
    const size_t n = sz.n;
    const std::string tag = sz.n == l2_n ? "L2" : "DRAM";
    Row base = make_row("act", sz.label, double(n), 0);
    {
      Row r = base;
      r.impl = "memcpy";
      r.bench = "act/memcpy/" + tag;
      add_row(r, [n](benchmark::State& st) {
        for (auto _ : st) {
          std::memcpy(out8.data(), in8.data(), n);
          benchmark::ClobberMemory();
        }
      });
    }
    // activation(): the 256-entry lookup built from the table; activation_pwl():
    // the table kernel itself (the hardware mirror). Same bits (tested by intops).
    for (size_t a = 0; a < act_plans.size(); ++a) {
      for (int pwl = 0; pwl < 2; ++pwl) {
        Row r = base;
        r.impl = fmt::format("gqalut {} {}(official 8)", acts[a].name, pwl ? "table kernel " : "");
        r.bench = fmt::format("act/gqalut_{}{}/{}", acts[a].name, pwl ? "_pwl" : "", tag);
        std::vector<int8_t> y(256);
        (pwl ? activation_pwl : activation)(act_plans[a], codes.data(), y.data(), 256, Isa::automatic);
        for (int i = 0; i < 256; ++i) {
          const double ref = std::clamp(std::ldexp(acts[a].f(std::ldexp(codes[i], -kActIn)), kActOut), -128.0, 127.0);
          r.err.add(y[i] - ref);
        }
        r.have_err = true;
        // The kernel the operator layer runs for this plan (what activation / activation_pwl call).
        r.note = pwl ? apply(act_plans[a].requant(), codes.data(), y.data(), 256) : apply(act_plans[a].lut(), codes.data(), y.data(), 256);
        add_row(r, [n, a, pwl](benchmark::State& st) {
          const auto op = pwl ? activation_pwl : activation;
          for (auto _ : st) {
            op(act_plans[a], in8.data(), out8.data(), n, Isa::automatic);
            benchmark::ClobberMemory();
          }
        });
      }
    }
#ifdef GQALUT_HAVE_XNNPACK
    for (int which = 0; which < 2; ++which) {
      xnn_operator_t op = which == 0 ? xnn_tanh : xnn_sigmoid;
      Row r = base;
      r.impl = which == 0 ? "XNNPACK tanh_nc_qs8" : "XNNPACK sigmoid_nc_qs8";
      r.bench = fmt::format("act/xnnpack_{}_qs8/{}", which == 0 ? "tanh" : "sigmoid", tag);
      std::vector<int8_t> y(256);
      auto setup = [which](xnn_operator_t o, size_t count, const int8_t* x, int8_t* out) {
        xnn_check(which == 0 ? xnn_setup_tanh_nc_qs8(o, count, x, out, nullptr)
                             : xnn_setup_sigmoid_nc_qs8(o, count, x, out, nullptr),
                  "setup");
      };
      setup(op, 256, codes.data(), y.data());
      xnn_check(xnn_run_operator(op, nullptr), "run");
      for (int i = 0; i < 256; ++i) {
        const double x = std::ldexp(codes[i], -kActIn);
        const double ref = which == 0 ? std::clamp(std::tanh(x) * 128, -128.0, 127.0)
                                      : std::clamp(sigmoid(x) * 256 - 128, -128.0, 127.0);
        r.err.add(y[i] - ref);
      }
      r.have_err = true;
      add_row(r, [n, op, setup](benchmark::State& st) {
        setup(op, n, in8.data(), out8.data());  // pointers and size fixed: setup once
        xnn_run_loop(st, op);
      });
    }
#endif
#ifdef GQALUT_HAVE_TORCH
    {
      Row r = base;
      r.impl = "LibTorch FP32 gelu";
      r.bench = "act/torch_gelu_fp32/" + tag;
      std::vector<float> x(256), y(256);
      for (int i = 0; i < 256; ++i) x[i] = std::ldexp(float(codes[i]), -kActIn);
      at::Tensor tx = at::from_blob(x.data(), {256}), ty = at::from_blob(y.data(), {256});
      at::gelu_out(ty, tx);
      for (int i = 0; i < 256; ++i) r.err.add(std::ldexp(y[i] - gelu(x[i]), kActOut));
      r.have_err = true;
      r.note = "float out, error in 2^-5 steps";
      add_row(r, [n](benchmark::State& st) {
        at::Tensor tin = at::from_blob(inf.data(), {int64_t(n)}), tout = at::from_blob(outf.data(), {int64_t(n)});
        for (auto _ : st) {
          at::gelu_out(tout, tin);
          benchmark::ClobberMemory();
        }
      });
    }
#endif
  }

  // ---- softmax and LayerNorm rows ------------------------------------------------
  // The softmax's EXP stage is a 2^x - 1 table on one octave, its DIV stage a
  // reciprocal table (docs/intops.md): the optimum K-entry INT8 tables, as
  // `gqalut ops softmax --entries K` uses them. LayerNorm: the official 8-entry RSQRT.
  struct SoftmaxVariant {
    int entries;
    SoftmaxPlan plan;
  };
  static std::vector<SoftmaxVariant> sms;
  for (int k : {8, 16})
    sms.push_back({k, prepare_softmax(fit_recipe(table_recipe("exp2m1"), k), fit_recipe(table_recipe("div"), k), kSmIn,
                                      kSmOut)});
  const LayerNormPlan ln = prepare_layernorm(official("sqrt_reci_pwl_7.json"), kLnIn, kLnOut, kGammaFrac, kEps);
  static std::map<size_t, RowData> rows;
  for (size_t n : kRowLens) rows[n] = make_rows(n);
  for (size_t n : kRowLens) {
    const RowData* d = &rows[n];
    const std::string size = fmt::format("row {}", n);
    Row base = make_row("softmax", size, double(n) * kRowsPerIter, kRowsPerIter);
    for (const SoftmaxVariant& v : sms) {
      Row r = base;
      r.impl = fmt::format("gqalut softmax_row (optimum {})", v.entries);
      r.bench = fmt::format("softmax/gqalut_{}/{}", v.entries, n);
      std::vector<uint8_t> p(n);
      softmax_errors(*d, r, [&](int row, double* out) {
        softmax_row(v.plan, d->logits.data() + row * n, p.data(), n);
        for (size_t i = 0; i < n; ++i) out[i] = p[i];
      });
      const SoftmaxPlan* plan = &v.plan;
      add_row(r, [n, d, plan](benchmark::State& st) {
        std::vector<uint8_t> out(n * kRowsPerIter);
        for (auto _ : st) {
          for (int row = 0; row < kRowsPerIter; ++row)
            softmax_row(*plan, d->logits.data() + row * n, out.data() + row * n, n);
          benchmark::ClobberMemory();
        }
      });
    }
#ifdef GQALUT_HAVE_XNNPACK
    {
      // qu8 input: the int8 codes + 128 at the same scale (softmax ignores the shift).
      static std::map<size_t, std::vector<uint8_t>> u8;
      auto& u = u8[n];
      for (int8_t q : d->logits) u.push_back(static_cast<uint8_t>(q + 128));
      xnn_operator_t op = nullptr;
      xnn_check(xnn_create_softmax_nc_qu8(n, n, n, 1.0f / 16, 0, 1.0f / 256, 0, &op), "create softmax");
      Row r = base;
      r.impl = "XNNPACK softmax_nc_qu8";
      r.bench = fmt::format("softmax/xnnpack_qu8/{}", n);
      std::vector<uint8_t> p(n);
      softmax_errors(*d, r, [&](int row, double* out) {
        xnn_check(xnn_setup_softmax_nc_qu8(op, 1, u.data() + row * n, p.data(), nullptr), "setup softmax");
        xnn_check(xnn_run_operator(op, nullptr), "run softmax");
        for (size_t i = 0; i < n; ++i) out[i] = p[i];
      });
      add_row(r, [n, op, &u](benchmark::State& st) {
        std::vector<uint8_t> out(n * kRowsPerIter);
        xnn_setup_softmax_nc_qu8(op, kRowsPerIter, u.data(), out.data(), nullptr);  // one batch of 32 rows
        xnn_run_loop(st, op);
      });
    }
#endif
#ifdef GQALUT_HAVE_TORCH
    {
      Row r = base;
      r.impl = "LibTorch FP32 softmax";
      r.bench = fmt::format("softmax/torch_fp32/{}", n);
      r.note = "float out, error in 2^-8 steps";
      std::vector<float> p(n);
      softmax_errors(*d, r, [&](int row, double* out) {
        at::Tensor x = at::from_blob(const_cast<float*>(d->logits_f.data()) + row * n, {1, int64_t(n)});
        at::Tensor y = at::from_blob(p.data(), {1, int64_t(n)});
        at::softmax_out(y, x, 1);
        for (size_t i = 0; i < n; ++i) out[i] = double(p[i]) * 256;
      });
      add_row(r, [n, d](benchmark::State& st) {
        at::Tensor x = at::from_blob(const_cast<float*>(d->logits_f.data()), {kRowsPerIter, int64_t(n)});
        at::Tensor y = at::empty({kRowsPerIter, int64_t(n)});
        for (auto _ : st) {
          at::softmax_out(y, x, 1);
          benchmark::ClobberMemory();
        }
      });
    }
#endif
    base.group = "layernorm";
    {
      Row r = base;
      r.impl = "gqalut layernorm_row (official 8)";
      r.bench = fmt::format("layernorm/gqalut/{}", n);
      std::vector<int8_t> y(n);
      for (int row = 0; row < kRowsPerIter; ++row) {
        layernorm_row(ln, d->x.data() + row * n, d->gamma.data(), d->beta.data(), y.data(), n);
        const auto ref = layernorm_ref(*d, row);
        for (size_t i = 0; i < n; ++i) r.err.add(y[i] - std::clamp(std::ldexp(ref[i], kLnOut), -128.0, 127.0));
      }
      r.have_err = true;
      add_row(r, [n, d, &ln](benchmark::State& st) {
        std::vector<int8_t> out(n * kRowsPerIter);
        for (auto _ : st) {
          for (int row = 0; row < kRowsPerIter; ++row)
            layernorm_row(ln, d->x.data() + row * n, d->gamma.data(), d->beta.data(), out.data() + row * n, n);
          benchmark::ClobberMemory();
        }
      });
    }
#ifdef GQALUT_HAVE_TORCH
    {
      Row r = base;
      r.impl = "LibTorch FP32 layer_norm";
      r.bench = fmt::format("layernorm/torch_fp32/{}", n);
      r.note = "float out, error in 2^-4 steps";
      at::Tensor g = at::from_blob(const_cast<float*>(d->gamma_f.data()), {int64_t(n)});
      at::Tensor b = at::from_blob(const_cast<float*>(d->beta_f.data()), {int64_t(n)});
      for (int row = 0; row < kRowsPerIter; ++row) {
        at::Tensor x = at::from_blob(const_cast<float*>(d->x_f.data()) + row * n, {1, int64_t(n)});
        at::Tensor y = at::layer_norm(x, {int64_t(n)}, g, b, kEps);
        const float* yp = y.data_ptr<float>();
        const auto ref = layernorm_ref(*d, row);
        for (size_t i = 0; i < n; ++i) r.err.add(std::ldexp(yp[i] - ref[i], kLnOut));
      }
      r.have_err = true;
      add_row(r, [n, d, g, b](benchmark::State& st) {
        at::Tensor x = at::from_blob(const_cast<float*>(d->x_f.data()), {kRowsPerIter, int64_t(n)});
        for (auto _ : st) {
          at::Tensor y = at::layer_norm(x, {int64_t(n)}, g, b, kEps);
          benchmark::DoNotOptimize(y.data_ptr<float>());
        }
      });
    }
#endif
  }

  Capture rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  rep.Finish();
  auto secs = [&](const std::string& bench) {
    auto it = rep.seconds.find(bench);
    return it == rep.seconds.end() ? 0.0 : it->second;
  };

  std::printf("\nbench_peers results (%s; accuracy in output steps (LSB) against double precision)\n",
              rep.median_seconds.empty() ? "single runs" : "medians of the repetitions");
  std::printf("activations: int8 codes at 2^-%d in, int8 at 2^-%d out (XNNPACK tanh 2^-7, sigmoid 2^-8); softmax: "
              "int8 logits at 2^-%d, uint8 at 2^-%d; LayerNorm: int8 at 2^-%d in, 2^-%d out\n",
              kActIn, kActOut, kSmIn, kSmOut, kLnIn, kLnOut);
  std::printf("%-10s %-10s %-34s %12s %9s %9s %9s %9s  %s\n", "op", "size", "implementation", "time", "Gelem/s",
              "max err", "mean err", "peak max", "");
  std::string last;
  for (const auto& r : g_rows) {
    const double t = secs(r.bench);
    if (t <= 0) continue;  // filtered out
    if (r.group + r.size != last) std::printf("\n");
    last = r.group + r.size;
    const std::string time = t <= 0 ? "-" : r.rows > 0 ? fmt::format("{:.0f} ns/row", t * 1e9 / r.rows)
                                                        : fmt::format("{:.3f} ns/el", t * 1e9 / r.elems);
    std::printf("%-10s %-10s %-34s %12s %9.2f %9s %9s %9s  %s\n", r.group.c_str(), r.size.c_str(), r.impl.c_str(),
                time.c_str(), t > 0 ? r.elems / t / 1e9 : 0.0, r.have_err ? fmt::format("{:.3f}", r.err.max).c_str() : "-",
                r.have_err ? fmt::format("{:.3f}", r.err.mean()).c_str() : "-",
                r.peak.count ? fmt::format("{:.3f}", r.peak.max).c_str() : "", r.note.c_str());
  }

  // Ratios (time of the other / time of gqalut: > 1 means gqalut is faster) and targets.
  std::printf("\nratios (other's time / gqalut's time) and targets (docs/intops.md):\n");
  auto ratio_line = [&](const std::string& what, const std::string& ours, const std::string& theirs, double target) {
    const double a = secs(ours), b = secs(theirs);
    if (a <= 0 || b <= 0) {
      std::printf("  %-58s   n/a (not measured)\n", what.c_str());
      return;
    }
    const double x = b / a;
    std::printf("  %-58s %6.2fx", what.c_str(), x);
    if (target > 0) std::printf("   target >= %.1fx: %s", target, x >= target ? "met" : "NOT met");
    std::printf("\n");
  };
  for (const auto& a : acts) {
    ratio_line(fmt::format("{} vs XNNPACK tanh_nc_qs8, L2", a.name), fmt::format("act/gqalut_{}/L2", a.name),
               "act/xnnpack_tanh_qs8/L2", 3.0);
    ratio_line(fmt::format("{} vs memcpy, DRAM", a.name), fmt::format("act/gqalut_{}/DRAM", a.name),
               "act/memcpy/DRAM", 0.9);
    ratio_line(fmt::format("{} vs LibTorch FP32 gelu, L2", a.name), fmt::format("act/gqalut_{}/L2", a.name),
               "act/torch_gelu_fp32/L2", 0);
  }
  for (size_t n : kRowLens) {
    for (int k : {8, 16})
      ratio_line(fmt::format("softmax row {} (optimum {}) vs XNNPACK softmax_nc_qu8", n, k),
                 fmt::format("softmax/gqalut_{}/{}", k, n), fmt::format("softmax/xnnpack_qu8/{}", n), 3.0);
    ratio_line(fmt::format("softmax row {} (optimum 8) vs LibTorch FP32", n), fmt::format("softmax/gqalut_8/{}", n),
               fmt::format("softmax/torch_fp32/{}", n), 0);
    ratio_line(fmt::format("layernorm row {} vs LibTorch FP32", n), fmt::format("layernorm/gqalut/{}", n),
               fmt::format("layernorm/torch_fp32/{}", n), 0);
  }
  for (const AccuracyTarget& t : accuracy_targets())  // the targets are data (gqalut/recipes.hpp)
    std::printf("(accuracy target, %s: %s)\n", t.op.c_str(), t.source.c_str());
  benchmark::Shutdown();
  return 0;
}
