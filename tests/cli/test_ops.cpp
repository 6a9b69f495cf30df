// gqalut ops as a user runs it: the JSON it prints, the issue 10 targets on the
// standard row sets, a user's rows from .npy and CSV, and one clear line + exit 2
// for bad input.
#include <gtest/gtest.h>

#include "run_tool.hpp"
#include "support/npy.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace {

using namespace cli_test;  // run_tool.hpp: run, Outcome, official, slurp, tmpdir, expect_refused

nlohmann::json run_json(const std::string& args) {
  Outcome r = run(args + " --json");
  EXPECT_EQ(r.code, 0) << args << "\n" << r.err;
  EXPECT_EQ(r.err, "");
  return nlohmann::json::parse(r.out);
}

// A bad input: exit 2, nothing on stdout, one error line that contains message_part.
void expect_error(const std::string& args, const std::string& message_part) {
  SCOPED_TRACE(args);
  const Outcome r = run(args);
  expect_refused(r, "");
  EXPECT_NE(r.err.find(message_part), std::string::npos) << r.err;
}

// The JSON shape of the issue, one entry per standard row length, errors that are real numbers.
void expect_rows(const nlohmann::json& j, const std::string& op, std::vector<size_t> ns) {
  ASSERT_EQ(j.at("op"), op);
  ASSERT_EQ(j.at("rows").size(), ns.size());
  for (size_t i = 0; i < ns.size(); ++i) {
    const auto& r = j["rows"][i];
    EXPECT_EQ(r.at("n").get<size_t>(), ns[i]);
    const double mx = r.at("max_err_lsb"), mean = r.at("mean_err_lsb");
    EXPECT_GT(mx, 0.0);
    EXPECT_LE(mean, mx);
    EXPECT_GE(mx, r.at("floor_max_err_lsb").get<double>() - 1e-12);
  }
}

TEST(Ops, SoftmaxMeetsTheTargetsWith8And16Entries) {
  for (int entries : {8, 16})
    for (const char* set : {"normal", "peaked", "int32"}) {
      SCOPED_TRACE(std::string(set) + " " + std::to_string(entries));
      auto j = run_json("ops softmax --entries " + std::to_string(entries) + " --set " + set);
      expect_rows(j, "softmax", {197, 768, 3072});
      EXPECT_EQ(j.at("set"), set);
      EXPECT_EQ(j.at("tables").size(), 2u);
      for (const auto& t : j["tables"]) {
        EXPECT_EQ(t.at("entries"), entries);
        EXPECT_TRUE(t.at("int8").get<bool>());
      }
      const double target = entries == 8 ? 1.5 : 1.0;
      EXPECT_EQ(j.at("target").at("max_err_lsb"), target);
      for (const auto& r : j["rows"]) {
        EXPECT_LE(r["max_err_lsb"].get<double>(), target);
        EXPECT_LE(r["mean_err_lsb"].get<double>(), 0.25);
      }
      EXPECT_TRUE(j.at("meets_target").get<bool>());
    }
}

TEST(Ops, LayerNormAndActivations) {
  auto j = run_json("ops layernorm --entries 8");
  expect_rows(j, "layernorm", {197, 768, 3072});
  for (const auto& r : j["rows"]) EXPECT_LE(r["max_err_lsb"].get<double>(), 1.0);
  EXPECT_TRUE(j.at("meets_target").get<bool>());
  auto o = run_json("ops layernorm --tables " + official("sqrt_reci_pwl_7.json"));
  expect_rows(o, "layernorm", {197, 768, 3072});
  EXPECT_EQ(o["tables"][0]["source"], official("sqrt_reci_pwl_7.json"));
  // Activations: every int8 code in [-4, 4] at 2^-4 (129 codes).
  for (const char* op : {"gelu", "hswish", "silu"}) {
    auto a = run_json(std::string("ops ") + op);
    expect_rows(a, op, {129});
    EXPECT_LE(a["rows"][0]["max_err_lsb"].get<double>(), 1.5) << op;
  }
}

// The official 8-entry EXP table (e^x on [-8, 0]) is not an exp2m1 table: refused with a hint.
TEST(Ops, SoftmaxTablesFromFiles) {
  // A table gqalut fits itself, written by `gqalut fit`, then given back to ops.
  const fs::path t = tmpdir() / "exp2m1_8.json";
  Outcome f = run("fit --func exp2m1 --method optimal --format auto --entries 8 --scales 8 -q -o " + t.string());
  ASSERT_EQ(f.code, 0) << f.err;
  auto j = run_json("ops softmax --tables " + t.string() + " " + official("reci_pwl_7.json"));
  expect_rows(j, "softmax", {197, 768, 3072});
  EXPECT_TRUE(j.at("meets_target").get<bool>());
  expect_error("ops softmax --tables " + official("exp_pwl_7.json") + " " + official("reci_pwl_7.json"), "2^x - 1");
}

TEST(Ops, UserRowsFromNpyAndCsv) {
  // CSV: two rows of 5 and one of 3 logits (real values): grouped by length.
  const fs::path csv = tmpdir() / "rows.csv";
  std::ofstream(csv) << "# logits\n0.5, -1, 2, 0.25, 0\n1,1,1,1,1\n\n3, -2.5, 0\n";
  auto j = run_json("ops softmax --rows " + csv.string());
  EXPECT_EQ(j.at("set"), "file");
  ASSERT_EQ(j["rows"].size(), 2u);
  EXPECT_EQ(j["rows"][0]["n"], 3);
  EXPECT_EQ(j["rows"][1]["n"], 5);
  EXPECT_EQ(j["rows"][1]["rows"], 2);
  EXPECT_FALSE(j.contains("target"));
  // .npy int8 codes (2 x 4) at 2^-4, and float32 values (1 x 6).
  auto write_npy = [](const fs::path& p, const std::string& descr, const std::string& shape, const void* data,
                      size_t bytes) {
    std::ofstream(p, std::ios::binary) << gqalut_test::npy(descr, shape, std::string(static_cast<const char*>(data), bytes));
  };
  const int8_t codes[8] = {0, 16, -16, 32, 127, -128, 5, 5};
  const fs::path n8 = tmpdir() / "codes.npy";
  write_npy(n8, "|i1", "2, 4", codes, sizeof codes);
  auto c = run_json("ops softmax --rows " + n8.string());
  ASSERT_EQ(c["rows"].size(), 1u);
  EXPECT_EQ(c["rows"][0]["n"], 4);
  EXPECT_EQ(c["rows"][0]["rows"], 2);
  EXPECT_LE(c["rows"][0]["max_err_lsb"].get<double>(), 1.0);
  const float vals[6] = {-3.0f, -1.5f, 0.0f, 0.75f, 2.0f, 3.9f};
  const fs::path nf = tmpdir() / "vals.npy";
  write_npy(nf, "<f4", "6,", vals, sizeof vals);
  auto g = run_json("ops gelu --rows " + nf.string());
  EXPECT_EQ(g["rows"][0]["n"], 6);
  EXPECT_LE(g["rows"][0]["max_err_lsb"].get<double>(), 1.5);
  // Bad files: one line each, naming the file and the rule.
  const fs::path bad = tmpdir() / "bad.csv";
  std::ofstream(bad) << "1, 2, x3\n";
  expect_error("ops softmax --rows " + bad.string(), "line 1");
  const fs::path u8 = tmpdir() / "u8.npy";
  write_npy(u8, "|u1", "4,", codes, 4);
  expect_error("ops softmax --rows " + u8.string(), "dtype '|u1' is not supported");
}

TEST(Ops, BadArguments) {
  expect_error("ops softmax --tables " + official("reci_pwl_7.json"), "softmax takes 2 table files");
  expect_error("ops nonsense", "unknown op 'nonsense'");
  expect_error("ops gelu --set peaked", "--set peaked applies to softmax");
  expect_error("ops softmax --method nosuch", "unknown method 'nosuch'");
  expect_error("ops softmax --entries 1", "--entries");
  Outcome h = run("ops --help");
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("gqalut ops softmax --entries 8 --json"), std::string::npos);
}

}  // namespace
