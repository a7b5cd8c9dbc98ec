// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <stdexcept>
#include <string>

namespace lmnet {

/// Every run-time failure lmnet reports (bad weight files, wrong input sizes, non-finite values) is
/// an `lmnet::error` whose message names the tensor or argument and what was expected.
class error : public std::runtime_error {
 public:
  explicit error(const std::string& what) : std::runtime_error("lmnet: " + what) {}

  /// The message without the "lmnet: " prefix, to build a longer one from it.
  std::string reason() const { return std::string(what()).substr(7); }
};

}  // namespace lmnet
