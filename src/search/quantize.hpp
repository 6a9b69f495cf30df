// Internal to gqalut::search: turning a real-valued table into per-scale
// integer tables the way the official trainer exports them.
#pragma once

#include <string>
#include <vector>

#include "gqalut/table.hpp"

namespace gqalut::detail {

// One table per scale from real breakpoints and coefficients: breakpoints
// rounded half to even to each scale's grid 2^-n, the same coefficient codes
// (rounded half to even to fk / fb) at every scale. Codes that leave their
// declared width widen it (up to 16 bits, noted in *note) and are never
// wrapped or clipped, so such tables stay measurable; `who` names the method
// in errors. Each real breakpoint goes straight to each grid, as the official
// export does (search_scales' shared mode rounds finest-grid codes instead:
// round(round(b 2^m) 2^(n-m)) can differ from round(b 2^n)); the tables are
// built by the driver's put_table.
TableSet quantize_shared(const std::vector<double>& breakpoints, const std::vector<double>& slopes,
                         const std::vector<double>& intercepts, Format fk, Format fb,
                         const std::vector<int>& scales, const char* who, std::string* note);

}  // namespace gqalut::detail
