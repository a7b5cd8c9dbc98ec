// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/layer.hpp>

namespace lmnet {

/// Fully connected layer over the whole image, flattened (PyTorch `nn.Linear` after `flatten`,
/// weights (O, C*H*W) in PyTorch's (c, h, w) order; loading reorders them to lmnet's (h, w, c)).
struct dense {
  int in = 0;  // optional: when set, checked against the flattened input size
  int out = 0;
  bias_option bias{};

  constexpr layer_spec apply(shape in_shape, detail::message& why) const {
    layer_spec spec{.kind = op::dense, .input = in_shape};
    spec.bias = bias;
    spec.output = {1, 1, out};
    if (out < 1) return detail::fail(spec, why, ".out must be >= 1");
    if (in != 0 && static_cast<std::size_t>(in) != in_shape.size()) {
      why << "channel mismatch: declared .in = " << in << " but the input has " << in_shape.size()
          << " features (" << in_shape.height << "x" << in_shape.width << "x" << in_shape.channels
          << ")";
    }
    return spec;
  }
};

}  // namespace lmnet
