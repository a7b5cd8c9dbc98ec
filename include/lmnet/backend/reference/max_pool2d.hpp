// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>

#include <limits>

namespace lmnet::reference {

/// Max over each window; cells in the padding never win (PyTorch semantics).
inline void max_pool2d(tensor_view<const float> in, tensor_view<float> out,
                       const layer_spec& spec) {
  for (int n = 0; n < out.batch; ++n) {
    for (int y = 0; y < out.height; ++y) {
      for (int x = 0; x < out.width; ++x) {
        for (int c = 0; c < out.channels; ++c) {
          float best = -std::numeric_limits<float>::infinity();
          for (int ky = 0; ky < spec.kernel.height; ++ky) {
            const int iy = y * spec.stride.height - spec.padding.height + ky;
            if (iy < 0 || iy >= in.height) continue;
            for (int kx = 0; kx < spec.kernel.width; ++kx) {
              const int ix = x * spec.stride.width - spec.padding.width + kx;
              if (ix < 0 || ix >= in.width) continue;
              const float v = in(n, iy, ix, c);
              best = v > best ? v : best;
            }
          }
          out(n, y, x, c) = best;
        }
      }
    }
  }
}

}  // namespace lmnet::reference

namespace lmnet {

template <>
struct kernel<backend::reference, op::max_pool2d> {
  static void run(const kernel_args& a) { reference::max_pool2d(a.inputs[0], a.output, a.n.spec); }
};

}  // namespace lmnet
