// gqalut hardware layer, internal: the verdict of a row unit (softmax, LayerNorm) from its two
// testbenches (gqalut/hw/softmax_unit.hpp UnitTestbench: every stage input, then rows).
#pragma once

#include <fmt/format.h>

#include "gqalut/hw/sim.hpp"
#include "gqalut/hw/softmax_unit.hpp"

namespace gqalut::hw::detail {

// Both testbenches of the unit (every stage input exhaustively, then rows), as one verdict.
inline SimResult run_stages_and_rows(const VerilogUnit& unit, const UnitTestbench& stages, const UnitTestbench& rows,
                   const SimOptions& so) {
  SimOptions a = so, b = so;
  if (!so.work_dir.empty()) a.work_dir += "/stages", b.work_dir += "/rows";
  a.data_files.insert(a.data_files.end(), stages.data_files.begin(), stages.data_files.end());
  SimResult s = simulate(unit, stages.tb, a);
  if (!s.passed()) return s;
  b.data_files.insert(b.data_files.end(), rows.data_files.begin(), rows.data_files.end());
  SimResult r = simulate(unit, rows.tb, b);
  if (r.passed()) {
    const long long rows_checks = r.checks;
    r.checks += s.checks;
    r.log = fmt::format("PASS: {} checks (stage testbench {}, row testbench {})\n--- stages ---\n{}--- rows ---\n{}",
                        r.checks, s.checks, rows_checks, s.log, r.log);
  }
  return r;
}

}  // namespace gqalut::hw::detail
