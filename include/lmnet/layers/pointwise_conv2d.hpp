// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/layer.hpp>

namespace lmnet {

/// 1x1 convolution, optionally grouped (PyTorch `nn.Conv2d(in, out, 1, groups=g)`, weights
/// (O, I/groups, 1, 1)). The expand and project layers of every bottleneck.
struct pointwise_conv2d {
  int in = 0;  // optional: when set, checked against the input's channels
  int out = 0;
  int groups = 1;
  bias_option bias{};

  constexpr layer_spec apply(shape in_shape, detail::message& why) const {
    layer_spec spec{.kind = op::pointwise_conv2d, .input = in_shape};
    spec.groups = groups;
    spec.bias = bias;
    spec.output = {in_shape.height, in_shape.width, out};
    spec = detail::check_in(spec, in, why);
    if (why.empty()) spec = detail::check_groups(spec, out, why);
    return spec;
  }
};

}  // namespace lmnet
