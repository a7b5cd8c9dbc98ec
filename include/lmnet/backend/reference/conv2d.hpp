// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>

namespace lmnet::reference {

/// out(n, y, x, o) = act(bias[o] + sum over (ky, kx, i) of in(n, y*s - p + ky, x*s - p + kx,
/// g*ig + i) * w[o][ky][kx][i] + residual(n, y, x, o)), with g the group of o and ig = in / groups.
/// Weights are (O, KH, KW, I/groups). Covers standard, grouped, depthwise and pointwise layers.
inline void conv2d(tensor_view<const float> in, tensor_view<float> out, const float* weights,
                   const float* bias, const layer_spec& spec, tensor_view<const float> residual) {
  const int in_per_group = in.channels / spec.groups;
  const int out_per_group = out.channels / spec.groups;
  for (int n = 0; n < out.batch; ++n) {
    for (int y = 0; y < out.height; ++y) {
      for (int x = 0; x < out.width; ++x) {
        for (int o = 0; o < out.channels; ++o) {
          const int group = o / out_per_group;
          float sum = bias[o];
          for (int ky = 0; ky < spec.kernel.height; ++ky) {
            const int iy = y * spec.stride.height - spec.padding.height + ky;
            if (iy < 0 || iy >= in.height) continue;
            for (int kx = 0; kx < spec.kernel.width; ++kx) {
              const int ix = x * spec.stride.width - spec.padding.width + kx;
              if (ix < 0 || ix >= in.width) continue;
              const float* w =
                  weights + ((o * spec.kernel.height + ky) * spec.kernel.width + kx) * in_per_group;
              for (int i = 0; i < in_per_group; ++i) {
                sum += in(n, iy, ix, group * in_per_group + i) * w[i];
              }
            }
          }
          if (residual.data != nullptr) sum += residual(n, y, x, o);
          out(n, y, x, o) = activate(sum, spec.act);
        }
      }
    }
  }
}

}  // namespace lmnet::reference

namespace lmnet {

template <>
struct kernel<backend::reference, op::conv2d> {
  static void run(const kernel_args& a) {
    reference::conv2d(a.inputs[0], a.output, a.weights, a.bias, a.n.spec, a.residual);
  }
};

}  // namespace lmnet
