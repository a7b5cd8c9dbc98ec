// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>

namespace lmnet::reference {

/// out channel j = in channel (j % groups) * (C / groups) + j / groups.
inline void channel_shuffle(tensor_view<const float> in, tensor_view<float> out, int groups) {
  const int per_group = in.channels / groups;
  for (int n = 0; n < out.batch; ++n) {
    for (int y = 0; y < out.height; ++y) {
      for (int x = 0; x < out.width; ++x) {
        for (int j = 0; j < out.channels; ++j) {
          out(n, y, x, j) = in(n, y, x, (j % groups) * per_group + j / groups);
        }
      }
    }
  }
}

}  // namespace lmnet::reference

namespace lmnet {

template <>
struct kernel<backend::reference, op::channel_shuffle> {
  static void run(const kernel_args& a) {
    reference::channel_shuffle(a.inputs[0], a.output, a.n.spec.groups);
  }
};

}  // namespace lmnet
