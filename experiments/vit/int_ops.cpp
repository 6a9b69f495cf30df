// gqalut ViT experiment: integer non-linear operations (see int_ops.hpp).
#include "int_ops.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <vector>

#include "gqalut/io.hpp"
#ifdef GQALUT_VIT_HAVE_KERNELS
#include "gqalut/kernels.hpp"
#endif

namespace gqalut::vit {
namespace {

int largest_scale_at_most(const TableSet& set, int limit, const char* what) {
  int best = -1;
  for (int n : set.scales()) {
    if (n <= limit) best = std::max(best, n);
  }
  if (best < 0) {
    throw std::invalid_argument(std::string(what) + " table needs a scale <= " +
                                std::to_string(limit) + ", has none");
  }
  return best;
}

int64_t saturate8(int64_t v) { return std::clamp<int64_t>(v, -128, 127); }

}  // namespace

void choose_reduction_scales(LutBank& bank) {
  bank.reci_n = largest_scale_at_most(bank.reci, 6, "reci");
  bank.rsqrt_n = largest_scale_at_most(bank.rsqrt, 5, "rsqrt");
}

std::vector<std::string> model_functions(const std::string& model) {
  if (model == "vit") return {"gelu", "exp", "reci", "rsqrt"};
  if (model == "effvit") return {"hswish", "reci", "rsqrt"};
  throw std::invalid_argument("model must be vit or effvit, got '" + model + "'");
}

LutBank load_bank(const std::string& dir, const std::string& method, int entries,
                  const std::vector<std::string>& functions) {
  LutBank bank;
  bank.name = method + "-" + std::to_string(entries);
  auto path = [&](const std::string& fn) {
    return dir + "/" + method + "_" + std::to_string(entries) + "_" + fn + ".json";
  };
  for (const auto& fn : functions) {
    TableSet* set = fn == "gelu"     ? &bank.gelu
                    : fn == "exp"    ? &bank.exp
                    : fn == "hswish" ? &bank.hswish
                    : fn == "reci"   ? &bank.reci
                    : fn == "rsqrt"  ? &bank.rsqrt
                                     : nullptr;
    if (!set) throw std::invalid_argument("table function must be gelu, exp, hswish, reci or rsqrt, got '" + fn + "'");
    *set = read_json_file(path(fn));
  }
  choose_reduction_scales(bank);
  return bank;
}

LutBank load_official_bank(const std::string& dir, int entries) {
  LutBank bank;
  bank.name = "official-" + std::to_string(entries);
  auto path = [&](const char* fn) {
    return dir + "/" + fn + "_pwl_" + std::to_string(entries - 1) + ".json";
  };
  bank.gelu = read_json_file(path("gelu"));
  bank.exp = read_json_file(path("exp"));
  bank.reci = read_json_file(path("reci"));
  bank.rsqrt = read_json_file(path("sqrt_reci"));
  if (std::filesystem::exists(path("hswish"))) bank.hswish = read_json_file(path("hswish"));
  choose_reduction_scales(bank);
  return bank;
}

int clamp_scale(const TableSet& set, int n, int n_lo, int n_hi) {
  std::vector<int> scales;
  for (int s : set.scales()) {
    if (s >= n_lo && s <= n_hi) scales.push_back(s);
  }
  if (scales.empty()) {
    throw std::invalid_argument("table '" + set.function + "' has no scale in [" +
                                std::to_string(n_lo) + ", " + std::to_string(n_hi) + "]");
  }
  int best = scales.front();
  for (int s : scales) {
    if (std::abs(s - n) < std::abs(best - n)) best = s;
  }
  return best;
}

int floor_log2(int64_t v) {
  int e = 0;
  while (v > 1) {
    v >>= 1;
    ++e;
  }
  return e;
}

int64_t round_shift(int64_t v, int s) {
  if (s <= 0) return v * (int64_t{1} << -s);
  const int64_t half = int64_t{1} << (s - 1);
  const int64_t mag = v < 0 ? -v : v;
  const int64_t r = (mag + half) >> s;
  return v < 0 ? -r : r;
}

#ifdef GQALUT_VIT_HAVE_KERNELS
namespace {
// Plans of gqalut's kernels, built once per distinct table. The cache is keyed
// by the table's content, not its address: a table freed by one experiment and
// another allocated at the same address by the next must not reuse the plan
// (an address key did exactly that, and the integer-only check then compared
// against the wrong table whenever the heap happened to line up).
const PwlPlan& plan_of(const Table& t) {
  static std::map<std::vector<int32_t>, PwlPlan> plans;
  std::vector<int32_t> key{t.n,
                           t.slope_format.frac_bits,
                           t.slope_format.width,
                           t.intercept_format.frac_bits,
                           t.intercept_format.width,
                           static_cast<int32_t>(t.breakpoints.size())};
  key.insert(key.end(), t.breakpoints.begin(), t.breakpoints.end());
  key.insert(key.end(), t.slopes.begin(), t.slopes.end());
  key.insert(key.end(), t.intercepts.begin(), t.intercepts.end());
  auto it = plans.find(key);
  if (it == plans.end()) it = plans.emplace(std::move(key), prepare_pwl(t, 8)).first;
  return it->second;
}
}  // namespace

// gqalut's int8 -> int32 PWL kernel (bit-exact with eval_acc by its contract).
void lut_apply(const Table& t, const int32_t* q, int64_t* acc, std::size_t count) {
  thread_local std::vector<int8_t> in;
  thread_local std::vector<int32_t> out;
  in.resize(count);
  out.resize(count);
  for (std::size_t i = 0; i < count; ++i) in[i] = static_cast<int8_t>(std::clamp(q[i], -128, 127));
  apply(plan_of(t), in.data(), out.data(), count);
  for (std::size_t i = 0; i < count; ++i) acc[i] = out[i];
}
#else
void lut_apply(const Table& t, const int32_t* q, int64_t* acc, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) acc[i] = eval_acc(t, q[i]);
}
#endif

namespace {
int64_t lookup(const Table& t, int32_t q) {
  int64_t acc = 0;
  lut_apply(t, &q, &acc, 1);
  return acc;
}
}  // namespace

void softmax_row(const Table& exp_t, const Table& reci_t, const int32_t* d, int32_t* p,
                 std::size_t count) {
  thread_local std::vector<int64_t> e;
  e.resize(count);
  lut_apply(exp_t, d, e.data(), count);
  int64_t sum = 0;
  for (std::size_t i = 0; i < count; ++i) sum += e[i];
  sum = std::max<int64_t>(sum, 1);  // a table that is <= 0 everywhere: avoid log of 0
  const int nr = reci_t.n;
  int big_e = floor_log2(sum);
  int64_t code = round_shift(sum, big_e - nr);  // m 2^nr, m = sum 2^-E in [1, 2]
  if (code == (int64_t{2} << nr)) {             // rounded up to m = 2
    code >>= 1;
    ++big_e;
  }
  const int64_t r = lookup(reci_t, static_cast<int32_t>(code));
  const int s = reci_t.shift() + big_e - kProbBits;
  for (std::size_t i = 0; i < count; ++i) {
    p[i] = static_cast<int32_t>(saturate8(round_shift(e[i] * r, s)));
  }
}

void reciprocal_reduce(const Table& reci_t, int64_t den, int64_t* r, int* big_e) {
  den = std::max<int64_t>(den, 1);
  const int nr = reci_t.n;
  int e = floor_log2(den);
  int64_t code = round_shift(den, e - nr);  // m 2^nr, m = den 2^-E in [1, 2]
  if (code == (int64_t{2} << nr)) {         // rounded up to m = 2
    code >>= 1;
    ++e;
  }
  *r = lookup(reci_t, static_cast<int32_t>(code));
  *big_e = e;
}

void linear_attention_head(const Table& reci_t, const int32_t* q, const int32_t* k,
                           const int32_t* v, int32_t* out, std::size_t tokens, std::size_t dim) {
  std::vector<int64_t> kv(dim * dim, 0), ks(dim, 0);
  for (std::size_t j = 0; j < tokens; ++j) {
    for (std::size_t a = 0; a < dim; ++a) {
      const int64_t b = std::max(k[j * dim + a], 0);
      ks[a] += b;
      for (std::size_t c = 0; c < dim; ++c) kv[a * dim + c] += b * v[j * dim + c];
    }
  }
  std::vector<int64_t> num(dim);
  for (std::size_t i = 0; i < tokens; ++i) {
    int64_t den = 1;  // the epsilon: one unit of 2^-(nq+nk)
    std::fill(num.begin(), num.end(), 0);
    for (std::size_t a = 0; a < dim; ++a) {
      const int64_t qa = std::max(q[i * dim + a], 0);
      den += qa * ks[a];
      for (std::size_t c = 0; c < dim; ++c) num[c] += qa * kv[a * dim + c];
    }
    int64_t r = 0;
    int big_e = 0;
    reciprocal_reduce(reci_t, den, &r, &big_e);
    const int s = reci_t.shift() + big_e;
    for (std::size_t c = 0; c < dim; ++c) {
      out[i * dim + c] = static_cast<int32_t>(saturate8(round_shift(num[c] * r, s)));
    }
  }
}

int64_t layernorm_eps_code(int nx, double eps) {
  return static_cast<int64_t>(std::llround(std::ldexp(eps, 2 * nx + 3 * kLnDimLog2)));
}

int layernorm_row(const Table& rsqrt_t, const int32_t* q, int64_t* prod, int nx, double eps) {
  int64_t sum = 0;
  for (int i = 0; i < kLnDim; ++i) sum += q[i];
  int64_t w = layernorm_eps_code(nx, eps);
  for (int i = 0; i < kLnDim; ++i) {
    const int64_t c = int64_t{kLnDim} * q[i] - sum;
    prod[i] = c;
    w += c * c;
  }
  w = std::max<int64_t>(w, 1);
  const int ns = rsqrt_t.n;
  int k = floor_log2(w) / 2;
  int64_t code = round_shift(w, 2 * k - ns);  // m 2^ns, m = w 4^-k in [1, 4]
  if (code == (int64_t{4} << ns)) {           // rounded up to m = 4
    code >>= 2;
    ++k;
  }
  const int64_t r = lookup(rsqrt_t, static_cast<int32_t>(code));
  for (int i = 0; i < kLnDim; ++i) prod[i] *= r;
  return rsqrt_t.shift() + k - (3 * kLnDimLog2 / 2 - kLnDimLog2);
}

}  // namespace gqalut::vit
