// gqalut: the GQA-LUT genetic algorithm (paper section 3, SPEC section 5), in
// two modes.
//
// Faithful (GaSettings::improved == false), the official trainer's run:
//   pop <- N individuals of K-1 breakpoints ~ U(breakpoint range)
//   evaluate pop                     # sort genes, chords, P-grid MSE
//   repeat G times:
//     off <- N tournament winners (size 3), cloned
//     for pairs (0,1), (2,3), ...: with p_cx two-point crossover
//     for each: with p_mut mutate (RM + Gaussian, clip)
//     evaluate changed ones; pop <- off          # no elitism
//   best <- best of pop; export it rounded to every scale's grid, one set of
//   chord coefficients for all scales.
//
// Improved (GaSettings::improved == true), per scale n (or once, shared):
//   genes are positions on the integer input grid (cut indices into the
//   scale's P-int points), coefficients are the exact best integer codes of
//   each segment (fit_line_int, cached per segment), fitness is the P-int
//   objective itself; the `elites` best survive each generation; every
//   changed offspring and the best get a coordinate-descent local search
//   (a memetic GA); duplicate breakpoints (empty segments) are repaired to
//   unused positions. Result::evaluations counts local-search moves too.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "ga_ops.hpp"
#include "gqalut/methods.hpp"
#include "gqalut/search.hpp"
#include "py_rng.hpp"
#include "quantize.hpp"
#include "rng.hpp"
#include "scale_driver.hpp"

namespace gqalut {
namespace detail {

double round_to_bits(double v, int j) {
  return std::ldexp(std::nearbyint(std::ldexp(v, j)), -j);  // half to even, like Python round
}

void FaithfulMutation::operator()(std::vector<double>& genes, Rng& rng) const {
  faithful_mutate(genes, *this, [&] { return rng.uniform(); }, [&](double mu, double sd) { return rng.normal(mu, sd); });
}

FaithfulFitness::FaithfulFitness(std::function<double(double)> f, double lo, double hi,
                                 double outer_lo, double outer_hi, int slope_frac_bits,
                                 int intercept_frac_bits)
    : f_(std::move(f)),
      outer_lo_(outer_lo),
      outer_hi_(outer_hi),
      k_scale_(std::ldexp(1.0, slope_frac_bits)),
      b_scale_(std::ldexp(1.0, intercept_frac_bits)),
      x_(arange(lo, hi, 0.01)) {
  y_.reserve(x_.size());
  for (double x : x_) y_.push_back(f_(x));
}

void FaithfulFitness::chords(const std::vector<double>& points, std::vector<double>& slopes,
                             std::vector<double>& intercepts) const {
  size_t k = points.size() - 1;
  slopes.resize(k);
  intercepts.resize(k);
  double fa = f_(points[0]);
  for (size_t s = 0; s < k; ++s) {
    double a = points[s], c = points[s + 1];
    double fc = f_(c);
    double slope = 0, icpt = 0;
    if (a != c) {
      slope = (fc - fa) / (c - a);
      icpt = fa - a * slope;  // with the unrounded slope
    }
    slopes[s] = std::nearbyint(slope * k_scale_) / k_scale_;
    intercepts[s] = std::nearbyint(icpt * b_scale_) / b_scale_;
    fa = fc;
  }
}

template <class Sink>
void FaithfulFitness::for_each_error(const std::vector<double>& genes, Sink&& error) const {
  size_t k = genes.size() + 1;
  pts_.resize(k + 1);
  pts_[0] = outer_lo_;
  std::copy(genes.begin(), genes.end(), pts_.begin() + 1);
  pts_[k] = outer_hi_;
  chords(pts_, k_, b_);
  // The trainer clamps the chord ends to the outer points only after the chords.
  for (double& p : pts_) p = std::min(std::max(p, outer_lo_), outer_hi_);
  // seg(x) = #{chord ends <= x} - 1, capped at K-1; the grid and the ends are
  // both sorted, so one merge-like sweep finds every segment. A count of 0
  // (x below outer_lo) is index -1 in Python, i.e. the last segment.
  size_t c = 0;
  for (size_t j = 0; j < x_.size(); ++j) {
    const double x = x_[j];
    while (c <= k && pts_[c] <= x) ++c;
    size_t s = c == 0 ? k - 1 : std::min(c - 1, k - 1);
    error(j, y_[j] - (k_[s] * x + b_[s]));
  }
}

double FaithfulFitness::operator()(const std::vector<double>& genes) const {
  double sse = 0;
  for_each_error(genes, [&](size_t, double e) { sse += e * e; });
  return x_.empty() ? 0.0 : sse / double(x_.size());
}

double FaithfulFitness::numpy_mse(const std::vector<double>& genes) const {
  sq_.resize(x_.size());
  for_each_error(genes, [&](size_t j, double e) { sq_[j] = e * e; });
  return x_.empty() ? 0.0 : numpy_pairwise_sum(sq_.data(), x_.size()) / double(x_.size());
}

}  // namespace detail

namespace {

using detail::Rng;

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

bool finite_pair(const std::pair<double, double>& r) {
  return std::isfinite(r.first) && std::isfinite(r.second) && r.first < r.second;
}

// The settings both modes resolve from the problem when left unset.
struct Resolved {
  bool rm = true;
  int rm_offset = 0;
  double bp_lo = 0, bp_hi = 0;
  double outer_lo = 0, outer_hi = 0;
};

Resolved resolve(const GaSettings& s, const Problem& p) {
  Resolved r;
  const Function& fn = p.function;
  // The official trainer's recipe (offsets, breakpoint ranges): data in methods.cpp.
  const OfficialRecipe recipe = official_recipe(fn, p.entries);
  r.rm = s.rounding_mutation.value_or(recipe.rounding_mutation);
  r.rm_offset = s.rm_offset.value_or(recipe.rm_offset);
  bool default_range = p.lo == fn.lo && p.hi == fn.hi;
  std::pair<double, double> bp{p.lo, p.hi};
  if (default_range && fn.is_builtin() && !s.improved) bp = {recipe.bp_lo, recipe.bp_hi};
  bp = s.breakpoint_range.value_or(bp);
  r.bp_lo = bp.first;
  r.bp_hi = bp.second;
  // Functions whose outer points are their range ends follow the problem's range.
  std::pair<double, double> outer{fn.outer_lo, fn.outer_hi};
  if (fn.outer_lo == fn.lo && fn.outer_hi == fn.hi) outer = {p.lo, p.hi};
  outer = s.outer_points.value_or(outer);
  r.outer_lo = outer.first;
  r.outer_hi = outer.second;
  return r;
}

nlohmann::json common_settings(const GaSettings& s, const Resolved& r) {
  return {{"method", s.improved ? "ga-improved" : "ga-faithful"},
          {"seed", s.seed},
          {"engine", Rng::kEngineName},
          {"population", s.population},
          {"generations", s.generations},
          {"crossover_prob", s.crossover_prob},
          {"mutation_prob", s.mutation_prob},
          {"sigma", s.sigma},
          {"tournament_size", 3},
          {"rounding_mutation", r.rm},
          {"rm_lo", s.rm_lo},
          {"rm_hi", s.rm_hi},
          {"rm_offset", r.rm_offset},
          {"breakpoint_range", {r.bp_lo, r.bp_hi}}};
}

// ---------------------------------------------------------------- faithful

Result faithful_export(const GaSettings& s, const Problem& p, const Resolved& r,
                       const detail::FaithfulFitness& fitness, const std::vector<double>& best,
                       double best_fitness, std::vector<double> log,
                       std::chrono::steady_clock::time_point t0, std::size_t evaluations);

// One faithful run in DEAP's eaSimple order on a source of draws `d`:
// d.gene() draws an initial gene, d.pick(n) a tournament entrant, d.coin() a
// uniform in [0, 1) for the crossover and mutation gates, d.crossover(a, b)
// and d.mutate(ind) apply the operators, d.fitness(sorted ind) scores.
template <class Draws>
Result evolve_faithful(const GaSettings& s, const Problem& p, const Resolved& r,
                       const detail::FaithfulFitness& fitness, Draws& d,
                       std::chrono::steady_clock::time_point t0) {
  const int genes = p.entries - 1;
  const int np = s.population;
  std::vector<std::vector<double>> pop(np, std::vector<double>(genes));
  std::vector<double> fit(np);
  std::size_t evaluations = 0;
  auto evaluate = [&](std::vector<double>& ind) {
    std::sort(ind.begin(), ind.end());  // the trainer sorts in place before evaluating
    ++evaluations;
    return d.fitness(ind);
  };
  for (auto& ind : pop)
    for (double& g : ind) g = d.gene();
  for (int i = 0; i < np; ++i) fit[i] = evaluate(pop[i]);
  auto best_of = [&]() { return int(std::min_element(fit.begin(), fit.end()) - fit.begin()); };
  std::vector<double> log{fit[best_of()]};

  std::vector<std::vector<double>> off(np);
  std::vector<double> off_fit(np);
  std::vector<char> valid(np);
  for (int gen = 1; gen <= s.generations; ++gen) {
    for (int i = 0; i < np; ++i) {  // tournament of 3, with replacement; ties: first drawn
      int w = d.pick(np);
      for (int t = 1; t < 3; ++t) {
        int c = d.pick(np);
        if (fit[c] < fit[w]) w = c;
      }
      off[i] = pop[w];
      off_fit[i] = fit[w];
      valid[i] = 1;
    }
    for (int i = 1; i < np; i += 2)
      if (d.coin() < s.crossover_prob) {
        d.crossover(off[i - 1], off[i]);
        valid[i - 1] = valid[i] = 0;
      }
    for (int i = 0; i < np; ++i)
      if (d.coin() < s.mutation_prob) {
        d.mutate(off[i]);
        valid[i] = 0;
      }
    for (int i = 0; i < np; ++i)
      if (!valid[i]) off_fit[i] = evaluate(off[i]);
    pop.swap(off);
    fit.swap(off_fit);
    log.push_back(fit[best_of()]);
    if (s.progress && (gen % 10 == 0 || gen == s.generations))
      s.progress(double(gen) / s.generations, fmt::format("generation {} best {:.4g}", gen, log.back()));
  }
  return faithful_export(s, p, r, fitness, pop[best_of()], fit[best_of()], std::move(log), t0,
                         evaluations);
}

// Our own random source (GaSettings::engine == "std::mt19937_64").
Result run_faithful(const GaSettings& s, const Problem& p) {
  auto t0 = std::chrono::steady_clock::now();
  Resolved r = resolve(s, p);
  auto [fk, fb] = p.resolve_formats();
  detail::FaithfulFitness fitness(p.function.f, p.lo, p.hi, r.outer_lo, r.outer_hi, fk.frac_bits,
                                  fb.frac_bits);
  struct Draws {
    const Resolved& r;
    const detail::FaithfulFitness& grid;
    detail::FaithfulMutation mutation;
    Rng rng;
    double gene() { return rng.uniform(r.bp_lo, r.bp_hi); }
    int pick(int n) { return rng.below(n); }
    double coin() { return rng.uniform(); }
    void crossover(std::vector<double>& a, std::vector<double>& b) { detail::two_point_crossover(a, b, rng); }
    void mutate(std::vector<double>& ind) { mutation(ind, rng); }
    double fitness(const std::vector<double>& ind) const { return grid(ind); }
  };
  Draws d{r, fitness, {r.rm, s.rm_lo, s.rm_hi, r.rm_offset, s.sigma, r.bp_lo, r.bp_hi}, Rng(s.seed)};
  return evolve_faithful(s, p, r, fitness, d, t0);
}

// The faithful modes' export: the best individual's chords, its breakpoints
// rounded to each grid.
Result faithful_export(const GaSettings& s, const Problem& p, const Resolved& r,
                       const detail::FaithfulFitness& fitness, const std::vector<double>& best,
                       double best_fitness, std::vector<double> log,
                       std::chrono::steady_clock::time_point t0, std::size_t evaluations) {
  auto [fk, fb] = p.resolve_formats();
  std::vector<double> ends{r.outer_lo};
  ends.insert(ends.end(), best.begin(), best.end());
  ends.push_back(r.outer_hi);
  std::sort(ends.begin(), ends.end());
  std::vector<double> ks, bs;
  fitness.chords(ends, ks, bs);
  // Chords may leave the declared format (reci/rsqrt slopes need ~10 bits):
  // never wrap or clip; the code width grows so the table stays measurable.
  std::string note;
  std::vector<double> inner(ends.begin() + 1, ends.end() - 1);
  TableSet set = detail::quantize_shared(inner, ks, bs, fk, fb, p.scales, "ga-faithful", &note);
  const Format fk_out = set.tables.begin()->second.slope_format;
  const Format fb_out = set.tables.begin()->second.intercept_format;

  nlohmann::json st = common_settings(s, r);
  st["outer_points"] = {r.outer_lo, r.outer_hi};
  st["fitness"] = "p-grid mse, step 0.01, unrounded breakpoints, chord coefficients";
  st["slope_format"] = fk_out.name();
  st["intercept_format"] = fb_out.name();
  st["int8"] = fk_out.is_int8() && fb_out.is_int8();
  if (!note.empty()) st["note"] = note;
  st["best_breakpoints"] = best;
  st["best_fitness"] = best_fitness;
  if (s.engine != Rng::kEngineName) st["engine"] = s.engine;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Result res = finish_result(p, std::move(set), std::move(st), seconds, evaluations);
  res.log = log;
  return res;
}

// The faithful run replayed on the official trainer's own random streams
// (GaSettings::engine == "numpy-deap"): numpy's RandomState draws the initial
// genes and every mutation draw, Python's `random` draws what DEAP draws
// (tournament picks, crossover and mutation coin flips, crossover points),
// each seeded with the seed as the trainer does with 42; the fitness is
// summed like np.mean. Same steps as run_faithful, in DEAP's order.
Result run_faithful_replay(const GaSettings& s, const Problem& p) {
  auto t0 = std::chrono::steady_clock::now();
  Resolved r = resolve(s, p);
  auto [fk, fb] = p.resolve_formats();
  detail::FaithfulFitness fitness(p.function.f, p.lo, p.hi, r.outer_lo, r.outer_hi, fk.frac_bits,
                                  fb.frac_bits);
  detail::PyRandom py(static_cast<uint32_t>(s.seed));
  detail::NumpyLegacy npr(static_cast<uint32_t>(s.seed));

  // The trainer's mutation (detail::faithful_mutate) with numpy's draws.
  const detail::FaithfulMutation trainer_op{r.rm, s.rm_lo, s.rm_hi, r.rm_offset, s.sigma, r.bp_lo, r.bp_hi};
  auto trainer_mutation = [&](std::vector<double>& ind) {
    detail::faithful_mutate(
        ind, trainer_op, [&] { return npr.random_sample(); },
        [&](double mu, double sd) { return npr.normal(mu, sd); });
  };
  // Python's `random` draws what DEAP draws; numpy draws the genes.
  struct Draws {
    const Resolved& r;
    const detail::FaithfulFitness& grid;
    detail::PyRandom& py;
    detail::NumpyLegacy& npr;
    decltype(trainer_mutation)& mutation;
    double gene() { return npr.uniform(r.bp_lo, r.bp_hi); }
    int pick(int n) { return py.choice_index(n); }  // random.choice
    double coin() { return py.random(); }
    void crossover(std::vector<double>& a, std::vector<double>& b) { detail::two_point_crossover(a, b, py); }
    void mutate(std::vector<double>& ind) { mutation(ind); }
    double fitness(const std::vector<double>& ind) const { return grid.numpy_mse(ind); }
  };
  Draws d{r, fitness, py, npr, trainer_mutation};
  return evolve_faithful(s, p, r, fitness, d, t0);
}

// ---------------------------------------------------------------- improved

// Segment costs of one problem view, cached: a segment is a pair of gene
// positions (a, b), a <= b; the fitness of sorted genes g is
// sum_s cost(g_s, g_{s+1}) / norm (mse) or max_s cost (max_abs), with the
// sentinels 0 and `positions` at both ends.
class SegmentCosts {
 public:
  using Fitter = std::function<LineFit(int a, int b)>;
  SegmentCosts(int positions, double norm, Objective obj, Fitter fit)
      : m_(positions), norm_(norm), obj_(obj), fit_(std::move(fit)),
        cache_(size_t(m_ + 1) * size_t(m_ + 1)), have_(cache_.size(), 0) {}

  const LineFit& seg(int a, int b) {
    size_t i = size_t(a) * size_t(m_ + 1) + size_t(b);
    if (!have_[i]) {
      cache_[i] = fit_(a, b);
      have_[i] = 1;
      ++fits_;
    }
    return cache_[i];
  }
  double fitness(const std::vector<int>& g) {
    double acc = 0;
    int prev = 0;
    for (size_t i = 0; i <= g.size(); ++i) {
      int next = i < g.size() ? g[i] : m_;
      double c = seg(prev, next).cost;
      acc = obj_ == Objective::mse ? acc + c : std::max(acc, c);
      prev = next;
    }
    return obj_ == Objective::mse ? acc / norm_ : acc;
  }
  int positions() const { return m_; }
  Objective objective() const { return obj_; }
  std::size_t fits() const { return fits_; }

 private:
  int m_;
  double norm_;
  Objective obj_;
  Fitter fit_;
  std::vector<LineFit> cache_;
  std::vector<char> have_;
  std::size_t fits_ = 0;
};

struct IntGaOut {
  std::vector<int> best;
  double best_fitness = 0;
  std::vector<double> log;
  std::size_t evaluations = 0;
};

// The improved GA over sorted integer genes in [0, M]. `init` maps a uniform
// real breakpoint to a gene; `coarsen(gene, j)` (may be empty) is the
// rounding mutation on integer genes.
IntGaOut run_int_ga(const GaSettings& s, SegmentCosts& costs, int genes, Rng& rng,
                    const std::function<int(double)>& init, double bp_lo, double bp_hi,
                    double sigma_positions, const std::function<int(int, Rng&)>& coarsen,
                    const std::function<void(int)>& on_generation) {
  const int m = costs.positions();
  const int np = s.population;
  IntGaOut out;
  auto evaluate = [&](std::vector<int>& ind) {
    for (int& g : ind) g = std::clamp(g, 0, m);
    std::sort(ind.begin(), ind.end());
    // Repair duplicates (empty segments waste an entry) where free positions exist.
    if (m - 1 >= genes) {
      for (size_t i = 1; i < ind.size(); ++i)
        if (ind[i] == ind[i - 1]) {
          for (int tries = 0; tries < 8; ++tries) {
            int c = int(rng.randint(1, m - 1));
            if (!std::binary_search(ind.begin(), ind.end(), c)) {
              ind[i] = c;
              std::sort(ind.begin(), ind.end());
              i = 0;
              break;
            }
          }
        }
    }
    ++out.evaluations;
    return costs.fitness(ind);
  };
  auto mutate = [&](std::vector<int>& ind) {
    bool changed = false;
    for (int& g : ind) {
      double u = rng.uniform();
      if (u < 0.1) {
        g += rng.uniform() < 0.5 ? -1 : 1;
        changed = true;
      } else if (u < 0.2) {
        int step = int(std::lround(rng.normal(0.0, sigma_positions)));
        g += step != 0 ? step : (rng.uniform() < 0.5 ? -1 : 1);
        changed = true;
      } else if (u < 0.22) {  // a jump anywhere: moves an entry to another region
        g = int(rng.randint(0, m));
        changed = true;
      } else if (coarsen && u < 0.25) {
        g = coarsen(g, rng);
        changed = true;
      }
    }
    if (!changed && !ind.empty()) ind[size_t(rng.below(int(ind.size())))] += rng.uniform() < 0.5 ? -1 : 1;
  };
  // Local search on one individual: coordinate descent, each gene moved to
  // its best position between its neighbours, until no gene moves (at most
  // 16 passes). Costs are cached; for MSE a move only changes the two
  // segments beside the gene, so a candidate costs O(1).
  const bool separable = costs.objective() == Objective::mse;
  auto climb = [&](std::vector<int>& ind, double& f) {
    std::vector<int> c = ind;
    for (int pass = 0; pass < 16; ++pass) {
      bool improved = false;
      for (size_t i = 0; i < c.size(); ++i) {
        int lo = i == 0 ? 0 : c[i - 1], hi = i + 1 == c.size() ? m : c[i + 1];
        int keep = c[i], best_pos = keep;
        double here = separable ? costs.seg(lo, keep).cost + costs.seg(keep, hi).cost : f;
        double best_here = here;
        for (int pos = lo; pos <= hi; ++pos) {
          if (pos == keep) continue;
          ++out.evaluations;
          double v;
          if (separable) {
            v = costs.seg(lo, pos).cost + costs.seg(pos, hi).cost;
          } else {
            c[i] = pos;
            v = costs.fitness(c);
          }
          if (v < best_here) {
            best_here = v;
            best_pos = pos;
          }
        }
        c[i] = best_pos;
        if (best_pos != keep) improved = true;
      }
      if (!improved) break;
    }
    double fc = costs.fitness(c);
    if (fc <= f) {  // guards against round-off in the two-segment sums
      ind = c;
      f = fc;
    }
  };
  std::vector<int> last_climbed;
  std::vector<std::vector<int>> pop(np, std::vector<int>(genes));
  std::vector<double> fit(np);
  for (int i = 0; i < np; ++i) {
    for (int j = 0; j < genes; ++j)
      pop[i][j] = i == 0 ? init(bp_lo + (bp_hi - bp_lo) * (j + 1) / (genes + 1))  // one uniform table
                         : init(rng.uniform(bp_lo, bp_hi));
    fit[i] = evaluate(pop[i]);
  }
  auto ranking = [&]() {
    std::vector<int> idx(np);
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return fit[a] < fit[b]; });
    return idx;
  };
  {
    auto idx = ranking();
    climb(pop[idx[0]], fit[idx[0]]);
    last_climbed = pop[idx[0]];
    out.log.push_back(fit[idx[0]]);
  }
  const int elites = std::min(s.elites, np - 1);
  std::vector<std::vector<int>> off(np);
  std::vector<double> off_fit(np);
  std::vector<char> valid(np);
  for (int gen = 1; gen <= s.generations; ++gen) {
    auto idx = ranking();
    for (int e = 0; e < elites; ++e) {
      off[e] = pop[idx[e]];
      off_fit[e] = fit[idx[e]];
    }
    for (int i = elites; i < np; ++i) {
      int w = rng.below(np);
      for (int t = 1; t < 3; ++t) {
        int c = rng.below(np);
        if (fit[c] < fit[w]) w = c;
      }
      off[i] = pop[w];
      off_fit[i] = fit[w];
      valid[i] = 1;
    }
    for (int i = elites + 1; i < np; i += 2)
      if (rng.uniform() < s.crossover_prob) {
        detail::two_point_crossover(off[i - 1], off[i], rng);
        valid[i - 1] = valid[i] = 0;
      }
    for (int i = elites; i < np; ++i)
      if (rng.uniform() < s.mutation_prob) {
        mutate(off[i]);
        valid[i] = 0;
      }
    for (int i = elites; i < np; ++i)
      if (!valid[i]) {
        off_fit[i] = evaluate(off[i]);
        climb(off[i], off_fit[i]);  // Lamarckian: the GA works on local optima
      }
    pop.swap(off);
    fit.swap(off_fit);
    auto best = ranking()[0];
    if (pop[best] != last_climbed) {
      climb(pop[best], fit[best]);
      last_climbed = pop[best];
    }
    out.log.push_back(fit[best]);
    if (on_generation) on_generation(gen);
  }
  int b = ranking()[0];
  out.best = pop[b];
  out.best_fitness = fit[b];
  return out;
}

// The improved GA on each view of the problem (scale_driver.hpp). Genes are
// the codes base + g, g in [0, M], of the view's grid: per scale, gene g cuts
// before point g (M = the scale's points); shared, the codes of the finest
// grid from below the range to beyond it.
Result run_improved(const GaSettings& s, const Problem& p) {
  auto t0 = std::chrono::steady_clock::now();
  Resolved r = resolve(s, p);
  const CodeFormats formats = p.resolve_formats();
  const Format fk = formats.slope, fb = formats.intercept;
  const int genes = p.entries - 1;
  nlohmann::json st = common_settings(s, r);
  st["slope_format"] = fk.name();
  st["intercept_format"] = fb.name();
  st["objective"] = to_string(p.objective);
  st["elites"] = s.elites;
  st["fitness"] = "p-int objective with the exact best integer coefficients per segment";
  st["per_scale"] = !p.shared;
  nlohmann::json logs = nlohmann::json::object(), seeds = nlohmann::json::object(), log;
  std::size_t evaluations = 0;
  const bool left_rule = p.tie == TieRule::left;

  TableSet set = detail::search_scales(p, formats, [&](const detail::ScaleView& v) {
    if (v.empty()) {  // nothing to fit at this scale: a flat zero table
      const auto code = static_cast<int64_t>(std::nearbyint(std::ldexp(p.lo, v.m)));
      return detail::ViewTable{std::vector<int64_t>(size_t(genes), code), std::vector<int32_t>(size_t(p.entries), 0),
                               std::vector<int32_t>(size_t(p.entries), 0)};
    }
    int64_t base = 0;
    int m = 0;
    std::function<int(double)> init;
    std::function<int(int, Rng&)> coarsen;
    if (!v.shared) {
      const ScalePoints& sp = *v.scales[0];
      base = int64_t{sp.q.front()} - (left_rule ? 1 : 0);
      m = int(sp.q.size());
      // A real breakpoint x cuts before the first point >= x.
      init = [&sp](double x) { return int(std::lower_bound(sp.x.begin(), sp.x.end(), x) - sp.x.begin()); };
    } else {
      // Gene 0 puts every point of every scale on its right and gene m every
      // point on its left, so the outer segments need no special case and the
      // exported codes mean what the costs assumed.
      auto all_right = [&](int64_t code) {
        for (std::size_t i = 0; i < v.scales.size(); ++i)
          if (v.left_of(code, i) != 0) return false;
        return true;
      };
      auto all_left = [&](int64_t code) {
        for (std::size_t i = 0; i < v.scales.size(); ++i)
          if (v.left_of(code, i) != int32_t(v.scales[i]->q.size())) return false;
        return true;
      };
      base = int64_t(std::ceil(std::ldexp(p.lo, v.m)));  // all right under the right rule
      if (left_rule)
        while (!all_right(base)) --base;
      int64_t top = int64_t(std::floor(std::ldexp(p.hi, v.m))) + 1;
      while (!all_left(top)) ++top;
      m = int(top - base);
      init = [&v, base](double x) { return int(std::nearbyint(std::ldexp(x, v.m)) - double(base)); };
      if (r.rm) {
        coarsen = [&, base](int g, Rng& rng) {
          const int nmax = v.m;
          int j = int(rng.randint(std::max(0, s.rm_lo + r.rm_offset), std::max(0, std::min(s.rm_hi, nmax))));
          double c = double(base + g);
          return int(std::ldexp(std::nearbyint(std::ldexp(c, j - nmax)), nmax - j) - double(base));
        };
      }
    }
    // The points of segment (a, b) at every scored scale, weighted per scale
    // (max |error|: unweighted).
    std::vector<double> bx, by, bw;
    SegmentCosts costs(m, v.norm, p.objective, [&](int a, int b) {
      bx.clear();
      by.clear();
      bw.clear();
      for (std::size_t i = 0; i < v.scales.size(); ++i) {
        const ScalePoints& sp = *v.scales[i];
        const double wt = p.objective == Objective::mse ? v.weight[i] : 1.0;
        for (int32_t j = v.left_of(base + a, i), e = v.left_of(base + b, i); j < e; ++j) {
          bx.push_back(sp.x[j]);
          by.push_back(sp.y[j]);
          bw.push_back(wt);
        }
      }
      if (bx.empty()) return LineFit{};
      return fit_line_int(bx.data(), by.data(), bw.data(), bx.size(), fk, fb, p.objective);
    });
    const uint64_t seed = v.shared ? s.seed : detail::mix_seed(s.seed, uint64_t(v.n()));
    Rng rng(seed);
    auto progress = [&](int gen) {
      if (s.progress && (gen % 10 == 0 || gen == s.generations))
        s.progress(v.progress(double(gen) / std::max(1, s.generations)),
                   v.shared ? fmt::format("generation {}", gen) : fmt::format("scale {} generation {}", v.n(), gen));
    };
    IntGaOut o = run_int_ga(s, costs, genes, rng, init, r.bp_lo, r.bp_hi, s.sigma * std::ldexp(1.0, v.m), coarsen,
                            progress);
    evaluations += o.evaluations;
    detail::ViewTable out;
    int prev = 0;
    for (int i = 0; i <= genes; ++i) {
      int next = i < genes ? o.best[i] : m;
      const LineFit& lf = costs.seg(prev, next);
      out.slopes.push_back(lf.k);
      out.intercepts.push_back(lf.b);
      if (i < genes) out.breakpoints.push_back(base + next);
      prev = next;
    }
    if (v.shared) {
      log = o.log;
    } else {
      logs[std::to_string(v.n())] = o.log;
      seeds[std::to_string(v.n())] = seed;
    }
    return out;
  });
  if (!p.shared) {
    st["scale_seeds"] = seeds;  // splitmix64 of (seed, n)
    log = logs;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Result res = finish_result(p, std::move(set), std::move(st), seconds, evaluations);
  res.log = std::move(log);
  return res;
}

}  // namespace

// Bounds on the work a user can ask for (issue 12): the defaults are 50 x 500.
constexpr int kMaxGaGenerations = 1'000'000;
constexpr double kMaxGaWork = 1e8;

GeneticAlgorithm::GeneticAlgorithm(GaSettings s) : s_(std::move(s)) {
  require(s_.population >= 2, fmt::format("population must be >= 2, got {}", s_.population));
  require(s_.population <= 100000, fmt::format("population must be <= 100000, got {}", s_.population));
  require(s_.generations >= 0, fmt::format("generations must be >= 0, got {}", s_.generations));
  require(s_.generations <= kMaxGaGenerations,
          fmt::format("generations must be <= {}, got {}", kMaxGaGenerations, s_.generations));
  require(double(s_.population) * s_.generations <= kMaxGaWork,
          fmt::format("GA work population x generations must be <= {:.0f}, got {} x {}", kMaxGaWork,
                      s_.population, s_.generations));
  require(s_.crossover_prob >= 0 && s_.crossover_prob <= 1,
          fmt::format("crossover probability must be in [0, 1], got {}", s_.crossover_prob));
  require(s_.mutation_prob >= 0 && s_.mutation_prob <= 1,
          fmt::format("mutation probability must be in [0, 1], got {}", s_.mutation_prob));
  require(std::isfinite(s_.sigma) && s_.sigma > 0,
          fmt::format("mutation sigma must be finite and > 0, got {}", s_.sigma));
  require(s_.rm_lo >= 0 && s_.rm_lo <= Table::kMaxScale,
          fmt::format("rounding-mutation rm_lo must be in [0, {}], got {}", Table::kMaxScale, s_.rm_lo));
  require(s_.rm_hi >= s_.rm_lo && s_.rm_hi <= Table::kMaxScale,
          fmt::format("rounding-mutation rm_hi must be in [rm_lo = {}, {}], got {}", s_.rm_lo,
                      Table::kMaxScale, s_.rm_hi));
  if (s_.rm_offset)
    require(*s_.rm_offset >= 0 && *s_.rm_offset <= Table::kMaxScale,
            fmt::format("rounding-mutation offset must be in [0, {}], got {}", Table::kMaxScale, *s_.rm_offset));
  if (s_.breakpoint_range)
    require(finite_pair(*s_.breakpoint_range),
            fmt::format("breakpoint range must be finite with lo < hi, got [{}, {}]", s_.breakpoint_range->first,
                        s_.breakpoint_range->second));
  if (s_.breakpoint_range)
    check_search_range(s_.breakpoint_range->first, s_.breakpoint_range->second, "breakpoint range");
  if (s_.outer_points)
    require(finite_pair(*s_.outer_points),
            fmt::format("outer points must be finite with lo < hi, got [{}, {}]", s_.outer_points->first,
                        s_.outer_points->second));
  if (s_.outer_points) check_search_range(s_.outer_points->first, s_.outer_points->second, "outer points");
  require(s_.engine == Rng::kEngineName || s_.engine == "numpy-deap",
          fmt::format("engine must be std::mt19937_64 or numpy-deap, got {}", s_.engine));
  require(s_.engine != "numpy-deap" || !s_.improved,
          "engine numpy-deap replays the faithful mode only (improved = false)");
  require(s_.engine != "numpy-deap" || s_.seed <= 0xffffffffu,
          fmt::format("engine numpy-deap needs a seed < 2^32 (numpy's), got {}", s_.seed));
  // The improved GA keeps min(elites, population - 1) elites: any population >= 2 works.
  require(s_.elites >= 0, fmt::format("elites must be >= 0, got {}", s_.elites));
}

Result GeneticAlgorithm::run(const Problem& p) const {
  p.validate();
  if (s_.improved) return run_improved(s_, p);
  return s_.engine == "numpy-deap" ? run_faithful_replay(s_, p) : run_faithful(s_, p);
}

}  // namespace gqalut
