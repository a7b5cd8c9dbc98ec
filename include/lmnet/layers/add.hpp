// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/layer.hpp>

namespace lmnet {

/// Shape rule of the elementwise sum that joins a residual: both inputs must have one shape.
constexpr layer_spec add_rule(shape a, shape b, detail::message& why) {
  layer_spec spec{.kind = op::add, .input = a, .output = a};
  if (a != b) {
    why << (a.channels != b.channels ? "channel mismatch: " : "shape mismatch: ") << "cannot add "
        << a.height << "x" << a.width << "x" << a.channels << " and " << b.height << "x" << b.width
        << "x" << b.channels;
  }
  return spec;
}

}  // namespace lmnet
