// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>

namespace lmnet::reference {

/// out = act(a + b).
inline void add(tensor_view<const float> a, tensor_view<const float> b, tensor_view<float> out,
                activation act) {
  for (int n = 0; n < out.batch; ++n) {
    for (int y = 0; y < out.height; ++y) {
      for (int x = 0; x < out.width; ++x) {
        for (int c = 0; c < out.channels; ++c) {
          out(n, y, x, c) = activate(a(n, y, x, c) + b(n, y, x, c), act);
        }
      }
    }
  }
}

}  // namespace lmnet::reference

namespace lmnet {

template <>
struct kernel<backend::reference, op::add> {
  static void run(const kernel_args& a) {
    reference::add(a.inputs[0], a.inputs[1], a.output, a.n.spec.act);
  }
};

}  // namespace lmnet
