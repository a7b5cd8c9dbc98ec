// SPDX-License-Identifier: Apache-2.0
// A 1x1 convolution: the convolution with a one-pixel window.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/reference/conv2d.hpp>
#include <lmnet/backend/tags.hpp>

namespace lmnet {

template <>
struct kernel<backend::reference, op::pointwise_conv2d> {
  static void run(const kernel_args& a) {
    reference::conv2d(a.inputs[0], a.output, a.weights, a.bias, a.n.spec, a.residual);
  }
};

}  // namespace lmnet
