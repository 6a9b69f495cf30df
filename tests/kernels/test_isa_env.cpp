// GQALUT_ISA forces the process-wide ISA (read once, at the first use).
#include <cstdlib>

#include <gtest/gtest.h>

#include "gqalut/kernels.hpp"

using namespace gqalut;

TEST(IsaEnvironment, ForcesScalar) {
  ::setenv("GQALUT_ISA", "scalar", 1);
  EXPECT_EQ(default_isa(), Isa::scalar);
  EXPECT_EQ(kernel_set().isa, Isa::scalar);
  EXPECT_STREQ(kernel_set().names[0], "s8_pwl_s32__scalar");
  // An explicit argument still overrides the environment.
  EXPECT_EQ(kernel_set(best_isa()).isa, best_isa());
}
