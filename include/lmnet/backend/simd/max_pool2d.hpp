// SPDX-License-Identifier: Apache-2.0
// Max pooling, vectorised across channels.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/kernel_args.hpp>
#include <lmnet/backend/simd/vector.hpp>
#include <lmnet/backend/tags.hpp>
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

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::simd<Arch>, op::max_pool2d> {
  static void run(const simd::kernel_args& a) {
    simd::max_pool2d<Arch>(a.inputs[0], a.output, a.n.spec, a.first, a.last);
  }
};

}  // namespace lmnet
