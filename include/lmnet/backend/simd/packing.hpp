// SPDX-License-Identifier: Apache-2.0
// The layout each weight layer's packed weights take for the simd kernels, and the packing from
// lmnet's canonical folded layout (io/bind.hpp) into it.
#pragma once

#include <lmnet/backend/simd/gemm/layout.hpp>
#include <lmnet/layers/layer.hpp>

#include <algorithm>
#include <cstddef>
#include <span>

namespace lmnet::simd {

/// Weights of a depthwise layer with C channels and a KxK kernel: K*K rows of C floats padded to
/// whole registers (tap-major: row ky*K+kx holds every channel's weight for that tap), then the
/// padded bias.
struct depthwise_layout {
  int channels = 0;
  int kernel = 3;
  int width = 1;

  constexpr int padded_channels() const { return (channels + width - 1) / width * width; }
  constexpr std::size_t floats() const {
    return static_cast<std::size_t>(kernel * kernel + 1) *
           static_cast<std::size_t>(padded_channels());
  }
};

/// Packs canonical depthwise weights (C, K, K) and a bias into `layout`'s order.
inline void pack_depthwise(const depthwise_layout& layout, const float* weights, const float* bias,
                           std::span<float> out) {
  const int padded = layout.padded_channels();
  const int taps = layout.kernel * layout.kernel;
  std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(layout.floats()), 0.0f);
  for (int c = 0; c < layout.channels; ++c) {
    for (int t = 0; t < taps; ++t) {
      out[static_cast<std::size_t>(t * padded + c)] = weights[c * taps + t];
    }
    out[static_cast<std::size_t>(taps * padded + c)] = bias[c];
  }
}

/// Where a layer's packed weights are and how they are laid out.
struct packing {
  std::size_t offset = 0;  // in the engine's packed weights
  gemm_layout gemm{};      // pointwise and standard convolutions (one per group), dense
  int groups = 1;
  std::size_t group_floats = 0;  // distance between groups
  depthwise_layout depthwise{};
  std::size_t floats = 0;  // all of it, a multiple of 16 so the next layer stays aligned
};

constexpr std::size_t round_up_16(std::size_t n) {
  return (n + 15) / 16 * 16;
}

/// The packing of a layer for registers of `width` floats and a file of `registers` of them.
constexpr packing packing_for(const layer_spec& s, int width, int registers) {
  packing p;
  if (s.kind == op::pointwise_conv2d || s.kind == op::conv2d) {
    const int og = s.output.channels / s.groups;
    const int k = s.kernel.height * s.kernel.width * (s.input.channels / s.groups);
    p.groups = s.groups;
    // Pointwise products read each pixel's inputs whole: they may take the four-input form.
    p.gemm = gemm_layout_for(k, og, width, registers, s.kind == op::pointwise_conv2d);
    p.group_floats = round_up_16(p.gemm.floats());
    p.floats = p.group_floats * static_cast<std::size_t>(s.groups);
  } else if (s.kind == op::dense) {
    const int k = static_cast<int>(s.input.size());
    p.gemm = gemm_layout_for(k, s.output.channels, width, registers, false);
    p.group_floats = round_up_16(p.gemm.floats());
    p.floats = p.group_floats;
  } else if (s.kind == op::depthwise_conv2d) {
    p.depthwise = {s.input.channels, s.kernel.height, width};
    p.floats = round_up_16(p.depthwise.floats());
  }
  return p;
}

/// Packs a layer's canonical weights ((O, KH, KW, I/groups) for convolutions, (O, H*W*C) for
/// dense) and bias into `out` (p.floats floats).
inline void pack_weights(const layer_spec& s, const packing& p, const float* weights,
                         const float* bias, std::span<float> out) {
  if (s.kind == op::depthwise_conv2d) {
    pack_depthwise(p.depthwise, weights, bias, out);
    return;
  }
  const int k = p.gemm.k, og = p.gemm.n;
  for (int g = 0; g < p.groups; ++g) {
    const float* wg = weights + static_cast<std::size_t>(g) * static_cast<std::size_t>(og) *
                                    static_cast<std::size_t>(k);
    pack_gemm(
        p.gemm,
        [&](int input, int output) {
          return wg[static_cast<std::size_t>(output) * static_cast<std::size_t>(k) +
                    static_cast<std::size_t>(input)];
        },
        bias + g * og, out.subspan(static_cast<std::size_t>(g) * p.group_floats, p.group_floats));
  }
}

}  // namespace lmnet::simd
