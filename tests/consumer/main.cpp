// Fits the exact 4-entry GELU table at scale 2^-4 and checks its error is small,
// then applies it through the installed kernel and activation API (opaque plans:
// only the public headers, no internal layout).
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include <gqalut/intops.hpp>
#include <gqalut/kernels.hpp>
#include <gqalut/search.hpp>

int main() {
  gqalut::Problem p = gqalut::Problem::make(gqalut::find_function("gelu"), 4);
  p.scales = {4};
  gqalut::Result r = gqalut::Optimal().run(p);
  std::printf("consumer: gelu 4 entries at 2^-4, P-int MSE %.3e\n", r.errors.paper_score);
  if (!(r.errors.paper_score < 1e-3)) return 1;

  const gqalut::Table& t = r.tables.at(4);
  const gqalut::RequantPlan rq = gqalut::prepare_requant(t, 5);
  const gqalut::ActivationPlan act = gqalut::prepare_activation(r.tables, 4, 5);
  std::vector<int8_t> in(256), a(256), b(256);
  for (int q = -128; q < 128; ++q) in[q + 128] = static_cast<int8_t>(q);
  const char* kernel = gqalut::apply(rq, in.data(), a.data(), in.size());
  gqalut::activation(act, in.data(), b.data(), in.size());
  for (int i = 0; i < 256; ++i)
    if (a[i] != b[i] || a[i] != gqalut::requantize_s8(gqalut::eval_acc(t, in[i]), rq.pwl().shift(), 5)) return 1;
  std::printf("consumer: %s, %d segments, L = %d\n", kernel, rq.pwl().segments(), rq.pwl().shift());
  try {
    gqalut::apply(gqalut::RequantPlan(), in.data(), a.data(), in.size());
    return 1;  // an empty plan must be refused
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
