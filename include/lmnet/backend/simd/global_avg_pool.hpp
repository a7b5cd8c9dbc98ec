// SPDX-License-Identifier: Apache-2.0
// Global average pooling, vectorised across channels.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/kernel_args.hpp>
#include <lmnet/backend/simd/vector.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>

#include <algorithm>

namespace lmnet::simd {

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

namespace lmnet {

template <class Arch>
struct kernel<backend::simd<Arch>, op::global_avg_pool> {
  // The output has one row per image: rows [first, last) are images.
  static void run(const simd::kernel_args& a) {
    simd::global_avg_pool<Arch>(a.inputs[0], a.output, a.first, a.last);
  }
};

}  // namespace lmnet
