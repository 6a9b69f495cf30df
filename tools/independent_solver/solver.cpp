// independent_solver: the per-scale optimum of a K-entry table by a
// deliberately plain method, sharing no code with gqalut (src/search), to
// cross-check gqalut::Optimal (and the error columns of `gqalut sweep`).
//
//   for each scale n: points = b_in-bit codes q with x = q 2^-n in [lo, hi]
//   for every point range [i, j): try ALL (K, B) code pairs of the slope and
//       intercept formats (256 x 256 for 8-bit codes), cost from centred
//       long-double moments of the range (no pruning)
//   DP over ranges: best[t][j] = min_i best[t-1][i] + cost[i][j]
//   final MSE: re-evaluated on the integer datapath of SPEC section 2,
//       L = max(n + Fk, Fb), acc = (K q) << (L - n - Fk) + (B << (L - Fb)).
//
// Usage: independent_solver [--ops gelu,hswish,exp,reci,rsqrt] [--scales 0:6 | 0,1,2 | 0;1;2]
//                           [--entries 8] [--input-bits 8]
//                           [--slope-format q1.6] [--intercept-format q1.6] [--max]
// Prints "op n points mse" per scale (with --max: "op n points mse max_abs")
// and "op paper_score value".
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace {

struct Op {
  const char* name;
  double lo, hi;
  double (*f)(double);
};

double gelu(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double hswish(double x) { return x * std::fmin(std::fmax(x + 3, 0.0), 6.0) / 6; }
double expf_(double x) { return std::exp(x); }
double reci(double x) { return 1 / x; }
double rsqrt(double x) { return 1 / std::sqrt(x); }

const Op kOps[] = {{"gelu", -4, 4, gelu},
                   {"hswish", -4, 4, hswish},
                   {"exp", -8, 0, expf_},
                   {"reci", 0.5, 4, reci},
                   {"rsqrt", 0.25, 4, rsqrt}};

struct Fit {
  int k = 0, b = 0;
  double cost = 0;
};

struct Codes {
  int kw = 8, kf = 6, bw = 8, bf = 6;  // widths and fractional bits
};

// Every (K, B) pair, cost from centred moments.
Fit brute_fit(const std::vector<double>& x, const std::vector<double>& y, int i, int j, const Codes& c) {
  long double mx = 0, my = 0;
  for (int t = i; t < j; ++t) mx += x[t], my += y[t];
  long double n = j - i;
  mx /= n;
  my /= n;
  long double cxx = 0, cxy = 0, cyy = 0;
  for (int t = i; t < j; ++t) {
    long double dx = x[t] - mx, dy = y[t] - my;
    cxx += dx * dx, cxy += dx * dy, cyy += dy * dy;
  }
  // cost(u, v) = n (u mx + v - my)^2 + u^2 cxx - 2 u cxy + cyy
  const int kmin = -(1 << (c.kw - 1)), bmin = -(1 << (c.bw - 1)), nb = 1 << c.bw;
  std::vector<double> vb(nb);
  for (int b = 0; b < nb; ++b) vb[b] = std::ldexp(double(b + bmin), -c.bf);
  Fit best;
  best.cost = std::numeric_limits<double>::infinity();
  for (int k = kmin; k < -kmin; ++k) {
    double u = std::ldexp(double(k), -c.kf);
    double off = double(u * mx - my);
    double rest = double(u * u * cxx - 2 * u * cxy + cyy);
    double nn = double(n);
    double row_best = std::numeric_limits<double>::infinity();
    int row_b = 0;
    for (int b = 0; b < nb; ++b) {
      double d = off + vb[b];
      double cost = nn * d * d + rest;
      if (cost < row_best) row_best = cost, row_b = b + bmin;
    }
    if (row_best < best.cost) best = Fit{k, row_b, row_best};
  }
  return best;
}

std::vector<int> parse_scales(const char* s) {
  std::vector<int> out;
  int a, b;
  if (std::sscanf(s, "%d:%d", &a, &b) == 2) {
    for (int v = a; v <= b; ++v) out.push_back(v);
    return out;
  }
  for (const char* p = s; *p;) {  // 0,1,2 or 0;1;2
    out.push_back(std::atoi(p));
    while (*p && *p != ',' && *p != ';') ++p;
    if (*p) ++p;
  }
  return out;
}

// qI.F: width 1 + I + F (I may be negative), F fractional bits.
bool parse_format(const char* s, int* width, int* frac) {
  int i = 0, f = 0;
  if ((s[0] != 'q' && s[0] != 'Q') || std::sscanf(s + 1, "%d.%d", &i, &f) != 2) return false;
  *width = 1 + i + f;
  *frac = f;
  return *width >= 2 && *width <= 12 && f >= 0 && f <= 20;
}

}  // namespace

int main(int argc, char** argv) {
  std::string ops = "gelu,hswish,exp,reci,rsqrt";
  std::vector<int> scales = parse_scales("0:6");
  int entries = 8, input_bits = 8;
  bool with_max = false;
  Codes codes;
  for (int a = 1; a < argc; a += 2) {
    bool ok = true;
    if (!std::strcmp(argv[a], "--max")) {
      with_max = true;
      --a;
      continue;
    }
    if (a + 1 >= argc) ok = false;
    else if (!std::strcmp(argv[a], "--ops")) ops = argv[a + 1];
    else if (!std::strcmp(argv[a], "--scales")) scales = parse_scales(argv[a + 1]);
    else if (!std::strcmp(argv[a], "--entries")) entries = std::atoi(argv[a + 1]);
    else if (!std::strcmp(argv[a], "--input-bits")) input_bits = std::atoi(argv[a + 1]);
    else if (!std::strcmp(argv[a], "--slope-format")) ok = parse_format(argv[a + 1], &codes.kw, &codes.kf);
    else if (!std::strcmp(argv[a], "--intercept-format")) ok = parse_format(argv[a + 1], &codes.bw, &codes.bf);
    else ok = false;
    if (!ok || entries < 1 || input_bits < 2 || input_bits > 16) {
      std::fprintf(stderr,
                   "usage: %s [--ops a,b] [--scales 0:6] [--entries 8] [--input-bits 8] [--slope-format q1.6] "
                   "[--intercept-format q1.6] [--max]\n",
                   argv[0]);
      return 2;
    }
  }
  const int qmin = -(1 << (input_bits - 1)), qmax = (1 << (input_bits - 1)) - 1;
  for (const Op& op : kOps) {
    if (("," + ops + ",").find("," + std::string(op.name) + ",") == std::string::npos) continue;
    double sum = 0;
    int with = 0;
    for (int n : scales) {
      std::vector<int> q;
      std::vector<double> x, y;
      for (int c = qmin; c <= qmax; ++c) {
        double xv = std::ldexp(double(c), -n);
        if (xv >= op.lo && xv <= op.hi) q.push_back(c), x.push_back(xv), y.push_back(op.f(xv));
      }
      int N = int(q.size());
      if (N == 0) continue;
      std::vector<std::vector<Fit>> seg(N + 1, std::vector<Fit>(N + 1));
      for (int i = 0; i < N; ++i)
        for (int j = i + 1; j <= N; ++j) seg[i][j] = brute_fit(x, y, i, j, codes);
      // dp[t][j]: best cost of points [0, j) with t + 1 segments (empty allowed).
      const double inf = std::numeric_limits<double>::infinity();
      std::vector<std::vector<double>> dp(entries, std::vector<double>(N + 1, inf));
      std::vector<std::vector<int>> from(entries, std::vector<int>(N + 1, 0));
      for (int j = 0; j <= N; ++j) dp[0][j] = j ? seg[0][j].cost : 0;
      for (int t = 1; t < entries; ++t)
        for (int j = 0; j <= N; ++j)
          for (int i = 0; i <= j; ++i) {
            double c = dp[t - 1][i] + (i < j ? seg[i][j].cost : 0);
            if (c < dp[t][j]) dp[t][j] = c, from[t][j] = i;
          }
      // Rebuild the segments and evaluate the integer datapath directly.
      std::vector<int> cut(entries + 1);
      cut[entries] = N;
      for (int t = entries - 1; t >= 1; --t) cut[t] = from[t][cut[t + 1]];
      const int L = std::max(n + codes.kf, codes.bf);
      double sse = 0, max_abs = 0;
      for (int t = 0; t < entries; ++t)
        for (int p = cut[t]; p < cut[t + 1]; ++p) {
          const Fit& f = seg[cut[t]][cut[t + 1]];
          long long acc = (long long)f.k * q[p] * (1LL << (L - n - codes.kf)) + (long long)f.b * (1LL << (L - codes.bf));
          double e = std::ldexp(double(acc), -L) - y[p];
          sse += e * e;
          max_abs = std::fmax(max_abs, std::fabs(e));
        }
      double mse = sse / N;
      if (with_max)
        std::printf("%s %d %d %.17g %.17g\n", op.name, n, N, mse, max_abs);
      else
        std::printf("%s %d %d %.17g\n", op.name, n, N, mse);
      std::fflush(stdout);
      sum += mse;
      ++with;
    }
    std::printf("%s paper_score %.17g\n", op.name, with ? sum / with : 0.0);
  }
  return 0;
}
