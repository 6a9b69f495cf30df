// The integer LayerNorm unit's kind of the unit registry (units.def: layernorm): the unit of
// gqalut/hw/layernorm_unit.hpp, built from the plan of `gqalut ops layernorm` (the default table
// recipe rsqrt fitted at K entries; int8 x at 2^-4, gamma at 2^-6, eps 1e-5, int8 y at 2^-4).
#include <map>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

#include "gqalut/hw/registry.hpp"
#include "gqalut/hw/layernorm_unit.hpp"
#include "gqalut/intops.hpp"
#include "gqalut/intops_measure.hpp"
#include "gqalut/recipes.hpp"
#include "row_unit_checks.hpp"

namespace gqalut::hw {
namespace {

constexpr int kInFrac = 4, kOutFrac = 4, kGammaFrac = 6;  // gqalut ops layernorm's defaults
constexpr double kEps = 1e-5;

// The plan of K-entry tables, fitted once per K in this process (the exact optimum of each recipe).
const LayerNormPlan& layernorm_plan(int K) {
  static std::mutex m;
  static std::map<int, std::unique_ptr<LayerNormPlan>> plans;
  std::lock_guard<std::mutex> l(m);
  auto& p = plans[K];
  if (!p)
    p = std::make_unique<LayerNormPlan>(prepare_layernorm(fit_recipe(table_recipe("rsqrt"), K), kInFrac, kOutFrac,
                                                          kGammaFrac, kEps));
  return *p;
}

}  // namespace

BuiltUnit build_layernorm_unit(const UnitRequest& r) {
  if (r.entries < 2 || r.entries > 64)
    throw std::invalid_argument(fmt::format("unit layernorm: entries must be in [2, 64], got {}", r.entries));
  const LayerNormPlan& plan = layernorm_plan(r.entries);
  LayerNormUnitOptions o;
  o.lanes = r.lanes;
  o.programmable = r.programmable;
  if (r.max_n > 0) o.max_n = r.max_n;
  BuiltUnit b;
  b.unit = generate_layernorm_unit(plan.reference(), o);  // checks lanes and max_n
  const UnitTiming t = layernorm_unit_timing(plan.reference(), o, o.max_n);
  b.elements_per_cycle = double(o.max_n) / double(t.interval);
  b.description = fmt::format(
      "integer LayerNorm unit, {}-entry {} RSQRT table, {} lane{}, rows up to {} ({:.3f} elements/cycle on "
      "back-to-back rows of {})",
      r.entries, r.programmable ? "programmable" : "baked", o.lanes, o.lanes == 1 ? "" : "s", o.max_n,
      b.elements_per_cycle, o.max_n);
  UnitTestOptions tt;
  tt.seed = r.seed;
  tt.random_rows = r.full ? 100000 : 300;
  tt.stage_random = r.full ? 20000 : 2000;
  const auto& ref = plan.reference();
  UnitTestbench stages = layernorm_stage_testbench(ref, o, tt), rows = layernorm_row_testbench(ref, o, tt);
  b.verify = [stages, rows](const VerilogUnit& unit, const SimOptions& so) {
    return detail::run_stages_and_rows(unit, stages, rows, so);
  };
  // The unit is bit-exact with the scalar reference, so its error is the reference's on the rows
  // of `gqalut ops layernorm` (40 rows of 197 / 768 / 3072, seed 1).
  b.error = [K = r.entries] {
    const LayerNormPlan& p = layernorm_plan(K);
    UnitError e;
    double sum = 0;
    size_t points = 0;
    for (size_t n : {size_t{197}, size_t{768}, size_t{3072}}) {
      const OpErrorStats s = measure_layernorm(p, layernorm_rows(n, 40, 1000003 + n), 1);
      e.max_lsb = std::max(e.max_lsb, s.max_err_lsb);
      sum += s.mean_err_lsb * double(s.points);
      points += s.points;
    }
    e.mean_lsb = points ? sum / double(points) : 0;
    e.on = "gqalut ops layernorm rows: 40 rows of 197 / 768 / 3072 at 2^-4, gamma 2^-6, int8 out at 2^-4";
    return e;
  };
  return b;
}

}  // namespace gqalut::hw
