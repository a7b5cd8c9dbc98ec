// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/layer.hpp>

namespace lmnet {

/// Max pooling (PyTorch `nn.MaxPool2d`, floor rounding; padded cells never win).
struct max_pool2d {
  int kernel = 2;
  int stride = 0;  // 0: same as kernel
  int padding = 0;

  constexpr layer_spec apply(shape in_shape, detail::message& why) const {
    layer_spec spec{.kind = op::max_pool2d, .input = in_shape};
    spec.kernel = kernel;
    spec.stride = stride == 0 ? kernel : stride;
    spec.padding = padding;
    spec.output.channels = in_shape.channels;
    if (padding * 2 > kernel)
      return detail::fail(spec, why, "padding must be at most half the kernel");
    return detail::window_rule(spec, why);
  }
};

}  // namespace lmnet
