// SPDX-License-Identifier: Apache-2.0
// One filter per channel: the grouped convolution with as many groups as channels.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/reference/conv2d.hpp>
#include <lmnet/backend/tags.hpp>

namespace lmnet {

template <>
struct kernel<backend::reference, op::depthwise_conv2d> {
  static void run(const kernel_args& a) {
    reference::conv2d(a.inputs[0], a.output, a.weights, a.bias, a.n.spec, a.residual);
  }
};

}  // namespace lmnet
