// SPDX-License-Identifier: Apache-2.0
// The int8 scheme (TFLite's, with unsigned activations as in ONNX Runtime's default): activations
// uint8 per tensor with a zero point, weights int8 symmetric per output channel, int32 sums, and
// one rounding rule that every backend computes bit for bit alike.
#pragma once

#include <lmnet/core/activation.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace lmnet {

/// real = scale * (q - zero_point), q in [0, 255].
struct quant_params {
  float scale = 1.0f;
  std::int32_t zero_point = 0;

  friend constexpr bool operator==(const quant_params&, const quant_params&) = default;
};

/// The params that cover [low, high] (widened to hold 0, so that 0 is exact: zero padding and
/// ReLU's floor). A range of no width (a tensor that was always 0) gets scale 1.
inline quant_params quant_params_for(float low, float high) {
  low = std::min(low, 0.0f);
  high = std::max(high, 0.0f);
  if (!(high - low > 0.0f)) return {1.0f, 0};
  const float scale = (high - low) / 255.0f;
  const float zero = std::nearbyint(-low / scale);
  return {scale, static_cast<std::int32_t>(std::clamp(zero, 0.0f, 255.0f))};
}

namespace detail {

// Beyond this, a rescaled sum is clamped before it is rounded, so every backend converts the
// same value to an integer (SIMD conversions of larger floats saturate differently).
inline constexpr float rescale_limit = 16777216.0f;  // 2^24

}  // namespace detail

/// round(x), ties to even (the default rounding mode, as the SIMD conversions do), of x clamped
/// to +-2^24: the rounding rule of every int8 kernel.
inline std::int32_t round_rescaled(float x) {
  x = std::min(std::max(x, -detail::rescale_limit), detail::rescale_limit);
  return static_cast<std::int32_t>(std::nearbyint(x));
}

/// A real value to uint8: x times the inverse scale (as the SIMD kernels compute it), rounded.
inline std::uint8_t quantize(float x, const quant_params& p) {
  const float inverse = 1.0f / p.scale;
  return static_cast<std::uint8_t>(
      std::clamp(round_rescaled(x * inverse) + p.zero_point, std::int32_t{0}, std::int32_t{255}));
}

inline float dequantize(std::uint8_t q, const quant_params& p) {
  return p.scale * static_cast<float>(static_cast<std::int32_t>(q) - p.zero_point);
}

/// The output range [low, high] of uint8 values with params `p` after activation `act`: ReLU
/// clamps at real 0, ReLU6 also at real 6.
struct quant_clamp {
  std::int32_t low = 0;
  std::int32_t high = 255;
};
inline quant_clamp clamp_for(activation act, const quant_params& p) {
  quant_clamp c;
  if (act == activation::relu || act == activation::relu6) c.low = std::max(c.low, p.zero_point);
  if (act == activation::relu6) {
    c.high = std::min(c.high, p.zero_point + round_rescaled(6.0f / p.scale));
  }
  return c;
}

/// An int32 sum rescaled to the output: clamp(round(sum * multiplier) + zero_point).
inline std::uint8_t requantize(std::int32_t sum, float multiplier, std::int32_t zero_point,
                               quant_clamp c) {
  const std::int32_t q = round_rescaled(static_cast<float>(sum) * multiplier) + zero_point;
  return static_cast<std::uint8_t>(std::clamp(q, c.low, c.high));
}

/// The same with a second term rounded on its own (a residual, or the other input of an add):
/// clamp(round(sum * multiplier) + round(other * other_multiplier) + zero_point). Two roundings,
/// so no backend can fuse the two products into one.
inline std::uint8_t requantize(std::int32_t sum, float multiplier, std::int32_t other,
                               float other_multiplier, std::int32_t zero_point, quant_clamp c) {
  const std::int32_t q = round_rescaled(static_cast<float>(sum) * multiplier) +
                         round_rescaled(static_cast<float>(other) * other_multiplier) + zero_point;
  return static_cast<std::uint8_t>(std::clamp(q, c.low, c.high));
}

}  // namespace lmnet
