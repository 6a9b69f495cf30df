// gqalut ops: the error of an integer operation (include/gqalut/intops.hpp)
// built from given table files, or from tables it fits itself, against double
// precision, on the standard row sets of docs/intops.md or on a user's rows.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "gqalut/ibert.hpp"
#include "gqalut/intops.hpp"
#include "gqalut/intops_measure.hpp"
#include "gqalut/io.hpp"
#include "gqalut/methods.hpp"
#include "gqalut/recipes.hpp"
#include "gqalut/rows.hpp"
#include "gqalut/text.hpp"

namespace gqalut::cli {
namespace {

struct OpsArgs {
  std::string op;
  std::vector<std::string> tables;
  int entries = 8;
  std::string method = "optimal";
  int in_frac = -1;   // default per op / set
  int out_frac = -1;  // default per op
  std::string set = "normal";
  std::string rows_file;
  int rows_per_length = 40;
  uint64_t seed = 1;
  bool json = false;
  int ibert_work_frac = -1;  // --method ibert softmax: i-exp's working scale (-1: max(in_frac, 10))
};

const char* const kActivations[] = {"gelu", "hswish", "silu", "sigmoid", "tanh"};

bool is_activation(const std::string& op) {
  return std::find(std::begin(kActivations), std::end(kActivations), op) != std::end(kActivations);
}

// ---- a user's rows: gqalut/rows.hpp (.npy or CSV, bounded) -------------------------------

// The user's rows as real values, grouped by row length, moved (never copied): integer
// files hold codes at 2^-in_frac.
std::vector<Rows> user_groups(RowsData& user, int in_frac) {
  if (user.codes)
    for (auto& row : user.rows)
      for (double& v : row) v = std::ldexp(v, -in_frac);
  std::map<size_t, Rows> by_len;
  for (auto& row : user.rows) by_len[row.size()].push_back(std::move(row));
  user.rows.clear();
  std::vector<Rows> groups;
  for (auto& [n, rows] : by_len) groups.push_back(std::move(rows));
  return groups;
}

// ---- tables ------------------------------------------------------------------------------

struct TableUse {
  std::string role;    // "exp2m1", "reci", "rsqrt", or the activation
  std::string source;  // file path, or "fit <method>"
  TableSet set;
};

TableUse get_table(const OpsArgs& a, size_t index, const std::string& fn, std::vector<int> scales) {
  TableUse t;
  t.role = fn;
  if (!a.tables.empty()) {
    t.source = a.tables[index];
    t.set = read_json_file(t.source);
    // An activation is measured against its own function: a table of another registered
    // function (a reciprocal for gelu) would be reported as a bad gelu. Softmax and LayerNorm
    // check their tables' values in prepare_*.
    if (is_activation(fn) && t.set.function != fn) {
      bool registered = true;
      try {
        find_function(t.set.function);
      } catch (const std::invalid_argument&) {
        registered = false;  // an expression or a name of the user's: measured as given
      }
      if (registered)
        throw std::invalid_argument(fmt::format("ops {} needs a table of {}, got a table of {} ({}); fit one with "
                                                "`gqalut fit --func {}`",
                                                fn, fn, t.set.function, quote(t.source, 200), fn));
    }
    return t;
  }
  Problem p = Problem::make(find_function(fn), a.entries);
  p.scales = std::move(scales);
  p.slope_format = FormatChoice::parse("auto");
  p.intercept_format = FormatChoice::parse("auto");
  t.set = run_method(a.method, p).tables;
  t.source = fmt::format("fit {} {}-entry, automatic INT8 formats", a.method, a.entries);
  return t;
}

// A softmax / LayerNorm table: a file (get_table), or the recipe (gqalut/recipes.hpp) fitted
// with --method and --entries.
TableUse get_op_table(const OpsArgs& a, size_t index, const std::string& recipe) {
  const TableRecipe& r = table_recipe(recipe);
  if (!a.tables.empty()) return get_table(a, index, r.function, r.scales);
  TableUse t;
  t.role = r.function;
  t.set = fit_recipe(r, a.entries, a.method);
  t.source = fmt::format("fit {} {}-entry, recipe {} ({} on [{}, {}], formats {}/{})", a.method, a.entries, r.name,
                         r.function, r.lo, r.hi, r.slope_format, r.intercept_format);
  return t;
}

nlohmann::ordered_json table_json(const TableUse& t, int scale) {
  nlohmann::ordered_json j;
  j["role"] = t.role;
  j["source"] = t.source;
  j["function"] = t.set.function;
  j["entries"] = t.set.entries();
  j["scale"] = scale;
  const Table& tb = t.set.at(scale);
  j["slope_format"] = tb.slope_format.name();
  j["intercept_format"] = tb.intercept_format.name();
  j["int8"] = tb.is_int8();
  return j;
}

// Rows of the standard sets, one group per length, or the user's rows grouped by length.
std::vector<Rows> row_groups(const OpsArgs& a) {
  std::vector<Rows> groups;
  for (size_t n : {size_t{197}, size_t{768}, size_t{3072}}) {
    const uint64_t seed = a.seed * 1000003 + n;
    if (a.op == "layernorm")
      groups.push_back(layernorm_rows(n, size_t(a.rows_per_length), seed));
    else if (a.set == "peaked")
      groups.push_back(peaked_logit_rows(n, size_t(a.rows_per_length), seed));
    else
      groups.push_back(normal_logit_rows(n, size_t(a.rows_per_length), seed));
  }
  return groups;
}

// --method ibert: I-BERT's integer operations (gqalut/ibert.hpp; no tables) through the same
// protocol and rows as the table methods.
void run_ibert(const OpsArgs& a, int in_frac, int out_frac, RowsData* user, bool user_int32,
               nlohmann::ordered_json& plan_j, const std::function<void(const OpErrorStats&)>& add_rows) {
  plan_j["method"] = "ibert";
  if (a.op == "softmax") {
    const ibert::Softmax s = ibert::make_softmax(in_frac, out_frac, a.ibert_work_frac);
    plan_j["work_frac"] = s.exp.in_frac;
    plan_j["q_ln2"] = s.exp.q_ln2;
    plan_j["poly_qb"] = s.exp.poly.qb;
    plan_j["poly_qc"] = s.exp.poly.qc;
    SoftmaxRowOp op;
    op.in_frac = in_frac;
    op.out_frac = out_frac;
    op.s8 = [&](const int8_t* q, uint8_t* out, size_t n) { ibert::softmax_row(s, q, out, n); };
    op.s32 = [&](const int32_t* q, uint8_t* out, size_t n) { ibert::softmax_row(s, q, out, n); };
    if (user) {
      for (const Rows& g : user_groups(*user, in_frac)) add_rows(measure_softmax(op, g, user_int32));
    } else {
      for (const Rows& g : row_groups(a)) add_rows(measure_softmax(op, g, a.set == "int32"));
    }
  } else if (a.op == "layernorm") {
    const ibert::LayerNorm l = ibert::make_layernorm(in_frac, out_frac, 6, 1e-5);
    LayerNormRowOp op;
    op.in_frac = in_frac;
    op.out_frac = out_frac;
    op.gamma_frac = l.gamma_frac;
    op.eps = l.eps;
    op.row = [&](const int8_t* x, const int8_t* g, const int32_t* b, int8_t* out, size_t n) {
      ibert::layernorm_row(l, x, g, b, out, n);
    };
    plan_j["gamma_frac"] = l.gamma_frac;
    plan_j["eps"] = l.eps;
    if (user) {
      for (const Rows& g : user_groups(*user, in_frac)) add_rows(measure_layernorm(op, g, a.seed));
    } else {
      for (const Rows& g : row_groups(a)) add_rows(measure_layernorm(op, g, a.seed));
    }
  } else {
    const ibert::Gelu g = ibert::make_gelu(in_frac, out_frac);
    plan_j["erf_qb"] = g.erf.qb;
    plan_j["erf_qc"] = g.erf.qc;
    plan_j["q_one"] = g.q_one;
    Int8Op op;
    op.in_frac = in_frac;
    op.out_frac = out_frac;
    op.run = [&](const int8_t* in, int8_t* out, size_t n) { ibert::gelu(g, in, out, n); };
    const Function& fn = find_function("gelu");
    if (user) {
      if (user->codes)
        for (auto& row : user->rows)
          for (double& v : row) v = std::ldexp(v, -in_frac);
      add_rows(measure_activation(op, fn, user->rows));
    } else {
      add_rows(measure_activation(op, fn));
    }
  }
}

void run(const OpsArgs& a) {
  const bool act = is_activation(a.op);
  if (!act && a.op != "softmax" && a.op != "layernorm")
    throw std::invalid_argument(fmt::format("unknown op {} (known: softmax, layernorm, gelu, hswish, silu, sigmoid, tanh)",
                                            quote(a.op, 40)));
  const size_t want = a.op == "softmax" ? 2 : 1;
  if (!a.tables.empty() && a.tables.size() != want)
    throw std::invalid_argument(fmt::format("{} takes {} table file{} (--tables {}), got {}", a.op, want,
                                            want == 1 ? "" : "s", a.op == "softmax" ? "EXP2M1 DIV" : "FILE",
                                            a.tables.size()));
  if (!a.tables.empty() && (a.entries != 8 || a.method != "optimal"))
    throw std::invalid_argument("--entries and --method choose the tables ops fits itself: not with --tables");
  const bool int32 = a.set == "int32";
  if (a.set != "normal" && a.set != "peaked" && a.set != "int32")
    throw std::invalid_argument(fmt::format("--set must be normal, peaked or int32, got {}", quote(a.set, 40)));
  if (a.op != "softmax" && a.set != "normal")
    throw std::invalid_argument(fmt::format("--set {} applies to softmax (its logit rows)", a.set));
  if (!a.rows_file.empty() && a.set != "normal")
    throw std::invalid_argument("--set chooses a standard row set: not with --rows");
  const bool ibert_method = a.method == "ibert";
  if (ibert_method && a.op != "softmax" && a.op != "layernorm" && a.op != "gelu")
    throw std::invalid_argument(fmt::format(
        "--method ibert has I-BERT's softmax, layernorm and gelu, not {}", quote(a.op, 40)));
  if (a.ibert_work_frac >= 0 && !(ibert_method && a.op == "softmax"))
    throw std::invalid_argument("--ibert-work-frac applies to --method ibert softmax");
  if (ibert_method && a.entries != 8)
    throw std::invalid_argument("--method ibert uses no tables: --entries does not apply");
  if (!ibert_method) find_method(a.method);  // an unknown method is refused before any work

  std::unique_ptr<RowsData> user;
  if (!a.rows_file.empty()) user = std::make_unique<RowsData>(read_rows_file(a.rows_file));
  const bool user_int32 = user && user->wide_codes;
  const int in_frac = a.in_frac >= 0 ? a.in_frac : (int32 ? 10 : 4);
  nlohmann::ordered_json j;
  j["op"] = a.op;
  j["set"] = user ? "file" : (a.op == "softmax" ? a.set : (act ? "codes" : "normal"));
  if (user) j["rows_file"] = a.rows_file;
  j["in_frac"] = in_frac;
  nlohmann::ordered_json tables = nlohmann::ordered_json::array(), plan_j, rows = nlohmann::ordered_json::array();
  int max_entries = 0;
  auto add_rows = [&](const OpErrorStats& st) {
    nlohmann::ordered_json r;
    r["n"] = st.n;
    r["rows"] = st.rows;
    r["max_err_lsb"] = st.max_err_lsb;
    r["mean_err_lsb"] = st.mean_err_lsb;
    r["floor_max_err_lsb"] = st.floor_max_err_lsb;
    r["floor_mean_err_lsb"] = st.floor_mean_err_lsb;
    rows.push_back(r);
  };
  int out_frac = 0;
  if (ibert_method) {
    out_frac = a.out_frac >= 0 ? a.out_frac : (a.op == "softmax" ? 8 : a.op == "layernorm" ? 4 : 5);
    run_ibert(a, in_frac, out_frac, user.get(), user_int32, plan_j, add_rows);
  } else if (a.op == "softmax") {
    out_frac = a.out_frac >= 0 ? a.out_frac : 8;
    TableUse e = get_op_table(a, 0, "exp2m1"), d = get_op_table(a, 1, "div");
    const SoftmaxPlan plan = prepare_softmax(e.set, d.set, in_frac, out_frac);
    const SoftmaxDatapath& p = plan.datapath();
    tables.push_back(table_json(e, p.exp_scale));
    tables.push_back(table_json(d, p.div_scale));
    max_entries = std::max(e.set.entries(), d.set.entries());
    plan_j["exp_scale"] = p.exp_scale;
    plan_j["exp_max_rel_error"] = p.exp_max_rel_error;
    plan_j["div_scale"] = p.div_scale;
    plan_j["div_codes"] = {1 << p.div_a, 2 << p.div_a};
    plan_j["div_max_rel_error"] = p.div_max_rel_error;
    plan_j["newton_steps"] = p.newton_steps;
    plan_j["recip_max_rel_error"] = p.recip_max_rel_error;
    if (user) {
      for (const Rows& g : user_groups(*user, in_frac)) add_rows(measure_softmax(plan, g, user_int32));
    } else {
      for (const Rows& g : row_groups(a)) add_rows(measure_softmax(plan, g, int32));
    }
  } else if (a.op == "layernorm") {
    out_frac = a.out_frac >= 0 ? a.out_frac : 4;
    TableUse r = get_op_table(a, 0, "rsqrt");
    const LayerNormPlan plan = prepare_layernorm(r.set, in_frac, out_frac, 6, 1e-5);
    const LayerNormDatapath& p = plan.datapath();
    tables.push_back(table_json(r, p.rsqrt_scale));
    max_entries = r.set.entries();
    plan_j["rsqrt_scale"] = p.rsqrt_scale;
    plan_j["rsqrt_codes"] = {1 << p.rsqrt_a, 4 << p.rsqrt_a};
    plan_j["rsqrt_max_rel_error"] = p.rsqrt_max_rel_error;
    plan_j["newton_steps"] = p.newton_steps;
    plan_j["gamma_frac"] = p.gamma_frac;
    plan_j["eps"] = p.eps;
    if (user) {
      for (const Rows& g : user_groups(*user, in_frac)) add_rows(measure_layernorm(plan, g, a.seed));
    } else {
      for (const Rows& g : row_groups(a)) add_rows(measure_layernorm(plan, g, a.seed));
    }
  } else {
    out_frac = a.out_frac >= 0 ? a.out_frac : 5;
    TableUse t = get_table(a, 0, a.op, {in_frac});
    const Function& fn = find_function(a.op);
    const ActivationPlan p = prepare_activation(t.set, in_frac, out_frac);
    tables.push_back(table_json(t, in_frac));
    max_entries = t.set.entries();
    if (user) {
      if (user->codes)
        for (auto& row : user->rows)
          for (double& v : row) v = std::ldexp(v, -in_frac);
      add_rows(measure_activation(p, fn, in_frac, user->rows));
    } else {
      add_rows(measure_activation(p, fn, in_frac));
    }
  }
  j["out_frac"] = out_frac;
  j["tables"] = tables;
  if (!plan_j.is_null()) j["plan"] = plan_j;
  j["rows"] = rows;
  // The operation's accuracy target (gqalut/recipes.hpp), for the standard row sets.
  double tmax = -1, tmean = -1;
  const AccuracyTarget* target =
      user || act || ibert_method ? nullptr : accuracy_target(a.op, max_entries, out_frac);
  if (target) {
    tmax = target->max_lsb;
    tmean = target->mean_lsb;
  }
  if (tmax > 0) {
    bool ok = true;
    for (const auto& r : rows)
      ok = ok && r["max_err_lsb"].get<double>() <= tmax &&
           (tmean < 0 || r["mean_err_lsb"].get<double>() <= tmean);
    nlohmann::ordered_json t;
    t["max_err_lsb"] = tmax;
    if (tmean > 0) t["mean_err_lsb"] = tmean;
    j["target"] = t;
    j["meets_target"] = ok;
  }
  if (a.json) {
    std::cout << j.dump(2) << '\n';
    return;
  }
  fmt::print("gqalut ops {}: inputs at 2^-{}, outputs at 2^-{}, error in output steps (LSB) vs double\n", a.op,
             in_frac, out_frac);
  for (const auto& t : tables)
    fmt::print("  {:<7} {} ({} entries, scale {}, slopes {} intercepts {}{})\n", t["role"].get<std::string>(),
               t["source"].get<std::string>(), t["entries"].get<int>(), t["scale"].get<int>(),
               t["slope_format"].get<std::string>(), t["intercept_format"].get<std::string>(),
               t["int8"].get<bool>() ? "" : ", NOT INT8");
  if (!plan_j.is_null()) fmt::print("  plan: {}\n", plan_j.dump());
  fmt::print("rows: {}{}\n", j["set"].get<std::string>(),
             user ? "" : act ? " (every int8 code in the function's range; n = their count)"
                             : fmt::format(" ({} rows per length, seed {})", a.rows_per_length, a.seed));
  fmt::print("{:>7} {:>6} {:>10} {:>10}   {:>10} {:>10}  (floor: the exact result rounded to the output grid)\n",
             "n", "rows", "max LSB", "mean LSB", "floor max", "floor mean");
  for (const auto& r : rows)
    fmt::print("{:>7} {:>6} {:>10.4f} {:>10.4f}   {:>10.4f} {:>10.4f}\n", r["n"].get<size_t>(),
               r["rows"].get<size_t>(), r["max_err_lsb"].get<double>(), r["mean_err_lsb"].get<double>(),
               r["floor_max_err_lsb"].get<double>(), r["floor_mean_err_lsb"].get<double>());
  if (tmax > 0)
    fmt::print("accuracy target (docs/intops.md): max <= {}{} LSB: {}\n", tmax, tmean > 0 ? fmt::format(", mean <= {}", tmean) : "",
               j["meets_target"].get<bool>() ? "met" : "NOT met");
}

}  // namespace

void add_ops_command(CLI::App& app) {
  auto a = std::make_shared<OpsArgs>();
  auto* cmd = app.add_subcommand("ops", "Measure an integer operation (softmax, LayerNorm, activations) vs double");
  cmd->footer(
      "Builds the integer operation of include/gqalut/intops.hpp (docs/intops.md) from --tables, or\n"
      "from tables it fits itself (--entries, --method; automatic INT8 code formats):\n"
      "  softmax    EXP2M1 (2^x - 1 on [-1/2, 1/2), scale 8) + DIV (reci, scale 5); uint8 out at 2^-8\n"
      "  layernorm  RSQRT (rsqrt, scale 5); int8 out at 2^-4; gamma at 2^-6, eps 1e-5\n"
      "  gelu, hswish, silu, sigmoid, tanh   the table at scale --in-frac; int8 out at 2^-5\n"
      "and measures max and mean |error| in output steps (LSB) against double precision on the same\n"
      "quantized inputs, per row length. Standard rows (40 per length): softmax logits N(0, sd 0.5..2)\n"
      "at 2^-4 (--set normal), with one logit 6..8 above the rest (--set peaked), or int32 logits at\n"
      "2^-10 (--set int32); LayerNorm N(0.3, sd 0.5..2) with an outlier channel every 97; activations:\n"
      "every int8 code in the function's range. --rows FILE: your rows instead (.npy float32/64 real\n"
      "values or int8/16/32 codes at 2^-in_frac, 1-D or 2-D; or CSV, one row per line; at most\n"
      "16777216 values in 1048576 rows, docs/fuzzing.md).\n\n"
      "Examples:\n"
      "  gqalut ops softmax --entries 8 --json\n"
      "  gqalut ops softmax --entries 16 --set peaked\n"
      "  gqalut fit --func exp2m1 --entries 8 --scales 8 --method optimal --format auto -o exp2m1_8.json\n"
      "  gqalut ops softmax --tables exp2m1_8.json ../shared/reference/official/reci_pwl_7.json\n"
      "  gqalut ops layernorm --tables ../shared/reference/official/sqrt_reci_pwl_7.json\n"
      "  gqalut ops gelu --in-frac 5 --rows activations.npy   # your data: numpy.save('activations.npy', x)\n"
      "  gqalut ops softmax --method ibert          # I-BERT's integer operations, same rows\n");
  cmd->add_option("op", a->op, "softmax | layernorm | gelu | hswish | silu | sigmoid | tanh")->required();
  cmd->add_option("--tables", a->tables, "Table files: softmax EXP2M1 DIV; layernorm RSQRT; activations one")
      ->expected(1, 2);
  cmd->add_option("--entries", a->entries, "Entries of the tables ops fits (without --tables)")
      ->check(int_in(2, Table::kMaxEntries))
      ->capture_default_str();
  cmd->add_option("--method", a->method,
                  "Search method of the tables ops fits (gqalut fit --help lists them), or ibert: I-BERT's integer "
                  "softmax, layernorm and gelu (no tables)")
      ->capture_default_str();
  cmd->add_option("--in-frac", a->in_frac, "Input scale 2^-N (default 4; softmax --set int32: 10)")
      ->check(int_in(0, 20));
  cmd->add_option("--out-frac", a->out_frac, "Output scale 2^-N (default: softmax 8, layernorm 4, activations 5)")
      ->check(int_in(0, 15));
  cmd->add_option("--ibert-work-frac", a->ibert_work_frac,
                  "--method ibert softmax: the scale 2^-N i-exp works at (the logits shifted there exactly; "
                  "default max(in_frac, 10); = --in-frac: I-BERT at the logits' own scale)")
      ->check(int_in(1, 20));
  cmd->add_option("--set", a->set, "softmax row set: normal | peaked | int32")->capture_default_str();
  cmd->add_option("--rows", a->rows_file, "Your rows: .npy or CSV (instead of the standard set)");
  cmd->add_option("--rows-per-length", a->rows_per_length, "Standard rows per row length")
      ->check(int_in(1, 100000))
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed of the standard rows")->check(seed_value())->capture_default_str();
  cmd->add_flag("--json", a->json, "Print one JSON object: {\"op\", ..., \"rows\": [{\"n\", \"max_err_lsb\", ...}]}");
  cmd->callback([a] { run(*a); });
}

}  // namespace gqalut::cli
