// The gqalut tool as a user runs it: real outputs, and one clear line + exit 2 for bad input.
#include <gtest/gtest.h>

#include "run_tool.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "gqalut/function.hpp"
#include "gqalut/io.hpp"
#include "gqalut/metrics.hpp"

namespace fs = std::filesystem;

namespace {

using namespace cli_test;  // run_tool.hpp: run, Outcome, official, slurp, tmpdir, expect_refused

// A bad input: exit 2, nothing on stdout, exactly one line on stderr starting with the message.
void expect_error(const std::string& args, const std::string& message_start) {
  SCOPED_TRACE(args);
  expect_refused(run(args), message_start);
}

}  // namespace

TEST(Cli, BadInputsGetOneLineAndExitTwo) {
  fs::path trunc = tmpdir() / "truncated.json";
  std::string good = slurp(official("gelu_pwl_7.json"));
  std::ofstream(trunc) << good.substr(0, good.size() / 2);
  fs::path wide = tmpdir() / "wide.json";
  std::ofstream(wide) << R"({"gelu": {"6": {"breakpoints": [0.5], "slopes": [0, 3.5], "intercepts": [0, 0]}},
                            "gqalut": {"slope_format": "q1.6"}})";
  expect_error("fit --func gleu", "unknown function 'gleu'");
  expect_error("fit", "give the function: --func NAME");
  expect_error("fit --func gelu --range 1 1", "range must satisfy lo < hi, got [1, 1] (empty)");
  expect_error("fit --func gelu --range 2 -2", "range must satisfy lo < hi, got [2, -2] (inverted)");
  expect_error("fit --func gelu --range nan 1", "range must be finite");
  expect_error("fit --func gelu --range 0 inf", "range must be finite");
  expect_error("fit --func rsqrt --range -4 4", "rsqrt is not finite on [-4, 4]");
  expect_error("fit --func gelu --entries 300", "--entries: must be an integer in [2, 64], got '300'");
  expect_error("fit --func gelu --entries 1", "--entries: must be an integer in [2, 64], got '1'");
  expect_error("fit --func gelu --format q9.9", "format must be qI.F");
  expect_error("fit --func gelu --scales 0:99", "scales must look like");
  expect_error("fit --expr 'x+' --range -1 1", "expression 'x+' is invalid");
  expect_error("fit --expr 'x'", "--expr needs --range LO HI");
  expect_error("fit --func gelu --method magic", "unknown method 'magic' (known: optimal");
  expect_error("fit --func gelu --faithful --improved", "give --faithful or --improved, not both");
  // Options the chosen method would ignore are refused, not silently dropped.
  expect_error("fit --func gelu --method optimal --generations 10",
               "--generations applies to --method ga, not to --method optimal");
  expect_error("fit --func gelu --faithful --objective max", "--objective applies to --method optimal, uniform");
  expect_error("fit --func gelu --method nnlut --shared", "--shared applies to --method optimal, uniform");
  expect_error("fit --func gelu --method uniform --seed 3", "--seed applies to --method ga and nnlut");
  expect_error("eval --table /nonexistent.json", "cannot open table file '/nonexistent.json'");
  expect_error("eval --table " + trunc.string(), trunc.string() + ": malformed JSON");
  expect_error("eval --table " + wide.string(), wide.string() + ": gelu.6: slope 3.5 does not fit q1.6");
  expect_error("eval --table " + official("gelu_pwl_7.json") + " --protocol exact", "protocol must be int or grid");
  expect_error("eval --table " + official("gelu_pwl_7.json") + " --scales 9", "table has no scale n = 9");
  expect_error("export --format pdf " + official("gelu_pwl_7.json"), "unknown export format 'pdf'");
  expect_error("fit --func gelu --entries abc", "");  // CLI11's own message, still one line
  expect_error("frobnicate", "");
}

TEST(Cli, HelpTeachesEverySubcommand) {
  for (const char* sub : {"fit", "eval", "show", "export", "compare"}) {
    Outcome r = run(std::string(sub) + " --help");
    EXPECT_EQ(r.code, 0) << sub;
    EXPECT_NE(r.out.find("Example"), std::string::npos) << sub << r.out;
  }
  EXPECT_EQ(run("--help").code, 0);
}

TEST(Cli, EvalJsonMatchesTheLibraryOnEveryOfficialFile) {
  for (const auto& e : fs::directory_iterator(std::string(GQALUT_SHARED_DIR) + "/reference/official")) {
    for (const char* protocol : {"int", "grid"}) {
      Outcome r = run("eval --json --protocol " + std::string(protocol) + " --table " + e.path().string());
      ASSERT_EQ(r.code, 0) << r.err;
      auto j = nlohmann::json::parse(r.out);
      gqalut::TableSet set = gqalut::read_json_file(e.path().string());
      const auto& fn = gqalut::find_function(set.function);
      auto rep = gqalut::evaluate(set, fn.f, fn.lo, fn.hi, gqalut::parse_protocol(protocol));
      EXPECT_EQ(j["protocol"], protocol);
      EXPECT_EQ(j["entries"], set.entries());
      ASSERT_EQ(j["scales"].size(), rep.scales.size());
      for (size_t i = 0; i < rep.scales.size(); ++i) {
        EXPECT_EQ(j["scales"][i]["n"], rep.scales[i].n);
        EXPECT_EQ(j["scales"][i]["points"], rep.scales[i].points);
        EXPECT_DOUBLE_EQ(j["scales"][i]["mse"].get<double>(), rep.scales[i].mse);
        EXPECT_DOUBLE_EQ(j["scales"][i]["max_abs_error"].get<double>(), rep.scales[i].max_abs_error);
      }
      EXPECT_DOUBLE_EQ(j["paper_score"].get<double>(), rep.paper_score);
    }
  }
}

TEST(Cli, ShowPrintsCodesAndValues) {
  Outcome r = run("show " + official("gelu_pwl_7.json") + " --scales 6");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("scale n = 6"), std::string::npos);
  EXPECT_NE(r.out.find("-193 (-3.015625)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-7 (-0.109375)"), std::string::npos) << r.out;
}

TEST(Cli, FitWritesATableThatEvalReproducesAndIsDeterministic) {
  for (const char* method : {"optimal", "ga --faithful --seed 7", "ga --improved --generations 40 --seed 7",
                             "uniform", "nnlut --seed 7"}) {
    SCOPED_TRACE(method);
    fs::path a = tmpdir() / "a.json", b = tmpdir() / "b.json";
    std::string args = std::string("fit --func gelu --entries 4 --scales 2:4 -q --method ") + method;
    Outcome r1 = run(args + " -o " + a.string());
    ASSERT_EQ(r1.code, 0) << r1.err;
    Outcome r2 = run(args + " -o " + b.string());
    ASSERT_EQ(r2.code, 0) << r2.err;
    EXPECT_EQ(slurp(a), slurp(b));  // same seed, same bytes
    auto meta = nlohmann::json::parse(slurp(a))["gqalut"];
    Outcome ev = run("eval --json --table " + a.string());
    ASSERT_EQ(ev.code, 0) << ev.err;
    auto j = nlohmann::json::parse(ev.out);
    EXPECT_DOUBLE_EQ(j["paper_score"].get<double>(), meta["errors"]["paper_score"].get<double>());
    EXPECT_EQ(j["scales"].size(), 3u);
  }
}

TEST(Cli, FaithfulReplayReproducesTheOfficialGeluTable) {
  // The numpy-deap engine replays the official trainer's random streams: seed 42 gives its table.
  fs::path out = tmpdir() / "official_replay.json";
  Outcome r = run("fit --func gelu --faithful --engine numpy-deap --seed 42 -q -o " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  // Compared as gqalut reads them: our file stores half-code breakpoints (the official op then
  // computes the as-trained function), the official one codes on the grid; same codes, same rule.
  gqalut::TableSet ours = gqalut::read_json_file(out.string());
  gqalut::TableSet theirs = gqalut::read_json_file(official("gelu_pwl_7.json"));
  ASSERT_EQ(ours.scales(), theirs.scales());
  EXPECT_EQ(ours.tie(), theirs.tie());
  for (int n : theirs.scales()) {
    SCOPED_TRACE("scale " + std::to_string(n));
    EXPECT_EQ(ours.at(n).breakpoints, theirs.at(n).breakpoints);
    EXPECT_EQ(ours.at(n).slopes, theirs.at(n).slopes);
    EXPECT_EQ(ours.at(n).intercepts, theirs.at(n).intercepts);
  }
}
