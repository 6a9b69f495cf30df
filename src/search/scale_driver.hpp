// Internal to gqalut::search: the per-scale / shared structure every table
// search has, in one place (issue 11). A method supplies only its core search
// of one view of the problem; the driver makes the views and assembles the
// tables:
//
//   per scale: for each scale n (with or without points):
//                view = {that scale's points, weight 1, breakpoint grid 2^-n}
//                table n <- search(view)
//   shared:    view = {every scale with points, weight 1/N_n, grid 2^-m, m = finest}
//              (breakpoints B, lines) <- search(view)
//              table n <- (B rounded half to even to 2^-n, the same lines), every n
//
// The weights make the weighted sum of squared errors over a shared view the
// sum of the per-scale MSEs, so dividing by ScaleView::norm gives the mean MSE.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "gqalut/search.hpp"

namespace gqalut::detail {

struct ScaleView {
  bool shared = false;
  int m = 0;                               // breakpoint codes are on the grid 2^-m
  TieRule tie = TieRule::right;
  std::vector<const ScalePoints*> scales;  // the scored scales: per scale 0 or 1, shared >= 1
  std::vector<double> weight;              // per scored scale: 1, or 1/N_n when shared
  double norm = 1;                         // points (per scale) or scored scales (shared)
  int index = 0, count = 1;                // this view's place among the run's views

  bool empty() const { return scales.empty(); }
  // The scale n of a per-scale view (its grid).
  int n() const { return m; }
  // A code of the grid 2^-m read at scored scale s: rounded half to even.
  int64_t code_at(int64_t code, std::size_t s) const;
  // Points of scored scale s left of a breakpoint with this code (grid 2^-m):
  // q < P under the right rule, q <= P under the left one; an index into q.
  int32_t left_of(int64_t code, std::size_t s) const;
  // The run's progress fraction when this view is `local` (0..1) done.
  double progress(double local) const { return (index + local) / count; }
};

// What a search returns for a view: K-1 breakpoint codes on the view's grid
// (sorted) and K lines as integer codes.
struct ViewTable {
  std::vector<int64_t> breakpoints;
  std::vector<int32_t> slopes, intercepts;
};

using ViewSearch = std::function<ViewTable(const ScaleView&)>;

// Runs `search` once per scale of p (p.shared false; a scale without points
// gets an empty view and any breakpoints the search picks) or once for all
// scales (p.shared), and returns one validated table per scale in `formats`.
TableSet search_scales(const Problem& p, CodeFormats formats, const ViewSearch& search);

// The table of scale n from its codes (breakpoints on the grid 2^-n),
// validated, into set.tables[n]: the one place a search builds a Table.
void put_table(TableSet& set, int n, CodeFormats formats, const std::vector<int64_t>& breakpoints,
               std::vector<int32_t> slopes, std::vector<int32_t> intercepts);

// Real breakpoints on the grid 2^-n, each rounded half to even.
std::vector<int64_t> codes_on_grid(const std::vector<double>& breakpoints, int n);

// Codes of the grid 2^-m on the grid 2^-n (n <= m), rounded half to even.
std::vector<int64_t> round_codes(const std::vector<int64_t>& codes, int m, int n);

}  // namespace gqalut::detail
