// The integer LayerNorm unit's kind of the unit registry (units.def: layernorm): the unit of
// gqalut/hw/layernorm_unit.hpp, built from the plan of `gqalut ops layernorm` (the default table
// recipe rsqrt fitted at K entries; int8 x at 2^-4, gamma at 2^-6, eps 1e-5, int8 y at 2^-4).
#include "gqalut/hw/layernorm_unit.hpp"
#include "gqalut/intops.hpp"
#include "gqalut/intops_measure.hpp"
#include "gqalut/recipes.hpp"
#include "registry_row_unit.hpp"

namespace gqalut::hw {
namespace {

constexpr int kInFrac = 4, kOutFrac = 4, kGammaFrac = 6;  // gqalut ops layernorm's defaults
constexpr double kEps = 1e-5;

// The plan of K-entry tables, fitted once per K in this process (the exact optimum of the recipe).
const LayerNormPlan& layernorm_plan(int K) {
  return detail::plan_per_entries<LayerNormPlan>(K, [](int k) {
    return prepare_layernorm(fit_recipe(table_recipe("rsqrt"), k), kInFrac, kOutFrac, kGammaFrac, kEps);
  });
}

const detail::RowUnitKind<LayerNormPlan, ref::LayerNormRef, LayerNormUnitOptions> kLayerNorm{
    "layernorm",
    "integer LayerNorm unit",
    "RSQRT table",
    "gqalut ops layernorm rows: 40 rows of 197 / 768 / 3072 at 2^-4, gamma 2^-6, int8 out at 2^-4",
    layernorm_plan,
    generate_layernorm_unit,
    layernorm_unit_timing,
    layernorm_stage_testbench,
    layernorm_row_testbench,
    // the rows of `gqalut ops layernorm` (gamma and beta drawn from seed 1)
    [](const LayerNormPlan& p, size_t n, uint64_t seed) { return measure_layernorm(p, layernorm_rows(n, 40, seed), 1); },
};

}  // namespace

BuiltUnit build_layernorm_unit(const UnitRequest& r) { return detail::build_row_unit(kLayerNorm, r); }

}  // namespace gqalut::hw
