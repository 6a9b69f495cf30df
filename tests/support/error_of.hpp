// Test helper: the message of the std::invalid_argument a call throws, to compare with the
// one line a user would see. One copy for every test program (tests/support).
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

namespace gqalut_test {

// f's std::invalid_argument message, or "<no error>" when f returns (any other exception
// propagates and fails the test).
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace gqalut_test
