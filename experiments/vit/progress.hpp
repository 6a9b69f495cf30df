// gqalut ViT experiment: one progress line on stderr, rewritten in place
// (stage, step, loss, running accuracy, elapsed, ETA). No LibTorch here.
#pragma once

#include <chrono>
#include <string>

namespace gqalut::vit {

class Progress {
 public:
  // total_units: the work of the whole study in the caller's units; quiet:
  // show() prints nothing and line() only the finished lines' text.
  explicit Progress(double total_units, bool quiet = false);
  void advance(double units) { done_ += units; }
  double elapsed() const;
  // Rewrites the progress line (at most twice a second unless `force`).
  void show(const std::string& text, bool force = false);
  // A finished line of its own (e.g. a stage's test accuracy).
  void line(const std::string& text);
  // "mm:ss"
  static std::string clock_text(double seconds);

 private:
  using clock = std::chrono::steady_clock;
  double total_ = 0, done_ = 0, last_ = -1;
  bool quiet_ = false;
  clock::time_point start_;
};

}  // namespace gqalut::vit
