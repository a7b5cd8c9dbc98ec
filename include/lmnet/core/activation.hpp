// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/config.hpp>

#include <cstdint>

namespace lmnet {

/// Activation applied in the epilogue of the layer that produces a tensor.
enum class activation : std::uint8_t { none, relu, relu6 };

LMNET_HOST_DEVICE constexpr float activate(float x, activation act) {
  switch (act) {
    case activation::relu:
      return x > 0.0f ? x : 0.0f;
    case activation::relu6:
      return x > 0.0f ? (x < 6.0f ? x : 6.0f) : 0.0f;
    case activation::none:
      break;
  }
  return x;
}

constexpr const char* activation_name(activation act) {
  switch (act) {
    case activation::relu:
      return "relu";
    case activation::relu6:
      return "relu6";
    case activation::none:
      break;
  }
  return "none";
}

}  // namespace lmnet
