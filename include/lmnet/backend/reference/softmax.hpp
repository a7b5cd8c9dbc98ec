// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>

#include <cmath>

namespace lmnet::reference {

/// Softmax over channels at every pixel; the maximum is subtracted first so exp never overflows.
inline void softmax(tensor_view<const float> in, tensor_view<float> out) {
  for (int n = 0; n < out.batch; ++n) {
    for (int y = 0; y < out.height; ++y) {
      for (int x = 0; x < out.width; ++x) {
        float peak = in(n, y, x, 0);
        for (int c = 1; c < in.channels; ++c) peak = in(n, y, x, c) > peak ? in(n, y, x, c) : peak;
        float total = 0.0f;
        for (int c = 0; c < in.channels; ++c) {
          out(n, y, x, c) = std::exp(in(n, y, x, c) - peak);
          total += out(n, y, x, c);
        }
        for (int c = 0; c < in.channels; ++c) out(n, y, x, c) /= total;
      }
    }
  }
}

}  // namespace lmnet::reference

namespace lmnet {

template <>
struct kernel<backend::reference, op::softmax> {
  static void run(const kernel_args& a) { reference::softmax(a.inputs[0], a.output); }
};

}  // namespace lmnet
