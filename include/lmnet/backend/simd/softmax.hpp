// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>

#include <cmath>

namespace lmnet::simd {

/// Softmax over channels at every pixel of rows [q0, q1). A classifier's few outputs make this a
/// scalar loop; the maximum is subtracted first so exp never overflows.
inline void softmax(tensor_view<const float> in, tensor_view<float> out, int q0, int q1) {
  for (int q = q0; q < q1; ++q) {
    const int n = q / out.height, y = q % out.height;
    for (int x = 0; x < out.width; ++x) {
      const float* i = &in(n, y, x, 0);
      float* o = &out(n, y, x, 0);
      float peak = i[0];
      for (int c = 1; c < in.channels; ++c) peak = i[c] > peak ? i[c] : peak;
      float total = 0.0f;
      for (int c = 0; c < in.channels; ++c) {
        o[c] = std::exp(i[c] - peak);
        total += o[c];
      }
      const float scale = 1.0f / total;
      for (int c = 0; c < in.channels; ++c) o[c] *= scale;
    }
  }
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::simd<Arch>, op::softmax> {
  static void run(const simd::kernel_args& a) {
    simd::softmax(a.inputs[0], a.output, a.first, a.last);
  }
};

}  // namespace lmnet
