// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace lmnet::models {

/// Channel rounding of torchvision's width multiplier: the nearest multiple of `divisor`, never
/// below `divisor` nor below 90% of `value`.
constexpr int make_divisible(double value, int divisor = 8) {
  int rounded = static_cast<int>(value + divisor / 2.0) / divisor * divisor;
  if (rounded < divisor) rounded = divisor;
  if (rounded < 0.9 * value) rounded += divisor;
  return rounded;
}

}  // namespace lmnet::models
