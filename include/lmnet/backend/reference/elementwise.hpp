// SPDX-License-Identifier: Apache-2.0
#pragma once

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

/// out = act(in).
inline void apply_activation(tensor_view<const float> in, tensor_view<float> out, activation act) {
  for (int n = 0; n < out.batch; ++n) {
    for (int y = 0; y < out.height; ++y) {
      for (int x = 0; x < out.width; ++x) {
        for (int c = 0; c < out.channels; ++c) out(n, y, x, c) = activate(in(n, y, x, c), act);
      }
    }
  }
}

}  // namespace lmnet::reference
