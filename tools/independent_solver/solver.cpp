// independent_solver: the per-scale optimum of an 8-entry INT8 table by a
// deliberately plain method, sharing no code with gqalut (src/search), to
// cross-check gqalut::Optimal.
//
//   for each scale n: points = int8 codes q with x = q 2^-n in [lo, hi]
//   for every point range [i, j): try ALL 256 x 256 (K, B) code pairs (Q1.6),
//       cost from centred long-double moments of the range (no pruning)
//   DP over ranges: best[t][j] = min_i best[t-1][i] + cost[i][j]
//   final MSE: re-evaluated on the integer datapath acc = K q + (B << n).
//
// Usage: independent_solver [--ops gelu,hswish,exp,reci,rsqrt] [--scales 0:6]
//                           [--entries 8]
// Prints "op n points mse" per scale and "op paper_score value".
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

// Every (K, B) pair, cost from centred moments.
Fit brute_fit(const std::vector<double>& x, const std::vector<double>& y, int i, int j) {
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
  double vb[256];
  for (int b = -128; b < 128; ++b) vb[b + 128] = b / 64.0;
  Fit best;
  best.cost = std::numeric_limits<double>::infinity();
  for (int k = -128; k < 128; ++k) {
    double u = k / 64.0;
    double off = double(u * mx - my);
    double rest = double(u * u * cxx - 2 * u * cxy + cyy);
    double nn = double(n);
    double row_best = std::numeric_limits<double>::infinity();
    int row_b = 0;
    for (int b = 0; b < 256; ++b) {
      double d = off + vb[b];
      double c = nn * d * d + rest;
      if (c < row_best) row_best = c, row_b = b - 128;
    }
    if (row_best < best.cost) best = Fit{k, row_b, row_best};
  }
  return best;
}

std::vector<int> parse_scales(const char* s) {
  std::vector<int> out;
  int a, b;
  if (std::sscanf(s, "%d:%d", &a, &b) == 2)
    for (int v = a; v <= b; ++v) out.push_back(v);
  else
    out.push_back(std::atoi(s));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string ops = "gelu,hswish,exp,reci,rsqrt";
  std::vector<int> scales = parse_scales("0:6");
  int entries = 8;
  for (int a = 1; a + 1 < argc; a += 2) {
    if (!std::strcmp(argv[a], "--ops")) ops = argv[a + 1];
    else if (!std::strcmp(argv[a], "--scales")) scales = parse_scales(argv[a + 1]);
    else if (!std::strcmp(argv[a], "--entries")) entries = std::atoi(argv[a + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--ops a,b] [--scales 0:6] [--entries 8]\n", argv[0]);
      return 2;
    }
  }
  for (const Op& op : kOps) {
    if (("," + ops + ",").find("," + std::string(op.name) + ",") == std::string::npos) continue;
    double sum = 0;
    int with = 0;
    for (int n : scales) {
      std::vector<int> q;
      std::vector<double> x, y;
      for (int c = -128; c <= 127; ++c) {
        double xv = std::ldexp(double(c), -n);
        if (xv >= op.lo && xv <= op.hi) q.push_back(c), x.push_back(xv), y.push_back(op.f(xv));
      }
      int N = int(q.size());
      if (N == 0) continue;
      std::vector<std::vector<Fit>> seg(N + 1, std::vector<Fit>(N + 1));
      for (int i = 0; i < N; ++i)
        for (int j = i + 1; j <= N; ++j) seg[i][j] = brute_fit(x, y, i, j);
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
      double sse = 0;
      for (int t = 0; t < entries; ++t)
        for (int p = cut[t]; p < cut[t + 1]; ++p) {
          const Fit& f = seg[cut[t]][cut[t + 1]];
          long long acc = (long long)f.k * q[p] + (long long)f.b * (1LL << n);
          double e = std::ldexp(double(acc), -(n + 6)) - y[p];
          sse += e * e;
        }
      double mse = sse / N;
      std::printf("%s %d %d %.17g\n", op.name, n, N, mse);
      std::fflush(stdout);
      sum += mse;
      ++with;
    }
    std::printf("%s paper_score %.17g\n", op.name, with ? sum / with : 0.0);
  }
  return 0;
}
