// gqalut ViT experiment: progress line (see progress.hpp).
#include "progress.hpp"

#include <algorithm>
#include <cstdio>

namespace gqalut::vit {

Progress::Progress(double total_units, bool quiet) : total_(total_units), quiet_(quiet), start_(clock::now()) {}

double Progress::elapsed() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

void Progress::show(const std::string& text, bool force) {
  if (quiet_) return;
  const double now = elapsed();
  if (!force && now - last_ < 0.5) return;
  last_ = now;
  const double eta = done_ > 0 ? now / done_ * std::max(0.0, total_ - done_) : 0;
  std::fprintf(stderr, "\r%-86s %3.0f%% %s ETA %s ", text.c_str(), 100.0 * done_ / std::max(total_, 1e-9),
               clock_text(now).c_str(), clock_text(eta).c_str());
  std::fflush(stderr);
}

void Progress::line(const std::string& text) {
  std::fprintf(stderr, quiet_ ? "%s\n" : "\r%-120s\n", text.c_str());
  std::fflush(stderr);
}

std::string Progress::clock_text(double s) {
  const int t = static_cast<int>(s + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d", t / 60, t % 60);
  return buf;
}

}  // namespace gqalut::vit
