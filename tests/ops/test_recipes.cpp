// The one table-driven test of the operations' table recipes and accuracy
// targets (include/gqalut/recipes.hpp): every recipe fits INT8 tables its
// operation's plan accepts and reads inside the recipe's range, and every
// accuracy target is met on the standard rows of `gqalut ops` by the tables of
// every recipe of the operation's roles (the defaults and the variants).
#include <algorithm>
#include <set>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/intops.hpp"
#include "gqalut/intops_measure.hpp"
#include "gqalut/recipes.hpp"

using namespace gqalut;

namespace {

// Every recipe of a role (the default first).
std::vector<const TableRecipe*> recipes_of(const std::string& role) {
  std::vector<const TableRecipe*> out;
  for (const TableRecipe& r : table_recipes())
    if (r.role == role) out.push_back(&r);
  return out;
}

}  // namespace

TEST(Recipes, NamesAreUniqueAndEachRoleHasItsDefault) {
  std::set<std::string> names;
  for (const TableRecipe& r : table_recipes()) {
    EXPECT_TRUE(names.insert(r.name).second) << r.name;
    EXPECT_NO_THROW(find_function(r.function)) << r.name;
    EXPECT_LT(r.lo, r.hi) << r.name;
    EXPECT_FALSE(r.scales.empty()) << r.name;
    EXPECT_FALSE(r.why.empty()) << r.name;
    EXPECT_TRUE(r.op == "softmax" || r.op == "layernorm") << r.name;
  }
  for (const char* role : {"exp2m1", "div", "rsqrt"}) {
    ASSERT_FALSE(recipes_of(role).empty()) << role;
    EXPECT_EQ(recipes_of(role).front()->name, role);  // the default: named after its role
    EXPECT_EQ(&table_recipe(role), recipes_of(role).front());
  }
  try {
    table_recipe("sqrt");
    FAIL() << "an unknown recipe must throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind("unknown table recipe 'sqrt' (known: exp2m1, div, rsqrt", 0), 0u) << e.what();
  }
}

// Each recipe at 8 and 16 entries: INT8 tables at its scales on its range, and the
// operation's plan takes a scale of the recipe and reads codes inside the range.
TEST(Recipes, EveryRecipeFitsTablesItsPlanReadsInsideItsRange) {
  for (const TableRecipe& r : table_recipes())
    for (int entries : {8, 16}) {
      SCOPED_TRACE(fmt::format("recipe {} with {} entries", r.name, entries));
      const TableSet set = fit_recipe(r, entries);
      EXPECT_EQ(set.function, r.function);
      EXPECT_EQ(set.lo, r.lo);
      EXPECT_EQ(set.hi, r.hi);
      ASSERT_EQ(set.scales(), r.scales);
      for (const auto& [n, t] : set.tables) {
        EXPECT_TRUE(t.is_int8()) << "scale " << n;
        EXPECT_EQ(t.entries(), entries);
      }
      if (r.role == "exp2m1") {
        const SoftmaxPlan p = prepare_softmax(set, fit_recipe(table_recipe("div"), 8), 4);
        EXPECT_TRUE(std::count(r.scales.begin(), r.scales.end(), p.datapath().exp_scale));
      } else if (r.role == "div") {
        const SoftmaxPlan p = prepare_softmax(fit_recipe(table_recipe("exp2m1"), 8), set, 4);
        const SoftmaxDatapath& d = p.datapath();
        EXPECT_TRUE(std::count(r.scales.begin(), r.scales.end(), d.div_scale));
        EXPECT_GE(std::ldexp(1 << d.div_a, -d.div_scale), r.lo);
        EXPECT_LE(std::ldexp((2 << d.div_a) - 1, -d.div_scale), r.hi);
        EXPECT_LE(d.recip_max_rel_error, std::ldexp(1.0, -17));
      } else {
        const LayerNormPlan p = prepare_layernorm(set, 4);
        const LayerNormDatapath& d = p.datapath();
        EXPECT_TRUE(std::count(r.scales.begin(), r.scales.end(), d.rsqrt_scale));
        EXPECT_GE(std::ldexp(1 << d.rsqrt_a, -d.rsqrt_scale), r.lo);
        EXPECT_LE(std::ldexp((4 << d.rsqrt_a) - 1, -d.rsqrt_scale), r.hi);
        EXPECT_LE(d.rsqrt_newton_max_rel_error, std::ldexp(1.0, -17));
      }
    }
}

// Every accuracy target, with every combination of its operation's recipes, on
// the standard rows (softmax: --set normal, peaked, int32; LayerNorm: normal).
TEST(Recipes, EveryAccuracyTargetIsMetByEveryRecipe) {
  ASSERT_FALSE(accuracy_targets().empty());
  for (const AccuracyTarget& t : accuracy_targets()) {
    SCOPED_TRACE(fmt::format("{} target, tables of <= {} entries: {}", t.op, t.max_entries, t.source));
    const int out_frac = t.out_frac >= 0 ? t.out_frac : 4;
    ASSERT_EQ(accuracy_target(t.op, t.max_entries, out_frac), &t);
    const auto check = [&](const OpErrorStats& st, const std::string& what) {
      SCOPED_TRACE(fmt::format("{}, n = {}: max {:.4f} mean {:.4f} LSB", what, st.n, st.max_err_lsb, st.mean_err_lsb));
      EXPECT_GT(st.points, 0u);
      EXPECT_LE(st.max_err_lsb, t.max_lsb);
      if (t.mean_lsb >= 0) {
        EXPECT_LE(st.mean_err_lsb, t.mean_lsb);
      }
    };
    const size_t rows = 12;
    if (t.op == "softmax") {
      for (const TableRecipe* er : recipes_of("exp2m1"))
        for (const TableRecipe* dr : recipes_of("div")) {
          const TableSet e = fit_recipe(*er, t.max_entries), d = fit_recipe(*dr, t.max_entries);
          const SoftmaxPlan p4 = prepare_softmax(e, d, 4, out_frac), p10 = prepare_softmax(e, d, 10, out_frac);
          for (size_t n : {size_t{197}, size_t{768}, size_t{3072}}) {
            const std::string what = fmt::format("{} + {}", er->name, dr->name);
            check(measure_softmax(p4, normal_logit_rows(n, rows, 1000 + n), false), what + " normal");
            check(measure_softmax(p4, peaked_logit_rows(n, rows, 2000 + n), false), what + " peaked");
            check(measure_softmax(p10, normal_logit_rows(n, rows, 3000 + n), true), what + " int32");
          }
        }
    } else {
      ASSERT_EQ(t.op, "layernorm");
      for (const TableRecipe* rr : recipes_of("rsqrt")) {
        const LayerNormPlan p = prepare_layernorm(fit_recipe(*rr, t.max_entries), 4, out_frac);
        for (size_t n : {size_t{197}, size_t{768}, size_t{3072}})
          check(measure_layernorm(p, layernorm_rows(n, rows, 4000 + n), 7), rr->name);
      }
    }
  }
}
