// gqalut: the error report of a table set, one definition for every front end
// (`gqalut eval`, the Python package): which function and range a set is
// measured against, which tie rule, and the JSON object `gqalut eval --json`
// documents (docs/cli.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gqalut/function.hpp"
#include "gqalut/metrics.hpp"
#include "gqalut/table.hpp"

namespace gqalut {

// The function a set is measured against when the caller gives none: the
// expression the set records (on the set's range), else its built-in function.
// `hint` ends the error for an unknown function, saying how the caller's
// interface names one (e.g. "give --func NAME or --expr \"...\" --range LO HI").
Function recorded_function(const TableSet& set, const std::string& hint);

// The range a set is measured on: `range` if given ({lo, hi}), else the set's
// recorded range, else the function's default; checks fn is finite on it.
// Throws std::invalid_argument for a range that is not two numbers.
void measured_range(const TableSet& set, const Function& fn, const std::vector<double>& range, double* lo,
                    double* hi);

// The tie rule a set is measured with. One meaning per file: a set that records
// its rule is measured with it; `asked` chooses only for a set that records none
// (official files; right = as trained when not asked). Asking a recording set
// for the other rule throws "<option> applies to files that do not record a tie
// rule (official files); <what> records tie rule R".
TieRule measured_tie(const TableSet& set, std::optional<TieRule> asked, const std::string& option,
                     const std::string& what);

// What a tie rule means for an official file ("as trained (...)" / "as deployed in the official op (...)").
const char* tie_meaning(TieRule rule);

// The report `gqalut eval --json` prints, keys in the documented order:
// function, entries, protocol, scales [{n, points, mse, max_abs_error}],
// paper_score, tie_rule, tie_recorded, other_tie_rule (sets that record no rule:
// the other rule's scales and paper score), range, int8, slope_format,
// intercept_format. `scales` empty = every scale of the set; an unknown scale throws.
nlohmann::ordered_json error_report_json(const TableSet& set, const Function& fn, double lo, double hi,
                                         Protocol protocol, const std::vector<int>& scales, TieRule tie);

}  // namespace gqalut
