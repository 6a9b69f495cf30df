// The integer softmax unit's kind of the unit registry (units.def: softmax): the unit of helper
// code gqalut/hw/softmax_unit.hpp, built from the plan of `gqalut ops softmax` (the default table
// recipes exp2m1 and div fitted at K entries, int8 logits at 2^-4, uint8 probabilities at 2^-8).
#include "gqalut/hw/softmax_unit.hpp"
#include "gqalut/intops.hpp"
#include "gqalut/intops_measure.hpp"
#include "gqalut/recipes.hpp"
#include "registry_row_unit.hpp"

namespace gqalut::hw {
namespace {

constexpr int kInFrac = 4, kOutFrac = 8;  // gqalut ops softmax's defaults

// The plan of K-entry tables, fitted once per K in this process (the exact optimum of each recipe).
const SoftmaxPlan& softmax_plan(int K) {
  return detail::plan_per_entries<SoftmaxPlan>(K, [](int k) {
    return prepare_softmax(fit_recipe(table_recipe("exp2m1"), k), fit_recipe(table_recipe("div"), k), kInFrac,
                           kOutFrac);
  });
}

const detail::RowUnitKind<SoftmaxPlan, ref::SoftmaxRef, SoftmaxUnitOptions> kSoftmax{
    "softmax",
    "integer softmax unit",
    "EXP2M1/DIV tables",
    "gqalut ops softmax rows: normal logits, 40 rows of 197 / 768 / 3072 at 2^-4, uint8 out at 2^-8",
    softmax_plan,
    generate_softmax_unit,
    softmax_unit_timing,
    softmax_stage_testbench,
    softmax_row_testbench,
    // the rows of `gqalut ops softmax`: normal logits, 40 rows of n
    [](const SoftmaxPlan& p, size_t n, uint64_t seed) { return measure_softmax(p, normal_logit_rows(n, 40, seed), false); },
};

}  // namespace

BuiltUnit build_softmax_unit(const UnitRequest& r) { return detail::build_row_unit(kSoftmax, r); }

}  // namespace gqalut::hw
