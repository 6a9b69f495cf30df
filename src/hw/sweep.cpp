// The sweep engine of the hardware layer (gqalut/hw/sweep.hpp): for every point of entries x
// input bits x coefficient bits, the exact optimum (paper score, max |error|), the generated units
// (baked for one scale, and programmable) synthesised by SynthFlow (area, cells, flip-flops,
// critical path; cached by design hash), the Pareto front of error against area, and with a
// budget the cheapest point that meets it. `gqalut sweep` is the command over it.
#include "gqalut/hw/sweep.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gqalut/atomic_file.hpp"
#include "gqalut/hw/registry.hpp"
#include "gqalut/hw/report.hpp"
#include "gqalut/hw/synth.hpp"
#include "gqalut/io.hpp"
#include "gqalut/metrics.hpp"
#include "gqalut/verilog.hpp"
#include "parallel.hpp"

namespace gqalut::hw {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using AreaFlow = SynthFlow;
using detail::run_parallel;

void write_file_atomic(const std::string& path, const std::string& text) {
  gqalut::write_file_atomic(path, text, "output");
}

// Formats a double for tables: 3 significant digits in scientific notation (as the CLI's sci()).
std::string sci(double v) { return fmt::format("{:.3e}", v); }

constexpr const char* kOptimumVersion = "gqalut-sweep-optimum-1";
constexpr size_t kMaxCodesPerScale = 4096;

struct Point {
  int entries = 0, input_bits = 0, coef_bits = 0;
  std::vector<int> scales;  // of this point's input codes
  TableSet set;
  Format fk, fb;
  ErrorReport errors;
  double paper_score = 0, max_abs = 0;
  // --scale-mode span: the unit fed int8 data (each int8 code at int8 scale n
  // requantized to b_in bits, round half away from zero, saturated) against
  // f of the int8 input: the same points for every input width.
  std::optional<double> int8_score, int8_max_abs;
  int splits_tried = 0;
  std::string baked_key, prog_key;
  std::optional<SynthResult> baked, prog;
  bool pareto = false, pareto_prog = false;
  bool judge_int8 = false;  // --judge int8: the front, plot and budget use the int8-referred columns
  double error(Objective o) const {
    if (judge_int8) return o == Objective::mse ? *int8_score : *int8_max_abs;
    return o == Objective::mse ? paper_score : max_abs;
  }
  double table_bits() const {  // storage of the table: breakpoints + coefficients
    return double(entries - 1) * input_bits + double(entries) * (fk.width + fb.width);
  }
};

double max_abs_of(const ErrorReport& r) {
  double m = 0;
  for (const auto& e : r.scales) m = std::max(m, e.max_abs_error);
  return m;
}

// Whether a cached table set is the optimum of this point: its function, entry count, input and
// coefficient widths, and exactly the point's scales.
bool holds_point(const TableSet& set, const Point& pt, const std::string& function) {
  if (set.function != function || set.tables.size() != pt.scales.size()) return false;
  for (int n : pt.scales) {
    auto it = set.tables.find(n);
    if (it == set.tables.end()) return false;
    const Table& t = it->second;
    if (t.entries() != pt.entries || t.input_bits != pt.input_bits || t.slope_format.width != pt.coef_bits ||
        t.intercept_format.width != pt.coef_bits)
      return false;
  }
  return true;
}

// The exact optimum of one point. split "fit": Problem's auto split (the
// largest fraction at which the function's slopes and intercepts fit);
// "best": the best of the splits within `window` fraction bits of it (more
// fraction bits clip the steepest slopes, fewer coarsen every code).
void solve(Point& pt, const Function& fn, double lo, double hi, Objective obj, const SweepSettings& a,
           const std::string& cache_dir) {
  const std::vector<int>& scales = pt.scales;
  Problem p = Problem::make(fn, pt.entries);
  p.lo = lo;
  p.hi = hi;
  p.scales = scales;
  p.objective = obj;
  p.input_bits = pt.input_bits;
  p.slope_format = FormatChoice{std::nullopt, pt.coef_bits};
  p.intercept_format = FormatChoice{std::nullopt, pt.coef_bits};
  p.validate();
  std::string scales_text;
  for (int n : scales) scales_text += fmt::format("{},", n);
  const std::string key = hash_hex(fmt::format("{}|{}|{}|{:a}|{:a}|{}|{}|{}|{}|{}|{}|{}", kOptimumVersion, fn.name,
                                               fn.expression, lo, hi, pt.entries, pt.input_bits, pt.coef_bits,
                                               scales_text, to_string(obj), a.split, a.split_window));
  fs::path entry = fs::path(cache_dir) / "optimum" / (key + ".json");
  std::error_code ec;
  if (!cache_dir.empty() && fs::is_regular_file(entry, ec)) {
    try {
      std::ifstream in(entry);
      json j = json::parse(in);
      std::istringstream tin(j.at("table").dump());
      pt.set = read_json(tin, entry.string());
      pt.splits_tried = j.at("splits_tried").get<int>();
      // Served only if it is this point's table: the file name is a hash, and an entry copied,
      // renamed or written by another version must not stand in for it.
      if (!holds_point(pt.set, pt, fn.name)) pt.set = TableSet{};
    } catch (const std::exception&) {
      pt.set = TableSet{};  // unreadable entry: solve again
    }
  }
  if (pt.set.tables.empty()) {
    int fk0 = 0, fb0 = 0;
    try {
      auto f = p.resolve_formats();
      fk0 = f.slope.frac_bits;
      fb0 = f.intercept.frac_bits;
    } catch (const std::invalid_argument&) {
      // no split holds every value: start from 0 fraction bits (codes clip)
    }
    std::vector<std::pair<int, int>> cands{{fk0, fb0}};
    if (a.split == "best")
      for (int dk = -a.split_window; dk <= a.split_window; ++dk)
        for (int db = -a.split_window; db <= a.split_window; ++db) {
          int k = fk0 + dk, b = fb0 + db;
          if ((dk || db) && k >= 0 && b >= 0 && k <= Format::kMaxFracBits && b <= Format::kMaxFracBits)
            cands.push_back({k, b});
        }
    double best = std::numeric_limits<double>::infinity();
    for (auto [k, b] : cands) {
      Problem q = p;
      q.slope_format = FormatChoice{Format{k, pt.coef_bits}};
      q.intercept_format = FormatChoice{Format{b, pt.coef_bits}};
      Result r = Optimal().run(q);
      double e = obj == Objective::mse ? r.errors.paper_score : max_abs_of(r.errors);
      if (e < best) {  // strict: ties keep the earlier candidate (the fitting split first)
        best = e;
        pt.set = std::move(r.tables);
      }
    }
    pt.splits_tried = int(cands.size());
    if (!cache_dir.empty()) {
      std::ostringstream out;
      write_json(out, pt.set);
      json j = {{"table", json::parse(out.str())}, {"splits_tried", pt.splits_tried}};
      fs::create_directories(entry.parent_path(), ec);
      try {
        write_file_atomic(entry.string(), j.dump() + "\n");
      } catch (const std::exception&) {
        // a read-only cache only costs speed
      }
    }
  }
  const Table& t0 = pt.set.tables.begin()->second;
  pt.fk = t0.slope_format;
  pt.fb = t0.intercept_format;
  pt.errors = evaluate(pt.set, fn.f, lo, hi, Protocol::p_int, scales);
  pt.paper_score = pt.errors.paper_score;
  pt.max_abs = max_abs_of(pt.errors);
  if (a.scale_mode == "span") {
    const int shift = 8 - pt.input_bits;  // b_in-bit scale = int8 scale - shift
    double sum = 0, worst = 0;
    int used = 0;
    for (int n : a.int8_scales) {
      auto it = pt.set.tables.find(n - shift);
      if (n - shift < 0 || it == pt.set.tables.end()) continue;
      const Table& t = it->second;
      double sse = 0;
      int count = 0;
      for (int32_t q8 : codes_in_range(n, lo, hi, 8)) {
        int64_t qb = 0;
        if (shift >= 0) {
          int64_t mag = (std::llabs(q8) + ((int64_t{1} << shift) >> 1)) >> shift;  // half away from zero
          qb = q8 < 0 ? -mag : mag;
          qb = std::clamp<int64_t>(qb, t.input_min(), t.input_max());
        } else {
          qb = int64_t{q8} * (int64_t{1} << -shift);
        }
        double e = eval_value(t, int32_t(qb)) - fn(std::ldexp(double(q8), -n));
        sse += e * e;
        worst = std::max(worst, std::fabs(e));
        ++count;
      }
      if (count) sum += sse / count, ++used;
    }
    if (used) pt.int8_score = sum / used, pt.int8_max_abs = worst;
  }
}

std::string verilog_text(const TableSet& set, const ExportOptions& o) {
  std::ostringstream out;
  write_verilog(out, set, o);
  return out.str();
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}


// Marks the points on the front of (area, error): no other point is both
// cheaper-or-equal and strictly better, or strictly cheaper and as good.
void mark_front(std::vector<Point>& pts, Objective obj, bool prog) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < pts.size(); ++i)
    if (prog ? pts[i].prog.has_value() : pts[i].baked.has_value()) idx.push_back(i);
  auto area = [&](size_t i) { return prog ? pts[i].prog->area_um2 : pts[i].baked->area_um2; };
  std::sort(idx.begin(), idx.end(), [&](size_t x, size_t y) {
    if (area(x) != area(y)) return area(x) < area(y);
    return pts[x].error(obj) < pts[y].error(obj);
  });
  double best = std::numeric_limits<double>::infinity();
  for (size_t i : idx)
    if (pts[i].error(obj) < best) {
      best = pts[i].error(obj);
      (prog ? pts[i].pareto_prog : pts[i].pareto) = true;
    }
}

json hw_json(const SynthResult& r) {
  return json{{"area_um2", r.area_um2},         {"cells", r.cells},
              {"flip_flops", r.flip_flops},     {"critical_path_ns", r.critical_path_ns},
              {"timing", r.timing},             {"abc_estimate_ns", r.abc_estimate_ns}};
}

std::string opt_num(const std::optional<SynthResult>& r, double SynthResult::*field, const char* f = "{:.2f}") {
  return r ? fmt::format(fmt::runtime(f), (*r).*field) : std::string();
}

void write_plot(const std::string& file, const std::vector<Point>& pts, Objective obj, const std::string& fname,
                const std::map<int, std::pair<SynthResult, SynthResult>>& all_refs, bool int8) {
  std::string ylabel = obj == Objective::mse ? "paper score (mean P-int MSE over the scales)" : "max |error|";
  if (int8)
    ylabel = obj == Objective::mse ? "mean MSE over the scales, int8 data requantized to b_in bits"
                                   : "max |error|, int8 data requantized to b_in bits";
  // One pair of reference lines: the paper's 8 entries if swept, else the first.
  std::map<int, std::pair<SynthResult, SynthResult>> refs;
  if (!all_refs.empty()) refs.insert(all_refs.count(8) ? *all_refs.find(8) : *all_refs.begin());
  std::string gp = fmt::format(
      "set terminal pngcairo size 1000,650 font ',10'\nset grid\nset logscale xy\n"
      "set format y '%.0e'\nset xlabel 'area (um^2, yosys + OSU 0.18 um, output register included)'\n"
      "set ylabel '{}' noenhanced\nset key outside right top\n"
      "set title '{}: exact optimum against synthesised area (labels: entries/input bits/coefficient bits)'\n",
      ylabel, fname);
  double xmax = 0;
  for (const auto& p : pts) {
    if (p.prog) xmax = std::max(xmax, p.prog->area_um2);
    if (p.baked) xmax = std::max(xmax, p.baked->area_um2);
  }
  int arrow = 1;
  for (const auto& [k, r] : refs) {
    for (const auto& [name, res] : {std::pair<const char*, const SynthResult*>{"INT32", &r.first},
                                    std::pair<const char*, const SynthResult*>{"FP32", &r.second}}) {
      gp += fmt::format(
          "set arrow {} from {},graph 0 to {},graph 1 nohead dt 2 lc rgb '#888888'\n"
          "set label {} '{} prog. K={}' at {},graph {} right rotate by 90 tc rgb '#666666'\n",
          arrow, res->area_um2, res->area_um2, arrow, name, k, res->area_um2, arrow == 1 ? 0.97 : 0.6);
      ++arrow;
      xmax = std::max(xmax, res->area_um2);
    }
  }
  gp += fmt::format("set xrange [*:{}]\n", xmax * 1.3);
  std::string all_b, all_p, front_b, front_p, labels;
  std::vector<const Point*> fb, fp;
  for (const auto& p : pts) {
    double e = std::max(p.error(obj), 1e-14);
    if (p.baked) all_b += fmt::format("{} {}\n", p.baked->area_um2, e);
    if (p.prog) all_p += fmt::format("{} {}\n", p.prog->area_um2, e);
    if (p.pareto) fb.push_back(&p);
    if (p.pareto_prog) fp.push_back(&p);
  }
  auto by_area = [](bool prog) {
    return [prog](const Point* x, const Point* y) {
      return prog ? x->prog->area_um2 < y->prog->area_um2 : x->baked->area_um2 < y->baked->area_um2;
    };
  };
  std::sort(fb.begin(), fb.end(), by_area(false));
  std::sort(fp.begin(), fp.end(), by_area(true));
  for (const Point* p : fb) {
    double e = std::max(p->error(obj), 1e-14);
    front_b += fmt::format("{} {}\n", p->baked->area_um2, e);
    labels += fmt::format("{} {} {}/{}/{}\n", p->baked->area_um2, e, p->entries, p->input_bits, p->coef_bits);
  }
  for (const Point* p : fp) front_p += fmt::format("{} {}\n", p->prog->area_um2, std::max(p->error(obj), 1e-14));
  gp += "plot '-' with points pt 7 ps 0.6 lc rgb '#9ecae1' title 'baked unit (one scale)', "
        "'-' with points pt 5 ps 0.6 lc rgb '#fdae6b' title 'programmable unit', "
        "'-' with steps lw 2 lc rgb '#08519c' title 'Pareto front, baked', "
        "'-' with steps lw 2 lc rgb '#d94801' title 'Pareto front, programmable', "
        "'-' with labels offset 0.5,0.6 left font ',8' notitle\n";
  gp += all_b + "e\n" + all_p + "e\n" + front_b + "e\n" + front_p + "e\n" + labels + "e\n";
  // Atomic like every output: drawn into a temporary file, renamed over the target on success.
  write_gnuplot_png(file, gp);
}

}  // namespace

void run_sweep(const SweepSettings& a, const ProgressFn& tick, const std::function<void()>& progress_done) {
  const Function& fn = a.fn;
  const double lo = a.lo, hi = a.hi;
  const std::vector<int>& entries = a.entries;
  const std::vector<int>& input_bits = a.input_bits;
  const std::vector<int>& coef_bits = a.coef_bits;
  const std::vector<int>& ref_entries = a.ref_entries;
  const std::vector<int>& scales = a.int8_scales;
  const Objective obj = a.objective;
  const std::string cache_dir = a.cache_dir.empty() ? default_cache_dir() : a.cache_dir;
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec) throw std::invalid_argument(fmt::format("--cache-dir {}: cannot create it ({})", cache_dir, ec.message()));

  if (a.scale_mode != "span" && a.scale_mode != "code")
    throw std::invalid_argument(fmt::format("--scale-mode must be span or code, got '{}'", a.scale_mode));
  if (a.judge != "own" && a.judge != "int8")
    throw std::invalid_argument(fmt::format("--judge must be own or int8, got '{}'", a.judge));
  if (a.judge == "int8" && a.scale_mode != "span")
    throw std::invalid_argument("--judge int8 needs --scale-mode span (int8 data requantized to each input width)");
  // span: a b_in-bit input at int8 scale n covers the int8 input's real span
  // [-2^(7-n), 2^(7-n)) with 2^b_in codes, i.e. its own scale is n - (8 - b_in).
  auto point_scales = [&](int b) {
    std::vector<int> out;
    for (int n : scales) {
      int m = a.scale_mode == "span" ? n - (8 - b) : n;
      if (m >= 0 && m <= Table::kMaxScale) out.push_back(m);
    }
    if (out.empty())
      throw std::invalid_argument(fmt::format(
          "--input-bits {}: none of the scales {} maps to a scale in [0, {}] of {}-bit codes (--scale-mode span: n - {})",
          b, a.scales, Table::kMaxScale, b, 8 - b));
    return out;
  };
  std::vector<Point> pts;
  for (int k : entries)
    for (int b : input_bits)
      for (int c : coef_bits) {
        Point p;
        p.entries = k;
        p.input_bits = b;
        p.coef_bits = c;
        p.scales = point_scales(b);
        // The exact optimum is quadratic in the codes per scale: 16-bit inputs
        // at fine scales would run for hours.
        for (int n : p.scales) {
          size_t codes = codes_in_range(n, lo, hi, b).size();
          if (codes > kMaxCodesPerScale)
            throw std::invalid_argument(fmt::format(
                "--input-bits {}: {} input codes at scale {} are more than the exact optimum handles ({}); use "
                "coarser --scales or --scale-mode code",
                b, codes, n, kMaxCodesPerScale));
        }
        pts.push_back(std::move(p));
      }

  if (a.timing != "auto" && a.timing != "opensta" && a.timing != "abc")
    throw std::invalid_argument(fmt::format("--timing must be auto, opensta or abc, got '{}'", a.timing));
  const TimingChoice timing = a.timing == "opensta" ? TimingChoice::opensta
                              : a.timing == "abc"   ? TimingChoice::abc
                                                    : TimingChoice::automatic;
  AreaFlow flow = a.no_area ? AreaFlow{} : AreaFlow::find(cache_dir, a.liberty, !a.no_fetch, timing);
  if (!a.no_area && timing == TimingChoice::opensta && !flow.timing_note().empty())
    throw std::invalid_argument("--timing opensta: " + flow.timing_note());
  const bool with_area = !a.no_area && flow.available();
  // Never silently: a critical path that is ABC's estimate because OpenSTA is
  // missing says so here, in the report header and in every CSV/JSON row.
  if (with_area && !flow.timing_note().empty())
    fmt::print(stderr, "gqalut: note: critical paths are ABC's estimate (timing abc-estimate): {}\n",
               flow.timing_note());
  // The reference rows are asked for (--ref-entries): their units must be found, never dropped.
  const std::string rtl_dir = with_area && !ref_entries.empty() ? hw::find_rtl_dir(a.rtl_dir) : std::string();

  std::mutex tick_mutex;
  std::atomic<int> done{0};
  int total = int(pts.size());
  auto step = [&](const std::string& note) {
    int d = ++done;
    if (!tick) return;
    std::lock_guard<std::mutex> l(tick_mutex);
    tick(double(d) / std::max(total, 1), note);
  };

  // ---- the exact optimum of every point
  const auto t0 = std::chrono::steady_clock::now();
  {
    std::vector<std::function<void()>> tasks;
    for (auto& p : pts)
      tasks.push_back([&, pp = &p] {
        try {
          solve(*pp, fn, lo, hi, obj, a, cache_dir);
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument(fmt::format("point K={} input_bits={} coef_bits={}: {}", pp->entries,
                                                  pp->input_bits, pp->coef_bits, e.what()));
        }
        step(fmt::format("optimum K={} b_in={} c={}", pp->entries, pp->input_bits, pp->coef_bits));
      });
    run_parallel(tasks, a.jobs);
  }
  for (auto& p : pts) {
    if (a.judge == "int8" && !p.int8_score)
      throw std::invalid_argument(fmt::format(
          "--judge int8: K={} input_bits={} has no int8-referred error (no scale of {} maps to its codes)", p.entries,
          p.input_bits, a.scales));
    p.judge_int8 = a.judge == "int8";
  }
  const auto t1 = std::chrono::steady_clock::now();

  // ---- the units and the reference designs
  std::map<std::string, SynthResult> synth;
  std::map<int, std::pair<std::string, std::string>> ref_keys;  // K -> (int32, fp32)
  std::map<int, std::pair<SynthResult, SynthResult>> refs;
  int synthesised = 0;
  if (with_area) {
    std::map<std::string, Design> designs;
    for (auto& p : pts) {
      ExportOptions o;
      o.output_register = true;
      o.scale = a.baked_scale < 0 ? -1 : a.scale_mode == "span" ? a.baked_scale - (8 - p.input_bits) : a.baked_scale;
      if (o.scale >= 0 && !p.set.tables.count(o.scale))
        throw std::invalid_argument(fmt::format("--baked-scale {}: {}-bit inputs have no such scale", a.baked_scale,
                                                p.input_bits));
      o.name = "lut_baked";
      Design baked{{verilog_text(p.set, o)}, o.name, ""};
      o.programmable = true;
      o.name = "lut_prog";
      Design prog{{verilog_text(p.set, o)}, o.name, ""};
      p.baked_key = flow.key(baked);
      p.prog_key = flow.key(prog);
      designs.emplace(p.baked_key, std::move(baked));
      designs.emplace(p.prog_key, std::move(prog));
    }
    if (!rtl_dir.empty()) {
      std::string i32 = read_text(fs::path(rtl_dir) / "lut_int32.v");
      std::vector<std::string> f32;
      for (const char* f : {"lut_fp32.v", "fp32_ge.v", "fp32_mul.v", "fp32_add.v"})
        f32.push_back(read_text(fs::path(rtl_dir) / f));
      for (int k : ref_entries) {
        std::string chp = fmt::format("-set K {} -set OUTREG 1", k);
        Design d32{{i32}, "lut_int32", chp}, df{f32, "lut_fp32", chp};
        ref_keys[k] = {flow.key(d32), flow.key(df)};
        designs.emplace(ref_keys[k].first, std::move(d32));
        designs.emplace(ref_keys[k].second, std::move(df));
      }
    }
    total += int(designs.size());
    // The big reference designs first, so the small units fill the gaps.
    std::vector<std::string> order;
    for (const auto& [k, keys] : ref_keys) order.insert(order.end(), {keys.second, keys.first});
    for (const auto& kv : designs)
      if (std::find(order.begin(), order.end(), kv.first) == order.end()) order.push_back(kv.first);
    std::vector<std::function<void()>> tasks;
    std::mutex m;
    for (const auto& key : order)
      tasks.push_back([&, kk = key, dd = &designs.at(key)] {
        SynthResult r = flow.synth(*dd);
        {
          std::lock_guard<std::mutex> l(m);
          synth[kk] = r;
          if (!r.cached) ++synthesised;
        }
        step(fmt::format("yosys {}", dd->top));
      });
    run_parallel(tasks, a.jobs);
    for (auto& p : pts) {
      p.baked = synth.at(p.baked_key);
      p.prog = synth.at(p.prog_key);
    }
    for (const auto& [k, keys] : ref_keys) refs[k] = {synth.at(keys.first), synth.at(keys.second)};
    mark_front(pts, obj, false);
    mark_front(pts, obj, true);
  }
  if (progress_done) progress_done();
  const auto t2 = std::chrono::steady_clock::now();

  const char* err_name = a.judge == "int8" ? (obj == Objective::mse ? "int8_input_score" : "int8_input_max_abs_error")
                                            : (obj == Objective::mse ? "paper_score" : "max_abs_error");
  // ---- budget: decided before anything is printed or written (a budget no point meets is an
  // error, not a report followed by one)
  const Point* best = nullptr;
  if (a.budget) {
    auto cost = [&](const Point& p) { return with_area ? p.baked->area_um2 : p.table_bits(); };
    const Point* closest = nullptr;
    for (const auto& p : pts) {
      if (!closest || p.error(obj) < closest->error(obj)) closest = &p;
      if (p.error(obj) > *a.budget) continue;
      if (!best || cost(p) < cost(*best) || (cost(p) == cost(*best) && p.error(obj) < best->error(obj))) best = &p;
    }
    if (!best)
      throw std::invalid_argument(fmt::format(
          "--budget {}: no point meets it (the smallest {} is {} at K={} input_bits={} coef_bits={})", *a.budget,
          err_name, sci(closest->error(obj)), closest->entries, closest->input_bits, closest->coef_bits));
  }

  // ---- report
  fmt::print("Sweep of {} on [{}, {}], scales {} ({}): exact optimum per point (objective {}, coefficient split {}),\n"
             "errors in the P-int protocol (paper score = mean over the scales of the MSE; max |error| over all).\n",
             fn.name, lo, hi, a.scales, a.scale_mode, to_string(obj), a.split);
  if (with_area)
    fmt::print("Area: yosys + OSU 0.18 um ({}), output register included; baked unit for (int8) scale {},\n"
               "programmable unit for every scale.\nCritical path (ns), timing {}: {}.\n"
               "* = Pareto front of the baked units, P = of the programmable units.\n",
               flow.liberty(), a.baked_scale >= 0 ? a.baked_scale : scales.back(), flow.timing(),
               flow.timing() == "opensta"
                   ? fmt::format("{}, report_checks -path_delay max: the arrival time of the worst\n"
                                 "path (inputs at the clk edge, outputs due at the next; clock-to-q included, setup not)",
                                 flow.timing_tool())
                   : fmt::format("{}{}, the longest combinational path\nbetween registers and ports (no "
                                 "clock-to-q, no setup)",
                                 flow.timing_tool(), flow.timing_note().empty() ? "" : ", as OpenSTA was not found"));
  if (a.scale_mode == "span")
    fmt::print("Scales: a b_in-bit input at scale n covers the int8 input's span at n (its own scale n - (8 - b_in)).\n"
               "int8-in: the paper score of the unit fed int8 data requantized to b_in bits (round half away, saturate),\n"
               "against f of the int8 input, over the scales both have: the same points for every b_in.\n");
  fmt::print("\n{:>3} {:>4} {:>4} {:>8} {:>8} {:>10} {:>10} {:>10} | {:>9} {:>5} {:>3} {:>5} | {:>9} {:>5} {:>4} {:>5}\n",
             "K", "b_in", "coef", "slope", "interc.", "paper", "max|err|", "int8-in", "baked um2", "cells", "ff", "ns",
             "prog um2", "cells", "ff", "ns");
  for (const auto& p : pts) {
    std::string hw = "|";
    if (p.baked)
      hw = fmt::format("| {:>9.0f} {:>5} {:>3} {:>5.2f} | {:>9.0f} {:>5} {:>4} {:>5.2f}", p.baked->area_um2,
                       p.baked->cells, p.baked->flip_flops, p.baked->critical_path_ns, p.prog->area_um2,
                       p.prog->cells, p.prog->flip_flops, p.prog->critical_path_ns);
    fmt::print("{:>3} {:>4} {:>4} {:>8} {:>8} {:>10} {:>10} {:>10} {}{}{}\n", p.entries, p.input_bits, p.coef_bits,
               p.fk.name(), p.fb.name(), sci(p.paper_score), sci(p.max_abs), p.int8_score ? sci(*p.int8_score) : "-",
               hw, p.pareto ? " *" : "",
               p.pareto_prog ? " P" : "");
  }
  if (!refs.empty()) {
    fmt::print("\nReference units (programmable, output register):\n");
    for (const auto& [k, r] : refs)
      fmt::print("  K={:<3} INT32 {:>9.0f} um2 ({} cells, {} ff, {:.2f} ns)   FP32 {:>9.0f} um2 ({} cells, {} ff, {:.2f} ns)\n",
                 k, r.first.area_um2, r.first.cells, r.first.flip_flops, r.first.critical_path_ns, r.second.area_um2,
                 r.second.cells, r.second.flip_flops, r.second.critical_path_ns);
  }
  if (!with_area)
    fmt::print("\nNo area columns: {}.\nThey need yosys and the OSU 0.18 um Liberty file (Debian: apt-get install yosys; "
               "gqalut fetches\nqflow-tech-osu018 with apt-get download into the cache, or give --liberty FILE).\n",
               a.no_area ? "--no-area" : flow.why());
  double s_opt = std::chrono::duration<double>(t1 - t0).count(), s_hw = std::chrono::duration<double>(t2 - t1).count();
  fmt::print("\n{} points: optimum {:.1f} s, synthesis {:.1f} s ({} designs synthesised, the rest from the cache {}).\n",
             pts.size(), s_opt, s_hw, synthesised, cache_dir);

  // ---- files
  auto ratio = [&](const Point& p, bool fp32) -> std::string {
    auto it = refs.find(p.entries);
    if (!p.prog || it == refs.end()) return "";
    return fmt::format("{:.4f}", p.prog->area_um2 / (fp32 ? it->second.second : it->second.first).area_um2);
  };
  if (!a.csv.empty()) {
    std::string csv =
        "func,entries,input_bits,coef_bits,slope_format,intercept_format,paper_score,max_abs_error,area_um2,cells,"
        "flip_flops,critical_path_ns,prog_area_um2,prog_cells,prog_flip_flops,prog_critical_path_ns,prog_ratio_int32,"
        "prog_ratio_fp32,pareto,pareto_prog,scales,int8_input_score,int8_input_max_abs_error,timing,"
        "abc_estimate_ns,prog_abc_estimate_ns\n";
    for (const auto& p : pts) {
      auto cnt = [](const std::optional<SynthResult>& r, int SynthResult::*f) {
        return r ? std::to_string((*r).*f) : std::string();
      };
      std::string sc;
      for (int n : p.scales) sc += (sc.empty() ? "" : ";") + std::to_string(n);
      auto num = [](const std::optional<double>& v) { return v ? fmt::format("{:.17g}", *v) : std::string(); };
      csv += fmt::format("{},{},{},{},{},{},{:.17g},{:.17g},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                         fn.name, p.entries,
                         p.input_bits, p.coef_bits, p.fk.name(), p.fb.name(), p.paper_score, p.max_abs,
                         opt_num(p.baked, &SynthResult::area_um2), cnt(p.baked, &SynthResult::cells),
                         cnt(p.baked, &SynthResult::flip_flops), opt_num(p.baked, &SynthResult::critical_path_ns),
                         opt_num(p.prog, &SynthResult::area_um2), cnt(p.prog, &SynthResult::cells),
                         cnt(p.prog, &SynthResult::flip_flops), opt_num(p.prog, &SynthResult::critical_path_ns),
                         ratio(p, false), ratio(p, true), with_area ? (p.pareto ? "1" : "0") : "",
                         with_area ? (p.pareto_prog ? "1" : "0") : "", sc, num(p.int8_score), num(p.int8_max_abs),
                         p.baked ? p.baked->timing : std::string(), opt_num(p.baked, &SynthResult::abc_estimate_ns),
                         opt_num(p.prog, &SynthResult::abc_estimate_ns));
    }
    write_file_atomic(a.csv, csv);
    fmt::print("csv: {}\n", a.csv);
  }
  if (!a.json_out.empty()) {
    json out = {{"function", fn.name}, {"range", {lo, hi}}, {"scales", scales}, {"objective", to_string(obj)},
                {"split", a.split}, {"area_available", with_area}};
    if (with_area) out["liberty"] = flow.liberty(), out["timing"] = flow.timing(), out["timing_tool"] = flow.timing_tool();
    json rj = json::array();
    for (const auto& [k, r] : refs)
      rj.push_back({{"entries", k},
                    {"int32", hw_json(r.first)},
                    {"fp32", hw_json(r.second)}});
    out["references"] = rj;
    json pj = json::array();
    for (const auto& p : pts) {
      json e = {{"func", fn.name}, {"entries", p.entries}, {"input_bits", p.input_bits}, {"coef_bits", p.coef_bits},
                {"slope_format", p.fk.name()}, {"intercept_format", p.fb.name()}, {"paper_score", p.paper_score},
                {"max_abs_error", p.max_abs}, {"splits_tried", p.splits_tried}, {"scales", p.scales}};
      if (p.int8_score) e["int8_input_score"] = *p.int8_score, e["int8_input_max_abs_error"] = *p.int8_max_abs;
      json sc = json::array();
      for (const auto& s : p.errors.scales)
        sc.push_back({{"n", s.n}, {"points", s.points}, {"mse", s.mse}, {"max_abs_error", s.max_abs_error}});
      e["per_scale"] = sc;
      if (p.baked) e["baked"] = hw_json(*p.baked), e["pareto"] = p.pareto;
      if (p.prog) e["programmable"] = hw_json(*p.prog), e["pareto_prog"] = p.pareto_prog;
      pj.push_back(e);
    }
    out["points"] = pj;
    write_file_atomic(a.json_out, out.dump(2) + "\n");
    fmt::print("json: {}\n", a.json_out);
  }
  if (!a.plot.empty()) {
    if (!with_area) {
      fmt::print("plot: not written (it plots error against area, and there are no area columns)\n");
    } else {
      write_plot(a.plot, pts, obj, fn.name, refs, a.judge == "int8");
      fmt::print("plot: {}\n", a.plot);
    }
  }

  if (best) {
    fmt::print("\nbudget {} = {}: cheapest point K={} input_bits={} coef_bits={} ({} {}, {} {}) at {}\n", err_name,
               *a.budget, best->entries, best->input_bits, best->coef_bits, best->fk.name(), best->fb.name(), err_name,
               sci(best->error(obj)),
               with_area ? fmt::format("{:.0f} um2 baked, {:.0f} um2 programmable", best->baked->area_um2,
                                       best->prog->area_um2)
                         : fmt::format("{:.0f} table bits (no area: cheapest by table storage)", best->table_bits()));
  }
}

void run_unit_sweep(const UnitSweepSettings& a, const ProgressFn& tick, const std::function<void()>& progress_done) {
  const UnitKind& kind = find_unit_kind(a.unit);
  if (a.entries.empty() || a.lanes.empty())
    throw std::invalid_argument(fmt::format("sweep --unit {}: --entries and --lanes must not be empty", a.unit));
  const auto timing = a.timing == "opensta" ? TimingChoice::opensta
                      : a.timing == "abc"   ? TimingChoice::abc
                                            : TimingChoice::automatic;
  if (a.timing != "auto" && a.timing != "opensta" && a.timing != "abc")
    throw std::invalid_argument(fmt::format("--timing must be auto, opensta or abc, got '{}'", a.timing));
  const std::string cache_dir = a.cache_dir.empty() ? default_cache_dir() : a.cache_dir;
  const SynthFlow flow = SynthFlow::find(cache_dir, a.liberty, !a.no_fetch, timing);
  if (timing == TimingChoice::opensta && !flow.timing_note().empty())
    throw std::invalid_argument("--timing opensta: " + flow.timing_note());
  if (!flow.available())
    throw std::invalid_argument(fmt::format("sweep --unit {} needs synthesis: {}", a.unit, flow.why()));
  std::vector<ReportItem> items;
  for (int K : a.entries)
    for (int L : a.lanes)
      for (bool prog : {false, true}) {
        UnitRequest r;
        r.entries = K;
        r.lanes = L;
        r.programmable = prog;
        r.max_n = a.max_n;
        r.restream = a.restream;
        r.rtl_dir = a.rtl_dir;
        items.push_back({fmt::format("K={} lanes={} {}{}", K, L, prog ? "programmable" : "baked",
                                     a.restream ? " re-streamed" : ""),
                         kind.name, r, a.unit});
      }
  // The first unit is built here: a kind without an error measurement is refused before the work.
  if (!build_unit(kind.name, items.front().request).error)
    throw std::invalid_argument(fmt::format("sweep --unit {}: this kind has no error measurement", a.unit));
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<ReportRow> rows = run_report(items, flow, a.jobs, true, [&](int d, int t, const std::string& what) {
    if (tick) tick(double(d) / t, what);
  });
  if (progress_done) progress_done();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The Pareto front of (area, max error): no other unit is both smaller-or-equal and strictly
  // better, or strictly smaller and as good.
  std::vector<size_t> idx(rows.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](size_t x, size_t y) {
    if (rows[x].synth.area_um2 != rows[y].synth.area_um2) return rows[x].synth.area_um2 < rows[y].synth.area_um2;
    return rows[x].error->max_lsb < rows[y].error->max_lsb;
  });
  std::vector<bool> front(rows.size(), false);
  double best_err = std::numeric_limits<double>::infinity();
  for (size_t i : idx)
    if (rows[i].error->max_lsb < best_err) best_err = rows[i].error->max_lsb, front[i] = true;
  const ReportRow* best = nullptr;
  if (a.budget) {
    best = cheapest_within(rows, *a.budget);
    if (!best) {
      double smallest = std::numeric_limits<double>::infinity();
      for (const auto& r : rows) smallest = std::min(smallest, r.error->max_lsb);
      throw std::invalid_argument(
          fmt::format("--budget {}: no {} unit meets it (the smallest max error is {:.4f} LSB)", *a.budget, a.unit, smallest));
    }
  }
  fmt::print("Sweep of the {} unit ({}){}: entries x lanes x baked/programmable, synthesised with {} ({}),\n"
             "errors on the rows of gqalut ops ({}). * = Pareto front of max error against area.\n\n",
             a.unit, kind.summary, a.restream ? ", re-streamed (no row buffer)" : "",
             fs::path(flow.liberty()).filename().string(), flow.timing_tool(),
             rows.front().error->on);
  fmt::print("{:>3} {:>5} {:<12} | {:>9} {:>6} {:>5} {:>6} {:>8} | {:>7} {:>10} | {:>8} {:>8}\n", "K", "lanes", "tables",
             "area um2", "cells", "ff", "ns", "mW", "el/cyc", "um2/el/cyc", "max LSB", "mean LSB");
  std::string csv =
      "unit,entries,lanes,tables,area_um2,cells,flip_flops,critical_path_ns,power_mw,elements_per_cycle,"
      "area_per_element_per_cycle_um2,max_error_lsb,mean_error_lsb,pareto\n";
  json pj = json::array();
  for (size_t i = 0; i < rows.size(); ++i) {
    const ReportRow& r = rows[i];
    const SynthResult& s = r.synth;
    const std::string tables = r.item.request.programmable ? "programmable" : "baked";
    const std::string power = s.power_mw >= 0 ? fmt::format("{:.3f}", s.power_mw) : "";
    fmt::print("{:>3} {:>5} {:<12} | {:>9.0f} {:>6} {:>5} {:>6.2f} {:>8} | {:>7.3f} {:>10.0f} | {:>8.4f} {:>8.4f}{}\n",
               r.item.request.entries, r.item.request.lanes, tables, s.area_um2, s.cells, s.flip_flops,
               s.critical_path_ns, power, r.elements_per_cycle, r.area_per_throughput(), r.error->max_lsb,
               r.error->mean_lsb, front[i] ? " *" : "");
    csv += fmt::format("{},{},{},{},{:.2f},{},{},{:.2f},{},{:.6g},{:.2f},{:.17g},{:.17g},{}\n", a.unit,
                       r.item.request.entries, r.item.request.lanes, tables, s.area_um2, s.cells, s.flip_flops,
                       s.critical_path_ns, power, r.elements_per_cycle, r.area_per_throughput(), r.error->max_lsb,
                       r.error->mean_lsb, front[i] ? 1 : 0);
    json sj = {{"area_um2", s.area_um2}, {"cells", s.cells}, {"flip_flops", s.flip_flops},
               {"critical_path_ns", s.critical_path_ns}, {"timing", s.timing}};
    sj["power_mw"] = s.power_mw >= 0 ? json(s.power_mw) : json(nullptr);
    pj.push_back({{"unit", a.unit}, {"entries", r.item.request.entries}, {"lanes", r.item.request.lanes},
                  {"programmable", r.item.request.programmable}, {"restream", r.item.request.restream},
                  {"description", r.description},
                  {"elements_per_cycle", r.elements_per_cycle}, {"synthesis", sj},
                  {"max_error_lsb", r.error->max_lsb}, {"mean_error_lsb", r.error->mean_lsb}, {"pareto", bool(front[i])}});
  }
  fmt::print("\n{} units: {:.1f} s.\n", rows.size(), secs);
  if (!a.csv.empty()) {
    write_file_atomic(a.csv, csv);
    fmt::print("csv: {}\n", a.csv);
  }
  if (!a.json_out.empty()) {
    json out = {{"unit", a.unit}, {"liberty", flow.liberty()}, {"timing", flow.timing()},
                {"timing_tool", flow.timing_tool()}, {"errors_on", rows.front().error->on}, {"points", pj}};
    write_file_atomic(a.json_out, out.dump(2) + "\n");
    fmt::print("json: {}\n", a.json_out);
  }
  if (!a.plot.empty()) {
    std::string gp = fmt::format(
        "set terminal pngcairo size 1000,650 font ',10'\nset grid\nset logscale x\n"
        "set xlabel 'area (um^2, yosys + OSU 0.18 um)'\nset ylabel 'max error (output LSB, rows of gqalut ops)'\n"
        "set key outside right top\nset title '{} units: max error against area (labels: K/lanes/b|p)' noenhanced\n"
        "plot '-' with points pt 7 ps 1 lc rgb '#9ecae1' title 'baked', '-' with points pt 5 ps 1 lc rgb '#fdae6b' "
        "title 'programmable', '-' with steps lw 2 lc rgb '#08519c' title 'Pareto front', '-' with labels offset "
        "0.5,0.6 left font ',8' notitle\n",
        a.unit);
    std::string baked, prog, fr, labels;
    for (size_t i = 0; i < rows.size(); ++i) {
      const ReportRow& r = rows[i];
      std::string pt = fmt::format("{} {}\n", r.synth.area_um2, r.error->max_lsb);
      (r.item.request.programmable ? prog : baked) += pt;
      labels += fmt::format("{} {} {}/{}/{}\n", r.synth.area_um2, r.error->max_lsb, r.item.request.entries,
                            r.item.request.lanes, r.item.request.programmable ? "p" : "b");
    }
    for (size_t i : idx)
      if (front[i]) fr += fmt::format("{} {}\n", rows[i].synth.area_um2, rows[i].error->max_lsb);
    write_gnuplot_png(a.plot, gp + baked + "e\n" + prog + "e\n" + fr + "e\n" + labels + "e\n");
    fmt::print("plot: {}\n", a.plot);
  }
  if (best)
    fmt::print("\nbudget max error = {} LSB: cheapest unit K={} lanes={} {} at {:.0f} um2 (max error {:.4f} LSB, "
               "{:.3f} elements/cycle)\n",
               *a.budget, best->item.request.entries, best->item.request.lanes,
               best->item.request.programmable ? "programmable" : "baked", best->synth.area_um2, best->error->max_lsb,
               best->elements_per_cycle);
}

}  // namespace gqalut::hw
