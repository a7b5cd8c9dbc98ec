// SPDX-License-Identifier: Apache-2.0
// The layouts of each int8 layer's packed weights for the simd kernels, and the packing from the
// network in int8 (quantization/quantize.hpp).
#pragma once

#include <lmnet/backend/simd/int8/gemm_layout.hpp>
#include <lmnet/layers/layer.hpp>
#include <lmnet/quantization/quantize.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace lmnet::simd {

/// Depthwise weights of C channels and K x K taps, each in the low 16 bits of a 32-bit lane whose
/// high half is zero, so that a 16-bit multiply-add of a 32-bit input lane (any sign) is their
/// product: K * K rows of the channels' weights (tap-major,
/// padded to 16 channels), then per channel the int32 bias, the bias with the input zero point's
/// share of every tap folded in (for windows inside the image, which sum the raw inputs), and
/// the float multiplier.
struct int8_depthwise_layout {
  int channels = 0;
  int kernel = 3;

  constexpr int padded() const { return (channels + 15) / 16 * 16; }
  constexpr std::size_t row_bytes() const { return static_cast<std::size_t>(padded()) * 4; }
  constexpr std::size_t weight_bytes() const {
    return static_cast<std::size_t>(kernel * kernel) * row_bytes();
  }
  constexpr std::size_t bias_offset() const { return weight_bytes(); }
  constexpr std::size_t folded_bias_offset() const { return bias_offset() + row_bytes(); }
  constexpr std::size_t multiplier_offset() const { return folded_bias_offset() + row_bytes(); }
  constexpr std::size_t bytes() const { return multiplier_offset() + row_bytes(); }
};

/// Where a layer's int8 weights are and how they are laid out.
struct int8_packing {
  std::size_t offset = 0;   // in the engine's packed bytes
  int8_gemm_layout gemm{};  // pointwise and standard convolutions (one per group), dense
  int groups = 1;
  std::size_t group_bytes = 0;  // distance between groups
  int8_depthwise_layout depthwise{};
  std::size_t bytes = 0;  // all of it, a multiple of 64
};

constexpr std::size_t round_up_64(std::size_t n) {
  return (n + 63) / 64 * 64;
}

constexpr int8_packing int8_packing_for(const layer_spec& s) {
  int8_packing p;
  if (s.kind == op::pointwise_conv2d || s.kind == op::conv2d) {
    p.groups = s.groups;
    p.gemm = {s.kernel.height * s.kernel.width * (s.input.channels / s.groups),
              s.output.channels / s.groups};
    p.group_bytes = round_up_64(p.gemm.bytes());
    p.bytes = p.group_bytes * static_cast<std::size_t>(s.groups);
  } else if (s.kind == op::dense) {
    p.gemm = {static_cast<int>(s.input.size()), s.output.channels};
    p.group_bytes = round_up_64(p.gemm.bytes());
    p.bytes = p.group_bytes;
  } else if (s.kind == op::depthwise_conv2d) {
    p.depthwise = {s.input.channels, s.kernel.height};
    p.bytes = round_up_64(p.depthwise.bytes());
  }
  return p;
}

/// Packs one layer's int8 weights (canonical layout), biases and multipliers into `out`.
inline void pack_int8_weights(const layer_spec& s, const int8_packing& p, const quantized_node& q,
                              std::span<std::byte> out) {
  if (s.kind == op::depthwise_conv2d) {
    const int8_depthwise_layout& l = p.depthwise;
    const int taps = l.kernel * l.kernel;
    std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(l.bytes()), std::byte{0});
    auto put = [&](std::size_t offset, int c, auto value) {
      std::memcpy(out.data() + offset + static_cast<std::size_t>(c) * 4, &value, 4);
    };
    for (int c = 0; c < l.channels; ++c) {
      std::int32_t sum = 0;
      for (int t = 0; t < taps; ++t) {
        const std::int16_t w = q.weights[static_cast<std::size_t>(c * taps + t)];
        put(static_cast<std::size_t>(t) * l.row_bytes(), c,
            static_cast<std::uint32_t>(static_cast<std::uint16_t>(w)));
        sum += w;
      }
      const std::int32_t bias = q.bias[static_cast<std::size_t>(c)];
      put(l.bias_offset(), c, bias);
      put(l.folded_bias_offset(), c, bias - q.input.zero_point * sum);
      put(l.multiplier_offset(), c, q.multiplier[static_cast<std::size_t>(c)]);
    }
    return;
  }
  const int k = p.gemm.k, og = p.gemm.n;
  for (int g = 0; g < p.groups; ++g) {
    const std::int8_t* wg = q.weights.data() + static_cast<std::size_t>(g) *
                                                   static_cast<std::size_t>(og) *
                                                   static_cast<std::size_t>(k);
    pack_int8_gemm(
        p.gemm,
        [&](int input, int output) {
          return wg[static_cast<std::size_t>(output) * static_cast<std::size_t>(k) +
                    static_cast<std::size_t>(input)];
        },
        q.bias.data() + g * og, q.multiplier.data() + g * og, q.input.zero_point,
        out.subspan(static_cast<std::size_t>(g) * p.group_bytes, p.group_bytes));
  }
}

}  // namespace lmnet::simd
