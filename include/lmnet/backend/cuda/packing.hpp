// SPDX-License-Identifier: Apache-2.0
// The CUDA backend's weight layouts, packed once on the host from the canonical folded weights
// (io/bind.hpp) and uploaded once:
//   convolutions  (groups, KH, KW, I/groups, O/groups): for one input tap, a group's outputs are
//                 contiguous (1x1 layers: the (k, n) matrix `gemm` multiplies by)
//   depthwise     (KH * KW, C): for one tap, channels are contiguous (float4 over channels)
//   dense         (F, O) for `gemm`, and the canonical (O, F) rows for `dense_gemv`
// then each layer's bias (O). Every block starts on a 128-byte boundary.
#pragma once

#include <lmnet/core/error.hpp>
#include <lmnet/network/node.hpp>

#include <array>
#include <cstddef>
#include <span>
#include <string>

namespace lmnet::cuda {

/// Offsets (floats) of one layer's packed weights; `none` where a layer has no such block.
struct packed_entry {
  static constexpr std::size_t none = static_cast<std::size_t>(-1);
  std::size_t weights = none;
  std::size_t bias = none;
  std::size_t rows = none;  // dense layers: the (O, F) copy
};

template <std::size_t NodeCount>
struct packed_layout {
  std::array<packed_entry, NodeCount> nodes{};
  std::size_t floats = 0;

  constexpr const packed_entry& operator[](std::size_t node) const { return nodes[node]; }
};

template <class Plan>
constexpr packed_layout<Plan::node_count> packed_layout_of(const Plan& plan) {
  packed_layout<Plan::node_count> layout{};
  std::size_t at = 0;
  auto take = [&](std::size_t floats) {
    const std::size_t here = at;
    at += (floats + 31) / 32 * 32;
    return here;
  };
  for (std::size_t i = 0; i < Plan::node_count; ++i) {
    const node& n = plan.nodes[i];
    if (!has_weights(n.kind())) continue;
    packed_entry& e = layout.nodes[i];
    e.weights = take(n.spec.weight_count());
    e.bias = take(static_cast<std::size_t>(n.spec.output.channels));
    if (n.kind() == op::dense) e.rows = take(n.spec.weight_count());
  }
  layout.floats = at;
  return layout;
}

/// Reorders the canonical folded weights of `plan` into the backend's layout.
template <class Plan>
void pack_weights(const Plan& plan, std::span<const float> folded, std::span<float> packed) {
  const auto layout = packed_layout_of(plan);
  if (folded.size() < plan.weight_floats) {
    throw error("folded weights hold " + std::to_string(folded.size()) +
                " floats, the network needs " + std::to_string(plan.weight_floats));
  }
  if (packed.size() < layout.floats) throw error("packed weight buffer too small");
  for (std::size_t i = 0; i < Plan::node_count; ++i) {
    const node& n = plan.nodes[i];
    if (!has_weights(n.kind())) continue;
    const packed_entry& e = layout[i];
    const layer_spec& s = n.spec;
    const float* w = folded.data() + n.weight_offset;
    float* out = packed.data() + e.weights;
    const int channels_out = s.output.channels;
    if (n.kind() == op::dense) {
      const std::size_t features = s.input.size(), outputs = static_cast<std::size_t>(channels_out);
      for (std::size_t o = 0; o < outputs; ++o) {
        for (std::size_t f = 0; f < features; ++f) {
          out[f * outputs + o] = w[o * features + f];
          packed[e.rows + o * features + f] = w[o * features + f];
        }
      }
    } else if (n.kind() == op::depthwise_conv2d) {
      const int taps = s.kernel.height * s.kernel.width;
      for (int c = 0; c < channels_out; ++c) {
        for (int tap = 0; tap < taps; ++tap) out[tap * channels_out + c] = w[c * taps + tap];
      }
    } else {  // conv2d, pointwise_conv2d: (O, KH, KW, I/g) -> (g, KH, KW, I/g, O/g)
      const int in_per_group = s.input.channels / s.groups;
      const int out_per_group = channels_out / s.groups;
      const int kh = s.kernel.height, kw = s.kernel.width;
      for (int o = 0; o < channels_out; ++o) {
        const int g = o / out_per_group, local = o % out_per_group;
        for (int ky = 0; ky < kh; ++ky) {
          for (int kx = 0; kx < kw; ++kx) {
            for (int c = 0; c < in_per_group; ++c) {
              out[(((g * kh + ky) * kw + kx) * in_per_group + c) * out_per_group + local] =
                  w[((o * kh + ky) * kw + kx) * in_per_group + c];
            }
          }
        }
      }
    }
    const float* bias = folded.data() + n.bias_offset;
    for (int o = 0; o < channels_out; ++o) packed[e.bias + static_cast<std::size_t>(o)] = bias[o];
  }
}

}  // namespace lmnet::cuda
