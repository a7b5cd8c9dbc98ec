// SPDX-License-Identifier: Apache-2.0
#pragma once

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

/// Mean over height and width.
inline void global_avg_pool(tensor_view<const float> in, tensor_view<float> out) {
  const float scale = 1.0f / static_cast<float>(in.height * in.width);
  for (int n = 0; n < in.batch; ++n) {
    for (int c = 0; c < in.channels; ++c) {
      float sum = 0.0f;
      for (int y = 0; y < in.height; ++y) {
        for (int x = 0; x < in.width; ++x) sum += in(n, y, x, c);
      }
      out(n, 0, 0, c) = sum * scale;
    }
  }
}

}  // namespace lmnet::reference
