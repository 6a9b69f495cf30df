// gqalut hardware layer, internal: tasks on a few threads (syntheses, optima).
#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gqalut::hw::detail {

// Runs tasks on `jobs` threads; the first exception is rethrown after all stop (no new task starts
// once one has failed).
inline void run_parallel(std::vector<std::function<void()>>& tasks, int jobs) {
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex m;
  auto worker = [&] {
    for (;;) {
      size_t i = next++;
      if (i >= tasks.size()) return;
      {
        std::lock_guard<std::mutex> l(m);
        if (error) return;
      }
      try {
        tasks[i]();
      } catch (...) {
        std::lock_guard<std::mutex> l(m);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int j = 1; j < jobs; ++j) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace gqalut::hw::detail
