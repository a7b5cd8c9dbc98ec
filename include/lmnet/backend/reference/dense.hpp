// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>

namespace lmnet::reference {

/// out(n, o) = act(bias[o] + sum over (y, x, c) of in(n, y, x, c) * w[o][(y * W + x) * C + c]).
inline void dense(tensor_view<const float> in, tensor_view<float> out, const float* weights,
                  const float* bias, const layer_spec& spec) {
  const int features = in.height * in.width * in.channels;
  for (int n = 0; n < in.batch; ++n) {
    for (int o = 0; o < out.channels; ++o) {
      const float* w = weights + static_cast<long>(o) * features;
      float sum = bias[o];
      for (int y = 0; y < in.height; ++y) {
        for (int x = 0; x < in.width; ++x) {
          for (int c = 0; c < in.channels; ++c) {
            sum += in(n, y, x, c) * w[(y * in.width + x) * in.channels + c];
          }
        }
      }
      out(n, 0, 0, o) = activate(sum, spec.act);
    }
  }
}

}  // namespace lmnet::reference

namespace lmnet {

template <>
struct kernel<backend::reference, op::dense> {
  static void run(const kernel_args& a) {
    reference::dense(a.inputs[0], a.output, a.weights, a.bias, a.n.spec);
  }
};

}  // namespace lmnet
