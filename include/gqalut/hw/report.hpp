// gqalut hardware layer: the hardware report (issue 16, point 5) — a list of units from the
// registry, each synthesised with SynthFlow (area, cells, flip-flops, critical path, power at
// 100 MHz) beside its throughput and measured error, with the cheapest unit that meets an error
// budget. `gqalut hw report` prints it; scripts/hw_report.sh calls that.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "gqalut/hw/registry.hpp"
#include "gqalut/hw/synth.hpp"

namespace gqalut::hw {

struct ReportItem {
  std::string label;  // e.g. "softmax K=8 1 lane baked"
  std::string kind;   // a registry kind
  UnitRequest request;
  std::string group;  // rows compared with each other (e.g. "softmax"); references share it
};

struct ReportRow {
  ReportItem item;
  std::string description;
  double elements_per_cycle = 1;
  SynthResult synth;
  std::optional<UnitError> error;  // measured when the kind has a measurement and it was asked for
  // Area per element per cycle (um^2): area / elements_per_cycle.
  double area_per_throughput() const { return synth.area_um2 / elements_per_cycle; }
};

// The PWL set (docs/hw_area.md): for each table file (e.g. the official GELU tables of 8 and 16
// entries), the INT8 baked unit at `baked_scale` (-1: the largest), the INT8 programmable unit,
// and the INT32 and FP32 programmable references of the same entry count; all with their output
// register. Group: "K=<entries>".
std::vector<ReportItem> pwl_report_items(const std::vector<std::string>& tables, int baked_scale,
                                         const std::string& rtl_dir);

// The softmax / LayerNorm set: for each of the two operations, the registered integer unit at
// `entries` x `lanes` x {baked, programmable}, and its FP32 and I-BERT-style references at the
// same lanes. Kinds that are not registered in this build are left out and named in `missing`.
// With `restream` every unit (ours and the references) is the re-streamed one (no row buffer; the
// source sends each row once per pass) and its label ends in " re-streamed".
std::vector<ReportItem> ops_report_items(const std::vector<int>& entries, const std::vector<int>& lanes,
                                         int max_n, const std::string& rtl_dir, std::vector<std::string>* missing,
                                         bool restream = false);

// The FP32 and I-BERT-style reference units of `op` ("softmax" or "layernorm"): rows of max_n (0:
// the kind's default), in group `op`; the kinds "<op>-fp32" and "<op>-ibert", at `lanes` elements
// per beat (lanes > 1: only the kinds whose registry options name lanes).
std::vector<ReportItem> reference_report_items(const std::string& op, int max_n, const std::string& rtl_dir,
                                               bool restream = false, int lanes = 1);

// Builds and synthesises every item (jobs threads; the biggest first), and measures the error of
// those that have a measurement when `errors`. `tick(done, total, what)` reports progress.
std::vector<ReportRow> run_report(const std::vector<ReportItem>& items, const SynthFlow& flow, int jobs, bool errors,
                                  const std::function<void(int, int, const std::string&)>& tick = {});

// The smallest-area row with a measured max error <= budget_lsb (nullptr if none).
const ReportRow* cheapest_within(const std::vector<ReportRow>& rows, double budget_lsb);

}  // namespace gqalut::hw

namespace gqalut::hw {

// Runs gnuplot on `script` (the plot commands; the output line is added here) to write the PNG
// `file` atomically: drawn into a temporary file beside it, renamed over it only when gnuplot
// succeeds. Throws std::invalid_argument if gnuplot is missing or fails.
void write_gnuplot_png(const std::string& file, const std::string& script);

}  // namespace gqalut::hw
