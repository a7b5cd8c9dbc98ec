// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/reference/int8/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/quantization/params.hpp>

#include <cstdint>

namespace lmnet::reference {

/// out(n, y, x, o) = requantize(bias[o] + sum over (ky, kx, i) of (in(...) - in_zero) *
/// w[o][ky][kx] [i]), with the residual as a second term: the int8 form of reference::conv2d, for
/// standard, grouped, depthwise and pointwise layers. Taps in the padding add nothing (their real
/// value is 0).
inline void conv2d_int8(const int8_kernel_args& a) {
  const layer_spec& spec = a.n.spec;
  const quantized_node& q = a.q;
  const tensor_view<const std::uint8_t> in = a.inputs[0];
  const tensor_view<std::uint8_t> out = a.output;
  const int in_per_group = in.channels / spec.groups;
  const int out_per_group = out.channels / spec.groups;
  for (int n = 0; n < out.batch; ++n) {
    for (int y = 0; y < out.height; ++y) {
      for (int x = 0; x < out.width; ++x) {
        for (int o = 0; o < out.channels; ++o) {
          const int group = o / out_per_group;
          std::int32_t sum = q.bias[static_cast<std::size_t>(o)];
          for (int ky = 0; ky < spec.kernel.height; ++ky) {
            const int iy = y * spec.stride.height - spec.padding.height + ky;
            if (iy < 0 || iy >= in.height) continue;
            for (int kx = 0; kx < spec.kernel.width; ++kx) {
              const int ix = x * spec.stride.width - spec.padding.width + kx;
              if (ix < 0 || ix >= in.width) continue;
              const std::int8_t* w =
                  q.weights.data() +
                  ((o * spec.kernel.height + ky) * spec.kernel.width + kx) * in_per_group;
              for (int i = 0; i < in_per_group; ++i) {
                sum += (in(n, iy, ix, group * in_per_group + i) - q.input.zero_point) * w[i];
              }
            }
          }
          const float m = q.multiplier[static_cast<std::size_t>(o)];
          out(n, y, x, o) = a.residual.data == nullptr
                                ? requantize(sum, m, q.output.zero_point, q.clamp)
                                : requantize(sum, m, a.residual(n, y, x, o) - q.second.zero_point,
                                             q.second_multiplier, q.output.zero_point, q.clamp);
        }
      }
    }
  }
}

}  // namespace lmnet::reference

namespace lmnet {

template <>
struct kernel<backend::int8<backend::reference>, op::conv2d> {
  static void run(const reference::int8_kernel_args& a) { reference::conv2d_int8(a); }
};

}  // namespace lmnet
