// GQALUT_ISA forces the process-wide ISA (read once, at the first use);
// set_default_isa() (gqalut --isa) overrides it; an explicit argument wins.
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gqalut/kernels.hpp"

using namespace gqalut;

namespace {
Table identity() {
  Table t;
  t.n = 0;
  t.breakpoints = {0};
  t.slopes = {1, 1};
  t.intercepts = {0, 0};
  return t;
}
}  // namespace

TEST(IsaEnvironment, ForcesScalarThenSetDefaultOverrides) {
  ::setenv("GQALUT_ISA", "scalar", 1);
  EXPECT_EQ(default_isa(), Isa::scalar);
  const PwlPlan p = prepare_pwl(identity(), 8);
  std::vector<int8_t> in(300, 5);
  std::vector<int32_t> out(300);
  EXPECT_STREQ(apply(p, in.data(), out.data(), in.size()), "s8_pwl_s32__scalar");
  // An explicit argument still overrides the environment.
  const std::string best = apply(p, in.data(), out.data(), in.size(), best_isa());
  EXPECT_NE(best.find(std::string("__") + to_string(best_isa())), std::string::npos) << best;
  // set_default_isa (the CLI's --isa) overrides GQALUT_ISA; automatic restores it.
  set_default_isa(best_isa());
  EXPECT_EQ(default_isa(), best_isa());
  EXPECT_EQ(apply(p, in.data(), out.data(), in.size()), best);
  set_default_isa(Isa::automatic);
  EXPECT_EQ(default_isa(), Isa::scalar);
  for (Isa isa : {Isa::avx2, Isa::avx512}) {
    if (!isa_supported(isa)) {
      EXPECT_THROW(set_default_isa(isa), std::invalid_argument);
    }
  }
  for (int v : out) EXPECT_EQ(v, 5);
}
