// SPDX-License-Identifier: Apache-2.0
// Max pooling and global average pooling, vectorised across channels.
#pragma once

#include <lmnet/backend/simd/vector.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>

#include <algorithm>
#include <limits>

namespace lmnet::simd {

/// Output rows [q0, q1) of the batch (row q: image q / height, row q % height). Cells in the
/// padding never win, as in PyTorch.
template <class Arch>
void max_pool2d(tensor_view<const float> in, tensor_view<float> out, const layer_spec& s, int q0,
                int q1) {
  using V = vector<Arch>;
  constexpr int W = V::width;
  for (int q = q0; q < q1; ++q) {
    const int n = q / out.height, y = q % out.height;
    const int iy0 = y * s.stride.height - s.padding.height;
    const int ky0 = std::max(0, -iy0), ky1 = std::min(s.kernel.height, in.height - iy0);
    for (int x = 0; x < out.width; ++x) {
      const int ix0 = x * s.stride.width - s.padding.width;
      const int kx0 = std::max(0, -ix0), kx1 = std::min(s.kernel.width, in.width - ix0);
      for (int c = 0; c < out.channels; c += W) {
        const int lanes = std::min(W, out.channels - c);
        auto best = V::broadcast(-std::numeric_limits<float>::infinity());
        for (int ky = ky0; ky < ky1; ++ky) {
          for (int kx = kx0; kx < kx1; ++kx) {
            best = V::max(best, V::load_first(&in(n, iy0 + ky, ix0 + kx, c), lanes));
          }
        }
        V::store_first(&out(n, y, x, c), best, lanes);
      }
    }
  }
}

/// Images [n0, n1): the mean over height and width of every channel.
template <class Arch>
void global_avg_pool(tensor_view<const float> in, tensor_view<float> out, int n0, int n1) {
  using V = vector<Arch>;
  constexpr int W = V::width;
  const auto scale = V::broadcast(1.0f / static_cast<float>(in.height * in.width));
  for (int n = n0; n < n1; ++n) {
    for (int c = 0; c < in.channels; c += W) {
      const int lanes = std::min(W, in.channels - c);
      auto sum = V::zero();
      for (int y = 0; y < in.height; ++y) {
        for (int x = 0; x < in.width; ++x) sum += V::load_first(&in(n, y, x, c), lanes);
      }
      V::store_first(&out(n, 0, 0, c), sum * scale, lanes);
    }
  }
}

}  // namespace lmnet::simd
