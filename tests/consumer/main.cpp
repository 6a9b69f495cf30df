// Fits the exact 4-entry GELU table at scale 2^-4 and checks its error is small.
#include <cstdio>

#include <gqalut/search.hpp>

int main() {
  gqalut::Problem p = gqalut::Problem::make(gqalut::find_function("gelu"), 4);
  p.scales = {4};
  gqalut::Result r = gqalut::Optimal().run(p);
  std::printf("consumer: gelu 4 entries at 2^-4, P-int MSE %.3e\n", r.errors.paper_score);
  return r.errors.paper_score < 1e-3 ? 0 : 1;
}
