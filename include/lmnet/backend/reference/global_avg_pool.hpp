// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>

namespace lmnet::reference {

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

namespace lmnet {

template <>
struct kernel<backend::reference, op::global_avg_pool> {
  static void run(const kernel_args& a) { reference::global_avg_pool(a.inputs[0], a.output); }
};

}  // namespace lmnet
