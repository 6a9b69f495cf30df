// The hardware report (gqalut/hw/report.hpp).
#include "gqalut/hw/report.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

#include <cstdio>

#include "gqalut/atomic_file.hpp"
#include "gqalut/export.hpp"
#include "gqalut/hw/pwl_unit.hpp"
#include "gqalut/io.hpp"
#include "parallel.hpp"

namespace gqalut::hw {

std::vector<ReportItem> pwl_report_items(const std::vector<std::string>& tables, int baked_scale,
                                         const std::string& rtl_dir) {
  if (tables.empty()) throw std::invalid_argument("the PWL report needs at least one table file (--table FILE)");
  std::vector<ReportItem> items;
  for (const auto& file : tables) {
    const TableSet set = read_json_file(file);
    ExportOptions o;
    o.scale = baked_scale;
    const int n = verilog_scale(set, o);
    std::string fn = set.function.empty() ? "table" : set.function;
    for (char& c : fn) c = char(std::toupper(static_cast<unsigned char>(c)));
    const int K = set.entries();
    const std::string group = fmt::format("K={}", K);
    UnitRequest r;
    r.table = file;
    r.scale = baked_scale;
    r.entries = K;
    r.rtl_dir = rtl_dir;
    r.name = fmt::format("int8_baked_k{}", K);
    items.push_back({fmt::format("INT8 baked {} (n={})", fn, n), "pwl", r, group});
    r.programmable = true;
    r.name = fmt::format("int8_prog_k{}", K);
    items.push_back({"INT8 programmable", "pwl", r, group});
    r.name.clear();
    items.push_back({"INT32 programmable", "lut-int32", r, group});
    items.push_back({"FP32 programmable", "lut-fp32", r, group});
  }
  return items;
}

std::vector<ReportItem> ops_report_items(const std::vector<int>& entries, const std::vector<int>& lanes, int max_n,
                                         const std::string& rtl_dir, std::vector<std::string>* missing, bool restream) {
  auto has = [&](const std::string& kind) {
    for (const auto& k : unit_kinds())
      if (kind == k.name) return true;
    if (missing && std::find(missing->begin(), missing->end(), kind) == missing->end()) missing->push_back(kind);
    return false;
  };
  std::vector<ReportItem> items;
  for (const char* op : {"softmax", "layernorm"}) {
    for (int L : lanes) {
      const std::string lane_text = fmt::format("{} lane{}", L, L == 1 ? "" : "s");
      UnitRequest r;
      r.lanes = L;
      r.max_n = max_n;
      r.rtl_dir = rtl_dir;
      r.restream = restream;
      const char* rs = restream ? " re-streamed" : "";
      if (has(op))
        for (int K : entries)
          for (bool prog : {false, true}) {
            r.entries = K;
            r.programmable = prog;
            items.push_back(
                {fmt::format("{} K={} {} {}{}", op, K, lane_text, prog ? "programmable" : "baked", rs), op, r, op});
          }
      // The references at 1 lane, and at more lanes those that have lanes (the others compare with
      // units of more lanes per element per cycle).
      std::vector<int> ref_lanes;
      if (L == lanes.front()) ref_lanes.push_back(1);
      if (L > 1) ref_lanes.push_back(L);
      for (int RL : ref_lanes)
        for (ReportItem& ref : reference_report_items(op, max_n, rtl_dir, restream, RL))
          if (has(ref.kind)) items.push_back(std::move(ref));
    }
  }
  return items;
}

std::vector<ReportItem> reference_report_items(const std::string& op, int max_n, const std::string& rtl_dir,
                                               bool restream, int lanes) {
  UnitRequest r;
  r.max_n = max_n;
  r.rtl_dir = rtl_dir;
  r.restream = restream;
  r.lanes = lanes;
  std::vector<ReportItem> items;
  for (const char* ref : {"fp32", "ibert"}) {
    const std::string kind = fmt::format("{}-{}", op, ref);
    if (lanes > 1) {
      const UnitKind* k = nullptr;
      for (const auto& u : unit_kinds())
        if (kind == u.name) k = &u;
      if (!k || std::string(k->options).find("lanes") == std::string::npos) continue;
    }
    items.push_back({fmt::format("{} {} {} lane{}{}", op, ref == std::string("fp32") ? "FP32" : "I-BERT-style", lanes,
                                 lanes == 1 ? "" : "s", restream ? " re-streamed" : ""),
                     kind, r, op});
  }
  return items;
}

std::vector<ReportRow> run_report(const std::vector<ReportItem>& items, const SynthFlow& flow, int jobs, bool errors,
                                  const std::function<void(int, int, const std::string&)>& tick) {
  std::vector<ReportRow> rows(items.size());
  std::vector<BuiltUnit> built(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    rows[i].item = items[i];
    built[i] = build_unit(items[i].kind, items[i].request);
    rows[i].description = built[i].description;
    rows[i].elements_per_cycle = built[i].elements_per_cycle;
  }
  std::mutex m;
  int done = 0;
  const int total = int(items.size()) * (errors ? 2 : 1);
  auto step = [&](const std::string& what) {
    std::lock_guard<std::mutex> l(m);
    ++done;
    if (tick) tick(done, total, what);
  };
  std::vector<std::function<void()>> tasks;
  // The references first (the biggest designs), so the small units fill the gaps.
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    auto ref = [&](size_t i) { return items[i].kind.find('-') != std::string::npos; };
    return ref(a) && !ref(b);
  });
  for (size_t i : order) {
    tasks.push_back([&, i] {
      rows[i].synth = flow.synth(design_of(built[i].unit, built[i].chparam));
      step("yosys " + items[i].label);
    });
    if (errors && built[i].error)
      tasks.push_back([&, i] {
        rows[i].error = built[i].error();
        step("error " + items[i].label);
      });
    else if (errors)
      step("(no error measurement) " + items[i].label);
  }
  detail::run_parallel(tasks, std::max(1, jobs));
  return rows;
}

const ReportRow* cheapest_within(const std::vector<ReportRow>& rows, double budget_lsb) {
  const ReportRow* best = nullptr;
  for (const auto& r : rows) {
    if (!r.error || r.error->max_lsb > budget_lsb) continue;
    if (!best || r.synth.area_um2 < best->synth.area_um2) best = &r;
  }
  return best;
}

void write_gnuplot_png(const std::string& file, const std::string& script) {
  AtomicFile png(file, "plot");
  png.close();
  std::string quoted;  // a gnuplot single-quoted string doubles its quotes
  for (char ch : png.temp_path()) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
  const std::string gp = "set output '" + quoted + "'\n" + script;
  FILE* g = popen("gnuplot", "w");
  if (!g) throw std::invalid_argument("--plot needs gnuplot (apt-get install gnuplot-nox)");
  std::fwrite(gp.data(), 1, gp.size(), g);
  if (pclose(g) != 0) throw std::invalid_argument("gnuplot failed: is gnuplot-nox installed?");
  png.commit();
}

}  // namespace gqalut::hw
