// Speed of the exact optimum (all 7 scales, n = 0..6, Q1.6) beside the
// uniform baseline measured in the same run. Goal: GELU, 16 entries, <= 1 s.
//   ninja -C build bench_optimal && ./build/bench/bench_optimal
#include <string>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "gqalut/search.hpp"

namespace {

gqalut::Problem problem(const char* name, int entries, bool shared) {
  gqalut::Problem p = gqalut::Problem::make(gqalut::find_function(name), entries);
  p.shared = shared;
  return p;
}

template <class Algo>
void run(benchmark::State& state, const char* name, bool shared, gqalut::Objective o) {
  gqalut::Problem p = problem(name, int(state.range(0)), shared);
  p.objective = o;
  gqalut::Result r;
  for (auto _ : state) {
    r = Algo().run(p);
    benchmark::ClobberMemory();  // run() is opaque; r is read after the loop
  }
  state.SetLabel(fmt::format("paper_score={:.4e}", r.errors.paper_score));
  state.counters["segment_fits"] = double(r.evaluations);
}

void BM_Optimal_gelu(benchmark::State& s) { run<gqalut::Optimal>(s, "gelu", false, gqalut::Objective::mse); }
void BM_Optimal_gelu_shared(benchmark::State& s) { run<gqalut::Optimal>(s, "gelu", true, gqalut::Objective::mse); }
void BM_Optimal_gelu_max(benchmark::State& s) { run<gqalut::Optimal>(s, "gelu", false, gqalut::Objective::max_abs); }
void BM_Optimal_rsqrt(benchmark::State& s) { run<gqalut::Optimal>(s, "rsqrt", false, gqalut::Objective::mse); }
void BM_Uniform_gelu(benchmark::State& s) { run<gqalut::Uniform>(s, "gelu", false, gqalut::Objective::mse); }

}  // namespace

BENCHMARK(BM_Optimal_gelu)->Arg(8)->Arg(16)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Optimal_gelu_shared)->Arg(8)->Arg(16)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Optimal_gelu_max)->Arg(8)->Arg(16)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Optimal_rsqrt)->Arg(8)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Uniform_gelu)->Arg(8)->Arg(16)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
