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
};

}  // namespace lmnet
