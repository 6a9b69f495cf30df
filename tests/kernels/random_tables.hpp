// Test helpers: official tables and seeded random valid tables.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "gqalut/io.hpp"
#include "gqalut/table.hpp"

namespace gqalut_test {

// The seed: GQALUT_TEST_SEED if set (to replay a failure), else a fixed one.
inline uint64_t test_seed() {
  const char* env = std::getenv("GQALUT_TEST_SEED");
  return env ? std::strtoull(env, nullptr, 10) : 20240319ull;
}

inline std::string official_dir() { return std::string(GQALUT_SHARED_DIR) + "/reference/official"; }

// Every official table file, loaded.
inline std::vector<std::pair<std::string, gqalut::TableSet>> official_sets() {
  std::vector<std::pair<std::string, gqalut::TableSet>> out;
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(official_dir()))
    if (e.path().extension() == ".json") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) out.emplace_back(std::filesystem::path(f).filename().string(), gqalut::read_json_file(f));
  return out;
}

inline gqalut::Format random_format(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0: return gqalut::kQ1_6;
    case 1: return gqalut::kQ2_5;
    default: {  // auto-like: any width 8..16 and fraction
      int width = 8 + static_cast<int>(rng() % 9);
      int frac = static_cast<int>(rng() % 16);
      return gqalut::Format{frac, width};
    }
  }
}

// A random valid table at scale n: 2..64 entries (half of them <= 16),
// breakpoints spread a little beyond the input span (duplicates allowed).
inline gqalut::Table random_table(std::mt19937_64& rng, int n, int input_bits = 8) {
  gqalut::Table t;
  t.n = n;
  int k = rng() % 2 ? 2 + static_cast<int>(rng() % 15) : 2 + static_cast<int>(rng() % 63);
  t.slope_format = random_format(rng);
  t.intercept_format = rng() % 2 ? t.slope_format : random_format(rng);
  const int64_t span = int64_t{1} << (input_bits - 1);
  const int64_t margin = span / 4;
  std::uniform_int_distribution<int64_t> bp(-span - margin, span - 1 + margin);
  for (int i = 0; i + 1 < k; ++i) {
    int64_t v = bp(rng);
    if (i > 0 && rng() % 8 == 0) v = t.breakpoints.back();  // empty segment
    t.breakpoints.push_back(static_cast<int32_t>(v));
  }
  std::sort(t.breakpoints.begin(), t.breakpoints.end());
  auto code = [&](const gqalut::Format& f) {
    std::uniform_int_distribution<int64_t> d(f.min_code(), f.max_code());
    return static_cast<int32_t>(d(rng));
  };
  for (int i = 0; i < k; ++i) {
    t.slopes.push_back(code(t.slope_format));
    t.intercepts.push_back(code(t.intercept_format));
  }
  return t;
}

// True when eval_acc fits int32 for every code of the input span (what plans require).
inline bool acc_fits_int32(const gqalut::Table& t, int input_bits) {
  const int64_t span = int64_t{1} << (input_bits - 1);
  for (int64_t q = -span; q < span; ++q) {
    int64_t a = gqalut::eval_acc(t, static_cast<int32_t>(q));
    if (a < INT32_MIN || a > INT32_MAX) return false;
  }
  return true;
}

}  // namespace gqalut_test
