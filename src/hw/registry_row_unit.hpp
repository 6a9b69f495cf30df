// gqalut hardware layer, internal: the registry adapter shared by the generated row units
// (registry_softmax.cpp, registry_layernorm.cpp): one plan per entry count, the unit's options
// from the request, its stage and row testbenches as the verdict, its error on `gqalut ops` rows.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "gqalut/hw/registry.hpp"
#include "gqalut/hw/softmax_unit.hpp"
#include "gqalut/intops_measure.hpp"
#include "row_unit_checks.hpp"

namespace gqalut::hw::detail {

// The plan of K-entry tables, made once per K in this process by make(K) (one cache per Plan
// type and maker).
template <typename Plan, typename Make>
const Plan& plan_per_entries(int K, Make make) {
  static std::mutex m;
  static std::map<int, std::unique_ptr<Plan>> plans;
  std::lock_guard<std::mutex> l(m);
  auto& p = plans[K];
  if (!p) p = std::make_unique<Plan>(make(K));
  return *p;
}

// How a row unit's description names its interface: "" (row buffer) or ", re-streamed (no row buffer)".
inline const char* restream_text(bool restream) { return restream ? ", re-streamed (no row buffer)" : ""; }

// The row lengths and row count of `gqalut ops` (docs/intops.md): a row unit's error is the
// reference's on them, row sets drawn from seed 1000003 + n.
inline UnitError ops_rows_error(const std::function<OpErrorStats(size_t n, uint64_t seed)>& measure,
                                const std::string& on) {
  UnitError e;
  double sum = 0;
  size_t points = 0;
  for (size_t n : {size_t{197}, size_t{768}, size_t{3072}}) {
    const OpErrorStats s = measure(n, 1000003 + n);
    e.max_lsb = std::max(e.max_lsb, s.max_err_lsb);
    sum += s.mean_err_lsb * double(s.points);
    points += s.points;
  }
  e.mean_lsb = points ? sum / double(points) : 0;
  e.on = on;
  return e;
}

// One kind of generated row unit: its generator, timing and testbenches over the plan's reference
// (Ref), its options (Options: lanes, programmable, max_n), and how its error is measured.
template <typename Plan, typename Ref, typename Options>
struct RowUnitKind {
  const char* kind;    // "softmax": the registry's name, in messages
  const char* what;    // "integer softmax unit"
  const char* tables;  // "EXP2M1/DIV tables"
  const char* error_on;  // UnitError::on
  const Plan& (*plan)(int K);
  VerilogUnit (*generate)(const Ref&, const Options&);
  UnitTiming (*timing)(const Ref&, const Options&, long long n);
  UnitTestbench (*stage_testbench)(const Ref&, const Options&, const UnitTestOptions&);
  UnitTestbench (*row_testbench)(const Ref&, const Options&, const UnitTestOptions&);
  OpErrorStats (*measure)(const Plan&, size_t n, uint64_t rows_seed);  // on the `gqalut ops` rows of length n
};

// A registry unit of kind k for request r: entries in [2, 64], the generator checks lanes and
// max_n; throughput on back-to-back rows of max_n; reduced testbenches unless r.full.
template <typename Plan, typename Ref, typename Options>
BuiltUnit build_row_unit(const RowUnitKind<Plan, Ref, Options>& k, const UnitRequest& r) {
  if (r.entries < 2 || r.entries > 64)
    throw std::invalid_argument(fmt::format("unit {}: entries must be in [2, 64], got {}", k.kind, r.entries));
  const Plan& plan = k.plan(r.entries);
  Options o;
  o.lanes = r.lanes;
  o.programmable = r.programmable;
  o.restream = r.restream;
  if (r.max_n > 0) o.max_n = r.max_n;
  BuiltUnit b;
  const Ref& ref = plan.reference();
  b.unit = k.generate(ref, o);  // checks lanes and max_n
  const UnitTiming t = k.timing(ref, o, o.max_n);
  b.elements_per_cycle = double(o.max_n) / double(t.interval);
  b.description = fmt::format("{}, {}-entry {} {}, {} lane{}, rows up to {}{} ({:.3f} elements/cycle on back-to-back rows of {})",
                              k.what, r.entries, r.programmable ? "programmable" : "baked", k.tables, o.lanes,
                              o.lanes == 1 ? "" : "s", o.max_n, detail::restream_text(o.restream),
                              b.elements_per_cycle, o.max_n);
  UnitTestOptions tt;
  tt.seed = r.seed;
  tt.random_rows = r.full ? 100000 : 300;
  tt.stage_random = r.full ? 20000 : 2000;
  UnitTestbench stages = k.stage_testbench(ref, o, tt), rows = k.row_testbench(ref, o, tt);
  b.verify = [stages, rows](const VerilogUnit& unit, const SimOptions& so) {
    return run_stages_and_rows(unit, stages, rows, so);
  };
  // The unit is bit-exact with the scalar reference, so its error is the reference's.
  b.error = [k, K = r.entries] {
    const Plan& p = k.plan(K);
    return ops_rows_error([&](size_t n, uint64_t seed) { return k.measure(p, n, seed); }, k.error_on);
  };
  return b;
}

}  // namespace gqalut::hw::detail
