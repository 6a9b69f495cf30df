// Integer softmax (optimum 8-entry exp2m1 table + official reci_pwl_7) and
// LayerNorm (official sqrt_reci_pwl_7) vs
// straightforward FP32 implementations, rows of 197, 768 and 3072, all in one
// run. After the run prints the speed ratio (FP32 time / integer time) beside
// each version's error against double precision on the same inputs.
// Run: build-*/bench/bench_intops --benchmark_min_time=0.2 [--benchmark_repetitions=5
//      --benchmark_enable_random_interleaving=true]  (medians of the repetitions)
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "gqalut/intops.hpp"
#include "gqalut/intops_measure.hpp"
#include "bench_util.hpp"
#include "gqalut/io.hpp"

using namespace gqalut;
using gqalut::bench::Capture;
using gqalut::bench::official;
using gqalut::bench::shared_dir;

namespace {


constexpr int kInFrac = 4, kProbFrac = 8, kLnOut = 4, kGammaFrac = 6;
constexpr double kEps = 1e-5;
const size_t kRows[] = {197, 768, 3072};
constexpr int kErrorRows = 32;

// Inputs shared by the benchmark and the error measurement.
struct Data {
  std::vector<std::vector<int8_t>> logits, x;        // int8 codes at 2^-4
  std::vector<std::vector<float>> logits_f, x_f;     // the same values in float
  std::vector<int8_t> gamma;
  std::vector<int32_t> beta;
  std::vector<float> gamma_f, beta_f;
};

Data make_data(size_t n) {
  std::mt19937_64 rng(7 + n);
  Data d;
  std::normal_distribution<double> g(1.0, 0.2), b(0.0, 0.2);
  for (size_t i = 0; i < n; ++i) {
    d.gamma.push_back(static_cast<int8_t>(std::clamp(std::lround(std::ldexp(g(rng), kGammaFrac)), -128L, 127L)));
    d.beta.push_back(static_cast<int32_t>(std::lround(std::ldexp(b(rng), kLnOut))));
    d.gamma_f.push_back(std::ldexp(float(d.gamma.back()), -kGammaFrac));
    d.beta_f.push_back(std::ldexp(float(d.beta.back()), -kLnOut));
  }
  for (int r = 0; r < kErrorRows; ++r) {
    std::normal_distribution<double> lg(0.0, 0.5 + 0.5 * (r % 4)), act(0.3, 0.5 + 0.5 * (r % 4));
    std::vector<int8_t> l(n), x(n);
    std::vector<float> lf(n), xf(n);
    for (size_t i = 0; i < n; ++i) {
      l[i] = static_cast<int8_t>(std::clamp(std::lround(std::ldexp(lg(rng), kInFrac)), -128L, 127L));
      double v = i % 97 == 5 ? 6.0 : act(rng);
      x[i] = static_cast<int8_t>(std::clamp(std::lround(std::ldexp(v, kInFrac)), -128L, 127L));
      lf[i] = std::ldexp(float(l[i]), -kInFrac);
      xf[i] = std::ldexp(float(x[i]), -kInFrac);
    }
    d.logits.push_back(l);
    d.x.push_back(x);
    d.logits_f.push_back(lf);
    d.x_f.push_back(xf);
  }
  return d;
}

// Straightforward FP32 versions (what a float model runs).
void softmax_fp32(const float* x, float* y, size_t n) {
  float m = x[0];
  for (size_t i = 1; i < n; ++i) m = std::max(m, x[i]);
  float s = 0;
  for (size_t i = 0; i < n; ++i) s += y[i] = std::exp(x[i] - m);
  const float inv = 1.0f / s;
  for (size_t i = 0; i < n; ++i) y[i] *= inv;
}

void layernorm_fp32(const float* x, const float* g, const float* b, float* y, size_t n) {
  float mean = 0;
  for (size_t i = 0; i < n; ++i) mean += x[i];
  mean /= float(n);
  float var = 0;
  for (size_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= float(n);
  const float inv = 1.0f / std::sqrt(var + float(kEps));
  for (size_t i = 0; i < n; ++i) y[i] = g[i] * (x[i] - mean) * inv + b[i];
}

struct Err {
  double max_abs = 0, sum_abs = 0;
  size_t count = 0;
  void add(double e) {
    max_abs = std::max(max_abs, std::abs(e));
    sum_abs += std::abs(e);
    ++count;
  }
  double mean() const { return count ? sum_abs / count : 0; }
};


}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const SoftmaxPlan sm =
      prepare_softmax(fit_recipe(table_recipe("exp2m1"), 8), official("reci_pwl_7.json"), kInFrac, kProbFrac);
  const LayerNormPlan ln = prepare_layernorm(official("sqrt_reci_pwl_7.json"), kInFrac, kLnOut, kGammaFrac, kEps);
  const auto isas = available_isas();
  static std::map<size_t, Data> data;
  for (size_t n : kRows) data[n] = make_data(n);

  for (size_t n : kRows) {
    const Data* d = &data[n];
    for (Isa isa : isas) {
      benchmark::RegisterBenchmark(fmt::format("int_softmax_{}/{}", to_string(isa), n).c_str(),
                                   [=, &sm](benchmark::State& st) {
                                     std::vector<uint8_t> out(n);
                                     for (auto _ : st) {
                                       softmax_row(sm, d->logits[0].data(), out.data(), n, isa);
                                       benchmark::DoNotOptimize(out.data());
                                     }
                                     st.SetItemsProcessed(int64_t(st.iterations()) * int64_t(n));
                                   })
          ->UseRealTime();
      benchmark::RegisterBenchmark(fmt::format("int_layernorm_{}/{}", to_string(isa), n).c_str(),
                                   [=, &ln](benchmark::State& st) {
                                     std::vector<int8_t> out(n);
                                     for (auto _ : st) {
                                       layernorm_row(ln, d->x[0].data(), d->gamma.data(), d->beta.data(), out.data(),
                                                     n, isa);
                                       benchmark::DoNotOptimize(out.data());
                                     }
                                     st.SetItemsProcessed(int64_t(st.iterations()) * int64_t(n));
                                   })
          ->UseRealTime();
    }
    benchmark::RegisterBenchmark(fmt::format("fp32_softmax/{}", n).c_str(), [=](benchmark::State& st) {
      std::vector<float> out(n);
      for (auto _ : st) {
        softmax_fp32(d->logits_f[0].data(), out.data(), n);
        benchmark::DoNotOptimize(out.data());
      }
      st.SetItemsProcessed(int64_t(st.iterations()) * int64_t(n));
    })->UseRealTime();
    benchmark::RegisterBenchmark(fmt::format("fp32_layernorm/{}", n).c_str(), [=](benchmark::State& st) {
      std::vector<float> out(n);
      for (auto _ : st) {
        layernorm_fp32(d->x_f[0].data(), d->gamma_f.data(), d->beta_f.data(), out.data(), n);
        benchmark::DoNotOptimize(out.data());
      }
      st.SetItemsProcessed(int64_t(st.iterations()) * int64_t(n));
    })->UseRealTime();
  }

  // Activations (int8 -> int8, GELU gelu_pwl_7 at 2^-4 -> 2^-5): the 256-entry lookup that
  // activation() runs vs the table kernel (activation_pwl) vs memcpy, at L2 and DRAM sizes.
  const ActivationPlan act = prepare_activation(official("gelu_pwl_7.json"), 4, 5);
  static std::vector<int8_t> act_in[2], act_out[2];
  const size_t act_sizes[2] = {size_t{128} << 10, size_t{64} << 20};
  for (int k = 0; k < 2; ++k) {
    std::mt19937_64 rng(11 + k);
    act_in[k].resize(act_sizes[k]);
    act_out[k].resize(act_sizes[k]);
    for (auto& v : act_in[k]) v = static_cast<int8_t>(rng());
  }
  for (int k = 0; k < 2; ++k) {
    const size_t n = act_sizes[k];
    for (Isa isa : isas)
      for (int lut = 0; lut < 2; ++lut)
        benchmark::RegisterBenchmark(fmt::format("act_{}_{}/{}", lut ? "lut" : "pwl", to_string(isa), n).c_str(),
                                     [=, &act](benchmark::State& st) {
                                       for (auto _ : st) {
                                         if (lut)
                                           activation(act, act_in[k].data(), act_out[k].data(), n, isa);
                                         else
                                           activation_pwl(act, act_in[k].data(), act_out[k].data(), n, isa);
                                         benchmark::DoNotOptimize(act_out[k].data());
                                       }
                                       st.SetItemsProcessed(int64_t(st.iterations()) * int64_t(n));
                                     })
            ->UseRealTime();
    benchmark::RegisterBenchmark(fmt::format("act_memcpy/{}", n).c_str(), [=](benchmark::State& st) {
      for (auto _ : st) {
        std::memcpy(act_out[k].data(), act_in[k].data(), n);
        benchmark::DoNotOptimize(act_out[k].data());
      }
      st.SetItemsProcessed(int64_t(st.iterations()) * int64_t(n));
    })->UseRealTime();
  }

  Capture rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  rep.Finish();

  const SoftmaxDatapath& smd = sm.datapath();
  const LayerNormDatapath& lnd = ln.datapath();
  std::printf("\nTables: optimum 8-entry exp2m1 (scale %d) + official reci_pwl_7 (scale %d, codes [%d, %d)); sqrt_reci_pwl_7 "
              "(scale %d, codes [%d, %d)). Inputs int8 at 2^-%d; softmax out uint8 at 2^-%d; LayerNorm out int8 at "
              "2^-%d.\n",
              smd.exp_scale, smd.div_scale, 1 << smd.div_a, 2 << smd.div_a, lnd.rsqrt_scale, 1 << lnd.rsqrt_a,
              4 << lnd.rsqrt_a, kInFrac, kProbFrac, kLnOut);
  std::printf("Errors vs double over %d rows per size (max abs / mean abs).\n", kErrorRows);
  std::printf("%-10s %6s %-8s %10s %12s %9s   %-22s %-22s\n", "op", "n", "isa", "int ns", "fp32 ns", "speedup",
              "int err (max/mean)", "fp32 err (max/mean)");
  for (size_t n : kRows) {
    const Data& d = data[n];
    Err sm_int, sm_fp, ln_int, ln_fp;
    std::vector<uint8_t> p8(n);
    std::vector<int8_t> y8(n);
    std::vector<float> pf(n), yf(n);
    for (int r = 0; r < kErrorRows; ++r) {
      // softmax: double reference of the same (dequantized) logits
      std::vector<double> ref(n);
      double m = -1e300, s = 0;
      for (size_t i = 0; i < n; ++i) m = std::max(m, double(d.logits_f[r][i]));
      for (size_t i = 0; i < n; ++i) s += ref[i] = std::exp(double(d.logits_f[r][i]) - m);
      softmax_row(sm, d.logits[r].data(), p8.data(), n);
      softmax_fp32(d.logits_f[r].data(), pf.data(), n);
      for (size_t i = 0; i < n; ++i) {
        sm_int.add(std::ldexp(p8[i], -kProbFrac) - ref[i] / s);
        sm_fp.add(pf[i] - ref[i] / s);
      }
      // LayerNorm
      double mean = 0, var = 0;
      for (size_t i = 0; i < n; ++i) mean += d.x_f[r][i];
      mean /= n;
      for (size_t i = 0; i < n; ++i) var += (d.x_f[r][i] - mean) * (d.x_f[r][i] - mean);
      var /= n;
      layernorm_row(ln, d.x[r].data(), d.gamma.data(), d.beta.data(), y8.data(), n);
      layernorm_fp32(d.x_f[r].data(), d.gamma_f.data(), d.beta_f.data(), yf.data(), n);
      for (size_t i = 0; i < n; ++i) {
        double y = double(d.gamma_f[i]) * (d.x_f[r][i] - mean) / std::sqrt(var + kEps) + d.beta_f[i];
        ln_int.add(std::ldexp(y8[i], -kLnOut) - std::clamp(y, -8.0, 127.0 / 16));  // int8 output range
        ln_fp.add(yf[i] - y);
      }
    }
    for (Isa isa : isas) {
      for (int op = 0; op < 2; ++op) {
        const char* name = op == 0 ? "softmax" : "layernorm";
        double ti = rep.seconds[fmt::format("int_{}_{}/{}", name, to_string(isa), n)];
        double tf = rep.seconds[fmt::format("fp32_{}/{}", name, n)];
        const Err& ei = op == 0 ? sm_int : ln_int;
        const Err& ef = op == 0 ? sm_fp : ln_fp;
        std::printf("%-10s %6zu %-8s %10.1f %12.1f %8.2fx   %9.5f / %-10.6f %9.2e / %-10.2e\n", name, n,
                    to_string(isa), ti * 1e9, tf * 1e9, ti > 0 ? tf / ti : 0.0, ei.max_abs, ei.mean(), ef.max_abs,
                    ef.mean());
      }
    }
  }
  std::printf("\nActivations int8 -> int8 (gelu_pwl_7, 2^-4 -> 2^-5), ns per element:\n");
  std::printf("activation(): the 256-entry lookup (s8_lut256_s8) on scalar/avx512, the table kernel on avx2;\n"
              "pwl: activation_pwl(), the table kernel s8_pwl_s8, on every ISA.\n");
  std::printf("%-10s %-8s %13s %10s %10s %18s\n", "size", "isa", "activation()", "pwl", "memcpy", "pwl/activation()");
  for (int k = 0; k < 2; ++k) {
    const size_t n = act_sizes[k];
    const double mc = rep.seconds[fmt::format("act_memcpy/{}", n)] / double(n) * 1e9;
    for (Isa isa : isas) {
      const double tl = rep.seconds[fmt::format("act_lut_{}/{}", to_string(isa), n)] / double(n) * 1e9;
      const double tp = rep.seconds[fmt::format("act_pwl_{}/{}", to_string(isa), n)] / double(n) * 1e9;
      std::printf("%-10s %-8s %13.4f %10.4f %10.4f %17.2fx\n", k == 0 ? "128 Ki" : "64 Mi", to_string(isa), tl, tp, mc,
                  tl > 0 ? tp / tl : 0.0);
    }
  }
  benchmark::Shutdown();
  return 0;
}
