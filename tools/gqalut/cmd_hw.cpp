// gqalut hw: the hardware layer from the command line (issue 16) — list the unit generators,
// generate a unit's Verilog, simulate it against its scalar reference (and lint it), synthesise it
// (area, cells, flip-flops, critical path, power at 100 MHz), and the report of a set of units.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <chrono>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "gqalut/atomic_file.hpp"
#include "gqalut/hw/registry.hpp"
#include "gqalut/hw/report.hpp"
#include "gqalut/hw/sim.hpp"
#include "gqalut/hw/synth.hpp"

namespace gqalut::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct UnitArgs {
  std::string kind;
  hw::UnitRequest req;
  bool comb = false;  // --combinational: no output register
};

void add_unit_options(CLI::App& cmd, UnitArgs& u) {
  std::string kinds;
  for (const auto& k : hw::unit_kinds()) kinds += (kinds.empty() ? "" : ", ") + std::string(k.name);
  cmd.add_option("kind", u.kind, "Unit kind: " + kinds + " (gqalut hw list)")->required();
  cmd.add_option("--table", u.req.table, "PWL: the table file (JSON, e.g. from gqalut fit)");
  cmd.add_option("--entries", u.req.entries, "Table entries K")->check(int_in(2, 64))->capture_default_str();
  cmd.add_option("--lanes", u.req.lanes, "Elements per cycle of a row unit")->check(int_in(1, 64))->capture_default_str();
  cmd.add_option("--max-n", u.req.max_n, "Longest row of a row unit (0: the kind's default)")->check(int_in(0, 1 << 20));
  cmd.add_flag("--programmable", u.req.programmable, "Run-time loadable tables (else baked constants)");
  cmd.add_flag("--restream", u.req.restream,
               "Row units: no row buffer; the source sends each row once per pass (softmax 3, LayerNorm 2)");
  cmd.add_flag("--combinational", u.comb, "No output register (PWL and reference LUTs)");
  cmd.add_option("--scale", u.req.scale, "PWL baked: the scale n (default: the table's largest)")
      ->check(int_in(0, Table::kMaxScale));
  cmd.add_option("--name", u.req.name, "PWL: module name");
  cmd.add_option("--rtl-dir", u.req.rtl_dir,
                 "Folder of the hand-written units (default: GQALUT_RTL_DIR, the installed share/gqalut/rtl, the "
                 "source tree's rtl/)");
  cmd.add_option("--seed", u.req.seed, "Seed of the random checks")->check(seed_value())->capture_default_str();
  cmd.add_flag("--full", u.req.full, "simulate: every check of the kind (default: its reduced set)");
}

hw::BuiltUnit build(const UnitArgs& u) {
  hw::UnitRequest r = u.req;
  r.output_register = !u.comb;
  return hw::build_unit(u.kind, r);
}

struct FlowArgs {
  std::string cache_dir, liberty, timing = "auto";
  bool no_fetch = false, buffer_nets = false;
};

void add_flow_options(CLI::App& cmd, FlowArgs& f) {
  cmd.add_option("--cache-dir", f.cache_dir, "Cache of synthesis results (default ~/.cache/gqalut)");
  cmd.add_option("--liberty", f.liberty, "Liberty file (default: OSU 0.18 um, fetched into the cache)");
  cmd.add_option("--timing", f.timing, "Critical path: auto (OpenSTA if found) | opensta (required) | abc")
      ->capture_default_str();
  cmd.add_flag("--no-fetch", f.no_fetch, "Never run apt-get download for the Liberty file");
  cmd.add_flag("--buffer-nets", f.buffer_nets,
               "Timing-driven mapping: buffer trees on high-fanout nets and gate sizing against the 10 ns clock\n"
               "(what makes the critical path and power of row-buffered units meaningful; a few % more area)");
}

// The flow, or one line saying why there is none (exit 2): these commands exist to synthesise.
hw::SynthFlow flow_of(const FlowArgs& f) {
  if (f.timing != "auto" && f.timing != "opensta" && f.timing != "abc")
    throw std::invalid_argument(fmt::format("--timing must be auto, opensta or abc, got '{}'", f.timing));
  const auto t = f.timing == "opensta" ? hw::TimingChoice::opensta
                 : f.timing == "abc"   ? hw::TimingChoice::abc
                                       : hw::TimingChoice::automatic;
  hw::SynthFlow flow = hw::SynthFlow::find(f.cache_dir.empty() ? hw::default_cache_dir() : f.cache_dir, f.liberty,
                                           !f.no_fetch, t);
  if (t == hw::TimingChoice::opensta && !flow.timing_note().empty())
    throw std::invalid_argument("--timing opensta: " + flow.timing_note());
  if (!flow.available()) throw std::invalid_argument("synthesis is not available: " + flow.why());
  flow.set_buffering(f.buffer_nets);
  if (!flow.timing_note().empty())
    fmt::print(stderr, "gqalut: note: critical paths are ABC's estimate and there is no power figure: {}\n",
               flow.timing_note());
  return flow;
}

json synth_json(const hw::SynthResult& r) {
  json j = {{"area_um2", r.area_um2},     {"cells", r.cells},   {"flip_flops", r.flip_flops},
            {"critical_path_ns", r.critical_path_ns}, {"timing", r.timing}, {"abc_estimate_ns", r.abc_estimate_ns}};
  j["power_mw"] = r.power_mw >= 0 ? json(r.power_mw) : json(nullptr);
  return j;
}

json error_json(const hw::UnitError& e) { return {{"max_lsb", e.max_lsb}, {"mean_lsb", e.mean_lsb}, {"on", e.on}}; }

// A report row as JSON: what it is, its throughput, synthesis and (if measured) error.
json row_json(const hw::ReportRow& r) {
  json j = {{"label", r.item.label}, {"kind", r.item.kind}, {"description", r.description},
            {"entries", r.item.request.entries}, {"lanes", r.item.request.lanes},
            {"programmable", r.item.request.programmable}, {"restream", r.item.request.restream},
            {"elements_per_cycle", r.elements_per_cycle},
            {"area_per_element_per_cycle_um2", r.area_per_throughput()}, {"synthesis", synth_json(r.synth)}};
  if (r.error) j["error"] = error_json(*r.error);
  return j;
}

// ------------------------------------------------------------------ list
void run_list(bool as_json) {
  json j = json::array();
  for (const auto& k : hw::unit_kinds()) {
    if (as_json)
      j.push_back({{"kind", k.name}, {"summary", k.summary}, {"options", k.options}});
    else
      fmt::print("{:<16} {}\n{:<16} options: {}\n", k.name, k.summary, "", k.options);
  }
  if (as_json) std::cout << j.dump(2) << "\n";
}

// ------------------------------------------------------------------ generate
struct GenerateArgs {
  UnitArgs u;
  std::string out_dir = ".";
  bool as_json = false;
};

void check_output_dir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw std::invalid_argument(fmt::format("--output-dir {}: not a folder", dir));
}

// Writes the unit's files into `dir` (checked first, each written atomically); their paths.
json write_unit_files(const hw::BuiltUnit& b, const std::string& dir, const char* what) {
  for (const auto& f : b.unit.files) check_output((fs::path(dir) / f.first).string(), what);
  json files = json::array();
  for (const auto& [name, text] : b.unit.files) {
    const std::string p = (fs::path(dir) / name).string();
    gqalut::write_file_atomic(p, text, what);
    files.push_back(p);
  }
  return files;
}

void run_generate(const GenerateArgs& a) {
  check_output_dir(a.out_dir);
  const hw::BuiltUnit b = build(a.u);
  const json files = write_unit_files(b, a.out_dir, "generate");
  if (a.as_json) {
    std::cout << json{{"kind", b.kind}, {"description", b.description}, {"top", b.unit.top}, {"files", files},
                      {"chparam", b.chparam}, {"elements_per_cycle", b.elements_per_cycle}}
                     .dump(2)
              << "\n";
    return;
  }
  fmt::print("{}: {}\ntop module {}{}\n", b.kind, b.description, b.unit.top,
             b.chparam.empty() ? "" : fmt::format(" (parameters: {})", b.chparam));
  for (const auto& f : files) fmt::print("  {}\n", f.get<std::string>());
}

// ------------------------------------------------------------------ simulate
struct SimulateArgs {
  UnitArgs u;
  std::string work_dir;
  double timeout_s = 600;
  bool no_lint = false, as_json = false;
};

// Verilator lint (unless no_lint) and the unit's own testbench under iverilog.
struct Verdict {
  hw::LintResult lint;
  hw::SimResult sim;
  double seconds = 0;
  bool linted = false;
  bool ok() const { return sim.passed() && (!linted || lint.clean()); }
  std::string failure(const std::string& kind) const {
    return fmt::format("{} {}", kind, !sim.passed() ? "failed its testbench: " + sim.summary()
                                                    : "is not lint-clean: " + lint.summary());
  }
};

Verdict lint_and_simulate(const hw::BuiltUnit& b, const std::string& work_dir, double timeout_s, bool no_lint) {
  Verdict v;
  if (!no_lint) {
    hw::LintOptions lo;
    lo.flags = b.lint_flags;
    lo.work_dir = work_dir.empty() ? "" : (fs::path(work_dir) / "lint").string();
    v.lint = hw::lint(b.unit, lo);
    v.linted = true;
  }
  hw::SimOptions so;
  so.work_dir = work_dir;
  so.timeout_s = timeout_s;
  const auto t0 = std::chrono::steady_clock::now();
  v.sim = b.simulate(so);
  v.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return v;
}

void run_simulate(const SimulateArgs& a) {
  const hw::BuiltUnit b = build(a.u);
  const Verdict v = lint_and_simulate(b, a.work_dir, a.timeout_s, a.no_lint);
  const hw::LintResult& l = v.lint;
  const hw::SimResult& s = v.sim;
  const double secs = v.seconds;
  const bool ok = v.ok();
  if (a.as_json) {
    json j = {{"kind", b.kind},          {"description", b.description}, {"top", b.unit.top},
              {"passed", s.passed()},    {"checks", s.checks},           {"summary", s.summary()},
              {"seconds", secs},         {"work_dir", s.work_dir}};
    if (!a.no_lint) j["lint"] = {{"clean", l.clean()}, {"summary", l.summary()}};
    std::cout << j.dump(2) << "\n";
  } else {
    fmt::print("{}: {}\n", b.kind, b.description);
    if (!a.no_lint) fmt::print("lint (verilator --lint-only -Wall): {}\n", l.summary());
    fmt::print("simulation (iverilog -g2005 + vvp, {:.1f} s): {}\n", secs, s.summary());
    if (!s.work_dir.empty()) fmt::print("work folder: {}\n", s.work_dir);
  }
  if (!ok) {
    std::cerr << "gqalut: hw simulate: " << v.failure(b.kind) << "\n";
    std::exit(1);
  }
}

// ------------------------------------------------------------------ synthesize
struct SynthesizeArgs {
  UnitArgs u;
  FlowArgs f;
  bool as_json = false;
};

void run_synthesize(const SynthesizeArgs& a) {
  const hw::BuiltUnit b = build(a.u);
  const hw::SynthFlow flow = flow_of(a.f);
  const hw::SynthResult r = flow.synth(hw::design_of(b.unit, b.chparam));
  if (a.as_json) {
    json j = {{"kind", b.kind}, {"description", b.description}, {"top", b.unit.top},
              {"elements_per_cycle", b.elements_per_cycle}, {"liberty", flow.liberty()},
              {"timing_tool", flow.timing_tool()}, {"clock_ns", hw::SynthFlow::kClockNs},
              {"buffer_nets", flow.buffering()}};
    j["synthesis"] = synth_json(r);
    j["area_per_element_per_cycle_um2"] = r.area_um2 / b.elements_per_cycle;
    std::cout << j.dump(2) << "\n";
    return;
  }
  fmt::print("{}: {}\n", b.kind, b.description);
  fmt::print("yosys + {} ({}), timing {}:\n", fs::path(flow.liberty()).filename().string(), flow.timing_tool(),
             flow.timing());
  fmt::print("  area {:.0f} um^2, {} cells, {} flip-flops, critical path {:.2f} ns, power {} at 100 MHz{}\n",
             r.area_um2, r.cells, r.flip_flops, r.critical_path_ns,
             r.power_mw >= 0 ? fmt::format("{:.3f} mW", r.power_mw) : std::string("n/a"), r.cached ? " (cached)" : "");
  fmt::print("  {} element(s) per cycle: {:.0f} um^2 per element/cycle\n", b.elements_per_cycle,
             r.area_um2 / b.elements_per_cycle);
}

// ------------------------------------------------------------------ report
struct ReportArgs {
  std::string set = "ops";
  std::vector<std::string> tables;
  std::string entries = "8,16", lanes = "1,4";
  int max_n = 0, baked_scale = -1, jobs = 1;
  std::optional<double> budget;
  std::string csv, markdown, plot, rtl_dir;
  FlowArgs f;
  bool as_json = false, no_error = false, restream = false;
};

std::vector<int> int_list(const std::string& option, const std::string& text, long long lo, long long hi) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ','))
    out.push_back(int(parse_int(part, lo, hi, option)));
  if (out.empty()) throw std::invalid_argument(fmt::format("{} must be a list like 8,16, got '{}'", option, text));
  return out;
}

std::string num_or(double v, const char* f, bool have) { return have ? fmt::format(fmt::runtime(f), v) : ""; }

void write_report_plot(const std::string& file, const std::vector<hw::ReportRow>& rows) {
  std::string gp =
      "set terminal pngcairo size 1000,650 font ',10'\nset grid\nset logscale x\n"
      "set xlabel 'area (um^2, yosys + OSU 0.18 um)'\nset ylabel 'max error (output LSB)'\n"
      "set key outside right top\nset title 'softmax and LayerNorm units: max error against area (labels: entries/lanes/baked|programmable)' noenhanced\n";
  std::map<std::string, std::string> series;  // title -> points
  std::string labels;
  for (const auto& r : rows) {
    if (!r.error) continue;
    const bool ref = r.item.kind.find('-') != std::string::npos;
    const std::string title = r.item.group + (ref ? " references" : " units");
    series[title] += fmt::format("{} {}\n", r.synth.area_um2, r.error->max_lsb);
    const std::string label =
        ref ? (r.item.kind.find("fp32") != std::string::npos ? "FP32" : "I-BERT")
            : fmt::format("{}/{}/{}", r.item.request.entries, r.item.request.lanes, r.item.request.programmable ? "p" : "b");
    labels += fmt::format("{} {} \"{}\"\n", r.synth.area_um2, r.error->max_lsb, label);
  }
  if (series.empty()) throw std::invalid_argument("--plot: no unit has a measured error to plot");
  std::string cmd = "plot ", data;
  const char* styles[] = {"pt 7 lc rgb '#08519c'", "pt 5 lc rgb '#d94801'", "pt 9 lc rgb '#31a354'",
                          "pt 11 lc rgb '#756bb1'"};
  size_t i = 0;
  for (const auto& [title, pts] : series) {
    cmd += fmt::format("'-' with points {} ps 1.2 title '{}', ", styles[i++ % 4], title);
    data += pts + "e\n";
  }
  cmd += "'-' with labels offset 0.5,0.6 left font ',7' noenhanced notitle\n";
  data += labels + "e\n";
  hw::write_gnuplot_png(file, gp + cmd + data);
}

void run_report(const ReportArgs& a) {
  // Every check before the work: outputs, budget, lists.
  for (const auto& [path, what] : {std::pair{a.csv, "--csv"}, {a.markdown, "--markdown"}, {a.plot, "--plot"}})
    if (!path.empty()) check_output(path, what);
  if (a.budget && !(std::isfinite(*a.budget) && *a.budget > 0))
    throw std::invalid_argument(fmt::format("--budget must be a positive number of LSB, got {}", *a.budget));
  if (a.jobs < 1 || a.jobs > 64) throw std::invalid_argument(fmt::format("--jobs must be in [1, 64], got {}", a.jobs));
  std::vector<hw::ReportItem> items;
  std::vector<std::string> missing;
  if (a.set == "pwl") {
    items = hw::pwl_report_items(a.tables, a.baked_scale, a.rtl_dir);
  } else if (a.set == "ops") {
    if (!a.tables.empty()) throw std::invalid_argument("--table is for --set pwl");
    items = hw::ops_report_items(int_list("--entries", a.entries, 2, 64), int_list("--lanes", a.lanes, 1, 64),
                                 a.max_n, a.rtl_dir, &missing, a.restream);
    if (items.empty())
      throw std::invalid_argument(fmt::format("--set ops: none of its unit kinds is registered in this build ({})",
                                              fmt::join(missing, ", ")));
  } else {
    throw std::invalid_argument(fmt::format("--set must be ops or pwl, got '{}'", a.set));
  }
  if (a.budget && a.set == "pwl") throw std::invalid_argument("--budget needs measured errors: use --set ops");
  if (a.restream && a.set == "pwl") throw std::invalid_argument("--restream is for --set ops (the row units)");
  const hw::SynthFlow flow = flow_of(a.f);
  Progress progress("hw report");
  ProgressFn tick = progress.callback();
  const auto rows = hw::run_report(items, flow, a.jobs, !a.no_error && a.set == "ops",
                                   [&](int d, int t, const std::string& what) {
                                     if (tick) tick(double(d) / t, what);
                                   });
  progress.finish();

  const hw::ReportRow* best = a.budget ? hw::cheapest_within(rows, *a.budget) : nullptr;
  if (a.budget && !best) {
    double smallest = INFINITY;
    for (const auto& r : rows)
      if (r.error) smallest = std::min(smallest, r.error->max_lsb);
    throw std::invalid_argument(fmt::format("--budget {}: no unit meets it (the smallest max error is {} LSB)",
                                            *a.budget, smallest));
  }
  // The reference of a row's group: PWL: INT32 and FP32 of the same K; ops: FP32 at the same lanes
  // where the report has one, else FP32 at 1 lane (compared per element per cycle).
  auto ref_row = [&](const hw::ReportRow& r, const std::string& kind) -> const hw::ReportRow* {
    const hw::ReportRow* one = nullptr;
    for (const auto& o : rows)
      if (o.item.kind == kind && o.item.group == r.item.group) {
        if (o.item.request.lanes == r.item.request.lanes) return &o;
        if (o.item.request.lanes == 1 && !one) one = &o;
      }
    return one;
  };
  auto ref_area = [&](const hw::ReportRow& r, const std::string& kind) -> double {
    const hw::ReportRow* o = ref_row(r, kind);
    return o ? o->synth.area_um2 : 0;
  };
  std::string csv, md;
  json jr = json::array();
  if (a.set == "pwl") {
    md = "| design | entries | area (um^2) | cells | flip-flops | critical path (ns) | power @ 100 MHz (mW) | area vs "
         "INT32 | area vs FP32 |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    csv = "design,entries,area_um2,cells,flip_flops,critical_path_ns,power_mw,ratio_int32,ratio_fp32\n";
  } else {
    md = "| unit | entries | lanes | tables | area (um^2) | cells | flip-flops | critical path (ns) | power @ 100 MHz (mW) "
         "| elements/cycle | um^2 per element/cycle | max error (LSB) | mean error (LSB) | area vs FP32 | per element/cycle vs "
         "FP32 |\n|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    csv = "unit,kind,entries,lanes,tables,area_um2,cells,flip_flops,critical_path_ns,power_mw,elements_per_cycle,"
          "area_per_element_per_cycle_um2,max_error_lsb,mean_error_lsb,ratio_fp32,ratio_fp32_per_throughput\n";
  }
  for (const auto& r : rows) {
    const auto& s = r.synth;
    const std::string power = s.power_mw >= 0 ? fmt::format("{:.3f}", s.power_mw) : "";
    json j = row_json(r);
    if (a.set == "pwl") {
      const double a32 = ref_area(r, "lut-int32"), af = ref_area(r, "lut-fp32");
      const std::string r32 = a32 > 0 ? fmt::format("{:.3f}", s.area_um2 / a32) : "";
      const std::string rf = af > 0 ? fmt::format("{:.3f}", s.area_um2 / af) : "";
      md += fmt::format("| {} | {} | {:.0f} | {} | {} | {:.2f} | {} | {} | {} |\n", r.item.label,
                        r.item.request.entries, s.area_um2, s.cells, s.flip_flops, s.critical_path_ns, power, r32, rf);
      csv += fmt::format("{},{},{:.0f},{},{},{:.2f},{},{},{}\n", r.item.label, r.item.request.entries, s.area_um2,
                         s.cells, s.flip_flops, s.critical_path_ns, power, r32, rf);
      j["ratio_int32"] = a32 > 0 ? json(s.area_um2 / a32) : json(nullptr);
      j["ratio_fp32"] = af > 0 ? json(s.area_um2 / af) : json(nullptr);
    } else {
      const std::string op = r.item.group;
      const hw::ReportRow* fp = ref_row(r, op + "-fp32");
      const double af = fp ? fp->synth.area_um2 : 0, tf = fp ? fp->area_per_throughput() : 0;
      const std::string rf = af > 0 ? fmt::format("{:.3f}", s.area_um2 / af) : "";
      const std::string rt = tf > 0 ? fmt::format("{:.3f}", r.area_per_throughput() / tf) : "";
      const bool ref = r.item.kind.find('-') != std::string::npos;
      const std::string tables = ref ? "-" : r.item.request.programmable ? "programmable" : "baked";
      const std::string ent = ref ? "-" : std::to_string(r.item.request.entries);
      md += fmt::format("| {} | {} | {} | {} | {:.0f} | {} | {} | {:.2f} | {} | {:.3f} | {:.0f} | {} | {} | {} | {} |\n",
                        r.item.label, ent, r.item.request.lanes, tables, s.area_um2, s.cells, s.flip_flops,
                        s.critical_path_ns, power, r.elements_per_cycle, r.area_per_throughput(),
                        num_or(r.error ? r.error->max_lsb : 0, "{:.3f}", bool(r.error)),
                        num_or(r.error ? r.error->mean_lsb : 0, "{:.4f}", bool(r.error)), rf, rt);
      csv += fmt::format("{},{},{},{},{},{:.0f},{},{},{:.2f},{},{:.6g},{:.0f},{},{},{},{}\n", r.item.label, r.item.kind,
                         ent, r.item.request.lanes, tables, s.area_um2, s.cells, s.flip_flops, s.critical_path_ns, power,
                         r.elements_per_cycle, r.area_per_throughput(),
                         num_or(r.error ? r.error->max_lsb : 0, "{:.17g}", bool(r.error)),
                         num_or(r.error ? r.error->mean_lsb : 0, "{:.17g}", bool(r.error)), rf, rt);
      j["ratio_fp32_per_throughput"] = tf > 0 ? json(r.area_per_throughput() / tf) : json(nullptr);
      j["ratio_fp32"] = af > 0 ? json(s.area_um2 / af) : json(nullptr);
    }
    jr.push_back(j);
  }
  const std::string header = fmt::format(
      "{}, {} ({}), synth -flatten; dfflibmap; abc{}; stat -liberty. Critical path: {}. Power: {}.\n",
      flow.yosys_version(), fs::path(flow.liberty()).filename().string(), flow.liberty(),
      flow.buffering() ? " (timing-driven: buffer trees, gate sizing)" : "", flow.timing_tool(),
      flow.timing() == "opensta"
          ? fmt::format("OpenSTA vectorless (inputs 0.5 toggles/cycle, table write port idle), clock {:g} ns",
                        hw::SynthFlow::kClockNs)
          : std::string("n/a without OpenSTA"));
  if (a.as_json) {
    json out = {{"set", a.set}, {"liberty", flow.liberty()}, {"timing", flow.timing()}, {"buffer_nets", flow.buffering()},
                {"timing_tool", flow.timing_tool()}, {"clock_ns", hw::SynthFlow::kClockNs}, {"rows", jr}};
    out["missing_kinds"] = missing;
    if (a.budget) out["budget"] = {{"max_lsb", *a.budget}, {"cheapest", best->item.label}, {"area_um2", best->synth.area_um2}};
    std::cout << out.dump(2) << "\n";
  } else {
    fmt::print("{}\n{}", header, md);
    if (!missing.empty())
      fmt::print("\nNot in this build's registry (no rows): {}\n", fmt::format("{}", fmt::join(missing, ", ")));
    if (best)
      fmt::print("\nbudget {} LSB: cheapest unit {} at {:.0f} um^2 (max error {:.3f} LSB)\n", *a.budget,
                 best->item.label, best->synth.area_um2, best->error->max_lsb);
  }
  if (!a.csv.empty()) gqalut::write_file_atomic(a.csv, csv, "--csv");
  if (!a.markdown.empty()) gqalut::write_file_atomic(a.markdown, md, "--markdown");
  if (!a.plot.empty()) write_report_plot(a.plot, rows);
}

// ------------------------------------------------------------------ softmax | layernorm
// One whole unit in one command: generate (optionally into a folder), lint and simulate against
// the scalar reference, measure its error on gqalut ops' rows, synthesise it, and, with
// --compare, the FP32 and I-BERT-style units of the same row length beside it.
struct OpUnitArgs {
  std::string op;
  hw::UnitRequest req;
  FlowArgs f;
  std::string out_dir, work_dir;
  double timeout_s = 600;
  bool compare = false, no_sim = false, no_synth = false, as_json = false;
};

void run_op_unit(const OpUnitArgs& a) {
  if (!a.out_dir.empty()) check_output_dir(a.out_dir);
  const hw::BuiltUnit b = hw::build_unit(a.op, a.req);
  json out = {{"kind", b.kind}, {"description", b.description}, {"top", b.unit.top},
              {"entries", a.req.entries}, {"lanes", a.req.lanes}, {"programmable", a.req.programmable},
              {"restream", a.req.restream},
              {"elements_per_cycle", b.elements_per_cycle}};
  if (!a.as_json) fmt::print("{}: {}\n", b.kind, b.description);
  if (!a.out_dir.empty()) {
    out["files"] = write_unit_files(b, a.out_dir, a.op.c_str());
    if (!a.as_json) fmt::print("files: {} in {}\n", b.unit.files.size(), a.out_dir);
  }
  std::optional<Verdict> v;
  if (!a.no_sim) {
    v = lint_and_simulate(b, a.work_dir, a.timeout_s, false);
    out["verification"] = {{"passed", v->ok()}, {"checks", v->sim.checks}, {"summary", v->sim.summary()},
                           {"lint", v->lint.summary()}, {"full", a.req.full}, {"seconds", v->seconds}};
    if (!a.as_json)
      fmt::print("bit-exact against the scalar reference ({} set, {:.1f} s): {}; lint: {}\n",
                 a.req.full ? "full" : "reduced", v->seconds, v->sim.summary(), v->lint.summary());
  }
  std::vector<hw::ReportItem> items = {{a.op + " unit", a.op, a.req, a.op}};
  if (a.compare)
    for (hw::ReportItem& ref : hw::reference_report_items(a.op, a.req.max_n, a.req.rtl_dir, a.req.restream)) {
      ref.request.seed = a.req.seed;
      items.push_back(std::move(ref));
    }
  std::vector<hw::ReportRow> rows;
  if (a.no_synth) {
    const hw::UnitError e = b.error();
    out["error"] = error_json(e);
    if (!a.as_json) fmt::print("error: max {:.3f} LSB, mean {:.4f} LSB ({})\n", e.max_lsb, e.mean_lsb, e.on);
  } else {
    const hw::SynthFlow flow = flow_of(a.f);
    out["buffer_nets"] = flow.buffering();
    Progress progress("hw " + a.op);
    ProgressFn tick = progress.callback();
    rows = hw::run_report(items, flow, 1, true, [&](int d, int t, const std::string& what) {
      if (tick) tick(double(d) / t, what);
    });
    progress.finish();
    json units = json::array();
    for (const auto& r : rows) {
      json j = row_json(r);
      if (&r != &rows.front() && r.synth.area_um2 > 0) {
        j["unit_area_ratio"] = rows.front().synth.area_um2 / r.synth.area_um2;
        if (r.synth.power_mw > 0 && rows.front().synth.power_mw >= 0)
          j["unit_power_ratio"] = rows.front().synth.power_mw / r.synth.power_mw;
      }
      units.push_back(j);
      if (a.as_json) continue;
      const auto& s = r.synth;
      fmt::print("{:<30} area {:>10.0f} um^2, {:>6} cells, {:>5} flip-flops, {:>7.2f} ns, power {}, {:.3f} elements/cycle",
                 r.item.label, s.area_um2, s.cells, s.flip_flops, s.critical_path_ns,
                 s.power_mw >= 0 ? fmt::format("{:.1f} mW", s.power_mw) : std::string("n/a"), r.elements_per_cycle);
      if (r.error) fmt::print(", max error {:.3f} LSB, mean {:.4f}", r.error->max_lsb, r.error->mean_lsb);
      if (&r != &rows.front() && s.area_um2 > 0)
        fmt::print(" (unit/this: area {:.3f}{})", rows.front().synth.area_um2 / s.area_um2,
                   s.power_mw > 0 && rows.front().synth.power_mw >= 0
                       ? fmt::format(", power {:.3f}", rows.front().synth.power_mw / s.power_mw)
                       : std::string());
      fmt::print("\n");
    }
    out["units"] = units;
  }
  if (a.as_json) std::cout << out.dump(2) << "\n";
  if (v && !v->ok()) {
    std::cerr << "gqalut: hw " << a.op << ": " << v->failure(b.kind) << "\n";
    std::exit(1);
  }
}

}  // namespace

void add_hw_command(CLI::App& app) {
  auto* hw = app.add_subcommand("hw", "Hardware units: generate, simulate, synthesise and compare (Verilog-2005)");
  hw->require_subcommand(1);
  hw->footer(
      "The hardware layer: every unit kind (gqalut hw list) generates synthesizable Verilog-2005, simulates\n"
      "under iverilog against its scalar reference (bit for bit; Verilator lints it), and synthesises with\n"
      "yosys onto the OSU 0.18 um cells (area, cells, flip-flops; critical path and power at 100 MHz from\n"
      "OpenSTA). Needs iverilog/verilator to simulate and yosys (+ opensta) to synthesise (scripts/deps.sh).\n\n"
      "Examples:\n"
      "  gqalut hw list\n"
      "  gqalut hw softmax --entries 8 --max-n 16\n"
      "  gqalut fit --func gelu --entries 8 -o gelu8.json\n"
      "  gqalut hw generate pwl --table gelu8.json --programmable --output-dir .\n"
      "  gqalut hw simulate pwl --table gelu8.json\n"
      "  gqalut hw synthesize lut-int32 --entries 8 --json\n"
      "  gqalut hw report --set pwl --table gelu8.json --jobs 2");

  auto* list = hw->add_subcommand("list", "List the unit kinds and the options each reads");
  auto list_json = std::make_shared<bool>(false);
  list->add_flag("--json", *list_json, "JSON on stdout");
  list->callback([list_json] { run_list(*list_json); });

  auto g = std::make_shared<GenerateArgs>();
  auto* gen = hw->add_subcommand("generate", "Write a unit's Verilog files");
  add_unit_options(*gen, g->u);
  gen->add_option("-o,--output-dir", g->out_dir, "Folder for the files (it must exist)")->capture_default_str();
  gen->add_flag("--json", g->as_json, "JSON on stdout: top module, files, parameters");
  gen->footer("Example:\n  gqalut fit --func gelu --entries 8 -o gelu8.json && gqalut hw generate pwl --table gelu8.json");
  gen->callback([g] { run_generate(*g); });

  auto s = std::make_shared<SimulateArgs>();
  auto* sim = hw->add_subcommand("simulate", "Lint a unit and simulate it against its scalar reference");
  add_unit_options(*sim, s->u);
  sim->add_option("--work-dir", s->work_dir, "Keep the sources, testbench and logs there (default: a temporary folder)");
  sim->add_option("--timeout", s->timeout_s, "Seconds for each of iverilog and vvp")->capture_default_str();
  sim->add_flag("--no-lint", s->no_lint, "Skip verilator --lint-only -Wall");
  sim->add_flag("--json", s->as_json, "JSON on stdout");
  sim->footer(
      "Exit 0 when the unit is lint-clean and passes every check, 1 when it does not, 2 for bad input.\n"
      "Example:\n  gqalut hw simulate lut-fp32 --entries 8 --seed 3");
  sim->callback([s] { run_simulate(*s); });

  auto y = std::make_shared<SynthesizeArgs>();
  auto* syn = hw->add_subcommand("synthesize", "Synthesise a unit: area, cells, flip-flops, critical path, power");
  add_unit_options(*syn, y->u);
  add_flow_options(*syn, y->f);
  syn->add_flag("--json", y->as_json, "JSON on stdout");
  syn->footer("Example:\n  gqalut hw synthesize lut-int32 --entries 16 --json");
  syn->callback([y] { run_synthesize(*y); });

  for (const char* op : {"softmax", "layernorm"}) {
    auto o = std::make_shared<OpUnitArgs>();
    o->op = op;
    const std::string what = std::string(op) == "softmax" ? "softmax" : "LayerNorm";
    auto* c = hw->add_subcommand(op, "The whole " + what + " unit: generate, verify bit-exact, error, area (--compare: FP32, I-BERT)");
    c->add_option("--entries", o->req.entries, "Table entries K")->check(int_in(2, 64))->capture_default_str();
    c->add_option("--lanes", o->req.lanes, "Elements per cycle")->check(int_in(1, 16))->capture_default_str();
    c->add_option("--max-n", o->req.max_n, "Longest row (0: 256)")->check(int_in(0, 1 << 16));
    c->add_flag("--programmable", o->req.programmable, "Run-time loadable tables (else baked constants)");
    c->add_flag("--restream", o->req.restream,
                "No row buffer: the source sends each row once per pass (softmax 3, LayerNorm 2); with --compare\n"
                "the references are re-streamed too");
    c->add_option("--seed", o->req.seed, "Seed of the random checks")->check(seed_value())->capture_default_str();
    c->add_flag("--full", o->req.full, "Every check: 10^5 random rows and the stage sweeps (minutes; default: the reduced set)");
    c->add_option("-o,--output-dir", o->out_dir, "Also write the Verilog files there (it must exist)");
    c->add_option("--work-dir", o->work_dir, "Keep the simulation's sources, testbench and logs there");
    c->add_option("--timeout", o->timeout_s, "Seconds for each of iverilog and vvp")->capture_default_str();
    c->add_flag("--compare", o->compare, "Synthesise the FP32 and I-BERT-style units of the same row length beside it");
    c->add_flag("--no-sim", o->no_sim, "Skip lint and simulation");
    c->add_flag("--no-synth", o->no_synth, "Skip synthesis (error only)");
    c->add_flag("--json", o->as_json, "JSON on stdout");
    add_flow_options(*c, o->f);
    c->footer(fmt::format(
        "Exit 0 when the unit is lint-clean and bit-exact on every check, 1 when it is not, 2 for bad input.\n"
        "A cold synthesis takes minutes (rows of 256 are buffered in flip-flops); results are cached.\n"
        "Examples:\n"
        "  gqalut hw {0} --entries 8 --max-n 64 --json\n"
        "  gqalut hw {0} --entries 16 --lanes 4 --programmable --no-synth -o .\n"
        "  gqalut hw {0} --entries 8 --max-n 16 --compare",
        op));
    c->callback([o] { run_op_unit(*o); });
  }

  auto r = std::make_shared<ReportArgs>();
  auto* rep = hw->add_subcommand("report", "Synthesise a set of units side by side, with errors and a budget");
  rep->add_option("--set", r->set,
                  "ops: softmax and LayerNorm units (--entries x --lanes x baked/programmable) beside their FP32 and\n"
                  "I-BERT-style references | pwl: for each --table, the INT8 baked and programmable units and the\n"
                  "INT32/FP32 references (docs/hw_area.md)")
      ->capture_default_str();
  rep->add_option("--table", r->tables, "--set pwl: a table file (repeat for several entry counts)");
  rep->add_option("--entries", r->entries, "--set ops: table entries")->capture_default_str();
  rep->add_option("--lanes", r->lanes, "--set ops: elements per cycle")->capture_default_str();
  rep->add_option("--max-n", r->max_n, "--set ops: longest row (0: each kind's default)")->check(int_in(0, 1 << 20));
  rep->add_option("--baked-scale", r->baked_scale, "--set pwl: scale of the baked unit (default: the largest)")
      ->check(int_in(0, Table::kMaxScale));
  rep->add_option("--budget", r->budget, "Max error in LSB: name the smallest unit that meets it");
  rep->add_option("--csv", r->csv, "Write the rows as CSV");
  rep->add_option("--markdown", r->markdown, "Write the table as Markdown");
  rep->add_option("--plot", r->plot, "Write max error against area (PNG, gnuplot)");
  rep->add_option("--rtl-dir", r->rtl_dir, "Folder of the hand-written units");
  rep->add_option("-j,--jobs", r->jobs, "Parallel syntheses")->capture_default_str();
  rep->add_flag("--no-error", r->no_error, "Skip the error measurements");
  rep->add_flag("--restream", r->restream,
                "--set ops: every unit re-streamed (no row buffer; the source sends each row once per pass)");
  rep->add_flag("--json", r->as_json, "JSON on stdout instead of the table");
  add_flow_options(*rep, r->f);
  rep->footer(
      "Examples:\n"
      "  gqalut hw report --set ops --entries 8 --lanes 1 --max-n 64 --budget 1.0 --plot ops.png --jobs 2\n"
      "  gqalut fit --func gelu --entries 8 -o gelu8.json && gqalut hw report --set pwl --table gelu8.json --csv hw.csv");
  rep->callback([r] { run_report(*r); });
}

}  // namespace gqalut::cli
