// SPDX-License-Identifier: Apache-2.0
// How an int8 product's weights are packed: one layout for every instruction set, made for
// instructions that multiply four uint8 inputs by four int8 weights into one int32 lane
// (AVX-512 VNNI's vpdpbusd; the others emulate it).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace lmnet::simd {

/// Output channels go in blocks of 16, inputs in steps of 4: the weight of input 4s + j for
/// output 16b + l is at byte (b * steps + s) * 64 + 4l + j (zeros past k and n), so one 64-byte
/// load holds a step of a block. After the weights, per output channel (zero-padded to whole
/// blocks): the int32 bias with the input zero point's share folded in (bias - zero * sum of the
/// channel's weights, so the sums can run on the raw uint8 inputs), then the float multiplier.
struct int8_gemm_layout {
  int k = 0;
  int n = 0;

  static constexpr int lanes = 16;
  constexpr int steps() const { return (k + 3) / 4; }
  constexpr int blocks() const { return (n + lanes - 1) / lanes; }
  constexpr int padded_n() const { return blocks() * lanes; }
  constexpr std::size_t weight_bytes() const {
    return static_cast<std::size_t>(steps()) * static_cast<std::size_t>(blocks()) * 64;
  }
  constexpr std::size_t bias_offset() const { return weight_bytes(); }
  constexpr std::size_t multiplier_offset() const {
    return bias_offset() + static_cast<std::size_t>(padded_n()) * 4;
  }
  /// Weights, biases and multipliers: a multiple of 64 bytes.
  constexpr std::size_t bytes() const {
    return multiplier_offset() + static_cast<std::size_t>(padded_n()) * 4;
  }
  constexpr std::size_t index(int i, int o) const {
    return (static_cast<std::size_t>(o / lanes) * static_cast<std::size_t>(steps()) +
            static_cast<std::size_t>(i / 4)) *
               64 +
           static_cast<std::size_t>(o % lanes) * 4 + static_cast<std::size_t>(i % 4);
  }
};

/// Packs weights given as w(i, o) (input i, output o), int32 biases and multipliers into `out`
/// (layout.bytes() bytes, 64-byte aligned), for inputs whose zero point is `input_zero`.
template <class WeightAt>
void pack_int8_gemm(const int8_gemm_layout& layout, WeightAt weight, const std::int32_t* bias,
                    const float* multiplier, std::int32_t input_zero, std::span<std::byte> out) {
  std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(layout.bytes()), std::byte{0});
  auto* weights = reinterpret_cast<std::int8_t*>(out.data());
  for (int o = 0; o < layout.n; ++o) {
    std::int32_t sum = 0;
    for (int i = 0; i < layout.k; ++i) {
      const std::int8_t w = weight(i, o);
      weights[layout.index(i, o)] = w;
      sum += w;
    }
    const std::int32_t folded = bias[o] - input_zero * sum;
    std::memcpy(out.data() + layout.bias_offset() + static_cast<std::size_t>(o) * 4, &folded, 4);
    std::memcpy(out.data() + layout.multiplier_offset() + static_cast<std::size_t>(o) * 4,
                &multiplier[o], 4);
  }
}

}  // namespace lmnet::simd
