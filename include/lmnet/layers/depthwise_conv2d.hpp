// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/layer.hpp>

namespace lmnet {

/// Depthwise convolution: one KxK filter per channel, channels in == channels out (PyTorch
/// `nn.Conv2d(c, c, k, stride, k / 2, groups=c)`, weights (C, 1, K, K)). Backends have dedicated
/// kernels for 3x3 and 5x5 at strides 1 and 2; other sizes run on a generic path.
struct depthwise_conv2d {
  int kernel = 3;
  int stride = 1;
  int padding = -1;  // -1: kernel / 2
  bias_option bias{};

  constexpr layer_spec apply(shape in_shape, detail::message& why) const {
    layer_spec spec{.kind = op::depthwise_conv2d, .input = in_shape};
    spec.kernel = kernel;
    spec.stride = stride;
    spec.padding = padding < 0 ? kernel / 2 : padding;
    spec.groups = in_shape.channels;
    spec.bias = bias;
    spec.output.channels = in_shape.channels;
    return detail::window_rule(spec, why);
  }
};

}  // namespace lmnet
